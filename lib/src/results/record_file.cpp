#include "vlm/results/record_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "vlm/core/error.h"
#include "vlm/core/log.h"

namespace vlm {
namespace fs = std::filesystem;

namespace {

// Parses the complete lines of `text` into `out`; returns the bytes up to and including the last
// complete line.
size_t parse_records(const std::string& text, const fs::path& path,
                     std::map<std::string, ItemRecord>& out) {
  size_t good_end = 0;
  size_t line_no = 0;
  for (size_t start = 0; start < text.size();) {
    const size_t nl = text.find('\n', start);
    if (nl == std::string::npos) break;  // incomplete last line
    ++line_no;
    const std::string where = path.string() + ":" + std::to_string(line_no);
    // Bound on one record line (issue 7): a record holds one item's prompt and answer.
    constexpr size_t kMaxRecordLineBytes = size_t{16} << 20;
    check_user(nl - start <= kMaxRecordLineBytes,
               where + ": record line of " + std::to_string(nl - start) + " bytes, over the " +
                   std::to_string(kMaxRecordLineBytes) + "-byte limit; the file is corrupt");
    const std::string line = text.substr(start, nl - start);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range (406: 1E999)
      throw UserError(where +
                      ": corrupt record (not JSON); the file was left as it is: repair or delete "
                      "that line (or move the file away to start this dataset over)");
    }
    ItemRecord r = ItemRecord::from_json(j, where);
    out[r.index] = std::move(r);
    good_end = nl + 1;
    start = nl + 1;
  }
  return good_end;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::map<std::string, ItemRecord> RecordFile::read(const fs::path& path) {
  std::map<std::string, ItemRecord> out;
  if (fs::exists(path)) parse_records(slurp(path), path, out);
  return out;
}

RecordFile::RecordFile(fs::path path) : path_(std::move(path)) {
  if (fs::exists(path_)) {
    const std::string text = slurp(path_);
    const size_t good_end = parse_records(text, path_, records_);
    if (good_end < text.size()) {
      log::warning(path_.string() + ": dropping a truncated last record (" +
                   std::to_string(text.size() - good_end) + " bytes) left by an interrupted run");
      fs::resize_file(path_, good_end);
    }
  }
  file_ = std::fopen(path_.c_str(), "ab");
  check_user(file_ != nullptr,
             "cannot open " + path_.string() + " for writing: " + std::strerror(errno));
}

RecordFile::~RecordFile() {
  if (file_) std::fclose(file_);
}

void RecordFile::append(const ItemRecord& record) {
  // Item content that is not UTF-8 (a model's partial character) is written as U+FFFD: the
  // record path never throws on what an item contains.
  const std::string line =
      record.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const bool ok = std::fwrite(line.data(), 1, line.size(), file_) == line.size() &&
                  std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
  if (!ok) {
    const std::string why = std::strerror(errno);
    throw UserError("writing the record of item " + record.index + " to " + path_.string() +
                    " failed: " + why);
  }
  records_[record.index] = record;
}

}  // namespace vlm
