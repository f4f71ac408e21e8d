#!/usr/bin/env bash
# On a CUDA machine without network: configure against the CUDA LibTorch of the Python torch
# (torch.utils.cmake_prefix_path), take OpenCV, libxlsxwriter and PCRE2 from .gpudeps (made by
# scripts/make_gpu_bundle.sh), build, and run the tests (default: every label, gpu included).
# Usage: scripts/gpu_build_test.sh [ctest args...]     e.g. -L gpu
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3)}
BUILD_DIR=${BUILD_DIR:-build-gpu}
TP=$("$PY" -c 'import torch;print(torch.utils.cmake_prefix_path)')
export PKG_CONFIG_PATH=$PWD/.gpudeps/xlsxwriter/lib/pkgconfig:$PWD/.gpudeps/pcre2/lib/pkgconfig:$PWD/.gpudeps/minizip/lib/pkgconfig:$PWD/.gpudeps/pugixml/lib/pkgconfig:${PKG_CONFIG_PATH:-}
export LD_LIBRARY_PATH=$PWD/.gpudeps/opencv/lib:$PWD/.gpudeps/xlsxwriter/lib:$PWD/.gpudeps/pcre2/lib:$PWD/.gpudeps/minizip/lib:$PWD/.gpudeps/pugixml/lib:${LD_LIBRARY_PATH:-}
GEN=()
KEEP_GOING=()
if command -v ninja >/dev/null 2>&1; then GEN=(-G Ninja); KEEP_GOING=(-- -k 0); fi
cmake -S . -B "$BUILD_DIR" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TP" \
  -DOpenCV_DIR="$PWD/.gpudeps/opencv/lib/cmake/opencv4" -DVLM_PYTHON="$PY" \
  >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" "${KEEP_GOING[@]}"
cd "$BUILD_DIR"
ctest --output-on-failure -j 4 "$@"
