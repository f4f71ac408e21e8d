// run.json, the run folder's report, as one typed value: what ran (options, model, placement),
// each process's (rank's) status and measurements, and each dataset's shards, merge and scores.
// to_json and run_report_from_json are the only code that spells run.json's keys; the format is
// documented in docs/run-folder.md. Every key is optional on reading (older files, and folders
// that `run --predictions` made, have fewer); keys this version does not know are kept in
// `other` and written back as they were.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "vlm/core/timer.h"
#include "vlm/results/score_table.h"

namespace vlm {

// The names of the run stages in a shard's and a dataset's "stage_ms" (milliseconds each).
namespace run_stage {
inline constexpr const char* kLoad = "load";          // model load (the shard that loaded it)
inline constexpr const char* kStart = "start";        // items' starts: preprocess, vision, prefill
inline constexpr const char* kDecode = "decode";      // batched decode steps
inline constexpr const char* kAhead = "ahead";        // --overlap: next items' device work queued
inline constexpr const char* kInfer = "infer";        // the shard's item loop, wall time
inline constexpr const char* kMerge = "merge";        // writing the predictions
inline constexpr const char* kEvaluate = "evaluate";  // scoring and the score files
}  // namespace run_stage

// An item's whole time in its record's "times_ms" (the other keys are its stages).
inline constexpr const char* kItemTotalStage = "total";

// Bytes per device name ("cpu", "cuda:0").
using DeviceBytes = std::map<std::string, int64_t>;

// A value that run.json may hold as null: `std::optional<Nullable<T>>` is absent | null | T.
template <class T>
using Nullable = std::optional<T>;

// "config.shard": which shard the writing process was.
struct ShardConfigReport {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string source;  // "single process", "--shard", "torchrun (...)", "Slurm ..."
};

// "config": the run's resolved options (RunOptions). `run` writes every key; `run --predictions`
// writes only mode and models.
struct RunConfigReport {
  std::optional<std::vector<std::string>> models;                // --model names
  std::optional<std::vector<std::string>> datasets;              // --data names
  std::optional<std::map<std::string, std::string>> dataset_of;  // --config: name -> dataset
  std::optional<std::string> work_dir;                           // absolute
  std::optional<std::string> model_root;
  std::optional<std::string> model_dir;
  std::optional<std::string> data_root;             // absolute ($LMUData)
  std::optional<std::string> configs_dir;           // absolute
  std::optional<std::string> config_file;           // --config, "" when none
  std::optional<std::string> mode;                  // "all" | "infer" | "eval"
  std::optional<bool> reuse;                        // --reuse
  std::optional<Nullable<uint64_t>> limit;          // --limit, null when none
  std::optional<std::string> judge;                 // --judge
  std::optional<std::string> device;                // --device
  std::optional<std::string> placement;             // --placement, "" when none
  std::optional<Nullable<int64_t>> max_new_tokens;  // --max-new-tokens, null when none
  std::optional<bool> overlap;                      // --overlap
  std::optional<ShardConfigReport> shard;
  nlohmann::json other = nlohmann::json::object();  // keys this version does not know
};

// "model": the model as the run resolved it (absent when no model was planned: --mode eval, or a
// test's answerer).
struct ModelReport {
  std::string name;                 // the run name (folder and file names)
  std::string dir;                  // the export's directory, absolute
  std::string config;               // configs/models/NAME.yaml, "" for a bare --model-dir
  std::string manifest_name;        // manifest.json "name"
  std::string family;               // internlm2 | llama | qwen2 | phi3
  std::string dtype;                // c10 name: "Float", "BFloat16", "Half"
  std::string exported_with_torch;  // the exporting torch version
  int64_t max_new_tokens = 0;
  bool cuda_graphs = true;
  bool jit_optimize = false;
  bool cudnn_attention = false;
  int64_t prefill_bucket = 0;
  std::string batch_size_requested;  // "4", "auto"
  int64_t batch_size_resolved = 1;
  nlohmann::json other = nlohmann::json::object();
};

// "placement" (and a rank's): the placement plan as PlacementPlan::to_json writes it, plus the
// config's name.
struct PlacementReport {
  std::string config;                              // the placement config's name or file
  nlohmann::json plan = nlohmann::json::object();  // PlacementPlan::to_json(), without "config"
};

// One device of a plan as `compare` reads it.
struct PlannedDevice {
  std::string device;                  // "cuda:0", "cpu"
  std::optional<int64_t> total_bytes;  // what the plan counts on it
  std::optional<int64_t> peak_bytes;   // a measured peak, when recorded there
};
// The plan's strategy ("" when not recorded) and devices, in plan order.
std::string placement_strategy(const PlacementReport& p);
std::vector<PlannedDevice> placement_devices(const PlacementReport& p);

// A rank's "host": the machine it ran on.
struct HostReport {
  std::optional<std::string> hostname;  // absent when gethostname failed
  std::optional<std::string> cpu;       // /proc/cpuinfo "model name", when there is one
  uint64_t cpu_cores = 0;               // std::thread::hardware_concurrency()
  bool cuda_available = false;
  int64_t cuda_devices = 0;
  nlohmann::json other = nlohmann::json::object();
};

// A rank's "model_files": how the model files were checked as they loaded (FileCheckTally).
struct ModelFilesReport {
  bool verified = false;     // hashes were checked (not --no-verify)
  int64_t hashed_bytes = 0;  // bytes run through SHA-256
  int64_t hashed_files = 0;
  int64_t stamped_files = 0;     // matched a verified stamp: not hashed again
  int64_t unrecorded_files = 0;  // no hash in the manifest
  double verify_s = 0;           // seconds in SHA-256, summed over the loader threads
  nlohmann::json other = nlohmann::json::object();
};

// "ranks.{r}of{W}": one process of the run.
struct RankReport {
  std::optional<PlacementReport> placement;  // the plan this rank ran under
  std::optional<std::vector<std::string>> argv;
  std::optional<HostReport> host;
  std::optional<std::string> status;   // "running" | "done" | "failed" | "interrupted"
  std::optional<std::string> message;  // the first failure's message
  std::optional<DeviceBytes> peak_memory_bytes;
  std::optional<double> load_ms;  // when this rank loaded the model
  std::optional<ModelFilesReport> model_files;
  std::optional<DeviceBytes> kv_cache_allocated_bytes;
  nlohmann::json other = nlohmann::json::object();
};

// "datasets.NAME.shards.{r}of{W}": what one shard did for the dataset.
struct ShardReport {
  uint64_t items = 0;        // the shard's items
  uint64_t answered = 0;     // answered by this invocation
  uint64_t resumed = 0;      // taken from earlier records
  uint64_t errors_now = 0;   // answered now with an error
  double items_per_s = 0;    // answered / infer seconds
  StageTimes stage_ms;       // run_stage names
  StageTimes item_stage_ms;  // item stages summed over the items answered now
  std::string status;        // "done" | "interrupted"
  nlohmann::json other = nlohmann::json::object();
};

// An item that ended with an error ("datasets.NAME.errors").
struct ItemErrorReport {
  std::string index;
  std::string error;
};

// What identifies a merge: the item count and the record files read, by name, with their sizes.
struct MergeSignature {
  uint64_t items = 0;
  std::map<std::string, uint64_t> records;
  bool operator==(const MergeSignature& o) const {
    return items == o.items && records == o.records;
  }
};

// "datasets.NAME.merged".
struct MergeReport {
  MergeSignature signature;
  bool scored = false;   // the merge was scored (not --mode infer)
  std::string by_shard;  // the shard that merged
};

// "datasets.NAME": one dataset of the run (NAME: the --data / config name).
struct DatasetReport {
  std::optional<std::string> dataset;           // the dataset it runs
  std::optional<std::string> file;              // the TSV, absolute
  std::optional<std::string> md5;               // the TSV's md5
  std::optional<std::string> predictions_file;  // run --predictions: the file scored
  std::optional<std::string> kind;              // "MCQ", "Y/N", "VQA"
  std::optional<std::string> scorer;            // run --predictions: the scorer's name
  std::optional<uint64_t> items;                // items in the run (--limit applied)
  std::optional<Nullable<uint64_t>> limit;      // --limit, null when none
  std::map<std::string, ShardReport> shards;    // by shard tag
  std::optional<std::vector<ItemErrorReport>> errors;
  std::optional<StageTimes> stage_ms;   // merge, evaluate
  nlohmann::json scores;                // the scorer's scores (null: not scored)
  std::optional<ScoreTable> acc_table;  // the table printed at the end ("split" first, in [0, 1])
  std::optional<MergeReport> merged;
  std::optional<double> items_per_s;             // older files: the dataset's items/s
  std::optional<DeviceBytes> peak_memory_bytes;  // older files
  nlohmann::json other = nlohmann::json::object();
};

// "errors": a dataset that failed as a whole in one shard.
struct RunErrorReport {
  std::string dataset;
  std::string shard;
  std::string error;
};

// "versions": the libraries the harness was built with, and its commit.
struct VersionsReport {
  std::string torch;          // TORCH_VERSION
  std::string opencv;         // CV_VERSION
  std::string nlohmann_json;  // "3.11.2"
  std::string pcre2;          // "10.42"
  std::string compiler;       // __VERSION__
  int64_t cxx = 0;            // __cplusplus
  std::optional<std::string> harness_commit;
  nlohmann::json other = nlohmann::json::object();
};

struct RunReport {
  std::optional<std::string> eval_id;  // the run folder's name
  std::optional<std::string> commit;   // the harness's git commit
  std::optional<int> world_size;       // shards of the run
  std::optional<VersionsReport> versions;
  std::optional<RunConfigReport> config;
  std::optional<ModelReport> model;
  std::optional<PlacementReport> placement;  // rank 0's plan (else the first rank's)
  std::map<std::string, RankReport> ranks;   // by shard tag
  std::map<std::string, DatasetReport> datasets;
  std::vector<RunErrorReport> errors;
  std::optional<DeviceBytes> peak_memory_bytes;  // older files
  nlohmann::json other = nlohmann::json::object();
};

// The JSON text's value (maps and absent optionals as nothing; objects sorted by key).
nlohmann::json to_json(const RunReport& report);

// Reads a run.json value. `where` names the file in errors. Throws UserError naming the key when
// a key has the wrong type (or `j` is not an object). Device bytes are read from either
// {"cuda:0": n} or [{"device": d, "bytes"|"peak_bytes": n}] (older files).
RunReport run_report_from_json(const nlohmann::json& j, const std::string& where);

// The score table under "acc_table", a table in report_acc's shape (split names first, then
// numbers): {"columns": [...], "splits": [...], "values": [[...]]}, every number a float, NaN as
// null. (Version 1 keeps this second spelling of a score table beside "scores" for its bytes.)
nlohmann::json acc_table_to_json(const ScoreTable& t);
ScoreTable acc_table_from_json(const nlohmann::json& j, const std::string& where);

// {folder}/run.json as `compare` reads it: UserError naming the file when it is missing,
// unreadable, not valid JSON, not an object, has no `datasets` object, or has a key of the wrong
// type.
RunReport load_run_report(const std::filesystem::path& file);

}  // namespace vlm
