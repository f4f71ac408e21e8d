// InternVL2's per-dataset user text for the benchmarks beyond RealWorldQA, against the strings of
// VLMEvalKit's InternVLChat.build_prompt + build_multi_choice_prompt + reorganize_prompt
// (vlmeval/vlm/internvl/internvl_chat.py, utils.py), written out by hand below. Each TSV goes
// through Dataset with the project's own configs/datasets/*.yaml.
#include "vlm/data/internvl_prompt.h"

#include <gtest/gtest.h>

#include "data/scratch_dir.h"
#include "vlm/data/base64.h"
#include "vlm/data/dataset.h"

namespace vlm {
namespace {

using testing::ScratchDir;

const std::string kImg1 = base64_encode(std::string(90, 'a'));
const std::string kImg2 = base64_encode(std::string(90, 'b'));
const char* kLetter = "\nAnswer with the option's letter from the given choices directly.";

// Loads `name` (its YAML from the repository) from a TSV written into a scratch data root.
Dataset load(const ScratchDir& dir, const std::string& name, const std::string& tsv) {
  const DatasetSpec spec =
      resolve_dataset(name, testing::source_dir() / "configs" / "datasets", dir.path());
  dir.write(spec.file, tsv);
  return Dataset(spec, dir.path());
}

TEST(InternvlPrompt, MmstarNoHint) {
  ScratchDir dir;
  const Dataset d = load(dir, "MMStar",
                         "index\tquestion\tA\tB\tC\tD\tanswer\tcategory\tl2_category\timage\n"
                         "0\tWhich option describes the object relationship in the image "
                         "correctly?\tThe suitcase is on the book.\tThe suitcase is beneath the "
                         "cat.\tThe suitcase is beneath the bed.\tThe suitcase is beneath the "
                         "book.\tA\tcoarse perception\timage scene and topic\t" +
                             kImg1 + "\n");
  const Prompt p = build_internvl_prompt(d[0], d.spec());
  EXPECT_EQ(p.text, std::string("<image>\n"
                                "Which option describes the object relationship in the image "
                                "correctly?\n"
                                "A. The suitcase is on the book.\n"
                                "B. The suitcase is beneath the cat.\n"
                                "C. The suitcase is beneath the bed.\n"
                                "D. The suitcase is beneath the book.") +
                        kLetter);
  EXPECT_EQ(p.images, std::vector<ImageSource>{ImageSource::embedded(kImg1)});
}

// AI2D and SEEDBench: a hint column that is empty (NA) adds nothing; a 4-option question.
TEST(InternvlPrompt, Ai2dAndSeedbenchWithEmptyHint) {
  for (const char* name : {"AI2D_TEST", "SEEDBench_IMG"}) {
    ScratchDir dir;
    const Dataset d = load(dir, name,
                           "index\timage\thint\tquestion\tA\tB\tC\tD\tanswer\n"
                           "7\t" +
                               kImg1 + "\t\twhich stage is shown?\tegg\tlarva\tpupa\tadult\tB\n");
    EXPECT_EQ(build_internvl_prompt(d[0], d.spec()).text,
              std::string("<image>\nwhich stage is shown?\nA. egg\nB. larva\nC. pupa\nD. adult") +
                  kLetter)
        << name;
  }
}

// ScienceQA: the hint (the lecture context) comes first, joined by a newline; a 2-option item
// (C and D empty) lists two options; a row without an image is dropped on load.
TEST(InternvlPrompt, ScienceQaHintFirstAndImagelessRowDropped) {
  ScratchDir dir;
  const Dataset d = load(dir, "ScienceQA_TEST",
                         "index\tquestion\thint\tA\tB\tC\tD\tanswer\timage\n"
                         "1\tWhich animal's mouth is also adapted for bottom feeding?\tSturgeons "
                         "eat invertebrates, plants, and small fish.\tsturgeon\tdiscus\t\t\tA\t" +
                             kImg1 +
                             "\n"
                             "2\tWhat is the capital of Utah?\t\tProvo\tSalt Lake City\t\t\tB\t\n"
                             "3\tWhich word would you find on a dictionary page?\t\tpatch\tpike"
                             "\t\t\tA\t" +
                             kImg2 + "\n");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(build_internvl_prompt(d[0], d.spec()).text,
            std::string("<image>\nSturgeons eat invertebrates, plants, and small fish.\n"
                        "Which animal's mouth is also adapted for bottom feeding?\n"
                        "A. sturgeon\nB. discus") +
                kLetter);
  EXPECT_EQ(build_internvl_prompt(d[1], d.spec()).text,
            std::string("<image>\nWhich word would you find on a dictionary page?\n"
                        "A. patch\nB. pike") +
                kLetter);
}

// MMBench: hint present; the rotated copy (index + 1e6) has its own option order.
TEST(InternvlPrompt, MmbenchHintAndRotatedCopy) {
  ScratchDir dir;
  const Dataset d = load(dir, "MMBench_DEV_EN",
                         "index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\tl2-category\tsplit"
                         "\timage\n"
                         "5\tWhat is shown?\tLook at the sky.\tsun\tmoon\t\t\tA\timage_scene\t"
                         "coarse_perception\tdev\t" +
                             kImg1 +
                             "\n"
                             "1000005\tWhat is shown?\tLook at the sky.\tmoon\tsun\t\t\tB\t"
                             "image_scene\tcoarse_perception\tdev\t5\n");
  EXPECT_EQ(build_internvl_prompt(d[0], d.spec()).text,
            std::string("<image>\nLook at the sky.\nWhat is shown?\nA. sun\nB. moon") + kLetter);
  const Prompt rotated = build_internvl_prompt(d[1], d.spec());
  EXPECT_EQ(rotated.text,
            std::string("<image>\nLook at the sky.\nWhat is shown?\nA. moon\nB. sun") + kLetter);
  EXPECT_EQ(rotated.images,
            std::vector<ImageSource>{ImageSource::embedded(kImg1)});  // image by reference
}

// MMMU: a two-image row keeps its "<image n>" markers in the text and gets InternVL2's
// "Image-k: <image>" header per image; an open question (no options) asks for a direct answer.
TEST(InternvlPrompt, MmmuMultiImageAndOpenQuestion) {
  ScratchDir dir;
  const Dataset d =
      load(dir, "MMMU_DEV_VAL",
           "index\tquestion\tA\tB\tC\tD\tanswer\tcategory\tsplit\timage\n"
           "validation_Art_1\tCompare <image 1> and <image 2>. Which is older?\tthe first\tthe "
           "second\t\t\tA\tArt\tvalidation\t['" +
               kImg1 + "', '" + kImg2 +
               "']\n"
               "validation_Math_2\tWhat is the area of the triangle in <image 1>?\t\t\t\t\t14\t"
               "Math\tvalidation\t" +
               kImg2 + "\n");
  const Prompt two = build_internvl_prompt(d[0], d.spec());
  EXPECT_EQ(two.text, std::string("Image-1: <image>\nImage-2: <image>\n"
                                  "Compare <image 1> and <image 2>. Which is older?\n"
                                  "A. the first\nB. the second") +
                          kLetter);
  EXPECT_EQ(two.images,
            (std::vector<ImageSource>{ImageSource::embedded(kImg1), ImageSource::embedded(kImg2)}));
  EXPECT_EQ(build_internvl_prompt(d[1], d.spec()).text,
            "<image>\nWhat is the area of the triangle in <image 1>?\n"
            "Answer the question directly.");
}

// The Y/N sets: MME asks for a single word, HallusionBench also for yes/no, POPE gets the bare
// question (its TSV question already ends with the instruction it needs).
TEST(InternvlPrompt, YesNoSuffixes) {
  const std::string row =
      "index\timage\tquestion\tanswer\tcategory\timage_path\n"
      "0\t" +
      kImg1 + "\tIs there a dog in the image?\tYes\texistence\ta/1.jpg\n";
  struct Case {
    const char* name;
    const char* text;
  } cases[] = {
      {"MME",
       "<image>\nIs there a dog in the image? Answer the question using a single word or phrase."},
      {"HallusionBench",
       "<image>\nIs there a dog in the image? Please answer yes or no. Answer the question using a "
       "single word or phrase."},
      {"POPE", "<image>\nIs there a dog in the image?"},
  };
  for (const Case& c : cases) {
    ScratchDir dir;
    const Dataset d = load(dir, c.name, row);
    EXPECT_EQ(build_internvl_prompt(d[0], d.spec()).text, c.text) << c.name;
  }
}

// The VQA benchmarks: the question, then "\nAnswer the question using a single word or phrase."
// (OCRBench's formula questions too); no hint, no options.
TEST(InternvlPrompt, VqaShortAnswerSuffix) {
  const std::string row =
      "index\timage\tquestion\tanswer\tcategory\tsplit\n"
      "0\t" +
      kImg1 + "\twhat is the brand of this camera?\t['dakota']\tx\tval\n";
  for (const char* name :
       {"TextVQA_VAL", "DocVQA_VAL", "DocVQA_TEST", "InfoVQA_VAL", "InfoVQA_TEST", "ChartQA_TEST",
        "OCRBench", "OCRVQA_TEST", "OCRVQA_TESTCORE"}) {
    ScratchDir dir;
    const Dataset d = load(dir, name, row);
    EXPECT_EQ(build_internvl_prompt(d[0], d.spec()).text,
              "<image>\nwhat is the brand of this camera?\nAnswer the question using a single "
              "word or phrase.")
        << name;
  }
  ScratchDir dir;
  const Dataset d = load(dir, "OCRBench",
                         "index\timage\tquestion\tanswer\tcategory\n900\t" + kImg1 +
                             "\tPlease write out the expression of the formula in the image using "
                             "LaTeX format.\t['x']\tHandwritten Mathematical Expression "
                             "Recognition\n");
  EXPECT_EQ(build_internvl_prompt(d[0], d.spec()).text,
            "<image>\nPlease write out the expression of the formula in the image using LaTeX "
            "format.\nAnswer the question using a single word or phrase.");
}

// The demo's short-answer set as shipped (models/InternVL2-Demo/DemoShapesVQA.tsv) through its
// config: TextVQA's layout and scorer, the md5 the config names, and TextVQA's prompt (its name is
// on no upstream list: the default VQA branch gives the same text), which is the prompt
// scripts/train_demo_model.py trains on.
TEST(InternvlPrompt, DemoShapesVqaAsShipped) {
  ScratchDir dir;
  const DatasetSpec spec =
      resolve_dataset("DemoShapesVQA", testing::source_dir() / "configs" / "datasets", dir.path());
  EXPECT_EQ(spec.kind, DatasetKind::kVqa);
  EXPECT_EQ(to_string(spec.scorer), "vqa_textvqa");
  EXPECT_EQ(spec.file, "DemoShapesVQA.tsv");
  const Dataset d(spec, testing::source_dir() / "models" / "InternVL2-Demo");
  EXPECT_EQ(d.file_md5(), spec.md5);
  ASSERT_EQ(d.size(), 200u);
  EXPECT_EQ(d[0].answer.value_or(""),
            "['yellow', 'yellow', 'yellow', 'yellow', 'yellow', "
            "'yellow', 'yellow', 'yellow', 'yellow', 'yellow']");
  EXPECT_EQ(build_internvl_prompt(d[0], spec).text,
            "<image>\nWhat colour is the shape?\nAnswer the question using a single word or "
            "phrase.");
  EXPECT_EQ(build_internvl_prompt(d[1], spec).text,
            "<image>\nHow many shapes are in the image?\nAnswer the question using a single word "
            "or phrase.");
  EXPECT_EQ(d[1].answer.value_or("").substr(0, 10), "['4', '4',");
}

}  // namespace
}  // namespace vlm
