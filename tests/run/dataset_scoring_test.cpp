// score_dataset end to end for each scorer: a small TSV per benchmark (its column layout), one
// record per item, and the files VLMEvalKit's evaluate() writes under exact matching, checked
// against tables worked out by hand. xlsx files are read back with Python's zipfile.
#include "vlm/run/dataset_scoring.h"

#include <gtest/gtest.h>

#include <set>

#include "common/python_runner.h"
#include "vlm/core/error.h"
#include "vlm/data/base64.h"
#include "vlm/eval/numpy_mean.h"
#include "vlm/eval/vqa_scorers.h"
#include "vlm/results/excel_round_trip.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;

const std::string kImg = base64_encode(std::string(90, 'i'));

// The sheet's rows as lists of cell texts (numbers as Python floats' repr; blank as null).
constexpr const char* kXlsxRows = R"PY(
import json, sys, zipfile, re
import xml.etree.ElementTree as ET
M = '{http://schemas.openxmlformats.org/spreadsheetml/2006/main}'
z = zipfile.ZipFile(sys.argv[1])
strings = []
if 'xl/sharedStrings.xml' in z.namelist():
    for si in ET.fromstring(z.read('xl/sharedStrings.xml')).iter(M + 'si'):
        strings.append(''.join(t.text or '' for t in si.iter(M + 't')))
rows = []
for row in ET.fromstring(z.read('xl/worksheets/sheet1.xml')).iter(M + 'row'):
    out = {}
    for c in row.iter(M + 'c'):
        col = 0
        for ch in re.match('[A-Z]+', c.get('r')).group(0):
            col = col * 26 + ord(ch) - 64
        t, v = c.get('t'), c.find(M + 'v')
        if t == 's': val = strings[int(v.text)]
        elif t in ('str', 'inlineStr'): val = ''.join(x.text or '' for x in c.iter(M + 't'))
        elif v is None: val = None
        else: val = repr(float(v.text))
        out[col - 1] = val
    rows.append([out.get(i) for i in range(max(out) + 1)] if out else [])
json.dump(rows, open(sys.argv[2], 'w', encoding='utf-8'), ensure_ascii=False)
)PY";

nlohmann::json xlsx_rows(const fs::path& dir, const fs::path& xlsx) {
  const fs::path out = dir / (xlsx.filename().string() + ".json");
  EXPECT_EQ(testing::run_python(dir, "xlsx_rows", kXlsxRows, xlsx.string() + " " + out.string()),
            0);
  return nlohmann::json::parse(testing::read_file(out));
}

struct Fixture {
  fs::path dir;
  DatasetSpec spec;
  std::unique_ptr<Dataset> ds;
  PairFiles files;
  std::map<std::string, ItemRecord> records;

  // `name`'s YAML from the repository, its TSV written under a fresh folder; predictions by index.
  Fixture(const std::string& test, const std::string& name, const std::string& tsv,
          const std::map<std::string, std::string>& predictions) {
    dir = testing::scratch_dir("dataset_scoring_" + test);
    spec = resolve_dataset(name, testing::source_dir() / "configs" / "datasets", dir);
    testing::write_bytes(dir / spec.file, tsv);
    ds = std::make_unique<Dataset>(spec, dir);
    files = pair_files(dir / "run", "M", name);
    fs::create_directories(files.folder);
    for (const auto& [index, prediction] : predictions) {
      ItemRecord r;
      r.index = index;
      r.prediction = prediction;
      records.emplace(index, r);
    }
  }
  DatasetScores score() const { return score_dataset(spec, *ds, records, {}, files); }
};

// MMBench_DEV_EN, four groups (rows in shuffled file order; copies refer to the main image):
//   g1: 1, 1000001, 2000001 all right            -> 1   image_scene / coarse_perception (CP)
//   g2: 2 right, 1000002 wrong                   -> 0   image_scene / CP
//   g3: 3, 1000003 right                         -> 1   attribute_recognition / FP-S
//   g4: 4 alone, unresolved                      -> 0   image_style / CP
// Overall 2/4; CP 1/3; FP-S 1/1; attribute_recognition 1; image_scene 1/2; image_style 0.
// Per copy the predictions are 6 of 8 right: a vanilla scorer would give 0.75.
const char* kMmbHeader =
    "index\tquestion\thint\tA\tB\tanswer\tcategory\tl2-category\tsplit\timage\n";
