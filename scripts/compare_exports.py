#!/usr/bin/env python3
"""Whether two exports of one checkpoint compute the same bits: every unit of BEFORE and AFTER
(model directories of scripts/export_internvl2.py, the same checkpoint, dtype and attention) run
on the same seeded inputs, outputs compared with torch.equal, decoder layers' KV caches too. For
changes to scripts/internvl2_export/units.py that are meant to change no result: fewer kernels,
the same arithmetic.

Inputs per kind: vision [2,3,S,S]; projector [2,256,4C]; embedding ids [1,7]; norm and head
[2,3,H]; a decoder layer a prefill of 5 tokens from position 0 into a one-row cache, and decode
steps of 4 rows, 1 or 2 of them with a cache (positions 6; 7 and 3), the others padding rows
(docs/model-format.md), one of 2 rows that both have a cache (positions 5 and 9), and steps of
the 32 rows a GPU decode step runs: one item and 31 padding rows, and 32 items.

The units run as `run` runs them: TorchScript's graph optimiser off (LoadOptions::jit_optimize
defaults to false), so no fuser regroups the arithmetic between calls; --jit-optimize compares
them under the profiling executor instead, where fusion groups (and so roundings on a GPU) may
differ between the second and later calls of two exports that compute the same thing unfused.

Usage: python3 scripts/compare_exports.py BEFORE AFTER [--device cuda:0] [--jit-optimize]
Exit status 1 when any output differs (each named, with its largest difference).
"""
import argparse
import json
import sys

import torch

from internvl2_export.exporter import DTYPES  # scripts/, this file's folder, is on sys.path


def read_manifest(model_dir):
    with open(model_dir + "/manifest.json", encoding="utf-8") as f:
        return json.load(f)


def load(model_dir, unit, device, optimize):
    """The unit, frozen as the runtime freezes it; the graph executor's optimiser is set to
    `optimize` for its calls (freezing itself needs the optimiser's inlining)."""
    torch._C._set_graph_executor_optimize(True)
    m = torch.jit.freeze(torch.jit.load("%s/%s" % (model_dir, unit["file"]),
                                        map_location=device).eval())
    torch._C._set_graph_executor_optimize(optimize)
    return m


def cases(unit, man, dtype, device, gen):
    """[(label, args, indices of args that the call writes)] for one unit."""
    def rnd(*shape):
        return torch.randn(*shape, generator=gen).to(dtype).to(device)
    llm, kind = man["llm"], unit["kind"]
    hidden = llm["hidden_size"]
    if kind == "vision":
        s = man["vision"]["image_size"]
        return [("pixels", [rnd(2, 3, s, s)], [])]
    if kind == "projector":
        return [("features", [rnd(2, 256, 4 * man["vision"]["hidden_size"])], [])]
    if kind == "embedding":
        ids = torch.randint(0, llm["vocab_size"], (1, 7), generator=gen).to(device)
        return [("ids", [ids], [])]
    if kind in ("norm", "head"):
        return [("hidden", [rnd(2, 3, hidden)], [])]
    nkv, hd, cap = llm["num_kv_heads"], llm["head_dim"], 16
    out = []
    for label, rows, with_cache, t, positions, attend in (
            ("prefill", 1, 1, 5, [list(range(5))], 5),
            ("decode of one", 4, 1, 1, [[6], [0], [0], [0]], cap),
            ("decode", 4, 2, 1, [[7], [3], [0], [0]], cap),
            ("decode of two, no padding", 2, 2, 1, [[5], [9]], cap),
            # the rows a decode step has on a GPU (ModelForward::kDecodeRows): matmul kernels
            # are chosen by the row count, so a change's bits are checked at the runtime's
            ("decode of one in 32 rows", 32, 1, 1, [[6]] + [[0]] * 31, cap),
            ("decode of 32", 32, 32, 1, [[(5 * i) % cap] for i in range(32)], cap)):
        out.append((label, [rnd(rows, t, hidden), rnd(rows, t, hd), rnd(rows, t, hd),
                            torch.tensor(positions, dtype=torch.int64, device=device),
                            rnd(with_cache, cap, nkv, hd), rnd(with_cache, cap, nkv, hd), attend],
                    [4, 5]))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--jit-optimize", action="store_true",
                    help="the profiling executor with its optimiser, as run --jit-optimize")
    args = ap.parse_args(argv)
    before_optimize = torch._C._get_graph_executor_optimize()
    try:
        return compare(args)
    finally:
        torch._C._set_graph_executor_optimize(before_optimize)


def compare(args):
    man, other = (read_manifest(d) for d in (args.before, args.after))
    if [u["name"] for u in man["units"]] != [u["name"] for u in other["units"]]:
        print("the two exports have different units", file=sys.stderr)
        return 2
    dtype = DTYPES[man["dtype"]]
    gen = torch.Generator().manual_seed(0)
    compared, differ = 0, 0
    with torch.no_grad():
        for unit in man["units"]:
            before, after = (load(d, unit, args.device, args.jit_optimize)
                             for d in (args.before, args.after))
            for label, inputs, written in cases(unit, man, dtype, args.device, gen):
                results = []
                for module in (before, after):
                    call = [x.clone() if i in written else x for i, x in enumerate(inputs)]
                    results.append([module(*call)] + [call[i] for i in written])
                for k, (b, a) in enumerate(zip(*results)):
                    compared += 1
                    if not torch.equal(b, a):
                        differ += 1
                        what = "output" if k == 0 else "argument %d" % written[k - 1]
                        print("%s %s %s differs: largest difference %g" % (
                            unit["name"], label, what, (b.double() - a.double()).abs().max()))
    print("%d outputs compared, %d differ" % (compared, differ))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
