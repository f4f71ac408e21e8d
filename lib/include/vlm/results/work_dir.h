// VLMEvalKit's classic output layout: {work_dir}/{model}/T{YYYYMMDD}_G{commit8}/ and file names.
#pragma once

#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

namespace vlm {

// "T{YYYYMMDD}_G{first 8 of commit}" for the local date of `now`; same day + same commit give the
// same folder, which is how a restarted run finds its records.
std::string eval_id(const std::string& commit, std::time_t now);

// The files of one model x dataset pair inside a run folder.
struct PairFiles {
  std::filesystem::path folder;           // {work_dir}/{model}/{eval_id}
  std::string stem;                       // {model}_{data}
  std::filesystem::path records;          // {model}_{data}_records.jsonl (append-only, resume)
  std::filesystem::path predictions;      // {model}_{data}.xlsx
  std::filesystem::path predictions_tsv;  // {model}_{data}.tsv
  std::filesystem::path result;           // {model}_{data}_exact_matching_result.xlsx
  std::filesystem::path acc;              // {model}_{data}_acc.csv
};

PairFiles pair_files(const std::filesystem::path& run_folder, const std::string& model,
                     const std::string& dataset);

// "{rank}of{world_size}": a shard's name in record file names and in run.json ("ranks", a
// dataset's "shards").
std::string shard_tag(int rank, int world_size);

// The record file of shard `rank` of `world_size`: files.records for a single process, else
// {model}_{data}_records.shard{rank}of{world_size}.jsonl.
std::filesystem::path shard_record_path(const PairFiles& files, int rank, int world_size);

// Every record file of the pair in `folder` ({stem}_records.jsonl and {stem}_records.*.jsonl, of
// any world size), sorted by name.
std::vector<std::filesystem::path> pair_record_files(const std::filesystem::path& folder,
                                                     const std::string& stem);

// --reuse (VLMEvalKit classic, 2024-11-21): the newest other folder of `model_dir` (names sorted
// descending) whose name carries the same commit ("_G{commit8}") and that holds record files of
// the pair; empty when none.
std::filesystem::path find_reuse_folder(const std::filesystem::path& model_dir,
                                        const std::filesystem::path& current,
                                        const std::string& commit, const std::string& stem);

// VLMEvalKit's links after evaluation: for every file of `run_folder` whose name contains `stem`,
// an absolute symlink of the same name in the folder above (an existing file or link there is
// replaced). Returns the links made. UserError naming the link on failure.
std::vector<std::filesystem::path> link_pair_files(const std::filesystem::path& run_folder,
                                                   const std::string& stem);

}  // namespace vlm
