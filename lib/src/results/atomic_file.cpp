#include "vlm/results/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "vlm/core/error.h"

namespace vlm {

namespace {

// Creates `tmp` empty and exclusively (a leftover of that name, or a link planted there, is
// removed first and never followed); returns its descriptor.
int create_exclusively(const std::filesystem::path& tmp) {
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
    throw UserError("cannot remove the leftover " + tmp.string() + ": " + std::strerror(errno));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw UserError("cannot create " + tmp.string() + ": " + std::strerror(errno));
  return fd;
}

}  // namespace

std::filesystem::path create_temporary_for(const std::filesystem::path& path) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  ::close(create_exclusively(tmp));
  return tmp;
}

namespace {

// fsync of a file or folder by path; false when it cannot be opened or synced.
bool sync_path(const std::filesystem::path& p, int flags) {
  const int fd = ::open(p.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

void commit_temporary_file(const std::filesystem::path& tmp, const std::filesystem::path& path) {
  // The data reaches the disk before the rename makes it the final file, and the rename itself
  // is synced with the folder: after a crash `path` is the old file or the whole new one.
  if (!sync_path(tmp, O_RDONLY))
    throw UserError("cannot sync " + tmp.string() + " to disk: " + std::strerror(errno));
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    throw UserError("cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
  }
  const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : ".";
  sync_path(folder, O_RDONLY | O_DIRECTORY);  // best effort: some filesystems refuse it
}

void write_file_atomically(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  const int fd = create_exclusively(tmp);
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      throw UserError("cannot write " + tmp.string() + ": " + why);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  commit_temporary_file(tmp, path);
}

}  // namespace vlm
