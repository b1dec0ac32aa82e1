#!/usr/bin/env python3
"""Builds the tiny random Idefics3 (SmolVLM architecture) checkpoint and the reference outputs
that Tests/VisionTests compare Hearth with.

    python3 -m venv .venv-vlm
    .venv-vlm/bin/pip install --extra-index-url https://download.pytorch.org/whl/cpu \
        -r scripts/goldens/requirements-vlm.txt   # torch 2.13.0+cpu, transformers 5.24.0, ...
    .venv-vlm/bin/python scripts/goldens/make_vlm_goldens.py [--photo-source SKIMAGE_DATA_DIR] [--llama-cpp DIR]

Writes Tests/VisionTests/Fixtures/:
  tiny-idefics3/      HF directory: config.json, model.safetensors (float16), tokenizer.json,
                      tokenizer_config.json, preprocessor_config.json, processor_config.json,
                      chat_template.jinja, generation_config.json
  photo_cat.png, photo_portrait.png   real photos (scikit-image's public-domain `chelsea` and
                      `astronaut`, downscaled with Pillow; --photo-source re-creates them)
  goldens.json        processor tiles / prompt ids / vision, connector and logit slices / greedy ids
  *.f32               full float32 tensors named in goldens.json
  tiny-idefics3-gguf/ (with --llama-cpp) llama.cpp's convert_hf_to_gguf.py output (f16): text GGUF + mmproj GGUF
  tiny-idefics3-q8_0.gguf (with --llama-cpp) the text model quantized to Q8_0 by the same converter

The reference is transformers' PIL image processor (Idefics3ImageProcessorPil, the one that
resizes through Pillow) and Idefics3ForConditionalGeneration in float32 (eager attention).
"""
import argparse, hashlib, json, os, shutil, subprocess, sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "Tests" / "VisionTests" / "Fixtures"
MODEL_DIR = FIX / "tiny-idefics3"

# SmolVLM-256M-Instruct's chat template (chat_template.json of the Hub repository).
CHAT_TEMPLATE = ("<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
                 "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
                 "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
                 "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
                 "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}")

