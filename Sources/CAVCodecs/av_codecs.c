// FFmpeg wrappers; see include/av_codecs.h. API: FFmpeg 5.1 (Debian 12), channel layouts as
// AVChannelLayout (https://ffmpeg.org/doxygen/5.1/group__lavu__audio__channels.html).
#include "av_codecs.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/display.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Demuxers a file may be read with (av_match_list matches any one name of a demuxer's list).
// Left out on purpose: network and playlist demuxers (hls, dash, rtsp, sdp), concat and other
// readers of further files, image sequences.
static const char *kDemuxers =
    "mov,matroska,webm,asf,amr,amrnb,amrwb,ac3,eac3,aac,mp3,wav,w64,flac,ogg,avi,caf,aiff,au,"
    "mpegts,mpeg,flv,wv,ape,dts,mxf,tta,truehd,mlp,3gp";

// The last message FFmpeg logged at error level on this thread; appended to error strings.
static __thread char last_log[256];

static void capture_log(void *context, int level, const char *format, va_list args) {
    (void)context;
    if (level > AV_LOG_ERROR) return;
    vsnprintf(last_log, sizeof last_log, format, args);
    size_t n = strlen(last_log);
    while (n > 0 && (last_log[n - 1] == '\n' || last_log[n - 1] == ' ')) last_log[--n] = 0;
}

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static void install_log(void) { av_log_set_callback(capture_log); }

static void set_error(char *err, size_t errlen, int code, const char *format, ...) {
    if (!err || errlen == 0) return;
    char what[256];
    va_list args;
    va_start(args, format);
    vsnprintf(what, sizeof what, format, args);
    va_end(args);
    char reason[128] = "";
    if (code < 0) av_strerror(code, reason, sizeof reason);
    if (last_log[0] && code < 0)
        snprintf(err, errlen, "%s (FFmpeg: %s; %s)", what, reason, last_log);
    else if (code < 0)
        snprintf(err, errlen, "%s (FFmpeg: %s)", what, reason);
    else if (last_log[0])
        snprintf(err, errlen, "%s (FFmpeg: %s)", what, last_log);
    else
        snprintf(err, errlen, "%s", what);
}

static AVFormatContext *open_container(const char *path, char *err, size_t errlen) {
    pthread_once(&log_once, install_log);
    last_log[0] = 0;
    AVDictionary *options = NULL;
    av_dict_set(&options, "protocol_whitelist", "file", 0);
    av_dict_set(&options, "format_whitelist", kDemuxers, 0);
    char *url = av_asprintf("file:%s", path);  // never a URL, whatever the path looks like
    AVFormatContext *fmt = NULL;
    int rc = url ? avformat_open_input(&fmt, url, NULL, &options) : AVERROR(ENOMEM);
    av_free(url);
    av_dict_free(&options);
    if (rc < 0) {
        set_error(err, errlen, rc, "not a readable audio or video container");
        return NULL;
    }
    rc = avformat_find_stream_info(fmt, NULL);
    if (rc < 0) {
        set_error(err, errlen, rc, "cannot read the container's streams");
        avformat_close_input(&fmt);
        return NULL;
    }
    return fmt;
}

static int is_cover_art(const AVStream *stream) { return (stream->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0; }

static double declared_seconds(const AVFormatContext *fmt, const AVStream *stream) {
    if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0) return stream->duration * av_q2d(stream->time_base);
    if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0) return fmt->duration / (double)AV_TIME_BASE;
    return -1;
}

static AVCodecContext *open_decoder(AVStream *stream, char *err, size_t errlen) {
    const AVCodec *codec = avcodec_find_decoder(stream->codecpar->codec_id);
    if (!codec) {
        set_error(err, errlen, 0, "no decoder for the codec '%s'", avcodec_get_name(stream->codecpar->codec_id));
        return NULL;
    }
    AVCodecContext *dec = avcodec_alloc_context3(codec);
    int rc = dec ? avcodec_parameters_to_context(dec, stream->codecpar) : AVERROR(ENOMEM);
    if (rc >= 0) {
        dec->thread_count = 1;
        dec->pkt_timebase = stream->time_base;
        rc = avcodec_open2(dec, codec, NULL);
    }
    if (rc < 0) {
        set_error(err, errlen, rc, "cannot open the '%s' decoder", codec->name);
        avcodec_free_context(&dec);
        return NULL;
    }
    return dec;
}

