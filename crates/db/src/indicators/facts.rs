//! Gathering the facts the measures need for every leaf under a code prefix,
//! with a handful of range queries (no per-leaf queries).

use crate::scope::Scope;
use crate::{Conn, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, Iden, JoinType, Query};
use shequ_core::DivisionCode;
use shequ_core::facility::{FunctionCode, Interval, opens_eight_hours};
use shequ_core::indicators::{AttributeFacts, FacilityFacts, LeafFacts, WorkerFacts};
use std::collections::HashMap;

#[derive(Iden, Clone, Copy)]
enum Facilities {
    Table,
    Id,
    DivisionCode,
    Status,
    YearBuilt,
    FloorAreaX100,
}

#[derive(Iden, Clone, Copy)]
enum FacilitySpaces {
    Table,
    FacilityId,
    Purpose,
    AreaX100,
}

#[derive(Iden, Clone, Copy)]
enum FacilityFunctions {
    Table,
    FacilityId,
    FunctionCode,
    LandAreaX100,
}

#[derive(Iden, Clone, Copy)]
enum FacilityHours {
    Table,
    FacilityId,
    Weekday,
    OpensMin,
    ClosesMin,
}

#[derive(Iden, Clone, Copy)]
enum Workers {
    Table,
    DivisionCode,
    HireDate,
    MentorId,
    Active,
}

#[derive(Iden, Clone, Copy)]
enum Terminals {
    Table,
    DivisionCode,
    LastSeenAt,
}

#[derive(Iden, Clone, Copy)]
enum DivisionAttributes {
    Table,
    DivisionCode,
    NewBuild,
    BuildingAreaX100,
    CommercialAreaX100,
    Broadband,
    FiveG,
    Designations,
}

#[derive(Iden, Clone, Copy)]
enum Divisions {
    Table,
    Code,
    Kind,
    Urban,
    Population,
    UrbanPopulation,
    Households,
}

/// A terminal counts as present when seen within this many days.
pub const TERMINAL_FRESH_DAYS: i64 = 30;

/// Facts of every village/community and township under `root`, keyed by code.
pub struct Gathered {
    pub leaves: HashMap<String, LeafFacts>,
}

fn range_of(root: &DivisionCode) -> Scope {
    Scope::new(
        root.clone(),
        shequ_core::Role::CityStaff,
        crate::scope::Actor::system(),
    )
}

/// Read the registries under `root` and build leaf facts for its villages and townships.
pub async fn gather(c: &mut Conn<'_>, root: &DivisionCode, now: DateTime<Utc>) -> Result<Gathered> {
    let scope = range_of(root);
    let today = (now + Duration::hours(8)).date_naive();
    let mut leaves = divisions(c, &scope, today).await?;
    let facilities = facilities(c, &scope, today).await?;
    for (code, f) in facilities {
        add_up(&mut leaves, &code, |l| l.facilities.push(f.clone()));
    }
    for (code, w) in workers(c, &scope)
        .await?
        .into_iter()
        .filter(|(_, w)| w.hire_date <= today)
    {
        add_up(&mut leaves, &code, |l| l.workers.push(w.clone()));
    }
    for code in terminals(c, &scope, now).await? {
        if let Some(l) = leaves.get_mut(&code) {
            l.terminal_present = true;
        }
    }
    for (code, attrs, designations) in attributes(c, &scope).await? {
        if let Some(l) = leaves.get_mut(&code) {
            l.attributes = attrs;
        }
        for d in designations {
            add_up(&mut leaves, &code, |l| l.designations.push(d.clone()));
        }
    }
    services(c, &scope, now, &mut leaves).await?;
    Ok(Gathered { leaves })
}

/// Work-order counts, ratings and survey answers of the last twelve months.
async fn services(
    c: &mut Conn<'_>,
    scope: &Scope,
    now: DateTime<Utc>,
    leaves: &mut HashMap<String, LeafFacts>,
) -> Result<()> {
    use crate::workorders::monthly;
    let today = (now + Duration::hours(8)).date_naive();
    let from = today - Duration::days(365);
    let rows = monthly::rows(
        c,
        scope,
        &monthly::month_key(from),
        &monthly::month_key(today),
    )
    .await?;
    for r in rows {
        add_up(leaves, &r.division_code, |l| l.services.orders += &r.counts);
    }
    let (start, end) = (now - Duration::days(365), now);
    for (code, n) in crate::ratings::rated_villages(c, start, end).await? {
        if crate::workorders::dispatch::within(&code, scope.root.as_str()) {
            add_up(leaves, &code, |l| l.services.ratings += n);
        }
    }
    for (code, n) in crate::surveys::answered_villages(c, start, end).await? {
        if crate::workorders::dispatch::within(&code, scope.root.as_str()) {
            add_up(leaves, &code, |l| l.services.survey_answers += n);
        }
    }
    for v in crate::care::visit_facts(c, now).await? {
        if crate::workorders::dispatch::within(&v.village, scope.root.as_str()) {
            add_up(leaves, &v.village, |l| {
                l.services.elderly_roster += v.roster;
                l.services.elderly_visited += v.visited;
            });
        }
    }
    for code in crate::rental::lending_villages(c, start, end).await? {
        if crate::workorders::dispatch::within(&code, scope.root.as_str()) {
            add_up(leaves, &code, |l| l.services.lending_communities += 1);
        }
    }
    Ok(())
}

