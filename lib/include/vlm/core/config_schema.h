// The declared keys and value types of one kind of config file (model, dataset, placement, the
// --config JSON), and the one check of a parsed YAML or JSON document against them: every reader
// declares its keys in one table and calls check_config before reading any value.
#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vlm {

struct ConfigKey;

// The type a config value must have. YAML scalars are untyped text, so a YAML value is a string
// when it is any scalar, an integer when the scalar reads as one; JSON values must have the JSON
// type itself (a string "8" is not an integer).
class ConfigSchema {
 public:
  enum class Kind {
    kString,   // text (YAML: any scalar; JSON: a string)
    kInteger,  // a whole number within int64 (YAML: a scalar yaml-cpp reads as int64; JSON: an
               // integer, not a float or a bool)
    kBoolean,  // true or false (YAML also yes/no, on/off as yaml-cpp reads them)
    kScalar,   // a single value, text or a number, that the reader parses (sizes, devices)
    kList,     // a list of element() values
    kMap,      // a mapping of free names (model names, unit names, devices) to element() values
    kSection,  // a mapping whose keys must be among keys()
  };

  static ConfigSchema string();
  static ConfigSchema integer();
  static ConfigSchema boolean();
  // `what` names it in messages: "a size (bytes, or 40GiB, 512MiB, 1.5GB)".
  static ConfigSchema scalar(const std::string& what);
  static ConfigSchema list_of(const ConfigSchema& element);
  static ConfigSchema map_of(const ConfigSchema& element);
  static ConfigSchema section(std::vector<ConfigKey> keys);

  // This type, also accepting a null value (`key:` with nothing after it, `~`, JSON null), which
  // the reader treats as an absent key. Without it a null value is a wrong type.
  ConfigSchema or_null() const;

  Kind kind() const { return kind_; }
  bool accepts_null() const { return accepts_null_; }
  const ConfigSchema& element() const;         // kList, kMap only
  const std::vector<ConfigKey>& keys() const;  // kSection only
  // What a value must be, for messages: "an integer", "a list of strings", "a mapping {name:
  // integer}", "a mapping with keys a, b". `json` says object instead of mapping.
  std::string expected(bool json) const;

 private:
  explicit ConfigSchema(Kind kind) : kind_(kind) {}

  Kind kind_;
  bool accepts_null_ = false;
  std::string what_;                                    // kScalar's name
  std::shared_ptr<const ConfigSchema> element_;         // kList, kMap
  std::shared_ptr<const std::vector<ConfigKey>> keys_;  // kSection
};

// One declared key of a section.
struct ConfigKey {
  std::string name;
  ConfigSchema type;
};

// Checks `document` against `schema` (the whole document: usually a section). Throws UserError
//   "<where>: <key.path>: unknown key '<name>' (closest: <nearest declared key>; known: <keys of
//    that section>)"
// for a key a section does not declare (the nearest key may be one of a subsection, given as its
// path from that section: max_new_token -> generation.max_new_tokens), or
//   "<where>: <key.path>: expected <type>, got <what it is>"
// for a value of the wrong type; a section's unknown keys are reported before its values are
// checked. Key paths join keys with '.' and list positions as [i] ("devices[1]", "pin.mlp1",
// "model.M.max_new_tokens"). A YAML key that is a list or a mapping is a UserError (yaml_key).
// `where` is the file name as messages should show it.
void check_config(const YAML::Node& document, const ConfigSchema& schema, const std::string& where);
void check_config(const nlohmann::json& document, const ConfigSchema& schema,
                  const std::string& where);
void check_config(const nlohmann::ordered_json& document, const ConfigSchema& schema,
                  const std::string& where);

}  // namespace vlm
