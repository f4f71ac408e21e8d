// TokenizerSpec: the manifest's "tokenizer" object, validated, and the factory that loads it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vlm/text/tokenizer.h"

namespace vlm {

// Which tokenizer implementation a model uses (manifest tokenizer.kind).
enum class TokenizerKind {
  kSentencePiece,  // "sentencepiece": HF slow sentencepiece tokenizers (InternLM2Tokenizer)
  kBpe,            // "bpe": a HF tokenizer.json with a byte-level BPE model (Llama 3, Qwen2)
};

// A token split out of the text before the model's own tokenization (HF added_tokens_decoder).
struct AddedToken {
  int64_t id = 0;        // its id; may lie inside the model vocabulary (<s>) or past it (<img>)
  std::string content;   // its literal text, UTF-8, non-empty
  bool special = false;  // HF's flag; informational, decode skipping is decided by skip_ids
  // Optional manifest keys (default false), HF's AddedToken flags: the token swallows the
  // whitespace before it (lstrip) / after it (rstrip). The sentencepiece tokenizer strips as HF's
  // slow tokenizers do (Python str.rstrip()/lstrip() of the neighbouring text); the BPE tokenizer
  // takes these flags from tokenizer.json itself.
  bool lstrip = false;
  bool rstrip = false;
};

// Everything needed to build a Tokenizer, as written by the exporter (docs/model-format.md).
struct TokenizerSpec {
  TokenizerKind kind = TokenizerKind::kSentencePiece;  // tokenizer.kind
  std::filesystem::path file;                          // tokenizer.file, resolved under model_dir
  // encode() prepends bos_id. For kBpe the tokenizer.json post_processor decides, and add_bos must
  // say the same (BpeTokenizer checks it).
  bool add_bos = true;
  std::optional<int64_t> bos_id;  // null when the model has no BOS
  std::optional<int64_t> eos_id;  // null when the model has no EOS
  std::optional<int64_t> unk_id;  // null when the model has no UNK
  std::optional<int64_t> pad_id;  // null when the model has no PAD
  // Split out before the model's tokenizer. For kBpe, tokenizer.json's added_tokens (with their
  // lstrip/rstrip/normalized flags) come first; entries here that the file lacks are added.
  std::vector<AddedToken> added_tokens;
  std::vector<int64_t> skip_ids;  // dropped by decode(skip_special=true)
  // Optional manifest key tokenizer.clean_up_tokenization (default false): apply transformers'
  // clean_up_tokenization (" ." -> ".", " ," -> ",", " 's" -> "'s", ...) to each decoded run, as
  // InternLM2Tokenizer.convert_tokens_to_string always does.
  bool clean_up_tokenization = false;
  // Optional manifest key tokenizer.legacy (default true; sentencepiece only): false is HF
  // LlamaTokenizer's legacy=False (Phi-3): "▁" prepended to the whole text, every chunk between
  // added tokens encoded without sentencepiece's dummy prefix, and the leading "▁" dropped when a
  // special token follows it. true: every chunk gets sentencepiece's own dummy prefix
  // (InternLM2Tokenizer, LlamaTokenizer with legacy=True).
  bool legacy = true;

  // Parses and validates the manifest's "tokenizer" object. Relative `file` is taken under
  // model_dir and must exist. Throws UserError naming the field, e.g.
  // "manifest.json: tokenizer.bos_id missing".
  static TokenizerSpec from_json(const nlohmann::json& j, const std::filesystem::path& model_dir);

  // Every id the spec names, with its field ("bos_id", ..., "skip_ids[2]"), in that order: what a
  // tokenizer checks against its loaded vocabulary.
  std::vector<std::pair<std::string, int64_t>> named_ids() const {
    std::vector<std::pair<std::string, int64_t>> out;
    const std::pair<const char*, const std::optional<int64_t>*> singles[] = {
        {"bos_id", &bos_id}, {"eos_id", &eos_id}, {"unk_id", &unk_id}, {"pad_id", &pad_id}};
    for (const auto& [name, id] : singles)
      if (id->has_value()) out.emplace_back(name, **id);
    for (size_t k = 0; k < skip_ids.size(); ++k)
      out.emplace_back("skip_ids[" + std::to_string(k) + "]", skip_ids[k]);
    return out;
  }
};

// Loads the tokenizer `spec` describes. Throws UserError if its file cannot be loaded or an id in
// the spec lies outside the loaded vocabulary.
std::unique_ptr<Tokenizer> make_tokenizer(const TokenizerSpec& spec);

}  // namespace vlm
