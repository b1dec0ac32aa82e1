#!/usr/bin/env bash
# Text-generation half of `make bench` (called at the end of scripts/bench/bench.sh, or on its own):
# Hearth vs llama.cpp (llama-cpp-python, built from its PyPI sdist) on the same GGUF files, the
# same chat prompt (~280 tokens with the template) and the same thread count: prompt-processing
# and generation tokens/s for 128 greedy tokens. Benchmark tooling, never part of the product;
# prints figures and ratios, asserts nothing about speed. Appends its table to .build/bench/results.md.
#
# Environment knobs:
#   BENCH_SKIP_LLM=1        skip this half
#   BENCH_LLM_MODELS        catalog names (default "smollm2-135m-instruct qwen2.5-coder-0.5b-instruct";
#                           missing ones are installed with `hearth models install`)
#   BENCH_LLM_MAX_TOKENS    generated tokens (default 128)
#   BENCH_LLM_PYTHON        python with llama_cpp (default .venv-bench/, llama-cpp-python installed
#                           into it if missing: builds llama.cpp from source, ~6-10 minutes on 2 cores)
#   BENCH_THREADS, BENCH_REPEAT, BENCH_SKIP_HEARTH=1, BENCH_SKIP_PEER=1, HEARTH_BIN, HEARTH_MODELS
#                           as for scripts/bench/bench.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

THREADS=${BENCH_THREADS:-2}
REPEAT=${BENCH_REPEAT:-1}
MAX_TOKENS=${BENCH_LLM_MAX_TOKENS:-128}
LLAMA_CPP_PYTHON_VERSION=0.3.36
VENV=.venv-bench
OUT=.build/bench
HEARTH_BIN=${HEARTH_BIN:-.build/release/hearth}
STORE=${HEARTH_MODELS:-$HOME/.cache/hearth/models}
read -r -a MODELS <<<"${BENCH_LLM_MODELS:-smollm2-135m-instruct qwen2.5-coder-0.5b-instruct}"
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS

log() { printf '\033[1mbench-llm:\033[0m %s\n' "$*" >&2; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }

if [ "${BENCH_SKIP_LLM:-0}" = 1 ]; then
  log "BENCH_SKIP_LLM=1: text-generation benchmark skipped"
  exit 0
fi
mkdir -p "$OUT"
rm -f "$OUT"/llm-*

# --- models --------------------------------------------------------------------------------------
AVAILABLE=()
for m in "${MODELS[@]}"; do
  if [ ! -f "$STORE/$m/model.gguf" ] && [ -x "$HEARTH_BIN" ]; then
    log "installing $m"
    "$HEARTH_BIN" models install "$m" >&2 || true
  fi
  if [ -f "$STORE/$m/model.gguf" ]; then
    AVAILABLE+=("$m")
  else
    log "no $STORE/$m/model.gguf (run: hearth models install $m); $m skipped"
  fi
done
[ ${#AVAILABLE[@]} -gt 0 ] || { log "no text model available; text-generation benchmark skipped"; exit 0; }
QUESTION=$(python3 scripts/bench/bench_llm.py question)

# --- llama.cpp -----------------------------------------------------------------------------------
if [ "${BENCH_SKIP_PEER:-0}" != 1 ]; then
  PY=${BENCH_LLM_PYTHON:-$VENV/bin/python}
  if ! "$PY" -c "import llama_cpp" >/dev/null 2>&1; then
    if [ -n "${BENCH_LLM_PYTHON:-}" ]; then
      log "$PY cannot import llama_cpp; llama.cpp rows skipped"
      PY=""
    else
      [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" || log "python3 -m venv failed (apt-get install python3-venv)"
      log "installing llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION into $VENV from its PyPI sdist" \
          "(builds llama.cpp from source: about 6-10 minutes on 2 cores)"
      if ! CMAKE_ARGS="-DGGML_NATIVE=OFF" "$VENV/bin/pip" install -q --disable-pip-version-check \
          --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" >&2; then
        log "llama-cpp-python did not install; llama.cpp rows skipped"
        PY=""
      fi
    fi
  fi
  if [ -n "$PY" ]; then
    for m in "${AVAILABLE[@]}"; do
      log "llama.cpp $m ($THREADS threads, $MAX_TOKENS tokens)"
      "$PY" scripts/bench/bench_llm.py peer --model "$STORE/$m/model.gguf" --name "$m" --threads "$THREADS" \
        --max-tokens "$MAX_TOKENS" --repeat "$REPEAT" --out "$OUT/llm-peer-$m.json" \
        2> >(grep -v 'n_ctx_seq' >&2) || log "llama.cpp run on $m failed"
    done
  fi
fi

# --- Hearth --------------------------------------------------------------------------------------
FAILED=0
if [ "${BENCH_SKIP_HEARTH:-0}" != 1 ]; then
  help=""
  [ -x "$HEARTH_BIN" ] && help=$("$HEARTH_BIN" ask --help 2>&1 || true)
  # an unknown subcommand's --help prints the top-level help: require ask's own options
  if ! grep -q -- '--max-tokens' <<<"$help" || ! grep -q -- '--json' <<<"$help"; then
    log "Hearth ask not available ($HEARTH_BIN ask --help shows no --max-tokens / --json); Hearth rows skipped"
    echo "Hearth ask not available" > "$OUT/llm-hearth-unavailable.txt"
  else
    EXTRA=()
    grep -q -- '--threads' <<<"$help" && EXTRA+=(--threads "$THREADS")
    for m in "${AVAILABLE[@]}"; do
      # untimed warm-up: binary and model file into the page cache
      "$HEARTH_BIN" ask "Hello" --model "$m" --max-tokens 4 --json "${EXTRA[@]}" >/dev/null 2>&1 || true
      for ((r = 0; r < REPEAT; r++)); do
        log "Hearth $m (pass $((r + 1))/$REPEAT)"
        run="$OUT/llm-hearth-$m@$r"
        la0=$(loadavg)
        set +e
        "$HEARTH_BIN" ask "$QUESTION" --model "$m" --max-tokens "$MAX_TOKENS" --json "${EXTRA[@]}" \
          >"$run.json" 2>"$run.log"
        rc=$?
        set -e
        echo "$la0 $(loadavg)" > "$run.loadavg"
        if [ "$rc" -ne 0 ]; then
          log "hearth ask on $m failed (exit $rc); last lines of $run.log:"
          tail -n 5 "$run.log" >&2 || true
          printf '{"error": "hearth ask exited with status %d (see %s.log)"}\n' "$rc" "$run" > "$run.json"
          FAILED=1
          break
        fi
      done
    done
  fi
fi

# --- table ---------------------------------------------------------------------------------------
echo
python3 scripts/bench/bench_llm.py report "$OUT" --threads "$THREADS" --models "${AVAILABLE[*]}"
exit $FAILED
