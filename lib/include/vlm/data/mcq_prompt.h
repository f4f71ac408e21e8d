// InternVL2's multiple-choice prompt in VLMEvalKit (build_multi_choice_prompt).
#pragma once

#include <string>
#include <string_view>

#include "vlm/data/dataset.h"

namespace vlm {

// VLMEvalKit's cn_string: true when UTF-8 `text` has a code point in U+4E00..U+9FFF.
bool cn_string(std::string_view text);

// build_multi_choice_prompt(line): [hint + '\n'] + question, then '\n{L}. {option}' per option
// A..Z, then "\nAnswer with the option's letter from the given choices directly." (or
// '\n请直接回答选项字母。' when the text so far has CJK characters); with no options
// '\nAnswer the question directly.' (or '\n请直接回答问题。'). UserError if the item has no
// question.
std::string build_multi_choice_prompt(const Item& item);

}  // namespace vlm
