// A torch profiler (Kineto) trace of a stretch of work, for finding where time goes.
//
// While a ProfileTrace is open, the calling thread's operators (and, in a CUDA build, every CUDA
// kernel, copy and runtime call) are recorded; close() writes them as a Chrome trace (JSON; open
// it in Perfetto or chrome://tracing, or summarise it with bench/profile_report.py). The stages of
// an item are marked in it as user scopes named by kStageScope* (vlm::vision, vlm::prefill,
// vlm::decode_step, vlm::preprocess), so that kernels can be attributed to them. Recording slows
// the work it records: use it to find where time goes, not to time.
#pragma once

#include <filesystem>

namespace vlm {

inline constexpr const char* kStageScopeVision = "vlm::vision";
inline constexpr const char* kStageScopePrefill = "vlm::prefill";
inline constexpr const char* kStageScopeDecodeStep = "vlm::decode_step";
inline constexpr const char* kStageScopePreprocess = "vlm::preprocess";

class ProfileTrace {
 public:
  // Starts recording. UserError when this LibTorch was built without Kineto, or when a trace is
  // already being recorded.
  explicit ProfileTrace(std::filesystem::path path);
  // Stops recording; writes nothing unless close() was called.
  ~ProfileTrace();
  ProfileTrace(const ProfileTrace&) = delete;
  ProfileTrace& operator=(const ProfileTrace&) = delete;

  // Stops recording and writes the trace to the path given at the start (its folder is made).
  void close();

 private:
  std::filesystem::path path_;
  bool open_ = false;
};

}  // namespace vlm
