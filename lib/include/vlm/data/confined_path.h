// Paths taken from data files and configs, kept inside the folder they are relative to.
#pragma once

#include <filesystem>
#include <string>

namespace vlm {

// `rel` (a path written in a TSV cell or a config) resolved under `root`. Refused with a
// UserError that starts with `what` (e.g. "data.tsv line 12 (index 7): image_path"): an empty
// path, an absolute path, any '..' component, and a path whose existing part leads outside `root`
// through a symbolic link. The result is absolute and lexically normal; the file need not exist.
std::filesystem::path resolve_inside(const std::filesystem::path& root, const std::string& rel,
                                     const std::string& what);

}  // namespace vlm
