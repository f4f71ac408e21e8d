#!/usr/bin/env python3
"""What a GEMM or attention shape never seen before costs on a CUDA device, against the same call
again: the question behind `run`'s prefill on varied items (about 50 ms an item on the 1B shape
against 9 ms for a length seen before, until run held attention to flash). For each of LENGTHS
prompt lengths T (1000..2000, distinct), in the 1B decoder layer's shapes (bf16): the q/k/v/o, gate/up and down projections as F.linear on
[T, H], and causal scaled_dot_product_attention on [1, heads, T, 64] (`sdpa`: the kernel LibTorch
picks, cuDNN's on Hopper in 2.11; `sdpa_flash`: held to flash attention, run's default); each
timed with CUDA events around a synchronised call, first at T (new) and then again (warm). Run it
once under CUDA_MODULE_LOADING=LAZY (CUDA's default: kernels load at first use) and once under
EAGER (all at start): a difference between the new-shape costs of the two is the lazy loading.
Measured on an H100 (LibTorch 2.11): `sdpa` 37 ms new against 0.13 ms warm under both, the
projections 0.2-0.5 ms new against 0.03-0.08 ms warm.

Usage: python3 bench/new_shape_cost.py [--lengths 60] [--out FILE.json]
"""
import argparse
import json
import os
import statistics

import torch
import torch.nn.functional as F


def timed(fn):
    torch.cuda.synchronize()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    a.record()
    fn()
    b.record()
    b.synchronize()
    return a.elapsed_time(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lengths", type=int, default=60)
    ap.add_argument("--out")
    args = ap.parse_args()
    dev, dt = "cuda", torch.bfloat16
    h, inter, heads, kv = 896, 4864, 14, 2  # InternVL2-1B's Qwen2-0.5B
    w = {"qkv": torch.randn(h + 2 * kv * 64, h, device=dev, dtype=dt),
         "o": torch.randn(h, h, device=dev, dtype=dt),
         "gate_up": torch.randn(2 * inter, h, device=dev, dtype=dt),
         "down": torch.randn(h, inter, device=dev, dtype=dt)}
    flash = getattr(getattr(torch.nn, "attention", None), "sdpa_kernel", None)

    def flash_sdpa(q):
        with flash(torch.nn.attention.SDPBackend.FLASH_ATTENTION):
            return F.scaled_dot_product_attention(q, q, q, is_causal=True)

    lengths = [1000 + (1000 * i) // args.lengths + (i * 7) % 13 for i in range(args.lengths)]
    new, warm = {}, {}
    for t in lengths:
        x = torch.randn(t, h, device=dev, dtype=dt)
        xi = torch.randn(t, inter, device=dev, dtype=dt)
        q = torch.randn(1, heads, t, 64, device=dev, dtype=dt)
        ops = {"qkv": lambda: F.linear(x, w["qkv"]), "o": lambda: F.linear(x, w["o"]),
               "gate_up": lambda: F.linear(x, w["gate_up"]),
               "down": lambda: F.linear(xi, w["down"]),
               "sdpa": lambda: F.scaled_dot_product_attention(q, q, q, is_causal=True)}
        if flash is not None:  # the same call held to flash attention (run's default)
            ops["sdpa_flash"] = lambda: flash_sdpa(q)
        for name, fn in ops.items():
            new.setdefault(name, []).append(timed(fn))
            warm.setdefault(name, []).append(timed(fn))
    out = {"cuda_module_loading": os.environ.get("CUDA_MODULE_LOADING", "(unset: LAZY)"),
           "device": torch.cuda.get_device_name(), "torch": torch.__version__,
           "lengths": len(lengths), "ops": {}}
    for name in new:
        out["ops"][name] = {"new_median_ms": statistics.median(new[name]),
                            "new_max_ms": max(new[name]), "new_sum_ms": sum(new[name]),
                            "warm_median_ms": statistics.median(warm[name]),
                            "warm_sum_ms": sum(warm[name])}
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
