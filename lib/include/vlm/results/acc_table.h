// The accuracy table of a run (report_acc's DataFrame) and its `{model}_{dataset}_acc.csv` file.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace vlm {

// report_acc's DataFrame: columns "split", "Overall", then one per l2-category value and one per
// category value (each group sorted by code point); one row per split ("none" without a split
// column). Splits are sorted ascending (Python uses set order, which varies between runs).
struct AccTable {
  std::vector<std::string> columns;         // all column names, starting with "split"
  std::vector<std::string> splits;          // the `split` cell of each row
  std::vector<std::vector<double>> values;  // [row][column - 1]: mean hit in [0, 1]; NaN if no item
};

// The table as pandas to_csv(index=False, quoting=QUOTE_ALL) writes it: e.g.
// "split","Overall"\n"none","0.6666666666666666"\n. NaN is written as "".
std::string acc_table_csv(const AccTable& table);

// Writes acc_table_csv(table) to `path` through `path`.tmp.
void write_acc_csv(const AccTable& table, const std::filesystem::path& path);

}  // namespace vlm
