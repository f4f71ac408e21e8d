// "Did you mean" suggestions for unknown names (models, datasets, units).
#pragma once

#include <string>
#include <vector>

namespace vlm {

// Up to `limit` of `candidates` nearest to `name` by case-insensitive edit distance (ties in
// candidate order); candidates that contain `name` or are contained in it come first.
std::vector<std::string> closest_names(const std::string& name,
                                       const std::vector<std::string>& candidates,
                                       size_t limit = 3);

// "a, b, c" for messages.
std::string join_names(const std::vector<std::string>& names, const std::string& sep = ", ");

}  // namespace vlm
