#include "vlm/data/mcq_prompt.h"

#include <gtest/gtest.h>

#include "data/scratch_dir.h"
#include "vlm/core/error.h"
#include "vlm/data/base64.h"
#include "vlm/data/internvl_prompt.h"

namespace vlm {
namespace {

using testing::ScratchDir;

const char* kEnglishSuffix = "\nAnswer with the option's letter from the given choices directly.";

DatasetSpec realworldqa() {
  DatasetSpec s;
  s.name = "RealWorldQA";
  s.file = "RealWorldQA.tsv";
  s.kind = DatasetKind::kMcq;
  return s;
}

// RealWorldQA item 0 as the reference gives it (vlmevalkit-behaviour.md section 2 and 4.3), read
// from a TSV row with D empty (a 3-option item), through Dataset, to InternVL2's user text.
TEST(McqPrompt, RealWorldQaItemZeroExactText) {
  ScratchDir dir;
  const std::string image = base64_encode(std::string(100, 'J'));
  dir.write("RealWorldQA.tsv",
            "index\timage\tquestion\tA\tB\tC\tD\tanswer\n"
            "0\t" +
                image +
                "\tIn which direction is the front wheel of the car on the right side facing?\tLeft"
                "\tStraight\tRight\t\tC\n");
  const Dataset d(realworldqa(), dir.path());
  const Prompt p = build_internvl_prompt(d[0], d.spec());
  EXPECT_EQ(p.text,
            "<image>\n"
            "In which direction is the front wheel of the car on the right side facing?\n"
            "A. Left\n"
            "B. Straight\n"
            "C. Right\n"
            "Answer with the option's letter from the given choices directly.");
  EXPECT_EQ(p.images, std::vector<ImageSource>{ImageSource::embedded(image)});
}

Item item(std::string question, std::vector<std::pair<char, std::string>> options) {
  Item it;
  it.index = "0";
  it.question = std::move(question);
  it.options = std::move(options);
  it.images_b64 = {"AAAA"};
  return it;
}

TEST(McqPrompt, FourOptionsAndHint) {
  Item it = item("What is shown?", {{'A', "cat"}, {'B', "dog"}, {'C', "bird"}, {'D', "fish"}});
  EXPECT_EQ(build_multi_choice_prompt(it),
            std::string("What is shown?\nA. cat\nB. dog\nC. bird\nD. fish") + kEnglishSuffix);
  it.hint = "Look at the animal.";
  EXPECT_EQ(build_multi_choice_prompt(it),
            std::string("Look at the animal.\nWhat is shown?\nA. cat\nB. dog\nC. bird\nD. fish") +
                kEnglishSuffix);
}

TEST(McqPrompt, ChineseVariantWhenTextHasCjk) {
  Item it = item("图中是什么动物？", {{'A', "猫"}, {'B', "狗"}});
  EXPECT_EQ(build_multi_choice_prompt(it), "图中是什么动物？\nA. 猫\nB. 狗\n请直接回答选项字母。");
  // A CJK character only in an option also counts: cn_string looks at the whole prompt.
  Item mixed = item("Which word means cat?", {{'A', "猫"}, {'B', "dog"}});
  EXPECT_EQ(build_multi_choice_prompt(mixed),
            "Which word means cat?\nA. 猫\nB. dog\n请直接回答选项字母。");
  Item open_cn = item("这是什么？", {});
  EXPECT_EQ(build_multi_choice_prompt(open_cn), "这是什么？\n请直接回答问题。");
}

TEST(McqPrompt, NoOptionsAsksForADirectAnswer) {
  EXPECT_EQ(build_multi_choice_prompt(item("How many cars?", {})),
            "How many cars?\nAnswer the question directly.");
}

TEST(McqPrompt, CnStringRangeIsU4e00ToU9fff) {
  EXPECT_TRUE(cn_string("\xe4\xb8\x80"));   // U+4E00
  EXPECT_TRUE(cn_string("x\xe9\xbe\xbf"));  // U+9FBF
  EXPECT_TRUE(cn_string("\xe9\xbf\xbf"));   // U+9FFF
  EXPECT_FALSE(cn_string("\xe4\xb7\xbf"));  // U+4DFF
  EXPECT_FALSE(cn_string("\xea\x80\x80"));  // U+A000
  EXPECT_FALSE(cn_string("\xe3\x80\x82"));  // U+3002 ideographic full stop
  EXPECT_FALSE(cn_string("\xed\x95\x9c"));  // Hangul
  EXPECT_FALSE(cn_string("caf\xc3\xa9 \xf0\x9f\x98\x80"));
}

TEST(McqPrompt, MissingQuestionIsUserError) {
  Item it = item("q", {});
  it.question.reset();
  EXPECT_THROW(build_multi_choice_prompt(it), UserError);
  Item bad = item("q", {});
  bad.error = "image refers to index '99'";
  EXPECT_THROW(build_internvl_prompt(bad, realworldqa()), UserError);
}

TEST(InternvlPrompt, ReorganizeForZeroOneAndManyImages) {
  EXPECT_EQ(reorganize_prompt("Q", 0), "Q");
  EXPECT_EQ(reorganize_prompt("Q", 1), "<image>\nQ");
  EXPECT_EQ(reorganize_prompt("Q", 3), "Image-1: <image>\nImage-2: <image>\nImage-3: <image>\nQ");
}

TEST(InternvlPrompt, YesNoAndVqaSuffixes) {
  Item it = item("Is there a cat?", {});
  DatasetSpec s;
  s.kind = DatasetKind::kYn;
  s.name = "MME";
  EXPECT_EQ(build_internvl_prompt(it, s).text,
            "<image>\nIs there a cat? Answer the question using a single word or phrase.");
  s.name = "HallusionBench";
  EXPECT_EQ(build_internvl_prompt(it, s).text,
            "<image>\nIs there a cat? Please answer yes or no. Answer the question using a single "
            "word or phrase.");
  s.name = "POPE";
  EXPECT_EQ(build_internvl_prompt(it, s).text, "<image>\nIs there a cat?");
  s.kind = DatasetKind::kVqa;
  s.name = "MyVQA";
  EXPECT_EQ(build_internvl_prompt(it, s).text,
            "<image>\nIs there a cat?\nAnswer the question using a single word or phrase.");
  s.name = "MathVista_MINI";
  EXPECT_EQ(build_internvl_prompt(it, s).text, "<image>\nIs there a cat?");
}

}  // namespace
}  // namespace vlm
