#!/usr/bin/env bash
# `make bench`: Hearth vs faster-whisper on the same clips, same model files, same threads; then
# Hearth vs llama.cpp on the same GGUF text models (scripts/bench/bench_llm.sh, BENCH_SKIP_LLM=1 skips it);
# then Hearth vs OpenCV DNN on yolov3-tiny (scripts/bench/bench_vision.sh, BENCH_SKIP_VISION=1 skips it).
# Benchmark tooling, never part of the product; prints figures and ratios, asserts nothing
# about speed.
#
# Environment knobs:
#   HEARTH_MODELS      model store (default ~/.cache/hearth/models); the model directory is
#                      $HEARTH_MODELS/whisper-tiny.en
#   BENCH_MODEL_DIR    use this CTranslate2 model directory (both systems) instead
#   BENCH_PYTHON       python with faster-whisper (default: .venv-bench/, created if missing)
#   BENCH_REPEAT       timed passes per configuration, fastest kept (default 1)
#   BENCH_THREADS      threads for both systems (default 2)
#   BENCH_SKIP_HEARTH=1 / BENCH_SKIP_PEER=1   run one side only
#   BENCH_SKIP_LLM=1   skip the text-generation half (its own knobs: scripts/bench/bench_llm.sh)
#   BENCH_SKIP_LONGFORM=1 skip the 10.6-minute recording (scripts/bench/bench_longform.sh)
#   BENCH_SKIP_VISION=1 skip the yolov3-tiny half (Hearth vs OpenCV DNN; scripts/bench/bench_vision.sh)
#   HEARTH_BIN         Hearth binary (default .build/release/hearth)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)

THREADS=${BENCH_THREADS:-2}
REPEAT=${BENCH_REPEAT:-1}
FW_VERSION=1.2.1
VENV=.venv-bench
OUT=.build/bench
DATA=.build/benchdata
HEARTH_BIN=${HEARTH_BIN:-.build/release/hearth}
MODEL_NAME=whisper-tiny.en
STORE=${HEARTH_MODELS:-$HOME/.cache/hearth/models}
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS

