#!/usr/bin/env python3
"""Fixtures for ImageFormatTests: small images in WebP, TIFF, GIF, BMP, HEIC and AVIF variants, and
Pillow's decoded RGB for each (the reference Hearth's decoders are compared with).

Pinned: pillow==13.0.0 (bundles libwebp 1.6.0, libtiff 4.7.2, libavif 1.4.2), pillow-heif==1.9.0
(bundles libheif 1.23.7, x265, libde265) — requirements-image-formats.txt. Versions actually used are
written to formats.json.

    python3 -m venv /work/venvs/pillow && /work/venvs/pillow/bin/pip install -r scripts/goldens/requirements-image-formats.txt
    /work/venvs/pillow/bin/python scripts/goldens/make_image_format_fixtures.py

Reference = Pillow `Image.open` → `ImageOps.exif_transpose` → `convert("RGB")` (alpha dropped), and for
files with alpha also transformers' `convert_to_rgb` (alpha composited on white): `<name>.rgb` and
`<name>.white.rgb`, raw (height, width, 3) bytes. Some variants Pillow cannot write (16-bit RGB TIFF,
separate planes, tiles, BMP bit fields, top-down BMP, a GIF frame offset on a larger screen) are
written byte by byte here, and Pillow decodes them for the reference like every other file.
"""
import hashlib
import io
import json
import os
import struct

import PIL
import pillow_heif
from PIL import Image, ImageDraw, ImageOps, features

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(os.path.dirname(HERE)), "Tests", "MediaTests", "Fixtures", "formats")
W, H = 32, 24


def scene(seed=0):
    """32x24: a gradient, a rectangle, an ellipse and a line (edges and flat areas for the codecs)."""
    im = Image.new("RGB", (W, H))
    im.putdata([((x * 8 + seed * 40) % 256, y * 10, (128 + x * y + seed * 60) % 256) for y in range(H) for x in range(W)])
    d = ImageDraw.Draw(im)
    d.rectangle([3, 3, 12, 10], fill=(250, 30, 30))
    d.ellipse([16, 8, 29, 21], fill=(20, 200, 60), outline=(0, 0, 0))
    d.line([0, 23, 31, 12], fill=(255, 255, 0), width=2)
    return im


def with_alpha(im):
    rgba = im.convert("RGBA")
    alpha = Image.new("L", im.size, 255)
    ImageDraw.Draw(alpha).rectangle([0, 0, 9, 23], fill=0)     # fully transparent strip
    ImageDraw.Draw(alpha).rectangle([10, 0, 15, 23], fill=128)  # half transparent
    rgba.putalpha(alpha)
    return rgba


# ---------- byte-level writers for what Pillow cannot write ----------

