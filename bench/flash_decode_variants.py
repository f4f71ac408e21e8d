#!/usr/bin/env python3
"""The decode step's attention call (aten::_flash_attention_forward, varlen, seqused_k) and ways of
calling it, timed as the decode step runs it: inside a CUDA graph, replayed. For each model shape
(q heads, kv heads, head dim), one item in flight with LIVE cached keys and the other rows of the
step padding (one key each, as the runtime keeps them), at a cache capacity CAP:

  rows32     the exported unit's call today: all 32 rows of the step, one sequence each
  groupsG    the rows in calls of G rows (a fixed grouping by row index, so a row's call looks the
             same whatever the other rows hold), outputs concatenated
  noswap     rows32 with max_q = 2: the kernel keeps one block per query head instead of packing
             a kv head's query heads into one block (its "ngroups swap")
  chunkC     split-KV by hand: every (row, chunk of C keys) one sequence of the call, the chunks'
             outputs merged by their log-sum-exp; a row's result then depends on C only
  rows1      the item's row alone (what a step of one row would cost; not batch-invariant)

Reports per variant: us per call (median of ROUNDS rounds of REPLAYS replays), the kernels one call
launches (torch.profiler), and the largest difference from rows32 on the item's row.
Usage: python3 bench/flash_decode_variants.py [--out FILE] (needs CUDA)."""

import argparse
import json
import math
import statistics
import sys

import torch

SHAPES = {"InternVL2-8B": (32, 8, 128), "InternVL2-1B": (14, 2, 64),
          "InternVL2-Llama3-76B": (64, 8, 128)}
ROWS = 32


def flash(q, k, v, cu_q, cu_k, max_q, max_k, used, scale):
    return torch.ops.aten._flash_attention_forward(
        q, k, v, cu_q, cu_k, max_q, max_k, 0.0, False, False, scale=scale, seqused_k=used)


class Case:
    def __init__(self, shape, cap, live, dev):
        self.h, self.hkv, self.d = shape
        self.cap = cap
        g = torch.Generator(device=dev).manual_seed(0)
        self.k = torch.randn(cap, self.hkv, self.d, device=dev, generator=g, dtype=torch.bfloat16)
        self.v = torch.randn(cap, self.hkv, self.d, device=dev, generator=g, dtype=torch.bfloat16)
        self.q = torch.randn(ROWS, self.h, self.d, device=dev, generator=g, dtype=torch.bfloat16)
        pos = torch.zeros(ROWS, dtype=torch.int64, device=dev)
        pos[0] = live - 1
        self.pos = pos
        self.scale = 1.0 / math.sqrt(self.d)

    def rows(self, n, max_q=1):
        """The unit's call on rows [0, n): one cache row (b = 1), padding rows read its start."""
        seqs = torch.arange(n + 1, dtype=torch.int32, device=self.q.device)
        starts = seqs.clamp(max=0) * self.cap
        used = self.pos[:n].to(torch.int32) + 1
        return flash(self.q[:n], self.k, self.v, seqs, starts, max_q, self.cap, used,
                     self.scale)[0]

    def groups(self, g):
        outs = []
        for g0 in range(0, ROWS, g):
            n = min(g, ROWS - g0)
            seqs = torch.arange(n + 1, dtype=torch.int32, device=self.q.device)
            used = self.pos[g0:g0 + n].to(torch.int32) + 1
            outs.append(flash(self.q[g0:g0 + n], self.k, self.v, seqs, seqs * 0, 1, self.cap,
                              used, self.scale)[0])
        return torch.cat(outs, 0)

    def chunked(self, c):
        s = (self.cap + c - 1) // c
        dev = self.q.device
        n = ROWS * s
        qr = self.q.unsqueeze(1).expand(ROWS, s, self.h, self.d).reshape(n, self.h, self.d)
        seqs = torch.arange(n + 1, dtype=torch.int32, device=dev)
        chunk = (seqs % s) * c  # each sequence's first key; the last entry is not read as a start
        used = ((self.pos + 1).unsqueeze(1) - chunk[:n].view(ROWS, s)).clamp(0, c)
        used = used.to(torch.int32).reshape(n)
        out, lse = flash(qr, self.k, self.v, seqs, chunk, 1, c, used, self.scale)[:2]
        if not getattr(self, "_told", False):
            print("chunked: out %s lse %s" % (tuple(out.shape), tuple(lse.shape)), flush=True)
            self._told = True
        lse = lse.view(self.h, ROWS, s) if lse.dim() == 2 else lse.reshape(ROWS, s, self.h)
        if lse.dim() == 3 and lse.size(0) == self.h:
            lse = lse.permute(1, 2, 0)  # [ROWS, s, h]
        lse = torch.where(used.view(ROWS, s, 1) > 0, lse, float("-inf"))
        w = torch.exp(lse - lse.amax(1, keepdim=True))  # [ROWS, s, h]
        w4 = w.unsqueeze(-1)
        part = out.view(ROWS, s, self.h, self.d).float() * w4
        acc = torch.where(w4 > 0, part, 0.0).sum(1)  # an empty chunk's output may be anything
        return (acc / w.sum(1).unsqueeze(-1)).to(out.dtype)


