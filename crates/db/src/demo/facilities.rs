//! Demo facilities and division attributes over the loaded tree, with the gaps a
//! plan-target monitor should find: villages without a facility, townships short
//! of floor area per household, short opening hours, stale terminals, too few
//! social-work rooms, 5G below target.
//!
//! Deterministic from the seed; inserted with multi-row statements in a few
//! transactions. No indicator refresh: the caller recomputes afterwards.

use crate::audit::{self, Event};
use crate::divisions::Division;
use crate::facilities::{
    self, BulkFacility, DivisionAttributes, ExceptionInput, FacilityInput, FunctionInput, Purpose,
    SpaceInput, Status, TerminalInput,
};
use crate::scope::Actor;
use crate::{Db, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use shequ_core::DivisionCode;
use shequ_core::facility::{FunctionCode, Interval};
use shequ_core::geo::Point;
use shequ_core::rng::SeededRng;
use std::collections::HashMap;

/// Villages/communities of the whole demo city; quotas scale by the share loaded.
const CITY_VILLAGES: f64 = 4_700.0;
/// Facilities per transaction.
const BATCH: usize = 1_500;

/// What the demo plans before it writes.
struct Plan {
    facilities: Vec<BulkFacility>,
    attributes: Vec<(DivisionCode, DivisionAttributes)>,
}

/// Generate and insert facilities and attributes; returns the number of facilities.
pub async fn load(db: &Db, seed: u64, now: DateTime<Utc>) -> Result<usize> {
    let all = crate::divisions::all(&mut db.conn()).await?;
    let plan = plan(&all, seed, now);
    for chunk in plan.facilities.chunks(BATCH) {
        let mut tx = db.begin().await?;
        facilities::bulk_insert(&mut tx.conn(), chunk, now).await?;
        tx.commit().await?;
    }
    let mut tx = db.begin().await?;
    facilities::bulk_set_attributes(&mut tx.conn(), &plan.attributes, now).await?;
    let detail = serde_json::json!({
        "facilities": plan.facilities.len(),
        "division_attributes": plan.attributes.len(),
        "seed": seed,
    });
    let ev = Event::new("demo_facilities_load", "facility", "").detail(detail);
    audit::append(&mut tx.conn(), &Actor::system(), ev, now).await?;
    tx.commit().await?;
    Ok(plan.facilities.len())
}

/// Exactly `min(k, n)` of `n` positions chosen at random.
fn pick_k(rng: &mut SeededRng, n: usize, k: usize) -> Vec<bool> {
    let mut idx: Vec<usize> = (0..n).collect();
    let k = k.min(n);
    for i in 0..k {
        let j = rng.range(i as i64, n as i64 - 1) as usize;
        idx.swap(i, j);
    }
    let mut out = vec![false; n];
    for &i in idx.iter().take(k) {
        if let Some(x) = out.get_mut(i) {
            *x = true;
        }
    }
    out
}

/// `share` of `n`, rounded, at least `min` when `n` allows.
fn quota(n: usize, share: f64, min: usize) -> usize {
    ((n as f64 * share).round() as usize).max(min).min(n)
}

fn function(code: &str, land_x100: i64) -> Option<FunctionInput> {
    FunctionCode::parse(code).map(|code| FunctionInput {
        code,
        land_area_x100: land_x100,
    })
}

fn days(from: u8, to: u8, spans: &[(u16, u16)]) -> Vec<Interval> {
    (from..=to)
        .flat_map(|weekday| {
            spans.iter().map(move |&(opens, closes)| Interval {
                weekday,
                opens,
                closes,
            })
        })
        .collect()
}

/// Weekly hours: mostly every day or Monday–Saturday for 8 h or more; ~12% shorter.
fn hours(rng: &mut SeededRng) -> Vec<Interval> {
    match rng.unit() {
        x if x < 0.06 => days(1, 5, &[(510, 720), (840, 1050)]),
        x if x < 0.12 => days(1, 5, &[(540, 1020)]),
        x if x < 0.55 => days(1, 7, &[(510, 1050)]),
        x if x < 0.80 => days(1, 6, &[(480, 1080)]),
        _ => days(1, 7, &[(480, 1050)]),
    }
}

/// An activity space and an office space filling 90–100% of `floor` (hundredths
/// of m²). The activity share is the same over the floor area and over the space
/// area (as the monitor measures it) to within 10%: mostly 70–88%, else 38–56%.
fn spaces(rng: &mut SeededRng, floor: i64, low_activity: bool) -> Vec<SpaceInput> {
    let share = if low_activity {
        0.38 + 0.18 * rng.unit()
    } else {
        0.70 + 0.18 * rng.unit()
    };
    let used = (floor as f64 * (0.9 + 0.1 * rng.unit())).floor() as i64;
    let activity = (used as f64 * share).floor() as i64;
    vec![
        SpaceInput {
            name: "活动用房".into(),
            purpose: Purpose::Activity,
            area_x100: activity,
        },
        SpaceInput {
            name: "办公用房".into(),
            purpose: Purpose::Office,
            area_x100: used - activity,
        },
    ]
}

fn whole_m2(m2: f64) -> i64 {
    (m2.round() as i64) * 100
}

fn location(rng: &mut SeededRng, d: &Division) -> Option<Point> {
    let (lon, lat) = d.centroid_lon.zip(d.centroid_lat)?;
    Point::new(
        lon + (rng.unit() - 0.5) * 0.004,
        lat + (rng.unit() - 0.5) * 0.004,
    )
    .ok()
}

fn national_day() -> Vec<ExceptionInput> {
    NaiveDate::from_ymd_opt(2025, 10, 1)
        .map(|day| ExceptionInput {
            day,
            hours: None,
            note: "国庆节闭馆".into(),
        })
        .into_iter()
        .collect()
}

/// Per-village decisions drawn up front so quotas are exact.
struct Marks {
    gap: Vec<bool>,
    terminal: Vec<bool>,
    social_room: Vec<bool>,
    rehab: Vec<bool>,
    new_build: Vec<bool>,
    no_broadband: Vec<bool>,
    no_five_g: Vec<bool>,
}

/// Mark exactly a share of the villages matching `pred`.
fn mark_among(
    rng: &mut SeededRng,
    villages: &[&Division],
    pred: impl Fn(usize, &Division) -> bool,
    k: impl Fn(usize) -> usize,
) -> Vec<bool> {
    let eligible: Vec<usize> = villages
        .iter()
        .enumerate()
        .filter(|(i, v)| pred(*i, v))
        .map(|(i, _)| i)
        .collect();
    let chosen = pick_k(rng, eligible.len(), k(eligible.len()));
    let mut out = vec![false; villages.len()];
    for (i, yes) in eligible.iter().zip(chosen) {
        if let Some(x) = out.get_mut(*i) {
            *x = yes;
        }
    }
    out
}

fn marks(rng: &mut SeededRng, villages: &[&Division]) -> Marks {
    let community = |_: usize, v: &Division| v.kind == "community";
    let village = |_: usize, v: &Division| v.kind != "community";
    let gap_c = mark_among(rng, villages, community, |n| quota(n, 0.06, 1));
    let gap_v = mark_among(rng, villages, village, |n| quota(n, 0.10, 1));
    let gap: Vec<bool> = gap_c.iter().zip(&gap_v).map(|(a, b)| *a || *b).collect();
    let served =
        |i: usize, v: &Division| !gap.get(i).copied().unwrap_or(true) && v.kind == "community";
    let terminal = mark_among(rng, villages, served, |n| quota(n, 0.90, 1));
    let any_served = |i: usize, _: &Division| !gap.get(i).copied().unwrap_or(true);
    let social_room = mark_among(rng, villages, any_served, |_| {
        quota(villages.len(), 140.0 / CITY_VILLAGES, 1)
    });
    let rehab = mark_among(rng, villages, served, |_| {
        quota(villages.len(), 40.0 / CITY_VILLAGES, 1)
    });
    let new_build = mark_among(rng, villages, community, |n| quota(n, 0.15, 1));
    let no_broadband = mark_among(rng, villages, village, |n| quota(n, 0.03, 0));
    let no_five_g = mark_among(rng, villages, village, |n| quota(n, 0.30, 1));
    Marks {
        gap,
        terminal,
        social_room,
        rehab,
        new_build,
        no_broadband,
        no_five_g,
    }
}

/// The whole plan for the loaded tree.
fn plan(all: &[Division], seed: u64, now: DateTime<Utc>) -> Plan {
    let mut rng = SeededRng::new(seed).fork("facilities");
    let villages: Vec<&Division> = all.iter().filter(|d| d.level == "village").collect();
    let townships: Vec<&Division> = all.iter().filter(|d| d.level == "township").collect();
    let scale = (villages.len() as f64 / CITY_VILLAGES).min(1.0);
    let low = pick_k(&mut rng, townships.len(), quota(townships.len(), 0.15, 1));
    let low_township: HashMap<&str, bool> = townships
        .iter()
        .zip(&low)
        .map(|(t, l)| (t.code.as_str(), *l))
        .collect();
    let m = marks(&mut rng, &villages);
    let mut facilities = Vec::new();
    for (i, v) in villages.iter().enumerate() {
        if m.gap.get(i).copied().unwrap_or(true) {
            continue;
        }
        let parent = v.parent_code.as_deref().unwrap_or("");
        let low = low_township.get(parent).copied().unwrap_or(false);
        let flags = VillageFlags {
            low_area: low,
            terminal: m.terminal.get(i).copied().unwrap_or(false),
            social_room: m.social_room.get(i).copied().unwrap_or(false),
            rehab: m.rehab.get(i).copied().unwrap_or(false),
        };
        if let Some(f) = village_facility(&mut rng, v, &flags, now) {
            facilities.push(f);
        }
    }
    facilities.extend(township_facilities(&mut rng, &townships, scale));
    let attributes = attributes(&mut rng, &villages, &townships, &m);
    Plan {
        facilities,
        attributes,
    }
}

struct VillageFlags {
    low_area: bool,
    terminal: bool,
    social_room: bool,
    rehab: bool,
}

/// Floor area so that m² per 100 households is mostly ≥ 43 (below in "low" townships).
fn floor_area(rng: &mut SeededRng, households: i64, low: bool) -> i64 {
    let per_100 = if low {
        26.0 + 14.0 * rng.unit()
    } else {
        46.0 + 40.0 * rng.unit()
    };
    let min = if low { 40.0 } else { 120.0 };
    whole_m2((households.max(0) as f64 / 100.0 * per_100).max(min))
}

fn village_functions(rng: &mut SeededRng, v: &Division, f: &VillageFlags) -> Vec<FunctionInput> {
    let urban = v.kind == "community";
    let mut codes: Vec<(&str, i64)> = vec![("comprehensive_service", 0)];
    let mut maybe = |rng: &mut SeededRng, code: &'static str, p: f64| {
        if rng.chance(p) {
            codes.push((code, 0));
        }
    };
    maybe(rng, "volunteer_station", 0.85);
    maybe(rng, "health_station", if urban { 0.55 } else { 0.85 });
    maybe(rng, "culture_center", 0.80);
    maybe(rng, "fitness", 0.70);
    maybe(rng, "employment_station", if urban { 0.40 } else { 0.15 });
    maybe(rng, "police_room", if urban { 0.30 } else { 0.05 });
    if rng.chance(if urban { 0.85 } else { 0.25 }) {
        codes.push(("day_care", whole_m2(200.0 + 600.0 * rng.unit())));
    }
    if f.social_room {
        codes.push(("social_work_room", 0));
    }
    if f.rehab {
        codes.push(("rehab_rental", 0));
    }
    codes
        .into_iter()
        .filter_map(|(c, land)| function(c, land))
        .collect()
}

