// C wrappers around libpng, libjpeg, libwebp, libtiff, giflib and libheif for Hearth's image
// decoders (Sources/Media/Image). libpng and libjpeg report fatal errors by longjmp / error_exit;
// neither may unwind through Swift frames, so the setjmp / longjmp stays inside these C
// functions. libtiff's error and warning handlers are per-file callbacks that only record the
// message (nothing is printed); libwebp, giflib and libheif return error codes. Swift receives a
// status code plus a message from every one of them.
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
    HIC_UNSUPPORTED = 6, // a valid file using a feature Hearth does not decode (message says which)
} hic_status;

// A decoded image in the codec's native layout, interleaved rows of width * channels bytes.
//   PNG:  channels 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (palette expanded, 16-bit → high byte)
//   JPEG: channels 1 gray, 3 RGB, 4 CMYK exactly as stored (Adobe files: inverted)
//   WebP: 3 RGB, 4 RGBA (files with alpha, and every animated file: its first frame's canvas)
//   TIFF: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA, or 4 CMYK stored inverted (is_cmyk), like JPEG's
//   GIF:  3 RGB, 4 RGBA (alpha 0 or 255) when the first frame has a transparent index
//   HEIF/AVIF: 3 RGB, 4 RGBA
typedef struct {
    uint32_t width;
    uint32_t height;
    uint32_t channels;
    uint32_t is_cmyk;     // channels 4 are inverted C, M, Y, K (Adobe convention), not RGBA
    uint32_t orientation; // TIFF's own Orientation tag (1...8, 1 when absent); 0 for other formats
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
// For the decoders below, header_only stops once width and height are known (no pixel buffer).
// Every one checks width * height against max_pixels from the header, before allocating.
// WebP still or animated (first frame), lossy or lossless.
hic_status hic_webp_decode(const uint8_t *data, size_t size, uint64_t max_pixels, int header_only,
                           hic_image *out);
// TIFF: the first directory (page) only.
hic_status hic_tiff_decode(const uint8_t *data, size_t size, uint64_t max_pixels, int header_only,
                           hic_image *out);
// GIF: the first frame, drawn on the logical screen (enlarged to hold the frame, as Pillow does).
hic_status hic_gif_decode(const uint8_t *data, size_t size, uint64_t max_pixels, int header_only,
                          hic_image *out);
// HEIF / HEIC / AVIF: the primary image, with libheif's irot / imir / clap transforms applied.
hic_status hic_heif_decode(const uint8_t *data, size_t size, uint64_t max_pixels, int header_only,
                           hic_image *out);
void hic_image_free(hic_image *image);

// "W x H = N pixels, above the limit of M (refused before decoding)" into out->message; returns
// HIC_TOO_LARGE if width * height > max_pixels, HIC_EMPTY_SIZE (with a message) if either is 0,
// HIC_OK otherwise. Sets out->width and out->height.
hic_status hic_check_size(uint64_t width, uint64_t height, uint64_t max_pixels, hic_image *out);

#endif