int hav_probe_streams(const char *path, int *audio_streams, int *video_streams, char *err, size_t errlen) {
    AVFormatContext *fmt = open_container(path, err, errlen);
    if (!fmt) return -1;
    int audio = 0, video = 0;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        enum AVMediaType type = fmt->streams[i]->codecpar->codec_type;
        if (type == AVMEDIA_TYPE_AUDIO) audio++;
        if (type == AVMEDIA_TYPE_VIDEO && !is_cover_art(fmt->streams[i])) video++;
    }
    avformat_close_input(&fmt);
    *audio_streams = audio;
    *video_streams = video;
    return 0;
}

// One stream being decoded: the container, the stream's decoder and the packet / frame buffers.
typedef struct {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *packet;
    AVFrame *frame;
    int stream;
} decoding;

// Opens the decoder of stream `index` of `fmt` (taken over: closed on failure); the other
// streams are discarded, so the demuxer skips their payloads. `max_pixels` > 0 bounds video frames.
static int start_decoding(decoding *d, AVFormatContext *fmt, int index, long max_pixels, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    AVCodecContext *dec = open_decoder(fmt->streams[index], err, errlen);
    if (!dec) {
        avformat_close_input(&fmt);
        return -1;
    }
    if (max_pixels > 0) dec->max_pixels = max_pixels;
    AVPacket *packet = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    if (!packet || !frame) {
        av_packet_free(&packet);
        av_frame_free(&frame);
        avcodec_free_context(&dec);
        avformat_close_input(&fmt);
        set_error(err, errlen, AVERROR(ENOMEM), "out of memory");
        return -1;
    }
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        if ((int)i != index) fmt->streams[i]->discard = AVDISCARD_ALL;
    *d = (decoding){fmt, dec, packet, frame, index};
    return 0;
}

static void stop_decoding(decoding *d) {
    av_packet_free(&d->packet);
    av_frame_free(&d->frame);
    avcodec_free_context(&d->dec);
    avformat_close_input(&d->fmt);
}

// MARK: audio

struct hav_audio {
    decoding d;
    SwrContext *swr;
    int out_rate;
    AVChannelLayout in_layout;  // what swr is configured for
    int in_rate, in_format;
    float *pending;             // converted samples not yet handed out: [pending_pos, pending_len)
    long pending_len, pending_pos, pending_cap;
    int64_t decoded;            // samples handed out or pending, at out_rate
    long packets, bad_packets;
    int read_error;             // av_read_frame failed with something other than end of file
    char read_error_text[160];
    int draining, finished;
    int duration_is_estimate;
    double declared;
};

// Largest frame accepted from a decoder, in samples (PCM in a container can come in big packets).
static const int kMaxFrameSamples = 1 << 22;

hav_audio *hav_audio_open(const char *path, int stream, hav_audio_info *info, char *err, size_t errlen) {
    AVFormatContext *fmt = open_container(path, err, errlen);
    if (!fmt) return NULL;
    int audio = 0, video = 0;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        enum AVMediaType type = fmt->streams[i]->codecpar->codec_type;
        if (type == AVMEDIA_TYPE_AUDIO) audio++;
        if (type == AVMEDIA_TYPE_VIDEO && !is_cover_art(fmt->streams[i])) video++;
    }
    // The first audio stream, as faster-whisper's decode_audio takes it, or the `stream`-th.
    int index = -1, wanted = stream < 0 ? 0 : stream;
    for (unsigned i = 0, seen = 0; i < fmt->nb_streams && index < 0; i++)
        if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO && (int)seen++ == wanted) index = (int)i;
    if (index < 0) {
        if (audio == 0)
            set_error(err, errlen, 0, video > 0 ? "has no audio stream (video only)" : "has no audio stream");
        else
            set_error(err, errlen, 0, "has no audio stream %d (it has %d, numbered from 0)", wanted, audio);
        avformat_close_input(&fmt);
        return NULL;
    }
    AVStream *st = fmt->streams[index];
    if (st->codecpar->sample_rate <= 0 || st->codecpar->ch_layout.nb_channels <= 0) {
        set_error(err, errlen, 0, "invalid audio stream header: %d channels at %d Hz",
                  st->codecpar->ch_layout.nb_channels, st->codecpar->sample_rate);
        avformat_close_input(&fmt);
        return NULL;
    }
    hav_audio *reader = calloc(1, sizeof *reader);
    if (!reader) {
        avformat_close_input(&fmt);
        set_error(err, errlen, AVERROR(ENOMEM), "out of memory");
        return NULL;
    }
    if (start_decoding(&reader->d, fmt, index, 0, err, errlen) < 0) {
        free(reader);
        return NULL;
    }
    reader->out_rate = st->codecpar->sample_rate;
    reader->declared = declared_seconds(fmt, st);
    reader->duration_is_estimate = fmt->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE;
    if (info) {
        memset(info, 0, sizeof *info);
        info->sample_rate = reader->out_rate;
        info->channels = st->codecpar->ch_layout.nb_channels;
        info->stream_index = index;
        info->audio_streams = audio;
        info->video_streams = video;
        info->duration = reader->declared;
        snprintf(info->codec, sizeof info->codec, "%s", avcodec_get_name(st->codecpar->codec_id));
        snprintf(info->container, sizeof info->container, "%s", fmt->iformat->name);
    }
    return reader;
}

