#include "vlm/text/chat_template.h"

#include <cstdint>
#include <nlohmann/json.hpp>

#include "vlm/core/error.h"

namespace vlm {
namespace {

const std::string kWhere = "manifest.json: template.";

std::string string_field(const nlohmann::json& j, const std::string& key) {
  auto it = j.find(key);
  check_user(it != j.end(), kWhere + key + " missing");
  check_user(it->is_string(), kWhere + key + " must be a string, got " + it->dump());
  return it->get<std::string>();
}

// Python's str.format(system_message=...) for a template whose only field is {system_message}.
std::string format_system(const std::string& tmpl, const std::string& message) {
  static const std::string kField = "{system_message}";
  std::string out;
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl.compare(i, 2, "{{") == 0 || tmpl.compare(i, 2, "}}") == 0) {
      out += tmpl[i];
      i += 2;
    } else if (tmpl.compare(i, kField.size(), kField) == 0) {
      out += message;
      i += kField.size();
    } else if (tmpl[i] == '{' || tmpl[i] == '}') {
      throw UserError(kWhere +
                      "system_template: only {system_message} may appear in braces (use "
                      "{{ and }} for literal braces); bad brace at byte " +
                      std::to_string(i) + " of \"" + tmpl + "\"");
    } else {
      out += tmpl[i++];
    }
  }
  return out;
}

size_t count_occurrences(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + what.size())) {
    ++n;
  }
  return n;
}

}  // namespace

ChatTemplate ChatTemplate::from_json(const nlohmann::json& j) {
  check_user(j.is_object(), "manifest.json: template must be an object, got " + j.dump());
  ChatTemplate t;
  t.name = string_field(j, "name");
  t.system_template = string_field(j, "system_template");
  t.system_message = string_field(j, "system_message");
  t.sep = string_field(j, "sep");
  check_user(!python_strip(t.sep).empty(),
             kWhere + "sep must contain more than whitespace, got \"" + t.sep + "\"");
  auto roles = j.find("roles");
  check_user(roles != j.end(), kWhere + "roles missing");
  check_user(roles->is_array(), kWhere + "roles must be an array, got " + roles->dump());
  check_user(roles->size() == 2,
             kWhere + "roles must have 2 entries, got " + std::to_string(roles->size()));
  for (size_t k = 0; k < roles->size(); ++k) {
    const nlohmann::json& r = (*roles)[k];
    check_user(r.is_string(),
               kWhere + "roles[" + std::to_string(k) + "] must be a string, got " + r.dump());
    t.roles.push_back(r.get<std::string>());
  }
  format_system(t.system_template, t.system_message);  // validates the braces now
  return t;
}

std::string ChatTemplate::render(const std::string& question) const {
  check_internal(roles.size() == 2, "ChatTemplate::render: roles must have 2 entries");
  return format_system(system_template, system_message) + sep + roles[0] + question + sep +
         roles[1];
}

std::string ChatTemplate::postprocess_response(const std::string& decoded) const {
  const std::string stop = python_strip(sep);
  const size_t at = stop.empty() ? std::string::npos : decoded.find(stop);
  return python_strip(at == std::string::npos ? decoded : decoded.substr(0, at));
}

std::string expand_image_tokens(const std::string& query, const std::vector<int>& tiles_per_image,
                                int num_image_token) {
  const std::string marker = kImageMarker;
  const size_t markers = count_occurrences(query, marker);
  check_user(markers == tiles_per_image.size(),
             "prompt has " + std::to_string(markers) + " <image> marker(s) but " +
                 std::to_string(tiles_per_image.size()) + " image(s) were given");
  check_user(num_image_token > 0,
             "num_image_token must be > 0, got " + std::to_string(num_image_token));
  std::string out;
  size_t pos = 0;
  for (size_t k = 0; k < tiles_per_image.size(); ++k) {
    check_user(tiles_per_image[k] > 0, "image " + std::to_string(k) + " has " +
                                           std::to_string(tiles_per_image[k]) +
                                           " tiles; must be > 0");
    const size_t hit = query.find(marker, pos);
    out.append(query, pos, hit - pos);
    out += kImgStartToken;
    const size_t n = static_cast<size_t>(num_image_token) * static_cast<size_t>(tiles_per_image[k]);
    const std::string context = kImgContextToken;
    out.reserve(out.size() + n * context.size());
    for (size_t i = 0; i < n; ++i) out += context;
    out += kImgEndToken;
    pos = hit + marker.size();
  }
  out.append(query, pos, std::string::npos);
  return out;
}

}  // namespace vlm
