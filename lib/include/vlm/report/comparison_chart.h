// The PNG chart of a RunComparison: grouped bars of each dataset's overall score (left panel) and
// items/s (right panel), one bar per run, with value labels, dataset names and a legend.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "vlm/report/run_comparison.h"

namespace vlm {

struct ChartOptions {
  int width = 1200;  // pixels
  int height = 600;  // pixels
};

// A drawn bar, in image pixels (y down): the filled rectangle [x, x + width) x [y, y + height).
struct ChartBar {
  std::string panel;    // "score" or "items_per_s"
  std::size_t dataset;  // position in RunComparison::datasets
  std::size_t run;      // position in RunComparison::runs
  double value;         // what the bar shows
  int x, y, width, height;
};

// The BGR colour of run `run`'s bars and legend swatch (a fixed palette, repeating after 8).
void chart_run_colour(std::size_t run, unsigned char bgr[3]);

// Draws the chart and writes it with cv::imwrite (format from the extension; .png expected).
// Each panel's axis runs from 0 to 1 when every value is in [0, 1], else to 1.1 x the largest.
// Bars without a value are left out and marked "n/a". Returns the bars drawn. Throws UserError
// naming `path` when the size is below 320x240 or the file cannot be written.
std::vector<ChartBar> write_comparison_chart(const RunComparison& comparison,
                                             const std::filesystem::path& path,
                                             const ChartOptions& options = {});

}  // namespace vlm