std::string mmb_row(const std::string& index, const std::string& a, const std::string& b,
                    const std::string& answer, const std::string& cat, const std::string& l2,
                    const std::string& image) {
  return index + "\tWhat is it?\t\t" + a + "\t" + b + "\t" + answer + "\t" + cat + "\t" + l2 +
         "\tdev\t" + image + "\n";
}
std::string mmbench_tsv() {
  const std::string cp = "coarse_perception", fps = "finegrained_perception (instance-level)";
  return std::string(kMmbHeader) + mmb_row("1000001", "moon", "sun", "B", "image_scene", cp, "1") +
         mmb_row("1", "sun", "moon", "A", "image_scene", cp, kImg) +
         mmb_row("2", "cat", "dog", "A", "image_scene", cp, kImg) +
         mmb_row("2000001", "sun", "moon", "A", "image_scene", cp, "1") +
         mmb_row("1000002", "dog", "cat", "B", "image_scene", cp, "2") +
         mmb_row("3", "red", "blue", "B", "attribute_recognition", fps, kImg) +
         mmb_row("1000003", "blue", "red", "A", "attribute_recognition", fps, "3") +
         mmb_row("4", "up", "down", "A", "image_style", cp, kImg);
}
const std::map<std::string, std::string> kMmbPredictions = {
    {"1", "A"},       {"1000001", "B"}, {"2000001", "A"}, {"2", "A"},
    {"1000002", "A"}, {"3", "B"},       {"1000003", "A"}, {"4", "hmm"}};

TEST(DatasetScoring, MmbenchCircularGroupsAndCategories) {
  Fixture f("mmbench", "MMBench_DEV_EN", mmbench_tsv(), kMmbPredictions);
  ASSERT_EQ(to_string(f.spec.scorer), "mcq_circular");
  const DatasetScores s = f.score();
  EXPECT_EQ(f.files.result.filename(), "M_MMBench_DEV_EN_exact_matching_result.xlsx");
  EXPECT_EQ(f.files.acc.filename(), "M_MMBench_DEV_EN_acc.csv");
  EXPECT_EQ(s.files, (std::vector<fs::path>{f.files.result, f.files.acc}));
  EXPECT_EQ(testing::read_file(f.files.acc),
            "\"split\",\"Overall\",\"CP\",\"FP-S\",\"attribute_recognition\",\"image_scene\","
            "\"image_style\"\n"
            "\"dev\",\"0.5\",\"0.3333333333333333\",\"1.0\",\"1.0\",\"0.5\",\"0.0\"\n");
  ASSERT_TRUE(s.acc.has_value());
  EXPECT_EQ(s.scores[0]["Overall"], 0.5);

  // The result file: main rows only, by index; columns lower-cased but single letters, then
  // prediction, g_index, hit, log.
  const nlohmann::json rows = xlsx_rows(f.dir, f.files.result);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0], nlohmann::json::parse(R"(["index","question","hint","A","B","answer",
      "category","l2-category","split","prediction","g_index","hit","log"])"));
  EXPECT_EQ(rows[1][0], "1.0");
  EXPECT_EQ(rows[1][11], "1.0");
  EXPECT_EQ(rows[1][12], "Succeed During Pre-fetching");
  EXPECT_EQ(rows[2][0], "2.0");
  EXPECT_EQ(rows[2][11], "0.0");
  EXPECT_EQ(rows[2][12],
            "Failed in Prefetching Rolling 1: Answer is B, Prediction is A, Pre-fetched is A. ");
  EXPECT_EQ(rows[4][0], "4.0");
  EXPECT_EQ(rows[4][12],
            "Failed in Prefetch, no GPT-based answer matching under `exact_matching` policy.");
}

TEST(DatasetScoring, SameRowsScoredVanillaCountEveryCopy) {
  Fixture f("mmbench_vanilla", "MMBench_DEV_EN", mmbench_tsv(), kMmbPredictions);
  f.spec.scorer = ScorerId::kMcqExact;
  const DatasetScores s = f.score();
  EXPECT_EQ(s.scores[0]["Overall"], 0.75);
}

// MMMU_DEV_VAL: two MCQ rows and two open questions (no options; answer "14").
//   v1 MCQ answer B, "B" -> 1          Art
//   v2 open, "The area is 14." -> option A (the answer text occurs) -> 1     Art
//   v3 open, "12" -> unresolved -> Z -> 0                                    Math
//   v4 MCQ answer C, "A" -> 0          Math
// Overall 2/4; Art 1.0; Math 0.0. Without MMMU_preproc v2 could never be right.
TEST(DatasetScoring, MmmuOpenQuestionsBecomeAnswerOrOther) {
  const std::string tsv =
      "index\tquestion\tA\tB\tC\tanswer\tcategory\tsplit\timage\n"
      "validation_Art_1\tWhich <image 1>?\tx\ty\tz\tB\tArt\tvalidation\t['" +
      kImg + "', '" + kImg +
      "']\n"
      "validation_Art_2\tArea of <image 1>?\t\t\t\t14\tArt\tvalidation\t" +
      kImg +
      "\n"
      "validation_Math_3\tArea of <image 1>?\t\t\t\t14\tMath\tvalidation\t" +
      kImg +
      "\n"
      "validation_Math_4\tWhich?\tx\ty\tz\tC\tMath\tvalidation\t" +
      kImg + "\n";
  const std::map<std::string, std::string> preds = {{"validation_Art_1", "B"},
                                                    {"validation_Art_2", "The area is 14."},
                                                    {"validation_Math_3", "12"},
                                                    {"validation_Math_4", "A"}};
  Fixture f("mmmu", "MMMU_DEV_VAL", tsv, preds);
  ASSERT_EQ(to_string(f.spec.scorer), "mcq_mmmu");
  f.score();
  EXPECT_EQ(testing::read_file(f.files.acc),
            "\"split\",\"Overall\",\"Art\",\"Math\"\n"
            "\"validation\",\"0.5\",\"1.0\",\"0.0\"\n");
  const nlohmann::json rows = xlsx_rows(f.dir, f.files.result);
  ASSERT_EQ(rows.size(), 5u);
  // validation_Art_2: A and B as MMMU_preproc leaves them, C still empty.
  EXPECT_EQ(rows[2][0], "validation_Art_2");
  EXPECT_EQ(rows[2][2], "14");
  EXPECT_EQ(rows[2][3], "Other Answers");
  EXPECT_EQ(rows[2][4], nullptr);

  Fixture plain("mmmu_plain", "MMMU_DEV_VAL", tsv, preds);
  plain.spec.scorer = ScorerId::kMcqExact;
  EXPECT_EQ(plain.score().scores[0]["Overall"], 0.25);
}

