#include "vlm/data/dataset.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

#include "vlm/core/error.h"
#include "vlm/core/log.h"
#include "vlm/core/md5.h"
#include "vlm/core/utf8.h"
#include "vlm/data/confined_path.h"

namespace vlm {
namespace {

// Python's len() of a UTF-8 string: code points (continuation bytes are not counted).
size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// VLMEvalKit's istype(x, int) followed by int(x): decimal digits with an optional sign and
// surrounding blanks, no leading zeros (Python rejects '007' as a literal).
std::optional<int64_t> python_int_like(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n')) --e;
  bool negative = false;
  if (b < e && (s[b] == '+' || s[b] == '-')) negative = s[b++] == '-';
  if (b == e) return std::nullopt;
  for (size_t i = b; i < e; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  const std::string digits = s.substr(b, e - b);
  if (digits.size() > 1 && digits[0] == '0' && digits.find_first_not_of('0') != std::string::npos) {
    return std::nullopt;
  }
  if (digits.size() > 18) return std::nullopt;  // beyond int64 comfort; keep as a string
  const int64_t v = std::stoll(digits);
  return negative ? -v : v;
}

class ListParser {
 public:
  explicit ListParser(const std::string& s) : s_(s) {}

  std::vector<std::string> parse() {
    std::vector<std::string> out;
    pos_ = 1;  // past '['
    skip_ws();
    if (peek() == ']') {
      ++pos_;
      return finish(out);
    }
    while (true) {
      skip_ws();
      out.push_back(element());
      skip_ws();
      const char c = next();
      if (c == ']') return finish(out);
      if (c != ',') fail("expected ',' or ']'");
      skip_ws();
      if (peek() == ']') {  // trailing comma
        ++pos_;
        return finish(out);
      }
    }
  }

 private:
  std::vector<std::string>& finish(std::vector<std::string>& out) {
    skip_ws();
    if (pos_ != s_.size()) fail("text after the closing ']'");
    return out;
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  char next() {
    if (pos_ >= s_.size()) fail("unexpected end");
    return s_[pos_++];
  }
  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw UserError("cannot parse list literal: " + what + " at character " + std::to_string(pos_));
  }

  std::string element() {
    const char c = peek();
    if (c == '\'' || c == '"') {
      std::string value = string_literal();
      // Adjacent literals concatenate, as in Python.
      while (true) {
        const size_t save = pos_;
        skip_ws();
        if (peek() == '\'' || peek() == '"') {
          value += string_literal();
        } else {
          pos_ = save;
          break;
        }
      }
      return value;
    }
    // A bare number: str(x) of it; kept as written.
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != ']') ++pos_;
    std::string token = s_.substr(start, pos_ - start);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.pop_back();
    bool numeric = !token.empty();
    for (size_t i = 0; i < token.size(); ++i) {
      const char t = token[i];
      const bool ok =
          (t >= '0' && t <= '9') || t == '.' || t == 'e' || t == 'E' ||
          ((t == '-' || t == '+') && (i == 0 || token[i - 1] == 'e' || token[i - 1] == 'E'));
      numeric = numeric && ok;
    }
    if (!numeric) {
      pos_ = start;
      fail("expected a quoted string or a number");
    }
    return token;
  }

  std::string string_literal() {
    const char quote = next();
    std::string out;
    while (true) {
      const char c = next();
      if (c == quote) return out;
      if (c == '\n') fail("newline inside a string literal");
      if (c != '\\') {
        out += c;
        continue;
      }
      const char e = next();
      switch (e) {
        case '\\':
          out += '\\';
          break;
        case '\'':
          out += '\'';
          break;
        case '"':
          out += '"';
          break;
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '0':
          out += '\0';
          break;
        case '\n':
          break;  // line continuation
        case 'x':
          out += static_cast<char>(hex(2));
          break;
        case 'u':
          append_utf8(hex(4), out);
          break;
        case 'U':
          append_utf8(hex(8), out);
          break;
        default:  // unknown escapes keep the backslash, as in Python
          out += '\\';
          out += e;
      }
    }
  }

  uint32_t hex(int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) {
      const char c = next();
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        fail("bad hex escape");
    }
    return v;
  }

