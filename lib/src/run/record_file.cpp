#include "vlm/run/record_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "vlm/core/error.h"
#include "vlm/core/log.h"

namespace vlm {
namespace fs = std::filesystem;

RecordFile::RecordFile(fs::path path) : path_(std::move(path)) {
  if (fs::exists(path_)) {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    size_t good_end = 0;  // bytes up to and including the last complete line
    size_t line_no = 0;
    for (size_t start = 0; start < text.size();) {
      const size_t nl = text.find('\n', start);
      if (nl == std::string::npos) break;  // incomplete last line
      ++line_no;
      const std::string line = text.substr(start, nl - start);
      const std::string where = path_.string() + ":" + std::to_string(line_no);
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::parse_error& e) {
        throw UserError(where + ": corrupt record (not JSON); move the file away to start over");
      }
      ItemRecord r = ItemRecord::from_json(j, where);
      records_[r.index] = std::move(r);
      good_end = nl + 1;
      start = nl + 1;
    }
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
  const std::string line = record.to_json().dump() + "\n";
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
