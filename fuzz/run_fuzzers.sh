#!/bin/sh
# Builds the libFuzzer targets (clang, ASan + UBSan, in build-fuzz/) and runs each for
# DURATION_S seconds, one process each: all targets at once, or PARALLEL at a time.
#
#   fuzz/run_fuzzers.sh DURATION_S [target ...]      e.g. fuzz/run_fuzzers.sh 600
#
# Targets are the fuzz/*_fuzzer.cpp names (default: all). Each run starts from the committed
# seeds in fuzz/corpus/<target>/ and grows a working corpus in build-fuzz/corpus/<target>/ (new
# inputs found are not committed automatically: merge them with -merge=1 if wanted). Crashes,
# hangs (-timeout), leaks and out-of-memory inputs (-rss_limit_mb) land in fuzz/crashes/<target>/;
# logs in build-fuzz/logs/<target>.log. Prints each target's final libFuzzer line and exits 1 if
# any target failed.
# Environment: BUILD_DIR (default build-fuzz), JOBS (build parallelism, default 2),
#              RSS_LIMIT_MB (default 2048), TIMEOUT_S (per input, default 10),
#              PARALLEL (targets run at once, default all; set it to the core count to give each
#              target a core of its own for its DURATION_S).
set -eu
if [ $# -lt 1 ]; then
  sed -n '2,16p' "$0"
  exit 2
fi
DURATION=$1
shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-fuzz}
JOBS=${JOBS:-2}
RSS=${RSS_LIMIT_MB:-2048}
TIMEOUT=${TIMEOUT_S:-10}
PARALLEL=${PARALLEL:-0}

if [ $# -gt 0 ]; then
  TARGETS="$*"
else
  TARGETS=$(cd "$ROOT/fuzz" && ls *_fuzzer.cpp | sed 's/\.cpp$//')
fi

mkdir -p "$BUILD"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVLM_FUZZ=ON \
  -DVLM_BUILD_TESTS=OFF -DCMAKE_CXX_COMPILER=clang++ >"$BUILD/configure.log" 2>&1 ||
  { cat "$BUILD/configure.log"; exit 1; }
# shellcheck disable=SC2086
cmake --build "$BUILD" -j "$JOBS" --target $TARGETS

mkdir -p "$BUILD/logs"
# The fuzzers' own leak checking stays on (LSan); the uninstrumented LibTorch/OpenCV/yaml-cpp
# startup allocations are suppressed as in the sanitizer test build.
LSAN_OPTIONS="suppressions=$ROOT/scripts/sanitizers/lsan.supp:print_suppressions=0"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ASAN_OPTIONS="detect_odr_violation=0:alloc_dealloc_mismatch=0"
export LSAN_OPTIONS UBSAN_OPTIONS ASAN_OPTIONS

pids=""
running=0
for t in $TARGETS; do
  if [ "$PARALLEL" -gt 0 ] && [ "$running" -ge "$PARALLEL" ]; then
    # shellcheck disable=SC2086
    wait $pids
    pids=""
    running=0
  fi
  mkdir -p "$BUILD/corpus/$t" "$ROOT/fuzz/crashes/$t"
  scratch=$(mktemp -d)
  (
    cd "$scratch" &&
    TMPDIR="$scratch" "$BUILD/fuzz/$t" "$BUILD/corpus/$t" "$ROOT/fuzz/corpus/$t" \
      -max_total_time="$DURATION" -rss_limit_mb="$RSS" -timeout="$TIMEOUT" -max_len=65536 \
      -artifact_prefix="$ROOT/fuzz/crashes/$t/" -print_final_stats=1 \
      >"$BUILD/logs/$t.log" 2>&1 && rc=0 || rc=$?
    echo "$rc" >"$BUILD/logs/$t.rc"
    rm -rf "$scratch"
  ) &
  pids="$pids $!"
  running=$((running + 1))
done
# shellcheck disable=SC2086
wait $pids

status=0
for t in $TARGETS; do
  rc=$(cat "$BUILD/logs/$t.rc" 2>/dev/null || echo "?")
  # libFuzzer's last status line: "Done N runs in S second(s)" on success, the error otherwise.
  # Its stats lines put a tab, not a space, after the run count: "#123456<TAB>DONE   cov: ...".
  last=$(grep -E '^(Done [0-9]+ runs|==[0-9]+==ERROR|SUMMARY|#[0-9]+[[:space:]]+DONE)' \
         "$BUILD/logs/$t.log" | tail -n 1 | tr '\t' ' ')
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$BUILD/logs/$t.log" | tail -n 1 | tr '\t' ' ')
  printf '%-26s rc=%s  %s\n' "$t" "$rc" "${done_line:-}"
  printf '%-26s       %s\n' "" "$last"
  [ "$rc" = 0 ] || status=1
done
crashes=$(find "$ROOT/fuzz/crashes" -type f | wc -l)
echo "crash/timeout/leak/oom inputs in fuzz/crashes: $crashes"
exit $status
