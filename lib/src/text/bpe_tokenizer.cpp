#include "vlm/text/bpe_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <queue>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "text_cleanup.h"
#include "unicode_nfc.h"
#include "vlm/core/error.h"
#include "vlm/core/utf8.h"

namespace vlm {
namespace {

using json = nlohmann::json;

// ---- UTF-8 helpers ---------------------------------------------------------------------------

// Length of the valid UTF-8 character at s[i], or 0 if the bytes there are not one.
size_t utf8_len(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  const auto trail = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  const uint8_t c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return trail(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!trail(1) || !trail(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!trail(1) || !trail(2) || !trail(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

// Length of the maximal invalid subpart at s[i] (Unicode's "substitution of maximal subparts", as
// Rust's String::from_utf8_lossy): a lead byte followed by the trail bytes that could still have
// completed it.
size_t invalid_subpart_len(std::string_view s, size_t i) {
  const uint8_t c = static_cast<uint8_t>(s[i]);
  size_t need = 0;
  uint8_t lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 1;
  }
  size_t n = 1;
  for (size_t k = 0; k < need && i + n < s.size(); ++k) {
    const uint8_t t = static_cast<uint8_t>(s[i + n]);
    if (t < lo || t > hi) break;
    ++n;
    lo = 0x80;
    hi = 0xBF;
  }
  return n;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// `s` with each maximal invalid subpart replaced by U+FFFD.
std::string to_valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (const size_t n = utf8_len(s, i)) {
      out.append(s, i, n);
      i += n;
    } else {
      out += kReplacement;
      i += invalid_subpart_len(s, i);
    }
  }
  return out;
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_len(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

uint32_t decode_cp(std::string_view s, size_t i, size_t n) {
  const auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(s[i + k])); };
  switch (n) {
    case 1:
      return b(0);
    case 2:
      return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3:
      return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default:
      return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

// Unicode White_Space (Rust's char::is_whitespace, Oniguruma's \s).
bool is_white_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}
constexpr const char* kWhiteSpaceClass =
    "\\t-\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}"
    "\\x{3000}";

// The last / first code point of s (s valid UTF-8, non-empty).
uint32_t last_cp(std::string_view s) {
  size_t i = s.size() - 1;
  while (i > 0 && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80) --i;
  return decode_cp(s, i, s.size() - i);
}
uint32_t first_cp(std::string_view s) {
  return decode_cp(s, 0, utf8_len(s, 0));
}

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes map to themselves, the rest to U+0100...
std::array<uint32_t, 256> byte_to_code_point() {
  std::array<uint32_t, 256> m{};
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    m[b] = keep ? b : next++;
  }
  return m;
}

// ---- JSON access with the field path in every error -----------------------------------------
class Fields {
 public:
  explicit Fields(std::string file) : file_(std::move(file)) {}
  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw UserError(file_ + ": " + path + " " + what);
  }
  const json& get(const json& j, const std::string& path, const char* key) const {
    auto it = j.find(key);
    if (it == j.end()) fail(path + key, "missing");
    return *it;
  }
  std::string str(const json& j, const std::string& path, const char* key) const {
    const json& v = get(j, path, key);
    if (!v.is_string()) fail(path + key, "must be a string, got " + v.dump());
    return v.get<std::string>();
  }
  bool flag(const json& j, const std::string& path, const char* key, bool dflt) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return dflt;
    if (!it->is_boolean()) fail(path + key, "must be true or false, got " + it->dump());
    return it->get<bool>();
  }
  int64_t id(const json& v, const std::string& path) const {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
      fail(path, "must be a token id (an integer >= 0), got " + v.dump());
    }
    return v.get<int64_t>();
  }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

struct Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
};

// Replaces \s and \S by explicit Unicode White_Space classes (PCRE2's UCP \s differs from
// Oniguruma's on U+180E); refuses \S inside a character class.
std::string white_space_explicit(const std::string& pattern, const Fields& f,
                                 const std::string& path) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[i + 1];
      ++i;
      if (e == 's') {
        out += in_class ? std::string(kWhiteSpaceClass) : "[" + std::string(kWhiteSpaceClass) + "]";
      } else if (e == 'S') {
        if (in_class) f.fail(path, "uses \\S inside a character class, which is not supported");
        out += "[^" + std::string(kWhiteSpaceClass) + "]";
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is literal.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (in_class && c == '[' && i + 1 < pattern.size() && pattern[i + 1] == ':') {
      const size_t end = pattern.find(":]", i + 2);
      if (end != std::string::npos) {
        out.append(pattern, i, end + 2 - i);
        i = end + 1;
        continue;
      }
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

}  // namespace

// ---- the implementation ----------------------------------------------------------------------
struct BpeTokenizer::Impl {
  TokenizerSpec spec;
  std::string where;  // the file, for messages

  // model
  std::unordered_map<std::string, int32_t> vocab;
  std::vector<std::string> id_to_token;  // "" for ids with no token
  std::vector<bool> has_token;
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges;  // (a,b) -> (rank, new id)
  bool ignore_merges = false;
  bool byte_fallback = false;
  bool fuse_unk = false;
  std::optional<int32_t> unk_id;
  std::array<int32_t, 256> byte_fallback_ids{};

  // normalizer
  bool nfc = false;

  // pre-tokenizer: Split regexes in order, then optionally ByteLevel.
  std::vector<std::unique_ptr<Regex>> splits;
  bool byte_level = false;
  bool byte_level_prefix_space = false;
  std::unique_ptr<Regex> byte_level_regex;  // ByteLevel use_regex: GPT-2's pattern
  std::array<std::string, 256> byte_chars;  // byte -> its GPT-2 character, UTF-8
  std::unordered_map<uint32_t, uint8_t> char_bytes;
  std::array<int32_t, 256> byte_char_ids{};  // vocabulary id of each byte's character, or -1

  // decoder
  bool byte_level_decoder = false;

  // post-processor
  std::vector<int64_t> prefix, suffix;

  // added tokens
  struct Added {
    int64_t id;
    std::string content;
    bool single_word, lstrip, rstrip, normalized, special;
  };
  std::vector<Added> added;
  std::unordered_map<std::string, int64_t> added_by_content;
  std::unordered_map<int64_t, size_t> added_by_id;  // -> index into added
  struct TrieNode {
    std::vector<std::pair<uint8_t, int32_t>> next;  // sorted by byte
    int32_t token = -1;                             // index into added
  };
  std::vector<TrieNode> raw_trie{1}, normalized_trie{1};
  std::unordered_set<int64_t> skip_ids;
  int64_t vocab_end = 0;

  Regex* compile(const std::string& pattern, const std::string& path, const Fields& f) {
    const std::string p = white_space_explicit(pattern, f, path);
    int err = 0;
    PCRE2_SIZE off = 0;
    auto re = std::make_unique<Regex>();
    re->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(),
                             PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &off, nullptr);
    if (re->code == nullptr) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      f.fail(path, "is not a regex PCRE2 accepts (" + std::string(reinterpret_cast<char*>(msg)) +
                       " at offset " + std::to_string(off) + "): " + pattern);
    }
    pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter on failure
    Regex* raw = re.get();
    if (path == "byte_level") {
      byte_level_regex = std::move(re);
    } else {
      splits.push_back(std::move(re));
    }
    return raw;
  }

