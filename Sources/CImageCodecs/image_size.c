// The pixel-count check every decoder runs on the header's dimensions, before allocating.
#include "image_codecs.h"
#include <stdio.h>
#include <stdlib.h>

hic_status hic_check_size(uint64_t width, uint64_t height, uint64_t max_pixels, hic_image *out) {
    out->width = width > UINT32_MAX ? UINT32_MAX : (uint32_t)width;
    out->height = height > UINT32_MAX ? UINT32_MAX : (uint32_t)height;
    if (width == 0 || height == 0) {
        snprintf(out->message, sizeof out->message, "image is %llux%llu",
                 (unsigned long long)width, (unsigned long long)height);
        return HIC_EMPTY_SIZE;
    }
    // both come from at most 32-bit header fields, so the product fits in 64 bits
    if (width > UINT32_MAX || height > UINT32_MAX || width * height > max_pixels) {
        snprintf(out->message, sizeof out->message,
                 "header declares %llux%llu = %llu pixels, above the limit of %llu (refused before decoding)",
                 (unsigned long long)width, (unsigned long long)height,
                 (unsigned long long)(width * height), (unsigned long long)max_pixels);
        return HIC_TOO_LARGE;
    }
    return HIC_OK;
}

void hic_image_free(hic_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}
