// Reading a JSON file of the run folder (run.json, an _acc.json or _score.json).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

namespace vlm {

// The parsed contents of `file`. UserError naming the file when it cannot be read ("cannot read
// FILE") or is not valid JSON ("FILE: not valid JSON: ...").
nlohmann::json read_json_file(const std::filesystem::path& file);

}  // namespace vlm
