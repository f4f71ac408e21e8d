#!/usr/bin/env bash
# Whole-run benchmark: times `run` itself, as a process, over varied RealWorldQA-like data.
# For each SHAPE (a preset of scripts/internvl2_export/presets.py, optionally ":LAYERS"; or `tiny`,
# the tiny test model in float32 for a CPU check): makes the bf16 checkpoint and export as
# bench/run_item_bench.sh does (the presets' tokenizer covers the whole head, so every generated id
# decodes), then, each as its own process with the page cache dropped before it when allowed and
# a fresh $XDG_CACHE_HOME (no verification stamp carried over):
#   mcq          run --data BenchMCQ --max-new-tokens 1           (the default executor), and
#                for every N > 1 of BATCH_SIZES the same with --batch-size N (label mcq_nN; only
#                when `run --help` has that flag: otherwise skipped, saying so); each N's result
#                files checked against N = 1's with `compare --expect-identical --data BenchMCQ`
#   mcq_jit      the same with --jit-optimize     (only when `run --help` has that flag)
#   mcq_nographs the same with --no-cuda-graphs   (only when `run --help` has that flag); its
#                result files checked against mcq's with `compare --expect-identical` when mcq
#                ran in the same call
#   mcq_cudnn    the same with --cudnn-attention  (LibTorch's own attention choice: cuDNN's on
#                Hopper; only when `run --help` has that flag)
#   mcq_bucket   the same with --prefill-bucket $PREFILL_BUCKET (64): prefills at a few lengths
#                instead of a new one at almost every item (only when `run --help` has that flag);
#                checked against mcq's files like mcq_nographs. On the CPU they are identical (a
#                test holds them to it); on a GPU a difference means a matmul's rows came out
#                otherwise at the padded row count: a finding for the report, not a bug
#   cold_read    the disk's own cold read rate over the export's unit files (bench/cold_read.py,
#                page cache dropped first): what a load that verifies as it reads is held to
#   mcq_rerun    mcq again with mcq's $XDG_CACHE_HOME, so with the verification stamps mcq wrote
#                (a re-run on unchanged files; after mcq)
#   mcq_noverify mcq with --no-verify (what the stamped re-run is held to)
#   vqa          run --data BenchVQA --max-new-tokens 32          (min_new_tokens 8 in its config),
#                and at every N of BATCH_SIZES as mcq (labels vqa_nN)
#   mcq_hf, vqa_hf  the same items by a VLMEvalKit-style transformers loop, one `generate` per
#                item (bench/dataset_bench_hf.py) from the checkpoint the export came from, with
#                its tiles and prompt token counts checked against N = 1's records; on `tiny` a
#                machine without transformers runs its host side only and says so
#   mcq_steady, vqa_steady: STEADY_ITEMS / VQA_STEADY_ITEMS items of each set (every n/K-th),
#                each three times in a row (BenchMCQSteady, BenchVQASteady); an item's steady
#                time is the lesser of its 2nd and 3rd answers (item_bench: after two warm-ups)
#   item_bench   bench/item_bench on its one 7-tile item (1 and 16 tokens); its copy and matmul
#                rates and FLOP terms give each set's hardware bound (on a CPU: --cpu-hardware)
# and writes bench/results/dataset-<gpu or host>.json (bench/dataset_bench_report.py): per run the
# wall from process start to exit, items/s, run.json's split (load with the verification inside it,
# infer, merge, evaluate, and what is left: start-up before the load and exit), failed items, the
# sum of the items' steady times against run's infer time, the worst item's excess over its
# steady time, and the first item's (the warm-up, which run.json does not split out); per set and
# N: items/s, the stage times, the set's hardware bound, the ratios to transformers and to the
# bound, the result files' identity across N, and decode tokens/s at N = 16 against N = 1.
# While each `run` and loop process runs, nvidia-smi samples utilization.gpu every GPU_SAMPLE_MS
# (100) ms in the background (when there is nvidia-smi and the device is not the CPU): the report's
# GPU-busy fraction.
#
# Usage: bench/run_dataset_bench.sh BUILD_DIR SHAPE [SHAPE...]
#   GPU:  bench/run_dataset_bench.sh build-gpu InternVL2-1B
#   CPU check of the script: ITEMS=6 STEADY_ITEMS=2 VQA_STEADY_ITEMS=2 REPS=2 SCALE=0.5 \
#     BATCH_SIZES="1 3" PYTHON=/usr/bin/python3 bench/run_dataset_bench.sh build tiny
#   Over several calls (a 10-minute limit a command): KEEP=1 keeps the checkpoint and the export in
#   WORK at the end; REUSE=1 takes the data, checkpoint and export found there and appends to the
#   runs so far, so that each call's report covers every run so far, e.g.
#     KEEP=1 RUNS="item_bench mcq mcq_hf" bench/run_dataset_bench.sh build-gpu InternVL2-8B
#     REUSE=1 KEEP=1 RUNS="vqa vqa_hf" bench/run_dataset_bench.sh build-gpu InternVL2-8B
#   On a fresh machine between calls: with OUT set, the small files of WORK (runs.jsonl, the run
#   folders, item_bench's and the loops' JSON, the GPU samples; not the data, checkpoints or
#   exports) go to $OUT/dataset-bench-work.tgz; RESTORE=that file unpacks them into WORK first and
#   implies REUSE=1 (the data, checkpoint and export are made again: seeded, the same bytes). A
#   set's N = 1 and N > 1 runs belong in one call (compare reads both run folders); the bound takes
#   the shape's last item_bench (its JSON travels in the archive too): run it in the call of the
#   sets, so that its rates are the same machine's.
# Environment: ITEMS (300; items of each set), VQA_ITEMS (ITEMS), STEADY_ITEMS (100; MCQ items
# with a steady time, 0: none), VQA_STEADY_ITEMS (30), SCALE (JPEG size factor, 1), REPS
# (item_bench timed runs, 5), DEVICE (--device for run and item_bench; `tiny` uses cpu), RUNS
# (which runs; default "cold_read mcq mcq_rerun mcq_noverify mcq_hf mcq_jit mcq_nographs mcq_cudnn
# mcq_bucket vqa vqa_hf mcq_steady vqa_steady item_bench"), PREFILL_BUCKET (64, for mcq_bucket), WORK
# (/tmp/vlm-dataset-bench; checkpoints and exports are deleted after use), RUN_TIMEOUT (seconds,
# 0: none; a run past it gets SIGINT, records what it answered and counts as interrupted), PYTHON,
# BATCH_SIZES ("1 8 16 32"; N = 1 is the plain run), GPU_SAMPLE_MS (100; 0: no sampling), KEEP (0),
# REUSE (0), RESTORE (an archive of an earlier call's WORK; implies REUSE=1).
# Exit status 3 when any item failed, any run exited non-zero, a set's result files differ across N
# or a transformers loop failed or disagreed with run's tiles and prompt ids (the result file is
# written all the same).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=$1
shift
. bench/bench_lib.sh
WORK=${WORK:-/tmp/vlm-dataset-bench}
ITEMS=${ITEMS:-300}
VQA_ITEMS=${VQA_ITEMS:-$ITEMS}
STEADY_ITEMS=${STEADY_ITEMS:-100}
VQA_STEADY_ITEMS=${VQA_STEADY_ITEMS:-30}
SCALE=${SCALE:-1}
REPS=${REPS:-5}
RUN_TIMEOUT=${RUN_TIMEOUT:-0}
RUNS=${RUNS:-"cold_read mcq mcq_rerun mcq_noverify mcq_hf mcq_jit mcq_nographs mcq_cudnn mcq_bucket vqa vqa_hf mcq_steady vqa_steady item_bench"}
PREFILL_BUCKET=${PREFILL_BUCKET:-64}
BATCH_SIZES=${BATCH_SIZES:-"1 8 16 32"}
GPU_SAMPLE_MS=${GPU_SAMPLE_MS:-100}
REUSE=${REUSE:-0}
if [ -n "${RESTORE:-}" ]; then
  mkdir -p "${WORK}"
  tar xzf "$RESTORE" -C "$WORK"
  REUSE=1
  echo "== restored $(wc -l <"$WORK/runs.jsonl") earlier runs from $RESTORE" >&2
