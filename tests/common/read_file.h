// A test's file read back whole, as bytes (empty when it cannot be opened).
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace vlm::testing {

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace vlm::testing
