#!/usr/bin/env bash
# Words Whisper writes for clips without speech (hiss, hum, tones, sweeps, clicks, plucked notes),
# with and without the Silero VAD: scripts/reliability/nonspeech_words.sh [MODEL] (default whisper-tiny.en).
# Clips are synthesized with sox (-R: repeatable) into .build/nonspeech.
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${1:-whisper-tiny.en}
hearth=${HEARTH:-.build/release/hearth}
out=.build/nonspeech
mkdir -p "$out"
s() { sox -R -n -r 16000 -c 1 "$out/$1" "${@:2}"; }
s hiss.wav synth 30 whitenoise vol 0.1
s pink.wav synth 30 pinknoise vol 0.1
s hum.wav synth 30 sine 50 sine 100 vol 0.3
s tones.wav synth 30 sine 440:880 vol 0.3
s chord.wav synth 30 sine 261.6 sine 329.6 sine 392 remix 1-3 vol 0.3
s sweep.wav synth 60 sine 100-4000 vol 0.3
s sweep_exp.wav synth 60 sine 200/8000 vol 0.5
s clicks.wav synth 0.005 square 1000 pad 0 0.495 repeat 59 vol 0.5
s plucks.wav synth 0.25 pluck C4 pluck E4 pluck G4 remix - pad 0 0.05 repeat 99 vol 0.5
printf '%-14s %12s %12s\n' clip "words" "words (VAD)"
for f in "$out"/*.wav; do
  plain=$("$hearth" transcribe --model "$model" --beam-size 1 "$f" 2>/dev/null | tail -n +2 | wc -w)
  vad=$("$hearth" transcribe --model "$model" --beam-size 1 --vad "$f" 2>/dev/null | tail -n +2 | wc -w)
  printf '%-14s %12s %12s\n' "$(basename "$f")" "$plain" "$vad"
done
