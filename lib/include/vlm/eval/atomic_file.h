// Writing a result file so that a crash never leaves a half-written final file behind.
#pragma once

#include <filesystem>
#include <string>

namespace vlm {

// Writes `bytes` to `path` + ".tmp", then renames it over `path`. Throws UserError naming the
// path when the file cannot be written or renamed.
void write_file_atomically(const std::filesystem::path& path, const std::string& bytes);

// The temporary name that write_file_atomically and other writers use for `path`: path + ".tmp".
std::filesystem::path temporary_path_for(const std::filesystem::path& path);

// Renames `tmp` over `path`; throws UserError naming both paths on failure.
void commit_temporary_file(const std::filesystem::path& tmp, const std::filesystem::path& path);

}  // namespace vlm
