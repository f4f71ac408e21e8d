// numpy's float64 mean (np.mean of a Python list), bit for bit: VLMEvalKit's VQA scores are means.
#pragma once

#include <vector>

namespace vlm {

// np.sum's pairwise summation (blocks of 8192 added in turn; inside a block, eight accumulators
// for 8..128 elements and halving above), divided by the count. NaN for an empty list (numpy
// warns and returns nan).
double numpy_mean(const std::vector<double>& values);

}  // namespace vlm
