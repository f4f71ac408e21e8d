// String helpers shared by the tokenizers of lib/src/text (internal header).
#pragma once

#include <string>
#include <string_view>

namespace vlm::text_detail {

// Every occurrence of `from` (non-empty) in `s` replaced by `to`, left to right.
void replace_all(std::string& s, std::string_view from, std::string_view to);

// transformers' PreTrainedTokenizerBase.clean_up_tokenization: " ." -> ".", " ?" -> "?",
// " !" -> "!", " ," -> ",", " ' " -> "'", " n't" -> "n't", " 'm" -> "'m", " 's" -> "'s",
// " 've" -> "'ve", " 're" -> "'re", applied as replace-alls in this order.
void clean_up_tokenization(std::string& s);

}  // namespace vlm::text_detail
