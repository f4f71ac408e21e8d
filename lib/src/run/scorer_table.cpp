#include "vlm/run/scorer_table.h"

#include "vlm/core/error.h"

namespace vlm {
namespace {

using In = DatasetScoringInput;
using Row = ScorerRow;

}  // namespace

// One row per ScorerId, in its order: id, per-item score, per-dataset score, failed item, the
// predictions-file columns the dataset score reads. Names and question kinds: scorer_id.cpp.
const std::vector<ScorerRow>& scorer_table() {
  static const std::vector<ScorerRow> kTable = {
      {ScorerId::kMcqExact,
       mcq_item_score,
       [](const Row& r, const In& in) { return score_mcq_vanilla(r, in, false); },
       mcq_failed_score,
       {}},
      {ScorerId::kMcqCircular, mcq_item_score, score_mcq_circular, mcq_failed_score, {}},
      {ScorerId::kMcqMmmu,
       mmmu_item_score,
       [](const Row& r, const In& in) { return score_mcq_vanilla(r, in, true); },
       mcq_failed_score,
       {}},
      {ScorerId::kYnExact,
       yorn_item_score,
       [](const Row& r, const In& in) { return score_yorn(r, in, default_rating); },
       yorn_failed_score,
       {}},
      {ScorerId::kYnMme,
       yorn_item_score,
       [](const Row& r, const In& in) { return score_yorn(r, in, mme_rating); },
       yorn_failed_score,
       {}},
      {ScorerId::kYnHallusion,
       yorn_item_score,
       [](const Row& r, const In& in) { return score_yorn(r, in, hallusion_rating); },
       yorn_failed_score,
       {}},
      {ScorerId::kYnPope,
       yorn_item_score,
       [](const Row& r, const In& in) { return score_yorn(r, in, pope_rating); },
       yorn_failed_score,
       {}},
      {ScorerId::kVqaTextVqa,
       nullptr,
       [](const Row& r, const In& in) { return score_vqa(r, in, textvqa_item_score); },
       nullptr,
       {"answer"}},
      {ScorerId::kVqaAnls,
       nullptr,
       [](const Row& r, const In& in) { return score_vqa(r, in, anls_item_score); },
       nullptr,
       {"answer"}},
      {ScorerId::kVqaRelaxed,
       nullptr,
       [](const Row& r, const In& in) {
         return score_vqa(r, in, chartqa_item_score, ChartQaEra::kCurrent);
       },
       nullptr,
       {"answer"}},
      {ScorerId::kVqaRelaxedClassic,
       nullptr,
       [](const Row& r, const In& in) {
         return score_vqa(r, in, chartqa_classic_item_score, ChartQaEra::kClassic);
       },
       nullptr,
       {"answer"}},
      {ScorerId::kVqaExact,
       nullptr,
       [](const Row& r, const In& in) { return score_vqa(r, in, ocrvqa_item_score); },
       nullptr,
       {"answer"}},
      {ScorerId::kOcrBench, nullptr, score_ocrbench, nullptr, {"answer", "category"}},
      {ScorerId::kNone, nullptr, score_nothing, nullptr, {}},
  };
  return kTable;
}

const ScorerRow& scorer_row(ScorerId id) {
  const std::vector<ScorerRow>& table = scorer_table();
  const size_t i = static_cast<size_t>(id);
  check_internal(i < table.size() && table[i].id == id,
                 "scorer '" + to_string(id) + "' has no row in the scorer table");
  return table[i];
}

}  // namespace vlm
