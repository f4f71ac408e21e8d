#include "vlm/core/sha256.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/hashlib_check.h"
#include "vlm/core/error.h"

namespace vlm {
namespace {

// FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf").
TEST(Sha256, NistVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalUpdatesEqualOneShot) {
  const std::string text = "The quick brown fox jumps over the lazy dog";
  Sha256 sha;
  for (char c : text) sha.update(std::string_view(&c, 1));
  EXPECT_EQ(sha.hex_digest(), "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592");
  EXPECT_THROW(sha.update("x"), InternalError);
}

// Files of sizes around the 64-byte block and padding boundaries, and one over the 1 MiB read
// block, against Python's hashlib.
TEST(Sha256, FilesMatchPythonHashlib) {
  testing::expect_files_match_hashlib(
      "sha256", 11, [](const std::filesystem::path& f) { return sha256_file_hex(f); },
      [](const std::string& bytes) { return sha256_hex(bytes); });
}

// The SHA-extension path (where the CPU has it) and the portable code give the same digests, at
// every length around the block and padding boundaries and over many blocks.
TEST(Sha256, CpuExtensionsAndPortableCodeAgree) {
  std::string bytes;
  for (int i = 0; i < 5000; ++i) bytes += static_cast<char>((i * 131 + i / 7) & 0xff);
  auto digests = [&] {
    std::vector<std::string> out;
    for (size_t n : {0, 1, 55, 56, 63, 64, 65, 119, 128, 1000, 5000})
      out.push_back(sha256_hex(std::string_view(bytes).substr(0, n)));
    out.push_back(sha256_hex(std::string(1000000, 'a')));
    return out;
  };
  const std::vector<std::string> fast = digests();
  const bool extensions = sha256_uses_cpu_extensions();
  allow_sha256_cpu_extensions(false);
  EXPECT_FALSE(sha256_uses_cpu_extensions());
  const std::vector<std::string> portable = digests();
  allow_sha256_cpu_extensions(true);
  EXPECT_EQ(sha256_uses_cpu_extensions(), extensions);
  EXPECT_EQ(fast, portable);
  EXPECT_EQ(portable.back(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  if (!extensions) GTEST_SKIP() << "this CPU has no SHA extensions: only the portable code ran";
}

TEST(Sha256, MissingFileIsUserErrorNamingIt) {
  try {
    sha256_file_hex("/nonexistent/unit.pt");
    FAIL() << "no throw";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/unit.pt"), std::string::npos);
  }
}

}  // namespace
}  // namespace vlm
