#!/usr/bin/python3
"""Baseline for the medical benchmark: pydicom (Debian python3-pydicom, numpy) on the exact files that bench/medical.ts
wrote, in the same run. A worker: bench/medical.ts starts it once and sends one JSON request per line on stdin; each
answer is one JSON line on stdout. Requests alternate with the TypeScript side's own rounds, so that both sides are
measured under the same machine load (the 2-core development machine is shared).

  {"cmd": "hello"}                               -> versions and which pixel-data handlers are available
  {"cmd": "check", "key": k, "file": f, "raw": r} -> decode once; write pixel_array (int32, little endian) to r so the
                                                     TypeScript side can compare it with the source pixels; or say why
                                                     pydicom cannot decode it (no handler installed: Debian ships
                                                     neither pylibjpeg nor python-gdcm nor CharPyLS)
  {"cmd": "decode", "file": f, "seconds": s}     -> images/s of dcmread (from bytes in memory) -> pixel_array ->
                                                     float32 * slope + intercept, the same loop bench/medical.ts times
                                                     ("api": "pixel_array": dcmread -> pixel_array only, the peer of
                                                     readDicom(bytes).decodeFrames())
  {"cmd": "series", "dir": d}                    -> seconds to read every file of the folder, order the slices along
                                                     the normal from Image Position/Orientation (Patient), stack and
                                                     rescale to float32 (what readDicomFolder + buildVolume do)
"""
import glob
import io
import json
import os
import sys
import time
import warnings

import numpy as np
import pydicom
from pydicom.pixel_data_handlers import (gdcm_handler, jpeg_ls_handler, numpy_handler, pillow_handler,
                                         pylibjpeg_handler, rle_handler)

warnings.filterwarnings("ignore")
cache = {}


def to_array(data):
    ds = pydicom.dcmread(io.BytesIO(data))
    arr = ds.pixel_array
    hu = arr.astype(np.float32)
    hu *= float(getattr(ds, "RescaleSlope", 1) or 1)
    hu += float(getattr(ds, "RescaleIntercept", 0) or 0)
    return arr, hu


def file_bytes(path):
    if path not in cache:
        cache[path] = open(path, "rb").read()
    return cache[path]


def pixel_array(data):
    return pydicom.dcmread(io.BytesIO(data)).pixel_array


def decode_rate(path, seconds, api="modality"):
    data = file_bytes(path)
    once = pixel_array if api == "pixel_array" else to_array
    for _ in range(2):
        once(data)
    n, t0 = 0, time.perf_counter()
    while True:
        once(data)
        n += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds and n >= 3:
            return {"images": n, "seconds": elapsed, "imagesPerSecond": n / elapsed}


def volume(folder):
    slices = [pydicom.dcmread(f) for f in glob.glob(os.path.join(folder, "*"))]
    iop = np.array(slices[0].ImageOrientationPatient, dtype=np.float64)
    normal = np.cross(iop[:3], iop[3:])
    slices.sort(key=lambda s: float(np.dot(normal, np.array(s.ImagePositionPatient, dtype=np.float64))))
    vol = np.empty((len(slices), slices[0].Rows, slices[0].Columns), dtype=np.float32)
    for k, s in enumerate(slices):
        vol[k] = s.pixel_array
        vol[k] *= float(getattr(s, "RescaleSlope", 1) or 1)
        vol[k] += float(getattr(s, "RescaleIntercept", 0) or 0)
    return vol


def handle(req):
    cmd = req["cmd"]
    if cmd == "hello":
        handlers = {h.__name__.rsplit(".", 1)[-1]: bool(h.is_available())
                    for h in (numpy_handler, rle_handler, pillow_handler, gdcm_handler, jpeg_ls_handler,
                              pylibjpeg_handler)}
        return {"pydicom": pydicom.__version__, "numpy": np.__version__, "python": sys.version.split()[0],
                "handlers": handlers}
    if cmd == "check":
        try:
            arr, _ = to_array(file_bytes(req["file"]))
        except Exception as err:  # pydicom raises RuntimeError/NotImplementedError naming the missing handler
            return {"ok": False, "error": str(err).strip().splitlines()[0][:300]}
        np.ascontiguousarray(arr, dtype="<i4").tofile(req["raw"])
        return {"ok": True, "shape": list(arr.shape)}
    if cmd == "decode":
        return decode_rate(req["file"], float(req["seconds"]), req.get("api", "modality"))
    if cmd == "series":
        t0 = time.perf_counter()
        vol = volume(req["dir"])
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "shape": list(vol.shape), "sum": float(vol.sum(dtype=np.float64))}
    return {"error": "unknown command " + cmd}


for line in sys.stdin:
    if line.strip():
        print(json.dumps(handle(json.loads(line))), flush=True)