// POPE through score_dataset: extraction from the prediction text, the auxmatch file and the
// score file names. Items: (Yes, "Yes, there is.") TP, (No, "No") TN, (Yes, "no.") FN,
// (No, "I think yes") FP; categories adversarial, adversarial, popular, popular.
//   Overall: precision 1/2, recall 1/2, F1 0.5; acc 2/4. popular: precision 0/1 and recall 0/1
//   are floats, F1 the int 0 (its column holds floats, so "0.0").
TEST(DatasetScoring, PopeFilesAndScores) {
  const std::string tsv =
      "index\tquestion\tanswer\tcategory\timage\n"
      "0\tIs there a cat?\tYes\tadversarial\t" +
      kImg +
      "\n"
      "1\tIs there a dog?\tNo\tadversarial\t0\n"
      "2\tIs there a car?\tYes\tpopular\t0\n"
      "3\tIs there a bus?\tNo\tpopular\t0\n";
  Fixture f("pope", "POPE", tsv,
            {{"0", "Yes, there is."}, {"1", "No"}, {"2", "no."}, {"3", "I think yes"}});
  ASSERT_EQ(to_string(f.spec.scorer), "yn_pope");
  const DatasetScores s = f.score();
  const fs::path aux = f.files.folder / "M_POPE_auxmatch.xlsx";
  const fs::path score = f.files.folder / "M_POPE_score.csv";
  EXPECT_EQ(s.files, (std::vector<fs::path>{aux, score}));
  EXPECT_FALSE(fs::exists(f.files.acc));
  EXPECT_EQ(testing::read_file(score),
            "\"split\",\"Overall\",\"acc\",\"precision\",\"recall\"\n"
            "\"Overall\",\"50.0\",\"50.0\",\"50.0\",\"50.0\"\n"
            "\"adversarial\",\"100.0\",\"100.0\",\"100.0\",\"100.0\"\n"
            "\"popular\",\"0.0\",\"0.0\",\"0.0\",\"0.0\"\n");
  const nlohmann::json rows = xlsx_rows(f.dir, aux);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0],
            nlohmann::json::parse(
                R"(["index","question","answer","category","prediction","extracted","score"])"));
  EXPECT_EQ(rows[1][5], "Yes");
  EXPECT_EQ(rows[1][6], "True");
  EXPECT_EQ(rows[3][5], "No");
  EXPECT_EQ(rows[3][6], "False");
  ASSERT_TRUE(s.acc.has_value());
  EXPECT_EQ(split_names(*s.acc), (std::vector<std::string>{"Overall", "adversarial", "popular"}));
}

// MME through score_dataset: pairs by image_path, sums in the score file.
//   artwork a1: both right -> 200; commonsense_reasoning r1: (right, wrong) -> 50 + 0 = 50.
TEST(DatasetScoring, MmeFilesAndSums) {
  const std::string tsv =
      "index\tcategory\timage_path\tquestion\tanswer\timage\n"
      "0\tartwork\ta1.jpg\tIs it by Monet?\tYes\t" +
      kImg +
      "\n"
      "1\tartwork\ta1.jpg\tIs it by Manet?\tNo\t0\n"
      "2\tcommonsense_reasoning\tr1.jpg\tIs it safe?\tYes\t" +
      kImg +
      "\n"
      "3\tcommonsense_reasoning\tr1.jpg\tIs it wet?\tNo\t2\n";
  Fixture f("mme", "MME", tsv, {{"0", "Yes"}, {"1", "No"}, {"2", "Yes"}, {"3", "Yes"}});
  ASSERT_EQ(to_string(f.spec.scorer), "yn_mme");
  const DatasetScores s = f.score();
  EXPECT_EQ(testing::read_file(f.files.folder / "M_MME_score.csv"),
            "\"perception\",\"reasoning\",\"artwork\",\"commonsense_reasoning\"\n"
            "\"200.0\",\"50.0\",\"200.0\",\"50.0\"\n");
  EXPECT_TRUE(fs::exists(f.files.folder / "M_MME_auxmatch.xlsx"));
  ASSERT_TRUE(s.acc.has_value());
  EXPECT_EQ(s.acc->columns, (std::vector<std::string>{"split", "perception", "reasoning", "artwork",
                                                      "commonsense_reasoning"}));
  EXPECT_EQ(s.scores[0]["perception"], 200.0);
}

