#!/usr/bin/env bash
# Packs bench/gpu.ts for the GPU machine (see ../shared/GPU.md): the shared device-bundle script, plus the TF.js
# wasm binaries and the PyTorch reference script, which the bundle needs beside app.mjs.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
bundler=${DEVICE_BUNDLE:-../shared/tools/device-bundle.sh}
"$bundler" bench/gpu.ts .device
wasm_dir=$(dirname "$(node -e "console.log(require.resolve('@tensorflow/tfjs-backend-wasm/package.json', { paths: [require.resolve('@lepton/core/package.json')] }))")")/dist
cp "$wasm_dir"/*.wasm .device/
cp bench/torch_cnn.py .device/
du -sh .device
