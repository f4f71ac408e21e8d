#!/bin/sh
# Make the tiny test models (CTest fixture `fixture.tiny_model`), one per language-model family:
#   TESTDATA/checkpoints/NAME   random InternVL2 checkpoint, OpenGVLab layout
#   TESTDATA/models/NAME        its float32 export (manifest.json, units/, golden.json)
# with NAME and make_tiny_checkpoint.py arguments:
#   InternVL2-tiny         InternLM2 + InternViT-300M (the model most tests use)
#   InternVL2-tiny-qwen2   Qwen2 (q/k/v biases, head tied to the embedding) + InternViT-6B style
#   InternVL2-tiny-phi3    Phi-3 (packed qkv/gate_up, LongRoPE) + InternViT-300M; the LongRoPE
#                          threshold (original_max_position_embeddings 68) lies inside the text
#                          case's generation (58-token prompt + 20 steps), and the image case's
#                          prompt is past it
#   InternVL2-tiny-llama   Llama + InternViT-6B style (RMSNorm, qk-norm, no qkv bias)
# Usage: make_test_model.sh PYTHON TESTDATA
# Idempotent: a model is remade only when a script here is newer than its manifest.json.
set -eu
if [ $# -ne 2 ]; then
  echo "usage: $0 PYTHON TESTDATA" >&2
  exit 2
fi
PY=$1
TESTDATA=$2
HERE=$(cd "$(dirname "$0")" && pwd)
SOURCES="make_test_model.sh make_tiny_checkpoint.py tiny_tokenizer.py safetensors_io.py
  internvl2_reference.py internvl2_units.py export_internvl2.py"

make_model() {
  NAME=$1
  shift
  CKPT=$TESTDATA/checkpoints/$NAME
  MODEL=$TESTDATA/models/$NAME
  MANIFEST=$MODEL/manifest.json
  if [ -f "$MANIFEST" ]; then
    stale=""
    for s in $SOURCES; do
      if [ "$HERE/$s" -nt "$MANIFEST" ]; then stale="$s"; fi
    done
    if [ -z "$stale" ]; then
      echo "make_test_model: $MODEL is up to date"
      return 0
    fi
  fi
  # Build beside the final folders, then swap in: a half-made model is never at $MODEL.
  mkdir -p "$TESTDATA/checkpoints" "$TESTDATA/models"
  rm -rf "$CKPT.tmp" "$MODEL.tmp"
  "$PY" "$HERE/make_tiny_checkpoint.py" --out "$CKPT.tmp" --seed 0 "$@"
  rm -rf "$CKPT"
  mv "$CKPT.tmp" "$CKPT"
  "$PY" "$HERE/export_internvl2.py" --checkpoint "$CKPT" --out "$MODEL.tmp" \
    --name "$NAME" --dtype float32 --quiet
  rm -rf "$MODEL"
  mv "$MODEL.tmp" "$MODEL"
  echo "make_test_model: wrote $MODEL"
}

make_model InternVL2-tiny
make_model InternVL2-tiny-qwen2 --family qwen2 --vit 6b --tie-embeddings
make_model InternVL2-tiny-phi3 --family phi3 --vit 300m --original-max 68
make_model InternVL2-tiny-llama --family llama --vit 6b
