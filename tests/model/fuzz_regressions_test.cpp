// Inputs that crashed or misbehaved in the model area's readers (fuzz/regressions/<target>/),
// replayed through the fuzz targets' entry points: each must be a UserError naming the file, never
// another exception, a signal or undefined behaviour.
#include "common/fuzz_regressions.h"

#include <gtest/gtest.h>

#include <filesystem>

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
  testing::expect_each_regression_is_a_user_error_naming_the_file(
      "placement_config_fuzzer",
      [](const std::filesystem::path& file) { (void)load_placement_config(file); });
}

}  // namespace
}  // namespace vlm
