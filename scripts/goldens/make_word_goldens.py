#!/usr/bin/env python3
"""Word-timestamp and subtitle goldens for Hearth (Tests/WhisperTests/Fixtures/words_*.json).

Test tooling only. Runs faster-whisper 1.2.1 (CTranslate2 4.8.5, compute_type float32) with
word_timestamps=True on the CTranslate2 whisper-tiny.en files Hearth installs, and writes, per
clip and decoding setup: the segments (start, end, text, tokens) and words (word, start, end,
probability). Then it renders faster-whisper's words with openai-whisper's own writers
(whisper/utils.py of openai-whisper==20250625, loaded from the sdist without torch) under several
subtitle options, so Hearth's port of SubtitlesWriter.iterate_result / WriteTSV can be compared
byte for byte on the same words.

Run (from the repo root; ~30 s):
  python3 -m venv /work/venvs/words
  /work/venvs/words/bin/pip install -r scripts/goldens/requirements-words.txt
  /work/venvs/words/bin/pip download --no-deps --no-binary :all: openai-whisper==20250625 -d /tmp/owdl
  /work/venvs/words/bin/python scripts/goldens/make_word_goldens.py \
      --model-dir ~/.cache/hearth/models/whisper-tiny.en --openai-sdist /tmp/owdl/openai_whisper-20250625.tar.gz \
      --testdata .build/testdata --base-model-dir ~/.cache/hearth/models/whisper-base
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import json
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "Tests" / "WhisperTests" / "Fixtures"

# Subtitle option sets rendered by openai-whisper's writers (None = option not given).
SUBTITLE_CASES = [
    {},
    {"max_line_width": 42, "max_line_count": 2},
    {"max_line_width": 20},
    {"max_words_per_line": 4},
    {"highlight_words": True},
    {"max_line_width": 30, "max_line_count": 1, "highlight_words": True},
    {"max_line_width": 24, "max_line_count": 3, "max_words_per_line": 3},
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_openai_utils(sdist: Path):
    with tarfile.open(sdist) as tf:
        member = next(m for m in tf.getmembers() if m.name.endswith("/whisper/utils.py"))
        source = tf.extractfile(member).read()
    tmp = Path(tempfile.mkdtemp()) / "openai_whisper_utils.py"
    tmp.write_bytes(source)
    spec = importlib.util.spec_from_file_location("openai_whisper_utils", tmp)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, hashlib.sha256(source).hexdigest()


def render(utils, result: dict, fmt: str, options: dict) -> str:
    writer = {"srt": utils.WriteSRT, "vtt": utils.WriteVTT, "tsv": utils.WriteTSV}[fmt](".")
    out = io.StringIO()
    writer.write_result(result, out, **({} if fmt == "tsv" else options))
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", type=Path, required=True)
    ap.add_argument("--openai-sdist", type=Path, required=True)
    ap.add_argument("--testdata", type=Path, default=REPO / ".build" / "testdata")
    ap.add_argument("--base-model-dir", type=Path, default=None,
                    help="CTranslate2 whisper-base (multilingual): adds german.wav / spanish.wav goldens")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import ctranslate2
    import faster_whisper
    from faster_whisper import WhisperModel

    utils, utils_sha = load_openai_utils(args.openai_sdist)
    models = {"whisper-tiny.en": (args.model_dir, WhisperModel(str(args.model_dir), device="cpu", compute_type="float32",
                                                               cpu_threads=args.threads))}
    if args.base_model_dir:
        models["whisper-base"] = (args.base_model_dir, WhisperModel(str(args.base_model_dir), device="cpu",
                                                                    compute_type="float32", cpu_threads=args.threads))
    clips = {
        "jfk": REPO / "samples" / "jfk.wav",
        "espeak": REPO / "samples" / "speech_espeak.flac",
        "longform": args.testdata / "longform.wav",
        "german": args.testdata / "german.wav",
        "spanish": args.testdata / "spanish.wav",
    }
    setups = [("greedy", "jfk"), ("greedy", "espeak"), ("greedy", "longform"), ("beam5", "jfk"), ("beam5", "espeak")]
    if args.base_model_dir:
        setups += [("base_greedy", "german"), ("base_greedy", "spanish")]
    language = {"german": "de", "spanish": "es"}
    written = {}
    for setup, clip in setups:
        path = clips[clip]
        model_dir, model = models["whisper-base" if setup.startswith("base") else "whisper-tiny.en"]
        beam = 5 if setup == "beam5" else 1
        options = dict(beam_size=beam, best_of=1 if beam == 1 else 5, temperature=0.0, language=language.get(clip, "en"),
                       condition_on_previous_text=True, vad_filter=False, word_timestamps=True)
        segments, info = model.transcribe(str(path), **options)
        segments = list(segments)
        seg_records = [dict(id=s.id, seek=s.seek, start=s.start, end=s.end, text=s.text, tokens=list(s.tokens),
                            words=[dict(word=w.word, start=w.start, end=w.end, probability=w.probability)
                                   for w in s.words])
                       for s in segments]
        result = {"segments": [dict(start=s["start"], end=s["end"], text=s["text"], words=s["words"])
                               for s in seg_records]}
        subtitles = []
        # The long clip keeps two cases (fixture size); the short clips run them all.
        cases = SUBTITLE_CASES if clip in ("jfk", "espeak") else SUBTITLE_CASES[1:2] + SUBTITLE_CASES[4:5]
        for case in cases:
            for fmt in ("srt", "vtt"):
                subtitles.append(dict(format=fmt, options=case, output=render(utils, result, fmt, case)))
        subtitles.append(dict(format="tsv", options={}, output=render(utils, result, "tsv", {})))
        golden = dict(
            clip=path.name, audio_sha256=sha256(path), setup=setup,
            transcribe_options=options, segments=seg_records, subtitles=subtitles,
            versions=dict(faster_whisper=faster_whisper.__version__, ctranslate2=ctranslate2.__version__,
                          openai_whisper_utils="openai-whisper==20250625 whisper/utils.py sha256 " + utils_sha,
                          python=sys.version.split()[0]),
            model=model_dir.name,
            model_files={p.name: sha256(p) for p in sorted(model_dir.iterdir())
                         if p.name in ("model.bin", "config.json", "vocabulary.txt", "tokenizer.json")},
        )
        out = FIXTURES / f"words_{setup}_{clip}.json"
        out.write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written[out.name] = out.stat().st_size
        print(out.name, out.stat().st_size, "bytes,", sum(len(s["words"]) for s in seg_records), "words")
    # Word splitting and punctuation merging on their own (no audio): token ids of varied texts,
    # split by faster-whisper's Tokenizer.split_to_word_tokens, then merge_punctuations.
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import merge_punctuations
    split_cases = [
        ("whisper-tiny.en", "en", ' "Hello," she said -- (quietly) [really?] ¿Qué tal? It\'s 3.5% of $20... ok!'),
        ("whisper-tiny.en", "en", " Well-known e-mail: a.b@c.de; 'quoted' “curly” {braces} — dash… end."),
        ("whisper-tiny.en", "en", " Café naïve façade, 東京 and emoji 🎉 done."),
        ("whisper-base", "zh", "我们今天去公园，好吗？“天气很好”。"),
        ("whisper-base", "ja", "こんにちは、世界！「東京」へ行きます。"),
        ("whisper-base", "de", " Grüße aus München: „Straße“ (groß) – ja?"),
    ]
    records = []
    for model_name, lang, text in split_cases:
        if model_name not in models:
            continue
        wm = models[model_name][1]
        tok = Tokenizer(wm.hf_tokenizer, wm.model.is_multilingual, task="transcribe", language=lang)
        ids = tok.encode(text)
        words, word_tokens = tok.split_to_word_tokens(ids + [tok.eot])
        alignment = [dict(word=w, tokens=list(t)) for w, t in zip(words[:-1], word_tokens[:-1])]
        merge_punctuations(alignment, "\"'“¿([{-", "\"'.。,，!！?？:：”)]}、")
        records.append(dict(model=model_name, language=lang, text=text, tokens=ids,
                            split=dict(words=words, tokens=[list(t) for t in word_tokens]),
                            merged=[dict(word=a["word"], tokens=a["tokens"]) for a in alignment]))
    out = FIXTURES / "words_split.json"
    out.write_text(json.dumps(dict(cases=records, faster_whisper=faster_whisper.__version__), indent=1,
                              ensure_ascii=False) + "\n", encoding="utf-8")
    written[out.name] = out.stat().st_size
    print(json.dumps(written, indent=1))


if __name__ == "__main__":
    main()
