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
namespace fs = std::filesystem;

// A vocabulary id of 777777254 sized the dense id -> token table at 25 GB (libFuzzer: OOM).
TEST(BpeTokenizerFuzzRegressions, EachIsAUserErrorNamingTheFile) {
  const auto inputs = testing::fuzz_regressions("bpe_tokenizer_fuzzer");
  ASSERT_FALSE(inputs.empty());
  const fs::path dir =
      fs::temp_directory_path() / ("vlm_bpe_fuzz_regressions_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const auto& [name, text] : inputs) {
    const fs::path file = dir / name;
    std::ofstream(file, std::ios::binary) << text;
    TokenizerSpec spec;
    spec.kind = TokenizerKind::kBpe;
    spec.file = file;
    spec.add_bos = false;
    try {
      const BpeTokenizer tok(spec);
      ADD_FAILURE() << name << ": accepted";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vlm
