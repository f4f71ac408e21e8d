// Running the project's executables from tests: a shell command with its output captured.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace vlm::testing {

// A file's bytes ("" when it cannot be read).
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What a command gave: its exit code (-1 when it did not exit), stdout and stderr.
struct Result {
  int rc = -1;
  std::string out;
  std::string err;
};

// Runs `cmd` through the shell with stdout and stderr captured in files under `scratch`.
inline Result sh(const std::string& cmd, const std::filesystem::path& scratch) {
  const std::filesystem::path out = scratch / "stdout.txt", err = scratch / "stderr.txt";
  const int status = std::system((cmd + " >" + out.string() + " 2>" + err.string()).c_str());
  Result r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

}  // namespace vlm::testing
