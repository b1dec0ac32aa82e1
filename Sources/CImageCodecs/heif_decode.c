// libheif decoding from memory (HEIF / HEIC with libde265, AVIF with libaom or dav1d, as Debian 12's
// libheif1 is built): the primary image, converted by libheif to interleaved 8-bit RGB(A), with the
// irot / imir / clap transforms applied by libheif (so EXIF orientation is not applied again, as
// pillow-heif does). libheif returns errors as structs. AV1 goes to libaom rather than dav1d when both
// are built in: dav1d's default logger prints to stderr on damaged streams and libheif 1.15 offers
// no way to replace it (AV1 decoding is exact by the spec: the choice does not change a pixel).
// strict_decoding: decoder warnings (damaged slices) are errors, never partly garbage images.
#include "image_codecs.h"
#include <libheif/heif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hic_status heif_failure(struct heif_error error, const char *during, hic_image *out) {
    snprintf(out->message, sizeof out->message, "%s: %s", during, error.message ? error.message : "libheif error");
    if (error.subcode == heif_suberror_End_of_data) return HIC_TRUNCATED;
    if (error.subcode == heif_suberror_Security_limit_exceeded) return HIC_TOO_LARGE;  // e.g. above 32768x32768
    switch (error.code) {
    case heif_error_Memory_allocation_error: return HIC_NO_MEMORY;
    case heif_error_Unsupported_filetype:
    case heif_error_Unsupported_feature: return HIC_UNSUPPORTED;
    default: return HIC_CORRUPT;
    }
}

hic_status hic_heif_decode(const uint8_t *data, size_t size, uint64_t max_pixels, int header_only,
                           hic_image *out) {
    memset(out, 0, sizeof *out);
    struct heif_context *context = heif_context_alloc();
    if (!context) return HIC_NO_MEMORY;
    struct heif_image_handle *handle = NULL;
    struct heif_image *image = NULL;
    struct heif_decoding_options *options = NULL;
    hic_status status = HIC_OK;
    struct heif_error error = heif_context_read_from_memory_without_copy(context, data, size, NULL);
    if (error.code != heif_error_Ok) {
        status = heif_failure(error, "container", out);
        goto done;
    }
    error = heif_context_get_primary_image_handle(context, &handle);
    if (error.code != heif_error_Ok) {
        status = heif_failure(error, "primary image", out);
        goto done;
    }
    // The coded size ('ispe', what libheif decodes before cropping by 'clap') and the size after
    // libheif's transforms (what decoding returns) must both be within the limit.
    int coded_width = heif_image_handle_get_ispe_width(handle), coded_height = heif_image_handle_get_ispe_height(handle);
    if (coded_width > 0 && coded_height > 0) {
        status = hic_check_size((uint64_t)coded_width, (uint64_t)coded_height, max_pixels, out);
        if (status != HIC_OK) goto done;
    }
    int width = heif_image_handle_get_width(handle), height = heif_image_handle_get_height(handle);
    status = hic_check_size(width < 0 ? 0 : (uint64_t)width, height < 0 ? 0 : (uint64_t)height, max_pixels, out);
    if (status != HIC_OK || header_only) goto done;

    int alpha = heif_image_handle_has_alpha_channel(handle);
    options = heif_decoding_options_alloc();
    if (!options) { status = HIC_NO_MEMORY; goto done; }
    options->convert_hdr_to_8bit = 1;
    options->strict_decoding = 1;
    enum heif_chroma chroma = alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB;
    options->decoder_id = "aom";
    error = heif_decode_image(handle, &image, heif_colorspace_RGB, chroma, options);
    if (error.code != heif_error_Ok && !image) {  // not AV1 (or no libaom): the default decoder
        options->decoder_id = NULL;
        error = heif_decode_image(handle, &image, heif_colorspace_RGB, chroma, options);
    }
    if (error.code != heif_error_Ok) {
        status = heif_failure(error, "decoding", out);
        goto done;
    }
    int stride = 0;
    const uint8_t *plane = heif_image_get_plane_readonly(image, heif_channel_interleaved, &stride);
    int decoded_width = heif_image_get_width(image, heif_channel_interleaved);
    int decoded_height = heif_image_get_height(image, heif_channel_interleaved);
    uint32_t channels = alpha ? 4 : 3;
    if (!plane || decoded_width != width || decoded_height != height || stride < width * (int)channels
        || heif_image_get_bits_per_pixel_range(image, heif_channel_interleaved) != 8) {
        snprintf(out->message, sizeof out->message, "decoded image is %dx%d (%d bits), header says %dx%d",
                 decoded_width, decoded_height, heif_image_get_bits_per_pixel_range(image, heif_channel_interleaved),
                 width, height);
        status = HIC_CORRUPT;
        goto done;
    }
    size_t row = (size_t)width * channels;
    uint8_t *pixels = malloc(row * (size_t)height);
    if (!pixels) {
        snprintf(out->message, sizeof out->message, "out of memory for %dx%d pixels", width, height);
        status = HIC_NO_MEMORY;
        goto done;
    }
    for (int y = 0; y < height; y++) memcpy(pixels + (size_t)y * row, plane + (size_t)y * (size_t)stride, row);
    out->channels = channels;
    out->pixels = pixels;
done:
    if (options) heif_decoding_options_free(options);
    if (image) heif_image_release(image);
    if (handle) heif_image_handle_release(handle);
    heif_context_free(context);
    return status;
}
