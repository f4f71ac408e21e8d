#!/usr/bin/env bash
# Whole-run benchmark: times `run` itself, as a process, over varied RealWorldQA-like data.
# For each SHAPE (a preset of scripts/internvl2_export/presets.py, optionally ":LAYERS"; or `tiny`,
# the tiny test model in float32 for a CPU check): makes the bf16 checkpoint and export as
# bench/run_item_bench.sh does (the presets' tokenizer covers the whole head, so every generated id
# decodes), then, each as its own process with the page cache dropped before it when allowed and
# a fresh $XDG_CACHE_HOME (no verification stamp carried over):
#   mcq          run --data BenchMCQ --max-new-tokens 1           (the default executor)
#   mcq_jit      the same with --jit-optimize     (only when `run --help` has that flag)
#   mcq_nographs the same with --no-cuda-graphs   (only when `run --help` has that flag)
#   vqa          run --data BenchVQA --max-new-tokens 32          (min_new_tokens 8 in its config)
#   mcq_steady, vqa_steady: STEADY_ITEMS / VQA_STEADY_ITEMS items of each set (every n/K-th),
#                each three times in a row (BenchMCQSteady, BenchVQASteady); an item's steady
#                time is the lesser of its 2nd and 3rd answers (item_bench: after two warm-ups)
#   item_bench   bench/item_bench on its one 7-tile item (1 and 16 tokens)
# and writes bench/results/dataset-<gpu or host>.json (bench/dataset_bench_report.py): per run the
# wall from process start to exit, items/s, run.json's split (load with the verification inside it,
# infer, merge, evaluate, and what is left: start-up before the load and exit), failed items, the
# sum of the items' steady times against run's infer time, the worst item's excess over its
# steady time, and the first item's (the warm-up, which run.json does not split out).
#
# Usage: bench/run_dataset_bench.sh BUILD_DIR SHAPE [SHAPE...]
#   GPU:  bench/run_dataset_bench.sh build-gpu InternVL2-1B
#   CPU check of the script: ITEMS=12 STEADY_ITEMS=4 VQA_STEADY_ITEMS=4 REPS=2 \
#     bench/run_dataset_bench.sh build tiny
# Environment: ITEMS (300; items of each set), VQA_ITEMS (ITEMS), STEADY_ITEMS (100; MCQ items
# with a steady time, 0: none), VQA_STEADY_ITEMS (30), SCALE (JPEG size factor, 1), REPS
# (item_bench timed runs, 5), DEVICE (--device for run and item_bench; `tiny` uses cpu), RUNS
# (which runs; default "mcq mcq_jit mcq_nographs vqa mcq_steady vqa_steady item_bench"), WORK
# (/tmp/vlm-dataset-bench; checkpoints and exports are deleted after use), RUN_TIMEOUT (seconds,
# 0: none; a run past it gets SIGINT, records what it answered and counts as interrupted), PYTHON.
# Exit status 3 when any item failed or any run exited non-zero (the result file is written).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=$1
shift
PY=${PYTHON:-$(command -v python3)}
# scripts/ is the import root of fixtures/ and internvl2_export/, whose modules run with -m
export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}"
WORK=${WORK:-/tmp/vlm-dataset-bench}
ITEMS=${ITEMS:-300}
VQA_ITEMS=${VQA_ITEMS:-$ITEMS}
STEADY_ITEMS=${STEADY_ITEMS:-100}
VQA_STEADY_ITEMS=${VQA_STEADY_ITEMS:-30}
SCALE=${SCALE:-1}
REPS=${REPS:-5}
RUN_TIMEOUT=${RUN_TIMEOUT:-0}
RUNS=${RUNS:-"mcq mcq_jit mcq_nographs vqa mcq_steady vqa_steady item_bench"}
RUN_BIN=$BUILD/bin/run
mkdir -p "$WORK" bench/results
WORK=$(cd "$WORK" && pwd)
want() { case " $RUNS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
RUN_HELP=$("$RUN_BIN" --help 2>&1 || true)
has_flag() { case "$RUN_HELP" in *"$1"*) return 0 ;; *) return 1 ;; esac; }
now() { date +%s.%N; }
drop_caches() {
  sync
  if [ -w /proc/sys/vm/drop_caches ]; then echo 3 >/proc/sys/vm/drop_caches && return 0; fi
  return 1
}

# The data, once for every shape (seeded: the same bytes every time).
echo "== data: $ITEMS MCQ + $VQA_ITEMS VQA items (steady: $STEADY_ITEMS, $VQA_STEADY_ITEMS)" >&2
t0=$(now)
"$PY" scripts/fixtures/make_bench_data.py --out "$WORK/LMUData" --mcq "$ITEMS" --vqa "$VQA_ITEMS" \
  --steady "$STEADY_ITEMS" --steady-vqa "$VQA_STEADY_ITEMS" --scale "$SCALE" >&2
echo "   $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s" >&2

