//! Spreadsheet exports. A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is
//! run as a formula by Excel, LibreOffice and Google Sheets ("CSV injection"); router comments,
//! package and customer names come from people outside the ISP. Every export writes its cells
//! through [`neutralise`] (CSV here, XLSX later), and the importers read them back through
//! [`restore`], so an export still imports as it was.

use std::borrow::Cow;

/// A name (a router's, an ISP's) as part of a download's file name: letters, digits and `-` only,
/// so no header or path can be made of it.
pub fn file_stem(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect()
}

const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A plain number (`-500`, `+8801711000111`, `12.5`) is data, not a formula, and stays as it is;
/// any other cell that a spreadsheet would run gets a leading `'`, which shows it as text. A cell
/// that already begins with `'` before such a cell gets one more, so [`restore`] is exact.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if needs_escape(cell) { Cow::Owned(format!("'{cell}")) } else { Cow::Borrowed(cell) }
}

/// The cell as it was before [`neutralise`].
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_escape(rest) => rest,
        _ => cell,
    }
}

fn needs_escape(cell: &str) -> bool {
    match cell.strip_prefix('\'') {
        Some(rest) => needs_escape(rest),
        None => cell.starts_with(FORMULA_STARTS) && !is_plain_number(cell),
    }
}

fn is_plain_number(cell: &str) -> bool {
    let digits = cell.strip_prefix(['-', '+']).unwrap_or(cell);
    let mut parts = digits.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let frac = parts.next();
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// What a list or report is exported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    /// `csv` or `xlsx` (a request's `format`).
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// A one-sheet spreadsheet being written, CSV or XLSX alike: a header row, then rows. CSV cells go
/// through [`neutralise`]; XLSX cells are typed (a cell written as text is never run as a
/// formula), plain numbers as numbers so they add up, anything else as text.
#[cfg(feature = "csv")]
pub struct Sheet {
    inner: SheetInner,
}

#[cfg(feature = "csv")]
enum SheetInner {
    Csv(Box<CsvExport>),
    Xlsx { book: Box<rust_xlsxwriter::Workbook>, next_row: u32 },
}

#[cfg(feature = "csv")]
impl Sheet {
    pub fn new<S: AsRef<str>>(format: Format, header: &[S]) -> crate::Result<Self> {
        let inner = match format {
            Format::Csv => SheetInner::Csv(Box::new(CsvExport::new(header)?)),
            Format::Xlsx => {
                let mut book = rust_xlsxwriter::Workbook::new();
                book.add_worksheet();
                SheetInner::Xlsx { book: Box::new(book), next_row: 0 }
            }
        };
        let mut sheet = Sheet { inner };
        if format == Format::Xlsx {
            sheet.row(header)?;
        }
        Ok(sheet)
    }

    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) -> crate::Result<()> {
        match &mut self.inner {
            SheetInner::Csv(c) => c.row(cells),
            SheetInner::Xlsx { book, next_row } => {
                let sheet = book.worksheet_from_index(0).map_err(internal)?;
                for (col, cell) in cells.iter().enumerate() {
                    let (row, col, cell) = (*next_row, col as u16, cell.as_ref());
                    match spreadsheet_number(cell) {
                        Some(n) => sheet.write_number(row, col, n).map(|_| ()),
                        None if cell.is_empty() => Ok(()),
                        None => sheet.write_string(row, col, cell).map(|_| ()),
                    }
                    .map_err(internal)?;
                }
                *next_row += 1;
                Ok(())
            }
        }
    }

    pub fn finish(self) -> crate::Result<Vec<u8>> {
        match self.inner {
            SheetInner::Csv(c) => c.finish().map(String::into_bytes),
            SheetInner::Xlsx { mut book, .. } => book.save_to_buffer().map_err(internal),
        }
    }
}

/// A cell a spreadsheet should add up: a plain number that reads back the same (no leading `+`
/// or zero, as phone numbers and codes have; at most 15 digits, what a spreadsheet keeps exact).
#[cfg(feature = "csv")]
fn spreadsheet_number(cell: &str) -> Option<f64> {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    let whole = digits.split('.').next().unwrap_or("");
    let plain = is_plain_number(cell)
        && !cell.starts_with('+')
        && !(whole.len() > 1 && whole.starts_with('0'))
        && digits.chars().filter(|c| c.is_ascii_digit()).count() <= 15;
    if !plain {
        return None;
    }
    cell.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A CSV file whose every cell goes through [`neutralise`].
#[cfg(feature = "csv")]
pub struct CsvExport {
    writer: csv::Writer<Vec<u8>>,
}

#[cfg(feature = "csv")]
impl CsvExport {
    pub fn new<S: AsRef<str>>(header: &[S]) -> crate::Result<Self> {
        let mut export = CsvExport { writer: csv::Writer::from_writer(Vec::new()) };
        export.row(header)?;
        Ok(export)
    }

    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) -> crate::Result<()> {
        self.writer.write_record(cells.iter().map(|c| neutralise(c.as_ref()).into_owned())).map_err(internal)
    }

    pub fn finish(self) -> crate::Result<String> {
        let bytes = self.writer.into_inner().map_err(|e| crate::Error::Internal(e.to_string()))?;
        String::from_utf8(bytes).map_err(internal)
    }
}

#[cfg(feature = "csv")]
fn internal(e: impl std::fmt::Display) -> crate::Error {
    crate::Error::Internal(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "csv")]
    #[test]
    fn a_sheet_is_csv_or_xlsx_and_numbers_stay_exact() {
        let mut csv = Sheet::new(Format::Csv, &["a", "b"]).unwrap();
        csv.row(&["=1+1", "500"]).unwrap();
        assert_eq!(String::from_utf8(csv.finish().unwrap()).unwrap(), "a,b\n'=1+1,500\n");
        let mut xlsx = Sheet::new(Format::Xlsx, &["a", "b"]).unwrap();
        xlsx.row(&["=1+1", "500"]).unwrap();
        let bytes = xlsx.finish().unwrap();
        assert_eq!(&bytes[..2], b"PK", "an XLSX is a zip");
        for (cell, n) in [("500", Some(500.0)), ("-12.5", Some(-12.5)), ("0", Some(0.0))] {
            assert_eq!(spreadsheet_number(cell), n, "{cell}");
        }
        for cell in ["+8801711000111", "01711000111", "1234567890123456", "12a", "", "=1"] {
            assert_eq!(spreadsheet_number(cell), None, "{cell} stays text");
        }
    }

    #[test]
    fn formulas_are_shown_as_text_and_read_back_as_they_were() {
        for cell in
            ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=", "'=1"]
        {
            let out = neutralise(cell);
            assert!(out.starts_with('\''), "{cell:?} -> {out:?}");
            assert_eq!(restore(&out), cell, "{cell:?}");
        }
        for cell in ["", "Mirpur 10", "-500", "+8801711000111", "12.50", "'quoted", "a=b"] {
            assert_eq!(neutralise(cell), cell, "{cell:?} is data");
            assert_eq!(restore(cell), cell);
        }
        assert_eq!(neutralise("-1e5"), "'-1e5", "only plain numbers pass");
        assert_eq!(neutralise("-.5"), "'-.5");
    }

    #[cfg(feature = "csv")]
    #[test]
    fn a_csv_export_neutralises_every_cell() {
        let mut e = CsvExport::new(&["name", "comment"]).unwrap();
        e.row(&["=1+1", "-500"]).unwrap();
        e.row(&["@evil", "plain"]).unwrap();
        assert_eq!(e.finish().unwrap(), "name,comment\n'=1+1,-500\n'@evil,plain\n");
    }
}
