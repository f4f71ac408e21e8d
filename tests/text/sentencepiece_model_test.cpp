// SentencePieceModel against python sentencepiece 0.1.97 (reference.json of
// make_tokenizer_reference.py).
#include "vlm/text/sentencepiece_model.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/test_paths.h"
#include "vlm/core/error.h"

namespace vlm {
namespace {

using nlohmann::json;

std::filesystem::path tok_dir() {
  return vlm::testing::testdata_dir() / "tokenizer";
}

const json& reference() {
  static const json ref = [] {
    std::ifstream f(tok_dir() / "reference.json");
    return json::parse(f);
  }();
  return ref;
}

TEST(SentencePieceModel, EncodeMatchesPythonSentencepiece) {
  const auto m = SentencePieceModel::load(tok_dir() / "tokenizer.model");
  EXPECT_EQ(m.piece_size(), reference()["vocab_size"].get<int>());
  size_t bad = 0;
  for (const auto& c : reference()["cases"]) {
    const std::string text = c["text"];
    if (m.encode(text) != c["sp_ids"].get<std::vector<int>>()) {
      ADD_FAILURE() << "sp.encode mismatch for " << json(text).dump();
      if (++bad > 10) break;
    }
  }
}

TEST(SentencePieceModel, DecodeMatchesPythonSentencepiece) {
  const auto m = SentencePieceModel::load(tok_dir() / "tokenizer.model");
  for (const auto& c : reference()["sp_decode"]) {
    EXPECT_EQ(m.decode(c["ids"].get<std::vector<int>>()), c["text"].get<std::string>())
        << c["ids"].dump();
  }
  for (const auto& c : reference()["cases"]) {
    EXPECT_EQ(m.decode(c["sp_ids"].get<std::vector<int>>()), c["text"].get<std::string>());
  }
}

TEST(SentencePieceModel, PieceLookup) {
  const auto m = SentencePieceModel::load(tok_dir() / "tokenizer.model");
  EXPECT_EQ(m.piece_to_id("<unk>"), 0);
  EXPECT_EQ(m.piece_to_id("<s>"), 1);
  EXPECT_EQ(m.piece_to_id("<0x0A>"), m.encode("\n").back());
  EXPECT_EQ(m.piece_to_id("no such piece"), std::nullopt);
  EXPECT_EQ(m.id_to_piece(1), "<s>");
}

TEST(SentencePieceModel, RejectsBadFiles) {
  EXPECT_THROW(SentencePieceModel::load(tok_dir() / "missing.model"), UserError);
  EXPECT_THROW(SentencePieceModel::load(tok_dir() / "tokenizer_config.json"), UserError);
}

}  // namespace
}  // namespace vlm
