// preprocess_bench: image decode, the CPU preprocessing path (ImagePreprocessor: Pillow-exact
// integer resize on the host + ToTensor/Normalize) and the device path (DevicePreprocessor: the
// same arithmetic as tensor ops, bit-identical) on a RealWorldQA-like image: by default a
// deterministic 1024x768 photo-like JPEG made here (quality 90) at max 6 tiles (3x2 + thumbnail =
// 7 tiles). Writes JSON (figures, never a pass/fail).
//
// Timed per repetition, after --warmup untimed ones; medians reported:
//   decode      decode_image of the JPEG bytes (OpenCV)
//   cpu         ImagePreprocessor::preprocess -> float32 on the host (the reference path)
//   device      DevicePreprocessor::preprocess on --device with --dtype (upload, resize, crops,
//               normalise, cast); on CUDA the region is bracketed by torch::cuda::synchronize so it
//               includes the upload and every queued kernel
//   device_cpu  the device path run on the CPU device (float64 matmuls on the host), unless
//               --no-cpu-device
// Before timing, the device path's float32 result is compared bit for bit with the CPU path's
// ("bit_identical" in the JSON).
//
// Usage: preprocess_bench [--image FILE] [--max-tiles 6] [--repeats 20] [--device cuda:0]
//                         [--dtype bfloat16] [--out FILE.json]
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#ifdef VLM_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench_common.h"
#include "vlm/core/timer.h"
#include "vlm/vision/device_preprocess.h"
#include "vlm/vision/image_decode.h"
#include "vlm/vision/image_preprocessor.h"

using nlohmann::json;

namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "cpu";
}

std::string device_name(c10::Device d) {
#ifdef VLM_WITH_CUDA
  if (d.is_cuda()) return at::cuda::getDeviceProperties(d.index() < 0 ? 0 : d.index())->name;
#endif
  return d.is_cpu() ? cpu_model_name() : d.str();
}

void sync(c10::Device d) {
  if (d.is_cuda()) torch::cuda::synchronize(d.index() < 0 ? -1 : d.index());
}

bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) return false;
  const torch::Tensor ac = a.contiguous().cpu(), bc = b.contiguous().cpu();
  return std::memcmp(ac.data_ptr(), bc.data_ptr(), ac.nbytes()) == 0;
}

