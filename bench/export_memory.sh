#!/bin/sh
# Peak host memory of export_internvl2.py against the largest unit it writes.
#
# Makes a random checkpoint of real shapes (scripts/fixtures/make_tiny_checkpoint.py --preset NAME
# --layers N, bf16, sharded with model.safetensors.index.json), exports it (--dtype bfloat16
# --no-golden) in a process that then reports its peak RSS (getrusage ru_maxrss and
# /proc/self/status VmHWM), and writes bench/results/export-memory-NAME-NL-HOST.json with the peak,
# the RSS after importing torch (the baseline), the largest unit's bytes and the total, and the wall
# time.
#
# Usage: bench/export_memory.sh [PRESET] [LAYERS] [WORKDIR] [SHARDS]
#   defaults: InternVL2-Llama3-76B 10 /tmp/export_memory 8; PY (default /usr/bin/python3) is
#   the Python with torch. KEEP=1 keeps the checkpoint and the export. DISCARD_UNITS=1 deletes
#   each unit file right after it is written (RSS is unchanged; disk then holds the checkpoint
#   only, and the manifest gets no file hashes).
# Disk: checkpoint + export, about 2 x 32 GB for the 76B with 10 layers (>= 70 GB free, or ~35 GB
# with DISCARD_UNITS=1); host memory: the checkpoint maker holds the whole checkpoint (~32 GB).
set -eu
PRESET=${1:-InternVL2-Llama3-76B}
LAYERS=${2:-10}
WORK=${3:-/tmp/export_memory}
SHARDS=${4:-8}
PY=${PY:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# scripts/ is the import root of fixtures/ and internvl2_export/, whose modules run with -m
export PYTHONPATH="$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH}"
CKPT=$WORK/ckpt-$PRESET-${LAYERS}L
OUT=$WORK/export-$PRESET-${LAYERS}L
mkdir -p "$WORK" "$HERE/results"
HOST=$(hostname | tr -c 'A-Za-z0-9._\n-' '_')
RESULT=$HERE/results/export-memory-$PRESET-${LAYERS}L-$HOST.json

if [ ! -f "$CKPT/config.json" ]; then
  echo "export_memory: writing $CKPT" >&2
  start=$(date +%s)
  "$PY" -m fixtures.make_tiny_checkpoint --preset "$PRESET" --layers "$LAYERS" \
    --dtype bfloat16 --shards "$SHARDS" --out "$CKPT.tmp"
  mv "$CKPT.tmp" "$CKPT"
  echo "export_memory: checkpoint written in $(( $(date +%s) - start )) s" >&2
fi
rm -rf "$OUT"

"$PY" - "$CKPT" "$OUT" "$RESULT" "$PRESET" "$LAYERS" <<'PYEOF'
import json, os, platform, resource, sys, time
ckpt, out, result, preset, layers = sys.argv[1:]


def vm(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024  # kB -> bytes
    return None


import torch  # noqa: E402
from internvl2_export import exporter as export_internvl2  # noqa: E402
discard = os.environ.get("DISCARD_UNITS") == "1"
if discard:  # each unit file is written in full, then deleted (disk: the checkpoint only)
    _save = torch.jit.save

    def save_then_delete(m, path, *a, **k):
        _save(m, path, *a, **k)
        os.remove(path)
    torch.jit.save = save_then_delete
    if hasattr(export_internvl2, "_record_file_hashes"):  # nothing left to hash
        export_internvl2._record_file_hashes = lambda out, manifest: None
baseline_rss = vm("VmRSS")
t0 = time.time()
man = export_internvl2.export(ckpt, out, dtype="bfloat16", golden=False,
                              log=lambda s: print(s, file=sys.stderr), progress=sys.stderr)
wall = time.time() - t0
peak_hwm = vm("VmHWM")
peak_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kB
units = man["units"]
largest = max(units, key=lambda u: u["param_bytes"])
src_bytes = sum(os.path.getsize(os.path.join(ckpt, f)) for f in os.listdir(ckpt)
                if f.endswith(".safetensors"))
res = {
    "bench": "export_memory", "preset": preset, "llm_layers": int(layers),
    "dtype": "bfloat16", "host": platform.node(), "torch": torch.__version__,
    "cpu_count": os.cpu_count(), "units": len(units),
    "checkpoint_bytes": src_bytes,
    "export_bytes": sum(u["param_bytes"] for u in units),
    "largest_unit": largest["name"], "largest_unit_bytes": largest["param_bytes"],
    "baseline_rss_bytes": baseline_rss,
    "peak_rss_bytes": peak_hwm, "peak_ru_maxrss_bytes": peak_maxrss,
    "peak_over_largest_unit": round(peak_hwm / largest["param_bytes"], 3),
    "peak_minus_baseline_over_largest_unit":
        round((peak_hwm - baseline_rss) / largest["param_bytes"], 3),
    "export_seconds": round(wall, 1),
    "units_discarded_after_writing": discard,
}
with open(result, "w") as f:
    json.dump(res, f, indent=2)
    f.write("\n")
print(json.dumps(res, indent=2))
PYEOF
if [ "${KEEP:-0}" != 1 ]; then rm -rf "$OUT" "$CKPT"; fi
echo "export_memory: wrote $RESULT" >&2
