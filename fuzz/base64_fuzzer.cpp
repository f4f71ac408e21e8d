// libFuzzer target: base64 decoding; whatever decodes must re-encode to the same data.
#include <cstdlib>

#include "fuzz/fuzz_common.h"
#include "vlm/data/base64.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = vlm::fuzz::as_string(data, size);
  VLM_FUZZ_ACCEPT({
    const std::string bytes = vlm::base64_decode(text);
    if (vlm::base64_decode(vlm::base64_encode(bytes)) != bytes) std::abort();
  });
  // Round trip the other way: any bytes encode and decode back.
  if (vlm::base64_decode(vlm::base64_encode(text)) != text) std::abort();
  return 0;
}
