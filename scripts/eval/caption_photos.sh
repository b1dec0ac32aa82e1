#!/usr/bin/env bash
# Captions of the sample and test photos, one line per photo (TSV: photo, caption, zoomed_out,
# what the zoomed-out look set aside), from the hearth binary given (default .build/release/hearth):
#   samples/{chelsea.png,dog.jpg,horses.jpg,person.jpg}; Debian darknet's data/{dog,eagle,giraffe,
#   horses,kite,person,scream}.jpg (apt-get install darknet); Tests/VisionTests/Fixtures/photo_{cat,portrait}.png;
#   and 6 synthetic images without objects (FFmpeg lavfi: mandelbrot, cellauto, testsrc2, gradients,
#   a flat colour, noise), written to OUT/patterns.
# Usage: scripts/eval/caption_photos.sh [HEARTH] [OUT] [extra caption flags…]
# Measures nothing about speed; used to compare caption versions (issue 18's before/after).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
HEARTH=${1:-.build/release/hearth}; OUT=${2:-.build/caption-photos}; shift $(( $# > 2 ? 2 : $# ))
mkdir -p "$OUT/photos" "$OUT/patterns"
for f in samples/chelsea.png samples/dog.jpg samples/horses.jpg samples/person.jpg; do cp "$f" "$OUT/photos/sample_$(basename "$f")"; done
for n in dog eagle giraffe horses kite person scream; do
  [ -f /usr/share/darknet/data/$n.jpg ] && cp /usr/share/darknet/data/$n.jpg "$OUT/photos/darknet_$n.jpg"
done
cp Tests/VisionTests/Fixtures/photo_cat.png Tests/VisionTests/Fixtures/photo_portrait.png "$OUT/photos/"
lavfi() { [ -f "$OUT/patterns/$1.png" ] || ffmpeg -v error -y -f lavfi -i "$2" -frames:v 1 "$OUT/patterns/$1.png"; }
lavfi mandelbrot "mandelbrot=size=640x480"
lavfi cellauto "cellauto=size=640x480:rule=110:random_seed=7,scale=640:480"
lavfi testsrc2 "testsrc2=size=640x480"
lavfi gradients "gradients=size=640x480:seed=7"
lavfi flat "color=c=0x6080a0:size=640x480"
lavfi noise "color=c=gray:size=640x480,noise=alls=100:allf=u:all_seed=7"
rm -rf "$OUT/run"
"$HEARTH" caption "$OUT/photos" "$OUT/patterns" --output-dir "$OUT/run" "$@" > /dev/null
python3 - "$OUT/run/results.jsonl" <<'PY'
import json, os, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    res = r.get("results", {}).get("caption", {})
    aside = ", ".join(f"{o['label']} {o['score']:.2f}" for o in res.get("zoom_out_rejected", []) or [])
    print(f"{os.path.basename(r['id'])}\t{res.get('text', r.get('error', ''))}\t{res.get('zoomed_out', False)}\t{aside}")
PY
