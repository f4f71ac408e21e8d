#include "vlm/model/loaded_model.h"

#include <ATen/Context.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/version.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <future>
#include <map>
#include <mutex>

#include "vlm/core/error.h"
#include "vlm/core/log.h"
#include "vlm/core/timer.h"
#include "vlm/model/torch_error.h"

namespace vlm {

namespace {

// A unit archive in host memory, as TorchScript's reader reads it (no copy of the buffer).
class MemoryReadAdapter : public caffe2::serialize::ReadAdapterInterface {
 public:
  MemoryReadAdapter(HostBytes bytes, size_t size) : bytes_(std::move(bytes)), size_(size) {}
  size_t size() const override { return size_; }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (pos >= size_) return 0;
    n = std::min<size_t>(n, size_ - static_cast<size_t>(pos));
    std::memcpy(buf, bytes_.get() + pos, n);
    return n;
  }

 private:
  HostBytes bytes_;
  size_t size_;
};

// Every floating-point parameter and buffer of a loaded (not yet frozen) unit has the manifest's
// dtype; otherwise the manifest does not describe these files, and the first item would fail
// inside TorchScript.
void check_unit_dtype(const torch::jit::Module& module, const UnitSpec& spec,
                      c10::ScalarType declared, const std::string& where) {
  auto check = [&](const std::string& what, const std::string& name, const at::Tensor& t) {
    if (!t.defined() || !t.is_floating_point() || t.scalar_type() == declared) return;
    throw UserError(where + " declares dtype " + dtype_name(declared) + ", but unit " + spec.name +
                    " (" + spec.file.string() + ") holds " + dtype_name(t.scalar_type()) +
                    " tensors (" + what + " " + name +
                    "); the manifest does not describe these files (re-export the model)");
  };
  for (const auto& p : module.named_parameters(/*recurse=*/true))
    check("parameter", p.name, p.value);
  for (const auto& b : module.named_buffers(/*recurse=*/true)) check("buffer", b.name, b.value);
}

// LoadOptions::cudnn_attention: whether scaled_dot_product_attention may pick cuDNN's kernel.
void set_cudnn_attention(bool on) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  at::globalContext().setSDPUseCuDNN(on);
#else
  (void)on;  // no cuDNN attention in this LibTorch
#endif
}

}  // namespace

bool freezes_unit(const UnitSpec& spec, const LoadOptions& options) {
  return options.freeze && spec.kind != UnitKind::kVision;
}

LoadedModel::LoadedModel(Manifest manifest, PlacementPlan plan)
    : manifest_(std::move(manifest)), plan_(std::move(plan)) {}

