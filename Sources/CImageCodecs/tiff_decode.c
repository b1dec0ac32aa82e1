// libtiff decoding from memory: the first directory (page). Errors and warnings go to per-file
// handlers (TIFFOpenOptions, libtiff >= 4.5) that only keep the first error message; the global
// handlers are switched off once, so libtiff never prints.
//
// Layouts Pillow reads through its own unpackers are converted here the same way (Pillow's
// TiffImagePlugin OPEN_INFO + Unpack.c): unsigned 1/2/4/8/16-bit gray (min-is-black or -white,
// optional alpha), 8/16-bit RGB(A), palette (colormap entries >> 8), 8/16-bit CMYK (out inverted,
// is_cmyk, so Swift applies the same cmyk2rgb as for JPEG); 16-bit samples keep their high byte;
// associated (premultiplied) alpha is divided out like Pillow's "RGBa" unpacker; contiguous or
// separate planes, strips or tiles; JPEG-compressed YCbCr is read as RGB (JPEGCOLORMODE_RGB, as
// Pillow does). Other photometrics (YCbCr without JPEG, CIELab, LogLuv ...) go through libtiff's
// RGBA interface, as in Pillow. Float or signed samples are refused as unsupported.
#include "image_codecs.h"
#include "mem_reader.h"
#include <tiffio.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    mem_reader bytes;
    int failed;           // libtiff reported an error
    hic_image *image;
    uint64_t max_pixels;
} tiff_source;

static tmsize_t source_read(thandle_t handle, void *into, tmsize_t count) {
    return (tmsize_t)mem_reader_read(&((tiff_source *)handle)->bytes, into, count);
}

static tmsize_t source_write(thandle_t handle, void *from, tmsize_t count) {
    (void)handle; (void)from; (void)count;
    return -1;
}

static toff_t source_seek(thandle_t handle, toff_t offset, int whence) {
    mem_reader *bytes = &((tiff_source *)handle)->bytes;
    uint64_t base = whence == SEEK_CUR ? bytes->position : whence == SEEK_END ? bytes->size : 0;
    if (offset > UINT64_MAX - base) return (toff_t)-1;
    bytes->position = (size_t)(base + offset);
    return (toff_t)bytes->position;
}

static int source_close(thandle_t handle) { (void)handle; return 0; }
static toff_t source_size(thandle_t handle) { return (toff_t)((tiff_source *)handle)->bytes.size; }
static int source_map(thandle_t handle, void **base, toff_t *size) { (void)handle; (void)base; (void)size; return 0; }
static void source_unmap(thandle_t handle, void *base, toff_t size) { (void)handle; (void)base; (void)size; }

static int on_error(TIFF *tif, void *user, const char *module, const char *format, va_list args) {
    (void)tif;
    tiff_source *source = (tiff_source *)user;
    if (!source->failed) {  // the first error is the cause; later ones follow from it
        char text[200];
        vsnprintf(text, sizeof text, format, args);
        snprintf(source->image->message, sizeof source->image->message, "%s%s%s", module ? module : "",
                 module ? ": " : "", text);
    }
    source->failed = 1;
    return 1;  // handled: the global handler is not called
}

static int on_warning(TIFF *tif, void *user, const char *module, const char *format, va_list args) {
    (void)tif; (void)user; (void)module; (void)format; (void)args;
    return 1;  // unknown tags, odd but readable fields: the pixels are fine
}

static pthread_once_t silence_once = PTHREAD_ONCE_INIT;
static void silence_global_handlers(void) {
    TIFFSetErrorHandler(NULL);
    TIFFSetWarningHandler(NULL);
}

static hic_status failure(tiff_source *source, hic_status otherwise, const char *fallback) {
    if (!source->failed || !source->image->message[0])
        snprintf(source->image->message, sizeof source->image->message, "%s", fallback);
    return source->bytes.ran_out ? HIC_TRUNCATED : otherwise;
}

typedef struct {
    uint32_t width, height;
    uint16_t samples, bits, photometric, planar;
    int alpha;            // 0 none, 1 unassociated, 2 associated (premultiplied)
    int out_channels;
    const uint16_t *red, *green, *blue;  // colormap (palette only)
} layout;