fi
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

# GPU-busy sampling: nvidia-smi's utilization.gpu (the percentage of the last sample period in which
# a kernel ran) every GPU_SAMPLE_MS ms, with its own timestamps, into FILE, in the background.
SAMPLER_PID=""
start_sampler() {
  SAMPLER_PID=""
  [ "$GPU_SAMPLE_MS" -gt 0 ] && [ "${1:-}" != cpu ] && command -v nvidia-smi >/dev/null || return 0
  local gpu=0
  case "${1:-}" in cuda:*) gpu=${1#cuda:} ;; esac
  nvidia-smi -i "$gpu" --query-gpu=timestamp,utilization.gpu --format=csv,noheader,nounits \
    -lms "$GPU_SAMPLE_MS" >"$2" 2>/dev/null &
  SAMPLER_PID=$!
}
stop_sampler() {
  if [ -n "$SAMPLER_PID" ]; then
    kill "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
  fi
  SAMPLER_PID=""
}
trap stop_sampler EXIT

# The data, once for every shape (seeded: the same bytes every time).
if [ "$REUSE" = 1 ] && [ -f "$WORK/LMUData/bench_data.json" ]; then
  echo "== data: reused from $WORK/LMUData" >&2
else
  echo "== data: $ITEMS MCQ + $VQA_ITEMS VQA items (steady: $STEADY_ITEMS, $VQA_STEADY_ITEMS)" >&2
  t0=$(now)
  "$PY" scripts/fixtures/make_bench_data.py --out "$WORK/LMUData" --mcq "$ITEMS" --vqa "$VQA_ITEMS" \
    --steady "$STEADY_ITEMS" --steady-vqa "$VQA_STEADY_ITEMS" --scale "$SCALE" >&2
  echo "   $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s" >&2
