#!/usr/bin/env bash
# Compiles the CUDA branches (#ifdef VLM_WITH_CUDA) of every source file that has one, syntax and
# types only (-fsyntax-only, the build's own flags and warnings), on a machine without CUDA: a CPU
# build's compile_commands.json, LibTorch's CUDA headers as Debian's libtorch-dev installs them,
# and the CUDA runtime's headers taken from Debian's nvidia-cuda-dev package (non-free, fetched
# into a cache folder with apt's own download, nothing installed or configured on the machine).
# It checks what the CPU build never compiles, before a GPU machine is at hand; it runs nothing
# and links nothing, and Debian's LibTorch is older than the GPU machine's, so it is no substitute
# for scripts/gpu_build_test.sh there.
# Usage: scripts/cuda_syntax_check.sh [BUILD_DIR]     (default: build, made by scripts/build.sh)
# Environment: CUDA_INCLUDE (a folder with cuda_runtime_api.h: skips the download),
#              CACHE (where the headers are kept; default ~/.cache/vlm-cuda-headers)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
DB=$BUILD/compile_commands.json
[ -f "$DB" ] || { echo "cuda_syntax_check: no $DB (run scripts/build.sh first)" >&2; exit 2; }
[ -f /usr/include/ATen/cuda/CUDAGraph.h ] ||
  { echo "cuda_syntax_check: LibTorch's CUDA headers are not in /usr/include/ATen/cuda" >&2; exit 2; }
CACHE=${CACHE:-${HOME:-/tmp}/.cache/vlm-cuda-headers}
mkdir -p "$CACHE"

if [ -z "${CUDA_INCLUDE:-}" ]; then
  CUDA_INCLUDE=$CACHE/include
  if [ ! -f "$CUDA_INCLUDE/cuda_runtime_api.h" ]; then
    # apt with its lists, cache and sources in $CACHE: Debian bookworm's non-free component.
    apt_dir=$CACHE/apt
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
    cat >"$apt_dir/sources.list" <<'EOF'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm non-free
EOF
    o=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=-"
       -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::archives=$apt_dir/archives"
       -o "Debug::NoLocking=1" -o "APT::Sandbox::User=$(id -un)")
    echo "cuda_syntax_check: fetching nvidia-cuda-dev's headers into $CACHE" >&2
    apt-get "${o[@]}" -qq update
    (cd "$apt_dir" && apt-get "${o[@]}" -qq download nvidia-cuda-dev)
    rm -rf "$CACHE/x"
    mkdir -p "$CACHE/x"
    dpkg-deb --fsys-tarfile "$apt_dir"/nvidia-cuda-dev_*.deb |
      tar -x -C "$CACHE/x" --wildcards './usr/include/*'
    rm -rf "$CUDA_INCLUDE" "$apt_dir"
    mv "$CACHE/x/usr/include" "$CUDA_INCLUDE"
    rm -rf "$CACHE/x"
  fi
fi
[ -f "$CUDA_INCLUDE/cuda_runtime_api.h" ] ||
  { echo "cuda_syntax_check: no cuda_runtime_api.h in $CUDA_INCLUDE" >&2; exit 2; }

# The header a CUDA build of c10 generates (its shared-library switch), absent from a CPU install.
stub=$CACHE/stub
mkdir -p "$stub/c10/cuda/impl"
printf '#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n' >"$stub/c10/cuda/impl/cuda_cmake_macros.h"

mapfile -t files < <(grep -rl --include='*.cpp' 'VLM_WITH_CUDA' lib/src apps bench tests | sort)
python3 - "$DB" "$PWD" "$stub" "$CUDA_INCLUDE" "${files[@]}" <<'EOF'
import json, os, shlex, subprocess, sys
from concurrent.futures import ThreadPoolExecutor

db, root, stub, cuda = sys.argv[1:5]
wanted = {os.path.join(root, f) for f in sys.argv[5:]}
jobs, seen = [], set()
for entry in json.load(open(db)):
    path = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
    if path not in wanted or path in seen:
        continue
    seen.add(path)
    args = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
    cmd, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a == "-o":
            skip = True
        elif a != "-c":
            cmd.append(a)
    cmd = cmd[:1] + ["-DVLM_WITH_CUDA=1", "-isystem", stub, "-isystem", cuda, "-fsyntax-only",
                     "-Werror"] + cmd[1:]
    jobs.append((path, cmd, entry["directory"]))


def check(job):
    path, cmd, cwd = job
    return path, subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


failed = 0
with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
    for path, r in pool.map(check, jobs):
        print("%-50s %s" % (os.path.relpath(path, root), "ok" if r.returncode == 0 else "FAILED"))
        if r.returncode != 0:
            failed += 1
            sys.stdout.write(r.stderr[-4000:])
for path in sorted(wanted - seen):
    print("%-50s not in %s (a target the build did not configure)" % (os.path.relpath(path, root), db))
    failed += 1
sys.exit(1 if failed else 0)
EOF
