// Model files are code (issue 7): the exporter records a SHA-256 of every unit and tokenizer file
// and verify_model_files checks them before anything is loaded.
#include "vlm/model/verify_files.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/test_paths.h"
#include "common/user_error.h"
#include "vlm/core/error.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;

// A full copy of the tiny model (2.7 MB) in a fresh temp folder.
class TinyCopy : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "vlm_verify_XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = fs::path(templ) / "InternVL2-tiny";
    fs::copy(testing::tiny_model_dir(), dir_, fs::copy_options::recursive);
  }
  void TearDown() override { fs::remove_all(dir_.parent_path()); }
  fs::path dir_;
};

// The exporter's hashes are Python hashlib's (an outside reference for our SHA-256), cover every
// unit and the tokenizer files, and verify.
TEST_F(TinyCopy, ExportRecordsHashesThatVerify) {
  const Manifest m = load_manifest(dir_);
  for (const auto& u : m.units) EXPECT_EQ(u.sha256.size(), 64u) << u.name;
  EXPECT_EQ(m.file_sha256.count(dir_ / "tokenizer.model"), 1u);
  EXPECT_EQ(m.file_sha256.count(dir_ / "tokenizer_config.json"), 1u);
  EXPECT_GE(verify_model_files(m), 0.0);
}

// One flipped byte in one unit archive: a UserError naming the file, the unit and both hashes.
TEST_F(TinyCopy, TamperedUnitArchiveNamesTheFile) {
  const Manifest m = load_manifest(dir_);
  const UnitSpec& unit = *m.decoder_layers()[1];
  std::string bytes;
  {
    std::ifstream in(unit.file, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    bytes = s.str();
  }
  bytes[bytes.size() / 2] ^= 0x01;
  std::ofstream(unit.file, std::ios::binary | std::ios::trunc) << bytes;
  const std::string cmd = testing::python() +
                          " -c \"import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb')"
                          ".read()).hexdigest())\" " +
                          unit.file.string() + " > " + (dir_ / "actual.txt").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string actual;
  std::ifstream(dir_ / "actual.txt") >> actual;

  const std::string msg = testing::user_error([&] { verify_model_files(m); });
  EXPECT_NE(msg.find(unit.file.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("unit " + unit.name), std::string::npos) << msg;
  EXPECT_NE(msg.find(unit.sha256), std::string::npos) << msg;
  EXPECT_NE(msg.find(actual), std::string::npos) << msg;
}

// A tampered tokenizer file and a missing unit file are errors naming them.
TEST_F(TinyCopy, TamperedTokenizerAndMissingUnitNameTheFile) {
  const Manifest m = load_manifest(dir_);
  std::ofstream(dir_ / "tokenizer_config.json", std::ios::app) << " ";
  const std::string msg = testing::user_error([&] { verify_model_files(m); });
  EXPECT_NE(msg.find((dir_ / "tokenizer_config.json").string()), std::string::npos) << msg;
  fs::remove(m.units[0].file);
  const std::string gone = testing::user_error([&] { verify_model_files(m); });
  EXPECT_NE(gone.find(m.units[0].file.string()), std::string::npos) << gone;
}

// A manifest from before hashes were recorded loads and verifies with a warning, not an error;
// a malformed hash is an error naming the field.
TEST_F(TinyCopy, ManifestWithoutHashesIsAWarning) {
  nlohmann::json j;
  {
    std::ifstream in(dir_ / "manifest.json");
    j = nlohmann::json::parse(in);
  }
  for (auto& u : j["units"]) u.erase("sha256");
  j.erase("files");
  std::ofstream(dir_ / "manifest.json", std::ios::trunc) << j.dump();
  const Manifest m = load_manifest(dir_);
  EXPECT_NO_THROW(verify_model_files(m));

  j["units"][2]["sha256"] = "abc";
  std::ofstream(dir_ / "manifest.json", std::ios::trunc) << j.dump();
  const std::string msg = testing::user_error([&] { load_manifest(dir_); });
  EXPECT_NE(msg.find("units[2].sha256"), std::string::npos) << msg;
}

// Unit and file paths may not leave the model directory.
TEST_F(TinyCopy, ManifestPathsStayInsideTheModelDirectory) {
  nlohmann::json j;
  {
    std::ifstream in(dir_ / "manifest.json");
    j = nlohmann::json::parse(in);
  }
  auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json e = j;
    edit(e);
    std::ofstream(dir_ / "manifest.json", std::ios::trunc) << e.dump();
    return testing::user_error([&] { load_manifest(dir_); });
  };
  EXPECT_NE(edited([](nlohmann::json& e) { e["units"][0]["file"] = "../../evil.pt"; })
                .find("units[0].file: '../../evil.pt' leaves the model directory"),
            std::string::npos);
  EXPECT_NE(edited([](nlohmann::json& e) { e["units"][1]["file"] = "/tmp/evil.pt"; })
                .find("absolute path"),
            std::string::npos);
  EXPECT_NE(edited([](nlohmann::json& e) { e["files"]["../x.json"] = std::string(64, 'a'); })
                .find("leaves the model directory"),
            std::string::npos);
}

}  // namespace
}  // namespace vlm
