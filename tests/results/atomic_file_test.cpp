// Result files are written through a temporary file this process creates itself (issue 17): a
// leftover or a link planted at the temporary name is replaced, never written through.
#include "vlm/results/atomic_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/shell.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;

using testing::read_file;

TEST(AtomicFile, APlantedLinkAtTheTemporaryNameIsNotFollowed) {
  const fs::path dir = fs::temp_directory_path() / ("vlm_atomic_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "victim") << "keep me";
  fs::create_symlink(dir / "victim", dir / "out.csv.tmp");
  write_file_atomically(dir / "out.csv", "a,b\n");
  EXPECT_EQ(read_file(dir / "victim"), "keep me");
  EXPECT_EQ(read_file(dir / "out.csv"), "a,b\n");
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir / "out.csv.tmp")));
  // A killed writer's leftover is replaced as well.
  std::ofstream(dir / "out.xlsx.tmp") << "half-written";
  const fs::path tmp = create_temporary_for(dir / "out.xlsx");
  EXPECT_EQ(tmp, dir / "out.xlsx.tmp");
  EXPECT_EQ(fs::file_size(tmp), 0u);
  fs::create_symlink(dir / "victim", dir / "t.tmp");
  const fs::path t = create_temporary_for(dir / "t");
  EXPECT_FALSE(fs::is_symlink(t));
  EXPECT_EQ(read_file(dir / "victim"), "keep me");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vlm