fn terminal_for(rng: &mut SeededRng, v: &Division, now: DateTime<Utc>) -> TerminalInput {
    let seen = if rng.chance(0.05) {
        now - Duration::days(rng.range(31, 120))
    } else {
        now - Duration::minutes(rng.range(5, 10 * 24 * 60))
    };
    let models = ["邵政通 S1", "邵政通 S2", "湘易办 K3"];
    TerminalInput {
        serial: format!("SQ-{}", v.code),
        model: rng.pick(&models).copied().unwrap_or("邵政通 S1").into(),
        last_seen_at: Some(seen),
    }
}

fn village_facility(
    rng: &mut SeededRng,
    v: &Division,
    flags: &VillageFlags,
    now: DateTime<Utc>,
) -> Option<BulkFacility> {
    let division = DivisionCode::parse(&v.code).ok()?;
    let floor = floor_area(rng, v.households, flags.low_area);
    let low_activity = rng.chance(0.10);
    let urban = v.kind == "community";
    let suffix = if urban {
        "党群服务中心"
    } else {
        "综合服务平台"
    };
    let facility = FacilityInput {
        division,
        name: format!("{}{suffix}", v.name),
        address: format!("{}村（居）委会院内", v.name),
        location: location(rng, v),
        floor_area_x100: floor,
        status: Status::InUse,
        year_built: Some(rng.range(1998, 2024) as i32),
        online_24h: flags.terminal && rng.chance(0.3),
        spaces: spaces(rng, floor, low_activity),
        functions: village_functions(rng, v, flags),
        hours: hours(rng),
        exceptions: if rng.chance(0.2) {
            national_day()
        } else {
            Vec::new()
        },
    };
    let terminals = if flags.terminal {
        vec![terminal_for(rng, v, now)]
    } else {
        Vec::new()
    };
    Some(BulkFacility {
        facility,
        terminals,
    })
}

