#!/usr/bin/env python3
"""Writes the image-decoder and resize golden fixtures in Tests/MediaTests/Fixtures/images/.

Reference: Pillow. Each input file is decoded with
    Image.open(f) -> ImageOps.exif_transpose -> convert("RGB")                 ("drop")
    Image.open(f) -> ImageOps.exif_transpose -> transformers' convert_to_rgb   ("composite")
and the expected RGB bytes are stored as SHA-256 (PNG: exact) or raw .rgb files (JPEG: compared
with a tolerance, since the system libjpeg-turbo and Pillow's bundled one may differ).
Resize references are Pillow's Image.resize on resize_source.png for several sizes and filters,
stored as SHA-256 plus the first bytes; resizeBilinear references come from OpenCV cv2.resize
INTER_LINEAR (raw float32).

Needs cjpeg (Debian libjpeg-turbo-progs 2.1.5) for one fixture, and Debian's libdarknet for the
letterbox references (see darknet_letterboxes).
Usage: python3 -m venv .venv-img && .venv-img/bin/pip install -r scripts/goldens/requirements-images.txt
       (last run: Pillow 13.0.0 with its bundled libjpeg-turbo 3.2.0, numpy 2.4.6, OpenCV 5.0.0, Python 3.11)
       .venv-img/bin/python scripts/goldens/make_image_fixtures.py
       .venv-img/bin/python scripts/goldens/make_image_fixtures.py --photos   (only photos.json: row hashes of samples/)
Inputs: samples/chelsea.png (scikit-image data, CC0). Content is cropped from it so that JPEG
coding sees real texture.
"""
import hashlib
import io
import json
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, features
import PIL

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/MediaTests/Fixtures/images"


def convert_to_rgb(image):
    """transformers.image_transforms.convert_to_rgb (the Idefics3/SmolVLM do_convert_rgb step)."""
    if image.mode == "RGB":
        return image
    image_rgba = image.convert("RGBA")
    background = Image.new("RGBA", image_rgba.size, (255, 255, 255))
    return Image.alpha_composite(background, image_rgba).convert("RGB")


def reference(path, alpha):
    with Image.open(path) as im:
        im.load()
        im = ImageOps.exif_transpose(im)
        rgb = im.convert("RGB") if alpha == "drop" else convert_to_rgb(im)
        return np.asarray(rgb, dtype=np.uint8)


def sha(array):
    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.uint8).tobytes()).hexdigest()


# ---------------------------------------------------------------- a small PNG writer (16-bit, Adam7)

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def pack_rows(samples, bit_depth):
    """samples: (h, w, c) integers -> list of packed rows (bytes)."""
    rows = []
    for row in samples:
        flat = row.reshape(-1)
        if bit_depth == 16:
            rows.append(flat.astype(">u2").tobytes())
        elif bit_depth == 8:
            rows.append(flat.astype(np.uint8).tobytes())
        else:
            per_byte = 8 // bit_depth
            padded = np.concatenate([flat, np.zeros((-len(flat)) % per_byte, dtype=flat.dtype)])
            out = bytearray()
            for i in range(0, len(padded), per_byte):
                byte = 0
                for v in padded[i:i + per_byte]:
                    byte = (byte << bit_depth) | int(v)
                out.append(byte)
            rows.append(bytes(out))
    return rows


