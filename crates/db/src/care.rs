//! Store for `care` (探访关爱): the special-difficulty elderly roster, visit plans and
//! visit records.
//!
//! The roster is built from residents aged 60+ carrying a care tag (protected tags
//! are found by their blind index, never decrypted). Every change to the roster and
//! every valid visit updates `care_monthly` (roster and visited per village and
//! month) in the same transaction, so the visit-rate dashboard and the
//! `elderly_visit_rate` indicator read O(villages) rows instead of the visit history.

use crate::audit::{self, Event};
use crate::people::{People, PersonTags, tag_index};
use crate::scope::Scope;
use crate::{Conn, DbError, Page, PageReq, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sea_query::{
    Alias, Cond, Condition, Expr, ExprTrait, Func, Iden, JoinType, OnConflict, Order, Query,
};
use serde::Serialize;
use shequ_core::care::{
    self as core, CARE_TAGS, CareSettings, Channel, Month, Profile, Tier, VisitInput, local_date,
    start_of,
};
use shequ_core::crypto::Protector;
use shequ_core::geo::Point;
use shequ_core::photo::Photo;
use shequ_core::{DivisionCode, Level, Role, Tag};
use std::collections::{BTreeMap, HashMap};

#[derive(Iden, Clone, Copy)]
pub(crate) enum CareSubjects {
    Table,
    Id,
    PersonId,
    DivisionCode,
    VillageCode,
    Name,
    BirthDate,
    Tier,
    TierRule,
    TierOverride,
    Status,
    Source,
    Reason,
    Guardian,
    ContactNote,
    JoinedOn,
    LeftOn,
    LastVisitAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
enum CareVisitors {
    Table,
    SubjectId,
    UserId,
    AssignedAt,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum CareVisits {
    Table,
    Id,
    SubjectId,
    VillageCode,
    VisitorId,
    VisitorName,
    VisitedAt,
    Channel,
    Valid,
    Living,
    Safety,
    Support,
    Service,
    Notes,
    Lon,
    Lat,
    Emergency,
    WorkOrderId,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
enum CareVisitPhotos {
    Table,
    Id,
    VisitId,
    ContentType,
    Bytes,
    Width,
    Height,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum CarePlan {
    Table,
    Id,
    SubjectId,
    VillageCode,
    Month,
    WindowStart,
    DueDate,
    VisitId,
    NotifiedAt,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum CareMonthly {
    Table,
    Month,
    DivisionCode,
    Level,
    Roster,
    Visited,
}

#[derive(Iden, Clone, Copy)]
enum WorkOrders {
    Table,
    Id,
    TrackingCode,
}

#[derive(Iden, Clone, Copy)]
enum Users {
    Table,
    Id,
    DisplayName,
    Role,
    DivisionCode,
    Disabled,
}

/// The setting that holds [`CareSettings`].
pub const SETTINGS_KEY: &str = "care_settings";
/// Most photos one visit keeps.
pub const MAX_PHOTOS: usize = 3;

/// Subject states.
pub const ACTIVE: &str = "active";
pub const LAPSED: &str = "lapsed";
pub const EXCLUDED: &str = "excluded";

/// The care rules in force (the defaults when never set).
pub async fn settings(c: &mut Conn<'_>) -> Result<CareSettings> {
    Ok(crate::settings::get(c, SETTINGS_KEY)
        .await?
        .unwrap_or_default())
}

/// Change the care rules (city-wide); audited.
pub async fn put_settings(
    c: &mut Conn<'_>,
    scope: &Scope,
    s: &CareSettings,
    now: DateTime<Utc>,
) -> Result<()> {
    s.check()?;
    if scope.root.level() != Level::City {
        return Err(DbError::invalid(
            "settings",
            "city_only",
            "探访规则只能由市级工作人员设置",
        ));
    }
    let before = settings(c).await?;
    crate::settings::put(c, SETTINGS_KEY, s).await?;
    let detail = serde_json::json!({"before": serde_json::to_value(&before).unwrap_or_default(),
        "after": serde_json::to_value(s).unwrap_or_default()});
    audit::append(
        c,
        &scope.actor,
        Event::new("care_settings", "setting", SETTINGS_KEY)
            .division(scope.root.as_str())
            .detail(detail),
        now,
    )
    .await
    .map(|_| ())
}

// ---------------------------------------------------------------- rows

/// A subject on (or once on) the roster.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Subject {
    pub id: i64,
    pub person_id: i64,
    pub division_code: String,
    pub village_code: String,
    pub name: String,
    pub birth_date: NaiveDate,
    pub tier: String,
    pub tier_rule: String,
    pub tier_override: bool,
    pub status: String,
    pub source: String,
    pub reason: String,
    pub guardian: String,
    pub contact_note: String,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
    pub last_visit_at: Option<DateTime<Utc>>,
}

impl Subject {
    pub fn tier(&self) -> Tier {
        Tier::parse(&self.tier).unwrap_or(Tier::General)
    }

    pub fn active(&self) -> bool {
        self.status == ACTIVE
    }

    pub fn status_label(&self) -> &'static str {
        match self.status.as_str() {
            ACTIVE => "在册",
            LAPSED => "已不符合条件",
            _ => "已移出",
        }
    }
}

const SUBJECT_COLUMNS: [CareSubjects; 17] = [
    CareSubjects::Id,
    CareSubjects::PersonId,
    CareSubjects::DivisionCode,
    CareSubjects::VillageCode,
    CareSubjects::Name,
    CareSubjects::BirthDate,
    CareSubjects::Tier,
    CareSubjects::TierRule,
    CareSubjects::TierOverride,
    CareSubjects::Status,
    CareSubjects::Source,
    CareSubjects::Reason,
    CareSubjects::Guardian,
    CareSubjects::ContactNote,
    CareSubjects::JoinedOn,
    CareSubjects::LeftOn,
    CareSubjects::LastVisitAt,
];

fn subject_select() -> sea_query::SelectStatement {
    let mut q = Query::select();
    for col in SUBJECT_COLUMNS {
        q.column((CareSubjects::Table, col));
    }
    q.from(CareSubjects::Table).to_owned()
}

/// Subjects the caller may see: in the scope's subtree, or assigned to the caller.
fn visible(scope: &Scope) -> Condition {
    let mut c = Cond::any().add(scope.condition((CareSubjects::Table, CareSubjects::DivisionCode)));
    if let Some(uid) = scope.actor.user_id {
        c = c.add(
            Expr::col((CareSubjects::Table, CareSubjects::Id)).in_subquery(
                Query::select()
                    .column(CareVisitors::SubjectId)
                    .from(CareVisitors::Table)
                    .and_where(Expr::col(CareVisitors::UserId).eq(uid))
                    .to_owned(),
            ),
        );
    }
    c
}

/// One subject the caller may see.
pub async fn get(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<Subject>> {
    let q = subject_select()
        .and_where(Expr::col((CareSubjects::Table, CareSubjects::Id)).eq(id))
        .cond_where(visible(scope))
        .to_owned();
    c.fetch_optional(&q).await
}

/// One subject in the caller's subtree (for changes by staff).
async fn get_in_scope(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Subject> {
    let q = subject_select()
        .and_where(Expr::col((CareSubjects::Table, CareSubjects::Id)).eq(id))
        .cond_where(scope.condition((CareSubjects::Table, CareSubjects::DivisionCode)))
        .to_owned();
    c.fetch_optional(&q).await?.ok_or(DbError::NotFound)
}

/// The subject of a person, if any (any status).
pub async fn of_person(c: &mut Conn<'_>, scope: &Scope, person: i64) -> Result<Option<Subject>> {
    let q = subject_select()
        .and_where(Expr::col((CareSubjects::Table, CareSubjects::PersonId)).eq(person))
        .cond_where(visible(scope))
        .to_owned();
    c.fetch_optional(&q).await
}

/// A subject in a list, with its visitors and next due date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubjectItem {
    pub subject: Subject,
    pub visitors: Vec<Visitor>,
    /// Earliest open due date of the plan (overdue when before today).
    pub next_due: Option<NaiveDate>,
}

/// An assigned visitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Visitor {
    pub subject_id: i64,
    pub user_id: i64,
    pub display_name: String,
    pub role: String,
}

/// Roster filters, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub division: Option<DivisionCode>,
    pub tier: Option<Tier>,
    /// `active` (default), `lapsed`, `excluded` or `all`.
    pub status: Option<String>,
    /// Only subjects assigned to this user.
    pub visitor: Option<i64>,
    /// Name contains.
    pub name: Option<String>,
}

/// Subjects the caller may see, by division then id.
pub async fn list(
    c: &mut Conn<'_>,
    scope: &Scope,
    f: &Filter,
    page: PageReq,
) -> Result<Page<SubjectItem>> {
    let mut q = subject_select().cond_where(visible(scope)).to_owned();
    if let Some(d) = &f.division {
        let narrowed = Scope::new(d.clone(), scope.role, scope.actor.clone());
        q.cond_where(narrowed.condition((CareSubjects::Table, CareSubjects::DivisionCode)));
    }
    if let Some(t) = f.tier {
        q.and_where(Expr::col((CareSubjects::Table, CareSubjects::Tier)).eq(t.as_str()));
    }
    match f.status.as_deref().unwrap_or(ACTIVE) {
        "all" => {}
        s => {
            q.and_where(Expr::col((CareSubjects::Table, CareSubjects::Status)).eq(s));
        }
    }
    if let Some(u) = f.visitor {
        q.and_where(
            Expr::col((CareSubjects::Table, CareSubjects::Id)).in_subquery(
                Query::select()
                    .column(CareVisitors::SubjectId)
                    .from(CareVisitors::Table)
                    .and_where(Expr::col(CareVisitors::UserId).eq(u))
                    .to_owned(),
            ),
        );
    }
    if let Some(n) = f.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        let escaped: String = n
            .chars()
            .filter(|c| !matches!(c, '%' | '_' | '\\'))
            .collect();
        q.and_where(
            Expr::col((CareSubjects::Table, CareSubjects::Name)).like(format!("%{escaped}%")),
        );
    }
    let mut count = q.clone();
    count
        .clear_selects()
        .expr(Expr::col((CareSubjects::Table, CareSubjects::Id)).count());
    let total = c.fetch_i64(&count).await?;
    q.order_by(
        (CareSubjects::Table, CareSubjects::DivisionCode),
        Order::Asc,
    )
    .order_by((CareSubjects::Table, CareSubjects::Id), Order::Asc)
    .limit(page.per_page)
    .offset(page.offset());
    let rows: Vec<Subject> = c.fetch_all(&q).await?;
    let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
    let mut visitors = visitors_of(c, &ids).await?;
    let mut due = next_due_of(c, &ids).await?;
    Ok(Page {
        items: rows
            .into_iter()
            .map(|s| SubjectItem {
                visitors: visitors.remove(&s.id).unwrap_or_default(),
                next_due: due.remove(&s.id),
                subject: s,
            })
            .collect(),
        total,
    })
}

/// Visitors of the given subjects.
pub async fn visitors_of(c: &mut Conn<'_>, ids: &[i64]) -> Result<HashMap<i64, Vec<Visitor>>> {
    let mut out: HashMap<i64, Vec<Visitor>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let q = Query::select()
        .column((CareVisitors::Table, CareVisitors::SubjectId))
        .column((CareVisitors::Table, CareVisitors::UserId))
        .column((Users::Table, Users::DisplayName))
        .column((Users::Table, Users::Role))
        .from(CareVisitors::Table)
        .join(
            JoinType::InnerJoin,
            Users::Table,
            Expr::col((Users::Table, Users::Id))
                .equals((CareVisitors::Table, CareVisitors::UserId)),
        )
        .and_where(Expr::col((CareVisitors::Table, CareVisitors::SubjectId)).is_in(ids.to_vec()))
        .order_by((CareVisitors::Table, CareVisitors::UserId), Order::Asc)
        .to_owned();
    for v in c.fetch_all::<Visitor>(&q).await? {
        out.entry(v.subject_id).or_default().push(v);
    }
    Ok(out)
}

/// The earliest open due date of a subject.
pub async fn next_due(c: &mut Conn<'_>, id: i64) -> Result<Option<NaiveDate>> {
    Ok(next_due_of(c, &[id]).await?.remove(&id))
}

/// The tracking code of a work order.
pub async fn order_tracking_code(c: &mut Conn<'_>, id: i64) -> Result<Option<String>> {
    let q = Query::select()
        .column(WorkOrders::TrackingCode)
        .from(WorkOrders::Table)
        .and_where(Expr::col(WorkOrders::Id).eq(id))
        .to_owned();
    let row: Option<(String,)> = c.fetch_optional(&q).await?;
    Ok(row.map(|r| r.0))
}

async fn next_due_of(c: &mut Conn<'_>, ids: &[i64]) -> Result<HashMap<i64, NaiveDate>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let q = Query::select()
        .column(CarePlan::SubjectId)
        .expr(Func::min(Expr::col(CarePlan::DueDate)))
        .from(CarePlan::Table)
        .and_where(Expr::col(CarePlan::SubjectId).is_in(ids.to_vec()))
        .and_where(Expr::col(CarePlan::VisitId).is_null())
        .group_by_col(CarePlan::SubjectId)
        .to_owned();
    let rows: Vec<(i64, Option<NaiveDate>)> = c.fetch_all(&q).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, d)| d.map(|d| (id, d)))
        .collect())
}