/// One facility per township: a 社工站 everywhere, the street elderly institution in
/// ~90% of streets, minor protection in ~85% of townships, 老年大学 in a few.
fn township_facilities(
    rng: &mut SeededRng,
    townships: &[&Division],
    scale: f64,
) -> Vec<BulkFacility> {
    let n = townships.len();
    let streets: Vec<bool> = townships.iter().map(|t| t.kind == "street").collect();
    let n_streets = streets.iter().filter(|s| **s).count();
    let elderly_streets = pick_k(rng, n_streets, quota(n_streets, 0.90, 1));
    let minor = pick_k(rng, n, quota(n, 0.85, 1));
    let senior = pick_k(rng, n, quota(n, 4.0 * scale / n.max(1) as f64, 1).min(4));
    let mut street_i = 0;
    let mut out = Vec::new();
    for (i, t) in townships.iter().enumerate() {
        let is_street = streets.get(i).copied().unwrap_or(false);
        let elderly = is_street && elderly_streets.get(street_i).copied().unwrap_or(false);
        street_i += usize::from(is_street);
        let mut codes: Vec<(&str, i64)> = vec![("social_work_station", 0)];
        if elderly {
            codes.push((
                "street_elderly_institution",
                whole_m2(1500.0 + 2500.0 * rng.unit()),
            ));
        }
        if minor.get(i).copied().unwrap_or(false) {
            codes.push(("minor_protection", 0));
        }
        if senior.get(i).copied().unwrap_or(false) {
            codes.push(("senior_university", 0));
        }
        if let Some(f) = township_facility(rng, t, is_street, &codes) {
            out.push(f);
        }
    }
    out
}

