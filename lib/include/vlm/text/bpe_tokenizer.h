// BpeTokenizer: the byte-level BPE of a HF `tokenizers` tokenizer.json (Llama 3, Qwen2) in C++.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vlm/text/tokenizer.h"
#include "vlm/text/tokenizer_spec.h"

namespace vlm {

// What this implements (checked against transformers.js on the real Llama 3 and Qwen tokenizer.json
// files, tests/text/bpe_tokenizer_test.cpp):
//
// encode(text) = what HF's Tokenizer.encode(text, add_special_tokens=True) gives:
//   0. Bytes that are not valid UTF-8 become U+FFFD (HF only ever sees valid text).
//   1. Added tokens with normalized=false are split out of the raw text: leftmost-longest match,
//      lstrip/rstrip absorb the Unicode whitespace (White_Space) next to the token, single_word
//      tokens only match between non-word characters.
//   2. The normalizer (null, NFC, or a Sequence of those) runs on each remaining piece, and added
//      tokens with normalized=true are split out of the normalised text.
//   3. The pre-tokenizer (Split with behavior Isolated, ByteLevel, or a Sequence of them) cuts each
//      piece; a Split regex runs through PCRE2 (UTF, UCP) with \s and \S meaning Unicode
//      White_Space as in HF's Oniguruma. ByteLevel maps every byte to its GPT-2 character.
//   4. BPE per pre-token: ignore_merges (whole pre-token in the vocabulary -> that id), then merges
//      lowest rank first (leftmost on ties), characters outside the vocabulary as byte_fallback
//      "<0xXX>" pieces, else unk_token (fuse_unk), else dropped.
//   5. The post_processor (ByteLevel, TemplateProcessing's `single`, or a Sequence) adds its
//      special tokens around the ids.
//   The manifest must agree with 5: add_bos true exactly when the post_processor prepends [bos_id].
//
// decode(ids, skip_special): ids in spec.skip_ids are dropped when skip_special; every other id
//   becomes its token (added-token content or vocabulary entry), and the ByteLevel decoder turns
//   the tokens back into bytes (a token with a character outside the byte map keeps its own UTF-8),
//   invalid UTF-8 becoming U+FFFD per maximal invalid subpart (Rust's from_utf8_lossy). Then, if
//   spec.clean_up_tokenization, transformers' clean_up_tokenization on the whole text.
//   decode(encode(s), false) == s for valid UTF-8 s when the post_processor adds nothing.
//
// The added tokens are those of tokenizer.json plus any manifest added_tokens entry it lacks (as
// transformers adds tokenizer_config.json's added_tokens_decoder); a manifest entry whose id or
// content disagrees with the file is a UserError. Immutable after construction; all methods are
// const and thread-safe (no cache).
class BpeTokenizer final : public Tokenizer {
 public:
  // Loads spec.file (a tokenizer.json). Throws UserError naming the file and the JSON field when it
  // is malformed or uses a component this class does not implement.
  explicit BpeTokenizer(const TokenizerSpec& spec);
  ~BpeTokenizer() override;

  std::vector<int64_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special) const override;
  std::optional<int64_t> token_to_id(const std::string& token) const override;
  int64_t vocab_size() const override;

  // The token string of `id` (vocabulary entry in its byte-level form, or added-token content);
  // nullopt for an id no token has.
  std::optional<std::string> id_to_token(int64_t id) const;

 private:
  struct Impl;
  std::unique_ptr<const Impl> impl_;
};

}  // namespace vlm
