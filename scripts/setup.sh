#!/usr/bin/env bash
# Installs the Debian 12 packages this project builds and tests with. Idempotent; prints nothing
# when everything is already installed. Needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev libopencv-dev nlohmann-json3-dev libyaml-cpp-dev
  libgtest-dev libcli11-dev libpcre2-dev libxlsxwriter-dev libminizip-dev libpugixml-dev
  python3 python3-torch python3-numpy python3-sentencepiece python3-pil python3-openpyxl
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node and npm make the BPE tokenizer reference (scripts/fixtures/bpe_reference/make.sh, a test
# fixture).
# Any node/npm already on PATH serves (e.g. NodeSource's, which bundles npm and conflicts with
# Debian's npm package); otherwise Debian's.
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
