// The accuracy table of a multiple-choice run: VLMEvalKit's report_acc
// (vlmeval/dataset/utils/multiple_choice.py) and its `{model}_{dataset}_acc.csv` file.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vlm {

// One scored item. A grouping column (split, category, l2-category) exists in the table when any
// item has a value for it; then every item must have one.
struct AccItem {
  std::optional<std::string> split;        // the TSV `split` cell
  std::optional<std::string> category;     // the TSV `category` cell
  std::optional<std::string> l2_category;  // the TSV `l2-category` cell
  int hit = 0;                             // 1 when answered correctly, else 0
};

// How to name the columns.
struct AccReportOptions {
  // Category value -> column name (VLMEvalKit's MMB_abbrs); values not in it keep their name.
  std::map<std::string, std::string> abbreviations;
};

// VLMEvalKit's MMB_abbrs: MMBench category names and their short column names.
std::map<std::string, std::string> mmbench_abbreviations();

// report_acc's DataFrame: columns "split", "Overall", then one per l2-category value and one per
// category value (each group sorted by code point); one row per split ("none" without a split
// column). Splits are sorted ascending (Python uses set order, which varies between runs).
struct AccTable {
  std::vector<std::string> columns;         // all column names, starting with "split"
  std::vector<std::string> splits;          // the `split` cell of each row
  std::vector<std::vector<double>> values;  // [row][column - 1]: mean hit in [0, 1]; NaN if no item
};

// Builds the table. A later column with the name of an earlier one replaces its values in place
// (a Python dict). Throws UserError for an item lacking a value in an existing grouping column, or
// a category named "split".
AccTable report_acc(const std::vector<AccItem>& items, const AccReportOptions& options = {});

// The table as pandas to_csv(index=False, quoting=QUOTE_ALL) writes it: e.g.
// "split","Overall"\n"none","0.6666666666666666"\n. NaN is written as "".
std::string acc_table_csv(const AccTable& table);

// Writes acc_table_csv(table) to `path` through `path`.tmp.
void write_acc_csv(const AccTable& table, const std::filesystem::path& path);

}  // namespace vlm
