#!/usr/bin/env bash
# A/B of exporter changes (issue 13's kernel cuts): one checkpoint of SHAPE exported by this tree's
# exporter ("head") and by a copy of scripts/ with each PATCH applied (variant named after the
# patch file), the exports made in parallel; each variant's units against head's on DEVICE,
# bitwise, as `run` runs them (scripts/compare_exports.py); then bench/item_bench on every variant,
# ROUNDS rounds interleaved (head, variants, head, variants, ...) so that drift hits all alike.
# With JIT=1 also "head_jit": head's export under --jit-optimize (TorchScript's fuser on every
# call; what fusing the elementwise chains would give). Writes bench/results/export-ab-<host>.json:
# per variant the comparison (outputs compared, differing, the first lines) and per round
# item_bench's medians (total, prefill, vision, ms per decoded token), with their median over rounds.
# Usage: bench/run_export_ab.sh BUILD_DIR SHAPE [PATCH...]
#   GPU:  bench/run_export_ab.sh build-gpu InternVL2-1B:8 my-cut.patch
#   CPU check of the script: DEVICE=cpu ROUNDS=1 REPS=1 bench/run_export_ab.sh build tiny P.patch
# SHAPE: a preset of scripts/internvl2_export/presets.py, optionally ":LAYERS" (bf16, sdpa), or
# `tiny` (the tiny test checkpoint, float32). A PATCH applies with `patch -p1` at the repository
# root and touches scripts/ only.
# Environment: DEVICE (cuda:0), ROUNDS (2), REPS (10 timed runs a round), NEW_TOKENS ("1 16"),
# BATCHES ("16": item_bench --batch, the decode step with that many copies of the item in flight;
# empty: none), JIT (0), WORK (/tmp/vlm-export-ab; removed at the end unless KEEP=1), PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$1
SHAPE=$2
shift 2
. bench/bench_lib.sh
DEVICE=${DEVICE:-cuda:0}
ROUNDS=${ROUNDS:-2}
REPS=${REPS:-10}
NEW_TOKENS=${NEW_TOKENS:-"1 16"}
BATCHES=${BATCHES-16}
WORK=${WORK:-/tmp/vlm-export-ab}
rm -rf "$WORK"
mkdir -p "$WORK" bench/results
patches=()
for p in "$@"; do
  [ -f "$p" ] || { echo "run_export_ab: no patch file $p" >&2; exit 2; }
  patches+=("$(cd "$(dirname "$p")" && pwd)/$(basename "$p")")
done

echo "== checkpoint of $SHAPE" >&2
make_checkpoint "$SHAPE" "$WORK/ckpt" 2 >/dev/null

# The variants' exporters: head is this tree's scripts/, each patch a patched copy of it.
variants=(head)
declare -A src=([head]="$ROOT/scripts")
for p in "${patches[@]}"; do
  name=$(basename "$p")
  name=${name%.patch}
  mkdir -p "$WORK/src-$name"
  cp -r "$ROOT/scripts" "$WORK/src-$name/scripts"
  (cd "$WORK/src-$name" && patch -p1 --quiet --forward <"$p") ||
    { echo "run_export_ab: $p does not apply to scripts/" >&2; exit 2; }
  variants+=("$name")
  src[$name]="$WORK/src-$name/scripts"
done

