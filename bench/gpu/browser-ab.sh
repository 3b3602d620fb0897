#!/usr/bin/env bash
# Headless Chromium on the GPU machine, WebGPU only, the app's network timing at batch 32 with the
# implicit-GEMM convs (dist-igemm: the app as built) and without (dist-tfjs: the same tree built
# with loadExtractor's webgpuConvs default off), alternated twice, 30 calls each. After calls 1-3
# of RESULTS.md "Reproduce" left Node and Chromium's parts in /tmp/keep; C5: the carried folder
# (scripts.tar, dist-igemm.tar.xz, dist-tfjs.tar.xz, extra.tar.xz, pw.tar.xz, images.tar, fonts.tar, gl/).
set -uo pipefail
OUT=${OUT:-/tmp/out}
K=/tmp/keep
B=/tmp/brw && rm -rf $B && mkdir -p $B/igemm $B/tfjs
for f in "$C5"/gl/*.deb; do dpkg -x "$f" /; done; ldconfig
cat $K/chrpart.* | tar -xJ -C $B || exit 4
tar -xf $K/glimpse-node.tar.xz -C $B || exit 4
for f in extra.tar.xz pw.tar.xz images.tar fonts.tar; do tar -xf "$C5/$f" -C $B || exit 5; done
tar -xJf "$C5/dist-igemm.tar.xz" -C $B/igemm && tar -xJf "$C5/dist-tfjs.tar.xz" -C $B/tfjs || exit 5
export FONTCONFIG_FILE=$B/fonts/fonts.conf
nv=/usr/local/nvidia/share
export VK_DRIVER_FILES=$nv/vulkan/icd.d/nvidia_icd.json __EGL_VENDOR_LIBRARY_FILENAMES=$nv/glvnd/egl_vendor.d/10_nvidia.json
export LD_LIBRARY_PATH=$B/chromium/lib XDG_RUNTIME_DIR=/tmp
for pass in ${PASSES:-1 2}; do
  for v in igemm tfjs; do
    echo "=== $v pass $pass ($(date +%T))"
    timeout 200 $B/glimpse-gpu/node bench/gpu/browser-run.mjs --chromium $B/chromium/chromium-headless-shell \
      --playwright $B/playwright-core --dist $B/$v/dist --models "$REPO_ROOT/public/models" --images $B/bench-images \
      --backends webgpu --batches ${BATCHES:-8,32} --repeats ${REPEATS:-30} --json $OUT/browser-$v-$pass.json 2>&1 | grep -E "network|FAILED|not ready"
  done
done
