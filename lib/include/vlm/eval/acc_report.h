// The accuracy table of a multiple-choice run: VLMEvalKit's report_acc
// (vlmeval/dataset/utils/multiple_choice.py) and its `{model}_{dataset}_acc.csv` file.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vlm/results/score_table.h"

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
// column): the split's name, then each column's mean hit in [0, 1] (a float; NaN if no item).
// Splits are sorted ascending (Python uses set order, which varies between runs). Its
// {model}_{dataset}_acc.csv is score_table_csv's text. A later column with the name of an earlier
// one replaces its values in place (a Python dict). Throws UserError for an item lacking a value
// in an existing grouping column, or a category named "split".
ScoreTable report_acc(const std::vector<AccItem>& items, const AccReportOptions& options = {});

}  // namespace vlm
