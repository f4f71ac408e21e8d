#!/usr/bin/env python3
"""Write the whole-run benchmark's two VLMEvalKit TSVs of photo-like images into an LMUData folder.

  BenchMCQ.tsv   shaped like RealWorldQA: columns index, image, question, A, B, C, D, answer;
                 JPEG photos-alikes (smooth gradients, noise, shapes) in the aspect ratios 4:3,
                 16:9, 1:1, 3:4, 9:16, 3:1 (wide), 2:1 and 3:2, sized so that InternVL2's dynamic
                 tiling at max_num 6 gives 3..7 tiles (thumbnail included); questions of 6..90
                 words; options A..D; the answer a letter. configs/datasets/BenchMCQ.yaml.
  BenchVQA.tsv   short-answer set in TextVQA_VAL's layout: index, image, question, answer (a
                 Python-list literal of 10 answers); configs/datasets/BenchVQA.yaml scores it
                 with vqa_textvqa and forces answers of >= 8 tokens (min_new_tokens; run it with
                 --max-new-tokens 32 for 8..32).
  BenchMCQSteady.tsv, BenchVQASteady.tsv  (--steady K, --steady-vqa K): K items of each set,
                 every (n // K)-th from the first, each three times in a row (index 3 * i + r,
                 r = 0, 1, 2; the image bytes repeated), for steady per-item times: an item
                 answered right after itself.
  bench_data.json  per set and item: width, height, the tiles of InternVL2's dynamic_preprocess
                 at max_num 6 (tiles_of), question words; and each TSV's md5.

Seeded: the same arguments give byte-identical files (numpy's legacy RandomState, Pillow's JPEG
encoder at a fixed quality). Runs on Debian's python3 (PIL, numpy):
  /usr/bin/python3 scripts/make_bench_data.py --out LMUDATA [--mcq 300] [--vqa 300] [--scale 1]
--scale < 1 shrinks every image (cheaper to write and decode); the tile counts follow the aspect
ratios, so they stay the same except for the square images (1 tile below ~634 px).
"""
import argparse
import base64
import hashlib
import io
import json
import os

import numpy as np
from PIL import Image, ImageDraw

# (aspect name, width, height, weight): RealWorldQA's photos are mostly landscape phone/dash-cam
# shots; sizes of real photos (0.5..1.5 MP).
ASPECTS = [
    ("4:3", 1024, 768, 4), ("16:9", 1280, 720, 3), ("1:1", 768, 768, 2), ("3:4", 768, 1024, 2),
    ("9:16", 720, 1280, 2), ("3:1", 1800, 600, 1), ("2:1", 1200, 600, 1), ("3:2", 1080, 720, 1),
]
COLOURS = [("red", (200, 40, 40)), ("green", (40, 150, 60)), ("blue", (40, 70, 200)),
           ("yellow", (230, 200, 40)), ("white", (240, 240, 235)), ("black", (20, 20, 25)),
           ("orange", (235, 130, 30)), ("grey", (128, 128, 128))]
OBJECTS = ["car", "truck", "traffic light", "road sign", "pedestrian", "bicycle", "building",
           "tree", "lane marking", "parked van", "bus", "crosswalk"]
WORDS = ("the a of to in on near far left right behind front which what how many is are there "
         "vehicle road lane street sign light camera image scene visible closest nearest side "
         "facing direction moving parked color colour shape distance between largest smallest "
         "ahead turn straight above below middle center edge top bottom").split()
LETTERS = "ABCD"


def tiles_of(width, height, max_num=6, min_num=1, image_size=448, use_thumbnail=True):
    """InternVL2's dynamic_preprocess tile count (find_closest_aspect_ratio, thumbnail when the
    grid has more than one block)."""
    ratios = sorted({(i, j) for n in range(min_num, max_num + 1) for i in range(1, n + 1)
                     for j in range(1, n + 1) if min_num <= i * j <= max_num},
                    key=lambda r: r[0] * r[1])
    aspect, area = width / height, width * height
    best_diff, best = float("inf"), (1, 1)
    for r in ratios:
        diff = abs(aspect - r[0] / r[1])
        if diff < best_diff:
            best_diff, best = diff, r
        elif diff == best_diff and area > 0.5 * image_size * image_size * r[0] * r[1]:
            best = r
    blocks = best[0] * best[1]
    return blocks + (1 if use_thumbnail and blocks > 1 else 0)


