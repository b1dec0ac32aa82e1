#!/usr/bin/env bash
# Long-form speech, Hearth vs faster-whisper 1.2.1 on the 10.6-minute bench recording
# (scripts/bench/make_bench_recording.sh: four espeak-ng voices, pauses, hiss), same
# whisper-tiny.en CTranslate2 files, same threads, greedy, temperature 0, language en:
#   Hearth sequential, --vad, --batched (8 lanes), each with --compute-type float32 and int8 ·
#   faster-whisper float32 and int8 sequential, and BatchedInferencePipeline int8 batch 8.
# Prints wall seconds, × realtime, WER vs the known text, peak RSS, Hearth's per-stage time
# (audio / vad / encoder / decoder, from the records), ratios, the load average; writes
# .build/bench/longform.json. Benchmark tooling: asserts nothing about speed.
#   BENCH_THREADS (2), BENCH_REPEAT (1; the median of the passes is reported), BENCH_PYTHON (.venv-bench/bin/python)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
THREADS=${BENCH_THREADS:-2}; REPEAT=${BENCH_REPEAT:-1}
PY=${BENCH_PYTHON:-.venv-bench/bin/python}
HEARTH_BIN=${HEARTH_BIN:-.build/release/hearth}
STORE=${HEARTH_MODELS:-$HOME/.cache/hearth/models}
MODEL_DIR=$(dirname "$(find "$STORE/whisper-tiny.en" -name model.bin -print -quit)")
DATA=.build/benchrec OUT=.build/bench/longform
bash scripts/bench/make_bench_recording.sh "$DATA"
rm -rf "$OUT"; mkdir -p "$OUT"
REC=$DATA/recording.wav REF=$DATA/recording.txt
"$PY" -c "import faster_whisper" || { echo "bench: $PY cannot import faster_whisper (run make bench once, or set BENCH_PYTHON)" >&2; exit 2; }
for ((r = 0; r < REPEAT; r++)); do
  for mode in sequential vad batched sequential-int8 vad-int8 batched-int8; do
    flag=(); case $mode in vad*) flag=(--vad);; batched*) flag=(--batched);; esac
    case $mode in *int8) flag+=(--compute-type int8);; esac
    d=$OUT/hearth-$mode-$r; la=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -f '%e %M' -o "$d.time" "$HEARTH_BIN" transcribe "$REC" --model whisper-tiny.en --beam-size 1 --best-of 1 \
      --temperature 0 --language en --threads "$THREADS" "${flag[@]}" --format txt --output-dir "$d" > "$d.log" 2>&1
    echo "$la $(cut -d' ' -f1 /proc/loadavg)" > "$d.load"
  done
  for cfg in "float32 0" "int8 0" "int8 8"; do
    set -- $cfg
    "$PY" scripts/bench/bench_peer.py --model-dir "$MODEL_DIR" --compute-type "$1" --batched "$2" --beam-size 1 \
      --threads "$THREADS" --warmup samples/jfk.wav --out "$OUT/peer-$1-b$2-$r.json" "$REC" >&2
  done
done
python3 - "$OUT" "$REF" "$REPEAT" <<'PY'
import json, statistics, subprocess, sys, glob, os
out, ref, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
reftext = open(ref).read()
rows = []
for mode in ["sequential", "vad", "batched", "sequential-int8", "vad-int8", "batched-int8"]:
    walls, rss, stages, loads, text = [], [], {}, [], ""
    for r in range(repeat):
        d = f"{out}/hearth-{mode}-{r}"
        w, m = open(d + ".time").read().split()[-2:]
        walls.append(float(w)); rss.append(int(m) / 1024); loads.append(open(d + ".load").read().split())
        rec = json.loads(open(d + "/results.jsonl").readline())
        for k, v in rec["timings"].items(): stages.setdefault(k, []).append(v)
        text = open(d + "/recording.txt").read(); dur = rec["media_seconds"]
    rows.append({"system": f"Hearth {mode}", "wall_s": statistics.median(walls), "rss_mb": statistics.median(rss),
                 "text": text, "duration": dur, "load": loads,
                 "stages": {k.split(".", 1)[1]: statistics.median(v) for k, v in stages.items() if "." in k}})
for name, f in [("faster-whisper float32", "float32-b0"), ("faster-whisper int8", "int8-b0"), ("faster-whisper batched int8 (8)", "int8-b8")]:
    runs = [json.load(open(p)) for p in sorted(glob.glob(f"{out}/peer-{f}-*.json"))]
    rows.append({"system": name, "wall_s": statistics.median(r["transcribe_s"] for r in runs),
                 "rss_mb": statistics.median(r["peak_rss_mb"] for r in runs), "text": runs[0]["clips"][0]["text"],
                 "duration": runs[0]["audio_s"], "load": [r["loadavg_1min"] for r in runs]})
for row in rows:
    res = json.loads(subprocess.run(["python3", "scripts/bench/wer.py", "--json", "--text", reftext, row["text"]],
                                    capture_output=True, text=True, check=True).stdout)
    row["wer"] = res.get("wer")
    del row["text"]
base = {r["system"]: r["wall_s"] for r in rows}
print(f"long-form, {rows[0]['duration']:.1f} s recording, whisper-tiny.en greedy, {os.cpu_count()} CPUs, median of {repeat}")
print("| system | wall s | × realtime | WER | peak RSS MB | Hearth stages (audio / vad / encoder / decoder s) |")
print("|---|---|---|---|---|---|")
for r in rows:
    st = r.get("stages"); st = " / ".join(f"{st.get(k, 0):.1f}" for k in ["audio", "vad", "encoder", "decoder"]) if st else ""
    print(f"| {r['system']} | {r['wall_s']:.2f} | {r['duration'] / r['wall_s']:.1f} | {100 * r['wer']:.2f} % | {r['rss_mb']:.0f} | {st} |")
fw = base["faster-whisper int8"]; fb = base["faster-whisper batched int8 (8)"]
for ct in ["", "-int8"]:
    print(f"ratios{ct or ' (float32)'}: Hearth sequential{ct} / faster-whisper int8 {fw / base['Hearth sequential' + ct]:.2f}×; "
          f"Hearth batched{ct} / faster-whisper batched {fb / base['Hearth batched' + ct]:.2f}×; "
          f"Hearth batched{ct} / faster-whisper int8 {fw / base['Hearth batched' + ct]:.2f}× (>1: Hearth faster)")
print("load average (1 min, before/after each run):", [r["load"] for r in rows])
json.dump(rows, open(os.path.join(os.path.dirname(out), "longform.json"), "w"), indent=1)
PY
