#include "vlm/text/sentencepiece_tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <utility>

#include "vlm/core/error.h"

namespace vlm {
namespace {

// transformers' PreTrainedTokenizerBase.clean_up_tokenization: these replace-alls, in this order.
const std::pair<std::string_view, std::string_view> kCleanUps[] = {
    {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
    {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
};

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s, pos, std::string::npos);
  s = std::move(out);
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

  auto check_id = [&](const std::optional<int64_t>& id, const std::string& name) {
    if (!id) return;
    check_user(*id < piece_size_ || added_by_id_.count(*id) != 0,
               "manifest.json: tokenizer." + name + " " + std::to_string(*id) +
                   " is neither a piece of " + spec_.file.string() + " (" +
                   std::to_string(piece_size_) + " pieces) nor an added token");
  };
  check_id(spec_.bos_id, "bos_id");
  check_id(spec_.eos_id, "eos_id");
  check_id(spec_.unk_id, "unk_id");
  check_id(spec_.pad_id, "pad_id");
  for (size_t k = 0; k < spec_.skip_ids.size(); ++k) {
    check_id(spec_.skip_ids[k], "skip_ids[" + std::to_string(k) + "]");
    skip_ids_.insert(spec_.skip_ids[k]);
  }
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
  return pieces;
}

std::vector<int64_t> SentencePieceTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  if (spec_.add_bos) ids.push_back(*spec_.bos_id);
  for (const std::string& piece : split_added_tokens(text)) {
    auto added = added_by_content_.find(piece);
    if (added != added_by_content_.end()) {
      ids.push_back(added->second);
      continue;
    }
    const std::vector<int> chunk_ids = model_.encode(piece);
    ids.insert(ids.end(), chunk_ids.begin(), chunk_ids.end());
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
      for (const auto& [from, to] : kCleanUps) replace_all(text, from, to);
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
