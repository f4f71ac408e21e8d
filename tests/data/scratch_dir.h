// A fresh temporary folder per test, removed afterwards; and a helper to run Debian's python3.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "common/test_paths.h"

namespace vlm::testing {

class ScratchDir {
 public:
  ScratchDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "vlm_data_XXXXXX").string();
    if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `bytes` to path()/name and returns the full path.
  std::filesystem::path write(const std::string& name, const std::string& bytes) const {
    const auto p = path_ / name;
    std::ofstream out(p, std::ios::binary);
    out << bytes;
    return p;
  }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a Python snippet (in a file under `dir`) with Debian's python3; returns its stdout, or
// throws when it fails.
inline std::string run_python(const ScratchDir& dir, const std::string& code,
                              const std::string& args = "") {
  const auto script = dir.write("snippet.py", code);
  const auto out = dir.path() / "snippet.out";
  const std::string cmd = python() + " " + script.string() + " " + args + " > " + out.string();
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("python failed: " + cmd);
  return read_file(out);
}

}  // namespace vlm::testing
