// libFuzzer target: VLMEvalKit's --config JSON (apply_run_config_file), resolved against the
// repository's own configs/models so that model_path checkpoint ids are looked up as in a run.
#include "fuzz/fuzz_common.h"
#include "vlm/run/run_config_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = vlm::fuzz::write_scratch("config.json", vlm::fuzz::as_string(data, size));
  VLM_FUZZ_ACCEPT({
    vlm::RunOptions o;
    o.configs_dir = VLM_SOURCE_DIR "/configs";
    vlm::apply_run_config_file(path, o);
  });
  return 0;
}
