#include "vlm/core/host_memory.h"

#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace vlm {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
constexpr const char* kSwitch = "THP_MEM_ALLOC_ENABLE";
}  // namespace

bool huge_pages_enabled() {
  static const bool on = [] {
    const char* v = std::getenv(kSwitch);
    return v == nullptr || std::atoi(v) != 0;  // as c10 reads it
  }();
  return on;
}

void use_huge_pages_for_torch() {
  // overwrite = 0: a user's THP_MEM_ALLOC_ENABLE=0 stands (and turns ours off too)
  ::setenv(kSwitch, "1", 0);
}

HostBytes allocate_host_bytes(size_t n) {
  n = n == 0 ? 1 : n;
  const bool huge = n >= kHugePage && huge_pages_enabled();
  void* p = nullptr;
  if (huge) {
    // aligned_alloc wants a size that is a multiple of the alignment
    p = std::aligned_alloc(kHugePage, (n + kHugePage - 1) / kHugePage * kHugePage);
  } else {
    p = std::malloc(n);
  }
  if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (huge) ::madvise(p, n, MADV_HUGEPAGE);  // advice: failure (e.g. THP "never") is harmless
#endif
  return HostBytes(static_cast<char*>(p));
}

}  // namespace vlm