TEST(DatasetScoring, HallusionScoreFile) {
  const std::string tsv =
      "index\tcategory\tl2-category\tquestion\tanswer\timage\n"
      "VD_map_q_0_0_0\tVD\tmap\tIs A north of B?\tYes\t" +
      kImg +
      "\n"
      "VD_map_q_0_0_1\tVD\tmap\tIs B north of A?\tNo\tVD_map_q_0_0_0\n";
  Fixture f("hallusion", "HallusionBench", tsv,
            {{"VD_map_q_0_0_0", "Yes"}, {"VD_map_q_0_0_1", "Yes"}});
  ASSERT_EQ(to_string(f.spec.scorer), "yn_hallusion");
  f.score();
  // aAcc 1/2; one figure group (wrong); two question groups, one right.
  EXPECT_EQ(testing::read_file(f.files.folder / "M_HallusionBench_score.csv"),
            "\"split\",\"aAcc\",\"fAcc\",\"qAcc\"\n"
            "\"Overall\",\"50.0\",\"0.0\",\"50.0\"\n"
            "\"VD\",\"50.0\",\"0.0\",\"50.0\"\n"
            "\"map\",\"50.0\",\"0.0\",\"50.0\"\n");
}

// Every benchmark layout of scripts/fixtures/make_demo_data.py --kind, loaded through its real
// config and scored with the generator's own answers as predictions (the letter; an MMMU open
// question's answer text; Yes/No): every scorer must give its top value.
TEST(DatasetScoring, DemoLayoutsWithPerfectPredictionsScoreTop) {
  const fs::path dir = testing::scratch_dir("dataset_scoring_demo_layouts");
  struct Case {
    const char* kind;
    const char* name;
    const char* metric;
    double top;
  } cases[] = {
      {"mmbench", "MMBench_DEV_EN", "Overall", 1.0},
      {"mmstar", "MMStar", "Overall", 1.0},
      {"ai2d", "AI2D_TEST", "Overall", 1.0},
      {"seedbench", "SEEDBench_IMG", "Overall", 1.0},
      {"scienceqa", "ScienceQA_TEST", "Overall", 1.0},
      {"mmmu", "MMMU_DEV_VAL", "Overall", 1.0},
      {"pope", "POPE", "Overall", 100.0},
      {"mme", "MME", "existence", 200.0},
      {"hallusion", "HallusionBench", "qAcc", 100.0},
  };
  for (const Case& c : cases) {
    const fs::path data = dir / c.kind;
    ASSERT_EQ(std::system((testing::python() + " " +
                           (testing::source_dir() / "scripts/fixtures/make_demo_data.py").string() +
                           " --out " + data.string() + " --name " + c.name + " --kind " + c.kind +
                           " --n 24")
                              .c_str()),
              0)
        << c.kind;
    const DatasetSpec spec =
        resolve_dataset(c.name, testing::source_dir() / "configs" / "datasets", data);
    const Dataset ds(spec, data);
    ASSERT_GT(ds.size(), 10u) << c.kind;
    std::map<std::string, ItemRecord> records;
    for (const Item& item : ds.items()) {
      ASSERT_FALSE(item.error) << c.kind << ": " << *item.error;
      ItemRecord r;
      r.index = item.index;
      r.prediction = item.answer.value_or("");
      records.emplace(item.index, r);
    }
    const PairFiles files = pair_files(data / "run", "M", c.name);
    fs::create_directories(files.folder);
    const DatasetScores s = score_dataset(spec, ds, records, {}, files);
    ASSERT_TRUE(s.scores.is_array()) << c.kind;
    EXPECT_EQ(s.scores[0][c.metric], c.top) << c.kind << " " << s.scores.dump();
  }
}

TEST(DatasetScoring, RecordScorePerKind) {
  Fixture f("record_score", "MMMU_DEV_VAL",
            "index\tquestion\tA\tB\tanswer\timage\n"
            "v_1\tArea?\t\t\t14\t" +
                kImg + "\n",
            {{"v_1", "14"}});
  const RecordScore open = record_score(f.spec, (*f.ds)[0], "It is 14", {});
  EXPECT_EQ(open.extracted, "A");
  EXPECT_EQ(open.hit, 1);
  DatasetSpec pope;
  pope.name = "POPE";
  pope.kind = DatasetKind::kYn;
  pope.scorer = ScorerId::kYnPope;
  Item item;
  item.answer = "No";
  EXPECT_EQ(record_score(pope, item, "No, there is not.", {}).extracted, "No");
  EXPECT_EQ(record_score(pope, item, "No, there is not.", {}).hit, 1);
  EXPECT_EQ(record_score(pope, item, "Yes", {}).hit, 0);
}

