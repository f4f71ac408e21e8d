#include "vlm/results/pandas_csv.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "vlm/core/error.h"

namespace vlm {

std::string csv_quote_all_record(const std::vector<std::optional<std::string>>& fields, char sep) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.push_back(sep);
    out.push_back('"');
    if (fields[i]) {
      for (char c : *fields[i]) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
      }
    }
    out.push_back('"');
  }
  out.push_back('\n');
  return out;
}

}  // namespace vlm
