#!/bin/sh
# Builds the fast test areas with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DVLM_SANITIZE=ON, gcc, in build-asan/) and runs the `unit`-label tests under them.
#
#   scripts/sanitize_tests.sh [ctest args...]        e.g. scripts/sanitize_tests.sh -R '^data\.'
#
# Environment: BUILD_DIR (default build-asan), JOBS (default 2),
#              AREAS (library areas with unit tests, default "vision;text;data;eval").
# Not a CI step: the instrumented build of these areas takes ~25 min on 2 cores (see README).
#
# LibTorch, OpenCV and the other Debian libraries are not instrumented. The options below keep
# ASan to our code: scripts/sanitizers/lsan.supp lists the one-time allocations those libraries
# make at load time and never free (static registries), which LeakSanitizer reports at exit;
# alloc_dealloc_mismatch=0 because LibTorch frees some buffers with a deallocator other than the
# one our instrumented new/malloc interposes; detect_odr_violation=0 because torch's headers
# define the same inline globals in the prebuilt library and in our instrumented objects.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-asan}
JOBS=${JOBS:-2}
AREAS=${AREAS:-vision;text;data;eval}
SUPP=$ROOT/scripts/sanitizers

ASAN_OPTIONS="detect_leaks=1:detect_odr_violation=0:alloc_dealloc_mismatch=0:strict_string_checks=1"
LSAN_OPTIONS="suppressions=$SUPP/lsan.supp:print_suppressions=0"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$SUPP/ubsan.supp"
export ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVLM_SANITIZE=ON \
  "-DVLM_ONLY_AREAS=$AREAS"
# The build runs the test executables (gtest_discover_tests), so the options above apply there too.
cmake --build "$BUILD" -j "$JOBS"
cd "$BUILD"
ctest -L unit --output-on-failure -j "$JOBS" "$@"
