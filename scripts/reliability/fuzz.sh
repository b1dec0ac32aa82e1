#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets of fuzz/ (ASan + libFuzzer) and runs each for
# FUZZ_SECONDS (default 30) on its committed seeds, then prints executions and findings per target.
#   FUZZ_SECONDS=300 FUZZ_TARGETS="fuzz-gguf fuzz-audio" bash scripts/reliability/fuzz.sh
# Working corpora grow in .build-fuzz/work/<target> (kept between runs); crashing, leaking, slow
# or memory-hungry inputs land in .build-fuzz/findings/<target>/ — turn each into a regression
# test under Tests/ and fix it.
set -u
cd "$(dirname "$0")/../.."
SECONDS_EACH=${FUZZ_SECONDS:-30}
SCRATCH=.build-fuzz
ALL="fuzz-audio fuzz-container fuzz-ctranslate2 fuzz-safetensors fuzz-gguf fuzz-tokenizer fuzz-pipeline fuzz-manifest fuzz-results"
[ -d Sources/Media/Image ] && [ -d fuzz/Sources/fuzz-image ] && ALL="$ALL fuzz-image"
[ -d fuzz/Sources/fuzz-darknet ] && ALL="$ALL fuzz-darknet"
[ -d fuzz/Sources/fuzz-onnx ] && ALL="$ALL fuzz-onnx"
TARGETS=${FUZZ_TARGETS:-$ALL}

echo "building fuzz targets (ASan + libFuzzer, debug) ..."
start=$(date +%s)
swift build --package-path fuzz --scratch-path "$SCRATCH" -j 2 \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
  -Xcc -fsanitize=fuzzer-no-link,address 2>&1 | grep -v "Cannot export local symbol" | tail -5
[ "${PIPESTATUS[0]}" = 0 ] || { echo "fuzz build failed"; exit 2; }
echo "built in $(( $(date +%s) - start )) s"
BIN=$(swift build --package-path fuzz --scratch-path "$SCRATCH" --show-bin-path)

total_findings=0
printf '\n%-18s %8s %12s %10s %8s %9s\n' target seconds executions exec/s corpus findings > "$SCRATCH/summary.txt"
for t in $TARGETS; do
  work="$SCRATCH/work/$t"; findings="$SCRATCH/findings/$t"
  mkdir -p "$work" "$findings"
  log="$SCRATCH/$t.log"
  # -rss_limit_mb: 2 GB is a finding (bounded memory); -timeout 10 s per input is a finding (no hang)
  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 "$BIN/$t" "$work" "fuzz/corpus/$t" \
    -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$findings/" > "$log" 2>&1
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  units=$(ls "$work" | wc -l)
  n=$(ls "$findings" | wc -l)
  total_findings=$((total_findings + n))
  printf '%-18s %8s %12s %10s %8s %9s\n' "$t" "$SECONDS_EACH" "${execs:-?}" "${rate:-?}" "$units" "$n" >> "$SCRATCH/summary.txt"
  if [ "$n" -gt 0 ]; then grep -m3 -E "ERROR|SUMMARY|Fatal error|deadly signal" "$log" | sed "s/^/  $t: /" >> "$SCRATCH/summary.txt"; fi
done
cat "$SCRATCH/summary.txt"
echo "findings: $total_findings (inputs in $SCRATCH/findings/, logs in $SCRATCH/*.log)"
[ "$total_findings" = 0 ]