// ---- VQA --------------------------------------------------------------------------------------

// TextVQA: four items with 10 answers each; item scores 1.0, 0.3, 0.6, 0.9 -> "Overall" 70.0.
// The third prediction is empty: it reads back as 'nan', which is what the answers hold 2 of.
TEST(DatasetScoring, TextVqaAccCsvAndResults) {
  auto ten = [](const std::string& a, int k, const std::string& b) {
    std::string out = "[";
    for (int i = 0; i < 10; ++i) out += (i ? ", '" : "'") + (i < k ? a : b) + "'";
    return out + "]";
  };
  const std::string tsv =
      "index\timage\tquestion\tanswer\n"
      "34602\t" +
      kImg + "\tq1\t" + ten("nokia", 9, "toshiba") +
      "\n"
      "34603\t" +
      kImg + "\tq2\t" + ten("toshiba", 1, "nokia") +
      "\n"
      "34604\t" +
      kImg + "\tq3\t" + ten("nan", 2, "go") +
      "\n"
      "34605\t" +
      kImg + "\tq4\t" + ten("yes", 3, "no") + "\n";
  Fixture f("textvqa", "TextVQA_VAL", tsv,
            {{"34602", "Nokia."}, {"34603", "toshiba"}, {"34604", ""}, {"34605", "yes"}});
  const DatasetScores s = f.score();
  EXPECT_EQ(testing::read_file(f.files.acc), "\"Overall\"\n\"70.0\"\n");
  EXPECT_EQ(s.scores["Overall"], 70.0);
  EXPECT_EQ(s.scores["scorer"], "vqa_textvqa");
  ASSERT_TRUE(s.acc);
  EXPECT_EQ(s.acc->columns, (std::vector<std::string>{"split", "Overall"}));
  EXPECT_DOUBLE_EQ(s.acc->number(0, 1), 0.7);
  const fs::path results = f.files.folder / "M_TextVQA_VAL_results.xlsx";
  ASSERT_EQ(s.files, (std::vector<fs::path>{results, f.files.acc}));
  const auto rows = xlsx_rows(f.dir, results);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0], nlohmann::json({"index", "question", "answer", "prediction", "eval_gt",
                                     "eval_pred", "eval_match", "eval_score"}));
  EXPECT_EQ(rows[1][5], "nokia");  // processed
  EXPECT_EQ(rows[1][6], "[1, 1, 1, 1, 1, 1, 1, 1, 1, 1]");
  EXPECT_EQ(rows[2][6],
            "[0.0, 0.3333333333333333, 0.3333333333333333, 0.3333333333333333, "
            "0.3333333333333333, 0.3333333333333333, 0.3333333333333333, 0.3333333333333333, "
            "0.3333333333333333, 0.3333333333333333]");
  EXPECT_EQ(rows[2][7], "0.3");
  EXPECT_EQ(rows[3][5], "nan");  // the empty prediction, as read back
  EXPECT_EQ(rows[3][7], "0.6");
}

// DocVQA: hits 1.0, 0.75, 0.0 with split 'val' -> "val","Overall" 58.333333333333336.
TEST(DatasetScoring, DocVqaAnlsSplitAndOverall) {
  const std::string tsv =
      "index\timage\tquestion\tanswer\tsplit\n"
      "1\t" +
      kImg +
      "\tq\t['0.28']\tval\n"
      "2\t" +
      kImg +
      "\tq\t['0.28']\tval\n"
      "3\t" +
      kImg + "\tq\t['abcd']\tval\n";
  Fixture f("docvqa", "DocVQA_VAL", tsv, {{"1", "0.28"}, {"2", "0.24"}, {"3", "a"}});
  const DatasetScores s = f.score();
  EXPECT_EQ(testing::read_file(f.files.acc),
            "\"val\",\"Overall\"\n\"58.333333333333336\",\"58.333333333333336\"\n");
  const auto rows = xlsx_rows(f.dir, f.files.folder / "M_DocVQA_VAL_results.xlsx");
  // index, question, answer, split, prediction, eval_gt, eval_pred, eval_match, eval_score
  EXPECT_EQ(rows[2][5], "['0.28']");
  EXPECT_EQ(rows[2][7], "[0.25]");  // normalised distances
  EXPECT_EQ(rows[3][8], "0.75");    // eval_score is the mean distance, not the score
}

