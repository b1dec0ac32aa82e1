#!/usr/bin/env python3
"""Reference (golden) outputs for Hearth's Silero VAD parity tests.

Test tooling only, never part of the product. Runs faster-whisper 1.2.1's own VAD code
(faster_whisper.vad: SileroVADModel on onnxruntime, get_speech_timestamps) on the ONNX file
that ships in its wheel, and writes Tests/VADTests/Fixtures/vad_goldens.json:

  model         the ONNX file's SHA-256 (the same file `hearth models install silero-vad` installs)
  versions      faster-whisper, onnxruntime, numpy
  clips[]       per clip: path, sample count, sum and sum of squares of the decoded samples
                (so the test knows it decoded the same audio), the per-chunk speech
                probabilities (faster-whisper's padding: 512 - len % 512 zeros), and the speech
                chunks (start/end samples) for every options set in `option_sets`
  transcripts[] faster-whisper WhisperModel.transcribe(vad_filter=True) segments on
                longform.wav (whisper-tiny.en, beam 5, float32) - the concatenate-and-map-back path,
                once with word_timestamps=True (words mapped back through their chunks)

Clips: samples/jfk.wav, samples/speech_espeak.flac, and from scripts/data/make_test_audio.sh's
output folder longform.wav (sentences with 1-3 s and 8 s pauses), german.wav, plus
Tests/VADTests/Fixtures/noise_tone.wav (made here with sox: 2 s brown noise, 1 s 440 Hz tone,
no speech). All are 16 kHz mono 16-bit, so every decoder yields exactly int16 / 32768.

Run (from the repo root, after `bash scripts/data/make_test_audio.sh .build/testdata`):
  python3 -m venv /work/venvs/vad && /work/venvs/vad/bin/pip install -r scripts/goldens/requirements-vad.txt
  /work/venvs/vad/bin/python scripts/goldens/make_vad_goldens.py --testdata .build/testdata \
      --whisper-dir ~/.cache/hearth/models/whisper-tiny.en
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
from importlib.metadata import version
from pathlib import Path

import numpy as np
import onnxruntime
from faster_whisper import WhisperModel, decode_audio
from faster_whisper.utils import get_assets_path
from faster_whisper.vad import VadOptions, get_speech_timestamps, get_vad_model

FIXTURES = Path("Tests/VADTests/Fixtures")

# faster-whisper's defaults, then non-default sets exercising every VadOptions field.
OPTION_SETS = {
    "default": {},
    "strict": {"threshold": 0.7, "min_silence_duration_ms": 500, "speech_pad_ms": 100},
    "neg_min_speech": {"neg_threshold": 0.2, "min_speech_duration_ms": 250, "min_silence_duration_ms": 300,
                       "speech_pad_ms": 30},
    "max_speech": {"max_speech_duration_s": 3.0, "min_silence_duration_ms": 1000, "speech_pad_ms": 200},
    "loose": {"threshold": 0.3, "min_silence_duration_ms": 0, "speech_pad_ms": 0},
    "long_min_speech": {"min_speech_duration_ms": 1500, "min_silence_duration_ms": 100, "speech_pad_ms": 50,
                        "max_speech_duration_s": 1.5},
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_noise_tone(path: Path) -> None:
    if path.exists():
        return
    noise, tone = path.with_suffix(".noise.wav"), path.with_suffix(".tone.wav")
    sox = ["sox", "-R", "-D", "-V1"]
    subprocess.run(sox + ["-n", "-r", "16000", "-c", "1", "-b", "16", str(noise), "synth", "2", "brownnoise", "vol", "0.3"], check=True)
    subprocess.run(sox + ["-n", "-r", "16000", "-c", "1", "-b", "16", str(tone), "synth", "1", "sine", "440", "vol", "0.3"], check=True)
    subprocess.run(sox + [str(noise), str(tone), str(path)], check=True)
    noise.unlink(); tone.unlink()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--testdata", default=".build/testdata")
    ap.add_argument("--whisper-dir", default=os.path.expanduser("~/.cache/hearth/models/whisper-tiny.en"))
    args = ap.parse_args()
    testdata = Path(args.testdata)
    noise_tone = FIXTURES / "noise_tone.wav"
    make_noise_tone(noise_tone)
    clips = [Path("samples/jfk.wav"), Path("samples/speech_espeak.flac"), testdata / "longform.wav",
             testdata / "german.wav", noise_tone]

    model_path = Path(get_assets_path()) / "silero_vad_v6.onnx"
    model = get_vad_model()
    out = {
        "model": {"file": "faster_whisper/assets/silero_vad_v6.onnx", "sha256": sha256(model_path)},
        "versions": {p: version(p) for p in ["faster-whisper", "onnxruntime", "numpy", "ctranslate2"]},
        "option_sets": OPTION_SETS,
        "clips": [],
    }
    for clip in clips:
        audio = decode_audio(str(clip), sampling_rate=16000)
        # the probabilities exactly as get_speech_timestamps computes them
        padded = np.pad(audio, (0, 512 - audio.shape[0] % 512))
        probs = model(padded)
        entry = {
            "path": str(clip) if not str(clip).startswith(str(testdata)) else "testdata/" + clip.name,
            "file_sha256": sha256(clip),
            "samples": int(audio.shape[0]),
            "sum": float(np.sum(audio.astype(np.float64))),
            "sum_squares": float(np.sum(audio.astype(np.float64) ** 2)),
            "probabilities": [float(f"{p:.8g}") for p in np.asarray(probs, dtype=np.float32).reshape(-1)],
            "speech": {},
        }
        for name, options in OPTION_SETS.items():
            chunks = get_speech_timestamps(audio, VadOptions(**options))
            entry["speech"][name] = [[int(c["start"]), int(c["end"])] for c in chunks]
        out["clips"].append(entry)
        print(clip, len(entry["probabilities"]), "chunks;", {k: len(v) for k, v in entry["speech"].items()})

    # transcribe(vad_filter=True): concatenated speech, timestamps mapped back (whisper-tiny.en).
    whisper = WhisperModel(args.whisper_dir, device="cpu", compute_type="float32", cpu_threads=2)
    out["transcripts"] = []
    for clip, vad_parameters, words in [(testdata / "longform.wav", None, False), (noise_tone, None, False),
                                        (testdata / "longform.wav", {"min_silence_duration_ms": 500, "speech_pad_ms": 200}, False),
                                        (testdata / "longform.wav", {"min_silence_duration_ms": 500, "speech_pad_ms": 200}, True)]:
        segments, info = whisper.transcribe(str(clip), beam_size=5, vad_filter=True, vad_parameters=vad_parameters,
                                            language="en", word_timestamps=words)
        segments = list(segments)
        out["transcripts"].append({
            "path": "testdata/" + clip.name if clip.parent == testdata else str(clip),
            "vad_parameters": vad_parameters or {},
            "word_timestamps": words,
            "duration": info.duration, "duration_after_vad": info.duration_after_vad,
            "segments": [{"start": s.start, "end": s.end, "text": s.text,
                          **({"words": [{"word": w.word, "start": w.start, "end": w.end} for w in s.words]} if words else {})}
                         for s in segments],
        })
        print(clip, len(segments), "segments after VAD", info.duration_after_vad)

    path = FIXTURES / "vad_goldens.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", path, path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
