// libwebp decoding from memory. Still images go through WebPDecode into our own buffer (RGB, or
// RGBA when the bitstream has alpha); animated files through libwebpdemux's WebPAnimDecoder, whose
// first canvas is the first frame composed on a transparent background (what Pillow, which uses
// WebPAnimDecoder for every file, shows as frame 0). libwebp reports errors as status codes.
#include "image_codecs.h"
#include <webp/decode.h>
#include <webp/demux.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hic_status fail(VP8StatusCode code, const char *during, hic_image *out) {
    static const char *const names[] = {
        "ok", "out of memory", "invalid parameter", "bitstream error", "unsupported feature",
        "suspended", "user abort", "not enough data"};
    const char *name = (unsigned)code < sizeof names / sizeof names[0] ? names[code] : "unknown error";
    snprintf(out->message, sizeof out->message, "%s: %s (libwebp status %d)", during, name, (int)code);
    switch (code) {
    case VP8_STATUS_NOT_ENOUGH_DATA: return HIC_TRUNCATED;
    case VP8_STATUS_OUT_OF_MEMORY: return HIC_NO_MEMORY;
    case VP8_STATUS_UNSUPPORTED_FEATURE: return HIC_UNSUPPORTED;
    default: return HIC_CORRUPT;
    }
}

// First frame of an animation: a width x height x 4 canvas (non-premultiplied RGBA).
static hic_status decode_first_frame(const uint8_t *data, size_t size, uint8_t *pixels, hic_image *out) {
    WebPAnimDecoderOptions options;
    if (!WebPAnimDecoderOptionsInit(&options)) return fail(VP8_STATUS_INVALID_PARAM, "animation decoder", out);
    options.color_mode = MODE_RGBA;
    options.use_threads = 0;
    WebPData webp = {data, size};
    WebPAnimDecoder *decoder = WebPAnimDecoderNew(&webp, &options);
    if (!decoder) {
        snprintf(out->message, sizeof out->message, "libwebp cannot parse the animation (damaged or cut chunks)");
        return HIC_CORRUPT;
    }
    WebPAnimInfo info;
    uint8_t *canvas = NULL;
    int timestamp = 0;
    hic_status status = HIC_OK;
    if (!WebPAnimDecoderGetInfo(decoder, &info) || info.canvas_width != out->width
        || info.canvas_height != out->height) {
        snprintf(out->message, sizeof out->message, "animation canvas differs from the file header");
        status = HIC_CORRUPT;
    } else if (!WebPAnimDecoderGetNext(decoder, &canvas, &timestamp) || !canvas) {
        snprintf(out->message, sizeof out->message, "cannot decode the first animation frame (damaged or cut)");
        status = HIC_CORRUPT;
    } else {
        memcpy(pixels, canvas, (size_t)out->width * out->height * 4);
    }
    WebPAnimDecoderDelete(decoder);
    return status;
}

hic_status hic_webp_decode(const uint8_t *data, size_t size, uint64_t max_pixels, int header_only,
                           hic_image *out) {
    memset(out, 0, sizeof *out);
    WebPBitstreamFeatures features;
    VP8StatusCode code = WebPGetFeatures(data, size, &features);
    if (code != VP8_STATUS_OK) return fail(code, "header", out);
    hic_status status = hic_check_size((uint64_t)features.width, (uint64_t)features.height, max_pixels, out);
    if (status != HIC_OK || header_only) return status;

    out->channels = (features.has_alpha || features.has_animation) ? 4 : 3;
    size_t stride = (size_t)out->width * out->channels;
    uint8_t *pixels = malloc(stride * out->height);
    if (!pixels) {
        snprintf(out->message, sizeof out->message, "out of memory for %ux%u pixels", out->width, out->height);
        return HIC_NO_MEMORY;
    }
    if (features.has_animation) {
        status = decode_first_frame(data, size, pixels, out);
    } else {
        WebPDecoderConfig config;
        if (!WebPInitDecoderConfig(&config)) {
            status = fail(VP8_STATUS_INVALID_PARAM, "decoder", out);
        } else {
            config.output.colorspace = out->channels == 4 ? MODE_RGBA : MODE_RGB;
            config.output.is_external_memory = 1;
            config.output.u.RGBA.rgba = pixels;
            config.output.u.RGBA.stride = (int)stride;
            config.output.u.RGBA.size = stride * out->height;
            code = WebPDecode(data, size, &config);
            WebPFreeDecBuffer(&config.output);  // external memory: only libwebp's own state is freed
            if (code != VP8_STATUS_OK) status = fail(code, "pixels", out);
        }
    }
    if (status != HIC_OK) {
        free(pixels);
        return status;
    }
    out->pixels = pixels;
    return HIC_OK;
}
