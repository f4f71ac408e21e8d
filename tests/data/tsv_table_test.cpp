#include "vlm/data/tsv_table.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data/scratch_dir.h"
#include "vlm/core/error.h"
#include "vlm/core/python_float.h"

namespace vlm {
namespace {

using testing::ScratchDir;

TEST(TsvTable, HeaderAndCellsByName) {
  const TsvTable t = TsvTable::parse("index\tquestion\tanswer\n0\tWhat?\tA\n1\tWhy?\tB\n", "mem");
  ASSERT_EQ(t.columns(), (std::vector<std::string>{"index", "question", "answer"}));
  ASSERT_EQ(t.num_rows(), 2u);
  EXPECT_EQ(t.cell(1, "question"), "Why?");
  EXPECT_EQ(t.cell(0, 2), "A");
  EXPECT_EQ(t.line(0), 2u);
  EXPECT_EQ(t.line(1), 3u);
  EXPECT_THROW(t.column_index("hint"), UserError);
  EXPECT_FALSE(t.has_column("hint"));
}

// The reference's list of pandas' default NA strings (vlmevalkit-behaviour.md section 2), plus
// look-alikes that pandas keeps as text.
TEST(TsvTable, PandasDefaultNaStringsBecomeMissing) {
  const std::vector<std::string> na = {"",         "#N/A", "#N/A N/A", "#NA",    "-1.#IND",
                                       "-1.#QNAN", "-NaN", "-nan",     "1.#IND", "1.#QNAN",
                                       "<NA>",     "N/A",  "NA",       "NULL",   "NaN",
                                       "None",     "n/a",  "nan",      "null"};
  const std::vector<std::string> kept = {"none", "Null", "NONE", "na", "N.A.", " ", "NaN ", "0"};
  std::string text = "index\tA\n";
  int i = 0;
  for (const auto& s : na) text += std::to_string(i++) + "\t" + s + "\n";
  for (const auto& s : kept) text += std::to_string(i++) + "\t" + s + "\n";
  const TsvTable t = TsvTable::parse(text, "mem");
  ASSERT_EQ(t.num_rows(), na.size() + kept.size());
  for (size_t r = 0; r < na.size(); ++r) EXPECT_FALSE(t.cell(r, 1).has_value()) << na[r];
  for (size_t r = 0; r < kept.size(); ++r) {
    EXPECT_EQ(t.cell(na.size() + r, 1), kept[r]);
  }
  // Quoted NA strings are NA too (pandas' C parser does not look at quoting).
  const TsvTable q = TsvTable::parse("a\tb\n\"NA\"\t\"\"\n", "mem");
  EXPECT_FALSE(q.cell(0, 0).has_value());
  EXPECT_FALSE(q.cell(0, 1).has_value());
  TsvOptions raw;
  raw.na_filter = false;
  EXPECT_EQ(TsvTable::parse("a\nNA\n", "mem", raw).cell(0, 0), "NA");
}

TEST(TsvTable, QuotedFieldsHoldTabsNewlinesAndQuotes) {
  const std::string text =
      "index\tquestion\tA\n"
      "0\t\"line one\nline two\"\t\"say \"\"hi\"\"\"\n"
      "1\t\"a\tb\"\tplain \"inner\" quote\n"
      "2\t\"ab\"cd\tx\n";
  const TsvTable t = TsvTable::parse(text, "mem");
  ASSERT_EQ(t.num_rows(), 3u);
  EXPECT_EQ(t.cell(0, 1), "line one\nline two");
  EXPECT_EQ(t.cell(0, 2), "say \"hi\"");
  EXPECT_EQ(t.cell(1, 1), "a\tb");
  EXPECT_EQ(t.cell(1, 2), "plain \"inner\" quote");
  EXPECT_EQ(t.cell(2, 1), "abcd");
  EXPECT_EQ(t.line(1), 4u);  // record 0 spans lines 2-3
}

// The same tricky bytes read by Python's csv module (the quoting rules pandas' C parser shares).
TEST(TsvTable, AgreesWithPythonCsvOnTrickyQuoting) {
  ScratchDir dir;
  const std::string text =
      "\xEF\xBB\xBFindex\tq\tA\tB\r\n"
      "0\t\"multi\r\nline\"\t\"x\"\"y\"\t\r\n"
      "\r\n"
      "1\tno \"quote\" here\t\"tab\there\"\t\"\"\r\n"
      "2\t\"end\"tail\t\xe4\xb8\xad\xe6\x96\x87\tlast";
  const auto path = dir.write("t.tsv", text);
  const std::string py =
      run_python(dir,
                 "import csv, json, sys\n"
                 "with open(sys.argv[1], newline='', encoding='utf-8-sig') as f:\n"
                 "    rows = [r for r in csv.reader(f, delimiter='\\t') if r]\n"
                 "print(json.dumps(rows))\n",
                 path.string());
  const auto expected = nlohmann::json::parse(py);
  TsvOptions raw;
  raw.na_filter = false;
  const TsvTable t = TsvTable::read(path, raw);
  ASSERT_EQ(expected.size(), t.num_rows() + 1);
  EXPECT_EQ(expected[0].get<std::vector<std::string>>(), t.columns());
  for (size_t r = 0; r < t.num_rows(); ++r) {
    ASSERT_EQ(expected[r + 1].size(), t.num_columns());
    for (size_t c = 0; c < t.num_columns(); ++c) {
      EXPECT_EQ(expected[r + 1][c].get<std::string>(), *t.cell(r, c)) << r << "," << c;
    }
  }
}

TEST(TsvTable, WrongFieldCountNamesFileAndLine) {
  ScratchDir dir;
  const auto path = dir.write("bad.tsv", "index\tA\tB\n0\tx\ty\n\n1\tx\ty\tz\n");
  try {
    TsvTable::read(path);
    FAIL() << "no throw";
  } catch (const UserError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(path.string()), std::string::npos) << m;
    EXPECT_NE(m.find("line 4"), std::string::npos) << m;
    EXPECT_NE(m.find("expected 3"), std::string::npos) << m;
    EXPECT_NE(m.find("saw 4"), std::string::npos) << m;
  }
  const auto short_path = dir.write("short.tsv", "index\tA\tB\n0\tx\n");
  EXPECT_THROW(TsvTable::read(short_path), UserError);
  TsvOptions pad;
  pad.pad_short_rows = true;
  const TsvTable t = TsvTable::read(short_path, pad);
  EXPECT_EQ(t.cell(0, "A"), "x");
  EXPECT_FALSE(t.cell(0, "B").has_value());
}

TEST(TsvTable, UnterminatedQuoteIsUserError) {
  EXPECT_THROW(TsvTable::parse("a\tb\n1\t\"open\n", "mem"), UserError);
  EXPECT_THROW(TsvTable::parse("", "mem"), UserError);
}

TEST(TsvTable, BlankLinesSkippedAndLastLineWithoutNewline) {
  const TsvTable t = TsvTable::parse("a\tb\n\n1\t2\n   \n3\t4", "mem");
  ASSERT_EQ(t.num_rows(), 2u);
  EXPECT_EQ(t.cell(1, "b"), "4");
  EXPECT_EQ(t.line(1), 5u);
}

TEST(TsvTable, DuplicateAndEmptyHeaderNamesAreMangledAsPandasDoes) {
  const TsvTable t = TsvTable::parse("A\tA\t\tA\n1\t2\t3\t4\n", "mem");
  EXPECT_EQ(t.columns(), (std::vector<std::string>{"A", "A.1", "Unnamed: 2", "A.2"}));
}

TEST(TsvTable, TenMegabyteFieldInAFile) {
  ScratchDir dir;
  std::string big(10 << 20, 'Q');
  for (size_t i = 0; i < big.size(); i += 977) big[i] = static_cast<char>('A' + i % 26);
  const auto path =
      dir.write("big.tsv", "index\timage\tq\n0\t" + big + "\tsmall\n1\t\"" + big + "\"\tsmall2\n");
  const TsvTable t = TsvTable::read(path);
  ASSERT_EQ(t.num_rows(), 2u);
  EXPECT_EQ(*t.cell(0, "image"), big);
  EXPECT_EQ(*t.cell(1, "image"), big);
  EXPECT_EQ(t.cell(1, "q"), "small2");
  EXPECT_EQ(TsvTable::read_header(path), (std::vector<std::string>{"index", "image", "q"}));
}

// str(value) after pandas' dtype inference: facts of pandas' read_csv (reference section 2:
// "Columns made only of numbers become int/float"), formatted as Python prints them.
TEST(TsvTable, PythonStrFollowsPandasDtypes) {
  const TsvTable t = TsvTable::parse(
      "i\tf\tn\tb\ts\tm\n"
      "007\t1.50\t3\tTRUE\tx\t1\n"
      "-2\t2\t\tfalse\t1\t\n"
      "+3\t1e-5\t4\tTrue\t2.0\tNA\n",
      "mem");
  EXPECT_EQ(t.column_kind(0), ColumnKind::kInt);
  EXPECT_EQ(t.python_str(0, 0), "7");
  EXPECT_EQ(t.python_str(2, 0), "3");
  EXPECT_EQ(t.column_kind(1), ColumnKind::kFloat);
  EXPECT_EQ(t.python_str(0, 1), "1.5");
  EXPECT_EQ(t.python_str(1, 1), "2.0");
  EXPECT_EQ(t.python_str(2, 1), "1e-05");
  EXPECT_EQ(t.column_kind(2), ColumnKind::kFloat);  // integers with a missing cell
  EXPECT_EQ(t.python_str(0, 2), "3.0");
  EXPECT_FALSE(t.python_str(1, 2).has_value());
  EXPECT_EQ(t.column_kind(3), ColumnKind::kBool);
  EXPECT_EQ(t.python_str(0, 3), "True");
  EXPECT_EQ(t.python_str(1, 3), "False");
  EXPECT_EQ(t.column_kind(4), ColumnKind::kString);
  EXPECT_EQ(t.python_str(2, 4), "2.0");
  EXPECT_EQ(t.python_str(1, 4), "1");
  EXPECT_EQ(t.column_kind(5), ColumnKind::kFloat);
  EXPECT_EQ(t.python_str(0, 5), "1.0");
}

TEST(TsvTable, PythonFloatReprMatchesPython) {
  ScratchDir dir;
  const std::vector<double> values = {1e16,
                                      1e-5,
                                      0.0001,
                                      0.1,
                                      123456789012345680.0,
                                      3.0,
                                      -0.0,
                                      1e22,
                                      2.5e-7,
                                      1234567890123456.0,
                                      12345678901234567.0,
                                      100.0,
                                      1.5,
                                      -42.125,
                                      5e-324,
                                      1.7976931348623157e308,
                                      0.3,
                                      2.0 / 3.0};
  std::string code =
      "import struct, sys\nfor h in sys.argv[1:]:\n"
      "    print(repr(struct.unpack('<d', bytes.fromhex(h))[0]))\n";
  std::string args;
  for (double v : values) {
    unsigned char b[8];
    std::memcpy(b, &v, 8);
    char hex[17];
    for (int i = 0; i < 8; ++i) std::snprintf(hex + 2 * i, 3, "%02x", b[i]);
    args += std::string(" ") + hex;
  }
  std::istringstream py(run_python(dir, code, args));
  for (double v : values) {
    std::string line;
    std::getline(py, line);
    EXPECT_EQ(python_float_repr(v), line);
  }
}

}  // namespace
}  // namespace vlm
