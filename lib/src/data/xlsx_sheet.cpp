#include "vlm/data/xlsx_sheet.h"

#include <unzip.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <pugixml.hpp>

#include "vlm/core/error.h"

namespace vlm {
namespace {

struct ZipCloser {
  void operator()(void* z) const {
    if (z) unzClose(z);
  }
};

class Zip {
 public:
  explicit Zip(const std::filesystem::path& path) : path_(path) {
    zip_.reset(unzOpen64(path.string().c_str()));
    check_user(zip_ != nullptr, path.string() + ": not an .xlsx file (cannot open it as a zip)");
  }

  // The part's bytes, or nullopt when the archive has no such part.
  std::optional<std::string> read(const std::string& name) const {
    if (unzLocateFile(zip_.get(), name.c_str(), 1) != UNZ_OK) return std::nullopt;
    check_user(unzOpenCurrentFile(zip_.get()) == UNZ_OK,
               path_.string() + ": cannot open the zip part " + name);
    std::string out;
    char buf[1 << 16];
    int n = 0;
    while ((n = unzReadCurrentFile(zip_.get(), buf, sizeof(buf))) > 0)
      out.append(buf, static_cast<std::size_t>(n));
    const int close = unzCloseCurrentFile(zip_.get());
    check_user(n == 0 && close == UNZ_OK,
               path_.string() + ": the zip part " + name + " is corrupt (CRC or data error)");
    return out;
  }

  std::string require(const std::string& name) const {
    std::optional<std::string> part = read(name);
    check_user(part.has_value(), path_.string() + ": not an .xlsx file (no part " + name + ")");
    return *part;
  }

