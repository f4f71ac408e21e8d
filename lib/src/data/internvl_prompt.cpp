#include "vlm/data/internvl_prompt.h"

#include <initializer_list>

#include "vlm/core/error.h"
#include "vlm/data/mcq_prompt.h"

namespace vlm {
namespace {

// VLMEvalKit's listinstr: any of `needles` is a substring of `s`.
bool listinstr(std::initializer_list<const char*> needles, const std::string& s) {
  for (const char* n : needles) {
    if (s.find(n) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

std::string reorganize_prompt(const std::string& text, size_t num_images) {
  if (num_images == 1) return "<image>\n" + text;
  std::string prefix;
  for (size_t i = 0; i < num_images; ++i) {
    prefix += "Image-" + std::to_string(i + 1) + ": <image>\n";
  }
  return prefix + text;
}

Prompt build_internvl_prompt(const Item& item, const DatasetSpec& spec) {
  const std::string at =
      spec.name + " item " + item.index + " (line " + std::to_string(item.line) + ")";
  check_user(!item.error, at + ": " + item.error.value_or(""));
  check_user(item.question.has_value(), at + ": no question");
  const std::string& name = spec.name;
  const std::string& question = *item.question;
  std::string text;
  switch (spec.kind) {
    case DatasetKind::kMcq:
      text = build_multi_choice_prompt(item);
      break;
    case DatasetKind::kYn:
      if (listinstr({"MME"}, name)) {
        text = question + " Answer the question using a single word or phrase.";
      } else if (listinstr({"HallusionBench", "AMBER"}, name)) {
        text = question +
               " Please answer yes or no. Answer the question using a single word or phrase.";
      } else {
        text = question;
      }
      break;
    case DatasetKind::kVqa:
      if (listinstr({"LLaVABench", "WildVision"}, name)) {
        text = question + "\nAnswer this question in detail.";
      } else if (listinstr({"OCRVQA", "TextVQA", "ChartQA", "DocVQA", "InfoVQA", "OCRBench", "DUDE",
                            "SLIDEVQA", "GQA", "MMLongBench_DOC"},
                           name)) {
        // The short-answer benchmarks (explicit since 2024-12-09; the default branch before).
        text = question + "\nAnswer the question using a single word or phrase.";
      } else if (listinstr({"MathVista", "MathVision", "VCR", "MTVQA", "MMVet", "MathVerse", "MMDU",
                            "CRPE", "MIA-Bench", "MM-Math", "DynaMath", "QSpatial", "WeMath",
                            "LogicVista"},
                           name)) {
        text = question;
      } else {
        text = question + "\nAnswer the question using a single word or phrase.";
      }
      break;
  }
  Prompt prompt;
  prompt.text = reorganize_prompt(text, item.num_images());
  prompt.images = item.images();
  return prompt;
}

}  // namespace vlm
