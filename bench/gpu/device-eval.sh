#!/usr/bin/env bash
# Issue 18 on the GPU machine: `npm run eval -- --augment --finetune` (the Dawn bundle of
# scripts/eval.ts, bench/gpu/build-eval.mjs) on full flower_photos and clothing-small, for the
# default extractor and ResNet-50, then a grid of fine-tuning recipes on flowers/default.
#
# What travels: one tar (glimpse-node.tar.xz = node 20 + dawn.node; gl/*.deb = the Vulkan/EGL
# loaders; datasets/flower_photos, datasets/clothing-small; resnet50-imagenet/) cut into parts
# part.00..03 that consecutive calls copy into /tmp/keep (the machine stays the same only while
# calls follow within 30 s); the last call carries part.03, eval-gpu.mjs, grid-*.json and this
# script, and runs it from the checkout's root:
#   run(command="bash .device-carry/ft/c4/device-eval.sh", carry=[".device-carry/ft/c4"], timeout_s=...)
# JOBS=<file in the same folder> runs its lines instead (round 2: ft-grid/jobs-2.txt).
# Writes into $OUT: results.tar.gz (one JSON + one log per eval) and summary.txt.
set -uo pipefail
START=$(date +%s)
BUDGET=${BUDGET:-420} # seconds for the evals; whatever still runs then is stopped
C=$(cd "$(dirname "$0")" && pwd)
K=${KEEP:-/tmp/keep}
REPO=$PWD
OUTD=${OUT:-/tmp/ft-out}
RES=/tmp/ft-res
mkdir -p "$OUTD" "$RES"
step() { echo "=== $* ($(date +%T), $(($(date +%s) - START)) s)"; }
left() { echo $((BUDGET - ($(date +%s) - START))); }

step "unpack"
W=/tmp/ftw && rm -rf "$W" && mkdir -p "$W"
cat "$K"/part.0[0-2] "$C"/part.03 | tar -x -C "$W" || { echo "parts missing (machine went cold between calls?)"; ls -la "$K"; exit 3; }
tar -xJf "$W/glimpse-node.tar.xz" -C "$W"
for f in "$W"/gl/*.deb; do dpkg -x "$f" /; done
ldconfig
nv=/usr/local/nvidia/share
export VK_DRIVER_FILES=$nv/vulkan/icd.d/nvidia_icd.json __EGL_VENDOR_LIBRARY_FILENAMES=$nv/glvnd/egl_vendor.d/10_nvidia.json
export XDG_RUNTIME_DIR=/tmp GLIMPSE_DAWN_NODE=$W/glimpse-gpu/dawn.node
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$RES/gpu.txt"
nproc | tee -a "$RES/gpu.txt"

# A repository root for the bundle (it finds public/models two folders above itself).
R=/tmp/r && rm -rf "$R" && mkdir -p "$R/.cache/eval-gpu" "$R/public/models"
cp "$C/eval-gpu.mjs" "$R/.cache/eval-gpu/"
for d in "$REPO"/public/models/*; do ln -s "$d" "$R/public/models/"; done
ln -sfn "$W/resnet50-imagenet" "$R/public/models/resnet50-imagenet"
ls -la "$R/public/models"
D=$W/datasets
N=$W/glimpse-gpu/node
"$N" --version

ev() { # name, then eval arguments
  local name=$1
  shift
  local t=$(left)
  [ "$t" -lt 20 ] && { echo "$name: no time left"; return 0; }
  timeout "$t" "$N" --max-old-space-size=16000 "$R/.cache/eval-gpu/eval-gpu.mjs" --backend webgpu --batch 16 \
    --json "$RES/$name.json" "$@" >"$RES/$name.log" 2>&1
  echo "$name rc=$? ($(($(date +%s) - START)) s)" | tee -a "$RES/rc.txt"
}
FL="--data $D/flower_photos"
CL="--data $D/clothing-small"
DEF="--extractor inception-v3-2015-mixed8"
RN="--extractor resnet50-imagenet"

if [ -n "${JOBS:-}" ]; then
  # One eval per line, all at once: "<name> <eval arguments>" ($D is the datasets folder).
  step "jobs from $JOBS"
  while read -r name rest; do
    [ -z "$name" ] && continue
    eval "ev $name $rest" &
  done <"$C/$JOBS"
  wait
else
  step "full-data evals, --augment --finetune (4 in parallel), then the grid on flowers/default"
  ev flowers-default $DEF $FL --augment --finetune &
  p1=$!
  ev clothing-default $DEF $CL --augment --finetune &
  ev flowers-resnet50 $RN $FL --augment --finetune &
  ev clothing-resnet50 $RN $CL --augment --finetune &
  wait $p1 # the embedding cache of flowers/default is complete: the grid runs read it only
  step "grid"
  for g in "$C"/grid-*.json; do
    n=$(basename "$g" .json)
    extra=$(head -c 200 "$C/$n.args" 2>/dev/null || true)
    ev "flowers-default-$n" $DEF $FL --augment --finetune --ft-grid "$g" $extra &
  done
  wait
fi
step "done"
for f in "$RES"/*.log; do
  echo "--- $(basename "$f")"
  grep -E 'accuracy|epoch|grid|activations|failed|Error|error' "$f" | head -80
done | tee "$OUTD/summary.txt"
cat "$RES/rc.txt" >>"$OUTD/summary.txt"
tar -czf "$OUTD/results.tar.gz" -C "$RES" .
