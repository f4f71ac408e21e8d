// Writing a result file so that a crash never leaves a half-written final file behind.
#pragma once

#include <filesystem>
#include <string>

namespace vlm {

// Writes `bytes` to `path` + ".tmp" (created as create_temporary_for does), then renames it over
// `path`. Throws UserError naming the path when the file cannot be written or renamed.
void write_file_atomically(const std::filesystem::path& path, const std::string& bytes);

// The temporary file other writers use for `path`: path + ".tmp", beside it, created empty and
// exclusively (O_EXCL | O_NOFOLLOW) after a leftover of that name (a killed run's, or a link put
// there) is removed, so that a writer never writes through a file it did not make.
std::filesystem::path create_temporary_for(const std::filesystem::path& path);

// Renames `tmp` over `path`; throws UserError naming both paths on failure.
void commit_temporary_file(const std::filesystem::path& tmp, const std::filesystem::path& path);

}  // namespace vlm
