//! Demo data for `care`: the roster synced from the demo residents, visitors (the
//! demo grid worker and community worker for their own area), a year of visits with
//! realistic gaps (most communities visit nearly everyone every month, some villages
//! lag, high-tier weekly visits are sometimes missed or replaced by a phone call),
//! this month's plan, and the monthly aggregate for every month written.

use crate::care::{
    self, CareSubjects, CareVisits, bulk,
    bulk::{Rows, Ty},
};
use crate::scope::{Actor, Scope};
use crate::{Conn, Db, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, Query};
use shequ_core::care::{CareSettings, Channel, Month, Tier, local_date, start_of, week_start};
use shequ_core::crypto::Protector;
use shequ_core::rng::SeededRng;
use shequ_core::{DivisionCode, Role};
use std::collections::{BTreeMap, HashMap};

/// The demo grid worker's grid and community.
const DEMO_GRID: &str = "430502001001001";
const DEMO_VILLAGE: &str = "430502001001";

/// What the demo stored.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub subjects: i64,
    pub high: usize,
    pub assigned: u64,
    pub visits: usize,
    pub months: usize,
    pub plan_rows: usize,
    pub linked_orders: usize,
}

#[derive(Debug, sqlx::FromRow)]
struct Sub {
    id: i64,
    division_code: String,
    village_code: String,
    tier: String,
    joined_on: NaiveDate,
}

const SURNAMES: [&str; 16] = [
    "李", "王", "刘", "陈", "张", "杨", "周", "曾", "罗", "谢", "邓", "彭", "唐", "肖", "蒋", "胡",
];
const GIVEN: [&str; 16] = [
    "芳", "敏", "静", "丽", "强", "军", "艳", "娟", "红", "文", "辉", "玲", "春", "梅", "兰", "华",
];

