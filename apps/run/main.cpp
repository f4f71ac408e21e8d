// `run`: VLMEvalKit's `python run.py --model M --data D` as one C++ program.
// Exit codes: 0 done, 1 unexpected failure, 2 user error (bad arguments, config, data, model
// files, a placement that does not fit, a dataset that failed), 3 internal error, 4 --plan-only:
// the plan does not fit, 5 a device error outside an item (e.g. out of memory for the KV cache),
// 128+N stopped by signal N (130: SIGINT, 143: SIGTERM) after finishing the item in flight.
#include <c10/util/Exception.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "vlm/core/error.h"
#include "vlm/core/host_memory.h"
#include "vlm/core/log.h"
#include "vlm/core/progress.h"
#include "vlm/generate/generation_options.h"
#include "vlm/model/profile_trace.h"
#include "vlm/results/pandas_csv.h"
#include "vlm/run/batch_size.h"
#include "vlm/run/evaluation.h"
#include "vlm/run/placement_setup.h"
#include "vlm/run/prediction_scoring.h"
#include "vlm/run/run_config_file.h"
#include "vlm/run/shard.h"

#ifndef VLM_GIT_COMMIT
#define VLM_GIT_COMMIT ""
#endif
#ifndef VLM_SOURCE_DIR
#define VLM_SOURCE_DIR "."
#endif
#ifndef VLM_DEFAULT_CONFIGS_DIR
#define VLM_DEFAULT_CONFIGS_DIR "configs"
#endif

