// Model files checked against the SHA-256 the exporter recorded: TorchScript archives run code
// when they are loaded, so no archive reaches torch::jit::load before its hash matched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vlm/core/host_memory.h"
#include "vlm/model/manifest.h"

namespace vlm {

// How one model file was checked.
enum class FileCheck {
  kHashed,      // read through SHA-256 and matched the manifest (a stamp is written)
  kStamped,     // unchanged since it was hashed and matched (verified_stamp.h): not re-hashed
  kUnrecorded,  // the manifest records no hash for it: loaded unchecked (warn_unrecorded_hashes)
  kSkipped,     // verification is off (--no-verify)
};

// A model file to check: where it is, what the manifest records, and its name in errors.
struct ModelFile {
  std::filesystem::path path;  // absolute
  std::string label;           // "unit vision_model" or "file"
  std::string sha256;          // lowercase hex as recorded; empty: none recorded
};

// A model file as read: its bytes (when kept) and how it was checked.
struct CheckedFile {
  HostBytes bytes;  // the whole file (allocate_host_bytes: huge pages); null when not kept
  size_t size = 0;
  FileCheck check = FileCheck::kSkipped;
  double hash_s = 0;  // seconds spent in SHA-256
};

// Reads `file` in one sequential pass of large blocks. With `verify` and a recorded hash the
// bytes are hashed as they are read and compared at the end, unless a stamp says the file is
// unchanged since it last matched (then it is not hashed; a match writes the stamp). Only then
// does this return, so bytes it returns are bytes that matched (or were not to be checked).
// `keep`: the bytes are returned (for loading from memory); otherwise they are dropped as read,
// and a file that needs no hashing is not read at all.
// - A mismatch is a UserError naming the file, its label, the actual and the recorded hash.
// - A file that cannot be opened or read, or is not a regular file, is a UserError naming it.
// `where` (the manifest.json path) names the manifest in errors.
CheckedFile read_model_file(const ModelFile& file, bool verify, bool keep,
                            const std::string& where);

// The manifest's tokenizer files ("files" map) to check; units are checked as they load.
std::vector<ModelFile> tokenizer_files(const Manifest& manifest);

// One warning when the manifest leaves files unchecked: units without a hash (exported before
// hashes were recorded) and a tokenizer file missing from "files". Not an error.
void warn_unrecorded_hashes(const Manifest& manifest);

// What the checks of one load did (run.json "model_files"). Not thread-safe: callers lock.
struct FileCheckTally {
  bool verified = false;     // hashes were checked (not --no-verify)
  int64_t hashed_bytes = 0;  // bytes run through SHA-256
  int hashed_files = 0;
  int stamped_files = 0;     // matched a stamp: not re-hashed
  int unrecorded_files = 0;  // no hash in the manifest
  double verify_s = 0;       // seconds in SHA-256, summed over the loader threads

  void add(const CheckedFile& file);
};

// Checks every unit archive and every file of the manifest's "files" map (tokenizer files)
// against its recorded SHA-256 without loading anything, up to 8 files at a time; as
// read_model_file (stamps included). LoadedModel::load does the same as it reads the units,
// so loading needs no separate call. Warns as warn_unrecorded_hashes. A config-only manifest has
// no files: nothing to do. Returns the tally.
FileCheckTally verify_model_files(const Manifest& manifest);

}  // namespace vlm
