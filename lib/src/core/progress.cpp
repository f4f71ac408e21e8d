#include "vlm/core/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace vlm {

ProgressStyle progress_style_for_stderr(bool quiet) {
  if (quiet) return ProgressStyle::kQuiet;
  return ::isatty(STDERR_FILENO) ? ProgressStyle::kBar : ProgressStyle::kLines;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long long s = std::llround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof(buf), "%lld:%02lld", s / 60, s % 60);
  return buf;
}

std::string format_progress(const std::string& label, size_t done, size_t total, double items_per_s,
                            const std::string& stage, size_t width) {
  std::string line = label;
  if (width > 0) {
    const size_t filled = total == 0 ? width : std::min(width, done * width / total);
    line += " [" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
  }
  line += " " + std::to_string(done) + "/" + std::to_string(total) + " items";
  char rate[64];
  if (items_per_s > 0) {
    std::snprintf(rate, sizeof(rate), " %.2f it/s ETA ", items_per_s);
    line += rate;
    line += format_duration(static_cast<double>(total > done ? total - done : 0) / items_per_s);
  } else {
    line += " -- it/s ETA ?";
  }
  if (!stage.empty()) line += " " + stage;
  return line;
}

Progress::Progress(std::string label, size_t total, size_t done, ProgressStyle style,
                   double interval_s)
    : label_(std::move(label)),
      total_(total),
      done_(done),
      done_at_start_(done),
      style_(style),
      interval_s_(interval_s),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {
  draw(true);
}

Progress::~Progress() {
  finish();
}

double Progress::rate() const {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const size_t n = done_ - done_at_start_;
  return n > 0 && s > 0 ? static_cast<double>(n) / s : 0.0;
}

void Progress::set_stage(const std::string& stage) {
  if (stage_ == stage) return;
  stage_ = stage;
  draw(style_ == ProgressStyle::kBar);
}

void Progress::advance() {
  ++done_;
  draw(style_ == ProgressStyle::kBar || done_ == total_);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (style_ == ProgressStyle::kBar && drawn_) {
    std::cerr << "\n";
    std::cerr.flush();
  }
}

void Progress::draw(bool force) {
  if (finished_ || style_ == ProgressStyle::kQuiet) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && std::chrono::duration<double>(now - last_draw_).count() < interval_s_) return;
  last_draw_ = now;
  drawn_ = true;
  if (style_ == ProgressStyle::kBar) {
    // "\r" + line + clear to the end of the line.
    std::cerr << "\r" << format_progress(label_, done_, total_, rate(), stage_, 24) << "\x1b[K";
  } else {
    std::cerr << "[vlm] progress: " << format_progress(label_, done_, total_, rate(), stage_, 0)
              << "\n";
  }
  std::cerr.flush();
}

}  // namespace vlm
