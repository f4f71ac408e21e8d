// The scorer a dataset config names (configs/datasets/*.yaml, key `scorer`), as a typed id parsed
// once where the config is read. Its name and the question kind it scores are said here; what it
// does per item and per dataset is the row of the scorer table (vlm/run/scorer_table.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vlm/data/dataset_kind.h"

namespace vlm {

// One per VLMEvalKit evaluate() path under exact matching (see known_scorers() for the names).
enum class ScorerId {
  kMcqExact,           // mcq_exact: ImageMCQDataset, vanilla (mcq_vanilla_eval + report_acc)
  kMcqCircular,        // mcq_circular: ImageMCQDataset for MMBench*/CCBench (mcq_circular_eval)
  kMcqMmmu,            // mcq_mmmu: MMMUDataset (MMMU_preproc + mcq_vanilla_eval + report_acc)
  kYnExact,            // yn_exact: ImageYORNDataset, default_rating
  kYnMme,              // yn_mme: ImageYORNDataset, MME_rating
  kYnHallusion,        // yn_hallusion: ImageYORNDataset, Hallusion_rating
  kYnPope,             // yn_pope: ImageYORNDataset, POPE_rating
  kVqaTextVqa,         // vqa_textvqa: ImageVQADataset, vqa_score (TextVQA's leave-one-out)
  kVqaAnls,            // vqa_anls: ImageVQADataset, anls (DocVQA, InfoVQA; threshold 0.5)
  kVqaRelaxed,         // vqa_relaxed: relaxed_accuracy as from 2025-09-01 (ChartQA; tolerance
                       //   relative to the answer)
  kVqaRelaxedClassic,  // vqa_relaxed_classic: the same up to 2025-08-31 (tolerance relative to
                       //   the prediction)
  kVqaExact,           // vqa_exact: ImageVQADataset, accuracy (OCRVQA: exact after strip, lower)
  kOcrBench,           // ocrbench: OCRBench.evaluate (substring match, score out of 1000)
  kNone,               // none: not scored
};

// The config name of `id`, e.g. "mcq_exact".
std::string to_string(ScorerId id);

// The question kind `id` scores; nullopt for kNone (it fits every kind).
std::optional<DatasetKind> scorer_kind(ScorerId id);

// Every scorer name, in ScorerId order.
const std::vector<std::string>& known_scorers();

// Every scorer id, in ScorerId order.
const std::vector<ScorerId>& all_scorer_ids();

// Parses a config's scorer name. UserError naming `where` (the config file) and the key
// `scorer`, with the closest known names, when `text` is none of known_scorers().
ScorerId parse_scorer_id(const std::string& text, const std::string& where);

}  // namespace vlm
