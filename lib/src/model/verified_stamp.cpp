#include "vlm/model/verified_stamp.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "vlm/core/log.h"
#include "vlm/core/sha256.h"

namespace vlm {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

int64_t ns_of(const struct timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + static_cast<int64_t>(t.tv_nsec);
}

// The absolute path a stamp is keyed by.
fs::path stamp_key(const fs::path& file) {
  return fs::absolute(file).lexically_normal();
}

// A JSON integer field as uint64 / int64; nullopt when missing or not an integer.
std::optional<uint64_t> unsigned_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<uint64_t>();
}

std::optional<int64_t> signed_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

}  // namespace

bool FileIdentity::operator==(const FileIdentity& o) const {
  return size == o.size && mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns && inode == o.inode &&
         device == o.device;
}

std::optional<FileIdentity> identity_of_fd(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::nullopt;
  FileIdentity id;
  id.size = static_cast<uint64_t>(st.st_size);
  id.mtime_ns = ns_of(st.st_mtim);
  id.ctime_ns = ns_of(st.st_ctim);
  id.inode = static_cast<uint64_t>(st.st_ino);
  id.device = static_cast<uint64_t>(st.st_dev);
  return id;
}

std::optional<fs::path> verified_stamp_dir() {
  fs::path base;
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && fs::path(xdg).is_absolute()) {
    base = xdg;
  } else {
    const char* home = std::getenv("HOME");
    if (home == nullptr || !fs::path(home).is_absolute()) return std::nullopt;
    base = fs::path(home) / ".cache";
  }
  return base / "vlmeval" / "verified";
}

fs::path verified_stamp_path(const fs::path& dir, const fs::path& file) {
  return dir / (sha256_hex(stamp_key(file).string()) + ".json");
}

bool has_verified_stamp(const fs::path& file, const FileIdentity& identity,
                        const std::string& sha256) {
  const std::optional<fs::path> dir = verified_stamp_dir();
  if (!dir) return false;
  std::ifstream in(verified_stamp_path(*dir, file), std::ios::binary);
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  const json j = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;  // also a parse failure (discarded)
  auto path = j.find("path");
  auto hash = j.find("sha256");
  if (path == j.end() || !path->is_string() || hash == j.end() || !hash->is_string()) return false;
  if (path->get<std::string>() != stamp_key(file).string() || hash->get<std::string>() != sha256)
    return false;
  const auto size = unsigned_field(j, "size"), inode = unsigned_field(j, "inode"),
             device = unsigned_field(j, "device");
  const auto mtime = signed_field(j, "mtime_ns"), ctime = signed_field(j, "ctime_ns");
  if (!size || !inode || !device || !mtime || !ctime) return false;
  return FileIdentity{*size, *mtime, *ctime, *inode, *device} == identity;
}

void write_verified_stamp(const fs::path& file, const FileIdentity& identity,
                          const std::string& sha256) {
  const std::optional<fs::path> dir = verified_stamp_dir();
  if (!dir) return;
  const fs::path target = verified_stamp_path(*dir, file);
  auto skip = [&](const std::string& why) {
    log::debug("no verified-file stamp written for " + file.string() + " (" + target.string() +
               "): " + why);
  };
  std::error_code ec;
  fs::create_directories(*dir, ec);
  if (ec) return skip(ec.message());
  const json j = {{"path", stamp_key(file).string()},
                  {"size", identity.size},
                  {"mtime_ns", identity.mtime_ns},
                  {"ctime_ns", identity.ctime_ns},
                  {"inode", identity.inode},
                  {"device", identity.device},
                  {"sha256", sha256}};
  const std::string text = j.dump() + "\n";
  std::string temp = target.string() + ".XXXXXX";
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);  // O_EXCL: a fresh file of ours
  if (fd < 0) return skip(std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const bool closed = ::close(fd) == 0;
  if (done != text.size() || !closed) {
    ::unlink(temp.c_str());
    return skip("write failed");
  }
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(temp.c_str());
    skip(why);
  }
}

}  // namespace vlm
