//! Spreadsheet exports. A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is
//! run as a formula by Excel, LibreOffice and Google Sheets ("CSV injection"); router comments,
//! package and customer names come from people outside the ISP. Every export writes its cells
//! through [`neutralise`] (CSV here, XLSX later), and the importers read them back through
//! [`restore`], so an export still imports as it was.

use std::borrow::Cow;

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
