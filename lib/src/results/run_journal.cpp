#include "vlm/results/run_journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>

#include "vlm/core/error.h"
#include "vlm/core/log.h"
#include "vlm/results/atomic_file.h"

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

ShardWriterLock::ShardWriterLock(const fs::path& folder, const std::string& shard_tag,
                                 const std::string& command_line) {
  const fs::path lock = folder / (".writer." + shard_tag + ".lock");
  fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  check_user(fd_ >= 0, "cannot open " + lock.string() + ": " + std::strerror(errno));
  int rc;
  while ((rc = ::flock(fd_, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    const int err = errno;
    std::string holder;
    char buf[4096];
    const ssize_t n = ::pread(fd_, buf, sizeof(buf), 0);
    if (n > 0) holder.assign(buf, static_cast<size_t>(n));
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    ::close(fd_);
    fd_ = -1;
    check_user(err == EWOULDBLOCK, "cannot lock " + lock.string() + ": " + std::strerror(err));
    throw UserError("another run is answering shard " + shard_tag + " in " + folder.string() +
                    (holder.empty() ? std::string() : " (" + holder + ")") + "; it holds " +
                    lock.string() +
                    ". Wait for it to finish (then run again to finish what is left), or give "
                    "this run another --work-dir");
  }
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  const std::time_t now = std::time(nullptr);
  char when[32];
  std::tm local{};
  localtime_r(&now, &local);
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &local);
  const std::string text = "pid " + std::to_string(::getpid()) + " on " + host + ", since " + when +
                           ": " + command_line + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, text.data(), text.size(), 0) < 0) {
    // The lock is what matters; the description only helps the message of a second run.
  }
}

ShardWriterLock::~ShardWriterLock() {
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
  // Text that is not UTF-8 (a model's partial character) is written as U+FFFD, never thrown.
  write_file_atomically(folder / "run.json",
                        j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void update_run_json(const fs::path& folder, const std::function<void(nlohmann::json&)>& change) {
  FolderLock lock(folder);
  nlohmann::json j = read_run_json(folder);
  change(j);
  write_run_json(folder, j);
}

RunReport read_run_report(const fs::path& folder) {
  const nlohmann::json j = read_run_json(folder);
  try {
    return run_report_from_json(j, (folder / "run.json").string());
  } catch (const UserError& e) {
    log::warning(std::string(e.what()) + "; starting it again from an empty object");
    return RunReport{};
  }
}

void write_run_report(const fs::path& folder, const RunReport& report) {
  write_run_json(folder, to_json(report));
}

void update_run_report(const fs::path& folder, const std::function<void(RunReport&)>& change) {
  FolderLock lock(folder);
  RunReport report = read_run_report(folder);
  change(report);
  write_run_report(folder, report);
}

}  // namespace vlm
