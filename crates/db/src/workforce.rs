//! The community workforce (社区工作者): workers of a village/community, or of a
//! township/street for street-level staff, their mentors and training records,
//! scoped to the caller's subtree. Every write is audited and followed by
//! [`crate::indicators::refresh`] inside the caller's transaction.

use crate::audit::{self, Event};
use crate::scope::Scope;
use crate::{Conn, DbError, Page, PageReq, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sea_query::{
    Alias, Expr, ExprTrait, Iden, JoinType, Order, Query, SelectStatement, SimpleExpr,
};
use serde::Serialize;
use shequ_core::facility::{CERTIFICATES, WORKER_KINDS, label_of, lookup};
use shequ_core::{DivisionCode, FieldErrors, Level};
use std::collections::BTreeSet;

#[derive(Iden, Clone, Copy)]
pub(crate) enum Workers {
    Table,
    Id,
    DivisionCode,
    Name,
    Kind,
    Grade,
    Certificate,
    HireDate,
    MentorId,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum WorkerTrainings {
    Table,
    Id,
    WorkerId,
    Day,
    Topic,
    #[iden = "hours_x10"]
    HoursX10,
}

pub const MAX_NAME: usize = 30;
pub const MAX_GRADE: usize = 20;
pub const MAX_TOPIC: usize = 60;
/// Training hours are stored in tenths: 0.5 … 200 hours.
pub const MIN_HOURS_X10: i32 = 5;
pub const MAX_HOURS_X10: i32 = 2000;
/// Longest mentor chain followed when looking for a cycle.
const MAX_CHAIN: usize = 1000;

/// The earliest hire or training date accepted.
pub fn earliest_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or_default()
}

/// 365 days earlier: the year the indicators count in (a worker hired fewer than
/// 365 days ago is in their first year).
pub fn one_year_before(d: NaiveDate) -> NaiveDate {
    d - Duration::days(365)
}

/// Whether someone hired on `hire` is, on `today`, in their first year (入职未满一年),
/// as `new_worker_mentor_coverage` counts it.
pub fn in_first_year(hire: NaiveDate, today: NaiveDate) -> bool {
    hire > one_year_before(today)
}

/// `2024-03-05`, `2024-3-5`, `2024/3/5` or `2024.3.5`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let mut parts = s.split(['-', '/', '.']);
    let y: i32 = parts.next()?.trim().parse().ok()?;
    let m: u32 = parts.next()?.trim().parse().ok()?;
    let d: u32 = parts.next()?.trim().parse().ok()?;
    if parts.next().is_some() || !(1000..=9999).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d)
}

/// Hours as typed ("2", "2.5", "12.0") in tenths; `None` unless a number with at most one decimal.
pub fn parse_hours(s: &str) -> Option<i32> {
    let s = s.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || whole.len() > 6 || frac.len() > 1 {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let w: i32 = whole.parse().ok()?;
    let f: i32 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    Some(w * 10 + f)
}

/// Tenths of an hour as text: 25 → "2.5", 40 → "4".
pub fn format_hours(x10: i64) -> String {
    if x10 % 10 == 0 {
        (x10 / 10).to_string()
    } else {
        format!("{}.{}", x10 / 10, (x10 % 10).abs())
    }
}

/// A worker as stored, with the mentor's name.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct WorkerRow {
    pub id: i64,
    pub division_code: String,
    pub name: String,
    pub kind: String,
    pub grade: String,
    pub certificate: String,
    pub hire_date: NaiveDate,
    pub mentor_id: Option<i64>,
    pub active: bool,
    pub updated_at: DateTime<Utc>,
    pub mentor_name: Option<String>,
}

impl WorkerRow {
    pub fn kind_label(&self) -> &'static str {
        label_of(&WORKER_KINDS, &self.kind)
    }

    pub fn certificate_label(&self) -> &'static str {
        label_of(&CERTIFICATES, &self.certificate)
    }

    /// Active, in the first year and without a mentor.
    pub fn needs_mentor(&self, today: NaiveDate) -> bool {
        self.active && self.mentor_id.is_none() && in_first_year(self.hire_date, today)
    }
}

/// One training record.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TrainingRow {
    pub id: i64,
    pub worker_id: i64,
    pub day: NaiveDate,
    pub topic: String,
    pub hours_x10: i32,
}