// Converts one decoded frame to mono float at out_rate, appended to `pending`.
static int convert_frame(hav_audio *r, const AVFrame *frame, char *err, size_t errlen) {
    if (frame->nb_samples <= 0) return 0;
    if (frame->nb_samples > kMaxFrameSamples || frame->sample_rate <= 0) {
        set_error(err, errlen, 0, "implausible audio frame: %d samples at %d Hz", frame->nb_samples, frame->sample_rate);
        return -1;
    }
    AVChannelLayout layout;
    if (frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || frame->ch_layout.nb_channels <= 0) {
        av_channel_layout_default(&layout, frame->ch_layout.nb_channels > 0 ? frame->ch_layout.nb_channels : r->d.dec->ch_layout.nb_channels);
    } else if (av_channel_layout_copy(&layout, &frame->ch_layout) < 0) {
        set_error(err, errlen, AVERROR(ENOMEM), "out of memory");
        return -1;
    }
    if (!r->swr || r->in_rate != frame->sample_rate || r->in_format != frame->format
        || av_channel_layout_compare(&r->in_layout, &layout) != 0) {
        // First frame, or the stream changed its format mid-file: (re)build the converter, whose
        // output stays mono at the first frame's rate.
        swr_free(&r->swr);
        AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
        int rc = swr_alloc_set_opts2(&r->swr, &mono, AV_SAMPLE_FMT_FLT, r->out_rate, &layout, frame->format,
                                     frame->sample_rate, 0, NULL);
        if (rc >= 0) rc = swr_init(r->swr);
        if (rc < 0) {
            set_error(err, errlen, rc, "cannot convert %d-channel audio at %d Hz", layout.nb_channels, frame->sample_rate);
            av_channel_layout_uninit(&layout);
            return -1;
        }
        av_channel_layout_uninit(&r->in_layout);
        r->in_layout = layout;
        r->in_rate = frame->sample_rate;
        r->in_format = frame->format;
    } else {
        av_channel_layout_uninit(&layout);
    }
    int room = swr_get_out_samples(r->swr, frame->nb_samples);
    if (room < 0) {
        set_error(err, errlen, room, "audio conversion failed");
        return -1;
    }
    if (r->pending_len + room > r->pending_cap) {
        long cap = r->pending_len + room;
        float *grown = realloc(r->pending, (size_t)cap * sizeof(float));
        if (!grown) {
            set_error(err, errlen, AVERROR(ENOMEM), "out of memory");
            return -1;
        }
        r->pending = grown;
        r->pending_cap = cap;
    }
    uint8_t *out = (uint8_t *)(r->pending + r->pending_len);
    int produced = swr_convert(r->swr, &out, room, (const uint8_t **)frame->extended_data, frame->nb_samples);
    if (produced < 0) {
        set_error(err, errlen, produced, "audio conversion failed");
        return -1;
    }
    r->pending_len += produced;
    r->decoded += produced;
    return 0;
}

// Moves the converter's buffered tail into `pending` once decoding has ended.
static int drain_converter(hav_audio *r, char *err, size_t errlen) {
    if (!r->swr) return 0;
    int room = swr_get_out_samples(r->swr, 0);
    if (room <= 0) return 0;
    if (r->pending_len + room > r->pending_cap) {
        float *grown = realloc(r->pending, (size_t)(r->pending_len + room) * sizeof(float));
        if (!grown) {
            set_error(err, errlen, AVERROR(ENOMEM), "out of memory");
            return -1;
        }
        r->pending = grown;
        r->pending_cap = r->pending_len + room;
    }
    uint8_t *out = (uint8_t *)(r->pending + r->pending_len);
    int produced = swr_convert(r->swr, &out, room, NULL, 0);
    if (produced > 0) {
        r->pending_len += produced;
        r->decoded += produced;
    }
    return 0;
}

