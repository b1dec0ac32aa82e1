#!/usr/bin/env bash
# Deterministic test clips for Hearth, synthesized locally with espeak-ng + sox
# (nothing is downloaded). Test/bench tooling only, never part of the product.
#
#   scripts/data/make_test_audio.sh OUTDIR          all test clips into OUTDIR (see below)
#   scripts/data/make_test_audio.sh --sample FILE   the committed clip samples/speech_espeak.flac
#                                              (its text: Tests/WhisperTests/Fixtures/speech_espeak.txt)
#   scripts/data/make_test_audio.sh --multilingual DIR   the committed clips spanish.ogg, german.ogg
#                                              (Ogg Vorbis q1 of spanish.wav / german.wav below; fixed
#                                              inputs for the multilingual goldens, whatever espeak-ng build)
#
# OUTDIR receives:
#   longform.wav/.txt/.json  ~3 min, 16 kHz mono: 30 English sentences, 1-3 s silences between
#                            them and one 8 s silence; .json has each sentence's start/end
#                            (seconds, exact sample counts from soxi -s while concatenating)
#   spanish.wav/.txt, german.wav/.txt   ~10 s each (espeak-ng -v es / -v de), 16 kHz mono
#   empty.wav                0 bytes
#   truncated.wav            a real 16-bit WAV header that declares the full data size,
#                            followed by only half of the data
#   notaudio.wav             a text file with a .wav name
#   stereo_44k.flac          stereo 44.1 kHz speech (same text as speech.txt)
#   speech.ogg               Ogg Vorbis, 16 kHz mono speech (same text as speech.txt)
#   speech.txt               the text of stereo_44k.flac and speech.ogg
#
# Determinism: espeak-ng output is deterministic for a given version; sox runs with
# -R (repeatable) and -D (no dither), so resampling is bit-exact across runs. A stamp
# file (OUTDIR/.stamp = hash of this script + tool versions) makes reruns a no-op.
set -euo pipefail
export LC_ALL=C

die() { echo "make_test_audio: $*" >&2; exit 1; }
for t in espeak-ng sox soxi sha256sum; do
  command -v "$t" >/dev/null 2>&1 || die "missing tool '$t' (apt-get install espeak-ng sox)"
done

SR=16000
SOX=(sox -R -D -V1)
SCRIPT_PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"

# say VOICE SPEED TEXT OUT_WAV [RATE CHANNELS]: synthesize TEXT, convert to RATE Hz (default 16k) mono 16-bit
say() {
  local voice=$1 speed=$2 text=$3 out=$4 rate=${5:-$SR} ch=${6:-1}
  local raw="${out%.*}.raw22k.wav"
  espeak-ng -b 1 -v "$voice" -s "$speed" -w "$raw" -- "$text"
  if [ "$ch" = 1 ]; then
    "${SOX[@]}" "$raw" -r "$rate" -c 1 -b 16 "$out"
  else
    "${SOX[@]}" "$raw" -r "$rate" -b 16 "$out" remix 1 1
  fi
  rm -f "$raw"
}

# silence SECONDS OUT_WAV
silence() { "${SOX[@]}" -n -r "$SR" -c 1 -b 16 "$2" trim 0 "$1"; }

samples() { soxi -s "$1"; }

# ---------------------------------------------------------------------------------------
# Texts. No digits (WER compares words as written; espeak reads digits as words).
LONGFORM_SENTENCES=(
  "The library opens early in the morning and closes late in the evening."
  "Many people come to read newspapers and borrow books about history."
  "A small garden behind the building is full of flowers in the spring."
  "The children like to sit on the grass and listen to stories."
  "On rainy days the reading room is quiet and warm."
  "The old clock on the wall has not worked for many years."
  "Every week a new group of volunteers helps to sort the returned books."
  "Some of the oldest maps in the collection show rivers that no longer exist."
  "Visitors are asked to speak softly and to turn off their phones."
  "The librarian knows the name of almost every regular reader."
  "In the winter the heating system makes a low humming sound."
  "A cat sometimes sleeps on the chair near the front window."
  "Nobody knows who first brought the cat into the building."
  "Students often stay until closing time to finish their homework."
  "The computers near the entrance are free for anyone to use."
  "Last summer the roof was repaired after a heavy storm."
  "Workers replaced the broken tiles and painted the walls white."
  "The town council decided to keep the library open on weekends."
  "This decision made many families very happy."
  "Now there is a music class every Saturday afternoon."
  "The teacher brings a guitar and a box of small drums."
  "Older readers prefer the quiet hours before lunch."
  "They read the morning paper and drink a cup of tea."
  "The coffee machine in the hall is often out of order."
  "A sign on the door lists the opening hours for each day."
  "At the end of the year the library holds a book sale."
  "The money from the sale is used to buy new books."
  "People from nearby villages travel by bus to attend the sale."
  "It is one of the busiest days of the whole year."
  "When the lights go off at night the building is finally silent."
)
# Silence after sentence i (seconds), 1-3 s; one 8 s gap after sentence 15.
LONGFORM_GAPS=(1.0 2.0 1.5 3.0 1.0 2.5 1.5 2.0 1.0 3.0 1.5 2.0 1.0 2.5 8.0
               1.5 2.0 1.0 3.0 1.5 2.5 1.0 2.0 1.5 3.0 1.0 2.0 1.5 2.5)

