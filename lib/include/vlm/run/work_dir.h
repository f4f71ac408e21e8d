// VLMEvalKit's classic output layout: {work_dir}/{model}/T{YYYYMMDD}_G{commit8}/ and file names.
#pragma once

#include <ctime>
#include <filesystem>
#include <string>

namespace vlm {

// "T{YYYYMMDD}_G{first 8 of commit}" for the local date of `now`; same day + same commit give the
// same folder, which is how a restarted run finds its records.
std::string eval_id(const std::string& commit, std::time_t now);

// The files of one model x dataset pair inside a run folder.
struct PairFiles {
  std::filesystem::path folder;           // {work_dir}/{model}/{eval_id}
  std::filesystem::path records;          // {model}_{data}_records.jsonl (append-only, resume)
  std::filesystem::path predictions;      // {model}_{data}.xlsx
  std::filesystem::path predictions_tsv;  // {model}_{data}.tsv
  std::filesystem::path result;           // {model}_{data}_exact_matching_result.xlsx
  std::filesystem::path acc;              // {model}_{data}_acc.csv
};

PairFiles pair_files(const std::filesystem::path& run_folder, const std::string& model,
                     const std::string& dataset);

}  // namespace vlm