impl TrainingRow {
    pub fn hours(&self) -> f64 {
        f64::from(self.hours_x10) / 10.0
    }
}

/// A worker with their training records (newest first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerDetail {
    pub worker: WorkerRow,
    pub trainings: Vec<TrainingRow>,
}

impl WorkerDetail {
    /// Training hours (tenths) recorded in calendar year `year`.
    pub fn hours_x10_in(&self, year: i32) -> i64 {
        self.trainings
            .iter()
            .filter(|t| t.day.year() == year)
            .map(|t| i64::from(t.hours_x10))
            .sum()
    }
}

/// A worker's fields as entered. Kind and certificate by code or Chinese name.
#[derive(Debug, Clone)]
pub struct WorkerInput {
    pub division: DivisionCode,
    pub name: String,
    pub kind: String,
    pub grade: String,
    pub certificate: String,
    pub hire_date: NaiveDate,
    pub mentor_id: Option<i64>,
}

/// A training record as entered.
#[derive(Debug, Clone)]
pub struct TrainingInput {
    pub day: NaiveDate,
    pub topic: String,
    pub hours_x10: i32,
}

/// The fields after checking: trimmed text and codes.
struct Clean {
    name: String,
    kind: &'static str,
    grade: String,
    certificate: &'static str,
}

fn bad_chars(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || "<>\"&;".contains(c))
}

fn check_name(name: &str, errs: &mut FieldErrors) {
    let n = name.chars().count();
    if n == 0 {
        errs.add("name", "required", "姓名不能为空");
    } else if n > MAX_NAME {
        errs.add("name", "too_long", format!("姓名不能超过 {MAX_NAME} 个字"));
    } else if bad_chars(name) {
        errs.add("name", "bad_chars", "姓名中不能含有特殊符号");
    }
}

fn check_codes(w: &WorkerInput, errs: &mut FieldErrors) -> (&'static str, &'static str) {
    let kind = lookup(&WORKER_KINDS, &w.kind).unwrap_or_else(|| {
        errs.add(
            "kind",
            "bad_kind",
            "人员类别应为两委成员、专职社区工作者、专职网格员或社工",
        );
        ""
    });
    let cert_text = if w.certificate.trim().is_empty() {
        "none"
    } else {
        w.certificate.as_str()
    };
    let certificate = lookup(&CERTIFICATES, cert_text).unwrap_or_else(|| {
        errs.add(
            "certificate",
            "bad_certificate",
            "证书应为无、助理社会工作师、社会工作师或高级社会工作师",
        );
        ""
    });
    (kind, certificate)
}

fn check_hire_date(d: NaiveDate, today: NaiveDate, errs: &mut FieldErrors) {
    if d > today {
        errs.add("hire_date", "future_date", "入职日期不能晚于今天");
    } else if d < earliest_date() {
        errs.add("hire_date", "too_early", "入职日期不能早于 1950 年");
    }
}

/// Check the fields a store needs no lookup for.
fn check_input(w: &WorkerInput, today: NaiveDate) -> std::result::Result<Clean, FieldErrors> {
    let mut errs = FieldErrors::new();
    let name = w.name.trim();
    check_name(name, &mut errs);
    let (kind, certificate) = check_codes(w, &mut errs);
    let grade = w.grade.trim();
    if grade.chars().count() > MAX_GRADE {
        errs.add(
            "grade",
            "too_long",
            format!("岗位等级不能超过 {MAX_GRADE} 个字"),
        );
    } else if bad_chars(grade) {
        errs.add("grade", "bad_chars", "岗位等级中不能含有特殊符号");
    }
    check_hire_date(w.hire_date, today, &mut errs);
    if !matches!(w.division.level(), Level::Village | Level::Township) {
        errs.add(
            "division",
            "bad_level",
            "社区工作者应登记在村（社区），街道干部登记在乡镇（街道）",
        );
    }
    errs.into_result()?;
    Ok(Clean {
        name: name.to_owned(),
        kind,
        grade: grade.to_owned(),
        certificate,
    })
}

/// The township (9-digit) code a division lies in.
fn township_of(code: &str) -> &str {
    code.get(0..9).unwrap_or(code)
}

