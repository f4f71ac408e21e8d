#include "vlm/text/sentencepiece_model.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <queue>
#include <sstream>

#include "vlm/core/error.h"

namespace vlm {
namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";      // U+2581 "▁"
constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// ---- protobuf wire format (only what ModelProto needs) ---------------------------------------
class WireReader {
 public:
  WireReader(std::string_view data, const std::string& where) : data_(data), where_(where) {}
  bool done() const { return pos_ >= data_.size(); }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      check_user(pos_ < data_.size(), where_ + ": truncated varint");
      const uint8_t b = static_cast<uint8_t>(data_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
    throw UserError(where_ + ": malformed varint");
  }
  std::string_view bytes() {
    const uint64_t n = varint();
    check_user(n <= data_.size() - pos_, where_ + ": truncated field");
    std::string_view s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  float fixed32_float() {
    check_user(data_.size() - pos_ >= 4, where_ + ": truncated fixed32");
    uint32_t u = 0;
    for (int k = 0; k < 4; ++k)
      u |= static_cast<uint32_t>(static_cast<uint8_t>(data_[pos_ + k])) << (8 * k);
    pos_ += 4;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  void skip(int wire_type) {
    switch (wire_type) {
      case 0:
        varint();
        break;
      case 1:
        check_user(data_.size() - pos_ >= 8, where_ + ": truncated");
        pos_ += 8;
        break;
      case 2:
        bytes();
        break;
      case 5:
        check_user(data_.size() - pos_ >= 4, where_ + ": truncated");
        pos_ += 4;
        break;
      default:
        throw UserError(where_ + ": unsupported protobuf wire type " + std::to_string(wire_type));
    }
  }

 private:
  std::string_view data_;
  std::string where_;
  size_t pos_ = 0;
};

// sentencepiece's string_util::DecodeUTF8 validity: length of the valid character at s[0], or 0.
size_t valid_utf8_len(std::string_view s) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const auto trail = [&](size_t k) { return (b(k) & 0xC0) == 0x80; };
  const auto valid_cp = [](uint32_t c) {
    return (c > 0 && c < 0xD800) || (c >= 0xE000 && c < 0x110000);
  };
  if (s.empty()) return 0;
  if (b(0) < 0x80) return 1;
  if (s.size() >= 2 && (b(0) & 0xE0) == 0xC0) {
    const uint32_t c = ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    if (trail(1) && c >= 0x80 && valid_cp(c)) return 2;
  } else if (s.size() >= 3 && (b(0) & 0xF0) == 0xE0) {
    const uint32_t c = ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    if (trail(1) && trail(2) && c >= 0x800 && valid_cp(c)) return 3;
  } else if (s.size() >= 4 && (b(0) & 0xF8) == 0xF0) {
    const uint32_t c =
        ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    if (trail(1) && trail(2) && trail(3) && c >= 0x10000 && valid_cp(c)) return 4;
  }
  return 0;
}

// sentencepiece's string_util::OneCharLen: length from the lead byte only, capped by s.size().
size_t one_char_len(std::string_view s) {
  static const size_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return std::min(kLen[static_cast<uint8_t>(s[0]) >> 4], s.size());
}

// "<0x41>" -> 0x41; -1 if `piece` is not of that form.
int piece_to_byte(const std::string& piece) {
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return -1;
  int v = 0;
  for (size_t k = 3; k < 5; ++k) {
    const char c = piece[k];
    v *= 16;
    if (c >= '0' && c <= '9')
      v += c - '0';
    else if (c >= 'A' && c <= 'F')
      v += c - 'A' + 10;
    else
      return -1;
  }
  return v;
}

}  // namespace

SentencePieceModel SentencePieceModel::load(const std::filesystem::path& file) {
  const std::string where = file.string();
  std::ifstream in(file, std::ios::binary);
  check_user(in.good(), "cannot open sentencepiece model " + where);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  SentencePieceModel m;
  int model_type = 1;  // UNIGRAM, the proto default
  bool treat_ws_as_suffix = false;
  std::string charsmap, denorm_charsmap;
  WireReader top(data, where);
  while (!top.done()) {
    const uint64_t key = top.varint();
    const int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
    if (wire != 2 || (field != 1 && field != 2 && field != 3 && field != 5)) {
      top.skip(wire);
      continue;
    }
    WireReader msg(top.bytes(), where);
    if (field == 1) {  // SentencePiece
      Piece p;
      while (!msg.done()) {
        const uint64_t k = msg.varint();
        const int f = static_cast<int>(k >> 3), w = static_cast<int>(k & 7);
        if (f == 1 && w == 2)
          p.piece = std::string(msg.bytes());
        else if (f == 2 && w == 5)
          p.score = msg.fixed32_float();
        else if (f == 3 && w == 0)
          p.type = static_cast<PieceType>(msg.varint());
        else
          msg.skip(w);
      }
      m.pieces_.push_back(std::move(p));
    } else {
      while (!msg.done()) {
        const uint64_t k = msg.varint();
        const int f = static_cast<int>(k >> 3), w = static_cast<int>(k & 7);
        if (field == 2 && f == 3 && w == 0)
          model_type = static_cast<int>(msg.varint());
        else if (field == 2 && f == 35 && w == 0)
          m.byte_fallback_ = msg.varint() != 0;
        else if (field == 2 && f == 24 && w == 0)
          treat_ws_as_suffix = msg.varint() != 0;
        else if (field == 2 && f == 44 && w == 2)
          m.unk_surface_ = std::string(msg.bytes());
        else if (field == 3 && f == 2 && w == 2)
          charsmap = std::string(msg.bytes());
        else if (field == 3 && f == 3 && w == 0)
          m.add_dummy_prefix_ = msg.varint() != 0;
        else if (field == 3 && f == 4 && w == 0)
          m.remove_extra_whitespaces_ = msg.varint() != 0;
        else if (field == 3 && f == 5 && w == 0)
          m.escape_whitespaces_ = msg.varint() != 0;
        else if (field == 5 && f == 2 && w == 2)
          denorm_charsmap = std::string(msg.bytes());
        else
          msg.skip(w);
      }
    }
  }
  check_user(model_type == 2, where + ": only sentencepiece BPE models are supported (model_type " +
                                  std::to_string(model_type) + ")");
  check_user(charsmap.empty() && denorm_charsmap.empty(),
             where + ": precompiled normalisation rules are not supported (identity only)");
  check_user(!treat_ws_as_suffix, where + ": treat_whitespace_as_suffix is not supported");
  check_user(!m.pieces_.empty(), where + ": no pieces");

  m.user_defined_by_first_byte_.resize(256);
  m.byte_ids_.assign(256, -1);
  for (int i = 0; i < m.piece_size(); ++i) {
    const Piece& p = m.pieces_[i];
    check_user(!p.piece.empty(), where + ": piece " + std::to_string(i) + " is empty");
    const bool normal = p.type == PieceType::kNormal || p.type == PieceType::kUserDefined ||
                        p.type == PieceType::kUnused;
    check_user((normal ? m.normal_ids_ : m.reserved_ids_).emplace(p.piece, i).second,
               where + ": piece \"" + p.piece + "\" is defined twice");
    if (p.type == PieceType::kUserDefined) {
      m.user_defined_by_first_byte_[static_cast<uint8_t>(p.piece[0])].push_back(p.piece);
    } else if (p.type == PieceType::kUnknown) {
      check_user(m.unk_id_ < 0, where + ": more than one <unk> piece");
      m.unk_id_ = i;
    } else if (p.type == PieceType::kByte) {
      const int b = piece_to_byte(p.piece);
      check_user(b >= 0, where + ": bad byte piece \"" + p.piece + "\"");
      m.byte_ids_[b] = i;
    }
  }
  check_user(m.unk_id_ >= 0, where + ": no <unk> piece");
  if (m.byte_fallback_) {
    for (int b = 0; b < 256; ++b) {
      check_user(m.byte_ids_[b] >= 0,
                 where + ": byte_fallback without piece for byte " + std::to_string(b));
    }
  }
  for (auto& bucket : m.user_defined_by_first_byte_) {
    std::stable_sort(bucket.begin(), bucket.end(), [](const std::string& a, const std::string& b) {
      return a.size() > b.size();
    });
  }
  return m;
}

int SentencePieceModel::lookup(std::string_view piece) const {
  const std::string key(piece);
  auto r = reserved_ids_.find(key);
  if (r != reserved_ids_.end()) return r->second;
  auto n = normal_ids_.find(key);
  if (n != normal_ids_.end()) return n->second;
  return unk_id_;
}

std::optional<int> SentencePieceModel::piece_to_id(std::string_view piece) const {
  const int id = lookup(piece);
  if (pieces_[id].piece != piece) return std::nullopt;
  return id;
}

size_t SentencePieceModel::match_user_defined(std::string_view s) const {
  for (const std::string& u : user_defined_by_first_byte_[static_cast<uint8_t>(s[0])]) {
    if (s.substr(0, u.size()) == u) return u.size();
  }
  return 0;
}

std::string SentencePieceModel::normalize(std::string_view input, bool add_dummy_prefix) const {
  std::string out;
  if (input.empty()) return out;
  // One normalised unit at the front of `s`: a user-defined symbol, a valid character, or U+FFFD
  // for one malformed byte. Returns (text, bytes consumed).
  auto prefix = [&](std::string_view s) -> std::pair<std::string_view, size_t> {
    if (const size_t u = match_user_defined(s)) return {s.substr(0, u), u};
    if (const size_t n = valid_utf8_len(s)) return {s.substr(0, n), n};
    return {kReplacementChar, 1};
  };
  if (remove_extra_whitespaces_) {
    while (!input.empty()) {
      const auto p = prefix(input);
      if (p.first != " ") break;
      input.remove_prefix(p.second);
    }
    if (input.empty()) return out;
  }
  const std::string_view space = escape_whitespaces_ ? kSpaceSymbol : std::string_view(" ");
  if (add_dummy_prefix) out += space;
  bool is_prev_space = remove_extra_whitespaces_;
  while (!input.empty()) {
    const auto p = prefix(input);
    std::string_view sp = p.first;
    if (is_prev_space) {
      while (!sp.empty() && sp[0] == ' ') sp.remove_prefix(1);
    }
    if (!sp.empty()) {
      for (char c : sp) {
        if (escape_whitespaces_ && c == ' ')
          out += kSpaceSymbol;
        else
          out += c;
      }
      is_prev_space = sp.back() == ' ';
    }
    input.remove_prefix(p.second);
    if (!remove_extra_whitespaces_) is_prev_space = false;
  }
  if (remove_extra_whitespaces_) {
    while (out.size() >= space.size() &&
           out.compare(out.size() - space.size(), space.size(), space) == 0) {
      out.resize(out.size() - space.size());
    }
  }
  return out;
}

std::vector<int> SentencePieceModel::encode(std::string_view text) const {
  return encode(text, add_dummy_prefix_);
}

std::vector<int> SentencePieceModel::encode(std::string_view text, bool add_dummy_prefix) const {
  const std::string normalized = normalize(text, add_dummy_prefix);
  std::vector<int> ids;
  if (normalized.empty()) return ids;

  struct Symbol {
    int prev;
    int next;
    bool freeze;
    std::string_view piece;
  };
  struct Pair {
    int left;
    int right;
    float score;
    size_t size;
  };
  // sentencepiece's agenda order: highest score first, then leftmost.
  auto cmp = [](const Pair& a, const Pair& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Pair, std::vector<Pair>, decltype(cmp)> agenda(cmp);
  std::vector<Symbol> symbols;
  std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>> rev_merge;

  auto maybe_add = [&](int left, int right) {
    if (left == -1 || right == -1 || symbols[left].freeze || symbols[right].freeze) return;
    const std::string_view piece(symbols[left].piece.data(),
                                 symbols[left].piece.size() + symbols[right].piece.size());
    auto it = normal_ids_.find(std::string(piece));
    if (it == normal_ids_.end()) return;
    agenda.push(Pair{left, right, pieces_[it->second].score, piece.size()});
    if (pieces_[it->second].type == PieceType::kUnused) {
      rev_merge[piece] = {symbols[left].piece, symbols[right].piece};
    }
  };

  std::string_view rest = normalized;
  int index = 0;
  while (!rest.empty()) {
    Symbol s;
    const size_t u = match_user_defined(rest);
    s.freeze = u > 0;
    const size_t len = u > 0 ? u : one_char_len(rest);
    s.piece = rest.substr(0, len);
    s.prev = index == 0 ? -1 : index - 1;
    rest.remove_prefix(len);
    s.next = rest.empty() ? -1 : index + 1;
    ++index;
    symbols.push_back(s);
  }
  for (size_t i = 1; i < symbols.size(); ++i)
    maybe_add(static_cast<int>(i) - 1, static_cast<int>(i));

  while (!agenda.empty()) {
    const Pair top = agenda.top();
    agenda.pop();
    Symbol& l = symbols[top.left];
    Symbol& r = symbols[top.right];
    if (l.piece.empty() || r.piece.empty() || l.piece.size() + r.piece.size() != top.size) continue;
    l.piece = std::string_view(l.piece.data(), l.piece.size() + r.piece.size());
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = top.left;
    r.piece = std::string_view();
    maybe_add(l.prev, top.left);
    maybe_add(top.left, l.next);
  }

  // Resegment UNUSED pieces, then map to ids with byte fallback / merged unknowns.
  std::vector<std::pair<std::string_view, int>> out;
  std::function<void(std::string_view)> resegment = [&](std::string_view w) {
    const int id = lookup(w);
    if (pieces_[id].type == PieceType::kUnused) {
      auto p = rev_merge.find(w);
      if (p != rev_merge.end()) {
        resegment(p->second.first);
        resegment(p->second.second);
        return;
      }
    }
    out.emplace_back(w, id);
  };
  for (int i = 0; i != -1; i = symbols[i].next) resegment(symbols[i].piece);

  bool prev_unk = false;
  std::string merged_unk;  // without byte fallback, consecutive unknowns are one <unk>
  for (const auto& [w, id] : out) {
    const bool is_unk = pieces_[id].type == PieceType::kUnknown;
    if (is_unk && byte_fallback_) {
      for (char c : w) ids.push_back(byte_ids_[static_cast<uint8_t>(c)]);
    } else if (!(is_unk && prev_unk)) {
      ids.push_back(id);
    }
    prev_unk = is_unk;
  }
  return ids;
}

std::string SentencePieceModel::decode(const std::vector<int>& ids) const {
  std::string text;
  std::string bytes;  // the current run of byte pieces
  auto flush_bytes = [&]() {
    for (size_t off = 0; off < bytes.size();) {
      const size_t n = valid_utf8_len(std::string_view(bytes).substr(off));
      if (n == 0) {
        text += kReplacementChar;
        off += 1;
      } else {
        text.append(bytes, off, n);
        off += n;
      }
    }
    bytes.clear();
  };
  bool is_bos_ws = true;  // the dummy-prefix "▁" is still to be removed
  for (int id : ids) {
    check_internal(id >= 0 && id < piece_size(), "SentencePieceModel::decode: id out of range");
    const Piece& p = pieces_[id];
    if (p.type == PieceType::kByte) {
      bytes += static_cast<char>(piece_to_byte(p.piece));
      continue;
    }
    flush_bytes();
    if (!text.empty()) is_bos_ws = false;
    if (p.type == PieceType::kControl) continue;
    if (p.type == PieceType::kUnknown) {
      text += unk_surface_;
      continue;
    }
    std::string_view piece = p.piece;
    if (is_bos_ws && (add_dummy_prefix_ || remove_extra_whitespaces_)) {
      const bool had = piece.substr(0, kSpaceSymbol.size()) == kSpaceSymbol;
      if (had) piece.remove_prefix(kSpaceSymbol.size());
      if (had && !remove_extra_whitespaces_) is_bos_ws = false;
    }
    while (!piece.empty()) {
      if (piece.substr(0, kSpaceSymbol.size()) == kSpaceSymbol) {
        text += ' ';
        piece.remove_prefix(kSpaceSymbol.size());
      } else {
        text += piece[0];
        piece.remove_prefix(1);
      }
    }
  }
  flush_bytes();
  return text;
}

}  // namespace vlm
