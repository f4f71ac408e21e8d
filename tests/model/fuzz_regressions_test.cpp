// Inputs that crashed or misbehaved in the model area's readers (fuzz/regressions/<target>/),
// replayed through the fuzz targets' entry points: each must be a UserError naming the file, never
// another exception, a signal or undefined behaviour.
#include "common/fuzz_regressions.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "vlm/core/error.h"
#include "vlm/model/manifest.h"
#include "vlm/model/placement_config.h"

namespace vlm {
namespace {

TEST(ManifestFuzzRegressions, EachIsAUserErrorNamingTheFile) {
  const auto inputs = testing::fuzz_regressions("manifest_fuzzer");
  ASSERT_FALSE(inputs.empty());
  for (const auto& [name, text] : inputs) {
    try {
      parse_manifest_json(text, "/models/x", "regression/" + name);
      ADD_FAILURE() << name << ": accepted";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("regression/" + name), std::string::npos) << e.what();
    }
  }
}

// YAML mappings used as keys (`? [a, b]: x`, at the top level and in pin) threw
// YAML::TypedBadConversion<std::string> out of the placement reader.
TEST(PlacementConfigFuzzRegressions, EachIsAUserErrorNamingTheFile) {
  namespace fs = std::filesystem;
  const auto inputs = testing::fuzz_regressions("placement_config_fuzzer");
  ASSERT_FALSE(inputs.empty());
  const fs::path dir =
      fs::temp_directory_path() / ("vlm_placement_fuzz_regressions_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const auto& [name, text] : inputs) {
    const fs::path file = dir / name;
    std::ofstream(file, std::ios::binary) << text;
    try {
      (void)load_placement_config(file);
      ADD_FAILURE() << name << ": accepted";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vlm
