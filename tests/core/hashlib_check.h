// What the MD5 and SHA-256 tests share: files of sizes around the 64-byte block and padding
// boundaries, and one over the 1 MiB read block, hashed by our code and by Python's hashlib.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "common/test_paths.h"

namespace vlm::testing {

// `algorithm` is a hashlib constructor name ("md5", "sha256"). Checks, for each size, that
// file_hex(file) == bytes_hex(bytes) == hashlib.<algorithm>(bytes).hexdigest().
inline void expect_files_match_hashlib(
    const std::string& algorithm, unsigned seed,
    const std::function<std::string(const std::filesystem::path&)>& file_hex,
    const std::function<std::string(const std::string&)>& bytes_hex) {
  namespace fs = std::filesystem;
  std::string dir_templ = (fs::temp_directory_path() / ("vlm_" + algorithm + "_XXXXXX")).string();
  ASSERT_NE(mkdtemp(dir_templ.data()), nullptr);
  const fs::path dir = dir_templ;
  std::mt19937 rng(seed);
  const std::vector<size_t> sizes = {0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 3 << 20};
  std::vector<std::string> ours;
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::string bytes(sizes[i], '\0');
    for (auto& b : bytes) b = static_cast<char>(rng() & 0xff);
    std::ofstream(dir / ("f" + std::to_string(i)), std::ios::binary) << bytes;
    ours.push_back(file_hex(dir / ("f" + std::to_string(i))));
    EXPECT_EQ(ours.back(), bytes_hex(bytes));
  }
  const auto script = dir / "hash.py";
  std::ofstream(script) << "import hashlib, sys, os\n"
                           "d = sys.argv[1]\n"
                           "for i in range(int(sys.argv[2])):\n"
                           "    print(hashlib."
                        << algorithm
                        << "(open(os.path.join(d, 'f%d' % i), 'rb').read()).hexdigest())\n";
  const auto out = dir / "out.txt";
  const std::string cmd = python() + " " + script.string() + " " + dir.string() + " " +
                          std::to_string(sizes.size()) + " > " + out.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(out);
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(ours[i], line) << algorithm << ", size " << sizes[i];
  }
  fs::remove_all(dir);
}

}  // namespace vlm::testing