// ---------------------------------------------------------------- monthly aggregate

/// Make sure `care_monthly` holds the month: when it has no row yet, count the
/// active roster per village and the subjects already visited validly in it.
pub async fn ensure_month(c: &mut Conn<'_>, month: Month) -> Result<()> {
    let key = month.key();
    let q = Query::select()
        .expr(Expr::val(1))
        .from(CareMonthly::Table)
        .and_where(Expr::col(CareMonthly::Month).eq(key.clone()))
        .limit(1)
        .to_owned();
    let found: Option<(i32,)> = c.fetch_optional(&q).await?;
    if found.is_some() {
        return Ok(());
    }
    let counts = expand(&count_month(c, month).await?);
    insert_monthly(c, month, &counts, true).await
}

/// Every village's counts added up the tree: (level, roster, visited) per division.
fn expand(villages: &BTreeMap<String, (i64, i64)>) -> BTreeMap<String, (&'static str, i64, i64)> {
    let mut out: BTreeMap<String, (&'static str, i64, i64)> = BTreeMap::new();
    for (v, (r, n)) in villages {
        for code in path(v) {
            let level = DivisionCode::parse(&code).map_or("village", |d| d.level().as_str());
            let e = out.entry(code).or_insert((level, 0, 0));
            e.1 += r;
            e.2 += n;
        }
    }
    out
}

async fn insert_monthly(
    c: &mut Conn<'_>,
    month: Month,
    rows: &BTreeMap<String, (&'static str, i64, i64)>,
    skip_existing: bool,
) -> Result<()> {
    let key = month.key();
    for chunk in rows.iter().collect::<Vec<_>>().chunks(500) {
        let mut ins = Query::insert()
            .into_table(CareMonthly::Table)
            .columns([
                CareMonthly::Month,
                CareMonthly::DivisionCode,
                CareMonthly::Level,
                CareMonthly::Roster,
                CareMonthly::Visited,
            ])
            .to_owned();
        for (code, (level, r, n)) in chunk {
            ins.values_panic([
                key.clone().into(),
                (*code).clone().into(),
                (*level).into(),
                (*r).into(),
                (*n).into(),
            ]);
        }
        if skip_existing {
            ins.on_conflict(
                OnConflict::columns([CareMonthly::Month, CareMonthly::DivisionCode])
                    .do_nothing()
                    .to_owned(),
            );
        }
        c.execute(&ins).await?;
    }
    Ok(())
}

/// Roster and visited per village for a month, counted from the registers.
async fn count_month(c: &mut Conn<'_>, month: Month) -> Result<BTreeMap<String, (i64, i64)>> {
    let roster = Query::select()
        .column(CareSubjects::VillageCode)
        .expr(Expr::col(CareSubjects::Id).count())
        .from(CareSubjects::Table)
        .and_where(Expr::col(CareSubjects::Status).eq(ACTIVE))
        .group_by_col(CareSubjects::VillageCode)
        .to_owned();
    let mut out: BTreeMap<String, (i64, i64)> = c
        .fetch_all::<(String, i64)>(&roster)
        .await?
        .into_iter()
        .map(|(v, n)| (v, (n, 0)))
        .collect();
    let visited = Query::select()
        .column((CareVisits::Table, CareVisits::VillageCode))
        .expr(Func::count_distinct(Expr::col((
            CareVisits::Table,
            CareVisits::SubjectId,
        ))))
        .from(CareVisits::Table)
        .join(
            JoinType::InnerJoin,
            CareSubjects::Table,
            Expr::col((CareSubjects::Table, CareSubjects::Id))
                .equals((CareVisits::Table, CareVisits::SubjectId)),
        )
        .and_where(Expr::col((CareSubjects::Table, CareSubjects::Status)).eq(ACTIVE))
        .and_where(Expr::col((CareVisits::Table, CareVisits::Valid)).eq(true))
        .and_where(
            Expr::col((CareVisits::Table, CareVisits::VisitedAt)).gte(start_of(month.first())),
        )
        .and_where(
            Expr::col((CareVisits::Table, CareVisits::VisitedAt))
                .lt(start_of(month.next().first())),
        )
        .group_by_col((CareVisits::Table, CareVisits::VillageCode))
        .to_owned();
    for (v, n) in c.fetch_all::<(String, i64)>(&visited).await? {
        out.entry(v).or_insert((0, 0)).1 = n;
    }
    Ok(out)
}

/// Add to a village's counts of a month and to every ancestor's (the month must
/// have been ensured).
async fn bump(
    c: &mut Conn<'_>,
    month: Month,
    village: &str,
    roster: i64,
    visited: i64,
) -> Result<()> {
    if roster == 0 && visited == 0 {
        return Ok(());
    }
    for code in path(village) {
        let level = DivisionCode::parse(&code).map_or("village", |d| d.level().as_str());
        let q = Query::insert()
            .into_table(CareMonthly::Table)
            .columns([
                CareMonthly::Month,
                CareMonthly::DivisionCode,
                CareMonthly::Level,
                CareMonthly::Roster,
                CareMonthly::Visited,
            ])
            .values_panic([
                month.key().into(),
                code.into(),
                level.into(),
                roster.into(),
                visited.into(),
            ])
            .on_conflict(
                OnConflict::columns([CareMonthly::Month, CareMonthly::DivisionCode])
                    .value(
                        CareMonthly::Roster,
                        Expr::cust("care_monthly.roster + excluded.roster"),
                    )
                    .value(
                        CareMonthly::Visited,
                        Expr::cust("care_monthly.visited + excluded.visited"),
                    )
                    .to_owned(),
            )
            .to_owned();
        c.execute(&q).await?;
    }
    Ok(())
}

/// One village/community's roster size and how many on it had a valid visit in the
/// month of `now` (Asia/Shanghai).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitFacts {
    pub village: String,
    pub roster: i64,
    pub visited: i64,
}

/// Roster and visited counts per village/community, for the monthly visit-rate indicator.
pub async fn visit_facts(c: &mut Conn<'_>, now: DateTime<Utc>) -> Result<Vec<VisitFacts>> {
    let month = Month::of(local_date(now));
    let q = Query::select()
        .columns([
            CareMonthly::DivisionCode,
            CareMonthly::Roster,
            CareMonthly::Visited,
        ])
        .from(CareMonthly::Table)
        .and_where(Expr::col(CareMonthly::Month).eq(month.key()))
        .and_where(Expr::col(CareMonthly::Level).eq("village"))
        .to_owned();
    let rows: Vec<(String, i64, i64)> = c.fetch_all(&q).await?;
    let rows: Vec<(String, (i64, i64))> = if rows.is_empty() {
        count_month(c, month).await?.into_iter().collect()
    } else {
        rows.into_iter().map(|(v, r, n)| (v, (r, n))).collect()
    };
    Ok(rows
        .into_iter()
        .filter(|(_, (r, _))| *r > 0)
        .map(|(village, (roster, visited))| VisitFacts {
            village,
            roster,
            visited: std::cmp::min(visited, roster),
        })
        .collect())
}

/// Roster, visited and overdue counts of one division for a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateRow {
    pub code: String,
    pub roster: i64,
    pub visited: i64,
    /// Due visits past their date without a valid visit (township and below only).
    pub overdue: Option<i64>,
}

