// The logging facade: the library logs to stderr only through these functions; stdout is main()'s.
#pragma once

#include <sstream>
#include <string>

namespace vlm::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kQuiet = 4 };

// Messages below this level are dropped. Default kInfo.
void set_level(Level level);
Level level();

// Writes "[vlm] LEVEL message" to stderr when `lvl` is at or above the current level.
void write(Level lvl, const std::string& message);

inline void debug(const std::string& m) {
  write(Level::kDebug, m);
}
inline void info(const std::string& m) {
  write(Level::kInfo, m);
}
inline void warning(const std::string& m) {
  write(Level::kWarning, m);
}
inline void error(const std::string& m) {
  write(Level::kError, m);
}

}  // namespace vlm::log
