// Text the way pandas writes it: DataFrame.to_csv(index=False, quoting=csv.QUOTE_ALL) records and
// float64 cells (Python's repr), as VLMEvalKit's dump() produces .csv and .tsv files.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vlm/core/python_float.h"

namespace vlm {

// One CSV record as Python's csv.writer(quoting=QUOTE_ALL, lineterminator='\n') writes it: every
// field double-quoted with '"' doubled, std::nullopt (NA) as the empty field "", fields joined by
// `sep`, ended by '\n'. Separators and line breaks inside a field stay as they are.
std::string csv_quote_all_record(const std::vector<std::optional<std::string>>& fields,
                                 char sep = ',');

}  // namespace vlm
