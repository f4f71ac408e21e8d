// Running the project's executables from tests: a shell command with its output captured.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/read_file.h"

namespace vlm::testing {

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
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

}  // namespace vlm::testing
