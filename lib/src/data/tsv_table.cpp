#include "vlm/data/tsv_table.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>

#include "vlm/core/error.h"
#include "vlm/core/python_float.h"
#include "vlm/core/utf8.h"

namespace vlm {
namespace {

constexpr std::array<std::string_view, 19> kNaStrings = {
    "",     "#N/A", "#N/A N/A", "#NA",  "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A",  "NA",       "NULL", "NaN",     "None",     "n/a",  "nan",  "null"};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// pandas' integer token: optional surrounding whitespace, optional sign, decimal digits.
std::optional<int64_t> parse_int_token(std::string_view s) {
  s = trim_spaces(s);
  if (s.empty()) return std::nullopt;
  bool negative = false;
  if (s.front() == '+' || s.front() == '-') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  uint64_t magnitude = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (magnitude > (std::numeric_limits<uint64_t>::max() - d) / 10) return std::nullopt;
    magnitude = magnitude * 10 + d;
  }
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (magnitude > limit) return std::nullopt;  // pandas would go to uint64 or float; treat as float
  if (negative) return static_cast<int64_t>(0 - magnitude);
  return static_cast<int64_t>(magnitude);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// pandas' float token: [ws][sign](digits[.digits*] | .digits)[(e|E)[sign]digits][ws], or
// inf/infinity in any case with an optional sign.
std::optional<double> parse_float_token(std::string_view s) {
  s = trim_spaces(s);
  if (s.empty()) return std::nullopt;
  std::string_view body = s;
  bool negative = false;
  if (body.front() == '+' || body.front() == '-') {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  if (iequals(body, "inf") || iequals(body, "infinity")) {
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  }
  size_t i = 0, digits = 0;
  while (i < body.size() && body[i] >= '0' && body[i] <= '9') ++i, ++digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && body[i] >= '0' && body[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    size_t j = i + 1;
    if (j < body.size() && (body[j] == '+' || body[j] == '-')) ++j;
    size_t exp_digits = 0;
    while (j < body.size() && body[j] >= '0' && body[j] <= '9') ++j, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
    i = j;
  }
  if (i != body.size()) return std::nullopt;
  // from_chars does not take a leading '+'; parse the unsigned body and apply the sign.
  double value = 0;
  const auto res = std::from_chars(body.data(), body.data() + body.size(), value);
  if (res.ec == std::errc::result_out_of_range) {
    // Overflow gives inf and underflow 0, as in Python; strtod reports both that way.
    value = std::strtod(std::string(body).c_str(), nullptr);
  } else if (res.ec != std::errc() || res.ptr != body.data() + body.size()) {
    return std::nullopt;
  }
  return negative ? -value : value;
}

std::optional<bool> parse_bool_token(std::string_view s) {
  if (s == "True" || s == "TRUE" || s == "true") return true;
  if (s == "False" || s == "FALSE" || s == "false") return false;
  return std::nullopt;
}

}  // namespace

bool is_pandas_na(std::string_view cell) {
  return std::find(kNaStrings.begin(), kNaStrings.end(), cell) != kNaStrings.end();
}

// Splits a byte stream into records of fields, with the quoting rules of pandas' C tokenizer
// (sep='\t', quotechar='"', doublequote=True, skip_blank_lines=True).
class TsvTokenizer {
 public:
  // `oversized`: index of the first field cut off at max_field_bytes (its text is dropped), or
  // npos when every field was kept whole.
  using RecordFn =
      std::function<void(std::vector<std::string>& fields, size_t line, size_t oversized)>;

  TsvTokenizer(std::string source, RecordFn on_record,
               size_t max_field_bytes = std::numeric_limits<size_t>::max())
      : source_(std::move(source)),
        on_record_(std::move(on_record)),
        max_field_bytes_(max_field_bytes) {}

  // Records with more fields than this are refused as soon as the extra field starts (the header
  // fixes the count), so a line of millions of tabs does not allocate millions of fields.
  void set_max_fields(size_t n) { max_fields_ = n; }

  // Feeds the next block of the stream.
  void feed(std::string_view chunk) {
    const char* p = chunk.data();
    const char* end = p + chunk.size();
    // A UTF-8 BOM at the very start is not data (pandas' utf-8 reading drops it).
    while (!bom_decided_ && p < end) {
      if (*p == kBom[bom_held_]) {
        ++p;
        if (++bom_held_ == 3) bom_decided_ = true;
      } else {
        release_bom_prefix();
      }
    }
    run(p, end);
  }

