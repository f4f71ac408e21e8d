#!/usr/bin/env python3
"""The same item as bench/item_bench.cpp, run by transformers' InternVLForConditionalGeneration.

Reads item_bench's JSON (the prompt's input ids, answer lengths, repetitions) and the JPEG it
wrote, loads the same OpenGVLab-layout checkpoint into transformers (bf16, sdpa, weights mapped
by scripts/fixtures/transformers_reference.py) and times, per answer length: image decode (PIL), the
upstream preprocessing (load_image / dynamic_preprocess with PIL BICUBIC, ToTensor, Normalize),
vision (get_image_features), prefill (the first forward with the image, vision excluded),
decode (one forward per further token with the KV cache, greedy, the id read back each step as
the C++ loop does) and the total. Medians over the same repetitions. Writes JSON.
Run with scripts/ on PYTHONPATH (the import root of the fixtures package), as run_item_bench.sh.
"""
import argparse
import io
import json
import os
import statistics
import time

import numpy as np
import torch
from PIL import Image

from fixtures.transformers_reference import load_hf_model  # needs scripts/ on PYTHONPATH

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def target_ratios(max_num):
    r = set((i, j) for n in range(1, max_num + 1) for i in range(1, n + 1)
            for j in range(1, n + 1) if 1 <= i * j <= max_num)
    return sorted(r, key=lambda x: x[0] * x[1])


def dynamic_preprocess(image, max_num, size):
    """InternVL's dynamic_preprocess (the model card's code)."""
    w, h = image.size
    aspect = w / h
    best_diff, best = float("inf"), (1, 1)
    for r in target_ratios(max_num):
        d = abs(aspect - r[0] / r[1])
        if d < best_diff:
            best_diff, best = d, r
        elif d == best_diff and w * h > 0.5 * size * size * r[0] * r[1]:
            best = r
    tw, th = size * best[0], size * best[1]
    resized = image.resize((tw, th), Image.BICUBIC)
    tiles = []
    for i in range(best[0] * best[1]):
        c, r = i % best[0], i // best[0]
        tiles.append(resized.crop((c * size, r * size, (c + 1) * size, (r + 1) * size)))
    if len(tiles) != 1:
        tiles.append(image.resize((size, size), Image.BICUBIC))
    return tiles


def to_pixels(tiles, device, dtype):
    arr = np.stack([np.asarray(t, dtype=np.uint8) for t in tiles])  # [N,H,W,3]
    x = torch.from_numpy(arr).to(device).permute(0, 3, 1, 2).float().div(255)
    mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=device).view(1, 3, 1, 1)
    return ((x - mean) / std).to(dtype)


def sync():
    torch.cuda.synchronize()


@torch.inference_mode()
def one_item(model, jpeg, ids, n_new, max_tiles, size, dtype):
    t = {}
    t0 = time.perf_counter()
    img = Image.open(io.BytesIO(jpeg)).convert("RGB")
    t1 = time.perf_counter()
    t["image_decode"] = (t1 - t0) * 1e3
    pv = to_pixels(dynamic_preprocess(img, max_tiles, size), "cuda", dtype)
    sync()
    t2 = time.perf_counter()
    t["preprocess"] = (t2 - t1) * 1e3
    feats = model.model.get_image_features(pixel_values=pv)
    sync()
    t3 = time.perf_counter()
    t["vision"] = (t3 - t2) * 1e3
    del feats
    input_ids = torch.tensor([ids], dtype=torch.int64, device="cuda")
    t4 = time.perf_counter()
    out = model(input_ids=input_ids, pixel_values=pv, use_cache=True)
    nxt = out.logits[0, -1].argmax()
    nxt_id = int(nxt)  # the stop check's read-back
    t5 = time.perf_counter()
    # The forward above ran the ViT again; its prefill is the rest.
    t["prefill"] = (t5 - t4) * 1e3 - t["vision"]
    pkv = out.past_key_values
    generated = [nxt_id]
    for _ in range(n_new - 1):
        out = model(input_ids=nxt.view(1, 1), past_key_values=pkv, use_cache=True)
        pkv = out.past_key_values
        nxt = out.logits[0, -1].argmax()
        generated.append(int(nxt))
    t6 = time.perf_counter()
    t["decode"] = (t6 - t5) * 1e3
    t["total"] = t["image_decode"] + t["preprocess"] + t["vision"] + t["prefill"] + t["decode"]
    return t, generated


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--export", required=True, help="the export (its manifest names ids)")
    ap.add_argument("--cpp", required=True, help="item_bench's JSON")
    ap.add_argument("--image", required=True, help="the JPEG item_bench used")
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args(argv)
    import transformers

    with open(args.cpp) as f:
        cpp = json.load(f)
    with open(os.path.join(args.export, "manifest.json")) as f:
        manifest = json.load(f)
    with open(args.image, "rb") as f:
        jpeg = f.read()
    dtype = torch.bfloat16
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    model, cfg, kind = load_hf_model(args.checkpoint, manifest["special_tokens"]["img_context"],
                                     dtype, "sdpa", "cuda")
    torch.cuda.synchronize()
    load_s = time.perf_counter() - t0
    size = manifest["vision"]["image_size"]
    reps = args.reps or cpp.get("reps", 10)
    runs = []
    for r in cpp["runs"]:
        n = r["new_tokens"]
        torch.cuda.reset_peak_memory_stats()
        stages = {}
        per_token = []
        for k in range(args.warmup + reps):
            t, gen = one_item(model, jpeg, cpp["input_ids"], n, cpp.get("max_tiles", 6), size, dtype)
            if k < args.warmup:
                continue
            for s, ms in t.items():
                stages.setdefault(s, []).append(ms)
            if n > 1:
                per_token.append(t["decode"] / (n - 1))
        run = {"new_tokens": n, "generated": len(gen),
               "median_ms": {s: statistics.median(v) for s, v in stages.items()},
               "items_per_s": 1000.0 / statistics.median(stages["total"]),
               "peak_bytes": torch.cuda.max_memory_allocated()}
        if per_token:
            run["ms_per_decoded_token"] = statistics.median(per_token)
        runs.append(run)
    out = {"implementation": "transformers %s InternVLForConditionalGeneration (%s, bf16, sdpa)"
                             % (transformers.__version__, kind),
           "torch": torch.__version__, "device": torch.cuda.get_device_name(),
           "load": {"seconds": load_s, "note": "safetensors read + weight mapping + .to(cuda)"},
           "runs": runs}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
