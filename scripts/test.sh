#!/usr/bin/env bash
# README command 2: set up, build, and run every test (unit, model; gpu tests skip without CUDA).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" "$@"