impl RateRow {
    /// Visited ÷ roster, in percent (None without a roster).
    pub fn rate(&self) -> Option<f64> {
        (self.roster > 0)
            .then(|| std::cmp::min(self.visited, self.roster) as f64 * 100.0 / self.roster as f64)
    }
}

/// Counts of the month for `node` and each child of it (children down to the
/// village/community), read from the aggregate: one row per division shown.
/// Overdue counts come from the plan and are given for a township or a
/// village/community only (None above).
pub async fn rates(
    c: &mut Conn<'_>,
    scope: &Scope,
    node: &DivisionCode,
    month: Month,
    today: NaiveDate,
) -> Result<(RateRow, Vec<RateRow>)> {
    if !scope.contains(node) {
        return Err(DbError::NotFound);
    }
    let sub = Scope::new(node.clone(), scope.role, scope.actor.clone());
    let child = node.level().child().filter(|l| *l != Level::Grid);
    let mut levels = vec![Expr::col(CareMonthly::DivisionCode).eq(node.as_str())];
    if let Some(l) = child {
        levels.push(
            Expr::col(CareMonthly::Level)
                .eq(l.as_str())
                .and(sub.condition(CareMonthly::DivisionCode)),
        );
    }
    let q = Query::select()
        .columns([
            CareMonthly::DivisionCode,
            CareMonthly::Roster,
            CareMonthly::Visited,
        ])
        .from(CareMonthly::Table)
        .and_where(Expr::col(CareMonthly::Month).eq(month.key()))
        .cond_where(levels.into_iter().fold(Cond::any(), Cond::add))
        .order_by(CareMonthly::DivisionCode, Order::Asc)
        .to_owned();
    let mut rows: Vec<(String, i64, i64)> = c.fetch_all(&q).await?;
    if rows.is_empty() && month == Month::of(today) {
        // The month has not been opened yet: count from the registers.
        let counts = expand(&count_month(c, month).await?);
        rows = counts
            .into_iter()
            .filter(|(code, (level, _, _))| {
                code == node.as_str()
                    || (child.is_some_and(|l| l.as_str() == *level) && sub.contains_str(code))
            })
            .map(|(code, (_, r, v))| (code, r, v))
            .collect();
    }
    let overdue: Option<HashMap<String, i64>> =
        if matches!(node.level(), Level::Township | Level::Village) {
            let last = std::cmp::min(month.last(), today - Duration::days(1));
            let od = Query::select()
                .column(CarePlan::VillageCode)
                .expr(Expr::col(CarePlan::Id).count())
                .from(CarePlan::Table)
                .and_where(Expr::col(CarePlan::Month).eq(month.key()))
                .and_where(Expr::col(CarePlan::DueDate).lte(last))
                .and_where(Expr::col(CarePlan::VisitId).is_null())
                .cond_where(sub.condition(CarePlan::VillageCode))
                .group_by_col(CarePlan::VillageCode)
                .to_owned();
            Some(
                c.fetch_all::<(String, i64)>(&od)
                    .await?
                    .into_iter()
                    .collect(),
            )
        } else {
            None
        };
    let od_of = |code: &str| {
        overdue.as_ref().map(|m| {
            m.iter()
                .filter(|(v, _)| v.starts_with(code))
                .map(|(_, n)| *n)
                .sum()
        })
    };
    let mut total = RateRow {
        code: node.as_str().to_owned(),
        roster: 0,
        visited: 0,
        overdue: od_of(node.as_str()),
    };
    let mut out = Vec::with_capacity(rows.len());
    for (code, r, v) in rows {
        if code == node.as_str() {
            total.roster = r;
            total.visited = v;
            continue;
        }
        out.push(RateRow {
            overdue: od_of(&code),
            code,
            roster: r,
            visited: v,
        });
    }
    Ok((total, out))
}

// ---------------------------------------------------------------- roster

/// What a roster sync changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub added: usize,
    pub reactivated: usize,
    pub lapsed: usize,
    pub retiered: usize,
    /// Active subjects in the scope afterwards.
    pub roster: i64,
}

/// A qualifying person as the registers show them.
struct Candidate {
    division: String,
    name: String,
    birth: NaiveDate,
    tags: Vec<Tag>,
}

/// The date on which someone born `years` before `today` turns that age.
fn years_before(today: NaiveDate, years: i32) -> NaiveDate {
    today
        .with_year(today.year() - years)
        .or_else(|| (today - Duration::days(1)).with_year(today.year() - years))
        .unwrap_or(today)
}

/// Residents in scope aged 60+ with at least one care tag, with their care tags.
async fn candidates(
    c: &mut Conn<'_>,
    scope: &Scope,
    key: &Protector,
    today: NaiveDate,
) -> Result<HashMap<i64, Candidate>> {
    let index: HashMap<String, Tag> = CARE_TAGS.iter().map(|t| (tag_index(key, *t), *t)).collect();
    let cutoff = years_before(today, core::MIN_AGE as i32);
    let q = Query::select()
        .column((PersonTags::Table, PersonTags::PersonId))
        .column((PersonTags::Table, PersonTags::TagIndex))
        .column((People::Table, People::DivisionCode))
        .column((People::Table, People::Name))
        .column((People::Table, People::BirthDate))
        .from(PersonTags::Table)
        .join(
            JoinType::InnerJoin,
            People::Table,
            Expr::col((People::Table, People::Id))
                .equals((PersonTags::Table, PersonTags::PersonId)),
        )
        .and_where(
            Expr::col((PersonTags::Table, PersonTags::TagIndex))
                .is_in(index.keys().cloned().collect::<Vec<_>>()),
        )
        .cond_where(scope.condition((PersonTags::Table, PersonTags::DivisionCode)))
        .and_where(Expr::col((People::Table, People::BirthDate)).lte(cutoff))
        .to_owned();
    let rows: Vec<(i64, String, String, String, NaiveDate)> = c.fetch_all(&q).await?;
    let mut out: HashMap<i64, Candidate> = HashMap::new();
    for (id, ix, division, name, birth) in rows {
        let Some(tag) = index.get(&ix) else { continue };
        out.entry(id)
            .or_insert_with(|| Candidate {
                division,
                name,
                birth,
                tags: Vec::new(),
            })
            .tags
            .push(*tag);
    }
    Ok(out)
}

/// Care tags of one person (by blind index, nothing decrypted).
async fn care_tags_of(c: &mut Conn<'_>, key: &Protector, person: i64) -> Result<Vec<Tag>> {
    let index: HashMap<String, Tag> = CARE_TAGS.iter().map(|t| (tag_index(key, *t), *t)).collect();
    let q = Query::select()
        .column(PersonTags::TagIndex)
        .from(PersonTags::Table)
        .and_where(Expr::col(PersonTags::PersonId).eq(person))
        .to_owned();
    let rows: Vec<(String,)> = c.fetch_all(&q).await?;
    Ok(rows
        .iter()
        .filter_map(|(ix,)| index.get(ix).copied())
        .collect())
}

/// The code and the codes of all its ancestors (village → township → county → city).
fn path(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = DivisionCode::parse(code).ok();
    while let Some(c) = cur {
        out.push(c.to_string());
        cur = c.parent();
    }
    out
}

fn village_of(code: &str) -> String {
    code.get(0..12).unwrap_or(code).to_owned()
}

#[derive(Debug, sqlx::FromRow)]
struct Existing {
    id: i64,
    person_id: i64,
    village_code: String,
    tier: String,
    tier_rule: String,
    tier_override: bool,
    status: String,
    source: String,
    last_visit_at: Option<DateTime<Utc>>,
}

