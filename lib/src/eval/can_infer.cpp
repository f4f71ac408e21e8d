#include "vlm/eval/can_infer.h"

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "vlm/core/python_str.h"

namespace vlm {
namespace {

constexpr const char* kApiFailure = "Failed to obtain answer via API";
constexpr const char* kRefusals[] = {
    "Sorry, I can't help with images of people yet.",
    "I can't process this file.",
    "I'm sorry, but without the image provided",
    "Cannot determine the answer",
};
constexpr std::string_view kPunctuation = ".()[],:;!*#{}";

// Index of the first token equal to `token`, or -1.
long find_token(const std::vector<std::string>& tokens, const std::string& token) {
  const auto it = std::find(tokens.begin(), tokens.end(), token);
  return it == tokens.end() ? -1 : static_cast<long>(it - tokens.begin());
}

bool has_choice(const Choices& choices, char letter) {
  return std::any_of(choices.begin(), choices.end(),
                     [&](const auto& c) { return c.first == letter; });
}

// Decodes the next code point of UTF-8 `s` at `i` (an invalid byte counts as itself, never
// matching the ASCII letters or whitespace below) and advances `i`.
char32_t next_code_point(const std::string& s, std::size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  int len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xDC00 + b;
  }
  char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
  for (int k = 1; k < len; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) {
      ++i;
      return 0xDC00 + b;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  i += len;
  return cp;
}

// Whether `cp` matches pattern letter `letter` (lower-case ASCII) under Python's re.IGNORECASE
// for str patterns: ASCII case folding plus U+017F for 's' and U+0130/U+0131 for 'i'.
bool ignorecase_match(char32_t cp, char letter) {
  if (cp == static_cast<char32_t>(letter) || cp == static_cast<char32_t>(letter - 32)) return true;
  if (letter == 's') return cp == 0x017F;
  if (letter == 'i') return cp == 0x0130 || cp == 0x0131;
  return false;
}

// Matches `word` (lower-case ASCII) at `i`; advances `i` on success.
bool match_word(const std::string& s, std::size_t& i, const char* word) {
  std::size_t j = i;
  for (const char* w = word; *w; ++w) {
    if (j >= s.size() || !ignorecase_match(next_code_point(s, j), *w)) return false;
  }
  i = j;
  return true;
}

// Matches \s+ at `i`; advances `i` on success.
bool match_spaces(const std::string& s, std::size_t& i) {
  std::size_t j = i;
  std::size_t n = 0;
  while (j < s.size()) {
    std::size_t k = j;
    if (!python_isspace(next_code_point(s, k))) break;
    j = k;
    ++n;
  }
  if (n == 0) return false;
  i = j;
  return true;
}

// re.search(r"(?i)(?:correct\s+)?answer\s+is\s+\**([ABCD])\**", answer).group(1).upper(). The
// optional "correct" prefix never changes which "answer is" the leftmost match captures, and every
// quantifier is followed by a character it cannot consume, so a left-to-right scan is exact.
std::optional<char> search_answer_is(const std::string& answer) {
  for (std::size_t start = 0; start < answer.size(); ++start) {
    std::size_t i = start;
    if (!match_word(answer, i, "answer") || !match_spaces(answer, i) ||
        !match_word(answer, i, "is") || !match_spaces(answer, i)) {
      continue;
    }
    while (i < answer.size() && answer[i] == '*') ++i;
    if (i < answer.size()) {
      const char c = answer[i];
      if (c >= 'A' && c <= 'D') return c;
      if (c >= 'a' && c <= 'd') return static_cast<char>(c - 32);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<char> can_infer_option(const std::string& answer, const Choices& choices,
                                     const CanInferOptions& options) {
  if (answer.find(kApiFailure) != std::string::npos) return std::nullopt;
  for (const char* refusal : kRefusals) {
    if (answer.find(refusal) != std::string::npos) return 'Z';
  }

  std::string answer_mod = answer;
  for (char& c : answer_mod) {
    if (kPunctuation.find(c) != std::string_view::npos) c = ' ';
  }
  const std::vector<std::string> splits = python_split(answer_mod);
  const long n = static_cast<long>(splits.size());

  int count = 0;
  for (const auto& choice : choices) {
    if (find_token(splits, std::string(1, choice.first)) >= 0) ++count;
  }

  if (count == 1) {
    for (const auto& choice : choices) {
      if (options.verbose && find_token(splits, "A") >= 0 && n > 3) return std::nullopt;
      const long index = find_token(splits, std::string(1, choice.first));
      if (index < 0) continue;
      if (options.era == CanInferEra::kClassic || index > n - 5) return choice.first;
    }
  } else if (count == 0 && find_token(splits, "Z") >= 0) {
    return 'Z';
  }

  if (options.era == CanInferEra::kHead) {
    const std::optional<char> letter = search_answer_is(answer);
    if (letter && has_choice(choices, *letter)) return letter;
  }
  return std::nullopt;
}

std::optional<char> can_infer_text(const std::string& answer, const Choices& choices,
                                   const CanInferOptions& options) {
  const std::string lowered = python_lower(answer);
  if (options.era != CanInferEra::kClassic) {
    std::size_t total = 0;
    for (const auto& choice : choices) total += python_len(choice.second);
    if (python_len(lowered) > 2 * total) return std::nullopt;
  }
  std::optional<char> found;
  int matches = 0;
  for (const auto& choice : choices) {
    if (lowered.find(python_lower(choice.second)) != std::string::npos) {
      found = choice.first;
      ++matches;
    }
  }
  return matches == 1 ? found : std::nullopt;
}

std::optional<char> can_infer(const std::string& answer, const Choices& choices,
                              const CanInferOptions& options) {
  if (const std::optional<char> option = can_infer_option(answer, choices, options)) return option;
  return can_infer_text(answer, choices, options);
}

}  // namespace vlm
