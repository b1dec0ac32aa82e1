#!/usr/bin/env bash
# The darknet binary's own detections on the sample photos (Debian 12's `darknet`
# 0.0.0+git20180914.61c9d02e-2+b4, `detector test`, thresh 0.25, its default NMS 0.45) with the
# installed yolov3-tiny, as Tests/DetectionTests/Fixtures/darknet_binary.json: per photo, the
# "label: NN%" lines it prints. Needs `apt-get install darknet` (not part of make test).
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${MODEL_DIR:-$HOME/.cache/hearth/models/yolov3-tiny}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
printf 'classes= 80\nnames = %s/coco.names\n' "$model" > "$work/coco.data"
{
  echo "{"
  echo "  \"darknet\": \"$(dpkg-query -W -f='${Version}' darknet)\","
  first=1
  for photo in dog.jpg horses.jpg person.jpg; do
    # This build shows the picture and waits for a key after printing: stdout unbuffered, Qt
    # offscreen, and a timeout ends it once the lines are out.
    lines=$(cd "$work" && QT_QPA_PLATFORM=offscreen timeout 60 stdbuf -o0 darknet detector test coco.data \
      "$model/yolov3-tiny.cfg" "$model/yolov3-tiny.weights" "$OLDPWD/samples/$photo" -thresh 0.25 2>/dev/null \
      | grep -E '^[a-z ]+: [0-9]+%$' || true)
    [ -n "$lines" ] || { echo "no detections printed for $photo" >&2; exit 1; }
    json=$(printf '%s\n' "$lines" | sed -E 's/^(.*): ([0-9]+)%$/["\1", \2]/' | paste -sd, -)
    [ $first = 1 ] || echo ","
    first=0
    printf '  "%s": [%s]' "$photo" "$json"
  done
  echo ""
  echo "}"
} > Tests/DetectionTests/Fixtures/darknet_binary.json
cat Tests/DetectionTests/Fixtures/darknet_binary.json