/// Bring the roster of the scope's subtree in line with the registers: add newly
/// qualifying residents, take back lapsed ones who qualify again, mark those who no
/// longer qualify (manual and excluded entries are left alone), and re-tier by rule
/// where no override is set. One audit entry for the run.
pub async fn sync(
    c: &mut Conn<'_>,
    scope: &Scope,
    key: &Protector,
    now: DateTime<Utc>,
) -> Result<SyncReport> {
    let rules = settings(c).await?;
    let today = local_date(now);
    let month = Month::of(today);
    ensure_month(c, month).await?;
    let found = candidates(c, scope, key, today).await?;
    let q = Query::select()
        .columns([
            CareSubjects::Id,
            CareSubjects::PersonId,
            CareSubjects::VillageCode,
            CareSubjects::Tier,
            CareSubjects::TierRule,
            CareSubjects::TierOverride,
            CareSubjects::Status,
            CareSubjects::Source,
            CareSubjects::LastVisitAt,
        ])
        .from(CareSubjects::Table)
        .cond_where(scope.condition(CareSubjects::DivisionCode))
        .to_owned();
    let existing: Vec<Existing> = c.fetch_all(&q).await?;
    let known: HashMap<i64, &Existing> = existing.iter().map(|e| (e.person_id, e)).collect();
    let mut report = SyncReport::default();
    let mut deltas: HashMap<String, (i64, i64)> = HashMap::new();
    let mut fresh = Vec::new();
    let month_start = start_of(month.first());
    let visited_now = |e: &Existing| e.last_visit_at.is_some_and(|t| t >= month_start);
    for (person, cand) in &found {
        let tier = rules.tier(&Profile::new(core::age_on(cand.birth, today), &cand.tags));
        match known.get(person) {
            None => {
                fresh.push((*person, cand, tier));
                deltas.entry(village_of(&cand.division)).or_default().0 += 1;
            }
            Some(e) if e.status == EXCLUDED => {}
            Some(e) => {
                let reactivate = e.status == LAPSED;
                let retier = e.tier_rule != tier.as_str();
                if !reactivate && !retier {
                    continue;
                }
                let mut u = Query::update()
                    .table(CareSubjects::Table)
                    .value(CareSubjects::TierRule, tier.as_str())
                    .value(CareSubjects::UpdatedAt, now)
                    .and_where(Expr::col(CareSubjects::Id).eq(e.id))
                    .to_owned();
                if !e.tier_override {
                    u.value(CareSubjects::Tier, tier.as_str());
                }
                if reactivate {
                    u.value(CareSubjects::Status, ACTIVE)
                        .value(CareSubjects::LeftOn, Option::<NaiveDate>::None);
                    report.reactivated += 1;
                    let d = deltas.entry(e.village_code.clone()).or_default();
                    d.0 += 1;
                    d.1 += i64::from(visited_now(e));
                }
                if retier && !e.tier_override && e.tier != tier.as_str() {
                    report.retiered += 1;
                }
                c.execute(&u).await?;
            }
        }
    }
    let gone: Vec<&Existing> = existing
        .iter()
        .filter(|e| e.status == ACTIVE && e.source == "sync" && !found.contains_key(&e.person_id))
        .collect();
    for chunk in gone.chunks(500) {
        let ids: Vec<i64> = chunk.iter().map(|e| e.id).collect();
        c.execute(
            &Query::update()
                .table(CareSubjects::Table)
                .value(CareSubjects::Status, LAPSED)
                .value(CareSubjects::LeftOn, today)
                .value(CareSubjects::UpdatedAt, now)
                .and_where(Expr::col(CareSubjects::Id).is_in(ids.clone()))
                .to_owned(),
        )
        .await?;
        drop_open_plan(c, &ids, today).await?;
        for e in chunk {
            let d = deltas.entry(e.village_code.clone()).or_default();
            d.0 -= 1;
            d.1 -= i64::from(visited_now(e));
        }
    }
    report.lapsed = gone.len();
    report.added = fresh.len();
    insert_subjects(c, &fresh, today, now).await?;
    for (village, (r, v)) in &deltas {
        bump(c, month, village, *r, *v).await?;
    }
    report.roster = c
        .fetch_i64(
            &Query::select()
                .expr(Expr::col(CareSubjects::Id).count())
                .from(CareSubjects::Table)
                .and_where(Expr::col(CareSubjects::Status).eq(ACTIVE))
                .cond_where(scope.condition(CareSubjects::DivisionCode))
                .to_owned(),
        )
        .await?;
    audit::append(
        c,
        &scope.actor,
        Event::new("care_roster_sync", "care_roster", scope.root.as_str())
            .division(scope.root.as_str())
            .detail(serde_json::to_value(&report).unwrap_or_default()),
        now,
    )
    .await?;
    Ok(report)
}