// ChartQA: the two splits (test_human first, whatever the file order), and the era switch:
// GT 100 vs 95.2 is right from 2025-09-01, wrong before; 105.1 the other way round.
TEST(DatasetScoring, ChartQaSplitsAndEras) {
  const std::string tsv =
      "index\timage\tquestion\tanswer\tsplit\n"
      "0\t" +
      kImg +
      "\tq\t100\ttest_augmented\n"
      "1\t" +
      kImg +
      "\tq\t100\ttest_human\n"
      "2\t" +
      kImg +
      "\tq\tYes\ttest_human\n"
      "3\t" +
      kImg + "\tq\t0.5\ttest_augmented\n";
  const std::map<std::string, std::string> preds = {
      {"0", "95.2"}, {"1", "105.1"}, {"2", "yes"}, {"3", "50%"}};
  Fixture f("chartqa", "ChartQA_TEST", tsv, preds);
  DatasetScores s = f.score();
  EXPECT_EQ(testing::read_file(f.files.acc),
            "\"test_human\",\"test_augmented\",\"Overall\"\n\"50.0\",\"100.0\",\"75.0\"\n");
  EXPECT_EQ(s.scores["chartqa_era"], "2025-09-01");
  f.spec.scorer = ScorerId::kVqaRelaxedClassic;
  s = f.score();
  EXPECT_EQ(testing::read_file(f.files.acc),
            "\"test_human\",\"test_augmented\",\"Overall\"\n\"100.0\",\"50.0\",\"75.0\"\n");
  EXPECT_EQ(s.scores["chartqa_era"], "2024-03-27");
  const auto rows = xlsx_rows(f.dir, f.files.folder / "M_ChartQA_TEST_results.xlsx");
  EXPECT_EQ(rows[1][5], "['100']");
  EXPECT_EQ(rows[1][7], "[False]");
}

// OCRVQA: exact match after strip/lower; 'None' and '' read back as 'nan' (pandas >= 2).
TEST(DatasetScoring, OcrVqaExactMatchAfterRoundTrip) {
  const std::string tsv =
      "index\timage\tquestion\tanswer\n"
      "0\t" +
      kImg +
      "\tq\tHarry Potter\n"
      "1\t" +
      kImg +
      "\tq\tNA\n"
      "2\t" +
      kImg + "\tq\tYes\n";
  Fixture f("ocrvqa", "OCRVQA_TESTCORE", tsv, {{"0", " harry potter "}, {"1", "None"}, {"2", ""}});
  const DatasetScores s = f.score();
  // 1 + 1 ('nan' == 'nan') + 0 of 3.
  EXPECT_EQ(testing::read_file(f.files.acc), "\"Overall\"\n\"66.66666666666666\"\n");
}

// A VQA TSV with a category column and no split: Overall, then each category (sorted).
TEST(DatasetScoring, VqaCategoriesFollowOverallWhenThereIsNoSplit) {
  const std::string tsv =
      "index\timage\tquestion\tanswer\tcategory\n"
      "0\t" +
      kImg +
      "\tq\tA\tzeta\n"
      "1\t" +
      kImg +
      "\tq\tB\talpha\n"
      "2\t" +
      kImg + "\tq\tC\talpha\n";
  Fixture f("ocrvqa_category", "OCRVQA_TEST", tsv, {{"0", "a"}, {"1", "b"}, {"2", "x"}});
  f.score();
  EXPECT_EQ(testing::read_file(f.files.acc),
            "\"Overall\",\"alpha\",\"zeta\"\n\"66.66666666666666\",\"50.0\",\"100.0\"\n");
}

// OCRBench: the score json and no _acc.csv.
TEST(DatasetScoring, OcrBenchScoreJson) {
  const std::string tsv =
      "index\timage\tquestion\tanswer\tcategory\n"
      "0\t" +
      kImg +
      "\tq\t['CENTRE']\tRegular Text Recognition\n"
      "1\t" +
      kImg +
      "\tq\t['no']\tDoc-oriented VQA\n"
      "2\t" +
      kImg +
      "\tq\t['y _ { 2 } = - 1\\n']\tHandwritten Mathematical Expression Recognition\n"
      "3\t" +
      kImg + "\tq\t['6015']\tDigit String Recognition\n";
  Fixture f("ocrbench", "OCRBench", tsv,
            {{"0", "Centre"}, {"1", "I do not know"}, {"2", "y_{2}=-1"}, {"3", "60 15"}});
  const DatasetScores s = f.score();
  const fs::path json_path = f.files.folder / "M_OCRBench_score.json";
  EXPECT_EQ(s.files, std::vector<fs::path>{json_path});
  EXPECT_FALSE(fs::exists(f.files.acc));
  EXPECT_EQ(testing::read_file(json_path),
            "{\n    \"Text Recognition\": 1,\n    \"Scene Text-centric VQA\": 0,\n"
            "    \"Doc-oriented VQA\": 1,\n    \"Key Information Extraction\": 0,\n"
            "    \"Handwritten Mathematical Expression Recognition\": 1,\n"
            "    \"Final Score\": 3,\n    \"Final Score Norm\": 0.3\n}");
  EXPECT_EQ(s.scores["Final Score"], 3);
  ASSERT_TRUE(s.acc);
  EXPECT_EQ(s.acc->columns.back(), "Overall");
  EXPECT_DOUBLE_EQ(s.acc->number(0, s.acc->rows[0].size() - 1), 0.003);
}

