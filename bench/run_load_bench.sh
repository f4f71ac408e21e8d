#!/usr/bin/env bash
# Makes a random InternVL2-8B-shaped checkpoint truncated to 16 decoder layers (~8.7 GB in bf16),
# exports it, and measures its load time split over cuda:0 and the CPU, with one loader per device
# vs one loader (bench/load_bench.cpp). Figures go to bench/results/load-<host>.json (and $OUT).
# Usage: bench/run_load_bench.sh BUILD_DIR [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
WORK=${2:-/tmp/vlm-load-bench}
. bench/bench_lib.sh
CKPT=$WORK/ckpt-8b-16l
MODEL=$WORK/model-8b-16l
if [ ! -f "$MODEL/manifest.json" ]; then
  make_checkpoint InternVL2-8B:16 "$CKPT"
  export_checkpoint "$CKPT" "$MODEL"
  rm -rf "$CKPT"
fi
mkdir -p bench/results
RESULT=$(result_file load)
"$BUILD/bin/load_bench" --model-dir "$MODEL" --devices cuda:0,cpu --repeats 3 --out "$RESULT"
if [ -n "${OUT:-}" ]; then cp "$RESULT" "$OUT/"; fi
