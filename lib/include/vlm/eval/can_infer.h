// Answer extraction from a free-text prediction: VLMEvalKit's can_infer
// (vlmeval/utils/matching_util.py), in the era chosen by CanInferOptions.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vlm {

// The options of one item in letter order: (letter 'A'..'Z', option text), non-NA options only,
// as VLMEvalKit's build_choices() makes them. The text is what Python's str() of the TSV cell
// gives (UTF-8); letters are unique and ascending.
using Choices = std::vector<std::pair<char, std::string>>;

// Which VLMEvalKit revision of can_infer to reproduce.
enum class CanInferEra {
  kClassic,  // up to 2025-08-03: a single letter token anywhere; no text length cap
  kLast4,    // 2025-08-04 (c3371551): letter must be among the last 4 tokens; text length cap
  kHead,     // 2026-06-17 (a67ace50): kLast4 plus the "answer is X" regex fallback
};

// How to extract; the defaults reproduce the classic era with VERBOSE unset.
struct CanInferOptions {
  CanInferEra era = CanInferEra::kClassic;  // the revision to reproduce
  bool verbose = false;  // VLMEvalKit's VERBOSE env var is non-empty ("A" may be an article)
};

// can_infer_option: the letter found as a whole token, 'Z' for a refusal or a lone "Z" token,
// std::nullopt where Python returns False.
std::optional<char> can_infer_option(const std::string& answer, const Choices& choices,
                                     const CanInferOptions& options = {});

// can_infer_text: the one letter whose lower-cased option text occurs in the lower-cased answer,
// std::nullopt where Python returns False (none or several match, or the length cap applies).
std::optional<char> can_infer_text(const std::string& answer, const Choices& choices,
                                   const CanInferOptions& options = {});

// can_infer: can_infer_option, then can_infer_text when that gives nothing.
std::optional<char> can_infer(const std::string& answer, const Choices& choices,
                              const CanInferOptions& options = {});

}  // namespace vlm