fn select() -> SelectStatement {
    let m = Alias::new("m");
    Query::select()
        .columns([
            (Workers::Table, Workers::Id),
            (Workers::Table, Workers::DivisionCode),
            (Workers::Table, Workers::Name),
            (Workers::Table, Workers::Kind),
            (Workers::Table, Workers::Grade),
            (Workers::Table, Workers::Certificate),
            (Workers::Table, Workers::HireDate),
            (Workers::Table, Workers::MentorId),
            (Workers::Table, Workers::Active),
            (Workers::Table, Workers::UpdatedAt),
        ])
        .expr_as(
            Expr::col((m.clone(), Workers::Name)),
            Alias::new("mentor_name"),
        )
        .from(Workers::Table)
        .join_as(
            JoinType::LeftJoin,
            Workers::Table,
            m.clone(),
            Expr::col((m, Workers::Id)).equals((Workers::Table, Workers::MentorId)),
        )
        .to_owned()
}

/// One worker by id, whatever the caller's scope (for mentor checks).
async fn find_any(c: &mut Conn<'_>, id: i64) -> Result<Option<WorkerRow>> {
    let q = select()
        .and_where(Expr::col((Workers::Table, Workers::Id)).eq(id))
        .to_owned();
    c.fetch_optional(&q).await
}

/// One worker in scope, without trainings.
async fn find(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<WorkerRow>> {
    let q = select()
        .and_where(Expr::col((Workers::Table, Workers::Id)).eq(id))
        .cond_where(scope.condition((Workers::Table, Workers::DivisionCode)))
        .to_owned();
    c.fetch_optional(&q).await
}

/// Check the division a worker is to be filed under.
async fn check_placement(c: &mut Conn<'_>, scope: &Scope, division: &DivisionCode) -> Result<()> {
    if !scope.contains(division) {
        return Err(DbError::invalid(
            "division",
            "out_of_scope",
            "该区划不在您的管辖范围内",
        ));
    }
    if crate::divisions::get(c, division).await?.is_none() {
        return Err(DbError::invalid(
            "division",
            "unknown_division",
            format!("区划 {division} 不存在"),
        ));
    }
    Ok(())
}

fn mentor_error(code: &'static str, message: &str) -> DbError {
    DbError::invalid("mentor_id", code, message)
}

/// Check a mentor: another active worker in the same township, hired at least a
/// year earlier, with no cycle back to `worker` (`None` when creating).
async fn check_mentor(
    c: &mut Conn<'_>,
    worker: Option<i64>,
    w: &WorkerInput,
    mentor_id: i64,
) -> Result<()> {
    if worker == Some(mentor_id) {
        return Err(mentor_error("self_mentor", "导师不能是本人"));
    }
    let Some(m) = find_any(c, mentor_id).await? else {
        return Err(mentor_error("unknown_mentor", "导师不存在"));
    };
    if !m.active {
        return Err(mentor_error("inactive_mentor", "导师已离岗，请另选导师"));
    }
    if let Some(id) = worker {
        check_no_cycle(c, id, &m).await?;
    }
    if township_of(&m.division_code) != township_of(w.division.as_str()) {
        return Err(mentor_error(
            "mentor_elsewhere",
            "导师应为同一乡镇（街道）的社区工作者",
        ));
    }
    if m.hire_date > one_year_before(w.hire_date) {
        return Err(mentor_error(
            "mentor_too_junior",
            "导师的入职时间应比本人早一年以上",
        ));
    }
    Ok(())
}

/// Follow the mentor chain up from `mentor`; an arrival at `worker` is a cycle.
async fn check_no_cycle(c: &mut Conn<'_>, worker: i64, mentor: &WorkerRow) -> Result<()> {
    let mut seen = BTreeSet::new();
    let mut next = mentor.mentor_id;
    while let Some(id) = next {
        if id == worker {
            return Err(mentor_error(
                "mentor_cycle",
                "不能形成循环带教（导师的导师不能是本人）",
            ));
        }
        if !seen.insert(id) || seen.len() > MAX_CHAIN {
            break;
        }
        next = find_any(c, id).await?.and_then(|r| r.mentor_id);
    }
    Ok(())
}

/// Check everything about an input that needs the store.
async fn check_all(
    c: &mut Conn<'_>,
    scope: &Scope,
    worker: Option<i64>,
    w: &WorkerInput,
    today: NaiveDate,
) -> Result<Clean> {
    let clean = check_input(w, today)?;
    check_placement(c, scope, &w.division).await?;
    if let Some(m) = w.mentor_id {
        check_mentor(c, worker, w, m).await?;
    }
    Ok(clean)
}

fn row_values(w: &WorkerInput, clean: &Clean) -> [SimpleExpr; 7] {
    [
        w.division.as_str().into(),
        clean.name.clone().into(),
        clean.kind.into(),
        clean.grade.clone().into(),
        clean.certificate.into(),
        w.hire_date.into(),
        w.mentor_id.into(),
    ]
}

const ROW_COLUMNS: [Workers; 7] = [
    Workers::DivisionCode,
    Workers::Name,
    Workers::Kind,
    Workers::Grade,
    Workers::Certificate,
    Workers::HireDate,
    Workers::MentorId,
];

fn summary(w: &WorkerInput, clean: &Clean) -> serde_json::Value {
    serde_json::json!({
        "name": clean.name, "division": w.division.as_str(), "kind": clean.kind,
        "grade": clean.grade, "certificate": clean.certificate,
        "hire_date": w.hire_date.to_string(), "mentor_id": w.mentor_id,
    })
}

/// Register a worker; audited, then the division's indicators refreshed.
pub async fn create(
    c: &mut Conn<'_>,
    scope: &Scope,
    w: &WorkerInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    let id = insert_one(c, scope, w, now).await?;
    crate::indicators::refresh(c, &w.division, now).await?;
    Ok(id)
}

/// Check, insert and audit one worker (no refresh).
async fn insert_one(
    c: &mut Conn<'_>,
    scope: &Scope,
    w: &WorkerInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    let clean = check_all(c, scope, None, w, now.date_naive()).await?;
    let mut cols = ROW_COLUMNS.to_vec();
    cols.extend([Workers::Active, Workers::CreatedAt, Workers::UpdatedAt]);
    let mut vals = row_values(w, &clean).to_vec();
    vals.extend([true.into(), now.into(), now.into()]);
    let q = Query::insert()
        .into_table(Workers::Table)
        .columns(cols)
        .values_panic(vals)
        .to_owned();
    let id = c.insert_id(&q).await?;
    let ev = Event::new("worker_create", "worker", id)
        .division(w.division.as_str())
        .detail(summary(w, &clean));
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(id)
}

/// A row of an import: its line in the file and the parsed input.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub line: usize,
    pub input: WorkerInput,
}