def tiff_bytes(pages, big_endian=False):
    """Baseline uncompressed TIFF; each page: dict(width, height, bits, photometric, samples: list of
    rows of per-pixel sample tuples, planar=1|2, extra=None|[...], tile=None|(tw, th), orientation)."""
    e = ">" if big_endian else "<"
    out = bytearray(b"MM\0*" if big_endian else b"II*\0") + struct.pack(e + "I", 0)
    ifd_offsets = []
    for page in pages:
        w, h, bits = page["width"], page["height"], page["bits"]
        rows = page["samples"]
        spp = len(rows[0][0])
        fmt = {8: "B", 16: "H"}[bits]
        planar = page.get("planar", 1)

        def pack_plane_rows(y0, y1, x0, x1, plane):
            data = bytearray()
            for y in range(y0, y1):
                for x in range(x0, x1):
                    px = rows[y][x] if y < h and x < w else (0,) * spp
                    vals = px if plane is None else (px[plane],)
                    data += struct.pack(e + fmt * len(vals), *vals)
            return bytes(data)

        chunks = []
        tile = page.get("tile")
        planes = [None] if planar == 1 else list(range(spp))
        for plane in planes:
            if tile:
                tw, th = tile
                for ty in range(0, h, th):
                    for tx in range(0, w, tw):
                        chunks.append(pack_plane_rows(ty, ty + th, tx, tx + tw, plane))
            else:
                rps = page.get("rows_per_strip", 8)
                for y in range(0, h, rps):
                    chunks.append(pack_plane_rows(y, min(h, y + rps), 0, w, plane))
        offsets = []
        for c in chunks:
            if len(out) % 2:
                out += b"\0"
            offsets.append(len(out))
            out += c
        tags = {256: (4, [w]), 257: (4, [h]), 258: (3, [bits] * spp), 259: (3, [1]), 262: (3, [page["photometric"]]),
                274: (3, [page.get("orientation", 1)]), 277: (3, [spp]), 284: (3, [planar])}
        if tile:
            tags.update({322: (3, [tile[0]]), 323: (3, [tile[1]]), 324: (4, offsets), 325: (4, [len(c) for c in chunks])})
        else:
            tags.update({273: (4, offsets), 278: (4, [page.get("rows_per_strip", 8)]), 279: (4, [len(c) for c in chunks])})
        if page.get("extra"):
            tags[338] = (3, page["extra"])
        if page.get("sample_format"):
            tags[339] = (3, [page["sample_format"]] * spp)
        if len(out) % 2:
            out += b"\0"
        ifd_offsets.append(len(out))
        entries = sorted(tags.items())
        ifd = bytearray(struct.pack(e + "H", len(entries)))
        overflow = bytearray()
        overflow_base = len(out) + 2 + 12 * len(entries) + 4
        for tag, (typ, values) in entries:
            f = {3: "H", 4: "I"}[typ]
            payload = struct.pack(e + f * len(values), *values)
            if len(payload) <= 4:
                ifd += struct.pack(e + "HHI", tag, typ, len(values)) + payload.ljust(4, b"\0")
            else:
                ifd += struct.pack(e + "HHII", tag, typ, len(values), overflow_base + len(overflow))
                overflow += payload + (b"\0" if len(payload) % 2 else b"")
        ifd += struct.pack(e + "I", 0)  # next IFD, patched below
        out += ifd + overflow
    struct.pack_into(e + "I", out, 4, ifd_offsets[0])
    for i in range(len(ifd_offsets) - 1):  # chain: the 4 bytes after each IFD's entries
        n = struct.unpack_from(e + "H", out, ifd_offsets[i])[0]
        struct.pack_into(e + "I", out, ifd_offsets[i] + 2 + 12 * n, ifd_offsets[i + 1])
    return bytes(out)


def rgb16(im):
    """Distinct low bytes so a decoder that keeps the low byte (or rounds) is caught."""
    return [[tuple(v * 257 + (x * 37 + y * 11) % 256 - (v * 257 + (x * 37 + y * 11) % 256 > 65535) * 256 for v in im.getpixel((x, y)))
             for x in range(im.width)] for y in range(im.height)]


def bmp_bytes(width, height, bits, pixel_rows, palette=None, masks=None, header=40, top_down=False):
    """pixel_rows: top-to-bottom rows of ints (indices or packed words) or (r, g, b) for 24-bit."""
    stride = (width * bits + 31) // 32 * 4
    rows = []
    for row in pixel_rows:
        data = bytearray()
        if bits == 24:
            for r, g, b in row:
                data += bytes([b, g, r])
        elif bits in (16, 32):
            for word in row:
                data += struct.pack("<H" if bits == 16 else "<I", word)
        else:
            acc, n = 0, 0
            for index in row:
                acc = (acc << bits) | index
                n += bits
                if n == 8:
                    data.append(acc)
                    acc, n = 0, 0
            if n:
                data.append(acc << (8 - n))
        rows.append(bytes(data.ljust(stride, b"\0")))
    if not top_down:
        rows.reverse()
    compression = 3 if masks else 0
    dib = struct.pack("<IiiHHIIiiII", header, width, -height if top_down else height, 1, bits, compression,
                      stride * height, 2835, 2835, len(palette) if palette else 0, 0)
    extra = b""
    if masks:
        if header == 40:
            extra = struct.pack("<III", *masks[:3])
        else:
            dib += struct.pack("<IIII", *(list(masks) + [0] * (4 - len(masks))))
    dib = dib.ljust(header, b"\0") if header > 40 else dib
    pal = b"".join(bytes([b, g, r, 0]) for r, g, b in (palette or []))
    offset = 14 + len(dib) + len(extra) + len(pal)
    pixels = b"".join(rows)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + dib + extra + pal + pixels


