#!/usr/bin/env python3
"""The disk's own cold read rate for a model's unit files: one reader, 64 MiB blocks, after the
page cache was dropped by the caller. Writes {"bytes", "seconds", "gb_per_s"} as JSON.
Usage: cold_read.py MODEL_DIR OUT.json"""
import glob
import json
import os
import sys
import time

files = sorted(glob.glob(os.path.join(sys.argv[1], "units", "*.pt")))
t0 = time.perf_counter()
n = 0
for f in files:
    with open(f, "rb", buffering=0) as fh:
        while True:
            b = fh.read(64 << 20)
            if not b:
                break
            n += len(b)
dt = time.perf_counter() - t0
json.dump({"bytes": n, "seconds": dt, "gb_per_s": n / 1e9 / dt}, open(sys.argv[2], "w"))
