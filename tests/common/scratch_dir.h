// Temporary folders for tests: ScratchDir, a fresh folder of its own (mkdtemp, so unique across
// the parallel processes ctest runs) removed when it goes out of scope; and ScratchDirTest, a
// fixture with one made before each test and removed after it.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

namespace vlm::testing {

class ScratchDir {
 public:
  ScratchDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "vlm_test_XXXXXX").string();
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

class ScratchDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    scratch_.emplace();
    dir_ = scratch_->path();
  }
  void TearDown() override { scratch_.reset(); }
  // Writes `text` to the file `name` in the folder; returns its path.
  std::filesystem::path write(const std::string& name, const std::string& text) {
    return scratch_->write(name, text);
  }
  std::filesystem::path dir_;

 private:
  std::optional<ScratchDir> scratch_;
};

}  // namespace vlm::testing
