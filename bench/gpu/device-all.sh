#!/usr/bin/env bash
# The whole GPU measurement of issue #19 in one run on the GPU machine, ending with results.json:
# TF.js WebGPU in Node (Dawn) for both extractors (levers, upload modes, kernel profile), PyTorch
# for both architectures, the built app in headless Chromium (WebGPU and WebGL), then results.py.
#
# What it needs does not fit one call's carry (64 MiB with the working tree), so
# bench/gpu/pack-session.sh cuts it into .device-carry/c1..c4; calls 1-3 only copy their part into
# /tmp/keep on the machine (`mkdir -p /tmp/keep && cp .device-carry/cN/* /tmp/keep/`), back to
# back so that the machine stays the same, and call 4 runs this script with c4 and .gl carried:
#
#   run(command="set -o pipefail; bash bench/gpu/device-all.sh 2>&1 | tee $OUT/log",
#       carry=[".gl", ".device-carry/c4"])
#
# Writes into $OUT: results.json (the file committed as bench/gpu/results.json), tfjs-*.json,
# torch-*.json, browser.json, gpu.txt, table-*.md, log.
set -uo pipefail
OUT=${OUT:-/tmp/glimpse-gpu-out}
K=${KEEP:-/tmp/keep}
C4=${C4:-.device-carry/c4}
mkdir -p "$OUT"
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
for f in extra.tar.xz dist.tar.xz pw.tar.xz images.tar; do tar -xf "$K/$f" -C "$B" || echo "missing $f"; done

# Dawn in Node: device-run.sh with the archives already unpacked into $W.
step "TF.js WebGPU (Dawn, Node) and PyTorch"
PREUNPACKED=$W REPO_ROOT=$PWD EXTRACTORS=${EXTRACTORS:-inception-v3-2015-mixed8:mixed8,inception-v3-nsfwjs:full} \
  TIMING=${TIMING:---check-preprocess --profile-preprocess --kernel-profile} OUT=$OUT bash bench/gpu/device-run.sh
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
python3 bench/gpu/results.py --dir "$OUT" --out "$OUT/results.json" >/dev/null && echo "wrote $OUT/results.json"
python3 - "$OUT/results.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
for key in ("batches", "full_inception_v3"):
    for row in r.get(key) or []:
        print(key, row)
for row in r.get("browser") or []:
    print("browser", row)
EOF
exit $dawn_rc