// One row of `width` pixels of `samples` interleaved samples (native byte order) → out row.
static void convert_row(const layout *l, const uint8_t *raw, uint8_t *out) {
    uint32_t spp = l->samples;
    // sample s of pixel x, as 8 bits (16-bit: the high byte)
#define SAMPLE(x, s) (l->bits == 16 ? (uint8_t)(((const uint16_t *)raw)[(size_t)(x) * spp + (s)] >> 8) \
                                    : raw[(size_t)(x) * spp + (s)])
    for (uint32_t x = 0; x < l->width; x++) {
        uint8_t *o = out + (size_t)x * l->out_channels;
        switch (l->photometric) {
        case PHOTOMETRIC_MINISBLACK:
        case PHOTOMETRIC_MINISWHITE:
        case PHOTOMETRIC_PALETTE: {
            unsigned value;
            if (l->bits >= 8) {
                value = SAMPLE(x, 0);
            } else {  // packed, most significant bits first, one sample per pixel
                size_t bit = (size_t)x * l->bits;
                value = (raw[bit / 8] >> (8 - l->bits - bit % 8)) & ((1u << l->bits) - 1);
            }
            if (l->photometric == PHOTOMETRIC_PALETTE) {
                if (l->bits == 16) value = ((const uint16_t *)raw)[x * spp];
                o[0] = (uint8_t)(l->red[value] >> 8);
                o[1] = (uint8_t)(l->green[value] >> 8);
                o[2] = (uint8_t)(l->blue[value] >> 8);
                break;
            }
            if (l->bits < 8) value = value * (255u / ((1u << l->bits) - 1));  // ×255, ×85, ×17
            o[0] = (uint8_t)(l->photometric == PHOTOMETRIC_MINISWHITE ? 255 - value : value);
            if (l->alpha) o[1] = SAMPLE(x, 1);
            break;
        }
        case PHOTOMETRIC_SEPARATED:
            for (int c = 0; c < 4; c++) o[c] = (uint8_t)(255 - SAMPLE(x, c));
            break;
        default:  // RGB (and JPEG YCbCr read as RGB)
            for (int c = 0; c < 3; c++) o[c] = SAMPLE(x, c);
            if (l->alpha) o[3] = SAMPLE(x, 3);
            break;
        }
        if (l->alpha == 2) {  // Pillow's unpackRGBa / unpackLA premultiplied: c * 255 / a, 0 where a = 0
            int colors = l->out_channels - 1, a = o[colors];
            for (int c = 0; c < colors; c++) {
                if (a == 0) o[c] = 0;
                else if (a != 255) { int v = o[c] * 255 / a; o[c] = (uint8_t)(v > 255 ? 255 : v); }
            }
        }
    }
#undef SAMPLE
}

// Bytes of one row of `width` pixels in one plane (contiguous: all samples; separate: one).
static size_t plane_row_bytes(const layout *l, uint32_t width) {
    uint64_t per_pixel = l->planar == PLANARCONFIG_SEPARATE ? 1 : l->samples;
    return (size_t)((width * per_pixel * l->bits + 7) / 8);
}

