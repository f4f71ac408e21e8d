// The text report of a RunComparison, as `compare` prints it on stdout.
#pragma once

#include <string>

#include "vlm/report/run_comparison.h"

namespace vlm {

// Runs, then per dataset: agreement with the baseline (with the first differing items and both
// predictions), scores with deltas, items/s and ms per stage side by side; then memory per device.
// Plain aligned columns, no colour, '\n' line ends.
std::string comparison_table(const RunComparison& comparison);

}  // namespace vlm
