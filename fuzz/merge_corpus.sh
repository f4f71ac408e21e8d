#!/bin/sh
# Adds to the committed seed corpus fuzz/corpus/<target>/ the inputs of the working corpus that
# fuzz/run_fuzzers.sh grew in build-fuzz/corpus/<target>/ and that reach coverage the committed
# seeds do not (libFuzzer -merge=1): the committed corpus grows by what is new, not by everything
# the fuzzer kept. The fuzz_replay.<target> tests then replay the merged corpus on every test run.
#
#   fuzz/merge_corpus.sh [target ...]        (default: every target with a working corpus)
# Environment: BUILD_DIR (default build-fuzz, as for run_fuzzers.sh, which must have built them).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-fuzz}
if [ $# -gt 0 ]; then
  TARGETS="$*"
else
  TARGETS=$(cd "$BUILD/corpus" && ls)
fi
LSAN_OPTIONS="suppressions=$ROOT/scripts/sanitizers/lsan.supp:print_suppressions=0"
ASAN_OPTIONS="detect_odr_violation=0:alloc_dealloc_mismatch=0"
export LSAN_OPTIONS ASAN_OPTIONS
for t in $TARGETS; do
  [ -x "$BUILD/fuzz/$t" ] || { echo "$t: not built in $BUILD (run fuzz/run_fuzzers.sh first)"; exit 1; }
  mkdir -p "$ROOT/fuzz/corpus/$t"
  before=$(ls "$ROOT/fuzz/corpus/$t" | wc -l)
  scratch=$(mktemp -d)
  (cd "$scratch" && TMPDIR="$scratch" "$BUILD/fuzz/$t" -merge=1 -max_len=65536 \
     "$ROOT/fuzz/corpus/$t" "$BUILD/corpus/$t" >"$BUILD/logs/$t.merge.log" 2>&1) ||
    { tail -5 "$BUILD/logs/$t.merge.log"; rm -rf "$scratch"; exit 1; }
  rm -rf "$scratch"
  after=$(ls "$ROOT/fuzz/corpus/$t" | wc -l)
  printf '%-26s %4d -> %4d seeds, %s\n' "$t" "$before" "$after" \
    "$(du -sh "$ROOT/fuzz/corpus/$t" | cut -f1)"
done
