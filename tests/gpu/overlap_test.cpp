// `run --overlap` on a GPU (issue 13 part 5): ModelSession::prepare_ahead queues the next prompt's
// image preprocessing, vision and projector on side streams while the prompts before it run, and
// every answer is the one a session without it gives: all on cuda:0, and split with the vision
// side, the embedding and the first layer on cuda:0 and the last layers, norm and head on the CPU
// (the case where item k+1's vision on the GPU overlaps item k's layers on the CPU). And `run
// --overlap` writes byte for byte the files of a run without it.
#include <gtest/gtest.h>

#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "common/gpu_test.h"
#include "common/run_files.h"
#include "common/shell.h"
#include "common/test_paths.h"
#include "vlm/data/base64.h"
#include "vlm/model/loaded_model.h"
#include "vlm/run/model_session.h"

namespace vlm {
namespace {

namespace fs = std::filesystem;

// A PNG of random pixels, w x h, as a prompt image.
ImageSource random_png(int w, int h, uint64_t seed) {
  cv::Mat image(h, w, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(image, cv::RNG::UNIFORM, 0, 256);
  std::vector<uchar> png;
  cv::imencode(".png", image, png);
  return ImageSource::embedded(base64_encode(std::string(png.begin(), png.end())));
}

// Prompts of 1 to 7 tiles an image, one of two images, and one without an image between them.
std::vector<Prompt> prompts() {
  std::vector<Prompt> out;
  const int sizes[][2] = {{640, 480}, {300, 900}, {1200, 400}, {448, 448}, {900, 700}};
  for (int k = 0; k < 5; ++k)
    out.push_back({"<image>\nWhat is in picture " + std::to_string(k) + "?",
                   {random_png(sizes[k][0], sizes[k][1], 11 + k)}});
  out.insert(out.begin() + 2, Prompt{"Say something about colours.", {}});
  out.push_back({"Image-1: <image>\nImage-2: <image>\nCompare them.",
                 {random_png(500, 500, 40), random_png(800, 300, 41)}});
  return out;
}

struct Answers {
  std::vector<std::vector<int64_t>> ids;
  std::vector<std::string> predictions;
  int staged = 0;  // prompts prepare_ahead() queued work for
};

// Every prompt through `session` as the run loop drives it: start() while a slot is free, step()
// otherwise; with `overlap`, the next prompt not started is given to prepare_ahead() before every
// start() and step(), and its work is dropped once it has started.
Answers answer_all(ModelSession& session, const std::vector<Prompt>& prompts, bool overlap) {
  std::vector<PreparedPrompt> prepared;
  for (size_t k = 0; k < prompts.size(); ++k)
    prepared.push_back(session.prepare_host(prompts[k], 6, "prompt " + std::to_string(k)));
  Answers a;
  a.ids.resize(prompts.size());
  a.predictions.resize(prompts.size());
  size_t next = 0, done = 0;
  auto stage = [&](size_t k) {
    if (!overlap || k >= prepared.size() || prepared[k].ahead) return;
    session.prepare_ahead(prepared[k]);
    a.staged += prepared[k].ahead != nullptr;
  };
  auto take = [&](std::vector<Answerer::Answer> answers) {
    for (Answerer::Answer& ans : answers) {
      if (ans.error) std::rethrow_exception(ans.error);
      a.ids[ans.tag] = ans.output.output_ids;
      a.predictions[ans.tag] = ans.output.prediction;
      ++done;
    }
  };
  while (done < prompts.size()) {
    while (next < prompts.size() && session.has_free_slot()) {
      stage(next + 1);
      take(session.start(next, prepared[next], 12));
      prepared[next].ahead.reset();
      ++next;
    }
    if (session.in_flight() == 0) continue;
    stage(next);
    take(session.step());
  }
  return a;
}

class GpuOverlap : public testing::GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    if (IsSkipped()) return;
    manifest_ = load_manifest(testing::tiny_model_dir());
  }

  // Every unit on cuda:0, or (split) the decoder layers after the first, norm and head on the CPU.
  std::map<std::string, c10::Device> layout(bool split) const {
    std::map<std::string, c10::Device> map;
    for (const auto& u : manifest_.units) {
      const bool on_cpu = split && ((u.kind == UnitKind::kDecoderLayer && u.layer >= 1) ||
                                    u.kind == UnitKind::kNorm || u.kind == UnitKind::kHead);
      map.emplace(u.name, on_cpu ? c10::Device(c10::kCPU) : c10::Device("cuda:0"));
    }
    return map;
  }

