// Host buffers for model files: large ones start on a 2 MiB boundary (where a transparent huge page
// can back them), small ones are plain; the switch for c10's allocator keeps a user's setting.
#include "vlm/core/host_memory.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace vlm {
namespace {

TEST(HostMemory, LargeBuffersAreHugePageAlignedAndWritable) {
  const size_t n = (size_t{5} << 20) + 123;  // not a multiple of the page
  HostBytes b = allocate_host_bytes(n);
  ASSERT_NE(b.get(), nullptr);
  if (huge_pages_enabled()) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.get()) % (size_t{2} << 20), 0u);
  }
  std::memset(b.get(), 0x5a, n);
  EXPECT_EQ(static_cast<unsigned char>(b[n - 1]), 0x5au);
}

TEST(HostMemory, SmallAndEmptyBuffersAreUsable) {
  HostBytes empty = allocate_host_bytes(0);
  EXPECT_NE(empty.get(), nullptr);
  HostBytes small = allocate_host_bytes(100);
  ASSERT_NE(small.get(), nullptr);
  std::memset(small.get(), 1, 100);
  EXPECT_EQ(small[99], 1);
}

TEST(HostMemory, TorchSwitchKeepsTheUsersSetting) {
  const char* before = std::getenv("THP_MEM_ALLOC_ENABLE");
  const std::string saved = before ? before : "";
  ::unsetenv("THP_MEM_ALLOC_ENABLE");
  use_huge_pages_for_torch();
  ASSERT_NE(std::getenv("THP_MEM_ALLOC_ENABLE"), nullptr);
  EXPECT_STREQ(std::getenv("THP_MEM_ALLOC_ENABLE"), "1");
  ::setenv("THP_MEM_ALLOC_ENABLE", "0", 1);
  use_huge_pages_for_torch();
  EXPECT_STREQ(std::getenv("THP_MEM_ALLOC_ENABLE"), "0");
  if (before) {
    ::setenv("THP_MEM_ALLOC_ENABLE", saved.c_str(), 1);
  } else {
    ::unsetenv("THP_MEM_ALLOC_ENABLE");
  }
}

}  // namespace
}  // namespace vlm
