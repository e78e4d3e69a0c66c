//! The numbers behind the monitor's pages, API and reports: for a node, each
//! indicator's value against its effective target; for its children, the same for
//! one indicator. Reads stored values only: O(nodes shown).

use crate::charts::Standing;
use crate::{AppError, AppState};
use serde::Serialize;
use shequ_core::indicators::{Catalogue, Indicator};
use shequ_core::{DivisionCode, Level};
use shequ_db::indicators::{effective_targets, values_for};
use utoipa::ToSchema;

/// One indicator at one node.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndicatorValue {
    pub id: String,
    pub name: String,
    pub unit: String,
    /// `None` when there is nothing to measure here (e.g. no urban communities).
    pub value: Option<f64>,
    /// `None` where the target does not speak of this level (city-wide counts).
    pub target: Option<f64>,
    /// `>=`, `<=` or `=`.
    pub comparison: String,
    pub met: Option<bool>,
    pub numerator: i64,
    pub denominator: i64,
    #[serde(skip)]
    pub clause: String,
    #[serde(skip)]
    pub shortfall: String,
    #[serde(skip)]
    pub numerator_label: String,
    #[serde(skip)]
    pub denominator_label: String,
}

impl IndicatorValue {
    pub fn standing(&self) -> Standing {
        match self.met {
            Some(true) => Standing::Met,
            Some(false) => Standing::Unmet,
            None => Standing::NoData,
        }
    }

    /// "86.2%", "45.3 m²/百户", "140 个".
    pub fn value_text(&self) -> String {
        self.value
            .map_or_else(|| "—".to_owned(), |v| format_value(v, &self.unit))
    }

    pub fn target_text(&self) -> String {
        let sym = match self.comparison.as_str() {
            ">=" => "≥",
            "<=" => "≤",
            _ => "=",
        };
        self.target.map_or_else(
            || "—".to_owned(),
            |t| format!("{sym} {}", format_value(t, &self.unit)),
        )
    }

    /// Progress toward the target, 0–1, for ≥ targets.
    pub fn progress(&self) -> f64 {
        match (self.value, self.target) {
            (Some(v), Some(t)) if t > 0.0 && self.comparison == ">=" => (v / t).clamp(0.0, 1.0),
            (Some(_), Some(_)) => {
                if self.met == Some(true) {
                    1.0
                } else {
                    0.5
                }
            }
            _ => 0.0,
        }
    }

    /// Numerator and denominator as the report shows them.
    pub fn fraction_text(&self) -> String {
        if self.denominator_label.is_empty() {
            return format!("{}：{}", self.numerator_label, self.numerator);
        }
        format!(
            "{} {} ／ {} {}",
            self.numerator_label, self.numerator, self.denominator_label, self.denominator
        )
    }
}

pub fn format_value(v: f64, unit: &str) -> String {
    let digits = if v.abs() >= 100.0 || v.fract() == 0.0 {
        0
    } else if v.abs() >= 1.0 {
        1
    } else {
        2
    };
    match unit {
        "%" => format!("{v:.digits$}%"),
        _ => format!("{v:.digits$} {unit}"),
    }
}

fn one(ind: &Indicator, level: Level, n: i64, d: i64, target: f64) -> IndicatorValue {
    let value = ind.value(n, d);
    let speaks = ind.targets_level(level);
    let target = speaks.then_some(target);
    let met = match (value, target) {
        (Some(v), Some(t)) => Some(ind.comparison.met(v, t)),
        _ => None,
    };
    IndicatorValue {
        id: ind.id.clone(),
        name: ind.name.clone(),
        unit: ind.unit.clone(),
        value,
        target,
        comparison: ind.comparison.symbol().to_owned(),
        met,
        numerator: n,
        denominator: d,
        clause: ind.clause.clone(),
        shortfall: if met == Some(false) {
            target
                .map(|t| ind.shortfall_text(n, d, t))
                .unwrap_or_default()
        } else {
            String::new()
        },
        numerator_label: ind.numerator_label.clone(),
        denominator_label: ind.denominator_label.clone(),
    }
}

/// Every indicator at `code` (the indicators counted at levels below it or at it),
/// from the cache while nothing has changed.
pub async fn node(
    st: &AppState,
    code: &DivisionCode,
) -> Result<std::sync::Arc<Vec<IndicatorValue>>, AppError> {
    if let Some(b) = st.caches.board(code.as_str()) {
        return Ok(b);
    }
    let (epoch, version) = (st.caches.epoch(), st.caches.indicator_version());
    let board = std::sync::Arc::new(read_node(st, code).await?);
    st.caches.put_board(
        code.to_string(),
        epoch,
        version,
        std::sync::Arc::clone(&board),
    );
    Ok(board)
}

async fn read_node(st: &AppState, code: &DivisionCode) -> Result<Vec<IndicatorValue>, AppError> {
    let cat = Catalogue::builtin();
    let mut c = st.db.conn();
    let values = values_for(&mut c, &[code.to_string()]).await?;
    let targets = effective_targets(&mut c, code).await?;
    let level = code.level();
    Ok(cat
        .indicators
        .iter()
        .filter(|i| level <= i.level)
        .map(|i| {
            let (n, d) = values
                .get(&(i.id.clone(), code.to_string()))
                .copied()
                .unwrap_or((0, 0));
            let t = targets.get(&i.id).map_or(i.target, |(t, _)| *t);
            one(i, level, n, d, t)
        })
        .collect())
}

/// One indicator at each child of `code` that it is counted at.
pub async fn children(
    st: &AppState,
    code: &DivisionCode,
    indicator: &Indicator,
) -> Result<Vec<(shequ_db::divisions::Division, IndicatorValue)>, AppError> {
    let tree = st.tree.get();
    let kids: Vec<_> = tree
        .children(Some(code.as_str()))
        .unwrap_or_default()
        .into_iter()
        .filter(|k| k.level() <= indicator.level)
        .cloned()
        .collect();
    let mut c = st.db.conn();
    let values = values_for(
        &mut c,
        &kids.iter().map(|k| k.code.clone()).collect::<Vec<_>>(),
    )
    .await?;
    let mut out = Vec::new();
    for k in kids {
        let Ok(kc) = DivisionCode::parse(&k.code) else {
            continue;
        };
        let targets = effective_targets(&mut c, &kc).await?;
        let t = targets
            .get(&indicator.id)
            .map_or(indicator.target, |(t, _)| *t);
        let (n, d) = values
            .get(&(indicator.id.clone(), k.code.clone()))
            .copied()
            .unwrap_or((0, 0));
        let v = one(indicator, kc.level(), n, d, t);
        out.push((k, v));
    }
    Ok(out)
}
