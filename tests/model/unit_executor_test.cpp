// LoadOptions::jit_optimize decides the TorchScript graph executor of every unit call, on whatever
// thread makes it. TorchScript's own switch is per thread and on by default: a model loaded with
// the optimiser off and called from another thread used to run there under the profiling
// executor (profiling at the first call, optimising and fusing at the second; on a GPU, other
// roundings than the same call on the loading thread).
#include <gtest/gtest.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/test_paths.h"
#include "vlm/model/loaded_model.h"
#include "vlm/model/placement_plan.h"

namespace vlm {
namespace {

// Whether the graph that the executor last ran on this thread carries profiling nodes: the
// profiling executor's first run of a graph does; the executor without its optimiser never does.
bool last_call_was_profiled() {
  const std::shared_ptr<torch::jit::Graph> g = torch::jit::lastExecutedOptimizedGraph();
  if (!g) return false;
  for (const torch::jit::Node* n : g->nodes())
    if (n->kind() == torch::jit::prim::profile) return true;
  return false;
}

// Calls the model's final norm once on a new thread whose own executor switch is `thread_switch`
// (what that thread had before the call); returns whether the call was profiled.
bool profiled_on_another_thread(const LoadedModel& model, bool thread_switch) {
  bool profiled = false;
  std::thread t([&] {
    torch::jit::setGraphExecutorOptimize(thread_switch);
    const int64_t hidden = model.manifest().llm.hidden_size;
    run_unit(model.norm(), {torch::ones({1, 2, hidden})});
    profiled = last_call_was_profiled();
  });
  t.join();
  return profiled;
}

TEST(UnitExecutor, TheLoadOptionDecidesTheExecutorOnEveryThread) {
  const Manifest m = load_manifest(testing::tiny_model_dir());
  for (bool optimize : {false, true}) {
    LoadOptions options;
    options.jit_optimize = optimize;
    const auto model = LoadedModel::load(m, PlacementPlan::all_on(m, c10::kCPU), options);
    // a thread whose switch says otherwise, either way: the option wins
    EXPECT_EQ(profiled_on_another_thread(*model, !optimize), optimize)
        << "jit_optimize " << optimize;
  }
}

}  // namespace
}  // namespace vlm
