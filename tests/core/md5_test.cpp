#include "vlm/core/md5.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "common/test_paths.h"
#include "vlm/core/error.h"

namespace vlm {
namespace {

// RFC 1321, appendix A.5.
TEST(Md5, Rfc1321TestSuite) {
  EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_hex("a"), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(md5_hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(md5_hex("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(md5_hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            "d174ab98d277d9f5a5611c2c9f419d9f");
  EXPECT_EQ(md5_hex("1234567890123456789012345678901234567890123456789012345678901234567890123456"
                    "7890"),
            "57edf4a22be3c955ac49da2e2107b67a");
}

TEST(Md5, IncrementalUpdatesEqualOneShot) {
  const std::string text = "The quick brown fox jumps over the lazy dog";
  Md5 md5;
  for (char c : text) md5.update(std::string_view(&c, 1));
  EXPECT_EQ(md5.hex_digest(), "9e107d9d372bb6826bd81d3542a419d6");  // well-known value
  EXPECT_THROW(md5.update("x"), InternalError);
}

// Files of sizes around the 64-byte block and padding boundaries, and one over the 1 MiB read
// block, against Python's hashlib.
TEST(Md5, FilesMatchPythonHashlib) {
  std::string dir_templ = (std::filesystem::temp_directory_path() / "vlm_md5_XXXXXX").string();
  ASSERT_NE(mkdtemp(dir_templ.data()), nullptr);
  const std::filesystem::path dir = dir_templ;
  std::mt19937 rng(7);
  const std::vector<size_t> sizes = {0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 3 << 20};
  std::vector<std::string> ours;
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::string bytes(sizes[i], '\0');
    for (auto& b : bytes) b = static_cast<char>(rng() & 0xff);
    std::ofstream(dir / ("f" + std::to_string(i)), std::ios::binary) << bytes;
    ours.push_back(md5_file_hex(dir / ("f" + std::to_string(i))));
    EXPECT_EQ(ours.back(), md5_hex(bytes));
  }
  const auto script = dir / "hash.py";
  std::ofstream(script) << "import hashlib, sys, os\n"
                           "d = sys.argv[1]\n"
                           "for i in range(int(sys.argv[2])):\n"
                           "    print(hashlib.md5(open(os.path.join(d, 'f%d' % i), 'rb').read())"
                           ".hexdigest())\n";
  const auto out = dir / "out.txt";
  const std::string cmd = testing::python() + " " + script.string() + " " + dir.string() + " " +
                          std::to_string(sizes.size()) + " > " + out.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(out);
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(ours[i], line) << "size " << sizes[i];
  }
  std::filesystem::remove_all(dir);
}

TEST(Md5, MissingFileIsUserError) {
  EXPECT_THROW(md5_file_hex("/nonexistent/file.tsv"), UserError);
}

}  // namespace
}  // namespace vlm
