#!/usr/bin/env python3
"""Make the Pillow reference for InternVL2 image preprocessing (the CTest fixture
`fixture.preprocess_reference`). Run with Debian's python3 (Pillow 9.4, numpy, torch).

Writes, into OUT (deterministic: seeded numpy, fixed encoder settings):
  images/<name>.<jpg|png>   the input images, as files (JPEG q90/q75 at 4:4:4 and 4:2:0, grayscale
                            JPEG, RGB/RGBA/LA/L/P/1-bit PNG), sizes 1x1 .. 2000x300
  tiles/<name>_max<M>.png   the tiles InternVL2's load_image recipe makes with max_num M, after the
                            resize and crop and before ToTensor: every tile is 448x448 RGB, stacked
                            top to bottom in recipe order (grid row-major, thumbnail last). PNG is
                            lossless, so these are Pillow's exact 8-bit values, at a sixth of the bytes
                            of raw RGB. When max 12 picks the same grid as max 6 the file is shared.
  normalized/<name>_max<M>.bin   float32 [N,3,448,448] little-endian: ToTensor + Normalize, done
                            the torchvision way in torch (uint8 -> float32 /255, sub_(mean) div_(std)),
                            for a couple of images
  index.json                {"python", "pillow", "images": [{name, file, mode, format, width, height,
                            "runs": {"6": {grid: [cols, rows], num_tiles, tiles, shape}, "12": ...},
                            "normalized": {"6": {file, shape}}?}],
                            "target_ratios": {"1": [[i, j], ...], ..., "40": [...]}}  (CPython's order)
"""
import argparse
import json
import os
import sys

import numpy as np
import PIL
import torch
from PIL import Image, ImageDraw

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INPUT_SIZE = 448
MAX_NUMS = (6, 12)


# ---- InternVL2's recipe, as published (model card / vlmeval/vlm/internvl/utils.py) --------------
def find_closest_aspect_ratio(aspect_ratio, target_ratios, width, height, image_size):
    best_ratio_diff = float('inf')
    best_ratio = (1, 1)
    area = width * height
    for ratio in target_ratios:
        target_aspect_ratio = ratio[0] / ratio[1]
        ratio_diff = abs(aspect_ratio - target_aspect_ratio)
        if ratio_diff < best_ratio_diff:
            best_ratio_diff = ratio_diff
            best_ratio = ratio
        elif ratio_diff == best_ratio_diff:
            if area > 0.5 * image_size * image_size * ratio[0] * ratio[1]:
                best_ratio = ratio
    return best_ratio


def target_ratios_for(min_num, max_num):
    target_ratios = set(
        (i, j) for n in range(min_num, max_num + 1) for i in range(1, n + 1) for j in range(1, n + 1) if
        i * j <= max_num and i * j >= min_num)
    return sorted(target_ratios, key=lambda x: x[0] * x[1])