  void load_normalizer(const json& n, const std::string& path, const Fields& f) {
    if (n.is_null()) return;
    if (!n.is_object()) f.fail(path, "must be an object or null, got " + n.dump());
    const std::string type = f.str(n, path + ".", "type");
    if (type == "NFC") {
      nfc = true;
    } else if (type == "Sequence") {
      const json& list = f.get(n, path + ".", "normalizers");
      if (!list.is_array()) f.fail(path + ".normalizers", "must be an array");
      for (size_t k = 0; k < list.size(); ++k) {
        load_normalizer(list[k], path + ".normalizers[" + std::to_string(k) + "]", f);
      }
    } else {
      f.fail(path + ".type", "\"" + type + "\" is not supported (supported: NFC, Sequence)");
    }
  }

  void load_pre_tokenizer(const json& p, const std::string& path, const Fields& f) {
    if (p.is_null()) return;
    if (!p.is_object()) f.fail(path, "must be an object or null, got " + p.dump());
    const std::string type = f.str(p, path + ".", "type");
    if (byte_level) f.fail(path, "comes after ByteLevel, which is not supported");
    if (type == "Sequence") {
      const json& list = f.get(p, path + ".", "pretokenizers");
      if (!list.is_array()) f.fail(path + ".pretokenizers", "must be an array");
      for (size_t k = 0; k < list.size(); ++k) {
        load_pre_tokenizer(list[k], path + ".pretokenizers[" + std::to_string(k) + "]", f);
      }
    } else if (type == "Split") {
      const std::string behavior = f.str(p, path + ".", "behavior");
      if (behavior != "Isolated") {
        f.fail(path + ".behavior", "\"" + behavior + "\" is not supported (supported: Isolated)");
      }
      if (f.flag(p, path + ".", "invert", false)) f.fail(path + ".invert", "true is not supported");
      const json& pat = f.get(p, path + ".", "pattern");
      if (pat.is_object() && pat.contains("Regex") && pat["Regex"].is_string()) {
        compile(pat["Regex"].get<std::string>(), path + ".pattern.Regex", f);
      } else if (pat.is_object() && pat.contains("String") && pat["String"].is_string()) {
        const std::string s = pat["String"].get<std::string>();
        compile("\\Q" + s + "\\E", path + ".pattern.String", f);
      } else {
        f.fail(path + ".pattern",
               "must be {\"Regex\": ...} or {\"String\": ...}, got " + pat.dump());
      }
    } else if (type == "ByteLevel") {
      byte_level = true;
      byte_level_prefix_space = f.flag(p, path + ".", "add_prefix_space", true);
      if (f.flag(p, path + ".", "use_regex", true)) {
        compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            "byte_level", f);
      }
    } else {
      f.fail(path + ".type",
             "\"" + type + "\" is not supported (supported: Split, ByteLevel, Sequence)");
    }
  }

  void load_post_processor(const json& p, const std::string& path, const Fields& f) {
    if (p.is_null()) return;
    if (!p.is_object()) f.fail(path, "must be an object or null, got " + p.dump());
    const std::string type = f.str(p, path + ".", "type");
    if (type == "ByteLevel") return;  // offsets only
    if (type == "Sequence") {
      const json& list = f.get(p, path + ".", "processors");
      if (!list.is_array()) f.fail(path + ".processors", "must be an array");
      for (size_t k = 0; k < list.size(); ++k) {
        load_post_processor(list[k], path + ".processors[" + std::to_string(k) + "]", f);
      }
      return;
    }
    if (type != "TemplateProcessing") {
      f.fail(path + ".type", "\"" + type +
                                 "\" is not supported (supported: ByteLevel, TemplateProcessing, "
                                 "Sequence)");
    }
    const json& single = f.get(p, path + ".", "single");
    const json& specials = f.get(p, path + ".", "special_tokens");
    if (!single.is_array()) f.fail(path + ".single", "must be an array");
    if (!specials.is_object()) f.fail(path + ".special_tokens", "must be an object");
    bool seen_a = false;
    for (size_t k = 0; k < single.size(); ++k) {
      const std::string ip = path + ".single[" + std::to_string(k) + "]";
      const json& item = single[k];
      if (item.is_object() && item.contains("Sequence")) {
        if (seen_a) f.fail(ip, "is a second sequence, which `single` cannot have");
        seen_a = true;
      } else if (item.is_object() && item.contains("SpecialToken")) {
        const std::string name = f.str(item["SpecialToken"], ip + ".SpecialToken.", "id");
        auto st = specials.find(name);
        if (st == specials.end()) f.fail(path + ".special_tokens", "has no entry \"" + name + "\"");
        const json& ids = f.get(*st, path + ".special_tokens." + name + ".", "ids");
        if (!ids.is_array()) f.fail(path + ".special_tokens." + name + ".ids", "must be an array");
        for (size_t m = 0; m < ids.size(); ++m) {
          const int64_t id =
              f.id(ids[m], path + ".special_tokens." + name + ".ids[" + std::to_string(m) + "]");
          (seen_a ? suffix : prefix).push_back(id);
        }
      } else {
        f.fail(ip, "must be {\"Sequence\": ...} or {\"SpecialToken\": ...}, got " + item.dump());
      }
    }
    if (!seen_a) f.fail(path + ".single", "has no {\"Sequence\": {\"id\": \"A\"}}");
  }

  void load_model(const json& m, const Fields& f) {
    if (!m.is_object()) f.fail("model", "must be an object");
    auto type = m.find("type");
    if (type != m.end() && (!type->is_string() || type->get<std::string>() != "BPE")) {
      f.fail("model.type", type->dump() + " is not supported (supported: BPE)");
    }
    if (m.contains("dropout") && !m["dropout"].is_null()) {
      f.fail("model.dropout", "must be null (BPE dropout is not supported)");
    }
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      auto it = m.find(key);
      if (it != m.end() && !it->is_null() && !(it->is_string() && it->get<std::string>().empty())) {
        f.fail(std::string("model.") + key, "must be null or \"\" (got " + it->dump() + ")");
      }
    }
    ignore_merges = f.flag(m, "model.", "ignore_merges", false);
    byte_fallback = f.flag(m, "model.", "byte_fallback", false);
    fuse_unk = f.flag(m, "model.", "fuse_unk", false);

    const json& v = f.get(m, "model.", "vocab");
    if (!v.is_object()) f.fail("model.vocab", "must be an object of token -> id");
    vocab.reserve(v.size() * 2);
    int64_t max_id = -1;
    for (auto it = v.begin(); it != v.end(); ++it) {
      const int64_t id = f.id(it.value(), "model.vocab[\"" + it.key() + "\"]");
      vocab.emplace(it.key(), static_cast<int32_t>(id));
      max_id = std::max(max_id, id);
    }
    // The id -> token table is dense (max id + 1 entries). Real vocabularies number their tokens
    // 0..N-1; one whose largest id is far beyond its size would make that table arbitrarily big
    // (a single id of 777777254 asks for 25 GB), so it is refused.
    const int64_t entries = static_cast<int64_t>(v.size());
    if (max_id >= 2 * entries + 1024) {
      f.fail("model.vocab", "has " + std::to_string(entries) + " tokens but ids up to " +
                                std::to_string(max_id) +
                                "; the ids must number the tokens from 0 without large gaps");
    }
    id_to_token.assign(max_id + 1, std::string());
    has_token.assign(max_id + 1, false);
    for (const auto& [tok, id] : vocab) {
      if (has_token[id]) f.fail("model.vocab", "gives id " + std::to_string(id) + " twice");
      id_to_token[id] = tok;
      has_token[id] = true;
    }

    const json& unk = m.contains("unk_token") ? m["unk_token"] : json();
    if (!unk.is_null()) {
      if (!unk.is_string()) f.fail("model.unk_token", "must be a string or null");
      auto it = vocab.find(unk.get<std::string>());
      if (it == vocab.end()) f.fail("model.unk_token", unk.dump() + " is not in model.vocab");
      unk_id = it->second;
    }
    if (byte_fallback) {
      for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        auto it = vocab.find(name);
        byte_fallback_ids[b] = it == vocab.end() ? -1 : it->second;
      }
    }

    const json& mg = f.get(m, "model.", "merges");
    if (!mg.is_array()) f.fail("model.merges", "must be an array");
    merges.reserve(mg.size() * 2);
    for (size_t k = 0; k < mg.size(); ++k) {
      const std::string path = "model.merges[" + std::to_string(k) + "]";
      const json& e = mg[k];
      std::string a, b;
      if (e.is_string()) {
        const std::string s = e.get<std::string>();
        const size_t sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
          f.fail(path, "must be two tokens separated by one space, got " + e.dump());
        }
        a = s.substr(0, sp);
        b = s.substr(sp + 1);
      } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
        a = e[0].get<std::string>();
        b = e[1].get<std::string>();
      } else {
        f.fail(path, "must be \"a b\" or [\"a\", \"b\"], got " + e.dump());
      }
      auto ia = vocab.find(a), ib = vocab.find(b), iab = vocab.find(a + b);
      if (ia == vocab.end() || ib == vocab.end() || iab == vocab.end()) {
        f.fail(path, e.dump() + ": \"" +
                         (ia == vocab.end()   ? a
                          : ib == vocab.end() ? b
                                              : a + b) +
                         "\" is not in model.vocab");
      }
      merges.emplace(pair_key(ia->second, ib->second),
                     std::make_pair(static_cast<int32_t>(k), iab->second));
    }
  }

  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  void add_token(Added tok, const std::string& path, const Fields& f) {
    auto c = added_by_content.find(tok.content);
    auto i = added_by_id.find(tok.id);
    if (c != added_by_content.end() || i != added_by_id.end()) {
      if (c != added_by_content.end() && c->second == tok.id) return;  // the same token again
      f.fail(path, "(id " + std::to_string(tok.id) + ", \"" + tok.content +
                       "\") conflicts with another added token");
    }
    added_by_content.emplace(tok.content, tok.id);
    added_by_id.emplace(tok.id, added.size());
    auto& trie = tok.normalized ? normalized_trie : raw_trie;
    int32_t node = 0;
    for (char ch : tok.content) {
      const uint8_t byte = static_cast<uint8_t>(ch);
      auto& next = trie[node].next;
      auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(byte, int32_t{-1}));
      if (it != next.end() && it->first == byte) {
        node = it->second;
      } else {
        const int32_t fresh = static_cast<int32_t>(trie.size());
        next.insert(it, {byte, fresh});
        trie.emplace_back();
        node = fresh;
      }
    }
    trie[node].token = static_cast<int32_t>(added.size());
    added.push_back(std::move(tok));
  }

  void load_added(const json& list, const Fields& f) {
    if (list.is_null()) return;
    if (!list.is_array()) f.fail("added_tokens", "must be an array");
    for (size_t k = 0; k < list.size(); ++k) {
      const std::string path = "added_tokens[" + std::to_string(k) + "]";
      const json& e = list[k];
      if (!e.is_object()) f.fail(path, "must be an object, got " + e.dump());
      Added tok;
      tok.id = f.id(f.get(e, path + ".", "id"), path + ".id");
      tok.content = f.str(e, path + ".", "content");
      if (tok.content.empty()) f.fail(path + ".content", "is empty");
      if (!valid_utf8(tok.content)) f.fail(path + ".content", "is not valid UTF-8");
      tok.special = f.flag(e, path + ".", "special", false);
      tok.single_word = f.flag(e, path + ".", "single_word", false);
      tok.lstrip = f.flag(e, path + ".", "lstrip", false);
      tok.rstrip = f.flag(e, path + ".", "rstrip", false);
      tok.normalized = f.flag(e, path + ".", "normalized", !tok.special);
      add_token(std::move(tok), path, f);
    }
  }

  // ---- encoding ------------------------------------------------------------------------------

  // Leftmost-longest added-token matches of `trie` in s: (start, end, index into added), with
  // single_word / lstrip / rstrip applied as HF's AddedVocabulary.find_matches.
  struct Match {
    size_t start, end;
    size_t token;
  };
  std::vector<Match> find_added(const std::vector<TrieNode>& trie, std::string_view s) const {
    std::vector<Match> out;
    if (trie[0].next.empty()) return out;
    size_t start_offset = 0;
    for (size_t pos = 0; pos < s.size();) {
      int32_t node = 0, best = -1;
      size_t best_end = 0;
      for (size_t i = pos; i < s.size(); ++i) {
        const auto& next = trie[node].next;
        const uint8_t byte = static_cast<uint8_t>(s[i]);
        auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(byte, int32_t{-1}));
        if (it == next.end() || it->first != byte) break;
        node = it->second;
        if (trie[node].token >= 0) {
          best = trie[node].token;
          best_end = i + 1;
        }
      }
      if (best < 0) {
        ++pos;
        continue;
      }
      const Added& tok = added[best];
      size_t start = pos, stop = best_end;
      if (tok.single_word) {
        const bool start_space = start == 0 || is_white_space(last_cp(s.substr(0, start)));
        const bool stop_space = stop == s.size() || is_white_space(first_cp(s.substr(stop)));
        if (!start_space || !stop_space) {
          pos = best_end;  // the automaton moves past the rejected match
          continue;
        }
      }
      if (tok.lstrip) {
        while (start > start_offset && is_white_space(last_cp(s.substr(0, start)))) {
          size_t i = start - 1;
          while (i > 0 && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80) --i;
          start = i;
        }
        start = std::max(start, start_offset);
      }
      if (tok.rstrip) {
        while (stop < s.size() && is_white_space(first_cp(s.substr(stop)))) {
          stop += utf8_len(s, stop);
        }
      }
      out.push_back({start, stop, static_cast<size_t>(best)});
      start_offset = stop;
      pos = stop;
    }
    return out;
  }

  void normalized_piece(std::string_view raw, std::vector<int64_t>& ids) const {
    const std::string norm = nfc ? unicode::nfc(raw) : std::string(raw);
    size_t at = 0;
    for (const Match& m : find_added(normalized_trie, norm)) {
      if (m.start > at) pre_tokenized_piece(std::string_view(norm).substr(at, m.start - at), ids);
      ids.push_back(added[m.token].id);
      at = m.end;
    }
    if (at < norm.size()) pre_tokenized_piece(std::string_view(norm).substr(at), ids);
  }

  // Cuts `s` at the matches of `re` (behaviour Isolated), calling emit on each non-empty piece.
  template <typename Emit>
  static void split_isolated(const Regex& re, std::string_view s, pcre2_match_data* md,
                             Emit&& emit) {
    size_t pos = 0, last = 0;
    while (pos <= s.size()) {
      const int rc = pcre2_match(re.code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), pos,
                                 PCRE2_NO_UTF_CHECK, md, nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) throw InternalError("pcre2_match failed with " + std::to_string(rc));
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      const size_t ms = ov[0], me = ov[1];
      if (me == ms) {  // empty match: not a piece; step over one character
        if (ms >= s.size()) break;
        pos = ms + std::max<size_t>(1, utf8_len(s, ms));
        continue;
      }
      if (ms > last) emit(s.substr(last, ms - last));
      emit(s.substr(ms, me - ms));
      last = pos = me;
    }
    if (last < s.size()) emit(s.substr(last));
  }

  struct MatchData {
    pcre2_match_data* md;
    MatchData() : md(pcre2_match_data_create(4, nullptr)) {}
    ~MatchData() { pcre2_match_data_free(md); }
  };

  void pre_tokenized_piece(std::string_view s, std::vector<int64_t>& ids) const {
    MatchData md;
    std::vector<std::string> pieces{std::string(s)};
    auto run_split = [&](const Regex& re) {
      std::vector<std::string> next;
      for (const std::string& p : pieces) {
        split_isolated(re, p, md.md, [&](std::string_view q) { next.emplace_back(q); });
      }
      pieces = std::move(next);
    };
    for (const auto& re : splits) run_split(*re);
    if (byte_level) {
      if (byte_level_prefix_space) {
        for (std::string& p : pieces) {
          if (p.empty() || p[0] != ' ') p.insert(0, " ");
        }
      }
      if (byte_level_regex) run_split(*byte_level_regex);
      std::string mapped;
      for (const std::string& p : pieces) {
        mapped.clear();
        for (char ch : p) mapped += byte_chars[static_cast<uint8_t>(ch)];
        bpe(mapped, &p, ids);
      }
    } else {
      for (const std::string& p : pieces) bpe(p, nullptr, ids);
    }
  }

  // HF's BPE::tokenize of one pre-token (word), ids appended to `ids`.
  // `raw`, when given, is the bytes whose ByteLevel characters make up `word`.
  void bpe(const std::string& word, const std::string* raw, std::vector<int64_t>& ids) const {
    if (word.empty()) return;
    if (ignore_merges) {
      auto it = vocab.find(word);
      if (it != vocab.end()) {
        ids.push_back(it->second);
        return;
      }
    }
    struct Symbol {
      int32_t id;
      int32_t prev, next;
      bool alive;
    };
    std::vector<Symbol> sym;
    sym.reserve(word.size());
    bool prev_unk = false;
    std::string ch;
    bool direct = raw != nullptr;  // every byte's character is in the vocabulary
    if (direct) {
      for (char c : *raw) direct = direct && byte_char_ids[static_cast<uint8_t>(c)] >= 0;
    }
    if (direct) {
      for (char c : *raw) sym.push_back({byte_char_ids[static_cast<uint8_t>(c)], 0, 0, true});
    }
    for (size_t i = 0; !direct && i < word.size();) {
      const size_t n = std::max<size_t>(1, utf8_len(word, i));
      ch.assign(word, i, n);
      i += n;
      auto it = vocab.find(ch);
      if (it != vocab.end()) {
        sym.push_back({it->second, 0, 0, true});
        prev_unk = false;
        continue;
      }
      if (byte_fallback) {
        bool all = true;
        for (char c : ch) all = all && byte_fallback_ids[static_cast<uint8_t>(c)] >= 0;
        if (all) {
          for (char c : ch) sym.push_back({byte_fallback_ids[static_cast<uint8_t>(c)], 0, 0, true});
          prev_unk = false;
          continue;
        }
      }
      if (unk_id) {
        if (!(fuse_unk && prev_unk)) sym.push_back({*unk_id, 0, 0, true});
        prev_unk = true;
      }
    }
    const int32_t n = static_cast<int32_t>(sym.size());
    for (int32_t i = 0; i < n; ++i) {
      sym[i].prev = i - 1;
      sym[i].next = i + 1 < n ? i + 1 : -1;
    }
    struct Cand {
      int32_t rank, pos, new_id;
      bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
    auto consider = [&](int32_t left) {
      if (left < 0) return;
      const int32_t right = sym[left].next;
      if (right < 0) return;
      auto it = merges.find(pair_key(sym[left].id, sym[right].id));
      if (it != merges.end()) heap.push({it->second.first, left, it->second.second});
    };
    for (int32_t i = 0; i + 1 < n; ++i) consider(i);
    while (!heap.empty()) {
      const Cand top = heap.top();
      heap.pop();
      Symbol& l = sym[top.pos];
      if (!l.alive || l.next < 0) continue;
      Symbol& r = sym[l.next];
      auto it = merges.find(pair_key(l.id, r.id));
      if (it == merges.end() || it->second.second != top.new_id) continue;
      l.id = top.new_id;
      r.alive = false;
      l.next = r.next;
      if (r.next >= 0) sym[r.next].prev = top.pos;
      consider(l.prev);
      consider(top.pos);
    }
    for (int32_t i = n > 0 ? 0 : -1; i >= 0; i = sym[i].next) ids.push_back(sym[i].id);
  }
};

