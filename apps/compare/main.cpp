// `compare`: two or more run folders side by side (issue 5, item 7): per-item agreement of
// predictions, score deltas, speed and memory per device; as a table on stdout, JSON (--json) and
// a PNG chart (--chart).
// Exit codes: 0 done, 1 --expect-identical and some prediction differs (or an item is missing
// from a run), 2 user error (arguments, a folder that is not a run, unreadable files), 3 internal
// error.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "vlm/core/error.h"
#include "vlm/core/log.h"
#include "vlm/report/comparison_chart.h"
#include "vlm/report/comparison_table.h"
#include "vlm/report/run_comparison.h"
#include "vlm/report/run_folder.h"
#include "vlm/results/atomic_file.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Compare run folders ({work_dir}/{model}/T{YYYYMMDD}_G{commit8}/): agreement of "
      "predictions, scores, speed and memory. The first folder is the baseline."};
  std::vector<std::string> folders, labels;
  vlm::CompareOptions options;
  std::string json_file, chart_file;
  vlm::ChartOptions chart;
  bool expect_identical = false, quiet = false;
  app.add_option("folders", folders, "run folders (two or more; the first is the baseline)")
      ->required();
  app.add_option("--label", labels,
                 "a label per run folder, in order (default: model/T..._G..., with the "
                 "folders above it where two runs' would be the same)");
  app.add_option("--data", options.datasets,
                 "datasets to compare (default: every dataset all runs have)");
  app.add_option("--json", json_file, "write the comparison as JSON to FILE");
  app.add_option("--chart", chart_file,
                 "write a PNG chart (overall score and items/s per run) to FILE.png");
  app.add_option("--chart-size", chart.width, "chart width in pixels (height: half of it)")
      ->check(CLI::Range(320, 8000));
  app.add_option("--max-listed", options.max_listed,
                 "differing items shown with both predictions, per dataset and run (default 5)");
  app.add_flag("--expect-identical", expect_identical,
               "exit 1 (naming the items) when any prediction differs from the baseline's");
  app.add_flag("--quiet", quiet, "print nothing on stdout (errors and --expect-identical only)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  chart.height = chart.width / 2;
  vlm::log::set_level(quiet ? vlm::log::Level::kError : vlm::log::Level::kInfo);

  try {
    if (folders.size() < 2)
      throw vlm::UserError("compare needs at least two run folders, got " +
                           std::to_string(folders.size()));
    if (!labels.empty() && labels.size() != folders.size())
      throw vlm::UserError("--label given " + std::to_string(labels.size()) + " times for " +
                           std::to_string(folders.size()) + " run folders; give one per folder");
    std::vector<vlm::RunFolder> runs;
    for (size_t i = 0; i < folders.size(); ++i)
      runs.push_back(vlm::RunFolder::open(folders[i], labels.empty() ? "" : labels[i]));
    const vlm::RunComparison comparison = vlm::compare_runs(std::move(runs), options);

    if (!quiet) std::cout << vlm::comparison_table(comparison) << std::flush;
    if (!json_file.empty())
      vlm::write_file_atomically(
          json_file,
          comparison.to_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
              "\n");
    if (!chart_file.empty()) vlm::write_comparison_chart(comparison, chart_file, chart);

    if (expect_identical && !comparison.identical()) {
      std::cerr << "compare: predictions differ (--expect-identical):\n"
                << comparison.difference_summary();
      return 1;
    }
    return 0;
  } catch (const vlm::Error& e) {
    std::cerr << "compare: error: " << e.what() << "\n";
    return vlm::exit_code(e.kind());
  } catch (const std::exception& e) {
    std::cerr << "compare: internal error: " << e.what() << "\n";
    return 3;
  }
}
