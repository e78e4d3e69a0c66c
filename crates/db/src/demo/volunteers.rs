//! Demo volunteers: about a tenth of the registered adult residents (18–70)
//! become volunteers, linked to their `people` row and reusing its sealed ID and
//! phone (the same field names seal both, so the ciphertexts are copied as they
//! are); a general team and an 应急救援队 per township; a station in every
//! facility that carries the `volunteer_station` function; a year of activities
//! (four per village/community per month, two at small scale) with sign-ups,
//! confirmed hours, some no-shows and a few logged corrections; and upcoming
//! activities over the next two weeks with open sign-ups.
//!
//! The demo login `volunteer` is linked to a volunteer of 430502001001 who
//! takes part in every activity there, so their record shows confirmed hours
//! and an upcoming activity.
//!
//! Everything is generated in memory with explicit ids and stored with
//! multi-row inserts, many rows per statement and per transaction.

use super::ratings::{Ty, insert_json, ts as jts};
use crate::audit::{self, Event};
use crate::people::People;
use crate::scope::Actor;
use crate::volunteers::{
    VolunteerActivities, VolunteerHourCorrections, VolunteerSignups, VolunteerStations,
    VolunteerTeamMembers, VolunteerTeams, Volunteers, raise_counter,
};
use crate::{Backend, Conn, Db, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, Iden, InsertStatement, JoinType, Order, Query, SimpleExpr};
use shequ_core::crypto::Protector;
use shequ_core::rng::SeededRng;
use shequ_core::volunteers::{self as core, ActivityState, Category, SignupState, TeamKind};
use std::collections::{BTreeMap, HashMap};

/// The village the demo `volunteer` login belongs to.
pub const LOGIN_VILLAGE: &str = "430502001001";
/// Share of adult residents who register.
const SHARE: u64 = 10;
/// Rows per multi-row insert.
const CHUNK: usize = 1_000;

#[derive(Iden, Clone, Copy)]
enum Facilities {
    Table,
    Id,
    DivisionCode,
    Name,
}

#[derive(Iden, Clone, Copy)]
enum FacilityFunctions {
    Table,
    FacilityId,
    FunctionCode,
}

#[derive(Iden, Clone, Copy)]
enum Users {
    Table,
    Id,
    Username,
}

/// What was loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub volunteers: usize,
    pub teams: usize,
    pub members: usize,
    pub stations: usize,
    pub activities: usize,
    pub upcoming: usize,
    pub signups: usize,
    pub confirmed: usize,
    pub no_shows: usize,
    pub corrections: usize,
    /// The volunteer record the `volunteer` login was linked to.
    pub login_volunteer: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct PersonPick {
    id: i64,
    division_code: String,
    name: String,
    gender: String,
    birth_date: NaiveDate,
    id_number_enc: Vec<u8>,
    id_number_index: String,
    id_number_masked: String,
    phone_enc: Option<Vec<u8>>,
    phone_masked: Option<String>,
}

struct Vol {
    id: i64,
    village: String,
    young: bool,
}

const SKILLS: [&str; 12] = [
    "急救",
    "理发",
    "陪诊",
    "助餐",
    "法律咨询",
    "心理疏导",
    "家电维修",
    "文艺",
    "书法",
    "摄影",
    "驾驶",
    "电脑",
];
const AVAILABILITY: [&str; 5] = ["周末上午", "周末下午", "工作日晚上", "随时", "节假日"];

/// Titles by category: (category, elder care, titles).
const TITLES: [(Category, bool, &[&str]); 6] = [
    (
        Category::ElderCare,
        true,
        &[
            "独居老人上门探访",
            "为老人义务理发",
            "助老送餐",
            "陪同老人就医",
        ],
    ),
    (
        Category::Environment,
        false,
        &["小区环境清扫", "垃圾分类宣传", "河道巡护"],
    ),
    (
        Category::Civility,
        false,
        &["新时代文明实践宣讲", "移风易俗宣传"],
    ),
    (Category::Safety, false, &["平安巡逻", "防诈骗宣传"]),
    (
        Category::ChildCare,
        false,
        &["留守儿童课业辅导", "四点半课堂"],
    ),
    (Category::Health, false, &["义诊服务", "健康知识讲座"]),
];

