#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, after `node bench/gpu/build.mjs --carry` here.
# Needs, carried beside the working tree: .gl/ (the Vulkan/EGL loader .debs, see RESULTS.md) and
# .device-carry/glimpse-gpu.tar.xz (Node, dawn.node, the bundle, the model, the reference).
# Writes tfjs-webgpu.json, torch.json, gpu.txt and RESULTS-table.md into $OUT.
# For a dry run elsewhere: SKIP_GL=1 EXPECT_ADAPTER=mesa TORCH_DEVICE=cpu BATCHES=1 TIMING="--min-ms 0 ...".
set -uo pipefail
OUT=${OUT:-/tmp/glimpse-gpu-out}
BATCHES=${BATCHES:-1,8,32}
EXPECT_ADAPTER=${EXPECT_ADAPTER:-nvidia}
TORCH_DEVICE=${TORCH_DEVICE:-cuda}
TIMING=${TIMING:-}
mkdir -p "$OUT"
step() { echo; echo "=== $* ($(date +%T))"; }

step "Vulkan/EGL loaders"
if [ -z "${SKIP_GL:-}" ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
ldconfig -p | grep -E 'libvulkan|libEGL\.so' || echo "no libvulkan/libEGL after unpacking .gl"
nv=/usr/local/nvidia/share
if [ -f "$nv/vulkan/icd.d/nvidia_icd.json" ]; then export VK_DRIVER_FILES=$nv/vulkan/icd.d/nvidia_icd.json; fi
if [ -f "$nv/glvnd/egl_vendor.d/10_nvidia.json" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES=$nv/glvnd/egl_vendor.d/10_nvidia.json; fi
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

step "GPU"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt" || echo "no nvidia-smi" >"$OUT/gpu.txt"
gpu=$(head -1 "$OUT/gpu.txt")

step "unpack .device-carry/glimpse-gpu.tar.xz"
W=/tmp/glimpse-gpu-run
rm -rf "$W" && mkdir -p "$W"
python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' .device-carry/glimpse-gpu.tar.xz "$W" || exit 1
G=$W/glimpse-gpu
"$G/node" --version || exit 1

tfjs() {
  "$G/node" "$G/glimpse-gpu-bench.mjs" --backend webgpu --models "$G/models" --batches "$BATCHES" \
    --expect-adapter "$EXPECT_ADAPTER" --check-reference "$G/reference.json" --json "$OUT/tfjs-webgpu.json" $TIMING
}
step "TF.js WebGPU (Dawn on Vulkan)"
tfjs
tfjs_rc=$?
if [ $tfjs_rc -ne 0 ]; then
  step "Vulkan run failed ($tfjs_rc): loader diagnostics, then Dawn on OpenGL ES (EGL)"
  ls -l "$nv/vulkan/icd.d" /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>&1
  VK_LOADER_DEBUG=error,warn,driver GLIMPSE_DAWN_FLAGS=backend=vulkan "$G/node" "$G/glimpse-gpu-bench.mjs" \
    --backend webgpu --models "$G/models" --batches= 2>&1 | head -60
  GLIMPSE_DAWN_FLAGS=backend=opengles tfjs
  tfjs_rc=$?
fi

step "PyTorch reference"
PYTHONUNBUFFERED=1 ${PYTHON:-python3} bench/gpu/torch_ref.py --batches "$BATCHES" --device "$TORCH_DEVICE" --json "$OUT/torch.json" $TIMING
torch_rc=$?

step "table"
if [ $tfjs_rc -eq 0 ] && [ $torch_rc -eq 0 ]; then
  python3 bench/gpu/report.py "$OUT/tfjs-webgpu.json" "$OUT/torch.json" --gpu "$gpu" --md "$OUT/RESULTS-table.md"
else
  echo "no table: tfjs rc=$tfjs_rc, torch rc=$torch_rc"
  exit 1
fi