  const std::string& s_;
  size_t pos_ = 0;
};

// An image_path cell's file, as VLMEvalKit's dump_image looks for it: the path itself (here:
// inside the data root), else inside the dataset's image folder {data root}/images/{dataset}.
// Both stay confined (resolve_inside); a file in neither place is a UserError naming both.
std::filesystem::path find_image_file(const std::filesystem::path& data_root,
                                      const std::string& dataset, const std::string& rel,
                                      const std::string& what) {
  std::error_code ec;
  const std::filesystem::path direct = resolve_inside(data_root, rel, what);
  if (std::filesystem::is_regular_file(direct, ec)) return direct;
  const std::filesystem::path in_images = resolve_inside(data_root / "images" / dataset, rel, what);
  if (std::filesystem::is_regular_file(in_images, ec)) return in_images;
  throw UserError(what + ": no file '" + rel + "' at " + direct.string() + " or " +
                  in_images.string());
}

std::string where(const Dataset& d, const Item& item) {
  return d.path().string() + " line " + std::to_string(item.line) + " (index " + item.index + ")";
}

}  // namespace

std::vector<std::string> parse_list_str(const std::string& cell) {
  if (cell.size() >= 2 && cell.front() == '[' && cell.back() == ']')
    return ListParser(cell).parse();
  return {cell};
}

std::vector<ImageSource> Item::images() const {
  std::vector<ImageSource> out;
  for (const std::string& b64 : images_b64) out.push_back(ImageSource::embedded(b64));
  if (images_b64.empty())
    for (const std::filesystem::path& f : image_files) out.push_back(ImageSource::from_file(f));
  return out;
}

Dataset Dataset::head(size_t n) const {
  Dataset d;
  d.spec_ = spec_;
  d.path_ = path_;
  d.file_md5_ = file_md5_;
  d.items_.assign(items_.begin(),
                  items_.begin() + static_cast<std::ptrdiff_t>(std::min(n, size())));
  d.columns_ = columns_;
  d.kinds_ = kinds_;
  d.index_is_int_ = index_is_int_;
  d.dropped_without_image_ = dropped_without_image_;
  return d;
}

ColumnKind Dataset::column_kind(const std::string& column) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i] == column) return kinds_[i];
  }
  throw UserError(path_.string() + ": no column '" + column + "'");
}

