// run.json, the run folder's report, shared by the processes of a sharded run: every change is
// made under an exclusive lock on run.json.lock and written atomically.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "vlm/results/run_report.h"

namespace vlm {

// An exclusive flock() on `{folder}/run.json.lock`, held for the object's lifetime. It also
// serializes the merge of a dataset between the shards of one run.
class FolderLock {
 public:
  explicit FolderLock(const std::filesystem::path& folder);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

// The one process that answers items of a shard in a run folder: an exclusive, non-blocking
// flock() on `{folder}/.writer.{tag}.lock`, held for the object's lifetime, so that at most one
// process appends to the shard's record files. The file holds the holder's pid, host, start time
// and command line. A second process stops at once with a UserError naming the holder; the lock
// goes with its process (a killed run leaves nothing to clean up).
class ShardWriterLock {
 public:
  ShardWriterLock(const std::filesystem::path& folder, const std::string& shard_tag,
                  const std::string& command_line);
  ~ShardWriterLock();
  ShardWriterLock(const ShardWriterLock&) = delete;
  ShardWriterLock& operator=(const ShardWriterLock&) = delete;

 private:
  int fd_ = -1;
};

// Reads {folder}/run.json: an empty object when it is missing, and also when it cannot be read,
// is not valid JSON or is not a JSON object, each of which logs a warning naming the file and
// why (the next write_run_json replaces it).
nlohmann::json read_run_json(const std::filesystem::path& folder);

// Writes `j` to {folder}/run.json through a temporary file. The caller holds the FolderLock.
void write_run_json(const std::filesystem::path& folder, const nlohmann::json& j);

// Locks, reads, applies `change`, writes.
void update_run_json(const std::filesystem::path& folder,
                     const std::function<void(nlohmann::json&)>& change);

// {folder}/run.json as a RunReport: read_run_json's value, or an empty report when a key has the
// wrong type (a warning names it; the next write replaces the file).
RunReport read_run_report(const std::filesystem::path& folder);

// Writes to_json(report) as write_run_json does. The caller holds the FolderLock.
void write_run_report(const std::filesystem::path& folder, const RunReport& report);

// Locks, reads, applies `change`, writes.
void update_run_report(const std::filesystem::path& folder,
                       const std::function<void(RunReport&)>& change);

}  // namespace vlm
