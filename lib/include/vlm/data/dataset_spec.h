// What a dataset name means: its TSV file, checksum, question kind and scorer (configs/datasets/).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace vlm {

// The question kind, as VLMEvalKit's DATASET_TYPE: it picks the prompt and the scorer.
enum class DatasetKind {
  kMcq,  // multiple choice: options in columns A..Z, answer a letter ("MCQ")
  kYn,   // yes/no questions ("Y/N")
  kVqa,  // open questions ("VQA")
};

// "MCQ", "Y/N" or "VQA".
std::string to_string(DatasetKind kind);
// Parses "MCQ", "Y/N" (also "YN") or "VQA"; UserError naming `where` otherwise.
DatasetKind parse_dataset_kind(const std::string& text, const std::string& where);

// One dataset, as configs/datasets/{name}.yaml describes it (or as detected for a custom TSV).
struct DatasetSpec {
  std::string name;  // the name given to --data, e.g. "RealWorldQA"
  std::string file;  // TSV file name under the data root, e.g. "RealWorldQA.tsv"
  std::string md5;   // expected md5 of the file (32 hex); empty: not checked
  DatasetKind kind = DatasetKind::kMcq;  // question kind
  std::string scorer;                 // scorer name for eval/, e.g. "mcq_exact"; "none": no scoring
  std::string url;                    // where upstream downloads it from (reference only)
  bool custom = false;                // true: no YAML, detected from {data_root}/{name}.tsv
  std::filesystem::path config_path;  // the YAML it came from; empty for custom datasets
};

// Loads one dataset YAML. Required keys: file, kind; optional: name (must equal the file's stem
// when present), md5, scorer (default "mcq_exact" for MCQ, "yn_exact" for Y/N, "none" for VQA),
// url. UserError naming the file and the key on anything missing or malformed.
DatasetSpec load_dataset_spec(const std::filesystem::path& yaml_path);

// The names with a YAML in configs_dir (file stems of *.yaml), sorted.
std::vector<std::string> known_dataset_names(const std::filesystem::path& configs_dir);

// Resolves a --data name, as VLMEvalKit's build_dataset does:
// - {configs_dir}/{name}.yaml exists: that spec;
// - else {data_root}/{name}.tsv exists: a custom dataset, MCQ when its header has columns A and B
//   (CustomMCQDataset), else VQA (CustomVQADataset);
// - else UserError naming both paths looked at and the known names closest to `name`.
DatasetSpec resolve_dataset(const std::string& name, const std::filesystem::path& configs_dir,
                            const std::filesystem::path& data_root);

}  // namespace vlm
