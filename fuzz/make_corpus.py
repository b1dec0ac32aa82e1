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


def ffmpeg_bytes(ext, *args):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "x." + ext)
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args, "-bitexact", out], check=True)
        return open(out, "rb").read()


def containers():
    """Seeds for fuzz-container: 0.2 s of tone in the containers FFmpeg reads for Hearth, and a
    tiny video (audio + 32×24 H.264)."""
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=0.2"]
    put("fuzz-container", "aac.m4a", ffmpeg_bytes("m4a", *tone, "-c:a", "aac", "-b:a", "32k"))
    put("fuzz-container", "opus.webm", ffmpeg_bytes("webm", *tone, "-c:a", "libopus", "-b:a", "16k"))
    put("fuzz-container", "ac3.mkv", ffmpeg_bytes("mkv", *tone, "-c:a", "ac3", "-b:a", "64k"))
    put("fuzz-container", "wma.wma", ffmpeg_bytes("wma", *tone, "-c:a", "wmav2", "-b:a", "32k"))
    put("fuzz-container", "video.mp4", ffmpeg_bytes(
        "mp4", "-f", "lavfi", "-i", "testsrc2=size=32x24:rate=5:duration=0.6", *tone, "-c:v", "libx264",
        "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "32k", "-shortest"))


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
    """The image decoders' own small fixtures: PNG and JPEG variants, EXIF cases, a bomb header
    (Fixtures/images), and WebP / TIFF / GIF / BMP / HEIC / AVIF variants (Fixtures/formats)."""
    fixtures = os.path.join(os.path.dirname(HERE), "Tests", "MediaTests", "Fixtures")
    kinds = {"images": (".png", ".jpg"), "formats": (".webp", ".tif", ".gif", ".bmp", ".heic", ".avif")}
    for sub, extensions in kinds.items():
        folder = os.path.join(fixtures, sub)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            p = os.path.join(folder, name)
            if name.endswith(extensions) and os.path.getsize(p) <= 4096:
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


# ---- ONNX (protobuf wire format, by hand) --------------------------------------------------
def pb_varint(n):
    out = b""
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb_key(field, wire):
    return pb_varint(field << 3 | wire)


def pb_int(field, n):
    return pb_key(field, 0) + pb_varint(n)


def pb_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return pb_key(field, 2) + pb_varint(len(data)) + data


def onnx_tensor(name, dims, floats=None, ints=None, raw=True):
    t = b"".join(pb_int(1, d) for d in dims) + pb_bytes(8, name)
    if floats is not None:
        t += pb_int(2, 1)
        t += pb_bytes(9, struct.pack("<%df" % len(floats), *floats)) if raw else pb_bytes(4, struct.pack("<%df" % len(floats), *floats))
    else:
        t += pb_int(2, 7)
        t += pb_bytes(9, struct.pack("<%dq" % len(ints), *ints)) if raw else pb_bytes(7, b"".join(pb_varint(i) for i in ints))
    return t


def onnx_attr(name, kind, value):
    a = pb_bytes(1, name) + pb_int(20, kind)
    if kind == 2:
        a += pb_int(3, value)
    elif kind == 3:
        a += pb_bytes(4, value)
    elif kind == 4:
        a += pb_bytes(5, value)
    elif kind == 5:
        a += pb_bytes(6, value)
    elif kind == 7:
        a += pb_bytes(8, b"".join(pb_varint(i) for i in value))
    elif kind == 1:
        a += pb_key(2, 5) + struct.pack("<f", value)
    return a


def onnx_node(op, inputs, outputs, attrs=()):
    n = b"".join(pb_bytes(1, i) for i in inputs) + b"".join(pb_bytes(2, o) for o in outputs) + pb_bytes(4, op)
    return n + b"".join(pb_bytes(5, a) for a in attrs)


def onnx_model(nodes, initializers, inputs, outputs):
    g = b"".join(pb_bytes(1, n) for n in nodes) + pb_bytes(2, "main_graph")
    g += b"".join(pb_bytes(5, t) for t in initializers)
    g += b"".join(pb_bytes(11, pb_bytes(1, i)) for i in inputs) + b"".join(pb_bytes(12, pb_bytes(1, o)) for o in outputs)
    return pb_int(1, 8) + pb_bytes(2, "pytorch") + pb_bytes(3, "2.8.0") + pb_bytes(7, g) + pb_bytes(8, pb_int(2, 18))


def onnx():
    """A small graph with every tensor encoding and an If subgraph, and Silero VAD v6's node list with tiny weights."""
    sub = pb_bytes(1, onnx_node("Constant", [], ["w"], [onnx_attr("value", 4, onnx_tensor("", [2, 2], floats=[1, 2, 3, 4], raw=False))]))
    sub += pb_bytes(5, onnx_tensor("b", [2], floats=[0.5, -0.5]))
    nodes = [onnx_node("If", ["cond"], ["y"], [onnx_attr("then_branch", 5, sub), onnx_attr("else_branch", 5, sub[:0] + pb_bytes(2, "empty"))]),
             onnx_node("Conv", ["x", "k"], ["z"], [onnx_attr("strides", 7, [2]), onnx_attr("group", 2, 1), onnx_attr("alpha", 1, 0.5),
                                                   onnx_attr("mode", 3, b"reflect")])]
    inits = [onnx_tensor("k", [1, 1, 3], floats=[0.1, 0.2, 0.3]), onnx_tensor("pads", [4], ints=[0, 128, 0, 128]),
             onnx_tensor("axes", [2], ints=[1, 2], raw=False)]
    put("fuzz-onnx", "small.onnx", onnx_model(nodes, inits, ["x", "cond"], ["y", "z"]))
    ops = [("Pad", ["input", "pads"], [("mode", 3, b"reflect")]), ("Unsqueeze", ["p", "one"], []),
           ("Conv", ["u", "encoder.feature_extractor.forward_basis_buffer"], [("strides", 7, [128]), ("pads", 7, [0, 0])]),
           ("Slice", ["s", "st", "en", "ax", "stp"], []), ("Slice", ["s", "st2", "en2", "ax", "stp"], []),
           ("Pow", ["a", "two"], []), ("Pow", ["b", "two"], []), ("Add", ["c", "d"], []), ("Sqrt", ["e"], [])]
    for i, s in enumerate([1, 2, 2, 1]):
        ops += [("Conv", ["f", "encoder.conv_layers.%d.weight" % i, "encoder.conv_layers.%d.bias" % i],
                 [("strides", 7, [s]), ("pads", 7, [1, 1]), ("kernel_shape", 7, [3])]), ("Relu", ["g"], [])]
    ops += [("Transpose", ["t"], []), ("LSTM", ["x", "W", "R", "B", "", "h", "c"], [("hidden_size", 2, 128)]),
            ("Squeeze", ["l", "one"], []), ("Relu", ["q"], []), ("Transpose", ["r"], []),
            ("Conv", ["v", "decoder.conv1d.weight", "decoder.conv1d.bias"], []), ("Sigmoid", ["w"], []), ("Reshape", ["z", "minus1"], [])]
    nodes = [onnx_node(op, ins, ["o%d" % k], [onnx_attr(*a) for a in attrs]) for k, (op, ins, attrs) in enumerate(ops)]
    inits = [onnx_tensor("pads", [4], ints=[0, 128, 0, 128]), onnx_tensor("one", [1], ints=[1]), onnx_tensor("minus1", [1], ints=[-1]),
             onnx_tensor("encoder.feature_extractor.forward_basis_buffer", [4, 1, 256], floats=[0.01] * 1024),
             onnx_tensor("st", [2], ints=[0, 1]), onnx_tensor("st2", [2], ints=[2, 1]), onnx_tensor("en", [2], ints=[2, 2**63 - 1]),
             onnx_tensor("en2", [2], ints=[2**63 - 1, 2**63 - 1]), onnx_tensor("ax", [2], ints=[1, 2]), onnx_tensor("stp", [2], ints=[1, 1]),
             onnx_tensor("two", [], floats=[2.0])]
    put("fuzz-onnx", "silero-shaped.onnx", onnx_model(nodes, inits, ["input", "h", "c"], ["speech_probs", "hn", "cn"]))


def main():
    onnx()
    audio()
    if subprocess.run(["which", "ffmpeg"], capture_output=True).returncode == 0:
        containers()
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