fn township_facility(
    rng: &mut SeededRng,
    t: &Division,
    is_street: bool,
    codes: &[(&str, i64)],
) -> Option<BulkFacility> {
    let division = DivisionCode::parse(&t.code).ok()?;
    let floor = if is_street {
        whole_m2(2000.0 + 4000.0 * rng.unit())
    } else {
        whole_m2(300.0 + 900.0 * rng.unit())
    };
    let facility = FacilityInput {
        division,
        name: format!("{}社会工作和综合服务中心", t.name),
        address: format!("{}人民政府旁", t.name),
        location: location(rng, t),
        floor_area_x100: floor,
        status: Status::InUse,
        year_built: Some(rng.range(2005, 2024) as i32),
        online_24h: false,
        spaces: spaces(rng, floor, false),
        functions: codes
            .iter()
            .filter_map(|(c, land)| function(c, *land))
            .collect(),
        hours: days(1, 7, &[(510, 1050)]),
        exceptions: Vec::new(),
    };
    Some(BulkFacility {
        facility,
        terminals: Vec::new(),
    })
}

/// Attributes of every village/community, and the two education-pilot townships.
fn attributes(
    rng: &mut SeededRng,
    villages: &[&Division],
    townships: &[&Division],
    m: &Marks,
) -> Vec<(DivisionCode, DivisionAttributes)> {
    let mut out = Vec::new();
    for (i, v) in villages.iter().enumerate() {
        let Ok(code) = DivisionCode::parse(&v.code) else {
            continue;
        };
        let flag = |x: &[bool]| x.get(i).copied().unwrap_or(false);
        let mut a = DivisionAttributes {
            broadband: true,
            five_g: true,
            ..Default::default()
        };
        if v.kind == "community" {
            a.five_g = rng.chance(0.95);
            if flag(&m.new_build) {
                let building = whole_m2(50_000.0 + 250_000.0 * rng.unit());
                a.new_build = true;
                a.building_area_x100 = building;
                a.commercial_area_x100 = (building as f64 * (0.08 + 0.06 * rng.unit())) as i64;
            }
        } else {
            a.broadband = !flag(&m.no_broadband);
            a.five_g = !flag(&m.no_five_g);
        }
        if flag(&m.rehab) {
            a.designations.push("rehab_rental_pilot");
        }
        out.push((code, a));
    }
    out.extend(education_pilots(rng, townships));
    out
}

