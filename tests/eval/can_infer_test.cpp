// can_infer against the rules and examples of reference/vlmevalkit-behaviour.md §3.2.
#include "vlm/eval/can_infer.h"

#include <gtest/gtest.h>

namespace vlm {
namespace {

const Choices kRealWorld = {{'A', "Left"}, {'B', "Straight"}, {'C', "Right"}};
const CanInferOptions kClassic{};
const CanInferOptions kLast4{CanInferEra::kLast4, false};
const CanInferOptions kHead{CanInferEra::kHead, false};
const CanInferOptions kVerbose{CanInferEra::kClassic, true};

struct Case {
  const char* answer;
  Choices choices;
  CanInferOptions options;
  std::optional<char> option;  // expected can_infer_option
  std::optional<char> full;    // expected can_infer
};

std::string describe(const Case& c) {
  return std::string("answer: \"") + c.answer + "\"";
}

TEST(CanInfer, ReferenceTable) {
  const std::optional<char> no;  // Python's False
  const Case cases[] = {
      // §3.2 examples.
      {"C", kRealWorld, kClassic, 'C', 'C'},
      {"C. Right", kRealWorld, kClassic, 'C', 'C'},
      {"The answer is (B).", kRealWorld, kClassic, 'B', 'B'},
      {"Right", kRealWorld, kClassic, no, 'C'},  // text match: "right" in exactly one option
      {"A or B", kRealWorld, kClassic, no, no},  // count == 2, no option text occurs
      {"A or B, it is a cat", {{'A', "cat"}, {'B', "dog"}}, kClassic, no, 'A'},  // text fallback
      // The four refusals give 'Z', even with a letter present.
      {"Sorry, I can't help with images of people yet. A", kRealWorld, kClassic, 'Z', 'Z'},
      {"I can't process this file.", kRealWorld, kClassic, 'Z', 'Z'},
      {"I'm sorry, but without the image provided, B", kRealWorld, kClassic, 'Z', 'Z'},
      {"Cannot determine the answer", kRealWorld, kClassic, 'Z', 'Z'},
      {"cannot determine the answer", kRealWorld, kClassic, no, no},  // case-sensitive
      // The API failure marker gives False from the option rule; the text rule still runs.
      {"Failed to obtain answer via API. C", kRealWorld, kClassic, no, no},
      {"Failed to obtain answer via API: Right", kRealWorld, kClassic, no, 'C'},
      // The 'Z' token counts only when no choice letter is present.
      {"Z", kRealWorld, kClassic, 'Z', 'Z'},
      {"(Z)", kRealWorld, kClassic, 'Z', 'Z'},
      {"A Z", kRealWorld, kClassic, 'A', 'A'},
      {"D", kRealWorld, kClassic, no, no},  // not a choice
      // Tokens are whole, case-sensitive, split on Python whitespace after the punctuation.
      {"b", kRealWorld, kClassic, no, no},
      {"B)", kRealWorld, kClassic, 'B', 'B'},
      {"{C}", kRealWorld, kClassic, 'C', 'C'},
      {"[A]!", kRealWorld, kClassic, 'A', 'A'},
      {"**B**", kRealWorld, kClassic, 'B', 'B'},
      {"#C;", kRealWorld, kClassic, 'C', 'C'},
      {"B-", kRealWorld, kClassic, no, no},
      {"B's", kRealWorld, kClassic, no, no},
      {"A A A", kRealWorld, kClassic, 'A', 'A'},  // one distinct letter
      {"answer:\tC\n", kRealWorld, kClassic, 'C', 'C'},
      {"answer\u3000C", kRealWorld, kClassic, 'C', 'C'},  // U+3000 is whitespace
      {"answer\u00A0C", kRealWorld, kClassic, 'C', 'C'},  // U+00A0 is whitespace
      {"answer\u200BC", kRealWorld, kClassic, no, no},    // U+200B is not
      {"answer\uFEFFC", kRealWorld, kClassic, no, no},    // U+FEFF is not
      {"answer\x1C"
       "C",
       kRealWorld, kClassic, 'C', 'C'},  // U+001C is
      // Text matching: the option text must occur in the answer, not the reverse.
      {"nan", {{'A', "banana"}, {'B', "cherry"}}, kClassic, no, no},
      {"I like bananas", {{'A', "banana"}, {'B', "cherry"}}, kClassic, no, 'A'},
      {"I like bananas and cherry", {{'A', "banana"}, {'B', "cherry"}}, kClassic, no, no},
      {"STRAIGHT AHEAD", kRealWorld, kClassic, no, 'B'},
      {"straight, then right", kRealWorld, kClassic, no, no},        // two options occur
      {"ÑANDÚ", {{'A', "ñandú"}, {'B', "emu"}}, kClassic, no, 'A'},  // Unicode lower()
      {"ΟΔΟΣ", {{'A', "οδος"}, {'B', "οδοσ"}}, kClassic, no, 'A'},   // final sigma
      // VERBOSE: a lone 'A' in a longer answer may be an article.
      {"A car is on the left", kRealWorld, kVerbose, no, 'A'},  // text: "left"
      {"A car is on the left", kRealWorld, kClassic, 'A', 'A'},
      {"A car is here", kRealWorld, kVerbose, no, no},
      {"It is A", kRealWorld, kVerbose, 'A', 'A'},       // 3 tokens: the rule needs more than 3
      {"The car is B", kRealWorld, kVerbose, 'B', 'B'},  // no 'A' token
      // 2025-08-04: the letter must be among the last 4 tokens.
      {"B is correct because the car turns", kRealWorld, kClassic, 'B', 'B'},
      {"B is correct because the car turns", kRealWorld, kLast4, no, no},
      {"B because it turns", kRealWorld, kLast4, 'B', 'B'},  // index 0 > 4 - 5
      {"So B is it ok", kRealWorld, kLast4, 'B', 'B'},       // index 1 > 5 - 5
      {"So then B is it ok", kRealWorld, kLast4, 'B', 'B'},  // index 2 > 6 - 5
      {"Well B is it ok now", kRealWorld, kLast4, no, no},   // index 1 > 6 - 5 fails
      {"Well B is it ok now", kRealWorld, kClassic, 'B', 'B'},
      {"B so then B is it ok", kRealWorld, kLast4, no, no},  // the first occurrence counts
      // 2025-08-04: text matching is skipped for answers longer than 2 x the option texts.
      {"It turns right", kRealWorld, kLast4, no, 'C'},  // 14 <= 2 * (4 + 8 + 5)
      {"The road ahead bends to the right", kRealWorld, kClassic, no, 'C'},
      {"The road ahead bends to the right", kRealWorld, kLast4, no, 'C'},   // 33 code points
      {"The road ahead bends to the right!", kRealWorld, kLast4, no, 'C'},  // 34: not > 34
      {"The road ahead bends to the right!!", kRealWorld, kLast4, no, no},
      {"The road ahead bends to the right!!", kRealWorld, kClassic, no, 'C'},
      {"x", {}, kLast4, no, no},
      // HEAD: the "answer is X" regex after the token rules.
      {"Therefore, the correct answer is **b**.", kRealWorld, kHead, 'B', 'B'},
      {"Therefore, the correct answer is **b**.", kRealWorld, kLast4, no, no},
      {"The answer is C, not A", kRealWorld, kHead, 'C', 'C'},  // count == 2
      {"The answer is C, not A", kRealWorld, kClassic, no, no},
      {"ANSWER   IS\tc", kRealWorld, kHead, 'C', 'C'},
      {"anſwer ıs b", kRealWorld, kHead, 'B', 'B'},  // re.IGNORECASE folds ſ and ı
      {"answer is d", kRealWorld, kHead, no, no},    // D is not a choice
      {"answer is e", {{'E', "x"}}, kHead, no, no},  // only [ABCD]
      {"answer isb", kRealWorld, kHead, no, no},     // \s+ needs a space
      {"answer is* *b", kRealWorld, kHead, no, no},
      {"answers is b", kRealWorld, kHead, no, no},
      {"the answer is b, the answer is c", kRealWorld, kHead, 'B', 'B'},  // leftmost
  };
  for (const Case& c : cases) {
    EXPECT_EQ(can_infer_option(c.answer, c.choices, c.options), c.option) << describe(c);
    EXPECT_EQ(can_infer(c.answer, c.choices, c.options), c.full) << describe(c);
  }
}

TEST(CanInfer, LengthCapCountsCodePoints) {
  // 2 * (len("ab") + len("日本")) = 8 code points; "日本日本日本xx" is 8 code points, 20 bytes.
  const Choices choices = {{'A', "ab"}, {'B', "日本"}};
  EXPECT_EQ(can_infer_text("日本日本日本xx", choices, kLast4), 'B');
  EXPECT_EQ(can_infer_text("日本日本日本xxx", choices, kLast4), std::nullopt);
  // The cap uses the lower-cased answer: "İ" lowers to two code points.
  EXPECT_EQ(can_infer_text("日本İİİİ", choices, kLast4), std::nullopt);  // 2 + 8 > 8
  EXPECT_EQ(can_infer_text("日本İİİİ", choices, kClassic), 'B');
}

}  // namespace
}  // namespace vlm
