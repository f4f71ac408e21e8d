#!/usr/bin/env bash
# Where `run`'s time goes on a benchmark set: runs `run --profile` over the first LIMIT items of
# DATASET and summarises the trace by item stage with bench/profile_report.py (host time, GPU busy
# time and the GPU's idle time inside each stage, CUDA runtime calls, the top kernels and host
# operators). The trace slows the host; its GPU times are the kernels' own.
# Usage: bench/run_profile.sh BUILD_DIR MODEL_DIR LMUDATA DATASET [run arguments...]
#   e.g. bench/run_profile.sh build-gpu /tmp/vlm-dataset-bench/model-InternVL2-1B \
#          /tmp/vlm-dataset-bench/LMUData BenchMCQ --max-new-tokens 1
# Environment: LIMIT (40), OUT_DIR (/tmp/vlm-profile; gets trace-DATASET.json, the run folder and
# profile-DATASET.json), SKIP_FIRST (1: scopes of each stage left out of the medians).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=$1 MODEL=$2 DATA_ROOT=$3 DATA=$4
shift 4
PY=${PYTHON:-$(command -v python3)}
OUT_DIR=${OUT_DIR:-/tmp/vlm-profile}
LIMIT=${LIMIT:-40}
mkdir -p "$OUT_DIR"
rm -rf "$OUT_DIR/run-$DATA"
LMUData=$DATA_ROOT "$BUILD/bin/run" --model-dir "$MODEL" --data "$DATA" --limit "$LIMIT" \
  --work-dir "$OUT_DIR/run-$DATA" --quiet --profile "$OUT_DIR/trace-$DATA.json" "$@"
"$PY" bench/profile_report.py "$OUT_DIR/trace-$DATA.json" --skip-first "${SKIP_FIRST:-1}" \
  --out "$OUT_DIR/profile-$DATA.json"
