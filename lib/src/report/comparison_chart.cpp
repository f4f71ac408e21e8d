#include "vlm/report/comparison_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "vlm/core/error.h"

namespace vlm {
namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kBlack(0, 0, 0);
const cv::Scalar kGrid(225, 225, 225);
const cv::Scalar kAxis(90, 90, 90);

// Hershey fonts draw ASCII only: anything else becomes '?'.
std::string ascii(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += (c >= 0x20) ? static_cast<char>(c) : ' ';
    } else if ((c & 0xC0) != 0x80) {
      out += '?';  // one '?' per code point
    }
  }
  return out;
}

int text_width(const std::string& s, double scale, int thickness = 1) {
  int baseline = 0;
  return cv::getTextSize(s, kFont, scale, thickness, &baseline).width;
}

// `s` cut (with "..") to fit `max_width` pixels.
std::string fit(const std::string& s, double scale, int max_width) {
  std::string t = ascii(s);
  if (text_width(t, scale) <= max_width) return t;
  while (!t.empty() && text_width(t + "..", scale) > max_width) t.pop_back();
  return t.empty() ? t : t + "..";
}

void centred_text(cv::Mat& img, const std::string& s, int cx, int baseline_y, double scale,
                  const cv::Scalar& colour = kBlack, int thickness = 1) {
  const int w = text_width(s, scale, thickness);
  cv::putText(img, s, cv::Point(cx - w / 2, baseline_y), kFont, scale, colour, thickness,
              cv::LINE_AA);
}

std::string number(double v, bool fraction) {
  char buf[32];
  if (fraction)
    std::snprintf(buf, sizeof(buf), "%.3f", v);
  else if (std::fabs(v) >= 100)
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  else
    std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

cv::Scalar colour(size_t run) {
  unsigned char bgr[3];
  chart_run_colour(run, bgr);
  return cv::Scalar(bgr[0], bgr[1], bgr[2]);
}

// One panel: grouped bars of values[dataset][run] inside the rectangle `area`.
void draw_panel(cv::Mat& img, const cv::Rect& area, const std::string& title,
                const std::string& key, const RunComparison& c,
                const std::vector<std::vector<std::optional<double>>>& values,
                std::vector<ChartBar>& bars) {
  const size_t groups = c.datasets.size(), runs = c.runs.size();
  double max_v = 0;
  bool fraction = true;
  for (const auto& g : values)
    for (const auto& v : g)
      if (v) {
        max_v = std::max(max_v, *v);
        fraction = fraction && *v >= 0 && *v <= 1;
      }
  const double axis_max = fraction ? 1.0 : (max_v > 0 ? max_v * 1.1 : 1.0);

  centred_text(img, title, area.x + area.width / 2, area.y + 18, 0.6, kBlack, 1);
  const int left = area.x + 62, right = area.x + area.width - 12;
  const int top = area.y + 40, base = area.y + area.height - 40;
  const int plot_h = base - top;

  for (int t = 0; t <= 4; ++t) {
    const int y = base - static_cast<int>(std::lround(plot_h * t / 4.0));
    cv::line(img, cv::Point(left, y), cv::Point(right, y), t == 0 ? kAxis : kGrid, 1);
    const std::string label = number(axis_max * t / 4.0, fraction);
    cv::putText(img, label, cv::Point(left - 6 - text_width(label, 0.4), y + 4), kFont, 0.4, kAxis,
                1, cv::LINE_AA);
  }
  cv::line(img, cv::Point(left, top), cv::Point(left, base), kAxis, 1);

  const double group_w = static_cast<double>(right - left) / static_cast<double>(groups);
  const double bar_w = group_w * 0.7 / static_cast<double>(runs);
  for (size_t g = 0; g < groups; ++g) {
    const double gx = left + group_w * static_cast<double>(g);
    for (size_t r = 0; r < runs; ++r) {
      const int x =
          static_cast<int>(std::lround(gx + group_w * 0.15 + bar_w * static_cast<double>(r)));
      const int x_end =
          static_cast<int>(std::lround(gx + group_w * 0.15 + bar_w * static_cast<double>(r + 1)));
      const int w = std::max(1, x_end - x - (bar_w >= 6 ? 2 : 0));
      const auto& v = values[g][r];
      if (!v) {
        centred_text(img, "n/a", x + w / 2, base - 4, 0.35, kAxis);
        continue;
      }
      const double clamped = std::max(0.0, std::min(*v, axis_max));
      const int h = static_cast<int>(std::lround(clamped / axis_max * plot_h));
      if (h > 0) cv::rectangle(img, cv::Rect(x, base - h, w, h), colour(r), cv::FILLED);
      bars.push_back({key, g, r, *v, x, base - h, w, h});
      const std::string label = number(*v, fraction);
      const double scale = text_width(label, 0.4) <= w + 8 ? 0.4 : 0.3;
      centred_text(img, label, x + w / 2, base - h - 5, scale, kBlack);
    }
    centred_text(img, fit(c.datasets[g].dataset, 0.45, static_cast<int>(group_w) - 4),
                 static_cast<int>(std::lround(gx + group_w / 2)), base + 20, 0.45, kBlack);
  }
}

}  // namespace

