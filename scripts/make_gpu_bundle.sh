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

X=.gpudeps/xlsxwriter
if [ ! -f "$X/lib/pkgconfig/xlsxwriter.pc" ]; then
  scripts/setup.sh
  mkdir -p "$X/include" "$X/lib/pkgconfig"
  cp -r /usr/include/xlsxwriter /usr/include/xlsxwriter.h "$X/include/"
  arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
  cp -L "/usr/lib/$arch/libxlsxwriter.so.4" "/usr/lib/$arch/libminizip.so.1" "$X/lib/"
  ln -sf libxlsxwriter.so.4 "$X/lib/libxlsxwriter.so"
  cat > "$X/lib/pkgconfig/xlsxwriter.pc" <<'PC'
prefix=${pcfiledir}/../..
libdir=${prefix}/lib
includedir=${prefix}/include
Name: xlsxwriter
Description: libxlsxwriter from Debian 12, bundled for an offline machine
Version: 1.1.4
Libs: -L${libdir} -lxlsxwriter -Wl,-rpath,${libdir}
Cflags: -I${includedir}
PC
fi

P=.gpudeps/pcre2
if [ ! -f "$P/lib/pkgconfig/libpcre2-8.pc" ]; then
  scripts/setup.sh
  mkdir -p "$P/include" "$P/lib/pkgconfig"
  cp /usr/include/pcre2.h "$P/include/"
  arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
  cp -L "/usr/lib/$arch/libpcre2-8.so.0" "$P/lib/"
  ln -sf libpcre2-8.so.0 "$P/lib/libpcre2-8.so"
  cat > "$P/lib/pkgconfig/libpcre2-8.pc" <<'PC'
prefix=${pcfiledir}/../..
libdir=${prefix}/lib
includedir=${prefix}/include
Name: libpcre2-8
Description: PCRE2 (8-bit) from Debian 12, bundled for an offline machine
Version: 10.42
Libs: -L${libdir} -lpcre2-8 -Wl,-rpath,${libdir}
Cflags: -I${includedir}
PC
fi

M=.gpudeps/minizip
if [ ! -f "$M/lib/pkgconfig/minizip.pc" ]; then
  scripts/setup.sh
  mkdir -p "$M/include" "$M/lib/pkgconfig"
  cp -r /usr/include/minizip "$M/include/"
  arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
  cp -L "/usr/lib/$arch/libminizip.so.1" "$M/lib/"
  ln -sf libminizip.so.1 "$M/lib/libminizip.so"
  cat > "$M/lib/pkgconfig/minizip.pc" <<'PC'
prefix=${pcfiledir}/../..
libdir=${prefix}/lib
includedir=${prefix}/include
Name: minizip
Description: minizip from Debian 12, bundled for an offline machine
Version: 1.1
Libs: -L${libdir} -lminizip -lz -Wl,-rpath,${libdir}
Cflags: -I${includedir}/minizip
PC
fi

G=.gpudeps/pugixml
if [ ! -f "$G/lib/pkgconfig/pugixml.pc" ]; then
  scripts/setup.sh
  mkdir -p "$G/include" "$G/lib/pkgconfig"
  cp /usr/include/pugixml.hpp /usr/include/pugiconfig.hpp "$G/include/"
  arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
  cp -L "/usr/lib/$arch/libpugixml.so.1" "$G/lib/"
  ln -sf libpugixml.so.1 "$G/lib/libpugixml.so"
  cat > "$G/lib/pkgconfig/pugixml.pc" <<'PC'
prefix=${pcfiledir}/../..
libdir=${prefix}/lib
includedir=${prefix}/include
Name: pugixml
Description: pugixml from Debian 12, bundled for an offline machine
Version: 1.13
Libs: -L${libdir} -lpugixml -Wl,-rpath,${libdir}
Cflags: -I${includedir}
PC
fi

echo "bundle .gpudeps ($(du -sh .gpudeps | cut -f1)):"
find .gpudeps -type f -printf '%10s  %p\n' | sort -k2