/// Register many workers (an upload): each checked and audited like [`create`];
/// refused rows come back with their errors. Each division touched is refreshed once.
pub async fn create_many(
    c: &mut Conn<'_>,
    scope: &Scope,
    rows: &[ImportRow],
    now: DateTime<Utc>,
) -> Result<(usize, Vec<(usize, FieldErrors)>)> {
    let mut done = 0;
    let mut refused = Vec::new();
    let mut touched = BTreeSet::new();
    for r in rows {
        match insert_one(c, scope, &r.input, now).await {
            Ok(_) => {
                done += 1;
                touched.insert(r.input.division.clone());
            }
            Err(DbError::Invalid(fe)) => refused.push((r.line, fe)),
            Err(e) => return Err(e),
        }
    }
    for d in &touched {
        crate::indicators::refresh(c, d, now).await?;
    }
    Ok((done, refused))
}

/// One worker in scope with their trainings and mentor's name.
pub async fn get(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<WorkerDetail>> {
    let Some(worker) = find(c, scope, id).await? else {
        return Ok(None);
    };
    let trainings = training_rows(c, id).await?;
    Ok(Some(WorkerDetail { worker, trainings }))
}

/// Search filters; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Limit to this subtree (must lie within the scope, else nothing is found).
    pub division: Option<DivisionCode>,
    /// Kind by code or Chinese name.
    pub kind: Option<String>,
    /// Name contains.
    pub name: Option<String>,
    /// Only workers in their first year on this day who have no mentor.
    pub first_year_without_mentor: Option<NaiveDate>,
    /// Also list workers who have left (by default only active ones).
    pub include_inactive: bool,
}