def write_png(path, samples, color_type, bit_depth, interlace=False, palette=None, trns=None, filter_type=0,
              after_idat=()):
    h, w = samples.shape[:2]
    if samples.ndim == 2:
        samples = samples[:, :, None]
    raw = bytearray()
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        for row in pack_rows(sub, bit_depth):
            raw.append(filter_type)  # 0 None or 1 Sub (bytes-per-pixel aware) to exercise unfiltering
            if filter_type == 1:
                bpp = max(1, samples.shape[2] * bit_depth // 8)
                row = bytes((row[i] - (row[i - bpp] if i >= bpp else 0)) & 0xFF for i in range(len(row)))
            raw += row
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        png += chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        png += chunk(b"tRNS", trns)
    png += chunk(b"IDAT", zlib.compress(bytes(raw), 9))
    for kind, data in after_idat:
        png += chunk(kind, data)
    png += chunk(b"IEND", b"")
    Path(path).write_bytes(png)


# ---------------------------------------------------------------- fixtures

XMP = ('<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
       'xmlns:tiff="http://ns.adobe.com/tiff/1.0/">{orientation}</rdf:RDF></x:xmpmeta><?xpacket end="w"?>')

def darknet_letterboxes(source):
    """letterbox_image from Debian 12's libdarknet (package darknet 0.0.0+git20180914.61c9d02e-2+b4):
    `apt-get download darknet && dpkg-deb -x darknet_*.deb DIR`, then DARKNET_LIB=DIR/usr/lib/darknet/libdarknet.so.
    The library links OpenCV 4.6 for image I/O only; letterbox_image never calls it, so empty stand-ins
    for those 15 OpenCV symbols (built here with gcc) let it load without installing OpenCV.
    Input: load_image_color's float conversion (v / 255. in double, stored as float), planar CHW."""
    import ctypes, os, subprocess, tempfile
    lib_path = os.environ.get("DARKNET_LIB", "/usr/lib/darknet/libdarknet.so")
    if not os.path.exists(lib_path):
        print("no libdarknet: darknet letterbox references not written", file=sys.stderr)
        return None
    stubs = tempfile.mkdtemp()
    symbols = subprocess.run(["nm", "-D", "--undefined-only", lib_path], capture_output=True, text=True).stdout.split()
    symbols = [s for s in symbols if s.startswith(("_ZN2cv", "_ZNK2cv"))]
    with open(os.path.join(stubs, "stub.c"), "w") as f:
        for i, name in enumerate(symbols):
            f.write(f'void stub{i}(void) __asm__("{name}"); void stub{i}(void) {{}}\n')
    for lib in ["core", "highgui", "videoio", "imgcodecs"]:
        subprocess.run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,libopencv_{lib}.so.406",
                        "-o", os.path.join(stubs, f"libopencv_{lib}.so.406"),
                        os.path.join(stubs, "stub.c")], check=True)
        ctypes.CDLL(os.path.join(stubs, f"libopencv_{lib}.so.406"), mode=ctypes.RTLD_GLOBAL)

    class IMAGE(ctypes.Structure):
        _fields_ = [("w", ctypes.c_int), ("h", ctypes.c_int), ("c", ctypes.c_int), ("data", ctypes.POINTER(ctypes.c_float))]
    dn = ctypes.CDLL(lib_path)
    dn.make_image.restype = IMAGE
    dn.make_image.argtypes = [ctypes.c_int] * 3
    dn.letterbox_image.restype = IMAGE
    dn.letterbox_image.argtypes = [IMAGE, ctypes.c_int, ctypes.c_int]
    dn.free_image.argtypes = [IMAGE]
    h, w, _ = source.shape
    image = dn.make_image(w, h, 3)
    planar = (source.transpose(2, 0, 1).astype(np.float64) / 255.0).astype(np.float32).reshape(-1)
    ctypes.memmove(image.data, planar.ctypes.data, planar.nbytes)
    notes = []
    for (tw, th) in [(416, 416), (64, 48), (30, 50), (97, 73), (200, 120)]:
        out = dn.letterbox_image(image, tw, th)
        values = np.ctypeslib.as_array(out.data, shape=(3 * th * tw,)).astype("<f4").copy()
        dn.free_image(out)
        notes.append({"width": tw, "height": th, "sha256": hashlib.sha256(values.tobytes()).hexdigest(),
                      "samples": [float(values[i]) for i in range(0, len(values), max(1, len(values) // 16))][:16],
                      "sample_step": max(1, len(values) // 16)})
    dn.free_image(image)
    return notes


PHOTOS = ["chelsea.png", "dog.jpg", "horses.jpg", "person.jpg"]


def write_photos():
    """photos.json: Pillow's decode of each photo in samples/ as the first 16 hex digits of the
    SHA-256 of every row (width * 3 bytes), so a test can check each row, hence every sample, without
    a megabyte of pixels per photo (1,812 rows, about 30 KB)."""
    photos = {}
    for name in PHOTOS:
        decoded = reference(ROOT / "samples" / name, "composite")
        photos[name] = {"width": int(decoded.shape[1]), "height": int(decoded.shape[0]), "sha256": sha(decoded),
                        "row_sha256_16": [sha(row)[:16] for row in decoded]}
    note = {"made_by": "scripts/goldens/make_image_fixtures.py (write_photos; --photos writes only this file)",
            "pillow": PIL.__version__, "pillow_libjpeg_turbo": features.version("libjpeg_turbo"), "photos": photos}
    (OUT / "photos.json").write_text(json.dumps(note, indent=0) + "\n")


def main():
    if sys.argv[1:] == ["--photos"]:
        write_photos()
        return
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    cat = np.asarray(Image.open(ROOT / "samples/chelsea.png").convert("RGB"))
    rgb = cat[100:123, 150:187]                     # (23, 37, 3): odd sizes on purpose
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    h, w = gray.shape
    ramp = np.linspace(0, 255, w * h).reshape(h, w).round().astype(np.uint8)
    alpha = ramp.copy()
    alpha[0, :5] = 0                                # fully transparent pixels
    alpha[1, :5] = 255
    rgb16 = rgb.astype(np.uint16) * 257 + np.arange(w)[None, :, None].astype(np.uint16) % 200
    gray16 = gray.astype(np.uint16) * 256 + (ramp.astype(np.uint16))

    pngs = {}

    def pillow_png(name, image, **save):
        image.save(OUT / name, "PNG", **save)
        pngs[name] = {}

    pillow_png("gray8.png", Image.fromarray(gray))
    pillow_png("gray1.png", Image.fromarray(gray > 110))
    pillow_png("graya8.png", Image.fromarray(np.dstack([gray, alpha]), "LA"))
    pillow_png("rgb8.png", Image.fromarray(rgb))
    pillow_png("rgba8.png", Image.fromarray(np.dstack([rgb, alpha]), "RGBA"))
    pal = Image.fromarray(rgb).quantize(colors=40)
    pillow_png("palette8.png", pal)
    pillow_png("palette4.png", Image.fromarray(rgb).quantize(colors=12), bits=4)
    pal_alpha = bytes(int(v) for v in np.linspace(0, 255, 40).round())
    pillow_png("palette_trns.png", pal, transparency=pal_alpha)
    pillow_png("gray_trns.png", Image.fromarray(gray), transparency=int(gray[5, 5]))
    pillow_png("rgb_trns.png", Image.fromarray(rgb), transparency=tuple(int(v) for v in rgb[5, 5]))
    exif = Image.Exif()
    exif[0x0112] = 6
    pillow_png("rgb8_exif6.png", Image.fromarray(rgb), exif=exif.tobytes())

    # Written by hand: what Pillow cannot save (16-bit color, low-bit gray, Adam7).
    def own_png(name, *args, **kwargs):
        write_png(OUT / name, *args, **kwargs)
        pngs[name] = {}

    own_png("gray2.png", gray >> 6, 0, 2)
    own_png("gray4.png", gray >> 4, 0, 4, filter_type=1)
    own_png("gray16.png", gray16, 0, 16)
    own_png("graya16.png", np.dstack([gray16, alpha.astype(np.uint16) * 257]), 4, 16)
    own_png("rgb16.png", rgb16, 2, 16, filter_type=1)
    own_png("rgba16.png", np.dstack([rgb16, alpha.astype(np.uint16) * 257]), 6, 16)
    own_png("rgb8_adam7.png", rgb, 2, 8, interlace=True, filter_type=1)
    own_png("rgba8_adam7.png", np.dstack([rgb, alpha]), 6, 8, interlace=True)
    palette = np.asarray(pal.getpalette()[:40 * 3]).reshape(40, 3)
    own_png("palette8_adam7_trns.png", np.asarray(pal), 3, 8, interlace=True, palette=palette, trns=pal_alpha)

    # Orientation from places other than a leading eXIf: an eXIf chunk after IDAT, an iTXt XMP packet.
    exif8 = Image.Exif()
    exif8[0x0112] = 8
    own_png("rgb8_exif8_after_idat.png", rgb, 2, 8, after_idat=[(b"eXIf", exif8.tobytes())])
    from PIL import PngImagePlugin
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP.format(orientation='<tiff:Orientation>3</tiff:Orientation>'))
    pillow_png("rgb8_xmp3.png", Image.fromarray(rgb), pnginfo=info)

    for name in pngs:
        for mode in ("drop", "composite"):
            expected = reference(OUT / name, mode)
            note = {"width": int(expected.shape[1]), "height": int(expected.shape[0]), "sha256": sha(expected)}
            if name == "gray16.png":
                # Hearth keeps the high byte; Pillow's I;16 -> RGB clips to 255 (recorded, not matched).
                note["pillow_sha256"] = note["sha256"]
                high = np.repeat((gray16 >> 8).astype(np.uint8)[:, :, None], 3, axis=2)
                note["sha256"] = sha(high)
                note["rule"] = "high byte (Pillow clips I;16 to 255: see pillow_sha256)"
            pngs[name][mode] = note

    # JPEG: 4:2:0, 4:2:2, 4:4:4, progressive, gray, CMYK (Pillow writes Adobe-inverted CMYK), EXIF 1..8.
    jpeg_rgb = cat[60:111, 120:195]                 # (51, 75, 3)
    jpegs = {}

    def jpeg(name, image, **save):
        image.save(OUT / name, "JPEG", **save)
        expected = reference(OUT / name, "drop")
        assert np.array_equal(expected, reference(OUT / name, "composite"))
        (OUT / (name + ".rgb")).write_bytes(expected.tobytes())
        jpegs[name] = {"width": int(expected.shape[1]), "height": int(expected.shape[0]), "expected": name + ".rgb"}

    jpeg("baseline420.jpg", Image.fromarray(jpeg_rgb), quality=90, subsampling=2)
    jpeg("baseline422.jpg", Image.fromarray(jpeg_rgb), quality=85, subsampling=1)
    jpeg("baseline444.jpg", Image.fromarray(jpeg_rgb), quality=95, subsampling=0)
    jpeg("progressive.jpg", Image.fromarray(jpeg_rgb), quality=90, progressive=True)
    jpeg("restart.jpg", Image.fromarray(jpeg_rgb), quality=90, restart_marker_blocks=2)
    jpeg("gray.jpg", Image.fromarray(jpeg_rgb).convert("L"), quality=90)
    cmyk = Image.fromarray(jpeg_rgb).convert("CMYK")
    cmyk_arr = np.asarray(cmyk).copy()
    cmyk_arr[..., 3] = np.asarray(Image.fromarray(jpeg_rgb).convert("L")) // 3   # some black ink too
    jpeg("cmyk.jpg", Image.fromarray(cmyk_arr, "CMYK"), quality=95)
    small = Image.fromarray(cat[40:56, 200:224])     # (16, 24): orientation is visible in the shape
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        jpeg(f"orientation{orientation}.jpg", small, quality=95, exif=exif.tobytes())
    jpeg("xmp_orientation6.jpg", small, quality=95,
         xmp=XMP.format(orientation='<rdf:Description tiff:Orientation="6"/>').encode())
    exif = Image.Exif()
    exif[0x0112] = 1
    jpeg("exif1_xmp8.jpg", small, quality=95, exif=exif.tobytes(),    # Exif's tag wins over XMP
         xmp=XMP.format(orientation='<rdf:Description tiff:Orientation="8"/>').encode())
    # 100 scans (cjpeg's own maximum), made with cjpeg -scans: Pillow cannot write a scan script.
    import shutil, subprocess, tempfile
    cjpeg = os.environ.get("CJPEG") or shutil.which("cjpeg")
    if cjpeg is None:
        sys.exit("cjpeg not found: apt-get install libjpeg-turbo-progs (or set CJPEG=path)")
    with tempfile.TemporaryDirectory() as scratch:
        scans = ["0: 0-0, 0, 1;"] + [f"0: {k}-{k}, 0, 1;" for k in range(1, 64)]
        scans += ["0: 0-0, 1, 0;"] + [f"0: {k}-{k}, 1, 0;" for k in range(1, 36)]
        Path(scratch, "scans.txt").write_text("\n".join(scans) + "\n")
        Image.fromarray(jpeg_rgb).convert("L").save(Path(scratch, "gray.pgm"))
        subprocess.run([cjpeg, "-grayscale", "-scans", str(Path(scratch, "scans.txt")), "-outfile",
                        str(OUT / "scans100.jpg"), str(Path(scratch, "gray.pgm"))], check=True)
    expected = reference(OUT / "scans100.jpg", "drop")
    (OUT / "scans100.jpg.rgb").write_bytes(expected.tobytes())
    jpegs["scans100.jpg"] = {"width": int(expected.shape[1]), "height": int(expected.shape[0]), "expected": "scans100.jpg.rgb"}

    # An Exif block whose IFD0 offset points past its end: Pillow ignores it (orientation 1).
    bad = b"MM\x00\x2a\x00\x00\xff\x00" + b"\x00" * 8
    jpeg("exif_bad_offset.jpg", small, quality=95, exif=b"Exif\x00\x00" + bad)

    # Decompression bomb: a valid IHDR declaring 100000 x 100000 RGB, then one tiny IDAT.
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
    bomb += chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    (OUT / "bomb_100000x100000.png").write_bytes(bomb)
    zero = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 5, 8, 2, 0, 0, 0))
    (OUT / "zero_width.png").write_bytes(zero + chunk(b"IEND", b""))

    # Resize references: Pillow Image.resize on an RGB image, several sizes and filters.
    source = cat[150:223, 200:297]                  # (73, 97, 3)
    Image.fromarray(source).save(OUT / "resize_source.png")
    filters = {"nearest": Image.Resampling.NEAREST, "box": Image.Resampling.BOX,
               "bilinear": Image.Resampling.BILINEAR, "hamming": Image.Resampling.HAMMING,
               "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}
    sizes = [(40, 30), (61, 45), (150, 111), (97, 20), (33, 73), (224, 224), (13, 200), (7, 5)]
    resizes = []
    for fname, f in filters.items():
        for size in sizes:
            out = np.asarray(Image.fromarray(source).resize(size, f))
            resizes.append({"filter": fname, "width": size[0], "height": size[1], "sha256": sha(out),
                            "head": [int(v) for v in out.reshape(-1)[:12]],
                            "sum": int(out.astype(np.int64).sum())})

    # Resizes of the real photos of samples/ at the sizes vision models use (YOLO 416 letterbox
    # scale, SmolVLM's 4 x 364 = 1456 longest edge). Their decodes: write_photos().
    for name, size, fname in [("dog.jpg", (416, 312), "bilinear"), ("chelsea.png", (1456, 968), "lanczos"),
                              ("person.jpg", (364, 241), "bicubic")]:
        decoded = Image.fromarray(reference(ROOT / "samples" / name, "composite"))
        out = np.asarray(decoded.resize(size, filters[fname]))
        resizes.append({"source": "samples/" + name, "filter": fname, "width": size[0], "height": size[1],
                        "sha256": sha(out), "head": [int(v) for v in out.reshape(-1)[:12]],
                        "sum": int(out.astype(np.int64).sum())})

    letterboxes = darknet_letterboxes(source)

    # resizeBilinear reference: OpenCV INTER_LINEAR on float32 (h, w, c).
    bilinear = {}
    try:
        import cv2
        rng = np.random.default_rng(7)
        src = rng.random((9, 13, 3), dtype=np.float32)
        src.tofile(OUT / "bilinear_source_9x13x3.f32")
        for (tw, th) in [(20, 6), (5, 4), (13, 18), (32, 32)]:
            out = cv2.resize(src, (tw, th), interpolation=cv2.INTER_LINEAR).astype(np.float32)
            name = f"bilinear_{th}x{tw}x3.f32"
            out.tofile(OUT / name)
            bilinear[name] = {"width": tw, "height": th}
        bilinear_version = cv2.__version__
    except ImportError:
        bilinear_version = None

    note = {
        "made_by": "scripts/goldens/make_image_fixtures.py",
        "pillow": PIL.__version__, "numpy": np.__version__, "python": sys.version.split()[0],
        "pillow_libjpeg_turbo": features.version("libjpeg_turbo"), "opencv": bilinear_version,
        "png": pngs, "jpeg": jpegs, "resize_source": "resize_source.png", "resize": resizes,
        "bilinear_source": "bilinear_source_9x13x3.f32", "bilinear": bilinear,
        "darknet_letterbox": letterboxes,
    }
    (OUT / "images.json").write_text(json.dumps(note, indent=1) + "\n")
    write_photos()
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"{len(list(OUT.iterdir()))} files, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
