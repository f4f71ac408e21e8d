#!/usr/bin/env python3
"""bench/run_dataset_bench.sh's result file: per `run` process, the wall, its split from run.json,
failed items and the items' excess over their steady times; writes bench/results/dataset-*.json.

Inputs: --runs runs.jsonl (one line a process: shape, label, dataset, argv, wall_s, rc, work_dir;
or a line {shape, label: "item_bench", file}), --data bench_data.json (make_bench_data.py).

What run.json gives and what is derived here (per run):
  split.load_ms       shards[..].stage_ms.load: loading the units, with verification inside it
                      (verify_s: the hashing time model_files.verify_s reports, part of load)
  split.infer_ms      the item loop; split.merge_ms, split.evaluate_ms: the merge and scoring
  split.other_ms      wall - (load + infer + merge + evaluate): process start-up, reading the TSV
                      and planning before the load, writing files and exit after. run.json has no
                      separate warm-up stage: the warm-up is inside infer, in the first items;
                      first_item_ms and its excess over its steady time stand for it.
  items               per item in answer order: [index, tiles, prompt tokens, new tokens,
                      times_ms.total, steady ms or null]; item_stage_ms sums the stages
Steady times (the *_steady runs): K items of the set (every (n // K)-th) answered three times in
a row; an item's steady time is the lesser of its 2nd and 3rd answers (item_bench times after two
warm-ups).
  steady.sum_steady_ms         sum of the steady times of the compared items
  steady.infer_over_steady     infer_ms / sum_steady_ms (only when every item is compared; the
                               issue's target: <= 1.1)
  steady.items_over_steady     sum of the compared items' total_ms in this run / sum_steady_ms
  steady.infer_over_steady_est when only some items are compared: infer_ms / sum_item_total_ms
                               (the loop's own share, whole run) * items_over_steady
  steady.worst_excess_after_first  the largest total_ms - steady of any item but the first
                               (target: <= 500 ms), with its index, tiles and prompt tokens
"""
import argparse
import datetime
import glob
import json
import os
import platform
import subprocess


def load_records(folder, dataset):
    files = sorted(glob.glob(os.path.join(folder, "*_%s_records*.jsonl" % dataset)))
    recs = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            recs += [json.loads(line) for line in fh if line.strip()]
    return recs


def find_run_json(work_dir):
    found = sorted(glob.glob(os.path.join(work_dir, "*", "*", "run.json")))
    return found[-1] if found else None


def total_ms(rec):
    return (rec.get("times_ms") or {}).get("total")


