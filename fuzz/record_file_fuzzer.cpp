// libFuzzer target: the record-file reader used for resume (RecordFile::read: every complete
// line an ItemRecord), then each record written back and read again.
#include <cstdlib>

#include "fuzz/fuzz_common.h"
#include "vlm/results/record_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = vlm::fuzz::write_scratch("records.jsonl", vlm::fuzz::as_string(data, size));
  VLM_FUZZ_ACCEPT({
    for (const auto& [index, record] : vlm::RecordFile::read(path)) {
      const vlm::ItemRecord again = vlm::ItemRecord::from_json(record.to_json(), "round trip");
      if (again.index != record.index || again.prediction != record.prediction) std::abort();
    }
  });
  return 0;
}
