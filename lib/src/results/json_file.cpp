#include "vlm/results/json_file.h"

#include <fstream>
#include <sstream>

#include "vlm/core/error.h"

namespace vlm {

nlohmann::json read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  check_user(static_cast<bool>(in), "cannot read " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw UserError(file.string() + ": not valid JSON: " + e.what());
  }
}

}  // namespace vlm