namespace {

std::atomic<int> g_interrupt{0};

// First SIGINT/SIGTERM: finish the item in flight, write, exit 128+N. A second one: exit now (the
// records written so far are complete; a restart goes on from them).
extern "C" void on_signal(int sig) {
  if (g_interrupt.load() != 0) _exit(128 + sig);
  g_interrupt.store(sig);
  const char msg[] =
      "\n[vlm] interrupted: finishing the current item, then writing and stopping (signal again "
      "to stop at once)\n";
  const ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
  (void)ignored;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// The harness's commit, read at run time as VLMEvalKit's githash() does (`git rev-parse HEAD` in
// the source tree), falling back to the commit the binary was configured at.
std::string harness_commit() {
  const std::string cmd = std::string("git -C '") + VLM_SOURCE_DIR + "' rev-parse HEAD 2>/dev/null";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[128];
    while (fgets(buf, sizeof(buf), p)) out += buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out.size() >= 8 ? out : std::string(VLM_GIT_COMMIT);
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// A test hook: VLM_TEST_UNIT_FAULT=UNIT:N:KIND makes the N-th forward call (1-based, counted over
// the process) of unit UNIT throw: KIND torch (a LibTorch error), oom (LibTorch's out of memory)
// or internal (a harness bug). Unset: no hook.
std::function<void(const vlm::UnitSpec&)> unit_fault_from_env() {
  const std::string spec = env_or("VLM_TEST_UNIT_FAULT", "");
  if (spec.empty()) return {};
  const size_t a = spec.find(':'), b = spec.rfind(':');
  vlm::check_user(a != std::string::npos && b > a,
                  "VLM_TEST_UNIT_FAULT must be UNIT:N:torch|oom|internal, got " + spec);
  const std::string unit = spec.substr(0, a), kind = spec.substr(b + 1);
  const long call = std::strtol(spec.substr(a + 1, b - a - 1).c_str(), nullptr, 10);
  vlm::check_user(call > 0 && (kind == "torch" || kind == "oom" || kind == "internal"),
                  "VLM_TEST_UNIT_FAULT must be UNIT:N:torch|oom|internal, got " + spec);
  auto calls = std::make_shared<std::atomic<long>>(0);
  return [unit, kind, call, calls](const vlm::UnitSpec& u) {
    if (u.name != unit || ++*calls != call) return;
    const std::string what =
        "fault injected by VLM_TEST_UNIT_FAULT at call " + std::to_string(call) + " of " + unit;
    if (kind == "oom") C10_THROW_ERROR(OutOfMemoryError, what);
    if (kind == "internal") throw vlm::InternalError(what);
    C10_THROW_ERROR(Error, what);
  };
}

// A test hook: VLM_RUN_CRASH_AT=<point> makes the process SIGKILL itself at that point of the run
// (RunOptions::at_point), so that tests can stop a run at a point no outside timing reaches
// reliably (e.g. between two result files).
std::function<void(const std::string&)> crash_point_from_env() {
  const std::string at = env_or("VLM_RUN_CRASH_AT", "");
  if (at.empty()) return {};
  return [at](const std::string& point) {
    if (point == at) std::raise(SIGKILL);
  };
}

std::string ms_text(double ms) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(ms < 10000 ? 0 : 1);
  if (ms < 10000)
    s << ms << " ms";
  else
    s << ms / 1000 << " s";
  return s.str();
}

// One pair's scores. VLMEvalKit prints the accuracy DataFrame transposed when it has fewer rows
// than columns: one line per column here.
void print_scores(const vlm::PairResult& r) {
  std::cout << "\n"
            << r.model << " / " << r.dataset << ": " << r.items << " items (" << r.answered
            << " answered now, " << r.resumed << " resumed, " << r.errors << " errors)\n";
  if (r.waiting) {
    std::cout << "other shards are still answering; the last one to finish merges and scores\n";
  } else if (r.acc) {
    const vlm::ScoreTable& t = *r.acc;
    size_t width = 8;
    for (const auto& c : t.columns) width = std::max(width, c.size());
    std::cout << std::left << std::setw(static_cast<int>(width) + 2) << "split";
    for (const auto& s : vlm::split_names(t)) std::cout << std::setw(20) << s;
    std::cout << "\n";
    for (size_t c = 1; c < t.columns.size(); ++c) {
      std::cout << std::setw(static_cast<int>(width) + 2) << t.columns[c];
      for (size_t row = 0; row < t.rows.size(); ++row)
        std::cout << std::setw(20) << vlm::python_float_repr(t.number(row, c));
      std::cout << "\n";
    }
  }
  std::cout << "results in " << r.folder.string() << "\n";
}

// The end-of-run table: one row per pair, its overall score and the time of each stage.
void print_summary(const vlm::EvaluationSummary& s) {
  if (s.pairs.empty()) return;
  std::cout << "\n"
            << std::left << std::setw(40) << "model / dataset" << std::setw(10) << "Overall"
            << std::setw(10) << "items" << std::setw(10) << "it/s" << std::setw(12) << "load"
            << std::setw(12) << "infer" << std::setw(12) << "merge" << std::setw(12) << "evaluate"
            << "\n";
  for (const auto& r : s.pairs) {
    // The headline: the first row's "Overall" (VQA: after the split columns; OCRBench: Final
    // Score / 1000).
    std::string overall = "-";
    if (r.acc && !r.acc->rows.empty()) {
      const auto& cols = r.acc->columns;
      const auto it = std::find(cols.begin(), cols.end(), "Overall");
      const size_t c = static_cast<size_t>(it - cols.begin());
      if (it != cols.end() && c > 0 && c < r.acc->rows[0].size() &&
          !std::isnan(r.acc->number(0, c))) {
        std::ostringstream o;
        o << std::fixed << std::setprecision(2) << 100 * r.acc->number(0, c);
        overall = o.str();
      }
    }
    auto stage = [&](const char* k) {
      auto it = r.stages.find(k);
      return it == r.stages.end() ? std::string("-") : ms_text(it->second);
    };
    std::ostringstream rate;
    if (r.items_per_s > 0)
      rate << std::fixed << std::setprecision(2) << r.items_per_s;
    else
      rate << "-";
    std::cout << std::setw(40) << (r.model + " / " + r.dataset) << std::setw(10) << overall
              << std::setw(10) << r.items << std::setw(10) << rate.str() << std::setw(12)
              << stage("load") << std::setw(12) << stage("infer") << std::setw(12) << stage("merge")
              << std::setw(12) << stage("evaluate") << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  vlm::use_huge_pages_for_torch();  // before the first CPU tensor (core/host_memory.h)
  CLI::App app{"Evaluate an exported InternVL2 model on VLMEvalKit benchmarks (run.py in C++)"};
  vlm::RunOptions o;
  std::string work_dir = "./outputs", model_root, model_dir, configs, config_file, mode = "all",
              shard;
  int64_t max_new_tokens = 0;
  int64_t limit = 0;
  std::string predictions;
  std::string batch_size;
  app.add_option("--model", o.models,
                 "model names (configs/models/NAME.yaml); several: outer loop");
  app.add_option("--data", o.datasets, "dataset names ({LMUData}/NAME.tsv); several: inner loop");
  app.add_option("--config", config_file,
                 "VLMEvalKit JSON {\"model\": {NAME: {...}}, \"data\": {NAME: {...}}}; replaces "
                 "--model/--data");
  app.add_option("--mode", mode,
                 "all: answer, merge, score | infer: answer and merge | eval: merge and score the "
                 "records of an earlier run (loads no model)")
      ->check(CLI::IsMember({"all", "infer", "eval"}));
  app.add_option("--predictions", predictions,
                 "with --mode eval: score this VLMEvalKit prediction file ({model}_{data}.xlsx, or "
                 ".tsv) as --model on --data (one each); loads no model");
  app.add_option("--work-dir", work_dir, "output root (default ./outputs; $MMEVAL_ROOT overrides)");
  app.add_flag("--no-verify", o.no_verify,
               "skip the SHA-256 check of the model files before loading (TorchScript archives "
               "run code when loaded; the check's time is in run.json)");
  app.add_flag(
      "--no-cuda-graphs", o.no_cuda_graphs,
      "run decode steps, vision and bucketed prefills eagerly instead of replaying them from "
      "CUDA graphs (same ids; for comparison and debugging)");
  app.add_flag("--jit-optimize", o.jit_optimize,
               "run units under TorchScript's profiling executor (optimises each shape it sees: "
               "seconds per new shape for large models); default: the simple executor");
  app.add_flag("--cudnn-attention", o.cudnn_attention,
               "let LibTorch pick cuDNN's attention kernel (its choice on Hopper), which builds a "
               "plan for every new prompt length; default: flash attention");
  app.add_option("--prefill-bucket", o.prefill_bucket,
                 "run each prefill at its prompt's length rounded up to a multiple of N tokens "
                 "(zero embeddings after the prompt, never read), so that the matmuls meet a few "
                 "lengths instead of a new one at almost every item, and on CUDA devices each "
                 "length's layers are replayed from a CUDA graph; 0 (default): the prompt's own "
                 "length, eagerly")
      ->check(CLI::Range(int64_t{0}, vlm::kMaxPrefillBucket));
  app.add_flag("--reuse", o.reuse,
               "start from the records of the newest earlier run folder with the same commit");
  app.add_option("--model-root", model_root,
                 "folder holding exported model directories (default $VLMEVAL_MODEL_ROOT)");
  app.add_option("--model-dir", model_dir, "run this exported model directory directly");
  app.add_option("--max-new-tokens", max_new_tokens, "override the model config's limit");
  app.add_option("--batch-size", batch_size,
                 "N (1.." + std::to_string(vlm::max_batch_size()) +
                     ") | auto: items answered together, each prefilled alone, decoded in one "
                     "batched step; auto: the largest N whose KV cache fits every device's "
                     "budget. Overrides the model config's batch_size (default 1). The result "
                     "files are the same for every N");
  app.add_option("--limit", limit,
                 "only the first N items of each dataset: the files cover those N; records of "
                 "other items stay in the record file, and a later run without --limit answers "
                 "only the rest");
  app.add_option("--shard", shard,
                 "i/N: answer items i, i+N, ... (default: torchrun RANK/WORLD_SIZE or Slurm "
                 "SLURM_PROCID/SLURM_NTASKS); the last shard to finish merges and scores");
  app.add_option("--device", o.device,
                 "device for placements whose devices are [auto]: cpu | cuda | cuda:N | auto");
  app.add_option("--placement", o.placement,
                 "placement config: NAME (configs/placements) or a .yaml / accelerate .json file");
  app.add_flag("--plan-only", o.plan_only,
               "print the placement plan and exit (non-zero when it does not fit); loads nothing");
  app.add_option("--configs", configs, "configs folder (default: the source tree's configs/)");
  app.add_option("--judge", o.judge, "answer matching: exact_matching (no LLM judge)")
      ->check(CLI::IsMember({"exact_matching"}));
  app.add_option("--prepare-threads", o.prepare_threads,
                 "CPU threads that prepare the next items (image decode, tiles, prompt, tokens) "
                 "while the device answers, up to 2 items per thread ahead (default 2); 0: each "
                 "item in turn on the main thread. Results are the same either way");
  app.add_flag("--overlap", o.overlap,
               "queue the next item's image preprocessing, vision and projector on side streams "
               "while the item before it runs (its layers on the next device, or its decode), so "
               "that devices overlap; the plan reserves the vision activations beside the "
               "layers'. Does nothing unless the vision side is on CUDA. Results are the same "
               "either way");
  std::string profile;
  app.add_option("--profile", profile,
                 "record a torch profiler (Kineto) trace of the run, its operators and CUDA "
                 "kernels, to FILE (Chrome trace JSON; bench/profile_report.py summarises it by "
                 "stage). Slows the run; results are the same");
  app.add_flag("--verbose", o.verbose, "print every response; debug logs");
  app.add_flag("--quiet", o.quiet, "print errors only (no progress, no tables)");
  CLI11_PARSE(app, argc, argv);

  vlm::log::set_level(o.quiet     ? vlm::log::Level::kError
                      : o.verbose ? vlm::log::Level::kDebug
                                  : vlm::log::Level::kInfo);
  try {
    o.work_dir = env_or("MMEVAL_ROOT", work_dir);
    o.model_root = model_root.empty() ? env_or("VLMEVAL_MODEL_ROOT", "") : model_root;
    o.model_dir = model_dir;
    o.data_root = env_or("LMUData", env_or("HOME", ".") + "/LMUData");
    o.configs_dir = configs.empty() ? env_or("VLMEVAL_CONFIGS", VLM_DEFAULT_CONFIGS_DIR) : configs;
    if (max_new_tokens != 0) o.max_new_tokens = max_new_tokens;
    if (!batch_size.empty()) o.batch_size = vlm::parse_batch_size(batch_size, "--batch-size");
    vlm::check_user(limit >= 0, "--limit must be > 0, got " + std::to_string(limit));
    if (limit > 0) o.limit = static_cast<size_t>(limit);
    o.mode = vlm::parse_run_mode(mode);
    o.shard = vlm::resolve_shard(shard, [](const std::string& name) -> std::optional<std::string> {
      const char* v = std::getenv(name.c_str());
      return v ? std::optional<std::string>(v) : std::nullopt;
    });
    if (!config_file.empty()) {
      vlm::check_user(o.models.empty() && o.datasets.empty(),
                      "--config " + config_file +
                          " names the models and datasets; it cannot be "
                          "combined with --model or --data");
      vlm::apply_run_config_file(config_file, o);
    }
    o.commit = harness_commit();
    o.can_infer.verbose = !env_or("VERBOSE", "").empty();
    for (int i = 0; i < argc; ++i) o.argv.emplace_back(argv[i]);
    o.interrupt = &g_interrupt;
    o.before_unit_call = unit_fault_from_env();
    o.at_point = crash_point_from_env();

    if (!predictions.empty()) {
      vlm::check_user(
          o.mode == vlm::RunMode::kEval && o.models.size() == 1 && o.datasets.size() == 1,
          "--predictions " + predictions +
              " needs --mode eval, one --model NAME and one --data NAME");
      vlm::EvaluationSummary summary;
      summary.pairs.push_back(
          vlm::score_prediction_file(o, o.models[0], o.datasets[0], predictions));
      if (!o.quiet) {
        print_scores(summary.pairs[0]);
        print_summary(summary);
      }
      return 0;
    }
    if (o.plan_only) {
      o.validate();
      bool all_fit = true;
      for (const auto& p : vlm::plan_models(o)) {
        std::cout << p.model << " under placement " << p.placement << " (" << p.plan.strategy()
                  << "): " << (p.plan.fits() ? "fits" : "DOES NOT FIT")
                  << (p.plan.capacity().batch > 1 ? vlm::batch_size_advice(p.plan) : "") << "\n"
                  << p.plan.table();
        all_fit = all_fit && p.plan.fits();
      }
      return all_fit ? 0 : 4;
    }
    if (o.shard.world_size > 1)
      vlm::log::info("shard " + std::to_string(o.shard.rank) + " of " +
                     std::to_string(o.shard.world_size) + " (" + o.shard.source + "), local rank " +
                     std::to_string(o.shard.local_rank));
    install_signal_handlers();
    const bool verbose = o.verbose;
    std::optional<vlm::ProfileTrace> trace;
    if (!profile.empty()) trace.emplace(profile);
    const vlm::EvaluationSummary summary =
        vlm::run_evaluation(o, [verbose](const std::string& what, const std::string& prediction) {
          if (verbose) std::cout << what << ": " << prediction << std::endl;
        });
    if (trace) trace->close();
    if (!o.quiet) {
      for (const auto& r : summary.pairs) print_scores(r);
      print_summary(summary);
    }
    int rc = 0;
    for (const auto& f : summary.failures) {
      std::cerr << "run: error: " << f.model << " / " << f.dataset << ": " << f.message << "\n";
      rc = std::max(rc, vlm::exit_code(f.kind));
    }
    if (summary.interrupted_by != 0) {
      std::cerr << "run: interrupted by signal " << summary.interrupted_by << " ("
                << strsignal(summary.interrupted_by)
                << "); finished items are recorded: run again with the same arguments to go on\n";
      return 128 + summary.interrupted_by;
    }
    return rc;
  } catch (const vlm::Error& e) {
    std::cerr << "run: error: " << e.what() << "\n";
    return vlm::exit_code(e.kind());
  } catch (const std::exception& e) {
    std::cerr << "run: unexpected error: " << e.what() << "\n";
    return 1;
  }
}