def photo(rng, w, h):
    """A photo-like RGB image: a sky/ground gradient with a slanting horizon, blurred blobs,
    shapes with edges, and sensor noise (so JPEG size and decode cost are those of photos)."""
    sw, sh = max(8, w // 4), max(8, h // 4)  # the smooth part at a quarter size, then upscaled
    y = np.linspace(0.0, 1.0, sh, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, sw, dtype=np.float32)[None, :]
    top, bottom = rng.randint(60, 230, 3), rng.randint(30, 200, 3)
    horizon = 0.35 + 0.3 * rng.rand() + (rng.rand() - 0.5) * 0.3 * x
    t = np.clip((y - horizon) * 4 + 0.5, 0, 1)
    small = np.empty((sh, sw, 3), np.float32)
    for c in range(3):
        small[:, :, c] = (top[c] * (1 - t) + bottom[c] * t
                          + 25 * np.sin(6.28 * (x * rng.rand() * 3 + y * rng.rand())))
    for _ in range(rng.randint(3, 7)):  # soft blobs (low frequencies)
        cx, cy, r = rng.rand() * sw, rng.rand() * sh, (0.05 + 0.2 * rng.rand()) * min(sw, sh)
        d2 = ((np.arange(sw)[None, :] - cx) ** 2 + (np.arange(sh)[:, None] - cy) ** 2) / (r * r)
        small += np.exp(-d2)[:, :, None] * (rng.randint(-80, 80, 3).astype(np.float32))
    smooth = Image.fromarray(np.clip(small, 0, 255).astype(np.uint8), "RGB")
    img = np.asarray(smooth.resize((w, h), Image.BILINEAR), dtype=np.int16)
    img = img + rng.randint(-9, 10, (h, w, 3)).astype(np.int16)  # sensor noise
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(im)
    for _ in range(rng.randint(2, 8)):  # hard-edged objects
        _, col = COLOURS[rng.randint(len(COLOURS))]
        x0, y0 = int(rng.rand() * w * 0.9), int(rng.rand() * h * 0.9)
        x1 = x0 + int((0.03 + 0.25 * rng.rand()) * w)
        y1 = y0 + int((0.03 + 0.25 * rng.rand()) * h)
        if rng.rand() < 0.5:
            draw.rectangle([x0, y0, x1, y1], fill=col)
        else:
            draw.ellipse([x0, y0, x1, y1], fill=col)
    return im


def jpeg_b64(im, quality=88):
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def pick_aspect(rng, scale):
    weights = np.array([a[3] for a in ASPECTS], np.float64)
    name, w, h, _ = ASPECTS[rng.choice(len(ASPECTS), p=weights / weights.sum())]
    j = 1.0 + 0.08 * (rng.rand() - 0.5)  # size jitter, same aspect ratio
    return name, max(32, int(w * j * scale)), max(32, int(h * j * scale))


def question_text(rng, stem, lo, hi):
    """`stem` preceded by 0..hi-lo words of context, so prompt lengths vary."""
    n = rng.randint(0, hi - lo + 1)
    context = " ".join(WORDS[rng.randint(len(WORDS))] for _ in range(n))
    return (context.capitalize() + ". " if context else "") + stem


def make_mcq(rng, n, scale):
    rows, meta = [], []
    for i in range(n):
        aspect, w, h = pick_aspect(rng, scale)
        obj = OBJECTS[rng.randint(len(OBJECTS))]
        kind = rng.randint(3)
        if kind == 0:
            stem = "What color is the %s closest to the camera?" % obj
            opts = [c for c, _ in COLOURS]
        elif kind == 1:
            stem = "How many %ss are visible in the image?" % obj
            opts = [str(k) for k in range(0, 9)]
        else:
            stem = "In which direction is the %s relative to the camera?" % obj
            opts = ["left", "right", "straight ahead", "behind", "above", "below"]
        picks = [opts[k] for k in rng.permutation(len(opts))[:4]]
        q = question_text(rng, stem, 6, 90)
        answer = LETTERS[rng.randint(4)]
        rows.append([str(i), jpeg_b64(photo(rng, w, h)), q] + picks + [answer])
        meta.append({"index": i, "aspect": aspect, "width": w, "height": h,
                     "tiles": tiles_of(w, h), "question_words": len(q.split())})
    return ["index", "image", "question", "A", "B", "C", "D", "answer"], rows, meta


def make_vqa(rng, n, scale):
    rows, meta = [], []
    for i in range(n):
        aspect, w, h = pick_aspect(rng, scale)
        obj = OBJECTS[rng.randint(len(OBJECTS))]
        stems = ["what is written on the %s?" % obj, "what brand is the %s?" % obj,
                 "what number is shown on the %s?" % obj, "what color is the %s?" % obj]
        q = question_text(rng, stems[rng.randint(len(stems))], 4, 40)
        base = ["stop", "dakota", "12", "blue", "main street", "yes", "ford", "exit 4"]
        answers = [base[rng.randint(len(base))] for _ in range(10)]
        rows.append([str(i), jpeg_b64(photo(rng, w, h)), q, repr(answers)])
        meta.append({"index": i, "aspect": aspect, "width": w, "height": h,
                     "tiles": tiles_of(w, h), "question_words": len(q.split())})
    return ["index", "image", "question", "answer"], rows, meta


def write_tsv(path, header, rows):
    for r in rows:
        assert not any("\t" in c or "\n" in c for c in r), r[0]
    data = ("\t".join(header) + "\n" + "".join("\t".join(r) + "\n" for r in rows)).encode()
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)
    return hashlib.md5(data).hexdigest()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="LMUData folder to write the TSVs into")
    ap.add_argument("--mcq", type=int, default=300, help="items of BenchMCQ (0: none)")
    ap.add_argument("--vqa", type=int, default=300, help="items of BenchVQA (0: none)")
    ap.add_argument("--steady", type=int, default=0,
                    help="also write the *Steady sets of K items, three times each")
    ap.add_argument("--steady-vqa", type=int, default=None,
                    help="K of BenchVQASteady (default: --steady)")
    ap.add_argument("--scale", type=float, default=1.0, help="image size factor (smaller files for checks)")
    ap.add_argument("--seed", type=int, default=2024, help="seed")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    summary = {"seed": args.seed, "scale": args.scale}
    steady_vqa = args.steady if args.steady_vqa is None else args.steady_vqa
    for name, n, make, seed, k in (("BenchMCQ", args.mcq, make_mcq, args.seed, args.steady),
                                   ("BenchVQA", args.vqa, make_vqa, args.seed + 1, steady_vqa)):
        if n <= 0:
            continue
        header, rows, meta = make(np.random.RandomState(seed), n, args.scale)
        md5 = write_tsv(os.path.join(args.out, name + ".tsv"), header, rows)
        if k > 0:
            stride = max(1, n // k)  # spread over the set, the first item included
            steady = [[str(3 * i + r)] + rows[i][1:] for i in range(0, n, stride)[:k]
                      for r in range(3)]
            summary[name + "Steady"] = {
                "items": len(steady), "of": name,
                "md5": write_tsv(os.path.join(args.out, name + "Steady.tsv"), header, steady)}
        tiles = [m["tiles"] for m in meta]
        if args.scale == 1.0:
            assert min(tiles) >= 3 and max(tiles) <= 7, (name, sorted(set(tiles)))
        summary[name] = {"items": n, "md5": md5, "tiles_min": min(tiles), "tiles_max": max(tiles),
                         "tiles_mean": sum(tiles) / n, "items_meta": meta}
        print("%s: %d items, tiles %d..%d (mean %.2f), md5 %s"
              % (name, n, min(tiles), max(tiles), sum(tiles) / n, md5))
    with open(os.path.join(args.out, "bench_data.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
