//! 志愿服务记录证明 in the store: issuing from confirmed service hours, the
//! snapshot each certificate keeps, public verification by number, revocation.
//!
//! Who issues: staff with `manage_volunteers` whose subtree holds the volunteer.
//! What counts (谁组织谁记录): completed sign-ups with confirmed minutes, of
//! activities organised within the issuer's subtree and starting within the
//! period (Beijing dates). The certificate keeps the volunteer's particulars, the
//! issuer's and every counted sign-up with its minutes as they were at issue;
//! verification reports a later change of those sign-ups as "corrected".

use crate::audit::{self, Event};
use crate::scope::Scope;
use crate::{Conn, DbError, Page, PageReq, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sea_query::{
    Alias, Condition, Expr, ExprTrait, Iden, OnConflict, Order, Query, SelectStatement,
};
use serde::Serialize;
use shequ_core::certificates::{
    self as core, CertState, CertificateNo, ID_TYPE, IssueInput, Item, Verdict,
};

#[derive(Iden, Clone, Copy)]
enum Certificates {
    Table,
    Id,
    Number,
    VolunteerId,
    DivisionCode,
    PeriodFrom,
    PeriodTo,
    TotalMinutes,
    ItemCount,
    VolunteerName,
    IdType,
    IdNumberMasked,
    VolunteerNo,
    Content,
    IssuerName,
    IssuerHead,
    IssuerHandler,
    IssuerContact,
    Remarks,
    IssuedBy,
    IssuedAt,
    State,
    RevokedAt,
    RevokedBy,
    RevokeReason,
    ActiveKey,
}

#[derive(Iden, Clone, Copy)]
enum CertificateItems {
    Table,
    CertificateId,
    SignupId,
    ActivityTitle,
    Category,
    OrganizerDivisionCode,
    ServedAt,
    Minutes,
}

#[derive(Iden, Clone, Copy)]
enum CertificateCounters {
    Table,
    Year,
    LastSeq,
}

/// The volunteer tables (migration 0008), read only here.
#[derive(Iden, Clone, Copy)]
pub(crate) enum Volunteers {
    Table,
    Id,
    VolunteerNo,
    UserId,
    Name,
    IdNumberMasked,
    DivisionCode,
    Status,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum VolunteerActivities {
    Table,
    Id,
    Title,
    OrganizerDivisionCode,
    StartsAt,
    Category,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum VolunteerSignups {
    Table,
    Id,
    ActivityId,
    VolunteerId,
    State,
    Minutes,
    ConfirmedAt,
}

/// China Standard Time (no daylight saving).
const CST_HOURS: i64 = 8;

/// 00:00 Beijing time on `d`.
pub fn start_of(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - Duration::hours(CST_HOURS)
}

/// The Beijing date of `t`.
pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    (t + Duration::hours(CST_HOURS)).date_naive()
}

/// A volunteer as a certificate names them.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct VolunteerBrief {
    pub id: i64,
    pub volunteer_no: String,
    pub user_id: Option<i64>,
    pub name: String,
    pub id_number_masked: String,
    pub division_code: String,
    pub status: String,
}

fn select_volunteer() -> SelectStatement {
    Query::select()
        .columns([
            (Volunteers::Table, Volunteers::Id),
            (Volunteers::Table, Volunteers::VolunteerNo),
            (Volunteers::Table, Volunteers::UserId),
            (Volunteers::Table, Volunteers::Name),
            (Volunteers::Table, Volunteers::IdNumberMasked),
            (Volunteers::Table, Volunteers::DivisionCode),
            (Volunteers::Table, Volunteers::Status),
        ])
        .from(Volunteers::Table)
        .to_owned()
}

/// A volunteer whose division lies in the scope.
pub async fn volunteer(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<VolunteerBrief>> {
    let q = select_volunteer()
        .and_where(Expr::col((Volunteers::Table, Volunteers::Id)).eq(id))
        .cond_where(scope.condition((Volunteers::Table, Volunteers::DivisionCode)))
        .to_owned();
    c.fetch_optional(&q).await
}

/// A volunteer by the unified volunteer number, in the scope.
pub async fn volunteer_by_no(
    c: &mut Conn<'_>,
    scope: &Scope,
    no: &str,
) -> Result<Option<VolunteerBrief>> {
    let q = select_volunteer()
        .and_where(Expr::col((Volunteers::Table, Volunteers::VolunteerNo)).eq(no.trim()))
        .cond_where(scope.condition((Volunteers::Table, Volunteers::DivisionCode)))
        .to_owned();
    c.fetch_optional(&q).await
}

/// The volunteer registered for a login, if any.
pub async fn volunteer_of_user(c: &mut Conn<'_>, user_id: i64) -> Result<Option<VolunteerBrief>> {
    let q = select_volunteer()
        .and_where(Expr::col((Volunteers::Table, Volunteers::UserId)).eq(user_id))
        .to_owned();
    c.fetch_optional(&q).await
}

/// A confirmed service record that can be counted.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ServiceRow {
    pub signup_id: i64,
    pub activity_id: i64,
    pub title: String,
    pub category: String,
    pub organizer_division_code: String,
    pub starts_at: DateTime<Utc>,
    pub minutes: i64,
}

/// Completed sign-ups with confirmed minutes of `volunteer_id`, of activities
/// organised in the scope that start within `[from, to]` (Beijing dates), oldest first.
pub async fn countable(
    c: &mut Conn<'_>,
    scope: &Scope,
    volunteer_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ServiceRow>> {
    let s = VolunteerSignups::Table;
    let a = VolunteerActivities::Table;
    let q = Query::select()
        .expr_as(
            Expr::col((s, VolunteerSignups::Id)),
            Alias::new("signup_id"),
        )
        .expr_as(
            Expr::col((a, VolunteerActivities::Id)),
            Alias::new("activity_id"),
        )
        .column((a, VolunteerActivities::Title))
        .column((a, VolunteerActivities::Category))
        .column((a, VolunteerActivities::OrganizerDivisionCode))
        .column((a, VolunteerActivities::StartsAt))
        .expr_as(
            Expr::col((s, VolunteerSignups::Minutes)).cast_as(Alias::new("BIGINT")),
            Alias::new("minutes"),
        )
        .from(s)
        .inner_join(
            a,
            Expr::col((a, VolunteerActivities::Id)).equals((s, VolunteerSignups::ActivityId)),
        )
        .and_where(Expr::col((s, VolunteerSignups::VolunteerId)).eq(volunteer_id))
        .and_where(Expr::col((s, VolunteerSignups::State)).eq("completed"))
        .and_where(Expr::col((s, VolunteerSignups::Minutes)).gt(0))
        .and_where(Expr::col((s, VolunteerSignups::ConfirmedAt)).is_not_null())
        .and_where(Expr::col((a, VolunteerActivities::StartsAt)).gte(start_of(from)))
        .and_where(
            Expr::col((a, VolunteerActivities::StartsAt)).lt(start_of(to + Duration::days(1))),
        )
        .cond_where(scope.condition((a, VolunteerActivities::OrganizerDivisionCode)))
        .order_by((a, VolunteerActivities::StartsAt), Order::Asc)
        .order_by((s, VolunteerSignups::Id), Order::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

/// A certificate as stored.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CertificateRow {
    pub id: i64,
    pub number: String,
    pub volunteer_id: i64,
    /// The issuer's division (the issuing staff member's).
    pub division_code: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub total_minutes: i64,
    pub item_count: i32,
    pub volunteer_name: String,
    pub id_type: String,
    pub id_number_masked: String,
    pub volunteer_no: String,
    pub content: String,
    pub issuer_name: String,
    pub issuer_head: String,
    pub issuer_handler: String,
    pub issuer_contact: String,
    pub remarks: String,
    pub issued_by: Option<i64>,
    pub issued_at: DateTime<Utc>,
    pub state: String,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: String,
}

impl CertificateRow {
    pub fn state(&self) -> CertState {
        CertState::parse(&self.state).unwrap_or(CertState::Revoked)
    }
}

/// One counted sign-up, as at issue.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ItemRow {
    pub signup_id: i64,
    pub activity_title: String,
    pub category: String,
    pub organizer_division_code: String,
    pub served_at: DateTime<Utc>,
    pub minutes: i64,
}

/// A certificate with its items and what verification says now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Certificate {
    pub row: CertificateRow,
    pub items: Vec<ItemRow>,
    /// Sign-ups counted whose minutes or state changed since issue.
    pub changed_items: Vec<i64>,
    pub verdict: Verdict,
}

fn select_rows() -> SelectStatement {
    let t = Certificates::Table;
    Query::select()
        .columns([
            (t, Certificates::Id),
            (t, Certificates::Number),
            (t, Certificates::VolunteerId),
            (t, Certificates::DivisionCode),
            (t, Certificates::PeriodFrom),
            (t, Certificates::PeriodTo),
            (t, Certificates::TotalMinutes),
            (t, Certificates::ItemCount),
            (t, Certificates::VolunteerName),
            (t, Certificates::IdType),
            (t, Certificates::IdNumberMasked),
            (t, Certificates::VolunteerNo),
            (t, Certificates::Content),
            (t, Certificates::IssuerName),
            (t, Certificates::IssuerHead),
            (t, Certificates::IssuerHandler),
            (t, Certificates::IssuerContact),
            (t, Certificates::Remarks),
            (t, Certificates::IssuedBy),
            (t, Certificates::IssuedAt),
            (t, Certificates::State),
            (t, Certificates::RevokedAt),
            (t, Certificates::RevokeReason),
        ])
        .from(t)
        .to_owned()
}

async fn items_of(c: &mut Conn<'_>, id: i64) -> Result<Vec<ItemRow>> {
    let q = Query::select()
        .columns([
            CertificateItems::SignupId,
            CertificateItems::ActivityTitle,
            CertificateItems::Category,
            CertificateItems::OrganizerDivisionCode,
            CertificateItems::ServedAt,
        ])
        .expr_as(
            Expr::col(CertificateItems::Minutes).cast_as(Alias::new("BIGINT")),
            Alias::new("minutes"),
        )
        .from(CertificateItems::Table)
        .and_where(Expr::col(CertificateItems::CertificateId).eq(id))
        .order_by(CertificateItems::ServedAt, Order::Asc)
        .order_by(CertificateItems::SignupId, Order::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

/// Sign-ups among `items` that are no longer completed with the same minutes.
async fn changed(c: &mut Conn<'_>, items: &[ItemRow]) -> Result<Vec<i64>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for chunk in items.chunks(500) {
        let q = Query::select()
            .column(VolunteerSignups::Id)
            .column(VolunteerSignups::State)
            .expr_as(
                Expr::col(VolunteerSignups::Minutes).cast_as(Alias::new("BIGINT")),
                Alias::new("minutes"),
            )
            .from(VolunteerSignups::Table)
            .and_where(Expr::col(VolunteerSignups::Id).is_in(chunk.iter().map(|i| i.signup_id)))
            .to_owned();
        let now: Vec<(i64, String, Option<i64>)> = c.fetch_all(&q).await?;
        for it in chunk {
            let same = now.iter().any(|(id, st, m)| {
                *id == it.signup_id && st == "completed" && *m == Some(it.minutes)
            });
            if !same {
                out.push(it.signup_id);
            }
        }
    }
    Ok(out)
}

async fn load(c: &mut Conn<'_>, row: CertificateRow) -> Result<Certificate> {
    let items = items_of(c, row.id).await?;
    let changed_items = changed(c, &items).await?;
    Ok(Certificate {
        verdict: Verdict::of(row.state(), !changed_items.is_empty()),
        row,
        items,
        changed_items,
    })
}

/// A certificate by number, for anyone (public verification). A malformed
/// number is simply not found.
pub async fn by_number(c: &mut Conn<'_>, number: &str) -> Result<Option<Certificate>> {
    let Ok(n) = CertificateNo::parse(number) else {
        return Ok(None);
    };
    let q = select_rows()
        .and_where(Expr::col((Certificates::Table, Certificates::Number)).eq(n.as_str()))
        .to_owned();
    match c.fetch_optional::<CertificateRow>(&q).await? {
        Some(r) => Ok(Some(load(c, r).await?)),
        None => Ok(None),
    }
}

/// Who may see a certificate beyond its public verification.
#[derive(Debug, Clone, Copy)]
pub enum Viewer<'a> {
    /// Staff: certificates issued within their subtree, or for a volunteer in it.
    Staff(&'a Scope),
    /// The volunteer themself, by login.
    Volunteer(i64),
}

fn visible_to(v: Viewer<'_>) -> Condition {
    match v {
        Viewer::Staff(scope) => Condition::any()
            .add(scope.condition((Certificates::Table, Certificates::DivisionCode)))
            .add(
                Expr::col((Certificates::Table, Certificates::VolunteerId)).in_subquery(
                    Query::select()
                        .column(Volunteers::Id)
                        .from(Volunteers::Table)
                        .cond_where(scope.condition(Volunteers::DivisionCode))
                        .to_owned(),
                ),
            ),
        Viewer::Volunteer(user_id) => Condition::all().add(
            Expr::col((Certificates::Table, Certificates::VolunteerId)).in_subquery(
                Query::select()
                    .column(Volunteers::Id)
                    .from(Volunteers::Table)
                    .and_where(Expr::col(Volunteers::UserId).eq(user_id))
                    .to_owned(),
            ),
        ),
    }
}

/// A certificate the viewer may see, by number.
pub async fn get(
    c: &mut Conn<'_>,
    viewer: Viewer<'_>,
    number: &str,
) -> Result<Option<Certificate>> {
    let Ok(n) = CertificateNo::parse(number) else {
        return Ok(None);
    };
    let q = select_rows()
        .and_where(Expr::col((Certificates::Table, Certificates::Number)).eq(n.as_str()))
        .cond_where(visible_to(viewer))
        .to_owned();
    match c.fetch_optional::<CertificateRow>(&q).await? {
        Some(r) => Ok(Some(load(c, r).await?)),
        None => Ok(None),
    }
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<CertState>,
    pub volunteer_id: Option<i64>,
}

/// Certificates the viewer may see, newest first.
pub async fn list(
    c: &mut Conn<'_>,
    viewer: Viewer<'_>,
    f: &Filter,
    page: PageReq,
) -> Result<Page<CertificateRow>> {
    let mut q = select_rows().cond_where(visible_to(viewer)).to_owned();
    if let Some(s) = f.state {
        q.and_where(Expr::col((Certificates::Table, Certificates::State)).eq(s.as_str()));
    }
    if let Some(v) = f.volunteer_id {
        q.and_where(Expr::col((Certificates::Table, Certificates::VolunteerId)).eq(v));
    }
    let mut count = q.clone();
    count
        .clear_selects()
        .expr(Expr::col((Certificates::Table, Certificates::Id)).count());
    let total = c.fetch_i64(&count).await?;
    q.order_by((Certificates::Table, Certificates::Id), Order::Desc)
        .limit(page.per_page)
        .offset(page.offset());
    Ok(Page {
        items: c.fetch_all(&q).await?,
        total,
    })
}

/// The next sequence number of `year`.
async fn next_seq(c: &mut Conn<'_>, year: i32) -> Result<u32> {
    let ins = Query::insert()
        .into_table(CertificateCounters::Table)
        .columns([CertificateCounters::Year, CertificateCounters::LastSeq])
        .values_panic([year.into(), 0i64.into()])
        .on_conflict(
            OnConflict::column(CertificateCounters::Year)
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    c.execute(&ins).await?;
    let bump = Query::update()
        .table(CertificateCounters::Table)
        .value(
            CertificateCounters::LastSeq,
            Expr::col(CertificateCounters::LastSeq).add(1),
        )
        .and_where(Expr::col(CertificateCounters::Year).eq(year))
        .to_owned();
    c.execute(&bump).await?;
    let seq = c
        .fetch_i64(
            &Query::select()
                .column(CertificateCounters::LastSeq)
                .from(CertificateCounters::Table)
                .and_where(Expr::col(CertificateCounters::Year).eq(year))
                .to_owned(),
        )
        .await?;
    u32::try_from(seq)
        .ok()
        .filter(|s| *s <= 999_999)
        .ok_or_else(|| DbError::Conflict("本年度证明编号已用完".into()))
}

fn active_key(volunteer_id: i64, from: NaiveDate, to: NaiveDate) -> String {
    format!("{volunteer_id}:{from}:{to}")
}

/// Issue a certificate in the caller's name (run it in a transaction). The
/// volunteer must lie in the scope; at most one valid certificate per volunteer
/// and period (`duplicate_certificate`); the period must hold confirmed hours of
/// activities organised in the scope (`no_confirmed_hours`). `random` supplies the
/// number's 20 random bits. Audited.
pub async fn issue(
    c: &mut Conn<'_>,
    scope: &Scope,
    input: &IssueInput,
    random: u32,
    now: DateTime<Utc>,
) -> Result<CertificateRow> {
    let input = input.validate(local_date(now))?;
    let v = volunteer(c, scope, input.volunteer_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let key = active_key(v.id, input.from, input.to);
    let dup = Query::select()
        .column(Certificates::Number)
        .from(Certificates::Table)
        .and_where(Expr::col(Certificates::ActiveKey).eq(key.clone()))
        .to_owned();
    if let Some((n,)) = c.fetch_optional::<(String,)>(&dup).await? {
        return Err(DbError::invalid(
            "period",
            "duplicate_certificate",
            format!("该志愿者在此期间已有有效证明（编号 {n}），如需重开请先撤销"),
        ));
    }
    let rows = countable(c, scope, v.id, input.from, input.to).await?;
    if rows.is_empty() {
        return Err(DbError::invalid(
            "period",
            "no_confirmed_hours",
            "该期间内没有本单位组织并已确认的服务时长",
        ));
    }
    let items: Vec<Item> = rows
        .iter()
        .map(|r| Item {
            title: r.title.clone(),
            category: r.category.clone(),
            minutes: r.minutes,
        })
        .collect();
    let total = core::total_minutes(&items);
    let seq = next_seq(c, local_date(now).year()).await?;
    let number = CertificateNo::new(local_date(now).year(), seq, random & 0xF_FFFF)
        .ok_or_else(|| DbError::Conflict("证明编号无法生成".into()))?;
    let content = core::content_summary(&items);
    let t = Certificates::Table;
    let ins = Query::insert()
        .into_table(t)
        .columns([
            Certificates::Number,
            Certificates::VolunteerId,
            Certificates::DivisionCode,
            Certificates::PeriodFrom,
            Certificates::PeriodTo,
            Certificates::TotalMinutes,
            Certificates::ItemCount,
            Certificates::VolunteerName,
            Certificates::IdType,
            Certificates::IdNumberMasked,
            Certificates::VolunteerNo,
            Certificates::Content,
            Certificates::IssuerName,
            Certificates::IssuerHead,
            Certificates::IssuerHandler,
            Certificates::IssuerContact,
            Certificates::Remarks,
            Certificates::IssuedBy,
            Certificates::IssuedAt,
            Certificates::State,
            Certificates::ActiveKey,
        ])
        .values_panic([
            number.as_str().into(),
            v.id.into(),
            scope.root.as_str().into(),
            input.from.into(),
            input.to.into(),
            total.into(),
            i32::try_from(items.len()).unwrap_or(i32::MAX).into(),
            v.name.clone().into(),
            ID_TYPE.into(),
            v.id_number_masked.clone().into(),
            v.volunteer_no.clone().into(),
            content.clone().into(),
            input.issuer.name.clone().into(),
            input.issuer.head.clone().into(),
            input.issuer.handler.clone().into(),
            input.issuer.contact.clone().into(),
            input.remarks.clone().into(),
            scope.actor.user_id.into(),
            now.into(),
            CertState::Valid.as_str().into(),
            key.into(),
        ])
        .to_owned();
    let id = match c.insert_id(&ins).await {
        Ok(id) => id,
        Err(DbError::Conflict(_)) => {
            return Err(DbError::invalid(
                "period",
                "duplicate_certificate",
                "该志愿者在此期间已有有效证明，如需重开请先撤销",
            ));
        }
        Err(e) => return Err(e),
    };
    for chunk in rows.chunks(200) {
        let mut ins = Query::insert()
            .into_table(CertificateItems::Table)
            .columns([
                CertificateItems::CertificateId,
                CertificateItems::SignupId,
                CertificateItems::ActivityTitle,
                CertificateItems::Category,
                CertificateItems::OrganizerDivisionCode,
                CertificateItems::ServedAt,
                CertificateItems::Minutes,
            ])
            .to_owned();
        for r in chunk {
            ins.values_panic([
                id.into(),
                r.signup_id.into(),
                r.title.clone().into(),
                r.category.clone().into(),
                r.organizer_division_code.clone().into(),
                r.starts_at.into(),
                r.minutes.into(),
            ]);
        }
        c.execute(&ins).await?;
    }
    let ev = Event::new("certificate_issue", "certificate", number.as_str())
        .division(&v.division_code)
        .detail(serde_json::json!({
            "volunteer_id": v.id, "from": input.from, "to": input.to,
            "total_minutes": total, "items": items.len(),
        }));
    audit::append(c, &scope.actor, ev, now).await?;
    let q = select_rows()
        .and_where(Expr::col((t, Certificates::Id)).eq(id))
        .to_owned();
    c.fetch_one(&q).await
}

/// Revoke a valid certificate the caller may see (issued in their subtree or
/// for a volunteer in it), with a reason. Audited.
pub async fn revoke(
    c: &mut Conn<'_>,
    scope: &Scope,
    number: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<CertificateRow> {
    let reason = core::check_reason(reason)?;
    let cert = get(c, Viewer::Staff(scope), number)
        .await?
        .ok_or(DbError::NotFound)?;
    if cert.row.state() == CertState::Revoked {
        return Err(DbError::invalid("state", "already_revoked", "该证明已撤销"));
    }
    let upd = Query::update()
        .table(Certificates::Table)
        .values([
            (Certificates::State, CertState::Revoked.as_str().into()),
            (Certificates::RevokedAt, now.into()),
            (Certificates::RevokedBy, scope.actor.user_id.into()),
            (Certificates::RevokeReason, reason.clone().into()),
            (Certificates::ActiveKey, Option::<String>::None.into()),
        ])
        .and_where(Expr::col(Certificates::Id).eq(cert.row.id))
        .and_where(Expr::col(Certificates::State).eq(CertState::Valid.as_str()))
        .to_owned();
    if c.execute(&upd).await? == 0 {
        return Err(DbError::invalid("state", "already_revoked", "该证明已撤销"));
    }
    let ev = Event::new("certificate_revoke", "certificate", &cert.row.number)
        .division(&cert.row.division_code)
        .detail(serde_json::json!({"reason": reason}));
    audit::append(c, &scope.actor, ev, now).await?;
    let q = select_rows()
        .and_where(Expr::col((Certificates::Table, Certificates::Id)).eq(cert.row.id))
        .to_owned();
    c.fetch_one(&q).await
}
