#include "vlm/core/md5.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/hashlib_check.h"
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
  testing::expect_files_match_hashlib(
      "md5", 7, [](const std::filesystem::path& f) { return md5_file_hex(f); },
      [](const std::string& bytes) { return md5_hex(bytes); });
}

TEST(Md5, MissingFileIsUserError) {
  EXPECT_THROW(md5_file_hex("/nonexistent/file.tsv"), UserError);
}

}  // namespace
}  // namespace vlm
