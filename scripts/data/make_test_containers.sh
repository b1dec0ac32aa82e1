#!/usr/bin/env bash
# Container and codec test files made with Debian's ffmpeg from the committed samples/jfk.wav
# (nothing is downloaded). Test tooling only, never part of the product.
#
#   scripts/data/make_test_containers.sh OUTDIR
#
# OUTDIR receives (all the same 11 s of speech unless noted):
#   jfk.m4a          AAC-LC 96 kb/s in MP4 (M4A)        jfk.webm        Opus 48 kb/s in WebM
#   jfk_video.mp4    H.264 320×240 5 fps + AAC           jfk.mkv         AC-3 in Matroska
#   jfk.wma          WMA v2 in ASF                       jfk_stereo.mov  AAC stereo 44.1 kHz in QuickTime
#   jfk.flac         FLAC (libsndfile reads it)
#   video_only.mp4   H.264, no audio stream              two_tracks.mkv  track 0 silence, track 1 speech
#   truncated.m4a    jfk.m4a with its index first, cut at 60 % of its bytes
#   no_index.m4a     jfk.m4a cut before its index (moov at the end): unreadable
#   lying.mkv        the Matroska header declares 10 × the real duration
#   long_10h.m4a     10 hours: 60 s of AAC at 16 kHz stream-copied 600 times (~60 MB)
#
# Determinism: ffmpeg runs with -bitexact and fixed encoder settings; a stamp file (hash of this
# script + ffmpeg version) makes reruns a no-op.
set -euo pipefail
export LC_ALL=C
die() { echo "make_test_containers: $*" >&2; exit 1; }
command -v ffmpeg >/dev/null || die "missing ffmpeg (apt-get install ffmpeg)"
[ $# -eq 1 ] || die "usage: $0 OUTDIR"
out=$1
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
src="$root/samples/jfk.wav"
mkdir -p "$out"
stamp="$( { sha256sum "${BASH_SOURCE[0]}" "$src"; ffmpeg -version | head -1; } | sha256sum | cut -c1-16)"
[ -f "$out/.containers.stamp" ] && [ "$(cat "$out/.containers.stamp")" = "$stamp" ] && exit 0

ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
BE=(-bitexact -fflags +bitexact)
ff -i "$src" -c:a aac -b:a 96k "${BE[@]}" -movflags +faststart "$out/jfk.m4a"
ff -i "$src" -c:a libopus -b:a 48k "${BE[@]}" "$out/jfk.webm"
ff -f lavfi -i testsrc2=size=320x240:rate=5 -i "$src" -shortest -map 0:v -map 1:a -c:v libx264 -preset ultrafast \
   -pix_fmt yuv420p -c:a aac -b:a 96k "${BE[@]}" "$out/jfk_video.mp4"
ff -i "$src" -c:a ac3 -b:a 128k "${BE[@]}" "$out/jfk.mkv"
ff -i "$src" -c:a wmav2 -b:a 64k "${BE[@]}" "$out/jfk.wma"
ff -i "$src" -af aresample=44100 -ac 2 -c:a aac -b:a 128k "${BE[@]}" "$out/jfk_stereo.mov"
ff -i "$src" -c:a flac "${BE[@]}" "$out/jfk.flac"
ff -f lavfi -i testsrc2=size=160x120:rate=5 -t 3 -c:v libx264 -preset ultrafast -pix_fmt yuv420p "${BE[@]}" "$out/video_only.mp4"
ff -f lavfi -i anullsrc=r=16000:cl=mono -i "$src" -shortest -map 0:a -map 1:a -c:a ac3 -b:a 96k "${BE[@]}" "$out/two_tracks.mkv"
# Cut files: faststart puts the index (moov) first, so the cut one still opens and ends early.
size=$(stat -c %s "$out/jfk.m4a")
head -c $((size * 6 / 10)) "$out/jfk.m4a" > "$out/truncated.m4a"
ff -i "$src" -c:a aac -b:a 96k "${BE[@]}" "$out/.tail_index.m4a"
size=$(stat -c %s "$out/.tail_index.m4a")
head -c $((size / 2)) "$out/.tail_index.m4a" > "$out/no_index.m4a"
rm -f "$out/.tail_index.m4a"
# Matroska keeps its duration as a float in the segment info (ID 0x4489): multiply it by 10.
python3 - "$out/jfk.mkv" "$out/lying.mkv" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
at = data.find(b"\x44\x89")
assert at > 0, "no Duration element"
size_byte = data[at + 2]
assert size_byte in (0x84, 0x88), hex(size_byte)
if size_byte == 0x88:
    (value,) = struct.unpack(">d", data[at + 3:at + 11]); data[at + 3:at + 11] = struct.pack(">d", value * 10)
else:
    (value,) = struct.unpack(">f", data[at + 3:at + 7]); data[at + 3:at + 7] = struct.pack(">f", value * 10)
open(sys.argv[2], "wb").write(data)
PY
# Ten hours without ten hours of encoding: one minute of AAC, then 600 stream copies of it.
ff -f lavfi -i "sine=frequency=440:sample_rate=16000:duration=60" -c:a aac -b:a 16k "${BE[@]}" "$out/.minute.m4a"
for i in $(seq 600); do echo "file '.minute.m4a'"; done > "$out/.minutes.txt"
ff -f concat -safe 0 -i "$out/.minutes.txt" -c copy "${BE[@]}" -movflags +faststart "$out/long_10h.m4a"
rm -f "$out/.minute.m4a" "$out/.minutes.txt"
echo "$stamp" > "$out/.containers.stamp"
