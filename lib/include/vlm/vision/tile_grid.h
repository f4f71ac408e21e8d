// InternVL2's choice of the dynamic tile grid (dynamic_preprocess + find_closest_aspect_ratio).
#pragma once

#include <vector>

namespace vlm {

// A grid of image_size x image_size tiles: `cols` across (width multiplier), `rows` down.
struct TileGrid {
  int cols = 1;  // tiles across; the image is resized to width cols * image_size
  int rows = 1;  // tiles down; the image is resized to height rows * image_size

  int count() const { return cols * rows; }
  bool operator==(const TileGrid& o) const { return cols == o.cols && rows == o.rows; }
  bool operator!=(const TileGrid& o) const { return !(*this == o); }
};

// The candidate grids (i, j) with min_num <= i*j <= max_num, in the order upstream's
// sorted(set(...), key=i*j) has them under CPython >= 3.8 (64-bit): set iteration order, then a
// stable sort by tile count. The order decides exact ties between different ratio values.
// Throws UserError unless 1 <= min_num <= max_num.
std::vector<TileGrid> tile_grid_candidates(int min_num, int max_num);

// The grid upstream picks for a width x height image (pixels, > 0): the candidate whose cols/rows
// is closest to width/height (double arithmetic, as Python floats); on an exact tie a later
// candidate wins when width*height > 0.5 * image_size^2 * cols * rows. (1, 1) if none is closer
// than infinity. Throws UserError on non-positive sizes or a bad min_num/max_num.
TileGrid choose_tile_grid(int width, int height, int min_num, int max_num, int image_size);

}  // namespace vlm
