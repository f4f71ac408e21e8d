// A run's record file as tests compare it: its lines without "times_ms".
#pragma once

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "common/shell.h"

namespace vlm::testing {

// The record file's lines without their "times_ms" (the one field that differs between any two
// runs), byte for byte otherwise, in file order.
inline std::vector<std::string> records_without_times(const std::filesystem::path& file) {
  static const std::regex kTimes(R"(,"times_ms":\{[^}]*\})");
  std::vector<std::string> lines;
  std::istringstream in(slurp(file));
  for (std::string line; std::getline(in, line);)
    lines.push_back(std::regex_replace(line, kTimes, ""));
  return lines;
}

}  // namespace vlm::testing
