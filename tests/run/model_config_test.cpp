// The model config reader (configs/models/NAME.yaml with its base file): keys declared in one
// table, unknown keys and wrong types as UserErrors naming the file where they are written.
#include "vlm/run/model_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "common/test_paths.h"
#include "common/user_error.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;
using testing::user_error;

class ModelConfigFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vlm_model_config_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // The shipped base file, as configs/models/InternVL2-Demo.yaml uses it.
    fs::copy_file(testing::source_dir() / "configs/models/_internvl2.yaml",
                  dir_ / "_internvl2.yaml");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  // configs/models/InternVL2-Demo.yaml's keys, then `extra`.
  void write_demo(const std::string& extra) {
    write("Demo.yaml", "base: _internvl2.yaml\nname: Demo\ntemplate: internlm2-chat\n" + extra);
  }
  fs::path dir_;
};

TEST_F(ModelConfigFiles, TheDemoConfigReadsItsOwnLimitOverTheBase) {
  write_demo("generation:\n  max_new_tokens: 8\n");
  const ModelConfig c = load_model_config("Demo", dir_);
  EXPECT_EQ(c.max_new_tokens, 8);
  EXPECT_EQ(c.chat_template, "internlm2-chat");
  EXPECT_EQ(c.tiles_for("MMMU_DEV_VAL", 1), 12);  // from the base
  write_demo("");
  EXPECT_EQ(load_model_config("Demo", dir_).max_new_tokens, 4096);
}

// Before the key table, both were accepted and the run used the base's 4096.
TEST_F(ModelConfigFiles, MisspelledMaxNewTokensNamesTheFileTheKeyAndWhereItBelongs) {
  write_demo("max_new_token: 8\n");
  const std::string m = user_error([&] { load_model_config("Demo", dir_); });
  EXPECT_NE(m.find((dir_ / "Demo.yaml").string() + ": max_new_token: unknown key 'max_new_token'"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("closest: generation.max_new_tokens"), std::string::npos) << m;

  write_demo("generation:\n  max_new_token: 8\n");
  const std::string nested = user_error([&] { load_model_config("Demo", dir_); });
  EXPECT_NE(nested.find((dir_ / "Demo.yaml").string() + ": generation.max_new_token: unknown key"),
            std::string::npos)
      << nested;
  EXPECT_NE(nested.find("closest: max_new_tokens;"), std::string::npos) << nested;
}

TEST_F(ModelConfigFiles, MisspelledTemplateSuggestsTemplate) {
  write("Demo.yaml", "base: _internvl2.yaml\nname: Demo\ntemplte: internlm2-chat\n");
  const std::string m = user_error([&] { load_model_config("Demo", dir_); });
  EXPECT_NE(m.find((dir_ / "Demo.yaml").string() + ": templte: unknown key 'templte'"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("closest: template;"), std::string::npos) << m;
}

TEST_F(ModelConfigFiles, WrongTypeNamesTheExpectedType) {
  write_demo("generation:\n  max_new_tokens: many\n");
  const std::string m = user_error([&] { load_model_config("Demo", dir_); });
  EXPECT_NE(m.find((dir_ / "Demo.yaml").string() +
                   ": generation.max_new_tokens: expected an integer, got 'many'"),
            std::string::npos)
      << m;
  write_demo("aliases: Demo2\n");
  const std::string aliases = user_error([&] { load_model_config("Demo", dir_); });
  EXPECT_NE(aliases.find("aliases: expected a list [a string, ...], got 'Demo2'"),
            std::string::npos)
      << aliases;
  write_demo("max_tiles: {datasets: {MME: lots}}\n");
  EXPECT_NE(user_error([&] {
              load_model_config("Demo", dir_);
            }).find("max_tiles.datasets.MME: expected an integer, got 'lots'"),
            std::string::npos);
}

// The base file's keys are checked as written there, and the message names the base file.
TEST_F(ModelConfigFiles, ATypoInTheBaseFileNamesTheBaseFile) {
  write_demo("");
  std::ofstream(dir_ / "_internvl2.yaml", std::ios::app) << "max_tile:\n  default: 6\n";
  const std::string m = user_error([&] { load_model_config("Demo", dir_); });
  EXPECT_NE(m.find((dir_ / "_internvl2.yaml").string() + ": max_tile: unknown key"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("closest: max_tiles;"), std::string::npos) << m;
  EXPECT_EQ(m.find("Demo.yaml"), std::string::npos) << m;
}

// batch_size: N in 1..32 or auto; anything else names the file and the key.
TEST_F(ModelConfigFiles, BatchSizeIsANumberOrAutoAndABadOneNamesTheFileAndKey) {
  write_demo("");
  const ModelConfig plain = load_model_config("Demo", dir_);
  EXPECT_FALSE(plain.batch_size.automatic);
  EXPECT_EQ(plain.batch_size.items, 1);
  write_demo("batch_size: 8\n");
  EXPECT_EQ(load_model_config("Demo", dir_).batch_size.items, 8);
  EXPECT_EQ(load_model_config("Demo", dir_).batch_size.str(), "8");
  write_demo("batch_size: auto\n");
  EXPECT_TRUE(load_model_config("Demo", dir_).batch_size.automatic);
  EXPECT_EQ(load_model_config("Demo", dir_).batch_size.str(), "auto");
  for (const std::string bad : {"0", "33", "-1", "many", "4.5"}) {
    write_demo("batch_size: " + bad + "\n");
    const std::string m = user_error([&] { load_model_config("Demo", dir_); });
    EXPECT_EQ(m, (dir_ / "Demo.yaml").string() +
                     ": batch_size must be auto or an integer in 1..32, got '" + bad + "'");
  }
  write_demo("batch_size: [4]\n");
  EXPECT_NE(user_error([&] {
              load_model_config("Demo", dir_);
            }).find((dir_ / "Demo.yaml").string() + ": batch_size: expected auto or an integer"),
            std::string::npos);
  write_demo("batch_sise: 4\n");
  EXPECT_NE(user_error([&] {
              load_model_config("Demo", dir_);
            }).find("batch_sise: unknown key 'batch_sise' (closest: batch_size;"),
            std::string::npos);
}

// Every shipped model config reads as before (the values the benchmark tests rely on).
TEST(ModelConfigs, EveryShippedConfigPassesTheKeyTable) {
  const fs::path dir = testing::source_dir() / "configs/models";
  const std::vector<std::string> names = known_model_names(dir);
  ASSERT_GE(names.size(), 9u);
  for (const std::string& name : names) {
    const ModelConfig c = load_model_config(name, dir);
    EXPECT_FALSE(c.chat_template.empty()) << name;
  }
  EXPECT_EQ(load_model_config("InternVL2-Demo", dir).max_new_tokens, 8);
  EXPECT_EQ(load_model_config("InternVL2-8B", dir).max_new_tokens, 4096);
  EXPECT_EQ(load_model_config("InternVL2-76B", dir).name, "InternVL2-Llama3-76B");
  EXPECT_EQ(load_model_config("InternVL2-8B", dir).batch_size.str(), "1");
}

}  // namespace
}  // namespace vlm