fi

RUNS_FILE=$WORK/runs.jsonl
[ "$REUSE" = 1 ] || : >"$RUNS_FILE"
[ "$REUSE" = 1 ] || : >"$WORK/calls.txt"
touch "$RUNS_FILE"
HAS_BATCH=false
has_flag --batch-size && HAS_BATCH=true
for shape in "$@"; do
  shape_names "$shape"
  ckpt=$WORK/ckpt-$tag
  model=$WORK/model-$tag
  device=${DEVICE:-}
  [ "$preset" = tiny ] && device=${DEVICE:-cpu}
  if [ "$REUSE" = 1 ] && [ -f "$model/manifest.json" ] && [ -f "$ckpt/config.json" ]; then
    echo "== $shape: checkpoint and export reused from $WORK" >&2
  else
    echo "== $shape: checkpoint and export" >&2
    rm -rf "$ckpt" "$model"
    make_checkpoint "$shape" "$ckpt"
    export_checkpoint "$ckpt" "$model"
  fi
  # The checkpoint stays until the transformers loops have run (they load it).

  # One `run` process: LABEL DATASET MAX_NEW_TOKENS [extra run arguments...]. Its $XDG_CACHE_HOME
  # is WORK/cache-LABEL, made afresh (no verification stamp), or with CACHE_OF=LABEL2 the one that
  # run LABEL2 left (its stamps).
  time_run() {
    local label=$1 data=$2 max_new=$3
    shift 3
    local out=$WORK/out-$tag-$label cache=$WORK/cache-${CACHE_OF:-$label}
    rm -rf "$out"
    [ -n "${CACHE_OF:-}" ] || rm -rf "$cache"
    local dropped=false
    drop_caches && dropped=true
    local argv=("$RUN_BIN" --model-dir "$model" --data "$data" --work-dir "$out"
      --max-new-tokens "$max_new" --quiet ${device:+--device "$device"} "$@")
    echo "== $shape: $label: ${argv[*]}" >&2
    local start end rc=0
    local cap=()
    [ "$RUN_TIMEOUT" -gt 0 ] && cap=(timeout -s INT -k 30 "$RUN_TIMEOUT")
    start_sampler "$device" "$out.gpu.csv"
    start=$(now)
    XDG_CACHE_HOME=$cache LMUData=$WORK/LMUData "${cap[@]}" "${argv[@]}" \
      >"$out.log" 2>&1 || rc=$?
    end=$(now)
    stop_sampler
    tail -3 "$out.log" >&2
    "$PY" - "$RUNS_FILE" "$shape" "$label" "$data" "$start" "$end" "$rc" "$out" "$dropped" \
      "${argv[@]}" <<'PY'
import json, os, sys
f, shape, label, data, start, end, rc, out, dropped = sys.argv[1:10]
with open(f, "a") as fh:
    fh.write(json.dumps({"shape": shape, "label": label, "dataset": data, "argv": sys.argv[10:],
                         "wall_s": float(end) - float(start), "rc": int(rc), "work_dir": out,
                         "start": float(start), "end": float(end),
                         "gpu_samples": out + ".gpu.csv" if os.path.exists(out + ".gpu.csv")
                         else None,
                         "caches_dropped": dropped == "true"}) + "\n")
PY
  }
  # flag_run LABEL CHECK FLAG [VALUE]: when RUNS wants LABEL, the mcq run with FLAG (skipped,
  # saying so, when `run --help` lacks it); CHECK=check: its result files against this call's mcq
  # run, when there is one (check_identical, key "variant").
  flag_run() {
    local label=$1 check=$2 flag=$3
    shift 3
    want "$label" || return 0
    if ! has_flag "$flag"; then
      echo "== $shape: $label skipped: $RUN_BIN has no $flag" >&2
      return 0
    fi
    time_run "$label" BenchMCQ 1 "$flag" "$@"
    if [ "$check" = check ] && [ -d "$WORK/out-$tag-mcq" ]; then
      check_identical mcq "$label" BenchMCQ variant "$label"
    fi
  }
  # check_identical SET LABEL DATASET KEY VALUE: run LABEL's result files against run SET's (N = 1,
  # the plain run) with compare --expect-identical; a line label "identical" in runs.jsonl with
  # KEY: VALUE ("n": N for a batch size, "variant": LABEL for a run with other flags).
  check_identical() {
    local set=$1 label=$2 data=$3 key=$4 value=$5 base new
    base=$(dirname "$(ls -d "$WORK/out-$tag-$set"/*/*/run.json 2>/dev/null | tail -1)")
    new=$(dirname "$(ls -d "$WORK/out-$tag-$label"/*/*/run.json 2>/dev/null | tail -1)")
    # (--data last: it takes every value after it)
    local cmp=("$BUILD/bin/compare" --expect-identical --quiet "$base" "$new" --data "$data")
    local crc=0
    "${cmp[@]}" >"$WORK/compare-$tag-$label.log" 2>&1 || crc=$?
    echo "== $shape: $label against $set: compare exit $crc" >&2
    "$PY" - "$RUNS_FILE" "$shape" "$set" "$key" "$value" "$crc" "$WORK/compare-$tag-$label.log" \
      "${cmp[@]}" <<'PY'
import json, sys
f, shape, set_, key, value, rc, log = sys.argv[1:8]
with open(log, encoding="utf-8", errors="replace") as fh:
    text = fh.read()
with open(f, "a") as fh:
    fh.write(json.dumps({"shape": shape, "label": "identical", "set": set_,
                         key: int(value) if key == "n" else value,
                         "argv": sys.argv[8:], "rc": int(rc),
                         # compare: 0 identical, 1 a prediction differs, else not compared
                         "identical": {0: True, 1: False}.get(int(rc)),
                         "output_tail": text[-2000:]}) + "\n")
PY
  }
  # A set at every N of BATCH_SIZES: SET (mcq, vqa) DATASET MAX_NEW_TOKENS. N = 1 is the plain run
  # (label SET); N > 1 runs with --batch-size N (label SET_nN) and its predictions are checked
  # against N = 1's with compare --expect-identical (a line label "identical" in runs.jsonl).
  batch_runs() {
    local set=$1 data=$2 max_new=$3 n
    for n in $BATCH_SIZES; do
      if [ "$n" = 1 ]; then
        time_run "$set" "$data" "$max_new"
        continue
      fi
      if [ "$HAS_BATCH" != true ]; then
        echo "== $shape: ${set}_n$n skipped: $RUN_BIN has no --batch-size (N > 1 not run, not" \
          "faked)" >&2
        echo "{\"shape\": \"$shape\", \"label\": \"${set}_n$n\", \"skipped\":" \
          "\"$RUN_BIN has no --batch-size\", \"set\": \"$set\", \"n\": $n}" >>"$RUNS_FILE"
        continue
      fi
      time_run "${set}_n$n" "$data" "$max_new" --batch-size "$n"
      check_identical "$set" "${set}_n$n" "$data" n "$n"
    done
  }
  # The transformers loop over a set's items: SET DATASET MAX_NEW_TOKENS.
  hf_run() {
    local set=$1 data=$2 max_new=$3
    local label=${set}_hf out=$WORK/hf-$tag-$set
    local argv=("$PY" bench/dataset_bench_hf.py --checkpoint "$ckpt" --export "$model"
      --data "$WORK/LMUData" --dataset "$data" --max-new-tokens "$max_new" --out "$out.json"
      --harness-run "$WORK/out-$tag-$set" ${device:+--device "${device}"})
    [ "$preset" = tiny ] && argv+=(--allow-no-transformers)
    echo "== $shape: $label: ${argv[*]}" >&2
    local start end rc=0
    start_sampler "$device" "$out.gpu.csv"
    start=$(now)
    "${argv[@]}" >"$out.log" 2>&1 || rc=$?
    end=$(now)
    stop_sampler
    tail -3 "$out.log" >&2
    "$PY" - "$RUNS_FILE" "$shape" "$label" "$data" "$start" "$end" "$rc" "$out" "${argv[@]}" <<'PY'
import json, os, sys
f, shape, label, data, start, end, rc, out = sys.argv[1:9]
with open(f, "a") as fh:
    fh.write(json.dumps({"shape": shape, "label": label, "dataset": data, "argv": sys.argv[9:],
                         "wall_s": float(end) - float(start), "rc": int(rc), "file": out + ".json",
                         "start": float(start), "end": float(end),
                         "gpu_samples": out + ".gpu.csv" if os.path.exists(out + ".gpu.csv")
                         else None}) + "\n")
PY
  }
  if want cold_read; then
    echo "== $shape: cold_read" >&2
    dropped=false
    drop_caches && dropped=true
    "$PY" bench/cold_read.py "$model" "$WORK/cold-$tag.json"
    echo "{\"shape\": \"$shape\", \"label\": \"cold_read\", \"file\": \"$WORK/cold-$tag.json\"," \
      "\"caches_dropped\": $dropped}" >>"$RUNS_FILE"
  fi
  want mcq && batch_runs mcq BenchMCQ 1
  if want mcq_rerun; then
    if [ -d "$WORK/cache-mcq" ]; then CACHE_OF=mcq time_run mcq_rerun BenchMCQ 1; else
      echo "== $shape: mcq_rerun skipped: no stamps of an mcq run of this call" >&2; fi
  fi
  want mcq_noverify && time_run mcq_noverify BenchMCQ 1 --no-verify
  want mcq_hf && hf_run mcq BenchMCQ 1
  flag_run mcq_jit no --jit-optimize
  # graphs change no result, and on the CPU neither does the bucket: both checked against mcq
  flag_run mcq_nographs check --no-cuda-graphs
  flag_run mcq_cudnn no --cudnn-attention
  flag_run mcq_bucket check --prefill-bucket "$PREFILL_BUCKET"
  want vqa && batch_runs vqa BenchVQA 32
  want vqa_hf && hf_run vqa BenchVQA 32
  [ "$STEADY_ITEMS" -gt 0 ] && want mcq_steady && time_run mcq_steady BenchMCQSteady 1
  [ "$VQA_STEADY_ITEMS" -gt 0 ] && want vqa_steady && time_run vqa_steady BenchVQASteady 32
  if want item_bench; then
    echo "== $shape: item_bench" >&2
    drop_caches || true
    hw=()
    [ "$device" = cpu ] && hw=(--cpu-hardware)
    "$BUILD/bin/item_bench" --model-dir "$model" --label "$shape" --reps "$REPS" "${hw[@]}" \
      ${device:+--device "$device"} --out "$WORK/item-$tag.json" >/dev/null
    echo "{\"shape\": \"$shape\", \"label\": \"item_bench\", \"file\": \"$WORK/item-$tag.json\"}" \
      >>"$RUNS_FILE"
  fi
  [ "${KEEP:-0}" = 1 ] || rm -rf "$model" "$ckpt"
done
RESULT=$(result_file dataset)
rc=0
# Every call whose runs the report covers (REUSE, RESTORE), with the settings that shape them.
CALL="ITEMS=$ITEMS VQA_ITEMS=$VQA_ITEMS SCALE=$SCALE BATCH_SIZES=\"$BATCH_SIZES\" RUNS=\"$RUNS\""
CALL+="${DEVICE:+ DEVICE=$DEVICE} bench/run_dataset_bench.sh $BUILD $*"
echo "$(date -u +%FT%TZ) $CALL" >>"$WORK/calls.txt"
"$PY" bench/dataset_bench_report.py --command "$CALL" --calls "$WORK/calls.txt" \
  --runs "$RUNS_FILE" --data "$WORK/LMUData/bench_data.json" --out "$RESULT" || rc=$?
if [ -n "${OUT:-}" ]; then
  cp "$RESULT" "$OUT/"
  tar czf "$OUT/dataset-bench-work.tgz" -C "$WORK" --exclude=./LMUData --exclude='./ckpt-*' \
    --exclude='./model-*' --exclude='./cache-*' .
fi
exit $rc
