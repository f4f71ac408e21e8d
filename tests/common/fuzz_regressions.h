// The inputs committed under fuzz/regressions/<target>/ (crashes the fuzzers found, after the fix),
// for the gtests that replay them through the same entry point as the fuzz target.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/test_paths.h"

namespace vlm::testing {

// (file name, bytes) of every regression input of `target`, sorted by name.
inline std::vector<std::pair<std::string, std::string>> fuzz_regressions(const std::string& target) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::filesystem::path dir = source_dir() / "fuzz" / "regressions" / target;
  if (!std::filesystem::is_directory(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    out.emplace_back(e.path().filename().string(), s.str());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace vlm::testing
