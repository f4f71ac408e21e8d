// Model files are code (issue 7): the exporter records a SHA-256 of every unit and tokenizer file
// and the loader checks each one as it reads it, before TorchScript sees it (issue 19); stamps in
// the user's cache let a re-run skip hashing unchanged files. Also the load-time trust checks of
// issue 17: the manifest's dtype against the units' tensors, and no file symlinked out.
#include "vlm/model/verify_files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

#include "common/read_file.h"
#include "common/scratch_dir.h"
#include "common/test_paths.h"
#include "common/user_error.h"
#include "vlm/core/error.h"
#include "vlm/core/sha256.h"
#include "vlm/model/loaded_model.h"
#include "vlm/model/placement_plan.h"
#include "vlm/model/verified_stamp.h"

namespace vlm {
namespace {
namespace fs = std::filesystem;
using testing::read_file;

// A full copy of the tiny model (2.7 MB) in a fresh temp folder, with XDG_CACHE_HOME (where the
// verified-file stamps go) pointing at an empty folder beside it.
class TinyCopy : public testing::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    const fs::path scratch = dir_;
    dir_ = scratch / "InternVL2-tiny";
    fs::copy(testing::tiny_model_dir(), dir_, fs::copy_options::recursive);
    if (const char* old = std::getenv("XDG_CACHE_HOME")) old_cache_ = old;
    setenv("XDG_CACHE_HOME", (scratch / "cache").c_str(), 1);
  }
  void TearDown() override {
    if (old_cache_) {
      setenv("XDG_CACHE_HOME", old_cache_->c_str(), 1);
    } else {
      unsetenv("XDG_CACHE_HOME");
    }
    ScratchDirTest::TearDown();
  }
  fs::path stamp_dir() const { return dir_.parent_path() / "cache" / "vlmeval" / "verified"; }

  // The manifest.json of the copy, edited.
  void edit_manifest(const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = nlohmann::json::parse(read_file(dir_ / "manifest.json"));
    edit(j);
    std::ofstream(dir_ / "manifest.json", std::ios::trunc) << j.dump();
  }

  // Loads the copy on the CPU; one loader thread in execution order, as given.
  std::shared_ptr<const LoadedModel> load(LoadOptions options = {}) {
    Manifest m = load_manifest(dir_);
    PlacementPlan plan = PlacementPlan::all_on(m, c10::kCPU);
    return LoadedModel::load(std::move(m), std::move(plan), options);
  }

  // Flips one byte in the middle of `file`, in place (same size, same inode).
  static void flip_a_byte(const fs::path& file) {
    std::string bytes = read_file(file);
    bytes[bytes.size() / 2] ^= 0x01;
    std::fstream(file, std::ios::binary | std::ios::in | std::ios::out) << bytes;
  }

  std::optional<std::string> old_cache_;
};

int64_t unit_bytes(const Manifest& m) {
  int64_t n = 0;
  for (const auto& u : m.units) n += static_cast<int64_t>(fs::file_size(u.file));
  return n;
}

