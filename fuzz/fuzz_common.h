// Shared helpers of the libFuzzer targets: what an acceptable outcome is, and scratch files for
// parsers that only read from a path.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "vlm/core/error.h"

namespace vlm::fuzz {

// The bytes libFuzzer hands over, as a string.
inline std::string as_string(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// A per-process scratch folder (under $TMPDIR or /tmp) for parsers that take a path.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::filesystem::path d = std::filesystem::path(tmp && *tmp ? tmp : "/tmp") /
                              ("vlm-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

// Writes `text` to scratch_dir()/name and returns the path.
inline std::filesystem::path write_scratch(const std::string& name, const std::string& text) {
  const std::filesystem::path p = scratch_dir() / name;
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
  return p;
}

}  // namespace vlm::fuzz

// A parser under fuzzing may only reject its input with a vlm::Error (UserError: the input's
// fault, with a message). Any other exception escapes to libFuzzer, which reports it as a crash
// ("deadly signal" after std::terminate): a bug to fix.
#define VLM_FUZZ_ACCEPT(...)          \
  try {                               \
    __VA_ARGS__;                      \
  } catch (const vlm::UserError&) {   \
  }
