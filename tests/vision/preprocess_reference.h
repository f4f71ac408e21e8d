// The Pillow reference made by scripts/fixtures/make_preprocess_reference.py
// (fixture.preprocess_reference).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "common/test_paths.h"

namespace vlm::testing {

inline std::filesystem::path preprocess_reference_dir() {
  return testdata_dir() / "preprocess";
}

// index.json of the reference (see the script's docstring for its layout).
inline nlohmann::json load_preprocess_index() {
  const std::filesystem::path path = preprocess_reference_dir() / "index.json";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("missing " + path.string() + " (run the fixture)");
  return nlohmann::json::parse(in);
}

// A reference PNG of stacked tiles, as RGB CV_8UC3 (read with OpenCV directly, not our decoder).
inline cv::Mat read_reference_png(const std::string& relative) {
  const std::filesystem::path path = preprocess_reference_dir() / relative;
  cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
  if (bgr.empty() || bgr.type() != CV_8UC3) throw std::runtime_error("bad " + path.string());
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

}  // namespace vlm::testing
