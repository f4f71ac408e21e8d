#!/usr/bin/env python3
"""Make a small synthetic multiple-choice dataset in VLMEvalKit's TSV format.

Writes, into OUT:
  {name}.tsv    columns index, image, question, A, B, C, D, answer (tab-separated, as
                VLMEvalKit's RealWorldQA.tsv): `image` is a base64 JPEG or PNG drawn with PIL
                (coloured shapes on a plain background, sizes 160..640 px in varied aspect ratios),
                or for a few rows the index of an earlier row whose image it shares (<= 64 chars);
                `D` is empty for 3-option items; `answer` is the correct letter.
  {name}.json   the same items as data, for tests: index, question, options, answer, image_ref,
                width, height, format, and `bad` (why a --bad-rows row cannot be run).

Questions ask about colour, shape, count and position, so a model that sees the image can answer.
With --bad-rows two rows are added at the end: one whose image is valid base64 of bytes that are
no image, and one whose question is missing. With --long-question WORDS one more row follows, a
valid image with a question of WORDS words (longer than a run's text budget: an item error).

Deterministic: the same arguments give byte-identical files. Runs on Debian's python3 (PIL, no
numpy needed): /usr/bin/python3 scripts/make_demo_data.py --out DIR
"""
import argparse
import base64
import io
import json
import os
import random

from PIL import Image, ImageDraw

COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 160, 50),
    "blue": (30, 60, 210),
    "yellow": (235, 200, 20),
    "purple": (130, 40, 160),
    "orange": (240, 130, 20),
    "black": (15, 15, 15),
    "white": (245, 245, 245),
}
BACKGROUNDS = [(200, 200, 200), (250, 240, 220), (180, 210, 230), (60, 60, 70), (225, 235, 205)]
KINDS = ["circle", "square", "triangle", "diamond"]
LETTERS = "ABCD"


def draw_shape(draw, kind, colour, cx, cy, r):
    box = [cx - r, cy - r, cx + r, cy + r]
    if kind == "circle":
        draw.ellipse(box, fill=colour)
    elif kind == "square":
        draw.rectangle(box, fill=colour)
    elif kind == "triangle":
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
    elif kind == "diamond":
        draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=colour)


