// Host memory for model files on their way to a device, backed by transparent huge pages.
//
// Loading a model writes every weight into freshly allocated host memory twice: the unit archive
// read from disk (read_model_file), then each tensor's record that TorchScript's deserialiser
// copies out of it (c10's CPU allocator) before the copy to the device. With 4 KiB pages each
// first write of a page is a page fault that zeroes it: a memcpy into fresh memory ran at 2.0
// GB/s on the CI VM against 5.5 GB/s into memory advised for 2 MiB pages (MADV_HUGEPAGE). On the
// H100 machine the InternViT-6B unit (11 GB) deserialised at 1.3 GB/s, the end of the 76B load.
// The kernel decides: with transparent huge pages "never" the advice changes nothing.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>

namespace vlm {

// Whether host buffers of model files are advised for huge pages: on unless the environment sets
// THP_MEM_ALLOC_ENABLE (PyTorch's switch for c10's CPU allocator, which use_huge_pages_for_torch
// turns on) to 0, read as c10 reads it (atoi). Read once.
bool huge_pages_enabled();

// Turns on huge pages for c10's CPU allocator (THP_MEM_ALLOC_ENABLE=1, LibTorch 2.3 and later),
// unless the environment already sets THP_MEM_ALLOC_ENABLE. c10 reads the variable at the
// process's first CPU allocation, so a program calls this first thing in main(). It changes how
// host memory is aligned and paged, never a value.
void use_huge_pages_for_torch();

struct FreeDeleter {
  void operator()(char* p) const noexcept { std::free(p); }
};
using HostBytes = std::unique_ptr<char[], FreeDeleter>;

// n bytes (at least 1) of uninitialised host memory; from 2 MiB up aligned to 2 MiB and advised
// for huge pages (huge_pages_enabled). Throws std::bad_alloc when there is no memory.
HostBytes allocate_host_bytes(size_t n);

}  // namespace vlm
