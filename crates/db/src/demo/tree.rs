//! Generating the demo division tree: real counties and townships, generated
//! villages/communities and grids, figures apportioned so every level adds up.

use super::apportion::{apportion, apportion_capped};
use super::names::{NamePool, grid_name};
use super::shaoyang::{self, County, Township};
use super::{DemoSummary, Scale};
use crate::divisions::NewDivision;
use crate::{DbError, Result};
use shequ_core::division::Kind;
use shequ_core::figures::Figures;
use shequ_core::geo::Point;
use shequ_core::rng::SeededRng;
use shequ_core::{DivisionCode, Level};

/// The generated tree, parents before children.
#[derive(Debug, Clone)]
pub struct DemoTree {
    pub nodes: Vec<NewDivision>,
}

impl DemoTree {
    pub fn summary(&self) -> DemoSummary {
        let count = |l: Level| self.nodes.iter().filter(|n| n.code.level() == l).count();
        let root = self.nodes.first();
        DemoSummary {
            divisions: self.nodes.len(),
            villages: count(Level::Village),
            grids: count(Level::Grid),
            population: root.map_or(0, |r| r.figures.population),
            households: root.map_or(0, |r| r.figures.households),
        }
    }
}

/// A village/community before its figures are known.
struct VillagePlan {
    code: DivisionCode,
    name: String,
    class: &'static str,
    weight: f64,
    at: (f64, f64),
}

fn code(s: &str) -> Result<DivisionCode> {
    DivisionCode::parse(s).map_err(|e| DbError::invalid("code", e.code(), e.to_string()))
}

fn jitter(rng: &mut SeededRng, (lon, lat): (f64, f64), d: f64) -> (f64, f64) {
    (
        lon + (rng.unit() - 0.5) * 2.0 * d,
        lat + (rng.unit() - 0.5) * 2.0 * d,
    )
}

fn node(
    code: DivisionCode,
    name: String,
    class: Option<&str>,
    f: Figures,
    at: (f64, f64),
) -> NewDivision {
    let urban = match class {
        Some(c) => c.starts_with('1'),
        None => f.urban_population * 2 > f.population,
    };
    NewDivision {
        code,
        name,
        urban,
        urban_rural_class: class.map(str::to_owned),
        figures: f,
        centroid: Point::new(at.0, at.1).ok(),
        polygon: None,
    }
}

/// County figures for the whole city, then the counties the scale keeps.
fn county_figures() -> Vec<(County, Figures)> {
    let counties = shaoyang::COUNTIES;
    let known_urban: i64 = counties.iter().filter_map(|c| c.urban_population).sum();
    let urban_w: Vec<f64> = counties
        .iter()
        .map(|c| {
            if c.urban_population.is_some() {
                0.0
            } else {
                c.population as f64 * c.urban_rate
            }
        })
        .collect();
    let caps: Vec<i64> = counties
        .iter()
        .map(|c| {
            if c.urban_population.is_some() {
                0
            } else {
                c.population
            }
        })
        .collect();
    let urban = apportion_capped(
        shaoyang::CITY_URBAN_POPULATION - known_urban,
        &urban_w,
        &caps,
    );
    let known_hh: i64 = counties.iter().filter_map(|c| c.households).sum();
    let hh_w: Vec<f64> = counties
        .iter()
        .map(|c| {
            if c.households.is_some() {
                0.0
            } else {
                c.population as f64
            }
        })
        .collect();
    let hh = apportion(shaoyang::CITY_HOUSEHOLDS - known_hh, &hh_w);
    counties
        .iter()
        .zip(urban.into_iter().zip(hh))
        .map(|(c, (u, h))| {
            let f = Figures {
                population: c.population,
                urban_population: c.urban_population.unwrap_or(u),
                households: c.households.unwrap_or(h),
            };
            (*c, f)
        })
        .collect()
}

/// Build the demo tree for `scale` from `seed`.
pub fn build_tree(scale: Scale, seed: u64) -> Result<DemoTree> {
    let rng = SeededRng::new(seed);
    let all_townships = shaoyang::townships();
    let counties: Vec<(County, Figures)> = county_figures()
        .into_iter()
        .filter(|(c, _)| scale == Scale::City || c.code == "430502")
        .collect();
    let city = Figures {
        population: counties.iter().map(|(_, f)| f.population).sum(),
        urban_population: counties.iter().map(|(_, f)| f.urban_population).sum(),
        households: counties.iter().map(|(_, f)| f.households).sum(),
    };
    let mut nodes = vec![node(
        code(shaoyang::CITY_CODE)?,
        shaoyang::CITY_NAME.into(),
        None,
        city,
        (111.47, 27.24),
    )];
    for (county, f) in &counties {
        let townships: Vec<&Township> = all_townships
            .iter()
            .filter(|t| t.county_code == county.code)
            .collect();
        let mut r = rng.fork(county.code);
        let mut below = county_subtree(&mut r, county, *f, &townships)?;
        nodes.push(node(
            code(county.code)?,
            county.name.into(),
            None,
            *f,
            county.seat,
        ));
        nodes.append(&mut below);
    }
    Ok(DemoTree { nodes })
}