def rle_bytes(rows, rle4):
    """RLE8 / RLE4 pixel data for top-to-bottom index rows (stored bottom-up): a literal run at the
    start of every other row, repeat runs, one delta (a 3-pixel gap: index 0), end-of-line codes and
    end-of-bitmap."""
    out = bytearray()
    height = len(rows)
    for stored, row in enumerate(reversed(rows)):
        x = 0
        if stored % 2 == 0:  # absolute run of 7 pixels, padded to a 2-byte boundary
            lit = row[:7]
            data = bytes((lit[i] << 4 | (lit[i + 1] if i + 1 < len(lit) else 0)) for i in range(0, 7, 2)) if rle4 else bytes(lit)
            out += bytes([0, 7]) + data + (b"\0" if len(data) % 2 else b"")
            x = 7
        if stored == height // 2:  # delta: skip 3 pixels right, 0 rows up
            out += bytes([0, 2, 3, 0])
            x += 3
        while x < len(row):
            n = 1
            if rle4:  # alternate row[x], row[x + 1] while the pattern holds
                a, b = row[x], row[x + 1] if x + 1 < len(row) else row[x]
                while x + n < len(row) and n < 255 and row[x + n] == (a if n % 2 == 0 else b):
                    n += 1
                out += bytes([n, a << 4 | b])
            else:
                while x + n < len(row) and n < 255 and row[x + n] == row[x]:
                    n += 1
                out += bytes([n, row[x]])
            x += n
        out += bytes([0, 0])
    return bytes(out + bytes([0, 1]))


def bmp_rle(width, height, rows, palette, rle4):
    pixels = rle_bytes(rows, rle4)
    dib = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 4 if rle4 else 8, 2 if rle4 else 1, len(pixels), 2835, 2835, len(palette), 0)
    pal = b"".join(bytes([b, g, r, 0]) for r, g, b in palette)
    offset = 14 + len(dib) + len(pal)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + dib + pal + pixels


def gif_on_larger_screen(data, screen, left, top):
    """A GIF whose first frame sits at (left, top) of a `screen`-sized logical screen."""
    b = bytearray(data)
    struct.pack_into("<HH", b, 6, *screen)
    p = 13 + (3 << ((b[10] & 7) + 1) if b[10] & 0x80 else 0)
    while b[p] == 0x21:  # extensions: label, then sub-blocks
        p += 2
        while b[p]:
            p += b[p] + 1
        p += 1
    assert b[p] == 0x2C
    struct.pack_into("<HH", b, p + 1, left, top)
    return bytes(b)


# ---------- the fixtures ----------

