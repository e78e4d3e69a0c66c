//! The plan's targets as data: a versioned catalogue (`catalogue.toml`), the
//! arithmetic of values, targets, met/unmet and shortfalls.

pub mod measure;

pub use measure::{AttributeFacts, FacilityFacts, LeafFacts, Measure, WorkerFacts};

use crate::division::{Kind, Level};
use serde::Deserialize;

/// The catalogue shipped with this version of Shequ.
pub const CATALOGUE: &str = include_str!("catalogue.toml");

/// ≥, ≤ or =.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    AtLeast,
    AtMost,
    Equal,
}

impl Comparison {
    pub fn parse(s: &str) -> Option<Comparison> {
        match s {
            ">=" | "≥" => Some(Comparison::AtLeast),
            "<=" | "≤" => Some(Comparison::AtMost),
            "=" | "==" => Some(Comparison::Equal),
            _ => None,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::AtLeast => ">=",
            Comparison::AtMost => "<=",
            Comparison::Equal => "=",
        }
    }

    /// Whether `value` meets `target`.
    pub fn met(self, value: f64, target: f64) -> bool {
        let eps = 1e-9 * target.abs().max(1.0);
        match self {
            Comparison::AtLeast => value + eps >= target,
            Comparison::AtMost => value <= target + eps,
            Comparison::Equal => (value - target).abs() <= eps,
        }
    }

    /// Whether `candidate` is at least as demanding as `base`.
    pub fn at_least_as_strict(self, candidate: f64, base: f64) -> bool {
        match self {
            Comparison::AtLeast => candidate >= base,
            Comparison::AtMost => candidate <= base,
            Comparison::Equal => (candidate - base).abs() < 1e-12,
        }
    }
}

/// Which leaves an indicator counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    Both,
    Urban,
    Rural,
    /// Streets (街道) only.
    Street,
    /// Administrative villages (村委会) only.
    AdminVillage,
}

/// One indicator of the catalogue.
#[derive(Debug, Clone)]
pub struct Indicator {
    pub id: String,
    pub name: String,
    pub clause: String,
    pub unit: String,
    pub numerator: Measure,
    pub numerator_label: String,
    pub numerator_divisor: f64,
    pub denominator: Measure,
    pub denominator_label: String,
    pub denominator_divisor: f64,
    pub shortfall_unit: String,
    pub applies: Applies,
    /// The leaf level its measures are counted at: `Village` or `Township`.
    pub level: Level,
    /// For counts, the only level the target speaks of (the city).
    pub target_level: Option<Level>,
    pub scale: f64,
    pub comparison: Comparison,
    pub target: f64,
}

#[derive(Debug, Deserialize)]
struct RawCatalogue {
    version: u32,
    indicator: Vec<RawIndicator>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndicator {
    id: String,
    name: String,
    clause: String,
    unit: String,
    numerator: String,
    #[serde(default)]
    numerator_label: String,
    numerator_divisor: Option<f64>,
    denominator: String,
    #[serde(default)]
    denominator_label: String,
    denominator_divisor: Option<f64>,
    shortfall_unit: String,
    applies: String,
    level: String,
    target_level: Option<String>,
    scale: Option<f64>,
    comparison: String,
    target: f64,
}

/// The parsed catalogue.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub version: u32,
    pub indicators: Vec<Indicator>,
}

impl Catalogue {
    /// The built-in catalogue, parsed once. It is checked by a unit test, so this
    /// cannot fail in a released build; on a malformed file it is empty.
    pub fn builtin() -> &'static Catalogue {
        static CAT: std::sync::OnceLock<Catalogue> = std::sync::OnceLock::new();
        CAT.get_or_init(|| {
            Catalogue::parse(CATALOGUE).unwrap_or(Catalogue {
                version: 0,
                indicators: Vec::new(),
            })
        })
    }

    /// Parse and check a catalogue: unique ids, known measures, comparisons, levels.
    pub fn parse(text: &str) -> Result<Catalogue, String> {
        let raw: RawCatalogue =
            toml::from_str(text).map_err(|e| format!("指标目录格式有误：{e}"))?;
        let mut seen = std::collections::HashSet::new();
        let mut indicators = Vec::new();
        for r in raw.indicator {
            if !seen.insert(r.id.clone()) {
                return Err(format!("指标 {} 重复", r.id));
            }
            indicators.push(convert(r)?);
        }
        Ok(Catalogue {
            version: raw.version,
            indicators,
        })
    }

    pub fn get(&self, id: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.id == id)
    }
}

