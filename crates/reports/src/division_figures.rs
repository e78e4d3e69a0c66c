//! Parsing an upload of division figures (区划代码, 常住人口, 城镇人口, 户数).

use crate::table::{RowError, Table, TableError};
use shequ_core::DivisionCode;
use shequ_core::figures::Figures;

/// One parsed row, ready to be checked against the store.
#[derive(Debug, Clone, PartialEq)]
pub struct FiguresRow {
    pub line: usize,
    pub code: DivisionCode,
    /// The name in the file, when given; the store checks it matches the code.
    pub name: Option<String>,
    pub figures: Figures,
}

pub const CODE_COLUMN: [&str; 4] = ["区划代码", "统计用区划代码", "code", "代码"];
pub const NAME_COLUMN: [&str; 3] = ["名称", "name", "区划名称"];
pub const POPULATION_COLUMN: [&str; 3] = ["常住人口", "population", "人口"];
pub const URBAN_COLUMN: [&str; 2] = ["城镇人口", "urban_population"];
pub const HOUSEHOLDS_COLUMN: [&str; 4] = ["户数", "households", "家庭户", "家庭户数"];

/// Split a table into good rows and row errors; a missing column fails the file.
pub fn parse(table: &Table) -> Result<(Vec<FiguresRow>, Vec<RowError>), TableError> {
    let c_code = table.require(&CODE_COLUMN)?;
    let c_pop = table.require(&POPULATION_COLUMN)?;
    let c_hh = table.require(&HOUSEHOLDS_COLUMN)?;
    let c_urban = table.column(&URBAN_COLUMN);
    let c_name = table.column(&NAME_COLUMN);
    let mut good = Vec::new();
    let mut bad = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for row in &table.rows {
        let err = |code, reason: String| RowError {
            line: row.line,
            code,
            reason,
        };
        let code = match DivisionCode::parse(row.cell(c_code)) {
            Ok(c) => c,
            Err(e) => {
                bad.push(err(
                    e.code(),
                    format!("区划代码“{}”有误：{e}", row.cell(c_code)),
                ));
                continue;
            }
        };
        if !seen.insert(code.clone()) {
            bad.push(err(
                "duplicate_row",
                format!("区划代码 {code} 在文件中重复出现"),
            ));
            continue;
        }
        let num = |i: Option<usize>, label: &str| -> Result<i64, RowError> {
            let Some(i) = i else { return Ok(0) };
            let s = row.cell(i).replace(',', "");
            s.parse::<i64>()
                .map_err(|_| err("not_a_number", format!("{label}“{}”不是整数", row.cell(i))))
        };
        let figures = match (
            num(Some(c_pop), "常住人口"),
            num(c_urban, "城镇人口"),
            num(Some(c_hh), "户数"),
        ) {
            (Ok(p), Ok(u), Ok(h)) => Figures {
                population: p,
                urban_population: u,
                households: h,
            },
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                bad.push(e);
                continue;
            }
        };
        if let Err(fe) = figures.validate(code.level()) {
            bad.push(err("invalid_figures", fe.summary()));
            continue;
        }
        let name = c_name
            .map(|i| row.cell(i).to_owned())
            .filter(|n| !n.is_empty());
        good.push(FiguresRow {
            line: row.line,
            code,
            name,
            figures,
        });
    }
    Ok((good, bad))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Format;

    #[test]
    fn good_and_bad_rows() {
        let csv = "区划代码,名称,常住人口,城镇人口,户数\n\
                   430502001001,和平社区,3000,2900,1100\n\
                   43050200100X,坏代码,1,1,1\n\
                   430502001002,,abc,0,1\n\
                   430502001003,,100,200,30\n\
                   430502001001,重复,1,1,1\n";
        let t = Table::read(csv.as_bytes(), Format::Csv).unwrap();
        let (good, bad) = parse(&t).unwrap();
        assert_eq!(good.len(), 1);
        assert_eq!(good[0].name.as_deref(), Some("和平社区"));
        let codes: Vec<_> = bad.iter().map(|e| (e.line, e.code)).collect();
        assert_eq!(
            codes,
            vec![
                (3, "code_not_digits"),
                (4, "not_a_number"),
                (5, "invalid_figures"),
                (6, "duplicate_row")
            ]
        );
    }

    #[test]
    fn missing_column_fails_the_file() {
        let t = Table::read("区划代码,常住人口\n430502001,1\n".as_bytes(), Format::Csv).unwrap();
        assert_eq!(parse(&t), Err(TableError::MissingColumn("户数".into())));
    }
}