def build():
    base, other = scene(0), scene(1)
    files = {}

    def save(name, im, **kw):
        buf = io.BytesIO()
        im.save(buf, **kw)
        files[name] = buf.getvalue()

    # WebP
    save("lossless.webp", base, format="WEBP", lossless=True)
    save("lossy.webp", base, format="WEBP", quality=80, method=4)
    save("alpha_lossless.webp", with_alpha(base), format="WEBP", lossless=True, exact=True)
    save("alpha_lossy.webp", with_alpha(base), format="WEBP", quality=80)
    exif = Image.Exif()
    exif[0x0112] = 6
    save("orientation6.webp", base, format="WEBP", lossless=True, exif=exif.tobytes())
    save("animated.webp", base, format="WEBP", lossless=True, save_all=True, append_images=[other], duration=100)
    # TIFF (Pillow-written)
    save("rgb8.tif", base, format="TIFF")
    save("rgb8_lzw.tif", base, format="TIFF", compression="tiff_lzw")
    save("rgba8.tif", with_alpha(base), format="TIFF", compression="tiff_adobe_deflate")
    save("gray8.tif", base.convert("L"), format="TIFF")
    save("bilevel.tif", base.convert("1"), format="TIFF", compression="group4")
    save("cmyk8.tif", base.convert("CMYK"), format="TIFF")
    save("palette8.tif", base.quantize(colors=16), format="TIFF")
    save("two_pages.tif", base, format="TIFF", save_all=True, append_images=[other])
    save("orientation6.tif", base, format="TIFF", tiffinfo={274: 6})
    save("jpeg_ycbcr.tif", base, format="TIFF", compression="jpeg", quality=90)
    # TIFF (byte-level): 16-bit RGB both byte orders, separate planes, tiles, 16-bit CMYK
    px16 = rgb16(base)
    files["rgb16.tif"] = tiff_bytes([dict(width=W, height=H, bits=16, photometric=2, samples=px16)])
    files["rgb16_be_planar.tif"] = tiff_bytes([dict(width=W, height=H, bits=16, photometric=2, samples=px16, planar=2)], big_endian=True)
    px8 = [[base.getpixel((x, y)) for x in range(W)] for y in range(H)]
    files["rgb8_tiled.tif"] = tiff_bytes([dict(width=W, height=H, bits=8, photometric=2, samples=px8, tile=(16, 16))])
    cmyk = base.convert("CMYK")
    files["cmyk16.tif"] = tiff_bytes([dict(width=W, height=H, bits=16, photometric=5,
                                           samples=[[tuple(v * 257 for v in cmyk.getpixel((x, y))) for x in range(W)] for y in range(H)])])
    # 100000 x 100000 declared, 1 strip of 8 bytes: refused from the header
    bomb = tiff_bytes([dict(width=1, height=1, bits=8, photometric=1, samples=[[(7,)]], rows_per_strip=1)])
    b = bytearray(bomb)
    for tag in (256, 257):  # rewrite ImageWidth / ImageLength values in place
        ifd = struct.unpack_from("<I", b, 4)[0]
        for i in range(struct.unpack_from("<H", b, ifd)[0]):
            at = ifd + 2 + 12 * i
            if struct.unpack_from("<H", b, at)[0] == tag:
                struct.pack_into("<I", b, at + 8, 100000)
    files["bomb_100000x100000.tif"] = bytes(b)
    # half-float gray (SampleFormat 3): refused as unsupported
    files["bad_float16.tif"] = tiff_bytes([dict(width=4, height=2, bits=16, photometric=1, samples=[[(15360,)] * 4] * 2, sample_format=3)])
    # GIF
    pal = base.quantize(colors=64)
    save("palette.gif", pal, format="GIF", interlace=False)
    save("interlaced.gif", pal, format="GIF", interlace=True)
    trans = base.quantize(colors=32)
    t = trans.copy()
    ImageDraw.Draw(t).rectangle([0, 0, 7, 23], fill=31)
    save("transparent.gif", t, format="GIF", transparency=31, interlace=False)
    save("animated.gif", pal, format="GIF", save_all=True, append_images=[other.quantize(colors=64)], duration=100)
    files["offset_frame.gif"] = gif_on_larger_screen(files["transparent.gif"], (40, 30), 5, 4)
    files["offset_opaque.gif"] = gif_on_larger_screen(files["palette.gif"], (36, 27), 2, 1)
    # BMP (Pillow-written)
    save("rgb24.bmp", base, format="BMP")
    save("palette8.bmp", base.quantize(colors=200), format="BMP")
    save("bilevel.bmp", base.convert("1"), format="BMP")
    save("rgba32.bmp", with_alpha(base), format="BMP")
    # BMP (byte-level): top-down 24-bit, 4-bit palette, 16-bit 5-6-5 and default 5-5-5, V5 32-bit BGRA
    files["topdown24.bmp"] = bmp_bytes(W, H, 24, px8, top_down=True)
    p16 = base.quantize(colors=16)
    palette = [tuple(p16.getpalette()[3 * i:3 * i + 3]) for i in range(16)]
    files["palette4.bmp"] = bmp_bytes(W, H, 4, [[p16.getpixel((x, y)) for x in range(W)] for y in range(H)], palette=palette)
    files["rgb565.bmp"] = bmp_bytes(W, H, 16, [[(r >> 3) << 11 | (g >> 2) << 5 | b >> 3 for r, g, b in row] for row in px8],
                                    masks=(0xF800, 0x07E0, 0x001F))
    files["rgb555.bmp"] = bmp_bytes(W, H, 16, [[(r >> 3) << 10 | (g >> 3) << 5 | b >> 3 for r, g, b in row] for row in px8])
    pa = with_alpha(base)
    files["bgra32_v5.bmp"] = bmp_bytes(W, H, 32, [[a << 24 | r << 16 | g << 8 | b for r, g, b, a in
                                                   (pa.getpixel((x, y)) for x in range(W))] for y in range(H)],
                                       masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000), header=124)
    idx = [[p16.getpixel((x, y)) for x in range(W)] for y in range(H)]
    files["rle4.bmp"] = bmp_rle(W, H, idx, palette, rle4=True)
    p200 = base.quantize(colors=200)
    files["rle8.bmp"] = bmp_rle(W, H, [[p200.getpixel((x, y)) for x in range(W)] for y in range(H)],
                                [tuple(p200.getpalette()[3 * i:3 * i + 3]) for i in range(200)], rle4=False)
    # HEIC (pillow-heif) and AVIF (Pillow's own plugin, libavif); EXIF orientation 6 is written as
    # an 'irot' transform by both writers
    pillow_heif.register_heif_opener()
    save("photo.heic", base, format="HEIF", quality=90)
    save("photo.avif", base, format="AVIF", quality=90)
    save("orientation6.heic", base, format="HEIF", quality=90, exif=exif.tobytes())
    save("orientation6.avif", base, format="AVIF", quality=90, exif=exif.tobytes())
    return files


