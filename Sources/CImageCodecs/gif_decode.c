// giflib decoding from memory: the first frame only, drawn as Pillow draws frame 0
// (GifImagePlugin): the canvas is the logical screen, enlarged if the frame reaches past it; pixels
// the frame does not cover hold the transparent index if the frame has one, else index 0; the
// frame's local color table wins over the global one; without any table indices are gray levels.
// A transparent index becomes alpha 0 (RGBA out), like Pillow's P + "transparency" → RGBA.
// giflib returns GIF_ERROR and an error code; it never prints or exits.
#include "image_codecs.h"
#include "mem_reader.h"
#include <gif_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_bytes(GifFileType *gif, GifByteType *into, int count) {
    return (int)mem_reader_read((mem_reader *)gif->UserData, into, count);
}

static hic_status gif_failure(int code, const mem_reader *reader, hic_image *out) {
    const char *text = GifErrorString(code);
    snprintf(out->message, sizeof out->message, "%s", text ? text : "giflib error");
    if (reader->ran_out || code == D_GIF_ERR_READ_FAILED || code == D_GIF_ERR_EOF_TOO_SOON) return HIC_TRUNCATED;
    if (code == D_GIF_ERR_NOT_ENOUGH_MEM) return HIC_NO_MEMORY;
    return HIC_CORRUPT;
}

// Reads records up to the first image descriptor; the transparent index of the graphic control
// extension before it (or -1) goes to *transparent.
static int find_first_image(GifFileType *gif, int *transparent) {
    *transparent = -1;
    for (;;) {
        GifRecordType type;
        if (DGifGetRecordType(gif, &type) == GIF_ERROR) return GIF_ERROR;
        if (type == IMAGE_DESC_RECORD_TYPE) return DGifGetImageDesc(gif);
        if (type == TERMINATE_RECORD_TYPE) {
            gif->Error = D_GIF_ERR_NO_IMAG_DSCR;
            return GIF_ERROR;
        }
        if (type != EXTENSION_RECORD_TYPE) continue;
        int code = 0;
        GifByteType *block = NULL;
        if (DGifGetExtension(gif, &code, &block) == GIF_ERROR) return GIF_ERROR;
        if (code == GRAPHICS_EXT_FUNC_CODE && block && block[0] >= 4) {
            GraphicsControlBlock control;
            if (DGifExtensionToGCB(block[0], block + 1, &control) == GIF_OK) *transparent = control.TransparentColor;
        }
        while (block) {
            if (DGifGetExtensionNext(gif, &block) == GIF_ERROR) return GIF_ERROR;
        }
    }
}

hic_status hic_gif_decode(const uint8_t *data, size_t size, uint64_t max_pixels, int header_only,
                          hic_image *out) {
    memset(out, 0, sizeof *out);
    mem_reader reader = {data, size, 0, 0};
    int code = 0;
    GifFileType *gif = DGifOpen(&reader, read_bytes, &code);
    if (!gif) return gif_failure(code, &reader, out);
    uint8_t *indices = NULL, *pixels = NULL;
    hic_status status = HIC_OK;
    int transparent = -1;
    if (find_first_image(gif, &transparent) == GIF_ERROR) {
        status = gif_failure(gif->Error, &reader, out);
        goto done;
    }
    const GifImageDesc frame = gif->Image;
    if (frame.Left < 0 || frame.Top < 0 || frame.Width <= 0 || frame.Height <= 0) {
        snprintf(out->message, sizeof out->message, "first frame is %dx%d at (%d, %d)",
                 frame.Width, frame.Height, frame.Left, frame.Top);
        status = HIC_EMPTY_SIZE;
        goto done;
    }
    uint64_t right = (uint64_t)frame.Left + (uint64_t)frame.Width, bottom = (uint64_t)frame.Top + (uint64_t)frame.Height;
    uint64_t width = gif->SWidth > 0 && (uint64_t)gif->SWidth > right ? (uint64_t)gif->SWidth : right;
    uint64_t height = gif->SHeight > 0 && (uint64_t)gif->SHeight > bottom ? (uint64_t)gif->SHeight : bottom;
    status = hic_check_size(width, height, max_pixels, out);
    if (status != HIC_OK || header_only) goto done;

    const ColorMapObject *colors = frame.ColorMap ? frame.ColorMap : gif->SColorMap;
    int channels = transparent >= 0 ? 4 : 3;
    size_t count = (size_t)width * height;
    indices = malloc(count);
    pixels = malloc(count * (size_t)channels);
    if (!indices || !pixels) {
        snprintf(out->message, sizeof out->message, "out of memory for %llux%llu pixels",
                 (unsigned long long)width, (unsigned long long)height);
        status = HIC_NO_MEMORY;
        goto done;
    }
    memset(indices, transparent >= 0 ? transparent : 0, count);
    // Interlaced frames store rows in 4 passes: every 8th from 0, every 8th from 4, every 4th from 2, every 2nd from 1.
    static const int first_row[] = {0, 4, 2, 1}, row_step[] = {8, 8, 4, 2};
    int passes = frame.Interlace ? 4 : 1;
    for (int pass = 0; pass < passes; pass++) {
        int start = frame.Interlace ? first_row[pass] : 0, step = frame.Interlace ? row_step[pass] : 1;
        for (int row = start; row < frame.Height; row += step) {
            uint8_t *line = indices + ((size_t)frame.Top + (size_t)row) * width + (size_t)frame.Left;
            if (DGifGetLine(gif, line, frame.Width) == GIF_ERROR) {
                status = gif_failure(gif->Error, &reader, out);
                goto done;
            }
        }
    }
    for (size_t i = 0; i < count; i++) {
        int index = indices[i];
        uint8_t *pixel = pixels + i * (size_t)channels;
        if (!colors) {
            pixel[0] = pixel[1] = pixel[2] = (uint8_t)index;
        } else if (index < colors->ColorCount) {
            pixel[0] = colors->Colors[index].Red;
            pixel[1] = colors->Colors[index].Green;
            pixel[2] = colors->Colors[index].Blue;
        } else {
            pixel[0] = pixel[1] = pixel[2] = 0;  // an index past the color table
        }
        if (channels == 4) pixel[3] = index == transparent ? 0 : 255;
    }
    out->channels = (uint32_t)channels;
    out->pixels = pixels;
    pixels = NULL;

done:
    free(indices);
    free(pixels);
    DGifCloseFile(gif, &code);
    return status;
}
