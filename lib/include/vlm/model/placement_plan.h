// Where each placement unit lives: every unit of the manifest on exactly one device, with the
// bytes each device must hold. Made before a byte of weights is read.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vlm/model/manifest.h"
#include "vlm/model/placement_config.h"

namespace vlm {

// What a run needs room for besides the weights.
struct PlanCapacity {
  int64_t batch = 1;            // items in flight (--batch-size), each with its own KV cache
  int64_t max_sequence = 4096;  // positions per item: image tokens + prompt + new tokens
  int64_t max_tiles = 13;       // tiles the vision model sees at once (activation estimate)
  bool overlap = false;  // the next item's vision runs beside an item's layers (run --overlap)
  // Vision replayed from CUDA graphs (generate/vision_graphs.h): on a CUDA device its activations
  // stay in the graphs' pool beside the layers' (run without --no-cuda-graphs).
  bool vision_graphs = false;
  // The prefill's layers replayed from CUDA graphs (generate/prefill_graphs.h): on a CUDA device
  // with decoder layers the longest prefill's activations stay in the graphs' pool beside the
  // allocator's (run with --prefill-bucket and without --no-cuda-graphs).
  bool prefill_graphs = false;
};

// Whether vision and projector, with CUDA graphs on, are replayed from graphs: both on one CUDA
// device (generate/vision_graphs.h). The one rule, for that class and for the plan's reserve.
bool vision_graphs_apply(c10::Device vision, c10::Device projector);

// Whether the prefill, with CUDA graphs on and a prefill bucket, is replayed from graphs: some
// decoder layer on a CUDA device (generate/prefill_graphs.h). The one rule, for that class and for
// the plan's reserve.
bool prefill_graphs_apply(const std::vector<c10::Device>& layer_devices);

// One device's share of a plan.
struct DeviceBudget {
  c10::Device device = c10::kCPU;
  std::vector<std::string> units;     // in execution order
  int64_t weights = 0;                // parameter bytes of its units
  int64_t kv_cache = 0;               // KV cache of its decoder layers for capacity.batch items
  int64_t activations = 0;            // reserve for activations (estimate or config)
  std::optional<int64_t> max_memory;  // budget; absent: unbounded
  int64_t total() const { return weights + kv_cache + activations; }
  bool fits() const { return !max_memory || total() <= *max_memory; }
};

class PlacementPlan {
 public:
  // Every unit of `manifest` on `device` (no budgets).
  static PlacementPlan all_on(const Manifest& manifest, c10::Device device);
  // An explicit unit -> device map; every unit of `manifest` must be present (UserError otherwise).
  static PlacementPlan from_map(const Manifest& manifest, std::map<std::string, c10::Device> map);
  // Plans `manifest` under `config` for `capacity`, without touching devices or weights. Keys that
  // match no unit (with the nearest unit names), units an explicit map leaves unplaced, and
  // unparseable entries are UserErrors. A plan over a budget is returned with fits() == false, so
  // that its table can be shown; callers decide (run: error; --plan-only: print, exit non-zero).
  //
  // Keys of pin/map match a unit name exactly or as a dotted prefix
  // ("language_model.model.layers.1" matches neither layers.10 nor layers.1x); the longest matching
  // key wins; pins apply on top of every strategy. Keys naming another family's module
  // (tok_embeddings / embed_tokens, output / lm_head, rotary_emb), as upstream split_model writes
  // them, are ignored with a note. A config whose devices are still [auto] (auto_device) is an
  // InternalError: resolve_auto_devices (vlm/run/placement_setup.h) sets them first.
  //
  // Bytes per device: weights (a tied group co-located on one device counts its largest member
  // once), KV cache = 2 * batch * num_kv_heads * head_dim * max_sequence * dtype size per decoder
  // layer (each of the batch's items has room for max_sequence positions), and an activation
  // reserve: config.activation_reserve on every used device when set, else the largest of these
  // estimates for what the device holds (D = dtype size, R = ModelForward::kDecodeRows):
  //   vision/projector: tiles * 1025 * C_vit * D * 10 + tiles * vit_heads * 1025^2 * D
  //   embedding/decoder layers: max(max_sequence, R) * (4 * hidden + 2 * intermediate) * D
  //   head: R * vocab * 4 (float32 logits)
  // Activations do not grow with the batch: each item's prefill runs alone (one sequence of up to
  // max_sequence positions), and every decode step runs R rows of one token whatever the batch.
  // With capacity.overlap the next item's vision may run while an item's prefill or decode step
  // does: a device holding vision/projector units and embedding/layer/norm/head units reserves
  // the vision estimate plus the largest of the others (noted in the plan). With
  // capacity.prefill_graphs a CUDA device with decoder layers reserves twice the layer estimate
  // (the graphs' pool beside the allocator's blocks; noted in the plan).
  // The layer estimate assumes fused (SDPA) attention; eager attention needs up to
  // heads * max_sequence^2 * (D + 4) more in prefill (noted in the plan). CUDA context and
  // allocator slack are not counted: max_memory should leave room for them.
  static PlacementPlan make(const Manifest& manifest, const PlacementConfig& config,
                            const PlanCapacity& capacity);

