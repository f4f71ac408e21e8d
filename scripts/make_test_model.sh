#!/bin/sh
# Make the tiny test model (CTest fixture `fixture.tiny_model`):
#   TESTDATA/checkpoints/InternVL2-tiny   random InternVL2 checkpoint, OpenGVLab layout
#   TESTDATA/models/InternVL2-tiny        its float32 export (manifest.json, units/, golden.json)
# Usage: make_test_model.sh PYTHON TESTDATA
# Idempotent: does nothing while the model's manifest.json is newer than every script here.
set -eu
if [ $# -ne 2 ]; then
  echo "usage: $0 PYTHON TESTDATA" >&2
  exit 2
fi
PY=$1
TESTDATA=$2
HERE=$(cd "$(dirname "$0")" && pwd)
CKPT=$TESTDATA/checkpoints/InternVL2-tiny
MODEL=$TESTDATA/models/InternVL2-tiny
MANIFEST=$MODEL/manifest.json

SOURCES="make_test_model.sh make_tiny_checkpoint.py tiny_tokenizer.py safetensors_io.py
  internvl2_reference.py internvl2_units.py export_internvl2.py"
if [ -f "$MANIFEST" ]; then
  stale=""
  for s in $SOURCES; do
    if [ "$HERE/$s" -nt "$MANIFEST" ]; then stale="$s"; fi
  done
  if [ -z "$stale" ]; then
    echo "make_test_model: $MODEL is up to date"
    exit 0
  fi
fi

# Build beside the final folders, then swap in: a half-made model is never at $MODEL.
mkdir -p "$TESTDATA/checkpoints" "$TESTDATA/models"
rm -rf "$CKPT.tmp" "$MODEL.tmp"
"$PY" "$HERE/make_tiny_checkpoint.py" --out "$CKPT.tmp" --seed 0
rm -rf "$CKPT"
mv "$CKPT.tmp" "$CKPT"
"$PY" "$HERE/export_internvl2.py" --checkpoint "$CKPT" --out "$MODEL.tmp" \
  --name InternVL2-tiny --dtype float32
rm -rf "$MODEL"
mv "$MODEL.tmp" "$MODEL"
echo "make_test_model: wrote $MODEL"
