#include "mem_reader.h"
#include <string.h>

size_t mem_reader_read(mem_reader *reader, void *into, int64_t count) {
    size_t left = reader->position < reader->size ? reader->size - reader->position : 0;
    size_t n = count < 0 ? 0 : (uint64_t)count > SIZE_MAX ? SIZE_MAX : (size_t)count;
    if (n > left) {
        n = left;
        reader->ran_out = 1;
    }
    if (n > 0) memcpy(into, reader->data + reader->position, n);
    reader->position += n;
    return n;
}
