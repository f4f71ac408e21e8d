// Paths the test executables are built with (see tests/CMakeLists.txt).
#pragma once

#include <unistd.h>

#include <cstdlib>
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
// The name a test parameterised by a tiny model directory's name ("InternVL2-tiny-phi3") gets:
// "tiny_phi3" (INSTANTIATE_TEST_SUITE_P's name generator).
inline std::string tiny_family_name(const std::string& model) {
  std::string n = model.substr(model.find("tiny"));
  for (char& ch : n)
    if (ch == '-') ch = '_';
  return n;
}

// A fresh data root `{tmp}/{prefix}{pid}` (ctest runs tests in parallel processes) whose LMUData/
// holds scripts/fixtures/make_demo_data.py's RealWorldQA.tsv: 5 demo items, then an undecodable
// image, a missing question and a question of 5000 words (past the text budget of the KV cache).
// Returns the root, or an empty path when the script failed.
inline std::filesystem::path make_bad_rows_data_root(const std::string& prefix) {
  const std::filesystem::path root =
      std::filesystem::temp_directory_path() / (prefix + std::to_string(getpid()));
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root / "LMUData");
  const std::string cmd =
      python() + " " + (source_dir() / "scripts/fixtures/make_demo_data.py").string() + " --out " +
      (root / "LMUData").string() + " --name RealWorldQA --n 5 --bad-rows --long-question 5000";
  if (std::system(cmd.c_str()) != 0) return {};
  return root;
}

// Config-only manifests of the real InternVL2 sizes (made by the size_manifests fixture):
// size_manifests_dir() / "InternVL2-8B" / "manifest.json".
inline std::filesystem::path size_manifests_dir() {
  return testdata_dir() / "size_manifests";
}

}  // namespace vlm::testing
