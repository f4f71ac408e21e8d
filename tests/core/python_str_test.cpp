// Python str semantics against CPython itself (Debian's python3), over every code point.
#include "vlm/core/python_str.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>

#include "common/python_runner.h"

namespace vlm {
namespace {

std::string utf8(char32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return out;
}

// Every code point but the surrogates, one per line, then words that exercise Final_Sigma,
// U+0130 and whitespace between letters.
std::string corpus() {
  std::string text;
  for (char32_t cp = 0; cp < 0x110000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    text += utf8(cp);
    text += '\n';
  }
  const char* extra[] = {
      "ΟΔΟΣ",
      "ΟΔΟΣ.",
      "Σ",
      "ΑΣΑ",
      "Α'Σ",
      "Α.Σ b",
      "ΑΣ'Α",
      "ΑΣ\u0301",
      "ΑΣ\u0301Α",
      "ΑΣ\u00AD",
      "1Σ",
      "ΑΣ1",
      "İSTANBUL",
      "ǅUNGLA",
      "ΣΑΣ ΣΑΣ",
      "x\u3000y\u00A0z\u200Bw\u2028v\x1Cu\u0085t",
      "A\u180EB\uFEFFC",
      "The answer is\u2003(B).",
  };
  for (const char* e : extra) {
    text += e;
    text += ' ';
  }
  return text;
}

constexpr const char* kScript = R"PY(
import json, sys
text = open(sys.argv[1], encoding='utf-8', newline='').read()
open(sys.argv[2], 'w', encoding='utf-8', newline='').write(text.lower())
json.dump({'split': text.split(), 'len': len(text),
           'space': [c for c in range(0x110000) if chr(c).isspace()]},
          open(sys.argv[3], 'w', encoding='utf-8'), ensure_ascii=False)
)PY";

TEST(PythonStr, MatchesCPythonOnEveryCodePoint) {
  const auto dir = testing::scratch_dir("python_str");
  const std::string text = corpus();
  testing::write_bytes(dir / "in.txt", text);
  ASSERT_EQ(testing::run_python(dir, "ref", kScript,
                                (dir / "in.txt").string() + " " + (dir / "lower.txt").string() +
                                    " " + (dir / "ref.json").string()),
            0);
  const std::string expected_lower = testing::read_file(dir / "lower.txt");
  const nlohmann::json ref = nlohmann::json::parse(testing::read_file(dir / "ref.json"));

  const std::string lower = python_lower(text);
  ASSERT_EQ(lower.size(), expected_lower.size());
  EXPECT_TRUE(lower == expected_lower);
  if (lower != expected_lower) {  // show the first difference only
    std::size_t i = 0;
    while (lower[i] == expected_lower[i]) ++i;
    ADD_FAILURE() << "first difference at byte " << i;
  }

  const std::vector<std::string> split = python_split(text);
  const auto expected_split = ref.at("split").get<std::vector<std::string>>();
  ASSERT_EQ(split.size(), expected_split.size());
  EXPECT_TRUE(split == expected_split);

  EXPECT_EQ(python_len(text), ref.at("len").get<std::size_t>());

  std::vector<char32_t> spaces;
  for (char32_t cp = 0; cp < 0x110000; ++cp) {
    if (python_isspace(cp)) spaces.push_back(cp);
  }
  const auto expected_spaces = ref.at("space").get<std::vector<std::uint32_t>>();
  EXPECT_EQ(std::vector<std::uint32_t>(spaces.begin(), spaces.end()), expected_spaces);
}

TEST(PythonStr, InvalidBytesAreKeptLikeSurrogateEscape) {
  const std::string bad = "AB\xFF\xC3(\xE2\x82 c";
  EXPECT_EQ(python_lower(bad), "ab\xFF\xC3(\xE2\x82 c");
  EXPECT_EQ(python_len(bad), 9u);
  EXPECT_EQ(python_split(bad), (std::vector<std::string>{"AB\xFF\xC3(\xE2\x82", "c"}));
}

TEST(PythonStr, DocumentedExamples) {
  EXPECT_EQ(python_lower("İ"), "i\u0307");  // the one lower() that grows
  EXPECT_EQ(python_lower("ΟΔΟΣ"), "οδος");
  EXPECT_EQ(python_lower("ΣΑ"), "σα");
  EXPECT_EQ(python_split("  a\tb\r\nc\x0B\x0C"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(python_split(""), std::vector<std::string>{});
  EXPECT_EQ(python_len("日本"), 2u);
}

}  // namespace
}  // namespace vlm
