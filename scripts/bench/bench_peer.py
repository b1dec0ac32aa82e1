#!/usr/bin/env python3
"""faster-whisper side of `make bench` (benchmark tooling, never part of the product).

One configuration per process, so that peak RSS (resource.getrusage ru_maxrss) belongs to
that configuration alone. Loads the model once, warms up once (a full transcription of the
first clip, not timed), then times the transcription of all clips REPEAT times and keeps
the fastest pass.

  .venv-bench/bin/python scripts/bench/bench_peer.py --model-dir DIR --compute-type int8 \
      --beam-size 1 --threads 2 --out RESULT.json CLIP...
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

T_START = time.perf_counter()


def transcribe(model, path: str, beam: int, batch: int = 0):
    if batch:   # BatchedInferencePipeline: its own defaults (VAD chunks, no timestamps), batch_size N
        segments, info = model.transcribe(path, beam_size=beam, best_of=1, temperature=0.0, language="en",
                                          batch_size=batch)
    else:
        segments, info = model.transcribe(
            path, beam_size=beam, best_of=1, temperature=0.0, condition_on_previous_text=True,
            without_timestamps=False, vad_filter=False, word_timestamps=False, language="en")
    segs = [{"start": s.start, "end": s.end, "text": s.text, "tokens": list(s.tokens),
             "avg_logprob": s.avg_logprob, "no_speech_prob": s.no_speech_prob} for s in segments]
    return info, segs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--compute-type", default="int8")
    ap.add_argument("--beam-size", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--batched", type=int, default=0, metavar="N",
                    help="BatchedInferencePipeline with batch_size N (default 0: WhisperModel.transcribe)")
    ap.add_argument("--warmup", help="clip for the untimed warm-up (default: the first clip)")
    ap.add_argument("clips", nargs="+")
    a = ap.parse_args()

    import ctranslate2
    import faster_whisper
    from faster_whisper import WhisperModel
    t_imported = time.perf_counter()

    model = WhisperModel(a.model_dir, device="cpu", compute_type=a.compute_type,
                         cpu_threads=a.threads, num_workers=1)
    if a.batched:
        from faster_whisper import BatchedInferencePipeline
        model = BatchedInferencePipeline(model=model)
    t_loaded = time.perf_counter()
    transcribe(model, a.warmup or a.clips[0], a.beam_size, a.batched)
    t_warm = time.perf_counter()

    load_before = os.getloadavg()[0]
    best = None
    for _ in range(max(1, a.repeat)):
        per_clip = []
        t0 = time.perf_counter()
        for clip in a.clips:
            c0 = time.perf_counter()
            info, segs = transcribe(model, clip, a.beam_size, a.batched)
            per_clip.append({"file": clip, "duration": info.duration,
                             "wall_s": time.perf_counter() - c0,
                             "text": "".join(s["text"] for s in segs).strip(),
                             "segments": segs})
        wall = time.perf_counter() - t0
        if best is None or wall < best[0]:
            best = (wall, per_clip)
    wall, per_clip = best
    audio_s = sum(c["duration"] for c in per_clip)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    res = {
        "system": "faster-whisper",
        "versions": {"faster_whisper": faster_whisper.__version__, "ctranslate2": ctranslate2.__version__,
                     "python": sys.version.split()[0]},
        "compute_type": a.compute_type, "beam_size": a.beam_size, "threads": a.threads, "batched": a.batched,
        "repeat": a.repeat, "model_dir": os.path.abspath(a.model_dir),
        "import_s": t_imported - T_START, "load_s": t_loaded - t_imported,
        "warmup_s": t_warm - t_loaded, "transcribe_s": wall,
        "audio_s": audio_s, "audio_s_per_wall_s": audio_s / wall,
        # end to end as one cold CLI call would see it (import + load + transcribe, no warm-up)
        "e2e_s": (t_imported - T_START) + (t_loaded - t_imported) + wall,
        "peak_rss_mb": ru.ru_maxrss / 1024.0,      # Linux: KiB
        "loadavg_1min": [load_before, os.getloadavg()[0]],   # >> threads: other jobs competed
        "cpu_count": os.cpu_count(),
        "user_cpu_s": ru.ru_utime, "sys_cpu_s": ru.ru_stime,
        "clips": per_clip,
    }
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    print(f"faster-whisper {a.compute_type} beam={a.beam_size}{f' batched {a.batched}' if a.batched else ''}: {audio_s:.1f} s audio in {wall:.2f} s "
          f"= {audio_s / wall:.1f} audio-s/s, load {res['load_s']:.2f} s, peak RSS {res['peak_rss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
