// The inputs committed under fuzz/regressions/<target>/ (crashes the fuzzers found, after the fix),
// for the gtests that replay them through the same entry point as the fuzz target.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/test_paths.h"
#include "vlm/core/error.h"

namespace vlm::testing {

// (file name, bytes) of every regression input of `target`, sorted by name.
inline std::vector<std::pair<std::string, std::string>> fuzz_regressions(
    const std::string& target) {
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

// Writes each regression input of `target` to a scratch file under its own name and loads it with
// `load`: each must throw a UserError whose message names that file (by its file name), and no
// other exception may escape. At least one input must exist.
inline void expect_each_regression_is_a_user_error_naming_the_file(
    const std::string& target, const std::function<void(const std::filesystem::path&)>& load) {
  namespace fs = std::filesystem;
  const auto inputs = fuzz_regressions(target);
  ASSERT_FALSE(inputs.empty()) << "no inputs under fuzz/regressions/" << target;
  const fs::path dir = fs::temp_directory_path() /
                       ("vlm_fuzz_regressions_" + target + "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const auto& [name, text] : inputs) {
    const fs::path file = dir / name;
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
    try {
      load(file);
      ADD_FAILURE() << target << "/" << name << ": accepted";
    } catch (const vlm::UserError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
  fs::remove_all(dir);
}

}  // namespace vlm::testing