fn narrowed(scope: &Scope, division: Option<&DivisionCode>) -> Option<Scope> {
    match division {
        Some(d) if !scope.contains(d) => None,
        Some(d) => Some(Scope {
            root: d.clone(),
            ..scope.clone()
        }),
        None => Some(scope.clone()),
    }
}

fn apply_filter(q: &mut SelectStatement, f: &Filter) -> Result<()> {
    if let Some(k) = f.kind.as_deref().filter(|k| !k.trim().is_empty()) {
        let code = lookup(&WORKER_KINDS, k)
            .ok_or_else(|| DbError::invalid("kind", "bad_kind", "未知的人员类别"))?;
        q.and_where(Expr::col((Workers::Table, Workers::Kind)).eq(code));
    }
    if let Some(n) = f.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        let n: String = n
            .chars()
            .filter(|c| !matches!(c, '%' | '_' | '\\'))
            .collect();
        q.and_where(Expr::col((Workers::Table, Workers::Name)).like(format!("%{n}%")));
    }
    if let Some(today) = f.first_year_without_mentor {
        q.and_where(Expr::col((Workers::Table, Workers::MentorId)).is_null())
            .and_where(Expr::col((Workers::Table, Workers::HireDate)).gt(one_year_before(today)));
    }
    if !f.include_inactive || f.first_year_without_mentor.is_some() {
        q.and_where(Expr::col((Workers::Table, Workers::Active)).eq(true));
    }
    Ok(())
}

/// Workers in scope matching `f`, by division then id.
pub async fn list(
    c: &mut Conn<'_>,
    scope: &Scope,
    f: &Filter,
    page: PageReq,
) -> Result<Page<WorkerRow>> {
    let Some(s) = narrowed(scope, f.division.as_ref()) else {
        return Ok(Page {
            items: Vec::new(),
            total: 0,
        });
    };
    let mut q = select()
        .cond_where(s.condition((Workers::Table, Workers::DivisionCode)))
        .to_owned();
    apply_filter(&mut q, f)?;
    let mut count = q.clone();
    count
        .clear_selects()
        .expr(Expr::col((Workers::Table, Workers::Id)).count());
    let total = c.fetch_i64(&count).await?;
    q.order_by((Workers::Table, Workers::DivisionCode), Order::Asc)
        .order_by((Workers::Table, Workers::Id), Order::Asc)
        .limit(page.per_page)
        .offset(page.offset());
    Ok(Page {
        items: c.fetch_all(&q).await?,
        total,
    })
}

/// The work list: active workers in scope in their first year on `today` who
/// have no mentor, by division then hire date.
pub async fn first_year_without_mentor(
    c: &mut Conn<'_>,
    scope: &Scope,
    today: NaiveDate,
) -> Result<Vec<WorkerRow>> {
    let mut q = select()
        .cond_where(scope.condition((Workers::Table, Workers::DivisionCode)))
        .to_owned();
    let f = Filter {
        first_year_without_mentor: Some(today),
        ..Default::default()
    };
    apply_filter(&mut q, &f)?;
    q.order_by((Workers::Table, Workers::DivisionCode), Order::Asc)
        .order_by((Workers::Table, Workers::HireDate), Order::Asc)
        .order_by((Workers::Table, Workers::Id), Order::Asc);
    c.fetch_all(&q).await
}

/// Number of active workers in scope.
pub async fn count(c: &mut Conn<'_>, scope: &Scope) -> Result<i64> {
    let q = Query::select()
        .expr(Expr::col(Workers::Id).count())
        .from(Workers::Table)
        .cond_where(scope.condition(Workers::DivisionCode))
        .and_where(Expr::col(Workers::Active).eq(true))
        .to_owned();
    c.fetch_i64(&q).await
}

