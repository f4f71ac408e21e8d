#!/usr/bin/env python3
"""A VLMEvalKit-style loop with transformers over a benchmark TSV: one `generate` per item.

What VLMEvalKit's infer_data does for InternVL2, item by item, on the same items `run` answers in
bench/run_dataset_bench.sh: the dataset's prompt (InternVLChat.build_prompt: the MCQ prompt with
its options and "Answer with the option's letter...", or the short-answer suffix; "<image>\\n" in
front of a one-image question), the image's base64 decoded and opened with PIL, load_image's
dynamic tiles (dynamic_preprocess, PIL BICUBIC, thumbnail; ToTensor and Normalize on the CPU, then
moved to the device in the model's dtype), chat()'s query (the template with its system message,
<image> expanded into <img> + <IMG_CONTEXT> x num_image_token x tiles + </img>), the tokenizer of
the checkpoint, and greedy `generate` (do_sample False, max_new_tokens, min_new_tokens as the
dataset config forces them in `run`, the export's stop ids as eos). The model: transformers'
InternVLForConditionalGeneration built from the same OpenGVLab-layout checkpoint the export came
from (scripts/fixtures/transformers_reference.py's load_hf_model, as bench/transformers_item_bench.py
loads it).

Not done, as in VLMEvalKit not timed: writing the images to files (VLMEvalKit's dump_image does,
once per dataset), decoding the answer's ids to text (random weights), the pickle dumps.

Per item, on the host clock with the device synchronised at each stage's end (cheap: once per
stage, not per kernel): image_decode (base64 + PIL open + RGB), preprocess (tiles to the device
tensor), tokenize (query + ids), prefill (from the call of generate to the first token's logits:
the vision encoder and the prompt's forward; timed by a logits processor that synchronises and
reads the clock once per step, a synchronisation generate makes anyway for its stop check),
decode (the rest of generate), total. Items/s is items / the loop's wall (the model's load apart).

--harness-run DIR: checks the loop against `run`'s records of the same dataset under DIR (its
work dir): per item, the tiles and the prompt's token count must be the same (input_tokens).
Without transformers (--allow-no-transformers) only the host side runs (decode, tiles, ids, the
check) and the result says so: no items/s is written then.

Usage: dataset_bench_hf.py --checkpoint CKPT --export EXPORT --data LMUDATA --dataset BenchVQA
         --max-new-tokens 32 --out hf.json [--device cuda] [--harness-run WORK_DIR]
"""
import argparse
import base64
import csv
import glob
import io
import json
import os
import re
import string
import sys
import time

import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # bench/: transformers_item_bench (scripts/ is on PYTHONPATH, as for it)
from internvl2_export.reference import HFSlowTokenizer, build_query  # noqa: E402
from transformers_item_bench import dynamic_preprocess, to_pixels  # noqa: E402

# lib/src/data/internvl_prompt.cpp's VQA branches (VLMEvalKit's InternVLChat.build_prompt).
VQA_DETAIL = ("LLaVABench", "WildVision")
VQA_SHORT = ("OCRVQA", "TextVQA", "ChartQA", "DocVQA", "InfoVQA", "OCRBench", "DUDE", "SLIDEVQA",
             "GQA", "MMLongBench_DOC")
VQA_PLAIN = ("MathVista", "MathVision", "VCR", "MTVQA", "MMVet", "MathVerse", "MMDU", "CRPE",
             "MIA-Bench", "MM-Math", "DynaMath", "QSpatial", "WeMath", "LogicVista")


def listinstr(needles, s):
    return any(n in s for n in needles)


def cn_string(s):
    return re.search("[\u4e00-\u9fff]", s) is not None


