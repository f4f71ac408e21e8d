// The order in which LoadedModel::load reads the units: with parallel loaders, each device's units
// largest first (the big units start together and the decoder layers fill in beside them, rather
// than the head being read last while the other loader threads idle); one loader reads them in
// execution order.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "common/test_paths.h"
#include "vlm/model/loaded_model.h"
#include "vlm/model/placement_plan.h"

namespace vlm {
namespace {

TEST(LoadQueues, ParallelLoadersTakeEachDevicesLargestUnitsFirstTiesInManifestOrder) {
  const Manifest m = load_manifest(testing::tiny_model_dir());
  const PlacementPlan plan = PlacementPlan::all_on(m, c10::kCPU);
  const auto queues = LoadedModel::load_queues(m, plan, LoadOptions{});
  ASSERT_EQ(queues.size(), 1u);  // one device
  const std::vector<size_t>& q = queues[0];
  ASSERT_EQ(q.size(), m.units.size());
  std::vector<size_t> sorted = q;
  std::sort(sorted.begin(), sorted.end());
  std::vector<size_t> all(m.units.size());
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(sorted, all);  // every unit once
  for (size_t k = 1; k < q.size(); ++k) {
    const int64_t before = m.units[q[k - 1]].param_bytes, after = m.units[q[k]].param_bytes;
    EXPECT_GE(before, after) << "position " << k;
    if (before == after) {
      EXPECT_LT(q[k - 1], q[k]) << "position " << k;
    }
  }
  // The tiny model's units differ in size, so the order is not the manifest's: the first unit
  // read is the largest, not the vision unit that comes first in execution order unless it is.
  const auto largest = std::max_element(m.units.begin(), m.units.end(), [](auto& a, auto& b) {
    return a.param_bytes < b.param_bytes;
  });
  EXPECT_EQ(m.units[q[0]].name, largest->name);
  EXPECT_NE(q, all);
}

TEST(LoadQueues, OneLoaderReadsInExecutionOrder) {
  const Manifest m = load_manifest(testing::tiny_model_dir());
  const PlacementPlan plan = PlacementPlan::all_on(m, c10::kCPU);
  LoadOptions one;
  one.parallel = false;
  const auto queues = LoadedModel::load_queues(m, plan, one);
  ASSERT_EQ(queues.size(), 1u);
  std::vector<size_t> all(m.units.size());
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(queues[0], all);
}

}  // namespace
}  // namespace vlm
