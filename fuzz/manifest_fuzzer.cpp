// libFuzzer target: the manifest reader (parse_manifest_json, what load_manifest runs on the text
// of manifest.json), including the unit paths and sha256 fields.
#include "fuzz/fuzz_common.h"
#include "vlm/model/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = vlm::fuzz::as_string(data, size);
  VLM_FUZZ_ACCEPT({
    const vlm::Manifest m = vlm::parse_manifest_json(text, "/fuzz/model", "fuzz/manifest.json");
    for (const auto& u : m.units) (void)vlm::to_string(u.kind);
    (void)m.decoder_layers();
  });
  return 0;
}
