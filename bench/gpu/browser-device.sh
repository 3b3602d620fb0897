#!/usr/bin/env bash
# On the GPU machine, after earlier calls left the chromium archive's first parts in /tmp/keep
# (the carry of one call is too small for Chromium + Node + the app): reassembles Chromium's headless
# shell with its libraries, unpacks the app's build, playwright-core and the JPEGs, and runs
# browser-run.mjs with Node from /tmp/keep. Run from .scratch/gpu-like folder holding c3/.
set -uo pipefail
OUT=${OUT:-/tmp/out}
K=/tmp/keep
ls -la $K
[ -f $K/chrpart.0 ] && [ -f $K/chrpart.1 ] || { echo "missing chromium parts in $K (machine went cold between calls)"; exit 3; }
B=/tmp/brw && rm -rf $B && mkdir -p $B
cat $K/chrpart.0 $K/chrpart.1 c3/chrpart.2 | tar -xJ -C $B || exit 4
# chromium-common's files the headless shell needs beside it (ICU data, V8 snapshots, GL stubs).
[ -f c5/extra.tar.xz ] && tar -xJf c5/extra.tar.xz -C $B
tar -xJf c3/dist.tar.xz -C $B && tar -xJf c3/pw.tar.xz -C $B && tar -xf c3/images.tar -C $B || exit 5
nv=/usr/local/nvidia/share
export VK_DRIVER_FILES=$nv/vulkan/icd.d/nvidia_icd.json __EGL_VENDOR_LIBRARY_FILENAMES=$nv/glvnd/egl_vendor.d/10_nvidia.json
export LD_LIBRARY_PATH=$B/chromium/lib XDG_RUNTIME_DIR=/tmp
ls $B $B/chromium | head -30
ldd $B/chromium/chromium-headless-shell | grep "not found"
$B/chromium/chromium-headless-shell --version
M=$K/glimpse-gpu/models
ls -la $M/
timeout ${BROWSER_TIMEOUT:-400} $K/glimpse-gpu/node bench/gpu/browser-run.mjs --chromium $B/chromium/chromium-headless-shell \
  --playwright $B/playwright-core --dist $B/dist --models $M --images $B/bench-images --json $OUT/browser.json