  // --batch-size auto, its one owner: make() at the largest batch in 1..max_batch whose plan fits
  // every device's budget (capacity.batch is ignored; the strategy re-plans at each batch, so the
  // scan goes down from max_batch and takes the first that fits). Auto needs budgets to mean
  // anything: when no device of `config` has a max_memory, every batch fits, and the plan takes
  // max_batch when some unit is on a CUDA device, else 1 (a CPU has no budget to bound it and gains
  // little from batching). When not even batch 1 fits, the plan at batch 1 (fits() false: the
  // caller refuses it with its table). A note says which batch was taken and why; capacity().batch
  // is the batch taken.
  static PlacementPlan make_largest_batch(const Manifest& manifest, const PlacementConfig& config,
                                          PlanCapacity capacity, int64_t max_batch);

  // What the plan was made for (make, make_largest_batch); PlanCapacity{} for all_on/from_map.
  // capacity().batch is the run's batch size, --batch-size auto resolved.
  const PlanCapacity& capacity() const { return capacity_; }

  c10::Device device_of(const std::string& unit) const;
  // The distinct devices, in order of first use along the execution order.
  const std::vector<c10::Device>& devices() const { return devices_; }
  const std::map<std::string, c10::Device>& map() const { return device_of_; }
  // The units on `device`, in execution order.
  std::vector<std::string> units_on(const c10::Device& device) const;

  // Per device, in devices() order, then configured devices left empty (empty for
  // all_on/from_map plans).
  const std::vector<DeviceBudget>& budgets() const { return budgets_; }
  bool fits() const;
  const std::string& strategy() const { return strategy_; }
  // Statements about the plan (tied weights co-located or counted twice, empty devices, ...).
  const std::vector<std::string>& notes() const { return notes_; }
  // Adds a statement made by whoever prepared the config (how [auto] devices were resolved).
  void add_note(std::string note) { notes_.push_back(std::move(note)); }

  // The table printed at load: per device its unit ranges ("layers 0-26, 79"), GiB of weights,
  // KV cache, activations, total, budget and free; overflowing devices marked.
  std::string table() const;
  nlohmann::json to_json() const;

 private:
  std::map<std::string, c10::Device> device_of_;
  std::vector<c10::Device> devices_;
  std::vector<DeviceBudget> budgets_;
  PlanCapacity capacity_;
  std::string strategy_ = "single";
  std::vector<std::string> notes_;
  std::vector<std::string> order_;  // unit names in execution order
  std::string title_;               // first line of table(): model, config, capacity
  nlohmann::json summary_;          // model, config and capacity for to_json()
};

// Throws UserError naming the device and the unit on it when a device of `plan` does not exist on
// this machine (a CUDA index past torch::cuda::device_count(), or CUDA without a GPU).
void require_devices_present(const PlacementPlan& plan);

}  // namespace vlm
