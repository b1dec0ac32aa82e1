#!/usr/bin/env bash
# The long benchmark recording: ~10.6 minutes of English speech with pauses and hiss, and its text.
#   bash scripts/bench/make_bench_recording.sh OUTDIR   → OUTDIR/recording.wav, OUTDIR/recording.txt
# The 30 long-form sentences of scripts/data/make_test_audio.sh, read four times by four espeak-ng
# voices at four speeds (so no passage is read the same way twice), 0.4–6 s pauses between
# sentences, then a white-noise bed 40 dB under full scale mixed over the whole recording.
# Deterministic for one espeak-ng and sox build (the noise has a fixed seed); kept out of git.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${1:?usage: make_bench_recording.sh OUTDIR}
mkdir -p "$OUT"
[ -f "$OUT/recording.wav" ] && [ -f "$OUT/recording.txt" ] && { echo "bench recording: $OUT/recording.wav (kept)" >&2; exit 0; }
for t in espeak-ng sox; do command -v "$t" >/dev/null || { echo "missing $t (run: make setup)" >&2; exit 2; }; done
# shellcheck disable=SC1090
source <(sed -n '/^LONGFORM_SENTENCES=(/,/^)/p' scripts/data/make_test_audio.sh)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
VOICES=(en-us en-gb en-gb-scotland en-us+f3)
SPEEDS=(150 170 140 180)
GAPS=(0.4 0.8 1.5 1.1 2.2 0.6 1.9 0.9 3.8 0.8 1.5 6.0 1.1 0.5 2.6)
parts=(); : > "$OUT/recording.txt.tmp"; k=0
for v in "${!VOICES[@]}"; do
  for s in "${!LONGFORM_SENTENCES[@]}"; do
    f="$work/$v-$s.wav"
    espeak-ng -b 1 -v "${VOICES[$v]}" -s "${SPEEDS[$v]}" -w "$work/raw.wav" -- "${LONGFORM_SENTENCES[$s]}"
    sox -D "$work/raw.wav" -r 16000 -c 1 -b 16 "$f"
    g="$work/gap-$k.wav"
    sox -D -n -r 16000 -c 1 -b 16 "$g" trim 0 "${GAPS[$((k % ${#GAPS[@]}))]}"
    parts+=("$f" "$g"); k=$((k + 1))
    printf '%s ' "${LONGFORM_SENTENCES[$s]}" >> "$OUT/recording.txt.tmp"
  done
done
sox -D "${parts[@]}" "$work/speech.wav"
len=$(soxi -s "$work/speech.wav")
sox -D -R -n -r 16000 -c 1 -b 16 "$work/hiss.wav" synth "${len}s" whitenoise vol 0.01
sox -D -m "$work/speech.wav" "$work/hiss.wav" -b 16 "$OUT/recording.wav"
mv "$OUT/recording.txt.tmp" "$OUT/recording.txt"
echo "bench recording: $OUT/recording.wav ($(soxi -D "$OUT/recording.wav") s)" >&2