TEST(DatasetScoring, OcrBenchBadRowsNameTheLineAndColumn) {
  const std::string tsv =
      "index\timage\tquestion\tanswer\tcategory\n"
      "0\t" +
      kImg + "\tq\tCENTRE\tRegular Text Recognition\n";
  Fixture f("ocrbench_bad", "OCRBench", tsv, {{"0", "x"}});
  std::string m;
  try {
    f.score();
  } catch (const UserError& e) {
    m = e.what();
  }
  EXPECT_NE(m.find("line 2 (index 0): column 'answer'"), std::string::npos) << m;
}

// The test splits without ground truth are not scored.
TEST(DatasetScoring, DocVqaTestIsInferenceOnly) {
  const std::string tsv = "index\timage\tquestion\n0\t" + kImg + "\tq\n";
  Fixture f("docvqa_test", "DocVQA_TEST", tsv, {{"0", "x"}});
  const DatasetScores s = f.score();
  EXPECT_TRUE(s.scores.is_null());
  EXPECT_TRUE(s.files.empty());
  EXPECT_FALSE(s.acc);
}

// ---- The record's score and the dataset's score, item by item
// -------------------------------------

// Fills each record's extracted/hit/log as the evaluation loop does: record_score, or
// failed_record_score for the items in `failed` (their prediction says they failed).
void score_records(Fixture& f, const std::set<std::string>& failed = {}) {
  for (const Item& item : f.ds->items()) {
    ItemRecord& r = f.records.at(item.index);
    if (failed.count(item.index)) {
      r.error = "boom";
      r.prediction = "Failed to obtain answer: boom";
    }
    const RecordScore s = r.error ? failed_record_score(f.spec, r.prediction)
                                  : record_score(f.spec, item, r.prediction, {});
    r.extracted = s.extracted;
    r.hit = s.hit;
    r.log = s.log;
  }
}

size_t column_of(const nlohmann::json& header, const std::string& name) {
  for (size_t c = 0; c < header.size(); ++c)
    if (header[c] == name) return c;
  ADD_FAILURE() << "no column " << name << " in " << header.dump();
  return 0;
}

// MCQ, plain and MMMU: each result-file row has the hit and log of its item's record (the failed
// item's included), so the two cannot drift apart.
TEST(DatasetScoring, RecordAndResultFileAgreePerItemMcq) {
  const std::string tsv =
      "index\tquestion\tA\tB\tanswer\timage\n"
      "1\tq\tcat\tdog\tA\t" +
      kImg +
      "\n"
      "2\tq\tcat\tdog\tB\t" +
      kImg +
      "\n"
      "3\tq\tcat\tdog\tA\t" +
      kImg +
      "\n"
      "4\tq\tcat\tdog\tA\t" +
      kImg +
      "\n"
      "5\tArea?\t\t\t14\t" +
      kImg + "\n";
  const std::map<std::string, std::string> preds = {
      {"1", "A"}, {"2", "It is a cat"}, {"3", "hmm"}, {"4", "A"}, {"5", "It is 14"}};
  for (const std::string name : {"RealWorldQA", "MMMU_DEV_VAL"}) {
    Fixture f("agree_" + name, name, tsv, preds);
    score_records(f, {"4"});
    f.score();
    const nlohmann::json rows = xlsx_rows(f.dir, f.files.result);
    ASSERT_EQ(rows.size(), 6u) << name;
    const size_t hit = column_of(rows[0], "hit"), log = column_of(rows[0], "log");
    std::vector<int> hits;
    for (size_t i = 0; i < f.ds->size(); ++i) {
      const ItemRecord& r = f.records.at((*f.ds)[i].index);
      ASSERT_TRUE(r.hit.has_value()) << name << " " << r.index;
      hits.push_back(*r.hit);
      EXPECT_EQ(rows[i + 1][hit], *r.hit ? "1.0" : "0.0") << name << " " << r.index;
      EXPECT_EQ(rows[i + 1][log], r.log) << name << " " << r.index;
    }
    // Right, wrong, unresolved, failed; the open question counts only under MMMU_preproc.
    EXPECT_EQ(hits, (std::vector<int>{1, 0, 0, 0, name == "MMMU_DEV_VAL" ? 1 : 0})) << name;
    EXPECT_EQ(f.records.at("4").extracted, "Z");
  }
}

// Circular: a group's main row is right exactly when every rotation's record is.
TEST(DatasetScoring, RecordAndResultFileAgreePerGroupCircular) {
  Fixture f("agree_circular", "MMBench_DEV_EN", mmbench_tsv(), kMmbPredictions);
  score_records(f);
  f.score();
  const nlohmann::json rows = xlsx_rows(f.dir, f.files.result);
  const size_t index = column_of(rows[0], "index"), hit = column_of(rows[0], "hit");
  ASSERT_EQ(rows.size(), 5u);  // the four main rows
  for (size_t i = 1; i < rows.size(); ++i) {
    const int64_t g = static_cast<int64_t>(std::stod(rows[i][index].get<std::string>()));
    bool all = true;
    for (const auto& [key, r] : f.records)
      if (std::stoll(key) % 1000000 == g) all = all && r.hit == 1;
    EXPECT_EQ(rows[i][hit], all ? "1.0" : "0.0") << g;
  }
}

