#!/usr/bin/env bash
# Per-item benchmark of this runtime against transformers on real-size random-weight exports, on one
# CUDA device. For each SHAPE (a preset name of scripts/internvl2_export/presets.py, optionally with
# ":LAYERS" to keep only the first decoder layers): makes a bf16 checkpoint in the OpenGVLab layout,
# exports it (bf16, sdpa), drops the page cache when allowed, runs bench/item_bench (load, stages,
# peak memory, hardware bounds) and bench/transformers_item_bench.py on the same checkpoint, image
# and input ids, and merges both into bench/results/item-<host>.json with the ratios and the issue's
# targets side by side.
# Usage: bench/run_item_bench.sh BUILD_DIR SHAPE [SHAPE...]
#   e.g. bench/run_item_bench.sh build-gpu InternVL2-1B InternVL2-8B InternVL2-Llama3-76B:12
# WORK (default /tmp/vlm-item-bench) holds the checkpoints and exports; each is deleted after use.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=$1
shift
. bench/bench_lib.sh
WORK=${WORK:-/tmp/vlm-item-bench}
REPS=${REPS:-10}
mkdir -p "$WORK" bench/results
parts=()
for shape in "$@"; do
  shape_names "$shape"
  ckpt=$WORK/ckpt-$tag
  model=$WORK/model-$tag
  echo "== $shape: checkpoint" >&2
  t0=$(date +%s)
  make_checkpoint "$shape" "$ckpt"
  t1=$(date +%s)
  echo "== $shape: export ($((t1 - t0)) s for the checkpoint)" >&2
  export_checkpoint "$ckpt" "$model"
  t2=$(date +%s)
  echo "== $shape: item_bench ($((t2 - t1)) s for the export)" >&2
  # The disk's own read rate for these files, cold, as the bound of the load figure.
  sync
  if [ -w /proc/sys/vm/drop_caches ]; then echo 3 >/proc/sys/vm/drop_caches; fi
  "$PY" bench/cold_read.py "$model" "$WORK/disk-$tag.json"
  sync
  if [ -w /proc/sys/vm/drop_caches ]; then echo 3 >/proc/sys/vm/drop_caches; fi
  "$BUILD/bin/item_bench" --model-dir "$model" --label "$shape" --reps "$REPS" \
    --out "$WORK/cpp-$tag.json" --save-image "$WORK/item.jpg" >/dev/null
  # The same with decode steps eager (no CUDA graphs), side by side in the result.
  "$BUILD/bin/item_bench" --model-dir "$model" --label "$shape" --reps "$REPS" --no-hardware \
    --no-cuda-graphs --out "$WORK/cpp-eager-$tag.json" >/dev/null
  # And with TorchScript's profiling executor (fusion) under the graphs.
  "$BUILD/bin/item_bench" --model-dir "$model" --label "$shape" --reps "$REPS" --no-hardware \
    --jit-optimize --out "$WORK/cpp-jit-$tag.json" >/dev/null
  echo "== $shape: transformers" >&2
  "$PY" bench/transformers_item_bench.py --checkpoint "$ckpt" --export "$model" \
    --cpp "$WORK/cpp-$tag.json" --image "$WORK/item.jpg" --out "$WORK/hf-$tag.json" >/dev/null
  "$PY" - "$WORK/cpp-$tag.json" "$WORK/disk-$tag.json" "$WORK/cpp-eager-$tag.json" \
    "$WORK/cpp-jit-$tag.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); j["disk_read"] = json.load(open(sys.argv[2]))
j["eager_decode"] = json.load(open(sys.argv[3]))["runs"]
j["jit_optimize"] = json.load(open(sys.argv[4]))["runs"]
json.dump(j, open(sys.argv[1], "w"), indent=2)
PY
  parts+=("$WORK/cpp-$tag.json" "$WORK/hf-$tag.json")
  rm -rf "$ckpt" "$model"
done
RESULT=$(result_file item)
"$PY" bench/merge_item_bench.py --command "bench/run_item_bench.sh $BUILD $*" --out "$RESULT" \
  "${parts[@]}"
if [ -n "${OUT:-}" ]; then cp "$RESULT" "$OUT/"; fi
