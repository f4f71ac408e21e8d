// Continuous batching (issue 14): sequences started into free slots of one Generator, decoded
// together and finishing at different steps, give each sequence the ids and logits it gets alone;
// so do sequences started on images encoded ahead (run --overlap).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/batch_requests.h"
#include "common/test_paths.h"
#include "vlm/core/error.h"
#include "vlm/generate/generator.h"
#include "vlm/model/loaded_model.h"

namespace vlm {
namespace {

using testing::Request;

class BatchTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const auto dir = testing::testdata_dir() / "models" / GetParam();
    const Manifest manifest = load_manifest(dir);
    model_ = LoadedModel::load(manifest, PlacementPlan::all_on(manifest, c10::kCPU));
    requests_ = testing::staggered_requests(dir);
  }
  std::shared_ptr<const LoadedModel> model_;
  std::vector<Request> requests_;
};

TEST_P(BatchTest, EverySequenceGetsTheIdsAndLogitsItGetsAlone) {
  std::vector<GenerationResult> alone;
  Generator one(model_, 1024);
  for (const Request& r : requests_) alone.push_back(one.generate(r.ids, r.pixels, r.options));
  std::set<size_t> lengths;
  int64_t total_steps = 0;
  for (const GenerationResult& r : alone) {
    lengths.insert(r.ids.size());
    total_steps += r.decode_steps;
  }
  ASSERT_GE(lengths.size(), 4u) << "the requests must finish at different steps";

  for (int64_t batch : {1, 3, 8}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    Generator gen(model_, 1024, /*cuda_graphs=*/true, batch);
    const testing::BatchRun run = testing::run_batched(gen, requests_);
    // Requests that end at their first token never hold a slot through a step.
    EXPECT_GE(run.most_in_flight, std::min<int64_t>(batch, 4));
    EXPECT_TRUE(run.finished_at_start);
    ASSERT_EQ(run.results.size(), requests_.size());
    for (size_t k = 0; k < requests_.size(); ++k) {
      SCOPED_TRACE("request " + std::to_string(k));
      const GenerationResult& got = run.results[k];
      EXPECT_EQ(got.ids, alone[k].ids);
      EXPECT_EQ(got.stop_reason, alone[k].stop_reason);
      EXPECT_EQ(got.decode_steps, alone[k].decode_steps);
      ASSERT_EQ(got.logits.size(), alone[k].logits.size());
      for (size_t s = 0; s < got.logits.size(); ++s)
        EXPECT_TRUE(torch::equal(got.logits[s], alone[k].logits[s])) << "step " << s;
    }
    // Batching shares the steps: fewer than the sequences' decode steps added up.
    if (batch > 1) {
      EXPECT_LT(run.steps, total_steps);
    }
  }
}

TEST_P(BatchTest, AFailedStartTakesNoSlot) {
  Generator gen(model_, 64, /*cuda_graphs=*/true, 2);
  // A prompt longer than the cache fails at its start and leaves both slots free.
  const Request& r = requests_[0];
  EXPECT_THROW(gen.start(0, r.ids, r.pixels, r.options), UserError);
  EXPECT_EQ(gen.in_flight(), 0);
  EXPECT_TRUE(gen.take_finished().empty());
  EXPECT_THROW(Generator(model_, 64, true, ModelForward::kDecodeRows + 1), UserError);
}

// start() on images encode_images() made earlier (the way run --overlap encodes the next item
// ahead) gives the ids and logits of start() on the pixels, with its vision time; its checks come
// before the images are used, as start()'s before vision.
TEST_P(BatchTest, ImagesEncodedAheadGiveTheIdsAndLogitsOfAStartOnThePixels) {
  Generator gen(model_, 1024, /*cuda_graphs=*/true, 3);
  std::vector<EncodedImages> encoded;
  for (const Request& r : requests_) encoded.push_back(gen.encode_images(r.pixels));
  std::vector<GenerationResult> got(requests_.size()), want(requests_.size());
  size_t next = 0, done = 0;
  while (done < requests_.size()) {
    while (next < requests_.size() && gen.has_free_slot()) {
      gen.start(next, requests_[next].ids, encoded[next], requests_[next].options);
      ++next;
    }
    if (gen.in_flight() > 0) gen.step();
    for (Generator::Finished& f : gen.take_finished()) {
      got[f.tag] = std::move(f.result);
      ++done;
    }
  }
  Generator one(model_, 1024);
  for (size_t k = 0; k < requests_.size(); ++k) {
    SCOPED_TRACE("request " + std::to_string(k));
    const Request& r = requests_[k];
    const GenerationResult alone = one.generate(r.ids, r.pixels, r.options);
    EXPECT_EQ(got[k].ids, alone.ids);
    ASSERT_EQ(got[k].logits.size(), alone.logits.size());
    for (size_t s = 0; s < alone.logits.size(); ++s)
      EXPECT_TRUE(torch::equal(got[k].logits[s], alone.logits[s])) << "step " << s;
    EXPECT_EQ(got[k].times.count("vision"), alone.times.count("vision"));
  }

  Generator small(model_, 64, true, 2);
  EXPECT_THROW(small.start(0, requests_[0].ids, encoded[0], requests_[0].options), UserError);
  EXPECT_THROW(small.check_start(requests_[0].ids.size(1), requests_[0].options), UserError);
  EXPECT_EQ(small.in_flight(), 0);
}

INSTANTIATE_TEST_SUITE_P(Families, BatchTest,
                         ::testing::Values("InternVL2-tiny", "InternVL2-tiny-phi3"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return testing::tiny_family_name(info.param);
                         });

}  // namespace
}  // namespace vlm
