// python_float (Python's float(str)), python_upper_len and python_decimal_value against CPython
// (Debian's python3) on every code point and a list of number spellings.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/python_runner.h"
#include "vlm/core/python_float.h"
#include "vlm/core/python_str.h"

namespace vlm {
namespace {

const std::vector<std::string> kSpellings = {"1",
                                             "-1",
                                             "+1.5",
                                             " 12 ",
                                             "1.",
                                             ".5",
                                             ".",
                                             "1e3",
                                             "1E-3",
                                             "1e",
                                             "1e+",
                                             "1_000",
                                             "1__000",
                                             "_1",
                                             "1_",
                                             "1_.5",
                                             "1._5",
                                             "1e1_0",
                                             "inf",
                                             "-Infinity",
                                             "nan",
                                             "NaN",
                                             "-nan",
                                             "infinit",
                                             "1,000",
                                             "$5",
                                             "5 million",
                                             "0x10",
                                             "",
                                             "   ",
                                             "\uff15",
                                             "\u0665\u0660",
                                             "\u00a05\u2003",
                                             "5 ",
                                             "1e400",
                                             "-1e400",
                                             "1e-400",
                                             "0.1.2",
                                             "--1",
                                             "+-1",
                                             "1 2",
                                             "\u00b2",
                                             "\u2155",
                                             "12abc",
                                             "0012",
                                             "-0",
                                             "3.14159265358979323846"};

constexpr const char* kScript = R"PY(
import json, sys
spellings = json.load(open(sys.argv[1], encoding='utf-8'))
def f(s):
    try:
        v = float(s)
    except ValueError:
        return None
    return repr(v)
json.dump({'float': [f(s) for s in spellings],
           'upper_len': [c for c in range(0x110000) if len(chr(c).upper()) != 1 or
                         (0xD800 <= c < 0xE000)],
           'upper_len_n': [len(chr(c).upper()) for c in range(0x110000)
                           if len(chr(c).upper()) != 1],
           'decimal': [[c, int(chr(c))] for c in range(0x110000) if chr(c).isdecimal()]},
          open(sys.argv[2], 'w', encoding='utf-8'))
)PY";

TEST(PythonFloat, MatchesCPython) {
  const auto dir = testing::scratch_dir("python_float");
  testing::write_bytes(dir / "in.json", nlohmann::json(kSpellings).dump());
  ASSERT_EQ(testing::run_python(dir, "ref", kScript,
                                (dir / "in.json").string() + " " + (dir / "ref.json").string()),
            0);
  const nlohmann::json ref = nlohmann::json::parse(testing::read_file(dir / "ref.json"));
  for (size_t i = 0; i < kSpellings.size(); ++i) {
    const std::optional<double> v = python_float(kSpellings[i]);
    const nlohmann::json& want = ref.at("float").at(i);
    if (want.is_null()) {
      EXPECT_FALSE(v.has_value()) << "'" << kSpellings[i] << "'";
    } else {
      ASSERT_TRUE(v.has_value()) << "'" << kSpellings[i] << "'";
      EXPECT_EQ(python_float_repr(*v), want.get<std::string>()) << "'" << kSpellings[i] << "'";
    }
  }
  // Every decimal digit and its value; nothing else is one.
  size_t n = 0;
  for (const auto& d : ref.at("decimal")) {
    EXPECT_EQ(python_decimal_value(d[0].get<char32_t>()), d[1].get<int>());
    ++n;
  }
  size_t ours = 0;
  for (char32_t cp = 0; cp < 0x110000; ++cp) ours += python_decimal_value(cp) >= 0;
  EXPECT_EQ(ours, n);
  // Upper-case lengths of the code points that grow.
  const auto grow = ref.at("upper_len_n").get<std::vector<size_t>>();
  size_t k = 0;
  for (const auto& c : ref.at("upper_len")) {
    const char32_t cp = c.get<char32_t>();
    if (cp >= 0xD800 && cp < 0xE000) continue;  // not encodable in UTF-8
    EXPECT_EQ(python_upper_len(python_from_code_points(std::u32string(1, cp))), grow.at(k++))
        << std::hex << static_cast<uint32_t>(cp);
  }
  EXPECT_EQ(k, grow.size());
}

TEST(PythonFloat, DocumentedExamples) {
  EXPECT_EQ(python_upper_len("stra\u00dfe"), 7u);
  EXPECT_EQ(python_upper_len("\ufb03x"), 4u);
  EXPECT_EQ(python_upper_len("abc"), 3u);
  EXPECT_EQ(python_float("\uff15"), 5.0);
  EXPECT_EQ(python_float("1_000"), 1000.0);
  EXPECT_FALSE(python_float("1,000").has_value());
  EXPECT_TRUE(std::isnan(*python_float("nan")));
}

}  // namespace
}  // namespace vlm
