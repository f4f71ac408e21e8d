// The loaded model: every unit's TorchScript module on its planned device. Immutable and shared.
#pragma once

#include <torch/script.h>

#include <functional>
#include <memory>
#include <vector>

#include "vlm/model/manifest.h"
#include "vlm/model/placement_plan.h"
#include "vlm/model/verify_files.h"

namespace vlm {

// One placement unit, loaded.
struct LoadedUnit {
  const UnitSpec* spec = nullptr;  // points into LoadedModel::manifest()
  c10::Device device = c10::kCPU;  // where its weights live and its forward runs
  torch::jit::Module module;       // eval mode; forward per docs/model-format.md
  // LoadOptions::before_unit_call of the model (null when unset): called by run_unit.
  const std::function<void(const UnitSpec&)>* before_call = nullptr;
  // LoadOptions::jit_optimize of the model: run_unit sets the graph executor's switch to it
  // before each call, on the calling thread.
  bool jit_optimize = false;
};

// Where one unit's load went (LoadedModel::unit_load_times), in milliseconds; start is from the
// beginning of LoadedModel::load.
struct UnitLoadTime {
  double start_ms = 0;        // a loader thread took the unit
  double read_ms = 0;         // its archive read into memory (and hashed, when verifying)
  double deserialize_ms = 0;  // torch::jit::load onto its device, the copy there included
  double freeze_ms = 0;       // torch::jit::freeze (0 where freezes_unit is false)
};

// How units are read.
struct LoadOptions {
  // Loader threads per device: units of one device are read concurrently (a fast disk serves
  // several readers better than one). Values below 1 mean 1.
  int threads_per_device = 4;
  // false: one thread reads every unit in execution order (the baseline of bench/load_bench).
  bool parallel = true;
  // torch::jit::freeze the units after loading (which ones: freezes_unit): weights become
  // constants of the graph, which removes attribute lookups from every call. On the H100 it
  // halved the time per decode step of the InternVL2-1B shape (bench/item_bench --freeze;
  // bench/results/item-*.json).
  bool freeze = true;
  // The TorchScript graph executor's optimiser for the units' calls. TorchScript's switch
  // (torch::jit::setGraphExecutorOptimize) is per thread and on by default, so run_unit sets it
  // before each call, on whatever thread makes it. Off (the default, the "simple" executor):
  // every call runs the unit's graph as scripted, and a shape never seen before costs nothing
  // extra. On: the profiling executor profiles a unit's first
  // call, optimises at its second (seconds for an 8B model, every decoder layer a module of its
  // own) and re-specialises when shapes change, which on a varied dataset is almost every item;
  // issue 19 measured an 8B run at 467 ms an item against 83 ms steady. Decode steps on a GPU are
  // replayed CUDA graphs either way, where the executor's per-op cost is gone. `--jit-optimize`.
  bool jit_optimize = false;
  // cuDNN's fused attention for scaled_dot_product_attention, a process-wide switch that load()
  // sets. Off (the default): LibTorch picks flash attention for the units' prefill and vision
  // attention. LibTorch 2.11 prefers cuDNN's on Hopper, which builds an execution plan for every
  // query length it has not seen before: 37 ms a new length on an H100 against 0.13 ms for the
  // same call again (bench/new_shape_cost.py), and a new length at almost every item of a varied
  // dataset (the prompt's length follows the tiles and the question), so that `run` paid about
  // 50 ms an item on the 1B shape for it. On: LibTorch's own choice (`--cudnn-attention`). A
  // LibTorch without cuDNN attention (before 2.3, or without CUDA) has nothing to switch.
  bool cudnn_attention = false;
  // A test hook (fault injection): called with the unit's spec before each forward run_unit
  // makes; what it throws passes through run_unit's error translation. Unset: nothing.
  std::function<void(const UnitSpec&)> before_unit_call;
  // Check every unit archive and tokenizer file against the manifest's SHA-256 as it is read
  // (read_model_file: one read per file, stamps skip unchanged files); false: --no-verify.
  bool verify = true;
};

// Whether load() freezes this unit: with options.freeze, every unit but the vision unit. Freezing
// pools a graph's tensor constants by comparing each with every earlier one of its type
// (Tensor::equal, a kernel and a host sync each on a GPU), so its cost grows with the square of the
// number of same-shaped constants: an InternViT unit holds hundreds, a decoder layer a handful. On
// an H100 the vision unit's freeze took 1.80 s for InternViT-300M (the 1B load's critical path)
// and 8.23 s for InternViT-6B, and bought its 7-tile call nothing: 13.1 against 13.2 ms and 196.3
// against 197.7 ms, bitwise the same output (bench/freeze_cost.py; bench/results/freeze-cost-*).
bool freezes_unit(const UnitSpec& spec, const LoadOptions& options);

class LoadedModel {
 public:
  // Loads every unit directly onto its device. Each unit archive is read once into host memory
  // (about one unit per loader thread at a time) and, with options.verify, checked against its
  // manifest hash before TorchScript sees a byte of it (verify_files.h); the tokenizer files are
  // checked first. Errors are UserErrors:
  // - a hash mismatch names the file, the unit and both hashes (the unit is never loaded);
  // - a unit that fails to load names the unit, file and device;
  // - a unit whose floating-point tensors are not the manifest's dtype names the unit, the
  //   declared dtype and the dtype found.
  static std::shared_ptr<const LoadedModel> load(Manifest manifest, PlacementPlan plan,
                                                 const LoadOptions& options = {});
  // The order in which load() reads the units (indices into manifest.units), one queue per group
  // of loader threads. options.parallel: a queue per device, largest unit first (ties in
  // manifest order), so that the big units (vision, embedding, head) start at once and the
  // decoder layers fill in beside them, instead of the head being read last with the other
  // threads idle. !parallel: one queue, manifest (execution) order.
  static std::vector<std::vector<size_t>> load_queues(const Manifest& manifest,
                                                      const PlacementPlan& plan,
                                                      const LoadOptions& options);

