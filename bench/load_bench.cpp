// Load time of an exported model spread over two devices: one loader per device vs one loader.
// Usage: load_bench --model-dir D [--devices cuda:0,cpu] [--repeats 3] [--verify]
//        [--modes parallel,one_loader] [--out F.json]
// Before each trial the unit files are dropped from the page cache (posix_fadvise DONTNEED), so
// every trial reads from disk. Trials alternate between the modes; medians are reported.
// "parallel" and "one_loader" load without verification (--no-verify); with --verify two more
// modes verify the hashes as they load: "parallel_verify_hashed" with an empty stamp folder
// (every file hashed), then "parallel_verify_stamped" with the stamps that trial wrote (a re-run).
#include <fcntl.h>
#include <torch/cuda.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "vlm/core/host_memory.h"
#include "vlm/core/timer.h"
#include "vlm/model/loaded_model.h"
#include "vlm/model/placement_config.h"

namespace {

void drop_page_cache(const vlm::Manifest& m) {
  for (const auto& u : m.units) {
    const int fd = ::open(u.file.c_str(), O_RDONLY);
    if (fd < 0) continue;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  vlm::use_huge_pages_for_torch();  // before the first CPU tensor (core/host_memory.h)
  CLI::App app{"Load-time benchmark: parallel per-device loaders vs one loader"};
  std::string model_dir, devices_arg = "cuda:0,cpu", out;
  int repeats = 3;
  bool verify = false;
  app.add_option("--model-dir", model_dir, "exported model directory")->required();
  app.add_option("--devices", devices_arg, "two devices, comma separated");
  app.add_option("--repeats", repeats, "trials per mode");
  app.add_option("--out", out, "write the figures as JSON here");
  app.add_flag("--verify", verify, "also time verifying loads: every file hashed, and stamped");
  std::vector<std::string> modes = {"parallel", "one_loader"};
  app.add_option("--modes", modes, "the unverified modes to time (parallel, one_loader)")
      ->delimiter(',')
      ->check(CLI::IsMember({"parallel", "one_loader"}));
  CLI11_PARSE(app, argc, argv);

  vlm::Manifest manifest = vlm::load_manifest(model_dir);
  vlm::PlacementConfig config;
  config.strategy = vlm::PlacementStrategy::kBalanced;
  std::stringstream ss(devices_arg);
  for (std::string d; std::getline(ss, d, ',');)
    config.devices.push_back(vlm::parse_device(d, "--devices"));
  const vlm::PlacementPlan plan = vlm::PlacementPlan::make(manifest, config, vlm::PlanCapacity{});
  std::cerr << plan.table();
  int64_t bytes = 0;
  for (const auto& u : manifest.units) bytes += u.param_bytes;

  std::map<std::string, std::vector<double>> ms;
  std::map<std::string, nlohmann::json> checks;
  std::map<std::string, nlohmann::json> steps;  // the last trial's per-unit load times
  auto trial = [&](const std::string& mode, const vlm::LoadOptions& options) {
    drop_page_cache(manifest);
    vlm::Stopwatch watch;
    auto model = vlm::LoadedModel::load(manifest, plan, options);
    if (torch::cuda::is_available()) torch::cuda::synchronize();
    ms[mode].push_back(watch.elapsed_ms());
    const vlm::FileCheckTally& t = model->file_checks();
    checks[mode] = {{"verified", t.verified},
                    {"hashed_bytes", t.hashed_bytes},
                    {"hashed_files", t.hashed_files},
                    {"stamped_files", t.stamped_files},
                    {"unrecorded_files", t.unrecorded_files},
                    {"verify_s", t.verify_s}};
    // Where the time went: each step summed over the units (several threads overlap them), and
    // per unit, largest first.
    nlohmann::json units = nlohmann::json::array();
    double read = 0, deserialize = 0, freeze = 0, last_end = 0;
    for (size_t i = 0; i < manifest.units.size(); ++i) {
      const vlm::UnitLoadTime& u = model->unit_load_times()[i];
      read += u.read_ms;
      deserialize += u.deserialize_ms;
      freeze += u.freeze_ms;
      const double end = u.start_ms + u.read_ms + u.deserialize_ms + u.freeze_ms;
      last_end = std::max(last_end, end);
      units.push_back({{"unit", manifest.units[i].name},
                       {"device", plan.device_of(manifest.units[i].name).str()},
                       {"bytes", manifest.units[i].param_bytes},
                       {"start_ms", u.start_ms},
                       {"read_ms", u.read_ms},
                       {"deserialize_ms", u.deserialize_ms},
                       {"freeze_ms", u.freeze_ms}});
    }
    std::stable_sort(units.begin(), units.end(), [](const auto& a, const auto& b) {
      return a["bytes"].template get<int64_t>() > b["bytes"].template get<int64_t>();
    });
    steps[mode] = {{"sum_read_ms", read},
                   {"sum_deserialize_ms", deserialize},
                   {"sum_freeze_ms", freeze},
                   {"last_unit_done_ms", last_end},
                   {"units", units}};
  };
  auto wanted = [&](const char* mode) {
    return std::find(modes.begin(), modes.end(), mode) != modes.end();
  };
  for (int r = 0; r < repeats; ++r) {
    if (wanted("parallel")) {
      vlm::LoadOptions parallel;
      parallel.verify = false;
      trial("parallel", parallel);
    }
    if (wanted("one_loader")) {
      vlm::LoadOptions one_loader;  // the baseline: one thread, in execution order, no freeze
      one_loader.threads_per_device = 1;
      one_loader.parallel = false;
      one_loader.freeze = false;
      one_loader.verify = false;
      trial("one_loader", one_loader);
    }
    if (verify) {
      std::string stamps =
          (std::filesystem::temp_directory_path() / "vlm_load_bench_XXXXXX").string();
      if (mkdtemp(stamps.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
      setenv("XDG_CACHE_HOME", stamps.c_str(), 1);
      trial("parallel_verify_hashed", vlm::LoadOptions{});
      trial("parallel_verify_stamped", vlm::LoadOptions{});
      std::filesystem::remove_all(stamps);
    }
  }
  nlohmann::json j;
  j["benchmark"] = "load";
  j["model_dir"] = model_dir;
  j["model"] = manifest.name;
  j["dtype"] = c10::toString(manifest.dtype);
  j["gigabytes"] = static_cast<double>(bytes) / 1e9;
  j["plan"] = plan.to_json();
  j["repeats"] = repeats;
  for (const auto& [mode, v] : ms) {
    j[mode]["ms"] = v;
    j[mode]["median_ms"] = median(v);
    j[mode]["median_gb_per_s"] = static_cast<double>(bytes) / 1e6 / median(v);
    j[mode]["model_files"] = checks[mode];
    j[mode]["steps"] = steps[mode];
  }
  if (ms.count("one_loader") && ms.count("parallel"))
    j["speedup_parallel_vs_one"] = median(ms["one_loader"]) / median(ms["parallel"]);
  // Host buffers on huge pages (core/host_memory.h; THP_MEM_ALLOC_ENABLE=0 turns them off) and
  // what the kernel offers.
  j["huge_pages"] = vlm::huge_pages_enabled();
  {
    std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string line;
    std::getline(thp, line);
    j["transparent_hugepage"] = line;
  }
  j["date_utc"] =
      std::to_string(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()));
  std::cout << j.dump(2) << "\n";
  if (!out.empty()) std::ofstream(out) << j.dump(2) << "\n";
  return 0;
}
