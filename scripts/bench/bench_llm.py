#!/usr/bin/env python3
"""Text-LM half of `make bench` (benchmark tooling, never part of the product).

  bench_llm.py question
      prints the benchmark question (a ~200-token prompt once the chat template is applied).
  bench_llm.py peer --model PATH --name NAME --threads 2 --max-tokens 128 --repeat 1 --out F.json
      llama.cpp (llama-cpp-python) on the GGUF: the question through the GGUF's chat template,
      prompt processing timed as one llama_decode of the whole prompt (n_batch 512), then
      --max-tokens greedy steps (argmax, EOS ignored, one llama_decode per token). Wall-clock
      times around the decode calls; llama.cpp's own perf counters are recorded beside them.
      Needs the venv with llama-cpp-python (numpy and jinja2 come with it).
  bench_llm.py report BENCH_DIR
      reads llm-peer-<name>.json and llm-hearth-<name>.json (the output of `hearth ask --json`
      plus the wall time) from BENCH_DIR, prints the table and appends it to BENCH_DIR/results.md.
      Standard library only.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

QUESTION = (
    "Here is the transcript of a short talk given at a town meeting:\n\n"
    "\"Good evening, everyone. Thank you for coming out on a rainy Tuesday. As most of you know, the "
    "old library on Mill Street has been closed since the flood two years ago. The council has now "
    "approved a plan to reopen it next spring. The ground floor will hold the children's room and a "
    "small cafe run by volunteers. Upstairs we will have quiet study rooms, six computers for public "
    "use, and a workshop where people can repair bicycles, radios and small appliances together. "
    "The repairs will cost about four hundred thousand dollars. Half of that comes from the state, "
    "and a quarter from a grant by the regional arts foundation. The last quarter has to come from "
    "us, the people of this town. We are asking every household to give what it can, and we are "
    "also looking for volunteers who can paint, carry furniture, or sort the thousands of books that "
    "were saved from the water. If you can help, please write your name on the sheet by the door.\"\n\n"
    "Question: What is the speaker asking the audience to do, where does the money for the repairs "
    "come from, and what will be on each floor of the library? Answer in detail."
)


def render_chat(template_source: str, user: str, bos: str, eos: str) -> str:
    """The GGUF's chat template through jinja2, as llama-cpp-python and Hugging Face apply it."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    return env.from_string(template_source).render(
        messages=[{"role": "user", "content": user}], add_generation_prompt=True, bos_token=bos, eos_token=eos,
        raise_exception=raise_exception)


def peer(args) -> int:
    import ctypes

    import llama_cpp
    import numpy as np
    from llama_cpp import Llama

    llm = Llama(args.model, n_ctx=2048, n_batch=512, n_ubatch=512, n_threads=args.threads,
                n_threads_batch=args.threads, seed=1234, logits_all=False, verbose=False)
    bos = llm.detokenize([llm.token_bos()], special=True).decode("utf-8", "replace")
    eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8", "replace")
    prompt = render_chat(llm.metadata["tokenizer.chat_template"], QUESTION, bos, eos)
    ids = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
    n_vocab = llm.n_vocab()

    def last_logits():
        pointer = llm._ctx.get_logits()
        return np.ctypeslib.as_array(ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float)), shape=(n_vocab,))

    # untimed warm-up: weights into the page cache, buffers allocated, threads started
    llm.reset()
    llm.eval(ids[:16])
    for _ in range(4):
        llm.eval([int(np.argmax(last_logits()))])

    runs = []
    load_before = os.getloadavg()[0]
    for _ in range(max(1, args.repeat)):
        llm.reset()
        llama_cpp.llama_perf_context_reset(llm._ctx.ctx)
        t0 = time.perf_counter()
        llm.eval(ids)
        t1 = time.perf_counter()
        tokens = []
        for _ in range(args.max_tokens):
            token = int(np.argmax(last_logits()))
            tokens.append(token)
            llm.eval([token])
        t2 = time.perf_counter()
        perf = llama_cpp.llama_perf_context(llm._ctx.ctx)
        runs.append({"prompt_seconds": t1 - t0, "generation_seconds": t2 - t1, "tokens": tokens,
                     "llama_perf": {"t_p_eval_ms": perf.t_p_eval_ms, "n_p_eval": perf.n_p_eval,
                                    "t_eval_ms": perf.t_eval_ms, "n_eval": perf.n_eval}})
    best_pp = min(r["prompt_seconds"] for r in runs)
    best_tg = min(r["generation_seconds"] for r in runs)
    result = {
        "system": "llama.cpp", "version": f"llama-cpp-python {llama_cpp.__version__}",
        "system_info": llama_cpp.llama_print_system_info().decode().strip(),
        "model": args.name, "model_path": args.model, "threads": args.threads,
        "prompt_tokens": len(ids), "prompt_seconds": best_pp,
        "generated_tokens": args.max_tokens, "generation_seconds": best_tg,
        "pp_tokens_per_second": len(ids) / best_pp, "tg_tokens_per_second": args.max_tokens / best_tg,
        "answer": llm.detokenize(runs[0]["tokens"]).decode("utf-8", "replace"),
        "eos_in_answer": llm.token_eos() in runs[0]["tokens"], "runs": runs,
        "loadavg_1min": [load_before, os.getloadavg()[0]],
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"llama.cpp {args.name}: prompt {len(ids)} tokens {result['pp_tokens_per_second']:.1f} tok/s, "
          f"generation {args.max_tokens} tokens {result['tg_tokens_per_second']:.1f} tok/s", file=sys.stderr)
    return 0


