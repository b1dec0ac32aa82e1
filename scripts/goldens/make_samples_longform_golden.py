#!/usr/bin/env python3
"""Long-form Whisper golden on a clip made only from committed samples (Tests/WhisperTests/Fixtures/
greedy_samples_longform.json), so the window-by-window parity test needs no generated audio.

The clip is the `recipe` below: samples/jfk.wav and samples/speech_espeak.flac (16 kHz mono 16-bit)
decoded as faster-whisper decodes them (PyAV, s16 / 32768 — libsndfile's float read gives the same
values), joined with runs of zeros; 143 s, 5 windows, previous-text prompts up to the 223-token cap.
The test rebuilds it from the same recipe and checks the samples' SHA-256 (float32 LE) before comparing.
faster-whisper's greedy transcription of it, per window, is recorded by make_whisper_goldens.py's
transcribe_golden (same call, same options).

Usage (the venv of make_whisper_goldens.py: requirements-whisper.txt, faster-whisper 1.2.1, CTranslate2 4.8.5):
  /tmp/refenv/bin/python scripts/goldens/make_samples_longform_golden.py --model-dir ~/.cache/hearth/models/whisper-tiny.en
"""
import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_whisper_goldens import FIXTURES, REPO, transcribe_golden  # noqa: E402

# ("file", name) or ("silence", seconds); 16 kHz
RECIPE = [("file", "jfk.wav"), ("silence", 2.0), ("file", "speech_espeak.flac"), ("silence", 1.0),
          ("file", "jfk.wav"), ("silence", 8.0), ("file", "speech_espeak.flac"), ("silence", 3.0),
          ("file", "jfk.wav"), ("silence", 1.5), ("file", "speech_espeak.flac"), ("silence", 2.0),
          ("file", "jfk.wav")]


def build(decode_audio):
    parts = []
    for kind, value in RECIPE:
        if kind == "file":
            parts.append(decode_audio(str(REPO / "samples" / value), sampling_rate=16000).astype(np.float32))
        else:
            parts.append(np.zeros(int(round(value * 16000)), dtype=np.float32))
    return np.concatenate(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import ctranslate2
    import faster_whisper
    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio

    audio = build(decode_audio)
    model = WhisperModel(str(Path(args.model_dir).expanduser()), device="cpu", compute_type="float32", cpu_threads=args.threads)
    g = transcribe_golden(model, Path("samples_longform"), 1, None, audio=audio)
    g.pop("_encoder_inputs")
    g["audio"].update({
        "recipe": [{kind: value} for kind, value in RECIPE],
        "samples": int(audio.shape[0]),
        "samples_float32_sha256": hashlib.sha256(audio.astype("<f4").tobytes()).hexdigest(),
        "generated_by": "scripts/goldens/make_samples_longform_golden.py (from samples/ only)",
    })
    g["versions"] = {"faster_whisper": faster_whisper.__version__, "ctranslate2": ctranslate2.__version__,
                     "numpy": np.__version__, "av": __import__("av").__version__}
    out = FIXTURES / "greedy_samples_longform.json"
    out.write_text(json.dumps(g, indent=1, ensure_ascii=False) + "\n")
    prompts = [len(w["prompt"]) for w in g["windows"]]
    print(f"{out.name}: {len(g['windows'])} windows, prompt lengths {prompts}, {audio.shape[0] / 16000:.1f} s: {g['text'][:120]}")


if __name__ == "__main__":
    main()