// Reads the image band by band (a band = one strip row or one tile row), interleaves separate
// planes, converts each row into `pixels`.
static hic_status read_native(TIFF *tif, tiff_source *source, const layout *l, uint8_t *pixels) {
    int tiled = TIFFIsTiled(tif);
    uint32_t band_height = 0, tile_width = 0;
    if (tiled) {
        TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tile_width);
        TIFFGetField(tif, TIFFTAG_TILELENGTH, &band_height);
        if (tile_width == 0 || band_height == 0) return failure(source, HIC_CORRUPT, "tile size is 0");
        // a tile is decoded whole: its own size counts against the pixel limit too
        if ((uint64_t)tile_width * band_height > source->max_pixels) {
            snprintf(source->image->message, sizeof source->image->message,
                     "tiles of %ux%u pixels, above the limit of %llu (refused before decoding)", tile_width,
                     band_height, (unsigned long long)source->max_pixels);
            return HIC_TOO_LARGE;
        }
    } else {
        TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &band_height);
        if (band_height == 0 || band_height > l->height) band_height = l->height;
    }
    int planes = l->planar == PLANARCONFIG_SEPARATE ? l->samples : 1;
    size_t plane_row = plane_row_bytes(l, l->width);
    size_t band_rows = band_height < l->height ? band_height : l->height;  // tiles may be taller than the image
    size_t band_plane_bytes = plane_row * band_rows;
    size_t sample_bytes = l->bits == 16 ? 2 : 1;
    size_t raw_row_bytes = l->planar == PLANARCONFIG_SEPARATE ? (size_t)l->width * l->samples * sample_bytes : plane_row;
    tmsize_t chunk_size = tiled ? TIFFTileSize(tif) : TIFFStripSize(tif);
    uint8_t *band = malloc(band_plane_bytes * (size_t)planes);
    uint8_t *chunk = chunk_size > 0 ? malloc((size_t)chunk_size) : NULL;
    uint8_t *raw_row = malloc(raw_row_bytes);
    hic_status status = HIC_OK;
    if (!band || !chunk || !raw_row) {
        status = chunk_size <= 0 ? failure(source, HIC_CORRUPT, "strip or tile size is invalid") : HIC_NO_MEMORY;
        if (status == HIC_NO_MEMORY) snprintf(source->image->message, sizeof source->image->message, "out of memory");
        goto done;
    }
    size_t tile_row = tiled ? plane_row_bytes(l, tile_width) : 0;
    for (uint64_t top = 0; top < l->height; top += band_height) {  // 64-bit: no wrap-around
        uint32_t rows = (uint32_t)(l->height - top < band_height ? l->height - top : band_height);
        for (int p = 0; p < planes; p++) {
            uint8_t *plane = band + band_plane_bytes * (size_t)p;
            if (!tiled) {
                tmsize_t got = TIFFReadEncodedStrip(tif, TIFFComputeStrip(tif, (uint32_t)top, (uint16_t)p), plane,
                                                    (tmsize_t)(plane_row * rows));
                if (got < 0 || (size_t)got < plane_row * rows) {
                    status = failure(source, HIC_CORRUPT, "cannot read a strip");
                    goto done;
                }
                continue;
            }
            for (uint64_t left = 0; left < l->width; left += tile_width) {
                tmsize_t got = TIFFReadEncodedTile(tif, TIFFComputeTile(tif, (uint32_t)left, (uint32_t)top, 0, (uint16_t)p), chunk, chunk_size);
                if (got < 0 || (size_t)got < tile_row * band_height) {
                    status = failure(source, HIC_CORRUPT, "cannot read a tile");
                    goto done;
                }
                // tile widths are multiples of 16, so a tile starts on a byte boundary
                size_t offset = plane_row_bytes(l, (uint32_t)left), copy = plane_row - offset < tile_row ? plane_row - offset : tile_row;
                for (uint32_t r = 0; r < rows; r++) memcpy(plane + r * plane_row + offset, chunk + r * tile_row, copy);
            }
        }
        for (uint32_t r = 0; r < rows; r++) {
            const uint8_t *row = band + r * plane_row;
            if (planes > 1) {  // gather sample p of every pixel from plane p
                for (int p = 0; p < planes; p++) {
                    const uint8_t *plane = band + band_plane_bytes * (size_t)p + r * plane_row;
                    for (uint32_t x = 0; x < l->width; x++)
                        memcpy(raw_row + ((size_t)x * l->samples + (size_t)p) * sample_bytes, plane + x * sample_bytes, sample_bytes);
                }
                row = raw_row;
            }
            convert_row(l, row, pixels + ((size_t)top + r) * l->width * (size_t)l->out_channels);
        }
    }
done:
    free(band);
    free(chunk);
    free(raw_row);
    return status;
}

