// libpng decoding from memory, with libpng's longjmp kept inside this file.
// Transforms (libpng manual §IV "Reading"): palette → RGB, gray 1/2/4 bit → 8 bit, optional
// tRNS → alpha, 16 bit → 8 bit by png_set_strip_16 (keeps the high byte, as Pillow's
// "RGB;16B"/"RGBA;16B"/"LA;16B" raw modes do), Adam7 de-interlacing.
#include "image_codecs.h"
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t position;
    int ran_out;
    hic_image *image;
} png_reader;

static void read_bytes(png_structp png, png_bytep into, png_size_t count) {
    png_reader *reader = (png_reader *)png_get_io_ptr(png);
    if (count > reader->size - reader->position) {
        reader->ran_out = 1;
        png_error(png, "unexpected end of data");
    }
    memcpy(into, reader->data + reader->position, count);
    reader->position += count;
}

static void on_error(png_structp png, png_const_charp message) {
    png_reader *reader = (png_reader *)png_get_error_ptr(png);
    snprintf(reader->image->message, sizeof reader->image->message, "%s", message);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
    (void)png; (void)message;  // benign (e.g. an unknown sRGB profile); the pixels are fine
}

hic_status hic_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                          int expand_transparency, hic_image *out) {
    memset(out, 0, sizeof *out);
    png_reader reader = {data, size, 0, 0, out};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, on_error, on_warning);
    if (!png) return HIC_NO_MEMORY;
    png_infop info = png_create_info_struct(png);
    if (!info) { png_destroy_read_struct(&png, NULL, NULL); return HIC_NO_MEMORY; }
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    volatile hic_status status = HIC_CORRUPT;
    volatile int pixels_complete = 0;
    volatile png_uint_32 decoded_channels = 0;

    if (setjmp(png_jmpbuf(png))) {
        if (pixels_complete) {
            // Every row was decoded; only the chunks after IDAT (text, IEND) are damaged or
            // missing. Pillow accepts such a file too, and no pixel is lost.
            free(rows);
            png_destroy_read_struct(&png, &info, NULL);
            out->message[0] = 0;
            out->channels = decoded_channels;
            out->pixels = pixels;
            return HIC_OK;
        }
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        if (status == HIC_CORRUPT && reader.ran_out) return HIC_TRUNCATED;
        return status;
    }
    png_set_read_fn(png, &reader, read_bytes);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);  // our own pixel limit applies below
    png_read_info(png, info);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    hic_status size_status = hic_check_size(width, height, max_pixels, out);
    if (size_status != HIC_OK) {
        status = size_status;
        png_longjmp(png, 1);
    }

    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)
        && (expand_transparency == 1 || (expand_transparency == 2 && color_type != PNG_COLOR_TYPE_RGB))) {
        png_set_tRNS_to_alpha(png);
    }
    if (bit_depth == 16) png_set_strip_16(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    png_uint_32 channels = png_get_channels(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if (channels < 1 || channels > 4 || row_bytes != (size_t)width * channels) {
        snprintf(out->message, sizeof out->message, "unexpected row layout (%u channels, %zu bytes per row)",
                 channels, row_bytes);
        png_longjmp(png, 1);
    }
    pixels = malloc(row_bytes * height);
    rows = malloc(sizeof(png_bytep) * height);
    if (!pixels || !rows) {
        snprintf(out->message, sizeof out->message, "out of memory for %ux%u pixels", width, height);
        status = HIC_NO_MEMORY;
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * row_bytes;
    png_read_image(png, rows);
    decoded_channels = channels;
    pixels_complete = 1;
    png_read_end(png, NULL);

    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    out->channels = channels;
    out->pixels = pixels;
    return HIC_OK;
}
