// One run folder as `compare` reads it: {work_dir}/{model}/T{YYYYMMDD}_G{commit8}/ with its
// run.json (what ran, where it was placed, which datasets) and the per-dataset files beside it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vlm/results/run_report.h"

namespace vlm {

// Memory of one device in one run.
struct DeviceMemory {
  std::string device;                    // "cuda:0", "cpu"
  std::optional<int64_t> planned_bytes;  // run.json placement.devices[].total_bytes
  std::optional<int64_t> peak_bytes;     // measured peak, when run.json has one (see RunFolder)
};

struct RunFolder {
  std::filesystem::path folder;       // the run folder
  std::string label;                  // --label, else "{model folder}/{run folder}" names
  bool label_given = false;           // label is a --label (not made from the folder's names)
  std::string model;                  // run.json model.name (else the parent folder's name)
  std::string placement;              // run.json placement.config, "" when absent
  std::string strategy;               // run.json placement.strategy, "" when absent
  std::string commit;                 // run.json commit, "" when absent
  std::vector<std::string> datasets;  // keys of run.json datasets, in file order
  std::vector<DeviceMemory> memory;   // devices in plan order, then devices only measured
  RunReport report;                   // run.json (VLMEvalKit folders: made up, see open())
  // "harness" (run.json), "vlmevalkit" (a folder of VLMEvalKit's: classic
  // {work_dir}/{model}/T{YYYYMMDD}_G{hash}/, newer T{YYYYMMDD}-{HHMMSS}/, or {work_dir}/{model}/
  // itself with its links).
  std::string layout = "harness";

  // Reads `folder`/run.json. A device's peak memory is the largest value run.json records for it
  // in `peak_memory_bytes` at the top level, in `ranks.*` or in `datasets.*` (each either
  // {"cuda:0": bytes, ...} or [{"device": d, "bytes"|"peak_bytes": n}, ...]), or as
  // `placement.devices[].peak_bytes`. Throws UserError naming the file when the folder or
  // run.json is missing, unreadable or not a JSON object with a `datasets` object.
  // A folder without run.json is read as VLMEvalKit's when it holds prediction files
  // {model}_{data}.xlsx (or .tsv, PRED_FORMAT=tsv), with {model} the name of the folder above
  // (or of the folder itself): its datasets are those files (not the evaluation files beside them:
  // _acc, _results, _result, _auxmatch, _score, _PREV, ...), `report` has a dataset entry with
  // only its predictions_file for each, and commit is the folder name's G part when it has one.
  static RunFolder open(const std::filesystem::path& folder, const std::string& label = "");
};

// Folder labels (not --label ones) that equal another run's label take one more component of
// their folder's absolute path at a time until they differ, so that two runs of one model from
// the same day and commit under two work dirs read "wa/M/T20260101_G1111abcd" and
// "wb/M/T20260101_G1111abcd". Labels of one folder given twice stay equal.
void make_labels_unique(std::vector<RunFolder>& runs);

}  // namespace vlm