/// Two townships in different counties where possible (the city shows 2 of 3).
fn education_pilots(
    rng: &mut SeededRng,
    townships: &[&Division],
) -> Vec<(DivisionCode, DivisionAttributes)> {
    let mut counties: Vec<&str> = townships
        .iter()
        .filter_map(|t| t.parent_code.as_deref())
        .collect();
    counties.dedup();
    let chosen_counties = pick_k(rng, counties.len(), 2);
    let mut picked: Vec<&Division> = Vec::new();
    for (c, yes) in counties.iter().zip(chosen_counties) {
        let in_county: Vec<&Division> = townships
            .iter()
            .copied()
            .filter(|t| t.parent_code.as_deref() == Some(*c))
            .collect();
        let want = if counties.len() == 1 { 2 } else { 1 };
        if yes {
            let marks = pick_k(rng, in_county.len(), want);
            picked.extend(
                in_county
                    .iter()
                    .zip(marks)
                    .filter(|(_, m)| *m)
                    .map(|(t, _)| *t),
            );
        }
    }
    picked
        .into_iter()
        .filter_map(|t| DivisionCode::parse(&t.code).ok())
        .map(|code| {
            let a = DivisionAttributes {
                designations: vec!["education_pilot"],
                ..Default::default()
            };
            (code, a)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_k_is_exact() {
        let mut rng = SeededRng::new(3);
        for (n, k) in [(10, 3), (5, 9), (0, 2), (100, 100)] {
            let v = pick_k(&mut rng, n, k);
            assert_eq!(v.len(), n);
            assert_eq!(v.iter().filter(|x| **x).count(), k.min(n));
        }
    }

    #[test]
    fn hours_mostly_eight_or_more() {
        let mut rng = SeededRng::new(5);
        let short = (0..1000)
            .filter(|_| !shequ_core::facility::opens_eight_hours(&hours(&mut rng)))
            .count();
        assert!((80..=160).contains(&short), "{short}");
    }
}
