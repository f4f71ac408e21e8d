// The append-only record file of a dataset run: one ItemRecord per line, flushed to disk before
// the next item starts, so that a killed run loses at most the item in flight.
#pragma once

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "vlm/results/item_record.h"

namespace vlm {

class RecordFile {
 public:
  // Opens `path` for appending, creating it. Existing complete lines are read first (see
  // records()); a truncated last line (a crash mid-write) is cut off the file with a warning.
  // A complete line that is not a valid record is a UserError naming the file and line.
  explicit RecordFile(std::filesystem::path path);
  ~RecordFile();
  RecordFile(const RecordFile&) = delete;
  RecordFile& operator=(const RecordFile&) = delete;

  // Records found at open, by index (a later line for the same index wins).
  const std::map<std::string, ItemRecord>& records() const { return records_; }
  // Appends one line, then fflush + fsync. Throws UserError naming the file when the write fails
  // (disk full, file-size limit).
  void append(const ItemRecord& record);
  const std::filesystem::path& path() const { return path_; }

  // The records of a record file another process may be appending to, read without changing it:
  // complete lines only (an incomplete last line is ignored). A complete line that is not a valid
  // record is a UserError naming the file and line. A missing file has no records.
  static std::map<std::string, ItemRecord> read(const std::filesystem::path& path);

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::map<std::string, ItemRecord> records_;
};

}  // namespace vlm
