// What a dataset name means: its TSV file, checksum, question kind and scorer (configs/datasets/).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "vlm/data/dataset_kind.h"
#include "vlm/data/scorer_id.h"

namespace vlm {

// One dataset, as configs/datasets/{name}.yaml describes it (or as detected for a custom TSV).
struct DatasetSpec {
  std::string name;  // the name given to --data, e.g. "RealWorldQA"
  std::string file;  // TSV file name under the data root, e.g. "RealWorldQA.tsv"
  std::string md5;   // expected md5 of the file (32 hex); empty: not checked
  DatasetKind kind = DatasetKind::kMcq;  // question kind
  ScorerId scorer = ScorerId::kNone;     // how it is scored (scorer_id.h); kNone: not scored
  std::string url;                       // where upstream downloads it from (reference only)
  // Benchmark knob, not a VLMEvalKit setting: stop ids are ignored until an answer has this many
  // tokens (HF's min_new_tokens), so random-weight benchmark models give answers of a known
  // length. 0 (default): stop at the first stop id, as VLMEvalKit does.
  int64_t min_new_tokens = 0;
  bool custom = false;                // true: no YAML, detected from {data_root}/{name}.tsv
  std::filesystem::path config_path;  // the YAML it came from; empty for custom datasets
};

// The scorer VLMEvalKit's evaluate() would pick for a dataset named `name` of `kind` (it decides
// by name): MCQ -> kMcqCircular when the lower-cased name has "mmbench" or "ccbench", kMcqMmmu
// when the name has "MMMU", else kMcqExact; Y/N -> kYnMme / kYnHallusion / kYnPope when the name
// has "MME" / "Hallusion" / "POPE" (tested in that order), else kYnExact; VQA -> kNone for
// DocVQA_TEST and InfoVQA_TEST (no ground truth), kOcrBench when the name has "OCRBench", else by
// the substrings "TextVQA", "ChartQA", "OCRVQA", "DocVQA"/"InfoVQA" in that order (kVqaTextVqa,
// kVqaRelaxed, kVqaExact, kVqaAnls), else kNone.
ScorerId default_scorer(DatasetKind kind, const std::string& name);

// Loads one dataset YAML. Required keys: file, kind; optional: name (must equal the file's stem
// when present), md5, scorer (one of known_scorers(), parsed by parse_scorer_id and fitting `kind`;
// default: default_scorer(kind, name)), url, min_new_tokens (an integer >= 0; a benchmark knob, see
// DatasetSpec::min_new_tokens). UserError naming the file and the key on anything missing or
// malformed.
DatasetSpec load_dataset_spec(const std::filesystem::path& yaml_path);

// The names with a YAML in configs_dir (file stems of *.yaml), sorted.
std::vector<std::string> known_dataset_names(const std::filesystem::path& configs_dir);

// Resolves a --data name, as VLMEvalKit's build_dataset does:
// - {configs_dir}/{name}.yaml exists: that spec;
// - else {data_root}/{name}.tsv exists: a custom dataset, MCQ when its header has columns A and B
//   (CustomMCQDataset), else VQA (CustomVQADataset); scorer default_scorer(kind, name);
// - else UserError naming both paths looked at and the known names closest to `name`.
DatasetSpec resolve_dataset(const std::string& name, const std::filesystem::path& configs_dir,
                            const std::filesystem::path& data_root);

}  // namespace vlm
