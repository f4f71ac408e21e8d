#include "vlm/results/item_record.h"

#include <cstdint>
#include <optional>
#include <vector>

#include "vlm/core/error.h"
#include "vlm/core/json_int.h"

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

namespace {

// Integers are read range-checked: get<int64_t>() on 5e108 is a cast with undefined behaviour.
template <typename T>
T integer_at(const nlohmann::json& j, const char* key, const std::string& where) {
  const std::optional<T> x = json_integer<T>(j.at(key));
  check_user(x.has_value(), where + ": malformed record: " + key +
                                " must be an integer in range, got " +
                                j.at(key).dump().substr(0, 40));
  return *x;
}

template <typename T>
std::vector<T> integers_at(const nlohmann::json& j, const char* key, const std::string& where) {
  const nlohmann::json& list = j.at(key);
  check_user(list.is_array(), where + ": malformed record: " + key + " must be a list");
  std::vector<T> out;
  out.reserve(list.size());
  for (const nlohmann::json& v : list) {
    const std::optional<T> x = json_integer<T>(v);
    check_user(x.has_value(), where + ": malformed record: " + key +
                                  " must hold integers in range, got " + v.dump().substr(0, 40));
    out.push_back(*x);
  }
  return out;
}

}  // namespace

ItemRecord ItemRecord::from_json(const nlohmann::json& j, const std::string& where) {
  try {
    ItemRecord r;
    r.index = j.at("index").get<std::string>();
    r.row = integer_at<size_t>(j, "row", where);
    r.prompt = j.at("prompt").get<std::string>();
    r.tiles_per_image = integers_at<int>(j, "tiles_per_image", where);
    r.input_tokens = integer_at<int64_t>(j, "input_tokens", where);
    r.output_ids = integers_at<int64_t>(j, "output_ids", where);
    r.prediction = j.at("prediction").get<std::string>();
    r.extracted = j.at("extracted").get<std::string>();
    if (!j.at("hit").is_null()) r.hit = integer_at<int>(j, "hit", where);
    r.log = j.at("log").get<std::string>();
    if (!j.at("error").is_null()) r.error = j.at("error").get<std::string>();
    r.times = j.at("times_ms").get<StageTimes>();
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw UserError(where + ": malformed record: " + e.what());
  }
}

}  // namespace vlm
