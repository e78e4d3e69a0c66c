//! Population and household figures of a division node, and the bounds that make
//! a figure believable for its level.

use crate::division::Level;
use crate::validation::FieldErrors;
use serde::{Deserialize, Serialize};

/// Resident population (常住人口), its urban part, and households (户).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub population: i64,
    pub urban_population: i64,
    pub households: i64,
}

/// The largest believable resident population of one node of a level.
pub fn population_cap(level: Level) -> i64 {
    match level {
        Level::City => 40_000_000,
        Level::County => 5_000_000,
        Level::Township => 1_000_000,
        Level::Village => 200_000,
        Level::Grid => 30_000,
    }
}

impl Figures {
    /// Check the figures for a node of `level`; every failing field is reported.
    pub fn validate(&self, level: Level) -> Result<(), FieldErrors> {
        let mut errs = FieldErrors::new();
        let cap = population_cap(level);
        for (field, v) in [
            ("population", self.population),
            ("urban_population", self.urban_population),
            ("households", self.households),
        ] {
            if v < 0 {
                errs.add(field, "negative", "不能为负数");
            } else if v > cap {
                errs.add(
                    field,
                    "too_large",
                    format!("超出{}一级的合理范围（不超过 {cap}）", level.label()),
                );
            }
        }
        if self.urban_population > self.population {
            errs.add(
                "urban_population",
                "exceeds_population",
                "城镇人口不能多于常住人口",
            );
        }
        if self.households > self.population {
            errs.add("households", "exceeds_population", "户数不能多于常住人口");
        }
        if self.population > 0 && self.households == 0 {
            errs.add(
                "households",
                "missing_households",
                "有常住人口时户数不能为 0",
            );
        }
        errs.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_census_city() {
        let f = Figures {
            population: 6_563_520,
            urban_population: 3_423_660,
            households: 2_288_847,
        };
        assert!(f.validate(Level::City).is_ok());
    }

    #[test]
    fn rejects_negative_absurd_and_inconsistent() {
        let f = Figures {
            population: -1,
            urban_population: 0,
            households: 0,
        };
        assert_eq!(
            f.validate(Level::Village).unwrap_err().0[0].code,
            "negative"
        );
        let f = Figures {
            population: 900_000,
            urban_population: 0,
            households: 300_000,
        };
        assert_eq!(
            f.validate(Level::Village).unwrap_err().0[0].code,
            "too_large"
        );
        let f = Figures {
            population: 100,
            urban_population: 200,
            households: 300,
        };
        let codes: Vec<_> = f
            .validate(Level::Village)
            .unwrap_err()
            .0
            .iter()
            .map(|e| e.code)
            .collect();
        assert_eq!(codes, vec!["exceeds_population", "exceeds_population"]);
    }
}