SPANISH_TEXT="Buenos días. Hoy hace buen tiempo en la ciudad. Vamos a caminar por el parque y después tomaremos un café con nuestros amigos."
GERMAN_TEXT="Guten Morgen. Heute ist das Wetter in der Stadt sehr schön. Wir gehen im Park spazieren und trinken danach einen Kaffee mit unseren Freunden."
SPEECH_TEXT="The quick brown fox jumps over the lazy dog. Please close the window before you leave the house."

# The committed clip samples/speech_espeak.flac: sentences separated by short pauses.
ESPEAK_SAMPLE_SENTENCES=(
  "Welcome to the weather report for the coast."
  "Clouds will move in from the west during the morning."
  "In the afternoon there may be light rain near the hills."
  "The wind will be calm, and the sea will be smooth."
  "Tomorrow should be dry and a little warmer, with sunshine in most places."
  "That is all for today. Thank you for listening."
)
ESPEAK_SAMPLE_GAPS=(0.8 1.5 0.6 2.0 1.0)

# ---------------------------------------------------------------------------------------
# concat_sentences VOICE SPEED OUT_WAV OUT_TXT OUT_JSON(or "") N_SENTENCES... GAPS via globals
# Uses arrays named by $1/$2 (bash namerefs).
concat_sentences() {
  local -n sents=$1 gaps=$2
  local voice=$3 speed=$4 out=$5 txt=$6 json=$7 work=$8
  local parts=() pos=0 n i ns
  : > "$txt"
  [ -n "$json" ] && { printf '{\n  "sample_rate": %d,\n  "voice": "%s",\n  "speed_wpm": %d,\n  "sentences": [\n' "$SR" "$voice" "$speed" > "$json"; }
  n=${#sents[@]}
  for ((i = 0; i < n; i++)); do
    local w="$work/s$(printf '%03d' "$i").wav"
    say "$voice" "$speed" "${sents[$i]}" "$w"
    ns=$(samples "$w")
    if [ -n "$json" ]; then
      local sep=","; [ $((i + 1)) -eq "$n" ] && sep=""
      printf '    {"index": %d, "start": %s, "end": %s, "start_sample": %d, "end_sample": %d, "text": "%s"}%s\n' \
        "$i" "$(awk -v a="$pos" -v r="$SR" 'BEGIN{printf "%.4f", a/r}')" \
        "$(awk -v a="$((pos + ns))" -v r="$SR" 'BEGIN{printf "%.4f", a/r}')" \
        "$pos" "$((pos + ns))" "${sents[$i]}" "$sep" >> "$json"
    fi
    printf '%s\n' "${sents[$i]}" >> "$txt"
    parts+=("$w"); pos=$((pos + ns))
    if [ $((i + 1)) -lt "$n" ]; then
      local g="$work/g$(printf '%03d' "$i").wav"
      silence "${gaps[$i]}" "$g"
      parts+=("$g"); pos=$((pos + $(samples "$g")))
    fi
  done
  "${SOX[@]}" "${parts[@]}" "$out"
  local total; total=$(samples "$out")
  [ "$total" -eq "$pos" ] || die "concatenation length mismatch ($total != $pos)"
  [ -n "$json" ] && printf '  ],\n  "total_samples": %d,\n  "duration": %s,\n  "note": "start/end are the synthesized sentence boundaries; espeak-ng adds ~0.1-0.3 s of its own trailing silence inside each sentence"\n}\n' \
    "$total" "$(awk -v a="$total" -v r="$SR" 'BEGIN{printf "%.4f", a/r}')" >> "$json"
  return 0
}

make_sample() {
  local out=$1 work
  work=$(mktemp -d); trap 'rm -rf "$work"' RETURN
  concat_sentences ESPEAK_SAMPLE_SENTENCES ESPEAK_SAMPLE_GAPS en-us 150 "$work/clip.wav" "$work/clip.txt" "" "$work"
  mkdir -p "$(dirname "$out")"
  "${SOX[@]}" "$work/clip.wav" -C 8 "$work/clip.flac"
  mv "$work/clip.flac" "$out"
  local repo; repo="$(cd "$(dirname "$SCRIPT_PATH")/../.." && pwd)"
  local txt="$repo/Tests/WhisperTests/Fixtures/speech_espeak.txt"
  # The reference text: one line, sentences joined by single spaces.
  mkdir -p "$(dirname "$txt")"
  tr '\n' ' ' < "$work/clip.txt" | sed 's/ $//' > "$txt"; echo >> "$txt"
  echo "wrote $out ($(soxi -D "$out") s, $(stat -c %s "$out") bytes) and $txt"
}

make_multilingual() {
  local outdir=$1 work
  work=$(mktemp -d); trap 'rm -rf "$work"' RETURN
  mkdir -p "$outdir"
  say es 150 "$SPANISH_TEXT" "$work/spanish.wav"
  say de 150 "$GERMAN_TEXT" "$work/german.wav"
  for c in spanish german; do
    "${SOX[@]}" "$work/$c.wav" -C 1 "$outdir/$c.ogg"
    echo "wrote $outdir/$c.ogg ($(soxi -D "$outdir/$c.ogg") s, $(stat -c %s "$outdir/$c.ogg") bytes)"
  done
}

make_all() {
  local outdir=$1
  mkdir -p "$outdir"
  local stamp
  stamp=$( { sha256sum "$SCRIPT_PATH"; espeak-ng --version; sox --version; } | sha256sum | cut -c1-16)
  if [ -f "$outdir/.stamp" ] && [ "$(cat "$outdir/.stamp")" = "$stamp" ]; then
    echo "test audio in $outdir is up to date"; return 0
  fi
  rm -f "$outdir/.stamp"
  local work; work=$(mktemp -d); trap 'rm -rf "$work"' RETURN

  # (a) long-form
  mkdir -p "$work/lf"
  concat_sentences LONGFORM_SENTENCES LONGFORM_GAPS en-us 150 "$work/longform.wav" "$work/longform.txt" "$work/longform.json" "$work/lf"

  # (b) non-English
  say es 150 "$SPANISH_TEXT" "$work/spanish.wav"; printf '%s\n' "$SPANISH_TEXT" > "$work/spanish.txt"
  say de 150 "$GERMAN_TEXT" "$work/german.wav";  printf '%s\n' "$GERMAN_TEXT"  > "$work/german.txt"

  # (c) malformed inputs
  : > "$work/empty.wav"
  say en-us 160 "$SPEECH_TEXT" "$work/full.wav"
  local size half
  size=$(stat -c %s "$work/full.wav")
  half=$(( (44 + (size - 44) / 2) / 2 * 2 ))
  head -c "$half" "$work/full.wav" > "$work/truncated.wav"
  rm -f "$work/full.wav"
  printf 'This is not audio.\nIt is a plain text file with a .wav name, for error-path tests.\n' > "$work/notaudio.wav"

  # (d) decoder coverage
  printf '%s\n' "$SPEECH_TEXT" > "$work/speech.txt"
  say en-us 160 "$SPEECH_TEXT" "$work/stereo_44k.flac" 44100 2
  say en-us 160 "$SPEECH_TEXT" "$work/speech16k.wav"
  "${SOX[@]}" "$work/speech16k.wav" -C 3 "$work/speech.ogg"
  rm -f "$work/speech16k.wav"

  for f in longform.wav longform.txt longform.json spanish.wav spanish.txt german.wav german.txt \
           empty.wav truncated.wav notaudio.wav stereo_44k.flac speech.ogg speech.txt; do
    mv -f "$work/$f" "$outdir/$f"
  done
  echo "$stamp" > "$outdir/.stamp"
  echo "wrote test audio to $outdir (longform $(soxi -D "$outdir/longform.wav") s)"
}

case "${1:-}" in
  --sample) [ $# -eq 2 ] || die "usage: $0 --sample OUT.flac"; make_sample "$2" ;;
  --multilingual) [ $# -eq 2 ] || die "usage: $0 --multilingual DIR"; make_multilingual "$2" ;;
  ""|-h|--help) sed -n '2,28p' "$SCRIPT_PATH"; [ -n "${1:-}" ] ;;
  *) [ $# -eq 1 ] || die "usage: $0 OUTDIR | --sample OUT.flac"; make_all "$1" ;;
esac
