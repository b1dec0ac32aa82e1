#ifndef HEARTH_SHIM_H
#define HEARTH_SHIM_H
#include <stdio.h>
#include <sndfile.h>
#include <soxr.h>
#include <fftw3.h>
#include <cblas.h>
#include <png.h>
#include <jpeglib.h>
#include <zlib.h>
#endif
