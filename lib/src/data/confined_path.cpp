#include "vlm/data/confined_path.h"

#include <system_error>

#include "vlm/core/error.h"

namespace vlm {
namespace fs = std::filesystem;

namespace {

// True when `p` equals `root` or lies below it (both absolute and normal).
bool is_within(const fs::path& p, const fs::path& root) {
  auto r = root.begin();
  auto q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (r->empty()) continue;  // a trailing separator
    if (q == p.end() || *q != *r) return false;
  }
  return true;
}

}  // namespace

fs::path resolve_inside(const fs::path& root, const std::string& rel, const std::string& what) {
  check_user(!rel.empty(), what + ": empty path");
  check_user(rel.find('\0') == std::string::npos, what + ": path contains a NUL byte");
  const fs::path p(rel);
  check_user(!p.has_root_path(), what + ": '" + rel + "' is an absolute path; paths must be " +
                                     "relative to " + root.string());
  for (const auto& part : p) {
    check_user(part != "..", what + ": '" + rel + "' contains '..'; paths must stay inside " +
                                 root.string());
  }
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(fs::absolute(root), ec);
  check_user(!ec, what + ": cannot resolve " + root.string() + ": " + ec.message());
  const fs::path joined = (base / p).lexically_normal();
  // Follows every symbolic link in the part that exists.
  const fs::path real = fs::weakly_canonical(joined, ec);
  check_user(!ec, what + ": cannot resolve '" + rel + "': " + ec.message());
  check_user(is_within(real.lexically_normal(), base),
             what + ": '" + rel + "' leads outside " + root.string() + " through a symbolic link (to " +
                 real.string() + ")");
  return joined;
}

}  // namespace vlm
