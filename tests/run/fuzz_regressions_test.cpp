// Inputs that crashed the run area's parsers under libFuzzer (fuzz/regressions/<target>/),
// replayed through the fuzz targets' entry points: each must be a UserError naming the file,
// never another exception or a signal.
#include "common/fuzz_regressions.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "vlm/core/error.h"
#include "vlm/results/record_file.h"
#include "vlm/run/model_config.h"
#include "vlm/run/run_config_file.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;

fs::path scratch(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("vlm_run_fuzz_regressions_" + std::to_string(::getpid())) / name;
  fs::create_directories(dir);
  return dir;
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// A model config that is a YAML scalar (not a mapping) threw YAML::BadSubscript.
TEST(ModelConfigFuzzRegressions, EachIsAUserErrorNamingTheFile) {
  const auto inputs = testing::fuzz_regressions("model_config_fuzzer");
  ASSERT_FALSE(inputs.empty());
  for (const auto& [name, text] : inputs) {
    const fs::path dir = scratch("models_" + name);
    write(dir / "fuzz.yaml", text);
    try {
      (void)load_model_config("fuzz", dir);
      ADD_FAILURE() << name << ": accepted";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("fuzz.yaml"), std::string::npos) << e.what();
    }
  }
}

// A record line with a number out of double's range threw json::out_of_range; an output id of
// 5e108 was cast to int64_t (undefined behaviour).
TEST(RecordFileFuzzRegressions, EachIsAUserErrorNamingTheFile) {
  testing::expect_each_regression_is_a_user_error_naming_the_file(
      "record_file_fuzzer", [](const fs::path& file) { (void)RecordFile::read(file); });
}

// A --config JSON with a number out of double's range threw json::out_of_range (406).
TEST(RunConfigFuzzRegressions, EachIsAUserErrorNamingTheFile) {
  testing::expect_each_regression_is_a_user_error_naming_the_file(
      "run_config_fuzzer", [](const fs::path& file) {
        RunOptions o;
        o.configs_dir = testing::source_dir() / "configs";
        apply_run_config_file(file, o);
      });
}

}  // namespace
}  // namespace vlm