log() { printf '\033[1mbench:\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo

# --- tools ---------------------------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
  log "installing Debian package 'time' (for /usr/bin/time)"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq time
fi
for t in espeak-ng sox soxi python3; do
  command -v "$t" >/dev/null || die "missing '$t' (run: make setup)"
done

# --- model directory -------------------------------------------------------------------------
MODEL_DIR=${BENCH_MODEL_DIR:-$STORE/$MODEL_NAME}
if [ ! -f "$MODEL_DIR/model.bin" ]; then
  found=$(find "$MODEL_DIR" -name model.bin -print -quit 2>/dev/null || true)
  [ -n "$found" ] || die "no CTranslate2 model.bin under $MODEL_DIR (run: make models, or set BENCH_MODEL_DIR)"
  MODEL_DIR=$(dirname "$found")
fi
for f in config.json tokenizer.json; do
  [ -f "$MODEL_DIR/$f" ] || die "$MODEL_DIR/$f missing (faster-whisper needs it next to model.bin)"
done
log "model directory: $MODEL_DIR"
# Hearth resolves the catalog name to the same directory; an explicit BENCH_MODEL_DIR is passed as a path.
HEARTH_MODEL=$MODEL_NAME
[ -n "${BENCH_MODEL_DIR:-}" ] && HEARTH_MODEL=$MODEL_DIR

# --- peer venv -------------------------------------------------------------------------------
if [ "${BENCH_SKIP_PEER:-0}" != 1 ]; then
  if [ -n "${BENCH_PYTHON:-}" ]; then
    PY=$BENCH_PYTHON
  else
    PY=$VENV/bin/python
    if ! "$PY" -c "import faster_whisper" >/dev/null 2>&1; then
      log "creating $VENV with faster-whisper==$FW_VERSION from PyPI"
      python3 -m venv "$VENV" || die "python3 -m venv failed (apt-get install python3-venv)"
      "$VENV/bin/pip" install -q --disable-pip-version-check "faster-whisper==$FW_VERSION"
    fi
  fi
  "$PY" -c "import faster_whisper" || die "$PY cannot import faster_whisper"
fi

# --- clips -------------------------------------------------------------------------------------
bash scripts/data/make_test_audio.sh "$DATA" >&2
rm -rf "$OUT"; mkdir -p "$OUT/refs"
echo "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country." > "$OUT/refs/jfk.txt"
CLIPS=(samples/jfk.wav samples/speech_espeak.flac "$DATA/longform.wav")
REFS=("$OUT/refs/jfk.txt" Tests/WhisperTests/Fixtures/speech_espeak.txt "$DATA/longform.txt")
for i in "${!CLIPS[@]}"; do
  [ -f "${CLIPS[$i]}" ] || die "missing clip ${CLIPS[$i]}"
  printf '%s\t%s\t%s\n' "${CLIPS[$i]}" "$(soxi -D "${CLIPS[$i]}")" "${REFS[$i]}" >> "$OUT/clips.tsv"
done
log "clips: ${CLIPS[*]}"

# --- faster-whisper ------------------------------------------------------------------------------
if [ "${BENCH_SKIP_PEER:-0}" != 1 ]; then
  for beam in 1 5; do
    for ct in float32 int8; do
      log "faster-whisper $ct beam $beam"
      "$PY" scripts/bench/bench_peer.py --model-dir "$MODEL_DIR" --compute-type "$ct" --beam-size "$beam" \
        --threads "$THREADS" --repeat "$REPEAT" --out "$OUT/peer-$ct-beam$beam.json" "${CLIPS[@]}" >&2
    done
  done
fi

# --- Hearth ------------------------------------------------------------------------------------------
HEARTH_FAILED=0
if [ "${BENCH_SKIP_HEARTH:-0}" != 1 ]; then
  if [ ! -x "$HEARTH_BIN" ]; then
    log "no Hearth binary at $HEARTH_BIN (run: make build); Hearth rows skipped"
    HEARTH_FAILED=1
  else
    # Same decoding as the peer: temperature 0 only (no fallback), language en, if the CLI has them.
    HEARTH_EXTRA=()
    help=$("$HEARTH_BIN" transcribe --help 2>&1 || true)
    grep -q -- '--temperature' <<<"$help" && HEARTH_EXTRA+=(--temperature 0)
    grep -q -- '--language' <<<"$help" && HEARTH_EXTRA+=(--language en)
    grep -q -- '--best-of' <<<"$help" && HEARTH_EXTRA+=(--best-of 1)
    log "Hearth options: --beam-size N --threads $THREADS ${HEARTH_EXTRA[*]}"
    # untimed warm-up: page cache for the binary and the model file, like the peer's load
    "$HEARTH_BIN" transcribe samples/jfk.wav --model "$HEARTH_MODEL" --threads "$THREADS" \
      "${HEARTH_EXTRA[@]}" --format json --output-dir "$OUT/hearth-warmup" >"$OUT/hearth-warmup.log" 2>&1 || true
    for cfg in "float32 1" "float32 5" "int8 1" "int8 5"; do
      set -- $cfg; ct=$1 beam=$2
      name="$OUT/hearth-beam$beam"; [ "$ct" = float32 ] || name="$OUT/hearth-$ct-beam$beam"
      best=""
      for ((r = 0; r < REPEAT; r++)); do
        log "Hearth $ct beam $beam (pass $((r + 1))/$REPEAT)"
        rm -rf "$name"; mkdir -p "$name"
        set +e
        la0=$(cut -d' ' -f1 /proc/loadavg)
        /usr/bin/time -f '%e %M' -o "$name.time.$r" \
          "$HEARTH_BIN" transcribe "${CLIPS[@]}" --model "$HEARTH_MODEL" --beam-size "$beam" --compute-type "$ct" \
          --threads "$THREADS" "${HEARTH_EXTRA[@]}" --format json --output-dir "$name" >"$name.log" 2>&1
        rc=$?
        set -e
        echo "$la0 $(cut -d' ' -f1 /proc/loadavg)" > "$name.loadavg"
        echo "$rc" > "$name.rc"
        if [ "$rc" -ne 0 ]; then
          log "Hearth beam $beam failed (exit $rc); last lines of $name.log:"
          tail -n 5 "$name.log" >&2 || true
          HEARTH_FAILED=1
          break
        fi
        t=$(tail -n 1 "$name.time.$r")
        if [ -z "$best" ] || awk -v a="${t%% *}" -v b="${best%% *}" 'BEGIN{exit !(a < b)}'; then best=$t; fi
      done
      [ -n "$best" ] && echo "$best" > "$name.time"
    done
  fi
fi

# --- table -------------------------------------------------------------------------------------------
echo
python3 scripts/bench/bench_report.py "$OUT"

# --- text generation: Hearth vs llama.cpp (appends its table to $OUT/results.md) ----------------------
if [ "${BENCH_SKIP_LLM:-0}" != 1 ]; then
  echo
  bash scripts/bench/bench_llm.sh || HEARTH_FAILED=1
else
  log "BENCH_SKIP_LLM=1: text-generation benchmark skipped"
fi
# --- long-form: the 10.6-minute recording, sequential / vad / batched vs faster-whisper (incl. batched) ----
if [ "${BENCH_SKIP_LONGFORM:-0}" != 1 ]; then
  echo
  BENCH_PYTHON=${PY:-.venv-bench/bin/python} bash scripts/bench/bench_longform.sh | tee -a "$OUT/results.md" || HEARTH_FAILED=1
else
  log "BENCH_SKIP_LONGFORM=1: long-form benchmark skipped"
fi
# --- vision: Hearth vs OpenCV DNN on yolov3-tiny (appends its table to $OUT/results.md) --------------
if [ "${BENCH_SKIP_VISION:-0}" != 1 ]; then
  echo
  bash scripts/bench/bench_vision.sh || HEARTH_FAILED=1
else
  log "BENCH_SKIP_VISION=1: vision benchmark skipped"
fi
exit $HEARTH_FAILED
