#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/<target>/ from the project's own fixtures: configs/, the
Pillow fixture images (scripts/fixtures/make_preprocess_reference.py), the exported manifests
(scripts/fixtures/make_test_model.sh, scripts/fixtures/make_size_manifests.sh), the demo TSV and
record file (scripts/demo.sh), and a few hand-written edge cases. Every seed is kept small (< 64
KiB).

Usage: /usr/bin/python3 fuzz/make_seed_corpus.py [--testdata BUILD/testdata] [--demo demo/]
"""
import argparse
import base64
import glob
import hashlib
import io
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MAX_SEED = 64 << 10


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_SEED:
        return
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def run_config_seeds():
    """VLMEvalKit --config JSON files (run_config_fuzzer), in the shapes its docs show."""
    put("run_config_fuzzer", "minimal.json",
        json.dumps({"model": {"InternVL2-8B": {}}, "data": {"MMBench_DEV_EN": {}}}, indent=4))
    put("run_config_fuzzer", "full.json", json.dumps({
        "model": {
            "InternVL2-76B-2gpu": {"class": "InternVLChat",
                                   "model_path": "OpenGVLab/InternVL2-Llama3-76B",
                                   "version": "V2.0", "max_new_tokens": 64,
                                   "placement": "internvl-split", "do_sample": False},
            "Demo": {"base": "InternVL2-Demo", "model_dir": "models/InternVL2-Demo"}},
        "data": {
            "MMBench_DEV_EN": {"class": "ImageMCQDataset", "dataset": "MMBench_DEV_EN"},
            "Shapes": {"class": "ImageMCQDataset", "dataset": "DemoShapes"}}}, indent=4))
    put("run_config_fuzzer", "errors.json",
        '{"model": {"X": {"max_new_tokens": 1e999, "clas": 1}}, "data": {"Y": []}}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--testdata", default=os.path.join(ROOT, "build", "testdata"))
    ap.add_argument("--demo", default=os.path.join(ROOT, "demo"))
    a = ap.parse_args()

    # configs: YAML and the accelerate device_map JSON
    for p in glob.glob(os.path.join(ROOT, "configs/placements/*.yaml")):
        put("placement_config_fuzzer", os.path.basename(p), read(p))
    for p in glob.glob(os.path.join(ROOT, "configs/placements/examples/*.json")):
        put("device_map_fuzzer", os.path.basename(p), read(p))
    put("device_map_fuzzer", "small.json",
        '{"vision_model": 0, "mlp1": 0, "language_model.model.layers.0": 1, '
        '"language_model.output": "cpu"}')
    for p in glob.glob(os.path.join(ROOT, "configs/models/*.yaml")):
        put("model_config_fuzzer", os.path.basename(p), read(p))
    for p in glob.glob(os.path.join(ROOT, "configs/datasets/*.yaml")):
        put("dataset_spec_fuzzer", os.path.basename(p), read(p))

    # manifests of the tiny export and the config-only size manifests
    for p in sorted(glob.glob(os.path.join(a.testdata, "models/*/manifest.json")) +
                    glob.glob(os.path.join(a.testdata, "size_manifests/*/manifest.json"))):
        put("manifest_fuzzer", os.path.basename(os.path.dirname(p)) + ".json", read(p))
    tiny = os.path.join(a.testdata, "models/InternVL2-tiny/manifest.json")
    if os.path.exists(tiny):  # with the sha256 fields of a hashed export
        m = json.loads(read(tiny))
        for u in m["units"]:
            u["sha256"] = hashlib.sha256(u["name"].encode()).hexdigest()
        m["files"] = {"tokenizer.model": hashlib.sha256(b"t").hexdigest()}
        put("manifest_fuzzer", "tiny_hashed.json", json.dumps(m))

    # images: the small Pillow fixtures, plus the same picture in BMP, TIFF, PPM and WebP
    images = sorted(glob.glob(os.path.join(a.testdata, "preprocess/images/*")))
    for p in images:
        if os.path.getsize(p) <= 8 << 10:
            put("image_decode_fuzzer", os.path.basename(p), read(p))
    try:
        from PIL import Image
        src = os.path.join(a.testdata, "preprocess/images/s31x17.jpg")
        if os.path.exists(src):
            im = Image.open(src).convert("RGB")
            for fmt, ext in (("BMP", "bmp"), ("TIFF", "tif"), ("PPM", "ppm"), ("WEBP", "webp"),
                             ("PNG", "png")):
                b = io.BytesIO()
                try:
                    im.save(b, fmt)
                except (KeyError, OSError):
                    continue
                put("image_decode_fuzzer", "s31x17." + ext, b.getvalue())
                if fmt in ("PNG", "BMP"):
                    put("base64_fuzzer", "s31x17_" + ext + ".b64",
                        base64.b64encode(b.getvalue()))
    except ImportError:
        pass
    put("base64_fuzzer", "padding.b64", "YQ==\nYWI=\r\nYWJj")
    put("base64_fuzzer", "list.b64", "['aGVsbG8=', 'd29ybGQ=']")

    # TSVs: the head of the demo dataset (small rows), the demo predictions, edge cases
    demo_tsv = os.path.join(a.demo, "LMUData/RealWorldQA.tsv")
    if os.path.exists(demo_tsv):
        lines = read(demo_tsv).split(b"\n")
        put("tsv_fuzzer", "demo_head.tsv", b"\n".join(lines[:2]) + b"\n")
    for p in glob.glob(os.path.join(a.demo, "outputs/*/*/*_RealWorldQA.tsv"))[:1]:
        put("tsv_fuzzer", "predictions.tsv", read(p))
    put("tsv_fuzzer", "quoting.tsv",
        '\ufeffindex\tq\tA\tB\r\n0\t"multi\r\nline"\t"x""y"\t\r\n\r\n'
        '1\tno "quote" here\t"tab\there"\t""\r\n2\t"end"tail\t\u4e2d\tlast')
    put("tsv_fuzzer", "types.tsv", "index\tf\tb\tn\n007\t1.5e3\tTrue\tNA\n-2\tinf\tfalse\t\n")

    # record files: the demo run's records
    for p in glob.glob(os.path.join(a.demo, "outputs/*/*/*_records.jsonl"))[:1]:
        lines = read(p).split(b"\n")
        put("record_file_fuzzer", "demo_records.jsonl", b"\n".join(lines[:3]) + b"\n")
        put("record_file_fuzzer", "truncated.jsonl", b"\n".join(lines[:2]) + b"\n" + lines[2][:40])

    # tokenizer.json: the small reference tokenizers the text tests make, if any
    for p in glob.glob(os.path.join(a.testdata, "tokenizer/**/tokenizer.json"), recursive=True):
        put("bpe_tokenizer_fuzzer", os.path.basename(os.path.dirname(p)) + ".json", read(p))

    run_config_seeds()

    for t in sorted(os.listdir(os.path.join(HERE, "corpus"))):
        n = len(os.listdir(os.path.join(HERE, "corpus", t)))
        print("%-24s %d seeds" % (t, n))


if __name__ == "__main__":
    main()