BpeTokenizer::BpeTokenizer(const TokenizerSpec& spec) {
  auto impl = std::make_unique<Impl>();
  impl->spec = spec;
  impl->where = spec.file.string();
  const Fields f(impl->where);

  std::ifstream in(spec.file, std::ios::binary);
  check_user(in.good(), "cannot open tokenizer file " + impl->where);
  json j;
  try {
    j = json::parse(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } catch (const json::exception& e) {
    throw UserError(impl->where + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw UserError(impl->where + ": must be a JSON object");

  const auto cps = byte_to_code_point();
  for (int b = 0; b < 256; ++b) {
    append_utf8(cps[b], impl->byte_chars[b]);
    impl->char_bytes[cps[b]] = static_cast<uint8_t>(b);
  }
  impl->load_model(f.get(j, "", "model"), f);
  for (int b = 0; b < 256; ++b) {
    auto it = impl->vocab.find(impl->byte_chars[b]);
    impl->byte_char_ids[b] = it == impl->vocab.end() ? -1 : it->second;
  }
  impl->load_normalizer(j.contains("normalizer") ? j["normalizer"] : json(), "normalizer", f);
  impl->load_pre_tokenizer(j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json(),
                           "pre_tokenizer", f);
  impl->load_post_processor(j.contains("post_processor") ? j["post_processor"] : json(),
                            "post_processor", f);
  const json& dec = f.get(j, "", "decoder");
  if (!dec.is_object() || f.str(dec, "decoder.", "type") != "ByteLevel") {
    f.fail("decoder", "must be {\"type\": \"ByteLevel\", ...}, got " + dec.dump());
  }
  impl->byte_level_decoder = true;
  impl->load_added(j.contains("added_tokens") ? j["added_tokens"] : json(), f);

  // Manifest added tokens the file lacks are added as transformers adds added_tokens_decoder.
  const Fields mf("manifest.json");
  for (size_t k = 0; k < spec.added_tokens.size(); ++k) {
    const AddedToken& t = spec.added_tokens[k];
    Impl::Added tok{t.id, t.content, false, false, false, !t.special, t.special};
    impl->add_token(std::move(tok), "tokenizer.added_tokens[" + std::to_string(k) + "]", mf);
  }
  impl->vocab_end = static_cast<int64_t>(impl->id_to_token.size());
  for (const auto& a : impl->added) impl->vocab_end = std::max(impl->vocab_end, a.id + 1);

  auto check_id = [&](int64_t id, const std::string& name) {
    const bool known = (id < static_cast<int64_t>(impl->has_token.size()) && impl->has_token[id]) ||
                       impl->added_by_id.count(id) != 0;
    check_user(known, "manifest.json: tokenizer." + name + " " + std::to_string(id) +
                          " is no token of " + impl->where);
  };
  for (const auto& [name, id] : spec.named_ids()) check_id(id, name);
  impl->skip_ids.insert(spec.skip_ids.begin(), spec.skip_ids.end());
  for (int64_t id : impl->prefix) check_id(id, "(post_processor id)");
  for (int64_t id : impl->suffix) check_id(id, "(post_processor id)");
  const bool file_bos = impl->prefix.size() == 1 && spec.bos_id && impl->prefix[0] == *spec.bos_id;
  check_user(
      spec.add_bos ? file_bos : impl->prefix.empty(),
      std::string("manifest.json: tokenizer.add_bos is ") + (spec.add_bos ? "true" : "false") +
          " but the post_processor of " + impl->where + " prepends " +
          std::to_string(impl->prefix.size()) + " token(s)" +
          (impl->prefix.empty() ? "" : " starting with id " + std::to_string(impl->prefix[0])));
  impl_ = std::move(impl);
}

BpeTokenizer::~BpeTokenizer() = default;

std::vector<int64_t> BpeTokenizer::encode(const std::string& input) const {
  const Impl& m = *impl_;
  const std::string text = valid_utf8(input) ? input : to_valid_utf8(input);
  std::vector<int64_t> ids(m.prefix.begin(), m.prefix.end());
  ids.reserve(text.size() / 3 + 8);
  size_t at = 0;
  for (const Impl::Match& match : m.find_added(m.raw_trie, text)) {
    if (match.start > at)
      m.normalized_piece(std::string_view(text).substr(at, match.start - at), ids);
    ids.push_back(m.added[match.token].id);
    at = match.end;
  }
  if (at < text.size()) m.normalized_piece(std::string_view(text).substr(at), ids);
  ids.insert(ids.end(), m.suffix.begin(), m.suffix.end());
  return ids;
}

std::optional<std::string> BpeTokenizer::id_to_token(int64_t id) const {
  const Impl& m = *impl_;
  auto a = m.added_by_id.find(id);
  if (a != m.added_by_id.end()) return m.added[a->second].content;
  if (id >= 0 && id < static_cast<int64_t>(m.has_token.size()) && m.has_token[id]) {
    return m.id_to_token[id];
  }
  return std::nullopt;
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  const Impl& m = *impl_;
  std::string bytes;
  for (int64_t id : ids) {
    if (skip_special && m.skip_ids.count(id) != 0) continue;
    const std::optional<std::string> tok = id_to_token(id);
    check_user(tok.has_value(), "token id " + std::to_string(id) + " is no token of " + m.where +
                                    " (vocabulary of " + std::to_string(m.id_to_token.size()) +
                                    " ids, and no added token has it)");
    // ByteLevel decoder: every character through the byte map, or the token's own UTF-8 when one
    // of its characters is not in the map.
    const std::string& t = *tok;
    const size_t mark = bytes.size();
    bool mapped = true;
    for (size_t i = 0; i < t.size();) {
      const size_t n = std::max<size_t>(1, utf8_len(t, i));
      auto it = m.char_bytes.find(decode_cp(t, i, n));
      if (it == m.char_bytes.end()) {
        mapped = false;
        break;
      }
      bytes += static_cast<char>(it->second);
      i += n;
    }
    if (!mapped) {
      bytes.resize(mark);
      bytes += t;
    }
  }
  std::string text = to_valid_utf8(bytes);
  if (m.spec.clean_up_tokenization) {
    text_detail::clean_up_tokenization(text);
  }
  return text;
}

std::optional<int64_t> BpeTokenizer::token_to_id(const std::string& token) const {
  const Impl& m = *impl_;
  auto a = m.added_by_content.find(token);
  if (a != m.added_by_content.end()) return a->second;
  auto v = m.vocab.find(token);
  if (v != m.vocab.end()) return v->second;
  return std::nullopt;
}

int64_t BpeTokenizer::vocab_size() const {
  return impl_->vocab_end;
}

}  // namespace vlm