void chart_run_colour(size_t run, unsigned char bgr[3]) {
  // Tableau colours without grey, as BGR.
  static const unsigned char kPalette[8][3] = {{180, 119, 31},  {14, 127, 255},  {44, 160, 44},
                                               {40, 39, 214},   {189, 103, 148}, {75, 86, 140},
                                               {194, 119, 227}, {207, 190, 23}};
  for (int k = 0; k < 3; ++k) bgr[k] = kPalette[run % 8][k];
}

std::vector<ChartBar> write_comparison_chart(const RunComparison& c,
                                             const std::filesystem::path& path,
                                             const ChartOptions& o) {
  check_user(o.width >= 320 && o.height >= 240,
             "chart " + path.string() + ": size " + std::to_string(o.width) + "x" +
                 std::to_string(o.height) + " is below the minimum 320x240");
  check_user(!c.datasets.empty() && !c.runs.empty(),
             "chart " + path.string() + ": nothing to draw (no dataset compared)");
  cv::Mat img(o.height, o.width, CV_8UC3, cv::Scalar(255, 255, 255));
  const size_t runs = c.runs.size();

  const std::string title = "compare: " + std::to_string(runs) + " runs, " +
                            std::to_string(c.datasets.size()) +
                            (c.datasets.size() == 1 ? " dataset" : " datasets");
  centred_text(img, fit(title, 0.7, o.width - 20), o.width / 2, 28, 0.7, kBlack, 2);

  // Legend rows at the bottom: a swatch and the run's label per entry, as many per row as fit.
  const int legend_row_h = 22;
  const int per_row = std::max<int>(1, std::min<int>(static_cast<int>(runs), o.width / 260));
  const int legend_rows = (static_cast<int>(runs) + per_row - 1) / per_row;
  const int legend_top = o.height - legend_rows * legend_row_h - 8;
  const int entry_w = (o.width - 20) / per_row;
  for (size_t r = 0; r < runs; ++r) {
    const int x = 10 + entry_w * (static_cast<int>(r) % per_row);
    const int y = legend_top + legend_row_h * (static_cast<int>(r) / per_row);
    cv::rectangle(img, cv::Rect(x, y + 4, 14, 14), colour(r), cv::FILLED);
    const std::string label = "[" + std::to_string(r) + "] " + c.runs[r].label;
    cv::putText(img, fit(label, 0.45, entry_w - 24), cv::Point(x + 20, y + 16), kFont, 0.45, kBlack,
                1, cv::LINE_AA);
  }

  std::vector<std::vector<std::optional<double>>> scores, speed;
  for (const DatasetComparison& d : c.datasets) {
    scores.push_back(d.overall);
    std::vector<std::optional<double>> s;
    for (const DatasetOutputs& out : d.outputs) s.push_back(out.items_per_s);
    speed.push_back(s);
  }
  const int panel_top = 44, panel_h = legend_top - 8 - panel_top;
  check_user(panel_h >= 120, "chart " + path.string() + ": " + std::to_string(runs) +
                                 " runs leave no room for the bars at " + std::to_string(o.width) +
                                 "x" + std::to_string(o.height) + "; make it larger");
  std::vector<ChartBar> bars;
  draw_panel(img, cv::Rect(0, panel_top, o.width / 2, panel_h), "overall score", "score", c, scores,
             bars);
  draw_panel(img, cv::Rect(o.width / 2, panel_top, o.width - o.width / 2, panel_h), "items/s",
             "items_per_s", c, speed, bars);

  bool ok = false;
  std::string why;
  try {
    ok = cv::imwrite(path.string(), img);
  } catch (const cv::Exception& e) {
    why = std::string(": ") + e.what();
  }
  check_user(ok, "cannot write chart " + path.string() + why +
                     " (does the folder exist, and is the extension .png?)");
  return bars;
}

}  // namespace vlm