/// Townships, villages and grids of one county, parents first.
fn county_subtree(
    rng: &mut SeededRng,
    county: &County,
    f: Figures,
    townships: &[&Township],
) -> Result<Vec<NewDivision>> {
    let district = county.code.as_bytes().get(4) == Some(&b'0');
    let t_codes: Vec<DivisionCode> = townships
        .iter()
        .map(|t| code(&t.code))
        .collect::<Result<_>>()?;
    let t_weights: Vec<f64> = t_codes
        .iter()
        .map(|c| {
            let base = match c.kind() {
                Kind::Street => 1.6,
                Kind::Town => 1.0,
                Kind::Township => 0.55,
                _ => 0.15,
            };
            base * (0.7 + 0.6 * rng.unit())
        })
        .collect();
    let t_pop = apportion(f.population, &t_weights);
    let spread = if district { 0.06 } else { 0.25 };
    // Plan every village of the county, remembering which township it belongs to.
    let mut plans: Vec<(usize, VillagePlan)> = Vec::new();
    let mut t_at = Vec::new();
    for (ti, tc) in t_codes.iter().enumerate() {
        let at = jitter(rng, county.seat, spread);
        t_at.push(at);
        for p in plan_villages(rng, tc, district, at)? {
            plans.push((ti, p));
        }
    }
    // Village populations within each township.
    let mut v_pop = vec![0i64; plans.len()];
    for (ti, pop) in t_pop.iter().enumerate() {
        let idx: Vec<usize> = (0..plans.len())
            .filter(|&i| plans.get(i).is_some_and(|p| p.0 == ti))
            .collect();
        let w: Vec<f64> = idx
            .iter()
            .filter_map(|&i| plans.get(i).map(|p| p.1.weight))
            .collect();
        for (&i, v) in idx.iter().zip(apportion(*pop, &w)) {
            if let Some(slot) = v_pop.get_mut(i) {
                *slot = v;
            }
        }
    }
    // Urban population and households over the whole county.
    let urban_w: Vec<f64> = plans
        .iter()
        .zip(&v_pop)
        .map(|((_, p), pop)| *pop as f64 * class_urban_share(p.class))
        .collect();
    let v_urban = apportion_capped(f.urban_population, &urban_w, &v_pop);
    let hh_w: Vec<f64> = plans
        .iter()
        .zip(&v_pop)
        .map(|((_, p), pop)| *pop as f64 / if p.class.starts_with('1') { 2.5 } else { 3.0 })
        .collect();
    let v_hh = apportion(f.households, &hh_w);

    let mut out = Vec::new();
    for (ti, (tc, tw)) in t_codes.iter().zip(townships).enumerate() {
        let members: Vec<usize> = (0..plans.len())
            .filter(|&i| plans.get(i).is_some_and(|p| p.0 == ti))
            .collect();
        let sum = |v: &[i64]| members.iter().filter_map(|&i| v.get(i)).sum::<i64>();
        let tf = Figures {
            population: sum(&v_pop),
            urban_population: sum(&v_urban),
            households: sum(&v_hh),
        };
        out.push(node(
            tc.clone(),
            tw.name.clone(),
            None,
            tf,
            t_at.get(ti).copied().unwrap_or(county.seat),
        ));
        for &i in &members {
            let (Some((_, p)), Some(&pop), Some(&urban), Some(&hh)) =
                (plans.get(i), v_pop.get(i), v_urban.get(i), v_hh.get(i))
            else {
                continue;
            };
            let vf = Figures {
                population: pop,
                urban_population: urban,
                households: hh,
            };
            out.push(node(
                p.code.clone(),
                p.name.clone(),
                Some(p.class),
                vf,
                p.at,
            ));
            out.extend(grids(rng, p, vf)?);
        }
    }
    Ok(out)
}

/// Share of a node's residents counted urban, by 城乡分类代码.
fn class_urban_share(class: &str) -> f64 {
    match class {
        "111" => 0.97,
        "121" => 0.9,
        "112" => 0.7,
        "123" | "210" => 0.6,
        "122" => 0.5,
        _ => 0.08,
    }
}

