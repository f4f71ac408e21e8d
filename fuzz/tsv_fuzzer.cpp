// libFuzzer target: the TSV reader (TsvTable::parse) and the pandas dtype view of every cell.
#include "fuzz/fuzz_common.h"
#include "vlm/data/tsv_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = vlm::fuzz::as_string(data, size);
  for (bool pad : {false, true}) {
    vlm::TsvOptions options;
    options.pad_short_rows = pad;
    options.max_field_bytes = 4096;  // small, so that the bound is exercised too
    VLM_FUZZ_ACCEPT({
      const vlm::TsvTable t = vlm::TsvTable::parse(text, "fuzz.tsv", options);
      size_t total = 0;
      for (size_t r = 0; r < t.num_rows(); ++r) {
        (void)t.line(r);
        for (size_t c = 0; c < t.num_columns(); ++c) {
          if (auto s = t.python_str(r, c)) total += s->size();
        }
      }
      (void)total;
    });
  }
  return 0;
}
