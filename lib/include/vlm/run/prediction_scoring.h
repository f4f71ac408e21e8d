// `run --mode eval --model NAME --data DATA --predictions FILE`: scores a prediction file made
// elsewhere (VLMEvalKit's {model}_{data}.xlsx or .tsv) without loading a model.
#pragma once

#include <filesystem>
#include <string>

#include "vlm/run/evaluation.h"
#include "vlm/run/run_options.h"

namespace vlm {

// Reads `file` (read_prediction_file), takes its rows as the dataset `data_name` (its config from
// o.configs_dir, or a custom TSV under o.data_root) with `prediction` as each item's answer, and
// scores it as score_dataset does, into {o.work_dir}/{model}/T{date}_G{commit}/: the predictions
// as {model}_{data}.xlsx and .tsv (unless `file` is that very file), the score files, run.json
// (datasets.<data>: predictions_file, items, scores) and the links in the folder above.
// UserError naming the file and the column for a file without `index` or `prediction`, without
// the columns the scorer needs (VQA: `answer`; OCRBench: `answer` and `category`), or with a
// repeated index (naming its row).
PairResult score_prediction_file(const RunOptions& o, const std::string& model,
                                 const std::string& data_name, const std::filesystem::path& file);

}  // namespace vlm
