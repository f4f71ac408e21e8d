#include "vlm/results/work_dir.h"

#include <algorithm>
#include <system_error>

#include "vlm/core/error.h"

namespace vlm {
namespace fs = std::filesystem;

std::string eval_id(const std::string& commit, std::time_t now) {
  std::tm local{};
  localtime_r(&now, &local);
  char day[16];
  std::strftime(day, sizeof(day), "%Y%m%d", &local);
  return std::string("T") + day + "_G" + commit.substr(0, 8);
}

PairFiles pair_files(const fs::path& run_folder, const std::string& model,
                     const std::string& dataset) {
  const std::string stem = model + "_" + dataset;
  PairFiles f;
  f.folder = run_folder;
  f.stem = stem;
  f.records = run_folder / (stem + "_records.jsonl");
  f.predictions = run_folder / (stem + ".xlsx");
  f.predictions_tsv = run_folder / (stem + ".tsv");
  f.result = run_folder / (stem + "_exact_matching_result.xlsx");
  f.acc = run_folder / (stem + "_acc.csv");
  return f;
}

std::string shard_tag(int rank, int world_size) {
  return std::to_string(rank) + "of" + std::to_string(world_size);
}

fs::path shard_record_path(const PairFiles& files, int rank, int world_size) {
  if (world_size == 1) return files.records;
  return files.folder / (files.stem + "_records.shard" + shard_tag(rank, world_size) + ".jsonl");
}

std::vector<fs::path> pair_record_files(const fs::path& folder, const std::string& stem) {
  std::vector<fs::path> out;
  if (!fs::is_directory(folder)) return out;
  const std::string plain = stem + "_records.jsonl", sharded = stem + "_records.shard";
  for (const auto& e : fs::directory_iterator(folder)) {
    const std::string name = e.path().filename().string();
    const bool is_shard = name.rfind(sharded, 0) == 0 && name.size() > 6 &&
                          name.compare(name.size() - 6, 6, ".jsonl") == 0;
    if (e.is_regular_file() && (name == plain || is_shard)) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

fs::path find_reuse_folder(const fs::path& model_dir, const fs::path& current,
                           const std::string& commit, const std::string& stem) {
  if (!fs::is_directory(model_dir) || commit.empty()) return {};
  std::vector<fs::path> folders;
  const std::string tag = "_G" + commit.substr(0, 8);
  for (const auto& e : fs::directory_iterator(model_dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && !e.is_symlink() && name != current.filename().string() &&
        name.find(tag) != std::string::npos)
      folders.push_back(e.path());
  }
  std::sort(folders.rbegin(), folders.rend());
  for (const fs::path& f : folders)
    if (!pair_record_files(f, stem).empty()) return f;
  return {};
}

std::vector<fs::path> link_pair_files(const fs::path& run_folder, const std::string& stem) {
  std::vector<fs::path> links;
  const fs::path up = run_folder.parent_path();
  std::vector<fs::path> targets;
  for (const auto& e : fs::directory_iterator(run_folder)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.find(stem) != std::string::npos &&
        name.find(".tmp") == std::string::npos)
      targets.push_back(e.path());
  }
  std::sort(targets.begin(), targets.end());
  for (const fs::path& target : targets) {
    const fs::path link = up / target.filename();
    std::error_code ec;
    if (fs::is_symlink(fs::symlink_status(link)) || fs::is_regular_file(link)) fs::remove(link, ec);
    fs::create_symlink(fs::absolute(target), link, ec);
    check_user(!ec,
               "cannot link " + link.string() + " -> " + target.string() + ": " + ec.message());
    links.push_back(link);
  }
  return links;
}

}  // namespace vlm
