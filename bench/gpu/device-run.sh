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
  for f in "${GLDIR:-.gl}"/*.deb; do dpkg -x "$f" /; done
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

step "unpack .device-carry/*.tar.*"
W=${PREUNPACKED:-/tmp/glimpse-gpu-run}
if [ -z "${PREUNPACKED:-}" ]; then # device-all.sh unpacks its archives itself
  rm -rf "$W" && mkdir -p "$W"
  # Node + dawn.node, the bundle + references, and models may travel as separate archives
  # (each call's carry is limited); every one of them unpacks into $W/glimpse-gpu.
  for f in .device-carry/*.tar.*; do
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$f" "$W" || exit 1
  done
fi
G=$W/glimpse-gpu
mkdir -p "$G/models"
# Models that did not travel in an archive: the repository's own public/models (the bundled default).
for d in "${REPO_ROOT:-../..}"/public/models/*/; do
  [ -e "$G/models/$(basename "$d")" ] || ln -s "$(cd "$d" && pwd)" "$G/models/$(basename "$d")"
done
ls "$G" "$G/models"
"$G/node" --version || exit 1

EXTRACTORS=${EXTRACTORS:-inception-v3-2015-mixed8:mixed8,inception-v3-nsfwjs:full}
LEVERS=${LEVERS:---levers}
tfjs() { # extractor id, then extra flags
  local id=$1
  shift
  "$G/node" "$G/glimpse-gpu-bench.mjs" --backend webgpu --models "$G/models" --extractor "$id" --batches "$BATCHES" \
    --expect-adapter "$EXPECT_ADAPTER" --check-reference "$G/reference-$id.json" $TIMING "$@"
}
tfjs_rc=0
for pair in ${EXTRACTORS//,/ }; do
  id=${pair%%:*}
  step "TF.js WebGPU (Dawn on Vulkan): $id"
  tfjs "$id" --json "$OUT/tfjs-$id.json" $LEVERS
  rc=$?
  if [ $rc -ne 0 ] && [ -z "${DAWN_FALLBACK_TRIED:-}" ]; then
    DAWN_FALLBACK_TRIED=1
    step "Vulkan run failed ($rc): loader diagnostics, then Dawn on OpenGL ES (EGL)"
    ls -l "$nv/vulkan/icd.d" /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>&1
    VK_LOADER_DEBUG=error,warn,driver GLIMPSE_DAWN_FLAGS=backend=vulkan "$G/node" "$G/glimpse-gpu-bench.mjs" \
      --backend webgpu --models "$G/models" --extractor "$id" --batches= 2>&1 | head -60
    export GLIMPSE_DAWN_FLAGS=backend=opengles
    tfjs "$id" --json "$OUT/tfjs-$id.json" $LEVERS
    rc=$?
  fi
  [ $rc -ne 0 ] && tfjs_rc=$rc
  if [ -n "${PRECOMPILE:-}" ]; then
    step "pipelines compiled ahead (WEBGPU_ENGINE_COMPILE_ONLY), first calls: $id"
    tfjs "$id" --no-app --min-ms 0 --min-iters 3 --precompile --json "$OUT/precompile-$id.json" | grep -E 'batch|FAILED'
  fi
done

step "PyTorch reference"
torch_rc=0
for pair in ${EXTRACTORS//,/ }; do
  arch=${pair##*:}
  [ -n "${SKIP_TORCH:-}" ] && continue
  PYTHONUNBUFFERED=1 ${PYTHON:-python3} bench/gpu/torch_ref.py --arch "$arch" --batches "$BATCHES" --device "$TORCH_DEVICE" \
    --json "$OUT/torch-$arch.json" ${TORCH_TIMING:---min-ms 1500} || torch_rc=$?
done

step "tables"
for pair in ${EXTRACTORS//,/ }; do
  id=${pair%%:*}
  arch=${pair##*:}
  [ -f "$OUT/tfjs-$id.json" ] && [ -f "$OUT/torch-$arch.json" ] &&
    python3 bench/gpu/report.py "$OUT/tfjs-$id.json" "$OUT/torch-$arch.json" --gpu "$gpu" --md "$OUT/table-$id.md"
done
echo "tfjs rc=$tfjs_rc, torch rc=$torch_rc"
[ $tfjs_rc -eq 0 ] && [ $torch_rc -eq 0 ]
