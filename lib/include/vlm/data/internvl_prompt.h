// The user text InternVL2 sees in VLMEvalKit: build_prompt per dataset kind, then
// reorganize_prompt.
#pragma once

#include <cstddef>
#include <string>

#include "vlm/data/dataset.h"
#include "vlm/data/dataset_spec.h"
#include "vlm/data/prompt.h"

namespace vlm {

// reorganize_prompt(message, image_num) for a message of one text followed by the images:
// 1 image: '<image>\n' + text; n > 1: 'Image-1: <image>\nImage-2: <image>\n...' + text;
// 0 images: text.
std::string reorganize_prompt(const std::string& text, size_t num_images);

// InternVLChat.build_prompt + reorganize_prompt for an item of `spec`'s dataset (USE_COT and the
// MPO prompt off): MCQ -> build_multi_choice_prompt; Y/N -> the question (with MME's and
// HallusionBench's/AMBER's suffixes); VQA -> the question plus the per-dataset suffix. UserError
// if the item carries an error or has no question.
Prompt build_internvl_prompt(const Item& item, const DatasetSpec& spec);

}  // namespace vlm
