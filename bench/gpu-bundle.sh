#!/usr/bin/env bash
# Packs bench/gpu.ts for the GPU machine (see ../shared/GPU.md): the shared device-bundle script, plus the TF.js
# wasm binaries, the PyTorch reference script and the worker-pool entry files, which the bundle needs beside app.mjs.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
bundler=${DEVICE_BUNDLE:-../shared/tools/device-bundle.sh}
"$bundler" bench/gpu.ts .device
wasm_dir=$(dirname "$(node -e "console.log(require.resolve('@tensorflow/tfjs-backend-wasm/package.json', { paths: [require.resolve('@lepton/core/package.json')] }))")")/dist
cp "$wasm_dir"/*.wasm .device/
cp bench/torch_cnn.py .device/
# Worker pool (createWorkerPool, createPredictor({ workers })): core's worker entry and the predictor's worker modules (TF.js, ONNX),
# bundled as extra entry points beside app.mjs, where core looks for them (new URL('./worker-entry.js', import.meta.url)
# in the bundle is .device/worker-entry.js). One esbuild call with code splitting, so the two share one copy of TF.js
# inside each worker thread (a second copy would be a second engine without a backend). A package's own worker module
# goes into this same call (`--entry-names=[name]` writes each beside app.mjs under its dist file name, where its
# `new URL('./x.js', import.meta.url)` finds it). `--main-fields=module,main` takes the ES-module builds of TF.js: with
# splitting, a dynamic import() of a CommonJS build yields only `default`, and core's backend loaders read named
# exports. The package.json makes Node load these .js files as ES modules.
esbuild_bin=$(ls node_modules/.bin/esbuild 2>/dev/null || echo "npx --yes esbuild@0.25")
core_serve=packages/core/dist/serve
$esbuild_bin "$core_serve/worker-entry.js" "$core_serve/predictor-worker.js" "$core_serve/onnx-worker.js" --bundle --splitting --platform=node --format=esm \
  --main-fields=module,main --target=node20 --outdir=.device --entry-names='[name]' --chunk-names='chunks/[name]-[hash]' \
  --log-level=warning \
  --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --banner:js="import { createRequire as __lcr } from 'module'; const require = __lcr(import.meta.url);"
echo '{ "type": "module" }' > .device/package.json
du -sh .device
