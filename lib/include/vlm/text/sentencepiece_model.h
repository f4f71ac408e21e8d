// SentencePieceModel: a sentencepiece BPE .model file, read and run without libsentencepiece.
//
// Why not libsentencepiece: the Debian libsentencepiece.so.0 exports the protobuf 3.14 it bundles,
// and any binary that also links LibTorch loads libprotobuf.so.32 (3.21) first, so the first
// Load() dies in protobuf's version check. This class reimplements what
// SentencePieceProcessor::EncodeAsIds / DecodeIds of sentencepiece 0.1.97 do for BPE models with an
// identity normaliser (the InternLM2, Phi-3 and Yi tokenizers of InternVL2); it is checked against
// python sentencepiece. Anything else (unigram models, precompiled normalisation rules,
// treat_whitespace_as_suffix) is refused with a UserError at load.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vlm {

class SentencePieceModel {
 public:
  // Reads `file` (a serialized sentencepiece ModelProto). Throws UserError naming the file when it
  // is unreadable, malformed or uses a feature this class does not implement.
  static SentencePieceModel load(const std::filesystem::path& file);

  // = SentencePieceProcessor::EncodeAsIds(text): normalise (dummy prefix "▁", spaces -> "▁",
  // user-defined symbols kept whole, malformed UTF-8 bytes -> U+FFFD), BPE by piece score, byte
  // fallback (or merged <unk>) for pieces outside the vocabulary.
  std::vector<int> encode(std::string_view text) const;
  // The same with the model's add_dummy_prefix replaced by `add_dummy_prefix` (HF LlamaTokenizer
  // with legacy=False loads the model with add_dummy_prefix=false).
  std::vector<int> encode(std::string_view text, bool add_dummy_prefix) const;

  // = SentencePieceProcessor::DecodeIds(ids): control pieces vanish, <unk> becomes unk_surface,
  // runs of byte pieces become their UTF-8 text (each invalid byte U+FFFD), "▁" becomes " ", and
  // the first "▁" of the text (the dummy prefix) is dropped. Every id must be in [0, piece_size()).
  std::string decode(const std::vector<int>& ids) const;

  int piece_size() const { return static_cast<int>(pieces_.size()); }
  // The id whose piece is exactly `piece`, if any.
  std::optional<int> piece_to_id(std::string_view piece) const;
  // The piece of `id`, which must be in [0, piece_size()).
  const std::string& id_to_piece(int id) const { return pieces_[id].piece; }

 private:
  enum class PieceType {
    kNormal = 1,
    kUnknown = 2,
    kControl = 3,
    kUserDefined = 4,
    kUnused = 5,
    kByte = 6
  };
  struct Piece {
    std::string piece;
    float score = 0.0f;
    PieceType type = PieceType::kNormal;
  };

  // sentencepiece's PieceToId: reserved (control/unknown/byte) pieces, then the others, else unk.
  int lookup(std::string_view piece) const;
  // Length of the longest user-defined symbol at the start of `s` (0 if none).
  size_t match_user_defined(std::string_view s) const;
  std::string normalize(std::string_view text, bool add_dummy_prefix) const;

  std::vector<Piece> pieces_;
  std::unordered_map<std::string, int> normal_ids_;    // NORMAL, USER_DEFINED, UNUSED
  std::unordered_map<std::string, int> reserved_ids_;  // CONTROL, UNKNOWN, BYTE
  std::vector<std::vector<std::string>> user_defined_by_first_byte_;  // longest first
  std::vector<int> byte_ids_;                                         // byte value -> id
  int unk_id_ = -1;
  bool byte_fallback_ = false;
  bool add_dummy_prefix_ = true;
  bool remove_extra_whitespaces_ = true;
  bool escape_whitespaces_ = true;
  std::string unk_surface_ = " \xE2\x81\x87 ";
};

}  // namespace vlm
