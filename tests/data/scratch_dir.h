// Reading a test's file back, and running Debian's python3 on a snippet in a ScratchDir.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "common/read_file.h"
#include "common/scratch_dir.h"
#include "common/test_paths.h"

namespace vlm::testing {

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