def kernels(fn):
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as p:
        fn()
        torch.cuda.synchronize()
    names = [e.name for e in p.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    return [n[:90] for n in names]


def graph_us(fn, replays, rounds):
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        out = fn()
    times = []
    for _ in range(rounds):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(replays):
            g.replay()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1000.0 / replays)
    return statistics.median(times), out


def rms_norm_variants(dev, replays, rounds):
    """The units' RMSNorm (float32 upcast, mean of squares, rsqrt, one rounding, times the weight)
    against torch.rms_norm's fused kernel, at a decode step's and a prefill's shape."""
    out = {}
    for rows, t, hidden in ((32, 1, 4096), (32, 1, 896), (1, 1900, 4096), (1, 1900, 896)):
        g = torch.Generator(device=dev).manual_seed(1)
        x = torch.randn(rows, t, hidden, device=dev, generator=g).to(torch.bfloat16) * 3
        w = (torch.rand(hidden, device=dev, generator=g) + 0.5).to(torch.bfloat16)
        eps = 1e-6

        def units():
            h = x.to(torch.float32)
            inv = torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
            return w * torch.mul(x, inv, out=torch.empty_like(x))

        def fused():
            return w * torch.rms_norm(x, [hidden], None, eps)

        row = {}
        with torch.no_grad():
            ref = units()
            for name, fn in (("units", units), ("fused", fused)):
                us, o = graph_us(fn, replays, rounds)
                row[name] = {"us": round(us, 2), "kernels": len(kernels(fn)),
                             "differing_fraction": (o != ref).float().mean().item(),
                             "max_diff": (o.float() - ref.float()).abs().max().item()}
        key = "%dx%dx%d" % (rows, t, hidden)
        out[key] = row
        print("rms_norm %-12s %s" % (key, json.dumps(row)), flush=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--caps", default="2048,4096")
    ap.add_argument("--live", type=int, default=1900)
    ap.add_argument("--replays", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("flash_decode_variants: needs CUDA")
    dev = torch.device("cuda")
    result = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
              "live_keys": a.live, "rows": ROWS, "shapes": {}}
    for name, shape in SHAPES.items():
        for cap in [int(c) for c in a.caps.split(",")]:
            case = Case(shape, cap, min(a.live, cap), dev)
            variants = {"rows32": lambda: case.rows(ROWS), "noswap": lambda: case.rows(ROWS, 2),
                        "rows1": lambda: case.rows(1)}
            for g in (16, 8, 4):
                variants["groups%d" % g] = (lambda g=g: case.groups(g))
            for c in (256, 512, 1024):
                variants["chunk%d" % c] = (lambda c=c: case.chunked(c))
            ref = case.rows(ROWS)[0].float()
            rows = {}
            for vname, fn in variants.items():
                us, out = graph_us(fn, a.replays, a.rounds)
                diff = (out[0].float() - ref).abs().max().item()
                ks = kernels(fn)
                rows[vname] = {"us": round(us, 2), "max_diff_row0": diff,
                               "bitwise_row0": bool(torch.equal(out[0], case.rows(ROWS)[0])),
                               "kernels": len(ks),
                               "flash_kernels": sorted(set(k for k in ks if "flash" in k))}
                print("%-22s cap %5d %-9s %8.2f us  %2d kernels  diff %.2e  %s" % (
                    name, cap, vname, us, len(ks), diff,
                    ",".join(k.split("<")[0].split("::")[-1] for k in rows[vname]["flash_kernels"])),
                    flush=True)
            result["shapes"]["%s cap %d" % (name, cap)] = rows
    result["rms_norm"] = rms_norm_variants(dev, a.replays, a.rounds)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