def dynamic_preprocess(image, min_num=1, max_num=12, image_size=448, use_thumbnail=False):
    orig_width, orig_height = image.size
    aspect_ratio = orig_width / orig_height
    target_ratios = target_ratios_for(min_num, max_num)
    target_aspect_ratio = find_closest_aspect_ratio(
        aspect_ratio, target_ratios, orig_width, orig_height, image_size)
    target_width = image_size * target_aspect_ratio[0]
    target_height = image_size * target_aspect_ratio[1]
    blocks = target_aspect_ratio[0] * target_aspect_ratio[1]
    resized_img = image.resize((target_width, target_height))
    processed_images = []
    for i in range(blocks):
        box = (
            (i % (target_width // image_size)) * image_size,
            (i // (target_width // image_size)) * image_size,
            ((i % (target_width // image_size)) + 1) * image_size,
            ((i // (target_width // image_size)) + 1) * image_size
        )
        split_img = resized_img.crop(box)
        processed_images.append(split_img)
    assert len(processed_images) == blocks
    if use_thumbnail and len(processed_images) != 1:
        thumbnail_img = image.resize((image_size, image_size))
        processed_images.append(thumbnail_img)
    return processed_images, target_aspect_ratio


def to_normalized_tensor(tile):
    """torchvision's Resize((448,448), BICUBIC) (a copy on 448x448), ToTensor, Normalize."""
    tile = tile.resize((INPUT_SIZE, INPUT_SIZE), Image.BICUBIC)
    img = torch.from_numpy(np.array(tile, np.uint8, copy=True))
    img = img.view(tile.size[1], tile.size[0], 3).permute((2, 0, 1)).contiguous()
    t = img.to(dtype=torch.float32).div(255)
    mean = torch.as_tensor(IMAGENET_MEAN, dtype=torch.float32).view(-1, 1, 1)
    std = torch.as_tensor(IMAGENET_STD, dtype=torch.float32).view(-1, 1, 1)
    return t.sub_(mean).div_(std)


# ---- test images -------------------------------------------------------------------------------
def make_content(w, h, seed, noise):
    """Gradients + shapes + seeded noise in a band, HxWx3 uint8: sharp edges and texture for the resampler."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    fx = x / max(w - 1, 1)
    fy = y / max(h - 1, 1)
    base = np.stack([255 * fx, 255 * fy, 127 + 127 * np.sin(6.28 * (fx + fy) * (1 + seed % 3))], -1)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), 'RGB')
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x0, x1 = sorted(rng.randint(0, w, 2).tolist())
        y0, y1 = sorted(rng.randint(0, h, 2).tolist())
        colour = tuple(rng.randint(0, 256, 3).tolist())
        if rng.rand() < 0.5:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
        else:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
    for k in range(3):  # thin lines: the hardest case for a resampler
        draw.line([(0, rng.randint(0, h)), (w - 1, rng.randint(0, h))],
                  fill=tuple(rng.randint(0, 256, 3).tolist()), width=1 + k)
    arr = np.asarray(img).astype(np.int16)
    if noise:  # texture in one band (a third of the image), so the tile files stay small
        band = slice(h // 3, max(2 * h // 3, h // 3 + 1))
        arr[band] += rng.randint(-noise, noise + 1, arr[band].shape).astype(np.int16)
    return np.clip(arr, 0, 255).astype(np.uint8)


# name, width, height, kind, noise.  kinds: jpeg90/jpeg75 (4:2:0), jpeg90_444/jpeg75_444,
# jpeg_gray, png_rgb, png_rgba, png_la, png_l, png_p (palette with a transparent entry), png_1.
IMAGES = [
    ("px1x1", 1, 1, "png_rgb", 0),
    ("s5x3", 5, 3, "png_rgb", 40),
    ("s3x5", 3, 5, "jpeg90_444", 40),
    ("s2x2_l", 2, 2, "png_l", 0),
    ("s17x9_rgba", 17, 9, "png_rgba", 30),
    ("sq448", 448, 448, "jpeg90", 20),
    ("w896x448", 896, 448, "jpeg75", 20),
    ("sq1000", 1000, 1000, "jpeg90_444", 12),
    ("sq800", 800, 800, "png_rgb", 8),
    ("hd1920x1080", 1920, 1080, "jpeg75", 10),
    ("wide2000x300", 2000, 300, "png_rgb", 6),
    ("tall300x2000", 300, 2000, "jpeg_gray", 10),
    ("vga_gray", 640, 480, "jpeg_gray", 15),
    ("xga1024x768", 1024, 768, "jpeg75", 15),
    ("tie500x250", 500, 250, "jpeg90", 20),
    ("tie1400x700", 1400, 700, "jpeg75", 8),
    ("tie300x900", 300, 900, "png_rgb", 10),
    ("tie700x2100", 700, 2100, "jpeg75", 6),
    ("tie1500x500", 1500, 500, "jpeg90", 8),
    ("la333x222", 333, 222, "png_la", 20),
    ("pal250x180", 250, 180, "png_p", 0),
    ("l123x456", 123, 456, "png_l", 25),
    ("bw64x48", 64, 48, "png_1", 0),
    ("rgba600x400", 600, 400, "png_rgba", 10),
    ("n449x447", 449, 447, "png_rgb", 20),
    ("n447x449", 447, 449, "jpeg90", 20),
    ("line1x300", 1, 300, "png_rgb", 30),
    ("line300x1", 300, 1, "png_rgb", 30),
    ("strip1000x10", 1000, 10, "jpeg90", 20),
    ("odd777x333", 777, 333, "jpeg90", 20),
    ("hd1280x720_444", 1280, 720, "jpeg90_444", 10),
    ("sq1024_l", 1024, 1024, "png_l", 6),
    ("sq950", 950, 950, "jpeg75", 8),
    ("sq951", 951, 951, "jpeg75", 8),
    ("sq634", 634, 634, "jpeg90", 10),
    ("sq633", 633, 633, "png_rgb", 10),
    ("pal256x1024", 256, 1024, "png_p", 0),
    ("odd333x777_420", 333, 777, "jpeg75", 15),
    ("s31x17", 31, 17, "jpeg75", 40),
    ("s100x37", 100, 37, "png_rgb", 40),
]
NORMALIZED = {"sq448": 6, "n449x447": 12}


def write_image(path_base, arr, kind, seed):
    img = Image.fromarray(arr, 'RGB')
    if kind.startswith("jpeg"):
        path = path_base + ".jpg"
        if kind == "jpeg_gray":
            img.convert('L').save(path, quality=90)
        else:
            quality = 90 if kind.startswith("jpeg90") else 75
            img.save(path, quality=quality, subsampling=0 if kind.endswith("_444") else 2)
        return path
    path = path_base + ".png"
    if kind == "png_rgb":
        img.save(path)
    elif kind in ("png_rgba", "png_la"):
        rng = np.random.RandomState(seed + 1000)
        h, w = arr.shape[:2]
        alpha = rng.randint(0, 256, (h, w)).astype(np.uint8)
        alpha[: h // 2] = 0  # fully transparent pixels keep their colour under convert('RGB')
        out = img.convert('RGBA' if kind == "png_rgba" else 'LA')
        out.putalpha(Image.fromarray(alpha, 'L'))
        out.save(path)
    elif kind == "png_l":
        img.convert('L').save(path)
    elif kind == "png_1":
        img.convert('1').save(path)
    elif kind == "png_p":
        pal = img.quantize(colors=37, method=Image.Quantize.MEDIANCUT)
        pal.info["transparency"] = 3
        pal.save(path, transparency=3)
    else:
        raise ValueError(kind)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    for sub in ("images", "tiles", "normalized"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)

    index = {"python": sys.version.split()[0], "pillow": PIL.__version__, "input_size": INPUT_SIZE,
             "images": [],
             "target_ratios": {str(m): [list(r) for r in target_ratios_for(1, m)]
                               for m in range(1, 41)}}
    for seed, (name, w, h, kind, noise) in enumerate(IMAGES):
        arr = make_content(w, h, seed, noise)
        path = write_image(os.path.join(args.out, "images", name), arr, kind, seed)
        src = Image.open(path)
        entry = {"name": name, "file": os.path.relpath(path, args.out), "mode": src.mode,
                 "format": src.format, "width": w, "height": h, "runs": {}}
        image = src.convert('RGB')
        grids = {}
        for max_num in MAX_NUMS:
            tiles, grid = dynamic_preprocess(image, image_size=INPUT_SIZE, use_thumbnail=True,
                                             max_num=max_num)
            if grid in grids:  # same grid: same resize, same thumbnail
                tiles_file = grids[grid]
            else:
                tiles_file = "tiles/%s_max%d.png" % (name, max_num)
                stack = np.concatenate([np.asarray(t) for t in tiles], axis=0)
                Image.fromarray(stack, 'RGB').save(os.path.join(args.out, tiles_file),
                                                   compress_level=3)
                grids[grid] = tiles_file
            entry["runs"][str(max_num)] = {"grid": list(grid), "num_tiles": len(tiles),
                                           "tiles": tiles_file,
                                           "shape": [len(tiles), INPUT_SIZE, INPUT_SIZE, 3]}
            if NORMALIZED.get(name) == max_num:
                pv = torch.stack([to_normalized_tensor(t) for t in tiles])
                nfile = "normalized/%s_max%d.bin" % (name, max_num)
                pv.numpy().astype('<f4').tofile(os.path.join(args.out, nfile))
                entry.setdefault("normalized", {})[str(max_num)] = {"file": nfile,
                                                                    "shape": list(pv.shape)}
        index["images"].append(entry)
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main()
