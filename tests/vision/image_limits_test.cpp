// Decompression bombs (issue 7): the size an image declares is read from its header and checked
// against Pillow's rule before anything is decoded.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/read_file.h"
#include "common/scratch_dir.h"
#include "common/test_paths.h"
#include "common/user_error.h"
#include "vlm/vision/image_decode.h"
#include "vlm/vision/image_header.h"

namespace vlm {
namespace {

namespace fs = std::filesystem;
using testing::read_file;

// A folder of images written by Pillow (the outside reference), with Pillow's verdict on each.
class PillowImages : public testing::ScratchDirTest {
 protected:
  // Runs `code` with Debian's python3 in dir_; returns its stdout.
  std::string python(const std::string& code) {
    std::ofstream(dir_ / "make.py") << code;
    const std::string cmd = testing::python() + " " + (dir_ / "make.py").string() + " " +
                            dir_.string() + " > " + (dir_ / "out.txt").string();
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return read_file(dir_ / "out.txt");
  }
};

// A real 30000x30000 PNG (1-bit, all black: 110 KB compressed, 2.7 GB as RGB): refused from its
// header, naming the item and the size, before OpenCV allocates; Pillow refuses it too.
TEST_F(PillowImages, ThirtyThousandSquarePngIsRefusedFromItsHeader) {
  const std::string verdict = python(R"(
import struct, sys, zlib, os
from PIL import Image
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
w = h = 30000
raw = zlib.compress((b'\0' + b'\0' * ((w + 7) // 8)) * h, 9)
png = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 1, 0, 0, 0, 0)) +
       chunk(b'IDAT', raw) + chunk(b'IEND', b''))
open(os.path.join(sys.argv[1], 'bomb.png'), 'wb').write(png)
try:
    Image.open(os.path.join(sys.argv[1], 'bomb.png'))
    print('opened')
except Image.DecompressionBombError:
    print('DecompressionBombError')
)");
  EXPECT_EQ(verdict, "DecompressionBombError\n");
  const std::string bytes = read_file(dir_ / "bomb.png");
  ASSERT_LT(bytes.size(), 1u << 20);
  const auto start = std::chrono::steady_clock::now();
  const std::string m = testing::user_error([&] { decode_image(bytes, "item 42"); });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(m.rfind("item 42: ", 0), 0u) << m;
  EXPECT_NE(m.find("30000x30000 = 900000000 pixels"), std::string::npos) << m;
  EXPECT_NE(m.find("over the limit of 178956970"), std::string::npos) << m;
  EXPECT_LT(seconds, 1.0);  // nothing was inflated (a decode takes tens of seconds)
  // The bound is configurable; no bound leaves the decision to the decoder (not run here).
  ImageLimits strict;
  strict.max_pixels = 100;
  EXPECT_NE(testing::user_error([&] {
              decode_image(read_file(testing::source_dir() / "fuzz/corpus/image_decode_fuzzer/"
                                                             "s31x17.png"),
                           "item 1", strict);
            }).find("527 pixels, over the limit of 100"),
            std::string::npos);
}

// Pillow's rule at the boundary: DecompressionBombError above 2 * MAX_IMAGE_PIXELS, both ways;
// headers only (an image over the limit is never decoded, so none is made).
TEST_F(PillowImages, LimitMatchesPillowDecompressionBombRule) {
  const std::string out = python(R"(
import struct, sys, zlib, os
from PIL import Image
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
print(2 * Image.MAX_IMAGE_PIXELS)
for w, h in [(13000, 13766), (13000, 13765), (178956970, 1), (178956971, 1), (1, 178956971)]:
    png = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) +
           chunk(b'IDAT', b'') + chunk(b'IEND', b''))
    name = '%dx%d.png' % (w, h)
    open(os.path.join(sys.argv[1], name), 'wb').write(png)
    try:
        Image.open(os.path.join(sys.argv[1], name))
        print(name, 'ok')
    except Image.DecompressionBombError:
        print(name, 'bomb')
)");
  std::istringstream lines(out);
  int64_t pillow_limit = 0;
  lines >> pillow_limit;
  EXPECT_EQ(pillow_limit, ImageLimits().max_pixels);
  std::string name, verdict;
  int n = 0;
  while (lines >> name >> verdict) {
    ++n;
    const std::string bytes = read_file(dir_ / name);
    const auto header = read_image_header(bytes);
    ASSERT_TRUE(header) << name;
    const bool over = header->width * header->height > ImageLimits().max_pixels;
    EXPECT_EQ(over, verdict == "bomb") << name;
    if (over) {
      const std::string m = testing::user_error([&] { decode_image(bytes, name); });
      EXPECT_NE(m.find("over the limit"), std::string::npos) << m;
    }
  }
  EXPECT_EQ(n, 5);
}

// The header reader gives the size Pillow reads, for every format it knows.
TEST_F(PillowImages, HeaderSizesMatchPillow) {
  const std::string out = python(R"(
import sys, os
from PIL import Image
im = Image.new('RGB', (37, 21), (10, 200, 30))
for fmt, ext, kw in [('PNG', 'png', {}), ('JPEG', 'jpg', {}), ('JPEG', 'prog.jpg', {'progressive': True}),
                     ('BMP', 'bmp', {}), ('TIFF', 'tif', {}), ('TIFF', 'be.tif', {}), ('PPM', 'ppm', {}),
                     ('WEBP', 'webp', {'lossless': False}), ('WEBP', 'll.webp', {'lossless': True})]:
    try:
        im.save(os.path.join(sys.argv[1], 'im.' + ext), fmt, **kw)
    except (KeyError, OSError):
        continue
    print('im.' + ext, *Image.open(os.path.join(sys.argv[1], 'im.' + ext)).size)
)");
  std::istringstream lines(out);
  std::string name;
  int64_t w = 0, h = 0;
  int n = 0;
  while (lines >> name >> w >> h) {
    ++n;
    const auto header = read_image_header(read_file(dir_ / name));
    ASSERT_TRUE(header) << name;
    EXPECT_EQ(header->width, w) << name;
    EXPECT_EQ(header->height, h) << name;
  }
  EXPECT_GE(n, 7);
}

}  // namespace
}  // namespace vlm
