#include "vlm/text/sentencepiece_tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <utility>

#include "text_cleanup.h"
#include "vlm/core/error.h"
#include "vlm/core/python_str.h"

namespace vlm {
namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581 "▁"

// Length of the UTF-8 character starting at s[i] (1 for a stray byte).
size_t char_len(const std::string& s, size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  const size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 1;
  return std::min(n, s.size() - i);
}

char32_t code_point(const std::string& s, size_t i, size_t n) {
  const auto b = [&](size_t k) {
    return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]));
  };
  if (n == 1) return b(0) < 0x80 ? b(0) : 0xDC00 + b(0);
  if (n == 2) return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
  if (n == 3) return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
}

// Python's str.lstrip() / str.rstrip() with no arguments.
std::string python_lstrip(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const size_t n = char_len(s, i);
    if (!python_isspace(code_point(s, i, n))) break;
    i += n;
  }
  return s.substr(i);
}
std::string python_rstrip(const std::string& s) {
  size_t end = 0;  // one past the last non-space character
  for (size_t i = 0; i < s.size();) {
    const size_t n = char_len(s, i);
    if (!python_isspace(code_point(s, i, n))) end = i + n;
    i += n;
  }
  return s.substr(0, end);
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(const TokenizerSpec& spec)
    : spec_(spec), model_(SentencePieceModel::load(spec.file)) {
  piece_size_ = model_.piece_size();

  by_first_byte_.resize(256);
  for (size_t k = 0; k < spec_.added_tokens.size(); ++k) {
    const AddedToken& tok = spec_.added_tokens[k];
    added_by_content_[tok.content] = tok.id;
    added_by_id_[tok.id] = tok.content;
    by_first_byte_[static_cast<unsigned char>(tok.content[0])].push_back(k);
  }
  for (auto& bucket : by_first_byte_) {
    std::stable_sort(bucket.begin(), bucket.end(), [&](size_t a, size_t b) {
      return spec_.added_tokens[a].content.size() > spec_.added_tokens[b].content.size();
    });
  }

  for (const auto& [name, id] : spec_.named_ids())
    check_user(id < piece_size_ || added_by_id_.count(id) != 0,
               "manifest.json: tokenizer." + name + " " + std::to_string(id) +
                   " is neither a piece of " + spec_.file.string() + " (" +
                   std::to_string(piece_size_) + " pieces) nor an added token");
  skip_ids_.insert(spec_.skip_ids.begin(), spec_.skip_ids.end());
  if (!spec_.legacy) {
    check_user(spec_.unk_id.has_value() && *spec_.unk_id < piece_size_,
               "manifest.json: tokenizer.legacy false needs an unk_id that is a piece of " +
                   spec_.file.string());
    unk_piece_ = model_.id_to_piece(static_cast<int>(*spec_.unk_id));
    unk_length_ = model_.encode(unk_piece_, false).size();
    if (const auto id = model_.piece_to_id(kSpaceSymbol)) space_piece_id_ = *id;
  }
}

std::vector<int> SentencePieceTokenizer::encode_chunk(const std::string& chunk) const {
  if (spec_.legacy) return model_.encode(chunk);
  const bool space_first = chunk.compare(0, kSpaceSymbol.size(), kSpaceSymbol) == 0 ||
                           (!chunk.empty() && chunk[0] == ' ');
  if (!space_first) return model_.encode(chunk, false);
  std::vector<int> ids = model_.encode(unk_piece_ + chunk, false);
  if (ids.size() >= unk_length_) ids.erase(ids.begin(), ids.begin() + unk_length_);
  return ids;
}

std::vector<std::string> SentencePieceTokenizer::split_added_tokens(const std::string& text) const {
  std::vector<std::string> pieces;
  size_t run_start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const AddedToken* match = nullptr;
    for (size_t k : by_first_byte_[static_cast<unsigned char>(text[pos])]) {
      const AddedToken& tok = spec_.added_tokens[k];
      if (text.compare(pos, tok.content.size(), tok.content) == 0) {
        match = &tok;  // buckets are longest first
        break;
      }
    }
    if (match == nullptr) {
      ++pos;
      continue;
    }
    if (pos > run_start) pieces.push_back(text.substr(run_start, pos - run_start));
    pieces.push_back(match->content);
    pos += match->content.size();
    run_start = pos;
  }
  if (pos > run_start) pieces.push_back(text.substr(run_start, pos - run_start));

  // PreTrainedTokenizer.tokenize: rstrip / lstrip tokens eat the whitespace next to them.
  for (size_t k = 0; k < pieces.size(); ++k) {
    auto added = added_by_content_.find(pieces[k]);
    if (added == added_by_content_.end()) continue;
    const AddedToken* tok = nullptr;
    for (const AddedToken& t : spec_.added_tokens) {
      if (t.id == added->second) tok = &t;
    }
    if (tok == nullptr) continue;
    auto is_text = [&](size_t i) { return added_by_content_.count(pieces[i]) == 0; };
    if (tok->rstrip && k + 1 < pieces.size() && is_text(k + 1)) {
      pieces[k + 1] = python_lstrip(pieces[k + 1]);
    }
    if (tok->lstrip && k > 0 && is_text(k - 1)) pieces[k - 1] = python_rstrip(pieces[k - 1]);
  }
  pieces.erase(std::remove(pieces.begin(), pieces.end(), std::string()), pieces.end());
  return pieces;
}