 private:
  std::filesystem::path path_;
  std::unique_ptr<void, ZipCloser> zip_;
};

pugi::xml_document parse_xml(const std::string& text, const std::filesystem::path& path,
                             const std::string& part) {
  pugi::xml_document doc;
  const pugi::xml_parse_result r =
      doc.load_buffer(text.data(), text.size(), pugi::parse_default | pugi::parse_ws_pcdata);
  check_user(static_cast<bool>(r), path.string() + ": malformed XML in " + part + " at byte " +
                                       std::to_string(r.offset) + ": " + r.description());
  return doc;
}

// The local name of an element (the part after any "x:" prefix).
std::string local(const pugi::xml_node& n) {
  const std::string name = n.name();
  const std::size_t colon = name.find(':');
  return colon == std::string::npos ? name : name.substr(colon + 1);
}

pugi::xml_node child(const pugi::xml_node& n, const char* name) {
  for (pugi::xml_node c : n.children())
    if (local(c) == name) return c;
  return {};
}

// The text of a string item (<si> or <is>): its <t>, or the <t> of each rich-text run <r>;
// phonetic runs (<rPh>) are not text.
std::string string_item(const pugi::xml_node& si) {
  std::string out;
  for (pugi::xml_node c : si.children()) {
    const std::string name = local(c);
    if (name == "t") {
      out += c.text().get();
    } else if (name == "r") {
      if (pugi::xml_node t = child(c, "t")) out += t.text().get();
    }
  }
  return out;
}

// "AB12" -> column 27 (0-based), row 12; false when malformed.
bool parse_ref(const std::string& ref, std::size_t& col, std::size_t& row) {
  std::size_t i = 0;
  col = 0;
  while (i < ref.size() && ref[i] >= 'A' && ref[i] <= 'Z') col = col * 26 + (ref[i++] - 'A' + 1);
  if (i == 0 || i > 3 || i == ref.size()) return false;
  row = 0;
  for (; i < ref.size(); ++i) {
    if (ref[i] < '0' || ref[i] > '9') return false;
    row = row * 10 + static_cast<std::size_t>(ref[i] - '0');
    if (row > 1048576) return false;
  }
  if (row == 0) return false;
  col -= 1;
  return true;
}

// "xl/worksheets/sheet1.xml" from a relationship target (relative to xl/ or absolute).
std::string part_path(const std::string& target) {
  if (!target.empty() && target[0] == '/') return target.substr(1);
  return "xl/" + target;
}

}  // namespace

XlsxSheet read_xlsx_first_sheet(const std::filesystem::path& path) {
  const Zip zip(path);
  const std::string where = path.string();

  // The first sheet of the workbook and the part holding it.
  const pugi::xml_document wb = parse_xml(zip.require("xl/workbook.xml"), path, "xl/workbook.xml");
  pugi::xml_node sheet;
  if (pugi::xml_node sheets = child(child(wb, "workbook"), "sheets"))
    sheet = child(sheets, "sheet");
  check_user(static_cast<bool>(sheet), where + ": the workbook has no sheet");
  XlsxSheet out;
  out.name = sheet.attribute("name").value();
  std::string rid;
  for (pugi::xml_attribute a : sheet.attributes()) {
    const std::string n = a.name();
    if (n.size() >= 3 && n.compare(n.size() - 3, 3, ":id") == 0) rid = a.value();
  }
  std::string sheet_part = "xl/worksheets/sheet1.xml";
  if (const auto rels_text = zip.read("xl/_rels/workbook.xml.rels")) {
    const pugi::xml_document rels = parse_xml(*rels_text, path, "xl/_rels/workbook.xml.rels");
    for (pugi::xml_node r : child(rels, "Relationships").children())
      if (local(r) == "Relationship" && rid == r.attribute("Id").value())
        sheet_part = part_path(r.attribute("Target").value());
  }

  std::vector<std::string> shared;
  if (const auto sst_text = zip.read("xl/sharedStrings.xml")) {
    const pugi::xml_document sst = parse_xml(*sst_text, path, "xl/sharedStrings.xml");
    for (pugi::xml_node si : child(sst, "sst").children())
      if (local(si) == "si") shared.push_back(string_item(si));
  }

  const std::string sheet_where = where + " sheet '" + out.name + "'";
  const pugi::xml_document ws = parse_xml(zip.require(sheet_part), path, sheet_part);
  const pugi::xml_node data = child(child(ws, "worksheet"), "sheetData");
  std::size_t width = 0;
  std::size_t next_row = 1;
  for (pugi::xml_node row : data.children()) {
    if (local(row) != "row") continue;
    std::size_t r = next_row;
    if (pugi::xml_attribute ra = row.attribute("r")) {
      const std::string text = ra.value();
      check_user(!text.empty() && text.find_first_not_of("0123456789") == std::string::npos &&
                     std::stoull(text) >= next_row,
                 sheet_where + ": bad row number '" + text + "'");
      r = std::stoull(text);
    }
    while (next_row < r) {  // rows the file leaves out are empty rows
      out.rows.emplace_back();
      out.row_numbers.push_back(next_row++);
    }
    std::vector<XlsxCell> cells;
    std::size_t next_col = 0;
    for (pugi::xml_node c : row.children()) {
      if (local(c) != "c") continue;
      std::size_t col = next_col, cell_row = r;
      const std::string ref = c.attribute("r").value();
      if (!ref.empty()) {
        check_user(
            parse_ref(ref, col, cell_row) && cell_row == r,
            sheet_where + " row " + std::to_string(r) + ": bad cell reference '" + ref + "'");
      }
      next_col = col + 1;
      XlsxCell cell;
      const std::string t = c.attribute("t").value();
      const pugi::xml_node v = child(c, "v");
      const std::string label = sheet_where + " cell " + (ref.empty() ? "?" : ref);
      if (t == "s") {
        check_user(static_cast<bool>(v), label + ": shared string cell without a value");
        const std::string idx = v.text().get();
        check_user(!idx.empty() && idx.find_first_not_of("0123456789") == std::string::npos &&
                       std::stoull(idx) < shared.size(),
                   label + ": shared string index '" + idx + "' out of range (" +
                       std::to_string(shared.size()) + " strings)");
        cell.type = XlsxCell::Type::kString;
        cell.text = shared[std::stoull(idx)];
      } else if (t == "inlineStr") {
        cell.type = XlsxCell::Type::kString;
        cell.text = string_item(child(c, "is"));
      } else if (t == "str") {
        if (v) {
          cell.type = XlsxCell::Type::kString;
          cell.text = v.text().get();
        }
      } else if (t == "b") {
        if (v) {
          cell.type = XlsxCell::Type::kBool;
          cell.text = std::string(v.text().get()) == "0" ? "False" : "True";
        }
      } else if (t == "e") {
        cell.type = XlsxCell::Type::kError;
        cell.text = v ? v.text().get() : "";
      } else if (v) {  // "n", "d" or no type
        cell.type = XlsxCell::Type::kNumber;
        cell.text = v.text().get();
        check_user(t == "d" || !cell.text.empty(), label + ": number cell without a value");
        if (t == "d") cell.type = XlsxCell::Type::kString;
      }
      if (cells.size() <= col) cells.resize(col + 1);
      cells[col] = std::move(cell);
    }
    // Trailing empty cells do not widen the sheet.
    while (!cells.empty() && cells.back().type == XlsxCell::Type::kEmpty) cells.pop_back();
    width = std::max(width, cells.size());
    out.rows.push_back(std::move(cells));
    out.row_numbers.push_back(next_row++);
  }
  while (!out.rows.empty() && out.rows.back().empty()) {
    out.rows.pop_back();
    out.row_numbers.pop_back();
  }
  for (auto& row : out.rows) row.resize(width);
  return out;
}

}  // namespace vlm