// libtiff's RGBA interface (what Pillow uses for the same photometrics), rows as stored.
static hic_status read_rgba(TIFF *tif, tiff_source *source, const layout *l, hic_image *out) {
    char reason[1024] = {0};
    if (!TIFFRGBAImageOK(tif, reason)) {
        snprintf(out->message, sizeof out->message, "%s", reason);
        return source->failed ? failure(source, HIC_CORRUPT, reason) : HIC_UNSUPPORTED;
    }
    TIFFRGBAImage rgba;
    if (!TIFFRGBAImageBegin(&rgba, tif, 1, reason)) {
        snprintf(out->message, sizeof out->message, "%s", reason);
        return failure(source, HIC_CORRUPT, reason);
    }
    rgba.req_orientation = rgba.orientation;  // no flip here: Swift applies the orientation tag
    size_t count = (size_t)l->width * l->height;
    uint32_t *raster = malloc(count * sizeof(uint32_t));
    uint8_t *pixels = raster ? malloc(count * 4) : NULL;
    hic_status status = HIC_OK;
    if (!raster || !pixels) {
        snprintf(out->message, sizeof out->message, "out of memory for %ux%u pixels", l->width, l->height);
        status = HIC_NO_MEMORY;
    } else if (!TIFFRGBAImageGet(&rgba, raster, l->width, l->height) || source->failed) {
        status = failure(source, HIC_CORRUPT, "cannot decode the image");
    } else {
        int channels = rgba.alpha ? 4 : 3;
        for (size_t i = 0; i < count; i++) {
            uint8_t *o = pixels + i * (size_t)channels;
            o[0] = (uint8_t)TIFFGetR(raster[i]);
            o[1] = (uint8_t)TIFFGetG(raster[i]);
            o[2] = (uint8_t)TIFFGetB(raster[i]);
            if (channels == 4) o[3] = (uint8_t)TIFFGetA(raster[i]);
        }
        out->channels = (uint32_t)channels;
        out->pixels = pixels;
        pixels = NULL;
    }
    TIFFRGBAImageEnd(&rgba);
    free(raster);
    free(pixels);
    return status;
}

// describe()'s answer for layouts the native path does not read: use libtiff's RGBA interface.
#define USE_RGBA_INTERFACE ((hic_status)100)

// Fills `l` for the native path; returns HIC_OK, or USE_RGBA_INTERFACE; other statuses are errors
// (message set).
static hic_status describe(TIFF *tif, layout *l, hic_image *out) {
    uint16_t format = SAMPLEFORMAT_UINT, compression = COMPRESSION_NONE, inkset = INKSET_CMYK;
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
    TIFFGetFieldDefaulted(tif, TIFFTAG_INKSET, &inkset);
    uint16_t extra_count = 0;
    uint16_t *extra = NULL;
    TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, &extra_count, &extra);
    if (format != SAMPLEFORMAT_UINT && format != SAMPLEFORMAT_VOID) {
        snprintf(out->message, sizeof out->message, "%s samples (%u bits) are not supported",
                 format == SAMPLEFORMAT_IEEEFP ? "floating-point" : "signed or complex", l->bits);
        return HIC_UNSUPPORTED;
    }
    if (l->photometric == PHOTOMETRIC_YCBCR && compression == COMPRESSION_JPEG) {
        TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
        l->photometric = PHOTOMETRIC_RGB;
        l->planar = PLANARCONFIG_CONTIG;
        if (l->samples < 3 || l->bits != 8) return USE_RGBA_INTERFACE;
        l->samples = 3;  // what JPEGCOLORMODE_RGB delivers
        l->out_channels = 3;
        return HIC_OK;
    }
    int colors;
    switch (l->photometric) {
    case PHOTOMETRIC_MINISBLACK:
    case PHOTOMETRIC_MINISWHITE: colors = 1; break;
    case PHOTOMETRIC_PALETTE: colors = 1; break;
    case PHOTOMETRIC_RGB: colors = 3; break;
    case PHOTOMETRIC_SEPARATED:
        if (inkset != INKSET_CMYK || l->samples < 4) return USE_RGBA_INTERFACE;
        colors = 4;
        break;
    default: return USE_RGBA_INTERFACE;
    }
    if (l->samples < colors) {
        snprintf(out->message, sizeof out->message, "%u samples per pixel for photometric %u",
                 l->samples, l->photometric);
        return HIC_CORRUPT;
    }
    int packed_ok = l->samples == 1 && l->photometric != PHOTOMETRIC_RGB && l->photometric != PHOTOMETRIC_SEPARATED;
    int bits_ok = l->bits == 8 || l->bits == 16 || (packed_ok && (l->bits == 1 || l->bits == 2 || l->bits == 4));
    if (!bits_ok || (l->bits < 8 && l->planar == PLANARCONFIG_SEPARATE) || l->samples > 16) return USE_RGBA_INTERFACE;
    if (l->photometric == PHOTOMETRIC_PALETTE) {
        if (l->bits == 16 && l->samples != 1) return USE_RGBA_INTERFACE;
        if (!TIFFGetField(tif, TIFFTAG_COLORMAP, &l->red, &l->green, &l->blue)) {
            snprintf(out->message, sizeof out->message, "palette image without a colormap");
            return HIC_CORRUPT;
        }
    }
    // an alpha sample directly after the colors (unspecified extra samples are dropped, as Pillow does)
    if (l->photometric != PHOTOMETRIC_PALETTE && l->photometric != PHOTOMETRIC_SEPARATED
        && l->samples > colors && extra_count > 0 && extra) {
        if (extra[0] == EXTRASAMPLE_UNASSALPHA) l->alpha = 1;
        if (extra[0] == EXTRASAMPLE_ASSOCALPHA) l->alpha = 2;
    }
    l->out_channels = l->photometric == PHOTOMETRIC_PALETTE ? 3 : colors + (l->alpha ? 1 : 0);
    return HIC_OK;
}

