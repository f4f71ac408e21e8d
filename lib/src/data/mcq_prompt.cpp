#include "vlm/data/mcq_prompt.h"

#include <cstdint>

#include "vlm/core/error.h"

namespace vlm {

bool cn_string(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    // U+4E00..U+9FFF are exactly the three-byte sequences E4 B8 80 .. E9 BF BF.
    if ((c & 0xF0) == 0xE0 && i + 2 < text.size()) {
      const uint32_t cp = ((c & 0x0Fu) << 12) |
                          ((static_cast<unsigned char>(text[i + 1]) & 0x3Fu) << 6) |
                          (static_cast<unsigned char>(text[i + 2]) & 0x3Fu);
      if (cp >= 0x4E00 && cp <= 0x9FFF) return true;
      i += 3;
    } else if ((c & 0xE0) == 0xC0) {
      i += 2;
    } else if ((c & 0xF8) == 0xF0) {
      i += 4;
    } else {
      ++i;
    }
  }
  return false;
}

std::string build_multi_choice_prompt(const Item& item) {
  check_user(item.question.has_value(),
             "item " + item.index + " (line " + std::to_string(item.line) + "): no question");
  std::string prompt = item.hint ? *item.hint + "\n" + *item.question : *item.question;
  for (const auto& [letter, text] : item.options) {
    prompt += '\n';
    prompt += letter;
    prompt += ". " + text;
  }
  const bool cn = cn_string(prompt);
  if (!item.options.empty()) {
    prompt += cn ? "\n请直接回答选项字母。"
                 : "\nAnswer with the option's letter from the given choices directly.";
  } else {
    prompt += cn ? "\n请直接回答问题。" : "\nAnswer the question directly.";
  }
  return prompt;
}

}  // namespace vlm
