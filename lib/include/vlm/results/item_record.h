// What one dataset item produced, as one JSON line of the run's record file.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "vlm/core/timer.h"

namespace vlm {

struct ItemRecord {
  std::string index;                 // the item's index (str of the TSV's index cell)
  size_t row = 0;                    // 0-based row of the item in the dataset
  std::string prompt;                // the user text (with <image> markers) before the template
  std::vector<int> tiles_per_image;  // tiles of each image, thumbnail included
  int64_t input_tokens = 0;          // prompt tokens, image tokens included
  std::vector<int64_t> output_ids;   // generated ids
  std::string prediction;            // the answer text (VLMEvalKit's `prediction` column)
  std::string extracted;             // extracted option letter ("" for unscored datasets)
  std::optional<int> hit;            // 1/0 when scored
  std::string log;                   // the scorer's log cell
  std::optional<std::string> error;  // why the item failed (prediction then says so too)
  StageTimes times;                  // ms per stage

  nlohmann::json to_json() const;
  // Throws UserError naming `where` on a malformed record.
  static ItemRecord from_json(const nlohmann::json& j, const std::string& where);
};

}  // namespace vlm
