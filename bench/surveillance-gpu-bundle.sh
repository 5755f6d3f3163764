#!/usr/bin/env bash
# Packs bench/surveillance_gpu.ts for the GPU machine (see ../shared/GPU.md) into .device-surveillance/: what the
# shared device-bundle script packs, plus what the entry needs beside app.mjs there (no registry, maybe no ffmpeg): the TF.js wasm
# binaries, the CenterNet model files @lepton/surveillance ships (models/centernet.json + its weights), and 8
# pillarboxed 640×360 vtest frames (gzip'd RGB, made here with ffmpeg from Debian's opencv-doc).
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
out=${SURV_DEVICE_DIR:-.device-surveillance}
bundler=${DEVICE_BUNDLE:-../shared/tools/device-bundle.sh}
"$bundler" bench/surveillance_gpu.ts "$out"
wasm_dir=$(dirname "$(node -e "console.log(require.resolve('@tensorflow/tfjs-backend-wasm/package.json', { paths: [require.resolve('@lepton/core/package.json')] }))")")/dist
cp "$wasm_dir"/*.wasm "$out"/
models=$(dirname "$(node -e "console.log(require.resolve('@lepton/surveillance/package.json'))")")/models
mkdir -p "$out/models"
cp "$models/centernet.json" "$out/models/"
# the weight files model.json lists
node -e "const m=require(process.argv[1]);for(const g of m.weightsManifest)for(const p of g.paths)console.log(p)" "$models/centernet.json" \
  | while read -r f; do cp "$models/$f" "$out/models/"; done
vtest=${VTEST:-/usr/share/doc/opencv-doc/examples/data/vtest.avi}
ffmpeg -hide_banner -loglevel error -i "$vtest" -vf "select='not(mod(n\,100))',scale=480:360,pad=640:360:80:0" -fps_mode vfr \
  -pix_fmt rgb24 -f rawvideo pipe:1 | gzip -9 > "$out/vtest-640x360-8.rgb.gz"
du -sh "$out"
cat <<CMD
On the GPU machine, with $out/ in the project root (carry it; keep it under 64 MiB), run:
for f in $out/gl/*.deb; do dpkg -x \$f /; done; ldconfig; xz -dc $out/node.xz > /tmp/node && chmod +x /tmp/node && cd $out && VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /tmp/node app.mjs
Here (wasm only): cd $out && node app.mjs
CMD
