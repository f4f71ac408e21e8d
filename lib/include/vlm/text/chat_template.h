// ChatTemplate: InternVL2's conversation templates (MPT separator style) and the prompt text.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "vlm/core/python_str.h"

namespace vlm {

// The image marker a question carries and the tokens it expands to (modeling_internvl_chat.py).
inline constexpr const char* kImageMarker = "<image>";
inline constexpr const char* kImgStartToken = "<img>";
inline constexpr const char* kImgEndToken = "</img>";
inline constexpr const char* kImgContextToken = "<IMG_CONTEXT>";

// One of InternVL2's templates (Hermes-2, internlm2-chat, phi3-chat): all SeparatorStyle.MPT.
struct ChatTemplate {
  std::string name;                // e.g. "internlm2-chat"
  std::string system_template;     // Python format string with "{system_message}"
  std::string system_message;      // the text put into system_template
  std::vector<std::string> roles;  // exactly two: user, assistant (e.g. "<|im_start|>user\n")
  std::string sep;                 // e.g. "<|im_end|>"; no newline follows it in InternVL2

  // Parses and validates the manifest's "template" object; UserError names the field, e.g.
  // "manifest.json: template.roles must have 2 entries, got 3".
  static ChatTemplate from_json(const nlohmann::json& j);

  // The prompt for one user turn and an open assistant turn, as conversation.py's get_prompt():
  //   system_template.format(system_message=system_message) + sep
  //   + roles[0] + question + sep + roles[1]
  // (a role without a message gets no sep). `question` keeps its "<image>" markers.
  std::string render(const std::string& question) const;

  // The model's reply from the decoded generation: the text before the first sep.strip(), then
  // stripped of leading/trailing whitespace as Python's str.strip() (Unicode whitespace).
  std::string postprocess_response(const std::string& decoded) const;
};

// Replaces the k-th "<image>" in `query`, in order, by
// "<img>" + "<IMG_CONTEXT>" * (num_image_token * tiles_per_image[k]) + "</img>".
// Throws UserError when the number of "<image>" markers differs from tiles_per_image.size()
// (both counts in the message) or num_image_token / a tile count is not positive.
std::string expand_image_tokens(const std::string& query, const std::vector<int>& tiles_per_image,
                                int num_image_token);

}  // namespace vlm
