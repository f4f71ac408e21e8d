// libFuzzer target: the accelerate device_map JSON import (load_placement_config on a .json file).
#include "fuzz/fuzz_common.h"
#include "vlm/model/placement_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = vlm::fuzz::write_scratch("device_map.json", vlm::fuzz::as_string(data, size));
  VLM_FUZZ_ACCEPT({
    const vlm::PlacementConfig c = vlm::load_placement_config(path);
    for (const auto& [key, device] : c.map) (void)device.str();
  });
  return 0;
}
