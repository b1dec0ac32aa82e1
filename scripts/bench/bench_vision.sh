#!/usr/bin/env bash
# `make bench`, vision half: Hearth vs OpenCV DNN (cv2.dnn.readNetFromDarknet) running yolov3-tiny
# on the same photos (samples/ photos, repeated), the same 416×416 input and the same threads.
# Prints images per second and ratios; asserts nothing about speed.
#
#   BENCH_THREADS (2)   BENCH_COPIES (5: copies of each sample photo)   HEARTH_BIN (.build/release/hearth)
#   BENCH_CV_PYTHON     python with opencv-python-headless<5 + numpy (default: .venv-cv/, created if missing)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
THREADS=${BENCH_THREADS:-2}
COPIES=${BENCH_COPIES:-5}
HEARTH_BIN=${HEARTH_BIN:-.build/release/hearth}
STORE=${HEARTH_MODELS:-$HOME/.cache/hearth/models}
MODEL_DIR=$STORE/yolov3-tiny
OUT=.build/bench
DATA=.build/benchdata/photos
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
log() { printf '\033[1mbench (vision):\033[0m %s\n' "$*" >&2; }

[ -f "$MODEL_DIR/yolov3-tiny.weights" ] || "$HEARTH_BIN" models install yolov3-tiny >&2
PY=${BENCH_CV_PYTHON:-.venv-cv/bin/python}
if ! "$PY" -c "import cv2, numpy" >/dev/null 2>&1; then
  log "creating .venv-cv with opencv-python-headless<5 and numpy from PyPI"
  python3 -m venv .venv-cv
  .venv-cv/bin/pip install -q --disable-pip-version-check "opencv-python-headless<5" numpy
  PY=.venv-cv/bin/python
fi

rm -rf "$DATA"; mkdir -p "$DATA" "$OUT"
photos=$(find samples -maxdepth 1 -type f \( -name '*.jpg' -o -name '*.jpeg' -o -name '*.png' \) | sort)
[ -n "$photos" ] || { log "no photos in samples/"; exit 2; }
for p in $photos; do
  for i in $(seq 1 "$COPIES"); do cp "$p" "$DATA/$i-$(basename "$p")"; done
done
IMAGES=$(find "$DATA" -type f | sort)
COUNT=$(echo "$IMAGES" | wc -l)
log "$COUNT images ($(echo "$photos" | wc -l) sample photos × $COPIES), input 416, $THREADS threads, load average $(cut -d' ' -f1 /proc/loadavg)"

# Hearth: the whole process (start, model load, decode, detect, JSON out) and its per-image detect timings.
start=$(date +%s.%N)
"$HEARTH_BIN" detect --json --threads "$THREADS" --input-size 416 $IMAGES > "$OUT/hearth_detect.jsonl"
end=$(date +%s.%N)
# OpenCV: the same images in one Python process.
"$PY" scripts/bench/bench_vision.py "$MODEL_DIR" "$THREADS" 416 $IMAGES > "$OUT/opencv_detect.json"

python3 - "$OUT/hearth_detect.jsonl" "$OUT/opencv_detect.json" "$start" "$end" <<'PY' | tee -a "$OUT/results.md"
import json, sys
hearth = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cv = json.load(open(sys.argv[2]))
n = len(hearth)
whole = float(sys.argv[4]) - float(sys.argv[3])
detect = sum(r["timings"]["detect"] for r in hearth)
decode = sum(r["timings"]["image"] for r in hearth)
h_objects = sum(len(r["objects"]) for r in hearth)
print(f"\n### YOLOv3-tiny, {n} images, input 416×416\n")
print("| system | images/s (whole run) | images/s (network + post-processing) | objects found |")
print("|---|---|---|---|")
print(f"| {cv['system']} (Python loop; forward only) | {cv['images'] / (cv['loop_seconds'] + cv['load_seconds']):.1f} | {cv['images'] / cv['forward_seconds']:.1f} | {cv['objects']} |")
print(f"| **Hearth** (whole process; detect timing) | {n / whole:.1f} | {n / detect:.1f} | {h_objects} |")
print(f"\nratio Hearth / OpenCV: whole run {(n / whole) / (cv['images'] / (cv['loop_seconds'] + cv['load_seconds'])):.2f}, "
      f"per image {(n / detect) / (cv['images'] / cv['forward_seconds']):.2f} (Hearth's per-image figure includes decoding boxes and NMS; "
      f"its image decoding took {decode / n * 1000:.1f} ms per image)")
PY
