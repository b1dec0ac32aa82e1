#!/usr/bin/env python3
"""Builds a folder of hostile and awkward inputs for Hearth (test tooling, never the product).

    python3 scripts/goldens/make_hostile_corpus.py OUTDIR [--silence-seconds 600]

OUTDIR is emptied and receives the files below plus OUTDIR/../<name>.expected.json, mapping each
path (relative to OUTDIR, as bytes decoded with surrogateescape) to what a pipeline run must give:
"ok" (a result), "error" (one error record), "none" (no record: not an item), and for "ok" items
optionally the exact transcript text ("" for silence). Good audio is synthesized with espeak-ng
and converted with sox; broken files are written byte by byte here. Runs in a few seconds.

Audio that must work: 16 kHz speech, 6-channel 192 kHz, 8 kHz µ-law, stereo 44.1 kHz FLAC, Ogg
Vorbis, a 10 ms clip, long digital silence (FLAC, tiny on disk), names with spaces, non-Latin
scripts, non-UTF-8 bytes, a folder named like a file (x.wav/), a file symlink.
Audio that must fail cleanly: 0 bytes, truncated header, truncated data, headers that lie (4 GB
data size, 0 Hz, 1 Hz and 4 GHz sample rates, 4000 channels), text and random bytes named .wav /
.flac / .mp3 / .ogg, a symlink loop, a dangling symlink, an unreadable file (only without root),
and two files the test changes or removes while the run is going (zz-vanishes.wav, zz-changes.wav).
Images ("ok" = decodes; the hostile-folder test runs a detect stage over them and decodes them
directly too): a decompression bomb, 0×0, truncated PNG/JPEG, random bytes named
.png/.jpg must fail; a CMYK JPEG, a 16-bit PNG, a plain PNG and JPEG must decode.

Standard library only (plus espeak-ng and sox); Pillow, if the python3 on PATH has it, makes
images/truncated.jpg from a real JPEG (pin: scripts/goldens/requirements-hostile-corpus.txt).
"""
import argparse, json, os, random, shutil, struct, subprocess, sys, tempfile, zlib

SPEECH = "The quick brown fox jumps over the lazy dog."


