#include "vlm/model/manifest.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <functional>

#include "common/test_paths.h"
#include "vlm/core/error.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;

std::string error_of(const fs::path& dir) {
  try {
    load_manifest(dir);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

// A copy of the tiny model's manifest with `edit` applied, in a temp folder with the same units.
fs::path edited_copy(const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
  fs::path src = testing::tiny_model_dir();
  fs::path dst = fs::temp_directory_path() / ("vlm_manifest_" + name);
  fs::remove_all(dst);
  fs::create_directories(dst);
  // A copy: a symbolic link out of the model directory is refused (issue 17.8).
  fs::copy(src / "units", dst / "units", fs::copy_options::recursive);
  std::ifstream in(src / "manifest.json");
  nlohmann::json j = nlohmann::json::parse(in);
  edit(j);
  std::ofstream(dst / "manifest.json") << j.dump(2);
  return dst;
}

TEST(Manifest, ReadsTheTinyModel) {
  Manifest m = load_manifest(testing::tiny_model_dir());
  EXPECT_EQ(m.family, "internlm2");
  EXPECT_EQ(m.dtype, c10::ScalarType::Float);
  EXPECT_EQ(m.unit(UnitKind::kVision).name, "vision_model");
  EXPECT_EQ(m.unit(UnitKind::kEmbedding).name, "language_model.model.tok_embeddings");
  EXPECT_EQ(m.unit(UnitKind::kHead).name, "language_model.output");
  EXPECT_EQ(static_cast<int64_t>(m.decoder_layers().size()), m.llm.num_layers);
  EXPECT_EQ(m.decoder_layers()[0]->name, "language_model.model.layers.0");
  EXPECT_GT(m.img_context_id, 0);
  EXPECT_FALSE(m.stop_ids.empty());
}

TEST(Manifest, MissingDirectoryNamesThePathAndTheExportCommand) {
  std::string e = error_of("/nonexistent/model");
  EXPECT_NE(e.find("/nonexistent/model"), std::string::npos) << e;
  EXPECT_NE(e.find("export_internvl2.py"), std::string::npos) << e;
}

TEST(Manifest, MissingFieldIsNamed) {
  auto dir = edited_copy("missing", [](nlohmann::json& j) { j["llm"].erase("head_dim"); });
  EXPECT_NE(error_of(dir).find("llm.head_dim is missing"), std::string::npos) << error_of(dir);
}

TEST(Manifest, MissingUnitFileIsNamed) {
  auto dir = edited_copy("nofile", [](nlohmann::json& j) { j["units"][1]["file"] = "units/x.pt"; });
  std::string e = error_of(dir);
  EXPECT_NE(e.find("mlp1"), std::string::npos) << e;
  EXPECT_NE(e.find("units/x.pt"), std::string::npos) << e;
}

TEST(Manifest, UnknownDtypeAndVersionAreRejected) {
  auto d1 = edited_copy("dtype", [](nlohmann::json& j) { j["dtype"] = "int4"; });
  EXPECT_NE(error_of(d1).find("unknown dtype 'int4'"), std::string::npos);
  auto d2 = edited_copy("version", [](nlohmann::json& j) { j["format_version"] = 99; });
  EXPECT_NE(error_of(d2).find("format_version 99"), std::string::npos);
  // A version-1 export (host positions, runtime-made mask) is refused with what to do about it.
  auto d3 = edited_copy("version1", [](nlohmann::json& j) { j["format_version"] = 1; });
  EXPECT_NE(error_of(d3).find("format_version 1 is not supported"), std::string::npos);
  EXPECT_NE(error_of(d3).find("re-export the model"), std::string::npos) << error_of(d3);
  // So is version 2 (no padding rows for batched decoding).
  auto d4 = edited_copy("version2", [](nlohmann::json& j) { j["format_version"] = 2; });
  EXPECT_NE(error_of(d4).find("format_version 2 is not supported"), std::string::npos);
}

}  // namespace
}  // namespace vlm