// One decoding step: a frame converted into `pending`, a packet sent, or the end reached.
// 0 to go on, -1 on an error.
static int audio_step(hav_audio *r, char *err, size_t errlen) {
    int rc = avcodec_receive_frame(r->d.dec, r->d.frame);
    if (rc == 0) {
        int converted = convert_frame(r, r->d.frame, err, errlen);
        av_frame_unref(r->d.frame);
        return converted;
    }
    if (rc == AVERROR_EOF) {
        if (drain_converter(r, err, errlen) < 0) return -1;
        r->finished = 1;
        return 0;
    }
    if (rc != AVERROR(EAGAIN)) {  // a frame that would not decode: counted, skipped
        r->bad_packets++;
        return 0;
    }
    if (r->draining) {  // EAGAIN while draining should not happen; end rather than spin
        r->finished = 1;
        return 0;
    }
    rc = av_read_frame(r->d.fmt, r->d.packet);
    if (rc < 0) {
        if (rc != AVERROR_EOF && !avio_feof(r->d.fmt->pb)) {
            r->read_error = 1;
            set_error(r->read_error_text, sizeof r->read_error_text, rc, "reading the container failed");
        }
        avcodec_send_packet(r->d.dec, NULL);
        r->draining = 1;
        return 0;
    }
    if (r->d.packet->stream_index == r->d.stream) {
        r->packets++;
        rc = avcodec_send_packet(r->d.dec, r->d.packet);
        if (rc < 0 && rc != AVERROR(EAGAIN)) r->bad_packets++;
    }
    av_packet_unref(r->d.packet);
    return 0;
}

long hav_audio_read(hav_audio *r, float *out, long max_frames, char *err, size_t errlen) {
    last_log[0] = 0;
    long total = 0;
    while (total < max_frames) {
        if (r->pending_pos == r->pending_len) {
            if (r->finished) break;
            r->pending_pos = r->pending_len = 0;
            if (audio_step(r, err, errlen) < 0) return -1;
            continue;
        }
        long count = r->pending_len - r->pending_pos;
        if (count > max_frames - total) count = max_frames - total;
        memcpy(out + total, r->pending + r->pending_pos, (size_t)count * sizeof(float));
        r->pending_pos += count;
        total += count;
    }
    return total;
}

double hav_audio_decoded_seconds(const hav_audio *r) { return r->out_rate > 0 ? (double)r->decoded / r->out_rate : 0; }

int hav_audio_check_complete(hav_audio *r, char *err, size_t errlen) {
    double decoded = hav_audio_decoded_seconds(r);
    if (r->read_error) {
        set_error(err, errlen, 0, "%s after %.2f s; truncated or corrupt?", r->read_error_text, decoded);
        return -1;
    }
    // A few undecodable packets are tolerated, as FFmpeg's own tools do; more than 1 % is not.
    if (r->bad_packets > 2 && r->bad_packets * 100 > r->packets) {
        set_error(err, errlen, 0, "%ld of %ld audio packets could not be decoded; corrupt?", r->bad_packets, r->packets);
        return -1;
    }
    // Durations estimated from the bit rate (raw MP3/AAC/AC-3 streams) are not a promise.
    if (!r->duration_is_estimate && r->declared > 0 && decoded < r->declared * 0.98 - 1.0) {
        set_error(err, errlen, 0, "ends early: the container declares %.2f s of audio, only %.2f s could be decoded "
                  "(truncated, or its header states a wrong duration)", r->declared, decoded);
        return -1;
    }
    return 0;
}

void hav_audio_close(hav_audio *r) {
    if (!r) return;
    swr_free(&r->swr);
    av_channel_layout_uninit(&r->in_layout);
    stop_decoding(&r->d);
    free(r->pending);
    free(r);
}

// MARK: video

struct hav_video {
    decoding d;
    struct SwsContext *sws;
    int width, height;
    double time_base, start;
    int draining, finished;
};

