#include "vlm/eval/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "vlm/core/error.h"

namespace vlm {

std::filesystem::path temporary_path_for(const std::filesystem::path& path) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
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
  const std::filesystem::path tmp = temporary_path_for(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      throw UserError("cannot open " + tmp.string() + " for writing: " + std::strerror(errno));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) throw UserError("cannot write " + tmp.string() + ": " + std::strerror(errno));
  }
  commit_temporary_file(tmp, path);
}

}  // namespace vlm
