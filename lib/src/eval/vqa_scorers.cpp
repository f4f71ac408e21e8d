#include "vlm/eval/vqa_scorers.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <unordered_map>

#include "vlm/core/error.h"
#include "vlm/core/python_float.h"
#include "vlm/core/python_str.h"
#include "vlm/data/dataset.h"
#include "vlm/eval/numpy_mean.h"

namespace vlm {
namespace {

bool is_digit(char32_t cp) {
  return python_decimal_value(cp) >= 0;
}

// process_punctuation (vlmeval/smp/misc.py); `in_text` is already stripped.
std::string process_punctuation(const std::string& in_text) {
  static const char kPunct[] = {';',  '/', '[', ']', '"', '{', '}', '(', ')', '=', '+',
                                '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!'};
  const std::u32string cps = python_code_points(in_text);
  // commaStrip = (\d)(,)(\d) anywhere in the input.
  bool comma_between_digits = false;
  for (std::size_t i = 1; i + 1 < cps.size(); ++i)
    if (cps[i] == U',' && is_digit(cps[i - 1]) && is_digit(cps[i + 1])) comma_between_digits = true;
  std::string out = in_text;
  for (char p : kPunct) {
    const std::string mark(1, p);
    const bool remove = in_text.find(mark + " ") != std::string::npos ||
                        in_text.find(" " + mark) != std::string::npos || comma_between_digits;
    out = python_replace(out, mark, remove ? "" : " ");
  }
  // periodStrip = (?<!\d)\.(?!\d), sub(..., count=re.UNICODE == 32): at most 32 periods go.
  const std::u32string o = python_code_points(out);
  std::u32string kept;
  int removed = 0;
  for (std::size_t i = 0; i < o.size(); ++i) {
    if (o[i] == U'.' && removed < 32 && !(i > 0 && is_digit(o[i - 1])) &&
        !(i + 1 < o.size() && is_digit(o[i + 1]))) {
      ++removed;
      continue;
    }
    kept.push_back(o[i]);
  }
  return python_from_code_points(kept);
}

// _process_digit_article.
std::string process_digit_article(const std::string& in_text) {
  static const std::unordered_map<std::string, std::string> kManual = {
      {"none", "0"}, {"zero", "0"}, {"one", "1"},   {"two", "2"},   {"three", "3"}, {"four", "4"},
      {"five", "5"}, {"six", "6"},  {"seven", "7"}, {"eight", "8"}, {"nine", "9"},  {"ten", "10"}};
  // clang-format off
  static const std::unordered_map<std::string, std::string> kContractions = {
      {"aint", "ain't"}, {"arent", "aren't"}, {"cant", "can't"},
      {"couldve", "could've"}, {"couldnt", "couldn't"}, {"couldn'tve", "couldn't've"},
      {"couldnt've", "couldn't've"}, {"didnt", "didn't"}, {"doesnt", "doesn't"},
      {"dont", "don't"}, {"hadnt", "hadn't"}, {"hadnt've", "hadn't've"},
      {"hadn'tve", "hadn't've"}, {"hasnt", "hasn't"}, {"havent", "haven't"},
      {"hed", "he'd"}, {"hed've", "he'd've"}, {"he'dve", "he'd've"},
      {"hes", "he's"}, {"howd", "how'd"}, {"howll", "how'll"},
      {"hows", "how's"}, {"Id've", "I'd've"}, {"I'dve", "I'd've"},
      {"Im", "I'm"}, {"Ive", "I've"}, {"isnt", "isn't"},
      {"itd", "it'd"}, {"itd've", "it'd've"}, {"it'dve", "it'd've"},
      {"itll", "it'll"}, {"let's", "let's"}, {"maam", "ma'am"},
      {"mightnt", "mightn't"}, {"mightnt've", "mightn't've"}, {"mightn'tve", "mightn't've"},
      {"mightve", "might've"}, {"mustnt", "mustn't"}, {"mustve", "must've"},
      {"neednt", "needn't"}, {"notve", "not've"}, {"oclock", "o'clock"},
      {"oughtnt", "oughtn't"}, {"ow's'at", "'ow's'at"}, {"'ows'at", "'ow's'at"},
      {"'ow'sat", "'ow's'at"}, {"shant", "shan't"}, {"shed've", "she'd've"},
      {"she'dve", "she'd've"}, {"she's", "she's"}, {"shouldve", "should've"},
      {"shouldnt", "shouldn't"}, {"shouldnt've", "shouldn't've"}, {"shouldn'tve", "shouldn't've"},
      {"somebody'd", "somebodyd"}, {"somebodyd've", "somebody'd've"}, {"somebody'dve", "somebody'd've"},
      {"somebodyll", "somebody'll"}, {"somebodys", "somebody's"}, {"someoned", "someone'd"},
      {"someoned've", "someone'd've"}, {"someone'dve", "someone'd've"}, {"someonell", "someone'll"},
      {"someones", "someone's"}, {"somethingd", "something'd"}, {"somethingd've", "something'd've"},
      {"something'dve", "something'd've"}, {"somethingll", "something'll"}, {"thats", "that's"},
      {"thered", "there'd"}, {"thered've", "there'd've"}, {"there'dve", "there'd've"},
      {"therere", "there're"}, {"theres", "there's"}, {"theyd", "they'd"},
      {"theyd've", "they'd've"}, {"they'dve", "they'd've"}, {"theyll", "they'll"},
      {"theyre", "they're"}, {"theyve", "they've"}, {"twas", "'twas"},
      {"wasnt", "wasn't"}, {"wed've", "we'd've"}, {"we'dve", "we'd've"},
      {"weve", "we've"}, {"werent", "weren't"}, {"whatll", "what'll"},
      {"whatre", "what're"}, {"whats", "what's"}, {"whatve", "what've"},
      {"whens", "when's"}, {"whered", "where'd"}, {"wheres", "where's"},
      {"whereve", "where've"}, {"whod", "who'd"}, {"whod've", "who'd've"},
      {"who'dve", "who'd've"}, {"wholl", "who'll"}, {"whos", "who's"},
      {"whove", "who've"}, {"whyll", "why'll"}, {"whyre", "why're"},
      {"whys", "why's"}, {"wont", "won't"}, {"wouldve", "would've"},
      {"wouldnt", "wouldn't"}, {"wouldnt've", "wouldn't've"}, {"wouldn'tve", "wouldn't've"},
      {"yall", "y'all"}, {"yall'll", "y'all'll"}, {"y'allll", "y'all'll"},
      {"yall'd've", "y'all'd've"}, {"y'alld've", "y'all'd've"}, {"y'all'dve", "y'all'd've"},
      {"youd", "you'd"}, {"youd've", "you'd've"}, {"you'dve", "you'd've"},
      {"youll", "you'll"}, {"youre", "you're"}, {"youve", "you've"},
  };
  // clang-format on
  std::vector<std::string> words;
  for (std::string word : python_split(python_lower(in_text))) {
    auto m = kManual.find(word);
    if (m != kManual.end()) word = m->second;
    if (word == "a" || word == "an" || word == "the") continue;
    words.push_back(std::move(word));
  }
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    auto c = kContractions.find(words[i]);
    if (i > 0) out += ' ';
    out += c != kContractions.end() ? c->second : words[i];
  }
  return out;
}

// ' '.join(s.strip().lower().split()) as code points.
std::u32string anls_normal(const std::string& s) {
  std::string joined;
  for (const std::string& w : python_split(python_lower(python_strip(s)))) {
    if (!joined.empty()) joined += ' ';
    joined += w;
  }
  return python_code_points(joined);
}

std::size_t levenshtein(const std::u32string& a, const std::u32string& b) {
  const std::u32string& s = a.size() < b.size() ? a : b;  // inner loop over the shorter
  const std::u32string& t = a.size() < b.size() ? b : a;
  std::vector<std::size_t> prev(s.size() + 1), cur(s.size() + 1);
  for (std::size_t j = 0; j <= s.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= t.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= s.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (t[i - 1] == s[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[s.size()];
}

// ChartQA's _to_float: "x%" -> float(x.rstrip('%')) / 100.
std::optional<double> to_float(const std::string& text) {
  if (!text.empty() && text.back() == '%') {
    std::string t = text;
    while (!t.empty() && t.back() == '%') t.pop_back();
    const std::optional<double> v = python_float(t);
    if (!v) return std::nullopt;
    return *v / 100.0;
  }
  return python_float(text);
}

}  // namespace

std::vector<std::string> vqa_answers(const std::string& answer_cell) {
  if (answer_cell.size() >= 2 && answer_cell.front() == '[' && answer_cell.back() == ']') {
    try {
      return parse_list_str(answer_cell);
    } catch (const UserError&) {
      // istype(): an answer that eval() cannot read is not a list.
    }
  }
  return {answer_cell};
}

std::string textvqa_process_answer(const std::string& text) {
  std::string s = python_replace(python_replace(text, "\n", " "), "\t", " ");
  s = python_strip(s);
  s = process_punctuation(s);
  return process_digit_article(s);
}

std::vector<double> textvqa_match(const std::string& prediction,
                                  const std::vector<std::string>& answers) {
  std::vector<std::string> gt;
  for (const std::string& a : answers) gt.push_back(textvqa_process_answer(a));
  const std::string pred = textvqa_process_answer(prediction);
  std::vector<double> match;
  for (std::size_t i = 0; i < gt.size(); ++i) {
    int others = 0;
    for (std::size_t j = 0; j < gt.size(); ++j) others += (j != i && gt[j] == pred) ? 1 : 0;
    match.push_back(std::min(1.0, others / 3.0));
  }
  return match;
}

double textvqa_score(const std::string& prediction, const std::vector<std::string>& answers) {
  return numpy_mean(textvqa_match(prediction, answers));
}

double anls_distance(const std::string& ground_truth, const std::string& prediction) {
  const std::size_t length = std::max(python_upper_len(ground_truth), python_upper_len(prediction));
  if (length == 0) return 0.0;
  const std::size_t dist = levenshtein(anls_normal(ground_truth), anls_normal(prediction));
  return static_cast<double>(dist) / static_cast<double>(length);
}

double anls_score(const std::string& prediction, const std::vector<std::string>& answers,
                  double threshold) {
  if (answers.empty()) return 0.0;
  double best = INFINITY;
  for (const std::string& a : answers) best = std::min(best, anls_distance(a, prediction));
  const double s = 1.0 - best;
  return s < threshold ? 0.0 : s;
}

const char* chartqa_era_name(ChartQaEra era) {
  return era == ChartQaEra::kCurrent ? "2025-09-01" : "2024-03-27";
}

bool relaxed_correctness(const std::string& target, const std::string& prediction,
                         double max_relative_change) {
  const std::optional<double> p = to_float(prediction);
  const std::optional<double> t = to_float(target);
  if (p && t && *t != 0.0) return std::fabs(*p - *t) / std::fabs(*t) <= max_relative_change;
  return python_lower(prediction) == python_lower(target);
}

bool chartqa_score(const std::string& prediction, const std::vector<std::string>& answers,
                   ChartQaEra era) {
  const std::string pred = python_strip(prediction);
  for (const std::string& gt : answers) {
    const bool ok =
        era == ChartQaEra::kCurrent ? relaxed_correctness(gt, pred) : relaxed_correctness(pred, gt);
    if (ok) return true;
  }
  return false;
}

double ocrvqa_score(const std::string& prediction, const std::vector<std::string>& answers) {
  const std::string pred = python_lower(python_strip(prediction));
  for (const std::string& gt : answers)
    if (python_lower(python_strip(gt)) == pred) return 1.0;
  return 0.0;
}

}  // namespace vlm