json stats(const std::vector<double>& ms) {
  return {{"median_ms", vlm::bench::median(ms)},
          {"min_ms", ms.empty() ? 0 : *std::min_element(ms.begin(), ms.end())},
          {"ms", ms}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Preprocessing benchmark: decode, CPU path, device path (bit-identical)"};
  std::string image_path, device_arg, dtype_arg, out_path;
  int max_tiles = 6, repeats = 20, warmup = 3, cpu_device_repeats = 5;
  bool cpu_device = true;
  app.add_option("--image", image_path, "image file (default: a synthetic 1024x768 JPEG)");
  app.add_option("--max-tiles", max_tiles, "InternVL2 max_num");
  app.add_option("--repeats", repeats, "timed repetitions of decode, cpu and device");
  app.add_option("--warmup", warmup, "untimed repetitions first");
  app.add_option("--device", device_arg, "device of the device path (default: cuda:0 if present)");
  app.add_option("--dtype", dtype_arg,
                 "dtype of the device path's result (default: bfloat16 on CUDA, else float32)");
  app.add_option("--cpu-device-repeats", cpu_device_repeats,
                 "timed repetitions of the device path on the CPU device");
  app.add_flag("!--no-cpu-device", cpu_device, "skip the device path on the CPU device");
  app.add_option("--out", out_path, "write the figures as JSON here");
  CLI11_PARSE(app, argc, argv);

  try {
    const c10::Device device(device_arg.empty() ? (torch::cuda::is_available() ? "cuda:0" : "cpu")
                                                : device_arg);
    if (dtype_arg.empty()) dtype_arg = device.is_cuda() ? "bfloat16" : "float32";
    const c10::ScalarType dtype = dtype_arg == "bfloat16"  ? torch::kBFloat16
                                  : dtype_arg == "float16" ? torch::kFloat16
                                  : dtype_arg == "float32"
                                      ? torch::kFloat32
                                      : throw std::runtime_error("--dtype: " + dtype_arg);
    std::string bytes;
    if (image_path.empty()) {
      bytes = vlm::bench::make_test_jpeg(1024, 768);
    } else {
      std::ifstream in(image_path, std::ios::binary);
      if (!in) throw std::runtime_error("cannot read " + image_path);
      std::stringstream ss;
      ss << in.rdbuf();
      bytes = ss.str();
    }

    const vlm::ImagePreprocessor cpu_path;
    const vlm::DevicePreprocessor device_path;
    const cv::Mat rgb = vlm::decode_image(bytes, "bench image");

    // Bit-identity of the float32 results, and the dtype cast, before any timing.
    const vlm::PreprocessedImage reference = cpu_path.preprocess(rgb, max_tiles);
    const vlm::PreprocessedImage on_device =
        device_path.preprocess(rgb, max_tiles, device, torch::kFloat32);
    const bool identical = same_bits(on_device.pixel_values, reference.pixel_values);
    const vlm::PreprocessedImage cast = device_path.preprocess(rgb, max_tiles, device, dtype);
    const bool identical_cast = same_bits(cast.pixel_values, reference.pixel_values.to(dtype));

    std::map<std::string, std::vector<double>> ms;
    for (int r = 0; r < warmup + repeats; ++r) {
      vlm::Stopwatch watch;
      const cv::Mat decoded = vlm::decode_image(bytes, "bench image");
      const double decode_ms = watch.elapsed_ms();

      watch.restart();
      const vlm::PreprocessedImage cpu_out = cpu_path.preprocess(decoded, max_tiles);
      const double cpu_ms = watch.elapsed_ms();

      sync(device);
      watch.restart();
      const vlm::PreprocessedImage dev_out =
          device_path.preprocess(decoded, max_tiles, device, dtype);
      sync(device);
      const double device_ms = watch.elapsed_ms();
      if (r < warmup) continue;
      ms["decode"].push_back(decode_ms);
      ms["cpu"].push_back(cpu_ms);
      ms["device"].push_back(device_ms);
    }
    if (cpu_device && !device.is_cpu()) {
      (void)device_path.preprocess(rgb, max_tiles, c10::Device(c10::kCPU));  // warm-up
      for (int r = 0; r < cpu_device_repeats; ++r) {
        vlm::Stopwatch watch;
        (void)device_path.preprocess(rgb, max_tiles, c10::Device(c10::kCPU));
        ms["device_cpu"].push_back(watch.elapsed_ms());
      }
    } else if (device.is_cpu()) {
      ms["device_cpu"] = ms["device"];
    }

    json j;
    j["benchmark"] = "preprocess";
    std::string command;
    for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
    j["command"] = command;
    j["image"] = image_path.empty() ? "synthetic 1024x768 JPEG q90" : image_path;
    j["image_bytes"] = bytes.size();
    j["width"] = rgb.cols;
    j["height"] = rgb.rows;
    j["max_tiles"] = max_tiles;
    j["num_tiles"] = reference.num_tiles;
    j["grid"] = {reference.grid.cols, reference.grid.rows};
    j["device"] = device.str();
    j["device_name"] = device_name(device);
    j["host_cpu"] = cpu_model_name();
    j["host_threads"] = torch::get_num_threads();
    j["dtype"] = c10::toString(dtype);
    j["torch"] = TORCH_VERSION;
    j["bit_identical_float32"] = identical;
    j["bit_identical_" + dtype_arg] = identical_cast;
    j["repeats"] = repeats;
    j["warmup"] = warmup;
    for (const auto& [stage, v] : ms) j["stages"][stage] = stats(v);
    if (!ms["device"].empty() && vlm::bench::median(ms["device"]) > 0)
      j["speedup_device_vs_cpu"] = vlm::bench::median(ms["cpu"]) / vlm::bench::median(ms["device"]);
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    j["date_utc"] = date;
    std::cout << j.dump(2) << "\n";
    if (!out_path.empty()) std::ofstream(out_path) << j.dump(2) << "\n";
    return identical && identical_cast ? 0 : 2;
  } catch (const std::exception& e) {
    std::cerr << "preprocess_bench: " << e.what() << "\n";
    return 1;
  }
}
