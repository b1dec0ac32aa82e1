#!/usr/bin/env python3
"""OpenBLAS cblas_sgemm throughput (GFLOP/s) under each kernel set, for the README's OpenBLAS note.

Bench tooling only. Loads the system libopenblas (Debian's libopenblas0, the library Hearth links)
with ctypes, multiplies (N×N)·(N×N) float32 matrices REPS times with 2 threads, and prints the best
and median GFLOP/s (2·N³ flops a call) for the library's own choice of kernels and for
OPENBLAS_CORETYPE=Prescott / Haswell / SkylakeX (each in a fresh process: the core type is read when
the library loads), with the date, the CPU model name (/proc/cpuinfo) and the load average.

  python3 scripts/bench/openblas_sgemm.py [--n 512] [--reps 20] [--threads 2]
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import datetime
import json
import os
import random
import statistics
import subprocess
import sys
import time

CORE_TYPES = [None, "Prescott", "Haswell", "SkylakeX"]


def measure(n: int, reps: int) -> dict:
    blas = ctypes.CDLL(ctypes.util.find_library("openblas") or "libopenblas.so.0")
    blas.openblas_get_corename.restype = ctypes.c_char_p
    f32n = ctypes.c_float * (n * n)
    a, b, c = f32n(), f32n(), f32n()
    rng = random.Random(0)
    for i in range(n * n):
        a[i] = rng.uniform(-1, 1)
        b[i] = rng.uniform(-1, 1)
    # cblas_sgemm(RowMajor=101, NoTrans=111, NoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
    blas.cblas_sgemm.argtypes = [ctypes.c_int] * 6 + [ctypes.c_float, f32n, ctypes.c_int, f32n, ctypes.c_int,
                                                      ctypes.c_float, f32n, ctypes.c_int]
    call = lambda: blas.cblas_sgemm(101, 111, 111, n, n, n, 1.0, a, n, b, n, 0.0, c, n)
    call()  # warm-up (thread start, page faults)
    rates = []
    for _ in range(reps):
        t = time.perf_counter()
        call()
        rates.append(2 * n ** 3 / (time.perf_counter() - t) / 1e9)
    return {"core": blas.openblas_get_corename().decode(), "best": max(rates), "median": statistics.median(rates)}


def cpu_model() -> str:
    with open("/proc/cpuinfo") as f:
        return next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "unknown")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.n, args.reps)))
        return
    print(f"{datetime.date.today()}  CPU: {cpu_model()}  load average: {os.getloadavg()[0]:.2f}  "
          f"sgemm {args.n}³, {args.threads} threads, {args.reps} calls")
    for core in CORE_TYPES:
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
        env["OPENBLAS_NUM_THREADS"] = str(args.threads)
        if core:
            env["OPENBLAS_CORETYPE"] = core
        out = subprocess.run([sys.executable, __file__, "--child", "--n", str(args.n), "--reps", str(args.reps)],
                             env=env, check=True, capture_output=True, text=True).stdout
        r = json.loads(out)
        print(f"  OPENBLAS_CORETYPE={core or '(unset)':9}  kernels {r['core']:10}  "
              f"best {r['best']:6.1f} GFLOP/s  median {r['median']:6.1f}")


if __name__ == "__main__":
    main()