/// An activity row for the JSON bulk insert, in column order.
#[derive(serde::Serialize)]
struct ActJson(
    i64,
    &'static str,
    String,
    &'static str,
    String,
    Option<i64>,
    String,
    String,
    String,
    String,
    i64,
    &'static str,
    bool,
    String,
    &'static str,
    String,
    String,
);

/// A sign-up row for the JSON bulk insert, in column order.
type SignupJson = (
    i64,
    i64,
    i64,
    &'static str,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

fn ts(t: DateTime<Utc>) -> SimpleExpr {
    t.into()
}

async fn max_id<T: Iden + Copy + 'static>(c: &mut Conn<'_>, table: T) -> Result<i64> {
    let q = Query::select()
        .expr(Expr::col(sea_query::Alias::new("id")).max())
        .from(table)
        .to_owned();
    c.fetch_i64(&q).await
}

/// Move a PostgreSQL identity past explicitly inserted ids.
async fn bump(c: &mut Conn<'_>, table: &str) -> Result<()> {
    if c.backend() != Backend::Postgres {
        return Ok(());
    }
    let q = Query::select()
        .expr(Expr::cust(format!(
            "setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT MAX(id) FROM {table}), 1))"
        )))
        .to_owned();
    c.fetch_i64(&q).await?;
    Ok(())
}

async fn run_chunks(
    c: &mut Conn<'_>,
    base: &InsertStatement,
    rows: Vec<Vec<SimpleExpr>>,
) -> Result<()> {
    for chunk in rows.chunks(CHUNK) {
        let mut ins = base.clone();
        for r in chunk {
            ins.values_panic(r.iter().cloned());
        }
        c.execute(&ins).await?;
    }
    Ok(())
}

