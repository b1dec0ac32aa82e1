#!/usr/bin/env bash
# Cross-file batching of `transcribe`: `hearth run --fresh --threads 2 --batch-size B` over two clip
# sets, greedy and beam 5, REPS interleaved repetitions per cell (the README's Batching table).
# Prints audio seconds per wall second, best of REPS with the median in brackets, and audio seconds
# per CPU second (user + sys, median), with the date, CPU model and load average.
#   scripts/bench/bench_batching.sh [REPS] [BATCH SIZES...]   (defaults: 3; 1 2 4 8)
# Needs .build/release/hearth, whisper-tiny.en installed and .build/testdata
# (bash scripts/data/make_test_audio.sh .build/testdata). Clip sets (in .build/bench-batching):
#   short: 10 clips of 6–27 s — jfk.wav, jfk.mp3, jfk.m4a, speech_espeak.flac, speech.ogg,
#          stereo_44k.flac, and copies of jfk.wav, speech_espeak.flac, speech.ogg, stereo_44k.flac
#   long:  2 × longform.wav (3 min) + jfk.wav + speech_espeak.flac
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=${1:-3}; [ $# -gt 0 ] && shift
if [ $# -gt 0 ]; then sizes=("$@"); else sizes=(1 2 4 8); fi
hearth=${HEARTH:-$PWD/.build/release/hearth}
root=$PWD/.build/bench-batching
td=$PWD/.build/testdata
rm -rf "$root"; mkdir -p "$root/short" "$root/long"
i=0
for f in samples/jfk.wav samples/jfk.mp3 samples/jfk.m4a samples/speech_espeak.flac "$td/speech.ogg" "$td/stereo_44k.flac" \
         samples/jfk.wav samples/speech_espeak.flac "$td/speech.ogg" "$td/stereo_44k.flac"; do
  i=$((i + 1)); b=$(basename "$f"); cp "$f" "$root/short/$(printf %02d $i)_$b"
done
cp "$td/longform.wav" "$root/long/a_longform.wav"; cp "$td/longform.wav" "$root/long/b_longform.wav"
cp samples/jfk.wav samples/speech_espeak.flac "$root/long/"
seconds() { python3 - "$@" <<'PY'
import subprocess, sys
print(sum(float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", f],
                               capture_output=True, text=True, check=True).stdout) for f in sys.argv[1:]))
PY
}
echo "$(date -u +%F)  CPU: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)  load average: $(cut -d' ' -f1 /proc/loadavg)"
for set in short long; do
  audio=$(seconds "$root/$set"/*)
  for beam in 1 5; do
    for b in "${sizes[@]}"; do : > "$root/times_${set}_${beam}_$b"; done
    cat > "$root/p_${set}_$beam.yaml" <<YAML
name: bench-batching
inputs:
  - path: $root/$set
stages:
  - task: transcribe
    model: whisper-tiny.en
    options:
      beam_size: $beam
outputs:
  directory: $root/out_${set}_$beam
YAML
    for ((r = 0; r < reps; r++)); do
      for b in "${sizes[@]}"; do   # interleaved: every batch size once per repetition
        /usr/bin/time -f "%e %U %S" -o "$root/t" "$hearth" run "$root/p_${set}_$beam.yaml" --fresh --quiet \
          --threads 2 --batch-size "$b" > /dev/null 2>&1 || { echo "hearth run failed ($set beam $beam batch $b)"; exit 1; }
        tail -1 "$root/t" >> "$root/times_${set}_${beam}_$b"
      done
    done
    line=$(for b in "${sizes[@]}"; do python3 - "$audio" "$root/times_${set}_${beam}_$b" <<'PY'
import statistics, sys
audio = float(sys.argv[1])
rows = [list(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
wall = [audio / r[0] for r in rows]
cpu = statistics.median(audio / (r[1] + r[2]) for r in rows)
print(f"| {max(wall):.1f} ({statistics.median(wall):.1f}), {cpu:.1f} CPU ", end="")
PY
    done)
    echo "| $set ($(printf %.0f "$audio") s) | beam $beam $line|"
  done
done
echo "cells: audio-s per wall-s, best of $reps (median), audio-s per CPU-s (median); batch sizes ${sizes[*]}"
