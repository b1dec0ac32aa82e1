#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/ (small, committed).

Standard library only, plus `sox` for the audio seeds (FLAC, Ogg, µ-law). Run from anywhere:
    python3 fuzz/make_corpus.py
Every seed is a small valid (or nearly valid) file of its format, so mutations start deep in
the parser.
"""
import json, os, struct, subprocess, sys, tempfile, wave

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- audio -------------------------------------------------------------------------------
def wav_bytes(rate, channels, width, frames):
    with tempfile.NamedTemporaryFile(suffix=".wav") as t:
        with wave.open(t.name, "wb") as w:
            w.setnchannels(channels); w.setsampwidth(width); w.setframerate(rate)
            if width == 1:
                w.writeframes(bytes((128 + (i * 7) % 64) for i in range(frames * channels)))
            else:
                w.writeframes(b"".join(struct.pack("<h", ((i * 997) % 2000) - 1000) for i in range(frames * channels)))
        return open(t.name, "rb").read()


def sox_bytes(ext, *args):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "x." + ext)
        subprocess.run(["sox", "-R", "-n", *args, out, "synth", "0.05", "sine", "440"], check=True)
        return open(out, "rb").read()


def audio():
    put("fuzz-audio", "pcm16-16k-mono.wav", wav_bytes(16000, 1, 2, 400))
    put("fuzz-audio", "pcm8-8k-stereo.wav", wav_bytes(8000, 2, 1, 200))
    put("fuzz-audio", "pcm16-44k-stereo.wav", wav_bytes(44100, 2, 2, 300))
    try:
        put("fuzz-audio", "ulaw-8k.wav", sox_bytes("wav", "-r", "8000", "-c", "1", "-e", "u-law"))
        put("fuzz-audio", "float-48k.wav", sox_bytes("wav", "-r", "48000", "-c", "1", "-e", "floating-point", "-b", "32"))
        put("fuzz-audio", "stereo-44k.flac", sox_bytes("flac", "-r", "44100", "-c", "2"))
        put("fuzz-audio", "mono-16k.ogg", sox_bytes("ogg", "-r", "16000", "-c", "1"))
        put("fuzz-audio", "mono-16k.aiff", sox_bytes("aiff", "-r", "16000", "-c", "1"))
    except (OSError, subprocess.CalledProcessError) as e:
        print("sox unavailable, audio seeds are WAV only:", e, file=sys.stderr)


# ---- CTranslate2 model.bin (v6) -----------------------------------------------------------
def ct2_string(s):
    b = s.encode() + b"\0"
    return struct.pack("<H", len(b)) + b


def ct2(version=6):
    out = struct.pack("<I", version)
    if version >= 2:
        out += ct2_string("WhisperSpec") + struct.pack("<I", 3)
    variables = [("encoder/conv1/weight", [2, 3], 0, struct.pack("<6f", *range(6))),
                 ("decoder/embeddings/weight", [4, 2], 4, struct.pack("<8e", *[0.5 * i for i in range(8)])),
                 ("decoder/scale", [], 0, struct.pack("<f", 1.5))]
    out += struct.pack("<I", len(variables))
    for name, shape, dtype, data in variables:
        out += ct2_string(name) + struct.pack("<B", len(shape)) + b"".join(struct.pack("<I", d) for d in shape)
        if version >= 4:
            out += struct.pack("<BI", dtype, len(data))
        else:
            size = 4 if dtype == 0 else 2
            out += struct.pack("<BI", size, len(data) // size)
        out += data
    if version >= 3:
        out += struct.pack("<I", 1) + ct2_string("decoder/projection/weight") + ct2_string("decoder/embeddings/weight")
    return out


# ---- safetensors ------------------------------------------------------------------------
def safetensors():
    a = struct.pack("<6f", *range(6))
    b = struct.pack("<4e", 1, 2, 3, 4)
    header = {"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, len(a)]},
              "b": {"dtype": "F16", "shape": [4], "data_offsets": [len(a), len(a) + len(b)]},
              "__metadata__": {"format": "pt"}}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + a + b


# ---- GGUF v3 -----------------------------------------------------------------------------
def gg_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf(version=3, alignment=32):
    kv = [("general.architecture", 8, gg_str("llama")),
          ("llama.context_length", 4, struct.pack("<I", 64)),
          ("llama.rope.freq_base", 6, struct.pack("<f", 10000.0)),
          ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + gg_str("a") + gg_str("b") + gg_str("ab")),
          ("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, 3) + struct.pack("<3f", 0, -1, -2)),
          ("general.flag", 7, struct.pack("<B", 1))]
    if alignment != 32:
        kv.append(("general.alignment", 4, struct.pack("<I", alignment)))
    # tensors: f32 (4,2), f16 (8,), q8_0 (32 cols, 2 rows), q4_0 (32 cols, 1 row)
    q8 = b"".join(struct.pack("<e", 0.1) + bytes((i * 5) % 256 for i in range(32)) for _ in range(2))
    q4 = struct.pack("<e", 0.2) + bytes(range(16))
    tensors = [("token_embd.weight", [2, 4], 0, struct.pack("<8f", *range(8))),
               ("output_norm.weight", [8], 1, struct.pack("<8e", *[1.0] * 8)),
               ("blk.0.attn_q.weight", [32, 2], 8, q8),
               ("blk.0.ffn_up.weight", [32, 1], 2, q4)]
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kv))
    for key, t, value in kv:
        out += gg_str(key) + struct.pack("<I", t) + value
    data, offsets = b"", []
    for _, _, _, blob in tensors:
        data += b"\0" * (-len(data) % alignment)
        offsets.append(len(data))
        data += blob
    for (name, dims, t, _), off in zip(tensors, offsets):
        out += gg_str(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", t, off)
    out += b"\0" * (-len(out) % alignment)
    return out + data


# ---- tokenizer ---------------------------------------------------------------------------
def tokenizer_json():
    vocab = {c: i for i, c in enumerate("abcdeĠ")}
    vocab["ab"] = len(vocab); vocab["Ġa"] = len(vocab)
    return json.dumps({"model": {"type": "BPE", "vocab": vocab, "merges": ["a b", "Ġ a"]},
                       "added_tokens": [{"id": len(vocab), "content": "<|endoftext|>", "special": True}],
                       "normalizer": None,
                       "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True},
                       "decoder": {"type": "ByteLevel"}}).encode()


PIPELINE = """version: 1
name: seed
inputs:
  - clips/
  - path: clips/a.wav
    fields: {collection: B}
  - glob: "clips/*.wav"
  - manifest: q.csv
    path_field: path
    id_field: id
