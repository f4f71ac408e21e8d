#!/usr/bin/env python3
"""Summarise a `run --profile FILE` trace (torch profiler / Kineto Chrome trace) by item stage.

The harness marks each item's stages as user scopes (lib/include/vlm/model/profile_trace.h):
vlm::preprocess, vlm::vision, vlm::prefill, vlm::decode_step. For every scope this attributes the
CUDA work launched inside it (kernels, copies and memsets, matched to their launches through
Kineto's correlation ids) and reports, per stage name:

  count                      scopes of that name in the trace
  host_ms                    the scope's wall time on the host thread (the time to queue its work,
                             plus any wait inside it); median, mean, p90, first, sum
  gpu_busy_ms                the union of its GPU work's intervals (time a kernel or copy ran)
  gpu_span_ms                from its first GPU work's start to its last's end
  gpu_idle_in_span_ms        gpu_span - gpu_busy: the GPU waiting for the host inside the stage
  launches                   CUDA runtime calls that launched GPU work inside it
  runtime_ms                 host time inside CUDA runtime calls, by call name (cudaMalloc,
                             cudaStreamSynchronize, cudaLaunchKernel, ...): count and ms
  top_kernels                the stage's kernels by total GPU time
  top_host_ops               operators by self time on the host inside the stage (the time not
                             spent in a nested operator or runtime call)

and for the whole trace: the host thread's wall from the first to the last scope, the part of it
inside no scope, and the GPU's busy fraction over it. The profiler slows the host (a few µs per
operator), so host_ms is an upper bound; the GPU times are the kernels' own.

Usage: bench/profile_report.py TRACE.json [--out SUMMARY.json] [--skip-first N]
  --skip-first N  leave out the first N scopes of each name from the statistics (the warm-up),
                  reported apart as `first`
"""
import argparse
import bisect
import collections
import json
import statistics
import sys

GPU_CATS = {"kernel", "gpu_memcpy", "gpu_memset"}
RUNTIME_CATS = {"cuda_runtime", "cuda_driver"}
STAGE_PREFIX = "vlm::"


def stats(xs):
    if not xs:
        return None
    s = sorted(xs)
    return {"median": statistics.median(s), "mean": sum(s) / len(s),
            "p90": s[min(len(s) - 1, int(0.9 * len(s)))], "max": s[-1], "sum": sum(s), "n": len(s)}


def union_ms(intervals):
    """Length of the union of [start, end) intervals (µs in, ms out)."""
    total, end = 0.0, None
    for a, b in sorted(intervals):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total / 1000.0