/// Load the care demo over the residents already loaded. Needs the demo logins for
/// the grid worker's assignments (skipped when they are absent).
pub async fn load(db: &Db, key: &Protector, seed: u64, now: DateTime<Utc>) -> Result<Summary> {
    let mut rng = SeededRng::new(seed).fork("care");

    let today = local_date(now);
    let this_month = Month::of(today);
    let mut first = this_month;
    for _ in 0..11 {
        first = first.prev();
    }
    let Some(root) = crate::divisions::roots(&mut db.conn())
        .await?
        .into_iter()
        .find_map(|d| DivisionCode::parse(&d.code).ok())
    else {
        return Ok(Summary::default());
    };
    let scope = Scope::new(root, Role::CityStaff, Actor::system());
    // The roster as it stood a year ago, then as it stands now.
    let mut tx = db.begin().await?;
    care::sync(
        &mut tx.conn(),
        &scope,
        key,
        start_of(first.first()) + Duration::hours(9),
    )
    .await?;
    care::sync(&mut tx.conn(), &scope, key, now).await?;
    tx.commit().await?;
    let mut summary = Summary::default();
    let subjects: Vec<Sub> = db
        .conn()
        .fetch_all(
            &Query::select()
                .columns([
                    CareSubjects::Id,
                    CareSubjects::DivisionCode,
                    CareSubjects::VillageCode,
                    CareSubjects::Tier,
                    CareSubjects::JoinedOn,
                ])
                .from(CareSubjects::Table)
                .and_where(Expr::col(CareSubjects::Status).eq(care::ACTIVE))
                .order_by(CareSubjects::Id, sea_query::Order::Asc)
                .to_owned(),
        )
        .await?;
    summary.subjects = subjects.len() as i64;
    // The demo grid worker and community worker visit their own area.
    let grid_login = login(db, "grid").await?;
    let grid_user = grid_login.as_ref().map(|l| l.0);
    let grid_name = grid_login.map_or_else(|| "网格员".to_owned(), |l| l.1);
    let community_user = login(db, "community").await?.map(|l| l.0);
    let mut tx = db.begin().await?;
    let mut mine: Vec<i64> = subjects
        .iter()
        .filter(|s| s.division_code == DEMO_GRID)
        .map(|s| s.id)
        .collect();
    if mine.is_empty() {
        mine = subjects
            .iter()
            .filter(|s| s.village_code == DEMO_VILLAGE)
            .take(5)
            .map(|s| s.id)
            .collect();
    }
    let mut high_override = None;
    if let Some(u) = grid_user {
        let pairs: Vec<(i64, i64)> = mine.iter().map(|s| (*s, u)).collect();
        summary.assigned += care::insert_assignments(&mut tx.conn(), &pairs, now).await?;
        // Make sure the grid worker has a weekly visit due this week.
        let has_high = subjects
            .iter()
            .any(|s| mine.contains(&s.id) && s.tier == Tier::High.as_str());
        if let (false, Some(first_mine)) = (has_high, mine.first()) {
            care::set_tier(&mut tx.conn(), &scope, *first_mine, Some(Tier::High), now).await?;
            high_override = Some(*first_mine);
        }
    }
    if let Some(u) = community_user {
        let pairs: Vec<(i64, i64)> = subjects
            .iter()
            .filter(|s| s.village_code == DEMO_VILLAGE)
            .map(|s| (s.id, u))
            .collect();
        summary.assigned += care::insert_assignments(&mut tx.conn(), &pairs, now).await?;
    }
    tx.commit().await?;
    // Villages: a few lag behind, most visit nearly everyone.
    let mut villages: HashMap<String, Village> = HashMap::new();
    let centroids = centroids(db).await?;
    for s in &subjects {
        if !villages.contains_key(s.village_code.as_str()) {
            let lag = if rng.chance(0.08) {
                0.15 + rng.unit() * 0.3
            } else if rng.chance(0.3) {
                rng.unit() * 0.05
            } else {
                0.0
            };
            let name = format!(
                "{}{}{}",
                rng.pick(&SURNAMES).copied().unwrap_or("李"),
                rng.pick(&GIVEN).copied().unwrap_or("华"),
                rng.pick(&GIVEN).copied().unwrap_or("明")
            );
            villages.insert(
                s.village_code.clone(),
                Village {
                    lag,
                    visitor: name,
                    centroid: centroids.get(&s.village_code).copied(),
                },
            );
        }
    }
    // Generate on a blocking thread while this task writes what it hands over.
    let plan_in = History {
        rng,
        subjects,
        villages,
        orders: elderly_orders(db).await?,
        mine: mine.iter().copied().collect(),
        grid_user,
        grid_name,
        high_override,
        first,
        this_month,
        today,
    };
    let (send, mut recv) = tokio::sync::mpsc::channel::<String>(4);
    let producer = tokio::task::spawn_blocking(move || history(plan_in, &send));
    while let Some(rows) = recv.recv().await {
        insert_visits(&mut db.conn(), rows).await?;
    }
    let (subjects, monthly, visits, linked) = producer
        .await
        .map_err(|e| crate::DbError::Conflict(format!("演示探访记录生成失败：{e}")))?;
    summary.visits = visits;
    summary.linked_orders = linked;
    // The aggregate for every month, last visits, and this month's plan.
    let mut tx = db.begin().await?;
    for (m, rows) in &monthly {
        care::put_monthly(&mut tx.conn(), *m, rows).await?;
    }
    summary.months = monthly.len();
    tx.conn()
        .execute(
            &Query::update()
                .table(CareSubjects::Table)
                .value(
                    CareSubjects::LastVisitAt,
                    Expr::cust(
                        "(SELECT MAX(v.visited_at) FROM care_visits v \
                         WHERE v.subject_id = care_subjects.id AND v.valid)",
                    ),
                )
                .to_owned(),
        )
        .await?;
    let plan = care::generate_plan(&mut tx.conn(), &scope, this_month, now).await?;
    summary.plan_rows = plan.due;
    // The demo community's next month too, so its visitors see the week ahead.
    if let Ok(v) = DivisionCode::parse(DEMO_VILLAGE) {
        let local = Scope::new(v, Role::CommunityStaff, Actor::system());
        let next = care::generate_plan(&mut tx.conn(), &local, this_month.next(), now).await?;
        summary.plan_rows += next.due;
    }
    tx.commit().await?;
    summary.high = subjects
        .iter()
        .filter(|s| s.tier == Tier::High.as_str() || Some(s.id) == high_override)
        .count();
    Ok(summary)
}

