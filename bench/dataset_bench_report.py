#!/usr/bin/env python3
"""bench/run_dataset_bench.sh's result file: per `run` process, the wall, its split from run.json,
failed items and the items' excess over their steady times; writes bench/results/dataset-*.json.

Inputs: --runs runs.jsonl (one line a process: shape, label, dataset, argv, wall_s, rc, work_dir,
start, end, gpu_samples; a line {shape, label: "item_bench", file}; a transformers loop {shape,
label: SET_hf, file, ...}; a compare {shape, label: "identical", set, n or variant, argv, rc, identical}; a
skipped N {shape, label: SET_nN, skipped, set, n}), --data bench_data.json (make_bench_data.py).

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
  steady.items_over_steady_after_first  the same without the first item answered (the warm-up)
  steady.sum_steady_est_ms     when only some items are compared: the set's steady time, each
                               compared item's own and every other item's total_ms in this run /
                               items_over_steady_after_first (the warm-up stays with the first
                               item, once, instead of scaling every item)
  steady.infer_over_steady_est infer_ms / sum_steady_est_ms
  steady.worst_excess_after_first  the largest total_ms - steady of any item but the first
                               (target: <= 500 ms), with its index, tiles and prompt tokens

Per set (shapes.SHAPE.sets.mcq / .vqa; the per-process figures above are in shapes.SHAPE.runs),
from the runs at each N (label SET at N = 1, SET_nN):
  by_n.N              items/s (infer: run.json's items_per_s; wall: items / process wall), the
                      split and item_stage_ms, new and decode tokens, the GPU-busy fraction, the
                      set's bound at N and infer time over it, items/s over transformers'
  best_n              the N of the most items/s (infer)
  identical_across_n  per N > 1: compare --expect-identical against N = 1 (boolean, command, exit)
  identical_variants  the same per run of other flags checked against N = 1 (mcq_nographs), when
                      any
  transformers        bench/dataset_bench_hf.py's loop: items/s (loop wall, load apart), stage
                      sums, its tiles and prompt token counts checked against N = 1's records
  decode_n16_over_n1  decode tokens/s at N = 16 over N = 1 (see decode_tokens_per_s below)
The bound of a set at N (by_n.N.bound; item_bench's copy and matmul rates measured in the same
command and its FLOP terms; every item's tiles, prompt tokens and answer length from N = 1's
records):
  prefill of an item  max((vision(tiles) + llm(T)) / matmul rate, decode step weights / copy rate)
  a decode token      max((weights / N + context * kv_bytes_per_position) / copy rate,
                          (2 * (llm + head params) + 4 * context * hidden * layers) / matmul rate)
                      (the weights read once per step and shared by the N sequences in it)
  bound time          the sum of the above over the set; items/s bound = items / bound time;
                      infer_over_bound = infer time / bound time (the MCQ target: <= 1.3).
decode_tokens_per_s: decode tokens (each answer's tokens after its first) / decode time, the decode
time being run.json's shard stage_ms.decode where `run` reports one (a wall), else at N = 1 the sum
of the items' decode stage; at N > 1 the items' decode times overlap and are not summed. Where
neither is there, new_tokens_per_s_infer (every new token / infer time) stands beside it.
The load (shapes.SHAPE.load, with a cold_read line): the disk's cold read rate over the export's
unit files (bench/cold_read.py after the page cache was dropped) and, per run that loaded them
(verify_load: mcq, every file hashed as the loader reads it; rerun_stamped: mcq_rerun, with the
stamps mcq wrote; no_verify: mcq_noverify), the unit bytes over split.load_ms, its fraction of
the cold read rate and run.json's hashed and stamped file counts; rerun_stamped_over_no_verify.
GPU busy: nvidia-smi's utilization.gpu sampled every GPU_SAMPLE_MS ms in the background while the
process ran (the share of each sample period in which a kernel ran, averaged over the samples):
over the whole process and over the estimated infer window (the last infer_ms before merge and
evaluate), or null without nvidia-smi.
"""
import argparse
import datetime
import glob
import json
import os
import platform
import subprocess
import time


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
    for k in ("hashed_bytes", "hashed_files", "stamped_files"):
        split[k] = rank.get("model_files", {}).get(k)
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
        "split": split, "item_stage_ms": shard.get("item_stage_ms"), "shard_stage_ms": stage,
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
            later = [x for x in rows if x[0] > 0]
            if later:
                ratio = sum(total_ms(x[1]) for x in later) / sum(x[3] for x in later)
                s["items_over_steady_after_first"] = ratio
                if len(rows) < len(recs) and split["infer_ms"]:
                    compared = {x[0]: x[3] for x in rows}
                    est = sum(compared[pos] if pos in compared else t / ratio
                              for pos, t in enumerate(totals) if t is not None)
                    s["sum_steady_est_ms"] = est
                    s["infer_over_steady_est"] = split["infer_ms"] / est
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
    ap.add_argument("--calls", default=None,
                    help="a file of every call (one a line) whose runs runs.jsonl holds")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    with open(args.runs) as f:
        lines = [json.loads(x) for x in f if x.strip()]
    with open(args.data) as f:
        data = json.load(f)
    shapes = {}
    for r in lines:
        shapes.setdefault(r["shape"], []).append(r)
    hf_versions = {}
    calls = []
    if args.calls and os.path.exists(args.calls):
        with open(args.calls) as f:
            calls = [x.rstrip("\n") for x in f if x.strip()]
    result = {"command": args.command, "calls": calls,
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "host": platform.node(), "versions": versions(),
              "data": {k: {kk: vv for kk, vv in v.items() if kk != "items_meta"}
                       if isinstance(v, dict) else v for k, v in data.items()},
              "shapes": {}}
    all_failed = 0
    checks_failed = 0
    for shape, runs in shapes.items():
        by_label = {}
        extra = [r for r in runs if r["label"] in ("item_bench", "identical", "cold_read")
                 or r["label"].endswith("_hf") or r.get("skipped")]
        for r in runs:
            if r in extra:
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
        for k, r in by_label.items():
            out[k]["gpu_busy"] = gpu_busy(r, out[k])
        item_bench = None
        for r in runs:
            if r["label"] == "item_bench" and os.path.exists(r["file"]):
                out["item_bench"] = item_bench_summary(r["file"])
                with open(r["file"]) as f:
                    item_bench = json.load(f)
                if item_bench.get("torch"):
                    hf_versions["libtorch"] = item_bench["torch"]
        sets = {}
        for set_name, dataset in (("mcq", "BenchMCQ"), ("vqa", "BenchVQA")):
            st = set_summary(set_name, dataset, runs, out, item_bench)
            if st:
                sets[set_name] = st
                checks_failed += 0 if st.get("all_identical") in (True, None) else 1
                tf = st.get("transformers") or {}
                if tf.get("harness_check", {}).get("mismatched") or tf.get("rc"):
                    checks_failed += 1
                for k in ("transformers", "torch"):
                    if tf.get(k):
                        hf_versions["python_torch" if k == "torch" else k] = tf[k]
        result["shapes"][shape] = {"sets": sets, "runs": out}
        load = load_summary(runs, out)
        if load:
            result["shapes"][shape]["load"] = load
    result["versions"].update(hf_versions)
    result["all_items_answered"] = all_failed == 0
    # and every set's result files identical across N, every transformers loop done and agreeing
    # with run's tiles and prompt token counts
    result["all_checks_passed"] = all_failed == 0 and checks_failed == 0
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    # A short table on stdout.
    for shape, sh in result["shapes"].items():
        out = sh["runs"]
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
        for set_name, st in sh["sets"].items():
            print_set(shape, set_name, st)
        if sh.get("load"):
            print_load(shape, sh["load"])
    if not result["all_checks_passed"]:
        print("NOT every check passed: a run failed, was interrupted or has failed items, or a "
              "set's result files differ across N, or a transformers loop failed or disagreed "
              "with run's tiles and prompt ids")
    print("wrote %s" % args.out)
    return 0 if result["all_checks_passed"] else 3


