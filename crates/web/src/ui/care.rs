//! 探访关爱 pages (phone-first).
//!
//! Staff: the roster with filters, sync and plan buttons and bulk assignment by
//! grid; a subject's page (masked personal data, audited reveal of the phone
//! number, tier override, guardian notes, visitors, exclusion, visit history); the
//! overdue list; the monthly visit-rate dashboard with drill-down and an xlsx export.
//! Visitors: 我的探访 (overdue and this week's visits, big buttons) and the visit
//! form (photos, location, an optional work order for a need found).

use super::{Ctx, Layout, PageError};
use crate::api::care::{self as api, RateView, VisitRequest};
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::Deserialize;
use shequ_core::care::{self as core, AreaEntry, Channel, Finding, Tier, VisitInput, local_date};
use shequ_core::role::Capability;
use shequ_core::{DivisionCode, Level};
use shequ_db::PageReq;
use shequ_db::care::{self, DueItem};
use shequ_db::people::{self, Protected};
use shequ_reports::xlsx::{self, Cell};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/care", get(roster))
        .route("/care/mine", get(mine))
        .route("/care/overdue", get(overdue))
        .route("/care/rates", get(rates))
        .route("/care/rates.xlsx", get(export))
        .route("/care/sync", post(sync))
        .route("/care/plan", post(plan))
        .route("/care/assign-grid", post(assign_grid))
        .route("/care/subjects/{id}", get(subject))
        .route(
            "/care/subjects/{id}/visit",
            get(visit_form).post(visit_submit),
        )
        .route("/care/subjects/{id}/tier", post(set_tier))
        .route("/care/subjects/{id}/details", post(set_details))
        .route("/care/subjects/{id}/exclude", post(exclude))
        .route("/care/subjects/{id}/visitors", post(assign))
        .route("/care/subjects/{id}/reveal", post(reveal))
        .route("/care/visits/{id}", get(visit_page))
        .route("/care/photos/{id}", get(photo))
}

const PER_PAGE: u64 = 30;

/// "2025-06-30 10:00" in Beijing time.
fn clock(t: DateTime<Utc>) -> String {
    (t + Duration::hours(core::CST_HOURS))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn name_of(st: &AppState, code: &str) -> String {
    st.tree
        .get()
        .get(code)
        .map_or_else(|| code.to_owned(), |d| d.name.clone())
}

/// The user's scope for reading the roster (manage_care or visit_elderly).
fn reader(ctx: &Ctx) -> Result<(shequ_db::users::User, shequ_db::scope::Scope), PageError> {
    let u = ctx.user()?.clone();
    let s = api::reader(&u).map_err(|e| ctx.err(e))?;
    Ok((u, s))
}

// ---------------------------------------------------------------- roster

#[derive(Debug, Default, Deserialize)]
pub struct RosterParams {
    #[serde(default)]
    pub tier: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub mine: String,
    #[serde(default)]
    pub division: String,
    pub page: Option<u64>,
    #[serde(default)]
    pub note: String,
}

pub struct RosterRow {
    pub id: i64,
    pub name: String,
    pub age: u32,
    pub place: String,
    pub tier: &'static str,
    pub tier_label: &'static str,
    pub visitors: String,
    pub last_visit: String,
    pub next_due: String,
    pub overdue: bool,
}

pub struct Choice {
    pub code: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "care/roster.html")]
pub struct RosterPage {
    pub layout: Layout,
    pub tiers: Vec<Choice>,
    pub statuses: Vec<Choice>,
    pub name: String,
    pub mine: bool,
    pub division: String,
    pub rows: Vec<RosterRow>,
    pub total: i64,
    pub page: u64,
    pub pages: u64,
    pub query: String,
    pub can_manage: bool,
    pub note: String,
}

