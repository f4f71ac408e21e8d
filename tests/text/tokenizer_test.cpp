// The sentencepiece tokenizer against python sentencepiece + a port of HF's slow tokenizer
// (scripts/fixtures/make_tokenizer_reference.py, fixture tokenizer_reference).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/test_paths.h"
#include "vlm/core/error.h"
#include "vlm/text/sentencepiece_tokenizer.h"
#include "vlm/text/tokenizer_spec.h"

namespace vlm {
namespace {

using nlohmann::json;

std::filesystem::path tok_dir() {
  return vlm::testing::testdata_dir() / "tokenizer";
}

json read_json(const std::filesystem::path& p) {
  std::ifstream f(p);
  EXPECT_TRUE(f.good()) << p;
  return json::parse(f);
}

// The manifest "tokenizer" object as the exporter builds it from the HF files: every entry of
// added_tokens_decoder is an added token; skip ids = bos/eos/unk/pad + additional_special_tokens.
json spec_json_from_hf_files(const std::filesystem::path& dir) {
  const json config = read_json(dir / "tokenizer_config.json");
  const json special = read_json(dir / "special_tokens_map.json");
  json added = json::array();
  std::map<std::string, int64_t> ids;
  for (const auto& [key, value] : config["added_tokens_decoder"].items()) {
    const int64_t id = std::stoll(key);
    ids[value["content"].get<std::string>()] = id;
    added.push_back({{"id", id}, {"content", value["content"]}, {"special", value["special"]}});
  }
  json skip = json::array();
  for (const char* name : {"bos_token", "eos_token", "unk_token", "pad_token"}) {
    skip.push_back(ids.at(special[name].get<std::string>()));
  }
  for (const auto& t : special["additional_special_tokens"]) skip.push_back(ids.at(t));
  return {{"kind", "sentencepiece"},
          {"file", "tokenizer.model"},
          {"add_bos", config["add_bos_token"]},
          {"bos_id", ids.at(special["bos_token"])},
          {"eos_id", ids.at(special["eos_token"])},
          {"unk_id", ids.at(special["unk_token"])},
          {"pad_id", ids.at(special["pad_token"])},
          {"added_tokens", added},
          {"skip_ids", skip}};
}

const json& reference() {
  static const json ref = read_json(tok_dir() / "reference.json");
  return ref;
}

std::unique_ptr<Tokenizer> load(bool clean_up = false) {
  json j = spec_json_from_hf_files(tok_dir());
  if (clean_up) j["clean_up_tokenization"] = true;
  return make_tokenizer(TokenizerSpec::from_json(j, tok_dir()));
}

std::vector<int64_t> ids_of(const json& c) {
  return c["ids"].get<std::vector<int64_t>>();
}

TEST(SentencePieceTokenizer, ReferenceHasEnoughCases) {
  EXPECT_GE(reference()["cases"].size(), 600u);
}

TEST(SentencePieceTokenizer, EncodeMatchesHfSlowReference) {
  const auto tok = load();
  size_t bad = 0;
  for (const auto& c : reference()["cases"]) {
    const std::string text = c["text"];
    const auto got = tok->encode(text);
    if (got != ids_of(c)) {
      ADD_FAILURE() << "encode mismatch for " << json(text).dump();
      if (++bad > 10) break;
    }
  }
}

TEST(SentencePieceTokenizer, DecodeMatchesReference) {
  const auto tok = load();
  for (const auto& c : reference()["cases"]) {
    const auto ids = ids_of(c);
    EXPECT_EQ(tok->decode(ids, true), c["decoded"].get<std::string>()) << c["text"].dump();
    EXPECT_EQ(tok->decode(ids, false), c["decoded_all"].get<std::string>()) << c["text"].dump();
  }
}

TEST(SentencePieceTokenizer, DecodeWithCleanUpMatchesTransformersInternLM2) {
  const auto tok = load(/*clean_up=*/true);
  size_t differs_from_plain = 0;
  for (const auto& c : reference()["cases"]) {
    EXPECT_EQ(tok->decode(ids_of(c), true), c["decoded_hf"].get<std::string>()) << c["text"].dump();
    differs_from_plain += c["decoded_hf"] != c["decoded"];
  }
  EXPECT_GT(differs_from_plain, 0u);  // the reference does exercise clean_up_tokenization
}

// The dummy prefix "▁" sentencepiece adds to each chunk is removed again when each run is decoded,
// so leading spaces, whitespace-only strings and byte-fallback characters all survive.
TEST(SentencePieceTokenizer, DecodeInvertsEncode) {
  const auto tok = load();
  for (const auto& c : reference()["cases"]) {
    const std::string text = c["text"];
    ASSERT_TRUE(c["roundtrip"].get<bool>()) << "python reference: " << json(text).dump();
    auto ids = tok->encode(text);
    if (!c["has_special"].get<bool>()) {
      EXPECT_EQ(tok->decode(ids, true), text);
    }
    ids.erase(ids.begin());  // the BOS
    EXPECT_EQ(tok->decode(ids, false), text);
  }
  EXPECT_EQ(tok->decode(tok->encode(" hello"), true), " hello");
  EXPECT_EQ(tok->decode(tok->encode("  "), true), "  ");
}

TEST(SentencePieceTokenizer, SkipSpecialDropsSpecialTokens) {
  const auto tok = load();
  const std::vector<std::string> specials = {"<s>",        "</s>",  "<unk>",         "<|im_start|>",
                                             "<|im_end|>", "<img>", "<IMG_CONTEXT>", "</img>"};
  std::vector<int64_t> ids;
  for (const auto& s : specials) ids.push_back(tok->token_to_id(s).value());
  EXPECT_EQ(tok->decode(ids, true), "");
  std::string all;
  for (const auto& s : specials) all += s;
  EXPECT_EQ(tok->decode(ids, false), all);

  const auto prompt = tok->encode("<|im_start|>assistant\nB<|im_end|><img><IMG_CONTEXT></img>");
  const std::string decoded = tok->decode(prompt, true);
  EXPECT_EQ(decoded.find('<'), std::string::npos) << decoded;
  EXPECT_NE(decoded.find("assistant"), std::string::npos) << decoded;
}

TEST(SentencePieceTokenizer, TokenIdsFromHfFiles) {
  const auto tok = load();
  const json config = read_json(tok_dir() / "tokenizer_config.json");
  for (const auto& [key, value] : config["added_tokens_decoder"].items()) {
    EXPECT_EQ(tok->token_to_id(value["content"]), std::stoll(key)) << value["content"];
  }
  EXPECT_EQ(tok->token_to_id("definitely-not-a-piece"), std::nullopt);
  const json added = read_json(tok_dir() / "added_tokens.json");
  int64_t max_id = 0;
  for (const auto& [k, v] : added.items()) max_id = std::max<int64_t>(max_id, v);
  const int64_t pieces = reference()["vocab_size"].get<int64_t>();  // python sp.get_piece_size()
  EXPECT_EQ(tok->vocab_size(), std::max(pieces, max_id + 1));
}

TEST(SentencePieceTokenizer, SplitOnAddedTokensLongestFirst) {
  json j = spec_json_from_hf_files(tok_dir());
  j["added_tokens"].push_back({{"id", 2000}, {"content", "<img"}, {"special", false}});
  SentencePieceTokenizer tok(TokenizerSpec::from_json(j, tok_dir()));
  const std::vector<std::string> want = {"a", "<img>", "<img", "b", "</img>"};
  EXPECT_EQ(tok.split_added_tokens("a<img><imgb</img>"), want);
  // A non-skipped added token is written literally by decode(skip_special=true).
  EXPECT_EQ(tok.decode(tok.encode("x<imgy"), true), "x<imgy");
}

TEST(SentencePieceTokenizer, DecodeRejectsUnknownIds) {
  const auto tok = load();
  EXPECT_THROW(tok->decode({5000}, true), UserError);
  EXPECT_THROW(tok->decode({-1}, true), UserError);
}

// The tokenizer of the real-size presets (make_tiny_checkpoint.py --preset): the same model padded
// with filler pieces to 92544 pieces, the InternVL tokens at 92544..92552
// (tiny_tokenizer.pad_model). Every id of the head decodes, as python sentencepiece decodes it, and
// text encodes as before.
TEST(SentencePieceTokenizer, PaddedPresetTokenizerCoversTheHead) {
  const std::filesystem::path dir = tok_dir() / "padded";
  const json padded = read_json(dir / "padded.json");
  const auto tok = make_tokenizer(TokenizerSpec::from_json(spec_json_from_hf_files(dir), dir));
  const int64_t total = padded["total_vocab"].get<int64_t>();
  ASSERT_EQ(tok->vocab_size(), total);
  EXPECT_EQ(padded["vocab_size"].get<int64_t>(), total - 9);
  EXPECT_EQ(tok->token_to_id("<img>"), total - 9);
  EXPECT_EQ(tok->token_to_id("</box>"), total - 1);
  size_t empty = 0;
  for (int64_t id = 0; id < total; ++id) empty += tok->decode({id}, false).empty();
  EXPECT_LT(empty, 10u);  // only the control pieces (<unk> is its surface; <s>, </s> nothing)
  EXPECT_THROW(tok->decode({total}, false), UserError);
  // Python sentencepiece's decode of ids [1000k, 1000k + 1000) (block 0 holds the chat tokens,
  // which this tokenizer writes as added tokens: decoded in runs, not as one).
  const auto& blocks = padded["blocks"];
  ASSERT_EQ(static_cast<int64_t>(blocks.size()), (total - 9 + 999) / 1000);
  for (size_t b = 1; b < blocks.size(); ++b) {
    std::vector<int64_t> ids;
    for (int64_t id = 1000 * static_cast<int64_t>(b);
         id < std::min<int64_t>(total - 9, 1000 * (b + 1)); ++id)
      ids.push_back(id);
    EXPECT_EQ(tok->decode(ids, false), blocks[b].get<std::string>()) << "block " << b;
  }
  // Text encodes to the unpadded tokenizer's ids (its InternVL tokens moved from past its 1000
  // pieces to past the padded ones), here and in python sentencepiece.
  const int64_t plain_pieces = reference()["vocab_size"].get<int64_t>();
  const auto& cases = reference()["cases"];
  ASSERT_EQ(cases.size(), padded["sp_ids"].size());
  size_t bad = 0, moved = 0;
  for (size_t i = 0; i < cases.size() && bad < 10; ++i) {
    const json& c = cases[i];
    std::vector<int64_t> want = ids_of(c);
    for (int64_t& id : want) {
      if (id >= plain_pieces) {
        id += total - 9 - plain_pieces;
        ++moved;
      }
    }
    if (tok->encode(c["text"].get<std::string>()) != want) {
      ADD_FAILURE() << "padded encode differs for " << c["text"].dump();
      ++bad;
    }
    EXPECT_EQ(padded["sp_ids"][i], c["sp_ids"]) << c["text"].dump();
  }
  EXPECT_GT(moved, 0u);
}

TEST(TokenizerSpec, ErrorsNameTheField) {
  const json good = spec_json_from_hf_files(tok_dir());
  auto message = [&](const json& j) -> std::string {
    try {
      TokenizerSpec::from_json(j, tok_dir());
    } catch (const UserError& e) {
      return e.what();
    }
    return "no error";
  };
  json j = good;
  j.erase("bos_id");
  EXPECT_EQ(message(j), "manifest.json: tokenizer.bos_id missing");
  j = good;
  j["kind"] = "wordpiece";
  EXPECT_NE(message(j).find("tokenizer.kind"), std::string::npos);
  j = good;
  j["file"] = "nope.model";
  EXPECT_NE(message(j).find("nope.model"), std::string::npos);
  j = good;
  j["eos_id"] = "2";
  EXPECT_NE(message(j).find("tokenizer.eos_id must be an integer"), std::string::npos);
  j = good;
  j["added_tokens"][0].erase("content");
  EXPECT_EQ(message(j), "manifest.json: tokenizer.added_tokens[0].content missing");
  j = good;
  j["add_bos"] = true;
  j["bos_id"] = nullptr;
  EXPECT_NE(message(j).find("bos_id is null"), std::string::npos);
  j = good;
  j["skip_ids"].push_back(99999);
  EXPECT_THROW(make_tokenizer(TokenizerSpec::from_json(j, tok_dir())), UserError);
}

}  // namespace
}  // namespace vlm
