//! Writing simple workbooks: Chinese headers in the first row (so an exported sheet
//! can be edited and imported again), typed cells below.

use rust_xlsxwriter::{Format as CellFormat, Workbook, XlsxError};

/// A cell value for [`sheet`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Float(f64),
}

/// One worksheet named `title`, with headers and rows, returned as xlsx bytes.
pub fn sheet(title: &str, headers: &[&str], rows: &[Vec<Cell>]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name(title))?;
    let bold = CellFormat::new().set_bold();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
        ws.set_column_width(c as u16, (h.chars().count() as f64 * 2.2).max(12.0))?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) => ws.write_string(r, c, s)?,
                Cell::Int(i) => ws.write_number(r, c, *i as f64)?,
                Cell::Float(f) => ws.write_number(r, c, *f)?,
            };
        }
    }
    ws.set_freeze_panes(1, 0)?;
    wb.save_to_buffer()
}

/// Excel sheet names: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(title: &str) -> String {
    let s: String = title
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect();
    if s.is_empty() { "Sheet1".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Format, Table};

    #[test]
    fn round_trip_through_the_reader() {
        let bytes = sheet(
            "双清区下级区划",
            &["区划代码", "名称", "常住人口"],
            &[vec![
                Cell::Text("430502001".into()),
                Cell::Text("兴隆街道".into()),
                Cell::Int(31234),
            ]],
        )
        .unwrap();
        let t = Table::read(&bytes, Format::Xlsx).unwrap();
        assert_eq!(t.headers, vec!["区划代码", "名称", "常住人口"]);
        assert_eq!(t.rows[0].cells, vec!["430502001", "兴隆街道", "31234"]);
        assert_eq!(t.rows[0].line, 2);
    }
}
