// Paths the test executables are built with (see tests/CMakeLists.txt).
#pragma once

#include <filesystem>
#include <string>

namespace vlm::testing {

// Root of the data the CTest fixtures make (tiny model, Pillow and sentencepiece references).
inline std::filesystem::path testdata_dir() {
  return VLM_TESTDATA_DIR;
}
// The source checkout (configs/, scripts/).
inline std::filesystem::path source_dir() {
  return VLM_SOURCE_DIR;
}
// Debian's python3, for tests that call a script.
inline std::string python() {
  return VLM_PYTHON;
}
// Where `run` and `generate` are built.
inline std::filesystem::path bin_dir() {
  return VLM_BIN_DIR;
}
// The tiny exported InternVL2 (made by the tiny_model fixture).
inline std::filesystem::path tiny_model_dir() {
  return testdata_dir() / "models" / "InternVL2-tiny";
}

// Config-only manifests of the real InternVL2 sizes (made by the size_manifests fixture):
// size_manifests_dir() / "InternVL2-8B" / "manifest.json".
inline std::filesystem::path size_manifests_dir() {
  return testdata_dir() / "size_manifests";
}

}  // namespace vlm::testing
