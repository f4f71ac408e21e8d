// A run folder as the tests of `run` read it: where it is, and its record file's lines.
#pragma once

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "common/shell.h"

namespace vlm::testing {

// The only run folder under {work}/{model} (empty when there is none).
inline std::filesystem::path run_folder(const std::filesystem::path& work,
                                        const std::string& model) {
  for (const auto& e : std::filesystem::directory_iterator(work / model))
    if (e.is_directory()) return e.path();
  return {};
}

// The record file's lines without their "times_ms" (the one field that differs between any two
// runs), byte for byte otherwise, in file order.
inline std::vector<std::string> records_without_times(const std::filesystem::path& file) {
  static const std::regex kTimes(R"(,"times_ms":\{[^}]*\})");
  std::vector<std::string> lines;
  std::istringstream in(read_file(file));
  for (std::string line; std::getline(in, line);)
    lines.push_back(std::regex_replace(line, kTimes, ""));
  return lines;
}

}  // namespace vlm::testing