def load_summary(runs, out):
    """The load as `run` does it against the disk's cold read rate (the cold_read line): the first
    run of the MCQ set (mcq: every file hashed as it is read), the re-run with its stamps
    (mcq_rerun) and the run without verification (mcq_noverify); {} without a cold_read line."""
    cold = next((r for r in runs if r["label"] == "cold_read" and os.path.exists(r["file"])), None)
    if cold is None:
        return {}
    with open(cold["file"]) as f:
        disk = json.load(f)
    disk["caches_dropped"] = cold.get("caches_dropped")
    res = {"cold_read": disk}
    for key, label in (("verify_load", "mcq"), ("rerun_stamped", "mcq_rerun"),
                       ("no_verify", "mcq_noverify")):
        s = out.get(label)
        sp = (s or {}).get("split") or {}
        if not sp.get("load_ms"):
            continue
        e = {"label": label, "load_ms": sp["load_ms"], "caches_dropped": s.get("caches_dropped"),
             "gb_per_s": disk["bytes"] / 1e9 / (sp["load_ms"] / 1e3)}
        e["fraction_of_cold_read"] = e["gb_per_s"] / disk["gb_per_s"]
        for k in ("verified", "verify_s", "hashed_bytes", "hashed_files", "stamped_files"):
            e[k] = sp.get(k)
        res[key] = e
    if "rerun_stamped" in res and "no_verify" in res:
        res["rerun_stamped_over_no_verify"] = (res["rerun_stamped"]["load_ms"]
                                               / res["no_verify"]["load_ms"])
    # the targets: a verifying load at >= 80% of the cold read rate, and a re-run on
    # unchanged files within 1.1x of --no-verify; each run's caches_dropped says whether its load
    # read the disk or the page cache
    res["targets"] = {"verify_load.fraction_of_cold_read": ">= 0.8",
                      "rerun_stamped_over_no_verify": "<= 1.1"}
    return res