def sh(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wav_header(rate, channels, bits, data_bytes, fmt_tag=1):
    block = channels * bits // 8
    return (b"RIFF" + struct.pack("<I", (36 + data_bytes) & 0xFFFFFFFF) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, fmt_tag, channels, rate & 0xFFFFFFFF,
                                    (rate * block) & 0xFFFFFFFF, block & 0xFFFF, bits)
            + b"data" + struct.pack("<I", data_bytes & 0xFFFFFFFF))


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, bit_depth=8, color=2, rows=None):
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color, 0, 0, 0)
    channels = {0: 1, 2: 3, 6: 4}[color]
    if rows is None:
        row = b"\0" + bytes((x * 37) % 256 for x in range(width * channels * bit_depth // 8))
        rows = row * height
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(rows)) + png_chunk(b"IEND", b"")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--silence-seconds", type=int, default=600)
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    if os.path.isdir(out):
        for root, dirs, files in os.walk(out):      # make everything removable first
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
            for f in files:
                p = os.path.join(root, f)
                if not os.path.islink(p):
                    os.chmod(p, 0o644)
        shutil.rmtree(out)
    os.makedirs(out)
    rng = random.Random(7)
    expected = {}

    def path(rel):
        p = os.path.join(out, rel) if isinstance(rel, str) else os.path.join(os.fsencode(out), rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def write(rel, data, expect, text=None):
        with open(path(rel), "wb") as f:
            f.write(data)
        note(rel, expect, text)

    def note(rel, expect, text=None):
        entry = {"expect": expect} if text is None else {"expect": expect, "text": text}
        if not isinstance(rel, str):      # not UTF-8: keyed by its lossy form; records match by prefix
            entry["prefix"] = rel.split(b"\xe9")[0].decode()
            rel = rel.decode("utf-8", "replace")
        expected[rel] = entry

    tmp = tempfile.mkdtemp()
    try:
        base = os.path.join(tmp, "speech22k.wav")
        sh("espeak-ng", "-v", "en-us", "-s", "150", "-w", base, SPEECH)
        sox = ["sox", "-R", "-D", "-V1"]
        # ---- audio that must work
        sh(*sox, base, "-r", "16000", "-c", "1", "-b", "16", path("good/speech.wav")); note("good/speech.wav", "ok")
        sh(*sox, base, "-r", "192000", "-b", "24", path("good/six-channels-192k.wav"), "remix", "1", "1", "1", "1", "1", "1")
        note("good/six-channels-192k.wav", "ok")
        sh(*sox, base, "-r", "8000", "-c", "1", "-e", "u-law", path("good/mulaw-8k.wav")); note("good/mulaw-8k.wav", "ok")
        sh(*sox, base, "-r", "44100", "-b", "16", path("good/stereo-44k.flac"), "remix", "1", "1"); note("good/stereo-44k.flac", "ok")
        sh(*sox, base, "-r", "16000", "-c", "1", path("good/speech.ogg")); note("good/speech.ogg", "ok")
        sh(*sox, base, "-r", "16000", "-c", "1", "-b", "16", path("good/ten-ms.wav"), "trim", "0.5", "0.01"); note("good/ten-ms.wav", "ok")
        sh("sox", "-D", "-n", "-r", "16000", "-c", "1", "-b", "16", path("good/digital-silence.flac"), "trim", "0", str(args.silence_seconds))
        note("good/digital-silence.flac", "ok", "")
        shutil.copy(path("good/speech.wav"), path("names/name with spaces.wav")); note("names/name with spaces.wav", "ok")
        shutil.copy(path("good/speech.wav"), path("names/日本語の録音.wav")); note("names/日本語の録音.wav", "ok")
        shutil.copy(path("good/speech.ogg"), path("names/Ελληνικά-запись.ogg")); note("names/Ελληνικά-запись.ogg", "ok")
        # Latin-1 "café.wav": not valid UTF-8; Hearth cannot name it in UTF-8 records, so it must
        # give one error record that says so (or, if it can open it, a result).
        latin1 = b"names/caf\xe9.wav"
        shutil.copy(path("good/speech.wav"), path(latin1)); note(latin1, "error-or-ok")
        shutil.copy(path("good/speech.wav"), path("folder.wav/inside.wav")); note("folder.wav/inside.wav", "ok")
        note("folder.wav", "none")
        os.symlink("../good/speech.wav", path("links/file-link.wav")); note("links/file-link.wav", "ok")
        # ---- audio that must fail with one clear error record
        good = open(path("good/speech.wav"), "rb").read()
        pcm = good[44:]
        write("bad/empty.wav", b"", "error")
        write("bad/truncated-header.wav", good[:20], "error")
        write("bad/truncated-data.wav", good[:44 + len(pcm) // 2], "error")
        write("bad/huge-data-size.wav", wav_header(16000, 1, 16, 0xFFFFFFF0 - 36) + pcm[:3200], "error")
        write("bad/zero-hz.wav", wav_header(0, 1, 16, 3200) + pcm[:3200], "error")
        write("bad/one-hz.wav", wav_header(1, 1, 16, len(pcm)) + pcm, "error")
        write("bad/four-ghz.wav", wav_header(4_000_000_000, 1, 16, 3200) + pcm[:3200], "error")
        write("bad/4000-channels.wav", wav_header(16000, 4000, 16, 8000 * 4) + bytes(8000 * 4), "error")
        write("bad/text.wav", b"This is a shopping list, not audio.\nmilk\neggs\n", "error")
        for ext in ("wav", "flac", "mp3", "ogg"):
            write("bad/random.%s" % ext, bytes(rng.randrange(256) for _ in range(5000)), "error")
        write("bad/flac-magic-then-garbage.flac", b"fLaC" + bytes(rng.randrange(256) for _ in range(3000)), "error")
        write("bad/ogg-magic-then-garbage.ogg", b"OggS" + bytes(rng.randrange(256) for _ in range(3000)), "error")
        os.symlink("loop.wav", path("links/loop.wav")); note("links/loop.wav", "error")
        os.symlink("/nonexistent/hearth/clip.wav", path("links/dangling.wav")); note("links/dangling.wav", "error")
        os.symlink("..", path("links/parent-folder-link")); note("links/parent-folder-link", "none")
        shutil.copy(path("good/speech.wav"), path("bad/unreadable.wav"))
        os.chmod(path("bad/unreadable.wav"), 0)
        note("bad/unreadable.wav", "ok" if os.geteuid() == 0 else "error")   # root reads anything
        shutil.copy(path("good/speech.wav"), path("zz-vanishes.wav")); note("zz-vanishes.wav", "error")
        shutil.copy(path("good/speech.wav"), path("zz-changes.wav")); note("zz-changes.wav", "error")
        # ---- images
        bomb = png(1, 1)
        bomb = bomb[:16] + struct.pack(">II", 100000, 100000) + bomb[24:29]
        bomb = bomb[:29] + struct.pack(">I", zlib.crc32(bomb[12:29]) & 0xFFFFFFFF)
        rows = zlib.compress(b"\0" * (1 << 22), 9)      # 4 MB of zeros in ~4 KB: the start of 30 GB
        bomb += png_chunk(b"IDAT", rows) + png_chunk(b"IEND", b"")
        write("images/bomb-100000x100000.png", bomb, "error")
        zero = png(1, 1)
        zero = zero[:16] + struct.pack(">II", 0, 0) + zero[24:29]
        zero = zero[:29] + struct.pack(">I", zlib.crc32(zero[12:29]) & 0xFFFFFFFF) + zero[33:]
        write("images/zero-by-zero.png", zero, "error")
        full = png(64, 48)
        write("images/truncated.png", full[:len(full) // 2], "error")
        write("images/random.png", bytes(rng.randrange(256) for _ in range(4000)), "error")
        write("images/random.jpg", bytes(rng.randrange(256) for _ in range(4000)), "error")
        write("images/sixteen-bit.png", png(16, 16, bit_depth=16, color=2), "ok")
        write("images/good.png", png(32, 24), "ok")
        fixtures = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "Tests", "MediaTests", "Fixtures", "images")
        for name, rel in (("cmyk.jpg", "images/cmyk.jpg"), ("baseline420.jpg", "images/good.jpg")):
            if os.path.exists(os.path.join(fixtures, name)):
                shutil.copy(os.path.join(fixtures, name), path(rel)); note(rel, "ok")
        try:
            jpg = os.path.join(tmp, "x.jpg")
            sh("sox", "-n", "-r", "8000", os.path.join(tmp, "spec.wav"), "synth", "1", "sine", "300")
            sh("sox", os.path.join(tmp, "spec.wav"), "-n", "spectrogram", "-x", "64", "-y", "65", "-o", os.path.join(tmp, "s.png"))
            made_jpeg = False
            for tool in (["python3", "-c", "import PIL"],):
                if subprocess.run(tool, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
                    from PIL import Image  # noqa
                    img = Image.open(os.path.join(tmp, "s.png")).convert("RGB")
                    img.save(jpg, quality=85)
                    made_jpeg = True
            if made_jpeg:
                data = open(jpg, "rb").read()
                write("images/truncated.jpg", data[:len(data) // 2], "error")
        except (OSError, subprocess.CalledProcessError):
            pass
        if not any(k.endswith("truncated.jpg") for k in expected):
            # no PIL: a JPEG start-of-image and a cut-off header
            write("images/truncated.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb\x00C\x00", "error")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    name = os.path.basename(out.rstrip("/"))
    with open(os.path.join(os.path.dirname(out), name + ".expected.json"), "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False, sort_keys=True)
    print("hostile corpus: %d entries in %s" % (len(expected), out))


if __name__ == "__main__":
    main()
