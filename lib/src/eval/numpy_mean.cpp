#include "vlm/eval/numpy_mean.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace vlm {
namespace {

// numpy's pairwise_sum (numpy/core/src/umath/loops_utils.h.src) over a[0..n).
double pairwise_sum(const double* a, std::size_t n) {
  if (n < 8) {
    double res = 0.0;
    for (std::size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (std::size_t k = 0; k < 8; ++k) r[k] = a[k];
    std::size_t i = 8;
    for (; i < n - n % 8; i += 8)
      for (std::size_t k = 0; k < 8; ++k) r[k] += a[i + k];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

}  // namespace

double numpy_mean(const std::vector<double>& values) {
  if (values.empty()) return std::nan("");
  constexpr std::size_t kBuffer = 8192;  // numpy's ufunc buffer size
  double sum = 0.0;
  for (std::size_t start = 0; start < values.size(); start += kBuffer) {
    const std::size_t n = std::min(kBuffer, values.size() - start);
    sum += pairwise_sum(values.data() + start, n);
  }
  return sum / static_cast<double>(values.size());
}

}  // namespace vlm
