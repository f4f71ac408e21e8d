#!/usr/bin/env bash
# `run --overlap` against a run without it (issue 13 part 5): items/s of each and whether their
# result files are identical (`compare --expect-identical`), per placement and batch size, over
# BenchMCQ (scripts/fixtures/make_bench_data.py: photo-like JPEGs of 3..7 tiles).
#
# Placements (PLACEMENTS, default "cuda0 split"):
#   cuda0  every unit on cuda:0 (`--device cuda:0`)
#   split  vision_model, mlp1, the embedding and the first SPLIT_LAYERS decoder layers (default:
#          half) on cuda:0; the other layers, norm and head on the CPU: the one-GPU stand-in for
#          several devices, where item k+1's vision on the GPU can overlap item k's CPU layers
# Each as its own process, in the order without/with --overlap, at every N of BATCH_SIZES
# (default "1 8"), MAX_NEW_TOKENS (default 1) new tokens an item.
#
# Usage: bench/run_overlap_bench.sh BUILD_DIR MODEL_DIR [ITEMS]     (ITEMS default 100)
#   e.g. bench/run_overlap_bench.sh build-gpu /models/InternVL2-1B 100
#   CPU check of the script: PLACEMENTS=cpu BATCH_SIZES="1 2" bench/run_overlap_bench.sh build \
#     build/testdata/models/InternVL2-tiny 4
# Writes $WORK/overlap.jsonl (one line per run: placement, n, overlap, items_per_s, infer_ms,
# identical) and prints a table. WORK defaults to a fresh folder under /tmp.
set -euo pipefail
BUILD=$(cd "${1:?BUILD_DIR}" && pwd)
MODEL=$(cd "${2:?MODEL_DIR}" && pwd)
ITEMS=${3:-100}
PY=${PYTHON:-/usr/bin/python3}
PLACEMENTS=${PLACEMENTS:-"cuda0 split"}
BATCH_SIZES=${BATCH_SIZES:-"1 8"}
MAX_NEW_TOKENS=${MAX_NEW_TOKENS:-1}
WORK=${WORK:-$(mktemp -d /tmp/vlm_overlap_bench.XXXXXX)}
cd "$(dirname "$0")/.."
mkdir -p "$WORK/LMUData"
[ -f "$WORK/LMUData/BenchMCQ.tsv" ] ||
  "$PY" scripts/fixtures/make_bench_data.py --out "$WORK/LMUData" --mcq "$ITEMS" --vqa 0 >/dev/null

# The split placement: every unit pinned, from the export's own unit names.
"$PY" - "$MODEL/manifest.json" "$WORK/split.yaml" "${SPLIT_LAYERS:-}" <<'PY'
import json, sys
units = json.load(open(sys.argv[1]))["units"]
layers = [u for u in units if u["kind"] == "decoder_layer"]
first = int(sys.argv[3]) if sys.argv[3] else len(layers) // 2
with open(sys.argv[2], "w") as f:
    f.write("strategy: sequential\ndevices: [cuda:0, cpu]\npin:\n")
    for u in units:
        gpu = u["kind"] in ("vision", "projector", "embedding") or (
            u["kind"] == "decoder_layer" and u.get("layer", 0) < first)
        f.write("  %s: %s\n" % (u["name"], "cuda:0" if gpu else "cpu"))
PY

: >"$WORK/overlap.jsonl"
for placement in $PLACEMENTS; do
  case $placement in
    cuda0) where=(--device cuda:0) ;;
    cpu) where=(--device cpu) ;;  # a check of the script: --overlap does nothing there
    split) where=(--placement "$WORK/split.yaml") ;;
    *) echo "unknown placement $placement" >&2; exit 2 ;;
  esac
  for n in $BATCH_SIZES; do
    for overlap in off on; do
      out="$WORK/out-$placement-n$n-$overlap"
      flag=()
      [ "$overlap" = on ] && flag=(--overlap)
      LMUData="$WORK/LMUData" "$BUILD/bin/run" --model-dir "$MODEL" --data BenchMCQ --quiet \
        --max-new-tokens "$MAX_NEW_TOKENS" --batch-size "$n" --work-dir "$out" "${where[@]}" \
        "${flag[@]}" >"$out.log" 2>&1 || { echo "run failed: $out.log" >&2; exit 1; }
    done
    off=$(dirname "$(ls -d "$WORK/out-$placement-n$n-off"/*/*/run.json | tail -1)")
    on=$(dirname "$(ls -d "$WORK/out-$placement-n$n-on"/*/*/run.json | tail -1)")
    crc=0
    "$BUILD/bin/compare" --expect-identical --quiet "$off" "$on" --data BenchMCQ \
      >"$WORK/compare-$placement-n$n.log" 2>&1 || crc=$?
    for overlap in off on; do
      dir=$off
      [ "$overlap" = on ] && dir=$on
      "$PY" - "$dir/run.json" "$placement" "$n" "$overlap" "$crc" >>"$WORK/overlap.jsonl" <<'PY'
import json, sys
run, placement, n, overlap, crc = sys.argv[1:6]
shard = json.load(open(run))["datasets"]["BenchMCQ"]["shards"]["0of1"]
print(json.dumps({"placement": placement, "n": int(n), "overlap": overlap == "on",
                  "items_per_s": shard.get("items_per_s"),
                  "infer_ms": shard.get("stage_ms", {}).get("infer"),
                  "ahead_ms": shard.get("stage_ms", {}).get("ahead"),
                  "identical": int(crc) == 0}))
PY
    done
  done
done
"$PY" - "$WORK/overlap.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("%-10s %4s %14s %14s %7s %10s" % ("placement", "N", "items/s off", "items/s on", "gain", "identical"))
for r in rows:
    if r["overlap"]:
        continue
    on = next(x for x in rows if x["placement"] == r["placement"] and x["n"] == r["n"] and x["overlap"])
    gain = on["items_per_s"] / r["items_per_s"] if r["items_per_s"] else float("nan")
    print("%-10s %4d %14.2f %14.2f %6.2fx %10s" % (r["placement"], r["n"], r["items_per_s"],
                                                  on["items_per_s"], gain, r["identical"]))
PY
echo "results: $WORK/overlap.jsonl"
