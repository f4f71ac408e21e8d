// Wall-clock timing of run stages, in milliseconds.
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace vlm {

// A stopwatch started at construction.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  // Milliseconds since construction or the last restart().
  double elapsed_ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
        .count();
  }
  void restart() { start_ = std::chrono::steady_clock::now(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

// Milliseconds per named stage (decode, preprocess, vision, prefill, decode_tokens, ...), summed.
using StageTimes = std::map<std::string, double>;

}  // namespace vlm