def steady_times(run):
    """{original index: steady ms} from a *_steady run's records (index 3 * i + r)."""
    reps = {}
    for r in run["_records"]:
        i = int(r["index"])
        t = total_ms(r)
        if t is not None and not r.get("error"):
            reps.setdefault(i // 3, {})[i % 3] = t
    return {i: min(v[k] for k in (1, 2) if k in v) for i, v in reps.items()
            if 1 in v or 2 in v}, {i: v.get(0) for i, v in reps.items()}


def summarize(run, steady=None, first_seen=None):
    rj = run["_run_json"]
    out = {k: run[k] for k in ("label", "dataset", "argv", "wall_s", "rc", "caches_dropped")}
    if rj is None:
        out["error"] = "no run.json under %s" % run["work_dir"]
        return out
    d = rj.get("datasets", {}).get(run["dataset"], {})
    shard = next(iter(d.get("shards", {}).values()), {})
    rank = next(iter(rj.get("ranks", {}).values()), {})
    recs = run["_records"]
    stage = shard.get("stage_ms", {})
    split = {"load_ms": stage.get("load"), "infer_ms": stage.get("infer"),
             "merge_ms": d.get("stage_ms", {}).get("merge"),
             "evaluate_ms": d.get("stage_ms", {}).get("evaluate"),
             "verify_s": rank.get("model_files", {}).get("verify_s"),
             "verified": rank.get("model_files", {}).get("verified")}
    known = sum(v for k, v in split.items() if k.endswith("_ms") and v)
    split["other_ms"] = run["wall_s"] * 1000 - known
    failed = [r for r in recs if r.get("error")]
    totals = [total_ms(r) for r in recs]
    out.update({
        "status": shard.get("status", rank.get("status")),
        "items": len(recs), "failed_items": len(failed),
        "first_errors": [r["error"] for r in failed[:3]],
        "items_per_s_wall": len(recs) / run["wall_s"] if run["wall_s"] > 0 else None,
        "items_per_s_infer": shard.get("items_per_s"),
        "split": split, "item_stage_ms": shard.get("item_stage_ms"),
        "sum_item_total_ms": sum(t for t in totals if t is not None),
        "first_item_ms": totals[0] if totals else None,
        "tiles": sorted({sum(r.get("tiles_per_image") or [0]) for r in recs}),
        "output_tokens": [min((len(r.get("output_ids") or []) for r in recs), default=0),
                          max((len(r.get("output_ids") or []) for r in recs), default=0)],
        "peak_memory_bytes": rank.get("peak_memory_bytes"),
        "items_columns": ["index", "tiles", "input_tokens", "new_tokens", "total_ms", "steady_ms"],
        "items_detail": [[r["index"], sum(r.get("tiles_per_image") or [0]), r.get("input_tokens"),
                          len(r.get("output_ids") or []), total_ms(r),
                          (steady or {}).get(int(r["index"]))] for r in recs],
    })
    if steady:
        rows = []
        for pos, r in enumerate(recs):
            i = int(r["index"])
            if i in steady and total_ms(r) is not None:
                rows.append((pos, r, total_ms(r) - steady[i], steady[i]))
        s = {"compared_items": len(rows), "of_items": len(recs)}
        if rows:
            sum_steady = sum(x[3] for x in rows)
            s["sum_steady_ms"] = sum_steady
            s["items_over_steady"] = sum(total_ms(x[1]) for x in rows) / sum_steady
            if len(rows) == len(recs) and split["infer_ms"]:
                s["infer_over_steady"] = split["infer_ms"] / sum_steady
            elif split["infer_ms"] and out["sum_item_total_ms"]:
                # infer = the items' totals + what the loop does between them (records, scoring):
                # that share from the whole run, the totals' ratio from the compared items.
                s["infer_over_steady_est"] = (split["infer_ms"] / out["sum_item_total_ms"]
                                              * s["items_over_steady"])
            later = [x for x in rows if x[0] > 0]
            if later:
                pos, r, excess, st = max(later, key=lambda x: x[2])
                s["worst_excess_after_first"] = {
                    "ms": excess, "index": r["index"], "position": pos, "steady_ms": st,
                    "tiles": r.get("tiles_per_image"), "input_tokens": r.get("input_tokens")}
                s["items_over_500ms_excess"] = sum(1 for x in later if x[2] > 500)
            first = [x for x in rows if x[0] == 0]
            if first:
                s["first_item_excess_ms"] = first[0][2]
            if first_seen:
                cold = [first_seen[int(x[1]["index"])] - x[3] for x in rows
                        if first_seen.get(int(x[1]["index"])) is not None]
                if cold:
                    s["steady_run_first_answer_excess_ms"] = {
                        "mean": sum(cold) / len(cold), "max": max(cold)}
        out["steady"] = s
    return out


def item_bench_summary(path):
    with open(path) as f:
        j = json.load(f)
    runs = [{k: r.get(k) for k in ("new_tokens", "tiles", "input_tokens", "median_ms",
                                   "ms_per_decoded_token", "items_per_s")}
            for r in j.get("runs", [])]
    return {"file": os.path.basename(path), "device": j.get("device"), "reps": j.get("reps"),
            "warmup": j.get("warmup"), "load": j.get("load"), "runs": runs,
            "hardware": j.get("hardware")}


def versions():
    v = {"python": platform.python_version()}
    try:
        v["harness_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True,
                                             text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    try:
        v["gpu"] = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version",
                                   "--format=csv,noheader"], capture_output=True, text=True,
                                  check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        v["gpu"] = None
    return v


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    with open(args.runs) as f:
        lines = [json.loads(x) for x in f if x.strip()]
    with open(args.data) as f:
        data = json.load(f)
    shapes = {}
    for r in lines:
        shapes.setdefault(r["shape"], []).append(r)
    result = {"command": args.command,
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "host": platform.node(), "versions": versions(),
              "data": {k: {kk: vv for kk, vv in v.items() if kk != "items_meta"}
                       if isinstance(v, dict) else v for k, v in data.items()},
              "shapes": {}}
    all_failed = 0
    for shape, runs in shapes.items():
        by_label = {}
        for r in runs:
            if r["label"] == "item_bench":
                continue
            r["_run_json"] = None
            r["_records"] = []
            rjp = find_run_json(r["work_dir"])
            if rjp:
                with open(rjp) as f:
                    r["_run_json"] = json.load(f)
                r["_records"] = load_records(os.path.dirname(rjp), r["dataset"])
            by_label[r["label"]] = r
        steady = {}
        for kind in ("mcq", "vqa"):
            if kind + "_steady" in by_label:
                steady[kind] = steady_times(by_label[kind + "_steady"])
        out = {}
        for label, r in by_label.items():
            kind = "vqa" if label.startswith("vqa") else "mcq"
            st, first = steady.get(kind, (None, None)) if not label.endswith("_steady") else \
                (None, None)
            out[label] = summarize(r, st, first)
            expected = data.get(r["dataset"], {}).get("items")
            out[label]["items_expected"] = expected
            all_failed += out[label].get("failed_items", 0) + (1 if r["rc"] else 0)
            all_failed += 1 if expected is not None and out[label].get("items") != expected else 0
        for r in runs:
            if r["label"] == "item_bench" and os.path.exists(r["file"]):
                out["item_bench"] = item_bench_summary(r["file"])
        result["shapes"][shape] = out
    result["all_items_answered"] = all_failed == 0
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    # A short table on stdout.
    for shape, out in result["shapes"].items():
        for label, s in out.items():
            if label == "item_bench":
                for r in s["runs"]:
                    print("%-22s %-13s %d tokens: median total %.1f ms" % (
                        shape, label, r["new_tokens"], (r["median_ms"] or {}).get("total", 0)))
                continue
            sp = s.get("split", {})
            st = s.get("steady", {})
            print("%-22s %-13s rc %d  wall %7.1f s  %4d items (%d failed)  %6.2f it/s  load %s  "
                  "infer %s  merge %s  steady x%s  worst excess %s ms" % (
                      shape, label, s["rc"], s["wall_s"], s.get("items", 0),
                      s.get("failed_items", 0), s.get("items_per_s_wall") or 0,
                      _s(sp.get("load_ms")), _s(sp.get("infer_ms")), _s(sp.get("merge_ms")),
                      _r(st.get("infer_over_steady", st.get("infer_over_steady_est"))),
                      _r(st.get("worst_excess_after_first", {}).get("ms"))))
    if not result["all_items_answered"]:
        print("NOT every item answered: a run failed, was interrupted or has failed items")
    print("wrote %s" % args.out)
    return 0 if result["all_items_answered"] else 3


def _s(ms):
    return "-" if ms is None else "%.1f s" % (ms / 1000)


def _r(v):
    return "-" if v is None else "%.2f" % v


if __name__ == "__main__":
    raise SystemExit(main())
