#include "vlm/core/config_schema.h"

#include <algorithm>
#include <cstdint>

#include "vlm/core/closest_names.h"
#include "vlm/core/error.h"
#include "vlm/core/json_int.h"
#include "vlm/core/yaml_key.h"

namespace vlm {
namespace {

// `text` cut to `n` characters for messages.
std::string shorten(const std::string& text, size_t n = 60) {
  return text.size() <= n ? text : text.substr(0, n) + "...";
}

std::string join_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

// "<where>: <path>", or "<where>" for the document itself.
std::string at(const std::string& where, const std::string& path) {
  return path.empty() ? where : where + ": " + path;
}

// A parsed YAML document as check_value sees it.
struct YamlDoc {
  using Node = YAML::Node;
  static constexpr bool kJson = false;
  static bool is_null(const Node& n) { return !n.IsDefined() || n.IsNull(); }
  static bool is_map(const Node& n) { return n.IsMap(); }
  static bool is_list(const Node& n) { return n.IsSequence(); }
  static bool is_string(const Node& n) { return n.IsScalar(); }
  static bool is_integer(const Node& n) {
    int64_t v = 0;
    return n.IsScalar() && YAML::convert<int64_t>::decode(n, v);
  }
  static bool is_boolean(const Node& n) {
    bool v = false;
    return n.IsScalar() && YAML::convert<bool>::decode(n, v);
  }
  static bool is_scalar(const Node& n) { return n.IsScalar(); }
  static std::string got(const Node& n) {
    if (is_null(n)) return "nothing (null)";
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a mapping";
    return "'" + shorten(n.Scalar()) + "'";
  }
  // f(key, value) for each entry of a mapping, in document order; `where` names the mapping for
  // the error of a key that is not a plain name.
  template <typename F>
  static void for_each_entry(const Node& n, const std::string& where, F&& f) {
    for (auto it = n.begin(); it != n.end(); ++it) f(yaml_key(it->first, where), it->second);
  }
  template <typename F>
  static void for_each_item(const Node& n, F&& f) {
    size_t i = 0;
    for (auto it = n.begin(); it != n.end(); ++it) f(i++, Node(*it));
  }
};

// A parsed JSON document (nlohmann::json or ordered_json) as check_value sees it.
template <typename Json>
struct JsonDoc {
  using Node = Json;
  static constexpr bool kJson = true;
  static bool is_null(const Node& n) { return n.is_null(); }
  static bool is_map(const Node& n) { return n.is_object(); }
  static bool is_list(const Node& n) { return n.is_array(); }
  static bool is_string(const Node& n) { return n.is_string(); }
  static bool is_integer(const Node& n) { return json_integer<int64_t>(n).has_value(); }
  static bool is_boolean(const Node& n) { return n.is_boolean(); }
  static bool is_scalar(const Node& n) { return n.is_string() || n.is_number(); }
  static std::string got(const Node& n) {
    return shorten(n.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  template <typename F>
  static void for_each_entry(const Node& n, const std::string& /*where*/, F&& f) {
    for (auto it = n.begin(); it != n.end(); ++it) f(it.key(), it.value());
  }
  template <typename F>
  static void for_each_item(const Node& n, F&& f) {
    size_t i = 0;
    for (const Node& item : n) f(i++, item);
  }
};

// The keys of `section`'s subsections (at any depth) as paths from it: "generation.max_new_tokens".
void add_subsection_paths(const ConfigSchema& section, const std::string& prefix,
                          std::vector<std::string>& out) {
  for (const ConfigKey& k : section.keys()) {
    if (k.type.kind() != ConfigSchema::Kind::kSection) continue;
    for (const ConfigKey& sub : k.type.keys()) out.push_back(prefix + k.name + "." + sub.name);
    add_subsection_paths(k.type, prefix + k.name + ".", out);
  }
}

[[noreturn]] void unknown_key(const std::string& where, const std::string& path,
                              const std::string& name, const ConfigSchema& section) {
  std::vector<std::string> known;
  for (const ConfigKey& k : section.keys()) known.push_back(k.name);
  // The section's own keys first, so that they win ties over a subsection's.
  std::vector<std::string> candidates = known;
  add_subsection_paths(section, "", candidates);
  const std::vector<std::string> closest = closest_names(name, candidates, 1);
  throw UserError(at(where, join_path(path, name)) + ": unknown key '" + name +
                  "' (closest: " + (closest.empty() ? std::string("none") : closest[0]) +
                  "; known: " + join_names(known) + ")");
}

const ConfigSchema* find_key(const ConfigSchema& section, const std::string& name) {
  for (const ConfigKey& k : section.keys())
    if (k.name == name) return &k.type;
  return nullptr;
}

template <typename Doc>
void check_value(const typename Doc::Node& n, const ConfigSchema& s, const std::string& where,
                 const std::string& path) {
  using Kind = ConfigSchema::Kind;
  auto fail = [&] {
    throw UserError(at(where, path) + ": expected " + s.expected(Doc::kJson) + ", got " +
                    Doc::got(n));
  };
  if (Doc::is_null(n)) {
    if (s.accepts_null()) return;
    fail();
  }
  switch (s.kind()) {
    case Kind::kString:
      if (!Doc::is_string(n)) fail();
      return;
    case Kind::kInteger:
      if (!Doc::is_integer(n)) fail();
      return;
    case Kind::kBoolean:
      if (!Doc::is_boolean(n)) fail();
      return;
    case Kind::kScalar:
      if (!Doc::is_scalar(n)) fail();
      return;
    case Kind::kList:
      if (!Doc::is_list(n)) fail();
      Doc::for_each_item(n, [&](size_t i, const typename Doc::Node& item) {
        check_value<Doc>(item, s.element(), where, path + "[" + std::to_string(i) + "]");
      });
      return;
    case Kind::kMap:
      if (!Doc::is_map(n)) fail();
      Doc::for_each_entry(n, at(where, path),
                          [&](const std::string& key, const typename Doc::Node& value) {
                            check_value<Doc>(value, s.element(), where, join_path(path, key));
                          });
      return;
    case Kind::kSection:
      if (!Doc::is_map(n)) fail();
      Doc::for_each_entry(n, at(where, path),
                          [&](const std::string& key, const typename Doc::Node&) {
                            if (!find_key(s, key)) unknown_key(where, path, key, s);
                          });
      Doc::for_each_entry(n, at(where, path),
                          [&](const std::string& key, const typename Doc::Node& value) {
                            check_value<Doc>(value, *find_key(s, key), where, join_path(path, key));
                          });
      return;
  }
}

}  // namespace

ConfigSchema ConfigSchema::string() {
  return ConfigSchema(Kind::kString);
}
ConfigSchema ConfigSchema::integer() {
  return ConfigSchema(Kind::kInteger);
}
ConfigSchema ConfigSchema::boolean() {
  return ConfigSchema(Kind::kBoolean);
}
ConfigSchema ConfigSchema::scalar(const std::string& what) {
  ConfigSchema s(Kind::kScalar);
  s.what_ = what;
  return s;
}
ConfigSchema ConfigSchema::list_of(const ConfigSchema& element) {
  ConfigSchema s(Kind::kList);
  s.element_ = std::make_shared<const ConfigSchema>(element);
  return s;
}
ConfigSchema ConfigSchema::map_of(const ConfigSchema& element) {
  ConfigSchema s(Kind::kMap);
  s.element_ = std::make_shared<const ConfigSchema>(element);
  return s;
}
ConfigSchema ConfigSchema::section(std::vector<ConfigKey> keys) {
  for (size_t i = 0; i < keys.size(); ++i)
    for (size_t k = 0; k < i; ++k)
      check_internal(keys[i].name != keys[k].name,
                     "config schema declares key '" + keys[i].name + "' twice");
  ConfigSchema s(Kind::kSection);
  s.keys_ = std::make_shared<const std::vector<ConfigKey>>(std::move(keys));
  return s;
}

ConfigSchema ConfigSchema::or_null() const {
  ConfigSchema s = *this;
  s.accepts_null_ = true;
  return s;
}

const ConfigSchema& ConfigSchema::element() const {
  check_internal(element_ != nullptr, "ConfigSchema::element() of a type that is no list or map");
  return *element_;
}

const std::vector<ConfigKey>& ConfigSchema::keys() const {
  check_internal(keys_ != nullptr, "ConfigSchema::keys() of a type that is no section");
  return *keys_;
}

std::string ConfigSchema::expected(bool json) const {
  const std::string mapping = json ? "an object" : "a mapping";
  switch (kind_) {
    case Kind::kString:
      return "a string";
    case Kind::kInteger:
      return "an integer";
    case Kind::kBoolean:
      return "true or false";
    case Kind::kScalar:
      return what_;
    case Kind::kList:
      return "a list [" + element().expected(json) + ", ...]";
    case Kind::kMap:
      return mapping + " {name: " + element().expected(json) + "}";
    case Kind::kSection: {
      std::vector<std::string> names;
      for (const ConfigKey& k : keys()) names.push_back(k.name);
      return mapping + " with keys " + join_names(names);
    }
  }
  return "?";
}

void check_config(const YAML::Node& document, const ConfigSchema& schema,
                  const std::string& where) {
  check_value<YamlDoc>(document, schema, where, "");
}

void check_config(const nlohmann::json& document, const ConfigSchema& schema,
                  const std::string& where) {
  check_value<JsonDoc<nlohmann::json>>(document, schema, where, "");
}

void check_config(const nlohmann::ordered_json& document, const ConfigSchema& schema,
                  const std::string& where) {
  check_value<JsonDoc<nlohmann::ordered_json>>(document, schema, where, "");
}

}  // namespace vlm
