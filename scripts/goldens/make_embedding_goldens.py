#!/usr/bin/env python3
"""Reference token ids and sentence embeddings for all-MiniLM-L6-v2.

Writes
  Tests/TokenizersTests/Fixtures/wordpiece_golden.json  — ids from Hugging Face `tokenizers` on the
      model's tokenizer.json, truncated to max_seq_length (256) like sentence-transformers, no padding;
  Tests/EmbeddingsTests/Fixtures/minilm_embeddings.json — SentenceTransformer(dir).encode(texts)
      (Transformer → mean Pooling → Normalize, float32 on the CPU), one 384-float vector per text.

Usage:  python3 scripts/goldens/make_embedding_goldens.py [MODEL_DIR]
(default: $HEARTH_MODELS/all-minilm-l6-v2, HEARTH_MODELS defaulting to ~/.cache/hearth/models;
`hearth models install all-minilm-l6-v2` puts it there). Needs
`pip install -r scripts/goldens/requirements-embeddings.txt`.
"""
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import sentence_transformers
import tokenizers
import torch
import transformers
from sentence_transformers import SentenceTransformer

ROOT = Path(__file__).resolve().parents[2]

# Tokenizer cases: accents, punctuation, CJK, emoji, long words, numbers, control characters,
# special-token text, odd whitespace, a text past the 256-token limit.
TOKENIZER_TEXTS = [
    "Hello, world!",
    "And so my fellow Americans, ask not what your country can do for you.",
    "Café déjà vu — naïve façade, Zürich, São Paulo, Ångström.",
    "ÉCOLE NORMALE SUPÉRIEURE; İstanbul, Straße, ΟΔΥΣΣΕΥΣ",
    "我爱北京天安门。東京は日本の首都です。한국어 텍스트",
    "Emoji: 😀 👍🏽 ❤️ 👨‍👩‍👧 🇫🇷 done",
    "Numbers 3.14159, 1,000,000 and 2026-12-04 at 19:45; $42.50 or €17",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 100 + " " + "b" * 101 + " ok",
    "tabs\tand\nnewlines\r\nand\u00a0non-breaking\u2003spaces   here",
    "control\u0000chars\u0007and\u200bzero\u200dwidth\ufeffmarks\ufffd",
    "[CLS] literal [SEP] tokens [MASK] and [UNK] [PAD] in text",
    "punctuation!!! ??? ... (brackets) [square] {curly} <angle> «guillemets» “quotes” ‘single’",
    "e-mail: someone@example.com, URL https://example.org/path?q=1&r=2#frag",
    "ﬁ ligature, ＦＵＬＬＷＩＤＴＨ, ①②③, x², ½, ™, ℃",
    "Ελληνικά, Русский текст, עברית, العربية, हिन्दी, ไทย",
    "",
    "   ",
    "don't won't it's O'Neill's rock'n'roll",
    "MiXeD CaSe WoRdS and ALLCAPS",
    " ".join(["word"] * 300),
]

# Embedding cases: short and long, several topics (search ranks among them), and one past the limit.
EMBEDDING_TEXTS = [
    "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.",
    "ask what you can do for your country",
    "The quick brown fox jumps over the lazy dog.",
    "A photo of a cat sitting on a windowsill.",
    "Quarterly revenue grew by 12 percent compared with last year.",
    "Café déjà vu — naïve façade, Zürich.",
    "我爱北京天安门。",
    "Emoji: 😀 👍🏽 done",
    "",
    "x",
    " ".join(["the weather today is sunny and warm"] * 50),
    "Machine learning models turn text into vectors.",
]


def main():
    model_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(
        os.environ.get("HEARTH_MODELS") or Path.home() / ".cache/hearth/models") / "all-minilm-l6-v2"
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model = SentenceTransformer(str(model_dir), device="cpu")
    max_len = model.max_seq_length
    assert max_len == 256, max_len

    tok = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_len)

    def ids_of(text):
        ref = tok.encode(text).ids
        st = model.tokenize([text])["input_ids"][0].tolist()
        assert ref == st, (text, ref, st)   # sentence-transformers sees the same ids
        return ref

    versions = {"tokenizers": tokenizers.__version__, "sentence_transformers": sentence_transformers.__version__,
                "transformers": transformers.__version__, "torch": torch.__version__, "numpy": np.__version__}
    tokenizer_sha = hashlib.sha256((model_dir / "tokenizer.json").read_bytes()).hexdigest()
    golden = {"versions": versions, "tokenizer_json_sha256": tokenizer_sha, "max_length": max_len,
              "cases": [{"text": t, "ids": ids_of(t), "words": [w for w, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(t))]}
                        for t in TOKENIZER_TEXTS]}
    out = ROOT / "Tests/TokenizersTests/Fixtures/wordpiece_golden.json"
    out.write_text(json.dumps(golden, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {out} ({len(golden['cases'])} cases)")

    vectors = model.encode(EMBEDDING_TEXTS, batch_size=4, convert_to_numpy=True)
    assert vectors.dtype == np.float32 and vectors.shape == (len(EMBEDDING_TEXTS), 384)
    weights_sha = hashlib.sha256((model_dir / "model.safetensors").read_bytes()).hexdigest()
    embeddings = {"versions": versions, "model_safetensors_sha256": weights_sha, "dimension": int(vectors.shape[1]),
                  "modules": [str(type(m).__name__) for m in model],
                  "cases": [{"text": t, "ids": ids_of(t), "embedding": [float(f"{x:.8g}") for x in v]}
                            for t, v in zip(EMBEDDING_TEXTS, vectors)]}
    out = ROOT / "Tests/EmbeddingsTests/Fixtures/minilm_embeddings.json"
    out.write_text(json.dumps(embeddings, ensure_ascii=False) + "\n")
    print(f"wrote {out} ({len(EMBEDDING_TEXTS)} vectors of {vectors.shape[1]})")


if __name__ == "__main__":
    main()
