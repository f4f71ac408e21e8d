// Base64 (RFC 4648, standard alphabet), the encoding of images inside VLMEvalKit TSVs.
#pragma once

#include <string>
#include <string_view>

namespace vlm {

// Decodes standard-alphabet base64 to raw bytes. Padding is optional and whitespace (space, tab,
// CR, LF) is ignored. Throws UserError on a character outside the alphabet (Python's lenient
// b64decode would drop it), on data after '=' padding, or on a length that leaves a single
// dangling character.
std::string base64_decode(std::string_view text);

// Encodes bytes as standard-alphabet base64 with '=' padding and no line breaks.
std::string base64_encode(std::string_view bytes);

}  // namespace vlm
