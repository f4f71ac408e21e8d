// Yes/No answer extraction from a free-text prediction: VLMEvalKit's YOrN_Extraction
// (vlmeval/dataset/utils/yorn.py) and the process_punctuation it calls
// (vlmeval/dataset/utils/vqa_eval.py).
#pragma once

#include <string>

namespace vlm {

// process_punctuation(inText), quirks included:
// - each of ; / [ ] " { } ( ) = + \ _ - > < @ ` , ? ! is deleted when the *input* has it next to a
//   space ("p " or " p") or the input has a digit-comma-digit anywhere, else replaced by a space;
// - then periodStrip.sub('', text, re.UNICODE) deletes '.' not followed by a digit, but at most 32
//   of them (re.UNICODE == 32 lands in sub()'s `count` argument).
// Digits are ASCII 0-9 (Python's \d also matches other Unicode digits).
std::string process_punctuation(const std::string& text);

// The extracted answer of a Yes/No item.
enum class YesNo { kYes, kNo, kUnknown };

// "Yes", "No" or "Unknown", as VLMEvalKit writes them into the `extracted` column.
const char* to_string(YesNo answer);

// YOrN_Extraction(output): words = process_punctuation(output.lower()).split(); Yes when "yes" is
// a word and "no" is not, No for the reverse, Unknown otherwise (both, or neither).
YesNo yorn_extraction(const std::string& prediction);

}  // namespace vlm
