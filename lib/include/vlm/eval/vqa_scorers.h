// VLMEvalKit's exact-match VQA metrics (vlmeval/dataset/utils/vqa_eval.py), one item at a time:
// TextVQA's leave-one-out accuracy, ANLS (DocVQA, InfoVQA), ChartQA's relaxed accuracy and
// OCRVQA's exact match. Text is UTF-8 and handled as Python str (code points).
#pragma once

#include <string>
#include <vector>

namespace vlm {

// The reference answers of an `answer` cell, as process_line reads them: a Python list literal
// ("['a', 'b']") gives its items; anything else (including a literal that does not parse, or
// "1984", which eval()s to an int) gives {cell}.
std::vector<std::string> vqa_answers(const std::string& answer_cell);

// TextVQA's process_answer: '\n' and '\t' -> ' ', strip, process_punctuation (21 marks deleted or
// spaced by a test on the input, up to 32 periods not next to a digit removed), then lower-case
// words with number words mapped ("two" -> "2"), articles dropped and contractions restored
// ("dont" -> "don't"), joined by one space.
std::string textvqa_process_answer(const std::string& text);

// vqa_score's match list: for answer i, min(1, (number of other answers equal to the processed
// prediction) / 3), all after textvqa_process_answer.
std::vector<double> textvqa_match(const std::string& prediction,
                                  const std::vector<std::string>& answers);
// The item's score: numpy_mean(textvqa_match(...)); 10 answers give 0, 0.3, 0.6, 0.9 or 1.
double textvqa_score(const std::string& prediction, const std::vector<std::string>& answers);

// anls_compute: Levenshtein distance (code points) of the stripped, lower-cased,
// whitespace-collapsed strings over max(len(gt.upper()), len(pred.upper())) of the raw strings;
// 0 when that length is 0.
double anls_distance(const std::string& ground_truth, const std::string& prediction);
// The ANLS threshold VLMEvalKit passes to hit_calculate.
constexpr double kAnlsThreshold = 0.5;
// hit_calculate for DocVQA/InfoVQA: s = 1 - min over answers of anls_distance(answer,
// prediction); 0 when s < threshold (so a distance of exactly 0.5 scores 0.5). The prediction is
// used as given (not stripped). 0 when there are no answers.
double anls_score(const std::string& prediction, const std::vector<std::string>& answers,
                  double threshold = kAnlsThreshold);

// Which argument relaxed_correctness takes as the target: VLMEvalKit fixed the order on 2025-09-01
// (commit 677e30a5).
enum class ChartQaEra {
  kClassic,  // up to 2025-08-31: relaxed_correctness(pred, gt), |gt - pred| / |pred| <= 0.05
  kCurrent,  // from 2025-09-01: relaxed_correctness(gt, pred), |pred - gt| / |gt| <= 0.05
};
// The era the harness scores with unless the dataset's scorer says otherwise.
constexpr ChartQaEra kDefaultChartQaEra = ChartQaEra::kCurrent;
// "2025-09-01" (kCurrent) or "2024-03-27" (kClassic): the date the behaviour began.
const char* chartqa_era_name(ChartQaEra era);

// relaxed_correctness(target, prediction): both parsed as Python float ("x%" -> x / 100, every
// trailing '%' dropped); when the prediction parses and the target parses to a non-zero value
// (NaN counts as non-zero), |prediction - target| / |target| <= max_relative_change; otherwise
// case-insensitive equality of the strings.
bool relaxed_correctness(const std::string& target, const std::string& prediction,
                         double max_relative_change = 0.05);
// ChartQA's item score: any answer relaxed-correct against the stripped prediction, with the
// arguments in `era`'s order.
bool chartqa_score(const std::string& prediction, const std::vector<std::string>& answers,
                   ChartQaEra era = kDefaultChartQaEra);

// OCRVQA's `accuracy` and np.max: 1 when some answer equals the prediction after strip() and
// lower(), else 0 (no other normalisation).
double ocrvqa_score(const std::string& prediction, const std::vector<std::string>& answers);

}  // namespace vlm