def make_scene(rng, qtype):
    """A canvas size, a background and shapes, shaped so that `qtype` has a clear answer."""
    w = rng.choice([160, 224, 320, 448, 512, 640, 600, 300])
    h = rng.choice([160, 240, 320, 448, 480, 640, 200, 360])
    bg = rng.choice(BACKGROUNDS)
    colours = [c for c in COLOURS if COLOURS[c] != bg]
    shapes = []
    if qtype == "count":
        kind = rng.choice(KINDS)
        colour = rng.choice(colours)
        n = rng.randint(1, 5)
        shapes = [(kind, colour) for _ in range(n)]
    elif qtype == "position":
        kinds = rng.sample(KINDS, 2)
        cols = rng.sample(colours, 2)
        shapes = [(kinds[0], cols[0]), (kinds[1], cols[1])]
    else:  # colour, shape: a single shape
        shapes = [(rng.choice(KINDS), rng.choice(colours))]
    # Place without overlap: split the width into equal slots, one shape per slot.
    r = max(10, min(w // (2 * len(shapes) + 1), h // 4))
    slots = list(range(len(shapes)))
    rng.shuffle(slots)
    placed = []
    for (kind, colour), slot in zip(shapes, slots):
        slot_w = w / len(shapes)
        cx = int(slot_w * slot + slot_w / 2)
        cy = rng.randint(r + 2, h - r - 2)
        if qtype == "position":
            # one shape clearly left or right, the other elsewhere
            cx = int(w * (0.2 if slot == 0 else 0.8))
        placed.append({"kind": kind, "colour": colour, "cx": cx, "cy": cy, "r": r})
    return {"w": w, "h": h, "bg": bg, "shapes": placed}


def render(scene, fmt):
    mode = "RGBA" if fmt == "PNG-RGBA" else "RGB"
    bg = scene["bg"] + ((255,) if mode == "RGBA" else ())
    img = Image.new(mode, (scene["w"], scene["h"]), bg)
    draw = ImageDraw.Draw(img)
    for s in scene["shapes"]:
        fill = COLOURS[s["colour"]] + ((255,) if mode == "RGBA" else ())
        draw_shape(draw, s["kind"], fill, s["cx"], s["cy"], s["r"])
    buf = io.BytesIO()
    if fmt == "JPEG":
        img.save(buf, format="JPEG", quality=90)
    else:
        img.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def options_with(rng, correct, pool, n):
    others = [p for p in pool if p != correct]
    opts = rng.sample(others, n - 1) + [correct]
    rng.shuffle(opts)
    return opts


def make_question(rng, qtype, scene):
    """(question, options, answer letter) for a scene, or None when the scene does not fit."""
    shapes = scene["shapes"]
    if qtype == "colour":
        kinds = [s["kind"] for s in shapes]
        unique = [s for s in shapes if kinds.count(s["kind"]) == 1]
        if not unique:
            return None
        s = unique[0]
        opts = options_with(rng, s["colour"], list(COLOURS), 4)
        return f"What colour is the {s['kind']}?", opts, LETTERS[opts.index(s["colour"])]
    if qtype == "shape":
        if len(shapes) != 1:
            return None
        opts = options_with(rng, shapes[0]["kind"], KINDS, rng.choice([3, 4]))
        return "What shape is shown in the image?", opts, LETTERS[opts.index(shapes[0]["kind"])]
    if qtype == "count":
        kinds = {s["kind"] for s in shapes}
        if len(kinds) != 1:
            return None
        kind = kinds.pop()
        n = len(shapes)
        opts = [str(x) for x in options_with(rng, n, list(range(1, 7)), 4)]
        return f"How many {kind}s are there in the image?", opts, LETTERS[opts.index(str(n))]
    if qtype == "position":
        if len(shapes) != 2:
            return None
        s = shapes[rng.randrange(2)]
        side = "Left" if s["cx"] < scene["w"] / 2 else "Right"
        opts = ["Left", "Right", "Centre"]
        rng.shuffle(opts)
        q = f"On which side of the image is the {s['colour']} {s['kind']}?"
        return q, opts, LETTERS[opts.index(side)]
    raise ValueError(qtype)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output folder (made if missing)")
    ap.add_argument("--name", default="RealWorldQA", help="dataset name: writes {name}.tsv")
    ap.add_argument("--n", type=int, default=40, help="number of good rows")
    ap.add_argument("--seed", type=int, default=0, help="random seed")
    ap.add_argument("--bad-rows", action="store_true",
                    help="add a row with undecodable image bytes and one with no question")
    ap.add_argument("--long-question", type=int, default=0, metavar="WORDS",
                    help="add a row whose question is WORDS words long (0: none)")
    ap.add_argument("--kind", default="mcq",
                    choices=["mcq", "mmbench", "mmstar", "ai2d", "seedbench", "scienceqa", "mmmu",
                             "pope", "mme", "hallusion"],
                    help="column layout: mcq (RealWorldQA's, default) or a benchmark's "
                         "(scripts/demo_benchmark_layouts.py); only {name}.tsv for the latter")
    args = ap.parse_args()
    if args.n < 1:
        ap.error("--n must be >= 1")

    rng = random.Random(args.seed)
    qtypes = ["colour", "shape", "count", "position"]
    rows = []  # dicts for the JSON sidecar; "image" holds the TSV cell
    scenes = {}
    for i in range(args.n):
        # Every 9th row (from row 5 on) reuses an earlier row's image by reference.
        if i >= 5 and i % 9 == 5:
            ref = rng.choice([r for r in rows if r["image_ref"] is None and r["bad"] is None])
            scene = scenes[ref["index"]]
            for qtype in rng.sample(qtypes, len(qtypes)):
                made = make_question(rng, qtype, scene)
                if made:
                    break
            q, opts, ans = made
            rows.append({"index": i, "image": str(ref["index"]), "image_ref": ref["index"],
                         "question": q, "options": opts, "answer": ans, "width": scene["w"],
                         "height": scene["h"], "format": ref["format"], "bad": None})
            continue
        qtype = qtypes[i % len(qtypes)]
        scene = make_scene(rng, qtype)
        q, opts, ans = make_question(rng, qtype, scene)
        fmt = "PNG-RGBA" if i == 3 else ("PNG" if i % 7 == 6 else "JPEG")
        scenes[i] = scene
        rows.append({"index": i, "image": render(scene, fmt), "image_ref": None, "question": q,
                     "options": opts, "answer": ans, "width": scene["w"], "height": scene["h"],
                     "format": fmt, "bad": None})

    if args.bad_rows:
        i = args.n
        garbage = bytes(rng.randrange(256) for _ in range(300))
        rows.append({"index": i, "image": base64.b64encode(garbage).decode("ascii"),
                     "image_ref": None, "question": "What colour is the circle?",
                     "options": ["red", "green", "blue", "white"], "answer": "A", "width": None,
                     "height": None, "format": None, "bad": "undecodable image"})
        scene = make_scene(rng, "shape")
        rows.append({"index": i + 1, "image": render(scene, "JPEG"), "image_ref": None,
                     "question": None, "options": ["circle", "square", "triangle"],
                     "answer": "A", "width": scene["w"], "height": scene["h"], "format": "JPEG",
                     "bad": "missing question"})

    if args.long_question > 0:
        i = len(rows)
        scene = make_scene(rng, "shape")
        rows.append({"index": i, "image": render(scene, "PNG"), "image_ref": None,
                     "question": " ".join(["Which"] + ["very"] * (args.long_question - 2) +
                                          ["shape?"]),
                     "options": ["circle", "square", "triangle"], "answer": "A",
                     "width": scene["w"], "height": scene["h"], "format": "PNG",
                     "bad": "question longer than the text budget"})

    os.makedirs(args.out, exist_ok=True)
    if args.kind != "mcq":
        from demo_benchmark_layouts import write_layout  # next to this script
        write_layout(args.kind, rows, scenes, args.out, args.name, rng)
        return
    tsv_path = os.path.join(args.out, f"{args.name}.tsv")
    with open(tsv_path, "w", encoding="utf-8", newline="") as f:
        f.write("\t".join(["index", "image", "question", "A", "B", "C", "D", "answer"]) + "\n")
        for r in rows:
            opts = r["options"] + [""] * (4 - len(r["options"]))
            cells = [str(r["index"]), r["image"], r["question"] or ""] + opts + [r["answer"]]
            for c in cells:
                assert "\t" not in c and "\n" not in c and not c.startswith('"'), c
            f.write("\t".join(cells) + "\n")

    items = []
    for r in rows:
        items.append({
            "index": r["index"], "question": r["question"],
            "options": {LETTERS[k]: v for k, v in enumerate(r["options"])},
            "answer": r["answer"], "image_ref": r["image_ref"], "width": r["width"],
            "height": r["height"], "format": r["format"], "bad": r["bad"],
        })
    with open(os.path.join(args.out, f"{args.name}.json"), "w", encoding="utf-8") as f:
        json.dump({"name": args.name, "seed": args.seed, "items": items}, f, indent=1,
                  ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