/// What the history generator works from.
struct History {
    rng: SeededRng,
    subjects: Vec<Sub>,
    villages: HashMap<String, Village>,
    orders: HashMap<String, Vec<i64>>,
    mine: std::collections::HashSet<i64>,
    grid_user: Option<i64>,
    grid_name: String,
    high_override: Option<i64>,
    first: Month,
    this_month: Month,
    today: NaiveDate,
}

type Monthly = BTreeMap<Month, BTreeMap<String, (i64, i64)>>;

/// A year of visits, month by month, handed over in JSON batches; returns the
/// subjects, the per-village monthly counts, the number of visits and of linked orders.
fn history(
    h: History,
    send: &tokio::sync::mpsc::Sender<String>,
) -> (Vec<Sub>, Monthly, usize, usize) {
    let History {
        mut rng,
        subjects,
        villages,
        mut orders,
        mine,
        grid_user,
        grid_name,
        high_override,
        first,
        this_month,
        today,
    } = h;
    let rules = CareSettings::default();
    let current_week = week_start(today);
    let mut monthly: Monthly = BTreeMap::new();
    let (mut visits, mut linked) = (0usize, 0usize);
    let mut m = first;
    loop {
        let (start, end) = (
            m.first(),
            std::cmp::min(m.last(), today - Duration::days(1)),
        );
        let mut rows = Rows::new();
        let mut n = 0usize;
        let agg = monthly.entry(m).or_default();
        for s in &subjects {
            if s.joined_on > m.last() {
                continue;
            }
            let v = villages.get(s.village_code.as_str());
            let lag = v.map_or(0.0, |v| v.lag);
            let tier = if Some(s.id) == high_override {
                Tier::High
            } else {
                Tier::parse(&s.tier).unwrap_or(Tier::General)
            };
            let entry = agg.entry(s.village_code.clone()).or_default();
            entry.0 += 1;
            if end < start {
                continue;
            }
            let mut days: Vec<(NaiveDate, Channel)> = Vec::new();
            let from = std::cmp::max(start, s.joined_on);
            match tier {
                Tier::High => {
                    let mut d = from;
                    while d <= end {
                        let wk = week_start(d);
                        let last_day = std::cmp::min(wk + Duration::days(6), end);
                        if wk < current_week {
                            if rng.chance(0.86 - lag) {
                                let at =
                                    d + Duration::days(rng.range(0, (last_day - d).num_days()));
                                days.push((
                                    at,
                                    if rng.chance(0.85) {
                                        Channel::Home
                                    } else {
                                        Channel::Video
                                    },
                                ));
                            } else if rng.chance(0.4) {
                                days.push((last_day, Channel::Phone));
                            }
                        }
                        d = wk + Duration::days(7);
                    }
                }
                Tier::Key | Tier::General => {
                    let month_done = m != this_month || today.day() > 20;
                    let p = if month_done { 0.985 - lag } else { 0.6 - lag };
                    if from <= end && rng.chance(p) {
                        let at = from + Duration::days(rng.range(0, (end - from).num_days()));
                        let ch = match (tier, rng.unit()) {
                            (Tier::General, x) if x < 0.7 => Channel::Phone,
                            (_, x) if x < 0.85 => Channel::Home,
                            _ => Channel::Video,
                        };
                        days.push((at, ch));
                    }
                }
            }
            let mut visited = false;
            for (day, ch) in days {
                let valid = rules.counts(tier, ch);
                visited |= valid;
                let at = start_of(day) + Duration::minutes(rng.range(8 * 60, 18 * 60));
                let need = rng.chance(0.01);
                let attention = !need && rng.chance(0.06);
                let order = if need {
                    orders.get_mut(&s.village_code).and_then(Vec::pop)
                } else {
                    None
                };
                linked += usize::from(order.is_some());
                let (lon, lat) = match (ch, v.and_then(|v| v.centroid)) {
                    (Channel::Home, Some((x, y))) => (
                        Some(x + (rng.unit() - 0.5) * 0.01),
                        Some(y + (rng.unit() - 0.5) * 0.01),
                    ),
                    _ => (None, None),
                };
                rows.row();
                rows.int(s.id);
                rows.text(&s.village_code);
                rows.opt_int(if mine.contains(&s.id) {
                    grid_user
                } else {
                    None
                });
                rows.text(if mine.contains(&s.id) && grid_user.is_some() {
                    grid_name.as_str()
                } else {
                    v.map_or("社区工作者", |v| v.visitor.as_str())
                });
                rows.time(at);
                rows.text(ch.as_str());
                rows.bool(valid);
                rows.text(if attention { "attention" } else { "normal" });
                rows.text("normal");
                rows.text("normal");
                rows.text(if need { "need" } else { "normal" });
                rows.text(if need {
                    r#"{"living":"","safety":"","support":"","service":"需要上门助浴、助餐服务"}"#
                } else if attention {
                    r#"{"living":"近期食欲较差，已提醒家属","safety":"","support":"","service":""}"#
                } else {
                    r#"{"living":"","safety":"","support":"","service":""}"#
                });
                rows.real(lon);
                rows.real(lat);
                rows.bool(need && rng.chance(0.1));
                rows.opt_int(order);
                rows.time(at);
                rows.end_row();
                n += 1;
                if n.is_multiple_of(5000) {
                    let full = std::mem::replace(&mut rows, Rows::new());
                    if send.blocking_send(full.finish()).is_err() {
                        return (subjects, monthly, visits, linked);
                    }
                }
            }
            if visited {
                entry.1 += 1;
            }
        }
        if !n.is_multiple_of(5000) && send.blocking_send(rows.finish()).is_err() {
            return (subjects, monthly, visits, linked);
        }
        visits += n;
        if m == this_month {
            break;
        }
        m = m.next();
    }
    (subjects, monthly, visits, linked)
}

