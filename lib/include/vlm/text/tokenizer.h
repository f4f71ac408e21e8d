// The tokenizer interface: text <-> token ids, as the model's HF tokenizer does it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vlm {

// A loaded tokenizer. Immutable after construction; every method is const and safe to call from
// several threads at once. Text is UTF-8 throughout.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // The ids HF's `tokenizer(text)` gives: the BOS rule of the model (e.g. InternLM2 prepends <s>),
  // added tokens split out first, then the model's own tokenization of the pieces between them.
  virtual std::vector<int64_t> encode(const std::string& text) const = 0;

  // Text of `ids`. skip_special=true drops the spec's skip ids, as HF's
  // decode(skip_special_tokens=True). Throws UserError for an id outside [0, vocab_size()) that no
  // added token has.
  virtual std::string decode(const std::vector<int64_t>& ids, bool skip_special) const = 0;

  // Id of an added token's text or of a vocabulary piece (e.g. "<|im_end|>", "▁the"); nullopt
  // when there is none.
  virtual std::optional<int64_t> token_to_id(const std::string& token) const = 0;

  // One past the largest id this tokenizer can produce (vocabulary plus added tokens).
  virtual int64_t vocab_size() const = 0;
};

}  // namespace vlm
