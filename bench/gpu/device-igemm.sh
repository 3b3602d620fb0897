#!/usr/bin/env bash
# One device call for the implicit-GEMM levers (igemm.ts) on the default extractor: Dawn in Node
# only (no PyTorch, no browser). Carry (.device-carry/<dir>, see RESULTS.md "Reproduce"):
# glimpse-node.tar.xz, bundle.tar.xz (bundle + CPU references), gl/*.deb, scripts.tar.
#   run(command="C=$PWD/.device-carry/gpu-igemm; mkdir -p /tmp/s && tar -xf $C/scripts.tar -C /tmp/s && cd /tmp/s && REPO_ROOT=$OLDPWD C=$C bash bench/gpu/device-igemm.sh 2>&1 | tee $OUT/log", carry=[".device-carry/gpu-igemm"])
set -uo pipefail
OUT=${OUT:-/tmp/igemm-out}
W=/tmp/glimpse-gpu-run
rm -rf "$W" && mkdir -p "$W" "$OUT"
for f in "$C"/glimpse-node.tar.xz "$C"/bundle.tar.xz; do tar -xf "$f" -C "$W" || exit 3; done
ID=inception-v3-2015-mixed8
LEVERS=${IGEMM_LEVERS:-defaults,igemm,igemm-bk16,igemm-no1x1,igemm-64x64,igemm-64x64-4x4,igemm-128x64,igemm-128x128}
# Default TF.js: checks (tiles of igemm layer by layer, the embedding vs CPU), timings, kernel
# profile with every conv, then the levers.
PREUNPACKED=$W REPO_ROOT=$REPO_ROOT GLDIR=$C/gl EXTRACTORS=$ID:mixed8 SKIP_TORCH=1 LEVERS=--levers=$LEVERS \
  TIMING="--check-igemm --kernel-profile --no-app ${EXTRA:-}" OUT=$OUT bash bench/gpu/device-run.sh
rc=$?
# The same with the auto igemm policy for the whole run: timings and the per-conv profile.
nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f $nv ] && export VK_DRIVER_FILES=$nv
export XDG_RUNTIME_DIR=/tmp
"$W/glimpse-gpu/node" "$W/glimpse-gpu/glimpse-gpu-bench.mjs" --backend webgpu --models "$REPO_ROOT/public/models" \
  --extractor $ID --batches ${BATCHES:-1,8,32} --expect-adapter ${EXPECT_ADAPTER:-nvidia} --check-reference "$W/glimpse-gpu/reference-$ID.json" \
  --igemm=${IGEMM_MAIN:-igemm} --kernel-profile --no-app ${EXTRA:-} --json "$OUT/tfjs-igemm.json"
echo "rc=$rc/$?"