RUNS_FILE=$WORK/runs.jsonl
: >"$RUNS_FILE"
for shape in "$@"; do
  preset=${shape%%:*}
  layers=""
  [ "$shape" != "$preset" ] && layers=${shape#*:}
  tag=$(echo "$shape" | tr ':' '_')
  ckpt=$WORK/ckpt-$tag
  model=$WORK/model-$tag
  device=${DEVICE:-}
  echo "== $shape: checkpoint and export" >&2
  rm -rf "$ckpt" "$model"
  if [ "$preset" = tiny ]; then
    device=${DEVICE:-cpu}
    "$PY" -m fixtures.make_tiny_checkpoint --out "$ckpt" --seed 0
    "$PY" scripts/export_internvl2.py --checkpoint "$ckpt" --out "$model" --dtype float32 \
      --no-golden --quiet
  else
    "$PY" -m fixtures.make_tiny_checkpoint --preset "$preset" ${layers:+--llm-layers "$layers"} \
      --dtype bfloat16 --shards 4 --out "$ckpt"
    "$PY" scripts/export_internvl2.py --checkpoint "$ckpt" --out "$model" --dtype bfloat16 \
      --attention sdpa --no-golden --quiet
  fi
  rm -rf "$ckpt"

  # One `run` process: LABEL DATASET MAX_NEW_TOKENS [extra run arguments...]
  time_run() {
    local label=$1 data=$2 max_new=$3
    shift 3
    local out=$WORK/out-$tag-$label
    rm -rf "$out" "$WORK/cache-$label"
    local dropped=false
    drop_caches && dropped=true
    local argv=("$RUN_BIN" --model-dir "$model" --data "$data" --work-dir "$out"
      --max-new-tokens "$max_new" --quiet ${device:+--device "$device"} "$@")
    echo "== $shape: $label: ${argv[*]}" >&2
    local start end rc=0
    start=$(now)
    local cap=()
    [ "$RUN_TIMEOUT" -gt 0 ] && cap=(timeout -s INT -k 30 "$RUN_TIMEOUT")
    XDG_CACHE_HOME=$WORK/cache-$label LMUData=$WORK/LMUData "${cap[@]}" "${argv[@]}" \
      >"$out.log" 2>&1 || rc=$?
    end=$(now)
    tail -3 "$out.log" >&2
    "$PY" - "$RUNS_FILE" "$shape" "$label" "$data" "$start" "$end" "$rc" "$out" "$dropped" \
      "${argv[@]}" <<'PY'
import json, sys
f, shape, label, data, start, end, rc, out, dropped = sys.argv[1:10]
with open(f, "a") as fh:
    fh.write(json.dumps({"shape": shape, "label": label, "dataset": data, "argv": sys.argv[10:],
                         "wall_s": float(end) - float(start), "rc": int(rc), "work_dir": out,
                         "caches_dropped": dropped == "true"}) + "\n")
PY
  }
  want mcq && time_run mcq BenchMCQ 1
  if want mcq_jit; then
    if has_flag --jit-optimize; then time_run mcq_jit BenchMCQ 1 --jit-optimize; else
      echo "== $shape: mcq_jit skipped: $RUN_BIN has no --jit-optimize" >&2; fi
  fi
  if want mcq_nographs; then
    if has_flag --no-cuda-graphs; then time_run mcq_nographs BenchMCQ 1 --no-cuda-graphs; else
      echo "== $shape: mcq_nographs skipped: $RUN_BIN has no --no-cuda-graphs" >&2; fi
  fi
  want vqa && time_run vqa BenchVQA 32
  [ "$STEADY_ITEMS" -gt 0 ] && want mcq_steady && time_run mcq_steady BenchMCQSteady 1
  [ "$VQA_STEADY_ITEMS" -gt 0 ] && want vqa_steady && time_run vqa_steady BenchVQASteady 32
  if want item_bench; then
    echo "== $shape: item_bench" >&2
    drop_caches || true
    "$BUILD/bin/item_bench" --model-dir "$model" --label "$shape" --reps "$REPS" \
      ${device:+--device "$device"} --out "$WORK/item-$tag.json" >/dev/null
    echo "{\"shape\": \"$shape\", \"label\": \"item_bench\", \"file\": \"$WORK/item-$tag.json\"}" \
      >>"$RUNS_FILE"
  fi
  rm -rf "$model"
done
# Named by the GPU (dataset-h200.json) where there is one, else by the host.
host=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 |
  grep -o -i -E 'h100|h200|a100|b200|l40s' | tr 'A-Z' 'a-z' || true)
RESULT=bench/results/dataset-${host:-$(hostname | tr -cd 'a-zA-Z0-9_-')}.json
rc=0
"$PY" bench/dataset_bench_report.py --command "bench/run_dataset_bench.sh $BUILD $*" \
  --runs "$RUNS_FILE" --data "$WORK/LMUData/bench_data.json" --out "$RESULT" || rc=$?
if [ -n "${OUT:-}" ]; then cp "$RESULT" "$OUT/"; fi
exit $rc
