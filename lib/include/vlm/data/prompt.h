// A model-ready prompt: user text with <image> markers and the images they stand for.
#pragma once

#include <string>
#include <vector>

#include "vlm/data/image_source.h"

namespace vlm {

// The user turn before the chat template: UTF-8 text in which each "<image>" marks where one
// image's tokens go, and the images in marker order.
struct Prompt {
  std::string text;                 // e.g. "<image>\nWhat colour ...?\nA. red\n..."
  std::vector<ImageSource> images;  // one per "<image>" marker, in order
};

}  // namespace vlm
