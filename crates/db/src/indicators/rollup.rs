//! From leaf facts to values at every node: leaf numerators and denominators, summed
//! along each leaf's path to the root.

use super::facts::Gathered;
use shequ_core::indicators::Catalogue;
use shequ_core::{DivisionCode, Level};
use std::collections::HashMap;

/// `(indicator id, division code)` → `(numerator, denominator)`.
pub type Values = HashMap<(String, String), (i64, i64)>;

/// The values at the leaves under a gathering (no roll-up).
pub fn leaf_values(cat: &Catalogue, g: &Gathered) -> Values {
    let mut out = Values::new();
    for (code, leaf) in &g.leaves {
        let level = if code.len() == 12 {
            Level::Village
        } else {
            Level::Township
        };
        for ind in cat.indicators.iter().filter(|i| i.level == level) {
            out.insert((ind.id.clone(), code.clone()), ind.at_leaf(leaf));
        }
    }
    out
}

/// Every node's values: each leaf's values added to the leaf and all its ancestors.
pub fn compute(cat: &Catalogue, g: &Gathered) -> Values {
    let mut out = Values::new();
    for ((id, code), (n, d)) in leaf_values(cat, g) {
        for node in path(&code) {
            let e = out.entry((id.clone(), node)).or_insert((0, 0));
            e.0 += n;
            e.1 += d;
        }
    }
    out
}

/// The code and the codes of all its ancestors.
pub fn path(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = DivisionCode::parse(code).ok();
    while let Some(c) = cur {
        out.push(c.to_string());
        cur = c.parent();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_runs_to_the_city() {
        assert_eq!(
            path("430502001001"),
            vec!["430502001001", "430502001", "430502", "430500"]
        );
        assert_eq!(path("430502001"), vec!["430502001", "430502", "430500"]);
    }
}
