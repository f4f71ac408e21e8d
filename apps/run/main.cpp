// `run`: VLMEvalKit's `python run.py --model M --data D` as one C++ program.
// Exit codes: 0 done, 1 unexpected failure, 2 user error (bad arguments, config, data, model
// files, a placement that does not fit), 3 internal error, 4 --plan-only: the plan does not fit.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <iostream>

#include "vlm/core/error.h"
#include "vlm/core/log.h"
#include "vlm/eval/pandas_csv.h"
#include "vlm/run/evaluation.h"

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

// VLMEvalKit prints the accuracy DataFrame transposed when it has fewer rows than columns.
void print_scores(const vlm::PairResult& r) {
  std::cout << "\n"
            << r.model << " / " << r.dataset << ": " << r.items << " items (" << r.answered
            << " answered now, " << r.resumed << " resumed, " << r.errors << " errors)\n";
  if (r.acc) {
    const vlm::AccTable& t = *r.acc;
    size_t width = 8;
    for (const auto& c : t.columns) width = std::max(width, c.size());
    std::cout << std::left << std::setw(static_cast<int>(width) + 2) << "split";
    for (const auto& s : t.splits) std::cout << std::setw(20) << s;
    std::cout << "\n";
    for (size_t c = 1; c < t.columns.size(); ++c) {
      std::cout << std::setw(static_cast<int>(width) + 2) << t.columns[c];
      for (size_t row = 0; row < t.splits.size(); ++row)
        std::cout << std::setw(20) << vlm::python_float_repr(t.values[row][c - 1]);
      std::cout << "\n";
    }
  }
  std::cout << "results in " << r.folder.string() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Evaluate an exported InternVL2 model on VLMEvalKit benchmarks (run.py in C++)"};
  vlm::RunOptions o;
  std::string work_dir = "outputs", model_root, model_dir, configs, judge = "exact_matching";
  int64_t max_new_tokens = 0;
  bool verbose = false, quiet = false;
  app.add_option("--model", o.models, "model names (configs/models/NAME.yaml)");
  app.add_option("--data", o.datasets, "dataset names ({LMUData}/NAME.tsv)");
  app.add_option("--work-dir", work_dir, "output root (default ./outputs; $MMEVAL_ROOT overrides)");
  app.add_option("--model-root", model_root,
                 "folder holding exported model directories (default $VLMEVAL_MODEL_ROOT)");
  app.add_option("--model-dir", model_dir, "run this exported model directory directly");
  app.add_option("--max-new-tokens", max_new_tokens, "override the model config's limit");
  app.add_option("--device", o.device,
                 "device for placements whose devices are [auto]: cpu | cuda | cuda:N | auto");
  app.add_option("--placement", o.placement,
                 "placement config: NAME (configs/placements) or a .yaml / accelerate .json file");
  app.add_flag("--plan-only", o.plan_only,
               "print the placement plan and exit (non-zero when it does not fit); loads nothing");
  app.add_option("--configs", configs, "configs folder (default: the source tree's configs/)");
  app.add_option("--judge", judge, "answer matching: exact_matching (no LLM judge)")
      ->check(CLI::IsMember({"exact_matching"}));
  app.add_flag("--verbose", verbose, "log every item");
  app.add_flag("--quiet", quiet, "log errors only");
  CLI11_PARSE(app, argc, argv);

  vlm::log::set_level(quiet     ? vlm::log::Level::kError
                      : verbose ? vlm::log::Level::kDebug
                                : vlm::log::Level::kInfo);
  o.work_dir = env_or("MMEVAL_ROOT", work_dir);
  o.model_root = model_root.empty() ? env_or("VLMEVAL_MODEL_ROOT", "") : model_root;
  o.model_dir = model_dir;
  o.data_root = env_or("LMUData", env_or("HOME", ".") + "/LMUData");
  o.configs_dir = configs.empty() ? env_or("VLMEVAL_CONFIGS", VLM_DEFAULT_CONFIGS_DIR) : configs;
  if (max_new_tokens != 0) o.max_new_tokens = max_new_tokens;
  o.commit = harness_commit();
  o.can_infer.verbose = !env_or("VERBOSE", "").empty();
  for (int i = 0; i < argc; ++i) o.argv.emplace_back(argv[i]);

  try {
    if (o.plan_only) {
      o.validate();
      bool all_fit = true;
      for (const auto& p : vlm::plan_models(o)) {
        std::cout << p.model << " under placement " << p.placement << " (" << p.plan.strategy()
                  << "): " << (p.plan.fits() ? "fits" : "DOES NOT FIT") << "\n"
                  << p.plan.table();
        all_fit = all_fit && p.plan.fits();
      }
      return all_fit ? 0 : 4;
    }
    const vlm::EvaluationSummary summary = vlm::run_evaluation(o);
    for (const auto& r : summary.pairs) print_scores(r);
    return 0;
  } catch (const vlm::Error& e) {
    std::cerr << "run: error: " << e.what() << "\n";
    return e.is_user_error() ? 2 : 3;
  } catch (const std::exception& e) {
    std::cerr << "run: unexpected error: " << e.what() << "\n";
    return 1;
  }
}
