#!/usr/bin/env bash
# Two builds of hearth side by side on the same inputs, interleaved (A B A B …) so load drift on a
# shared machine hits both alike: whisper-tiny.en greedy over three clips, SmolLM2 answering one
# question (64 tokens), yolov3-tiny over the sample photos. Prints the median wall seconds of
# BENCH_REPEAT passes (default 5) per binary and the ratio, with the 1-minute load average.
# Usage: scripts/bench/bench_builds.sh BEFORE_BINARY AFTER_BINARY   (BENCH_TASKS="ask" runs a subset)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
A=$1 B=$2 REPEAT=${BENCH_REPEAT:-5} THREADS=${BENCH_THREADS:-2}
DATA=.build/testdata
[ -f "$DATA/longform.wav" ] || bash scripts/data/make_test_audio.sh "$DATA" >&2
CLIPS=(samples/jfk.wav samples/speech_espeak.flac "$DATA/longform.wav")
PHOTOS=(samples/dog.jpg samples/horses.jpg samples/person.jpg samples/chelsea.png)
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
export HEARTH_NO_BLAS_REEXEC=${HEARTH_NO_BLAS_REEXEC:-}
run() {  # binary task → wall seconds
  local bin=$1 task=$2 start end
  rm -rf "$TMP/t"   # --output-dir holds results.jsonl and a rerun resumes: start empty each pass
  start=$(date +%s.%N)
  case $task in
    transcribe) "$bin" transcribe "${CLIPS[@]}" --beam-size 1 --temperature 0 --language en --threads "$THREADS" \
                  --format json --output-dir "$TMP/t" >/dev/null 2>&1 ;;
    ask) "$bin" ask "Name three colours of the rainbow." --max-tokens 64 >/dev/null 2>&1 ;;
    detect) "$bin" detect "${PHOTOS[@]}" --json >/dev/null 2>&1 ;;
  esac
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
printf '%-11s %10s %10s %7s   %s\n' task "before s" "after s" ratio "load (start → end)"
for task in ${BENCH_TASKS:-transcribe ask detect}; do
  run "$A" "$task" >/dev/null; run "$B" "$task" >/dev/null   # warm-up: page cache
  la0=$(cut -d' ' -f1 /proc/loadavg); : > "$TMP/a"; : > "$TMP/b"
  for ((r = 0; r < REPEAT; r++)); do run "$A" "$task" >> "$TMP/a"; run "$B" "$task" >> "$TMP/b"; done
  ma=$(median < "$TMP/a"); mb=$(median < "$TMP/b")
  printf '%-11s %10.3f %10.3f %7.3f   %s → %s\n' "$task" "$ma" "$mb" "$(echo "$mb / $ma" | bc -l)" "$la0" "$(cut -d' ' -f1 /proc/loadavg)"
done