  // Ends the stream: flushes a last record without a line break; UserError on an open quote.
  void finish() {
    if (!bom_decided_) release_bom_prefix();
    switch (state_) {
      case State::kInQuoted:
        throw UserError(source_ + ": EOF inside a quoted field starting at line " +
                        std::to_string(record_line_));
      case State::kStartRecord:
      case State::kAfterCr:
        break;
      case State::kWhitespaceLine:
        reset_record();
        break;
      default:
        end_record();
        break;
    }
  }

 private:
  enum class State {
    kStartRecord,
    kStartField,
    kInField,
    kInQuoted,
    kQuoteInQuoted,
    kAfterCr,
    kWhitespaceLine
  };

  static constexpr char kBom[] = "\xEF\xBB\xBF";

  // The held bytes were not a BOM after all: they are data.
  void release_bom_prefix() {
    bom_decided_ = true;
    run(kBom, kBom + bom_held_);
  }

  void end_field() {
    if (fields_.size() >= max_fields_) {
      throw UserError(source_ + ": line " + std::to_string(record_line_) + ": expected " +
                      std::to_string(max_fields_) +
                      " tab-separated fields (as in the header), saw " +
                      std::to_string(max_fields_ + 1) + " or more");
    }
    fields_.push_back(std::move(field_));
    field_ = std::string();
  }
  void end_record() {
    end_field();
    on_record_(fields_, record_line_, oversized_);
    reset_record();
  }
  void reset_record() {
    fields_.clear();
    field_.clear();
    oversized_ = std::string::npos;
    state_ = State::kStartRecord;
  }
  // Appends [p, q) to the current field unless that takes it over max_field_bytes: then the
  // field's text is dropped and the record remembers which field it was.
  void append(const char* p, const char* q) {
    const size_t n = static_cast<size_t>(q - p);
    if (oversized_ == fields_.size()) return;  // this field is already cut off
    if (field_.size() + n > max_field_bytes_) {
      if (oversized_ == std::string::npos) oversized_ = fields_.size();
      if (oversized_ == fields_.size()) {
        field_ = std::string();  // free it
        return;
      }
    }
    field_.append(p, q);
  }
  void append(char c) { append(&c, &c + 1); }

  void run(const char* p, const char* end) {
    while (p < end) {
      const char c = *p;
      switch (state_) {
        case State::kAfterCr:
          state_ = State::kStartRecord;
          if (c == '\n') {
            ++p;  // CRLF: the line was already counted at the CR
            continue;
          }
          continue;
        case State::kStartRecord:
          record_line_ = line_;
          if (c == '\n' || c == '\r') {  // blank line
            newline(c);
            ++p;
            continue;
          }
          if (c == ' ') {
            append(c);
            state_ = State::kWhitespaceLine;
            ++p;
            continue;
          }
          state_ = State::kStartField;
          continue;
        case State::kWhitespaceLine:
          if (c == ' ') {
            append(c);
            ++p;
          } else if (c == '\n' || c == '\r') {  // a line of spaces is blank
            field_.clear();
            oversized_ = std::string::npos;
            newline(c);
            state_ = c == '\r' ? State::kAfterCr : State::kStartRecord;
            ++p;
          } else {
            state_ = State::kInField;  // the spaces were the start of a field
          }
          continue;
        case State::kStartField:
          if (c == '"') {
            state_ = State::kInQuoted;
            ++p;
          } else {
            state_ = State::kInField;
          }
          continue;
        case State::kInField: {
          const char* q = p;
          while (q < end && *q != '\t' && *q != '\n' && *q != '\r') ++q;
          append(p, q);
          p = q;
          if (p == end) continue;
          if (*p == '\t') {
            end_field();
            state_ = State::kStartField;
          } else {
            newline(*p);
            end_record();
            if (*p == '\r') state_ = State::kAfterCr;
          }
          ++p;
          continue;
        }
        case State::kInQuoted: {
          const char* q = p;
          while (q < end && *q != '"') {
            if (*q == '\n') ++line_;
            ++q;
          }
          append(p, q);
          p = q;
          if (p == end) continue;
          state_ = State::kQuoteInQuoted;
          ++p;
          continue;
        }
        case State::kQuoteInQuoted:
          if (c == '"') {  // "" is a literal quote
            append('"');
            state_ = State::kInQuoted;
            ++p;
          } else if (c == '\t') {
            end_field();
            state_ = State::kStartField;
            ++p;
          } else if (c == '\n' || c == '\r') {
            newline(c);
            end_record();
            if (c == '\r') state_ = State::kAfterCr;
            ++p;
          } else {  // text after the closing quote is kept, unquoted
            state_ = State::kInField;
          }
          continue;
      }
    }
  }

  // Counts a line break; a CR is counted here and a following LF is then skipped (kAfterCr).
  void newline(char c) {
    (void)c;
    ++line_;
  }