/// Apply `f` to the leaf at `code` and to its township leaf (the township counts its subtree).
fn add_up(leaves: &mut HashMap<String, LeafFacts>, code: &str, f: impl Fn(&mut LeafFacts)) {
    let village = code.get(0..12).filter(|_| code.len() >= 12);
    let township = code.get(0..9).filter(|_| code.len() >= 9);
    for key in [village, township].into_iter().flatten() {
        if let Some(l) = leaves.get_mut(key) {
            f(l);
        }
    }
}

async fn divisions(
    c: &mut Conn<'_>,
    scope: &Scope,
    today: NaiveDate,
) -> Result<HashMap<String, LeafFacts>> {
    let q = Query::select()
        .columns([
            Divisions::Code,
            Divisions::Kind,
            Divisions::Urban,
            Divisions::Population,
            Divisions::UrbanPopulation,
            Divisions::Households,
        ])
        .from(Divisions::Table)
        .cond_where(scope.condition(Divisions::Code))
        .and_where(Expr::col(Divisions::Kind).is_in([
            "street",
            "town",
            "township",
            "other_township",
            "community",
            "village",
        ]))
        .to_owned();
    let rows: Vec<(String, String, bool, i64, i64, i64)> = c.fetch_all(&q).await?;
    Ok(rows
        .into_iter()
        .filter_map(
            |(code, _kind, urban, population, urban_population, households)| {
                let kind = DivisionCode::parse(&code).ok()?.kind();
                let facts = LeafFacts {
                    kind,
                    urban,
                    population,
                    urban_population,
                    households,
                    facilities: Vec::new(),
                    workers: Vec::new(),
                    terminal_present: false,
                    attributes: AttributeFacts::default(),
                    designations: Vec::new(),
                    services: Default::default(),
                    today,
                };
                Some((code, facts))
            },
        )
        .collect())
}

/// Every facility under the scope with its spaces, functions and hours folded in.
/// Facilities built after `today`'s year do not count yet (so past months can be recomputed).
async fn facilities(
    c: &mut Conn<'_>,
    scope: &Scope,
    today: NaiveDate,
) -> Result<Vec<(String, FacilityFacts)>> {
    let q = Query::select()
        .columns([
            Facilities::Id,
            Facilities::DivisionCode,
            Facilities::Status,
            Facilities::YearBuilt,
            Facilities::FloorAreaX100,
        ])
        .from(Facilities::Table)
        .cond_where(scope.condition(Facilities::DivisionCode))
        .to_owned();
    let rows: Vec<(i64, String, String, Option<i32>, i64)> = c.fetch_all(&q).await?;
    let year = chrono::Datelike::year(&today);
    let mut by_id: HashMap<i64, (String, FacilityFacts)> = rows
        .into_iter()
        .map(|(id, code, status, built, floor)| {
            let in_use = status == "in_use" && built.is_none_or(|b| b <= year);
            (
                id,
                (
                    code,
                    FacilityFacts {
                        in_use,
                        floor_area_x100: floor,
                        ..Default::default()
                    },
                ),
            )
        })
        .collect();
    let joined = |table: FacilitySpaces| {
        Expr::col((table, FacilitySpaces::FacilityId)).equals((Facilities::Table, Facilities::Id))
    };
    let spaces = Query::select()
        .columns([
            (FacilitySpaces::Table, FacilitySpaces::FacilityId),
            (FacilitySpaces::Table, FacilitySpaces::Purpose),
            (FacilitySpaces::Table, FacilitySpaces::AreaX100),
        ])
        .from(FacilitySpaces::Table)
        .join(
            JoinType::InnerJoin,
            Facilities::Table,
            joined(FacilitySpaces::Table),
        )
        .cond_where(scope.condition((Facilities::Table, Facilities::DivisionCode)))
        .to_owned();
    for (id, purpose, area) in c.fetch_all::<(i64, String, i64)>(&spaces).await? {
        if let Some((_, f)) = by_id.get_mut(&id) {
            f.space_area_x100 += area;
            if purpose == "activity" {
                f.activity_area_x100 += area;
            }
        }
    }
    let functions = Query::select()
        .columns([
            (FacilityFunctions::Table, FacilityFunctions::FacilityId),
            (FacilityFunctions::Table, FacilityFunctions::FunctionCode),
            (FacilityFunctions::Table, FacilityFunctions::LandAreaX100),
        ])
        .from(FacilityFunctions::Table)
        .join(
            JoinType::InnerJoin,
            Facilities::Table,
            Expr::col((FacilityFunctions::Table, FacilityFunctions::FacilityId))
                .equals((Facilities::Table, Facilities::Id)),
        )
        .cond_where(scope.condition((Facilities::Table, Facilities::DivisionCode)))
        .to_owned();
    for (id, code, land) in c.fetch_all::<(i64, String, i64)>(&functions).await? {
        if let Some((_, f)) = by_id.get_mut(&id) {
            if FunctionCode::parse(&code).is_some_and(|fc| fc.is_elderly_care()) {
                f.elderly_land_x100 += land;
            }
            f.functions.push(code);
        }
    }
    let hours = Query::select()
        .columns([
            (FacilityHours::Table, FacilityHours::FacilityId),
            (FacilityHours::Table, FacilityHours::Weekday),
            (FacilityHours::Table, FacilityHours::OpensMin),
            (FacilityHours::Table, FacilityHours::ClosesMin),
        ])
        .from(FacilityHours::Table)
        .join(
            JoinType::InnerJoin,
            Facilities::Table,
            Expr::col((FacilityHours::Table, FacilityHours::FacilityId))
                .equals((Facilities::Table, Facilities::Id)),
        )
        .cond_where(scope.condition((Facilities::Table, Facilities::DivisionCode)))
        .to_owned();
    let mut intervals: HashMap<i64, Vec<Interval>> = HashMap::new();
    for (id, day, opens, closes) in c.fetch_all::<(i64, i32, i32, i32)>(&hours).await? {
        let iv = Interval {
            weekday: day.clamp(1, 7) as u8,
            opens: opens.clamp(0, 1440) as u16,
            closes: closes.clamp(0, 1440) as u16,
        };
        intervals.entry(id).or_default().push(iv);
    }
    for (id, (_, f)) in by_id.iter_mut() {
        f.open_8h = intervals.get(id).is_some_and(|iv| opens_eight_hours(iv));
    }
    Ok(by_id.into_values().collect())
}

