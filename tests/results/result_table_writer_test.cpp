// ResultTable's TSV and xlsx files: TSV bytes as pandas.to_csv(sep='\t', quoting=QUOTE_ALL)
// writes them, xlsx read back with Python's zipfile and ElementTree.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/python_runner.h"
#include "vlm/core/error.h"
#include "vlm/results/result_table.h"

namespace vlm {
namespace {

ResultTable sample_table() {
  ResultTable t;
  t.add_column("index", /*numeric=*/true);
  t.add_column("question");
  t.add_column("prediction");
  t.add_row(
      {std::string("1"), std::string("What is\tthis?"), std::string("He said \"B\"\nthen C")});
  t.add_row({std::string("2"), std::nullopt, std::string("")});
  t.add_row({std::string("10"), std::string("日本語 ü"), std::string("=1+1")});
  return t;
}

constexpr const char* kSampleTsv =
    "\"index\"\t\"question\"\t\"prediction\"\n"
    "\"1\"\t\"What is\tthis?\"\t\"He said \"\"B\"\"\nthen C\"\n"
    "\"2\"\t\"\"\t\"\"\n"
    "\"10\"\t\"日本語 ü\"\t\"=1+1\"\n";

TEST(ResultTableTsv, BytesAsPandasQuoteAll) {
  EXPECT_EQ(sample_table().to_tsv(), kSampleTsv);
}

TEST(ResultTableTsv, WriteAndReadBack) {
  const auto dir = testing::scratch_dir("result_table_tsv");
  const auto path = dir / "M_RealWorldQA.tsv";
  testing::write_bytes(path, "stale");
  const ResultTable t = sample_table();
  t.write_tsv(path);
  EXPECT_EQ(testing::read_file(path), kSampleTsv);
  EXPECT_FALSE(std::filesystem::exists(dir / "M_RealWorldQA.tsv.tmp"));

  const ResultTable back = ResultTable::read_tsv(path);
  ASSERT_EQ(back.columns(), t.columns());
  ASSERT_EQ(back.num_rows(), 3u);
  EXPECT_EQ(back.at(0, "question"), std::optional<std::string>("What is\tthis?"));
  EXPECT_EQ(back.at(0, "prediction"), std::optional<std::string>("He said \"B\"\nthen C"));
  EXPECT_EQ(back.at(1, "question"), std::nullopt);
  EXPECT_EQ(back.at(1, "prediction"), std::nullopt);  // "" reads back as NaN, as in pandas
  EXPECT_EQ(back.at(2, "prediction"), std::optional<std::string>("=1+1"));
  EXPECT_TRUE(back.is_numeric(0));
  EXPECT_FALSE(back.is_numeric(1));
  EXPECT_FALSE(back.is_numeric(2));
}

TEST(ResultTableTsv, ReadsBareFieldsCrlfAndBlankLines) {
  const auto dir = testing::scratch_dir("result_table_read");
  const auto path = dir / "in.tsv";
  testing::write_bytes(path, "a\tb\r\n1.5\t\"x\ty\"\r\n\r\n-2e3\t\n");
  const ResultTable t = ResultTable::read_tsv(path);
  ASSERT_EQ(t.num_rows(), 2u);
  EXPECT_EQ(t.at(0, 1), std::optional<std::string>("x\ty"));
  EXPECT_EQ(t.at(1, 0), std::optional<std::string>("-2e3"));
  EXPECT_EQ(t.at(1, 1), std::nullopt);
  EXPECT_TRUE(t.is_numeric(0));
}

TEST(ResultTableTsv, MalformedFilesAreUserErrors) {
  const auto dir = testing::scratch_dir("result_table_bad");
  testing::write_bytes(dir / "open_quote.tsv", "a\tb\n\"x\ty\n");
  EXPECT_THROW(ResultTable::read_tsv(dir / "open_quote.tsv"), UserError);
  testing::write_bytes(dir / "fields.tsv", "a\tb\n1\t2\t3\n");
  EXPECT_THROW(ResultTable::read_tsv(dir / "fields.tsv"), UserError);
  EXPECT_THROW(ResultTable::read_tsv(dir / "missing.tsv"), UserError);
}

TEST(ResultTable, LooksNumeric) {
  for (const char* s : {"0", "-3", "+4", "1.5", ".5", "5.", "1e-05", "2E+10"}) {
    EXPECT_TRUE(looks_numeric(s)) << s;
  }
  for (const char* s : {"", "nan", "inf", "0x10", "1e", " 1", "1 ", "A", "-", "."}) {
    EXPECT_FALSE(looks_numeric(s)) << s;
  }
}

constexpr const char* kXlsxReader = R"PY(
import json, sys, zipfile
import xml.etree.ElementTree as ET
M = '{http://schemas.openxmlformats.org/spreadsheetml/2006/main}'
data = open(sys.argv[1], 'rb').read()
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
names = z.namelist()
strings = []
if 'xl/sharedStrings.xml' in names:
    for si in ET.fromstring(z.read('xl/sharedStrings.xml')).iter(M + 'si'):
        strings.append(''.join(t.text or '' for t in si.iter(M + 't')))
sheets = [s.get('name') for s in ET.fromstring(z.read('xl/workbook.xml')).iter(M + 'sheet')]
styles = ET.fromstring(z.read('xl/styles.xml'))
bold = [f.find(M + 'b') is not None for f in styles.find(M + 'fonts')]
borders = [[(b.find(M + side).get('style') if b.find(M + side) is not None else None)
            for side in ('left', 'right', 'top', 'bottom')] for b in styles.find(M + 'borders')]
xfs = []
for xf in styles.find(M + 'cellXfs'):
    al = xf.find(M + 'alignment')
    xfs.append({'bold': bold[int(xf.get('fontId', '0'))],
                'border': borders[int(xf.get('borderId', '0'))],
                'horizontal': al.get('horizontal') if al is not None else None,
                'vertical': al.get('vertical') if al is not None else None})
cells = {}
raw = z.read('xl/worksheets/sheet1.xml').decode('utf-8')
for c in ET.fromstring(raw).iter(M + 'c'):
    t, v, f = c.get('t'), c.find(M + 'v'), c.find(M + 'f')
    style = xfs[int(c.get('s', '0'))]
    if f is not None: kind, value = 'formula', f.text
    elif t == 's': kind, value = 'string', strings[int(v.text)]
    elif t in ('str', 'inlineStr'): kind, value = t, ''.join(x.text or '' for x in c.iter(M + 't'))
    elif v is None: kind, value = 'blank', None
    else: kind, value = 'number', float(v.text)
    cells[c.get('r')] = {'kind': kind, 'value': value, 'style': style}
json.dump({'magic': data[:4].hex(), 'sheets': sheets, 'cells': cells,
           'has_formula_tag': '<f>' in raw, 'has_hyperlinks': 'hyperlink' in raw},
          open(sys.argv[2], 'w', encoding='utf-8'), ensure_ascii=False)
)PY";

TEST(ResultTableXlsx, CellsStylesAndZip) {
  const auto dir = testing::scratch_dir("result_table_xlsx");
  const auto path = dir / "M_RealWorldQA.xlsx";
  testing::write_bytes(path, "stale");
  ResultTable t = sample_table();
  t.add_column("hit", /*numeric=*/true);
  t.at(0, 3) = "1";
  t.at(1, 3) = "0";
  t.at(2, 3) = "0.25";
  t.add_row({std::string("11"), std::string("http://example.com/x"), std::string(40000, 'x'),
             std::nullopt});
  t.write_xlsx(path);
  EXPECT_FALSE(std::filesystem::exists(dir / "M_RealWorldQA.xlsx.tmp"));
  EXPECT_EQ(testing::read_file(path).substr(0, 4), std::string("PK\x03\x04", 4));

  ASSERT_EQ(testing::run_python(dir, "read_xlsx", kXlsxReader,
                                path.string() + " " + (dir / "cells.json").string()),
            0);
  const nlohmann::json ref = nlohmann::json::parse(testing::read_file(dir / "cells.json"));
  EXPECT_EQ(ref["magic"], "504b0304");
  EXPECT_EQ(ref["sheets"], nlohmann::json::array({"Sheet1"}));
  EXPECT_EQ(ref["has_formula_tag"], false);
  EXPECT_EQ(ref["has_hyperlinks"], false);
  const nlohmann::json& cells = ref["cells"];

  const nlohmann::json header_style = {{"bold", true},
                                       {"border", {"thin", "thin", "thin", "thin"}},
                                       {"horizontal", "center"},
                                       {"vertical", "top"}};
  const char* header[] = {"index", "question", "prediction", "hit"};
  const char* refs[] = {"A1", "B1", "C1", "D1"};
  for (int c = 0; c < 4; ++c) {
    EXPECT_EQ(cells[refs[c]]["kind"], "string") << refs[c];
    EXPECT_EQ(cells[refs[c]]["value"], header[c]) << refs[c];
    EXPECT_EQ(cells[refs[c]]["style"], header_style) << refs[c];
  }
  auto expect_cell = [&](const char* r, const char* kind, const nlohmann::json& value) {
    ASSERT_TRUE(cells.contains(r)) << r;
    EXPECT_EQ(cells[r]["kind"], kind) << r;
    EXPECT_EQ(cells[r]["value"], value) << r;
    EXPECT_EQ(cells[r]["style"]["bold"], false) << r;
  };
  expect_cell("A2", "number", 1.0);
  expect_cell("B2", "string", "What is\tthis?");
  expect_cell("C2", "string", "He said \"B\"\nthen C");
  expect_cell("D2", "number", 1.0);
  expect_cell("A3", "number", 2.0);
  EXPECT_FALSE(cells.contains("B3"));  // NA
  EXPECT_FALSE(cells.contains("C3"));  // the empty string: a blank without format is not written
  expect_cell("D3", "number", 0.0);
  expect_cell("A4", "number", 10.0);
  expect_cell("B4", "string", "日本語 ü");
  expect_cell("C4", "string", "=1+1");  // never a formula
  expect_cell("D4", "number", 0.25);
  expect_cell("B5", "string", "http://example.com/x");  // never a link
  expect_cell("C5", "string", std::string(32767, 'x'));
  EXPECT_FALSE(cells.contains("D5"));
  EXPECT_EQ(cells.size(), 4u + 4u + 2u + 4u + 3u);
}

TEST(ResultTableXlsx, NonNumericCellInNumericColumnIsAnInternalError) {
  const auto dir = testing::scratch_dir("result_table_xlsx_bad");
  ResultTable t;
  t.add_column("hit", /*numeric=*/true);
  t.add_row({std::string("yes")});
  EXPECT_THROW(t.write_xlsx(dir / "bad.xlsx"), InternalError);
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.xlsx"));
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.xlsx.tmp"));
}

}  // namespace
}  // namespace vlm
