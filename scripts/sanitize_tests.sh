#!/bin/sh
# Builds with AddressSanitizer + UndefinedBehaviorSanitizer (-DVLM_SANITIZE=ON, gcc, in
# build-asan/) and runs tests under them: the `unit` label by default.
#
#   scripts/sanitize_tests.sh [ctest args...]        e.g. scripts/sanitize_tests.sh -R '^data\.'
#
# Environment:
#   BUILD_DIR   build folder (default build-asan)
#   JOBS        build and test parallelism (default: nproc)
#   AREAS       library areas to build (default "all"; e.g. "vision;text;data;eval" builds and
#               tests those with core only, for a quicker partial run)
#   LABELS      ctest label regex (default "unit"; "unit|model" adds the tiny-model tests)
#   CMAKE_ARGS  extra configure arguments (e.g. -DCMAKE_PREFIX_PATH=... on the CUDA machine)
# Not a CI step: an instrumented build of everything is too slow for the 2-core CI machine. On the
# 16-core GPU machine the build and the 322 unit and model tests take 8 to 10 minutes (README).
#
# LibTorch, OpenCV and the other prebuilt libraries are not instrumented. The options below keep
# ASan to our code: scripts/sanitizers/lsan.supp lists the one-time allocations those libraries
# make at load time and never free (static registries), which LeakSanitizer reports at exit;
# alloc_dealloc_mismatch=0 because LibTorch frees some buffers with a deallocator other than the
# one our instrumented new/malloc interposes; detect_odr_violation=0 because torch's headers
# define the same inline globals in the prebuilt library and in our instrumented objects;
# protect_shadow_gap=0 because the CUDA driver maps memory where ASan would otherwise keep a guard
# (only matters with a CUDA LibTorch). UBSan halts at the first report: any report fails the test.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-asan}
JOBS=${JOBS:-$(nproc)}
AREAS=${AREAS:-all}
LABELS=${LABELS:-unit}
SUPP=$ROOT/scripts/sanitizers

ASAN_OPTIONS="detect_leaks=1:detect_odr_violation=0:alloc_dealloc_mismatch=0:strict_string_checks=1:protect_shadow_gap=0"
LSAN_OPTIONS="suppressions=$SUPP/lsan.supp:print_suppressions=0"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$SUPP/ubsan.supp"
export ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS

mkdir -p "$BUILD"
ONLY=
[ "$AREAS" = all ] || ONLY="-DVLM_ONLY_AREAS=$AREAS"
GEN=
command -v ninja >/dev/null 2>&1 && GEN="-G Ninja"
# shellcheck disable=SC2086
cmake -S "$ROOT" -B "$BUILD" $GEN -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVLM_SANITIZE=ON $ONLY \
  ${CMAKE_ARGS:-} >"$BUILD/configure.log" 2>&1 || { cat "$BUILD/configure.log"; exit 1; }
# The build runs the test executables (gtest_discover_tests), so the options above apply there too.
cmake --build "$BUILD" -j "$JOBS"
cd "$BUILD"
ctest -L "$LABELS" --output-on-failure -j "$JOBS" "$@"
