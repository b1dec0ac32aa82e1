#!/usr/bin/env python3
"""Golden detections for Hearth's YOLOv3-tiny (Tests/DetectionTests/Fixtures/yolo_goldens.json).

Reference: OpenCV DNN's Darknet importer (cv2.dnn.readNetFromDarknet) on the same cfg/weights that
`hearth models install yolov3-tiny` installs. Made with opencv-python-headless 4.14.0.94 and numpy
(in .venv-cv: python3 -m venv .venv-cv && .venv-cv/bin/pip install -r scripts/goldens/requirements-yolo.txt).

    .venv-cv/bin/python scripts/goldens/make_yolo_goldens.py MODEL_DIR OUT.json IMAGE...

The blob fed to OpenCV is built exactly as Hearth builds it (Sources/Models/Detection/Letterbox.swift):
darknet's letterbox_image geometry (aspect-preserving fit, integer sizes and offsets, gray 0.5
canvas), RGB scaled to [0, 1], resized as float32 with cv2.resize INTER_LINEAR (half-pixel centres,
no antialiasing), planar (1, 3, H, W). Images are decoded with cv2.imread (EXIF orientation applied).

Recorded per image: blob statistics and sampled values (to check Hearth's decode + letterbox), raw
YOLO-head outputs (the `conv_15` / `conv_22` convolutions that feed the [yolo] layers: sum, mean |x|,
max |x| and 97 sampled values each), and the final detections after darknet's post-processing
(yolo_layer.c get_yolo_detections + box.c do_nms_sort, threshold 0.25, NMS 0.45), which this script
implements in numpy on OpenCV's raw head outputs and cross-checks against OpenCV's own [yolo] layer
boxes. Tolerances used by the tests: labels equal, boxes within 3 px, scores within 0.02.
"""
import json
import os
import sys

import cv2
import numpy as np

THRESH, NMS = 0.25, 0.45


def parse_heads(cfg_path):
    """[yolo] sections: (anchors for its mask, classes), in order; and the net input size."""
    sections, current = [], None
    for raw in open(cfg_path):
        line = "".join(raw.split())
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = {"name": line[1:-1]}
            sections.append(current)
        else:
            k, v = line.split("=", 1)
            current[k] = v
    net = sections[0]
    heads = []
    for s in sections[1:]:
        if s["name"] == "yolo":
            anchors = [float(a) for a in s["anchors"].split(",")]
            mask = [int(m) for m in s["mask"].split(",")]
            heads.append(([(anchors[2 * m], anchors[2 * m + 1]) for m in mask], int(s["classes"])))
    return int(net["width"]), int(net["height"]), heads


