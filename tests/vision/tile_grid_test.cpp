#include "vlm/vision/tile_grid.h"

#include <gtest/gtest.h>

#include <sstream>
#include <utility>
#include <vector>

#include "preprocess_reference.h"
#include "vlm/core/error.h"

namespace vlm {
namespace {

std::string to_string(const std::vector<TileGrid>& grids) {
  std::ostringstream s;
  for (const TileGrid& g : grids) s << "(" << g.cols << "," << g.rows << ")";
  return s.str();
}

std::vector<TileGrid> grids(const std::vector<std::pair<int, int>>& pairs) {
  std::vector<TileGrid> out;
  for (const auto& [i, j] : pairs) out.push_back(TileGrid{i, j});
  return out;
}

// The orders listed in reference/internvl2-architecture.md §5 (CPython >= 3.8).
TEST(TileGrid, CandidateOrderMatchesReferenceDoc) {
  EXPECT_EQ(
      to_string(tile_grid_candidates(1, 12)),
      to_string(grids({{1, 1},  {1, 2},  {2, 1},  {3, 1}, {1, 3}, {2, 2},  {4, 1}, {1, 4},  {5, 1},
                       {1, 5},  {1, 6},  {6, 1},  {3, 2}, {2, 3}, {7, 1},  {1, 7}, {4, 2},  {2, 4},
                       {1, 8},  {8, 1},  {1, 9},  {3, 3}, {9, 1}, {2, 5},  {5, 2}, {10, 1}, {1, 10},
                       {11, 1}, {1, 11}, {12, 1}, {3, 4}, {4, 3}, {1, 12}, {6, 2}, {2, 6}})));
  EXPECT_EQ(to_string(tile_grid_candidates(1, 6)), to_string(grids({{1, 1},
                                                                    {1, 2},
                                                                    {2, 1},
                                                                    {3, 1},
                                                                    {1, 3},
                                                                    {4, 1},
                                                                    {1, 4},
                                                                    {2, 2},
                                                                    {1, 5},
                                                                    {5, 1},
                                                                    {6, 1},
                                                                    {2, 3},
                                                                    {1, 6},
                                                                    {3, 2}})));
}

// sorted(set(...)) as the Debian CPython that made the fixture orders it, for max_num 1..40.
TEST(TileGrid, CandidateOrderMatchesCPython) {
  const nlohmann::json index = testing::load_preprocess_index();
  int checked = 0;
  for (int max_num = 1; max_num <= 40; ++max_num) {
    std::vector<TileGrid> expected;
    for (const auto& r : index.at("target_ratios").at(std::to_string(max_num)))
      expected.push_back(TileGrid{r.at(0).get<int>(), r.at(1).get<int>()});
    EXPECT_EQ(to_string(tile_grid_candidates(1, max_num)), to_string(expected))
        << "max_num " << max_num;
    ++checked;
  }
  EXPECT_EQ(checked, 40);
}

// Worked examples of reference/internvl2-architecture.md §5 and vlmevalkit-behaviour.md §4.5.
TEST(TileGrid, WorkedExamples) {
  EXPECT_EQ(choose_tile_grid(448, 448, 1, 12, 448), (TileGrid{1, 1}));
  EXPECT_EQ(choose_tile_grid(1000, 1000, 1, 12, 448), (TileGrid{3, 3}));  // 1e6 > 903168
  EXPECT_EQ(choose_tile_grid(800, 800, 1, 12, 448), (TileGrid{2, 2}));  // 401408 < 640000 < 903168
  EXPECT_EQ(choose_tile_grid(1920, 1080, 1, 6, 448), (TileGrid{2, 1}));
  // Square images: (2,2) beats (1,1) iff W*H > 401408.
  EXPECT_EQ(choose_tile_grid(633, 633, 1, 6, 448), (TileGrid{1, 1}));  // 400689
  EXPECT_EQ(choose_tile_grid(634, 634, 1, 6, 448), (TileGrid{2, 2}));  // 401956
  // Width is the column count.
  EXPECT_EQ(choose_tile_grid(1080, 1920, 1, 6, 448), (TileGrid{1, 2}));
}

TEST(TileGrid, RejectsBadArguments) {
  EXPECT_THROW(choose_tile_grid(0, 10, 1, 12, 448), UserError);
  EXPECT_THROW(choose_tile_grid(10, 10, 0, 12, 448), UserError);
  EXPECT_THROW(choose_tile_grid(10, 10, 3, 2, 448), UserError);
  EXPECT_THROW(tile_grid_candidates(1, 0), UserError);
}

}  // namespace
}  // namespace vlm
