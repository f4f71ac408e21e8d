#include "vlm/data/base64.h"

#include <gtest/gtest.h>

#include "vlm/core/error.h"

namespace vlm {
namespace {

// RFC 4648, section 10.
TEST(Base64, Rfc4648TestVectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), plain);
  }
}

TEST(Base64, PaddingOptionalAndWhitespaceIgnored) {
  EXPECT_EQ(base64_decode("Zg"), "f");
  EXPECT_EQ(base64_decode("Zm8"), "fo");
  EXPECT_EQ(base64_decode("Zm9v\nYmFy\r\n"), "foobar");
  EXPECT_EQ(base64_decode(" Zm9v YmE= "), "fooba");
}

TEST(Base64, AllByteValuesRoundTrip) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  // Python: base64.b64encode(bytes(range(256)))[:24] and [-8:]
  const std::string enc = base64_encode(bytes);
  EXPECT_EQ(enc.substr(0, 24), "AAECAwQFBgcICQoLDA0ODxAR");
  EXPECT_EQ(enc.substr(enc.size() - 8), "/P3+/w==");
  EXPECT_EQ(base64_decode(enc), bytes);
}

TEST(Base64, InvalidInputIsUserError) {
  EXPECT_THROW(base64_decode("Zm9v!"), UserError);     // outside the alphabet
  EXPECT_THROW(base64_decode("Zm9v-_"), UserError);    // URL-safe alphabet is not accepted
  EXPECT_THROW(base64_decode("Zg==Zg=="), UserError);  // data after padding
  EXPECT_THROW(base64_decode("Zm9vY"), UserError);     // one dangling character
  try {
    base64_decode("Zm9v\x01");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("offset 4"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vlm
