#include "vlm/run/run_journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "vlm/core/error.h"
#include "vlm/core/log.h"
#include "vlm/eval/atomic_file.h"

namespace vlm {
namespace fs = std::filesystem;

FolderLock::FolderLock(const fs::path& folder) {
  const fs::path lock = folder / "run.json.lock";
  fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  check_user(fd_ >= 0, "cannot open " + lock.string() + ": " + std::strerror(errno));
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const std::string why = std::strerror(errno);
    ::close(fd_);
    throw UserError("cannot lock " + lock.string() + ": " + why);
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

nlohmann::json read_run_json(const fs::path& folder) {
  const fs::path path = folder / "run.json";
  if (!fs::exists(path)) return nlohmann::json::object();
  std::ifstream in(path);
  if (!in) {
    log::warning(path.string() + ": cannot be read; starting it again from an empty object");
    return nlohmann::json::object();
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range 406 (1e999)
    log::warning(path.string() + ": not valid JSON (" + e.what() +
                 "); starting it again from an empty object");
    return nlohmann::json::object();
  }
  if (!j.is_object()) {
    log::warning(path.string() + ": is a JSON " + j.type_name() +
                 ", not an object; starting it again from an empty object");
    return nlohmann::json::object();
  }
  return j;
}

void write_run_json(const fs::path& folder, const nlohmann::json& j) {
  write_file_atomically(folder / "run.json", j.dump(2) + "\n");
}

void update_run_json(const fs::path& folder, const std::function<void(nlohmann::json&)>& change) {
  FolderLock lock(folder);
  nlohmann::json j = read_run_json(folder);
  change(j);
  write_run_json(folder, j);
}

}  // namespace vlm
