#include "vlm/core/log.h"

#include <atomic>
#include <iostream>
#include <mutex>

namespace vlm::log {
namespace {

// The facade's state: one level and one lock for the process's stderr.
struct Sink {
  std::atomic<int> level{static_cast<int>(Level::kInfo)};
  std::mutex mutex;
};

Sink& sink() {
  static Sink s;
  return s;
}

const char* name(Level lvl) {
  switch (lvl) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
    case Level::kQuiet:
      break;
  }
  return "";
}

}  // namespace

void set_level(Level lvl) {
  sink().level = static_cast<int>(lvl);
}
Level level() {
  return static_cast<Level>(sink().level.load());
}

void write(Level lvl, const std::string& message) {
  if (static_cast<int>(lvl) < sink().level.load()) return;
  std::lock_guard<std::mutex> lock(sink().mutex);
  std::cerr << "[vlm] " << name(lvl) << ": " << message << '\n';
  std::cerr.flush();
}

}  // namespace vlm::log
