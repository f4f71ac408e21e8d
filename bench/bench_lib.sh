# Shared by the bench/run_*.sh scripts, sourced after their `cd` to the repository root: the Python
# that runs the project's scripts, and the random-weight checkpoint and export of a SHAPE.
# shellcheck shell=bash

# PY runs scripts/; scripts/ is the import root of fixtures/ and internvl2_export/ (run with -m).
PY=${PYTHON:-$(command -v python3)}
export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}"

# shape_names SHAPE: sets preset (a preset of scripts/internvl2_export/presets.py, or `tiny`),
# layers (the decoder layers kept, from "PRESET:LAYERS"; "" keeps all) and tag (SHAPE with ':' as
# '_', for file names).
shape_names() {
  preset=${1%%:*}
  layers=""
  if [ "$1" != "$preset" ]; then layers=${1#*:}; fi
  tag=$(echo "$1" | tr ':' '_')
}

# make_checkpoint SHAPE CKPT [SHARDS]: a random-weight checkpoint in the OpenGVLab layout at CKPT:
# the preset's real shapes in bfloat16 over SHARDS safetensors files (4), or the tiny test model.
# Also sets EXPORT_ARGS, the exporter's dtype and attention for it: bfloat16 with sdpa, float32
# for `tiny`.
make_checkpoint() {
  shape_names "$1"
  if [ "$preset" = tiny ]; then
    "$PY" -m fixtures.make_tiny_checkpoint --out "$2" --seed 0
    EXPORT_ARGS=(--dtype float32)
  else
    "$PY" -m fixtures.make_tiny_checkpoint --preset "$preset" ${layers:+--llm-layers "$layers"} \
      --dtype bfloat16 --shards "${3:-4}" --out "$2"
    EXPORT_ARGS=(--dtype bfloat16 --attention sdpa)
  fi
}

# export_checkpoint CKPT MODEL: scripts/export_internvl2.py of make_checkpoint's CKPT into MODEL
# (EXPORT_ARGS, no golden file).
export_checkpoint() {
  "$PY" scripts/export_internvl2.py --checkpoint "$1" --out "$2" "${EXPORT_ARGS[@]}" \
    --no-golden --quiet
}

# result_file NAME: bench/results/NAME-<machine>.json, the machine named by its GPU (h100, h200, ...)
# where nvidia-smi names a known one, else by the host name.
result_file() {
  local machine
  machine=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 |
    grep -o -i -E 'h100|h200|a100|b200|l40s' | tr 'A-Z' 'a-z' || true)
  echo "bench/results/$1-${machine:-$(hostname | tr -cd 'a-zA-Z0-9_-')}.json"
}