fn convert(r: RawIndicator) -> Result<Indicator, String> {
    let bad = |what: &str| format!("指标 {} 的 {what} 有误", r.id);
    let applies = match r.applies.as_str() {
        "both" => Applies::Both,
        "urban" => Applies::Urban,
        "rural" => Applies::Rural,
        "street" => Applies::Street,
        "admin_village" => Applies::AdminVillage,
        _ => return Err(bad("applies")),
    };
    let level = match r.level.as_str() {
        "village" => Level::Village,
        "township" => Level::Township,
        _ => return Err(bad("level")),
    };
    let target_level = match r.target_level.as_deref() {
        None => None,
        Some(l) => Some(Level::parse(l).ok_or_else(|| bad("target_level"))?),
    };
    let numerator = Measure::parse(&r.numerator)
        .filter(|m| *m != Measure::Unit)
        .ok_or_else(|| bad("numerator"))?;
    let denominator = Measure::parse(&r.denominator).ok_or_else(|| bad("denominator"))?;
    let positive = |v: Option<f64>, what: &str| match v {
        None => Ok(1.0),
        Some(x) if x > 0.0 && x.is_finite() => Ok(x),
        Some(_) => Err(bad(what)),
    };
    Ok(Indicator {
        numerator_divisor: positive(r.numerator_divisor, "numerator_divisor")?,
        denominator_divisor: positive(r.denominator_divisor, "denominator_divisor")?,
        scale: positive(r.scale, "scale")?,
        comparison: Comparison::parse(&r.comparison).ok_or_else(|| bad("comparison"))?,
        id: r.id,
        name: r.name,
        clause: r.clause,
        unit: r.unit,
        numerator,
        numerator_label: r.numerator_label,
        denominator,
        denominator_label: r.denominator_label,
        shortfall_unit: r.shortfall_unit,
        applies,
        level,
        target_level,
        target: r.target,
    })
}

impl Indicator {
    /// Whether a leaf of this kind counts toward the indicator.
    pub fn applies_to(&self, kind: Kind, urban: bool) -> bool {
        match self.applies {
            Applies::Both => true,
            Applies::Urban => urban,
            Applies::Rural => !urban,
            Applies::Street => kind == Kind::Street,
            Applies::AdminVillage => kind == Kind::Village,
        }
    }

    /// Numerator and denominator at one leaf (zero when it does not apply).
    pub fn at_leaf(&self, leaf: &LeafFacts) -> (i64, i64) {
        if !self.applies_to(leaf.kind, leaf.urban) {
            return (0, 0);
        }
        (self.numerator.eval(leaf), self.denominator.eval(leaf))
    }

    pub fn is_count(&self) -> bool {
        self.denominator == Measure::Unit
    }

    /// The displayed value from summed numerator and denominator; `None` when there is nothing to divide by.
    pub fn value(&self, numerator: i64, denominator: i64) -> Option<f64> {
        let num = numerator as f64 / self.numerator_divisor;
        if self.is_count() {
            return Some(num * self.scale);
        }
        if denominator == 0 {
            return None;
        }
        Some(num / (denominator as f64 / self.denominator_divisor) * self.scale)
    }

    /// Whether the target speaks of a node of `level` (counts only of the city).
    pub fn targets_level(&self, level: Level) -> bool {
        self.target_level.is_none_or(|l| l == level)
    }

    /// How far a node falls short, in the indicator's shortfall unit; 0 when met.
    pub fn shortfall(&self, numerator: i64, denominator: i64, target: f64) -> f64 {
        let num = numerator as f64 / self.numerator_divisor;
        let den = if self.is_count() {
            1.0
        } else {
            denominator as f64 / self.denominator_divisor
        };
        let needed = target * den / self.scale;
        match self.comparison {
            Comparison::AtLeast => (needed - num).max(0.0),
            Comparison::AtMost => (num - needed).max(0.0),
            Comparison::Equal => (needed - num).abs(),
        }
    }

