#include "vlm/run/item_record.h"

#include <cstdint>

#include "vlm/core/error.h"

namespace vlm {

nlohmann::json ItemRecord::to_json() const {
  nlohmann::json j;
  j["index"] = index;
  j["row"] = row;
  j["prompt"] = prompt;
  j["tiles_per_image"] = tiles_per_image;
  j["input_tokens"] = input_tokens;
  j["output_ids"] = output_ids;
  j["prediction"] = prediction;
  j["extracted"] = extracted;
  j["hit"] = hit ? nlohmann::json(*hit) : nlohmann::json(nullptr);
  j["log"] = log;
  j["error"] = error ? nlohmann::json(*error) : nlohmann::json(nullptr);
  j["times_ms"] = times;
  return j;
}

ItemRecord ItemRecord::from_json(const nlohmann::json& j, const std::string& where) {
  try {
    ItemRecord r;
    r.index = j.at("index").get<std::string>();
    r.row = j.at("row").get<size_t>();
    r.prompt = j.at("prompt").get<std::string>();
    r.tiles_per_image = j.at("tiles_per_image").get<std::vector<int>>();
    r.input_tokens = j.at("input_tokens").get<int64_t>();
    r.output_ids = j.at("output_ids").get<std::vector<int64_t>>();
    r.prediction = j.at("prediction").get<std::string>();
    r.extracted = j.at("extracted").get<std::string>();
    if (!j.at("hit").is_null()) r.hit = j.at("hit").get<int>();
    r.log = j.at("log").get<std::string>();
    if (!j.at("error").is_null()) r.error = j.at("error").get<std::string>();
    r.times = j.at("times_ms").get<StageTimes>();
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw UserError(where + ": malformed record: " + e.what());
  }
}

}  // namespace vlm
