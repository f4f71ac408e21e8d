// What a dataset name means: its TSV file, checksum, question kind and scorer (configs/datasets/).
#pragma once

#include <cstdint>
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
  std::string scorer;  // one of known_scorers(), e.g. "mcq_exact"; "none": no scoring
  std::string url;     // where upstream downloads it from (reference only)
  // Benchmark knob, not a VLMEvalKit setting: stop ids are ignored until an answer has this many
  // tokens (HF's min_new_tokens), so random-weight benchmark models give answers of a known
  // length. 0 (default): stop at the first stop id, as VLMEvalKit does.
  int64_t min_new_tokens = 0;
  bool custom = false;                // true: no YAML, detected from {data_root}/{name}.tsv
  std::filesystem::path config_path;  // the YAML it came from; empty for custom datasets
};

// The scorer names score_dataset knows, each mirroring one VLMEvalKit evaluate() path under
// exact matching:
//   mcq_exact     ImageMCQDataset, vanilla (mcq_vanilla_eval + report_acc)
//   mcq_circular  ImageMCQDataset for MMBench*/CCBench (mcq_circular_eval + report_acc)
//   mcq_mmmu      MMMUDataset (MMMU_preproc + mcq_vanilla_eval + report_acc)
//   yn_exact      ImageYORNDataset, default_rating
//   yn_mme        ImageYORNDataset, MME_rating
//   yn_hallusion  ImageYORNDataset, Hallusion_rating
//   yn_pope       ImageYORNDataset, POPE_rating
//   vqa_textvqa   ImageVQADataset, vqa_score (TextVQA's leave-one-out accuracy)
//   vqa_anls      ImageVQADataset, anls (DocVQA, InfoVQA; threshold 0.5)
//   vqa_relaxed   ImageVQADataset, relaxed_accuracy as from 2025-09-01 (tolerance relative to
//                 the answer; ChartQA)
//   vqa_relaxed_classic  the same up to 2025-08-31 (tolerance relative to the prediction)
//   vqa_exact     ImageVQADataset, accuracy (OCRVQA: exact match after strip and lower)
//   ocrbench      OCRBench.evaluate (substring match, score out of 1000)
//   none          not scored
const std::vector<std::string>& known_scorers();

// The scorer VLMEvalKit's evaluate() would pick for a dataset named `name` of `kind` (it decides
// by name): MCQ -> mcq_circular when the lower-cased name has "mmbench" or "ccbench", mcq_mmmu
// when the name has "MMMU", else mcq_exact; Y/N -> yn_mme / yn_hallusion / yn_pope when the name
// has "MME" / "Hallusion" / "POPE" (tested in that order), else yn_exact; VQA -> none for
// DocVQA_TEST and InfoVQA_TEST (no ground truth), ocrbench when the name has "OCRBench", else by
// the substrings "TextVQA", "ChartQA", "OCRVQA", "DocVQA"/"InfoVQA" in that order, else none.
std::string default_scorer(DatasetKind kind, const std::string& name);

// Loads one dataset YAML. Required keys: file, kind; optional: name (must equal the file's stem
// when present), md5, scorer (one of known_scorers(); default: default_scorer(kind, name)), url,
// min_new_tokens (an integer >= 0; a benchmark knob, see DatasetSpec::min_new_tokens).
// UserError naming the file and the key on anything missing or malformed.
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