// Y/N: the auxmatch file's extracted and score cells are the record's extracted and hit, for the
// default rating and POPE's alike.
TEST(DatasetScoring, RecordAndAuxmatchAgreePerItemYorn) {
  const std::string tsv =
      "index\tquestion\tanswer\tcategory\timage\n"
      "0\tIs there a cat?\tYes\tadversarial\t" +
      kImg +
      "\n"
      "1\tIs there a dog?\tNo\tadversarial\t0\n"
      "2\tIs there a car?\tYes\tpopular\t0\n"
      "3\tIs there a bus?\tNo\tpopular\t0\n";
  for (const ScorerId id : {ScorerId::kYnPope, ScorerId::kYnExact}) {
    Fixture f("agree_yorn_" + to_string(id), "POPE", tsv,
              {{"0", "Yes, there is."}, {"1", "No"}, {"2", "no."}, {"3", "x"}});
    f.spec.scorer = id;
    score_records(f, {"3"});
    f.score();
    const nlohmann::json rows = xlsx_rows(f.dir, f.files.folder / "M_POPE_auxmatch.xlsx");
    ASSERT_EQ(rows.size(), 5u);
    const size_t extracted = column_of(rows[0], "extracted"), score = column_of(rows[0], "score");
    for (size_t i = 0; i < f.ds->size(); ++i) {
      const ItemRecord& r = f.records.at((*f.ds)[i].index);
      EXPECT_EQ(rows[i + 1][extracted], r.extracted) << r.index;
      EXPECT_EQ(rows[i + 1][score], r.hit == 1 ? "True" : "False") << r.index;
    }
    EXPECT_EQ(f.records.at("2").extracted, "No");
    EXPECT_EQ(f.records.at("3").extracted, "Unknown");
  }
}

// VQA: records carry no score (the dataset scores the predictions as read back from the xlsx);
// each results row's eval_pred and eval_score are the scorer's per-item function on that item.
TEST(DatasetScoring, VqaResultsRowsArePerItemScores) {
  const std::string tsv =
      "index\timage\tquestion\tanswer\n"
      "0\t" +
      kImg +
      "\tq\t['Nokia', 'nokia', 'toshiba']\n"
      "1\t" +
      kImg +
      "\tq\t['two dogs']\n"
      "2\t" +
      kImg + "\tq\t12\n";
  const std::map<std::string, std::string> preds = {
      {"0", "Nokia."}, {"1", "2 dogs"}, {"2", "12.62"}};
  const struct {
    const char* name;
    ScorerId id;
    VqaItemFn item;
  } cases[] = {{"TextVQA_VAL", ScorerId::kVqaTextVqa, textvqa_item_score},
               {"DocVQA_VAL", ScorerId::kVqaAnls, anls_item_score},
               {"ChartQA_TEST", ScorerId::kVqaRelaxed, chartqa_item_score},
               {"ChartQA_TEST", ScorerId::kVqaRelaxedClassic, chartqa_classic_item_score},
               {"OCRVQA_TEST", ScorerId::kVqaExact, ocrvqa_item_score}};
  for (const auto& c : cases) {
    Fixture f("agree_vqa_" + to_string(c.id), c.name, tsv, preds);
    f.spec.scorer = c.id;
    score_records(f);
    f.score();
    const nlohmann::json rows =
        xlsx_rows(f.dir, f.files.folder / ("M_" + std::string(c.name) + "_results.xlsx"));
    ASSERT_EQ(rows.size(), 4u) << c.name;
    const size_t pred = column_of(rows[0], "eval_pred"), score = column_of(rows[0], "eval_score");
    // The columns as the scorer reads them back from the predictions xlsx.
    std::vector<std::optional<std::string>> raw_preds, raw_answers;
    for (const Item& item : f.ds->items()) {
      raw_preds.push_back(f.records.at(item.index).prediction);
      raw_answers.push_back(item.answer);
    }
    const std::vector<std::string> read_preds = excel_round_trip(raw_preds);
    const std::vector<std::string> read_answers = excel_round_trip(raw_answers);
    for (size_t i = 0; i < f.ds->size(); ++i) {
      const Item& item = (*f.ds)[i];
      const ItemRecord& r = f.records.at(item.index);
      EXPECT_FALSE(r.hit.has_value()) << c.name;
      EXPECT_EQ(r.extracted, "") << c.name;
      const VqaItemScore v = c.item(read_preds[i], vqa_answers(read_answers[i]));
      EXPECT_EQ(rows[i + 1][pred], v.eval_pred) << to_string(c.id) << " " << item.index;
      EXPECT_DOUBLE_EQ(std::stod(rows[i + 1][score].get<std::string>()), numpy_mean(v.match))
          << to_string(c.id) << " " << item.index;
    }
  }
}

}  // namespace
}  // namespace vlm
