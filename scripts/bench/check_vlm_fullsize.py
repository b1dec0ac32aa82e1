#!/usr/bin/env python3
"""Full-size check of the VLM path: a randomly initialised model with SmolVLM-256M-Instruct's
dimensions (SigLIP 12 × 768, patch 16, 512-pixel tiles, scale factor 4 → 64 tokens per tile;
Llama 30 × 576, 9 heads / 3 KV heads; processor longest edge 2048) — no real weights can be
downloaded here — run by transformers and by `hearth ask --image` on a real photo; prints the
tile count, the timings and whether the greedy answers agree.

    .venv-vlm/bin/python scripts/bench/check_vlm_fullsize.py [--photo samples/dog.jpg] [--out .build/vlm-fullsize]

The tokenizer is the tiny fixture's, and so is the vocabulary size (SmolVLM has 49,280 tokens; the
embedding table is the only part that differs). Nothing here is committed; the figures go to the README.
"""
import argparse, json, shutil, subprocess, sys, time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "Tests" / "VisionTests" / "Fixtures" / "tiny-idefics3"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--photo", default=str(ROOT / "samples" / "dog.jpg"))
    ap.add_argument("--out", default=str(ROOT / ".build" / "vlm-fullsize"))
    ap.add_argument("--hearth", default=str(ROOT / ".build" / "release" / "hearth"))
    ap.add_argument("--tokens", type=int, default=8)
    args = ap.parse_args()
    from transformers import (Idefics3Config, Idefics3ForConditionalGeneration, Idefics3Processor, PreTrainedTokenizerFast)
    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"]:
        shutil.copy(TINY / name, out / name)
    tok = PreTrainedTokenizerFast.from_pretrained(str(out))
    image_token_id = tok.convert_tokens_to_ids("<image>")
    config = Idefics3Config(
        vision_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                           image_size=512, patch_size=16, layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh"),
        text_config=dict(model_type="llama", hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                         num_attention_heads=9, num_key_value_heads=3, vocab_size=len(tok), max_position_embeddings=8192,
                         rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True, pad_token_id=0),
        scale_factor=4, image_token_id=image_token_id, tie_word_embeddings=True, pad_token_id=0)
    config.text_config.architectures = ["VLlama3ForCausalLM"]
    torch.manual_seed(0)
    model = Idefics3ForConditionalGeneration(config).eval()
    with torch.no_grad():   # widen the tiny default init so activations have real magnitudes
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0, 0.6 / p.shape[-1] ** 0.5 if "embed" not in name else 0.5)
    model.save_pretrained(str(out), safe_serialization=True)
    image_processor = Idefics3ImageProcessorPil(do_resize=True, size={"longest_edge": 2048}, do_image_splitting=True,
                                                max_image_size={"longest_edge": 512}, resample=1, rescale_factor=1 / 255,
                                                image_mean=[0.5] * 3, image_std=[0.5] * 3)
    processor = Idefics3Processor(image_processor=image_processor, tokenizer=tok, image_seq_len=64,
                                  chat_template=(TINY / "chat_template.jinja").read_text())
    processor.save_pretrained(str(out))
    for f in out.iterdir():
        if f.name not in {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "processor_config.json",
                          "preprocessor_config.json", "chat_template.jinja", "generation_config.json"}:
            f.unlink()

    question = "What is in this image?"
    prompt = processor.apply_chat_template([{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}],
                                           add_generation_prompt=True)
    image = Image.open(args.photo).convert("RGB")
    inputs = processor(images=[image], text=[prompt], return_tensors="pt")
    tiles = int(inputs["pixel_values"].shape[1])
    began = time.time()
    with torch.no_grad():
        seq = inputs["input_ids"]
        logits = model(**inputs).logits[0, -1]
        greedy = []
        past = None
        out_ = model(**inputs, use_cache=True)
        past = out_.past_key_values
        nxt = int(out_.logits[0, -1].argmax())
        for _ in range(args.tokens):
            greedy.append(nxt)
            o = model(input_ids=torch.tensor([[nxt]]), past_key_values=past, use_cache=True)
            past = o.past_key_values
            nxt = int(o.logits[0, -1].argmax())
    hf_seconds = time.time() - began
    print(f"transformers: {tiles} tiles, {seq.shape[1]} prompt tokens, {hf_seconds:.1f} s (two prompt passes + {args.tokens} steps)")

    began = time.time()
    r = subprocess.run([args.hearth, "ask", "--image", args.photo, question, "--model", str(out), "--max-tokens", str(args.tokens),
                        "--json"], capture_output=True, text=True)
    hearth_seconds = time.time() - began
    if r.returncode != 0:
        print(r.stderr, file=sys.stderr)
        sys.exit(1)
    answer = json.loads(r.stdout)
    ids = tok(answer["answer"], add_special_tokens=False)["input_ids"]
    print(f"hearth: {answer['tiles']} tiles, {answer['prompt_tokens']} prompt tokens, {hearth_seconds:.1f} s wall "
          f"(prompt {answer['prompt_seconds']:.1f} s, generation {answer['generation_seconds']:.2f} s)")
    reference_text = tok.decode(greedy, skip_special_tokens=True).strip()
    print("greedy text identical:", reference_text == answer["answer"], repr(reference_text), repr(answer["answer"]))
    # For the optional Swift check (VisionTests, HEARTH_VLM_FULLSIZE=this directory): ids, logits, greedy ids.
    (out / "reference.json").write_text(json.dumps({
        "photo": str(Path(args.photo).resolve()), "question": question, "tiles": tiles,
        "input_ids": inputs["input_ids"][0].tolist(), "last_logits": [float(v) for v in logits], "greedy": greedy}))


if __name__ == "__main__":
    main()
