// The key of a YAML mapping entry as text. YAML allows lists and mappings as keys (`? [a, b]: x`),
// which yaml-cpp refuses to convert to a string with an exception of its own; no config of this
// project has such keys, so they are a UserError naming the file and section instead.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "vlm/core/error.h"

namespace vlm {

// `where` names the file and the mapping, e.g. "configs/placements/x.yaml: pin".
inline std::string yaml_key(const YAML::Node& key, const std::string& where) {
  check_user(key.IsScalar(), where + ": a key must be a plain name, got a " +
                                 (key.IsSequence() ? "list"
                                  : key.IsMap()    ? "mapping"
                                                   : "null"));
  return key.Scalar();
}

}  // namespace vlm
