//! The 目标考核 workbook: every indicator for a division and its children, with
//! numerators, denominators and targets, met and unmet cells highlighted.

use rust_xlsxwriter::{Color, Format, Workbook, XlsxError};

/// One line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub indicator: String,
    pub clause: String,
    pub division: String,
    pub division_code: String,
    pub numerator_label: String,
    pub numerator: i64,
    pub denominator_label: String,
    pub denominator: i64,
    pub value: String,
    pub target: String,
    /// `Some(true)` met, `Some(false)` unmet, `None` no target here.
    pub met: Option<bool>,
    pub shortfall: String,
}

pub const HEADERS: [&str; 12] = [
    "指标",
    "规划条款",
    "区划",
    "区划代码",
    "分子",
    "分子数值",
    "分母",
    "分母数值",
    "指标值",
    "目标",
    "是否达标",
    "差距",
];

/// The workbook as bytes.
pub fn workbook(title: &str, rows: &[ReportRow]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("目标考核")?;
    let bold = Format::new().set_bold();
    let met = Format::new()
        .set_background_color(Color::RGB(0xC6EFCE))
        .set_font_color(Color::RGB(0x006100));
    let unmet = Format::new()
        .set_background_color(Color::RGB(0xFFC7CE))
        .set_font_color(Color::RGB(0x9C0006));
    ws.write_string_with_format(0, 0, title, &bold)?;
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_string_with_format(2, c as u16, *h, &bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let y = i as u32 + 3;
        let texts = [
            &r.indicator,
            &r.clause,
            &r.division,
            &r.division_code,
            &r.numerator_label,
        ];
        for (c, t) in texts.iter().enumerate() {
            ws.write_string(y, c as u16, t.as_str())?;
        }
        ws.write_number(y, 5, r.numerator as f64)?;
        ws.write_string(y, 6, &r.denominator_label)?;
        ws.write_number(y, 7, r.denominator as f64)?;
        ws.write_string(y, 8, &r.value)?;
        ws.write_string(y, 9, &r.target)?;
        match r.met {
            Some(true) => ws.write_string_with_format(y, 10, "达标", &met)?,
            Some(false) => ws.write_string_with_format(y, 10, "未达标", &unmet)?,
            None => ws.write_string(y, 10, "—")?,
        };
        ws.write_string(y, 11, &r.shortfall)?;
    }
    for (c, w) in [
        28.0, 14.0, 16.0, 16.0, 24.0, 10.0, 20.0, 10.0, 12.0, 12.0, 10.0, 16.0,
    ]
    .iter()
    .enumerate()
    {
        ws.set_column_width(c as u16, *w)?;
    }
    ws.set_freeze_panes(3, 1)?;
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Format as In, Table};

    #[test]
    fn report_reads_back() {
        let row = ReportRow {
            indicator: "每百户居民拥有社区综合服务设施面积".into(),
            clause: "三、发展目标".into(),
            division: "双清区".into(),
            division_code: "430502".into(),
            numerator_label: "面积".into(),
            numerator: 380,
            denominator_label: "户数".into(),
            denominator: 1000,
            value: "38 m²/百户".into(),
            target: "≥ 43 m²/百户".into(),
            met: Some(false),
            shortfall: "差 50 m²".into(),
        };
        let bytes = workbook("双清区规划指标考核表", &[row]).unwrap();
        let t = Table::read(&bytes, In::Xlsx).unwrap();
        let last = t.rows.last().unwrap();
        assert_eq!(last.cells[10], "未达标");
        assert_eq!(last.cells[11], "差 50 m²");
    }
}
