#!/usr/bin/env python3
"""Word error rate for Hearth's benchmarks and golden notes (test tooling, not product).

Normalization (applied to reference and hypothesis alike): Unicode NFKC, lowercase,
hyphens/dashes/slashes -> space, every other punctuation or symbol character removed
(so "don't" -> "dont"), whitespace collapsed. Numbers are NOT normalized: "ten" and "10"
count as different words. WER = Levenshtein distance over words / reference word count.

  python3 scripts/bench/wer.py REF.txt HYP.txt          (files)
  python3 scripts/bench/wer.py --text "ref words" "hyp words"
  add --json for a machine-readable result
"""
from __future__ import annotations

import argparse
import json
import sys
import unicodedata

_SPACE_LIKE = set("-‐‑‒–—―/")


def normalize(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    out = []
    for ch in text:
        if ch in _SPACE_LIKE or ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch)[0] in "PS":   # punctuation, symbols
            continue
        else:
            out.append(ch)
    return "".join(out).split()


def edit_ops(ref: list[str], hyp: list[str]) -> tuple[int, int, int]:
    """(substitutions, deletions, insertions) of a minimum-cost word alignment."""
    n, m = len(ref), len(hyp)
    # cost[j] and ops[j] for the current row; ops = (S, D, I)
    prev = [(j, (0, 0, j)) for j in range(m + 1)]
    for i in range(1, n + 1):
        cur = [(i, (0, i, 0))]
        for j in range(1, m + 1):
            if ref[i - 1] == hyp[j - 1]:
                best = prev[j - 1]
            else:
                c_sub, o_sub = prev[j - 1]
                c_del, o_del = prev[j]
                c_ins, o_ins = cur[j - 1]
                best = min((c_sub + 1, (o_sub[0] + 1, o_sub[1], o_sub[2])),
                           (c_del + 1, (o_del[0], o_del[1] + 1, o_del[2])),
                           (c_ins + 1, (o_ins[0], o_ins[1], o_ins[2] + 1)),
                           key=lambda t: t[0])
            cur.append(best)
        prev = cur
    return prev[m][1]


def wer(reference: str, hypothesis: str) -> dict:
    r, h = normalize(reference), normalize(hypothesis)
    s, d, i = edit_ops(r, h)
    errors = s + d + i
    return {"wer": (errors / len(r)) if r else float(bool(h)), "errors": errors,
            "substitutions": s, "deletions": d, "insertions": i,
            "ref_words": len(r), "hyp_words": len(h)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ref")
    ap.add_argument("hyp")
    ap.add_argument("--text", action="store_true", help="arguments are texts, not files")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.text:
        ref, hyp = a.ref, a.hyp
    else:
        ref = open(a.ref, encoding="utf-8").read()
        hyp = open(a.hyp, encoding="utf-8").read()
    res = wer(ref, hyp)
    if a.json:
        print(json.dumps(res))
    else:
        print(f"WER {res['wer'] * 100:.2f}%  ({res['substitutions']} sub, {res['deletions']} del, "
              f"{res['insertions']} ins / {res['ref_words']} words)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