pub async fn roster(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<RosterParams>,
) -> Result<RosterPage, PageError> {
    let (user, scope) = reader(&ctx)?;
    let tier = Tier::parse(&q.tier);
    let status = match q.status.as_str() {
        s @ ("lapsed" | "excluded" | "all") => s.to_owned(),
        _ => "active".to_owned(),
    };
    let division = DivisionCode::parse(q.division.trim()).ok();
    let page_no = q.page.unwrap_or(1).max(1);
    let mine = !q.mine.is_empty();
    let f = care::Filter {
        division: division.clone(),
        tier,
        status: Some(status.clone()),
        visitor: api::own_only(&user).or(mine.then_some(user.id)),
        name: Some(q.name.clone()),
    };
    let mut c = st.db.conn();
    let found = care::list(
        &mut c,
        &scope,
        &f,
        PageReq::new(Some(page_no), Some(PER_PAGE)),
    )
    .await
    .map_err(|e| ctx.err(e))?;
    let today = local_date(st.now());
    let rows = found
        .items
        .iter()
        .map(|i| {
            let t = i.subject.tier();
            RosterRow {
                id: i.subject.id,
                name: i.subject.name.clone(),
                age: core::age_on(i.subject.birth_date, today),
                place: name_of(&st, &i.subject.division_code),
                tier: t.as_str(),
                tier_label: t.label(),
                visitors: i
                    .visitors
                    .iter()
                    .map(|v| v.display_name.clone())
                    .collect::<Vec<_>>()
                    .join("、"),
                last_visit: i
                    .subject
                    .last_visit_at
                    .map(clock)
                    .unwrap_or_else(|| "—".into()),
                next_due: i
                    .next_due
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "—".into()),
                overdue: i.next_due.is_some_and(|d| d < today),
            }
        })
        .collect();
    let query = format!(
        "tier={}&status={}&name={}&mine={}&division={}",
        tier.map_or("", Tier::as_str),
        status,
        super::urlencode(q.name.trim()),
        if mine { "1" } else { "" },
        division.as_ref().map_or("", |d| d.as_str())
    );
    Ok(RosterPage {
        layout: ctx.layout("探访关爱", "care"),
        tiers: Tier::ALL
            .iter()
            .map(|t| Choice {
                code: t.as_str(),
                label: t.label(),
                selected: tier == Some(*t),
            })
            .collect(),
        statuses: [
            ("active", "在册"),
            ("lapsed", "已不符合条件"),
            ("excluded", "已移出"),
            ("all", "全部"),
        ]
        .into_iter()
        .map(|(code, label)| Choice {
            code,
            label,
            selected: status == code,
        })
        .collect(),
        name: q.name.trim().to_owned(),
        mine,
        division: division.map(|d| d.as_str().to_owned()).unwrap_or_default(),
        rows,
        total: found.total,
        page: page_no,
        pages: (u64::try_from(found.total).unwrap_or(0)).div_ceil(PER_PAGE),
        query,
        can_manage: ctx.can(Capability::ManageCare),
        note: q.note.chars().take(200).collect(),
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct AreaForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub month: String,
    #[serde(default)]
    pub grid: String,
}

fn back_to_roster(note: &str) -> Response {
    Redirect::to(&format!("/care?note={}", super::urlencode(note))).into_response()
}

fn narrowed(
    ctx: &Ctx,
    scope: &shequ_db::scope::Scope,
    division: &str,
) -> Result<shequ_db::scope::Scope, PageError> {
    match division.trim() {
        "" => Ok(scope.clone()),
        d => {
            let code = DivisionCode::parse(d)
                .map_err(|e| ctx.err(AppError::bad_request("bad_division", e.to_string())))?;
            if !scope.contains(&code) {
                return Err(ctx.err(AppError::Forbidden));
            }
            Ok(shequ_db::scope::Scope::new(
                code,
                scope.role,
                scope.actor.clone(),
            ))
        }
    }
}

pub async fn sync(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<AreaForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::ManageCare)?;
    let scope = narrowed(&ctx, &scope, &f.division)?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    let r = care::sync(&mut tx.conn(), &scope, &st.key, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    tx.commit().await.map_err(|e| ctx.err(e))?;
    shequ_db::indicators::store::recompute_all(&st.db, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    api::note_indicators(&st).await;
    Ok(back_to_roster(&format!(
        "名册已同步：新增 {}，恢复 {}，不再符合条件 {}，等级变化 {}，现有在册 {} 人",
        r.added, r.reactivated, r.lapsed, r.retiered, r.roster
    )))
}

pub async fn plan(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<AreaForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::ManageCare)?;
    let scope = narrowed(&ctx, &scope, &f.division)?;
    let month = match f.month.trim() {
        "" => core::Month::of(local_date(st.now())),
        m => core::Month::parse(m)
            .ok_or_else(|| ctx.err(AppError::bad_request("bad_month", "月份应为 YYYY-MM")))?,
    };
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    let r = care::generate_plan(&mut tx.conn(), &scope, month, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    tx.commit().await.map_err(|e| ctx.err(e))?;
    api::rates_cache::clear();
    Ok(back_to_roster(&format!(
        "{} 探访计划：{} 名对象，应探访 {} 次，其中已完成 {} 次，新写入 {} 条",
        r.month, r.subjects, r.due, r.done, r.inserted
    )))
}

pub async fn assign_grid(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<AreaForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::ManageCare)?;
    let grid = DivisionCode::parse(f.grid.trim())
        .map_err(|e| ctx.err(AppError::bad_request("bad_grid", e.to_string())))?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    let r = care::assign_grid(&mut tx.conn(), &scope, &grid, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    tx.commit().await.map_err(|e| ctx.err(e))?;
    Ok(back_to_roster(&format!(
        "网格 {} 的 {} 名对象已分配给 {} 名网格员（新增 {} 条分配）",
        name_of(&st, grid.as_str()),
        r.subjects,
        r.workers,
        r.assigned
    )))
}

// ---------------------------------------------------------------- mine, overdue

pub struct DueRow {
    pub subject_id: i64,
    pub name: String,
    pub place: String,
    pub tier: &'static str,
    pub tier_label: &'static str,
    pub due: String,
    pub overdue: bool,
    pub last_visit: String,
}

fn due_rows(st: &AppState, items: &[DueItem], today: chrono::NaiveDate) -> Vec<DueRow> {
    items
        .iter()
        .map(|d| {
            let t = Tier::parse(&d.tier).unwrap_or(Tier::General);
            DueRow {
                subject_id: d.subject_id,
                name: d.name.clone(),
                place: name_of(st, &d.division_code),
                tier: t.as_str(),
                tier_label: t.label(),
                due: d.due_date.to_string(),
                overdue: d.due_date < today,
                last_visit: d.last_visit_at.map(clock).unwrap_or_else(|| "尚无".into()),
            }
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "care/mine.html")]
pub struct MinePage {
    pub layout: Layout,
    pub overdue: Vec<DueRow>,
    pub upcoming: Vec<DueRow>,
    pub assigned: i64,
}

/// 我的探访: the signed-in visitor's overdue and upcoming due visits.
pub async fn mine(State(st): State<AppState>, ctx: Ctx) -> Result<MinePage, PageError> {
    let (user, scope) = ctx.scope(Capability::VisitElderly)?;
    let today = local_date(st.now());
    let mut c = st.db.conn();
    let due = care::due_for_visitor(&mut c, user.id, today, 7)
        .await
        .map_err(|e| ctx.err(e))?;
    let assigned = care::list(
        &mut c,
        &scope,
        &care::Filter {
            visitor: Some(user.id),
            ..care::Filter::default()
        },
        PageReq::new(Some(1), Some(1)),
    )
    .await
    .map_err(|e| ctx.err(e))?
    .total;
    let rows = due_rows(&st, &due, today);
    let (overdue, upcoming): (Vec<DueRow>, Vec<DueRow>) = rows.into_iter().partition(|r| r.overdue);
    Ok(MinePage {
        layout: ctx.layout("我的探访", "care"),
        overdue,
        upcoming,
        assigned,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "care/overdue.html")]
pub struct OverduePage {
    pub layout: Layout,
    pub rows: Vec<DueRow>,
    pub total: i64,
    pub page: u64,
    pub pages: u64,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageParams {
    pub page: Option<u64>,
}

/// Overdue visits in the caller's area, oldest first.
pub async fn overdue(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<PageParams>,
) -> Result<OverduePage, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageCare)?;
    let today = local_date(st.now());
    let page_no = q.page.unwrap_or(1).max(1);
    let found = care::overdue(
        &mut st.db.conn(),
        &scope,
        today,
        PageReq::new(Some(page_no), Some(PER_PAGE)),
    )
    .await
    .map_err(|e| ctx.err(e))?;
    Ok(OverduePage {
        layout: ctx.layout("逾期未探访", "care"),
        rows: due_rows(&st, &found.items, today),
        total: found.total,
        page: page_no,
        pages: (u64::try_from(found.total).unwrap_or(0)).div_ceil(PER_PAGE),
    })
}

// ---------------------------------------------------------------- subject

pub struct VisitLine {
    pub id: i64,
    pub when: String,
    pub channel: &'static str,
    pub valid: bool,
    pub visitor: String,
    pub flags: String,
}

pub struct Option2 {
    pub value: i64,
    pub label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "care/subject.html")]
pub struct SubjectPage {
    pub layout: Layout,
    pub s: api::SubjectView,
    pub place: String,
    pub status_label: &'static str,
    pub id_masked: String,
    pub phone: String,
    pub revealed: bool,
    pub can_reveal: bool,
    pub can_manage: bool,
    pub can_visit: bool,
    pub tiers: Vec<Choice>,
    pub candidates: Vec<Option2>,
    pub visits: Vec<VisitLine>,
    pub visit_total: i64,
    pub frequency_label: &'static str,
}

async fn subject_page(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    revealed_phone: Option<String>,
) -> Result<SubjectPage, PageError> {
    let (_, scope) = reader(ctx)?;
    let s = api::load_subject(st, &scope, id)
        .await
        .map_err(|e| ctx.err(e))?;
    let mut c = st.db.conn();
    let row = care::get(&mut c, &scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    // The person's masked data, read in the subject's own area.
    let person_scope = shequ_db::scope::Scope::new(
        DivisionCode::parse(&row.division_code)
            .map_err(|e| ctx.err(AppError::Internal(e.into())))?,
        scope.role,
        scope.actor.clone(),
    );
    let p = people::get(&mut c, &person_scope, row.person_id)
        .await
        .map_err(|e| ctx.err(e))?;
    let visits = care::visits_of(&mut c, id, PageReq::new(Some(1), Some(20)))
        .await
        .map_err(|e| ctx.err(e))?;
    let candidates = if ctx.can(Capability::ManageCare) {
        care::visitor_candidates(&mut c, &row.village_code)
            .await
            .map_err(|e| ctx.err(e))?
    } else {
        Vec::new()
    };
    let tier = row.tier();
    let rules = care::settings(&mut st.db.conn())
        .await
        .map_err(|e| ctx.err(e))?;
    Ok(SubjectPage {
        layout: ctx.layout(format!("{} · 探访关爱", row.name), "care"),
        place: name_of(st, &row.division_code),
        status_label: row.status_label(),
        id_masked: p
            .as_ref()
            .map(|p| p.id_number_masked.clone())
            .unwrap_or_default(),
        revealed: revealed_phone.is_some(),
        phone: revealed_phone.unwrap_or_else(|| {
            p.as_ref()
                .and_then(|p| p.phone_masked.clone())
                .unwrap_or_else(|| "未登记".into())
        }),
        can_reveal: ctx.can(Capability::RevealProtected)
            && p.as_ref().is_some_and(|p| p.phone_masked.is_some()),
        can_manage: ctx.can(Capability::ManageCare) && scope.contains_str(&row.division_code),
        can_visit: ctx.can(Capability::VisitElderly) && row.active(),
        tiers: Tier::ALL
            .iter()
            .map(|t| Choice {
                code: t.as_str(),
                label: t.label(),
                selected: row.tier_override && tier == *t,
            })
            .collect(),
        candidates: candidates
            .into_iter()
            .filter(|(uid, _, _)| !s.visitors.iter().any(|v| v.user_id == *uid))
            .map(|(value, name, role)| Option2 {
                value,
                label: format!(
                    "{name}（{}）",
                    shequ_core::Role::parse(&role).map_or("", shequ_core::Role::label)
                ),
            })
            .collect(),
        visits: visits
            .items
            .iter()
            .map(|v| VisitLine {
                id: v.id,
                when: clock(v.visited_at),
                channel: v.channel_label(),
                valid: v.valid,
                visitor: v.visitor_name.clone(),
                flags: [
                    v.emergency.then_some("紧急"),
                    v.work_order_id.map(|_| "已转工单"),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
            })
            .collect(),
        visit_total: visits.total,
        frequency_label: rules.frequency(tier).label(),
        s,
    })
}

pub async fn subject(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<SubjectPage, PageError> {
    subject_page(&st, &ctx, id, None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// Show the subject's phone number in clear (audited, like the resident page).
pub async fn reveal(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<SubjectPage, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, rscope) = ctx.scope(Capability::RevealProtected)?;
    let (_, scope) = reader(&ctx)?;
    let row = care::get(&mut st.db.conn(), &scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    let phone = people::reveal(
        &mut tx.conn(),
        &rscope,
        &st.key,
        row.person_id,
        Protected::Phone,
        st.now(),
    )
    .await
    .map_err(|e| ctx.err(e))?;
    tx.commit().await.map_err(|e| ctx.err(e))?;
    subject_page(&st, &ctx, id, Some(phone)).await
}

#[derive(Debug, Default, Deserialize)]
pub struct SubjectForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub tier: String,
    #[serde(default)]
    pub guardian: String,
    #[serde(default)]
    pub contact_note: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub user_id: String,
}

fn back_to(id: i64) -> Response {
    Redirect::to(&format!("/care/subjects/{id}")).into_response()
}

async fn change(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    f: &SubjectForm,
    what: &str,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::ManageCare)?;
    let now = st.now();
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    let mut c = tx.conn();
    let r = match what {
        "tier" => care::set_tier(&mut c, &scope, id, Tier::parse(&f.tier), now).await,
        "details" => care::set_details(&mut c, &scope, id, &f.guardian, &f.contact_note, now).await,
        "exclude" => care::exclude(&mut c, &scope, id, &f.reason, now).await,
        _ => match f.user_id.trim().parse::<i64>() {
            Ok(u) => care::assign(&mut c, &scope, id, u, now).await,
            Err(_) => Err(shequ_db::DbError::invalid(
                "user_id",
                "bad_visitor",
                "请选择探访人",
            )),
        },
    };
    r.map_err(|e| ctx.err(e))?;
    tx.commit().await.map_err(|e| ctx.err(e))?;
    if what == "exclude" {
        api::note_indicators(st).await;
    }
    Ok(back_to(id))
}

pub async fn set_tier(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<SubjectForm>,
) -> Result<Response, PageError> {
    change(&st, &ctx, id, &f, "tier").await
}

pub async fn set_details(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<SubjectForm>,
) -> Result<Response, PageError> {
    change(&st, &ctx, id, &f, "details").await
}

pub async fn exclude(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<SubjectForm>,
) -> Result<Response, PageError> {
    change(&st, &ctx, id, &f, "exclude").await
}

pub async fn assign(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<SubjectForm>,
) -> Result<Response, PageError> {
    change(&st, &ctx, id, &f, "assign").await
}

// ---------------------------------------------------------------- visit form

pub struct FindingChoice {
    pub code: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub struct AreaRow {
    pub code: &'static str,
    pub label: &'static str,
    pub findings: Vec<FindingChoice>,
    pub note: String,
}

pub struct CategoryChoice {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

/// What the visit form holds.
#[derive(Debug, Clone, Default)]
pub struct VisitValues {
    pub csrf: String,
    pub visited_at: String,
    pub channel: String,
    pub findings: [String; 4],
    pub notes: [String; 4],
    pub lon: String,
    pub lat: String,
    pub emergency: bool,
    pub raise_order: bool,
    pub order_category: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "care/visit_form.html")]
pub struct VisitFormPage {
    pub layout: Layout,
    pub subject_id: i64,
    pub name: String,
    pub tier_label: &'static str,
    pub v: VisitValues,
    pub channels: Vec<Choice>,
    pub areas: Vec<AreaRow>,
    pub categories: Vec<CategoryChoice>,
    pub errors: Vec<String>,
    pub max_photos: usize,
    pub phone_note: String,
}

async fn visit_form_page(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    v: VisitValues,
    errors: Vec<String>,
) -> Result<VisitFormPage, PageError> {
    let (_, scope) = ctx.scope(Capability::VisitElderly)?;
    let mut c = st.db.conn();
    let s = care::get(&mut c, &scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    let rules = care::settings(&mut c).await.map_err(|e| ctx.err(e))?;
    let cats = shequ_db::workorders::categories(&mut c)
        .await
        .map_err(|e| ctx.err(e))?;
    let tier = s.tier();
    let phone_note = if rules.counts(tier, Channel::Phone) {
        "电话探访计入本月探访率。".to_owned()
    } else {
        format!(
            "{}对象的电话探访不计入探访率，请上门或视频探访。",
            tier.label()
        )
    };
    Ok(VisitFormPage {
        layout: ctx.layout(format!("探访 {}", s.name), "care"),
        subject_id: id,
        name: s.name.clone(),
        tier_label: tier.label(),
        channels: Channel::ALL
            .iter()
            .map(|ch| Choice {
                code: ch.as_str(),
                label: ch.label(),
                selected: v.channel == ch.as_str(),
            })
            .collect(),
        areas: core::Area::ALL
            .iter()
            .enumerate()
            .map(|(i, a)| AreaRow {
                code: a.as_str(),
                label: a.label(),
                findings: Finding::ALL
                    .iter()
                    .map(|f| FindingChoice {
                        code: f.as_str(),
                        label: f.label(),
                        selected: v.findings[i] == f.as_str()
                            || (v.findings[i].is_empty() && *f == Finding::Normal),
                    })
                    .collect(),
                note: v.notes[i].clone(),
            })
            .collect(),
        categories: cats
            .iter()
            .filter(|c| c.active && c.code.contains('.'))
            .map(|c| CategoryChoice {
                code: c.code.clone(),
                label: c.name.clone(),
                selected: v.order_category == c.code
                    || (v.order_category.is_empty() && c.code == "social.elderly"),
            })
            .collect(),
        errors,
        max_photos: care::MAX_PHOTOS,
        phone_note,
        v,
    })
}

pub async fn visit_form(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<VisitFormPage, PageError> {
    let v = VisitValues {
        visited_at: (st.now() + Duration::hours(core::CST_HOURS))
            .format("%Y-%m-%dT%H:%M")
            .to_string(),
        channel: "home".into(),
        ..VisitValues::default()
    };
    visit_form_page(&st, &ctx, id, v, Vec::new()).await
}

fn upload_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        AppError::bad_request("bad_upload", "上传的内容无法读取，请重新提交")
    }
}

async fn read_visit_form(
    ctx: &Ctx,
    mp: &mut Multipart,
) -> Result<(VisitValues, Vec<Vec<u8>>), PageError> {
    let mut v = VisitValues::default();
    let mut photos = Vec::new();
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| ctx.err(upload_error(e)))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "photos" {
            let b = field.bytes().await.map_err(|e| ctx.err(upload_error(e)))?;
            if !b.is_empty() {
                photos.push(b.to_vec());
            }
            continue;
        }
        let text = field.text().await.map_err(|e| ctx.err(upload_error(e)))?;
        let area = |prefix: &str| {
            core::Area::ALL
                .iter()
                .position(|a| name == format!("{prefix}{}", a.as_str()))
        };
        if let Some(i) = area("finding_") {
            v.findings[i] = text;
            continue;
        }
        if let Some(i) = area("note_") {
            v.notes[i] = text;
            continue;
        }
        match name.as_str() {
            "csrf" => v.csrf = text,
            "visited_at" => v.visited_at = text,
            "channel" => v.channel = text,
            "lon" => v.lon = text,
            "lat" => v.lat = text,
            "emergency" => v.emergency = !text.is_empty(),
            "raise_order" => v.raise_order = !text.is_empty(),
            "order_category" => v.order_category = text,
            _ => {}
        }
    }
    Ok((v, photos))
}

/// Parse the form's values; errors as Chinese sentences.
fn parse_visit(v: &VisitValues, photos: Vec<Vec<u8>>) -> Result<VisitRequest, Vec<String>> {
    let mut errors = Vec::new();
    let visited_at = NaiveDateTime::parse_from_str(v.visited_at.trim(), "%Y-%m-%dT%H:%M")
        .map(|t| t.and_utc() - Duration::hours(core::CST_HOURS))
        .map_err(|_| errors.push("请填写探访时间".to_owned()))
        .ok();
    let channel = Channel::parse(&v.channel);
    if channel.is_none() {
        errors.push("请选择探访方式".into());
    }
    let coordinate = |s: &str, errors: &mut Vec<String>| match s.trim() {
        "" => None,
        t => {
            let x = t.parse::<f64>().ok().filter(|f| f.is_finite());
            if x.is_none() {
                errors.push("经纬度应为数字，如 111.467 和 27.239".into());
            }
            x
        }
    };
    let lon = coordinate(&v.lon, &mut errors);
    let lat = coordinate(&v.lat, &mut errors);
    let areas: [AreaEntry; 4] = std::array::from_fn(|i| AreaEntry {
        finding: Finding::parse(&v.findings[i]).unwrap_or(Finding::Normal),
        note: v.notes[i].clone(),
    });
    match (visited_at, channel, errors.is_empty()) {
        (Some(at), Some(ch), true) => Ok(VisitRequest {
            input: VisitInput {
                visited_at: at,
                channel: ch,
                areas,
                emergency: v.emergency,
            },
            lon,
            lat,
            photos,
            raise_order: v.raise_order,
            order_category: v.order_category.clone(),
        }),
        _ => Err(errors),
    }
}

pub async fn visit_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    mut mp: Multipart,
) -> Result<Response, PageError> {
    let (v, photos) = read_visit_form(&ctx, &mut mp).await?;
    ctx.check_csrf(&v.csrf)?;
    let user = ctx.user()?.clone();
    let had_photos = !photos.is_empty();
    let refuse = |mut errors: Vec<String>, v: VisitValues| {
        let (st, ctx) = (&st, &ctx);
        async move {
            if had_photos {
                errors.push("请重新选择照片后再提交".into());
            }
            let page = visit_form_page(st, ctx, id, v, errors).await?;
            Ok::<Response, PageError>((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    };
    let r = match parse_visit(&v, photos) {
        Ok(r) => r,
        Err(errors) => return refuse(errors, v).await,
    };
    match api::submit_visit(&st, &user, id, r).await {
        Ok(done) => Ok(Redirect::to(&format!("/care/visits/{}", done.visit_id)).into_response()),
        Err(AppError::Validation(fe)) => {
            let errors = fe.0.into_iter().map(|e| e.message).collect();
            refuse(errors, v).await
        }
        Err(e) => Err(ctx.err(e)),
    }
}

// ---------------------------------------------------------------- visit page

pub struct AreaLine {
    pub label: &'static str,
    pub finding: String,
    pub finding_label: &'static str,
    pub note: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "care/visit.html")]
pub struct VisitPage {
    pub layout: Layout,
    pub v: api::VisitView,
    pub subject_name: String,
    pub when: String,
    pub channel_label: &'static str,
    pub areas: Vec<AreaLine>,
    pub order_href: Option<String>,
}

pub async fn visit_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<VisitPage, PageError> {
    let (_, scope) = reader(&ctx)?;
    let (v, s) = api::load_visit(&st, &scope, id)
        .await
        .map_err(|e| ctx.err(e))?;
    let order_href = v.work_order_id.map(|o| format!("/workorders/{o}"));
    Ok(VisitPage {
        layout: ctx.layout("探访记录", "care"),
        subject_name: s.name.clone(),
        when: clock(v.visited_at),
        channel_label: Channel::parse(&v.channel).map_or("", Channel::label),
        areas: v
            .areas
            .iter()
            .map(|a| AreaLine {
                label: core::Area::ALL
                    .iter()
                    .find(|x| x.as_str() == a.area)
                    .map_or("", |x| x.label()),
                finding: a.finding.clone(),
                finding_label: Finding::parse(&a.finding).map_or("", Finding::label),
                note: a.note.clone(),
            })
            .collect(),
        order_href,
        v,
    })
}

pub async fn photo(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (_, scope) = reader(&ctx)?;
    let mut c = st.db.conn();
    let (visit, content_type, bytes) = care::photo(&mut c, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    care::visit(&mut c, &scope, visit)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    let mut res = bytes.into_response();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    Ok(res)
}

// ---------------------------------------------------------------- rates

#[derive(Debug, Default, Deserialize)]
pub struct RatesParams {
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub month: String,
}

pub struct RateLine {
    pub code: String,
    pub name: String,
    pub roster: i64,
    pub visited: i64,
    pub rate: String,
    pub width: u32,
    pub overdue: String,
    pub drill: bool,
    pub low: bool,
}

pub struct Crumb {
    pub code: String,
    pub name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "care/rates.html")]
pub struct RatesPage {
    pub layout: Layout,
    pub month: String,
    pub prev: String,
    pub next: Option<String>,
    pub node: String,
    pub trail: Vec<Crumb>,
    pub total: RateLine,
    pub rows: Vec<RateLine>,
}

fn rate_line(r: &RateView, drill: bool) -> RateLine {
    RateLine {
        code: r.division.clone(),
        name: r.name.clone(),
        roster: r.roster,
        visited: r.visited,
        rate: r.rate.map_or_else(|| "—".into(), |x| format!("{x:.1}%")),
        width: r.rate.map_or(0, |x| x.clamp(0.0, 100.0).round() as u32),
        overdue: r.overdue.map_or_else(|| "—".into(), |n| n.to_string()),
        drill,
        low: r.rate.is_some_and(|x| x < 95.0),
    }
}

/// The monthly visit rate of a node and its children, read from the aggregate.
pub async fn rates(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<RatesParams>,
) -> Result<RatesPage, PageError> {
    let (_, scope) = ctx.scope(Capability::ReadIndicators)?;
    let view = api::load_rates(&st, &scope, Some(&q.division), Some(&q.month))
        .await
        .map_err(|e| ctx.err(e))?;
    let month = core::Month::parse(&view.month).unwrap_or(core::Month::of(local_date(st.now())));
    let this = core::Month::of(local_date(st.now()));
    let node = DivisionCode::parse(&view.total.division)
        .map_err(|e| ctx.err(AppError::Internal(e.into())))?;
    let tree = st.tree.get();
    let trail = tree
        .lineage(&node)
        .iter()
        .filter(|d| DivisionCode::parse(&d.code).is_ok_and(|c| scope.contains(&c)))
        .map(|d| Crumb {
            code: d.code.clone(),
            name: d.name.clone(),
        })
        .collect();
    let drill = matches!(node.level(), Level::City | Level::County);
    Ok(RatesPage {
        layout: ctx.layout("月探访率", "care"),
        month: view.month.clone(),
        prev: month.prev().key(),
        next: (month < this).then(|| month.next().key()),
        node: node.as_str().to_owned(),
        trail,
        total: rate_line(&view.total, false),
        rows: view.children.iter().map(|r| rate_line(r, drill)).collect(),
    })
}

/// Visit completion by village/community under a node, as xlsx.
pub async fn export(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<RatesParams>,
) -> Result<Response, PageError> {
    let (user, scope) = ctx.scope(Capability::ReadIndicators)?;
    let today = local_date(st.now());
    let month = match q.month.trim() {
        "" => core::Month::of(today),
        m => core::Month::parse(m)
            .ok_or_else(|| ctx.err(AppError::bad_request("bad_month", "月份应为 YYYY-MM")))?,
    };
    let node = match q.division.trim() {
        "" => scope.root.clone(),
        d => DivisionCode::parse(d)
            .map_err(|e| ctx.err(AppError::bad_request("bad_division", e.to_string())))?,
    };
    let mut c = st.db.conn();
    // Walk down to the villages/communities: one row each.
    let mut frontier = vec![node.clone()];
    let mut rows = Vec::new();
    while let Some(n) = frontier.pop() {
        let (_, children) = care::rates(&mut c, &scope, &n, month, today)
            .await
            .map_err(|e| ctx.err(e))?;
        for r in children {
            let Ok(code) = DivisionCode::parse(&r.code) else {
                continue;
            };
            if code.level() == Level::Village {
                rows.push(r);
            } else {
                frontier.push(code);
            }
        }
    }
    rows.sort_by(|a, b| a.code.cmp(&b.code));
    let tree = st.tree.get();
    let path = |code: &str| -> String {
        DivisionCode::parse(code)
            .map(|c| {
                tree.lineage(&c)
                    .iter()
                    .filter(|d| d.parent_code.is_some())
                    .map(|d| d.name.clone())
                    .collect::<Vec<_>>()
                    .join(" › ")
            })
            .unwrap_or_default()
    };
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            vec![
                Cell::Text(r.code.clone()),
                Cell::Text(path(&r.code)),
                Cell::Int(r.roster),
                Cell::Int(r.visited),
                r.rate().map_or(Cell::Text(String::new()), |x| {
                    Cell::Float((x * 10.0).round() / 10.0)
                }),
                r.overdue.map_or(Cell::Text(String::new()), Cell::Int),
            ]
        })
        .collect();
    let headers = [
        "区划代码",
        "村（社区）",
        "在册对象",
        "已有效探访",
        "探访率（%）",
        "逾期未探访",
    ];
    let bytes = xlsx::sheet(&format!("{}探访完成情况", month.key()), &headers, &cells)
        .map_err(|e| ctx.err(AppError::Internal(e.into())))?;
    let ev = shequ_db::audit::Event::new("export", "care_rates", month.key())
        .division(node.as_str())
        .detail(serde_json::json!({"rows": cells.len()}));
    shequ_db::audit::record(&st.db, &user.actor(), ev, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"care-visits.xlsx\""),
    );
    Ok(res)
}
