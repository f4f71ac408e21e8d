// A loaded VLMEvalKit dataset: the TSV's rows as evaluation items, in file order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vlm/data/dataset_spec.h"
#include "vlm/data/image_source.h"
#include "vlm/data/tsv_table.h"

namespace vlm {

// One question. Text values are as Python's str() prints the pandas cell (see TsvTable).
struct Item {
  std::string index;                 // str(index), e.g. "0"; unique key of the item
  std::optional<int64_t> index_int;  // the index as an int when every index is integer-like
  std::optional<std::string> question;
  std::optional<std::string> hint;    // the 'hint' column, when present and non-NA
  std::optional<std::string> answer;  // the 'answer' column, when present and non-NA
  std::vector<std::pair<char, std::string>> options;  // columns A..Z present and non-NA, in order
  std::vector<std::string> images_b64;    // base64 image(s), references resolved; in order
  std::optional<std::string> image_path;  // the 'image_path' cell, raw, when present and non-NA
  std::vector<std::string> image_paths;   // image_path as VLMEvalKit's toliststr gives it
  // The image files to read when the TSV has no 'image' column (VLMEvalKit's meta-only
  // datasets): each of image_paths resolved inside the data root (resolve_inside) and, when no
  // file is there, inside {data root}/images/{dataset name}/, where VLMEvalKit's dump_image looks
  // next. An escaping path ('..', absolute, a symlink out) or a file found in neither place sets
  // `error` instead, naming the line and index.
  std::vector<std::filesystem::path> image_files;
  std::map<std::string, std::optional<std::string>> fields;  // every column but 'image'
  size_t row = 0;                    // 0-based data record in the TSV (header excluded)
  size_t line = 0;                   // 1-based line of the TSV where the record starts
  std::optional<std::string> error;  // why this item cannot be run (recorded as its error)

  // The item's images in order, whichever way the TSV gives them: images_b64 when it has an
  // 'image' column, else image_files.
  std::vector<ImageSource> images() const;
  size_t num_images() const { return images_b64.empty() ? image_files.size() : images_b64.size(); }
};

// Most images one item may carry (a list in 'image' or 'image_path'); more is an item error.
constexpr size_t kMaxImagesPerItem = 128;

// Parses an image cell as VLMEvalKit's toliststr does: "['a', 'b']" (a Python list literal of
// strings) -> {"a", "b"}; anything not starting with '[' and ending with ']' -> {cell}.
// UserError if a bracketed cell is not a list of string or number literals.
std::vector<std::string> parse_list_str(const std::string& cell);

// The rows of {data_root}/{spec.file} as VLMEvalKit's ImageBaseDataset builds them:
// - the file's md5 is compared with spec.md5 when given; a mismatch is a log warning naming both
//   sums and the file, and the file is used;
// - rows whose 'image' is NA are dropped (skip_noimg);
// - an 'image' of <= 64 characters is the index of another row, whose image is used; a reference
//   to no row, or to a row that itself holds a reference, sets that item's error;
// - an 'image' in brackets is a list of base64 images (multi-image rows);
// - 'index' is an int when every index is integer-like;
// - a row without a question gets an error, not an exception;
// - a row with a field over tsv.max_field_bytes gets an error naming the line and column;
// - spec.file must stay inside data_root; image_path values resolve inside data_root, or inside
//   data_root/images/{spec.name}/ (Item::image_files) when there is no 'image' column;
// - a cell that is not valid UTF-8 sets that item's error, naming the line, column and byte.
// Items keep file order.
class Dataset {
 public:
  // Loads and checks the TSV. UserError if the file is missing, malformed, or lacks an 'index'
  // column, or if two rows share an index.
  Dataset(DatasetSpec spec, const std::filesystem::path& data_root, const TsvOptions& tsv = {});

  const DatasetSpec& spec() const { return spec_; }
  const std::filesystem::path& path() const { return path_; }
  // The file's actual md5 (32 lower-case hex), or empty when spec.md5 was empty (not computed).
  const std::string& file_md5() const { return file_md5_; }

  // The first `n` items (all when n >= size()) as a dataset of their own, for --limit: a view of
  // this one (same file, columns, column kinds and item values), read nothing again.
  Dataset head(size_t n) const;

  const std::vector<Item>& items() const { return items_; }
  size_t size() const { return items_.size(); }
  const Item& operator[](size_t i) const { return items_[i]; }

  // The TSV's column names in file order ('image' included).
  const std::vector<std::string>& columns() const { return columns_; }
  // pandas' dtype for a column (for writers that keep numbers numeric); UserError if unknown.
  ColumnKind column_kind(const std::string& column) const;
  // True when every index is integer-like (VLMEvalKit turns the column back into int).
  bool index_is_int() const { return index_is_int_; }
  // Rows dropped because their image was NA.
  size_t dropped_without_image() const { return dropped_without_image_; }

 private:
  Dataset() = default;

  DatasetSpec spec_;
  std::filesystem::path path_;
  std::string file_md5_;
  std::vector<Item> items_;
  std::vector<std::string> columns_;
  std::vector<ColumnKind> kinds_;
  bool index_is_int_ = false;
  size_t dropped_without_image_ = 0;
};

}  // namespace vlm
