#!/usr/bin/env python3
"""What torch.jit.freeze costs a unit at load, and what it buys its calls (issue 19: the 1B load's
critical path is the vision unit's freeze, 1.66 s on an H100 against 9 ms for a decoder layer and
108 ms for the same vision freeze on a CPU; bench/results/verify-load-1b-h100.json).

Each mode runs in a fresh process, so that one-time start-up costs (CUDA's context, cuDNN's and
cuBLAS's handles, lazily loaded kernels) land where they would in `run`:
  plain       load the unit onto the device, freeze it as LoadedModel does (optimize_numerics on)
  conv_first  the same after one small convolution on the device (cuDNN's start-up paid before
              the freeze: if the freeze then drops, the freeze was paying cuDNN's start-up)
  noopt       freeze with optimize_numerics off (the frozen-graph optimisations skipped)
  nofreeze    no freeze (what the calls cost without it)
then calls the unit REPS times under the simple executor, as `run` does, synchronising after each,
and hashes the last output (whether a mode changes the unit's result bitwise). The vision unit is
called on TILES tiles of seeded noise (the manifest's image size); other units are not timed.

Usage: python3 bench/freeze_cost.py --model-dir EXPORT [--device cuda:0] [--tiles 7] [--reps 12]
       [--out FILE.json]
"""
import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

MODES = ("plain", "conv_first", "noopt", "nofreeze")


def sync(torch, dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def one_mode(args):
    """Runs in the child process: prints one JSON line."""
    import torch
    dev = torch.device(args.device)
    with open(os.path.join(args.model_dir, "manifest.json"), encoding="utf-8") as f:
        man = json.load(f)
    dtype = getattr(torch, man["dtype"])  # "float32", "bfloat16" or "float16"
    unit = next(u for u in man["units"] if u["kind"] == "vision")
    out = {"mode": args.mode, "unit": unit["name"]}
    t = time.perf_counter()
    torch.zeros(1, device=dev)
    sync(torch, dev)
    out["device_start_s"] = time.perf_counter() - t
    if args.mode == "conv_first":
        t = time.perf_counter()
        torch.nn.functional.conv2d(torch.zeros(1, 3, 28, 28, device=dev, dtype=dtype),
                                   torch.zeros(8, 3, 14, 14, device=dev, dtype=dtype), stride=14)
        sync(torch, dev)
        out["conv_first_s"] = time.perf_counter() - t
    t = time.perf_counter()
    module = torch.jit.load(os.path.join(args.model_dir, unit["file"]), map_location=dev)
    module.eval()
    out["load_s"] = time.perf_counter() - t
    if args.mode != "nofreeze":
        t = time.perf_counter()
        module = torch.jit.freeze(module, optimize_numerics=(args.mode != "noopt"))
        sync(torch, dev)
        out["freeze_s"] = time.perf_counter() - t
    size = man["vision"]["image_size"]
    # a fixed, non-trivial image (zeros would hide differences in the patch embedding)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(args.tiles, 3, size, size, generator=g).mul_(2).sub_(1).to(dev, dtype)
    calls = []
    # the simple executor (no graph optimiser), as run calls the units
    with torch.jit.optimized_execution(False), torch.inference_mode():
        for _ in range(args.reps):
            t = time.perf_counter()
            y = module(x)
            sync(torch, dev)
            calls.append(time.perf_counter() - t)
    # the output's bytes, to tell whether a mode changes the unit's result
    out["output_sha256"] = hashlib.sha256(
        y.float().cpu().contiguous().numpy().tobytes()).hexdigest()
    out["first_call_s"] = calls[0]
    out["median_call_s"] = statistics.median(calls[2:] if len(calls) > 2 else calls)
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--tiles", type=int, default=7)
    ap.add_argument("--reps", type=int, default=12)
    ap.add_argument("--out")
    ap.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)  # the child's
    args = ap.parse_args()
    if args.mode:
        one_mode(args)
        return
    if args.reps < 1 or args.tiles < 1:
        ap.error("--reps and --tiles must be at least 1")
    if not os.path.isfile(os.path.join(args.model_dir, "manifest.json")):
        ap.error("%s has no manifest.json" % args.model_dir)
    rows = []
    for mode in MODES:
        cmd = [sys.executable, os.path.abspath(__file__), "--model-dir", args.model_dir,
               "--device", args.device, "--tiles", str(args.tiles), "--reps", str(args.reps),
               "--mode", mode]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("freeze_cost: mode %s failed:\n%s" % (mode, r.stderr[-2000:]))
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
        row = rows[-1]
        row["output_as_plain"] = row["output_sha256"] == rows[0]["output_sha256"]
        print("%-10s device start %.3f s  load %.3f s  freeze %s  first call %.4f s  median %.4f s"
              "  output %s" % (mode, row["device_start_s"], row["load_s"],
                               "%.3f s" % row["freeze_s"] if "freeze_s" in row else "-",
                               row["first_call_s"], row["median_call_s"],
                               "as plain" if row["output_as_plain"] else "DIFFERS from plain"))
    if args.out:
        import torch
        res = {"command": "bench/freeze_cost.py " + " ".join(sys.argv[1:]),
               "device": args.device,
               "device_name": (torch.cuda.get_device_name(torch.device(args.device))
                               if args.device.startswith("cuda") else "cpu"),
               "torch": torch.__version__, "tiles": args.tiles,
               "reps": args.reps, "modes": rows,
               "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
