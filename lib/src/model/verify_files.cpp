#include "vlm/model/verify_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "vlm/core/error.h"
#include "vlm/core/log.h"
#include "vlm/core/sha256.h"
#include "vlm/model/verified_stamp.h"

namespace vlm {
namespace fs = std::filesystem;

namespace {

// Read size: large sequential reads for the disk, small enough to hash from the CPU cache.
constexpr size_t kBlock = size_t{8} << 20;
// Scratch blocks in flight between the reader and the hasher when the bytes are not kept.
constexpr size_t kRing = 4;

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

CheckedFile read_model_file(const ModelFile& file, bool verify, bool keep,
                            const std::string& where) {
  const std::string name = where + ": " + file.label + ": " + file.path.string();
  Fd f;
  f.fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
  check_user(f.fd >= 0, name + ": cannot open: " + std::strerror(errno));
  const std::optional<FileIdentity> id = identity_of_fd(f.fd);
  check_user(id.has_value(), name + ": cannot stat: " + std::strerror(errno));
  struct stat st {};
  check_user(::fstat(f.fd, &st) == 0 && S_ISREG(st.st_mode), name + ": not a regular file");

  CheckedFile out;
  out.size = static_cast<size_t>(id->size);
  bool hash = false;
  if (!verify) {
    out.check = FileCheck::kSkipped;
  } else if (file.sha256.empty()) {
    out.check = FileCheck::kUnrecorded;
  } else if (has_verified_stamp(file.path, *id, file.sha256)) {
    out.check = FileCheck::kStamped;
  } else {
    out.check = FileCheck::kHashed;
    hash = true;
  }
  if (!hash && !keep) return out;

  ::posix_fadvise(f.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  // Blocks are read on this thread and, when hashing, hashed on a second one as they arrive, so
  // that a file takes the longer of its read and its hash rather than their sum (SHA-256 runs at
  // about 1.1 GB/s a thread on the H100 machine, about the disk's rate). Kept bytes are hashed in
  // place; otherwise blocks cycle through a ring of kRing scratch blocks.
  const size_t blocks = (out.size + kBlock - 1) / kBlock;
  HostBytes scratch;
  if (keep) {
    out.bytes = allocate_host_bytes(out.size);
  } else {
    scratch = allocate_host_bytes(kRing * kBlock);
  }
  auto block_at = [&](size_t b) {
    return keep ? out.bytes.get() + b * kBlock : scratch.get() + (b % kRing) * kBlock;
  };
  auto block_size = [&](size_t b) { return std::min(kBlock, out.size - b * kBlock); };

  std::mutex mutex;
  std::condition_variable changed;
  size_t read_blocks = 0, hashed_blocks = 0;  // guarded by mutex
  bool stop = false;                          // the reader failed: the hasher leaves
  Sha256 sha;
  std::thread hasher;
  if (hash) {
    hasher = std::thread([&] {
      for (size_t b = 0; b < blocks; ++b) {
        {
          std::unique_lock<std::mutex> lock(mutex);
          changed.wait(lock, [&] { return read_blocks > b || stop; });
          if (read_blocks <= b) return;
        }
        const auto t0 = std::chrono::steady_clock::now();
        sha.update(block_at(b), block_size(b));
        out.hash_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::lock_guard<std::mutex> lock(mutex);
        hashed_blocks = b + 1;
        changed.notify_all();
      }
    });
  }
  // The hasher reads `out`, `sha` and the buffers: it is joined before any of them goes away.
  struct Join {
    std::thread& t;
    std::mutex& m;
    std::condition_variable& cv;
    bool& stop;
    ~Join() {
      if (!t.joinable()) return;
      {
        std::lock_guard<std::mutex> lock(m);
        stop = true;
      }
      cv.notify_all();
      t.join();
    }
  } join{hasher, mutex, changed, stop};

  for (size_t b = 0; b < blocks; ++b) {
    if (hash && !keep) {  // a ring slot is free once the hasher is done with its last block
      std::unique_lock<std::mutex> lock(mutex);
      changed.wait(lock, [&] { return b < hashed_blocks + kRing; });
    }
    char* dst = block_at(b);
    const size_t want = block_size(b);
    size_t got = 0;
    while (got < want) {
      const ssize_t n = ::read(f.fd, dst + got, want - got);
      if (n < 0 && errno == EINTR) continue;
      check_user(n >= 0, name + ": read failed: " + std::strerror(errno));
      check_user(n > 0, name + ": the file got shorter while it was read");
      got += static_cast<size_t>(n);
    }
    if (hash) {
      std::lock_guard<std::mutex> lock(mutex);
      read_blocks = b + 1;
      changed.notify_all();
    }
  }
  if (hasher.joinable()) hasher.join();  // every block read: the hasher finishes them
  if (!hash) return out;
  const std::string actual = sha.hex_digest();
  if (actual != file.sha256) {
    throw UserError("model file " + file.path.string() + " (" + file.label +
                    ") does not match its manifest: sha256 is " + actual + ", " + where +
                    " records " + file.sha256 +
                    ". The file changed after export; restore or re-export it (model files are "
                    "code: TorchScript archives run when loaded; --no-verify skips this check)");
  }
  // The identity taken before reading: a file changed while it was read no longer matches it.
  write_verified_stamp(file.path, *id, file.sha256);
  return out;
}

std::vector<ModelFile> tokenizer_files(const Manifest& manifest) {
  std::vector<ModelFile> files;
  for (const auto& [path, hash] : manifest.file_sha256) files.push_back({path, "file", hash});
  return files;
}

void warn_unrecorded_hashes(const Manifest& manifest) {
  if (manifest.config_only) return;
  std::vector<std::string> unchecked;
  for (const auto& u : manifest.units)
    if (u.sha256.empty()) unchecked.push_back(u.file.string());
  if (manifest.tokenizer.is_object() && manifest.tokenizer.contains("file") &&
      manifest.tokenizer["file"].is_string()) {
    const fs::path tok = manifest.dir / manifest.tokenizer["file"].get<std::string>();
    if (!manifest.file_sha256.count(tok)) unchecked.push_back(tok.string());
  }
  if (!unchecked.empty()) {
    log::warning((manifest.dir / "manifest.json").string() + ": no sha256 recorded for " +
                 std::to_string(unchecked.size()) + " model file(s) (e.g. " + unchecked.front() +
                 "); they are loaded unchecked. Re-export the model to record hashes.");
  }
}

void FileCheckTally::add(const CheckedFile& file) {
  switch (file.check) {
    case FileCheck::kHashed:
      ++hashed_files;
      hashed_bytes += static_cast<int64_t>(file.size);
      break;
    case FileCheck::kStamped:
      ++stamped_files;
      break;
    case FileCheck::kUnrecorded:
      ++unrecorded_files;
      break;
    case FileCheck::kSkipped:
      break;
  }
  verify_s += file.hash_s;
}

FileCheckTally verify_model_files(const Manifest& manifest) {
  FileCheckTally tally;
  tally.verified = true;
  if (manifest.config_only) return tally;
  const std::string where = (manifest.dir / "manifest.json").string();
  warn_unrecorded_hashes(manifest);

  struct Job {
    ModelFile file;
    uintmax_t bytes = 0;
  };
  std::vector<Job> jobs;
  for (const auto& u : manifest.units) jobs.push_back({{u.file, "unit " + u.name, u.sha256}});
  for (auto& f : tokenizer_files(manifest)) jobs.push_back({std::move(f)});
  for (auto& j : jobs) {
    std::error_code ec;
    j.bytes = fs::file_size(j.file.path, ec);
    check_user(!ec, where + ": " + j.file.label + ": cannot read " + j.file.path.string() + ": " +
                        ec.message());
  }
  // Largest first, so that the threads finish together.
  std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.bytes > b.bytes; });

  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::optional<std::string> failure;
  auto worker = [&] {
    for (size_t i = next++; i < jobs.size(); i = next++) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (failure) return;
      }
      try {
        const CheckedFile f = read_model_file(jobs[i].file, true, /*keep=*/false, where);
        std::lock_guard<std::mutex> lock(mutex);
        tally.add(f);
      } catch (const Error& e) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!failure) failure = e.what();
      }
    }
  };
  const size_t n_threads =
      std::min<size_t>({jobs.size(), 8, std::max(1u, std::thread::hardware_concurrency())});
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n_threads; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (failure) throw UserError(*failure);
  return tally;
}

}  // namespace vlm
