// libFuzzer target: image decoding behind decode_image (header checks, then OpenCV), under a small
// pixel bound so that large declared sizes are refused before OpenCV allocates.
#include <cstdlib>

#include "fuzz/fuzz_common.h"
#include "vlm/vision/image_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes = vlm::fuzz::as_string(data, size);
  vlm::ImageLimits limits;
  limits.max_pixels = 4096 * 4096;
  VLM_FUZZ_ACCEPT({
    const cv::Mat rgb = vlm::decode_image(bytes, "fuzz", limits);
    if (rgb.type() != CV_8UC3 || rgb.empty()) std::abort();
    if (static_cast<int64_t>(rgb.rows) * rgb.cols > limits.max_pixels) std::abort();
  });
  return 0;
}