// The exporter's hashes are Python hashlib's (an outside reference for our SHA-256), cover every
// unit and the tokenizer files, and verify.
TEST_F(TinyCopy, ExportRecordsHashesThatVerify) {
  const Manifest m = load_manifest(dir_);
  for (const auto& u : m.units) EXPECT_EQ(u.sha256.size(), 64u) << u.name;
  EXPECT_EQ(m.file_sha256.count(dir_ / "tokenizer.model"), 1u);
  EXPECT_EQ(m.file_sha256.count(dir_ / "tokenizer_config.json"), 1u);
  const FileCheckTally first = verify_model_files(m);
  EXPECT_EQ(first.hashed_files, static_cast<int>(m.units.size() + m.file_sha256.size()));
  EXPECT_GT(first.hashed_bytes, unit_bytes(m));
  // verify_model_files writes stamps too: nothing is hashed the second time.
  const FileCheckTally second = verify_model_files(m);
  EXPECT_EQ(second.hashed_bytes, 0);
  EXPECT_EQ(second.stamped_files, first.hashed_files);
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

  // Refused by the load itself, and by a separate verification.
  for (const std::string& msg : {testing::user_error([&] { load(); }),
                                 testing::user_error([&] { verify_model_files(m); })}) {
    EXPECT_NE(msg.find(unit.file.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("unit " + unit.name), std::string::npos) << msg;
    EXPECT_NE(msg.find(unit.sha256), std::string::npos) << msg;
    EXPECT_NE(msg.find(actual), std::string::npos) << msg;
  }
  // --no-verify loads it (the flipped byte is in stored data TorchScript does not check).
  LoadOptions no_verify;
  no_verify.verify = false;
  std::string unverified = testing::user_error([&] { load(no_verify); });
  EXPECT_EQ(unverified.find("does not match its manifest"), std::string::npos) << unverified;
}

// A unit replaced by bytes that are no TorchScript archive at all is refused by its hash: the
// error is the mismatch, not TorchScript's failure to read it, so the archive never reached
// torch::jit::load.
TEST_F(TinyCopy, ATamperedUnitNeverReachesTorchScript) {
  const Manifest m = load_manifest(dir_);
  const UnitSpec& unit = m.unit(UnitKind::kProjector);
  const std::string garbage(fs::file_size(unit.file), 'x');
  std::ofstream(unit.file, std::ios::binary | std::ios::trunc) << garbage;
  LoadOptions one;
  one.parallel = false;
  const std::string msg = testing::user_error([&] { load(one); });
  EXPECT_NE(msg.find("does not match its manifest"), std::string::npos) << msg;
  EXPECT_NE(msg.find(unit.file.string()), std::string::npos) << msg;
  EXPECT_EQ(msg.find("loading unit"), std::string::npos) << msg;
  // Without the check TorchScript reads it and fails: the check above came first.
  one.verify = false;
  const std::string loaded = testing::user_error([&] { load(one); });
  EXPECT_NE(loaded.find("loading unit " + unit.name), std::string::npos) << loaded;
}

// The load hashes every file once; a second load of the unchanged files hashes nothing (the
// stamps), and loads the same model.
TEST_F(TinyCopy, ASecondLoadOfUnchangedFilesUsesTheStamps) {
  const Manifest m = load_manifest(dir_);
  const auto first = load();
  const FileCheckTally& a = first->file_checks();
  EXPECT_TRUE(a.verified);
  EXPECT_EQ(a.hashed_files, static_cast<int>(m.units.size() + m.file_sha256.size()));
  EXPECT_GT(a.hashed_bytes, unit_bytes(m));
  EXPECT_EQ(a.stamped_files, 0);
  EXPECT_EQ(static_cast<size_t>(
                std::distance(fs::directory_iterator(stamp_dir()), fs::directory_iterator())),
            m.units.size() + m.file_sha256.size());

  const auto second = load();
  const FileCheckTally& b = second->file_checks();
  EXPECT_EQ(b.hashed_bytes, 0);
  EXPECT_EQ(b.hashed_files, 0);
  EXPECT_EQ(b.stamped_files, a.hashed_files);

  LoadOptions no_verify;
  no_verify.verify = false;
  const FileCheckTally c = load(no_verify)->file_checks();
  EXPECT_FALSE(c.verified);
  EXPECT_EQ(c.hashed_files + c.stamped_files, 0);
}

// A changed file is hashed again, whatever of its identity changed: its mtime (touch), its inode
// (replaced by a same-size file with the old mtime), or only its ctime (rewritten in place with
// the old mtime put back); the tampered ones are refused.
TEST_F(TinyCopy, AChangedFileInvalidatesItsStamp) {
  const Manifest m = load_manifest(dir_);
  load();
  const fs::path touched = m.decoder_layers()[0]->file;
  fs::last_write_time(touched, fs::last_write_time(touched) + std::chrono::seconds(1));
  const FileCheckTally t = load()->file_checks();
  EXPECT_EQ(t.hashed_files, 1);
  EXPECT_EQ(t.hashed_bytes, static_cast<int64_t>(fs::file_size(touched)));

  const UnitSpec& replaced = *m.decoder_layers()[1];
  const auto mtime = fs::last_write_time(replaced.file);
  fs::copy_file(replaced.file, dir_ / "new.pt");
  flip_a_byte(dir_ / "new.pt");
  fs::last_write_time(dir_ / "new.pt", mtime);
  fs::rename(dir_ / "new.pt", replaced.file);
  std::string msg = testing::user_error([&] { load(); });
  EXPECT_NE(msg.find("does not match its manifest"), std::string::npos) << msg;
  EXPECT_NE(msg.find(replaced.file.string()), std::string::npos) << msg;

  fs::copy_file(testing::tiny_model_dir() / replaced.file.lexically_relative(dir_),
                dir_ / "old.pt");
  fs::rename(dir_ / "old.pt", replaced.file);  // restored (a new inode again: hashed, matches)
  EXPECT_EQ(load()->file_checks().hashed_files, 1);

  const UnitSpec& rewritten = m.unit(UnitKind::kVision);
  const auto vision_mtime = fs::last_write_time(rewritten.file);
  flip_a_byte(rewritten.file);
  fs::last_write_time(rewritten.file, vision_mtime);
  ASSERT_EQ(fs::last_write_time(rewritten.file), vision_mtime);
  msg = testing::user_error([&] { load(); });
  EXPECT_NE(msg.find("does not match its manifest"), std::string::npos) << msg;
  EXPECT_NE(msg.find(rewritten.file.string()), std::string::npos) << msg;
}

// An unreadable or malformed stamp is ignored: the file is hashed again, and the stamp rewritten.
TEST_F(TinyCopy, ACorruptStampIsIgnored) {
  const Manifest m = load_manifest(dir_);
  load();
  const std::vector<std::string> corrupt = {
      "{not json", "", "[]", "{\"path\": 1}",
      // the right keys with a wrong type
      "{\"path\": \"p\", \"sha256\": \"s\", \"size\": -1, \"inode\": 1.5}"};
  size_t i = 0;
  for (const auto& e : fs::directory_iterator(stamp_dir()))
    std::ofstream(e.path(), std::ios::trunc) << corrupt[i++ % corrupt.size()];
  // A stamp that records another hash than the manifest's is no stamp for it either.
  const UnitSpec& head = m.unit(UnitKind::kHead);
  const fs::path head_stamp = verified_stamp_path(stamp_dir(), head.file);
  const int fd = ::open(head.file.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  const std::optional<FileIdentity> id = identity_of_fd(fd);
  ::close(fd);
  ASSERT_TRUE(id.has_value());
  write_verified_stamp(head.file, *id, std::string(64, '0'));
  ASSERT_TRUE(fs::exists(head_stamp));
  EXPECT_FALSE(has_verified_stamp(head.file, *id, head.sha256));
  EXPECT_TRUE(has_verified_stamp(head.file, *id, std::string(64, '0')));

  const FileCheckTally again = load()->file_checks();
  EXPECT_EQ(again.hashed_files, static_cast<int>(m.units.size() + m.file_sha256.size()));
  EXPECT_EQ(again.stamped_files, 0);
  EXPECT_EQ(load()->file_checks().hashed_files, 0);  // rewritten
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
  EXPECT_NE(edited([](nlohmann::json& e) {
              e["units"][0]["file"] = "../../evil.pt";
            }).find("units[0].file: '../../evil.pt' leaves the model directory"),
            std::string::npos);
  EXPECT_NE(edited([](nlohmann::json& e) {
              e["units"][1]["file"] = "/tmp/evil.pt";
            }).find("absolute path"),
            std::string::npos);
  EXPECT_NE(edited([](nlohmann::json& e) {
              e["files"]["../x.json"] = std::string(64, 'a');
            }).find("leaves the model directory"),
            std::string::npos);
}

// Stamps live in $XDG_CACHE_HOME/vlmeval/verified, else ~/.cache/vlmeval/verified; a relative
// XDG_CACHE_HOME is ignored (XDG spec), and with neither set there are no stamps.
// A file of several read blocks, more than the reader keeps in flight when it does not keep the
// bytes: it is hashed (by a second thread, as it is read) to the digest of its bytes, kept bytes
// are the file's, and one changed byte in its last block is a mismatch naming both hashes.
TEST_F(TinyCopy, AFileOfManyBlocksIsReadAndHashedWholeEitherWay) {
  const fs::path big = dir_ / "big.bin";
  std::string bytes((size_t{45} << 20) + 12345, '\0');
  uint64_t x = 88172645463325252ull;
  for (char& c : bytes) {  // xorshift: no two blocks alike
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  std::ofstream(big, std::ios::binary) << bytes;
  Sha256 sha;
  sha.update(bytes);
  const std::string digest = sha.hex_digest();
  const ModelFile file{big, "unit big", digest};
  for (bool keep : {false, true}) {
    fs::remove_all(stamp_dir());  // hashed again, not stamped
    const CheckedFile got = read_model_file(file, /*verify=*/true, keep, "manifest.json");
    EXPECT_EQ(got.check, FileCheck::kHashed) << keep;
    EXPECT_EQ(got.size, bytes.size());
    EXPECT_GT(got.hash_s, 0) << keep;
    ASSERT_EQ(got.bytes != nullptr, keep);
    if (keep) {
      EXPECT_EQ(std::string(got.bytes.get(), got.size), bytes);
    }
  }
  fs::remove_all(stamp_dir());
  bytes[bytes.size() - 100] ^= 1;
  std::ofstream(big, std::ios::binary | std::ios::trunc) << bytes;
  Sha256 changed;
  changed.update(bytes);
  const std::string actual = changed.hex_digest();
  for (bool keep : {false, true}) {
    const std::string msg =
        testing::user_error([&] { read_model_file(file, /*verify=*/true, keep, "manifest.json"); });
    EXPECT_NE(msg.find(big.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(actual), std::string::npos) << msg;
    EXPECT_NE(msg.find(digest), std::string::npos) << msg;
  }
}

TEST(VerifiedStamp, FolderFollowsXdgCacheHomeThenHome) {
  auto saved = [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  const auto xdg = saved("XDG_CACHE_HOME"), home = saved("HOME");
  setenv("XDG_CACHE_HOME", "/x/cache", 1);
  setenv("HOME", "/h", 1);
  EXPECT_EQ(verified_stamp_dir(), fs::path("/x/cache/vlmeval/verified"));
  setenv("XDG_CACHE_HOME", "relative/cache", 1);
  EXPECT_EQ(verified_stamp_dir(), fs::path("/h/.cache/vlmeval/verified"));
  unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(verified_stamp_dir(), fs::path("/h/.cache/vlmeval/verified"));
  unsetenv("HOME");
  EXPECT_FALSE(verified_stamp_dir().has_value());
  for (const auto& [name, value] : {std::pair{"XDG_CACHE_HOME", xdg}, std::pair{"HOME", home}}) {
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
}

// A manifest whose dtype is not its units' (issue 17.5) is refused at load, naming the unit and
// both dtypes, instead of failing inside TorchScript at the first item.
TEST_F(TinyCopy, AManifestDtypeThatIsNotTheUnitsIsRefusedAtLoad) {
  LoadOptions one;
  one.parallel = false;  // the first unit in execution order fails first
  ASSERT_NO_THROW(load(one));
  for (const std::string dtype : {"bfloat16", "float16"}) {
    edit_manifest([&](nlohmann::json& j) { j["dtype"] = dtype; });
    const std::string msg = testing::user_error([&] { load(one); });
    EXPECT_NE(msg.find("declares dtype " + dtype), std::string::npos) << msg;
    EXPECT_NE(msg.find("unit vision_model"), std::string::npos) << msg;
    EXPECT_NE(msg.find("holds float32 tensors"), std::string::npos) << msg;
  }
}

// A unit or tokenizer file reached through a symbolic link out of the model directory is refused
// (issue 17.8), naming the file; a link that stays inside is fine.
TEST_F(TinyCopy, AFileSymlinkedOutOfTheModelDirectoryIsRefused) {
  const Manifest m = load_manifest(dir_);
  const UnitSpec& unit = *m.decoder_layers()[0];
  const fs::path rel = unit.file.lexically_relative(dir_);
  const fs::path outside = dir_.parent_path() / "outside.pt";
  fs::rename(unit.file, dir_ / "inside.pt");
  fs::create_symlink(dir_ / "inside.pt", unit.file);
  EXPECT_NO_THROW(load());

  fs::rename(dir_ / "inside.pt", outside);
  fs::remove(unit.file);
  fs::create_symlink(outside, unit.file);
  std::string msg = testing::user_error([&] { load_manifest(dir_); });
  EXPECT_NE(msg.find("unit " + unit.name), std::string::npos) << msg;
  EXPECT_NE(msg.find("'" + rel.string() + "' leads outside"), std::string::npos) << msg;
  EXPECT_NE(msg.find(outside.string()), std::string::npos) << msg;

  // The tokenizer file, and a folder on the way out.
  fs::remove(unit.file);
  fs::rename(outside, unit.file);
  fs::rename(dir_ / "tokenizer.model", dir_.parent_path() / "tokenizer.model");
  fs::create_symlink(dir_.parent_path() / "tokenizer.model", dir_ / "tokenizer.model");
  msg = testing::user_error([&] { load_manifest(dir_); });
  EXPECT_NE(msg.find("'tokenizer.model' leads outside"), std::string::npos) << msg;
  fs::remove(dir_ / "tokenizer.model");
  fs::rename(dir_.parent_path() / "tokenizer.model", dir_ / "tokenizer.model");
  EXPECT_NO_THROW(load_manifest(dir_));
  fs::rename(dir_ / "units", dir_.parent_path() / "units");
  fs::create_directory_symlink(dir_.parent_path() / "units", dir_ / "units");
  msg = testing::user_error([&] { load_manifest(dir_); });
  EXPECT_NE(msg.find("leads outside"), std::string::npos) << msg;
}

}  // namespace
}  // namespace vlm