struct Village {
    lag: f64,
    visitor: String,
    centroid: Option<(f64, f64)>,
}

const VISIT_COLS: [(CareVisits, Ty); 17] = [
    (CareVisits::SubjectId, Ty::Int),
    (CareVisits::VillageCode, Ty::Text),
    (CareVisits::VisitorId, Ty::Int),
    (CareVisits::VisitorName, Ty::Text),
    (CareVisits::VisitedAt, Ty::Time),
    (CareVisits::Channel, Ty::Text),
    (CareVisits::Valid, Ty::Bool),
    (CareVisits::Living, Ty::Text),
    (CareVisits::Safety, Ty::Text),
    (CareVisits::Support, Ty::Text),
    (CareVisits::Service, Ty::Text),
    (CareVisits::Notes, Ty::Text),
    (CareVisits::Lon, Ty::Real),
    (CareVisits::Lat, Ty::Real),
    (CareVisits::Emergency, Ty::Bool),
    (CareVisits::WorkOrderId, Ty::Int),
    (CareVisits::CreatedAt, Ty::Time),
];

async fn insert_visits(c: &mut Conn<'_>, rows: String) -> Result<()> {
    let q = bulk::insert(c.backend(), CareVisits::Table, &VISIT_COLS, rows)?;
    c.execute(&q).await.map(|_| ())
}

async fn login(db: &Db, username: &str) -> Result<Option<(i64, String)>> {
    Ok(crate::users::find_by_username(&mut db.conn(), username)
        .await?
        .map(|u| (u.id, u.display_name)))
}

async fn centroids(db: &Db) -> Result<HashMap<String, (f64, f64)>> {
    Ok(crate::divisions::all(&mut db.conn())
        .await?
        .into_iter()
        .filter(|d| d.level == "village")
        .filter_map(|d| Some((d.code, (d.centroid_lon?, d.centroid_lat?))))
        .collect())
}

/// Existing 养老服务 work orders per village, for visits that found a need.
async fn elderly_orders(db: &Db) -> Result<HashMap<String, Vec<i64>>> {
    #[derive(sea_query::Iden)]
    enum WorkOrders {
        Table,
        Id,
        DivisionCode,
        CategoryCode,
    }
    let rows: Vec<(i64, String)> = db
        .conn()
        .fetch_all(
            &Query::select()
                .columns([WorkOrders::Id, WorkOrders::DivisionCode])
                .from(WorkOrders::Table)
                .and_where(Expr::col(WorkOrders::CategoryCode).eq("social.elderly"))
                .limit(2000)
                .to_owned(),
        )
        .await?;
    let mut out: HashMap<String, Vec<i64>> = HashMap::new();
    for (id, code) in rows {
        out.entry(code.get(0..12).unwrap_or(&code).to_owned())
            .or_default()
            .push(id);
    }
    Ok(out)
}
