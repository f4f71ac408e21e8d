#!/usr/bin/env bash
# Verify + load of real-size random-weight exports on one CUDA device, against the disk's cold read
# rate measured in the same run (issue 19: verification inside the load). For each SHAPE (a preset
# of scripts/internvl2_export/presets.py, optionally ":LAYERS"): makes a bf16 checkpoint, exports
# it, measures the cold read rate of its unit files (bench/cold_read.py, page cache dropped), then
# bench/load_bench --verify on cuda:0: loads without verification ("parallel", = --no-verify), with
# every file hashed as it is read ("parallel_verify_hashed", a first run) and with the stamps that
# run wrote ("parallel_verify_stamped", a re-run on unchanged files). Figures, with the ratios
# the issue's targets name, go to bench/results/verify-load-<gpu or host>.json (and $OUT).
# Usage: bench/run_verify_load_bench.sh BUILD_DIR SHAPE [SHAPE...]
# Environment: WORK (/tmp/vlm-verify-load-bench), REPEATS (3 trials a mode), KEEP (0; 1 keeps
# each export in WORK), REUSE (0; 1 takes an export already in WORK/model-SHAPE, e.g. one that
# bench/run_dataset_bench.sh kept with KEEP=1 when both have the same WORK), LOAD_MODES
# (parallel,one_loader: the unverified modes, "parallel" always among them; "parallel" alone saves
# the one-loader baseline's time on a big shape). THP_MEM_ALLOC_ENABLE=0 takes the host buffers
# off huge pages (lib/include/vlm/core/host_memory.h), for an A/B against the default.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=$1
shift
. bench/bench_lib.sh
WORK=${WORK:-/tmp/vlm-verify-load-bench}
REPEATS=${REPEATS:-3}
KEEP=${KEEP:-0}
REUSE=${REUSE:-0}
LOAD_MODES=${LOAD_MODES:-parallel,one_loader}
mkdir -p "$WORK" bench/results
parts=()
for shape in "$@"; do
  shape_names "$shape"
  ckpt=$WORK/ckpt-$tag
  model=$WORK/model-$tag
  if [ "$REUSE" = 1 ] && [ -f "$model/manifest.json" ]; then
    echo "$shape: the export in $model (REUSE=1)"
  else
    make_checkpoint "$shape" "$ckpt" >/dev/null
    export_checkpoint "$ckpt" "$model"
    rm -rf "$ckpt"
  fi
  sync
  if [ -w /proc/sys/vm/drop_caches ]; then echo 3 >/proc/sys/vm/drop_caches; fi
  "$PY" bench/cold_read.py "$model" "$WORK/disk-$tag.json"
  "$BUILD/bin/load_bench" --model-dir "$model" --devices cuda:0 --repeats "$REPEATS" --verify \
    --modes "$LOAD_MODES" \
    --out "$WORK/load-$tag.json" >/dev/null
  "$PY" - "$shape" "$WORK/load-$tag.json" "$WORK/disk-$tag.json" "$WORK/part-$tag.json" <<'PY'
import json, sys
shape, load, disk, out = sys.argv[1:]
j = json.load(open(load)); d = json.load(open(disk))
cold = d["gb_per_s"]
j["shape"] = shape
j["disk_read_cold"] = d
j["verify_load_fraction_of_cold_read"] = j["parallel_verify_hashed"]["median_gb_per_s"] / cold
j["no_verify_fraction_of_cold_read"] = j["parallel"]["median_gb_per_s"] / cold
j["rerun_stamped_over_no_verify"] = (j["parallel_verify_stamped"]["median_ms"] /
                                     j["parallel"]["median_ms"])
j["targets"] = {"verify_load_fraction_of_cold_read": ">= 0.8",
                "rerun_stamped_over_no_verify": "<= 1.1"}
json.dump(j, open(out, "w"), indent=2)
print(f"{shape}: cold read {cold:.2f} GB/s; verify+load {j['verify_load_fraction_of_cold_read']:.2f} "
      f"of it, no-verify {j['no_verify_fraction_of_cold_read']:.2f}; stamped re-run "
      f"{j['rerun_stamped_over_no_verify']:.3f}x no-verify")
PY
  parts+=("$WORK/part-$tag.json")
  [ "$KEEP" = 1 ] || rm -rf "$model"
done
RESULT=$(result_file verify-load)
"$PY" - "$RESULT" "bench/run_verify_load_bench.sh $BUILD $*" "${parts[@]}" <<'PY'
import datetime, json, sys, torch
out, command, parts = sys.argv[1], sys.argv[2], sys.argv[3:]
json.dump({"command": command, "date_utc": datetime.datetime.utcnow().isoformat(),
           "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
           "torch": torch.__version__, "shapes": [json.load(open(p)) for p in parts]},
          open(out, "w"), indent=2)
PY
if [ -n "${OUT:-}" ]; then cp "$RESULT" "$OUT/"; fi
