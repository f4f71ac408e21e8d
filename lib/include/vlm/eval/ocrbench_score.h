// OCRBench as VLMEvalKit scores it (OCRBench.evaluate): a substring test per item, counts per
// category, five groups and a final score out of 1000, written as {model}_OCRBench_score.json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace vlm {

// The ten category strings, in OCRBench.evaluate's counter order.
const std::vector<std::string>& ocrbench_categories();

// Whether the item counts. For "Handwritten Mathematical Expression Recognition": some answer,
// stripped with every '\n' and ' ' removed, is a (case-sensitive) substring of the prediction
// treated alike. Otherwise: some answer, lower-cased, stripped and with '\n' -> ' ', is a
// substring of the prediction treated alike. UserError for a category not in
// ocrbench_categories() (upstream: KeyError).
bool ocrbench_hit(const std::string& category, const std::vector<std::string>& answers,
                  const std::string& prediction);

// The result dict, keys in upstream order: "Text Recognition" (the first six categories),
// "Scene Text-centric VQA", "Doc-oriented VQA", "Key Information Extraction", "Handwritten
// Mathematical Expression Recognition", "Final Score" (their sum, out of 1000).
struct OcrBenchScore {
  std::vector<std::pair<std::string, int64_t>> groups;  // the five groups, then "Final Score"
  int64_t final_score = 0;
  // "Final Score Norm": float(final_score) / 10.
  double final_score_norm() const { return static_cast<double>(final_score) / 10.0; }
};

// Sums per-category hit counts (category -> count, any order; categories missing count 0) into
// the groups. UserError for an unknown category.
OcrBenchScore ocrbench_score(const std::vector<std::pair<std::string, int64_t>>& counts);

// The file's text: json.dump(indent=4, ensure_ascii=False), no trailing newline, e.g.
// {\n    "Text Recognition": 5,\n ...    "Final Score Norm": 1.4\n}
std::string ocrbench_score_json_text(const OcrBenchScore& score);

// Writes ocrbench_score_json_text(score) to `path` through `path`.tmp.
void write_ocrbench_score(const OcrBenchScore& score, const std::filesystem::path& path);

}  // namespace vlm
