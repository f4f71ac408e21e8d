#include "vlm/eval/yorn_extraction.h"

#include <algorithm>
#include <vector>

#include "vlm/core/python_str.h"

namespace vlm {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// re.search(r'(\d)(,)(\d)', text) is not None.
bool has_digit_comma_digit(const std::string& text) {
  for (size_t i = 1; i + 1 < text.size(); ++i)
    if (text[i] == ',' && is_digit(text[i - 1]) && is_digit(text[i + 1])) return true;
  return false;
}

// str.replace(from, to) for a one-byte `from` (ASCII, so never inside a UTF-8 sequence).
std::string replace_all(const std::string& s, char from, const std::string& to) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == from) {
      out += to;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string process_punctuation(const std::string& text) {
  static const char kPunct[] = {';',  '/', '[', ']', '"', '{', '}', '(', ')', '=', '+',
                                '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!'};
  const bool comma_strip = has_digit_comma_digit(text);
  std::string out = text;
  for (char p : kPunct) {
    const std::string after = std::string(1, p) + " ";
    const std::string before = " " + std::string(1, p);
    // The test looks at the original input, the replacement applies to the running output.
    const bool touches_space =
        text.find(after) != std::string::npos || text.find(before) != std::string::npos;
    out = replace_all(out, p, touches_space || comma_strip ? "" : " ");
  }
  // periodStrip = (?!<=\d)(\.)(?!\d); the lookahead "(?!<=\d)" at a '.' never fails.
  std::string stripped;
  stripped.reserve(out.size());
  int removed = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const bool digit_next = i + 1 < out.size() && is_digit(out[i + 1]);
    if (out[i] == '.' && !digit_next && removed < 32) {
      ++removed;
      continue;
    }
    stripped += out[i];
  }
  return stripped;
}

const char* to_string(YesNo answer) {
  switch (answer) {
    case YesNo::kYes:
      return "Yes";
    case YesNo::kNo:
      return "No";
    case YesNo::kUnknown:
      break;
  }
  return "Unknown";
}

YesNo yorn_extraction(const std::string& prediction) {
  const std::vector<std::string> words =
      python_split(process_punctuation(python_lower(prediction)));
  const bool yes = std::find(words.begin(), words.end(), "yes") != words.end();
  const bool no = std::find(words.begin(), words.end(), "no") != words.end();
  if (yes && !no) return YesNo::kYes;
  if (!yes && no) return YesNo::kNo;
  return YesNo::kUnknown;
}

}  // namespace vlm