def print_load(shape, load):
    disk = load["cold_read"]
    line = "%-22s load cold read %.2f GB/s (%.2f GB%s)" % (
        shape, disk["gb_per_s"], disk["bytes"] / 1e9,
        "" if disk.get("caches_dropped") else ", page cache NOT dropped")
    for key in ("verify_load", "rerun_stamped", "no_verify"):
        e = load.get(key)
        if e:
            line += "; %s %s %.2f of it (%s hashed, %s stamped)" % (
                key, _s(e["load_ms"]), e["fraction_of_cold_read"], e.get("hashed_files"),
                e.get("stamped_files"))
    if load.get("rerun_stamped_over_no_verify") is not None:
        line += "; re-run over no-verify %.3f" % load["rerun_stamped_over_no_verify"]
    print(line)


def gpu_busy(line, summary):
    """The mean of nvidia-smi's utilization.gpu samples over the process and over the estimated
    infer window, or None where nothing was sampled."""
    path = line.get("gpu_samples")
    if not path or not os.path.exists(path):
        return None
    samples = []
    with open(path) as f:
        for row in f:
            parts = [p.strip() for p in row.split(",")]
            if len(parts) < 2:
                continue
            try:
                whole_s, _, frac_s = parts[0].partition(".")
                t = time.mktime(time.strptime(whole_s, "%Y/%m/%d %H:%M:%S"))
                t += float("0." + frac_s) if frac_s else 0.0
                samples.append((t, float(parts[1]) / 100))
            except ValueError:
                continue
    if not samples:
        return None
    whole = [x for t, x in samples if line["start"] <= t <= line["end"]] or \
        [x for _, x in samples]
    res = {"how": "nvidia-smi --query-gpu=timestamp,utilization.gpu -lms MS in the background "
                  "while the process ran; the mean of utilization.gpu / 100 over the samples",
           "samples": len(whole), "busy_fraction_process": sum(whole) / len(whole)}
    sp = summary.get("split") or {}
    if sp.get("infer_ms"):
        hi = line["end"] - ((sp.get("merge_ms") or 0) + (sp.get("evaluate_ms") or 0)) / 1e3
        lo = hi - sp["infer_ms"] / 1e3
        win = [x for t, x in samples if lo <= t <= hi]
        if win:
            res["busy_fraction_infer_est"] = sum(win) / len(win)
            res["infer_window"] = "the last infer_ms before merge + evaluate ms before the exit"
    return res


def set_bound(items, hw, n):
    """The set's hardware bound at batch size n (seconds and its parts) from each item's
    [tiles, prompt tokens, new tokens]; the formulas of the module's docstring."""
    t = hw["flop_terms"]
    mm = hw.get("matmul_flops_per_s", hw.get("bf16_matmul_flops_per_s"))
    copy = hw["copy_bytes_per_s"]
    weights = hw["decode_step_weight_bytes"]
    h, layers = t["llm_hidden"], t["llm_layers"]
    vt = t["vision_tokens_per_tile"]
    kv = t.get("kv_bytes_per_position", 0)
    prefill_s = decode_s = flops = 0.0
    decode_tokens = 0
    for tiles, tokens, new in items:
        vision = tiles * (2.0 * t["vision_params"] * vt
                          + 4.0 * vt * vt * t["vision_hidden"] * t["vision_layers"])
        llm = (2.0 * t["llm_params"] * tokens + 2.0 * t["head_params"]
               + 2.0 * tokens * tokens * h * layers)
        flops += vision + llm
        prefill_s += max((vision + llm) / mm, weights / copy)
        for k in range(1, new or 0):  # the first token comes from the prefill
            ctx = tokens + k
            f = 2.0 * (t["llm_params"] + t["head_params"]) + 4.0 * ctx * h * layers
            flops += f
            decode_tokens += 1
            decode_s += max((weights / n + ctx * kv) / copy, f / mm)
    total = prefill_s + decode_s
    return {"n": n, "seconds": total, "prefill_s": prefill_s, "decode_s": decode_s,
            "flops": flops, "decode_tokens": decode_tokens,
            "weight_bytes_per_decode_step": weights, "matmul_flops_per_s": mm,
            "copy_bytes_per_s": copy, "items_per_s": len(items) / total if total > 0 else None,
            "measured_by": "item_bench's copy and matmul rates (its last run for this shape, in "
                           "this call or one restored: see calls)"}