def letterbox(rgb, net_w, net_h):
    h, w = rgb.shape[:2]
    if net_w / w < net_h / h:
        new_w, new_h = net_w, max(1, h * net_w // w)
    else:
        new_h, new_w = net_h, max(1, w * net_h // h)
    dx, dy = (net_w - new_w) // 2, (net_h - new_h) // 2
    resized = cv2.resize(rgb.astype(np.float32) / 255.0, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((net_h, net_w, 3), 0.5, dtype=np.float32)
    canvas[dy:dy + new_h, dx:dx + new_w] = resized
    return canvas.transpose(2, 0, 1)[None].copy(), (new_w, new_h, dx, dy)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def decode(raw, anchors, classes, net_w, net_h, geometry, img_w, img_h):
    """darknet get_yolo_detections on one head's raw output (1, A*(5+C), H, W)."""
    new_w, new_h, dx, dy = geometry
    _, _, gh, gw = raw.shape
    v = raw[0].reshape(len(anchors), 5 + classes, gh, gw).astype(np.float64)
    out = []
    for a, (aw, ah) in enumerate(anchors):
        obj = sigmoid(v[a, 4])
        for row, col in zip(*np.nonzero(obj > THRESH)):
            x = (col + sigmoid(v[a, 0, row, col])) / gw
            y = (row + sigmoid(v[a, 1, row, col])) / gh
            bw = np.exp(v[a, 2, row, col]) * aw / net_w
            bh = np.exp(v[a, 3, row, col]) * ah / net_h
            probs = obj[row, col] * sigmoid(v[a, 5:, row, col])
            probs[probs <= THRESH] = 0
            sx, sy = img_w / new_w, img_h / new_h
            cx, cy = (x * net_w - dx) * sx, (y * net_h - dy) * sy
            ww, hh = bw * net_w * sx, bh * net_h * sy
            out.append({"box": [cx - ww / 2, cy - hh / 2, cx + ww / 2, cy + hh / 2], "probs": probs,
                        "rel": [x, y, bw, bh], "obj": float(obj[row, col])})
    return out


def iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def nms_per_class(dets, classes):
    for k in range(classes):
        order = sorted([i for i, d in enumerate(dets) if d["probs"][k] > 0], key=lambda i: (-dets[i]["probs"][k], i))
        for n, i in enumerate(order):
            if dets[i]["probs"][k] == 0:
                continue
            for j in order[n + 1:]:
                if dets[j]["probs"][k] > 0 and iou(dets[i]["box"], dets[j]["box"]) > NMS:
                    dets[j]["probs"][k] = 0
    return [d for d in dets if (d["probs"] > 0).any()]


def main():
    model_dir, out_path, images = sys.argv[1], sys.argv[2], sys.argv[3:]
    cfg = os.path.join(model_dir, "yolov3-tiny.cfg")
    weights = os.path.join(model_dir, "yolov3-tiny.weights")
    labels = [l.strip() for l in open(os.path.join(model_dir, "coco.names")) if l.strip()]
    net_w, net_h, heads = parse_heads(cfg)
    cv2.setNumThreads(2)
    net = cv2.dnn.readNetFromDarknet(cfg, weights)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    head_layers = ["conv_15", "conv_22"]
    rng = np.random.default_rng(6)
    fixture = {"reference": f"opencv-python-headless {cv2.__version__} (cv2.dnn.readNetFromDarknet), numpy {np.__version__}",
               "threshold": THRESH, "nms": NMS, "input": [net_w, net_h], "images": []}
    for path in images:
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        img_h, img_w = rgb.shape[:2]
        blob, geometry = letterbox(rgb, net_w, net_h)
        net.setInput(blob)
        outs = net.forward(head_layers + ["yolo_16", "yolo_23"])
        raws, yolo_outs = outs[:2], outs[2:]
        flat_blob = blob.reshape(-1)
        blob_idx = rng.choice(flat_blob.size, 97, replace=False)
        record = {"file": os.path.basename(path), "width": img_w, "height": img_h, "letterbox": list(geometry),
                  "blob": {"sum": float(flat_blob.astype(np.float64).sum()), "indices": blob_idx.tolist(),
                           "values": flat_blob[blob_idx].tolist()},
                  "heads": [], "objects": []}
        dets = []
        for raw, (anchors, classes), yolo_out in zip(raws, heads, yolo_outs):
            flat = raw.reshape(-1).astype(np.float64)
            idx = rng.choice(flat.size, 97, replace=False)
            record["heads"].append({"shape": list(raw.shape[1:]), "sum": float(flat.sum()), "mean_abs": float(np.abs(flat).mean()),
                                    "max_abs": float(np.abs(flat).max()), "indices": idx.tolist(), "values": flat[idx].tolist()})
            head_dets = decode(raw, anchors, classes, net_w, net_h, geometry, img_w, img_h)
            # Cross-check the numpy decode against OpenCV's [yolo] layer (rows: x, y, w, h, obj, class scores).
            _, _, gh, gw = raw.shape
            for d in head_dets:
                x, y, bw, bh = d["rel"]
                match = np.abs(yolo_out[:, 0] - x).argmin()
                row = yolo_out[match]
                assert abs(row[0] - x) < 1e-4 and abs(row[1] - y) < 1e-4 and abs(row[2] - bw) < 1e-4 \
                    and abs(row[3] - bh) < 1e-4, (path, row[:4], d["rel"])
            dets += head_dets
        kept = nms_per_class(dets, len(labels))
        objects = []
        for d in kept:
            for k in np.nonzero(d["probs"] > THRESH)[0]:
                b = d["box"]
                box = [min(max(b[0], 0), img_w), min(max(b[1], 0), img_h), min(max(b[2], 0), img_w), min(max(b[3], 0), img_h)]
                objects.append({"label": labels[k], "class": int(k), "score": float(d["probs"][k]), "box": [float(v) for v in box]})
        objects.sort(key=lambda o: -o["score"])
        record["objects"] = objects
        fixture["images"].append(record)
        print(f"{os.path.basename(path)} {img_w}x{img_h}: " + ", ".join(f"{o['label']} {o['score']:.2f}" for o in objects))
    with open(out_path, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
