#include "vlm/results/acc_table.h"

#include <cmath>
#include <optional>

#include "vlm/core/python_float.h"
#include "vlm/results/atomic_file.h"
#include "vlm/results/pandas_csv.h"

namespace vlm {

std::string acc_table_csv(const AccTable& table) {
  std::vector<std::optional<std::string>> header(table.columns.begin(), table.columns.end());
  std::string out = csv_quote_all_record(header);
  for (std::size_t r = 0; r < table.splits.size(); ++r) {
    std::vector<std::optional<std::string>> record{table.splits[r]};
    for (double v : table.values[r]) {
      record.push_back(std::isnan(v) ? std::nullopt
                                     : std::optional<std::string>(python_float_repr(v)));
    }
    out += csv_quote_all_record(record);
  }
  return out;
}

void write_acc_csv(const AccTable& table, const std::filesystem::path& path) {
  write_file_atomically(path, acc_table_csv(table));
}

}  // namespace vlm
