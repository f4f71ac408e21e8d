#include "vlm/run/run_environment.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <sys/resource.h>
#include <torch/cuda.h>
#include <torch/version.h>
#include <unistd.h>

#include <fstream>
#include <opencv2/core/version.hpp>
#include <string>
#include <thread>

#include "vlm/model/device_memory.h"

namespace vlm {

#define VLM_STR2(x) #x
#define VLM_STR(x) VLM_STR2(x)

VersionsReport library_versions(const std::string& harness_commit) {
  VersionsReport v;
  v.torch = TORCH_VERSION;
  v.opencv = CV_VERSION;
  v.nlohmann_json = std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
                    std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
                    std::to_string(NLOHMANN_JSON_VERSION_PATCH);
  v.pcre2 = std::to_string(PCRE2_MAJOR) + "." + std::to_string(PCRE2_MINOR);
  v.compiler = __VERSION__;
  v.cxx = static_cast<long>(__cplusplus);
  v.harness_commit = harness_commit;
  return v;
}

HostReport host_info() {
  HostReport h;
  char name[256] = {0};
  if (::gethostname(name, sizeof(name) - 1) == 0) h.hostname = std::string(name);
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) h.cpu = line.substr(line.find_first_not_of(" \t", colon + 1));
      break;
    }
  }
  h.cpu_cores = std::thread::hardware_concurrency();
  h.cuda_available = torch::cuda::is_available();
  h.cuda_devices = static_cast<int64_t>(torch::cuda::device_count());
  return h;
}

DeviceBytes peak_memory(const std::vector<c10::Device>& devices) {
  DeviceBytes m;
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) == 0)
    m["cpu"] = static_cast<int64_t>(usage.ru_maxrss) * 1024;
  for (const c10::Device& d : devices) {
    if (!d.is_cuda()) continue;
    if (const auto peak = device_peak_allocated_bytes(d)) m[d.str()] = *peak;
  }
  return m;
}

}  // namespace vlm
