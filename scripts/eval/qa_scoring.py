"""Scoring of short answers against the QA set (scripts/eval/eval_qa.py; self-test: python3 qa_scoring.py).

normalize: lower case; thousands commas dropped (70,000 → 70000); punctuation → space (a decimal
point between digits stays); articles a/an/the and the word "and" dropped; number words → digits (thirty-two → 32,
eighteen thousand → 18000), ordinal words → 4th; British spellings → American (metres → meters); "n't" → " not".
exact: the normalized answer equals a normalized accepted answer. contains: a normalized accepted
answer appears in it as whole words. A "not stated" question is answered by any phrase saying the
material does not tell (NOT_STATED_PHRASES); anything else is an invented answer.
"""
import re

UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                    "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
ORDINALS = {w: f"{i + 1}th" for i, w in enumerate("first second third fourth fifth sixth seventh eighth ninth tenth "
                                                   "eleventh twelfth".split())}
ORDINALS.update(first="1st", second="2nd", third="3rd")
SPELLING = {"metres": "meters", "metre": "meter", "kilometres": "kilometers", "kilometre": "kilometer",
            "colour": "color", "colours": "colors", "km": "kilometers", "m": "meters", "dr": "doctor", "€": "euros"}
DROPPED = {"a", "an", "the", "and"}   # articles; "and" so that "giraffe, zebra" = "giraffe and zebra"
NOT_STATED_PHRASES = [
    "not stated", "not mentioned", "not say", "not specify", "not specified", "not provided", "not given",
    "not known", "not indicated", "not mention", "not state", "not include", "not included", "not available",
    "not clear", "unclear", "unknown", "no information", "no mention", "not in material", "cannot be determined",
    "cannot determine", "cannot tell", "not possible to determine", "do not know", "not tell", "not enough information",
]


def _numbers(tokens):
    out, total, current, active = [], 0, 0, False
    def flush():
        nonlocal total, current, active
        if active: out.append(str(total + current))
        total, current, active = 0, 0, False
    for t in tokens:
        if t in UNITS or t in TENS:
            if active and current % 10 and t in UNITS and current < 100 or (active and t in TENS and current % 100):
                flush()   # "two three" are two numbers
            current += UNITS.get(t, TENS.get(t, 0)); active = True
        elif t in SCALES and active:
            if SCALES[t] == 100: current *= 100
            else: total += max(current, 1) * SCALES[t]; current = 0
        else:
            flush(); out.append(t)
    flush()
    return out


def normalize(text):
    s = text.lower().replace("€", " € ").replace("’", "'").replace("can't", "cannot").replace("won't", "will not")
    s = re.sub(r"n't\b", " not", s)
    s = re.sub(r"(?<=\d),(?=\d{3}\b)", "", s)
    s = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", s)
    s = re.sub(r"[^\w\s.€]", " ", s)
    tokens = [SPELLING.get(t, t) for t in s.split() if t not in DROPPED]
    tokens = [ORDINALS.get(t, t) for t in _numbers(tokens)]
    return " ".join(tokens)


def says_not_stated(answer):
    n = f" {normalize(answer)} "
    return any(f" {p} " in n for p in NOT_STATED_PHRASES)


def score(question, answer):
    """{exact, contains, invented, refused} (booleans) for one model answer to one QA-set row."""
    norm = normalize(answer)
    if question["not_stated"]:
        said = says_not_stated(answer)
        return {"exact": norm == "not stated", "contains": said, "invented": not said, "refused": False}
    accepted = [normalize(a) for a in question["answers"]]
    contains = any(f" {a} " in f" {norm} " for a in accepted)
    return {"exact": norm in accepted, "contains": contains, "invented": False,
            "refused": not contains and says_not_stated(answer)}


def _self_test():
    cases = [("Thirty-two metres.", "32 meters"), ("The 70,000 kilometres", "70000 kilometers"),
             ("Eighteen thousand fans", "18000 fans"), ("one hundred and five", "105"), ("Giraffe, zebra.", "giraffe zebra"), ("0.12 euros", "0.12 euros"),
             ("The fourth floor.", "4th floor"), ("€60", "euros 60"), ("two three", "2 3"), ("Twenty one", "21"),
             ("Dr. Maria Lopez", "doctor maria lopez"), ("Not stated.", "not stated"), ("  A dog!  ", "dog")]
    for given, want in cases:
        got = normalize(given)
        assert got == want, f"normalize({given!r}) = {got!r}, want {want!r}"
    row = {"not_stated": False, "answers": ["twelve", "12 baskets"]}
    assert score(row, "12.") == {"exact": True, "contains": True, "invented": False, "refused": False}
    assert score(row, "She brought twelve baskets of plums.")["contains"] and not score(row, "She brought 12 baskets.")["exact"]
    assert not score(row, "112")["contains"], "whole words only"
    assert score(row, "The material does not say.")["refused"]
    ns = {"not_stated": True, "answers": ["not stated"]}
    assert score(ns, "Not stated")["exact"] and not score(ns, "Not stated")["invented"]
    for said in ("The price isn't mentioned in the transcript.", "It does not say.", "Unknown", "The material doesn't specify."):
        assert score(ns, said)["contains"], said
    assert score(ns, "Three euros.")["invented"]
    print("qa_scoring self-test: ok")


if __name__ == "__main__":
    _self_test()
