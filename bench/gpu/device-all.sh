#!/usr/bin/env bash
# The whole GPU measurement of issue #19 in one run on the GPU machine, ending with results.json:
# TF.js WebGPU in Node (Dawn) for both extractors (levers, upload modes, kernel profile), PyTorch
# for both architectures, the built app in headless Chromium (WebGPU and WebGL), then results.py.
#
# What it needs does not fit one call's carry (64 MiB with the working tree), so
# bench/gpu/pack-session.sh cuts it into .device-carry/gpu-c1..c4 (of the checkout that the device
# tool sends, which is the session's, not necessarily this worktree); calls 1-3 only copy their
# part into /tmp/keep on the machine, back to back so that the machine stays the same:
#
#   run(command="mkdir -p /tmp/keep && cp .device-carry/gpu-cN/* /tmp/keep/", carry=[".device-carry/gpu-cN"])
#
# and call 4 runs this script from the scripts.tar that c4 carries (this worktree's bench/gpu):
#
#   run(command="set -o pipefail; C=$PWD/.device-carry/gpu-c4; mkdir -p /tmp/s && tar -xf $C/scripts.tar -C /tmp/s
#                && cd /tmp/s && REPO_ROOT=$OLDPWD C4=$C bash bench/gpu/device-all.sh 2>&1 | tee $OUT/log",
#       carry=[".device-carry/gpu-c4"])
#
# Writes into $OUT: results.json (the file committed as bench/gpu/results.json) and raw.tar.gz
# (tfjs-*.json, torch-*.json, browser.json, gpu.txt, table-*.md: at most 8 files come back).
set -uo pipefail
FINAL=${OUT:-/tmp/glimpse-gpu-out}
OUT=/tmp/glimpse-gpu-raw
K=${KEEP:-/tmp/keep}
C4=${C4:-.device-carry/gpu-c4}
REPO_ROOT=${REPO_ROOT:-$PWD}
rm -rf "$OUT" && mkdir -p "$OUT" "$FINAL"
step() { echo; echo "=== $* ($(date +%T))"; }
cp "$C4"/* "$K"/ 2>/dev/null
ls -la "$K"

step "reassemble and unpack"
W=/tmp/glimpse-gpu-run
rm -rf "$W" && mkdir -p "$W"
for f in "$K"/glimpse-node.tar.xz "$K"/bundle.tar.xz "$K"/nsfwjs.tar; do
  tar -xf "$f" -C "$W" || { echo "missing or broken $f (machine went cold between calls?)"; exit 3; }
done
B=/tmp/brw && rm -rf "$B" && mkdir -p "$B"
cat "$K"/chrpart.* | tar -xJ -C "$B" || echo "chromium parts missing: the browser rows will be empty"
for f in extra.tar.xz dist.tar.xz pw.tar.xz images.tar fonts.tar; do tar -xf "$K/$f" -C "$B" || echo "missing $f"; done
# Without a fontconfig file (the machine has none) Skia aborts the renderer at start
# (SkFontMgr_FontConfigInterface.cpp:163 Not implemented): one font and a config naming its folder.
export FONTCONFIG_FILE=$B/fonts/fonts.conf

# Dawn in Node: device-run.sh with the archives already unpacked into $W.
step "TF.js WebGPU (Dawn, Node) and PyTorch"
PREUNPACKED=$W REPO_ROOT=$REPO_ROOT GLDIR=$C4/gl EXTRACTORS=${EXTRACTORS:-inception-v3-2015-mixed8:mixed8,inception-v3-nsfwjs:full} \
  TIMING=${TIMING:---check-igemm --check-tiles --check-preprocess --profile-preprocess --kernel-profile} OUT=$OUT bash bench/gpu/device-run.sh
dawn_rc=$?

step "headless Chromium on the same card"
nv=/usr/local/nvidia/share
export VK_DRIVER_FILES=$nv/vulkan/icd.d/nvidia_icd.json __EGL_VENDOR_LIBRARY_FILENAMES=$nv/glvnd/egl_vendor.d/10_nvidia.json
export XDG_RUNTIME_DIR=/tmp
G=$W/glimpse-gpu
if [ -x "$B/chromium/chromium-headless-shell" ]; then
  (
    export LD_LIBRARY_PATH=$B/chromium/lib
    ldd "$B/chromium/chromium-headless-shell" | grep "not found"
    "$B/chromium/chromium-headless-shell" --version
    timeout "${BROWSER_TIMEOUT:-300}" "$G/node" bench/gpu/browser-run.mjs --chromium "$B/chromium/chromium-headless-shell" \
      --playwright "$B/playwright-core" --dist "$B/dist" --models "$G/models" --images "$B/bench-images" \
      --json "$OUT/browser.json"
  )
  echo "browser rc=$?"
fi

step "results.json"
python3 bench/gpu/results.py --dir "$OUT" --out "$FINAL/results.json" >/dev/null && echo "wrote results.json"
tar -czf "$FINAL/raw.tar.gz" -C "$OUT" .
python3 - "$FINAL/results.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
for key in ("batches", "full_inception_v3"):
    for row in r.get(key) or []:
        print(key, row)
for row in r.get("browser") or []:
    print("browser", row)
EOF
exit $dawn_rc
