#include "vlm/data/dataset_kind.h"

#include "vlm/core/error.h"

namespace vlm {

std::string to_string(DatasetKind kind) {
  switch (kind) {
    case DatasetKind::kMcq:
      return "MCQ";
    case DatasetKind::kYn:
      return "Y/N";
    case DatasetKind::kVqa:
      return "VQA";
  }
  return "?";
}

DatasetKind parse_dataset_kind(const std::string& text, const std::string& where) {
  if (text == "MCQ") return DatasetKind::kMcq;
  if (text == "Y/N" || text == "YN") return DatasetKind::kYn;
  if (text == "VQA") return DatasetKind::kVqa;
  throw UserError(where + ": kind must be one of MCQ, Y/N, VQA, got '" + text + "'");
}

}  // namespace vlm