/// Load demo volunteers; see the module documentation.
pub async fn load(db: &Db, key: &Protector, seed: u64, now: DateTime<Utc>) -> Result<Summary> {
    let _ = key;
    let mut rng = SeededRng::new(seed).fork("volunteers");
    let all = crate::divisions::all(&mut db.conn()).await?;
    let names: HashMap<&str, &str> = all
        .iter()
        .map(|d| (d.code.as_str(), d.name.as_str()))
        .collect();
    let villages: Vec<&str> = all
        .iter()
        .filter(|d| d.level == "village")
        .map(|d| d.code.as_str())
        .collect();
    let small = villages.len() < 1_000;
    let mut summary = Summary::default();

    // People who register: every tenth id (by a seeded offset), aged 18–70.
    let k = seed % SHARE;
    let q = Query::select()
        .columns([
            People::Id,
            People::DivisionCode,
            People::Name,
            People::Gender,
            People::BirthDate,
            People::IdNumberEnc,
            People::IdNumberIndex,
            People::IdNumberMasked,
            People::PhoneEnc,
            People::PhoneMasked,
        ])
        .from(People::Table)
        .and_where(Expr::col(People::Id).modulo(SHARE as i64).eq(k as i64))
        .order_by(People::DivisionCode, Order::Asc)
        .order_by(People::Id, Order::Asc)
        .to_owned();
    let picked: Vec<PersonPick> = db.conn().fetch_all(&q).await?;
    let today = now.date_naive();
    let age = |b: NaiveDate| today.years_since(b).unwrap_or(0);
    let mut picked: Vec<PersonPick> = picked
        .into_iter()
        .filter(|p| (18..=70).contains(&age(p.birth_date)))
        .collect();
    // The demo login's village always has a volunteer for it (small demos
    // may draw nobody there).
    if !picked
        .iter()
        .any(|p| p.division_code.starts_with(LOGIN_VILLAGE))
    {
        let q = Query::select()
            .columns([
                People::Id,
                People::DivisionCode,
                People::Name,
                People::Gender,
                People::BirthDate,
                People::IdNumberEnc,
                People::IdNumberIndex,
                People::IdNumberMasked,
                People::PhoneEnc,
                People::PhoneMasked,
            ])
            .from(People::Table)
            .and_where(Expr::col(People::DivisionCode).gte(LOGIN_VILLAGE))
            .and_where(Expr::col(People::DivisionCode).lt(format!("{LOGIN_VILLAGE}:")))
            .order_by(People::Id, Order::Asc)
            .to_owned();
        let there: Vec<PersonPick> = db.conn().fetch_all(&q).await?;
        if let Some(p) = there
            .into_iter()
            .find(|p| (18..=70).contains(&age(p.birth_date)))
        {
            let at = picked
                .iter()
                .position(|q| q.division_code.as_str() > p.division_code.as_str())
                .unwrap_or(picked.len());
            picked.insert(at, p);
        }
    }

    let mut tx = db.begin().await?;
    let mut c = tx.conn();
    let mut next_vol = max_id(&mut c, Volunteers::Table).await? + 1;
    let mut counters: BTreeMap<String, i64> = BTreeMap::new();
    let mut vols: Vec<Vol> = Vec::with_capacity(picked.len());
    let mut rows = Vec::with_capacity(picked.len());
    for p in &picked {
        let county = p.division_code.get(0..6).unwrap_or_default().to_owned();
        let seq = counters.entry(county.clone()).or_insert(0);
        *seq += 1;
        let Some(number) = u32::try_from(*seq)
            .ok()
            .and_then(|s| core::volunteer_no(&county, s))
        else {
            continue;
        };
        let id = next_vol;
        next_vol += 1;
        let registered = now - Duration::days(rng.range(30, 1_500));
        let n_skills = rng.range(1, 3) as usize;
        let mut skills: Vec<&str> = Vec::new();
        for _ in 0..n_skills {
            if let Some(s) = rng.pick(&SKILLS)
                && !skills.contains(s)
            {
                skills.push(s);
            }
        }
        rows.push(vec![
            id.into(),
            number.into(),
            p.id.into(),
            Option::<i64>::None.into(),
            p.name.clone().into(),
            p.gender.clone().into(),
            p.birth_date.into(),
            p.id_number_enc.clone().into(),
            p.id_number_index.clone().into(),
            p.id_number_masked.clone().into(),
            p.phone_enc.clone().into(),
            p.phone_masked.clone().into(),
            p.division_code.clone().into(),
            skills.join(",").into(),
            rng.pick(&AVAILABILITY).copied().unwrap_or("随时").into(),
            ts(registered),
            "active".into(),
            ts(registered),
            ts(registered),
        ]);
        vols.push(Vol {
            id,
            village: p.division_code.get(0..12).unwrap_or_default().to_owned(),
            young: age(p.birth_date) < 55,
        });
    }
    let base = Query::insert()
        .into_table(Volunteers::Table)
        .columns([
            Volunteers::Id,
            Volunteers::VolunteerNo,
            Volunteers::PersonId,
            Volunteers::UserId,
            Volunteers::Name,
            Volunteers::Gender,
            Volunteers::BirthDate,
            Volunteers::IdNumberEnc,
            Volunteers::IdNumberIndex,
            Volunteers::IdNumberMasked,
            Volunteers::PhoneEnc,
            Volunteers::PhoneMasked,
            Volunteers::DivisionCode,
            Volunteers::Skills,
            Volunteers::Availability,
            Volunteers::ConsentAt,
            Volunteers::Status,
            Volunteers::CreatedAt,
            Volunteers::UpdatedAt,
        ])
        .to_owned();
    summary.volunteers = rows.len();
    run_chunks(&mut c, &base, rows).await?;
    for (county, seq) in &counters {
        raise_counter(&mut c, county, *seq).await?;
    }
    bump(&mut c, "volunteers").await?;

    // The demo login: the first volunteer of its village.
    let login_vol = vols
        .iter()
        .find(|v| v.village == LOGIN_VILLAGE)
        .map(|v| v.id);
    if let Some(vid) = login_vol {
        let q = Query::select()
            .column(Users::Id)
            .from(Users::Table)
            .and_where(Expr::col(Users::Username).eq("volunteer"))
            .to_owned();
        let user: Option<(i64,)> = c.fetch_optional(&q).await?;
        if let Some((uid,)) = user {
            let upd = Query::update()
                .table(Volunteers::Table)
                .value(Volunteers::UserId, uid)
                .and_where(Expr::col(Volunteers::Id).eq(vid))
                .to_owned();
            c.execute(&upd).await?;
            summary.login_volunteer = Some(vid);
        }
    }

    // Teams: a general team and an 应急救援队 per township.
    let mut next_team = max_id(&mut c, VolunteerTeams::Table).await? + 1;
    let mut team_rows = Vec::new();
    let mut member_rows = Vec::new();
    let mut by_township: BTreeMap<&str, Vec<&Vol>> = BTreeMap::new();
    for v in &vols {
        by_township
            .entry(v.village.get(0..9).unwrap_or_default())
            .or_default()
            .push(v);
    }
    for (township, members) in &by_township {
        let tname = names.get(township).copied().unwrap_or(township);
        for (kind, suffix) in [
            (TeamKind::General, "志愿服务队"),
            (TeamKind::EmergencyRescue, "应急救援队"),
        ] {
            let id = next_team;
            next_team += 1;
            let chosen: Vec<&&Vol> = members
                .iter()
                .filter(|v| match kind {
                    TeamKind::EmergencyRescue => v.young && rng.chance(0.12),
                    _ => rng.chance(0.6),
                })
                .collect();
            let leader = chosen.first().map(|v| v.id);
            team_rows.push(vec![
                id.into(),
                format!("{tname}{suffix}").into(),
                kind.as_str().into(),
                (*township).into(),
                leader.into(),
                ts(now - Duration::days(400)),
            ]);
            for v in chosen {
                member_rows.push(vec![
                    id.into(),
                    v.id.into(),
                    ts(now - Duration::days(rng.range(1, 390))),
                ]);
            }
        }
    }
    summary.teams = team_rows.len();
    summary.members = member_rows.len();
    let base = Query::insert()
        .into_table(VolunteerTeams::Table)
        .columns([
            VolunteerTeams::Id,
            VolunteerTeams::Name,
            VolunteerTeams::Kind,
            VolunteerTeams::DivisionCode,
            VolunteerTeams::LeaderVolunteerId,
            VolunteerTeams::CreatedAt,
        ])
        .to_owned();
    run_chunks(&mut c, &base, team_rows).await?;
    let base = Query::insert()
        .into_table(VolunteerTeamMembers::Table)
        .columns([
            VolunteerTeamMembers::TeamId,
            VolunteerTeamMembers::VolunteerId,
            VolunteerTeamMembers::JoinedAt,
        ])
        .to_owned();
    run_chunks(&mut c, &base, member_rows).await?;
    bump(&mut c, "volunteer_teams").await?;

    // Stations: every facility already carrying the volunteer-station function.
    let q = Query::select()
        .column((Facilities::Table, Facilities::Id))
        .column((Facilities::Table, Facilities::DivisionCode))
        .column((Facilities::Table, Facilities::Name))
        .from(Facilities::Table)
        .join(
            JoinType::InnerJoin,
            FacilityFunctions::Table,
            Expr::col((FacilityFunctions::Table, FacilityFunctions::FacilityId))
                .equals((Facilities::Table, Facilities::Id)),
        )
        .and_where(
            Expr::col((FacilityFunctions::Table, FacilityFunctions::FunctionCode))
                .eq(crate::volunteers::STATION_FUNCTION),
        )
        .order_by((Facilities::Table, Facilities::Id), Order::Asc)
        .to_owned();
    let facilities: Vec<(i64, String, String)> = c.fetch_all(&q).await?;
    let mut station_of: HashMap<String, i64> = HashMap::new();
    let mut next_station = max_id(&mut c, VolunteerStations::Table).await? + 1;
    let mut station_rows = Vec::new();
    for (fid, division, fname) in &facilities {
        let id = next_station;
        next_station += 1;
        station_of
            .entry(division.get(0..12).unwrap_or(division).to_owned())
            .or_insert(id);
        station_rows.push(vec![
            id.into(),
            (*fid).into(),
            format!("{fname}志愿服务站").into(),
            division.clone().into(),
            ts(now - Duration::days(rng.range(60, 900))),
        ]);
    }
    summary.stations = station_rows.len();
    let base = Query::insert()
        .into_table(VolunteerStations::Table)
        .columns([
            VolunteerStations::Id,
            VolunteerStations::FacilityId,
            VolunteerStations::Name,
            VolunteerStations::DivisionCode,
            VolunteerStations::OpenedAt,
        ])
        .to_owned();
    run_chunks(&mut c, &base, station_rows).await?;
    bump(&mut c, "volunteer_stations").await?;
    tx.commit().await?;

    // Activities and sign-ups, village by village.
    let mut by_village: HashMap<&str, Vec<i64>> = HashMap::new();
    for v in &vols {
        by_village.entry(v.village.as_str()).or_default().push(v.id);
    }
    let per_month: i64 = if small { 2 } else { 4 };
    let (mut next_act, mut next_signup, mut next_corr) = {
        let mut c = db.conn();
        (
            max_id(&mut c, VolunteerActivities::Table).await? + 1,
            max_id(&mut c, VolunteerSignups::Table).await? + 1,
            max_id(&mut c, VolunteerHourCorrections::Table).await? + 1,
        )
    };
    let mut acts: Vec<ActJson> = Vec::new();
    let mut signups: Vec<SignupJson> = Vec::new();
    let mut corrections = Vec::new();
    let local = |d: NaiveDate, minute: i64| {
        d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - Duration::hours(8)
            + Duration::minutes(minute)
    };
    let today_local = (now + Duration::hours(8)).date_naive();
    for village in &villages {
        let Some(members) = by_village.get(village) else {
            continue;
        };
        let login_here = if *village == LOGIN_VILLAGE {
            login_vol
        } else {
            None
        };
        let station = station_of.get(*village).copied();
        let vname = names.get(village).copied().unwrap_or(village);
        // Days: one slot per week-ish, past year plus the next two weeks.
        let mut days: Vec<NaiveDate> = Vec::new();
        for m in 0..12 {
            let first = today_local - Duration::days(30 * (12 - m));
            for w in 0..per_month {
                let d = first + Duration::days(w * (30 / per_month) + rng.range(0, 3));
                if d < today_local {
                    days.push(d);
                }
            }
        }
        for w in 0..2 {
            days.push(today_local + Duration::days(1 + w * 7 + rng.range(0, 4)));
        }
        days.sort_unstable();
        days.dedup();
        for d in days {
            let Some((cat, elder, titles)) = rng.pick(&TITLES).copied() else {
                continue;
            };
            let title = rng.pick(titles).copied().unwrap_or("志愿服务");
            let start_min = if rng.chance(0.5) {
                9 * 60
            } else {
                14 * 60 + 30
            };
            let len = [90i64, 120, 150, 180][rng.range(0, 3) as usize];
            let starts = local(d, start_min);
            let ends = starts + Duration::minutes(len);
            let past = ends <= now;
            let quota = rng.range(4, 12);
            let id = next_act;
            next_act += 1;
            acts.push(ActJson(
                id,
                title,
                format!("{vname}{title}"),
                "division",
                (*village).to_owned(),
                station,
                (*village).to_owned(),
                format!("{vname}党群服务中心"),
                jts(starts),
                jts(ends),
                quota,
                cat.as_str(),
                elder,
                core::checkin_code(rng.next_u64()),
                if past {
                    ActivityState::Finished.as_str()
                } else {
                    ActivityState::Published.as_str()
                },
                jts(starts - Duration::days(rng.range(5, 14))),
                jts(starts - Duration::days(4)),
            ));
            if !past {
                summary.upcoming += 1;
            }
            // Sign-ups: the login's volunteer always, then others up to the quota.
            let want = rng.range(2, std::cmp::min(quota, 6)) as usize;
            let mut chosen: Vec<i64> = login_here.into_iter().collect();
            let mut tries = 0;
            while chosen.len() < want.min(members.len()) && tries < want * 4 {
                tries += 1;
                if let Some(v) = rng.pick(members)
                    && !chosen.contains(v)
                {
                    chosen.push(*v);
                }
            }
            for vid in chosen {
                let sid = next_signup;
                next_signup += 1;
                let signed = starts - Duration::days(rng.range(1, 4));
                let forced = Some(vid) == login_here;
                let roll = rng.unit();
                let (state, cin, cout, minutes) = if !past {
                    (SignupState::SignedUp, None, None, None)
                } else if !forced && roll < 0.08 {
                    (SignupState::NoShow, None, None, None)
                } else if !forced && roll < 0.12 {
                    (SignupState::Cancelled, None, None, None)
                } else {
                    let cin = starts - Duration::minutes(rng.range(0, 25));
                    let cout = ends - Duration::minutes(rng.range(0, 20))
                        + Duration::minutes(rng.range(0, 30));
                    let p = core::Period {
                        starts_at: starts,
                        ends_at: ends,
                    };
                    let m = core::default_minutes(&p, Some(cin), Some(cout));
                    (SignupState::Completed, Some(cin), Some(cout), Some(m))
                };
                match state {
                    SignupState::Completed => summary.confirmed += 1,
                    SignupState::NoShow => summary.no_shows += 1,
                    _ => {}
                }
                let confirmed_at = minutes.map(|_| ends + Duration::hours(rng.range(2, 48)));
                let mut final_minutes = minutes;
                if let Some(m) = minutes
                    && rng.chance(0.005)
                {
                    let new = std::cmp::max(m - rng.range(10, 40), 0);
                    corrections.push(vec![
                        next_corr.into(),
                        sid.into(),
                        i32::try_from(m).ok().into(),
                        i32::try_from(new).unwrap_or(0).into(),
                        "志愿者申请更正：提前离场".into(),
                        Option::<i64>::None.into(),
                        ts(ends + Duration::days(3)),
                    ]);
                    next_corr += 1;
                    final_minutes = Some(new);
                }
                signups.push((
                    sid,
                    id,
                    vid,
                    state.as_str(),
                    jts(signed),
                    cin.map(jts),
                    cout.map(jts),
                    final_minutes,
                    confirmed_at.map(jts),
                ));
            }
        }
    }
    summary.activities = acts.len();
    summary.signups = signups.len();
    summary.corrections = corrections.len();
    let corr_base = Query::insert()
        .into_table(VolunteerHourCorrections::Table)
        .columns([
            VolunteerHourCorrections::Id,
            VolunteerHourCorrections::SignupId,
            VolunteerHourCorrections::OldMinutes,
            VolunteerHourCorrections::NewMinutes,
            VolunteerHourCorrections::Reason,
            VolunteerHourCorrections::ByUser,
            VolunteerHourCorrections::At,
        ])
        .to_owned();
    let mut tx = db.begin().await?;
    let mut c = tx.conn();
    let act_cols = [
        ("id", Ty::BigInt),
        ("title", Ty::Text),
        ("description", Ty::Text),
        ("organizer_kind", Ty::Text),
        ("organizer_division_code", Ty::Text),
        ("station_id", Ty::BigInt),
        ("division_code", Ty::Text),
        ("place", Ty::Text),
        ("starts_at", Ty::Time),
        ("ends_at", Ty::Time),
        ("quota", Ty::Int),
        ("category", Ty::Text),
        ("elder_care", Ty::Bool),
        ("checkin_code", Ty::Text),
        ("state", Ty::Text),
        ("created_at", Ty::Time),
        ("updated_at", Ty::Time),
    ];
    insert_json(&mut c, "volunteer_activities", &act_cols, &acts, None).await?;
    let signup_cols = [
        ("id", Ty::BigInt),
        ("activity_id", Ty::BigInt),
        ("volunteer_id", Ty::BigInt),
        ("state", Ty::Text),
        ("signed_up_at", Ty::Time),
        ("checkin_at", Ty::Time),
        ("checkout_at", Ty::Time),
        ("minutes", Ty::Int),
        ("confirmed_at", Ty::Time),
    ];
    insert_json(&mut c, "volunteer_signups", &signup_cols, &signups, None).await?;
    run_chunks(&mut c, &corr_base, corrections).await?;
    bump(&mut c, "volunteer_activities").await?;
    bump(&mut c, "volunteer_signups").await?;
    bump(&mut c, "volunteer_hour_corrections").await?;
    let ev = Event::new("demo_volunteers_load", "volunteer", "").detail(serde_json::json!({
        "volunteers": summary.volunteers, "teams": summary.teams, "stations": summary.stations,
        "activities": summary.activities, "signups": summary.signups, "seed": seed,
        "year": now.year(),
    }));
    audit::append(&mut c, &Actor::system(), ev, now).await?;
    tx.commit().await?;
    Ok(summary)
}