TRAIN_TEXT = """A cat is lying on a blanket and looking at the camera. The astronaut stands in front of a flag.
There is a dog on the grass next to a bicycle. Two people are walking along the beach at sunset.
What is in this image? Describe the picture in one sentence. How many animals can you see?
The photo shows a red car parked on a street, trees, houses, a blue sky with white clouds.
A bowl of coffee on a wooden table; a plate with bread and cheese; a window with green plants.
Answer the question about the image: what colour is the cat? It is brown and grey with stripes.
Numbers 0 1 2 3 4 5 6 7 8 9 and words: image, picture, photo, caption, question, answer.
"""

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<fake_token_around_image>", "<image>",
            "<global-img>", "<end_of_utterance>"] + [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_photos(source):
    cat = Image.open(Path(source) / "chelsea.png").convert("RGB").resize((150, 100), Image.LANCZOS)
    cat.save(FIX / "photo_cat.png", optimize=True)
    astro = Image.open(Path(source) / "astronaut.png").convert("RGB").crop((130, 0, 370, 360)).resize((80, 120), Image.LANCZOS)
    astro.save(FIX / "photo_portrait.png", optimize=True)


def make_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers, AddedToken
    tok = Tokenizer(models.BPE())
    # SmolLM2's pre-tokenization: every digit alone, then GPT-2 byte-level words.
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=SPECIALS[:3], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([TRAIN_TEXT] * 4, trainer)
    tok.add_special_tokens([AddedToken(s, normalized=False, special=True) for s in SPECIALS[3:]])
    return tok


def build_model(tokenizer_size, image_token_id):
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration
    config = Idefics3Config(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                           image_size=32, patch_size=4, layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh"),
        text_config=dict(model_type="llama", hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, vocab_size=tokenizer_size,
                         max_position_embeddings=1024, rms_norm_eps=1e-5, rope_theta=10000.0,
                         tie_word_embeddings=True, pad_token_id=0),
        scale_factor=2, image_token_id=image_token_id, tie_word_embeddings=True, pad_token_id=0)
    # As in SmolVLM's config.json (llama.cpp's converter picks the text model class from it).
    config.text_config.architectures = ["VLlama3ForCausalLM"]
    torch.manual_seed(0)
    model = Idefics3ForConditionalGeneration(config).eval()
    # Random init is tiny (std 0.02); widen it so the references exercise every path at real magnitudes.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0, 0.15 if "embed" not in name else 0.5)
            elif "norm" in name and name.endswith("weight"):
                p.uniform_(0.8, 1.2)
            else:
                p.normal_(0, 0.05)
    return model


def save_f32(name, array):
    a = np.ascontiguousarray(np.asarray(array, dtype=np.float32))
    (FIX / name).write_bytes(a.tobytes())
    return {"file": name, "shape": list(a.shape)}


def stats(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "sum": float(a.sum()), "abs_sum": float(np.abs(a).sum()),
            "first": [float(v) for v in a.reshape(-1)[:16]]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--photo-source", help="scikit-image data directory (chelsea.png, astronaut.png) to re-create the photos")
    ap.add_argument("--llama-cpp", help="llama.cpp source tree (from the llama-cpp-python sdist) for the GGUF + mmproj route")
    args = ap.parse_args()
    FIX.mkdir(parents=True, exist_ok=True)
    if args.photo_source:
        make_photos(args.photo_source)

    import transformers, tokenizers, safetensors
    from transformers import PreTrainedTokenizerFast, Idefics3Processor, Idefics3ForConditionalGeneration
    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

    if MODEL_DIR.exists():
        shutil.rmtree(MODEL_DIR)
    MODEL_DIR.mkdir(parents=True)
    tok = make_tokenizer()
    tok.save(str(MODEL_DIR / "tokenizer.json"))
    fast = PreTrainedTokenizerFast(tokenizer_file=str(MODEL_DIR / "tokenizer.json"), bos_token="<|im_start|>",
                                   eos_token="<end_of_utterance>", pad_token="<|endoftext|>", unk_token=None,
                                   additional_special_tokens=["<fake_token_around_image>", "<image>", "<end_of_utterance>"])
    vocab = len(fast)
    image_token_id = fast.convert_tokens_to_ids("<image>")

    image_processor = Idefics3ImageProcessorPil(
        do_resize=True, size={"longest_edge": 96}, do_image_splitting=True, max_image_size={"longest_edge": 32},
        resample=1, do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
        image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    image_seq_len = (32 // 4) ** 2 // (2 ** 2)
    processor = Idefics3Processor(image_processor=image_processor, tokenizer=fast, image_seq_len=image_seq_len,
                                  chat_template=CHAT_TEMPLATE)

    model = build_model(vocab, image_token_id)
    model.save_pretrained(str(MODEL_DIR), safe_serialization=True)
    # Keep the fixture small: float16 weights; the reference then runs on exactly those values.
    from safetensors.torch import load_file, save_file
    weights = load_file(str(MODEL_DIR / "model.safetensors"))
    save_file({k: v.to(torch.float16).contiguous() for k, v in weights.items()}, str(MODEL_DIR / "model.safetensors"),
              metadata={"format": "pt"})
    processor.save_pretrained(str(MODEL_DIR))
    for f in MODEL_DIR.iterdir():
        if f.name not in {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                          "preprocessor_config.json", "processor_config.json", "chat_template.jinja",
                          "chat_template.json", "generation_config.json", "special_tokens_map.json"}:
            f.unlink()
    model = Idefics3ForConditionalGeneration.from_pretrained(str(MODEL_DIR), torch_dtype=torch.float32,
                                                             attn_implementation="eager").eval()

    photos = ["photo_cat.png", "photo_portrait.png"]
    question = "What is in this image?"
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
    goldens = {"versions": {"transformers": transformers.__version__, "torch": torch.__version__,
                            "tokenizers": tokenizers.__version__, "safetensors": safetensors.__version__,
                            "pillow": Image.__version__, "numpy": np.__version__},
               "question": question, "prompt": prompt, "image_seq_len": image_seq_len, "cases": []}
    for photo in photos:
        image = Image.open(FIX / photo).convert("RGB")
        inputs = processor(images=[image], text=[prompt], return_tensors="pt")
        rows_cols = image_processor(images=[image], return_row_col_info=True)
        pixel_values = inputs["pixel_values"]           # (1, tiles, 3, 32, 32)
        ids = inputs["input_ids"][0].tolist()
        assert bool(inputs["pixel_attention_mask"].all()), "every tile is a full tile"
        with torch.no_grad():
            pv = pixel_values[0]
            vision = model.model.vision_model(pixel_values=pv).last_hidden_state      # (tiles, 64, 32)
            connector = model.model.connector(vision)                                 # (tiles, 16, 64)
            out = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                        pixel_values=pixel_values, pixel_attention_mask=inputs["pixel_attention_mask"])
            logits = out.logits[0]                                                    # (seq, vocab)
            # Greedy decoding by hand (no generation-config surprises): 12 tokens, full recompute.
            seq = inputs["input_ids"]
            greedy = []
            for _ in range(12):
                o = model(input_ids=seq, attention_mask=torch.ones_like(seq), pixel_values=pixel_values,
                          pixel_attention_mask=inputs["pixel_attention_mask"])
                nxt = int(o.logits[0, -1].argmax())
                greedy.append(nxt)
                seq = torch.cat([seq, torch.tensor([[nxt]])], dim=1)
        stem = Path(photo).stem
        goldens["cases"].append({
            "photo": photo, "rows": int(rows_cols["rows"][0][0]), "cols": int(rows_cols["cols"][0][0]),
            "tiles": int(pv.shape[0]), "pixel_values": save_f32(f"{stem}_pixels.f32", pv.numpy()),
            "input_ids": ids,
            # full tensors for the first photo, statistics for the second (fixture size)
            "vision": save_f32(f"{stem}_vision.f32", vision.numpy()) if photo == photos[0] else stats(vision.numpy()),
            "connector": save_f32(f"{stem}_connector.f32", connector.numpy()) if photo == photos[0] else stats(connector.numpy()),
            "last_logits": [float(v) for v in logits[-1]], "greedy": greedy,
            "logit_rows": {str(r): [float(v) for v in logits[r]] for r in [0, len(ids) // 2]},
        })

    # The processor with REAL SmolVLM-256M settings on a real photo: tiles, layout and checksums.
    real = Idefics3ImageProcessorPil(do_resize=True, size={"longest_edge": 2048}, do_image_splitting=True,
                                     max_image_size={"longest_edge": 512}, resample=1, rescale_factor=1 / 255,
                                     image_mean=[0.5] * 3, image_std=[0.5] * 3)
    real_processor = Idefics3Processor(image_processor=real, tokenizer=fast, image_seq_len=64, chat_template=CHAT_TEMPLATE)
    image = Image.open(FIX / photos[0]).convert("RGB")
    inputs = real_processor(images=[image], text=[prompt], return_tensors="pt")
    info = real(images=[image], return_row_col_info=True)
    pv = inputs["pixel_values"][0].numpy().astype(np.float64)   # (tiles, 3, 512, 512)
    rng = np.random.default_rng(0)
    flat = pv.reshape(-1)
    sample_at = sorted(int(i) for i in rng.integers(0, flat.size, 64))
    goldens["real_processor"] = {
        "photo": photos[0], "size": 2048, "tile": 512, "image_seq_len": 64,
        "rows": int(info["rows"][0][0]), "cols": int(info["cols"][0][0]), "tiles": int(pv.shape[0]),
        "input_ids": inputs["input_ids"][0].tolist(),
        "tile_sums": [float(t.sum()) for t in pv], "tile_abs_sums": [float(np.abs(t).sum()) for t in pv],
        "samples": {str(i): float(flat[i]) for i in sample_at},
    }

    files = {f.name: sha256(f) for f in sorted(MODEL_DIR.iterdir())}
    goldens["model_files"] = files

    if args.llama_cpp:
        goldens["gguf"] = make_gguf(Path(args.llama_cpp))

    (FIX / "goldens.json").write_text(json.dumps(goldens, indent=1) + "\n")
    total = sum(f.stat().st_size for f in FIX.rglob("*") if f.is_file())
    print(f"wrote {FIX} ({total / 1024:.0f} KB)")


def make_gguf(llama_cpp):
    """llama.cpp's converter on the tiny checkpoint: the text model and the mmproj projector."""
    out = FIX / "tiny-idefics3-gguf"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    env = dict(os.environ, PYTHONPATH=str(llama_cpp / "gguf-py"))
    # The converter identifies the pre-tokenizer by hashing what the tokenizer does to a test text;
    # this tiny BPE has SmolLM2's pre-tokenization (digits alone + byte-level GPT-2) but its own
    # vocabulary, so no hash matches: name it explicitly (a wrapper that pins get_vocab_base_pre).
    wrapper = out / "convert.py"
    wrapper.write_text(
        "import sys, runpy\n"
        f"sys.path.insert(0, {str(llama_cpp)!r})\n"
        "import convert_hf_to_gguf as c\n"
        "from conversion import base\n"
        "base.TextModel.get_vocab_base_pre = lambda self, tokenizer: 'smollm'\n"
        "sys.argv = ['convert_hf_to_gguf.py'] + sys.argv[1:]\n"
        "c.main()\n")
    results = {}
    # f16 text + mmproj (the pair), and the text model in Q8_0 (llama.cpp's block quantization) beside them.
    for name, outtype, target, extra in [("text", "f16", out / "tiny-idefics3-f16.gguf", []),
                                         ("mmproj", "f16", out / "mmproj-tiny-idefics3-f16.gguf", ["--mmproj"]),
                                         ("text_q8_0", "q8_0", FIX / "tiny-idefics3-q8_0.gguf", [])]:
        cmd = [sys.executable, str(wrapper), str(MODEL_DIR), "--outtype", outtype, "--outfile", str(target)] + extra
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        results[name] = {"ok": r.returncode == 0, "log_tail": (r.stdout + r.stderr)[-1500:]}
        if r.returncode != 0:
            print(f"converter failed for {name}:\n{r.stderr[-3000:]}", file=sys.stderr)
    wrapper.unlink()
    for f in list(out.iterdir()) + [FIX / "tiny-idefics3-q8_0.gguf"]:
        if f.exists():
            results.setdefault("files", {})[f.name] = sha256(f)
    return results


if __name__ == "__main__":
    main()