def fmt(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def hearth_runs(bench: str, name: str) -> tuple[list, list, list]:
    """Hearth's `ask --json` outputs for one model: (good runs, errors, load averages)."""
    runs, errors, loads = [], [], []
    for path in sorted(glob.glob(os.path.join(bench, f"llm-hearth-{glob.escape(name)}@*.json"))):
        try:
            with open(path) as f:
                text = f.read()
            value = json.loads(text[text.index("{"):text.rindex("}") + 1])
        except (OSError, ValueError):
            errors.append(f"{os.path.basename(path)} is not one JSON object")
            continue
        try:
            loads += [float(x) for x in open(path[:-len(".json")] + ".loadavg").read().split()]
        except (OSError, ValueError):
            pass
        if "error" in value:
            errors.append(str(value["error"]))
            continue
        missing = [k for k in ("prompt_tokens", "generated_tokens", "prompt_seconds", "generation_seconds")
                   if not isinstance(value.get(k), (int, float))]
        if missing:
            errors.append(f"`hearth ask --json` lacks {', '.join(missing)}")
            continue
        runs.append(value)
    return runs, errors, loads


def report(args) -> int:
    bench = args.bench_dir
    names = sorted({os.path.basename(p)[len("llm-peer-"):-len(".json")] for p in glob.glob(f"{bench}/llm-peer-*.json")}
                   | {os.path.basename(p)[len("llm-hearth-"):].rsplit("@", 1)[0]
                      for p in glob.glob(f"{bench}/llm-hearth-*@*.json")})
    if args.models:  # the order bench_llm.sh ran them in
        order = args.models.split()
        names.sort(key=lambda n: (order.index(n) if n in order else len(order), n))
    rows, notes, loads = [], [], []
    threads, peer_any = args.threads, None
    if os.path.exists(os.path.join(bench, "llm-hearth-unavailable.txt")):
        notes.append("Hearth ask not available: Hearth rows skipped")
    for name in names:
        peer_result = None
        try:
            with open(f"{bench}/llm-peer-{name}.json") as f:
                peer_result = json.load(f)
        except (OSError, ValueError):
            notes.append(f"{name}: no llama.cpp result")
        peer_pp = peer_tg = None
        if peer_result:
            peer_any, threads = peer_result, peer_result.get("threads") or threads
            loads += peer_result.get("loadavg_1min", [])
            peer_pp, peer_tg = peer_result["pp_tokens_per_second"], peer_result["tg_tokens_per_second"]
            rows.append(["llama.cpp", name, str(peer_result["prompt_tokens"]), fmt(peer_pp),
                         str(peer_result["generated_tokens"]), fmt(peer_tg), "1.00", "1.00"])
        runs, errors, hearth_loads = hearth_runs(bench, name)
        loads += hearth_loads
        notes += [f"{name}: Hearth: {e}" for e in errors]
        if not runs:
            continue
        pp_values = [r["prompt_tokens"] / r["prompt_seconds"] for r in runs if r["prompt_seconds"] > 0]
        tg_values = [r["generated_tokens"] / r["generation_seconds"] for r in runs if r["generation_seconds"] > 0]
        pp, tg = max(pp_values, default=None), max(tg_values, default=None)
        ratio = lambda a, b: fmt(a / b, 2) if a and b else "-"  # noqa: E731
        first = runs[0]
        rows.append(["Hearth", name, str(first["prompt_tokens"]), fmt(pp), str(first["generated_tokens"]),
                     fmt(tg), ratio(pp, peer_pp), ratio(tg, peer_tg)])
        if peer_result and first["prompt_tokens"] != peer_result["prompt_tokens"]:
            notes.append(f"{name}: prompt token counts differ (Hearth {first['prompt_tokens']}, "
                         f"llama.cpp {peer_result['prompt_tokens']}): not the same prompt")
        if peer_result and first["generated_tokens"] < peer_result["generated_tokens"]:
            notes.append(f"{name}: Hearth stopped after {first['generated_tokens']} tokens (end of its answer); "
                         "llama.cpp generated all of them (EOS ignored)")
    header = ["system", "model", "prompt tok", "pp tok/s", "gen tok", "tg tok/s", "pp ratio", "tg ratio"]
    title = (f"Text generation: greedy, {threads or '?'} threads, same GGUF and chat prompt "
             "(ratio = Hearth / llama.cpp, higher is better)")
    if loads and threads and max(loads) > threads:
        notes.append(f"load average reached {max(loads):.1f} on {os.cpu_count()} cores during the runs: "
                     "other processes competed for the CPU, figures are unreliable")
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    print(title)
    for r in [header] + rows:
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    for n in notes:
        print(f"note: {n}")
    md = ["", f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    if peer_any:
        md += ["", f"llama.cpp: {peer_any['version']} ({peer_any['system_info']}); prompt processing = one "
               "decode of the whole chat prompt, generation = greedy steps of one token (EOS ignored), wall "
               "clock around the decode calls after an untimed warm-up. Hearth: `hearth ask QUESTION --json`'s "
               "own prompt_seconds / generation_seconds."]
    md += [""] + [f"- {n}" for n in notes] if notes else []
    with open(os.path.join(bench, "results.md"), "a") as f:
        f.write("\n".join(md) + "\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("question")
    p = sub.add_parser("peer")
    p.add_argument("--model", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("bench_dir")
    r.add_argument("--threads", type=int)
    r.add_argument("--models", help="space-separated model names, in table order")
    args = parser.parse_args()
    if args.command == "question":
        print(QUESTION)
        return 0
    return peer(args) if args.command == "peer" else report(args)


if __name__ == "__main__":
    sys.exit(main())
