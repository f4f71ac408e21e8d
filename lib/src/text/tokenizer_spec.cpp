#include "vlm/text/tokenizer_spec.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>

#include "vlm/core/error.h"
#include "vlm/text/bpe_tokenizer.h"
#include "vlm/text/sentencepiece_tokenizer.h"

namespace vlm {
namespace {

const std::string kWhere = "manifest.json: tokenizer.";

// `key` is a C string so that no temporary is bound at call sites (GCC 13 -Wdangling-reference).
const nlohmann::json& field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) throw UserError(kWhere + key + " missing");
  return *it;
}

int64_t as_id(const nlohmann::json& v, const std::string& name) {
  check_user(v.is_number_integer(), kWhere + name + " must be an integer, got " + v.dump());
  const int64_t id = v.get<int64_t>();
  check_user(id >= 0, kWhere + name + " must be >= 0, got " + std::to_string(id));
  return id;
}

std::optional<int64_t> optional_id(const nlohmann::json& j, const std::string& key) {
  const nlohmann::json& v = field(j, key.c_str());
  if (v.is_null()) return std::nullopt;
  return as_id(v, key);
}

}  // namespace

TokenizerSpec TokenizerSpec::from_json(const nlohmann::json& j,
                                       const std::filesystem::path& model_dir) {
  check_user(j.is_object(), "manifest.json: tokenizer must be an object, got " + j.dump());
  TokenizerSpec spec;

  const nlohmann::json& kind = field(j, "kind");
  check_user(kind.is_string(), kWhere + "kind must be a string, got " + kind.dump());
  if (kind.get<std::string>() == "sentencepiece") {
    spec.kind = TokenizerKind::kSentencePiece;
  } else if (kind.get<std::string>() == "bpe") {
    spec.kind = TokenizerKind::kBpe;
  } else {
    throw UserError(kWhere + "kind " + kind.dump() +
                    " is not supported (supported: sentencepiece, bpe)");
  }

  const nlohmann::json& file = field(j, "file");
  check_user(file.is_string() && !file.get<std::string>().empty(),
             kWhere + "file must be a non-empty string, got " + file.dump());
  spec.file = std::filesystem::path(file.get<std::string>());
  if (spec.file.is_relative()) spec.file = model_dir / spec.file;
  check_user(std::filesystem::is_regular_file(spec.file),
             kWhere + "file: " + spec.file.string() + " does not exist");

  const nlohmann::json& add_bos = field(j, "add_bos");
  check_user(add_bos.is_boolean(), kWhere + "add_bos must be true or false, got " + add_bos.dump());
  spec.add_bos = add_bos.get<bool>();
  spec.bos_id = optional_id(j, "bos_id");
  spec.eos_id = optional_id(j, "eos_id");
  spec.unk_id = optional_id(j, "unk_id");
  spec.pad_id = optional_id(j, "pad_id");
  check_user(!spec.add_bos || spec.bos_id.has_value(),
             kWhere + "add_bos is true but bos_id is null");

  const nlohmann::json& added = field(j, "added_tokens");
  check_user(added.is_array(), kWhere + "added_tokens must be an array, got " + added.dump());
  std::set<int64_t> seen_ids;
  std::set<std::string> seen_contents;
  for (size_t k = 0; k < added.size(); ++k) {
    const std::string name = "added_tokens[" + std::to_string(k) + "]";
    const nlohmann::json& e = added[k];
    check_user(e.is_object(), kWhere + name + " must be an object, got " + e.dump());
    AddedToken tok;
    auto id = e.find("id");
    check_user(id != e.end(), kWhere + name + ".id missing");
    tok.id = as_id(*id, name + ".id");
    auto content = e.find("content");
    check_user(content != e.end(), kWhere + name + ".content missing");
    check_user(content->is_string() && !content->get<std::string>().empty(),
               kWhere + name + ".content must be a non-empty string, got " + content->dump());
    tok.content = content->get<std::string>();
    auto special = e.find("special");
    if (special != e.end()) {
      check_user(special->is_boolean(),
                 kWhere + name + ".special must be true or false, got " + special->dump());
      tok.special = special->get<bool>();
    }
    for (const char* flag : {"lstrip", "rstrip"}) {
      auto f = e.find(flag);
      if (f == e.end()) continue;
      check_user(f->is_boolean(),
                 kWhere + name + "." + flag + " must be true or false, got " + f->dump());
      (std::string(flag) == "lstrip" ? tok.lstrip : tok.rstrip) = f->get<bool>();
    }
    check_user(seen_ids.insert(tok.id).second,
               kWhere + name + ".id " + std::to_string(tok.id) + " appears twice");
    check_user(seen_contents.insert(tok.content).second,
               kWhere + name + ".content \"" + tok.content + "\" appears twice");
    spec.added_tokens.push_back(std::move(tok));
  }

  const nlohmann::json& skip = field(j, "skip_ids");
  check_user(skip.is_array(), kWhere + "skip_ids must be an array, got " + skip.dump());
  for (size_t k = 0; k < skip.size(); ++k) {
    spec.skip_ids.push_back(as_id(skip[k], "skip_ids[" + std::to_string(k) + "]"));
  }

  auto cleanup = j.find("clean_up_tokenization");
  if (cleanup != j.end()) {
    check_user(cleanup->is_boolean(),
               kWhere + "clean_up_tokenization must be true or false, got " + cleanup->dump());
    spec.clean_up_tokenization = cleanup->get<bool>();
  }
  auto legacy = j.find("legacy");
  if (legacy != j.end()) {
    check_user(legacy->is_boolean(),
               kWhere + "legacy must be true or false, got " + legacy->dump());
    spec.legacy = legacy->get<bool>();
  }
  return spec;
}

std::unique_ptr<Tokenizer> make_tokenizer(const TokenizerSpec& spec) {
  switch (spec.kind) {
    case TokenizerKind::kSentencePiece:
      return std::make_unique<SentencePieceTokenizer>(spec);
    case TokenizerKind::kBpe:
      return std::make_unique<BpeTokenizer>(spec);
  }
  throw InternalError("make_tokenizer: unhandled TokenizerKind");
}

}  // namespace vlm
