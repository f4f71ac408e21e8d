// The order in which LoadedModel::load reads the units: with parallel loaders, each device's units
// largest first (the big units start together and the decoder layers fill in beside them, rather
// than the head being read last while the other loader threads idle); one loader reads them in
// execution order. And each unit's load steps are timed, inside the load's wall time.
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

TEST(LoadQueues, EveryUnitButVisionIsFrozen) {
  const Manifest m = load_manifest(testing::tiny_model_dir());
  LoadOptions options;
  int frozen = 0;
  for (const UnitSpec& u : m.units) {
    EXPECT_EQ(freezes_unit(u, options), u.kind != UnitKind::kVision) << u.name;
    frozen += freezes_unit(u, options);
  }
  EXPECT_EQ(frozen, static_cast<int>(m.units.size()) - 1);
  options.freeze = false;
  for (const UnitSpec& u : m.units) EXPECT_FALSE(freezes_unit(u, options)) << u.name;
}

TEST(LoadQueues, EachUnitsStepsAreTimedInsideTheLoad) {
  const Manifest m = load_manifest(testing::tiny_model_dir());
  for (bool freeze : {true, false}) {
    LoadOptions options;
    options.freeze = freeze;
    const auto model = LoadedModel::load(m, PlacementPlan::all_on(m, c10::kCPU), options);
    const std::vector<UnitLoadTime>& times = model->unit_load_times();
    ASSERT_EQ(times.size(), m.units.size());
    double frozen = 0;
    for (size_t i = 0; i < times.size(); ++i) {
      const UnitLoadTime& t = times[i];
      EXPECT_GE(t.start_ms, 0) << m.units[i].name;
      EXPECT_GT(t.read_ms, 0) << m.units[i].name;
      EXPECT_GT(t.deserialize_ms, 0) << m.units[i].name;
      EXPECT_LE(t.start_ms + t.read_ms + t.deserialize_ms + t.freeze_ms, model->load_ms())
          << m.units[i].name;
      EXPECT_EQ(t.freeze_ms > 0, freezes_unit(m.units[i], options)) << m.units[i].name;
      frozen += t.freeze_ms;
    }
    // A frozen unit's weights are constants of its graph; the vision unit keeps its parameters.
    EXPECT_FALSE(model->vision().module.parameters().size() == 0);
    EXPECT_EQ(model->head().module.parameters().size() == 0, freeze);
    // freezing a decoder layer takes measurable time; without freeze there is none to time
    if (freeze) {
      EXPECT_GT(frozen, 0);
    } else {
      EXPECT_EQ(frozen, 0);
    }
  }
}

}  // namespace
}  // namespace vlm
