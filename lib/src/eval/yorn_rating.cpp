#include "vlm/eval/yorn_rating.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "vlm/core/error.h"
#include "vlm/core/log.h"

namespace vlm {
namespace {

// np.mean(list of bools) * 100; NaN for an empty list, as numpy gives.
double percent(long true_count, long count) {
  if (count == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(true_count) / static_cast<double>(count) * 100;
}

double mean_score(const std::vector<const YornItem*>& items) {
  long hits = 0;
  for (const YornItem* it : items) hits += yorn_score(*it) ? 1 : 0;
  return percent(hits, static_cast<long>(items.size()));
}

std::vector<const YornItem*> all_of(const std::vector<YornItem>& items) {
  std::vector<const YornItem*> out;
  for (const YornItem& it : items) out.push_back(&it);
  return out;
}

// Sorted distinct non-NA values of a column (Python's list(set(...)) sorted).
std::set<std::string> values_of(const std::vector<YornItem>& items,
                                std::optional<std::string> YornItem::*field) {
  std::set<std::string> out;
  for (const YornItem& it : items)
    if ((it.*field).has_value()) out.insert(*(it.*field));
  return out;
}

// A dict-like one-row table: setting an existing key replaces its value in place.
void set_key(ScoreTable& t, const std::string& key, ScoreValue v) {
  if (t.rows.empty()) t.rows.emplace_back();
  auto it = std::find(t.columns.begin(), t.columns.end(), key);
  if (it != t.columns.end()) {
    t.rows[0][static_cast<size_t>(it - t.columns.begin())] = std::move(v);
  } else {
    t.columns.push_back(key);
    t.rows[0].push_back(std::move(v));
  }
}

std::vector<std::string> split_underscore(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t pos = s.find('_', start);
    parts.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return parts;
}

}  // namespace

bool yorn_score(const YornItem& item) {
  return item.answer.has_value() && *item.answer == to_string(item.extracted);
}

ScoreTable default_rating(const std::vector<YornItem>& items) {
  ScoreTable t;
  set_key(t, "Overall", mean_score(all_of(items)));
  for (auto field : {&YornItem::category, &YornItem::l2_category}) {
    for (const std::string& c : values_of(items, field)) {
      std::vector<const YornItem*> sub;
      for (const YornItem& it : items)
        if (it.*field == c) sub.push_back(&it);
      set_key(t, c, mean_score(sub));
    }
  }
  return t;
}

ScoreTable mme_rating(const std::vector<YornItem>& items) {
  // stats[category][image_path] -> scores, both keyed in order of first appearance.
  std::vector<std::string> categories;
  std::map<std::string, std::vector<std::string>> images;  // category -> image paths in order
  std::map<std::pair<std::string, std::string>, std::vector<bool>> scores;
  for (const YornItem& it : items) {
    check_user(it.category.has_value(),
               "MME_rating: item " + it.index + " has no `category` value");
    check_user(it.image_path.has_value(),
               "MME_rating: item " + it.index + " has no `image_path` value");
    const std::string& c = *it.category;
    if (!images.count(c)) categories.push_back(c);
    auto& paths = images[c];
    const auto key = std::make_pair(c, *it.image_path);
    if (!scores.count(key)) paths.push_back(*it.image_path);
    scores[key].push_back(yorn_score(it));
  }
  std::map<std::string, double> per_category;
  for (const std::string& c : categories) {
    long hits = 0, count = 0, pair_hits = 0, pairs = 0;
    for (const std::string& p : images[c]) {
      const std::vector<bool>& v = scores[{c, p}];
      for (bool s : v) hits += s ? 1 : 0;
      count += static_cast<long>(v.size());
      if (v.size() < 2) {
        log::warning("MME_rating: category " + c + ", image " + p +
                     " has one question; it is left out of acc+ (VLMEvalKit would fail)");
        continue;
      }
      pair_hits += (v[0] && v[1]) ? 1 : 0;
      ++pairs;
    }
    per_category[c] = percent(hits, count) + percent(pair_hits, pairs);
  }
  static const std::vector<std::pair<const char*, std::vector<const char*>>> kSuper = {
      {"perception",
       {"OCR", "artwork", "celebrity", "color", "count", "existence", "landmark", "position",
        "posters", "scene"}},
      {"reasoning",
       {"code_reasoning", "commonsense_reasoning", "numerical_calculation", "text_translation"}},
  };
  ScoreTable t;
  for (const auto& [name, members] : kSuper) {
    double base = 0;
    for (const char* c : members) {
      auto it = per_category.find(c);
      if (it == per_category.end()) {
        log::warning(std::string("MME_rating: no items of category ") + c + "; " + name +
                     " sums the categories present (VLMEvalKit would fail)");
        continue;
      }
      base += it->second;
    }
    set_key(t, name, base);
  }
  for (const std::string& c : categories) set_key(t, c, per_category[c]);
  return t;
}

ScoreTable hallusion_rating(const std::vector<YornItem>& items) {
  struct Ids {
    std::string set, figure, question;
  };
  std::map<const YornItem*, Ids> ids;
  for (const YornItem& it : items) {
    const std::vector<std::string> parts = split_underscore(it.index);
    check_user(parts.size() >= 6, "Hallusion_rating: index '" + it.index +
                                      "' has fewer than 6 '_'-separated fields (set, figure and "
                                      "question ids are fields 3, 4 and 5)");
    ids[&it] = {parts[3], parts[4], parts[5]};
  }
  // np.mean([np.all(scores of a group) for each group]) * 100, groups keyed by `key`.
  auto group_acc = [&](const std::vector<const YornItem*>& sub, bool by_figure) {
    std::map<std::string, bool> all_right;
    for (const YornItem* it : sub) {
      const Ids& id = ids.at(it);
      const std::string key = it->l2_category.value_or("nan") + "_" + id.set + "_" +
                              (by_figure ? id.figure : id.question);
      auto [pos, inserted] = all_right.emplace(key, true);
      pos->second = pos->second && yorn_score(*it);
      (void)inserted;
    }
    long good = 0;
    for (const auto& [k, ok] : all_right) good += ok ? 1 : 0;
    return percent(good, static_cast<long>(all_right.size()));
  };
  ScoreTable t;
  t.columns = {"split", "aAcc", "fAcc", "qAcc"};
  auto add_row = [&](const std::string& split, const std::vector<const YornItem*>& sub) {
    t.rows.push_back({split, mean_score(sub), group_acc(sub, true), group_acc(sub, false)});
  };
  add_row("Overall", all_of(items));
  for (auto field : {&YornItem::category, &YornItem::l2_category}) {
    for (const std::string& c : values_of(items, field)) {
      std::vector<const YornItem*> sub;
      for (const YornItem& it : items)
        if (it.*field == c) sub.push_back(&it);
      add_row(c, sub);
    }
  }
  return t;
}

ScoreTable pope_rating(const std::vector<YornItem>& items) {
  // data.assign(category=data['category'].str.split(',')).explode('category')
  struct Row {
    const YornItem* item;
    std::optional<std::string> category;
  };
  std::vector<Row> rows;
  for (const YornItem& it : items) {
    if (!it.category) {
      rows.push_back({&it, std::nullopt});
      continue;
    }
    size_t start = 0;
    for (;;) {
      const size_t pos = it.category->find(',', start);
      rows.push_back({&it, it.category->substr(
                               start, pos == std::string::npos ? std::string::npos : pos - start)});
      if (pos == std::string::npos) break;
      start = pos + 1;
    }
  }
  // A Python number that is either the int 0 or a float.
  struct Num {
    bool is_int;
    double v;
  };
  auto value = [](Num n) -> ScoreValue {
    if (n.is_int) return static_cast<int64_t>(n.v * 100);
    return n.v * 100;
  };
  ScoreTable t;
  t.columns = {"split", "Overall", "acc", "precision", "recall"};
  auto add_row = [&](const std::string& split, const std::vector<const Row*>& sub) {
    long tp = 0, fp = 0, fn = 0, hits = 0;
    for (const Row* r : sub) {
      const bool truth = r->item->answer == std::optional<std::string>("Yes");
      const bool pred = r->item->extracted == YesNo::kYes;
      tp += truth && pred;
      fp += !truth && pred;
      fn += truth && !pred;
      hits += yorn_score(*r->item) ? 1 : 0;
    }
    const Num precision =
        tp + fp != 0 ? Num{false, static_cast<double>(tp) / (tp + fp)} : Num{true, 0};
    const Num recall =
        tp + fn != 0 ? Num{false, static_cast<double>(tp) / (tp + fn)} : Num{true, 0};
    const double sum = precision.v + recall.v;
    const Num f1 = sum != 0 ? Num{false, 2 * (precision.v * recall.v) / sum} : Num{true, 0};
    t.rows.push_back({split, value(f1), percent(hits, static_cast<long>(sub.size())),
                      value(precision), value(recall)});
  };
  std::vector<const Row*> all;
  for (const Row& r : rows) all.push_back(&r);
  add_row("Overall", all);
  std::set<std::string> categories;
  for (const Row& r : rows)
    if (r.category) categories.insert(*r.category);
  for (const std::string& c : categories) {
    std::vector<const Row*> sub;
    for (const Row& r : rows)
      if (r.category == c) sub.push_back(&r);
    add_row(c, sub);
  }
  return t;
}

}  // namespace vlm
