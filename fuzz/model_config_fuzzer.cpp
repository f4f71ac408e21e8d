// libFuzzer target: model config YAML (load_model_config of configs/models/<name>.yaml), with the
// tile rule it carries.
#include "fuzz/fuzz_common.h"
#include "vlm/run/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto dir = vlm::fuzz::scratch_dir() / "models";
  std::filesystem::create_directories(dir);
  vlm::fuzz::write_scratch("models/fuzz.yaml", vlm::fuzz::as_string(data, size));
  VLM_FUZZ_ACCEPT({
    const vlm::ModelConfig c = vlm::load_model_config("fuzz", dir);
    for (int n : {1, 2, 7}) (void)c.tiles_for("MMBench_DEV_EN", n);
  });
  return 0;
}
