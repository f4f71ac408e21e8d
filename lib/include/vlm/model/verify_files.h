// Model files checked against the SHA-256 the exporter recorded, before any of them is loaded.
#pragma once

#include "vlm/model/manifest.h"

namespace vlm {

// Hashes every unit archive and every file of the manifest's "files" map (tokenizer files) and
// compares each with its recorded SHA-256; files are hashed in parallel (up to 8 threads).
// TorchScript archives run code when they are loaded, so this runs before torch::jit::load.
// - A mismatch is a UserError naming the file (and the unit), the recorded and the actual hash.
// - A file that cannot be read is a UserError naming it.
// - A manifest without hashes (exported before they were recorded) gets one warning naming how
//   many files are unchecked, not an error; so does a tokenizer file missing from "files".
// - A config-only manifest has no files: nothing to do.
// Returns the wall-clock seconds spent (for run.json).
double verify_model_files(const Manifest& manifest);

}  // namespace vlm
