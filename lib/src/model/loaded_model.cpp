#include "vlm/model/loaded_model.h"

#include <torch/csrc/jit/api/module.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <future>
#include <map>

#include "vlm/core/error.h"
#include "vlm/core/log.h"
#include "vlm/core/timer.h"
#include "vlm/model/torch_error.h"

namespace vlm {

LoadedModel::LoadedModel(Manifest manifest, PlacementPlan plan)
    : manifest_(std::move(manifest)), plan_(std::move(plan)) {}

std::shared_ptr<const LoadedModel> LoadedModel::load(Manifest manifest, PlacementPlan plan,
                                                     const LoadOptions& options) {
  Stopwatch watch;
  check_user(!manifest.config_only,
             (manifest.dir / "manifest.json").string() +
                 " was written with --config-only: it has no weights (plan it with --plan-only)");
  std::shared_ptr<LoadedModel> model(new LoadedModel(std::move(manifest), std::move(plan)));
  const Manifest& m = model->manifest_;
  model->before_unit_call_ = options.before_unit_call;
  model->units_.resize(m.units.size());

  // Each device's units are read by threads_per_device threads (one thread for everything when
  // !parallel), each taking the next unit of its device in execution order.
  std::map<std::string, std::vector<size_t>> by_device;
  for (size_t i = 0; i < m.units.size(); ++i) {
    LoadedUnit& u = model->units_[i];
    u.spec = &m.units[i];
    u.device = model->plan_.device_of(u.spec->name);
    if (model->before_unit_call_) u.before_call = &model->before_unit_call_;
    by_device[options.parallel ? u.device.str() : std::string("all")].push_back(i);
  }
  const int per_device = options.parallel ? std::max(1, options.threads_per_device) : 1;
  std::vector<std::unique_ptr<std::atomic<size_t>>> next;
  std::vector<std::future<void>> loaders;
  for (auto& [device, indices] : by_device) {
    next.push_back(std::make_unique<std::atomic<size_t>>(0));
    std::atomic<size_t>* counter = next.back().get();
    const std::vector<size_t>* idx = &indices;
    for (int t = 0; t < per_device && t < static_cast<int>(indices.size()); ++t) {
      loaders.push_back(std::async(std::launch::async, [&model, &options, idx, counter]() {
        for (size_t k = (*counter)++; k < idx->size(); k = (*counter)++) {
          LoadedUnit& u = model->units_[(*idx)[k]];
          try {
            u.module = torch::jit::load(u.spec->file.string(), u.device);
            u.module.eval();
            if (options.freeze) u.module = torch::jit::freeze(u.module);
          } catch (const c10::Error& e) {
            throw UserError("loading unit " + u.spec->name + " from " + u.spec->file.string() +
                            " onto " + u.device.str() + " failed: " + e.what_without_backtrace());
          }
        }
      }));
    }
  }
  // Every loader finishes before the first error is rethrown (they reference `model`).
  std::exception_ptr first_error;
  for (auto& f : loaders) {
    try {
      f.get();
    } catch (...) {
      if (!first_error) first_error = std::current_exception();
    }
  }
  if (first_error) std::rethrow_exception(first_error);

  for (size_t i = 0; i < m.units.size(); ++i) {
    switch (m.units[i].kind) {
      case UnitKind::kVision:
        model->vision_ = i;
        break;
      case UnitKind::kProjector:
        model->projector_ = i;
        break;
      case UnitKind::kEmbedding:
        model->embedding_ = i;
        break;
      case UnitKind::kNorm:
        model->norm_ = i;
        break;
      case UnitKind::kHead:
        model->head_ = i;
        break;
      case UnitKind::kDecoderLayer:
        model->layers_.push_back(&model->units_[i]);
        break;
    }
  }
  model->load_ms_ = watch.elapsed_ms();
  log::info("loaded " + m.name + " (" + std::to_string(m.units.size()) + " units) in " +
            std::to_string(static_cast<int>(model->load_ms_)) + " ms");
  return model;
}

torch::jit::IValue run_unit(const LoadedUnit& unit, std::vector<torch::jit::IValue> inputs) {
  try {
    if (unit.before_call) (*unit.before_call)(*unit.spec);
    torch::jit::Module module = unit.module;  // shallow handle
    return module.forward(std::move(inputs));
  } catch (const c10::Error& e) {
    throw device_error(e, "unit " + unit.spec->name, unit.device);
  }
}

}  // namespace vlm
