// FFmpeg (libavformat, libavcodec, libswresample, libswscale) behind a small C API, for the
// containers and codecs libsndfile and the image libraries cannot read: AAC/M4A, MP4/MOV/MKV/WebM
// soundtracks, WMA, AMR, AC-3, and video frames. Only the file: protocol and a whitelist of
// demuxers are enabled, so a hostile file cannot make FFmpeg open URLs or other files (hls,
// concat). All FFmpeg logging is captured into the error strings; nothing prints.
#ifndef HEARTH_AV_CODECS_H
#define HEARTH_AV_CODECS_H
#include <stddef.h>
#include <stdint.h>

// Counts the audio and video streams (cover art excluded) of a container FFmpeg can open:
// 0 with the counts, -1 (reason in `err`) when it cannot be opened.
int hav_probe_streams(const char *path, int *audio_streams, int *video_streams, char *err, size_t errlen);

typedef struct hav_audio hav_audio;

typedef struct {
    int sample_rate;          // of the chosen stream, Hz
    int channels;             // of the chosen stream
    int stream_index;         // the chosen stream's index among all the container's streams
    int audio_streams;        // audio streams in the container
    int video_streams;        // video streams (cover art excluded)
    double duration;          // seconds the container or stream header declares; < 0 when unknown
    char codec[32];           // e.g. "aac", "opus", "wmav2"
    char container[64];       // demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
} hav_audio_info;

// Opens `path`, picks its `stream`-th audio stream (counted from 0 among the audio streams;
// -1: the first) and prepares
// decoding to mono float at the stream's own rate. NULL on failure, with the reason in `err`.
hav_audio *hav_audio_open(const char *path, int stream, hav_audio_info *info, char *err, size_t errlen);

// Reads `max_frames` mono samples into `out` (fewer only at the end). Returns the count, 0 at the end of the
// stream, -1 on an error (reason in `err`). After the end, `hav_audio_check_complete` tells
// whether the stream was cut short or largely corrupt.
long hav_audio_read(hav_audio *reader, float *out, long max_frames, char *err, size_t errlen);

// 0 when decoding ended normally; -1 with the reason when the decoded length falls short of the
// declared duration or too many packets could not be decoded.
int hav_audio_check_complete(hav_audio *reader, char *err, size_t errlen);

// Seconds decoded so far.
double hav_audio_decoded_seconds(const hav_audio *reader);

void hav_audio_close(hav_audio *reader);

typedef struct hav_video hav_video;

typedef struct {
    int width, height;        // coded frame size (before rotation)
    int stream_index;
    double duration;          // seconds; < 0 unknown
    double frame_rate;        // average frames per second; 0 unknown
    int rotation;             // display-matrix rotation in degrees clockwise: 0, 90, 180, 270
    char codec[32];
    char container[64];
} hav_video_info;

// Opens the first (or chosen) video stream of `path` for frame sampling. Cover-art streams
// (attached pictures) are skipped. `max_pixels` bounds width × height before anything is allocated.
hav_video *hav_video_open(const char *path, int stream, long max_pixels, hav_video_info *info, char *err, size_t errlen);

// Decodes forward to the first frame whose time is ≥ `seconds` and writes it as packed RGB24
// (width × height × 3 bytes, rotation NOT applied) into `rgb`, which holds `capacity` bytes; its
// presentation time goes to `frame_time`. Returns 1 on a frame, 0 when the stream ended first,
// -1 on an error. Times must be asked for in increasing order.
int hav_video_frame_at(hav_video *reader, double seconds, uint8_t *rgb, size_t capacity, double *frame_time,
                       char *err, size_t errlen);

void hav_video_close(hav_video *reader);

#endif
