#!/usr/bin/env python3
"""Answer quality of Hearth's text models on eval/qa/qa.jsonl (`make eval-qa`).

    python3 scripts/eval/eval_qa.py [--models NAME,...] [--templates shipped|all|NAME,...] [--hearth BIN]

For each installed catalog GGUF text model (`hearth models list`) and each prompt template, one
`hearth run` of a generated pipeline (one ask stage over a JSONL manifest: one row per question,
the material as item fields) answers every question, so the model loads once per run. Scores
(scripts/eval/qa_scoring.py): exact and contains-match accuracy over all questions, invented % (of
the "not stated" questions, those answered with something concrete), refused % (answerable
questions answered "not stated"), seconds per answer = the run's wall time (model load included)
(hearth's summary.json) / its questions. Prints a table with the load average; writes .build/eval-qa/summary.json and each
run's answers beside it. --rescore scores the saved answers again (after a change of the scorer; runs not found are left out).
"""
import argparse, json, os, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qa_scoring import score, _self_test

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAX_TOKENS = 64   # every template: a short answer fits; rambling past it does not count

# The material as an ask stage is given it, one section per kind (item fields of the manifest).
CLI_MATERIAL = ("{{#item.transcript}}Transcript of {{item.name}}:\n{{item.transcript}}{{/item.transcript}}"
                "{{#item.caption}}Description of the image {{item.name}} ({{item.width}}×{{item.height}} pixels), "
                "from an object detector: {{item.caption}}{{/item.caption}}"
                "{{#item.passage}}{{item.passage}}{{/item.passage}}")
PIPELINE_MATERIAL = ("{{#item.transcript}}Transcript of {{item.name}}: {{item.transcript}}\n{{/item.transcript}}"
                     "{{#item.caption}}Description of {{item.name}} from an object detector: {{item.caption}} "
                     "Objects: {{item.tags}}.\n{{/item.caption}}"
                     "{{#item.passage}}Text: {{item.passage}}\n{{/item.passage}}")
FEW_WORDS = ('Answer in a few words, using only the material. If the material does not say, '
             'answer "not stated".')
TEMPLATES = {
    # Before: what `hearth ask --audio/--image/--context-file` sent (no instruction, no system message).
    "cli-before": {"prompt": CLI_MATERIAL + "\n\nQuestion: {{item.question}}"},
    # Before: pipelines/mixed-media-qa.yaml's prompt (passages as a "Text:" line in its style).
    "pipeline-before": {"prompt": "Answer the question from the material below, in one sentence.\n"
                                  + PIPELINE_MATERIAL + "Question: {{item.question}}"},
    # The instruction first, in the user message.
    "few-words-first": {"prompt": FEW_WORDS + "\n\n" + PIPELINE_MATERIAL + "\nQuestion: {{item.question}}"},
    # The instruction after the material, next to the question.
    "few-words-last": {"prompt": PIPELINE_MATERIAL + "\n" + FEW_WORDS + "\nQuestion: {{item.question}}"},
    # The instruction as the system message.
    "few-words-system": {"system": FEW_WORDS, "prompt": PIPELINE_MATERIAL + "\nQuestion: {{item.question}}"},
}
SHIPPED = ["few-words-last"]   # what pipelines/mixed-media-qa.yaml and `hearth ask` use now


def installed_text_models(hearth):
    out = subprocess.run([hearth, "models", "list"], check=True, capture_output=True, text=True).stdout
    models = []
    for line in out.splitlines()[1:]:   # NAME [(default)] INSTALLED SIZE UNIT FORMAT …
        cols = line.split()
        if "yes" in cols[1:3] and cols[cols.index("yes") + 3:][:1] == ["gguf"]:
            models.append(cols[0])
    return models


def manifest_row(q, qa_path):
    name = os.path.basename(q["source"]) if "/" in q["source"] else q["id"].split("-")[1] + ".wav"
    row = {"id": q["id"], "path": qa_path, "question": q["question"], "name": name}
    for key in ("transcript", "caption", "tags", "width", "height", "passage"):
        row[key] = str(q.get(key, ""))
    return row


def run_one(hearth, model, template_name, questions, qa_path, out_dir, rescore=False):
    folder = os.path.join(out_dir, model, template_name)
    if not rescore:
        run_pipeline(hearth, model, template_name, questions, qa_path, folder)
    try:   # the run's own wall time and items (hearth's summary.json: model load and every answer)
        with open(os.path.join(folder, "out", "summary.json")) as f: run = json.load(f)
    except OSError:
        if rescore: return None
        sys.exit(f"eval_qa: no finished run of {model} with {template_name} in {folder}")
    return evaluate(questions, folder, model, template_name, run["wall_seconds"] / run["items"])