def decode_rate(s, n):
    """(decode tokens/s, what its time is) of a run summary at batch size n, or (None, why)."""
    det = s.get("items_detail") or []
    decode_tokens = sum(max(0, (d[3] or 0) - 1) for d in det)
    stage = s.get("shard_stage_ms") or {}
    if not decode_tokens:
        return None, "no decode tokens"
    if stage.get("decode"):
        return decode_tokens / (stage["decode"] / 1e3), "run.json shard stage_ms.decode (a wall)"
    if n == 1 and (s.get("item_stage_ms") or {}).get("decode"):
        return (decode_tokens / (s["item_stage_ms"]["decode"] / 1e3),
                "the sum of the items' decode stage (N = 1: no overlap)")
    return None, "run.json has no decode wall at N = %d" % n


def set_summary(set_name, dataset, runs, out, item_bench):
    """The per-set figures across N (the module's docstring), or None where the set has no run."""
    by_n = {}
    for label, s in out.items():
        if label == set_name:
            by_n[1] = (label, s)
        elif label.startswith(set_name + "_n") and label[len(set_name) + 2:].isdigit():
            by_n[int(label[len(set_name) + 2:])] = (label, s)
    hf_line = None
    for r in runs:  # the last one, where a REUSE run added another
        if r["label"] == set_name + "_hf":
            hf_line = r
    skipped = [{"n": r["n"], "why": r["skipped"]} for r in runs
               if r.get("skipped") and r.get("set") == set_name and r["n"] not in by_n]
    if not by_n and not hf_line and not skipped:
        return None
    res = {"dataset": dataset, "by_n": {}}
    if skipped:
        res["skipped_n"] = skipped
    tf = None
    if hf_line:
        tf = {"rc": hf_line["rc"], "wall_s": hf_line["wall_s"],
              "command": " ".join(hf_line["argv"])}
        if os.path.exists(hf_line["file"]):
            with open(hf_line["file"]) as f:
                j = json.load(f)
            tf.update({k: v for k, v in j.items() if k != "items_detail"})
        tf["gpu_busy"] = gpu_busy(hf_line, {})
        res["transformers"] = tf
    base = by_n[1][1] if 1 in by_n else (next(iter(by_n.values()))[1] if by_n else {})
    items = [[d[1], d[2], d[3]] for d in base.get("items_detail", []) if d[2] is not None]
    hw = (item_bench or {}).get("hardware")
    if not hw or "flop_terms" not in hw:
        res["bound_why_not"] = ("no item_bench hardware figures in this command (item_bench not "
                                "run, or on a CPU without --cpu-hardware)")
    for n in sorted(by_n):
        label, s = by_n[n]
        e = {"label": label, "command": " ".join(s.get("argv") or []), "rc": s.get("rc"),
             "items": s.get("items"), "failed_items": s.get("failed_items"),
             "items_per_s_infer": s.get("items_per_s_infer"),
             "items_per_s_wall": s.get("items_per_s_wall"), "wall_s": s.get("wall_s"),
             "split": s.get("split"), "item_stage_ms": s.get("item_stage_ms"),
             "gpu_busy": s.get("gpu_busy")}
        det = s.get("items_detail") or []
        e["new_tokens"] = sum(d[3] or 0 for d in det)
        e["decode_tokens"] = sum(max(0, (d[3] or 0) - 1) for d in det)
        infer_s = ((s.get("split") or {}).get("infer_ms") or 0) / 1e3
        e["new_tokens_per_s_infer"] = e["new_tokens"] / infer_s if infer_s else None
        e["decode_tokens_per_s"], e["decode_tokens_per_s_from"] = decode_rate(s, n)
        if hw and "flop_terms" in hw and items:
            b = set_bound(items, hw, n)
            e["bound"] = b
            e["infer_over_bound"] = infer_s / b["seconds"] if infer_s and b["seconds"] else None
        if tf and tf.get("items_per_s") and e["items_per_s_infer"]:
            e["items_per_s_over_transformers"] = e["items_per_s_infer"] / tf["items_per_s"]
        res["by_n"][str(n)] = e
    rated = [(e["items_per_s_infer"] or 0, int(n)) for n, e in res["by_n"].items()]
    if rated:
        rate, best = max(rated)
        be = res["by_n"][str(best)]
        res.update({"best_n": best, "best_items_per_s_infer": rate,
                    "best_over_transformers": be.get("items_per_s_over_transformers"),
                    "best_infer_over_bound": be.get("infer_over_bound"),
                    "n1_over_transformers":
                        res["by_n"].get("1", {}).get("items_per_s_over_transformers")})
    ident, variants = {}, {}
    for r in runs:
        if r["label"] == "identical" and r.get("set") == set_name:
            entry = {"identical": r["identical"], "exit": r["rc"],
                     "command": " ".join(r["argv"]),
                     "output_tail": r.get("output_tail", "")[-600:]}
            if "variant" in r:
                variants[r["variant"]] = entry
            else:
                ident[str(r["n"])] = entry
    res["identical_across_n"] = ident
    if variants:
        res["identical_variants"] = variants
    checked = list(ident.values()) + list(variants.values())
    # None where a compare could not compare (its exit 2 or 3): not a pass.
    res["all_identical"] = all(v["identical"] is True for v in checked) if checked else None
    d1, d16 = res["by_n"].get("1"), res["by_n"].get("16")
    if d1 and d16:
        r = {}
        if d1.get("decode_tokens_per_s") and d16.get("decode_tokens_per_s"):
            r["decode_tokens_per_s"] = d16["decode_tokens_per_s"] / d1["decode_tokens_per_s"]
        if d1.get("new_tokens_per_s_infer") and d16.get("new_tokens_per_s_infer"):
            r["new_tokens_per_s_infer"] = (d16["new_tokens_per_s_infer"]
                                           / d1["new_tokens_per_s_infer"])
        res["decode_n16_over_n1"] = r
    return res


