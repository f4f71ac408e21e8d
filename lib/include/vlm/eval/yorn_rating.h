// The score tables of Yes/No datasets: VLMEvalKit's default_rating, MME_rating, Hallusion_rating
// and POPE_rating (vlmeval/dataset/utils/yorn.py), as ImageYORNDataset.evaluate picks them by
// dataset name and writes them to `{model}_{dataset}_score.csv`. Values are percentages.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vlm/eval/yorn_extraction.h"
#include "vlm/results/score_table.h"

namespace vlm {

// One answered Yes/No item, in predictions-file order. A grouping column counts as present when
// any item has a value in it.
struct YornItem {
  std::string index;                    // str(index); HallusionBench's encodes set/figure/question
  std::optional<std::string> answer;    // the TSV `answer` cell ("Yes" / "No")
  YesNo extracted = YesNo::kUnknown;    // yorn_extraction(prediction)
  std::optional<std::string> category;  // the `category` cell
  std::optional<std::string> l2_category;  // the `l2-category` cell
  std::optional<std::string> image_path;   // the `image_path` cell (MME pairs questions by it)
};

// The `score` column: answer == extracted (both as strings; an NA answer never matches).
bool yorn_score(const YornItem& item);

// default_rating: one row; "Overall", then one column per category and per l2-category (each
// group sorted, NA dropped; a repeated name keeps its first position and takes the later value).
ScoreTable default_rating(const std::vector<YornItem>& items);

// MME_rating: per category, acc = mean score over its questions, acc+ = mean over its images
// (grouped by image_path) of score[0] * score[1]; the category's value is (acc + acc+) * 100 (two
// terms, each a percentage). One row: "perception" (sum of OCR, artwork, celebrity, color, count,
// existence, landmark, position, posters, scene), "reasoning" (code_reasoning,
// commonsense_reasoning, numerical_calculation, text_translation), then every category in order
// of first appearance. Where upstream would crash, this goes on and logs a warning: a category of
// a sum with no items is left out of the sum; an image with one question is left out of acc+.
// UserError when an item has no category or image_path.
ScoreTable mme_rating(const std::vector<YornItem>& items);

// Hallusion_rating: columns split, aAcc, fAcc, qAcc; rows "Overall", then each category, then
// each l2-category (sorted; upstream uses set order). aAcc = mean score; fAcc = share of groups
// "{l2}_{set}_{figure}" answered all right; qAcc the same over "{l2}_{set}_{question}"; set,
// figure and question are fields 3, 4, 5 of index.split('_'). UserError for an index with fewer
// than 6 fields.
ScoreTable hallusion_rating(const std::vector<YornItem>& items);

// POPE_rating: items are first repeated once per comma-separated category (str.split(','),
// no stripping; the Overall row counts the repeats too). Columns split, Overall (F1), acc,
// precision, recall; rows "Overall", then each category (sorted; upstream uses set order).
// Positive = "Yes". Precision or recall with a zero denominator, and F1 with precision + recall
// == 0, are the int 0 (written "0" when the whole column is ints).
ScoreTable pope_rating(const std::vector<YornItem>& items);

}  // namespace vlm
