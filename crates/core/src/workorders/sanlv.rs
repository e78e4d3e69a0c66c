//! 三率: response, resolution and satisfaction rates over a set of work orders,
//! with the definitions and the weights of the composite score as configuration.

use crate::validation::FieldErrors;
use serde::{Deserialize, Serialize};
use std::ops::AddAssign;

/// Counts over a set of orders (a unit's or a division's month).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub orders: i64,
    pub dispatched: i64,
    pub signed_on_time: i64,
    pub replied: i64,
    pub replied_on_time: i64,
    pub closed: i64,
    pub closed_on_time: i64,
    pub visited: i64,
    /// Orders whose reporter answered "是否解决".
    pub answered: i64,
    pub solved: i64,
    pub rated: i64,
    /// Ratings per level, 非常满意 (index 0) … 非常不满意 (index 4).
    pub levels: [i64; 5],
    pub overdue: i64,
    pub returned: i64,
    pub reopened: i64,
}

impl AddAssign<&Counts> for Counts {
    fn add_assign(&mut self, o: &Counts) {
        self.orders += o.orders;
        self.dispatched += o.dispatched;
        self.signed_on_time += o.signed_on_time;
        self.replied += o.replied;
        self.replied_on_time += o.replied_on_time;
        self.closed += o.closed;
        self.closed_on_time += o.closed_on_time;
        self.visited += o.visited;
        self.answered += o.answered;
        self.solved += o.solved;
        self.rated += o.rated;
        for (a, b) in self.levels.iter_mut().zip(o.levels) {
            *a += b;
        }
        self.overdue += o.overdue;
        self.returned += o.returned;
        self.reopened += o.reopened;
    }
}

/// What counts as a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseBasis {
    /// Signed for within the sign-for limit.
    SignOnTime,
    /// First reply to the resident within the reply limit.
    ReplyOnTime,
}

/// The definitions and weights; stored as settings and editable by the city.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub response_basis: ResponseBasis,
    /// Ratings at or above this level count as satisfied (3: 基本满意 counts).
    pub satisfied_up_to: u8,
    /// Weights of response, resolution and satisfaction in the composite score.
    pub weights: [f64; 3],
}

impl Default for Config {
    fn default() -> Self {
        Config {
            response_basis: ResponseBasis::SignOnTime,
            satisfied_up_to: 3,
            weights: [0.2, 0.4, 0.4],
        }
    }
}

/// The three rates (0–1, `None` when nothing to measure) and the weighted score (0–100).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Rates {
    pub response: Option<f64>,
    pub resolution: Option<f64>,
    pub satisfaction: Option<f64>,
    pub composite: Option<f64>,
}

fn ratio(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

impl Config {
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errs = FieldErrors::new();
        if !(1..=4).contains(&self.satisfied_up_to) {
            errs.add("satisfied_up_to", "bad_level", "满意的评价等级应为 1–4");
        }
        let sum: f64 = self.weights.iter().sum();
        if self.weights.iter().any(|w| !w.is_finite() || *w < 0.0) || sum <= 0.0 {
            errs.add("weights", "bad_weights", "权重应为非负数，且不能全为 0");
        }
        errs.into_result()
    }

    pub fn satisfied(&self, c: &Counts) -> i64 {
        c.levels
            .iter()
            .take(usize::from(self.satisfied_up_to))
            .sum()
    }

    pub fn rates(&self, c: &Counts) -> Rates {
        let response = match self.response_basis {
            ResponseBasis::SignOnTime => ratio(c.signed_on_time, c.dispatched),
            ResponseBasis::ReplyOnTime => ratio(c.replied_on_time, c.dispatched),
        };
        let resolution = ratio(c.solved, c.answered);
        let satisfaction = ratio(self.satisfied(c), c.rated);
        let parts = [response, resolution, satisfaction];
        let (mut num, mut den) = (0.0, 0.0);
        for (r, w) in parts.iter().zip(self.weights) {
            if let Some(r) = r {
                num += r * w;
                den += w;
            }
        }
        Rates {
            response,
            resolution,
            satisfaction,
            composite: (den > 0.0).then(|| num / den * 100.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts() -> Counts {
        Counts {
            orders: 10,
            dispatched: 10,
            signed_on_time: 9,
            replied_on_time: 8,
            answered: 5,
            solved: 4,
            rated: 4,
            levels: [1, 1, 1, 1, 0],
            ..Counts::default()
        }
    }

    #[test]
    fn rates_follow_the_configured_definitions() {
        let c = counts();
        let r = Config::default().rates(&c);
        assert_eq!(r.response, Some(0.9));
        assert_eq!(r.resolution, Some(0.8));
        assert_eq!(r.satisfaction, Some(0.75));
        let composite = r.composite.unwrap();
        assert!((composite - (0.2 * 0.9 + 0.4 * 0.8 + 0.4 * 0.75) * 100.0).abs() < 1e-9);
        let strict = Config {
            response_basis: ResponseBasis::ReplyOnTime,
            satisfied_up_to: 2,
            weights: [1.0, 0.0, 0.0],
        };
        let r = strict.rates(&c);
        assert_eq!((r.response, r.satisfaction), (Some(0.8), Some(0.5)));
        assert!((r.composite.unwrap() - 80.0).abs() < 1e-9);
    }

    #[test]
    fn nothing_to_measure_is_none_and_weights_renormalise() {
        let c = Counts {
            dispatched: 4,
            signed_on_time: 2,
            ..Counts::default()
        };
        let r = Config::default().rates(&c);
        assert_eq!((r.resolution, r.satisfaction), (None, None));
        assert!((r.composite.unwrap() - 50.0).abs() < 1e-9);
        assert_eq!(Config::default().rates(&Counts::default()).composite, None);
    }

    #[test]
    fn sums_add_up_and_bad_configs_are_refused() {
        let mut a = counts();
        a += &counts();
        assert_eq!((a.orders, a.levels[3]), (20, 2));
        let bad = Config {
            satisfied_up_to: 5,
            weights: [0.0, 0.0, 0.0],
            ..Config::default()
        };
        let e = bad.validate().unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["satisfied_up_to", "weights"]);
    }
}
