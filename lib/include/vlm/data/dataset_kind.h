// The question kind of a dataset, as VLMEvalKit's DATASET_TYPE: it picks the prompt and the scorer.
#pragma once

#include <string>

namespace vlm {

enum class DatasetKind {
  kMcq,  // multiple choice: options in columns A..Z, answer a letter ("MCQ")
  kYn,   // yes/no questions ("Y/N")
  kVqa,  // open questions ("VQA")
};

// "MCQ", "Y/N" or "VQA".
std::string to_string(DatasetKind kind);
// Parses "MCQ", "Y/N" (also "YN") or "VQA"; UserError naming `where` otherwise.
DatasetKind parse_dataset_kind(const std::string& text, const std::string& where);

}  // namespace vlm
