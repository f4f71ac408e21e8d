// libFuzzer target: placement config YAML (load_placement_config on a .yaml file), with the size
// and device parsers it uses.
#include "fuzz/fuzz_common.h"
#include "vlm/model/placement_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = vlm::fuzz::write_scratch("placement.yaml", vlm::fuzz::as_string(data, size));
  VLM_FUZZ_ACCEPT({
    const vlm::PlacementConfig c = vlm::load_placement_config(path);
    for (const auto& [device, bytes] : c.max_memory) (void)vlm::format_gib(bytes);
  });
  return 0;
}