def run_pipeline(hearth, model, template_name, questions, qa_path, folder):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "manifest.jsonl"), "w") as f:
        for q in questions: f.write(json.dumps(manifest_row(q, qa_path), ensure_ascii=False) + "\n")
    template = TEMPLATES[template_name]
    options = {"max_tokens": MAX_TOKENS}
    if "system" in template: options["system"] = template["system"]
    spec = {"name": f"eval-qa-{template_name}", "inputs": [{"manifest": "manifest.jsonl"}],
            "stages": [{"task": "ask", "model": model, "prompt": template["prompt"], "options": options}],
            "outputs": {"directory": "out", "results": "results.jsonl"}}
    pipeline = os.path.join(folder, "pipeline.yaml")
    with open(pipeline, "w") as f: json.dump(spec, f, ensure_ascii=False, indent=1)   # JSON is YAML
    proc = subprocess.run([hearth, "run", pipeline, "--fresh", "--quiet"], capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        sys.exit(f"eval_qa: hearth run {pipeline} failed ({proc.returncode}):\n{proc.stderr}")
    with open(os.path.join(folder, "load_average.json"), "w") as f: json.dump(os.getloadavg(), f)


def evaluate(questions, folder, model, template_name, seconds_per_answer):
    records = {}
    with open(os.path.join(folder, "out", "results.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            records[r["id"]] = r
    answers, scores = [], []
    for q in questions:
        r = records.get(q["id"], {})
        answer = (r.get("results", {}).get("ask", {}) or {}).get("answer", "") if r.get("status") == "ok" else ""
        s = score(q, answer)
        scores.append((q, s))
        answers.append({"id": q["id"], "question": q["question"], "expected": q["answers"][0], "answer": answer,
                        "status": r.get("status", "missing"), **s})
    with open(os.path.join(folder, "answers.jsonl"), "w") as f:
        for a in answers: f.write(json.dumps(a, ensure_ascii=False) + "\n")
    def pct(rows, key): return round(100 * sum(s[key] for _, s in rows) / max(1, len(rows)), 1)
    stated = [(q, s) for q, s in scores if not q["not_stated"]]
    unstated = [(q, s) for q, s in scores if q["not_stated"]]
    return {"model": model, "template": template_name, "questions": len(questions),
            "errors": sum(a["status"] != "ok" for a in answers),
            "exact": pct(scores, "exact"), "contains": pct(scores, "contains"),
            "answerable_contains": pct(stated, "contains"), "not_stated_ok": pct(unstated, "contains"),
            "invented": pct(unstated, "invented"), "refused": pct(stated, "refused"),
            "by_kind": {k: pct([(q, s) for q, s in scores if q["kind"] == k], "contains") for k in ("speech", "photo", "passage")},
            "seconds_per_answer": round(seconds_per_answer, 3),
            "generated_tokens": sum(((r.get("results", {}).get("ask") or {}).get("generated_tokens", 0)) for r in records.values())}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hearth", default=os.path.join(ROOT, ".build/release/hearth"))
    parser.add_argument("--qa", default=os.path.join(ROOT, "eval/qa/qa.jsonl"))
    parser.add_argument("--models", help="comma-separated (default: every installed GGUF text model)")
    parser.add_argument("--templates", default="shipped", help="shipped, all, or comma-separated names: " + ", ".join(TEMPLATES))
    parser.add_argument("--out", default=os.path.join(ROOT, ".build/eval-qa"))
    parser.add_argument("--every", type=int, default=1, help="only every N-th question (a quicker, smaller sample)")
    parser.add_argument("--rescore", action="store_true", help="score the answers of the last runs in --out again, without running models")
    args = parser.parse_args()
    _self_test()
    with open(args.qa) as f: questions = [json.loads(line) for line in f if line.strip()][::max(1, args.every)]
    models = args.models.split(",") if args.models else installed_text_models(args.hearth)
    templates = list(TEMPLATES) if args.templates == "all" else SHIPPED if args.templates == "shipped" else args.templates.split(",")
    for t in templates:
        if t not in TEMPLATES: sys.exit(f"eval_qa: unknown template '{t}' ({', '.join(TEMPLATES)})")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
    load_before = os.getloadavg()
    rows = []
    header = f"{'model':30} {'template':18} {'exact %':>8} {'contains %':>10} {'invented %':>10} {'refused %':>9} {'s/answer':>9}"
    print(f"{len(questions)} questions ({sum(q['not_stated'] for q in questions)} not stated), max_tokens {MAX_TOKENS}, {cpu}, "
          f"{os.cpu_count()} CPUs\n{header}", flush=True)
    for model in models:
        for t in templates:
            r = run_one(args.hearth, model, t, questions, os.path.abspath(args.qa), args.out, args.rescore)
            if r is None: continue   # --rescore: not run
            try:   # at the end of the run (1, 5, 15 min)
                with open(os.path.join(args.out, model, t, "load_average.json")) as f: r["load_average"] = json.load(f)
            except OSError:
                r["load_average"] = None
            rows.append(r)
            print(f"{model:30} {t:18} {r['exact']:8.1f} {r['contains']:10.1f} {r['invented']:10.1f} {r['refused']:9.1f} "
                  f"{r['seconds_per_answer']:9.2f}" + (f"  ({r['errors']} error records)" if r["errors"] else ""), flush=True)
    load_after = os.getloadavg()
    print(f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min); s/answer = the run's wall time "
          f"(model load included) / questions; answers in {args.out}/MODEL/TEMPLATE/answers.jsonl")
    summary = {"date": time.strftime("%Y-%m-%d"), "every": args.every, "cpu": cpu, "cpus": os.cpu_count(), "qa_set": os.path.relpath(args.qa, ROOT),
               "questions": len(questions), "not_stated": sum(q["not_stated"] for q in questions), "max_tokens": MAX_TOKENS,
               "load_average": {"before": load_before, "after": load_after}, "results": rows}
    with open(os.path.join(args.out, "summary.json"), "w") as f: json.dump(summary, f, indent=1)
    print(f"summary: {os.path.relpath(os.path.join(args.out, 'summary.json'), ROOT)}")


if __name__ == "__main__":
    main()
