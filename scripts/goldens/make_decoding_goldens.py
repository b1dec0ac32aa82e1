#!/usr/bin/env python3
"""Goldens for Hearth's faster-whisper decoding options (Tests/WhisperTests/Fixtures/decoding_options.json).

Test tooling only. Runs faster-whisper 1.2.1's sequential WhisperModel.transcribe (CTranslate2
4.8.5, compute_type float32) on the CTranslate2 whisper-tiny.en / whisper-base files Hearth
installs, once per case, each case exercising options Hearth ports from it: repetition_penalty,
no_repeat_ngram_size, prefix (with and without timestamps, greedy and beam), hotwords,
clip_timestamps (string and list, with words), hallucination_silence_threshold (with words),
language_detection_segments / language_detection_threshold, and multilingual (per-window
language; recorded here from the tokenizer faster-whisper hands each window's segments).

Clips are named by recipe so the test rebuilds the same samples: a list of files (samples/...,
testdata/... from scripts/data/make_test_audio.sh, vad/... from Tests/VADTests/Fixtures,
whisper/... from Tests/WhisperTests/Fixtures) concatenated;
all are 16 kHz mono 16-bit, so every decoder yields exactly int16 / 32768.

Every case decodes without temperature fallback (all segments at temperature 0: the sampled
fallbacks draw from CTranslate2's RNG, which Hearth does not reproduce); the two whisper-base
cases pass temperature=0 so that they do. Per case: the options, info.language / language_probability, and every segment's start, end,
text, tokens (and words when word_timestamps, and the window language when multilingual).

Run (from the repo root, ~2 min; pinned in scripts/goldens/requirements-words.txt):
  /work/venvs/words/bin/python scripts/goldens/make_decoding_goldens.py \
      --tiny ~/.cache/hearth/models/whisper-tiny.en --base ~/.cache/hearth/models/whisper-base \
      --testdata .build/testdata
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "Tests" / "WhisperTests" / "Fixtures" / "decoding_options.json"

GERMAN4 = ["testdata/german.wav"] * 4
SPANISH4 = ["testdata/spanish.wav"] * 4
NOISE_JFK = ["vad/noise_tone.wav"] * 3 + ["samples/jfk.wav"] + ["vad/noise_tone.wav"] * 3
# jfk.wav, then 36 s of loud white noise (Tests/WhisperTests/Fixtures/white_noise_6s.wav, sox
# whitenoise at 0.9 of full scale, 16-bit): beam 5 hallucinates " you" at 31.56 s, which
# hallucination_silence_threshold removes.
JFK_WHITE_NOISE = ["samples/jfk.wav"] + ["whisper/white_noise_6s.wav"] * 6

# (name, model, clip recipe, transcribe kwargs besides the defaults below)
CASES = [
    ("repetition_penalty_beam5", "tiny", ["samples/speech_espeak.flac"], dict(beam_size=5, repetition_penalty=1.5)),
    ("no_repeat_ngram_greedy", "tiny", ["samples/speech_espeak.flac"], dict(beam_size=1, no_repeat_ngram_size=2)),
    ("prefix_beam5", "tiny", ["samples/jfk.wav"], dict(beam_size=5, prefix="And so, my dear friends")),
    ("prefix_greedy", "tiny", ["samples/jfk.wav"], dict(beam_size=1, prefix="So my fellow citizens of the world")),
    ("prefix_without_timestamps", "tiny", ["samples/jfk.wav"],
     dict(beam_size=1, prefix="And so my fellow", without_timestamps=True)),
    ("prefix_longform_words", "tiny", ["testdata/longform.wav"],
     dict(beam_size=1, prefix="Welcome", word_timestamps=True)),
    ("hotwords_longform", "tiny", ["testdata/longform.wav"], dict(beam_size=1, hotwords="Hearth archive tape")),
    ("clip_string", "tiny", ["testdata/longform.wav"], dict(beam_size=1, clip_timestamps="10,40,100")),
    ("clip_list_words", "tiny", ["testdata/longform.wav"],
     dict(beam_size=5, clip_timestamps=[5.5, 20.25, 61, 75], word_timestamps=True)),
    ("hallucination_longform", "tiny", ["testdata/longform.wav"],
     dict(beam_size=5, word_timestamps=True, hallucination_silence_threshold=1.0)),
    ("hallucination_noise_jfk", "tiny", NOISE_JFK,
     dict(beam_size=5, word_timestamps=True, hallucination_silence_threshold=0.5)),
    ("hallucination_white_noise", "tiny", JFK_WHITE_NOISE,
     dict(beam_size=5, word_timestamps=True, hallucination_silence_threshold=0.3, temperature=0.0)),
    ("words_white_noise", "tiny", JFK_WHITE_NOISE, dict(beam_size=5, word_timestamps=True, temperature=0.0)),
    ("language_detection_segments", "base", ["testdata/spanish.wav"] + ["testdata/german.wav"] * 3,
     dict(beam_size=1, language=None, language_detection_segments=2, language_detection_threshold=0.99, temperature=0.0)),
    ("multilingual", "base", GERMAN4 + SPANISH4, dict(beam_size=1, language=None, multilingual=True, temperature=0.0)),
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", type=Path, required=True)
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--testdata", type=Path, default=REPO / ".build" / "testdata")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import ctranslate2
    import faster_whisper
    from faster_whisper import WhisperModel, decode_audio

    dirs = {"tiny": args.tiny, "base": args.base}
    models = {k: WhisperModel(str(d), device="cpu", compute_type="float32", cpu_threads=args.threads) for k, d in dirs.items()}

    # Record the language each window's segments were decoded with (multilingual switches it).
    window_language = {}
    original = WhisperModel.generate_segments

    def generate_segments(self, features, tokenizer, options, *rest, **kw):
        for segment in original(self, features, tokenizer, options, *rest, **kw):
            window_language[segment.id] = tokenizer.language_code
            yield segment

    WhisperModel.generate_segments = generate_segments

    def resolve(item: str) -> Path:
        if item.startswith("testdata/"):
            return args.testdata / item[len("testdata/"):]
        if item.startswith("vad/"):
            return REPO / "Tests" / "VADTests" / "Fixtures" / item[len("vad/"):]
        if item.startswith("whisper/"):
            return REPO / "Tests" / "WhisperTests" / "Fixtures" / item[len("whisper/"):]
        return REPO / item

    cases = []
    for name, model_key, recipe, extra in CASES:
        audio = np.concatenate([decode_audio(str(resolve(item))) for item in recipe])
        kwargs = dict(beam_size=5, best_of=5, temperature=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0], language="en",
                      condition_on_previous_text=True, vad_filter=False)
        kwargs.update(extra)
        window_language.clear()
        segments, info = models[model_key].transcribe(audio, **kwargs)
        segments = list(segments)
        records = []
        for s in segments:
            r = dict(id=s.id, seek=s.seek, start=s.start, end=s.end, text=s.text, tokens=list(s.tokens),
                     temperature=s.temperature)
            if s.words is not None:
                r["words"] = [dict(word=w.word, start=w.start, end=w.end, probability=w.probability) for w in s.words]
            if kwargs.get("multilingual"):
                r["language"] = window_language[s.id]
            records.append(r)
        cases.append(dict(name=name, model=dirs[model_key].name, clip=recipe, samples=int(audio.shape[0]),
                          options=kwargs, language=info.language, language_probability=info.language_probability,
                          segments=records))
        print(f"{name}: {len(records)} segments, language {info.language} ({info.language_probability:.3f}):",
              "".join(s.text for s in segments)[:100])

    golden = dict(
        script="scripts/goldens/make_decoding_goldens.py",
        versions=dict(faster_whisper=faster_whisper.__version__, ctranslate2=ctranslate2.__version__,
                      numpy=np.__version__, python=sys.version.split()[0]),
        models={d.name: {p.name: sha256(p) for p in sorted(d.iterdir()) if p.name in ("model.bin", "config.json")}
                for d in dirs.values()},
        cases=cases,
    )
    OUT.write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print("wrote", OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