std::vector<int64_t> SentencePieceTokenizer::encode(const std::string& input) const {
  std::vector<int64_t> ids;
  if (spec_.add_bos) ids.push_back(*spec_.bos_id);
  const size_t first = ids.size();
  std::string text = input;
  if (!spec_.legacy && !text.empty()) {
    text_detail::replace_all(text, kSpaceSymbol, " ");
    text.insert(0, kSpaceSymbol);
  }
  for (const std::string& piece : split_added_tokens(text)) {
    auto added = added_by_content_.find(piece);
    if (added != added_by_content_.end()) {
      ids.push_back(added->second);
      continue;
    }
    const std::vector<int> chunk_ids = encode_chunk(piece);
    ids.insert(ids.end(), chunk_ids.begin(), chunk_ids.end());
  }
  if (!spec_.legacy && ids.size() > first + 1 && space_piece_id_ &&
      ids[first] == *space_piece_id_ && skip_ids_.count(ids[first + 1]) != 0) {
    ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(first));
  }
  return ids;
}

std::string SentencePieceTokenizer::decode(const std::vector<int64_t>& ids,
                                           bool skip_special) const {
  std::string out;
  std::vector<int> run;
  auto flush = [&]() {
    if (run.empty()) return;
    std::string text = model_.decode(run);
    if (spec_.clean_up_tokenization) {
      text_detail::clean_up_tokenization(text);
    }
    out += text;
    run.clear();
  };
  for (int64_t id : ids) {
    if (skip_special && skip_ids_.count(id) != 0) continue;
    auto added = added_by_id_.find(id);
    if (added != added_by_id_.end()) {
      flush();
      out += added->second;
      continue;
    }
    check_user(id >= 0 && id < piece_size_,
               "token id " + std::to_string(id) + " is outside the vocabulary of " +
                   spec_.file.string() + " (" + std::to_string(piece_size_) +
                   " pieces) and is no added token");
    run.push_back(static_cast<int>(id));
  }
  flush();
  return out;
}

std::optional<int64_t> SentencePieceTokenizer::token_to_id(const std::string& token) const {
  auto added = added_by_content_.find(token);
  if (added != added_by_content_.end()) return added->second;
  const std::optional<int> id = model_.piece_to_id(token);
  if (!id) return std::nullopt;
  return *id;
}

int64_t SentencePieceTokenizer::vocab_size() const {
  int64_t n = piece_size_;
  for (const auto& [id, content] : added_by_id_) n = std::max(n, id + 1);
  return n;
}

}  // namespace vlm