    /// The shortfall as people read it: "差 37 m²", "差 2 名社区工作者".
    pub fn shortfall_text(&self, numerator: i64, denominator: i64, target: f64) -> String {
        let s = self.shortfall(numerator, denominator, target);
        if s <= 0.0 {
            return String::new();
        }
        let counted = !matches!(self.shortfall_unit.as_str(), "m²" | "m2");
        let amount = if counted {
            format!("{}", s.ceil() as i64)
        } else if s >= 10.0 {
            format!("{s:.0}")
        } else {
            format!("{s:.1}")
        };
        format!("差 {amount} {}", self.shortfall_unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_parses_and_covers_the_plan() {
        let c = Catalogue::parse(CATALOGUE).unwrap();
        assert_eq!(c.version, 3);
        for id in [
            "urban_service_facility_coverage",
            "rural_service_facility_coverage",
            "new_build_commercial_share",
            "facility_area_per_100_households",
            "activity_area_share",
            "self_service_terminal_coverage",
            "workers_per_10k_urban",
            "volunteer_station_share",
            "social_work_rooms",
            "elderly_land_per_capita",
            "street_elderly_institution_coverage",
            "urban_day_care_coverage",
            "minor_protection_coverage",
            "rehab_rental_pilots",
            "education_pilots",
            "senior_universities",
            "open_eight_hours_share",
            "broadband_villages",
            "five_g_villages",
            "workorder_response_rate",
            "workorder_resolution_rate",
            "workorder_satisfaction_rate",
            "rating_coverage",
            "survey_coverage",
            "elderly_visit_rate",
            "new_worker_mentor_coverage",
        ] {
            assert!(c.get(id).is_some(), "{id} missing");
        }
    }

    #[test]
    fn bad_catalogues_are_refused() {
        let base = "version = 1\n[[indicator]]\nid = \"x\"\nname = \"x\"\nclause = \"\"\nunit = \"%\"\nnumerator = \"leaves\"\ndenominator = \"leaves\"\nshortfall_unit = \"个\"\napplies = \"both\"\nlevel = \"village\"\ncomparison = \">=\"\ntarget = 1\n";
        assert!(Catalogue::parse(base).is_ok());
        assert!(
            Catalogue::parse(&base.replace("\"leaves\"\ndenominator", "\"nope\"\ndenominator"))
                .is_err()
        );
        assert!(Catalogue::parse(&base.replace("\">=\"", "\"~\"")).is_err());
        assert!(Catalogue::parse(&base.replace("\"village\"", "\"grid\"")).is_err());
        assert!(Catalogue::parse(&format!("{base}{}", base.replace("version = 1\n", ""))).is_err());
    }

    #[test]
    fn values_and_shortfalls() {
        let c = Catalogue::builtin();
        let area = c.get("facility_area_per_100_households").unwrap();
        // 380 m² for 1,000 households: 38 m² per 100 households, 50 m² short of 43.
        assert_eq!(area.value(38_000, 1000), Some(38.0));
        assert_eq!(area.shortfall_text(38_000, 1000, 43.0), "差 50 m²");
        let workers = c.get("workers_per_10k_urban").unwrap();
        // 16 workers for 10,000 urban residents: 2 short of 18.
        assert_eq!(workers.value(16, 10_000), Some(16.0));
        assert_eq!(
            workers.shortfall_text(16, 10_000, 18.0),
            "差 2 名社区工作者"
        );
        let rooms = c.get("social_work_rooms").unwrap();
        assert_eq!(rooms.value(140, 0), Some(140.0));
        assert_eq!(rooms.shortfall_text(140, 0, 150.0), "差 10 个");
        assert!(!rooms.targets_level(Level::County) && rooms.targets_level(Level::City));
        let cov = c.get("urban_service_facility_coverage").unwrap();
        assert_eq!(cov.value(0, 0), None);
        assert!(cov.comparison.met(100.0, 100.0) && !cov.comparison.met(99.9, 100.0));
        assert!(cov.comparison.at_least_as_strict(100.0, 90.0));
    }
}
