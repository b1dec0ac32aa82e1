// A bounded reader over bytes in memory: the read callback behind giflib's DGifOpen and
// libtiff's TIFFClientOpenExt (gif_decode.c, tiff_decode.c).
#ifndef HEARTH_MEM_READER_H
#define HEARTH_MEM_READER_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t position;      // may pass `size` after a seek; reads there give 0 bytes
    int ran_out;          // a read asked for bytes past the end
} mem_reader;

// Copies up to `count` bytes from the position into `into` and advances; fewer (and `ran_out`
// set) at the end. A negative count reads nothing. Returns the bytes copied.
size_t mem_reader_read(mem_reader *reader, void *into, int64_t count);

#endif