/// Villages and communities of one township: streets are mostly communities,
/// towns and townships mostly villages.
fn plan_villages(
    rng: &mut SeededRng,
    township: &DivisionCode,
    district: bool,
    at: (f64, f64),
) -> Result<Vec<VillagePlan>> {
    let (communities, villages, c_class) = match township.kind() {
        Kind::Street => (
            rng.range(6, 14),
            rng.range(0, if district { 4 } else { 2 }),
            "111",
        ),
        Kind::Town => (rng.range(1, 4), rng.range(22, 34), "121"),
        Kind::Township => (rng.range(0, 1), rng.range(9, 19), "210"),
        _ => (1, rng.range(2, 5), "123"),
    };
    let mut pool = NamePool::default();
    let mut out = Vec::new();
    for n in 1..=communities {
        out.push(VillagePlan {
            code: code(&format!("{township}{n:03}"))?,
            name: pool.community(rng),
            class: c_class,
            weight: 3.0 * (0.6 + 0.8 * rng.unit()),
            at: jitter(rng, at, 0.02),
        });
    }
    for n in 1..=villages {
        let class = match township.kind() {
            Kind::Street => "112",
            Kind::Town if n <= 2 => "122",
            Kind::Township if n == 1 && communities == 0 => "210",
            _ => "220",
        };
        out.push(VillagePlan {
            code: code(&format!("{township}{:03}", 200 + n))?,
            name: pool.village(rng),
            class,
            weight: 0.6 + 0.8 * rng.unit(),
            at: jitter(rng, at, 0.05),
        });
    }
    Ok(out)
}

/// The grids of one village/community, its figures split among them.
fn grids(rng: &mut SeededRng, v: &VillagePlan, f: Figures) -> Result<Vec<NewDivision>> {
    let n = if v.class.starts_with('1') {
        (f.households / 300).clamp(3, 15)
    } else {
        (f.households / 150).clamp(2, 8)
    };
    let w: Vec<f64> = (0..n).map(|_| 0.8 + 0.4 * rng.unit()).collect();
    let pop = apportion(f.population, &w);
    let urban = apportion_capped(f.urban_population, &w, &pop);
    let hh = apportion(f.households, &w);
    let mut out = Vec::new();
    for (i, ((p, u), h)) in pop.into_iter().zip(urban).zip(hh).enumerate() {
        let no = i as u16 + 1;
        let gc = v
            .code
            .grid(no)
            .ok_or_else(|| DbError::invalid("number", "bad_grid_number", "网格编号超出范围"))?;
        let gf = Figures {
            population: p,
            urban_population: u,
            households: h.min(p),
        };
        out.push(node(
            gc,
            grid_name(u32::from(no)),
            Some(v.class),
            gf,
            jitter(rng, v.at, 0.004),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn city_adds_up_to_the_census() {
        let t = build_tree(Scale::City, 42).unwrap();
        let s = t.summary();
        assert_eq!(s.population, 6_563_520);
        assert_eq!(s.households, 2_288_847);
        assert!((4_500..=5_500).contains(&s.villages), "{}", s.villages);
        let by_code: HashMap<&str, &NewDivision> =
            t.nodes.iter().map(|n| (n.code.as_str(), n)).collect();
        // Every parent's figures are the sum of its children's; every node is valid.
        let mut sums: HashMap<String, (i64, i64, i64)> = HashMap::new();
        for n in &t.nodes {
            n.validate().unwrap();
            if let Some(p) = n.code.parent() {
                assert!(by_code.contains_key(p.as_str()), "orphan {}", n.code);
                let e = sums.entry(p.to_string()).or_default();
                e.0 += n.figures.population;
                e.1 += n.figures.urban_population;
                e.2 += n.figures.households;
            }
        }
        for (code, (p, u, h)) in sums {
            let n = by_code.get(code.as_str()).unwrap();
            assert_eq!(
                (
                    n.figures.population,
                    n.figures.urban_population,
                    n.figures.households
                ),
                (p, u, h),
                "{code}"
            );
        }
        let urban: i64 = t
            .nodes
            .iter()
            .filter(|n| n.code.level() == Level::County)
            .map(|n| n.figures.urban_population)
            .sum();
        assert_eq!(urban, 3_423_660);
    }

    #[test]
    fn same_seed_same_tree() {
        let a = build_tree(Scale::Small, 7).unwrap();
        let b = build_tree(Scale::Small, 7).unwrap();
        let names = |t: &DemoTree| {
            t.nodes
                .iter()
                .map(|n| (n.code.to_string(), n.name.clone(), n.figures))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&a), names(&b));
        assert_ne!(names(&a), names(&build_tree(Scale::Small, 8).unwrap()));
    }

    #[test]
    fn streets_are_mostly_communities() {
        let t = build_tree(Scale::City, 1).unwrap();
        let villages: Vec<_> = t
            .nodes
            .iter()
            .filter(|n| n.code.level() == Level::Village)
            .collect();
        let in_streets = villages
            .iter()
            .filter(|v| v.code.parent().is_some_and(|p| p.kind() == Kind::Street));
        let (comm, all) = in_streets.fold((0, 0), |(c, a), v| {
            (c + usize::from(v.code.kind() == Kind::Community), a + 1)
        });
        assert!(comm * 10 > all * 7, "{comm}/{all}");
        let in_towns = villages
            .iter()
            .filter(|v| v.code.parent().is_some_and(|p| p.kind() == Kind::Town));
        let (comm, all) = in_towns.fold((0, 0), |(c, a), v| {
            (c + usize::from(v.code.kind() == Kind::Community), a + 1)
        });
        assert!(comm * 5 < all, "{comm}/{all}");
    }
}
