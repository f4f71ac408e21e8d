// VLMEvalKit prediction files read as its evaluate() loads them (pandas read_excel / read_csv),
// for files written by Python's openpyxl, by this project's own xlsx writer and as TSV; and
// score_prediction_file (run --mode eval --predictions FILE) on them. Expected cells are what
// pandas >= 2 gives (str() of each cell; NA as nullopt), worked out from the reference's round
// trip rules (shared/reference/vlmevalkit-vqa.md §2).
#include "vlm/results/prediction_file.h"

#include <gtest/gtest.h>

#include "common/python_runner.h"
#include "common/user_error.h"
#include "vlm/results/result_table.h"
#include "vlm/run/prediction_scoring.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;
using Cells = std::vector<std::optional<std::string>>;
const std::nullopt_t NA = std::nullopt;

Cells column(const PredictionFile& pf, const std::string& name) {
  Cells out;
  const size_t c = pf.column_index(name);
  for (const auto& row : pf.rows) out.push_back(row[c]);
  return out;
}

// openpyxl writes the sheet: shared strings, ints, floats, bools, blanks (None).
constexpr const char* kOpenpyxl = R"PY(
import sys
from openpyxl import Workbook
wb = Workbook()
ws = wb.active
ws.title = 'Sheet1'
ws.append(['index', 'question', 'answer', 'numbers', 'floats', 'flags', 'prediction'])
rows = [
    [0, 'what is\nthis?', '1.50', '1.50', 1.5, True, ''],
    [1, 'caf\u00e9 "x"', '007', '007', None, False, 'NA'],
    [2, 'q', 'text', '3', 3.0, True, 'None'],
    [3, 'q', "['a', 'b']", '4', 4, False, 'none'],
    [4, 'q', 'x', '5', 0.1, True, 'True'],
    [5, 'q', 'y', '6', 2, False, ' spaced '],
    [6, 'q', 'z', '7', 1e-05, True, None],
]
for r in rows:
    ws.append(r)
wb.save(sys.argv[1])
)PY";

