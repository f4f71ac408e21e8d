// The first worksheet of an .xlsx file as openpyxl reads its cells (what pandas.read_excel sees):
// shared strings, inline strings, formula string results, numbers, booleans, errors, blanks.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace vlm {

struct XlsxCell {
  enum class Type {
    kEmpty,   // no cell, or a cell without a value
    kString,  // shared string, inline string or a formula's cached string ("str")
    kNumber,  // a number cell: `text` is its stored value ("3", "0.5", "1E-3")
    kBool,    // "1" / "0" stored; `text` is "True" / "False"
    kError,   // "#N/A", "#DIV/0!", ...: pandas reads NaN
  };
  Type type = Type::kEmpty;
  std::string text;  // the string (as stored: xlsxwriter's _xHHHH_ escapes are kept, as openpyxl
                     // 3.0 keeps them), the number's text, or the error code
};

struct XlsxSheet {
  std::string name;                         // the sheet's name in the workbook
  std::vector<std::vector<XlsxCell>> rows;  // from sheet row 1, each as wide as the widest row
  std::vector<std::size_t> row_numbers;     // the 1-based sheet row of each entry of `rows`
};

// Reads the workbook's first sheet. Rows missing from the file between present ones are kept as
// empty rows (openpyxl does); trailing empty cells and rows are not. UserError naming the file
// (and the part or sheet and cell) for a file that is not a zip, lacks a workbook part, or holds
// malformed XML or a bad cell reference / shared string index.
XlsxSheet read_xlsx_first_sheet(const std::filesystem::path& path);

}  // namespace vlm
