// Inputs that crashed the dataset config reader under libFuzzer
// (fuzz/regressions/dataset_spec_fuzzer/), replayed through load_dataset_spec as the fuzz target
// calls it: each must be a UserError naming the file, never another exception.
#include "common/fuzz_regressions.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "vlm/data/dataset_spec.h"

namespace vlm {
namespace {

// A mapping used as a key (`? ? f?`) threw YAML::TypedBadConversion<std::string>.
TEST(DatasetSpecFuzzRegressions, EachIsAUserErrorNamingTheFile) {
  testing::expect_each_regression_is_a_user_error_naming_the_file(
      "dataset_spec_fuzzer",
      [](const std::filesystem::path& file) { (void)load_dataset_spec(file); });
}

}  // namespace
}  // namespace vlm
