// VLMEvalKit's YOrN_Extraction and process_punctuation (vlmeval/dataset/utils/yorn.py,
// vqa_eval.py), against outcomes worked out by hand from the upstream code, quirks included.
#include "vlm/eval/yorn_extraction.h"

#include <gtest/gtest.h>

namespace vlm {
namespace {

TEST(ProcessPunctuation, ReplacedBySpaceUnlessNextToASpace) {
  EXPECT_EQ(process_punctuation("a/b"), "a b");     // no space around: becomes a space
  EXPECT_EQ(process_punctuation("a / b"), "a  b");  // " /" occurs: deleted
  EXPECT_EQ(process_punctuation("(yes)"), " yes ");
  EXPECT_EQ(process_punctuation("yes, (it is)"), "yes it is ");  // ", " and " (" occur
}

TEST(ProcessPunctuation, DigitCommaDigitAnywhereDeletesAllPunctuation) {
  EXPECT_EQ(process_punctuation("1,000 yes-men"), "1000 yesmen");
  EXPECT_EQ(process_punctuation("a thousand yes-men"), "a thousand yes men");
}

TEST(ProcessPunctuation, PeriodsDeletedUnlessBeforeADigitAtMost32) {
  EXPECT_EQ(process_punctuation("3.5 apples."), "3.5 apples");
  std::string dots;
  for (int i = 0; i < 32; ++i) dots += ". ";
  // 32 periods before "yes.": all 32 go, the 33rd stays (re.UNICODE == 32 is sub()'s count).
  EXPECT_EQ(process_punctuation(dots + "yes."), std::string(32, ' ') + "yes.");
}

TEST(YornExtraction, Basic) {
  EXPECT_EQ(yorn_extraction("Yes"), YesNo::kYes);
  EXPECT_EQ(yorn_extraction("No."), YesNo::kNo);
  EXPECT_EQ(yorn_extraction("YES!"), YesNo::kYes);
  EXPECT_EQ(yorn_extraction("Yes, there is a dog."), YesNo::kYes);
  EXPECT_EQ(yorn_extraction("There is no dog in the image."), YesNo::kNo);
  EXPECT_EQ(yorn_extraction("yes\nno"), YesNo::kUnknown);  // both
  EXPECT_EQ(yorn_extraction("Maybe"), YesNo::kUnknown);    // neither
  EXPECT_EQ(yorn_extraction("nan"), YesNo::kUnknown);      // an empty cell read back
  EXPECT_EQ(yorn_extraction(""), YesNo::kUnknown);
  EXPECT_EQ(yorn_extraction("Nope"), YesNo::kUnknown);     // whole words only
  EXPECT_EQ(yorn_extraction("yes\xc2\xa0"), YesNo::kYes);  // NBSP splits like Python
}

TEST(YornExtraction, PunctuationQuirksDecide) {
  // '-' becomes a space, so "no" is a word: both words, Unknown.
  EXPECT_EQ(yorn_extraction("Yes, a no-brainer"), YesNo::kUnknown);
  // With a digit-comma-digit the '-' is deleted instead: "nobrainer", so only "yes" is a word.
  EXPECT_EQ(yorn_extraction("Yes, a 1,000 no-brainer"), YesNo::kYes);
  // The 33rd period survives and glues to "yes.": no word left.
  std::string dots;
  for (int i = 0; i < 32; ++i) dots += ". ";
  EXPECT_EQ(yorn_extraction(dots + "yes."), YesNo::kUnknown);
  EXPECT_EQ(yorn_extraction(dots.substr(2) + "yes."), YesNo::kYes);
}

TEST(YornExtraction, Names) {
  EXPECT_STREQ(to_string(YesNo::kYes), "Yes");
  EXPECT_STREQ(to_string(YesNo::kNo), "No");
  EXPECT_STREQ(to_string(YesNo::kUnknown), "Unknown");
}

}  // namespace
}  // namespace vlm