hic_status hic_tiff_decode(const uint8_t *data, size_t size, uint64_t max_pixels, int header_only,
                           hic_image *out) {
    memset(out, 0, sizeof *out);
    pthread_once(&silence_once, silence_global_handlers);
    tiff_source source = {{data, size, 0, 0}, 0, out, max_pixels};
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    if (!options) return HIC_NO_MEMORY;
    TIFFOpenOptionsSetErrorHandlerExtR(options, on_error, &source);
    TIFFOpenOptionsSetWarningHandlerExtR(options, on_warning, &source);
    // libtiff's own buffers (strips, tiles, tag arrays): bounded by what max_pixels allows at 16
    // bits x 4 samples, at least 64 MB
    uint64_t cap = max_pixels < (UINT64_MAX - (64u << 20)) / 8 ? max_pixels * 8 + (64u << 20) : UINT64_MAX;
    TIFFOpenOptionsSetMaxSingleMemAlloc(options, cap > (uint64_t)INT64_MAX ? INT64_MAX : (tmsize_t)cap);
    // "m": no memory mapping (reads go through source_read, which bounds them)
    TIFF *tif = TIFFClientOpenExt("TIFF", "rm", (thandle_t)&source, source_read, source_write, source_seek,
                                  source_close, source_size, source_map, source_unmap, options);
    TIFFOpenOptionsFree(options);
    if (!tif) return failure(&source, HIC_CORRUPT, "not a readable TIFF file");

    hic_status status;
    layout l;
    memset(&l, 0, sizeof l);
    uint16_t orientation = ORIENTATION_TOPLEFT;
    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &l.width) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &l.height)) {
        status = failure(&source, HIC_CORRUPT, "the first directory has no ImageWidth / ImageLength");
        goto done;
    }
    status = hic_check_size(l.width, l.height, max_pixels, out);
    if (status != HIC_OK) goto done;
    TIFFGetFieldDefaulted(tif, TIFFTAG_ORIENTATION, &orientation);
    out->orientation = orientation >= 1 && orientation <= 8 ? orientation : 1;
    if (header_only) goto done;

    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &l.samples);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &l.bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &l.planar);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &l.photometric))
        l.photometric = l.samples >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;  // Pillow's guess too
    status = describe(tif, &l, out);
    if (status == USE_RGBA_INTERFACE) {
        status = read_rgba(tif, &source, &l, out);
    } else if (status == HIC_OK) {
        size_t bytes = (size_t)l.width * l.height * (size_t)l.out_channels;
        uint8_t *pixels = malloc(bytes);
        if (!pixels) {
            snprintf(out->message, sizeof out->message, "out of memory for %ux%u pixels", l.width, l.height);
            status = HIC_NO_MEMORY;
            goto done;
        }
        status = read_native(tif, &source, &l, pixels);
        if (status == HIC_OK && source.failed) status = failure(&source, HIC_CORRUPT, "decoding failed");
        if (status != HIC_OK) {
            free(pixels);
            goto done;
        }
        out->channels = (uint32_t)l.out_channels;
        out->is_cmyk = l.photometric == PHOTOMETRIC_SEPARATED;
        out->pixels = pixels;
    }
done:
    TIFFClose(tif);
    return status;
}
