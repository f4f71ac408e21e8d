#include "vlm/run/work_dir.h"

namespace vlm {

std::string eval_id(const std::string& commit, std::time_t now) {
  std::tm local{};
  localtime_r(&now, &local);
  char day[16];
  std::strftime(day, sizeof(day), "%Y%m%d", &local);
  return std::string("T") + day + "_G" + commit.substr(0, 8);
}

PairFiles pair_files(const std::filesystem::path& run_folder, const std::string& model,
                     const std::string& dataset) {
  const std::string stem = model + "_" + dataset;
  PairFiles f;
  f.folder = run_folder;
  f.records = run_folder / (stem + "_records.jsonl");
  f.predictions = run_folder / (stem + ".xlsx");
  f.predictions_tsv = run_folder / (stem + ".tsv");
  f.result = run_folder / (stem + "_exact_matching_result.xlsx");
  f.acc = run_folder / (stem + "_acc.csv");
  return f;
}

}  // namespace vlm
