// Runs a reference Python script (Debian's python3) for the eval tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/read_file.h"
#include "common/test_paths.h"

namespace vlm::testing {

// A fresh directory under the test data root for one test.
inline std::filesystem::path scratch_dir(const std::string& name) {
  const auto dir = testdata_dir() / "eval" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// Writes `script` to dir/name.py and runs it with `args`; returns its exit status.
inline int run_python(const std::filesystem::path& dir, const std::string& name,
                      const std::string& script, const std::string& args) {
  const auto path = dir / (name + ".py");
  write_bytes(path, script);
  const std::string cmd = python() + " " + path.string() + " " + args;
  return std::system(cmd.c_str());
}

}  // namespace vlm::testing