hav_video *hav_video_open(const char *path, int stream, long max_pixels, hav_video_info *info, char *err, size_t errlen) {
    AVFormatContext *fmt = open_container(path, err, errlen);
    if (!fmt) return NULL;
    int index = -1;
    for (unsigned i = 0; i < fmt->nb_streams && index < 0; i++) {
        AVStream *candidate = fmt->streams[i];
        if (candidate->codecpar->codec_type != AVMEDIA_TYPE_VIDEO || is_cover_art(candidate)) continue;
        if (stream < 0 || (int)i == stream) index = (int)i;
    }
    if (index < 0) {
        set_error(err, errlen, 0, stream < 0 ? "has no video stream" : "stream %d is not a video stream", stream);
        avformat_close_input(&fmt);
        return NULL;
    }
    AVStream *st = fmt->streams[index];
    int width = st->codecpar->width, height = st->codecpar->height;
    if (width <= 0 || height <= 0 || (long)width * height > max_pixels) {
        set_error(err, errlen, 0, "video frame size %d × %d is outside 1 … %ld pixels", width, height, max_pixels);
        avformat_close_input(&fmt);
        return NULL;
    }
    hav_video *reader = calloc(1, sizeof *reader);
    if (!reader) {
        avformat_close_input(&fmt);
        set_error(err, errlen, AVERROR(ENOMEM), "out of memory");
        return NULL;
    }
    if (start_decoding(&reader->d, fmt, index, max_pixels, err, errlen) < 0) {
        free(reader);
        return NULL;
    }
    reader->width = width;
    reader->height = height;
    reader->time_base = av_q2d(st->time_base);
    reader->start = st->start_time != AV_NOPTS_VALUE ? st->start_time * reader->time_base : 0;
    if (info) {
        memset(info, 0, sizeof *info);
        info->width = width;
        info->height = height;
        info->stream_index = index;
        info->duration = declared_seconds(fmt, st);
        info->frame_rate = st->avg_frame_rate.den > 0 ? av_q2d(st->avg_frame_rate) : 0;
        const uint8_t *matrix = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
        if (matrix) {
            // av_display_rotation_get is counter-clockwise; players turn the picture clockwise by its negation.
            double degrees = -av_display_rotation_get((const int32_t *)matrix);
            if (!isnan(degrees)) {
                int quarter = (int)lround(degrees / 90.0);
                info->rotation = ((quarter % 4) + 4) % 4 * 90;
            }
        }
        snprintf(info->codec, sizeof info->codec, "%s", avcodec_get_name(st->codecpar->codec_id));
        snprintf(info->container, sizeof info->container, "%s", fmt->iformat->name);
    }
    return reader;
}

// The next decoded frame of the stream: 1, 0 at the end, -1 on an error.
static int next_video_frame(hav_video *r, char *err, size_t errlen) {
    for (;;) {
        if (r->finished) return 0;
        int rc = avcodec_receive_frame(r->d.dec, r->d.frame);
        if (rc == 0) return 1;
        if (rc == AVERROR_EOF) {
            r->finished = 1;
            return 0;
        }
        if (rc != AVERROR(EAGAIN)) continue;  // an undecodable frame: skipped, as players do
        if (r->draining) {
            r->finished = 1;
            return 0;
        }
        rc = av_read_frame(r->d.fmt, r->d.packet);
        if (rc < 0) {
            avcodec_send_packet(r->d.dec, NULL);
            r->draining = 1;
            continue;
        }
        if (r->d.packet->stream_index == r->d.stream) {
            rc = avcodec_send_packet(r->d.dec, r->d.packet);
            if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR_INVALIDDATA) {
                av_packet_unref(r->d.packet);
                set_error(err, errlen, rc, "video decoding failed");
                return -1;
            }
        }
        av_packet_unref(r->d.packet);
    }
}

int hav_video_frame_at(hav_video *r, double seconds, uint8_t *rgb, size_t capacity, double *frame_time,
                       char *err, size_t errlen) {
    last_log[0] = 0;
    if (capacity < (size_t)r->width * r->height * 3) {
        set_error(err, errlen, 0, "frame buffer too small");
        return -1;
    }
    for (;;) {
        int got = next_video_frame(r, err, errlen);
        if (got <= 0) return got;
        int64_t pts = r->d.frame->best_effort_timestamp;
        double time = pts == AV_NOPTS_VALUE ? seconds : pts * r->time_base - r->start;
        if (time + 1e-6 < seconds) {
            av_frame_unref(r->d.frame);
            continue;
        }
        // Every frame is scaled to the stream's declared size, whatever size it decoded at.
        r->sws = sws_getCachedContext(r->sws, r->d.frame->width, r->d.frame->height, r->d.frame->format, r->width, r->height,
                                      AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL, NULL);
        if (!r->sws) {
            av_frame_unref(r->d.frame);
            set_error(err, errlen, 0, "cannot convert video frames of pixel format %d", r->d.frame->format);
            return -1;
        }
        uint8_t *planes[1] = {rgb};
        int strides[1] = {r->width * 3};
        sws_scale(r->sws, (const uint8_t *const *)r->d.frame->data, r->d.frame->linesize, 0, r->d.frame->height, planes, strides);
        av_frame_unref(r->d.frame);
        if (frame_time) *frame_time = time;
        return 1;
    }
}

void hav_video_close(hav_video *r) {
    if (!r) return;
    sws_freeContext(r->sws);
    stop_decoding(&r->d);
    free(r);
}
