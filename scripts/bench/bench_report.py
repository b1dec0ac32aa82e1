#!/usr/bin/env python3
"""Table for `make bench` (benchmark tooling, never part of the product).

Reads what scripts/bench/bench.sh left in BENCH_DIR:
  clips.tsv                       path <TAB> duration_s <TAB> reference-text file
  peer-<compute>-beam<N>.json     scripts/bench/bench_peer.py results
  hearth-beam<N>/<stem>.json      Hearth's JSON outputs (float32; hearth-int8-beam<N>/ with
                                  --compute-type int8); hearth-beam<N>.time = "%e %M"
                                  from /usr/bin/time; hearth-beam<N>.rc = exit code
prints the table and writes it as markdown to BENCH_DIR/results.md.
Standard library only (runs with the system python3).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wer import edit_ops, normalize  # noqa: E402


def corpus_wer(pairs):
    """pairs of (reference, hypothesis) -> (WER over all words, per-pair WERs)."""
    errs = words = 0
    per = []
    for ref, hyp in pairs:
        r, h = normalize(ref), normalize(hyp)
        e = sum(edit_ops(r, h))
        errs += e
        words += len(r)
        per.append(e / len(r) if r else float(bool(h)))
    return (errs / words if words else 0.0), per


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("bench_dir")
    a = ap.parse_args()
    d = a.bench_dir

    clips = []
    with open(os.path.join(d, "clips.tsv")) as f:
        for line in f:
            path, dur, ref = line.rstrip("\n").split("\t")
            clips.append({"path": path, "stem": os.path.splitext(os.path.basename(path))[0],
                          "duration": float(dur), "ref": open(ref, encoding="utf-8").read().strip()})
    audio_total = sum(c["duration"] for c in clips)

    loads = []
    rows = []   # dicts: system, decoding, beam, tput, wer, per, rss, e2e, note
    for p in sorted(glob.glob(os.path.join(d, "peer-*.json"))):
        r = json.load(open(p))
        by_file = {os.path.basename(c["file"]): c["text"] for c in r["clips"]}
        w, per = corpus_wer([(c["ref"], by_file.get(os.path.basename(c["path"]), "")) for c in clips])
        rows.append({"system": f"faster-whisper {r['versions']['faster_whisper']} {r['compute_type']}",
                     "key": f"fw-{r['compute_type']}", "beam": r["beam_size"],
                     "tput": r["audio_s"] / r["transcribe_s"], "wer": w, "per": per,
                     "rss": r["peak_rss_mb"], "e2e": r["e2e_s"],
                     "note": f"model load {r['load_s']:.2f} s" + (
                         f"; loadavg {la[0]:.1f}→{la[1]:.1f}" if (la := r.get("loadavg_1min")) else "")})
        loads.extend(r.get("loadavg_1min") or [])

    for tdir in sorted(glob.glob(os.path.join(d, "hearth-*beam*"))):
        if not os.path.isdir(tdir) or not re.search(r"beam(\d+)$", tdir):
            continue
        beam = int(re.search(r"beam(\d+)$", tdir).group(1))
        ct = "int8" if "-int8-" in os.path.basename(tdir) else "float32"
        row = {"system": f"Hearth {ct}", "key": f"hearth-{ct}", "beam": beam, "tput": None, "wer": None,
               "per": [None] * len(clips), "rss": None, "e2e": None, "note": ""}
        rc = open(tdir + ".rc").read().strip() if os.path.exists(tdir + ".rc") else "?"
        texts, missing = [], []
        for c in clips:
            jp = os.path.join(tdir, c["stem"] + ".json")
            try:
                texts.append(json.load(open(jp)).get("text", ""))
            except (OSError, ValueError):
                texts.append("")
                missing.append(c["stem"])
        if rc == "0" and not missing:
            wall, rss_kb = open(tdir + ".time").read().split()[-2:]
            la = open(tdir + ".loadavg").read().split() if os.path.exists(tdir + ".loadavg") else []
            loads.extend(float(x) for x in la)
            row.update(tput=audio_total / float(wall), e2e=float(wall), rss=float(rss_kb) / 1024.0,
                       note="whole process (incl. start-up + model load)" +
                            (f"; loadavg {la[0]}→{la[-1]}" if la else ""))
            row["wer"], row["per"] = corpus_wer([(c["ref"], t) for c, t in zip(clips, texts)])
        else:
            row["note"] = f"FAILED (exit {rc}; missing {', '.join(missing) or 'nothing'}; see {tdir}.log)"
        rows.append(row)

    def base(key, beam):
        for r in rows:
            if r["key"] == key and r["beam"] == beam and r["tput"]:
                return r["tput"]
        return None

    def fmt(v, f):
        return "–" if v is None else format(v, f)

    head = ["system", "decoding", "audio-s/wall-s", "× fw int8", "× fw float32", "WER %",
            "peak RSS MB", "e2e wall s", "note"]
    table = []
    order = {"fw-float32": 0, "fw-int8": 1, "hearth-float32": 2, "hearth-int8": 3}
    for r in sorted(rows, key=lambda r: (r["beam"], order.get(r["key"], 9))):
        b8, b32 = base("fw-int8", r["beam"]), base("fw-float32", r["beam"])
        table.append([r["system"], "greedy" if r["beam"] == 1 else f"beam {r['beam']}",
                      fmt(r["tput"], ".1f"),
                      fmt(r["tput"] / b8 if r["tput"] and b8 else None, ".2f"),
                      fmt(r["tput"] / b32 if r["tput"] and b32 else None, ".2f"),
                      fmt(r["wer"] * 100 if r["wer"] is not None else None, ".2f"),
                      fmt(r["rss"], ".0f"), fmt(r["e2e"], ".2f"), r["note"]])

    clip_desc = ", ".join(f"{c['stem']} ({c['duration']:.1f} s)" for c in clips)
    per_head = ["system", "decoding"] + [f"WER % {c['stem']}" for c in clips]
    per_rows = [[r["system"], "greedy" if r["beam"] == 1 else f"beam {r['beam']}"] +
                [fmt(p * 100 if p is not None else None, ".2f") for p in r["per"]]
                for r in sorted(rows, key=lambda r: (r["beam"], order.get(r["key"], 9)))]

    def md(h, rs):
        out = ["| " + " | ".join(h) + " |", "|" + "|".join("---" for _ in h) + "|"]
        out += ["| " + " | ".join(x) + " |" for x in rs]
        return "\n".join(out)

    def plain(h, rs):
        w = [max(len(str(x)) for x in col) for col in zip(h, *rs)]
        lines = ["  ".join(str(x).ljust(n) for x, n in zip(h, w))]
        lines.append("  ".join("-" * n for n in w))
        lines += ["  ".join(str(x).ljust(n) for x, n in zip(row, w)) for row in rs]
        return "\n".join(lines)

    notes = (f"Clips: {clip_desc}; {audio_total:.1f} s of audio in all. Model whisper-tiny.en, "
             "2 threads, no VAD, language en, temperature 0 (no fallback).\n"
             "audio-s/wall-s: faster-whisper = in-process transcription of all clips after one "
             "warm-up (model already loaded); Hearth = the whole `hearth transcribe` process "
             "(start-up + model load included), so Hearth's ratios are conservative. "
             "e2e wall s: faster-whisper = import + load + transcription (no warm-up). "
             "Peak RSS: getrusage in a fresh process per configuration / `/usr/bin/time %M`. "
             "WER: lowercase, punctuation stripped, numbers not normalized (scripts/bench/wer.py), "
             "over all words of all clips.")
    ncpu = os.cpu_count() or 1
    if loads and max(loads) > ncpu + 1.0:   # the bench itself accounts for ~2
        notes += (f"\nWARNING: 1-minute load average reached {max(loads):.1f} on {ncpu} CPUs during the "
                  "run: other jobs competed for the cores, so the speed figures are unreliable; rerun on "
                  "an idle machine.")
    md_text = ("# Hearth benchmark\n\n" + md(head, table) + "\n\n" + md(per_head, per_rows) +
               "\n\n" + notes + "\n")
    with open(os.path.join(d, "results.md"), "w") as f:
        f.write(md_text)
    print(plain(head, table))
    print()
    print(plain(per_head, per_rows))
    print()
    print(notes)
    print(f"\nmarkdown: {os.path.join(d, 'results.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