async fn workers(c: &mut Conn<'_>, scope: &Scope) -> Result<Vec<(String, WorkerFacts)>> {
    let q = Query::select()
        .columns([
            Workers::DivisionCode,
            Workers::HireDate,
            Workers::MentorId,
            Workers::Active,
        ])
        .from(Workers::Table)
        .cond_where(scope.condition(Workers::DivisionCode))
        .to_owned();
    let rows: Vec<(String, NaiveDate, Option<i64>, bool)> = c.fetch_all(&q).await?;
    Ok(rows
        .into_iter()
        .map(|(code, hire_date, mentor, active)| {
            (
                code,
                WorkerFacts {
                    hire_date,
                    has_mentor: mentor.is_some(),
                    active,
                },
            )
        })
        .collect())
}

async fn terminals(c: &mut Conn<'_>, scope: &Scope, now: DateTime<Utc>) -> Result<Vec<String>> {
    let q = Query::select()
        .distinct()
        .column(Terminals::DivisionCode)
        .from(Terminals::Table)
        .cond_where(scope.condition(Terminals::DivisionCode))
        .and_where(Expr::col(Terminals::LastSeenAt).gte(now - Duration::days(TERMINAL_FRESH_DAYS)))
        .to_owned();
    let rows: Vec<(String,)> = c.fetch_all(&q).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

type AttrRow = (String, bool, i64, i64, bool, bool, String);

async fn attributes(
    c: &mut Conn<'_>,
    scope: &Scope,
) -> Result<Vec<(String, AttributeFacts, Vec<String>)>> {
    let q = Query::select()
        .columns([
            DivisionAttributes::DivisionCode,
            DivisionAttributes::NewBuild,
            DivisionAttributes::BuildingAreaX100,
            DivisionAttributes::CommercialAreaX100,
            DivisionAttributes::Broadband,
            DivisionAttributes::FiveG,
            DivisionAttributes::Designations,
        ])
        .from(DivisionAttributes::Table)
        .cond_where(scope.condition(DivisionAttributes::DivisionCode))
        .to_owned();
    let rows: Vec<AttrRow> = c.fetch_all(&q).await?;
    Ok(rows
        .into_iter()
        .map(
            |(code, new_build, building, commercial, broadband, five_g, designations)| {
                let attrs = AttributeFacts {
                    new_build,
                    building_area_x100: building,
                    commercial_area_x100: commercial,
                    broadband,
                    five_g,
                };
                let ds = designations
                    .split(',')
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned)
                    .collect();
                (code, attrs, ds)
            },
        )
        .collect())
}
