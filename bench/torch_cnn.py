#!/usr/bin/env python3
"""The reference CNN of bench/lib.ts (buildResidualCnn, 64×64×1, filters 16/32/64, one basic block per stage, 2 classes)
in PyTorch, timed for inference at batch 1 and 64 in fp32 (TF32 off, so both sides do true fp32 arithmetic).

Run by bench/gpu.ts on the GPU machine in the same command as the TF.js WebGPU run; prints one JSON object.
`--cpu --threads N` times it on the CPU with N intra-op threads instead (the peer of the worker-pool bench,
bench/pool.ts): batch 1 is then sequential batch-1 calls, batch 64 one call per batch, both on N threads.
"""
import argparse
import json
import sys
import time

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())
        self.b = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        short = x if self.proj is None else self.proj(x)
        return torch.relu(self.b(self.a(x)) + short)


class ResidualCnn(nn.Module):
    def __init__(self, channels=1, classes=2, filters=(16, 32, 64)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels, filters[0], 3, 1, 1, bias=False), nn.BatchNorm2d(filters[0]), nn.ReLU())
        blocks, cin = [], filters[0]
        for i, f in enumerate(filters):
            blocks.append(Block(cin, f, 2 if i > 0 else 1))
            cin = f
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return torch.softmax(self.head(x.mean((2, 3))), -1)


def time_batch(model, batch, device, seconds=2.0):
    x = torch.rand(batch, 1, 64, 64, device=device)
    with torch.no_grad():
        for _ in range(5):
            model(x)
        torch.cuda.synchronize() if device == "cuda" else None
        times = []
        cpu0, wall0 = time.process_time(), time.perf_counter()
        end = time.perf_counter() + seconds
        while len(times) < 10 or time.perf_counter() < end:
            t0 = time.perf_counter()
            model(x)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append((time.perf_counter() - t0) * 1000)
            if len(times) >= 2000:
                break
        # CPU time of all this process's threads ÷ wall time: the cores PyTorch really got (bench/pool.ts uses it to
        # tell a run slowed by other work on the machine).
        cores_busy = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    times.sort()
    return times[len(times) // 2], cores_busy


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cpu", action="store_true", help="run on the CPU even where CUDA is present")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads(N) (CPU); 0 keeps PyTorch's default")
    parser.add_argument("--seconds", type=float, default=2.0, help="how long each batch size repeats after warm-up")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() and not args.cpu else "cpu"
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    model = ResidualCnn().to(device).eval()
    out = {"device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu", "torch": torch.__version__, "precision": "fp32 (TF32 off)"}
    if device == "cpu":
        out["threads"] = torch.get_num_threads()
    for batch in (1, 64):
        ms, cores_busy = time_batch(model, batch, device, args.seconds)
        out[f"batch{batch}_ms"] = ms
        out[f"batch{batch}_images_per_s"] = batch * 1000 / ms
        out[f"batch{batch}_cores_busy"] = cores_busy
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
