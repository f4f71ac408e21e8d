#include "vlm/vision/image_decode.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "preprocess_reference.h"
#include "vlm/core/error.h"

namespace vlm {
namespace {

std::string error_of(const std::string& bytes, const std::string& what) {
  try {
    decode_image(bytes, what);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(ImageDecode, UndecodableBytesNameTheItem) {
  const std::string message = error_of("abc", "item 12");
  EXPECT_NE(message.find("item 12"), std::string::npos) << message;
  EXPECT_NE(message.find("3 bytes"), std::string::npos) << message;
  EXPECT_NE(error_of("", "item 7").find("item 7"), std::string::npos);
  // A PNG signature followed by garbage.
  EXPECT_NE(error_of(std::string("\x89PNG\r\n\x1a\n", 8) + std::string(100, 'x'), "item 3")
                .find("item 3"),
            std::string::npos);
}

TEST(ImageDecode, MissingFileNamesThePath) {
  try {
    read_image_file("/nonexistent/dir/picture.jpg");
    FAIL() << "no throw";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/picture.jpg"), std::string::npos);
  }
}

// A 448x448 JPEG is one tile that Pillow does not resize: the tile is PIL's convert('RGB') itself.
TEST(ImageDecode, JpegEqualsPillow) {
  const cv::Mat ours = read_image_file(testing::preprocess_reference_dir() / "images/sq448.jpg");
  const cv::Mat pillow = testing::read_reference_png("tiles/sq448_max6.png");
  ASSERT_EQ(ours.type(), CV_8UC3);
  ASSERT_EQ(ours.size(), pillow.size());
  EXPECT_EQ(cv::norm(ours, pillow, cv::NORM_INF), 0.0);
}

}  // namespace
}  // namespace vlm
