#!/usr/bin/env python3
"""OpenCV DNN side of `make bench` (vision): yolov3-tiny on the same images, input size and threads
as Hearth. Per image: cv2.imread, the same letterbox blob as Hearth (scripts/goldens/make_yolo_goldens.py),
net.forward of both YOLO heads, darknet post-processing (threshold 0.25, NMS 0.45). Prints one JSON
object: images, seconds of the whole loop (decode + blob + forward + post-processing), seconds of
forward passes alone, model load seconds.

    python bench_vision.py MODEL_DIR THREADS INPUT_SIZE IMAGE...
"""
import json
import os
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_yolo_goldens import decode, letterbox, nms_per_class, parse_heads  # noqa: E402


def main():
    model_dir, threads, size, images = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    cv2.setNumThreads(threads)
    began = time.perf_counter()
    cfg = os.path.join(model_dir, "yolov3-tiny.cfg")
    net = cv2.dnn.readNetFromDarknet(cfg, os.path.join(model_dir, "yolov3-tiny.weights"))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    _, _, heads = parse_heads(cfg)
    load = time.perf_counter() - began
    # One warm-up pass (OpenCV allocates and fuses layers on the first forward).
    net.setInput(np.full((1, 3, size, size), 0.5, np.float32))
    net.forward(["conv_15", "conv_22"])
    forward_seconds, objects = 0.0, 0
    loop_began = time.perf_counter()
    for path in images:
        rgb = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        blob, geometry = letterbox(rgb, size, size)
        t = time.perf_counter()
        net.setInput(blob)
        raws = net.forward(["conv_15", "conv_22"])
        forward_seconds += time.perf_counter() - t
        dets = []
        for raw, (anchors, classes) in zip(raws, heads):
            dets += decode(raw, anchors, classes, size, size, geometry, w, h)
        objects += sum(int((d["probs"] > 0.25).sum()) for d in nms_per_class(dets, 80))
    loop = time.perf_counter() - loop_began
    print(json.dumps({"system": f"OpenCV {cv2.__version__} DNN", "images": len(images), "loop_seconds": loop,
                      "forward_seconds": forward_seconds, "load_seconds": load, "objects": objects}))


if __name__ == "__main__":
    main()
