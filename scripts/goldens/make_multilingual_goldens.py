#!/usr/bin/env python3
"""Multilingual whisper-base goldens: language detection and translate (Fixtures/multilingual.json).

Test tooling only. faster-whisper 1.2.1 / CTranslate2 4.8.5 (compute_type float32, 2 threads)
transcribes the committed clips Tests/WhisperTests/Fixtures/{spanish,german}.ogg (espeak-ng, Ogg
Vorbis: `scripts/data/make_test_audio.sh --multilingual DIR`) with the whisper-base CTranslate2
files Hearth installs, with faster-whisper's default options (beam 5, best_of 5,
condition_on_previous_text, …) as Hearth's TranscriptionOptions(), but temperature 0 only:

  detect_spanish, detect_german   language=None: the detected language, its probability and the
                                  top languages of info.all_language_probs; segments with tokens
  translate_spanish               language="es", task="translate"

The clips are decoded with the system libsndfile (ctypes: sf_open + sf_readf_float, the library
and call Hearth's AudioDecoder uses; 16 kHz mono passes through unchanged), and the float32
samples are given to transcribe(), so both sides see the same samples (their SHA-256 is stored).

Run (from the repo root; ~40 s):
  /work/venvs/fw/bin/python scripts/goldens/make_multilingual_goldens.py \
      --model-dir ~/.cache/hearth/models/whisper-base
(venv: scripts/goldens/requirements-multilingual.txt)
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import dataclasses
import hashlib
import json
import platform
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "Tests" / "WhisperTests" / "Fixtures"
TOP_LANGUAGES = 5
# temperature 0 only: a sampled fallback would draw from CTranslate2's RNG (German's tail window
# falls back to 1.0 with the default list)
CASES = [("detect_spanish", "spanish.ogg", {"language": None, "temperature": 0.0}),
         ("detect_german", "german.ogg", {"language": None, "temperature": 0.0}),
         ("translate_spanish", "spanish.ogg", {"language": "es", "task": "translate", "temperature": 0.0})]


class SFInfo(ctypes.Structure):
    _fields_ = [("frames", ctypes.c_int64), ("samplerate", ctypes.c_int), ("channels", ctypes.c_int),
                ("format", ctypes.c_int), ("sections", ctypes.c_int), ("seekable", ctypes.c_int)]


def decode_libsndfile(path: Path) -> np.ndarray:
    """(samples,) float32 exactly as libsndfile's sf_readf_float gives them (mono 16 kHz files only)."""
    sf = ctypes.CDLL(ctypes.util.find_library("sndfile") or "libsndfile.so.1")
    sf.sf_open.restype = ctypes.c_void_p
    sf.sf_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(SFInfo)]
    sf.sf_readf_float.restype = ctypes.c_int64
    sf.sf_readf_float.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    sf.sf_close.argtypes = [ctypes.c_void_p]
    info = SFInfo()
    handle = sf.sf_open(str(path).encode(), 0x10, ctypes.byref(info))   # SFM_READ
    assert handle, f"libsndfile cannot open {path}"
    assert info.channels == 1 and info.samplerate == 16000, (info.channels, info.samplerate)
    out = np.zeros(info.frames, dtype=np.float32)
    n = sf.sf_readf_float(handle, out.ctypes.data, info.frames)
    sf.sf_close(handle)
    assert n == info.frames, (n, info.frames)
    return out


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import ctranslate2
    import faster_whisper
    from faster_whisper import WhisperModel

    model = WhisperModel(str(args.model_dir), device="cpu", compute_type="float32", cpu_threads=args.threads)
    cases = []
    for name, clip, kwargs in CASES:
        path = FIXTURES / clip
        samples = decode_libsndfile(path)
        segments, info = model.transcribe(samples, **kwargs)
        segs = [{"id": s.id, "seek": s.seek, "start": s.start, "end": s.end, "text": s.text,
                 "tokens": [int(t) for t in s.tokens], "temperature": s.temperature,
                 "avg_logprob": s.avg_logprob, "no_speech_prob": s.no_speech_prob} for s in segments]
        top = (info.all_language_probs or [])[:TOP_LANGUAGES]
        cases.append({
            "name": name, "clip": clip, "clip_sha256": sha256(path.read_bytes()),
            "samples": int(samples.size), "samples_float32_sha256": sha256(samples.astype("<f4").tobytes()),
            "options": kwargs, "resolved_options": dataclasses.asdict(info.transcription_options),
            "language": info.language, "language_probability": info.language_probability,
            "top_languages": [{"code": c, "probability": p} for c, p in top],
            "text": "".join(s["text"] for s in segs), "segments": segs,
        })
        print(f"{name}: {info.language} p={info.language_probability:.6f} top {top[:3]}: {cases[-1]['text']}", flush=True)

    out = {
        "generator": "scripts/goldens/make_multilingual_goldens.py",
        "versions": {"python": platform.python_version(), "faster_whisper": faster_whisper.__version__,
                     "ctranslate2": ctranslate2.__version__, "numpy": np.__version__},
        "machine": {"platform": platform.platform(), "cpu_threads": args.threads},
        "model": {"name": "whisper-base", "compute_type": "float32",
                  "files": {f: sha256((args.model_dir / f).read_bytes()) for f in ("model.bin", "config.json", "tokenizer.json")}},
        "call": "WhisperModel(dir, device='cpu', compute_type='float32', cpu_threads=2).transcribe(samples, **options); "
                "everything else faster-whisper's default (resolved_options)",
        "cases": cases,
    }
    p = FIXTURES / "multilingual.json"
    p.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {p} ({p.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
