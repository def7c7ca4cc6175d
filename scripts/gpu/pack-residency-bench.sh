#!/usr/bin/env bash
# Prepares scripts/gpu/residency-bench.mts for a lent GPU machine with no network: an esbuild bundle (no tsx
# needed there), onnxruntime-node's linux-x64 runtime (xz), this machine's node binary (xz, in case the GPU
# machine has none) and the InternLM2 tokenizer.model, in .cache/gpu-bench/ (git-ignored; carry that path).
# On the GPU machine: bash .cache/gpu-bench/run.sh   (prints the figures; $OUT gets residency-bench.{txt,json}).
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=.cache/gpu-bench
rm -rf "$dest"
mkdir -p "$dest"
node_modules/.bin/esbuild scripts/gpu/residency-bench.mts --bundle --platform=node --format=esm \
  --target=node20 --outfile="$dest/residency-bench.mjs" --log-level=warning \
  --external:onnxruntime-node --external:sharp --external:@napi-rs/canvas --external:@ffmpeg-installer/ffmpeg \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
# onnxruntime-node: JS + the linux-x64 native binding and libonnxruntime (the other platforms stay behind).
tar -C node_modules -cJf "$dest/node_modules.tar.xz" \
  onnxruntime-node/package.json onnxruntime-node/dist onnxruntime-node/bin/napi-v6/linux/x64 onnxruntime-common
xz -T0 -c "$(command -v node)" > "$dest/node.xz"
tok=${BENCH_TOKENIZER:-../shared/fixtures/internlm2-tokenizer/tokenizer.model}
cp "$tok" "$dest/tokenizer.model"
cat > "$dest/run.sh" <<'RUN'
#!/usr/bin/env bash
# Unpacks next to itself into /tmp and runs the bench (< 8 minutes; BENCH_DEADLINE_S bounds the measuring).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
run=/tmp/residency-bench-run
mkdir -p "$run"
cp "$here/residency-bench.mjs" "$here/tokenizer.model" "$run/"
[ -d "$run/node_modules" ] || { mkdir -p "$run/node_modules" && tar -C "$run/node_modules" -xJf "$here/node_modules.tar.xz"; }
node_bin=$(command -v node || true)
if [ -z "$node_bin" ]; then xz -dc "$here/node.xz" > "$run/node" && chmod +x "$run/node" && node_bin="$run/node"; fi
export OUT="${OUT:-$run/out}" BENCH_TOKENIZER="$run/tokenizer.model"
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /' | tee "$OUT/gpu.txt" || true
timeout 470 "$node_bin" "$run/residency-bench.mjs"
RUN
chmod +x "$dest/run.sh"
du -sh "$dest"/* | sed 's/^/  /'
du -sh "$dest"
