#!/usr/bin/env bash
# README command 1: set up, build, export the shipped demo model (models/InternVL2-Demo: a tiny
# InternVL2 trained by scripts/train_demo_model.py on synthetic shapes) and run
# `run --model InternVL2-Demo --data DemoShapes DemoShapesVQA` on its held-out questions: 300
# multiple-choice ones (accuracy, >= 90%) and 200 short-answer ones (colour word or count, scored
# by the TextVQA scorer: VQA accuracy).
# Everything it makes goes under ./demo (git-ignored); results under ./demo/outputs.
# BUILD_DIR (default ./build) picks the build folder, as for scripts/build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
PY=/usr/bin/python3
DEMO=$PWD/demo
SRC=models/InternVL2-Demo
MODEL=$DEMO/models/InternVL2-Demo
# The checkpoint (OpenGVLab layout, float16) -> the TorchScript model dir `run` loads (float32 on
# CPU). Redone when the checkpoint or the exporter changed.
stale=1
if [ -f "$MODEL/manifest.json" ]; then
  stale=0
  for f in "$SRC"/* scripts/export_internvl2.py scripts/internvl2_export/*.py; do
    if [ "$f" -nt "$MODEL/manifest.json" ]; then stale=1; fi
  done
fi
if [ "$stale" = 1 ]; then
  rm -rf "$MODEL.tmp"
  "$PY" scripts/export_internvl2.py --checkpoint "$SRC" --out "$MODEL.tmp" \
    --name InternVL2-Demo --dtype float32 >/dev/null
  rm -rf "$MODEL"
  mv "$MODEL.tmp" "$MODEL"
fi
# The held-out splits, as shipped (scripts/train_demo_model.py --data-only writes the same bytes).
mkdir -p "$DEMO/LMUData"
for d in DemoShapes DemoShapesVQA; do
  cp "$SRC/$d.tsv" "$DEMO/LMUData/$d.tsv"
done
export LMUData="$DEMO/LMUData"
exec "$BUILD_DIR/bin/run" --model InternVL2-Demo --model-root "$DEMO/models" \
  --data DemoShapes DemoShapesVQA --work-dir "$DEMO/outputs" "$@"