Dataset::Dataset(DatasetSpec spec, const std::filesystem::path& data_root, const TsvOptions& tsv)
    : spec_(std::move(spec)) {
  path_ = resolve_inside(data_root, spec_.file, "dataset " + spec_.name + ": file");
  std::error_code ec;
  check_user(std::filesystem::is_regular_file(path_, ec),
             "dataset " + spec_.name + ": file " + path_.string() +
                 " not found (put the TSV there; it is never downloaded)" +
                 (spec_.url.empty() ? std::string() : "; upstream URL: " + spec_.url));
  if (!spec_.md5.empty()) {
    file_md5_ = md5_file_hex(path_);
    if (file_md5_ != spec_.md5) {
      log::warning("dataset " + spec_.name + ": md5 of " + path_.string() + " is " + file_md5_ +
                   ", expected " + spec_.md5 +
                   " (VLMEvalKit would download it again); using the local file");
    }
  }

  TsvTable table = TsvTable::read(path_, tsv);
  columns_ = table.columns();
  for (size_t c = 0; c < table.num_columns(); ++c) kinds_.push_back(table.column_kind(c));
  const size_t index_col = table.column_index("index");
  const auto image_col = table.find_column("image");
  const auto image_path_col = table.find_column("image_path");
  const auto question_col = table.find_column("question");
  const auto hint_col = table.find_column("hint");
  const auto answer_col = table.find_column("answer");
  std::vector<std::pair<char, size_t>> option_cols;
  for (char letter = 'A'; letter <= 'Z'; ++letter) {
    if (auto c = table.find_column(std::string(1, letter))) option_cols.emplace_back(letter, *c);
  }

  std::vector<std::string> images;  // raw image cell per kept row
  for (size_t r = 0; r < table.num_rows(); ++r) {
    const std::optional<std::string> row_error = table.row_error(r);
    if (image_col && !table.cell(r, *image_col) && !row_error) {
      ++dropped_without_image_;
      continue;
    }
    Item item;
    item.row = r;
    item.line = table.line(r);
    item.index = table.python_str(r, index_col).value_or("nan");
    item.question = question_col ? table.python_str(r, *question_col) : std::nullopt;
    if (hint_col) item.hint = table.python_str(r, *hint_col);
    if (answer_col) item.answer = table.python_str(r, *answer_col);
    for (const auto& [letter, c] : option_cols) {
      if (auto v = table.python_str(r, c)) item.options.emplace_back(letter, std::move(*v));
    }
    if (image_path_col) {
      item.image_path = table.cell(r, *image_path_col);
      if (item.image_path) {
        try {
          item.image_paths = parse_list_str(*item.image_path);
        } catch (const UserError& e) {
          item.error = "image_path: " + std::string(e.what());
        }
      }
    }
    if (!image_col && !item.error) {
      try {
        for (const auto& p : item.image_paths)
          item.image_files.push_back(find_image_file(data_root, spec_.name, p,
                                                     path_.string() + " line " +
                                                         std::to_string(item.line) + " (index " +
                                                         item.index + "): image_path"));
      } catch (const UserError& e) {
        item.image_files.clear();
        item.error = e.what();
      }
    }
    for (size_t c = 0; c < table.num_columns(); ++c) {
      if (image_col && c == *image_col) continue;
      item.fields[columns_[c]] = table.python_str(r, c);
    }
    if (row_error) item.error = *row_error + " (index " + item.index + ")";
    if (!item.question && !item.error) {
      item.error = "no question: the 'question' cell is missing or NA at " + where(*this, item);
    }
    if (image_col) images.push_back(table.take_cell(r, *image_col).value_or(std::string()));
    items_.push_back(std::move(item));
  }

  if (dropped_without_image_ > 0)
    log::warning("dataset " + spec_.name + ": " + std::to_string(dropped_without_image_) +
                 " row(s) of " + path_.string() +
                 " have an empty 'image' cell and are left out, as VLMEvalKit leaves them out");

  // Indices: unique; int when every one is integer-like (VLMEvalKit: istype(x, int) for all).
  std::unordered_map<std::string, size_t> by_index;
  for (size_t i = 0; i < items_.size(); ++i) {
    const auto [it, fresh] = by_index.emplace(items_[i].index, i);
    check_user(fresh, path_.string() + ": index " + items_[i].index + " appears twice (lines " +
                          std::to_string(items_[it->second].line) + " and " +
                          std::to_string(items_[i].line) + ")");
  }
  index_is_int_ = !items_.empty();
  std::vector<std::optional<int64_t>> ints;
  for (const auto& item : items_) {
    ints.push_back(python_int_like(item.index));
    index_is_int_ = index_is_int_ && ints.back().has_value();
  }
  if (index_is_int_) {
    for (size_t i = 0; i < items_.size(); ++i) {
      items_[i].index_int = ints[i];
      items_[i].index = std::to_string(*ints[i]);
    }
  }

  if (!image_col) {
    for (Item& item : items_) {
      if (item.image_files.size() > kMaxImagesPerItem && !item.error) {
        item.error = std::to_string(item.image_files.size()) + " images, over the limit of " +
                     std::to_string(kMaxImagesPerItem) + " per item, at " + where(*this, item);
        item.image_files.clear();
      }
    }
    return;
  }
  // References: an image of <= 64 characters names another row's index. Resolved in file order,
  // in place, as VLMEvalKit does (a reference to an earlier, already resolved row works).
  for (size_t i = 0; i < items_.size(); ++i) {
    if (images[i].empty()) continue;  // its image field was over the size limit (row error)
    if (utf8_length(images[i]) > 64) continue;
    const std::string target = images[i];
    const auto it = by_index.find(target);
    if (it == by_index.end()) {
      items_[i].error = "image refers to index '" + target +
                        "', which no row with an image has, at " + where(*this, items_[i]);
      images[i].clear();
      continue;
    }
    if (utf8_length(images[it->second]) <= 64) {
      items_[i].error = "image refers to index '" + target +
                        "', whose own image is a reference or too short, at " +
                        where(*this, items_[i]);
      images[i].clear();
      continue;
    }
    images[i] = images[it->second];
  }
  for (size_t i = 0; i < items_.size(); ++i) {
    if (images[i].empty()) continue;
    try {
      std::vector<std::string> list = parse_list_str(images[i]);
      if (list.size() == 1 && list[0].size() == images[i].size()) {
        items_[i].images_b64.push_back(std::move(images[i]));
      } else {
        items_[i].images_b64 = std::move(list);
      }
    } catch (const UserError& e) {
      if (!items_[i].error) {
        items_[i].error = "image list: " + std::string(e.what()) + " at " + where(*this, items_[i]);
      }
    }
    images[i] = std::string();
  }
  // Bound on what one item can make the harness allocate (issue 7): every image becomes at least
  // one [3, 448, 448] tile.
  for (Item& item : items_) {
    const size_t n = std::max(item.images_b64.size(), item.image_files.size());
    if (n > kMaxImagesPerItem && !item.error) {
      item.error = std::to_string(n) + " images, over the limit of " +
                   std::to_string(kMaxImagesPerItem) + " per item, at " + where(*this, item);
      item.images_b64.clear();
      item.image_files.clear();
    }
  }
}

}  // namespace vlm
