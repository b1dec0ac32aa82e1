// libjpeg(-turbo) decoding from memory, with error_exit's longjmp kept inside this file.
// Settings follow Pillow's JpegDecode.c: library defaults (JDCT_ISLOW, fancy upsampling),
// output RGB for YCbCr/RGB files, gray for gray files, CMYK as stored for 4-component files.
//
// Warnings: libjpeg reports recoverable damage as warnings and keeps going, filling what it
// could not decode with gray. A warning about missing or damaged entropy-coded data (premature
// end of file, corrupt segment, resync, bad progression) while scanlines are being decoded is
// turned into an error here, so a cut file is never returned as a half-gray "success" (Pillow
// raises "image file is truncated" for the same files). Warnings about metadata only (extra
// bytes before a marker, unknown JFIF version, Adobe transform, bad ICC) are ignored.
#include "image_codecs.h"
#include <stdio.h>  // jpeglib.h needs FILE and size_t first
#include <jpeglib.h>
#include <jerror.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    hic_image *image;
    int decoding_pixels;   // warnings count only while scanlines are decoded
    int truncated;
    int max_scans;
} jpeg_failure;

static void on_error_exit(j_common_ptr cinfo) {
    jpeg_failure *failure = (jpeg_failure *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    snprintf(failure->image->message, sizeof failure->image->message, "%s", text);
    longjmp(failure->jump, 1);
}

static int is_benign_warning(int code) {
    switch (code) {
    case JWRN_EXTRANEOUS_DATA:
    case JWRN_JFIF_MAJOR:
    case JWRN_ADOBE_XFORM:
    case JWRN_BOGUS_ICC:
        return 1;
    default:
        return 0;
    }
}

static void on_message(j_common_ptr cinfo, int level) {
    jpeg_failure *failure = (jpeg_failure *)cinfo->err;
    if (level >= 0) return;  // trace messages
    int code = cinfo->err->msg_code;
    if (is_benign_warning(code) || !failure->decoding_pixels) return;
    if (code == JWRN_JPEG_EOF) failure->truncated = 1;
    on_error_exit(cinfo);
}

// A progressive file can declare thousands of tiny scans, each one a full pass over the image
// (libjpeg-turbo's "Cautions about decompressing progressive JPEG images"); real encoders write ~10,
// cjpeg at most 100.
static void on_progress(j_common_ptr cinfo) {
    j_decompress_ptr decompress = (j_decompress_ptr)cinfo;
    jpeg_failure *failure = (jpeg_failure *)cinfo->err;
    if (decompress->input_scan_number > failure->max_scans) {
        snprintf(failure->image->message, sizeof failure->image->message,
                 "more than %d scans (the limit; a progressive-JPEG denial of service?)", failure->max_scans);
        longjmp(failure->jump, 1);
    }
}

/// The decoded image goes to `out` (which then owns `pixels`); the decompressor is released.
static hic_status hand_over(struct jpeg_decompress_struct *cinfo, uint8_t *pixels, hic_image *out) {
    out->width = cinfo->output_width;
    out->height = cinfo->output_height;
    out->channels = (uint32_t)cinfo->output_components;
    out->is_cmyk = cinfo->output_components == 4;
    out->pixels = pixels;
    jpeg_destroy_decompress(cinfo);
    return HIC_OK;
}

hic_status hic_jpeg_decode(const uint8_t *data, size_t size, uint64_t max_pixels, int max_scans,
                           int header_only, hic_image *out) {
    memset(out, 0, sizeof *out);
    struct jpeg_decompress_struct cinfo;
    jpeg_failure failure;
    memset(&failure, 0, sizeof failure);
    failure.image = out;
    failure.max_scans = max_scans;
    cinfo.err = jpeg_std_error(&failure.base);
    failure.base.error_exit = on_error_exit;
    failure.base.emit_message = on_message;
    uint8_t *volatile pixels = NULL;
    volatile hic_status status = HIC_CORRUPT;
    volatile int rows_complete = 0;

    if (setjmp(failure.jump)) {
        if (rows_complete) {
            // Every row was decoded; only what follows the last scan is damaged.
            out->message[0] = 0;
            return hand_over(&cinfo, pixels, out);
        }
        free(pixels);
        jpeg_destroy_decompress(&cinfo);
        if (failure.truncated) return HIC_TRUNCATED;
        return status;
    }
    jpeg_create_decompress(&cinfo);
    struct jpeg_progress_mgr progress;
    memset(&progress, 0, sizeof progress);
    progress.progress_monitor = on_progress;
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)size);
    // While the header is read, running out of data is fatal at once (no gray filler).
    failure.decoding_pixels = 1;
    jpeg_read_header(&cinfo, TRUE);
    out->channels = (uint32_t)cinfo.num_components;
    hic_status size_status = hic_check_size(cinfo.image_width, cinfo.image_height, max_pixels, out);
    if (size_status != HIC_OK) {
        jpeg_destroy_decompress(&cinfo);
        return size_status;
    }
    if (header_only) {
        jpeg_destroy_decompress(&cinfo);
        return HIC_OK;
    }
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE: cinfo.out_color_space = JCS_GRAYSCALE; break;
    case JCS_CMYK:
    case JCS_YCCK: cinfo.out_color_space = JCS_CMYK; break;
    default: cinfo.out_color_space = JCS_RGB; break;
    }
    jpeg_start_decompress(&cinfo);
    size_t row_bytes = (size_t)cinfo.output_width * cinfo.output_components;
    pixels = malloc(row_bytes * cinfo.output_height);
    if (!pixels) {
        snprintf(out->message, sizeof out->message, "out of memory for %ux%u pixels",
                 cinfo.output_width, cinfo.output_height);
        status = HIC_NO_MEMORY;
        longjmp(failure.jump, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + (size_t)cinfo.output_scanline * row_bytes;
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) {
            snprintf(out->message, sizeof out->message, "decoder stopped at row %u of %u",
                     cinfo.output_scanline, cinfo.output_height);
            failure.truncated = 1;
            longjmp(failure.jump, 1);
        }
    }
    // Every row is decoded: what follows (a missing EOI, trailing bytes) cannot change a pixel.
    failure.decoding_pixels = 0;
    rows_complete = 1;
    jpeg_finish_decompress(&cinfo);
    return hand_over(&cinfo, pixels, out);
}
