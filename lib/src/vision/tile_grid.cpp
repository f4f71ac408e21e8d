#include "vlm/vision/tile_grid.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "vlm/core/error.h"

namespace vlm {
namespace {

// hash((i, j)) of small non-negative ints in CPython >= 3.8 on a 64-bit build (tuplehash, xxHash
// based); hash(int n) is n itself for 0 <= n < 2**61 - 1.
uint64_t python_tuple_hash(int64_t a, int64_t b) {
  constexpr uint64_t kPrime1 = 11400714785074694791ULL;
  constexpr uint64_t kPrime2 = 14029467366897019727ULL;
  constexpr uint64_t kPrime5 = 2870177450012600261ULL;
  uint64_t acc = kPrime5;
  for (const int64_t item : {a, b}) {
    const uint64_t lane = static_cast<uint64_t>(item);
    acc += lane * kPrime2;
    acc = (acc << 31) | (acc >> 33);
    acc *= kPrime1;
  }
  acc += 2ULL ^ (kPrime5 ^ 3527539ULL);
  if (acc == static_cast<uint64_t>(-1)) return 1546275796ULL;
  return acc;
}

// CPython's set of (i, j) tuples (Objects/setobject.c): open addressing with runs of linear probes,
// perturbed probing, growth to 4x the used count once 60% full. Only as much as needed to
// reproduce the iteration order of a set built by successive adds.
class PythonTupleSet {
 public:
  void add(const TileGrid& key) {
    const uint64_t hash = python_tuple_hash(key.cols, key.rows);
    size_t i = hash & mask_;
    uint64_t perturb = hash;
    while (true) {
      size_t e = i;
      int probes = (i + kLinearProbes <= mask_) ? kLinearProbes : 0;
      do {
        Entry& entry = table_[e];
        if (!entry.used) {
          entry = Entry{true, hash, key};
          ++fill_;
          if (fill_ * 5 < mask_ * 3) return;
          resize(fill_ > 50000 ? fill_ * 2 : fill_ * 4);
          return;
        }
        if (entry.hash == hash && entry.key == key) return;
        ++e;
      } while (probes--);
      perturb >>= kPerturbShift;
      i = (i * 5 + 1 + perturb) & mask_;
    }
  }

  // Keys in iteration order (table order).
  std::vector<TileGrid> keys() const {
    std::vector<TileGrid> out;
    for (const Entry& entry : table_)
      if (entry.used) out.push_back(entry.key);
    return out;
  }

 private:
  struct Entry {
    bool used = false;
    uint64_t hash = 0;
    TileGrid key;
  };
  static constexpr int kLinearProbes = 9;
  static constexpr int kPerturbShift = 5;

  void resize(size_t min_used) {
    size_t new_size = 8;
    while (new_size <= min_used) new_size <<= 1;
    std::vector<Entry> old;
    old.swap(table_);
    table_.assign(new_size, Entry{});
    mask_ = new_size - 1;
    for (const Entry& entry : old)
      if (entry.used) insert_clean(entry);
  }

  void insert_clean(const Entry& entry) {
    uint64_t perturb = entry.hash;
    size_t i = entry.hash & mask_;
    while (true) {
      if (!table_[i].used) {
        table_[i] = entry;
        return;
      }
      if (i + kLinearProbes <= mask_) {
        for (size_t j = 1; j <= kLinearProbes; ++j) {
          if (!table_[i + j].used) {
            table_[i + j] = entry;
            return;
          }
        }
      }
      perturb >>= kPerturbShift;
      i = (i * 5 + 1 + perturb) & mask_;
    }
  }

  std::vector<Entry> table_ = std::vector<Entry>(8);
  size_t mask_ = 7;
  size_t fill_ = 0;  // no deletions, so fill == used
};

void check_tile_range(int min_num, int max_num) {
  check_user(min_num >= 1,
             "preprocess.min_dynamic_patch must be >= 1, got " + std::to_string(min_num));
  check_user(max_num >= min_num, "preprocess.max_dynamic_patch must be >= min_dynamic_patch (" +
                                     std::to_string(min_num) + "), got " + std::to_string(max_num));
  // Bound on what one image can make the harness allocate (issue 7): each tile is a
  // [3, 448, 448] tensor, and the candidate search is cubic in max_num. InternVL2 uses <= 40.
  constexpr int kMaxTilesPerImage = 256;
  check_user(max_num <= kMaxTilesPerImage, "max tiles per image must be <= " +
                                               std::to_string(kMaxTilesPerImage) + ", got " +
                                               std::to_string(max_num));
}

}  // namespace

std::vector<TileGrid> tile_grid_candidates(int min_num, int max_num) {
  check_tile_range(min_num, max_num);
  // set((i, j) for n in range(min_num, max_num + 1) for i in range(1, n + 1)
  //     for j in range(1, n + 1) if i * j <= max_num and i * j >= min_num)
  PythonTupleSet set;
  for (int n = min_num; n <= max_num; ++n)
    for (int i = 1; i <= n; ++i)
      for (int j = 1; j <= n; ++j)
        if (i * j <= max_num && i * j >= min_num) set.add(TileGrid{i, j});
  std::vector<TileGrid> out = set.keys();
  std::stable_sort(out.begin(), out.end(),
                   [](const TileGrid& a, const TileGrid& b) { return a.count() < b.count(); });
  return out;
}

TileGrid choose_tile_grid(int width, int height, int min_num, int max_num, int image_size) {
  check_user(width > 0 && height > 0, "image size must be positive, got " + std::to_string(width) +
                                          "x" + std::to_string(height));
  check_user(image_size > 0,
             "preprocess.image_size must be > 0, got " + std::to_string(image_size));
  const double aspect = static_cast<double>(width) / static_cast<double>(height);
  const double area = static_cast<double>(static_cast<int64_t>(width) * height);
  double best_diff = std::numeric_limits<double>::infinity();
  TileGrid best{1, 1};
  for (const TileGrid& r : tile_grid_candidates(min_num, max_num)) {
    const double diff = std::fabs(aspect - static_cast<double>(r.cols) / r.rows);
    if (diff < best_diff) {
      best_diff = diff;
      best = r;
    } else if (diff == best_diff) {
      if (area > 0.5 * image_size * image_size * r.cols * r.rows) best = r;
    }
  }
  return best;
}

}  // namespace vlm