  std::string source_;
  RecordFn on_record_;
  size_t max_field_bytes_;
  size_t max_fields_ = std::numeric_limits<size_t>::max();
  size_t oversized_ = std::string::npos;  // first field of this record cut off, or npos
  State state_ = State::kStartRecord;
  std::vector<std::string> fields_;
  std::string field_;
  size_t line_ = 1;         // current physical line, 1-based
  size_t record_line_ = 1;  // line where the current record started
  bool bom_decided_ = false;
  size_t bom_held_ = 0;  // leading bytes that matched the BOM so far
};

// Turns tokenized records into a TsvTable: header, field counts, NA filtering.
class TsvBuilder {
 public:
  TsvBuilder(TsvTable& table, const TsvOptions& options) : table_(table), options_(options) {}

  void on_record(std::vector<std::string>& fields, size_t line, size_t oversized) {
    if (!have_header_) {
      if (oversized != std::string::npos) {
        throw UserError(table_.source_ + ": line " + std::to_string(line) + ": header field " +
                        std::to_string(oversized + 1) + " is longer than " +
                        std::to_string(options_.max_field_bytes) + " bytes");
      }
      for (size_t i = 0; i < fields.size(); ++i) {
        const size_t bad = invalid_utf8_offset(fields[i]);
        if (bad != std::string::npos)
          throw UserError(table_.source_ + ": line " + std::to_string(line) + ": header field " +
                          std::to_string(i + 1) + " is not valid UTF-8 (at byte offset " +
                          std::to_string(bad) + ")");
      }
      set_header(fields);
      return;
    }
    const size_t n = table_.columns_.size();
    if (fields.size() > n || (fields.size() < n && !options_.pad_short_rows)) {
      throw UserError(table_.source_ + ": line " + std::to_string(line) + ": expected " +
                      std::to_string(n) + " tab-separated fields (as in the header), saw " +
                      std::to_string(fields.size()));
    }
    std::vector<std::optional<std::string>> row(n);
    for (size_t i = 0; i < fields.size(); ++i) {
      if (options_.na_filter && is_pandas_na(fields[i])) continue;
      row[i] = std::move(fields[i]);
    }
    if (oversized != std::string::npos) {
      row[oversized].reset();
      table_.row_errors_[table_.rows_.size()] =
          table_.source_ + ": line " + std::to_string(line) + ": field '" +
          table_.columns_[oversized] + "' is longer than the limit of " +
          std::to_string(options_.max_field_bytes) + " bytes; the row is not used";
    }
    // Text that is not UTF-8 (pandas refuses the whole file) is this row's error.
    for (size_t i = 0; i < n && !table_.row_errors_.count(table_.rows_.size()); ++i) {
      if (!row[i]) continue;
      const size_t bad = invalid_utf8_offset(*row[i]);
      if (bad == std::string::npos) continue;
      char byte[8];
      std::snprintf(byte, sizeof(byte), "0x%02X", static_cast<unsigned char>((*row[i])[bad]));
      table_.row_errors_[table_.rows_.size()] =
          table_.source_ + ": line " + std::to_string(line) + ": field '" + table_.columns_[i] +
          "' is not valid UTF-8 (byte " + byte + " at byte offset " + std::to_string(bad) +
          " of the field); the row is not used";
      row[i].reset();
    }
    table_.rows_.push_back(std::move(row));
    table_.lines_.push_back(line);
  }

  void set_header(const std::vector<std::string>& fields) {
    have_header_ = true;
    std::unordered_map<std::string, int> seen;
    for (size_t i = 0; i < fields.size(); ++i) {
      std::string name = fields[i].empty() ? "Unnamed: " + std::to_string(i) : fields[i];
      std::string unique = name;
      int& count = seen[name];
      while (table_.column_pos_.count(unique)) unique = name + "." + std::to_string(++count);
      table_.column_pos_[unique] = i;
      table_.columns_.push_back(unique);
    }
  }

  bool have_header() const { return have_header_; }

