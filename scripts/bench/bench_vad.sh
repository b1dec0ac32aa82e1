#!/usr/bin/env bash
# A `vad` stage (Silero VAD v6 on the core) over 8 copies of longform.wav (23 min 21 s), timed as a
# whole `hearth run` (decoding included; /usr/bin/time -v: wall, peak RSS), and faster-whisper's own
# onnxruntime session (get_speech_timestamps) on one already-decoded copy, with the date, CPU model
# and load average.   scripts/bench/bench_vad.sh [COPIES]   (default 8)
# Needs .build/release/hearth, silero-vad installed, .build/testdata (scripts/data/make_test_audio.sh);
# the peer runs when FW_PYTHON (default /work/venvs/fw/bin/python, faster-whisper 1.2.1) exists.
set -euo pipefail
cd "$(dirname "$0")/../.."
copies=${1:-8}
hearth=${HEARTH:-$PWD/.build/release/hearth}
fw=${FW_PYTHON:-/work/venvs/fw/bin/python}
root=$PWD/.build/bench-vad
rm -rf "$root"; mkdir -p "$root/in"
for ((i = 1; i <= copies; i++)); do cp .build/testdata/longform.wav "$root/in/longform_$i.wav"; done
printf 'inputs: [%s]\nstages:\n  - task: vad\noutputs:\n  directory: %s\n' "$root/in" "$root/out" > "$root/p.yaml"
echo "$(date -u +%F)  CPU: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)  load average: $(cut -d' ' -f1 /proc/loadavg)"
/usr/bin/time -v -o "$root/time.txt" "$hearth" run "$root/p.yaml" --fresh --quiet --threads 2 > /dev/null
python3 - "$root/time.txt" "$copies" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1)
wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall.split(":"))))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
audio = int(sys.argv[2]) * 175.170688   # longform.wav, espeak-ng 1.51 / SoX 14.4.2
print(f"hearth vad stage: {sys.argv[2]} copies ({audio / 60:.1f} min) in {wall:.2f} s wall "
      f"({audio / wall:.0f}x realtime, decoding included), peak RSS {rss:.0f} MB")
PY
if [ -x "$fw" ]; then
  "$fw" - .build/testdata/longform.wav <<'PY'
import sys, time
from faster_whisper.audio import decode_audio
from faster_whisper.vad import get_speech_timestamps, VadOptions
audio = decode_audio(sys.argv[1])
get_speech_timestamps(audio[:16000 * 30], VadOptions())   # load the session
best = min((lambda t: (get_speech_timestamps(audio, VadOptions()), time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(3))
print(f"faster-whisper get_speech_timestamps: {best:.2f} s per decoded copy ({len(audio) / 16000 / best:.0f}x realtime, best of 3)")
PY
fi
