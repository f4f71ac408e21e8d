#!/usr/bin/env bash
# This runtime vs transformers' own InternVLForConditionalGeneration, on tiny random checkpoints of
# the Qwen2 family (InternVL2-1B's: q/k/v biases, tied head) and the Llama family (InternVL2-76B's,
# with an InternViT-6B-style encoder), in float32 and in bf16: the export's golden cases (a 3-tile
# image prompt and a text prompt, 20 greedy steps) run by transformers from the same weights
# (scripts/fixtures/transformers_reference.py) and compared by `generate --golden`. Needs a machine
# with transformers (the GPU machine). Writes bench/results/parity-<gpu or host>.json.
# Usage: scripts/transformers_parity.sh BUILD_DIR [DEVICE]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=$1
DEVICE=${2:-cuda}
. bench/bench_lib.sh  # PY, PYTHONPATH, result_file
WORK=${WORK:-/tmp/vlm-parity}
mkdir -p "$WORK" bench/results
results=()
for family in qwen2 llama; do
  ckpt=$WORK/ckpt-$family
  extra=()
  [ "$family" = qwen2 ] && extra=(--tie-embeddings)
  [ "$family" = llama ] && extra=(--vit 6b)
  "$PY" -m fixtures.make_tiny_checkpoint --family "$family" "${extra[@]}" --out "$ckpt" >/dev/null
  for dtype in float32 bfloat16; do
    attn=eager
    [ "$dtype" = bfloat16 ] && attn=sdpa
    model=$WORK/model-$family-$dtype
    "$PY" scripts/export_internvl2.py --checkpoint "$ckpt" --out "$model" --dtype "$dtype" \
      --attention "$attn" --quiet >/dev/null
    "$PY" -m fixtures.transformers_reference --checkpoint "$ckpt" --export "$model" \
      --dtype "$dtype" --attn "$attn" --device "$DEVICE" --out "$WORK/hf-$family-$dtype.json"
    # float32: identical greedy ids and logits within 1e-3; bf16: report only (tolerance stated
    # from the figures).
    tol=-1
    [ "$dtype" = float32 ] && tol=1e-3
    set +e
    "$BUILD/bin/generate" --model-dir "$model" --golden "$WORK/hf-$family-$dtype.json" \
      --device "$DEVICE" --tolerance "$tol" --json >"$WORK/cmp-$family-$dtype.json"
    rc=$?
    set -e
    echo "$family $dtype: generate --golden exit $rc"
    "$PY" - "$WORK/cmp-$family-$dtype.json" "$family" "$dtype" "$rc" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
for c in j["cases"]:
    print("  %-6s %-8s %-6s steps %2d  max|dlogit| %.3g  (max|logit| %.3g)  ids %s" % (
        sys.argv[2], sys.argv[3], c["name"], c["steps"], c["max_abs_dlogit"], c["max_abs_logit"],
        "identical" if c["first_id_mismatch"] < 0 else "differ at %d" % c["first_id_mismatch"]))
PY
    results+=("$WORK/cmp-$family-$dtype.json")
  done
done
RESULT=$(result_file parity)
"$PY" - "$RESULT" "${results[@]}" <<'PY'
import json, sys, datetime
out = {"command": "scripts/transformers_parity.sh", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
       "comparisons": [dict(json.load(open(p)), file=p) for p in sys.argv[2:]]}
json.dump(out, open(sys.argv[1], "w"), indent=2)
PY
if [ -n "${OUT:-}" ]; then cp "$RESULT" "$OUT/"; fi
