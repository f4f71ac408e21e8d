// Float and CSV formatting against CPython's repr() and csv module (what pandas.to_csv uses).
#include "vlm/results/pandas_csv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "common/python_runner.h"

namespace vlm {
namespace {

TEST(PythonFloatRepr, DocumentedForms) {
  EXPECT_EQ(python_float_repr(2.0 / 3.0), "0.6666666666666666");
  EXPECT_EQ(python_float_repr(1.0), "1.0");
  EXPECT_EQ(python_float_repr(0.0), "0.0");
  EXPECT_EQ(python_float_repr(1e-05), "1e-05");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(python_float_repr(std::nan("")), "nan");
}

TEST(PythonFloatRepr, MatchesCPython) {
  std::vector<double> values = {0.0,
                                -0.0,
                                1.0,
                                -1.0,
                                0.5,
                                0.1,
                                0.2 + 0.1,
                                1.0 / 3.0,
                                123456.789,
                                5e-324,
                                std::numeric_limits<double>::max(),
                                std::numeric_limits<double>::min(),
                                std::numeric_limits<double>::infinity(),
                                -std::numeric_limits<double>::infinity()};
  for (int e = -330; e <= 310; ++e) {
    values.push_back(std::pow(10.0, e));
    values.push_back(1.5 * std::pow(10.0, e));
    values.push_back(-9.87654321 * std::pow(10.0, e));
  }
  for (int n = 1; n <= 200; ++n) {
    for (int k = 0; k <= n; k += 7) values.push_back(static_cast<double>(k) / n);
  }
  std::mt19937_64 rng(12345);
  while (values.size() < 20000) {
    const std::uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (std::isfinite(d)) values.push_back(d);
  }
  const auto dir = testing::scratch_dir("float_repr");
  std::string in;
  for (double v : values) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%a\n", v);
    in += buf;
  }
  testing::write_bytes(dir / "in.txt", in);
  ASSERT_EQ(testing::run_python(dir, "ref",
                                "import sys\n"
                                "out = [repr(float.fromhex(l)) for l in open(sys.argv[1])]\n"
                                "open(sys.argv[2], 'w').write(''.join(x + '\\n' for x in out))\n",
                                (dir / "in.txt").string() + " " + (dir / "out.txt").string()),
            0);
  std::string mine;
  for (double v : values) mine += python_float_repr(v) + "\n";
  const std::string expected = testing::read_file(dir / "out.txt");
  ASSERT_EQ(mine.size(), expected.size());
  EXPECT_TRUE(mine == expected);
}

TEST(CsvQuoteAll, DocumentedForm) {
  EXPECT_EQ(csv_quote_all_record({std::string("split"), std::string("Overall")}),
            "\"split\",\"Overall\"\n");
  EXPECT_EQ(csv_quote_all_record({std::string("a\"b"), std::nullopt, std::string("")}, '\t'),
            "\"a\"\"b\"\t\"\"\t\"\"\n");
}

TEST(CsvQuoteAll, MatchesPythonCsvModule) {
  const std::vector<std::vector<std::optional<std::string>>> records = {
      {std::string("index"), std::string("question"), std::string("prediction")},
      {std::string("1"), std::string("tab\there"), std::string("quote \" and \"\"")},
      {std::string("2"), std::string("line\nbreak\r\nand CR\r"), std::nullopt},
      {std::string(""), std::string("comma, semicolon; 'single'"), std::string("日本語 ünï")},
      {std::string("\"\""), std::string(" lead and trail "), std::string("=1+1")},
  };
  const auto dir = testing::scratch_dir("csv_quote_all");
  nlohmann::json json = nlohmann::json::array();
  for (const auto& r : records) {
    nlohmann::json row = nlohmann::json::array();
    for (const auto& f : r) row.push_back(f ? nlohmann::json(*f) : nlohmann::json(nullptr));
    json.push_back(row);
  }
  testing::write_bytes(dir / "in.json", json.dump());
  ASSERT_EQ(
      testing::run_python(
          dir, "ref",
          "import csv, json, sys\n"
          "rows = json.load(open(sys.argv[1], encoding='utf-8'))\n"
          "for sep, name in ((',', sys.argv[2]), ('\\t', sys.argv[3])):\n"
          "    with open(name, 'w', encoding='utf-8', newline='') as f:\n"
          "        w = csv.writer(f, delimiter=sep, quoting=csv.QUOTE_ALL, lineterminator='\\n')\n"
          "        w.writerows(rows)\n",
          (dir / "in.json").string() + " " + (dir / "out.csv").string() + " " +
              (dir / "out.tsv").string()),
      0);
  std::string csv, tsv;
  for (const auto& r : records) {
    csv += csv_quote_all_record(r, ',');
    tsv += csv_quote_all_record(r, '\t');
  }
  EXPECT_EQ(csv, testing::read_file(dir / "out.csv"));
  EXPECT_EQ(tsv, testing::read_file(dir / "out.tsv"));
}

}  // namespace
}  // namespace vlm