std::shared_ptr<const LoadedModel> LoadedModel::load(Manifest manifest, PlacementPlan plan,
                                                     const LoadOptions& options) {
  Stopwatch watch;
  set_cudnn_attention(options.cudnn_attention);
  check_user(!manifest.config_only,
             (manifest.dir / "manifest.json").string() +
                 " was written with --config-only: it has no weights (plan it with --plan-only)");
  std::shared_ptr<LoadedModel> model(new LoadedModel(std::move(manifest), std::move(plan)));
  const Manifest& m = model->manifest_;
  model->before_unit_call_ = options.before_unit_call;
  model->units_.resize(m.units.size());
  model->unit_load_times_.resize(m.units.size());
  const std::string where = (m.dir / "manifest.json").string();

  // The tokenizer files first (small); the units as they are read below.
  FileCheckTally& tally = model->file_checks_;
  tally.verified = options.verify;
  if (options.verify) warn_unrecorded_hashes(m);
  for (const ModelFile& f : tokenizer_files(m))
    tally.add(read_model_file(f, options.verify, /*keep=*/false, where));
  std::mutex tally_mutex;
  std::atomic<bool> failed{false};

  for (size_t i = 0; i < m.units.size(); ++i) {
    LoadedUnit& u = model->units_[i];
    u.spec = &m.units[i];
    u.device = model->plan_.device_of(u.spec->name);
    if (model->before_unit_call_) u.before_call = &model->before_unit_call_;
    u.jit_optimize = options.jit_optimize;
  }
  // Each queue (a device's units; everything when !parallel) is read by threads_per_device
  // threads (one when !parallel), each taking the queue's next unit.
  const std::vector<std::vector<size_t>> queues = load_queues(m, model->plan_, options);
  const int per_device = options.parallel ? std::max(1, options.threads_per_device) : 1;
  std::vector<std::unique_ptr<std::atomic<size_t>>> next;
  std::vector<std::future<void>> loaders;
  for (const std::vector<size_t>& indices : queues) {
    next.push_back(std::make_unique<std::atomic<size_t>>(0));
    std::atomic<size_t>* counter = next.back().get();
    const std::vector<size_t>* idx = &indices;
    for (int t = 0; t < per_device && t < static_cast<int>(indices.size()); ++t) {
      loaders.push_back(std::async(std::launch::async, [&, idx, counter]() {
        for (size_t k = (*counter)++; k < idx->size() && !failed; k = (*counter)++) {
          LoadedUnit& u = model->units_[(*idx)[k]];
          UnitLoadTime& time = model->unit_load_times_[(*idx)[k]];
          try {
            time.start_ms = watch.elapsed_ms();
            Stopwatch step;
            // One read; with verify, the bytes matched the manifest before this returns.
            CheckedFile file =
                read_model_file({u.spec->file, "unit " + u.spec->name, u.spec->sha256},
                                options.verify, /*keep=*/true, where);
            time.read_ms = step.elapsed_ms();
            {
              std::lock_guard<std::mutex> lock(tally_mutex);
              tally.add(file);
            }
            std::shared_ptr<caffe2::serialize::ReadAdapterInterface> bytes =
                std::make_shared<MemoryReadAdapter>(std::move(file.bytes), file.size);
            step.restart();
            u.module = torch::jit::load(std::move(bytes), u.device);
            u.module.eval();
            time.deserialize_ms = step.elapsed_ms();
            check_unit_dtype(u.module, *u.spec, m.dtype, where);
            if (freezes_unit(*u.spec, options)) {
              step.restart();
              u.module = torch::jit::freeze(u.module);
              time.freeze_ms = step.elapsed_ms();
            }
          } catch (const c10::Error& e) {
            failed = true;
            throw UserError("loading unit " + u.spec->name + " from " + u.spec->file.string() +
                            " onto " + u.device.str() + " failed: " + e.what_without_backtrace());
          } catch (...) {
            failed = true;
            throw;
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

std::vector<std::vector<size_t>> LoadedModel::load_queues(const Manifest& manifest,
                                                          const PlacementPlan& plan,
                                                          const LoadOptions& options) {
  std::map<std::string, std::vector<size_t>> by_device;
  for (size_t i = 0; i < manifest.units.size(); ++i)
    by_device[options.parallel ? plan.device_of(manifest.units[i].name).str() : std::string()]
        .push_back(i);
  std::vector<std::vector<size_t>> queues;
  for (auto& [device, indices] : by_device) {
    if (options.parallel)
      std::stable_sort(indices.begin(), indices.end(), [&](size_t a, size_t b) {
        return manifest.units[a].param_bytes > manifest.units[b].param_bytes;
      });
    queues.push_back(std::move(indices));
  }
  return queues;
}

torch::jit::IValue run_unit(const LoadedUnit& unit, std::vector<torch::jit::IValue> inputs) {
  try {
    if (unit.before_call) (*unit.before_call)(*unit.spec);
    // thread-local in TorchScript, on by default: set for this call, whichever thread makes it
    torch::jit::setGraphExecutorOptimize(unit.jit_optimize);
    torch::jit::Module module = unit.module;  // shallow handle
    return module.forward(std::move(inputs));
  } catch (const c10::Error& e) {
    throw device_error(e, "unit " + unit.spec->name, unit.device);
  }
}

}  // namespace vlm
