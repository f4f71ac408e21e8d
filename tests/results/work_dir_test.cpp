// The run folder's names (results/work_dir.h): record files of every shard, --reuse folders.
#include "vlm/results/work_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/scratch_dir.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;

class WorkDir : public testing::ScratchDirTest {};

TEST_F(WorkDir, RecordFilesOfEveryShardAndReuseFolders) {
  const fs::path model = dir_ / "M";
  const fs::path cur = model / "T20260102_Gabcdef12", old = model / "T20260101_Gabcdef12",
                 other = model / "T20251231_G99999999";
  for (const fs::path& p : {cur, old, other}) fs::create_directories(p);
  std::ofstream(old / "M_D_records.shard0of2.jsonl") << "";
  std::ofstream(old / "M_D_records.shard1of2.jsonl") << "";
  std::ofstream(old / "M_DX_records.jsonl") << "";
  std::ofstream(other / "M_D_records.jsonl") << "";
  EXPECT_EQ(pair_record_files(old, "M_D"),
            (std::vector<fs::path>{old / "M_D_records.shard0of2.jsonl",
                                   old / "M_D_records.shard1of2.jsonl"}));
  EXPECT_EQ(find_reuse_folder(model, cur, "abcdef1234567890", "M_D"), old);
  EXPECT_EQ(find_reuse_folder(model, cur, "abcdef1234567890", "M_E"), fs::path());
  const PairFiles files = pair_files(cur, "M", "D");
  EXPECT_EQ(shard_record_path(files, 0, 1), cur / "M_D_records.jsonl");
  EXPECT_EQ(shard_record_path(files, 2, 3), cur / "M_D_records.shard2of3.jsonl");
}

TEST(WorkDirNames, ShardTagsAndEvalIds) {
  EXPECT_EQ(shard_tag(0, 1), "0of1");
  EXPECT_EQ(shard_tag(3, 8), "3of8");
  const std::string id = eval_id("abcdef1234567890", 0);
  EXPECT_EQ(id.substr(id.size() - 10), "_Gabcdef12");
}

}  // namespace
}  // namespace vlm
