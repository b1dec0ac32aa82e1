#!/usr/bin/env python3
"""Make the golden log-mel fixtures for Tests/MediaTests (Swift `LogMelSpectrogram` parity).

The fixture is computed here with numpy (float64) following openai-whisper's
`log_mel_spectrogram` (whisper/audio.py) with the filterbank from its
`assets/mel_filters.npz`, framed the way faster-whisper 1.2.1 frames it in `transcribe()`:
160 zero samples appended, STFT (n_fft 400, hop 160, periodic Hann, center reflect pad),
last STFT frame dropped, content_frames = frames - 1, segment = pad_or_trim(features[:, 0:3000]).
It is then cross-checked against faster-whisper's own `FeatureExtractor` (float32).

Usage (inside a venv made from scripts/goldens/requirements-mel.txt: numpy, faster-whisper 1.2.1):
    python scripts/goldens/make_mel_fixture.py --whisper-sdist /tmp/dl/openai_whisper-20250625.tar.gz

Writes into Tests/MediaTests/Fixtures/ (all float32 little-endian, row-major):
    jfk_mel80.f32        (80, content_frames)  first window of samples/jfk.wav, content frames only
                                                (the rest of the 3000-frame window is zero padding)
    jfk_mel128_head.f32  (128, 400)            first 400 frames of the same window with 128 mels
    jfk3_tail_mel80.f32  (80, 299)             second window (seek 3000) of jfk.wav tiled 3 times minus
                                                its last 37 samples: an odd length, a partial last segment
    mel_filters_80.f32   (80, 201)             mel_filters.npz["mel_80"]
    mel_filters_128.f32  (128, 201)            mel_filters.npz["mel_128"]
    fixtures.json        shapes, sha256 of the inputs, library versions, cross-check figures
"""
import argparse
import hashlib
import io
import json
import platform
import sys
import tarfile
import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
WINDOW_FRAMES = 3000
MEL128_HEAD_FRAMES = 400
TILED_COPIES, TILED_TRIM = 3, 37  # the tiled signal: np.tile(jfk, 3)[:-37]

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "MediaTests" / "Fixtures"
JFK = ROOT / "samples" / "jfk.wav"


def read_pcm16_mono(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() == SAMPLE_RATE
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def load_mel_filters(sdist: Path) -> dict:
    with tarfile.open(sdist) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("whisper/assets/mel_filters.npz"))
        data = tar.extractfile(member).read()
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {80: npz["mel_80"].astype(np.float32), 128: npz["mel_128"].astype(np.float32)}


