// Where one image of a prompt comes from: bytes embedded in the TSV, or a file on disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace vlm {

// One image as a dataset row (or a command line) gives it. Exactly one of the two is set: the
// base64 text of an `image` cell, or a file already resolved where the caller may read it (a
// dataset confines `image_path` cells to its data root; a command line names any file).
struct ImageSource {
  std::string base64;          // the embedded, base64-encoded image (VLMEvalKit's `image`)
  std::filesystem::path file;  // the image file (VLMEvalKit's `image_path`, meta-only TSVs)

  static ImageSource embedded(std::string base64_text);
  static ImageSource from_file(std::filesystem::path path);

  // The encoded image bytes (JPEG, PNG, ...): base64-decoded, or the file's contents. A file that
  // cannot be read, or one over `max_bytes`, is a UserError starting with `what` and naming the
  // file.
  std::string bytes(const std::string& what, int64_t max_bytes = int64_t{1} << 30) const;

  bool operator==(const ImageSource& o) const { return base64 == o.base64 && file == o.file; }
};

}  // namespace vlm