  Answers answer(bool split, int64_t batch, bool overlap) const {
    auto model = LoadedModel::load(manifest_, PlacementPlan::from_map(manifest_, layout(split)));
    ModelSession session(model, /*cuda_graphs=*/true, batch);
    session.reserve(4096);
    return answer_all(session, prompts_, overlap);
  }

  Manifest manifest_;
  const std::vector<Prompt> prompts_ = prompts();
};

TEST_F(GpuOverlap, PrepareAheadChangesNoAnswerOnOneGpuOrSplitWithTheCpu) {
  for (const bool split : {false, true}) {
    const std::string where = split ? "split cuda:0/cpu" : "cuda:0";
    const Answers base = answer(split, 1, false);
    EXPECT_EQ(base.staged, 0);
    for (const int64_t batch : {1, 3}) {
      const Answers got = answer(split, batch, true);
      // Every prompt with an image but the first was queued ahead (the text-only one has nothing).
      EXPECT_EQ(got.staged, static_cast<int>(prompts_.size()) - 2) << where << ", batch " << batch;
      for (size_t k = 0; k < prompts_.size(); ++k) {
        EXPECT_EQ(got.ids[k], base.ids[k]) << where << ", batch " << batch << ", prompt " << k;
        EXPECT_EQ(got.predictions[k], base.predictions[k]) << where << ", prompt " << k;
      }
    }
  }
}

// An item whose work was queued ahead and is then started without it (what an out-of-memory retry
// does) gets the same answer: the prepared prompt still holds its images.
TEST_F(GpuOverlap, AStartWithoutTheQueuedWorkRecomputesIt) {
  auto model = LoadedModel::load(manifest_, PlacementPlan::from_map(manifest_, layout(false)));
  ModelSession session(model, true, 1);
  session.reserve(4096);
  PreparedPrompt p = session.prepare_host(prompts_[0], 6, "prompt 0");
  const PromptOutput want = session.answer_prepared(p, 12);
  session.prepare_ahead(p);
  ASSERT_TRUE(p.ahead);
  p.ahead.reset();
  EXPECT_EQ(session.answer_prepared(p, 12).output_ids, want.output_ids);
  session.prepare_ahead(p);
  EXPECT_EQ(session.answer_prepared(p, 12).output_ids, want.output_ids);
}

// `run --overlap` against a run without it, on cuda:0 and split with the CPU: every result file
// byte for byte, the records but for their times.
TEST_F(GpuOverlap, RunWithOverlapWritesTheFilesOfARunWithout) {
  const fs::path root = testing::make_bad_rows_data_root("vlm_gpu_overlap_");
  ASSERT_FALSE(root.empty()) << "scripts/fixtures/make_demo_data.py failed";
  {
    std::ofstream yaml(root / "split.yaml");
    yaml << "strategy: sequential\ndevices: [cuda:0, cpu]\npin:\n";
    for (const auto& [unit, device] : layout(true)) yaml << "  " << unit << ": " << device << "\n";
  }
  const char* const files[] = {"InternVL2-tiny_RealWorldQA.xlsx", "InternVL2-tiny_RealWorldQA.tsv",
                               "InternVL2-tiny_RealWorldQA_acc.csv",
                               "InternVL2-tiny_RealWorldQA_exact_matching_result.xlsx"};
  for (const std::string& placement :
       {std::string("--device cuda:0"), "--placement " + (root / "split.yaml").string()}) {
    std::map<std::string, fs::path> folder;
    for (const std::string& flag : {std::string(), std::string("--overlap")}) {
      const std::string work = flag.empty() ? "off" : "on";
      const testing::Result r = testing::sh(
          "LMUData=" + (root / "LMUData").string() + " " + (testing::bin_dir() / "run").string() +
              " --model-dir " + testing::tiny_model_dir().string() +
              " --data RealWorldQA --max-new-tokens 8 --batch-size 2 --work-dir " +
              (root / work).string() + " " + placement + " " + flag,
          root);
      ASSERT_EQ(r.rc, 0) << placement << " " << flag << ": " << r.err;
      folder[work] = testing::run_folder(root / work, "InternVL2-tiny");
    }
    for (const char* f : files)
      EXPECT_TRUE(testing::read_file(folder["off"] / f) == testing::read_file(folder["on"] / f))
          << f << " differs with --overlap, " << placement;
    EXPECT_EQ(
        testing::records_without_times(folder["on"] / "InternVL2-tiny_RealWorldQA_records.jsonl"),
        testing::records_without_times(folder["off"] / "InternVL2-tiny_RealWorldQA_records.jsonl"))
        << placement;
    fs::remove_all(root / "off");
    fs::remove_all(root / "on");
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace vlm
