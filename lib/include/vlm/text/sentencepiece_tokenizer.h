// SentencePieceTokenizer: HF's slow sentencepiece tokenizer (InternLM2Tokenizer) in C++.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "vlm/text/sentencepiece_model.h"
#include "vlm/text/tokenizer.h"
#include "vlm/text/tokenizer_spec.h"

namespace vlm {

// What this implements, exactly (checked against python sentencepiece + a port of HF's Trie):
//
// encode(text):
//   1. [bos_id] if add_bos, else [].
//   2. Split `text` on every added token: scanning left to right, at each byte position take the
//      longest added token that starts there (leftmost-longest, as transformers' Trie.split); no
//      single_word handling. Matching is on UTF-8 bytes, which for valid UTF-8 is the same as on
//      code points. Then, as PreTrainedTokenizer.tokenize: the text after an rstrip token loses its
//      leading whitespace (Python str.lstrip()), the text before an lstrip token its trailing
//      whitespace (str.rstrip()); text pieces left empty vanish.
//   3. Each added token becomes its id; each non-empty text piece between them is encoded on its
//      own with SentencePieceModel::encode (= SentencePieceProcessor::EncodeAsIds), so every piece
//      gets sentencepiece's own normalisation and dummy prefix "▁" (e.g. "a<img>b" -> [▁a, <img>,
//      ▁b]).
//   The empty string gives [bos_id] (or []).
//   With spec.legacy == false (HF LlamaTokenizer legacy=False, Phi-3): before step 2 every "▁" in
//   the text becomes " " and one "▁" is prepended; in step 3 a chunk starting with "▁" or " " is
//   encoded as encode(unk_piece + chunk) without dummy prefix, minus the ids of unk_piece alone,
//   any other chunk as encode(chunk) without dummy prefix; and when the first id is the piece "▁"
//   and the second a skip id (HF's all_special_tokens), the "▁" is dropped.
//
// decode(ids, skip_special):
//   1. If skip_special, drop every id in skip_ids.
//   2. Each maximal run of ids that are not added tokens is decoded with
//      SentencePieceModel::decode (= DecodeIds, which removes the dummy-prefix "▁" at the start of
//      the run); each remaining added token is written as its literal content between the runs.
//   3. If clean_up_tokenization, transformers' clean_up_tokenization is applied to each run's text.
//   With skip_special=true and every added token in skip_ids (the InternVL2 case), this equals
//   transformers' decode(ids, skip_special_tokens=True) for InternLM2Tokenizer (with
//   clean_up_tokenization set as the exporter writes it). With skip_special=false it does NOT add
//   the spaces HF puts around special tokens; it inverts encode() instead:
//   decode(encode(s) without BOS, false) == s for every s this project has tried (leading spaces,
//   whitespace-only strings, byte-fallback emoji included, as the dummy prefix is removed per run).
class SentencePieceTokenizer final : public Tokenizer {
 public:
  // Loads spec.file. Throws UserError if it cannot be loaded or an id in the spec (bos, eos, unk,
  // pad, skip ids) is neither a vocabulary piece nor an added token.
  explicit SentencePieceTokenizer(const TokenizerSpec& spec);

  std::vector<int64_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special) const override;
  std::optional<int64_t> token_to_id(const std::string& token) const override;
  int64_t vocab_size() const override;

  // Step 2 of encode(): `text` cut into pieces, in order, each either exactly an added token's
  // content or a non-empty text run containing none.
  std::vector<std::string> split_added_tokens(const std::string& text) const;

 private:
  TokenizerSpec spec_;
  SentencePieceModel model_;
  int64_t piece_size_ = 0;
  std::unordered_map<std::string, int64_t> added_by_content_;
  std::unordered_map<int64_t, std::string> added_by_id_;
  std::unordered_set<int64_t> skip_ids_;
  // Indices into spec_.added_tokens by the first byte of their content, longest content first.
  std::vector<std::vector<size_t>> by_first_byte_;
  // legacy == false: the id of the piece "▁", and the ids of the unk piece encoded alone.
  std::optional<int64_t> space_piece_id_;
  std::string unk_piece_;
  size_t unk_length_ = 0;

  std::vector<int> encode_chunk(const std::string& chunk) const;
};

}  // namespace vlm
