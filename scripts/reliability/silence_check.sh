#!/usr/bin/env bash
# Hours of digital silence through `hearth transcribe` (windows with a constant log-mel are skipped
# as no speech without running the model): prints the text's word count, the segment count, CPU
# seconds (user + sys) and peak RSS (/usr/bin/time -v), with the date, CPU model and load average.
#   scripts/reliability/silence_check.sh [HOURS] [MODEL]   (defaults: 2, whisper-tiny.en)
# The FLAC (sox -n: all zeros) is written to .build/silence.
set -euo pipefail
cd "$(dirname "$0")/../.."
hours=${1:-2}
model=${2:-whisper-tiny.en}
hearth=${HEARTH:-.build/release/hearth}
out=.build/silence
mkdir -p "$out"
clip="$out/silence_${hours}h.flac"
[ -f "$clip" ] || sox -R -D -n -r 16000 -c 1 -b 16 "$clip" trim 0 "$((hours * 3600))"   # -D: no dither, all zeros
echo "$(date -u +%F)  CPU: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)  load average: $(cut -d' ' -f1 /proc/loadavg)"
/usr/bin/time -v "$hearth" transcribe --model "$model" --json "$clip" > "$out/result.json" 2> "$out/time.txt"
python3 - "$out/result.json" "$out/time.txt" "$hours" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
record = json.loads(text.strip().splitlines()[-1])
t = open(sys.argv[2]).read()
field = lambda name: float(re.search(re.escape(name) + r": ([0-9.]+)", t).group(1))
segments = record.get("segments", [])
words = sum(len(s.get("text", "").split()) for s in segments)
print(f"{sys.argv[3]} h of digital silence: {words} words, {len(segments)} segments, "
      f"{field('User time (seconds)') + field('System time (seconds)'):.1f} s CPU, "
      f"peak RSS {field('Maximum resident set size (kbytes)') / 1024:.0f} MB")
PY