def dataset_config(repo, name):
    """kind and min_new_tokens of configs/datasets/NAME.yaml (flat `key: value` lines)."""
    cfg = {}
    with open(os.path.join(repo, "configs", "datasets", name + ".yaml"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^([a-z_]+):\s*(\S.*?)\s*$", line)
            if m:
                cfg[m.group(1)] = m.group(2)
    return cfg


def build_prompt(row, kind, name):
    """InternVLChat.build_prompt + reorganize_prompt for a one-image item."""
    q = row["question"]
    if kind == "MCQ":
        hint = row.get("hint")
        text = (hint + "\n" + q) if hint else q
        options = [(c, row[c]) for c in string.ascii_uppercase if row.get(c)]
        for letter, option in options:
            text += "\n%s. %s" % (letter, option)
        has_options = bool(options)
        if has_options:
            text += "\n请直接回答选项字母。" if cn_string(text) else \
                "\nAnswer with the option's letter from the given choices directly."
        else:
            text += "\n请直接回答问题。" if cn_string(text) else "\nAnswer the question directly."
    elif kind == "Y/N" or kind == "YN":
        if listinstr(("MME",), name):
            text = q + " Answer the question using a single word or phrase."
        elif listinstr(("HallusionBench", "AMBER"), name):
            text = q + (" Please answer yes or no. Answer the question using a single word or "
                        "phrase.")
        else:
            text = q
    elif listinstr(VQA_DETAIL, name):
        text = q + "\nAnswer this question in detail."
    elif listinstr(VQA_PLAIN, name):
        text = q
    else:  # the short-answer benchmarks and the default branch
        text = q + "\nAnswer the question using a single word or phrase."
    return "<image>\n" + text


def read_tsv(path):
    csv.field_size_limit(1 << 30)
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    header = rows[0]
    return [dict(zip(header, r)) for r in rows[1:]]


def load_tokenizer(export):
    if os.path.exists(os.path.join(export, "tokenizer.model")):
        return HFSlowTokenizer(export)
    from internvl2_export.tokenizer import BpeTokenizer
    return BpeTokenizer(export)


def harness_records(work_dir, dataset):
    files = sorted(glob.glob(os.path.join(work_dir, "**", "*_%s_records*.jsonl" % dataset),
                             recursive=True))
    recs = {}
    for p in files:
        with open(p, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    recs[str(r["index"])] = r
    return recs


def step_clock(transformers, device):
    """A logits processor that only reads the clock (after synchronising the device) at each
    step: its first time is the end of the prefill (vision + prompt forward)."""

    class StepClock(transformers.LogitsProcessor):
        def __init__(self):
            self.times = []

        def __call__(self, input_ids, scores):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            self.times.append(time.perf_counter())
            return scores

    return StepClock()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", required=True, help="the OpenGVLab-layout checkpoint")
    ap.add_argument("--export", required=True, help="its export (manifest, tokenizer files)")
    ap.add_argument("--data", required=True, help="the LMUData folder with DATASET.tsv")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--max-new-tokens", type=int, required=True)
    ap.add_argument("--min-new-tokens", type=int, default=None,
                    help="default: the dataset config's min_new_tokens (0 when none)")
    ap.add_argument("--max-tiles", type=int, default=6, help="max_num of dynamic_preprocess")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--limit", type=int, default=0, help="only the first N items (0: all)")
    ap.add_argument("--harness-run", default=None,
                    help="`run`'s work dir for this dataset: check tiles and prompt token counts")
    ap.add_argument("--allow-no-transformers", action="store_true",
                    help="without transformers, run the host side only (a check of the script)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    repo = os.path.join(HERE, "..")

    with open(os.path.join(args.export, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    cfg = dataset_config(repo, args.dataset)
    kind = cfg.get("kind", "VQA")
    min_new = args.min_new_tokens if args.min_new_tokens is not None else \
        int(cfg.get("min_new_tokens", 0))
    dtype = getattr(torch, manifest.get("dtype", "bfloat16"))
    device = torch.device(args.device)
    size = manifest["vision"]["image_size"]
    num_image_token = manifest["vision"]["num_image_token"]
    template = manifest["template"]["name"]
    stop_ids = list(manifest.get("stop_ids", []))
    attn = manifest.get("attention", "sdpa")
    attn = attn if attn in ("eager", "sdpa") else "sdpa"

    out = {"dataset": args.dataset, "kind": kind, "max_new_tokens": args.max_new_tokens,
           "min_new_tokens": min_new, "max_tiles": args.max_tiles, "device": str(device),
           "dtype": str(dtype).replace("torch.", ""), "attention": attn, "torch": torch.__version__,
           "how": "one generate per item, greedy, as VLMEvalKit's infer_data with InternVLChat "
                  "(bench/dataset_bench_hf.py)"}
    model = None
    try:
        import transformers
        out["transformers"] = transformers.__version__
    except ImportError as e:
        if not args.allow_no_transformers:
            raise SystemExit("dataset_bench_hf: transformers is not importable (%s); it is on the "
                             "GPU machine" % e)
        out["skipped"] = ("transformers is not importable here (%s): host side only (image "
                          "decode, tiles, prompt ids, the check against run's records); no "
                          "generate, no items/s" % e)
        print("dataset_bench_hf: " + out["skipped"], file=sys.stderr)

    rows = read_tsv(os.path.join(args.data, args.dataset + ".tsv"))
    if args.limit:
        rows = rows[:args.limit]
    tokenizer = load_tokenizer(args.export)
    if "skipped" not in out:
        from fixtures.transformers_reference import load_hf_model
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        model, _, arch_kind = load_hf_model(args.checkpoint,
                                            manifest["special_tokens"]["img_context"], dtype, attn,
                                            str(device))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        out["load_s"] = time.perf_counter() - t0
        out["implementation"] = ("transformers %s InternVLForConditionalGeneration (%s text model, "
                                 "%s)" % (out["transformers"], arch_kind, attn))

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    items, stage_sum = [], {}
    sync()
    loop_start = time.perf_counter()
    for row in rows:
        t = {}
        t0 = time.perf_counter()
        img = Image.open(io.BytesIO(base64.b64decode(row["image"]))).convert("RGB")
        t1 = time.perf_counter()
        t["image_decode"] = (t1 - t0) * 1e3
        tiles = dynamic_preprocess(img, args.max_tiles, size)
        pv = to_pixels(tiles, "cpu", torch.float32).to(device=device, dtype=dtype)
        sync()
        t2 = time.perf_counter()
        t["preprocess"] = (t2 - t1) * 1e3
        query = build_query(template, build_prompt(row, kind, args.dataset), [len(tiles)],
                            num_image_token)
        ids = tokenizer.encode(query)
        t3 = time.perf_counter()
        t["tokenize"] = (t3 - t2) * 1e3
        new_tokens = None
        if model is not None:
            clock = step_clock(transformers, device)
            input_ids = torch.tensor([ids], dtype=torch.int64, device=device)
            with torch.inference_mode():
                gen = model.generate(
                    input_ids=input_ids, pixel_values=pv,
                    attention_mask=torch.ones_like(input_ids), do_sample=False,
                    max_new_tokens=args.max_new_tokens, min_new_tokens=min_new or None,
                    eos_token_id=stop_ids or None,
                    pad_token_id=stop_ids[0] if stop_ids else None,
                    logits_processor=transformers.LogitsProcessorList([clock]))
            sync()
            t4 = time.perf_counter()
            new_tokens = int(gen.shape[1] - input_ids.shape[1])
            first = clock.times[0] if clock.times else t4
            t["prefill"] = (first - t3) * 1e3
            t["decode"] = (t4 - first) * 1e3
        t["total"] = (time.perf_counter() - t0) * 1e3
        for k, v in t.items():
            stage_sum[k] = stage_sum.get(k, 0.0) + v
        items.append([row["index"], len(tiles), len(ids), new_tokens, t["total"]])
    loop_s = time.perf_counter() - loop_start

    out["items"] = len(items)
    out["loop_s"] = loop_s
    out["stage_ms_sum"] = stage_sum
    out["items_columns"] = ["index", "tiles", "input_tokens", "new_tokens", "total_ms"]
    out["items_detail"] = items
    if model is not None:
        n_new = sum(i[3] for i in items)
        out["items_per_s"] = len(items) / loop_s if loop_s > 0 else None
        out["new_tokens"] = n_new
        decode_tokens = sum(max(0, i[3] - 1) for i in items)
        out["decode_tokens"] = decode_tokens
        out["decode_tokens_per_s"] = (decode_tokens / (stage_sum["decode"] / 1e3)
                                      if stage_sum.get("decode") else None)
        if device.type == "cuda":
            out["peak_memory_bytes"] = torch.cuda.max_memory_allocated(device)
            out["device_name"] = torch.cuda.get_device_name(device)
    if args.harness_run:
        recs = harness_records(args.harness_run, args.dataset)
        mism = []
        compared = 0
        for idx, tiles, n_ids, _, _ in items:
            r = recs.get(str(idx))
            if r is None:
                continue
            compared += 1
            theirs = (sum(r.get("tiles_per_image") or [0]), r.get("input_tokens"))
            if theirs != (tiles, n_ids):
                mism.append({"index": idx, "tiles": [tiles, theirs[0]],
                             "input_tokens": [n_ids, theirs[1]]})
        out["harness_check"] = {"run": args.harness_run, "compared": compared,
                                "mismatched": len(mism), "first_mismatches": mism[:5],
                                "what": "tiles and prompt token count per item, this loop "
                                        "against run's records ([this, run])"}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    msg = "dataset_bench_hf: %s: %d items in %.1f s" % (args.dataset, len(items), loop_s)
    if "items_per_s" in out:
        msg += " (%.2f items/s, %d new tokens)" % (out["items_per_s"], out["new_tokens"])
    if "harness_check" in out:
        hc = out["harness_check"]
        msg += "; tiles and prompt ids against run's records: %d compared, %d differ" % (
            hc["compared"], hc["mismatched"])
    print(msg, file=sys.stderr)
    return 1 if out.get("harness_check", {}).get("mismatched") else 0


if __name__ == "__main__":
    raise SystemExit(main())