TEST(PredictionFile, OpenpyxlXlsxReadsAsPandasDoes) {
  const fs::path dir = testing::scratch_dir("prediction_file_openpyxl");
  const fs::path xlsx = dir / "M_X.xlsx";
  ASSERT_EQ(testing::run_python(dir, "write", kOpenpyxl, xlsx.string()), 0);
  const PredictionFile pf = read_prediction_file(xlsx);
  EXPECT_EQ(pf.columns, (std::vector<std::string>{"index", "question", "answer", "numbers",
                                                  "floats", "flags", "prediction"}));
  EXPECT_EQ(pf.row_unit, "sheet 'Sheet1' row");
  EXPECT_EQ(pf.lines, (std::vector<size_t>{2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(column(pf, "index"), (Cells{"0", "1", "2", "3", "4", "5", "6"}));
  EXPECT_EQ(pf.kinds[0], ColumnKind::kInt);
  EXPECT_EQ(column(pf, "question"),
            (Cells{"what is\nthis?", "caf\u00e9 \"x\"", "q", "q", "q", "q", "q"}));
  // Text with numbers in a text column stays as written.
  EXPECT_EQ(column(pf, "answer"), (Cells{"1.50", "007", "text", "['a', 'b']", "x", "y", "z"}));
  // Every cell numeric text: float64 ('1.50' -> 1.5, '007' -> 7.0).
  EXPECT_EQ(column(pf, "numbers"), (Cells{"1.5", "7.0", "3.0", "4.0", "5.0", "6.0", "7.0"}));
  // Numbers with a blank: float64; 3.0 and 4 print as floats.
  EXPECT_EQ(column(pf, "floats"), (Cells{"1.5", NA, "3.0", "4.0", "0.1", "2.0", "1e-05"}));
  EXPECT_EQ(column(pf, "flags"),
            (Cells{"True", "False", "True", "False", "True", "False", "True"}));
  // '' and 'NA' and (pandas >= 2) 'None' are NaN; 'none' and 'True' text are not.
  EXPECT_EQ(column(pf, "prediction"), (Cells{NA, NA, NA, "none", "True", " spaced ", NA}));
}

TEST(PredictionFile, OwnWriterAndTsvReadBackEqual) {
  const fs::path dir = testing::scratch_dir("prediction_file_own");
  ResultTable t;
  t.add_column("index", true);
  t.add_column("question");
  t.add_column("answer");
  t.add_column("prediction");
  t.add_row({"10", "q1", "['a']", "Yes"});
  t.add_row({"11", "tab\there", "NA", ""});
  t.add_row({"12", "x\"y\"", "b", "=1+1"});
  t.add_row({"13", "q4", NA,
             "a\x01"
             "b"});
  t.write_xlsx(dir / "M_X.xlsx");
  t.write_tsv(dir / "M_X.tsv");
  const PredictionFile x = read_prediction_file(dir / "M_X.xlsx");
  const PredictionFile v = read_prediction_file(dir / "M_X.tsv");
  EXPECT_EQ(x.columns, v.columns);
  EXPECT_EQ(column(x, "index"), (Cells{"10", "11", "12", "13"}));
  EXPECT_EQ(column(x, "question"), (Cells{"q1", "tab\there", "x\"y\"", "q4"}));
  EXPECT_EQ(column(x, "answer"), (Cells{"['a']", NA, "b", NA}));
  // Strings, never formulas; xlsxwriter's control-character escape stays (openpyxl 3.0).
  EXPECT_EQ(column(x, "prediction"), (Cells{"Yes", NA, "=1+1", "a_x0001_b"}));
  EXPECT_EQ(v.row_unit, "line");
  EXPECT_EQ(column(v, "index"), column(x, "index"));
  EXPECT_EQ(column(v, "answer"), column(x, "answer"));
  EXPECT_EQ(column(v, "prediction"), (Cells{"Yes", NA, "=1+1",
                                            "a\x01"
                                            "b"}));
}

// A zip part rewritten to hold what a malformed file holds.
constexpr const char* kBreak = R"PY(
import sys, zipfile
src, dst, part, old, new = sys.argv[1:6]
zin = zipfile.ZipFile(src)
zout = zipfile.ZipFile(dst, 'w')
for item in zin.infolist():
    data = zin.read(item.filename)
    if item.filename == part:
        data = data.replace(old.encode(), new.encode(), 1)
    zout.writestr(item, data)
zout.close()
)PY";

TEST(PredictionFile, MalformedFilesNameFileSheetAndColumn) {
  const fs::path dir = testing::scratch_dir("prediction_file_bad");
  ResultTable t;
  t.add_column("index", true);
  t.add_column("answer");
  t.add_row({"1", "yes"});
  t.write_xlsx(dir / "good.xlsx");
  testing::write_bytes(dir / "junk.xlsx", "not a zip");
  std::string m = testing::user_error([&] { read_prediction_file(dir / "junk.xlsx"); });
  EXPECT_NE(m.find("junk.xlsx: not an .xlsx file"), std::string::npos) << m;
  m = testing::user_error([&] { read_prediction_file(dir / "good.xls"); });
  EXPECT_NE(m.find("not found"), std::string::npos) << m;
  testing::write_bytes(dir / "p.csv", "a,b\n");
  m = testing::user_error([&] { read_prediction_file(dir / "p.csv"); });
  EXPECT_NE(m.find("expected a .xlsx or .tsv file"), std::string::npos) << m;

  const PredictionFile ok = read_prediction_file(dir / "good.xlsx");
  m = testing::user_error([&] { ok.column_index("prediction"); });
  EXPECT_NE(m.find("good.xlsx: no column 'prediction' (columns: index, answer)"), std::string::npos)
      << m;

  // A shared string index beyond the table, and broken XML.
  ASSERT_EQ(testing::run_python(dir, "break", kBreak,
                                (dir / "good.xlsx").string() + " " + (dir / "sst.xlsx").string() +
                                    " xl/worksheets/sheet1.xml '<v>1</v>' '<v>99</v>'"),
            0);
  m = testing::user_error([&] { read_prediction_file(dir / "sst.xlsx"); });
  EXPECT_NE(m.find("sst.xlsx sheet 'Sheet1' cell B1: shared string index '99'"), std::string::npos)
      << m;
  ASSERT_EQ(testing::run_python(dir, "break", kBreak,
                                (dir / "good.xlsx").string() + " " + (dir / "xml.xlsx").string() +
                                    " xl/worksheets/sheet1.xml '</sheetData>' '<sheetData>'"),
            0);
  m = testing::user_error([&] { read_prediction_file(dir / "xml.xlsx"); });
  EXPECT_NE(m.find("xml.xlsx: malformed XML in xl/worksheets/sheet1.xml"), std::string::npos) << m;
  // A TSV row wider than its header names the line.
  testing::write_bytes(dir / "wide.tsv", "index\tprediction\n1\tA\n2\tB\textra\n");
  m = testing::user_error([&] { read_prediction_file(dir / "wide.tsv"); });
  EXPECT_NE(m.find("wide.tsv"), std::string::npos) << m;
  EXPECT_NE(m.find("line 3"), std::string::npos) << m;
}

RunOptions options_for(const fs::path& dir) {
  RunOptions o;
  o.work_dir = dir / "out";
  o.configs_dir = testing::source_dir() / "configs";
  o.data_root = dir / "data";
  o.commit = "0123456789abcdef0123";
  o.mode = RunMode::kEval;
  return o;
}

constexpr const char* kTextVqaXlsx = R"PY(
import sys
from openpyxl import Workbook
wb = Workbook()
ws = wb.active
ws.append(['index', 'question', 'answer', 'prediction'])
ten = lambda a, k, b: str([a] * k + [b] * (10 - k))
ws.append([34602, 'q1', ten('nokia', 9, 'toshiba'), 'Nokia.'])
ws.append([34603, 'q2', ten('toshiba', 1, 'nokia'), 'toshiba'])
ws.append([34604, 'q3', ten('nan', 2, 'go'), None])
ws.append([34605, 'q4', ten('yes', 3, 'no'), 'yes'])
wb.save(sys.argv[1])
)PY";

TEST(ScorePredictionFile, TextVqaFromAnOpenpyxlFile) {
  const fs::path dir = testing::scratch_dir("score_prediction_file_textvqa");
  const fs::path xlsx = dir / "InternVL2-8B_TextVQA_VAL.xlsx";
  ASSERT_EQ(testing::run_python(dir, "write", kTextVqaXlsx, xlsx.string()), 0);
  const PairResult r = score_prediction_file(options_for(dir), "Elsewhere", "TextVQA_VAL", xlsx);
  EXPECT_EQ(r.items, 4u);
  EXPECT_EQ(r.folder.parent_path(), dir / "out" / "Elsewhere");
  EXPECT_EQ(r.folder.filename().string().substr(9), "_G01234567");
  EXPECT_EQ(testing::read_file(r.folder / "Elsewhere_TextVQA_VAL_acc.csv"),
            "\"Overall\"\n\"70.0\"\n");
  EXPECT_TRUE(fs::exists(r.folder / "Elsewhere_TextVQA_VAL.xlsx"));
  EXPECT_TRUE(fs::exists(r.folder / "Elsewhere_TextVQA_VAL_results.xlsx"));
  const auto run_json =
      nlohmann::json::parse(testing::read_file(r.folder / "run.json"))["datasets"]["TextVQA_VAL"];
  EXPECT_EQ(run_json["scores"]["Overall"], 70.0);
  EXPECT_EQ(run_json["items"], 4);
  ASSERT_TRUE(r.acc);
  EXPECT_DOUBLE_EQ(r.acc->number(0, 1), 0.7);
}

// DemoShapesVQA (configs/datasets/DemoShapesVQA.yaml) is scored with TextVQA's metric: a
// hand-made predictions file of five of its rows (TextVQA's layout, ten equal answers each).
// Ten equal answers give 1 when the processed answers are equal, else 0. By hand: 'Red' ~ 'red'
// (lower case) 1; 'two' ~ '2' (number word) 1; 'green' vs 'yellow' 0; '3.' vs '3' 0 (a period
// after a digit stays); 'The blue.' ~ 'blue' (article and period dropped) 1 -> 3/5 = 60.0. Exact
// matching (vqa_exact) would give 20.0 ('Red' only).
TEST(ScorePredictionFile, DemoShapesVqaIsScoredWithTheTextVqaMetric) {
  const fs::path dir = testing::scratch_dir("score_prediction_file_demoshapesvqa");
  auto ten = [](const std::string& a) {
    std::string s = "[";
    for (int i = 0; i < 10; ++i) s += (i ? ", '" : "'") + a + "'";
    return s + "]";
  };
  const std::string colour = "What colour is the shape?",
                    count = "How many shapes are in the image?";
  testing::write_bytes(dir / "p.tsv",
                       "index\tquestion\tanswer\tprediction\n"
                       "0\t" +
                           colour + "\t" + ten("red") +
                           "\tRed\n"
                           "1\t" +
                           count + "\t" + ten("2") +
                           "\ttwo\n"
                           "2\t" +
                           colour + "\t" + ten("yellow") +
                           "\tgreen\n"
                           "3\t" +
                           count + "\t" + ten("3") +
                           "\t3.\n"
                           "4\t" +
                           colour + "\t" + ten("blue") + "\tThe blue.\n");
  const PairResult r = score_prediction_file(options_for(dir), "M", "DemoShapesVQA", dir / "p.tsv");
  EXPECT_EQ(r.items, 5u);
  EXPECT_EQ(testing::read_file(r.folder / "M_DemoShapesVQA_acc.csv"), "\"Overall\"\n\"60.0\"\n");
  const auto run_json =
      nlohmann::json::parse(testing::read_file(r.folder / "run.json"))["datasets"]["DemoShapesVQA"];
  EXPECT_EQ(run_json["scorer"], "vqa_textvqa");
  EXPECT_EQ(run_json["scores"]["Overall"], 60.0);
}

TEST(ScorePredictionFile, McqAndErrors) {
  const fs::path dir = testing::scratch_dir("score_prediction_file_mcq");
  const std::string head = "index\tquestion\tA\tB\tanswer\tcategory\tprediction\n";
  testing::write_bytes(dir / "p.tsv", head +
                                          "0\tq\tcat\tdog\tA\tc1\tA\n"
                                          "1\tq\tcat\tdog\tB\tc1\tThe answer is A\n"
                                          "2\tq\tcat\tdog\tB\tc2\tB. dog\n");
  const PairResult r = score_prediction_file(options_for(dir), "M", "MMStar", dir / "p.tsv");
  ASSERT_TRUE(r.acc);
  EXPECT_EQ(r.acc->columns[1], "Overall");
  EXPECT_DOUBLE_EQ(r.acc->number(0, 1), 2.0 / 3);
  EXPECT_TRUE(fs::exists(r.folder / "M_MMStar_acc.csv"));

  testing::write_bytes(dir / "noanswer.tsv", "index\tquestion\tprediction\n0\tq\tx\n");
  std::string m = testing::user_error(
      [&] { score_prediction_file(options_for(dir), "M", "TextVQA_VAL", dir / "noanswer.tsv"); });
  EXPECT_NE(m.find("noanswer.tsv: no column 'answer'"), std::string::npos) << m;
  testing::write_bytes(dir / "dup.tsv",
                       "index\tquestion\tanswer\tprediction\n0\tq\ta\tx\n0\tq\ta\ty\n");
  m = testing::user_error(
      [&] { score_prediction_file(options_for(dir), "M", "OCRVQA_TEST", dir / "dup.tsv"); });
  EXPECT_NE(m.find("dup.tsv line 3: column 'index': 0 repeats line 2"), std::string::npos) << m;
  m = testing::user_error(
      [&] { score_prediction_file(options_for(dir), "", "OCRVQA_TEST", dir / "dup.tsv"); });
  EXPECT_NE(m.find("--model"), std::string::npos) << m;
}

}  // namespace
}  // namespace vlm
