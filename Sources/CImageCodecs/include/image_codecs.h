// C wrappers around libpng and libjpeg for Hearth's image decoders (Sources/Media/Image).
// Both libraries report fatal errors by longjmp (libpng) or by calling error_exit (libjpeg);
// neither may unwind through Swift frames, so the setjmp / longjmp stays inside these C
// functions and Swift receives a status code plus a message.
#ifndef HEARTH_IMAGE_CODECS_H
#define HEARTH_IMAGE_CODECS_H
#include <stddef.h>
#include <stdint.h>

typedef enum {
    HIC_OK = 0,
    HIC_CORRUPT = 1,     // the library rejected the data (message says why)
    HIC_TRUNCATED = 2,   // the data ended before the image did
    HIC_TOO_LARGE = 3,   // width * height above max_pixels (refused before allocating)
    HIC_EMPTY_SIZE = 4,  // width or height is 0
    HIC_NO_MEMORY = 5,
} hic_status;

// A decoded image in the codec's native layout, interleaved rows of width * channels bytes.
//   PNG:  channels 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (palette expanded, 16-bit → high byte)
//   JPEG: channels 1 gray, 3 RGB, 4 CMYK exactly as stored (Adobe files: inverted)
typedef struct {
    uint32_t width;
    uint32_t height;
    uint32_t channels;
    uint8_t *pixels;      // malloc'ed, width * height * channels; free with hic_image_free
    char message[256];    // on failure: what went wrong
} hic_image;

// expand_transparency: 0 ignores a tRNS chunk; 1 turns it into an alpha channel (palette, gray,
// RGB); 2 does so for palette and gray images only (transformers' convert_to_rgb semantics).
hic_status hic_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                          int expand_transparency, hic_image *out);
// max_scans: more scans than this is refused (progressive DoS guard).
// header_only: stop after the header (width/height/channels filled, no pixels).
hic_status hic_jpeg_decode(const uint8_t *data, size_t size, uint64_t max_pixels, int max_scans,
                           int header_only, hic_image *out);
void hic_image_free(hic_image *image);

#endif
