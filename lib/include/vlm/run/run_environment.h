// What run.json records about the machine and the process: library versions, devices, memory.
#pragma once

#include <c10/core/Device.h>

#include <nlohmann/json.hpp>
#include <vector>

namespace vlm {

// {"torch": ..., "opencv": ..., "nlohmann_json": ..., "pcre2": ..., "compiler": ..., "cxx": ...}
nlohmann::json library_versions();

// {"hostname": ..., "cpu": ..., "cpu_cores": n, "cuda_available": bool, "cuda_devices": n}
nlohmann::json host_info();

// Peak memory of this process: {"cpu": ru_maxrss bytes, "cuda:N": peak allocated bytes} for the
// CUDA devices in `devices`.
nlohmann::json peak_memory(const std::vector<c10::Device>& devices);

}  // namespace vlm
