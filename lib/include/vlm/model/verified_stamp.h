// A note in the user's cache that a model file was hashed and matched its manifest, so that a
// re-run on the same, unchanged file need not hash it again (issue 19).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace vlm {

// What tells a file's contents apart on disk without reading them. A write changes mtime and
// ctime (the kernel sets ctime; no user call can set it back), a replacement or copy changes the
// inode. Size alone is not trusted.
struct FileIdentity {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t inode = 0;
  uint64_t device = 0;
  bool operator==(const FileIdentity& o) const;
};

// The identity of an open file (fstat); nullopt when fstat fails.
std::optional<FileIdentity> identity_of_fd(int fd);

// The folder holding the stamps: ${XDG_CACHE_HOME:-$HOME/.cache}/vlmeval/verified. A relative
// XDG_CACHE_HOME is ignored (as the XDG spec says); nullopt when no absolute folder is set: no
// stamps are read or written then.
std::optional<std::filesystem::path> verified_stamp_dir();

// True when the stamp of `file` (an absolute path) records exactly `identity` and `sha256`.
// A missing, unreadable or malformed stamp, or one for another path, is false: the file is
// hashed again.
bool has_verified_stamp(const std::filesystem::path& file, const FileIdentity& identity,
                        const std::string& sha256);

// Records that `file` with `identity` hashed to `sha256`: one small JSON file per model file,
// named by the SHA-256 of its absolute path, written to an exclusively created temp file in the
// same folder and renamed over the old stamp. Best effort: a cache that cannot be written costs
// a re-hash next time (a debug message), never an error.
void write_verified_stamp(const std::filesystem::path& file, const FileIdentity& identity,
                          const std::string& sha256);

// Where the stamp of `file` lives (in `dir`).
std::filesystem::path verified_stamp_path(const std::filesystem::path& dir,
                                          const std::filesystem::path& file);

}  // namespace vlm