 private:
  TsvTable& table_;
  const TsvOptions& options_;
  bool have_header_ = false;
};

TsvTable TsvTable::parse(std::string_view text, const std::string& source,
                         const TsvOptions& options) {
  TsvTable table;
  table.source_ = source;
  TsvBuilder builder(table, options);
  TsvTokenizer tokenizer(
      source,
      [&](std::vector<std::string>& f, size_t line, size_t oversized) {
        builder.on_record(f, line, oversized);
        tokenizer.set_max_fields(table.columns_.size());
      },
      options.max_field_bytes);
  tokenizer.feed(text);
  tokenizer.finish();
  check_user(builder.have_header(), source + ": no header row (the file is empty)");
  table.finish();
  return table;
}

TsvTable TsvTable::read(const std::filesystem::path& path, const TsvOptions& options) {
  std::ifstream in(path, std::ios::binary);
  check_user(in.good(), "cannot open TSV file " + path.string());
  TsvTable table;
  table.source_ = path.string();
  TsvBuilder builder(table, options);
  TsvTokenizer tokenizer(
      path.string(),
      [&](std::vector<std::string>& f, size_t line, size_t oversized) {
        builder.on_record(f, line, oversized);
        tokenizer.set_max_fields(table.columns_.size());
      },
      options.max_field_bytes);
  std::unique_ptr<char[]> buf(new char[1 << 22]);
  while (in) {
    in.read(buf.get(), 1 << 22);
    const std::streamsize got = in.gcount();
    if (got > 0) tokenizer.feed(std::string_view(buf.get(), static_cast<size_t>(got)));
  }
  check_user(in.eof(), "error while reading TSV file " + path.string());
  tokenizer.finish();
  check_user(builder.have_header(), path.string() + ": no header row (the file is empty)");
  table.finish();
  return table;
}

std::vector<std::string> TsvTable::read_header(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  check_user(in.good(), "cannot open TSV file " + path.string());
  TsvTable table;
  table.source_ = path.string();
  TsvOptions options;
  TsvBuilder builder(table, options);
  struct HeaderDone {};
  TsvTokenizer tokenizer(
      path.string(),
      [&](std::vector<std::string>& f, size_t line, size_t oversized) {
        builder.on_record(f, line, oversized);
        throw HeaderDone{};
      },
      options.max_field_bytes);
  std::unique_ptr<char[]> buf(new char[1 << 16]);
  try {
    while (in) {
      in.read(buf.get(), 1 << 16);
      const std::streamsize got = in.gcount();
      if (got > 0) tokenizer.feed(std::string_view(buf.get(), static_cast<size_t>(got)));
    }
    tokenizer.finish();
  } catch (const HeaderDone&) {
  }
  check_user(builder.have_header(), path.string() + ": no header row (the file is empty)");
  return table.columns_;
}

std::optional<std::string> TsvTable::row_error(size_t row) const {
  const auto it = row_errors_.find(row);
  if (it == row_errors_.end()) return std::nullopt;
  return it->second;
}

std::optional<size_t> TsvTable::find_column(const std::string& name) const {
  const auto it = column_pos_.find(name);
  if (it == column_pos_.end()) return std::nullopt;
  return it->second;
}

size_t TsvTable::column_index(const std::string& name) const {
  if (auto pos = find_column(name)) return *pos;
  std::string have;
  for (const auto& c : columns_) have += (have.empty() ? "" : ", ") + c;
  throw UserError(source_ + ": no column '" + name + "' (columns: " + have + ")");
}

void TsvTable::finish() {
  kinds_.assign(columns_.size(), ColumnKind::kString);
  for (size_t col = 0; col < columns_.size(); ++col) {
    bool any_present = false, any_missing = false;
    bool all_int = true, all_float = true, all_bool = true;
    for (const auto& row : rows_) {
      const auto& c = row[col];
      if (!c) {
        any_missing = true;
        continue;
      }
      any_present = true;
      if (all_int && !parse_int_token(*c)) all_int = false;
      if (all_float && !all_int && !parse_float_token(*c)) all_float = false;
      if (all_bool && !parse_bool_token(*c)) all_bool = false;
      if (!all_int && !all_float && !all_bool) break;
    }
    ColumnKind kind = ColumnKind::kString;
    if (!any_present) {
      kind = ColumnKind::kEmpty;
    } else if (all_int) {
      kind = any_missing ? ColumnKind::kFloat : ColumnKind::kInt;
    } else if (all_float) {
      kind = ColumnKind::kFloat;
    } else if (all_bool) {
      kind = ColumnKind::kBool;
    }
    kinds_[col] = kind;
  }
}

std::optional<std::string> TsvTable::python_str(size_t row, size_t col) const {
  const auto& c = rows_[row][col];
  if (!c) return std::nullopt;
  switch (kinds_[col]) {
    case ColumnKind::kInt:
      return std::to_string(*parse_int_token(*c));
    case ColumnKind::kFloat: {
      if (auto i = parse_int_token(*c)) return python_float_repr(static_cast<double>(*i));
      return python_float_repr(*parse_float_token(*c));
    }
    case ColumnKind::kBool:
      return *parse_bool_token(*c) ? "True" : "False";
    case ColumnKind::kString:
    case ColumnKind::kEmpty:
      break;
  }
  return c;
}

}  // namespace vlm
