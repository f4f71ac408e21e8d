#include "vlm/eval/ocrbench_score.h"

#include <algorithm>

#include "vlm/core/error.h"
#include "vlm/core/python_float.h"
#include "vlm/core/python_str.h"
#include "vlm/results/atomic_file.h"

namespace vlm {
namespace {

constexpr const char* kHmer = "Handwritten Mathematical Expression Recognition";

// answer.strip().replace('\n', ' ').replace(' ', '')
std::string hmer_normal(const std::string& s) {
  return python_replace(python_replace(python_strip(s), "\n", " "), " ", "");
}

// answer.lower().strip().replace('\n', ' ')
std::string text_normal(const std::string& s) {
  return python_replace(python_strip(python_lower(s)), "\n", " ");
}

void check_category(const std::string& category) {
  const auto& known = ocrbench_categories();
  if (std::find(known.begin(), known.end(), category) != known.end()) return;
  std::string names;
  for (const std::string& k : known) names += (names.empty() ? "" : ", ") + k;
  throw UserError("OCRBench: unknown category '" + category + "' (known: " + names + ")");
}

}  // namespace

const std::vector<std::string>& ocrbench_categories() {
  static const std::vector<std::string> kCategories = {
      "Regular Text Recognition",   "Irregular Text Recognition",
      "Artistic Text Recognition",  "Handwriting Recognition",
      "Digit String Recognition",   "Non-Semantic Text Recognition",
      "Scene Text-centric VQA",     "Doc-oriented VQA",
      "Key Information Extraction", kHmer};
  return kCategories;
}

bool ocrbench_hit(const std::string& category, const std::vector<std::string>& answers,
                  const std::string& prediction) {
  check_category(category);
  const bool hmer = category == kHmer;
  const std::string predict = hmer ? hmer_normal(prediction) : text_normal(prediction);
  for (const std::string& answer : answers) {
    const std::string a = hmer ? hmer_normal(answer) : text_normal(answer);
    if (predict.find(a) != std::string::npos) return true;
  }
  return false;
}

OcrBenchScore ocrbench_score(const std::vector<std::pair<std::string, int64_t>>& counts) {
  const auto& cats = ocrbench_categories();
  std::vector<int64_t> per(cats.size(), 0);
  for (const auto& [category, n] : counts) {
    check_category(category);
    per[std::find(cats.begin(), cats.end(), category) - cats.begin()] += n;
  }
  OcrBenchScore s;
  const int64_t text = per[0] + per[1] + per[2] + per[3] + per[4] + per[5];
  s.groups = {{"Text Recognition", text},
              {cats[6], per[6]},
              {cats[7], per[7]},
              {cats[8], per[8]},
              {cats[9], per[9]}};
  for (const auto& g : s.groups) s.final_score += g.second;
  s.groups.emplace_back("Final Score", s.final_score);
  return s;
}

std::string ocrbench_score_json_text(const OcrBenchScore& score) {
  std::string out = "{\n";
  for (const auto& [key, value] : score.groups)
    out += "    \"" + key + "\": " + std::to_string(value) + ",\n";
  out += "    \"Final Score Norm\": " + python_float_repr(score.final_score_norm()) + "\n}";
  return out;
}

void write_ocrbench_score(const OcrBenchScore& score, const std::filesystem::path& path) {
  write_file_atomically(path, ocrbench_score_json_text(score));
}

}  // namespace vlm
