#!/usr/bin/env python3
"""ggml's own dequantization (gguf-py, from llama.cpp) as fixtures for Tests/WeightsTests/Fixtures/ggml_dequant/.

Reference: `gguf.quants.dequantize(blocks, qtype)` (gguf-py's numpy port of ggml-quants.c
`dequantize_row_*`). For each block type ggml defines below, seeded random blocks whose float16
scale fields hold finite values (plus one block each with a subnormal, a zero and the largest
finite float16 scale), rows x cols as the tests use:

  <type>.blocks   the raw blocks, rows * cols / block_size * block_bytes bytes
  <type>.f32      gguf-py's dequantization, float32 little-endian, (rows, cols) row-major

and with --models, the first tensor of every quantized type in each installed GGUF (SmolLM2-135M,
Qwen2.5-Coder-0.5B): its first 4 rows dequantized by gguf-py, as the SHA-256 of each row's float32
bytes plus its first 8 values (the files themselves are not committed).
dequant.json lists all of it with the versions and seeds.

Usage: python3 -m venv /tmp/ggufenv && /tmp/ggufenv/bin/pip install -r scripts/goldens/requirements-gguf.txt
       /tmp/ggufenv/bin/python scripts/goldens/make_ggml_dequant_fixtures.py \
           [--models ~/.cache/hearth/models]   (last run: gguf 0.19.0, numpy 2.4.6, Python 3.11)
"""
import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf.quants import dequantize

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/WeightsTests/Fixtures/ggml_dequant"

# type -> byte offsets of its float16 scale fields inside one block (ggml-common.h block_* structs)
F16_FIELDS = {
    Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0],
    Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208],
}
MODELS = ["smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"]


def random_blocks(qtype, rows, cols, rng):
    block_size, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
    n = rows * cols // block_size
    blocks = rng.integers(0, 256, size=(n, block_bytes), dtype=np.uint8)
    for offset in F16_FIELDS[qtype]:
        scales = (rng.standard_normal(n) * 0.05).astype(np.float16)
        scales[0] = np.float16(3e-6)        # subnormal
        scales[1 % n] = np.float16(0)
        scales[2 % n] = np.float16(65504)   # largest finite float16
        blocks[:, offset:offset + 2] = scales.view(np.uint8).reshape(n, 2)
    return blocks


def row_hash(values):
    return hashlib.sha256(np.ascontiguousarray(values, dtype="<f4").tobytes()).hexdigest()


def model_tensors(models_dir):
    found = []
    for name in MODELS:
        files = sorted((models_dir / name).glob("*.gguf"))
        if not files:
            sys.exit(f"{name}: no .gguf in {models_dir / name}")
        reader = gguf.GGUFReader(files[0])
        seen = set()
        for t in reader.tensors:
            qtype = Q(t.tensor_type)
            if qtype not in F16_FIELDS or qtype in seen:
                continue
            seen.add(qtype)
            cols = int(t.shape[0])
            rows = dequantize(np.asarray(t.data[:4]), qtype).reshape(4, cols)
            found.append({"model": name, "file": files[0].name, "tensor": t.name, "type": qtype.name,
                          "cols": cols, "row_sha256": [row_hash(r) for r in rows],
                          "row_head": [[float(v) for v in r[:8]] for r in rows]})
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=Path, help="the model store (~/.cache/hearth/models)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(17)
    types = []
    for qtype in F16_FIELDS:
        block_size, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
        rows, cols = (2, 512) if block_size == 256 else (3, 128)
        blocks = random_blocks(qtype, rows, cols, rng)
        values = dequantize(blocks.reshape(rows, -1), qtype).astype("<f4")
        assert values.shape == (rows, cols) and np.isfinite(values).all()
        (OUT / f"{qtype.name}.blocks").write_bytes(blocks.tobytes())
        (OUT / f"{qtype.name}.f32").write_bytes(values.tobytes())
        types.append({"type": qtype.name, "ggml_type": int(qtype), "rows": rows, "cols": cols,
                      "block_size": block_size, "block_bytes": block_bytes})
    note = {"made_by": "scripts/goldens/make_ggml_dequant_fixtures.py", "gguf": gguf.__version__ if hasattr(gguf, "__version__") else
            __import__("importlib.metadata").metadata.version("gguf"), "numpy": np.__version__,
            "python": sys.version.split()[0], "seed": 17, "types": types}
    if args.models:
        note["models"] = model_tensors(args.models.expanduser())
    elif (OUT / "dequant.json").exists():
        note["models"] = json.loads((OUT / "dequant.json").read_text()).get("models", [])
    (OUT / "dequant.json").write_text(json.dumps(note, indent=1) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"{len(types)} types, {len(note.get('models', []))} model tensors, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
