#!/usr/bin/env bash
# Prepares .gpudeps/ in the checkout, on a networked Debian 12 machine, for an offline CUDA machine
# that has LibTorch (pip torch), sentencepiece, yaml-cpp, nlohmann-json, gtest, CLI11, libjpeg and
# libpng but not OpenCV or libxlsxwriter:
#   .gpudeps/opencv      OpenCV 4.6 core/imgproc/imgcodecs, relocatable (the shared bundle, or
#                        built by build-opencv-bundle.sh next to it when absent)
#   .gpudeps/xlsxwriter  libxlsxwriter + libminizip from Debian's packages, with a pkg-config file
#   .gpudeps/pcre2       libpcre2-8 (header, library, pkg-config file) from Debian's packages
#   .gpudeps/minizip     libminizip headers and pkg-config file (the library is xlsxwriter's copy)
#   .gpudeps/pugixml     pugixml (headers, library, pkg-config file) from Debian's packages
# Lists every file it holds with its size. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED_GPU=${SHARED_GPU:-../shared/gpu}
mkdir -p .gpudeps .git/info
grep -qx '/.gpudeps/' .git/info/exclude 2>/dev/null || echo '/.gpudeps/' >> .git/info/exclude

if [ ! -d .gpudeps/opencv ]; then
  if [ -f "$SHARED_GPU/opencv-bundle.tar.xz" ]; then
    tar xJf "$SHARED_GPU/opencv-bundle.tar.xz" -C .gpudeps
  else
    bash "$SHARED_GPU/build-opencv-bundle.sh"
  fi
fi

# bundle NAME PC VERSION LIBS INCLUDE_SUBDIR LIBRARY... -- HEADER...: copies Debian's shared
# libraries (the first one also as its unversioned .so) and headers into .gpudeps/NAME and writes
# NAME/lib/pkgconfig/PC.pc with -lLIBS and an rpath to that folder. Done once.
bundle() {
  local name=$1 pc=$2 version=$3 libs=$4 subdir=$5
  shift 5
  local dir=.gpudeps/$name
  [ -f "$dir/lib/pkgconfig/$pc.pc" ] && return 0
  scripts/setup.sh
  mkdir -p "$dir/include" "$dir/lib/pkgconfig"
  local arch first=""
  arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
  while [ "$1" != "--" ]; do
    cp -L "/usr/lib/$arch/$1" "$dir/lib/"
    [ -z "$first" ] && first=$1
    shift
  done
  shift
  ln -sf "$first" "$dir/lib/${first%%.so*}.so"
  cp -r "$@" "$dir/include/"
  cat > "$dir/lib/pkgconfig/$pc.pc" <<PC
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include
Name: $pc
Description: $pc from Debian 12, bundled for an offline machine
Version: $version
Libs: -L\${libdir} $libs -Wl,-rpath,\${libdir}
Cflags: -I\${includedir}$subdir
PC
}

bundle xlsxwriter xlsxwriter 1.1.4 -lxlsxwriter "" libxlsxwriter.so.4 libminizip.so.1 -- \
  /usr/include/xlsxwriter /usr/include/xlsxwriter.h
bundle pcre2 libpcre2-8 10.42 -lpcre2-8 "" libpcre2-8.so.0 -- /usr/include/pcre2.h
bundle minizip minizip 1.1 "-lminizip -lz" /minizip libminizip.so.1 -- /usr/include/minizip
bundle pugixml pugixml 1.13 -lpugixml "" libpugixml.so.1 -- /usr/include/pugixml.hpp \
  /usr/include/pugiconfig.hpp

echo "bundle .gpudeps ($(du -sh .gpudeps | cut -f1)):"
find .gpudeps -type f -printf '%10s  %p\n' | sort -k2
