#include "vlm/model/verify_files.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "vlm/core/error.h"
#include "vlm/core/log.h"
#include "vlm/core/sha256.h"
#include "vlm/core/timer.h"

namespace vlm {
namespace fs = std::filesystem;

namespace {

struct FileCheck {
  fs::path path;
  std::string label;     // "unit vision_model" or "tokenizer file"
  std::string expected;  // lowercase hex
  uintmax_t bytes = 0;
};

}  // namespace

double verify_model_files(const Manifest& manifest) {
  Stopwatch watch;
  if (manifest.config_only) return 0.0;
  const std::string where = (manifest.dir / "manifest.json").string();

  std::vector<FileCheck> checks;
  std::vector<std::string> unchecked;
  for (const auto& u : manifest.units) {
    if (u.sha256.empty()) {
      unchecked.push_back(u.file.string());
      continue;
    }
    checks.push_back({u.file, "unit " + u.name, u.sha256});
  }
  for (const auto& [path, hash] : manifest.file_sha256) checks.push_back({path, "file", hash});
  if (manifest.tokenizer.is_object() && manifest.tokenizer.contains("file") &&
      manifest.tokenizer["file"].is_string()) {
    const fs::path tok = manifest.dir / manifest.tokenizer["file"].get<std::string>();
    if (!manifest.file_sha256.count(tok)) unchecked.push_back(tok.string());
  }
  if (!unchecked.empty()) {
    log::warning(where + ": no sha256 recorded for " + std::to_string(unchecked.size()) +
                 " model file(s) (e.g. " + unchecked.front() +
                 "); they are loaded unchecked. Re-export the model to record hashes.");
  }
  for (auto& c : checks) {
    std::error_code ec;
    c.bytes = fs::file_size(c.path, ec);
    check_user(!ec, where + ": " + c.label + ": cannot read " + c.path.string() + ": " +
                        ec.message());
  }
  // Largest first, so that the threads finish together.
  std::sort(checks.begin(), checks.end(),
            [](const FileCheck& a, const FileCheck& b) { return a.bytes > b.bytes; });

  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::optional<std::string> failure;
  auto worker = [&] {
    for (size_t i = next++; i < checks.size(); i = next++) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (failure) return;
      }
      const FileCheck& c = checks[i];
      std::string message;
      try {
        const std::string actual = sha256_file_hex(c.path);
        if (actual != c.expected) {
          message = "model file " + c.path.string() + " (" + c.label +
                    ") does not match its manifest: sha256 is " + actual + ", " + where +
                    " records " + c.expected +
                    ". The file changed after export; restore or re-export it (model files are "
                    "code: TorchScript archives run when loaded; --no-verify skips this check)";
        }
      } catch (const Error& e) {
        message = where + ": " + c.label + ": " + e.what();
      }
      if (!message.empty()) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!failure) failure = message;
      }
    }
  };
  const size_t n_threads =
      std::min<size_t>({checks.size(), 8, std::max(1u, std::thread::hardware_concurrency())});
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n_threads; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (failure) throw UserError(*failure);
  return watch.elapsed_ms() / 1000.0;
}

}  // namespace vlm
