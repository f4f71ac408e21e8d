// libFuzzer target: dataset spec YAML (load_dataset_spec of configs/datasets/<name>.yaml).
#include "fuzz/fuzz_common.h"
#include "vlm/data/dataset_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = vlm::fuzz::write_scratch("fuzz.yaml", vlm::fuzz::as_string(data, size));
  VLM_FUZZ_ACCEPT({
    const vlm::DatasetSpec s = vlm::load_dataset_spec(path);
    (void)vlm::to_string(s.kind);
  });
  return 0;
}
