// Inputs that crashed or exhausted memory in the tokenizer.json reader under libFuzzer
// (fuzz/regressions/bpe_tokenizer_fuzzer/), replayed through BpeTokenizer as the fuzz target
// loads them: each must be a UserError naming the file, never another exception or an allocation
// sized by the input.
#include "common/fuzz_regressions.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "vlm/core/error.h"
#include "vlm/text/bpe_tokenizer.h"

namespace vlm {
namespace {

// A vocabulary id of 777777254 sized the dense id -> token table at 25 GB (libFuzzer: OOM).
TEST(BpeTokenizerFuzzRegressions, EachIsAUserErrorNamingTheFile) {
  testing::expect_each_regression_is_a_user_error_naming_the_file(
      "bpe_tokenizer_fuzzer", [](const std::filesystem::path& file) {
        TokenizerSpec spec;
        spec.kind = TokenizerKind::kBpe;
        spec.file = file;
        spec.add_bos = false;
        const BpeTokenizer tok(spec);
      });
}

}  // namespace
}  // namespace vlm
