//! Reading a csv or xlsx file into a header row and data rows of text cells.

use calamine::{Data, Reader, Xlsx};
use serde::Serialize;
use std::io::Cursor;

/// Most data rows one upload may hold.
pub const MAX_ROWS: usize = 200_000;

/// File formats we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    /// From a file name's extension or a content type.
    pub fn detect(name_or_type: &str) -> Option<Format> {
        let s = name_or_type.to_ascii_lowercase();
        if s.ends_with(".csv") || s.starts_with("text/csv") || s.starts_with("text/plain") {
            Some(Format::Csv)
        } else if s.ends_with(".xlsx")
            || s.starts_with("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        {
            Some(Format::Xlsx)
        } else {
            None
        }
    }
}

/// Why a whole file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("文件为空或没有表头")]
    Empty,
    #[error("CSV 文件应为 UTF-8 编码（可在 Excel 中另存为“CSV UTF-8”）")]
    NotUtf8,
    #[error("CSV 文件格式有误：{0}")]
    BadCsv(String),
    #[error("无法读取 xlsx 文件：{0}")]
    BadXlsx(String),
    #[error("文件行数超过上限 {MAX_ROWS} 行，请分批导入")]
    TooManyRows,
    #[error("缺少必填列：{0}")]
    MissingColumn(String),
}

impl TableError {
    pub fn code(&self) -> &'static str {
        match self {
            TableError::Empty => "import_empty",
            TableError::NotUtf8 => "import_not_utf8",
            TableError::BadCsv(_) => "import_bad_csv",
            TableError::BadXlsx(_) => "import_bad_xlsx",
            TableError::TooManyRows => "import_too_many_rows",
            TableError::MissingColumn(_) => "import_missing_column",
        }
    }
}

/// One data row: its row number as the user sees it in the file (header = 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub cells: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
}

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: usize,
    pub code: &'static str,
    pub reason: String,
}

impl Table {
    pub fn read(bytes: &[u8], format: Format) -> Result<Table, TableError> {
        let mut rows = match format {
            Format::Csv => read_csv(bytes)?,
            Format::Xlsx => read_xlsx(bytes)?,
        };
        if rows.is_empty() {
            return Err(TableError::Empty);
        }
        let headers = rows
            .remove(0)
            .cells
            .iter()
            .map(|h| h.trim().to_owned())
            .collect::<Vec<_>>();
        if headers.iter().all(String::is_empty) {
            return Err(TableError::Empty);
        }
        rows.retain(|r| r.cells.iter().any(|c| !c.trim().is_empty()));
        Ok(Table { headers, rows })
    }

    /// Index of the first header matching any of `names` (case-insensitive).
    pub fn column(&self, names: &[&str]) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    }

    /// Like [`Table::column`], but an error naming the column when it is absent.
    pub fn require(&self, names: &[&str]) -> Result<usize, TableError> {
        self.column(names).ok_or_else(|| {
            TableError::MissingColumn(names.first().copied().unwrap_or("").to_owned())
        })
    }
}

impl Row {
    pub fn cell(&self, i: usize) -> &str {
        self.cells.get(i).map_or("", |c| c.trim())
    }
}

fn read_csv(bytes: &[u8]) -> Result<Vec<Row>, TableError> {
    let text = std::str::from_utf8(bytes).map_err(|_| TableError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| TableError::BadCsv(e.to_string()))?;
        if out.len() > MAX_ROWS {
            return Err(TableError::TooManyRows);
        }
        out.push(Row {
            line: i + 1,
            cells: rec.iter().map(str::to_owned).collect(),
        });
    }
    Ok(out)
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<Row>, TableError> {
    let mut wb: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| TableError::BadXlsx(e.to_string()))?;
    let Some(range) = wb.worksheet_range_at(0) else {
        return Err(TableError::Empty);
    };
    let range = range.map_err(|e| TableError::BadXlsx(e.to_string()))?;
    if range.height() > MAX_ROWS + 1 {
        return Err(TableError::TooManyRows);
    }
    let first = range.start().map_or(0, |(r, _)| r as usize);
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, r)| Row {
            line: first + i + 1,
            cells: r.iter().map(cell_text).collect(),
        })
        .collect())
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_bom_and_blank_rows() {
        let t = Table::read(
            "\u{feff}代码,人口\n430502001,100\n,\n430502002,200\n".as_bytes(),
            Format::Csv,
        )
        .unwrap();
        assert_eq!(t.headers, vec!["代码", "人口"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1].line, 4);
        assert_eq!(t.column(&["人口"]), Some(1));
    }

    #[test]
    fn rejects_non_utf8_and_empty() {
        assert_eq!(
            Table::read(&[0xff, 0xfe, 0x00], Format::Csv),
            Err(TableError::NotUtf8)
        );
        assert_eq!(Table::read(b"", Format::Csv), Err(TableError::Empty));
        assert!(matches!(
            Table::read(b"not a zip", Format::Xlsx),
            Err(TableError::BadXlsx(_))
        ));
    }

    #[test]
    fn detects_format() {
        assert_eq!(Format::detect("a.XLSX"), Some(Format::Xlsx));
        assert_eq!(Format::detect("text/csv; charset=utf-8"), Some(Format::Csv));
        assert_eq!(Format::detect("image/png"), None);
    }
}
