#include "vlm/model/profile_trace.h"

#include <torch/csrc/autograd/profiler_kineto.h>

#include <set>

#include "vlm/core/error.h"

namespace vlm {

namespace {

namespace prof = torch::profiler::impl;

std::set<prof::ActivityType> activities() {
  std::set<prof::ActivityType> a{prof::ActivityType::CPU};
#ifdef VLM_WITH_CUDA
  a.insert(prof::ActivityType::CUDA);
#endif
  return a;
}

}  // namespace

namespace {

void enable() {
  const prof::ProfilerConfig config(prof::ProfilerState::KINETO);
  torch::autograd::profiler::prepareProfiler(config, activities());
  torch::autograd::profiler::enableProfiler(config, activities());
}

}  // namespace

ProfileTrace::ProfileTrace(std::filesystem::path path) : path_(std::move(path)) {
  // An empty trace is recorded and written first, so that a LibTorch without Kineto (which
  // records but cannot save) or an unwritable path is refused now, before any work is done.
  if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path());
  try {
    enable();
    torch::autograd::profiler::disableProfiler()->save(path_.string());
    enable();
  } catch (const c10::Error& e) {
    throw UserError(
        "cannot record a profile trace to " + path_.string() + ": " + e.what_without_backtrace() +
        " (a trace needs a LibTorch built with Kineto, as the pip and CUDA builds are)");
  }
  open_ = true;
}

ProfileTrace::~ProfileTrace() {
  if (!open_) return;
  try {
    torch::autograd::profiler::disableProfiler();
  } catch (...) {  // a destructor reports nothing; close() is the checked way out
  }
}

void ProfileTrace::close() {
  check_internal(open_, "ProfileTrace::close twice");
  open_ = false;
  std::unique_ptr<torch::autograd::profiler::ProfilerResult> result =
      torch::autograd::profiler::disableProfiler();
  try {
    result->save(path_.string());
  } catch (const c10::Error& e) {
    throw UserError("cannot write the profile trace " + path_.string() + ": " +
                    e.what_without_backtrace());
  }
}

}  // namespace vlm
