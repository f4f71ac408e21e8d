#include "vlm/model/loaded_model.h"

#include <future>
#include <map>

#include "vlm/core/error.h"
#include "vlm/core/log.h"
#include "vlm/core/timer.h"

namespace vlm {

LoadedModel::LoadedModel(Manifest manifest, PlacementPlan plan)
    : manifest_(std::move(manifest)), plan_(std::move(plan)) {}

std::shared_ptr<const LoadedModel> LoadedModel::load(Manifest manifest, PlacementPlan plan,
                                                     bool parallel) {
  Stopwatch watch;
  check_user(!manifest.config_only,
             (manifest.dir / "manifest.json").string() +
                 " was written with --config-only: it has no weights (plan it with --plan-only)");
  std::shared_ptr<LoadedModel> model(new LoadedModel(std::move(manifest), std::move(plan)));
  const Manifest& m = model->manifest_;
  model->units_.resize(m.units.size());

  // One loader per device: units of different devices load in parallel (one for all if !parallel).
  std::map<std::string, std::vector<size_t>> by_device;
  for (size_t i = 0; i < m.units.size(); ++i) {
    LoadedUnit& u = model->units_[i];
    u.spec = &m.units[i];
    u.device = model->plan_.device_of(u.spec->name);
    by_device[parallel ? u.device.str() : std::string("all")].push_back(i);
  }
  std::vector<std::future<void>> loaders;
  for (auto& [device, indices] : by_device) {
    loaders.push_back(std::async(std::launch::async, [&model, idx = indices]() {
      for (size_t i : idx) {
        LoadedUnit& u = model->units_[i];
        try {
          u.module = torch::jit::load(u.spec->file.string(), u.device);
        } catch (const c10::Error& e) {
          throw UserError("loading unit " + u.spec->name + " from " + u.spec->file.string() +
                          " onto " + u.device.str() + " failed: " + e.what_without_backtrace());
        }
        u.module.eval();
      }
    }));
  }
  for (auto& f : loaders) f.get();

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
  torch::jit::Module module = unit.module;  // shallow handle
  return module.forward(std::move(inputs));
}

}  // namespace vlm