/// Active workers who could mentor someone in the township of `division`: hired
/// at least a year before `today`, in scope or in the same township. Up to `limit`.
pub async fn mentor_candidates(
    c: &mut Conn<'_>,
    scope: &Scope,
    division: &DivisionCode,
    today: NaiveDate,
    limit: u64,
) -> Result<Vec<WorkerRow>> {
    if !scope.contains(division) || division.level() < Level::Township {
        return Ok(Vec::new());
    }
    let Ok(township) = DivisionCode::parse(township_of(division.as_str())) else {
        return Ok(Vec::new());
    };
    let t = Scope {
        root: township,
        ..scope.clone()
    };
    let q = select()
        .cond_where(t.condition((Workers::Table, Workers::DivisionCode)))
        .and_where(Expr::col((Workers::Table, Workers::Active)).eq(true))
        .and_where(Expr::col((Workers::Table, Workers::HireDate)).lte(one_year_before(today)))
        .order_by((Workers::Table, Workers::DivisionCode), Order::Asc)
        .order_by((Workers::Table, Workers::HireDate), Order::Asc)
        .limit(limit)
        .to_owned();
    c.fetch_all(&q).await
}

/// The workers `mentor` is mentoring (any scope).
async fn mentees(c: &mut Conn<'_>, mentor: i64) -> Result<Vec<WorkerRow>> {
    let q = select()
        .and_where(Expr::col((Workers::Table, Workers::MentorId)).eq(mentor))
        .order_by((Workers::Table, Workers::Id), Order::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

/// Refuse a change of hire date or township that would break a mentee's rules.
fn check_mentees(w: &WorkerInput, mentees: &[WorkerRow]) -> Result<()> {
    let township = township_of(w.division.as_str());
    for m in mentees.iter().filter(|m| m.active) {
        if township_of(&m.division_code) != township {
            return Err(DbError::invalid(
                "division",
                "has_mentees",
                format!(
                    "此人是{}的导师，不能调到其他乡镇（街道）；请先为其更换导师",
                    m.name
                ),
            ));
        }
        if w.hire_date > one_year_before(m.hire_date) {
            return Err(DbError::invalid(
                "hire_date",
                "has_mentees",
                format!("此人是{}的导师，入职日期应比其早一年以上", m.name),
            ));
        }
    }
    Ok(())
}

/// Change a worker's fields (division may move within scope); audited, and the
/// indicators of the old and new division refreshed.
pub async fn update(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    w: &WorkerInput,
    now: DateTime<Utc>,
) -> Result<()> {
    let before = find(c, scope, id).await?.ok_or(DbError::NotFound)?;
    let clean = check_all(c, scope, Some(id), w, now.date_naive()).await?;
    check_mentees(w, &mentees(c, id).await?)?;
    let pairs: Vec<(Workers, SimpleExpr)> =
        ROW_COLUMNS.into_iter().zip(row_values(w, &clean)).collect();
    let q = Query::update()
        .table(Workers::Table)
        .values(pairs)
        .value(Workers::UpdatedAt, now)
        .and_where(Expr::col(Workers::Id).eq(id))
        .cond_where(scope.condition(Workers::DivisionCode))
        .to_owned();
    if c.execute(&q).await? == 0 {
        return Err(DbError::NotFound);
    }
    let ev = Event::new("worker_update", "worker", id)
        .division(w.division.as_str())
        .detail(diff(&before, w, &clean));
    audit::append(c, &scope.actor, ev, now).await?;
    refresh_all(c, [before.division_code.as_str(), w.division.as_str()], now).await
}

/// Refresh the indicators of each distinct division named.
async fn refresh_all<'a>(
    c: &mut Conn<'_>,
    codes: impl IntoIterator<Item = &'a str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let distinct: BTreeSet<&str> = codes.into_iter().collect();
    for code in distinct {
        if let Ok(d) = DivisionCode::parse(code) {
            crate::indicators::refresh(c, &d, now).await?;
        }
    }
    Ok(())
}

/// Changed fields as `{"field":{"before","after"}}`.
fn diff(before: &WorkerRow, w: &WorkerInput, clean: &Clean) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    let mut plain = |field: &str, a: String, b: String| {
        if a != b {
            m.insert(field.into(), serde_json::json!({"before": a, "after": b}));
        }
    };
    plain("name", before.name.clone(), clean.name.clone());
    plain(
        "division",
        before.division_code.clone(),
        w.division.as_str().to_owned(),
    );
    plain("kind", before.kind.clone(), clean.kind.to_owned());
    plain("grade", before.grade.clone(), clean.grade.clone());
    plain(
        "certificate",
        before.certificate.clone(),
        clean.certificate.to_owned(),
    );
    plain(
        "hire_date",
        before.hire_date.to_string(),
        w.hire_date.to_string(),
    );
    plain(
        "mentor_id",
        before.mentor_id.map(|m| m.to_string()).unwrap_or_default(),
        w.mentor_id.map(|m| m.to_string()).unwrap_or_default(),
    );
    serde_json::Value::Object(m)
}

