#!/bin/sh
# Config-only manifests of every published InternVL2 size (CTest fixture `fixture.size_manifests`):
#   OUT/<name>/config.json     the OpenGVLab config.json (scripts/internvl2_presets.py)
#   OUT/<name>/manifest.json   export_internvl2.py --config-only --dtype bfloat16 of it
# for <name> in InternVL2-1B -2B -4B -8B -26B -40B, InternVL2-Llama3-76B. No weights are read.
# Usage: make_size_manifests.sh PYTHON OUT
# Idempotent: does nothing while every manifest.json is newer than every script here.
set -eu
if [ $# -ne 2 ]; then
  echo "usage: $0 PYTHON OUT" >&2
  exit 2
fi
PY=$1
OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
NAMES="InternVL2-1B InternVL2-2B InternVL2-4B InternVL2-8B InternVL2-26B InternVL2-40B
  InternVL2-Llama3-76B"
SOURCES="make_size_manifests.sh internvl2_presets.py export_internvl2.py internvl2_units.py
  internvl2_reference.py safetensors_io.py"

stale=""
for n in $NAMES; do
  m=$OUT/$n/manifest.json
  if [ ! -f "$m" ]; then stale="$m"; continue; fi
  for s in $SOURCES; do
    if [ "$HERE/$s" -nt "$m" ]; then stale="$s"; fi
  done
done
if [ -z "$stale" ]; then
  echo "make_size_manifests: $OUT is up to date"
  exit 0
fi

mkdir -p "$OUT"
# One process for all sizes (torch imports once); each manifest.json is written atomically.
"$PY" "$HERE/internvl2_presets.py" --out "$OUT" --export
echo "make_size_manifests: wrote $OUT"
