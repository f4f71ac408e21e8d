// The byte-level BPE tokenizer against transformers.js (@lenml/tokenizers) on the real Llama 3 and
// Qwen tokenizer.json files (scripts/fixtures/bpe_reference/make.sh, fixture tokenizer_reference),
// and against hand-computed ids on tiny tokenizer.json files written here.
#include "vlm/text/bpe_tokenizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/test_paths.h"
#include "common/user_error.h"
#include "vlm/core/error.h"
#include "vlm/text/tokenizer_spec.h"

namespace vlm {
namespace {

using nlohmann::json;

std::filesystem::path ref_dir() {
  return vlm::testing::testdata_dir() / "bpe";
}

json read_json(const std::filesystem::path& p) {
  std::ifstream f(p);
  if (!f.good()) throw std::runtime_error("cannot read " + p.string());
  return json::parse(f);
}

// C-style escaping, for readable failure messages.
std::string escaped(const std::string& s) {
  std::ostringstream o;
  for (unsigned char c : s) {
    if (c == '\n')
      o << "\\n";
    else if (c == '\t')
      o << "\\t";
    else if (c == '\r')
      o << "\\r";
    else if (c < 0x20 || c == 0x7F)
      o << "\\x" << std::hex << static_cast<int>(c) << std::dec;
    else
      o << c;
  }
  return o.str();
}

std::string ids_str(const std::vector<int64_t>& ids) {
  std::string s = "[";
  for (size_t k = 0; k < ids.size(); ++k) s += (k ? ", " : "") + std::to_string(ids[k]);
  return s + "]";
}

// One reference variant: the manifest block the exporter's code wrote, its tokenizer, Node's ids.
struct Variant {
  json section;  // {"tokenizer", "special_tokens", "stop_ids"} from internvl2_export/tokenizer.py
  TokenizerSpec spec;
  std::unique_ptr<Tokenizer> tokenizer;
  std::vector<std::vector<int64_t>> ids;
};

const std::vector<std::string>& strings(bool nfc = false) {
  static const std::vector<std::string> raw =
      read_json(ref_dir() / "strings.json").get<std::vector<std::string>>();
  static const std::vector<std::string> normalized =
      read_json(ref_dir() / "strings_nfc.json").get<std::vector<std::string>>();
  return nfc ? normalized : raw;
}

const Variant& variant(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Variant>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[name];
  if (!slot) {
    auto v = std::make_unique<Variant>();
    const auto dir = ref_dir() / name;
    v->section = read_json(dir / "tokenizer_section.json");
    v->spec = TokenizerSpec::from_json(v->section["tokenizer"], dir);
    v->tokenizer = make_tokenizer(v->spec);
    v->ids = read_json(dir / "reference.json")["ids"].get<std::vector<std::vector<int64_t>>>();
    slot = std::move(v);
  }
  return *slot;
}

class NodeReference : public ::testing::TestWithParam<std::string> {};

TEST_P(NodeReference, EncodeGivesTransformersJsIds) {
  const Variant& v = variant(GetParam());
  const auto& texts = strings();
  ASSERT_EQ(texts.size(), v.ids.size());
  ASSERT_GE(texts.size(), 1000u);
  size_t same = 0;
  int shown = 0;
  for (size_t k = 0; k < texts.size(); ++k) {
    const std::vector<int64_t> got = v.tokenizer->encode(texts[k]);
    if (got == v.ids[k]) {
      ++same;
    } else if (shown++ < 5) {
      ADD_FAILURE() << GetParam() << " string " << k << " \"" << escaped(texts[k])
                    << "\"\n  C++:  " << ids_str(got) << "\n  Node: " << ids_str(v.ids[k]);
    }
  }
  std::cout << GetParam() << ": " << same << " of " << texts.size()
            << " strings encode to the transformers.js ids\n";
  RecordProperty("identical", static_cast<int>(same));
  EXPECT_EQ(same, texts.size());
}

// decode(encode(s)) == s (== NFC(s) under Qwen's NFC normalizer), special tokens kept, without the
// BOS the post-processor adds and without transformers' clean-up. Strings with the test token
// <|strip|> (lstrip and rstrip: it swallows the whitespace around it) are left out.
TEST_P(NodeReference, DecodeInvertsEncode) {
  const Variant& v = variant(GetParam());
  TokenizerSpec spec = v.spec;
  spec.clean_up_tokenization = false;
  std::unique_ptr<Tokenizer> own;  // a second load only where the manifest asks for clean-up
  if (v.spec.clean_up_tokenization) own = make_tokenizer(spec);
  const Tokenizer* tok = own ? own.get() : v.tokenizer.get();
  const bool nfc = GetParam().rfind("qwen", 0) == 0;
  const auto& texts = strings();
  const auto& expected = strings(nfc);
  size_t same = 0, stripped = 0;
  for (size_t k = 0; k < texts.size(); ++k) {
    if (texts[k].find("<|strip|>") != std::string::npos && spec.added_tokens.size() > 0 &&
        tok->token_to_id("<|strip|>").has_value()) {
      ++stripped;
      continue;
    }
    std::vector<int64_t> ids = tok->encode(texts[k]);
    if (spec.add_bos) {
      ASSERT_FALSE(ids.empty());
      ASSERT_EQ(ids.front(), *spec.bos_id);
      ids.erase(ids.begin());
    }
    const std::string back = tok->decode(ids, /*skip_special=*/false);
    if (back == expected[k]) {
      ++same;
    } else {
      ADD_FAILURE() << GetParam() << " string " << k << ": \"" << escaped(texts[k])
                    << "\" decodes to \"" << escaped(back) << "\"";
    }
  }
  std::cout << GetParam() << ": decode(encode(s)) == s for " << same << " of "
            << texts.size() - stripped << " strings\n";
  EXPECT_EQ(same + stripped, texts.size());
  EXPECT_LT(stripped, texts.size() / 10);
}

// The exporter's Python encoder (internvl2_export.tokenizer.BpeTokenizer, for eager references)
// agrees with transformers.js too.
TEST_P(NodeReference, PythonEncoderGivesTransformersJsIds) {
  const auto node = read_json(ref_dir() / GetParam() / "reference.json")["ids"]
                        .get<std::vector<std::vector<int64_t>>>();
  const auto py = read_json(ref_dir() / GetParam() / "python_ids.json")["ids"]
                      .get<std::vector<std::vector<int64_t>>>();
  ASSERT_EQ(py.size(), node.size());
  size_t same = 0;
  for (size_t k = 0; k < py.size(); ++k) {
    if (py[k] == node[k]) {
      ++same;
    } else if (k - same < 5) {
      ADD_FAILURE() << GetParam() << " string " << k << " \"" << escaped(strings()[k])
                    << "\"\n  Python: " << ids_str(py[k]) << "\n  Node:   " << ids_str(node[k]);
    }
  }
  EXPECT_EQ(same, py.size());
}

INSTANTIATE_TEST_SUITE_P(Bpe, NodeReference,
                         ::testing::Values("llama3", "llama3_internvl", "qwen", "qwen_internvl"));

TEST(BpeTokenizer, ExporterResolvesInternVLTokensAndStopIds) {
  for (const std::string name : {"llama3_internvl", "qwen_internvl"}) {
    const Variant& v = variant(name);
    const json& st = v.section["special_tokens"];
    ASSERT_TRUE(st.is_object()) << name;
    EXPECT_EQ(v.tokenizer->token_to_id("<img>"), st["img_start"].get<int64_t>()) << name;
    EXPECT_EQ(v.tokenizer->token_to_id("</img>"), st["img_end"].get<int64_t>()) << name;
    EXPECT_EQ(v.tokenizer->token_to_id("<IMG_CONTEXT>"), st["img_context"].get<int64_t>()) << name;
    EXPECT_EQ(v.tokenizer->token_to_id("<|im_end|>"), v.section["stop_ids"][0].get<int64_t>())
        << name;
    // Each added token is one id wherever it stands.
    const int64_t ctx = st["img_context"].get<int64_t>();
    std::vector<int64_t> ids = v.tokenizer->encode("x<img><IMG_CONTEXT><IMG_CONTEXT></img>y");
    if (v.spec.add_bos) ids.erase(ids.begin());
    ASSERT_EQ(ids.size(), 6u) << name << " " << ids_str(ids);
    EXPECT_EQ(ids[1], st["img_start"].get<int64_t>());
    EXPECT_EQ(ids[2], ctx);
    EXPECT_EQ(ids[3], ctx);
    EXPECT_EQ(ids[4], st["img_end"].get<int64_t>());
  }
  EXPECT_TRUE(variant("llama3_internvl").spec.add_bos);
  EXPECT_EQ(variant("llama3_internvl").tokenizer->encode("hi").front(), 128000);
  EXPECT_FALSE(variant("qwen_internvl").spec.add_bos);
}

TEST(BpeTokenizer, DecodeSkipsSpecialTokens) {
  const Variant& v = variant("llama3_internvl");  // a fast tokenizer: every special added token
  const std::vector<int64_t> ids =
      v.tokenizer->encode("<|im_start|>user\nHi <img></img>!<|im_end|>");
  // tokenizer_config.json says clean_up_tokenization_spaces: " !" -> "!" as transformers does.
  EXPECT_TRUE(v.spec.clean_up_tokenization);
  EXPECT_EQ(v.tokenizer->decode(ids, true), "user\nHi!");
  EXPECT_EQ(v.tokenizer->decode(ids, false),
            "<|begin_of_text|><|im_start|>user\nHi <img></img>!<|im_end|>");
  const Variant& q = variant("qwen_internvl");
  EXPECT_EQ(q.tokenizer->decode(q.tokenizer->encode("<|im_start|>a<|im_end|>"), true), "a");
  EXPECT_THROW(q.tokenizer->decode({q.tokenizer->vocab_size()}, true), UserError);
}

TEST(BpeTokenizer, ConstMethodsAreThreadSafe) {
  const Variant& v = variant("qwen");
  const auto& texts = strings();
  std::vector<std::thread> threads;
  std::vector<size_t> mismatches(4, 0);
  for (size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t k = t; k < texts.size(); k += 4) {
        if (v.tokenizer->encode(texts[k]) != v.ids[k]) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (size_t m : mismatches) EXPECT_EQ(m, 0u);
}

// ---- Llama-style sentencepiece (Phi-3, Yi): HF's slow LlamaTokenizer, ported to Python and run
// with python sentencepiece (scripts/fixtures/bpe_reference/make_llama_sp_reference.py) --------

class LlamaSentencePiece : public ::testing::TestWithParam<std::string> {};

TEST_P(LlamaSentencePiece, EncodeGivesSlowLlamaTokenizerIds) {
  const auto dir = ref_dir() / ("llama_sp_legacy_" + GetParam());
  const json section = read_json(dir / "tokenizer_section.json");
  const TokenizerSpec spec = TokenizerSpec::from_json(section["tokenizer"], dir);
  EXPECT_EQ(spec.legacy, GetParam() == "true");
  const auto tok = make_tokenizer(spec);
  const json ref = read_json(dir / "reference.json");
  const auto texts = ref["texts"].get<std::vector<std::string>>();
  const auto ids = ref["ids"].get<std::vector<std::vector<int64_t>>>();
  ASSERT_EQ(texts.size(), ids.size());
  size_t same = 0;
  int shown = 0;
  for (size_t k = 0; k < texts.size(); ++k) {
    const std::vector<int64_t> got = tok->encode(texts[k]);
    if (got == ids[k]) {
      ++same;
    } else if (shown++ < 5) {
      ADD_FAILURE() << "legacy=" << GetParam() << " string " << k << " \"" << escaped(texts[k])
                    << "\"\n  C++:    " << ids_str(got) << "\n  Python: " << ids_str(ids[k]);
    }
  }
  std::cout << "legacy=" << GetParam() << ": " << same << " of " << texts.size()
            << " strings encode to the slow LlamaTokenizer ids\n";
  EXPECT_EQ(same, texts.size());
  // Phi-3's prompt start: BOS, then "▁" kept before <|system|> (not one of all_special_tokens).
  const std::vector<int64_t> start = tok->encode("<|system|>\nhi");
  ASSERT_GE(start.size(), 3u);
  EXPECT_EQ(start[0], *spec.bos_id);
  if (GetParam() == "false") {
    EXPECT_EQ(start[1], tok->token_to_id("\xE2\x96\x81"));
    EXPECT_EQ(start[2], tok->token_to_id("<|system|>"));
  } else {
    EXPECT_EQ(start[1], tok->token_to_id("<|system|>"));
  }
  EXPECT_EQ(section["stop_ids"][0].get<int64_t>(), tok->token_to_id("<|end|>"));
}

INSTANTIATE_TEST_SUITE_P(Phi3Yi, LlamaSentencePiece, ::testing::Values("false", "true"));

// ---- tiny tokenizer.json files, hand-computed ids ----------------------------------------------

class TinyBpe : public ::testing::Test {
 protected:
  std::filesystem::path dir_;
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vlm_bpe_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // vocab: <unk>=0, <0x00>..<0xFF> = 1..256, then `extra` from 257 on.
  static json tiny(const std::vector<std::string>& extra, const json& merges, bool byte_fallback,
                   bool fuse_unk) {
    json vocab = json::object();
    vocab["<unk>"] = 0;
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      vocab[name] = b + 1;
    }
    for (size_t k = 0; k < extra.size(); ++k) vocab[extra[k]] = 257 + static_cast<int>(k);
    return {{"version", "1.0"},
            {"added_tokens", json::array({{{"id", 0},
                                           {"content", "<unk>"},
                                           {"single_word", false},
                                           {"lstrip", false},
                                           {"rstrip", false},
                                           {"normalized", false},
                                           {"special", true}}})},
            {"normalizer", nullptr},
            {"pre_tokenizer", nullptr},
            {"post_processor", nullptr},
            {"decoder", {{"type", "ByteLevel"}}},
            {"model",
             {{"type", "BPE"},
              {"unk_token", "<unk>"},
              {"byte_fallback", byte_fallback},
              {"fuse_unk", fuse_unk},
              {"vocab", vocab},
              {"merges", merges}}}};
  }

  std::unique_ptr<Tokenizer> load(const json& j, const std::string& file = "tokenizer.json") {
    std::ofstream(dir_ / file) << j.dump();
    TokenizerSpec spec;
    spec.kind = TokenizerKind::kBpe;
    spec.file = dir_ / file;
    spec.add_bos = false;
    return make_tokenizer(spec);
  }
};

TEST_F(TinyBpe, ByteFallbackForCharactersWithoutVocabEntry) {
  // a=257 b=258 ab=259 é=260 abab=261; merges "a b" (rank 0), "ab ab" (rank 1).
  const auto tok = load(tiny({"a", "b", "ab", "é", "abab"}, {"a b", "ab ab"}, true, false));
  // "😀" = F0 9F 98 80, "x" = 0x78: byte pieces are byte + 1.
  EXPECT_EQ(tok->encode("ababé😀x"),
            (std::vector<int64_t>{261, 260, 0xF0 + 1, 0x9F + 1, 0x98 + 1, 0x80 + 1, 0x78 + 1}));
  EXPECT_EQ(tok->encode("aba"), (std::vector<int64_t>{259, 257}));
}

TEST_F(TinyBpe, UnknownWithoutByteFallbackFusedOrNot) {
  EXPECT_EQ(load(tiny({"a", "b", "ab"}, {"a b"}, false, true))->encode("xyab😀"),
            (std::vector<int64_t>{0, 259, 0}));
  EXPECT_EQ(load(tiny({"a", "b", "ab"}, {"a b"}, false, false))->encode("xyab😀"),
            (std::vector<int64_t>{0, 0, 259, 0}));
}

TEST_F(TinyBpe, BothMergeFormatsAndRankOrder) {
  // "abc": merges b c (rank 0) before a b (rank 1) -> a, bc.
  const std::vector<std::string> extra = {"a", "b", "c", "ab", "bc"};
  const auto s = load(tiny(extra, {"b c", "a b"}, false, false), "s.json");
  const auto a = load(
      tiny(extra, json::array({json::array({"b", "c"}), json::array({"a", "b"})}), false, false),
      "a.json");
  EXPECT_EQ(s->encode("abc"), (std::vector<int64_t>{257, 261}));
  EXPECT_EQ(a->encode("abc"), (std::vector<int64_t>{257, 261}));
  // Equal... lower rank wins wherever it is: "abcab" -> a bc ab.
  EXPECT_EQ(s->encode("abcab"), (std::vector<int64_t>{257, 261, 260}));
}

TEST_F(TinyBpe, MalformedFileNamesFileAndField) {
  const json good = tiny({"a", "b", "ab"}, {"a b"}, false, false);
  auto expect_error = [&](json j, const std::string& field) {
    const std::string msg = vlm::testing::user_error([&] { load(j, "bad.json"); });
    EXPECT_NE(msg.find((dir_ / "bad.json").string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(field), std::string::npos) << "want " << field << " in: " << msg;
  };
  json j = good;
  j["model"]["merges"][0] = 5;
  expect_error(j, "model.merges[0]");
  j = good;
  j["model"]["merges"][0] = "a c";
  expect_error(j, "model.merges[0]");
  j = good;
  j["model"].erase("vocab");
  expect_error(j, "model.vocab missing");
  j = good;
  j["model"]["vocab"]["a"] = "x";
  expect_error(j, "model.vocab[\"a\"]");
  j = good;  // a sparse id would size the dense id table (found by the fuzzer: 777777254)
  j["model"]["vocab"]["ab"] = 777777254;
  expect_error(j, "model.vocab has 260 tokens but ids up to 777777254");
  j = good;
  j["pre_tokenizer"] = {{"type", "Metaspace"}};
  expect_error(j, "pre_tokenizer.type");
  j = good;
  j["pre_tokenizer"] = {
      {"type", "Split"}, {"pattern", {{"Regex", "(["}}}, {"behavior", "Isolated"}};
  expect_error(j, "pre_tokenizer.pattern.Regex");
  j = good;
  j["added_tokens"][0].erase("content");
  expect_error(j, "added_tokens[0].content missing");
  j = good;
  j["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", json::array({{{"SpecialToken", {{"id", "<s>"}}}}, {{"Sequence", {{"id", "A"}}}}})},
      {"special_tokens", json::object()}};
  expect_error(j, "post_processor.special_tokens");

  std::ofstream(dir_ / "bad.json") << "{\"model\": ";
  TokenizerSpec spec;
  spec.kind = TokenizerKind::kBpe;
  spec.file = dir_ / "bad.json";
  spec.add_bos = false;
  const std::string msg = vlm::testing::user_error([&] { make_tokenizer(spec); });
  EXPECT_NE(msg.find("bad.json: not valid JSON"), std::string::npos) << msg;
}

TEST_F(TinyBpe, ManifestIdsMustBeTokensOfTheFile) {
  std::ofstream(dir_ / "ids.json") << tiny({"a"}, json::array(), false, false).dump();
  TokenizerSpec spec;
  spec.kind = TokenizerKind::kBpe;
  spec.file = dir_ / "ids.json";
  spec.add_bos = false;
  spec.eos_id = 0;  // <unk>: a token of the file
  spec.skip_ids = {1, 99999};
  const std::string msg = vlm::testing::user_error([&] { make_tokenizer(spec); });
  EXPECT_NE(msg.find("manifest.json: tokenizer.skip_ids[1] 99999 is no token of"),
            std::string::npos)
      << msg;
  spec.skip_ids = {1};
  spec.pad_id = 4000;
  EXPECT_NE(vlm::testing::user_error([&] {
              make_tokenizer(spec);
            }).find("manifest.json: tokenizer.pad_id 4000 is no token of"),
            std::string::npos);
  spec.pad_id.reset();
  EXPECT_EQ(make_tokenizer(spec)->decode({257, 1}, true), "a");  // skip_ids[0] dropped
}

TEST_F(TinyBpe, ManifestAddBosMustMatchPostProcessor) {
  json j = tiny({"a"}, json::array(), false, false);
  j["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single",
       json::array({{{"SpecialToken", {{"id", "<unk>"}}}}, {{"Sequence", {{"id", "A"}}}}})},
      {"special_tokens", {{"<unk>", {{"id", "<unk>"}, {"ids", {0}}, {"tokens", {"<unk>"}}}}}}};
  std::ofstream(dir_ / "t.json") << j.dump();
  TokenizerSpec spec;
  spec.kind = TokenizerKind::kBpe;
  spec.file = dir_ / "t.json";
  spec.add_bos = false;
  EXPECT_NE(vlm::testing::user_error([&] { make_tokenizer(spec); }).find("tokenizer.add_bos"),
            std::string::npos);
  spec.add_bos = true;
  spec.bos_id = 0;
  EXPECT_EQ(make_tokenizer(spec)->encode("a"), (std::vector<int64_t>{0, 257}));
}

}  // namespace
}  // namespace vlm
