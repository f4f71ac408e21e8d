// What run.json records about the machine and the process: library versions, devices, memory.
#pragma once

#include <c10/core/Device.h>

#include <string>
#include <vector>

#include "vlm/results/run_report.h"

namespace vlm {

// The libraries this binary was built with (torch, OpenCV, nlohmann_json, PCRE2, the compiler and
// the C++ standard) and the harness's commit.
VersionsReport library_versions(const std::string& harness_commit);

// This machine: host name, CPU model and cores, CUDA availability and device count.
HostReport host_info();

// Peak memory of this process: "cpu" (ru_maxrss bytes) and "cuda:N" (peak allocated bytes) for the
// CUDA devices in `devices`.
DeviceBytes peak_memory(const std::vector<c10::Device>& devices);

}  // namespace vlm
