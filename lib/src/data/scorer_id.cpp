#include "vlm/data/scorer_id.h"

#include "vlm/core/closest_names.h"
#include "vlm/core/error.h"

namespace vlm {
namespace {

struct ScorerName {
  ScorerId id;
  const char* name;
  std::optional<DatasetKind> kind;
};

// The names, in ScorerId order (the scorer table's rows follow the same order).
constexpr DatasetKind kMcq = DatasetKind::kMcq;
constexpr DatasetKind kYn = DatasetKind::kYn;
constexpr DatasetKind kVqa = DatasetKind::kVqa;
const ScorerName kNames[] = {
    {ScorerId::kMcqExact, "mcq_exact", kMcq},
    {ScorerId::kMcqCircular, "mcq_circular", kMcq},
    {ScorerId::kMcqMmmu, "mcq_mmmu", kMcq},
    {ScorerId::kYnExact, "yn_exact", kYn},
    {ScorerId::kYnMme, "yn_mme", kYn},
    {ScorerId::kYnHallusion, "yn_hallusion", kYn},
    {ScorerId::kYnPope, "yn_pope", kYn},
    {ScorerId::kVqaTextVqa, "vqa_textvqa", kVqa},
    {ScorerId::kVqaAnls, "vqa_anls", kVqa},
    {ScorerId::kVqaRelaxed, "vqa_relaxed", kVqa},
    {ScorerId::kVqaRelaxedClassic, "vqa_relaxed_classic", kVqa},
    {ScorerId::kVqaExact, "vqa_exact", kVqa},
    {ScorerId::kOcrBench, "ocrbench", kVqa},
    {ScorerId::kNone, "none", std::nullopt},
};

const ScorerName& row(ScorerId id) {
  const size_t i = static_cast<size_t>(id);
  check_internal(i < std::size(kNames) && kNames[i].id == id,
                 "scorer id " + std::to_string(i) + " has no name row");
  return kNames[i];
}

}  // namespace

std::string to_string(ScorerId id) {
  return row(id).name;
}

std::optional<DatasetKind> scorer_kind(ScorerId id) {
  return row(id).kind;
}

const std::vector<std::string>& known_scorers() {
  static const std::vector<std::string> kScorers = [] {
    std::vector<std::string> names;
    for (const ScorerName& n : kNames) names.push_back(n.name);
    return names;
  }();
  return kScorers;
}

const std::vector<ScorerId>& all_scorer_ids() {
  static const std::vector<ScorerId> kIds = [] {
    std::vector<ScorerId> ids;
    for (const ScorerName& n : kNames) ids.push_back(n.id);
    return ids;
  }();
  return kIds;
}

ScorerId parse_scorer_id(const std::string& text, const std::string& where) {
  for (const ScorerName& n : kNames)
    if (text == n.name) return n.id;
  throw UserError(where + ": scorer: unknown scorer '" + text +
                  "' (closest: " + join_names(closest_names(text, known_scorers(), 3)) +
                  "; known: " + join_names(known_scorers()) + ")");
}

}  // namespace vlm