async fn insert_subjects(
    c: &mut Conn<'_>,
    fresh: &[(i64, &Candidate, Tier)],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<()> {
    use bulk::Ty;
    const COLS: [(CareSubjects, Ty); 14] = [
        (CareSubjects::PersonId, Ty::Int),
        (CareSubjects::DivisionCode, Ty::Text),
        (CareSubjects::VillageCode, Ty::Text),
        (CareSubjects::Name, Ty::Text),
        (CareSubjects::BirthDate, Ty::Date),
        (CareSubjects::Tier, Ty::Text),
        (CareSubjects::TierRule, Ty::Text),
        (CareSubjects::TierOverride, Ty::Bool),
        (CareSubjects::Status, Ty::Text),
        (CareSubjects::Source, Ty::Text),
        (CareSubjects::Reason, Ty::Text),
        (CareSubjects::JoinedOn, Ty::Date),
        (CareSubjects::CreatedAt, Ty::Time),
        (CareSubjects::UpdatedAt, Ty::Time),
    ];
    let backend = c.backend();
    for chunk in fresh.chunks(5000) {
        let mut rows = bulk::Rows::new();
        for (person, cand, tier) in chunk {
            rows.row();
            rows.int(*person);
            rows.text(&cand.division);
            rows.text(&village_of(&cand.division));
            rows.text(&cand.name);
            rows.text(&cand.birth.to_string());
            rows.text(tier.as_str());
            rows.text(tier.as_str());
            rows.bool(false);
            rows.text(ACTIVE);
            rows.text("sync");
            rows.text("");
            rows.text(&today.to_string());
            rows.time(now);
            rows.time(now);
            rows.end_row();
        }
        let q = bulk::insert(backend, CareSubjects::Table, &COLS, rows.finish())?;
        c.execute(&q).await?;
    }
    Ok(())
}

/// Remove the open plan rows of subjects from `from` on (they left the roster).
async fn drop_open_plan(c: &mut Conn<'_>, ids: &[i64], from: NaiveDate) -> Result<()> {
    c.execute(
        &Query::delete()
            .from_table(CarePlan::Table)
            .and_where(Expr::col(CarePlan::SubjectId).is_in(ids.to_vec()))
            .and_where(Expr::col(CarePlan::VisitId).is_null())
            .and_where(Expr::col(CarePlan::DueDate).gte(from))
            .to_owned(),
    )
    .await
    .map(|_| ())
}

/// Put a resident on the roster by hand, with a reason (60+ only). A lapsed or
/// excluded entry is taken back.
pub async fn add_manual(
    c: &mut Conn<'_>,
    scope: &Scope,
    key: &Protector,
    person: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let reason = core::check_text("reason", reason, core::MAX_REASON, true, "纳入原因")?;
    let p = crate::people::get(c, scope, person).await?.ok_or_else(|| {
        DbError::invalid("person_id", "unknown_person", "居民不存在或不在管辖范围内")
    })?;
    let today = local_date(now);
    let age = core::age_on(p.birth_date, today);
    if age < core::MIN_AGE {
        return Err(DbError::invalid(
            "person_id",
            "too_young",
            format!("探访关爱对象应年满 {} 周岁", core::MIN_AGE),
        ));
    }
    let rules = settings(c).await?;
    let tags = care_tags_of(c, key, person).await?;
    let tier = rules.tier(&Profile::new(age, &tags));
    let month = Month::of(today);
    ensure_month(c, month).await?;
    let village = village_of(&p.division_code);
    let id = match of_person(c, scope, person).await? {
        Some(s) if s.active() => {
            return Err(DbError::invalid(
                "person_id",
                "already_on_roster",
                "该居民已在探访关爱名册中",
            ));
        }
        Some(s) => {
            c.execute(
                &Query::update()
                    .table(CareSubjects::Table)
                    .values([
                        (CareSubjects::Status, ACTIVE.into()),
                        (CareSubjects::Source, "manual".into()),
                        (CareSubjects::Reason, reason.clone().into()),
                        (CareSubjects::LeftOn, Option::<NaiveDate>::None.into()),
                        (CareSubjects::DivisionCode, p.division_code.clone().into()),
                        (CareSubjects::VillageCode, village.clone().into()),
                        (CareSubjects::UpdatedAt, now.into()),
                    ])
                    .and_where(Expr::col(CareSubjects::Id).eq(s.id))
                    .to_owned(),
            )
            .await?;
            let visited = s
                .last_visit_at
                .is_some_and(|t| t >= start_of(month.first()));
            bump(c, month, &village, 1, i64::from(visited)).await?;
            s.id
        }
        None => {
            let q = Query::insert()
                .into_table(CareSubjects::Table)
                .columns([
                    CareSubjects::PersonId,
                    CareSubjects::DivisionCode,
                    CareSubjects::VillageCode,
                    CareSubjects::Name,
                    CareSubjects::BirthDate,
                    CareSubjects::Tier,
                    CareSubjects::TierRule,
                    CareSubjects::TierOverride,
                    CareSubjects::Status,
                    CareSubjects::Source,
                    CareSubjects::Reason,
                    CareSubjects::JoinedOn,
                    CareSubjects::CreatedAt,
                    CareSubjects::UpdatedAt,
                ])
                .values_panic([
                    person.into(),
                    p.division_code.clone().into(),
                    village.clone().into(),
                    p.name.clone().into(),
                    p.birth_date.into(),
                    tier.as_str().into(),
                    tier.as_str().into(),
                    false.into(),
                    ACTIVE.into(),
                    "manual".into(),
                    reason.clone().into(),
                    today.into(),
                    now.into(),
                    now.into(),
                ])
                .to_owned();
            let id = c.insert_id(&q).await?;
            bump(c, month, &village, 1, 0).await?;
            id
        }
    };
    audit::append(
        c,
        &scope.actor,
        Event::new("care_subject_add", "care_subject", id)
            .division(&p.division_code)
            .detail(
                serde_json::json!({"person_id": person, "reason": reason, "tier": tier.as_str()}),
            ),
        now,
    )
    .await?;
    crate::indicators::refresh(c, &village_code(&village)?, now).await?;
    Ok(id)
}

fn village_code(v: &str) -> Result<DivisionCode> {
    DivisionCode::parse(v).map_err(|e| DbError::invalid("division", e.code(), e.to_string()))
}

/// Take a subject off the roster (deceased, moved away …) with a reason.
pub async fn exclude(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let reason = core::check_text("reason", reason, core::MAX_REASON, true, "移出原因")?;
    let s = get_in_scope(c, scope, id).await?;
    if !s.active() {
        return Err(DbError::invalid(
            "status",
            "subject_not_active",
            "该对象不在册",
        ));
    }
    let today = local_date(now);
    let month = Month::of(today);
    ensure_month(c, month).await?;
    c.execute(
        &Query::update()
            .table(CareSubjects::Table)
            .values([
                (CareSubjects::Status, EXCLUDED.into()),
                (CareSubjects::Reason, reason.clone().into()),
                (CareSubjects::LeftOn, today.into()),
                (CareSubjects::UpdatedAt, now.into()),
            ])
            .and_where(Expr::col(CareSubjects::Id).eq(id))
            .to_owned(),
    )
    .await?;
    drop_open_plan(c, &[id], today).await?;
    let visited = s
        .last_visit_at
        .is_some_and(|t| t >= start_of(month.first()));
    bump(c, month, &s.village_code, -1, -i64::from(visited)).await?;
    audit::append(
        c,
        &scope.actor,
        Event::new("care_subject_exclude", "care_subject", id)
            .division(&s.division_code)
            .detail(serde_json::json!({"reason": reason})),
        now,
    )
    .await?;
    crate::indicators::refresh(c, &village_code(&s.village_code)?, now).await
}

/// Set the guardian (监护人) and contact notes of a subject.
pub async fn set_details(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    guardian: &str,
    contact_note: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut errs = shequ_core::FieldErrors::new();
    let g = core::check_text("guardian", guardian, core::MAX_NOTE, false, "监护人")
        .map_err(|e| errs.0.extend(e.0))
        .unwrap_or_default();
    let n = core::check_text(
        "contact_note",
        contact_note,
        core::MAX_NOTE,
        false,
        "联系说明",
    )
    .map_err(|e| errs.0.extend(e.0))
    .unwrap_or_default();
    errs.into_result()?;
    let s = get_in_scope(c, scope, id).await?;
    c.execute(
        &Query::update()
            .table(CareSubjects::Table)
            .values([
                (CareSubjects::Guardian, g.clone().into()),
                (CareSubjects::ContactNote, n.clone().into()),
                (CareSubjects::UpdatedAt, now.into()),
            ])
            .and_where(Expr::col(CareSubjects::Id).eq(id))
            .to_owned(),
    )
    .await?;
    let changed = |a: &str, b: &str| if a == b { "" } else { "已修改" };
    audit::append(
        c,
        &scope.actor,
        Event::new("care_subject_details", "care_subject", id)
            .division(&s.division_code)
            .detail(serde_json::json!({"guardian": changed(&s.guardian, &g), "contact_note": changed(&s.contact_note, &n)})),
        now,
    )
    .await
    .map(|_| ())
}

/// Override a subject's tier, or (None) go back to the rule's tier.
pub async fn set_tier(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    tier: Option<Tier>,
    now: DateTime<Utc>,
) -> Result<()> {
    let s = get_in_scope(c, scope, id).await?;
    let rule = Tier::parse(&s.tier_rule).unwrap_or(Tier::General);
    let new = tier.unwrap_or(rule);
    c.execute(
        &Query::update()
            .table(CareSubjects::Table)
            .values([
                (CareSubjects::Tier, new.as_str().into()),
                (CareSubjects::TierOverride, tier.is_some().into()),
                (CareSubjects::UpdatedAt, now.into()),
            ])
            .and_where(Expr::col(CareSubjects::Id).eq(id))
            .to_owned(),
    )
    .await?;
    audit::append(
        c,
        &scope.actor,
        Event::new("care_subject_tier", "care_subject", id)
            .division(&s.division_code)
            .detail(serde_json::json!({"tier": {"before": s.tier, "after": new.as_str()}, "override": tier.is_some()})),
        now,
    )
    .await
    .map(|_| ())
}

// ---------------------------------------------------------------- visitors

/// Roles that may be assigned as visitors.
pub const VISITOR_ROLES: [Role; 4] = [
    Role::CommunityStaff,
    Role::GridWorker,
    Role::Volunteer,
    Role::TownshipStaff,
];

#[derive(Debug, sqlx::FromRow)]
struct UserRow {
    display_name: String,
    role: String,
    division_code: String,
    disabled: bool,
}

async fn user_row(c: &mut Conn<'_>, id: i64) -> Result<Option<UserRow>> {
    let q = Query::select()
        .columns([
            Users::DisplayName,
            Users::Role,
            Users::DivisionCode,
            Users::Disabled,
        ])
        .from(Users::Table)
        .and_where(Expr::col(Users::Id).eq(id))
        .to_owned();
    c.fetch_optional(&q).await
}

/// Whether a user working at `user_div` may visit a subject in `village`: one's
/// division holds the other.
fn related(user_div: &str, village: &str) -> bool {
    match (DivisionCode::parse(user_div), DivisionCode::parse(village)) {
        (Ok(u), Ok(v)) => v.is_within(&u) || u.is_within(&v),
        _ => false,
    }
}

/// Assign a visitor (community worker, grid worker, volunteer, township worker of
/// the subject's area) to a subject in scope.
pub async fn assign(
    c: &mut Conn<'_>,
    scope: &Scope,
    subject: i64,
    user: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let s = get_in_scope(c, scope, subject).await?;
    let bad = || DbError::invalid("user_id", "bad_visitor", "该账号不能担任此对象的探访人");
    let u = user_row(c, user).await?.ok_or_else(bad)?;
    let role_ok = Role::parse(&u.role).is_some_and(|r| VISITOR_ROLES.contains(&r));
    if u.disabled || !role_ok || !related(&u.division_code, &s.village_code) {
        return Err(bad());
    }
    c.execute(
        &Query::insert()
            .into_table(CareVisitors::Table)
            .columns([
                CareVisitors::SubjectId,
                CareVisitors::UserId,
                CareVisitors::AssignedAt,
            ])
            .values_panic([subject.into(), user.into(), now.into()])
            .on_conflict(
                OnConflict::columns([CareVisitors::SubjectId, CareVisitors::UserId])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned(),
    )
    .await?;
    audit::append(
        c,
        &scope.actor,
        Event::new("care_assign", "care_subject", subject)
            .division(&s.division_code)
            .detail(serde_json::json!({"user_id": user, "name": u.display_name})),
        now,
    )
    .await
    .map(|_| ())
}

/// Remove a visitor from a subject in scope.
pub async fn unassign(
    c: &mut Conn<'_>,
    scope: &Scope,
    subject: i64,
    user: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let s = get_in_scope(c, scope, subject).await?;
    let n = c
        .execute(
            &Query::delete()
                .from_table(CareVisitors::Table)
                .and_where(Expr::col(CareVisitors::SubjectId).eq(subject))
                .and_where(Expr::col(CareVisitors::UserId).eq(user))
                .to_owned(),
        )
        .await?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    audit::append(
        c,
        &scope.actor,
        Event::new("care_unassign", "care_subject", subject)
            .division(&s.division_code)
            .detail(serde_json::json!({"user_id": user})),
        now,
    )
    .await
    .map(|_| ())
}

/// What a bulk assignment did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AssignReport {
    pub workers: usize,
    pub subjects: usize,
    pub assigned: u64,
}

/// Give every active subject of a grid to the grid's grid worker(s).
pub async fn assign_grid(
    c: &mut Conn<'_>,
    scope: &Scope,
    grid: &DivisionCode,
    now: DateTime<Utc>,
) -> Result<AssignReport> {
    if grid.level() != Level::Grid {
        return Err(DbError::invalid("grid", "bad_level", "请选择网格"));
    }
    if !scope.contains(grid) {
        return Err(DbError::invalid(
            "grid",
            "out_of_scope",
            "该网格不在您的管辖范围内",
        ));
    }
    let workers: Vec<(i64,)> = c
        .fetch_all(
            &Query::select()
                .column(Users::Id)
                .from(Users::Table)
                .and_where(Expr::col(Users::DivisionCode).eq(grid.as_str()))
                .and_where(Expr::col(Users::Role).eq(Role::GridWorker.as_str()))
                .and_where(Expr::col(Users::Disabled).eq(false))
                .to_owned(),
        )
        .await?;
    if workers.is_empty() {
        return Err(DbError::invalid(
            "grid",
            "no_grid_worker",
            "该网格还没有网格员账号",
        ));
    }
    let subjects: Vec<(i64,)> = c
        .fetch_all(
            &Query::select()
                .column(CareSubjects::Id)
                .from(CareSubjects::Table)
                .and_where(Expr::col(CareSubjects::DivisionCode).eq(grid.as_str()))
                .and_where(Expr::col(CareSubjects::Status).eq(ACTIVE))
                .to_owned(),
        )
        .await?;
    let mut report = AssignReport {
        workers: workers.len(),
        subjects: subjects.len(),
        assigned: 0,
    };
    let pairs: Vec<(i64, i64)> = subjects
        .iter()
        .flat_map(|(s,)| workers.iter().map(move |(u,)| (*s, *u)))
        .collect();
    report.assigned = insert_assignments(c, &pairs, now).await?;
    audit::append(
        c,
        &scope.actor,
        Event::new("care_assign_grid", "division", grid.as_str())
            .division(grid.as_str())
            .detail(serde_json::to_value(&report).unwrap_or_default()),
        now,
    )
    .await?;
    Ok(report)
}

/// Insert (subject, user) pairs, skipping those already there; returns how many were new.
pub(crate) async fn insert_assignments(
    c: &mut Conn<'_>,
    pairs: &[(i64, i64)],
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut n = 0;
    for chunk in pairs.chunks(500) {
        let mut q = Query::insert()
            .into_table(CareVisitors::Table)
            .columns([
                CareVisitors::SubjectId,
                CareVisitors::UserId,
                CareVisitors::AssignedAt,
            ])
            .to_owned();
        for (s, u) in chunk {
            q.values_panic([(*s).into(), (*u).into(), now.into()]);
        }
        q.on_conflict(
            OnConflict::columns([CareVisitors::SubjectId, CareVisitors::UserId])
                .do_nothing()
                .to_owned(),
        );
        n += c.execute(&q).await?;
    }
    Ok(n)
}

/// Accounts that may be assigned to subjects of `village`: visitor roles working in
/// the village/community, its grids, or its township.
pub async fn visitor_candidates(
    c: &mut Conn<'_>,
    village: &str,
) -> Result<Vec<(i64, String, String)>> {
    let township = village.get(0..9).unwrap_or(village).to_owned();
    let q = Query::select()
        .columns([Users::Id, Users::DisplayName, Users::Role])
        .from(Users::Table)
        .and_where(Expr::col(Users::Disabled).eq(false))
        .and_where(
            Expr::col(Users::Role)
                .is_in(VISITOR_ROLES.iter().map(|r| r.as_str()).collect::<Vec<_>>()),
        )
        .cond_where(
            Cond::any()
                .add(Expr::col(Users::DivisionCode).eq(township))
                .add(Expr::col(Users::DivisionCode).like(format!("{village}%"))),
        )
        .order_by(Users::Id, Order::Asc)
        .limit(200)
        .to_owned();
    c.fetch_all(&q).await
}

/// Whether the user is assigned to the subject.
pub async fn is_visitor(c: &mut Conn<'_>, subject: i64, user: i64) -> Result<bool> {
    let q = Query::select()
        .expr(Expr::col(CareVisitors::UserId).count())
        .from(CareVisitors::Table)
        .and_where(Expr::col(CareVisitors::SubjectId).eq(subject))
        .and_where(Expr::col(CareVisitors::UserId).eq(user))
        .to_owned();
    Ok(c.fetch_i64(&q).await? > 0)
}

// ---------------------------------------------------------------- visits

/// A visit as stored.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Visit {
    pub id: i64,
    pub subject_id: i64,
    pub village_code: String,
    pub visitor_id: Option<i64>,
    pub visitor_name: String,
    pub visited_at: DateTime<Utc>,
    pub channel: String,
    pub valid: bool,
    pub living: String,
    pub safety: String,
    pub support: String,
    pub service: String,
    /// JSON object of notes by area code.
    pub notes: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub emergency: bool,
    pub work_order_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl Visit {
    pub fn channel_label(&self) -> &'static str {
        Channel::parse(&self.channel).map_or("", Channel::label)
    }

    /// (area label, finding code, finding label, note) for the four areas.
    pub fn areas(&self) -> Vec<(&'static str, String, &'static str, String)> {
        let notes: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&self.notes).unwrap_or_default();
        core::Area::ALL
            .iter()
            .zip([&self.living, &self.safety, &self.support, &self.service])
            .map(|(a, f)| {
                (
                    a.label(),
                    f.clone(),
                    core::Finding::parse(f).map_or("", core::Finding::label),
                    notes
                        .get(a.as_str())
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect()
    }
}

const VISIT_COLUMNS: [CareVisits; 18] = [
    CareVisits::Id,
    CareVisits::SubjectId,
    CareVisits::VillageCode,
    CareVisits::VisitorId,
    CareVisits::VisitorName,
    CareVisits::VisitedAt,
    CareVisits::Channel,
    CareVisits::Valid,
    CareVisits::Living,
    CareVisits::Safety,
    CareVisits::Support,
    CareVisits::Service,
    CareVisits::Notes,
    CareVisits::Lon,
    CareVisits::Lat,
    CareVisits::Emergency,
    CareVisits::WorkOrderId,
    CareVisits::CreatedAt,
];

fn visit_select() -> sea_query::SelectStatement {
    let mut q = Query::select();
    for col in VISIT_COLUMNS {
        q.column((CareVisits::Table, col));
    }
    q.from(CareVisits::Table).to_owned()
}

/// A visit to store.
#[derive(Debug, Clone)]
pub struct NewVisit {
    pub subject_id: i64,
    pub input: VisitInput,
    pub location: Option<Point>,
    pub photos: Vec<Photo>,
    /// The work order raised from this visit, when one was.
    pub work_order_id: Option<i64>,
    /// The visitor's name as shown (default: the account name).
    pub visitor_name: Option<String>,
}

/// Check that the caller may record a visit for the subject and that the visit is
/// acceptable; stores nothing. Returns the subject.
pub async fn check(
    c: &mut Conn<'_>,
    scope: &Scope,
    subject: i64,
    input: &VisitInput,
    now: DateTime<Utc>,
) -> Result<Subject> {
    let s = get(c, scope, subject).await?.ok_or(DbError::NotFound)?;
    let assigned = match scope.actor.user_id {
        Some(u) => is_visitor(c, subject, u).await?,
        None => false,
    };
    if !assigned && !scope.contains_str(&s.division_code) {
        return Err(DbError::NotFound);
    }
    if !s.active() {
        return Err(DbError::invalid(
            "subject",
            "subject_not_active",
            "该对象已不在探访关爱名册中",
        ));
    }
    core::check_visit(input, s.joined_on, now)?;
    Ok(s)
}

/// Record a visit: the visit and its photos, the plan rows it fulfils, the
/// subject's last visit, the monthly aggregate and the village's indicator values,
/// all in the caller's transaction. Returns the new visit's id.
pub async fn record(
    c: &mut Conn<'_>,
    scope: &Scope,
    v: &NewVisit,
    now: DateTime<Utc>,
) -> Result<i64> {
    let s = check(c, scope, v.subject_id, &v.input, now).await?;
    if v.photos.len() > MAX_PHOTOS {
        return Err(DbError::invalid(
            "photo",
            "too_many_photos",
            format!("最多上传 {MAX_PHOTOS} 张照片"),
        ));
    }
    let rules = settings(c).await?;
    let valid = rules.counts(s.tier(), v.input.channel);
    let today = local_date(now);
    let current = Month::of(today);
    ensure_month(c, current).await?;
    let notes: serde_json::Map<String, serde_json::Value> = core::Area::ALL
        .iter()
        .zip(&v.input.areas)
        .map(|(a, e)| {
            (
                a.as_str().to_owned(),
                serde_json::Value::from(e.note.trim()),
            )
        })
        .collect();
    let f = |i: usize| v.input.areas[i].finding.as_str();
    let q = Query::insert()
        .into_table(CareVisits::Table)
        .columns([
            CareVisits::SubjectId,
            CareVisits::VillageCode,
            CareVisits::VisitorId,
            CareVisits::VisitorName,
            CareVisits::VisitedAt,
            CareVisits::Channel,
            CareVisits::Valid,
            CareVisits::Living,
            CareVisits::Safety,
            CareVisits::Support,
            CareVisits::Service,
            CareVisits::Notes,
            CareVisits::Lon,
            CareVisits::Lat,
            CareVisits::Emergency,
            CareVisits::WorkOrderId,
            CareVisits::CreatedAt,
        ])
        .values_panic([
            s.id.into(),
            s.village_code.clone().into(),
            scope.actor.user_id.into(),
            v.visitor_name
                .clone()
                .unwrap_or_else(|| scope.actor.name.clone())
                .into(),
            v.input.visited_at.into(),
            v.input.channel.as_str().into(),
            valid.into(),
            f(0).into(),
            f(1).into(),
            f(2).into(),
            f(3).into(),
            serde_json::Value::Object(notes).to_string().into(),
            v.location.map(|p| p.lon).into(),
            v.location.map(|p| p.lat).into(),
            v.input.emergency.into(),
            v.work_order_id.into(),
            now.into(),
        ])
        .to_owned();
    let id = c.insert_id(&q).await?;
    for p in &v.photos {
        let dim = |x: u32| i32::try_from(x).unwrap_or(i32::MAX);
        c.execute(
            &Query::insert()
                .into_table(CareVisitPhotos::Table)
                .columns([
                    CareVisitPhotos::VisitId,
                    CareVisitPhotos::ContentType,
                    CareVisitPhotos::Bytes,
                    CareVisitPhotos::Width,
                    CareVisitPhotos::Height,
                    CareVisitPhotos::CreatedAt,
                ])
                .values_panic([
                    id.into(),
                    p.content_type.into(),
                    p.bytes.clone().into(),
                    dim(p.width).into(),
                    dim(p.height).into(),
                    now.into(),
                ])
                .to_owned(),
        )
        .await?;
    }
    if valid {
        let day = local_date(v.input.visited_at);
        let month = Month::of(day);
        let earlier = c
            .fetch_i64(
                &Query::select()
                    .expr(Expr::col(CareVisits::Id).count())
                    .from(CareVisits::Table)
                    .and_where(Expr::col(CareVisits::SubjectId).eq(s.id))
                    .and_where(Expr::col(CareVisits::Valid).eq(true))
                    .and_where(Expr::col(CareVisits::Id).ne(id))
                    .and_where(Expr::col(CareVisits::VisitedAt).gte(start_of(month.first())))
                    .and_where(Expr::col(CareVisits::VisitedAt).lt(start_of(month.next().first())))
                    .to_owned(),
            )
            .await?;
        if earlier == 0 {
            if month == current {
                bump(c, month, &s.village_code, 0, 1).await?;
            } else {
                c.execute(
                    &Query::update()
                        .table(CareMonthly::Table)
                        .value(CareMonthly::Visited, Expr::col(CareMonthly::Visited).add(1))
                        .and_where(Expr::col(CareMonthly::Month).eq(month.key()))
                        .and_where(
                            Expr::col(CareMonthly::DivisionCode).is_in(path(&s.village_code)),
                        )
                        .to_owned(),
                )
                .await?;
            }
        }
        c.execute(
            &Query::update()
                .table(CarePlan::Table)
                .value(CarePlan::VisitId, id)
                .and_where(Expr::col(CarePlan::SubjectId).eq(s.id))
                .and_where(Expr::col(CarePlan::WindowStart).lte(day))
                .and_where(Expr::col(CarePlan::DueDate).gte(day))
                .and_where(Expr::col(CarePlan::VisitId).is_null())
                .to_owned(),
        )
        .await?;
        if s.last_visit_at.is_none_or(|t| t < v.input.visited_at) {
            c.execute(
                &Query::update()
                    .table(CareSubjects::Table)
                    .value(CareSubjects::LastVisitAt, v.input.visited_at)
                    .and_where(Expr::col(CareSubjects::Id).eq(s.id))
                    .to_owned(),
            )
            .await?;
        }
    }
    audit::append(
        c,
        &scope.actor,
        Event::new("care_visit", "care_visit", id)
            .division(&s.division_code)
            .detail(serde_json::json!({
                "subject_id": s.id, "channel": v.input.channel.as_str(), "valid": valid,
                "emergency": v.input.emergency, "work_order_id": v.work_order_id,
                "photos": v.photos.len(),
            })),
        now,
    )
    .await?;
    if valid {
        crate::indicators::refresh(c, &village_code(&s.village_code)?, now).await?;
    }
    Ok(id)
}

/// One visit the caller may see (through its subject).
pub async fn visit(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<(Visit, Subject)>> {
    let q = visit_select()
        .and_where(Expr::col((CareVisits::Table, CareVisits::Id)).eq(id))
        .to_owned();
    let Some(v) = c.fetch_optional::<Visit>(&q).await? else {
        return Ok(None);
    };
    Ok(get(c, scope, v.subject_id).await?.map(|s| (v, s)))
}

/// Visits of a subject (the caller checked access), newest first.
pub async fn visits_of(c: &mut Conn<'_>, subject: i64, page: PageReq) -> Result<Page<Visit>> {
    let q = visit_select()
        .and_where(Expr::col((CareVisits::Table, CareVisits::SubjectId)).eq(subject))
        .to_owned();
    let mut count = q.clone();
    count
        .clear_selects()
        .expr(Expr::col((CareVisits::Table, CareVisits::Id)).count());
    let total = c.fetch_i64(&count).await?;
    let q = q
        .clone()
        .order_by((CareVisits::Table, CareVisits::VisitedAt), Order::Desc)
        .order_by((CareVisits::Table, CareVisits::Id), Order::Desc)
        .limit(page.per_page)
        .offset(page.offset())
        .to_owned();
    Ok(Page {
        items: c.fetch_all(&q).await?,
        total,
    })
}

/// Ids of a visit's photos.
pub async fn photo_ids(c: &mut Conn<'_>, visit: i64) -> Result<Vec<i64>> {
    let q = Query::select()
        .column(CareVisitPhotos::Id)
        .from(CareVisitPhotos::Table)
        .and_where(Expr::col(CareVisitPhotos::VisitId).eq(visit))
        .order_by(CareVisitPhotos::Id, Order::Asc)
        .to_owned();
    let rows: Vec<(i64,)> = c.fetch_all(&q).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// A photo's visit, content type and bytes (the caller checks access to the visit).
pub async fn photo(c: &mut Conn<'_>, id: i64) -> Result<Option<(i64, String, Vec<u8>)>> {
    let q = Query::select()
        .columns([
            CareVisitPhotos::VisitId,
            CareVisitPhotos::ContentType,
            CareVisitPhotos::Bytes,
        ])
        .from(CareVisitPhotos::Table)
        .and_where(Expr::col(CareVisitPhotos::Id).eq(id))
        .to_owned();
    c.fetch_optional(&q).await
}

// ---------------------------------------------------------------- plan

/// What a plan generation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlanReport {
    pub month: String,
    pub subjects: usize,
    /// Due visits the month holds for the subjects.
    pub due: usize,
    /// Of those, already fulfilled by a valid visit.
    pub done: usize,
    /// Rows newly written (a second run writes none).
    pub inserted: u64,
}

#[derive(Debug, sqlx::FromRow)]
struct PlanSubject {
    id: i64,
    village_code: String,
    tier: String,
    joined_on: NaiveDate,
}

/// Write the due visits of `month` for every active subject in scope. Running it
/// again adds only what is missing.
pub async fn generate_plan(
    c: &mut Conn<'_>,
    scope: &Scope,
    month: Month,
    now: DateTime<Utc>,
) -> Result<PlanReport> {
    let rules = settings(c).await?;
    let subjects: Vec<PlanSubject> = c
        .fetch_all(
            &Query::select()
                .columns([
                    CareSubjects::Id,
                    CareSubjects::VillageCode,
                    CareSubjects::Tier,
                    CareSubjects::JoinedOn,
                ])
                .from(CareSubjects::Table)
                .and_where(Expr::col(CareSubjects::Status).eq(ACTIVE))
                .cond_where(scope.condition(CareSubjects::DivisionCode))
                .to_owned(),
        )
        .await?;
    // Valid visits from the start of the quarter (or the week that opens the
    // month) to the month's end: what fulfils a due visit, and who was already
    // visited this quarter.
    let from = std::cmp::min(month.quarter_start(), core::week_start(month.first()));
    let to = month.next().first();
    let base = Query::select()
        .columns([CareVisits::SubjectId, CareVisits::Id, CareVisits::VisitedAt])
        .from(CareVisits::Table)
        .and_where(Expr::col(CareVisits::Valid).eq(true))
        .and_where(Expr::col(CareVisits::VisitedAt).gte(start_of(from)))
        .and_where(Expr::col(CareVisits::VisitedAt).lt(start_of(to)))
        .to_owned();
    let mut visits: Vec<(i64, i64, DateTime<Utc>)> = Vec::new();
    if subjects.len() <= 5000 {
        // A small area: by subject, on the (subject, time) index.
        for chunk in subjects.chunks(500) {
            let ids: Vec<i64> = chunk.iter().map(|s| s.id).collect();
            let q = base
                .clone()
                .and_where(Expr::col(CareVisits::SubjectId).is_in(ids))
                .to_owned();
            visits.extend(c.fetch_all::<(i64, i64, DateTime<Utc>)>(&q).await?);
        }
    } else {
        let q = base
            .clone()
            .cond_where(scope.condition(CareVisits::VillageCode))
            .to_owned();
        visits = c.fetch_all(&q).await?;
    }
    let mut by_subject: HashMap<i64, Vec<(NaiveDate, i64)>> = HashMap::new();
    for (s, id, at) in visits {
        by_subject.entry(s).or_default().push((local_date(at), id));
    }
    let quarter = month.quarter_start();
    let mut rows = Vec::new();
    let mut report = PlanReport {
        month: month.key(),
        subjects: subjects.len(),
        ..PlanReport::default()
    };
    for s in &subjects {
        let tier = Tier::parse(&s.tier).unwrap_or(Tier::General);
        let seen = by_subject.get(&s.id).map(Vec::as_slice).unwrap_or(&[]);
        let before = seen
            .iter()
            .any(|(d, _)| *d >= quarter && *d < month.first());
        for due in core::due_visits(rules.frequency(tier), month, s.joined_on, before) {
            let done = seen
                .iter()
                .filter(|(d, _)| *d >= due.window_start && *d <= due.due)
                .map(|(_, id)| *id)
                .min();
            report.done += usize::from(done.is_some());
            rows.push((s.id, s.village_code.as_str(), due, done));
        }
    }
    report.due = rows.len();
    let backend = c.backend();
    for chunk in rows.chunks(5000) {
        let mut b = bulk::Rows::new();
        for (id, village, due, done) in chunk {
            b.row();
            b.int(*id);
            b.text(village);
            b.text(&month.key());
            b.text(&due.window_start.to_string());
            b.text(&due.due.to_string());
            b.opt_int(*done);
            b.end_row();
        }
        let mut q = bulk::insert(backend, CarePlan::Table, &PLAN_COLS, b.finish())?;
        q.on_conflict(
            OnConflict::columns([CarePlan::SubjectId, CarePlan::DueDate])
                .do_nothing()
                .to_owned(),
        );
        report.inserted += c.execute(&q).await?;
    }
    audit::append(
        c,
        &scope.actor,
        Event::new("care_plan_generate", "care_plan", month.key())
            .division(scope.root.as_str())
            .detail(serde_json::to_value(&report).unwrap_or_default()),
        now,
    )
    .await?;
    Ok(report)
}

const PLAN_COLS: [(CarePlan, bulk::Ty); 6] = [
    (CarePlan::SubjectId, bulk::Ty::Int),
    (CarePlan::VillageCode, bulk::Ty::Text),
    (CarePlan::Month, bulk::Ty::Text),
    (CarePlan::WindowStart, bulk::Ty::Date),
    (CarePlan::DueDate, bulk::Ty::Date),
    (CarePlan::VisitId, bulk::Ty::Int),
];

/// A due visit not yet made.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DueItem {
    pub plan_id: i64,
    pub subject_id: i64,
    pub name: String,
    pub division_code: String,
    pub village_code: String,
    pub tier: String,
    pub window_start: NaiveDate,
    pub due_date: NaiveDate,
    pub last_visit_at: Option<DateTime<Utc>>,
}

impl DueItem {
    pub fn tier_label(&self) -> &'static str {
        Tier::parse(&self.tier).map_or("", Tier::label)
    }
}

fn due_select() -> sea_query::SelectStatement {
    Query::select()
        .expr_as(
            Expr::col((CarePlan::Table, CarePlan::Id)),
            Alias::new("plan_id"),
        )
        .column((CarePlan::Table, CarePlan::SubjectId))
        .column((CareSubjects::Table, CareSubjects::Name))
        .column((CareSubjects::Table, CareSubjects::DivisionCode))
        .column((CarePlan::Table, CarePlan::VillageCode))
        .column((CareSubjects::Table, CareSubjects::Tier))
        .column((CarePlan::Table, CarePlan::WindowStart))
        .column((CarePlan::Table, CarePlan::DueDate))
        .column((CareSubjects::Table, CareSubjects::LastVisitAt))
        .from(CarePlan::Table)
        .join(
            JoinType::InnerJoin,
            CareSubjects::Table,
            Expr::col((CareSubjects::Table, CareSubjects::Id))
                .equals((CarePlan::Table, CarePlan::SubjectId)),
        )
        .and_where(Expr::col((CarePlan::Table, CarePlan::VisitId)).is_null())
        .and_where(Expr::col((CareSubjects::Table, CareSubjects::Status)).eq(ACTIVE))
        .to_owned()
}

/// Due visits in scope whose due date has passed without a valid visit, oldest first.
pub async fn overdue(
    c: &mut Conn<'_>,
    scope: &Scope,
    today: NaiveDate,
    page: PageReq,
) -> Result<Page<DueItem>> {
    let q = due_select()
        .and_where(Expr::col((CarePlan::Table, CarePlan::DueDate)).lt(today))
        .cond_where(scope.condition((CarePlan::Table, CarePlan::VillageCode)))
        .to_owned();
    let mut count = q.clone();
    count
        .clear_selects()
        .expr(Expr::col((CarePlan::Table, CarePlan::Id)).count());
    let total = c.fetch_i64(&count).await?;
    let q = q
        .clone()
        .order_by((CarePlan::Table, CarePlan::DueDate), Order::Asc)
        .order_by((CarePlan::Table, CarePlan::Id), Order::Asc)
        .limit(page.per_page)
        .offset(page.offset())
        .to_owned();
    Ok(Page {
        items: c.fetch_all(&q).await?,
        total,
    })
}

/// A visitor's open due visits: windows already open on `today` (overdue first),
/// and those due within the next `days`.
pub async fn due_for_visitor(
    c: &mut Conn<'_>,
    user: i64,
    today: NaiveDate,
    days: i64,
) -> Result<Vec<DueItem>> {
    let q = due_select()
        .and_where(
            Expr::col((CarePlan::Table, CarePlan::SubjectId)).in_subquery(
                Query::select()
                    .column(CareVisitors::SubjectId)
                    .from(CareVisitors::Table)
                    .and_where(Expr::col(CareVisitors::UserId).eq(user))
                    .to_owned(),
            ),
        )
        .and_where(
            Expr::col((CarePlan::Table, CarePlan::WindowStart)).lte(today + Duration::days(days)),
        )
        .order_by((CarePlan::Table, CarePlan::DueDate), Order::Asc)
        .order_by((CarePlan::Table, CarePlan::Id), Order::Asc)
        .limit(200)
        .to_owned();
    c.fetch_all(&q).await
}

/// Leave one in-app notice per village for due visits that passed their date
/// since the last run (kind `care_overdue`, to the village's unit). Returns the
/// number of due visits newly noticed.
pub async fn notify_overdue(c: &mut Conn<'_>, now: DateTime<Utc>) -> Result<usize> {
    let today = local_date(now);
    ensure_month(c, Month::of(today)).await?;
    let active = Query::select()
        .column(CareSubjects::Id)
        .from(CareSubjects::Table)
        .and_where(Expr::col(CareSubjects::Status).eq(ACTIVE))
        .to_owned();
    let q = Query::select()
        .column(CarePlan::VillageCode)
        .expr(Expr::col(CarePlan::Id).count())
        .from(CarePlan::Table)
        .and_where(Expr::col(CarePlan::DueDate).lt(today))
        .and_where(Expr::col(CarePlan::VisitId).is_null())
        .and_where(Expr::col(CarePlan::NotifiedAt).is_null())
        .and_where(Expr::col(CarePlan::SubjectId).in_subquery(active))
        .group_by_col(CarePlan::VillageCode)
        .to_owned();
    let rows: Vec<(String, i64)> = c.fetch_all(&q).await?;
    let mut n = 0;
    for (village, count) in &rows {
        let msg = format!("探访关爱：有 {count} 次应探访未按期完成，请尽快安排探访");
        crate::workorders::notify::notice(c, village, None, "care_overdue", &msg, now).await?;
        c.execute(
            &Query::update()
                .table(CarePlan::Table)
                .value(CarePlan::NotifiedAt, now)
                .and_where(Expr::col(CarePlan::VillageCode).eq(village.clone()))
                .and_where(Expr::col(CarePlan::DueDate).lt(today))
                .and_where(Expr::col(CarePlan::VisitId).is_null())
                .and_where(Expr::col(CarePlan::NotifiedAt).is_null())
                .to_owned(),
        )
        .await?;
        n += usize::try_from(*count).unwrap_or(0);
    }
    Ok(n)
}

/// Count of active subjects in scope.
pub async fn roster_count(c: &mut Conn<'_>, scope: &Scope) -> Result<i64> {
    c.fetch_i64(
        &Query::select()
            .expr(Expr::col(CareSubjects::Id).count())
            .from(CareSubjects::Table)
            .and_where(Expr::col(CareSubjects::Status).eq(ACTIVE))
            .cond_where(scope.condition(CareSubjects::DivisionCode))
            .to_owned(),
    )
    .await
}

/// Count of visits of subjects in scope.
pub async fn visit_count(c: &mut Conn<'_>, scope: &Scope) -> Result<i64> {
    c.fetch_i64(
        &Query::select()
            .expr(Expr::col(CareVisits::Id).count())
            .from(CareVisits::Table)
            .cond_where(scope.condition(CareVisits::VillageCode))
            .to_owned(),
    )
    .await
}

/// Replace the aggregate rows of a month from per-village counts (demo loading
/// writes history in bulk).
pub(crate) async fn put_monthly(
    c: &mut Conn<'_>,
    month: Month,
    villages: &BTreeMap<String, (i64, i64)>,
) -> Result<()> {
    c.execute(
        &Query::delete()
            .from_table(CareMonthly::Table)
            .and_where(Expr::col(CareMonthly::Month).eq(month.key()))
            .to_owned(),
    )
    .await?;
    insert_monthly(c, month, &expand(villages), false).await
}

/// Bulk inserts that bind one JSON array of rows which the database unpacks
/// (`json_each` on SQLite, `json_array_elements` on PostgreSQL): one bound value
/// per statement, so a whole city's plan is written in a few statements.
pub(crate) mod bulk {
    use crate::{Backend, DbError, Result};
    use chrono::{DateTime, SecondsFormat, Utc};
    use sea_query::{Alias, Expr, ExprTrait, Func, Iden, InsertStatement, Query};
    use std::fmt::Write;

    /// How a column is read back from its JSON value.
    #[derive(Debug, Clone, Copy)]
    pub enum Ty {
        Int,
        Real,
        Bool,
        Text,
        Date,
        Time,
    }

    /// A JSON array of row arrays.
    pub struct Rows {
        buf: String,
        first_row: bool,
        first_cell: bool,
    }

    impl Rows {
        pub fn new() -> Rows {
            Rows {
                buf: String::from("["),
                first_row: true,
                first_cell: true,
            }
        }

        pub fn row(&mut self) {
            if !self.first_row {
                self.buf.push(',');
            }
            self.first_row = false;
            self.first_cell = true;
            self.buf.push('[');
        }

        pub fn end_row(&mut self) {
            self.buf.push(']');
        }

        fn sep(&mut self) {
            if !self.first_cell {
                self.buf.push(',');
            }
            self.first_cell = false;
        }

        pub fn int(&mut self, v: i64) {
            self.sep();
            let _ = write!(self.buf, "{v}");
        }

        pub fn opt_int(&mut self, v: Option<i64>) {
            match v {
                Some(v) => self.int(v),
                None => {
                    self.sep();
                    self.buf.push_str("null");
                }
            }
        }

        pub fn real(&mut self, v: Option<f64>) {
            self.sep();
            match v.filter(|x| x.is_finite()) {
                Some(v) => {
                    let _ = write!(self.buf, "{v}");
                }
                None => self.buf.push_str("null"),
            }
        }

        pub fn bool(&mut self, v: bool) {
            self.sep();
            self.buf.push_str(if v { "true" } else { "false" });
        }

        pub fn time(&mut self, t: DateTime<Utc>) {
            self.text(&t.to_rfc3339_opts(SecondsFormat::AutoSi, false));
        }

        pub fn text(&mut self, s: &str) {
            self.sep();
            self.buf.push('"');
            for ch in s.chars() {
                match ch {
                    '"' => self.buf.push_str("\\\""),
                    '\\' => self.buf.push_str("\\\\"),
                    c if u32::from(c) < 0x20 => {
                        let _ = write!(self.buf, "\\u{:04x}", u32::from(c));
                    }
                    c => self.buf.push(c),
                }
            }
            self.buf.push('"');
        }

        pub fn finish(mut self) -> String {
            self.buf.push(']');
            self.buf
        }
    }

    /// `INSERT INTO table (columns) SELECT … FROM <rows> WHERE TRUE`.
    pub fn insert<T: Iden + Copy + 'static>(
        backend: Backend,
        table: T,
        columns: &[(T, Ty)],
        rows: String,
    ) -> Result<InsertStatement> {
        let pg = backend == Backend::Postgres;
        let mut select = Query::select();
        for (i, (_, ty)) in columns.iter().enumerate() {
            let v = format!("value->>{i}");
            let e = match (pg, ty) {
                (false, _) => v,
                (true, Ty::Int) => format!("CAST({v} AS BIGINT)"),
                (true, Ty::Real) => format!("CAST({v} AS DOUBLE PRECISION)"),
                (true, Ty::Bool) => format!("CAST({v} AS BOOLEAN)"),
                (true, Ty::Date) => format!("CAST({v} AS DATE)"),
                (true, Ty::Time) => format!("CAST({v} AS TIMESTAMPTZ)"),
                (true, Ty::Text) => v,
            };
            select.expr(Expr::cust(e));
        }
        let source = if pg {
            Func::cust(Alias::new("json_array_elements")).arg(Expr::val(rows).cast_as("json"))
        } else {
            Func::cust(Alias::new("jsonb_each")).arg(Expr::val(rows))
        };
        select
            .from_function(source, Alias::new("rows"))
            .and_where(Expr::cust("1 = 1"));
        let mut q = Query::insert();
        q.into_table(table)
            .columns(columns.iter().map(|c| c.0))
            .select_from(select)
            .map_err(|e| DbError::Conflict(e.to_string()))?;
        Ok(q)
    }
}
