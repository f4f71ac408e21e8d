// run.json's reading and writing (results/run_journal.h): broken files are started again with a
// warning, never trusted and never a reason to stop a run.
#include "vlm/results/run_journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/scratch_dir.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;

class RunJournal : public testing::ScratchDirTest {};

// A run.json that a resumed run cannot parse is started again from an empty object, with a
// warning naming the file and the parse error (it used to be replaced silently).
TEST_F(RunJournal, ACorruptRunJsonIsRebuiltWithAWarningNamingTheFileAndTheError) {
  write("run.json", R"({"commit": "abc", "datasets": {"D": {"items": 3}}})");
  ::testing::internal::CaptureStderr();
  const nlohmann::json good = read_run_json(dir_);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(good["datasets"]["D"]["items"], 3);

  write("run.json", R"({"commit": "abc", "datasets": {"D": {"items": 3)");
  ::testing::internal::CaptureStderr();
  const nlohmann::json cut = read_run_json(dir_);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(cut, nlohmann::json::object());
  EXPECT_NE(err.find("warning: " + (dir_ / "run.json").string() + ": not valid JSON ("),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("parse error"), std::string::npos) << err;

  write("run.json", "[1, 2]");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(read_run_json(dir_), nlohmann::json::object());
  const std::string array = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(array.find((dir_ / "run.json").string() + ": is a JSON array, not an object"),
            std::string::npos)
      << array;

  // The next update writes a whole new file over it.
  write("run.json", "{not json");
  ::testing::internal::CaptureStderr();
  update_run_json(dir_, [](nlohmann::json& j) { j["commit"] = "def"; });
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(read_run_json(dir_), nlohmann::json({{"commit", "def"}}));
}

// A run.json whose key has the wrong type is read as an empty report by `run`, with a warning
// naming the key's path; the next update replaces it.
TEST_F(RunJournal, AKeyOfTheWrongTypeStartsTheReportAgainWithAWarningNamingIt) {
  write("run.json", R"({"commit": "abc", "world_size": "two"})");
  ::testing::internal::CaptureStderr();
  const RunReport r = read_run_report(dir_);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(r.commit.has_value());
  EXPECT_NE(err.find((dir_ / "run.json").string() + ": world_size"), std::string::npos) << err;
  ::testing::internal::CaptureStderr();
  update_run_report(dir_, [](RunReport& report) { report.world_size = 2; });
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(read_run_json(dir_), nlohmann::json({{"world_size", 2}}));
  // A good file reads into the typed fields.
  write("run.json", R"({"commit": "abc", "world_size": 3})");
  EXPECT_EQ(read_run_report(dir_).world_size, 3);
}

}  // namespace
}  // namespace vlm