# The exports in parallel, the CPU's threads shared out (each export is mostly one process's
# tensor work: without a cap, several of them oversubscribe the cores and crawl).
cores=$(nproc)
threads=$(((cores + ${#variants[@]} - 1) / ${#variants[@]}))
echo "== ${#variants[@]} exports, $threads threads each" >&2
pids=()
for v in "${variants[@]}"; do
  (cd "${src[$v]}" && OMP_NUM_THREADS=$threads PYTHONPATH="${src[$v]}" \
    "$PY" export_internvl2.py --checkpoint "$WORK/ckpt" --out "$WORK/model-$v" \
    "${EXPORT_ARGS[@]}" --no-golden --quiet) >"$WORK/export-$v.log" 2>&1 &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { echo "export of ${variants[$i]} failed:" >&2; tail -5 \
    "$WORK/export-${variants[$i]}.log" >&2; exit 1; }
done

for v in "${variants[@]:1}"; do
  echo "== $v against head on $DEVICE" >&2
  rc=0
  "$PY" scripts/compare_exports.py "$WORK/model-head" "$WORK/model-$v" --device "$DEVICE" \
    >"$WORK/compare-$v.txt" 2>&1 || rc=$?
  echo "$rc" >"$WORK/compare-$v.rc"
  tail -1 "$WORK/compare-$v.txt" >&2
done

timed=("${variants[@]}")
[ "${JIT:-0}" = 1 ] && timed=(head head_jit "${variants[@]:1}")
read -r -a tokens <<<"$NEW_TOKENS"
batch_args=()
[ -n "$BATCHES" ] && { read -r -a b <<<"$BATCHES"; batch_args=(--batch "${b[@]}"); }
for ((r = 1; r <= ROUNDS; r++)); do
  for v in "${timed[@]}"; do
    model=$WORK/model-${v%_jit}
    extra=()
    [ "$v" = head_jit ] && extra=(--jit-optimize)
    echo "== round $r: $v" >&2
    "$BUILD/bin/item_bench" --model-dir "$model" --label "$v" --device "$DEVICE" --reps "$REPS" \
      --warmup 2 --new-tokens "${tokens[@]}" "${batch_args[@]}" --no-hardware "${extra[@]}" \
      --out "$WORK/ib-$v-$r.json" >/dev/null
  done
done

RESULT=$(result_file export-ab)
"$PY" - "$RESULT" "$WORK" "$ROUNDS" "bench/run_export_ab.sh $BUILD $SHAPE $*" "$DEVICE" \
  "${timed[@]}" <<'PY'
import datetime, json, os, statistics, subprocess, sys
out, work, rounds, command, device = sys.argv[1:6]
timed = sys.argv[6:]
res = {"command": command, "device": device, "rounds": int(rounds),
       "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
       "variants": {}}
try:
    res["harness_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True,
                                           text=True, check=True).stdout.strip()
except (OSError, subprocess.CalledProcessError):
    pass
for v in timed:
    e = {}
    base = v[:-4] if v.endswith("_jit") else v
    cmp_txt = os.path.join(work, "compare-%s.txt" % base)
    if base != "head" and os.path.exists(cmp_txt):
        lines = open(cmp_txt).read().splitlines()
        rc = int(open(os.path.join(work, "compare-%s.rc" % base)).read())
        e["against_head"] = {"exit": rc, "identical": {0: True, 1: False}.get(rc),
                             "summary": lines[-1] if lines else "", "first_lines": lines[:8]}
    by_tokens = {}
    for r in range(1, int(rounds) + 1):
        with open(os.path.join(work, "ib-%s-%d.json" % (v, r))) as f:
            ib = json.load(f)
        for run in ib["runs"]:
            m = run.get("median_ms") or {}
            by_tokens.setdefault(str(run["new_tokens"]), []).append(
                {"total_ms": m.get("total"), "prefill_ms": m.get("prefill"),
                 "vision_ms": m.get("vision"),
                 "ms_per_decoded_token": run.get("ms_per_decoded_token")})
        for n, b in (ib.get("batched") or {}).items():
            by_tokens.setdefault("batch" + n, []).append({"ms_per_step": b["ms_per_step"]})
    e["item_bench"] = {}
    for n, rows in by_tokens.items():
        med = {k: statistics.median(x[k] for x in rows) for k in rows[0] if rows[0][k] is not None}
        e["item_bench"][n] = {"rounds": rows, "median_over_rounds": med}
    res["variants"][v] = e
head = res["variants"].get("head", {}).get("item_bench", {})
for v, e in res["variants"].items():
    for n, x in e["item_bench"].items():
        h = head.get(n, {}).get("median_over_rounds", {})
        x["over_head"] = {k: x["median_over_rounds"][k] / h[k]
                          for k in x["median_over_rounds"] if h.get(k)}
        m = x["median_over_rounds"]
        if n.startswith("batch"):
            print("%-12s %s in flight: %8.3f ms a decode step" % (v, n[5:], m["ms_per_step"]))
            continue
        print("%-12s %3s tokens: total %8.2f ms  prefill %7.2f  vision %7.2f  %s  %s" % (
            v, n, m.get("total_ms", 0), m.get("prefill_ms", 0), m.get("vision_ms", 0),
            "%.3f ms/token" % m["ms_per_decoded_token"] if "ms_per_decoded_token" in m else "",
            "(%s)" % e["against_head"]["summary"] if "against_head" in e else ""))
json.dump(res, open(out, "w"), indent=1)
print("wrote %s" % out)
PY
if [ -n "${OUT:-}" ]; then cp "$RESULT" "$OUT/"; fi
[ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