def print_set(shape, set_name, st):
    for n, e in st["by_n"].items():
        print("%-22s %-4s N=%-3s %s it/s infer  %s it/s wall  x hf %s  infer/bound %s  decode "
              "%s tok/s  gpu busy %s" % (
                  shape, set_name, n, _r(e.get("items_per_s_infer")),
                  _r(e.get("items_per_s_wall")), _r(e.get("items_per_s_over_transformers")),
                  _r(e.get("infer_over_bound")), _r(e.get("decode_tokens_per_s")),
                  _r((e.get("gpu_busy") or {}).get("busy_fraction_infer_est"))))
    for s in st.get("skipped_n", []):
        print("%-22s %-4s N=%-3s skipped: %s" % (shape, set_name, s["n"], s["why"]))
    tf = st.get("transformers")
    if tf:
        hc = tf.get("harness_check") or {}
        print("%-22s %-4s transformers: rc %d, %s; tiles and prompt ids against run's: %s "
              "compared, %s differ" % (
                  shape, set_name, tf["rc"],
                  "%s it/s" % _r(tf.get("items_per_s")) if "skipped" not in tf
                  else "generate skipped (no transformers here)",
                  hc.get("compared", "-"), hc.get("mismatched", "-")))
    for n, v in st.get("identical_across_n", {}).items():
        print("%-22s %-4s N=%s identical to N=1: %s (compare exit %s)" % (
            shape, set_name, n, v["identical"], v["exit"]))
    if st.get("best_n") is not None:
        print("%-22s %-4s best N=%d: %s it/s, x transformers %s, infer/bound %s; N=16 over N=1: "
              "%s" % (shape, set_name, st["best_n"], _r(st.get("best_items_per_s_infer")),
                      _r(st.get("best_over_transformers")), _r(st.get("best_infer_over_bound")),
                      st.get("decode_n16_over_n1", "-")))


def _s(ms):
    return "-" if ms is None else "%.1f s" % (ms / 1000)


def _r(v):
    return "-" if v is None else "%.2f" % v


if __name__ == "__main__":
    raise SystemExit(main())