stages:
  - task: transcribe
    options: {beam_size: 1, temperature: [0, 0.2], language: en}
  - task: ask
    prompt: "{{item.question}} {{#transcribe}}T: {{transcribe.text}}{{/transcribe}}{{^transcribe.text}}none{{/transcribe.text}}"
    options: {max_tokens: 8, stop: ["\\n"]}
outputs:
  directory: out
  sidecars: [txt, srt]
  csv: results.csv
run: {batch_size: 2, threads: 1}
"""

RECORD = {"id": "a.wav", "index": 0, "input": "a.wav", "path": "/data/a.wav", "media": "audio/wav", "bytes": 10,
          "fields": {"q": "x"}, "status": "ok", "configuration": "abc", "media_seconds": 1.5,
          "results": {"transcribe": {"text": " hi", "segments": [{"id": 1, "start": 0, "end": 1, "tokens": [1, 2]}]}},
          "timings": {"total": 0.1}, "provenance": {"hearth_version": "0.1.0", "stages": []}}


def images():
    """The image decoders' own small fixtures (PNG and JPEG variants, EXIF cases, a bomb header)."""
    folder = os.path.join(os.path.dirname(HERE), "Tests", "MediaTests", "Fixtures", "images")
    if not os.path.isdir(folder):
        return
    for name in sorted(os.listdir(folder)):
        p = os.path.join(folder, name)
        if name.endswith((".png", ".jpg")) and os.path.getsize(p) <= 4096:
            put("fuzz-image", name, open(p, "rb").read())


TINY_CFG = """[net]
width=32
height=32
channels=3

[convolutional]
batch_normalize=1
filters=4
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
size=1
stride=1
pad=1
filters=18
activation=linear

[yolo]
mask = 0,1,2
anchors = 10,14,  23,27,  37,58
classes=1
num=3
"""


def darknet():
    """A tiny YOLO-style network (conv+BN, maxpool, conv, yolo) with weights of the right size."""
    cfg = TINY_CFG.encode()
    floats = (4 + 4 + 4 + 4 + 4 * 3 * 3 * 3) + (18 + 18 * 4)
    weights = struct.pack("<iiiQ", 0, 2, 0, 0) + struct.pack("<%df" % floats, *[(i % 11) * 0.05 for i in range(floats)])
    put("fuzz-darknet", "tiny-yolo", struct.pack("<H", len(cfg)) + cfg + weights)
    put("fuzz-darknet", "tiny-yolo-old-header", struct.pack("<H", len(cfg)) + cfg + struct.pack("<iiii", 0, 1, 0, 0) + weights[20:])


def main():
    audio()
    darknet()
    images()
    for v in (1, 3, 6):
        put("fuzz-ctranslate2", "v%d.bin" % v, ct2(v))
    put("fuzz-safetensors", "small.safetensors", safetensors())
    put("fuzz-gguf", "v3.gguf", gguf(3))
    put("fuzz-gguf", "v2-align64.gguf", gguf(2, 64))
    put("fuzz-tokenizer", "json", b"\0" + tokenizer_json())
    put("fuzz-tokenizer", "text", b"\1" + "Hello the world, héllo 🙂 <|endoftext|>\n\t 123".encode())
    put("fuzz-pipeline", "full.yaml", PIPELINE.encode())
    put("fuzz-pipeline", "minimal.yaml", b"inputs: [clips]\nstages: [{task: transcribe}]\noutputs: {directory: out}\n")
    put("fuzz-manifest", "rows.csv", b'id,path,question\n1,a.wav,"why, ""really""?"\n2,b.wav,"multi\nline"\n')
    put("fuzz-manifest", "rows.tsv", b"id\tpath\tq\n1\ta.wav\tx\n")
    put("fuzz-manifest", "rows.jsonl", b'{"id": "1", "path": "a.wav", "n": 3}\n{"id": "2", "path": "b.wav", "ok": true}\n')
    err = dict(RECORD, status="error", stage="transcribe", message="a.wav: truncated")
    err.pop("results")
    lines = json.dumps(RECORD) + "\n" + json.dumps(err) + "\n" + json.dumps(dict(RECORD, id="b"))[:40]
    put("fuzz-results", "results.jsonl", lines.encode())


if __name__ == "__main__":
    main()
