#!/usr/bin/env python3
"""Rewrites a VLMEvalKit TSV with embedded images as a meta-only one, the form VLMEvalKit reads
when a TSV has an `image_path` column and no `image` column.

Every row's image (one base64 cell, or a Python list of them) becomes files under
{out}/images/{name}/ named {index}.{ext} ({index}_{k}.{ext} for a list), and the row names them in
`image_path`, relative to that folder, where VLMEvalKit's dump_image looks for them (its img_root,
LMUData/images/{dataset}). Every other column is kept as it is; `image_path` takes the place of
`image`. Rows whose image is a reference to another row's index (<= 64 characters) name that row's
files.

Usage: make_meta_only_tsv.py --tsv DemoShapes.tsv --out LMUDATA --name DemoMeta
"""
import argparse
import ast
import base64
import csv
import os
import sys


def extension(data):
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    return "bin"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tsv", required=True, help="a VLMEvalKit TSV with an `image` column")
    ap.add_argument("--out", required=True, help="the data root to write into (LMUData)")
    ap.add_argument("--name", required=True, help="dataset name: writes {out}/{name}.tsv")
    args = ap.parse_args()

    csv.field_size_limit(sys.maxsize)
    with open(args.tsv, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    header, rows = rows[0], rows[1:]
    if "image" not in header or "index" not in header:
        sys.exit(f"{args.tsv}: needs `index` and `image` columns")
    img_col, idx_col = header.index("image"), header.index("index")
    folder = os.path.join(args.out, "images", args.name)
    os.makedirs(folder, exist_ok=True)

    paths = {}  # index -> image_path cell
    for row in rows:
        cell, index = row[img_col], row[idx_col]
        if len(cell) <= 64:
            continue  # a reference, resolved below
        images = ast.literal_eval(cell) if cell.startswith("[") and cell.endswith("]") else [cell]
        names = []
        for k, b64 in enumerate(images):
            data = base64.b64decode(b64)
            name = f"{index}.{extension(data)}" if len(images) == 1 else \
                f"{index}_{k}.{extension(data)}"
            with open(os.path.join(folder, name), "wb") as out:
                out.write(data)
            names.append(name)
        paths[index] = names[0] if len(names) == 1 else repr(names)

    out_header = [("image_path" if c == "image" else c) for c in header]
    with open(os.path.join(args.out, args.name + ".tsv"), "w", newline="",
              encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(out_header)
        for row in rows:
            cell, index = row[img_col], row[idx_col]
            row = list(row)
            row[img_col] = paths[cell] if len(cell) <= 64 else paths[index]
            w.writerow(row)


if __name__ == "__main__":
    main()
