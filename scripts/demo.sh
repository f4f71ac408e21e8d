#!/usr/bin/env bash
# README command 1: set up, build, make the project's tiny InternVL2 and a RealWorldQA-format
# demo set, then run `run --model InternVL2-tiny --data RealWorldQA` on them.
# Everything it makes goes under ./demo (git-ignored); results under ./demo/outputs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
PY=/usr/bin/python3
DEMO=$PWD/demo
# The tiny model: a random checkpoint in the OpenGVLab layout, exported to TorchScript units.
sh scripts/make_test_model.sh "$PY" "$DEMO"
# 30 synthetic items in VLMEvalKit's TSV format, with one undecodable image and one row without
# a question, to show how bad rows are recorded.
if [ ! -f "$DEMO/LMUData/RealWorldQA.tsv" ]; then
  "$PY" scripts/make_demo_data.py --out "$DEMO/LMUData" --name RealWorldQA --n 30 --bad-rows >/dev/null
fi
export LMUData="$DEMO/LMUData"
exec build/bin/run --model InternVL2-tiny --model-root "$DEMO/models" --data RealWorldQA \
  --work-dir "$DEMO/outputs" "$@"
