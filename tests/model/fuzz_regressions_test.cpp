// Inputs that crashed or misbehaved in the manifest reader (fuzz/regressions/manifest_fuzzer/),
// replayed through parse_manifest_json, the fuzz target's entry point: each must be a UserError
// naming the file, never another exception, a signal or undefined behaviour.
#include <gtest/gtest.h>

#include "common/fuzz_regressions.h"
#include "vlm/core/error.h"
#include "vlm/model/manifest.h"

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

}  // namespace
}  // namespace vlm
