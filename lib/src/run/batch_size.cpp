#include "vlm/run/batch_size.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "vlm/core/error.h"
#include "vlm/model/model_forward.h"

namespace vlm {

std::string BatchSize::str() const {
  return automatic ? "auto" : std::to_string(items);
}

int64_t max_batch_size() {
  return ModelForward::kDecodeRows;
}

BatchSize parse_batch_size(const std::string& text, const std::string& where) {
  BatchSize b;
  if (text == "auto") {
    b.automatic = true;
    return b;
  }
  const std::string expected = where + " must be auto or an integer in 1.." +
                               std::to_string(max_batch_size()) + ", got '" + text + "'";
  check_user(
      !text.empty() && text.size() <= 20 && std::isdigit(static_cast<unsigned char>(text[0])),
      expected);
  char* end = nullptr;
  errno = 0;
  const long long n = std::strtoll(text.c_str(), &end, 10);
  check_user(errno == 0 && end == text.c_str() + text.size() && n >= 1 && n <= max_batch_size(),
             expected);
  b.items = static_cast<int64_t>(n);
  return b;
}

}  // namespace vlm