def reference(data):
    im = Image.open(io.BytesIO(data))
    im.seek(0)
    im = ImageOps.exif_transpose(im)
    fmt = Image.open(io.BytesIO(data)).format
    dropped = im.convert("RGB")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    white = None
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return fmt, im.mode, dropped, white


def main():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        os.remove(os.path.join(OUT, old))
    note = {
        "generator": "scripts/goldens/make_image_format_fixtures.py",
        "pillow": PIL.__version__, "pillow_heif": pillow_heif.__version__,
        "libwebp": features.version("webp"), "libtiff": features.version("libtiff"), "libavif": features.version("avif"),
        "libheif": pillow_heif.libheif_info().get("libheif"),
        "lossy": ["lossy.webp", "alpha_lossy.webp", "jpeg_ycbcr.tif", "photo.heic", "photo.avif", "orientation6.heic",
                  "orientation6.avif"],
        "files": {},
    }
    files = build()
    # Pillow 13 reads 16-bit separate planes as 8-bit ("R" / "G" / "B" raw modes per plane, a Pillow
    # limitation): that file's reference is Pillow's decode of the same pixels stored interleaved.
    same_pixels = {"rgb16_be_planar.tif": "rgb16.tif"}
    for name, data in sorted(files.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        entry = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        if name.startswith(("bomb", "bad_")):
            entry["refused"] = True
        else:
            fmt, mode, dropped, white = reference(files[same_pixels.get(name, name)])
            if name in same_pixels:
                entry["reference_from"] = same_pixels[name]
            entry.update(format=fmt, pillow_mode=mode, width=dropped.width, height=dropped.height,
                         rgb=name + ".rgb", rgb_sha256=hashlib.sha256(dropped.tobytes()).hexdigest())
            with open(os.path.join(OUT, name + ".rgb"), "wb") as f:
                f.write(dropped.tobytes())
            if white is not None:
                entry["white"] = name + ".white.rgb"
                with open(os.path.join(OUT, name + ".white.rgb"), "wb") as f:
                    f.write(white.tobytes())
        note["files"][name] = entry
    with open(os.path.join(OUT, "formats.json"), "w") as f:
        json.dump(note, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"{len(note['files'])} files, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
