#!/usr/bin/env python3
"""Merges item_bench (C++) and transformers_item_bench (Python) JSON pairs into one result file
with the ratios and the targets of the GPU issue side by side."""
import argparse
import datetime
import json
import platform

TARGETS = {
    "latency_vs_transformers": 0.7,   # per-item total <= 0.7x transformers (1B and 8B shapes)
    "decode_vs_bound": 1.3,           # ms per decoded token <= 1.3x the bandwidth bound (8B)
    "load_gb_per_s": 2.0,             # load >= 2 GB/s from local disk
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--command", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("files", nargs="+", help="cpp.json hf.json pairs, in order")
    a = ap.parse_args()
    shapes = []
    for cpp_path, hf_path in zip(a.files[::2], a.files[1::2]):
        with open(cpp_path) as f:
            cpp = json.load(f)
        with open(hf_path) as f:
            hf = json.load(f)
        runs = []
        for c, h in zip(cpp["runs"], hf["runs"]):
            ratio = {s: c["median_ms"][s] / h["median_ms"][s]
                     for s in c["median_ms"] if s in h["median_ms"] and h["median_ms"][s] > 0}
            r = {"new_tokens": c["new_tokens"], "this": c, "transformers": h,
                 "ratio_this_over_transformers": ratio}
            if "ms_per_decoded_token" in c and "ms_per_decoded_token" in h:
                r["ratio_ms_per_token"] = c["ms_per_decoded_token"] / h["ms_per_decoded_token"]
            hw = cpp.get("hardware")
            if hw and "ms_per_decoded_token" in c:
                r["decode_over_bound"] = c["ms_per_decoded_token"] / hw["decode_step_bound_ms"]
            if hw:
                r["prefill_over_bound"] = c["median_ms"]["prefill"] / hw["prefill_bound_ms"]
                r["vision_over_bound"] = c["median_ms"]["vision"] / hw["vision_bound_ms"]
            runs.append(r)
        shapes.append({"label": cpp["label"], "dtype": cpp["dtype"], "attention": cpp["attention"],
                       "input_tokens": cpp["runs"][0]["input_tokens"],
                       "tiles": cpp["runs"][0]["tiles"], "load": cpp["load"],
                       "disk_read_cold": cpp.get("disk_read"), "options": cpp.get("options"),
                       "transformers_load": hf["load"], "hardware": cpp.get("hardware"),
                       "graph_ids_equal_eager": cpp.get("graph_ids_equal_eager"),
                       "eager_decode_runs": cpp.get("eager_decode"),
                       "jit_optimize_runs": cpp.get("jit_optimize"),
                       "runs": runs})
    first_cpp = json.load(open(a.files[0]))
    first_hf = json.load(open(a.files[1]))
    out = {"command": a.command, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
           "host": platform.node(), "device": first_hf.get("device"),
           "versions": {"libtorch": first_cpp.get("torch"), "python_torch": first_hf.get("torch"),
                        "transformers": first_hf.get("implementation")},
           "targets": TARGETS, "shapes": shapes}
    with open(a.out, "w") as f:
        json.dump(out, f, indent=2)
    # A short table on stdout.
    print("%-28s %5s %10s %10s %7s %9s %9s" % ("shape", "new", "this ms", "hf ms", "ratio",
                                                 "ms/token", "x bound"))
    for s in shapes:
        for r in s["runs"]:
            print("%-28s %5d %10.1f %10.1f %7.2f %9s %9s" % (
                s["label"], r["new_tokens"], r["this"]["median_ms"]["total"],
                r["transformers"]["median_ms"]["total"], r["ratio_this_over_transformers"]["total"],
                "%.2f" % r["this"]["ms_per_decoded_token"] if "ms_per_decoded_token" in r["this"]
                else "-", "%.2f" % r["decode_over_bound"] if "decode_over_bound" in r else "-"))
        print("%-28s load %.2f s, %.2f GB/s" % (s["label"], s["load"]["seconds"],
                                                 s["load"]["gb_per_s"]))


if __name__ == "__main__":
    main()