def log_mel_features(audio: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """faster-whisper FeatureExtractor.__call__(audio) semantics, computed in float64. -> (n_mels, frames)"""
    x = np.pad(audio.astype(np.float64), (0, HOP))  # padding=160 in FeatureExtractor.__call__
    x = np.pad(x, (N_FFT // 2, N_FFT // 2), mode="reflect")  # center=True
    n_frames = 1 + (len(x) - N_FFT) // HOP
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP][:n_frames]
    power = np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2  # (frames, 201)
    power = power[:-1].T  # drop the last STFT frame -> (201, frames)
    mel = filters.astype(np.float64) @ power
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


def segment_window(features: np.ndarray, seek: int) -> np.ndarray:
    """transcribe.generate_segments at `seek`: pad_or_trim(features[:, seek:seek + segment_size]). -> (n_mels, 3000)"""
    content_frames = features.shape[-1] - 1
    segment = features[:, seek : seek + min(WINDOW_FRAMES, content_frames - seek)]
    return np.pad(segment, ((0, 0), (0, WINDOW_FRAMES - segment.shape[-1])))


def faster_whisper_window(audio: np.ndarray, n_mels: int, seek: int) -> np.ndarray:
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.feature_extractor import FeatureExtractor

    features = FeatureExtractor(feature_size=n_mels)(audio)
    content_frames = features.shape[-1] - 1
    return pad_or_trim(features[:, seek : seek + min(WINDOW_FRAMES, content_frames - seek)])


def write_f32(name: str, array: np.ndarray) -> dict:
    data = np.ascontiguousarray(array, dtype="<f4").tobytes()
    (FIXTURES / name).write_bytes(data)
    return {"file": name, "shape": list(array.shape), "dtype": "float32-le", "sha256": hashlib.sha256(data).hexdigest()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--whisper-sdist", type=Path, required=True, help="openai_whisper-*.tar.gz")
    args = parser.parse_args()

    import faster_whisper
    from faster_whisper.audio import decode_audio
    from faster_whisper.feature_extractor import FeatureExtractor

    filters = load_mel_filters(args.whisper_sdist)
    audio = read_pcm16_mono(JFK)
    pyav_audio = decode_audio(str(JFK), sampling_rate=SAMPLE_RATE)
    assert np.array_equal(audio, pyav_audio), "wave module and faster-whisper's decoder disagree on jfk.wav"

    # The filterbank faster-whisper computes in code must be the one in mel_filters.npz.
    filter_diffs = {
        n: float(np.abs(FeatureExtractor.get_mel_filters(SAMPLE_RATE, N_FFT, n).astype(np.float32) - filters[n]).max())
        for n in (80, 128)
    }

    FIXTURES.mkdir(parents=True, exist_ok=True)
    entries = {}
    cross_checks = {}
    content_frames = None
    for n_mels in (80, 128):
        features = log_mel_features(audio, filters[n_mels])
        content_frames = features.shape[-1] - 1
        window = segment_window(features, 0)
        reference = faster_whisper_window(audio, n_mels, 0)
        diff = float(np.abs(window - reference).max())
        assert diff <= 1e-4, f"faster-whisper differs from the numpy fixture by {diff} (n_mels {n_mels})"
        cross_checks[f"max_abs_diff_vs_faster_whisper_{n_mels}"] = diff
        if n_mels == 80:
            entries["mel80"] = write_f32("jfk_mel80.f32", window[:, :content_frames])
        else:
            entries["mel128_head"] = write_f32("jfk_mel128_head.f32", window[:, :MEL128_HEAD_FRAMES])
        entries[f"filters{n_mels}"] = write_f32(f"mel_filters_{n_mels}.f32", filters[n_mels])

    tiled = np.tile(audio, TILED_COPIES)[:-TILED_TRIM]
    tiled_features = log_mel_features(tiled, filters[80])
    tiled_content_frames = tiled_features.shape[-1] - 1
    tail = segment_window(tiled_features, WINDOW_FRAMES)
    diff = float(np.abs(tail - faster_whisper_window(tiled, 80, WINDOW_FRAMES)).max())
    assert diff <= 1e-4, f"faster-whisper differs from the numpy fixture by {diff} (tiled tail window)"
    cross_checks["max_abs_diff_vs_faster_whisper_tiled_tail_80"] = diff
    assert not tail[:, tiled_content_frames - WINDOW_FRAMES :].any()
    entries["tiled_tail_mel80"] = write_f32("jfk3_tail_mel80.f32", tail[:, : tiled_content_frames - WINDOW_FRAMES])

    note = {
        "made_by": "scripts/goldens/make_mel_fixture.py",
        "input": {"file": "samples/jfk.wav", "sha256": hashlib.sha256(JFK.read_bytes()).hexdigest(),
                  "samples": int(len(audio))},
        "content_frames": content_frames,
        "window_frames": WINDOW_FRAMES,
        "tiled": {"copies": TILED_COPIES, "trim_samples": TILED_TRIM, "samples": int(len(tiled)),
                  "content_frames": tiled_content_frames, "window_start_frame": WINDOW_FRAMES},
        "layout": "row-major (n_mels, frames); frames past content_frames in the 3000-frame window are 0",
        "arrays": entries,
        "cross_checks": {**cross_checks,
                         **{f"max_abs_diff_filters_in_code_vs_npz_{n}": d for n, d in filter_diffs.items()}},
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "faster_whisper": faster_whisper.__version__,
                     "openai_whisper_sdist": args.whisper_sdist.name},
    }
    (FIXTURES / "fixtures.json").write_text(json.dumps(note, indent=2) + "\n")
    json.dump(note["cross_checks"], sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