/// Record that a worker has left. Their mentees lose this mentor (and so may
/// join the work list). Audited; the divisions concerned are refreshed.
pub async fn deactivate(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let w = find(c, scope, id).await?.ok_or(DbError::NotFound)?;
    if !w.active {
        return Ok(());
    }
    let q = Query::update()
        .table(Workers::Table)
        .values([
            (Workers::Active, false.into()),
            (Workers::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Workers::Id).eq(id))
        .cond_where(scope.condition(Workers::DivisionCode))
        .to_owned();
    c.execute(&q).await?;
    let released = mentees(c, id).await?;
    let q = Query::update()
        .table(Workers::Table)
        .values([
            (Workers::MentorId, Option::<i64>::None.into()),
            (Workers::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Workers::MentorId).eq(id))
        .to_owned();
    c.execute(&q).await?;
    let ids: Vec<i64> = released.iter().map(|m| m.id).collect();
    let ev = Event::new("worker_deactivate", "worker", id)
        .division(&w.division_code)
        .detail(serde_json::json!({"name": w.name, "released_mentees": ids}));
    audit::append(c, &scope.actor, ev, now).await?;
    let codes = std::iter::once(w.division_code.as_str())
        .chain(released.iter().map(|m| m.division_code.as_str()));
    refresh_all(c, codes, now).await
}

fn check_training(t: &TrainingInput, today: NaiveDate) -> std::result::Result<String, FieldErrors> {
    let mut errs = FieldErrors::new();
    if t.day > today {
        errs.add("day", "future_date", "培训日期不能晚于今天");
    } else if t.day < earliest_date() {
        errs.add("day", "too_early", "培训日期不能早于 1950 年");
    }
    let topic = t.topic.trim();
    let n = topic.chars().count();
    if n == 0 {
        errs.add("topic", "required", "培训内容不能为空");
    } else if n > MAX_TOPIC {
        errs.add(
            "topic",
            "too_long",
            format!("培训内容不能超过 {MAX_TOPIC} 个字"),
        );
    } else if bad_chars(topic) {
        errs.add("topic", "bad_chars", "培训内容中不能含有特殊符号");
    }
    if !(MIN_HOURS_X10..=MAX_HOURS_X10).contains(&t.hours_x10) {
        errs.add("hours", "bad_hours", "培训学时应在 0.5 到 200 之间");
    }
    errs.into_result()?;
    Ok(topic.to_owned())
}

/// Record a training of a worker in scope; audited and refreshed.
pub async fn add_training(
    c: &mut Conn<'_>,
    scope: &Scope,
    worker: i64,
    t: &TrainingInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    let topic = check_training(t, now.date_naive())?;
    let w = find(c, scope, worker).await?.ok_or(DbError::NotFound)?;
    let q = Query::insert()
        .into_table(WorkerTrainings::Table)
        .columns([
            WorkerTrainings::WorkerId,
            WorkerTrainings::Day,
            WorkerTrainings::Topic,
            WorkerTrainings::HoursX10,
        ])
        .values_panic([
            worker.into(),
            t.day.into(),
            topic.clone().into(),
            t.hours_x10.into(),
        ])
        .to_owned();
    let id = c.insert_id(&q).await?;
    let ev = Event::new("worker_training_add", "worker", worker)
        .division(&w.division_code)
        .detail(serde_json::json!({"training_id": id, "day": t.day.to_string(), "topic": topic, "hours_x10": t.hours_x10}));
    audit::append(c, &scope.actor, ev, now).await?;
    refresh_all(c, [w.division_code.as_str()], now).await?;
    Ok(id)
}

async fn training_rows(c: &mut Conn<'_>, worker: i64) -> Result<Vec<TrainingRow>> {
    let q = Query::select()
        .columns([
            WorkerTrainings::Id,
            WorkerTrainings::WorkerId,
            WorkerTrainings::Day,
            WorkerTrainings::Topic,
            WorkerTrainings::HoursX10,
        ])
        .from(WorkerTrainings::Table)
        .and_where(Expr::col(WorkerTrainings::WorkerId).eq(worker))
        .order_by(WorkerTrainings::Day, Order::Desc)
        .order_by(WorkerTrainings::Id, Order::Desc)
        .to_owned();
    c.fetch_all(&q).await
}

/// The training records of a worker in scope, newest first.
pub async fn trainings_of(
    c: &mut Conn<'_>,
    scope: &Scope,
    worker: i64,
) -> Result<Vec<TrainingRow>> {
    find(c, scope, worker).await?.ok_or(DbError::NotFound)?;
    training_rows(c, worker).await
}

/// A worker as the demo generates it: already valid, codes as stored.
#[derive(Debug, Clone)]
pub struct BulkWorker {
    pub division_code: String,
    pub name: String,
    pub kind: &'static str,
    pub grade: String,
    pub certificate: &'static str,
    pub hire_date: NaiveDate,
    pub mentor_id: Option<i64>,
}

/// Insert many workers at once (demo loading), without per-row audit or
/// refresh; returns their ids in input order.
pub async fn bulk_insert(
    c: &mut Conn<'_>,
    rows: &[BulkWorker],
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(500) {
        let mut cols = ROW_COLUMNS.to_vec();
        cols.extend([Workers::Active, Workers::CreatedAt, Workers::UpdatedAt]);
        let mut q = Query::insert()
            .into_table(Workers::Table)
            .columns(cols)
            .to_owned();
        for w in chunk {
            q.values_panic([
                w.division_code.clone().into(),
                w.name.clone().into(),
                w.kind.into(),
                w.grade.clone().into(),
                w.certificate.into(),
                w.hire_date.into(),
                w.mentor_id.into(),
                true.into(),
                now.into(),
                now.into(),
            ]);
        }
        q.returning_col(Workers::Id);
        // Identity values are assigned in VALUES order; RETURNING order is not promised.
        let mut ids: Vec<i64> = c
            .insert_returning::<(i64,)>(&q)
            .await?
            .into_iter()
            .map(|r| r.0)
            .collect();
        ids.sort_unstable();
        out.extend(ids);
    }
    Ok(out)
}

/// Insert many training records at once (demo loading), without audit:
/// `(worker id, day, topic, hours in tenths)`.
pub async fn bulk_insert_trainings(
    c: &mut Conn<'_>,
    rows: &[(i64, NaiveDate, String, i32)],
) -> Result<()> {
    for chunk in rows.chunks(1000) {
        let mut q = Query::insert()
            .into_table(WorkerTrainings::Table)
            .columns([
                WorkerTrainings::WorkerId,
                WorkerTrainings::Day,
                WorkerTrainings::Topic,
                WorkerTrainings::HoursX10,
            ])
            .to_owned();
        for (w, day, topic, hours) in chunk {
            q.values_panic([
                (*w).into(),
                (*day).into(),
                topic.clone().into(),
                (*hours).into(),
            ]);
        }
        c.execute(&q).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn dates_and_hours_parse() {
        assert_eq!(parse_date("2024-03-05"), Some(day(2024, 3, 5)));
        assert_eq!(parse_date("2024/3/5"), Some(day(2024, 3, 5)));
        assert_eq!(parse_date(" 2024.12.31 "), Some(day(2024, 12, 31)));
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_date("2024-02"), None);
        assert_eq!(parse_date("24/3/5"), None);
        assert_eq!(parse_hours("2.5"), Some(25));
        assert_eq!(parse_hours("16"), Some(160));
        assert_eq!(parse_hours("0.25"), None);
        assert_eq!(parse_hours("-1"), None);
        assert_eq!(parse_hours("abc"), None);
        assert_eq!(format_hours(25), "2.5");
        assert_eq!(format_hours(40), "4");
    }

    #[test]
    fn first_year_boundary() {
        let today = day(2025, 6, 30);
        assert!(in_first_year(day(2024, 7, 1), today));
        assert!(!in_first_year(day(2024, 6, 30), today));
        assert_eq!(one_year_before(day(2024, 2, 29)), day(2023, 3, 1));
        assert!(in_first_year(day(2023, 7, 1), day(2024, 6, 29)));
        assert!(!in_first_year(day(2023, 7, 1), day(2024, 6, 30)));
    }
}