  const Manifest& manifest() const { return manifest_; }
  const PlacementPlan& plan() const { return plan_; }
  const LoadedUnit& vision() const { return units_[vision_]; }
  const LoadedUnit& projector() const { return units_[projector_]; }
  const LoadedUnit& embedding() const { return units_[embedding_]; }
  const LoadedUnit& norm() const { return units_[norm_]; }
  const LoadedUnit& head() const { return units_[head_]; }
  // Decoder layers in layer order.
  const std::vector<const LoadedUnit*>& layers() const { return layers_; }
  // Wall time of load(), milliseconds.
  double load_ms() const { return load_ms_; }
  // Per unit, in manifest order: when its loader took it and what each step cost (bench/load_bench
  // reports them, to tell the disk from deserialising, freezing and a device's start-up).
  const std::vector<UnitLoadTime>& unit_load_times() const { return unit_load_times_; }
  // How the model files were checked while loading (run.json "model_files").
  const FileCheckTally& file_checks() const { return file_checks_; }

 private:
  LoadedModel(Manifest manifest, PlacementPlan plan);

  Manifest manifest_;
  PlacementPlan plan_;
  std::vector<LoadedUnit> units_;  // manifest order
  std::vector<const LoadedUnit*> layers_;
  size_t vision_ = 0, projector_ = 0, embedding_ = 0, norm_ = 0, head_ = 0;
  double load_ms_ = 0;
  std::vector<UnitLoadTime> unit_load_times_;  // manifest order
  std::function<void(const UnitSpec&)> before_unit_call_;
  FileCheckTally file_checks_;
};

// Runs a unit's forward on its device (inputs already there). Module handles are shallow, so this
// is safe on a const LoadedUnit. The error boundary of the runtime: a LibTorch error inside the
// unit leaves as a DeviceError naming the unit and the device (model/torch_error.h).
torch::jit::IValue run_unit(const LoadedUnit& unit, std::vector<torch::jit::IValue> inputs);

}  // namespace vlm