def self_times(events):
    """{id(event): self µs} for one thread's nested complete events."""
    out = {}
    stack = []
    for e in sorted(events, key=lambda e: (e["ts"], -e.get("dur", 0))):
        end = e["ts"] + e.get("dur", 0)
        while stack and stack[-1][1] <= e["ts"]:
            stack.pop()
        out[id(e)] = e.get("dur", 0)
        if stack:
            out[id(stack[-1][0])] -= e.get("dur", 0)
        stack.append((e, end))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--out")
    ap.add_argument("--skip-first", type=int, default=1)
    a = ap.parse_args()
    with open(a.trace) as f:
        trace = json.load(f)
    events = [e for e in trace.get("traceEvents", []) if e.get("ph") == "X" and "ts" in e]
    scopes = [e for e in events
              if e.get("cat") == "user_annotation" and e.get("name", "").startswith(STAGE_PREFIX)]
    if not scopes:
        sys.exit(f"{a.trace}: no {STAGE_PREFIX}* scopes (was it written by `run --profile`?)")
    gpu_by_corr = collections.defaultdict(list)
    for e in events:
        if e.get("cat") in GPU_CATS:
            gpu_by_corr[e.get("args", {}).get("correlation")].append(e)
    by_thread = collections.defaultdict(list)  # host events (ops and runtime calls) per thread
    for e in events:
        if e.get("cat") in RUNTIME_CATS or e.get("cat") == "cpu_op":
            by_thread[(e["pid"], e["tid"])].append(e)
    starts = {}
    for k, evs in by_thread.items():
        evs.sort(key=lambda e: e["ts"])
        starts[k] = [e["ts"] for e in evs]
    selfs = {}
    for evs in by_thread.values():
        selfs.update(self_times(evs))

    per_stage = collections.defaultdict(list)
    for s in sorted(scopes, key=lambda e: e["ts"]):
        key = (s["pid"], s["tid"])
        evs, ts = by_thread.get(key, []), starts.get(key, [])
        lo = bisect.bisect_left(ts, s["ts"])
        hi = bisect.bisect_right(ts, s["ts"] + s["dur"])
        inside = evs[lo:hi]
        gpu = []
        runtime = collections.defaultdict(lambda: [0, 0.0])
        ops = collections.defaultdict(lambda: [0, 0.0])
        launches = 0
        for e in inside:
            if e.get("cat") in RUNTIME_CATS:
                r = runtime[e["name"]]
                r[0] += 1
                r[1] += e.get("dur", 0) / 1000.0
                g = gpu_by_corr.get(e.get("args", {}).get("correlation"), [])
                if g:
                    launches += 1
                    gpu.extend(g)
            else:
                o = ops[e["name"]]
                o[0] += 1
                o[1] += selfs.get(id(e), 0) / 1000.0
        ivs = [(g["ts"], g["ts"] + g.get("dur", 0)) for g in gpu]
        busy = union_ms(ivs)
        span = (max(b for _, b in ivs) - min(x for x, _ in ivs)) / 1000.0 if ivs else 0.0
        kernels = collections.defaultdict(lambda: [0, 0.0])
        for g in gpu:
            k = kernels[g["name"][:120]]
            k[0] += 1
            k[1] += g.get("dur", 0) / 1000.0
        per_stage[s["name"]].append({
            "host_ms": s["dur"] / 1000.0, "gpu_busy_ms": busy, "gpu_span_ms": span,
            "gpu_idle_in_span_ms": span - busy, "launches": launches,
            "runtime": runtime, "ops": ops, "kernels": kernels})

    def top(rows, field, n=15):
        tot = collections.defaultdict(lambda: [0, 0.0])
        for r in rows:
            for name, (c, ms) in r[field].items():
                tot[name][0] += c
                tot[name][1] += ms
        items = sorted(tot.items(), key=lambda kv: -kv[1][1])[:n]
        return [{"name": k, "count": c, "ms": round(ms, 3), "ms_per_scope": round(ms / len(rows), 4)}
                for k, (c, ms) in items]

    out = {"trace": a.trace, "skip_first": a.skip_first, "stages": {}}
    for name, rows in per_stage.items():
        rest = rows[a.skip_first:] or rows
        entry = {"count": len(rows)}
        for f in ("host_ms", "gpu_busy_ms", "gpu_span_ms", "gpu_idle_in_span_ms", "launches"):
            entry[f] = stats([r[f] for r in rest])
        entry["first"] = {f: rows[0][f] for f in ("host_ms", "gpu_busy_ms", "gpu_span_ms",
                                                  "launches")}
        entry["runtime_ms"] = top(rest, "runtime", 12)
        entry["top_kernels"] = top(rest, "kernels", 12)
        entry["top_host_ops"] = top(rest, "ops", 15)
        out["stages"][name] = entry
    main_key = collections.Counter((s["pid"], s["tid"]) for s in scopes).most_common(1)[0][0]
    mine = sorted((s for s in scopes if (s["pid"], s["tid"]) == main_key), key=lambda e: e["ts"])
    t0, t1 = mine[0]["ts"], max(s["ts"] + s["dur"] for s in mine)
    in_scopes = union_ms([(s["ts"], s["ts"] + s["dur"]) for s in mine])
    all_gpu = [(e["ts"], e["ts"] + e.get("dur", 0)) for e in events
               if e.get("cat") in GPU_CATS and t0 <= e["ts"] <= t1]
    wall = (t1 - t0) / 1000.0
    out["whole"] = {"host_wall_ms": wall, "in_scopes_ms": in_scopes,
                    "outside_scopes_ms": wall - in_scopes,
                    "gpu_busy_ms": union_ms(all_gpu),
                    "gpu_busy_fraction": union_ms(all_gpu) / wall if wall else None}
    text = json.dumps(out, indent=1)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    # A short table on stdout.
    print(f"{'stage':18} {'n':>5} {'host ms':>9} {'gpu busy':>9} {'gpu span':>9} {'idle':>8} "
          f"{'launch':>7}  (medians after the first {a.skip_first})")
    for name, e in out["stages"].items():
        m = lambda f: e[f]["median"] if e[f] else 0
        print(f"{name:18} {e['count']:5d} {m('host_ms'):9.2f} {m('gpu_busy_ms'):9.2f} "
              f"{m('gpu_span_ms'):9.2f} {m('gpu_idle_in_span_ms'):8.2f} {m('launches'):7.0f}")
    w = out["whole"]
    print(f"whole: host wall {w['host_wall_ms']:.1f} ms, outside stages "
          f"{w['outside_scopes_ms']:.1f} ms, GPU busy {w['gpu_busy_ms']:.1f} ms "
          f"({(w['gpu_busy_fraction'] or 0) * 100:.1f}%)")
    for name, e in out["stages"].items():
        print(f"-- {name}: runtime calls (per scope ms): " + ", ".join(
            f"{r['name']} {r['ms_per_scope']:.3f}" for r in e["runtime_ms"][:6]))
        print(f"-- {name}: host ops by self time (per scope ms): " + ", ".join(
            f"{r['name']} {r['ms_per_scope']:.3f}" for r in e["top_host_ops"][:8]))


if __name__ == "__main__":
    main()
