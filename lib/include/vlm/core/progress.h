// Progress of a long loop on stderr: a bar rewritten in place on a terminal, plain periodic lines
// otherwise, nothing when quiet.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace vlm {

enum class ProgressStyle {
  kBar,    // one line rewritten in place ("\r"), for a terminal
  kLines,  // a plain line every `interval` seconds and at the end, for logs and pipes
  kQuiet,  // nothing
};

// kQuiet when `quiet`, kBar when stderr is a terminal, else kLines.
ProgressStyle progress_style_for_stderr(bool quiet);

// Seconds as "M:SS" or "H:MM:SS" (negative or non-finite: "?").
std::string format_duration(double seconds);

// One progress line, e.g. with width 10:
// "InternVL2-8B/RealWorldQA [#####.....] 5/10 items 2.50 it/s ETA 0:02 infer".
// `items_per_s` <= 0 prints "-- it/s" and "ETA ?"; width 0 leaves out the bar.
std::string format_progress(const std::string& label, size_t done, size_t total, double items_per_s,
                            const std::string& stage, size_t width);

class Progress {
 public:
  // `done` items are already finished (resumed) out of `total`; the rate counts only the items
  // finished from now on.
  Progress(std::string label, size_t total, size_t done, ProgressStyle style,
           double interval_s = 10.0);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void set_stage(const std::string& stage);
  // One more item finished.
  void advance();
  // Ends the bar's line (or prints the last plain line); further calls do nothing.
  void finish();

  size_t done() const { return done_; }
  // Items per second over the items finished since construction (0 before the first).
  double rate() const;

 private:
  void draw(bool force);

  std::string label_;
  size_t total_;
  size_t done_;
  size_t done_at_start_;
  ProgressStyle style_;
  double interval_s_;
  std::string stage_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  bool finished_ = false;
  bool drawn_ = false;
};

}  // namespace vlm
