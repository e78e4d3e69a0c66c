//! 探访关爱 over JSON: the special-difficulty elderly roster (`manage_care` keeps it;
//! `visit_elderly` reads it), visitors, the monthly visit plan, visit records (by the
//! assigned visitor or staff in scope; a found need can raise a work order in the
//! same step), overdue visits and the monthly visit rate by division.

use super::{List, Paging};
use crate::auth::{ApiUser, scope_for};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, division_code};
use crate::intake::{self, RawIntake};
use crate::{AppError, AppState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shequ_core::care::{
    self as core, AreaEntry, CareSettings, Channel, Finding, Month, Tier, VisitInput, local_date,
};
use shequ_core::geo::Point;
use shequ_core::role::Capability;
use shequ_core::{FieldErrors, Role};
use shequ_db::care::{self, DueItem, NewVisit, RateRow, Subject, SubjectItem, Visit};
use shequ_db::scope::Scope;
use shequ_db::users::User;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, add))
        .routes(routes!(get_one))
        .routes(routes!(exclude))
        .routes(routes!(put_details))
        .routes(routes!(put_tier))
        .routes(routes!(assign))
        .routes(routes!(unassign))
        .routes(routes!(assign_grid))
        .routes(routes!(sync))
        .routes(routes!(plan))
        .routes(routes!(overdue))
        .routes(routes!(mine))
        .routes(routes!(visits, record))
        .routes(routes!(get_visit))
        .routes(routes!(rates))
        .routes(routes!(get_settings, put_settings))
}

// ---------------------------------------------------------------- views

/// A subject as staff and visitors see it (no protected data).
#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectView {
    pub id: i64,
    pub person_id: i64,
    pub name: String,
    /// The person's grid or village/community.
    pub division: String,
    pub village: String,
    pub age: u32,
    /// `high`, `key` or `general`.
    pub tier: String,
    pub tier_label: String,
    /// The tier the rule gives (differs from `tier` when overridden).
    pub tier_rule: String,
    pub tier_override: bool,
    /// `weekly`, `monthly` or `quarterly`.
    pub frequency: String,
    /// `active`, `lapsed` or `excluded`.
    pub status: String,
    /// `sync` (from the registers) or `manual`.
    pub source: String,
    pub reason: String,
    pub guardian: String,
    pub contact_note: String,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
    pub last_visit_at: Option<DateTime<Utc>>,
    pub next_due: Option<NaiveDate>,
    pub visitors: Vec<VisitorView>,
}

/// An assigned visitor.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitorView {
    pub user_id: i64,
    pub name: String,
    pub role: String,
}

/// Build the view of a subject.
pub fn subject_view(
    s: &Subject,
    visitors: &[care::Visitor],
    next_due: Option<NaiveDate>,
    rules: &CareSettings,
    today: NaiveDate,
) -> SubjectView {
    let tier = s.tier();
    SubjectView {
        id: s.id,
        person_id: s.person_id,
        name: s.name.clone(),
        division: s.division_code.clone(),
        village: s.village_code.clone(),
        age: core::age_on(s.birth_date, today),
        tier: tier.as_str().into(),
        tier_label: tier.label().into(),
        tier_rule: s.tier_rule.clone(),
        tier_override: s.tier_override,
        frequency: rules.frequency(tier).as_str().into(),
        status: s.status.clone(),
        source: s.source.clone(),
        reason: s.reason.clone(),
        guardian: s.guardian.clone(),
        contact_note: s.contact_note.clone(),
        joined_on: s.joined_on,
        left_on: s.left_on,
        last_visit_at: s.last_visit_at,
        next_due,
        visitors: visitors
            .iter()
            .map(|v| VisitorView {
                user_id: v.user_id,
                name: v.display_name.clone(),
                role: v.role.clone(),
            })
            .collect(),
    }
}

fn item_view(i: &SubjectItem, rules: &CareSettings, today: NaiveDate) -> SubjectView {
    subject_view(&i.subject, &i.visitors, i.next_due, rules, today)
}

/// One content area of a visit.
#[derive(Debug, Serialize, ToSchema)]
pub struct AreaView {
    /// `living`, `safety`, `support` or `service`.
    pub area: String,
    pub label: String,
    /// `normal`, `attention` or `need`.
    pub finding: String,
    pub note: String,
}

/// A visit record.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitView {
    pub id: i64,
    pub subject_id: i64,
    pub village: String,
    pub visitor_id: Option<i64>,
    pub visitor_name: String,
    pub visited_at: DateTime<Utc>,
    /// `home`, `phone` or `video`.
    pub channel: String,
    /// Whether it counts toward the monthly visit rate.
    pub valid: bool,
    pub areas: Vec<AreaView>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub emergency: bool,
    pub work_order_id: Option<i64>,
    /// The raised work order's tracking code, when one was raised.
    pub work_order_code: Option<String>,
    pub photos: Vec<i64>,
    pub created_at: DateTime<Utc>,
}

pub fn visit_view(v: &Visit, photos: Vec<i64>, work_order_code: Option<String>) -> VisitView {
    VisitView {
        id: v.id,
        subject_id: v.subject_id,
        village: v.village_code.clone(),
        visitor_id: v.visitor_id,
        visitor_name: v.visitor_name.clone(),
        visited_at: v.visited_at,
        channel: v.channel.clone(),
        valid: v.valid,
        areas: core::Area::ALL
            .iter()
            .zip(v.areas())
            .map(|(a, (label, finding, _, note))| AreaView {
                area: a.as_str().into(),
                label: label.into(),
                finding,
                note,
            })
            .collect(),
        lon: v.lon,
        lat: v.lat,
        emergency: v.emergency,
        work_order_id: v.work_order_id,
        work_order_code,
        photos,
        created_at: v.created_at,
    }
}

/// A due visit.
#[derive(Debug, Serialize, ToSchema)]
pub struct DueView {
    pub subject_id: i64,
    pub name: String,
    pub village: String,
    pub tier: String,
    pub window_start: NaiveDate,
    pub due_date: NaiveDate,
    pub overdue: bool,
    pub last_visit_at: Option<DateTime<Utc>>,
}

pub fn due_view(d: &DueItem, today: NaiveDate) -> DueView {
    DueView {
        subject_id: d.subject_id,
        name: d.name.clone(),
        village: d.village_code.clone(),
        tier: d.tier.clone(),
        window_start: d.window_start,
        due_date: d.due_date,
        overdue: d.due_date < today,
        last_visit_at: d.last_visit_at,
    }
}

// ---------------------------------------------------------------- helpers

/// The scope of a caller who may read the roster: `manage_care` or `visit_elderly`.
pub fn reader(user: &User) -> Result<Scope, AppError> {
    scope_for(user, Capability::ManageCare).or_else(|_| scope_for(user, Capability::VisitElderly))
}

/// Volunteers see only the subjects assigned to them.
pub fn own_only(user: &User) -> Option<i64> {
    (user.role() == Some(Role::Volunteer)).then_some(user.id)
}

fn parse_tier(s: Option<&str>) -> Result<Option<Tier>, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(t) => Tier::parse(t)
            .map(Some)
            .ok_or_else(|| AppError::bad_request("bad_tier", "tier 应为 high、key 或 general")),
    }
}

fn parse_month(s: Option<&str>, today: NaiveDate) -> Result<Month, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Month::of(today)),
        Some(m) => Month::parse(m)
            .ok_or_else(|| AppError::bad_request("bad_month", "month 应为 YYYY-MM，如 2025-06")),
    }
}

/// The scope narrowed to `division` (which must lie inside it).
fn narrowed(scope: &Scope, division: Option<&str>) -> Result<Scope, AppError> {
    match division.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(scope.clone()),
        Some(d) => {
            let code = division_code(d)?;
            if !scope.contains(&code) {
                return Err(AppError::Forbidden);
            }
            Ok(Scope::new(code, scope.role, scope.actor.clone()))
        }
    }
}

// ---------------------------------------------------------------- roster

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct SubjectsQuery {
    /// Limit to this subtree of your area.
    pub division: Option<String>,
    /// `high`, `key` or `general`.
    pub tier: Option<String>,
    /// `active` (default), `lapsed`, `excluded` or `all`.
    pub status: Option<String>,
    /// `true`: only subjects assigned to you.
    pub mine: Option<bool>,
    /// Name contains.
    pub name: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// The roster in your area (volunteers: the subjects assigned to them).
#[utoipa::path(get, path = "/api/v1/care/subjects", tag = "care", params(SubjectsQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page of subjects", body = List<SubjectView>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not read the roster", body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<SubjectsQuery>,
) -> ApiResult<Json<List<SubjectView>>> {
    let scope = reader(&user)?;
    let page = Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let status = match q.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s @ ("active" | "lapsed" | "excluded" | "all")) => Some(s.to_owned()),
        Some(_) => {
            return Err(AppError::bad_request(
                "bad_status",
                "status 应为 active、lapsed、excluded 或 all",
            ));
        }
    };
    let division = match q
        .division
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(d) => Some(division_code(d)?),
        None => None,
    };
    let f = care::Filter {
        division,
        tier: parse_tier(q.tier.as_deref())?,
        status,
        visitor: own_only(&user).or(q.mine.unwrap_or(false).then_some(user.id)),
        name: q.name,
    };
    let mut c = st.db.conn();
    let rules = care::settings(&mut c).await?;
    let found = care::list(&mut c, &scope, &f, page).await?;
    let today = local_date(st.now());
    Ok(Json(List {
        items: found
            .items
            .iter()
            .map(|i| item_view(i, &rules, today))
            .collect(),
        total: found.total,
    }))
}

/// One subject you may see, with visitors and next due date.
#[utoipa::path(get, path = "/api/v1/care/subjects/{id}", tag = "care", params(("id" = i64, Path, description = "Subject id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The subject", body = SubjectView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not read the roster", body = ErrorBody),
        (status = 404, description = "No such subject in your area", body = ErrorBody)))]
pub async fn get_one(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<SubjectView>> {
    let scope = reader(&user)?;
    Ok(Json(load_subject(&st, &scope, id).await?))
}

/// A subject with its visitors and next due date, as the caller may see it.
pub async fn load_subject(st: &AppState, scope: &Scope, id: i64) -> ApiResult<SubjectView> {
    let mut c = st.db.conn();
    let s = care::get(&mut c, scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let rules = care::settings(&mut c).await?;
    let mut v = care::visitors_of(&mut c, &[id]).await?;
    let due = care::next_due(&mut c, id).await?;
    Ok(subject_view(
        &s,
        &v.remove(&id).unwrap_or_default(),
        due,
        &rules,
        local_date(st.now()),
    ))
}

/// A resident put on the roster by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddBody {
    pub person_id: i64,
    /// Why (≤ 200 characters).
    pub reason: String,
}

/// Put a resident aged 60+ on the roster by hand, with a reason.
#[utoipa::path(post, path = "/api/v1/care/subjects", tag = "care", request_body = AddBody, security(("bearer" = [])),
    responses((status = 201, description = "On the roster", body = SubjectView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the roster", body = ErrorBody),
        (status = 422, description = "Unknown person, under 60, already on the roster, or no reason", body = ErrorBody)))]
pub async fn add(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(b): ApiJson<AddBody>,
) -> ApiResult<(StatusCode, Json<SubjectView>)> {
    let scope = scope_for(&user, Capability::ManageCare)?;
    let mut tx = st.db.begin().await?;
    let id = care::add_manual(
        &mut tx.conn(),
        &scope,
        &st.key,
        b.person_id,
        &b.reason,
        st.now(),
    )
    .await?;
    tx.commit().await?;
    note_indicators(&st).await;
    Ok((
        StatusCode::CREATED,
        Json(load_subject(&st, &scope, id).await?),
    ))
}

/// Why a subject leaves the roster.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// E.g. 去世, 迁出 (≤ 200 characters).
    pub reason: String,
}

/// Take a subject off the roster (deceased, moved away …).
#[utoipa::path(post, path = "/api/v1/care/subjects/{id}/exclude", tag = "care", params(("id" = i64, Path, description = "Subject id")),
    request_body = ReasonBody, security(("bearer" = [])),
    responses((status = 200, description = "Excluded", body = SubjectView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the roster", body = ErrorBody),
        (status = 404, description = "No such subject in your area", body = ErrorBody),
        (status = 422, description = "No reason, or not on the roster", body = ErrorBody)))]
pub async fn exclude(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> ApiResult<Json<SubjectView>> {
    let scope = scope_for(&user, Capability::ManageCare)?;
    let mut tx = st.db.begin().await?;
    care::exclude(&mut tx.conn(), &scope, id, &b.reason, st.now()).await?;
    tx.commit().await?;
    note_indicators(&st).await;
    Ok(Json(load_subject(&st, &scope, id).await?))
}

/// Guardian and contact notes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DetailsBody {
    /// 监护人 (≤ 200 characters).
    #[serde(default)]
    pub guardian: String,
    /// How to reach the subject or family (≤ 200 characters).
    #[serde(default)]
    pub contact_note: String,
}

/// Set a subject's guardian and contact notes.
#[utoipa::path(put, path = "/api/v1/care/subjects/{id}/details", tag = "care", params(("id" = i64, Path, description = "Subject id")),
    request_body = DetailsBody, security(("bearer" = [])),
    responses((status = 200, description = "Changed", body = SubjectView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the roster", body = ErrorBody),
        (status = 404, description = "No such subject in your area", body = ErrorBody),
        (status = 422, description = "Too long", body = ErrorBody)))]
pub async fn put_details(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<DetailsBody>,
) -> ApiResult<Json<SubjectView>> {
    let scope = scope_for(&user, Capability::ManageCare)?;
    let mut tx = st.db.begin().await?;
    care::set_details(
        &mut tx.conn(),
        &scope,
        id,
        &b.guardian,
        &b.contact_note,
        st.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(load_subject(&st, &scope, id).await?))
}

/// A tier override.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierBody {
    /// `high`, `key`, `general`, or null to follow the rule again.
    pub tier: Option<String>,
}

/// Override a subject's tier (or clear the override).
#[utoipa::path(put, path = "/api/v1/care/subjects/{id}/tier", tag = "care", params(("id" = i64, Path, description = "Subject id")),
    request_body = TierBody, security(("bearer" = [])),
    responses((status = 200, description = "Changed", body = SubjectView),
        (status = 400, description = "Unknown tier", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the roster", body = ErrorBody),
        (status = 404, description = "No such subject in your area", body = ErrorBody)))]
pub async fn put_tier(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<TierBody>,
) -> ApiResult<Json<SubjectView>> {
    let scope = scope_for(&user, Capability::ManageCare)?;
    let tier = parse_tier(b.tier.as_deref())?;
    let mut tx = st.db.begin().await?;
    care::set_tier(&mut tx.conn(), &scope, id, tier, st.now()).await?;
    tx.commit().await?;
    Ok(Json(load_subject(&st, &scope, id).await?))
}

/// A visitor to assign.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// A community worker, grid worker, volunteer or township worker of the subject's area.
    pub user_id: i64,
}

/// Assign a visitor to a subject.
#[utoipa::path(post, path = "/api/v1/care/subjects/{id}/visitors", tag = "care", params(("id" = i64, Path, description = "Subject id")),
    request_body = AssignBody, security(("bearer" = [])),
    responses((status = 200, description = "Assigned", body = SubjectView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the roster", body = ErrorBody),
        (status = 404, description = "No such subject in your area", body = ErrorBody),
        (status = 422, description = "That account cannot visit this subject", body = ErrorBody)))]
pub async fn assign(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<AssignBody>,
) -> ApiResult<Json<SubjectView>> {
    let scope = scope_for(&user, Capability::ManageCare)?;
    let mut tx = st.db.begin().await?;
    care::assign(&mut tx.conn(), &scope, id, b.user_id, st.now()).await?;
    tx.commit().await?;
    Ok(Json(load_subject(&st, &scope, id).await?))
}

/// Remove a visitor from a subject.
#[utoipa::path(delete, path = "/api/v1/care/subjects/{id}/visitors/{user_id}", tag = "care",
    params(("id" = i64, Path, description = "Subject id"), ("user_id" = i64, Path, description = "Visitor's user id")),
    security(("bearer" = [])),
    responses((status = 200, description = "Removed", body = SubjectView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the roster", body = ErrorBody),
        (status = 404, description = "No such subject or visitor", body = ErrorBody)))]
pub async fn unassign(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path((id, uid)): Path<(i64, i64)>,
) -> ApiResult<Json<SubjectView>> {
    let scope = scope_for(&user, Capability::ManageCare)?;
    let mut tx = st.db.begin().await?;
    care::unassign(&mut tx.conn(), &scope, id, uid, st.now()).await?;
    tx.commit().await?;
    Ok(Json(load_subject(&st, &scope, id).await?))
}

/// A grid whose subjects go to its grid worker(s).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GridBody {
    /// Grid code (15 digits).
    pub grid: String,
}

/// What a bulk assignment did.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignReportView {
    pub workers: usize,
    pub subjects: usize,
    /// New assignments (existing ones are kept).
    pub assigned: u64,
}

/// Give every subject of a grid to the grid's grid worker(s).
#[utoipa::path(post, path = "/api/v1/care/assign-grid", tag = "care", request_body = GridBody, security(("bearer" = [])),
    responses((status = 200, description = "Assigned", body = AssignReportView),
        (status = 400, description = "Bad grid code", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the roster", body = ErrorBody),
        (status = 422, description = "Not a grid in your area, or it has no grid worker", body = ErrorBody)))]
pub async fn assign_grid(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(b): ApiJson<GridBody>,
) -> ApiResult<Json<AssignReportView>> {
    let scope = scope_for(&user, Capability::ManageCare)?;
    let grid = division_code(b.grid.trim())?;
    let mut tx = st.db.begin().await?;
    let r = care::assign_grid(&mut tx.conn(), &scope, &grid, st.now()).await?;
    tx.commit().await?;
    Ok(Json(AssignReportView {
        workers: r.workers,
        subjects: r.subjects,
        assigned: r.assigned,
    }))
}

/// Where to sync or plan.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AreaBody {
    /// A division in your area (default: your whole area).
    #[serde(default)]
    pub division: Option<String>,
    /// Plan only: the month, `YYYY-MM` (default: this month).
    #[serde(default)]
    pub month: Option<String>,
}

/// What a roster sync changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncView {
    pub added: usize,
    pub reactivated: usize,
    pub lapsed: usize,
    pub retiered: usize,
    pub roster: i64,
}

/// Bring the roster in line with the registers (residents 60+ with a care tag).
#[utoipa::path(post, path = "/api/v1/care/sync", tag = "care", request_body = AreaBody, security(("bearer" = [])),
    responses((status = 200, description = "Synced", body = SyncView),
        (status = 400, description = "Bad division code", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the roster, or division outside your area", body = ErrorBody)))]
pub async fn sync(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(b): ApiJson<AreaBody>,
) -> ApiResult<Json<SyncView>> {
    let scope = scope_for(&user, Capability::ManageCare)?;
    let scope = narrowed(&scope, b.division.as_deref())?;
    let mut tx = st.db.begin().await?;
    let r = care::sync(&mut tx.conn(), &scope, &st.key, st.now()).await?;
    tx.commit().await?;
    refresh_all(&st).await?;
    Ok(Json(SyncView {
        added: r.added,
        reactivated: r.reactivated,
        lapsed: r.lapsed,
        retiered: r.retiered,
        roster: r.roster,
    }))
}

/// Tell this process's caches that indicator values changed.
pub async fn note_indicators(st: &AppState) {
    rates_cache::clear();
    if let Ok(v) = shequ_db::indicators::version(&mut st.db.conn()).await {
        st.caches.set_indicator_version(v);
    }
}

/// After a roster sync, recompute the indicators (many villages may have changed).
async fn refresh_all(st: &AppState) -> ApiResult<()> {
    shequ_db::indicators::store::recompute_all(&st.db, st.now()).await?;
    note_indicators(st).await;
    Ok(())
}

/// What a plan generation did.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    pub month: String,
    pub subjects: usize,
    pub due: usize,
    pub done: usize,
    pub inserted: u64,
}

/// Write the month's due visits for every subject in the area (idempotent).
#[utoipa::path(post, path = "/api/v1/care/plan", tag = "care", request_body = AreaBody, security(("bearer" = [])),
    responses((status = 200, description = "Generated", body = PlanView),
        (status = 400, description = "Bad division or month", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the roster, or division outside your area", body = ErrorBody)))]
pub async fn plan(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(b): ApiJson<AreaBody>,
) -> ApiResult<Json<PlanView>> {
    let scope = scope_for(&user, Capability::ManageCare)?;
    let scope = narrowed(&scope, b.division.as_deref())?;
    let month = parse_month(b.month.as_deref(), local_date(st.now()))?;
    let mut tx = st.db.begin().await?;
    let r = care::generate_plan(&mut tx.conn(), &scope, month, st.now()).await?;
    tx.commit().await?;
    rates_cache::clear();
    Ok(Json(PlanView {
        month: r.month,
        subjects: r.subjects,
        due: r.due,
        done: r.done,
        inserted: r.inserted,
    }))
}

/// Due visits in your area whose date has passed without a valid visit.
#[utoipa::path(get, path = "/api/v1/care/overdue", tag = "care", params(Paging), security(("bearer" = [])),
    responses((status = 200, description = "Oldest first", body = List<DueView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not read the roster", body = ErrorBody)))]
pub async fn overdue(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<List<DueView>>> {
    let scope = scope_for(&user, Capability::ManageCare)?;
    let today = local_date(st.now());
    let found = care::overdue(&mut st.db.conn(), &scope, today, p.resolve()?).await?;
    Ok(Json(List {
        items: found.items.iter().map(|d| due_view(d, today)).collect(),
        total: found.total,
    }))
}

/// Your open due visits (overdue first, then those due within 7 days).
#[utoipa::path(get, path = "/api/v1/care/mine", tag = "care", security(("bearer" = [])),
    responses((status = 200, description = "Your due visits", body = Vec<DueView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not visit", body = ErrorBody)))]
pub async fn mine(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Json<Vec<DueView>>> {
    scope_for(&user, Capability::VisitElderly)?;
    let today = local_date(st.now());
    let due = care::due_for_visitor(&mut st.db.conn(), user.id, today, 7).await?;
    Ok(Json(due.iter().map(|d| due_view(d, today)).collect()))
}

// ---------------------------------------------------------------- visits

/// One content area as submitted.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AreaBody4 {
    /// `normal` (default), `attention` or `need`.
    #[serde(default)]
    pub finding: Option<String>,
    /// ≤ 200 characters.
    #[serde(default)]
    pub note: String,
}

/// A visit as submitted.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitBody {
    /// When the visit took place (not in the future).
    pub visited_at: DateTime<Utc>,
    /// `home` (上门), `phone` (电话) or `video` (视频).
    pub channel: String,
    #[serde(default)]
    pub living: AreaBody4,
    #[serde(default)]
    pub safety: AreaBody4,
    #[serde(default)]
    pub support: AreaBody4,
    #[serde(default)]
    pub service: AreaBody4,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub emergency: bool,
    /// Raise a work order for the need found (needs `order_category`).
    #[serde(default)]
    pub raise_order: bool,
    /// The work order's category code.
    #[serde(default)]
    pub order_category: Option<String>,
}

/// A visit ready to check: parsed codes plus the optional work order.
pub struct VisitRequest {
    pub input: VisitInput,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub photos: Vec<Vec<u8>>,
    pub raise_order: bool,
    pub order_category: String,
}

impl VisitBody {
    pub fn parse(&self) -> Result<VisitRequest, FieldErrors> {
        let mut e = FieldErrors::new();
        let channel = Channel::parse(&self.channel);
        if channel.is_none() {
            e.add("channel", "bad_channel", "探访方式应为上门、电话或视频");
        }
        let mut areas = Vec::new();
        for (a, b) in
            core::Area::ALL
                .iter()
                .zip([&self.living, &self.safety, &self.support, &self.service])
        {
            let finding = match b
                .finding
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                None => Finding::Normal,
                Some(f) => Finding::parse(f).unwrap_or_else(|| {
                    e.add(
                        a.as_str(),
                        "bad_finding",
                        format!("{}应为正常、需关注或有需求", a.label()),
                    );
                    Finding::Normal
                }),
            };
            areas.push(AreaEntry {
                finding,
                note: b.note.clone(),
            });
        }
        e.into_result()?;
        let areas: [AreaEntry; 4] = areas.try_into().map_err(|_| FieldErrors::new())?;
        Ok(VisitRequest {
            input: VisitInput {
                visited_at: self.visited_at,
                channel: channel.unwrap_or(Channel::Home),
                areas,
                emergency: self.emergency,
            },
            lon: self.lon,
            lat: self.lat,
            photos: Vec::new(),
            raise_order: self.raise_order,
            order_category: self.order_category.clone().unwrap_or_default(),
        })
    }
}

/// A recorded visit and the work order it raised.
pub struct Recorded {
    pub visit_id: i64,
    pub order: Option<intake::Receipt>,
}

/// Check everything, raise the work order (when asked) through the patrol intake
/// path, then store the visit linked to it. Nothing is stored when a check fails.
pub async fn submit_visit(
    st: &AppState,
    user: &User,
    subject: i64,
    r: VisitRequest,
) -> ApiResult<Recorded> {
    let scope = scope_for(user, Capability::VisitElderly)?;
    let now = st.now();
    let s = care::check(&mut st.db.conn(), &scope, subject, &r.input, now).await?;
    let mut errs = FieldErrors::new();
    let location = match (r.lon, r.lat) {
        (Some(lon), Some(lat)) => Point::new(lon, lat).map_err(|e| errs.0.extend(e.0)).ok(),
        (None, None) => None,
        _ => {
            errs.add("lat", "incomplete_point", "经度和纬度需同时提供");
            None
        }
    };
    if r.photos.len() > care::MAX_PHOTOS {
        errs.add(
            "photo",
            "too_many_photos",
            format!("最多上传 {} 张照片", care::MAX_PHOTOS),
        );
    }
    let photos: Vec<_> = r
        .photos
        .iter()
        .take(care::MAX_PHOTOS)
        .filter_map(|b| {
            shequ_core::photo::clean(b)
                .map_err(|e| errs.add("photo", e.code(), e.to_string()))
                .ok()
        })
        .collect();
    if r.raise_order && !core::has_need(&r.input) {
        errs.add(
            "raise_order",
            "no_need_found",
            "只有发现需求（某项为“有需求”）时才能转为工单",
        );
    }
    errs.into_result()?;
    let prepared = if r.raise_order {
        let needs: Vec<String> = core::Area::ALL
            .iter()
            .zip(&r.input.areas)
            .filter(|(_, a)| a.finding == Finding::Need)
            .map(|(area, a)| {
                if a.note.trim().is_empty() {
                    area.label().to_owned()
                } else {
                    format!("{}：{}", area.label(), a.note.trim())
                }
            })
            .collect();
        let raw = RawIntake {
            category: r.order_category.trim().to_owned(),
            description: format!("探访关爱发现需求（{}）：{}", s.name, needs.join("；")),
            lon: location.map(|p| p.lon),
            lat: location.map(|p| p.lat),
            address: String::new(),
            division: Some(s.division_code.clone()),
            channel: "patrol".into(),
            urgent: r.input.emergency,
            reporter_name: user.display_name.clone(),
            reporter_phone: None,
            reporter_user_id: None,
            idempotency_key: None,
            attributes: serde_json::Map::new(),
            photos: Vec::new(),
        };
        let p = intake::prepare(st, raw).await.map_err(|e| match e {
            AppError::Validation(fe) => AppError::Validation(FieldErrors(
                fe.0.into_iter()
                    .map(|mut f| {
                        if f.field == "category" {
                            f.field = "order_category".into();
                        }
                        f
                    })
                    .collect(),
            )),
            other => other,
        })?;
        Some(p)
    } else {
        None
    };
    let order = match prepared {
        Some(p) => Some(intake::submit(st, user.actor(), p).await?),
        None => None,
    };
    let v = NewVisit {
        subject_id: subject,
        input: r.input,
        location,
        photos,
        work_order_id: order.as_ref().map(|o| o.id),
        visitor_name: Some(user.display_name.clone()),
    };
    let mut tx = st.db.begin().await?;
    let id = care::record(&mut tx.conn(), &scope, &v, now).await?;
    tx.commit().await?;
    note_indicators(st).await;
    Ok(Recorded {
        visit_id: id,
        order,
    })
}

/// The tracking code of a work order (for showing it on a visit).
pub async fn order_code(st: &AppState, id: Option<i64>) -> ApiResult<Option<String>> {
    let Some(id) = id else { return Ok(None) };
    Ok(care::order_tracking_code(&mut st.db.conn(), id).await?)
}

/// The visit as the API shows it.
pub async fn load_visit(st: &AppState, scope: &Scope, id: i64) -> ApiResult<(VisitView, Subject)> {
    let mut c = st.db.conn();
    let (v, s) = care::visit(&mut c, scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let photos = care::photo_ids(&mut c, id).await?;
    let code = order_code(st, v.work_order_id).await?;
    Ok((visit_view(&v, photos, code), s))
}

/// Record a visit (the assigned visitor, or staff with `visit_elderly` in the
/// subject's area). With `raise_order` and a need found, a work order is raised
/// in the same step (patrol channel) and linked to the visit.
#[utoipa::path(post, path = "/api/v1/care/subjects/{id}/visits", tag = "care", params(("id" = i64, Path, description = "Subject id")),
    request_body = VisitBody, security(("bearer" = [])),
    responses((status = 201, description = "Recorded", body = VisitView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not visit", body = ErrorBody),
        (status = 404, description = "No such subject for you", body = ErrorBody),
        (status = 422, description = "Invalid visit (e.g. `visit_in_future`); nothing stored", body = ErrorBody)))]
pub async fn record(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<VisitBody>,
) -> ApiResult<(StatusCode, Json<VisitView>)> {
    let r = b.parse()?;
    let done = submit_visit(&st, &user, id, r).await?;
    let scope = scope_for(&user, Capability::VisitElderly)?;
    let (v, _) = load_visit(&st, &scope, done.visit_id).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// Visits of a subject you may see, newest first.
#[utoipa::path(get, path = "/api/v1/care/subjects/{id}/visits", tag = "care", params(("id" = i64, Path, description = "Subject id"), Paging),
    security(("bearer" = [])),
    responses((status = 200, description = "One page of visits", body = List<VisitView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not read the roster", body = ErrorBody),
        (status = 404, description = "No such subject for you", body = ErrorBody)))]
pub async fn visits(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<List<VisitView>>> {
    let scope = reader(&user)?;
    let mut c = st.db.conn();
    care::get(&mut c, &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let found = care::visits_of(&mut c, id, p.resolve()?).await?;
    let mut items = Vec::with_capacity(found.items.len());
    for v in &found.items {
        let code = order_code(&st, v.work_order_id).await?;
        items.push(visit_view(v, Vec::new(), code));
    }
    Ok(Json(List {
        items,
        total: found.total,
    }))
}

/// One visit you may see.
#[utoipa::path(get, path = "/api/v1/care/visits/{id}", tag = "care", params(("id" = i64, Path, description = "Visit id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The visit", body = VisitView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not read the roster", body = ErrorBody),
        (status = 404, description = "No such visit for you", body = ErrorBody)))]
pub async fn get_visit(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<VisitView>> {
    let scope = reader(&user)?;
    Ok(Json(load_visit(&st, &scope, id).await?.0))
}

// ---------------------------------------------------------------- rates

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct RatesQuery {
    /// A node in your area (default: your division).
    pub division: Option<String>,
    /// `YYYY-MM` (default: this month).
    pub month: Option<String>,
}

/// One division's monthly visit figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RateView {
    pub division: String,
    pub name: String,
    /// Subjects on the roster.
    pub roster: i64,
    /// Of them, with at least one valid visit in the month.
    pub visited: i64,
    /// Visited ÷ roster, percent (null without a roster).
    pub rate: Option<f64>,
    /// Due visits whose date passed without a valid visit (a township or a
    /// village/community and its children only; null above).
    pub overdue: Option<i64>,
}

/// The monthly visit rate of a node and its children.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RatesView {
    pub month: String,
    pub total: RateView,
    pub children: Vec<RateView>,
}

pub fn rate_view(st: &AppState, r: &RateRow) -> RateView {
    RateView {
        division: r.code.clone(),
        name: st
            .tree
            .get()
            .get(&r.code)
            .map_or_else(|| r.code.clone(), |d| d.name.clone()),
        roster: r.roster,
        visited: r.visited,
        rate: r.rate(),
        overdue: r.overdue,
    }
}

/// The monthly visit rate (特殊困难老年人月探访率) of a node and each child,
/// read from the per-village monthly aggregate.
#[utoipa::path(get, path = "/api/v1/care/rates", tag = "care", params(RatesQuery), security(("bearer" = [])),
    responses((status = 200, description = "The node and its children", body = RatesView),
        (status = 400, description = "Bad division or month", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not read indicators", body = ErrorBody),
        (status = 404, description = "Node outside your area", body = ErrorBody)))]
pub async fn rates(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<RatesQuery>,
) -> ApiResult<Json<RatesView>> {
    let scope = scope_for(&user, Capability::ReadIndicators)?;
    Ok(Json(
        load_rates(&st, &scope, q.division.as_deref(), q.month.as_deref()).await?,
    ))
}

/// Figures for a node (default the scope root) and month (default this month).
/// Answers are kept in memory until the indicator version moves (every valid
/// visit and roster change moves it) or for [`RATES_TTL`] at most.
pub async fn load_rates(
    st: &AppState,
    scope: &Scope,
    division: Option<&str>,
    month: Option<&str>,
) -> ApiResult<RatesView> {
    let today = local_date(st.now());
    let month = parse_month(month, today)?;
    let node = match division.map(str::trim).filter(|s| !s.is_empty()) {
        Some(d) => division_code(d)?,
        None => scope.root.clone(),
    };
    if !scope.contains(&node) {
        return Err(AppError::not_found());
    }
    let key = (node.as_str().to_owned(), month.key(), today);
    let version = st.caches.indicator_version();
    if let Some(v) = rates_cache::get(&st.caches, &key, version) {
        return Ok(v);
    }
    let (total, children) = care::rates(&mut st.db.conn(), scope, &node, month, today).await?;
    let view = RatesView {
        month: month.key(),
        total: rate_view(st, &total),
        children: children.iter().map(|r| rate_view(st, r)).collect(),
    };
    rates_cache::put(&st.caches, key, version, view.clone());
    Ok(view)
}

/// Longest an answer of [`load_rates`] is reused.
pub const RATES_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Per-process memory of visit-rate answers, tied to the state's caches (an entry
/// of a state that is gone never answers).
pub mod rates_cache {
    use super::{RATES_TTL, RatesView};
    use crate::cache::Caches;
    use chrono::NaiveDate;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, PoisonError, Weak};
    use std::time::Instant;

    type Key = (String, String, NaiveDate);

    struct Entry {
        owner: Weak<Caches>,
        version: i64,
        at: Instant,
        view: RatesView,
    }

    static ENTRIES: Mutex<Option<HashMap<Key, Entry>>> = Mutex::new(None);

    pub fn get(owner: &Arc<Caches>, key: &Key, version: i64) -> Option<RatesView> {
        let guard = ENTRIES.lock().unwrap_or_else(PoisonError::into_inner);
        let e = guard.as_ref()?.get(key)?;
        let same = e.owner.upgrade().is_some_and(|o| Arc::ptr_eq(&o, owner));
        (same && e.version == version && e.at.elapsed() < RATES_TTL).then(|| e.view.clone())
    }

    pub fn put(owner: &Arc<Caches>, key: Key, version: i64, view: RatesView) {
        let mut guard = ENTRIES.lock().unwrap_or_else(PoisonError::into_inner);
        let map = guard.get_or_insert_with(HashMap::new);
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(
            key,
            Entry {
                owner: Arc::downgrade(owner),
                version,
                at: Instant::now(),
                view,
            },
        );
    }

    /// Forget every answer (after a plan or assignment change).
    pub fn clear() {
        let mut guard = ENTRIES.lock().unwrap_or_else(PoisonError::into_inner);
        *guard = None;
    }
}

// ---------------------------------------------------------------- settings

/// The care rules: tier frequencies, which channels count, the 高龄 age.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// Age from which a subject counts as 高龄 (60–120; default 80).
    pub oldest_age: u32,
    /// `weekly`, `monthly` or `quarterly` for each tier.
    pub high: String,
    pub key: String,
    pub general: String,
    /// Tiers for which a phone call counts (default `["general"]`).
    pub phone_counts_for: Vec<String>,
    /// Whether a video call counts (default true).
    pub video_counts: bool,
}

fn settings_body(s: &CareSettings) -> SettingsBody {
    SettingsBody {
        oldest_age: s.oldest_age,
        high: s.high.as_str().into(),
        key: s.key.as_str().into(),
        general: s.general.as_str().into(),
        phone_counts_for: s
            .phone_counts_for
            .iter()
            .map(|t| t.as_str().into())
            .collect(),
        video_counts: s.video_counts,
    }
}

/// The care rules in force.
#[utoipa::path(get, path = "/api/v1/care/settings", tag = "care", security(("bearer" = [])),
    responses((status = 200, description = "The rules", body = SettingsBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not read the roster", body = ErrorBody)))]
pub async fn get_settings(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Json<SettingsBody>> {
    reader(&user)?;
    Ok(Json(settings_body(
        &care::settings(&mut st.db.conn()).await?,
    )))
}

/// Change the care rules (city staff).
#[utoipa::path(put, path = "/api/v1/care/settings", tag = "care", request_body = SettingsBody, security(("bearer" = [])),
    responses((status = 200, description = "Changed", body = SettingsBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the roster", body = ErrorBody),
        (status = 422, description = "Invalid values, or not city staff", body = ErrorBody)))]
pub async fn put_settings(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(b): ApiJson<SettingsBody>,
) -> ApiResult<Json<SettingsBody>> {
    let scope = scope_for(&user, Capability::ManageCare)?;
    let mut e = FieldErrors::new();
    let mut freq = |field: &str, v: &str| {
        core::Frequency::parse(v).unwrap_or_else(|| {
            e.add(
                field,
                "bad_frequency",
                "频次应为 weekly、monthly 或 quarterly",
            );
            core::Frequency::Monthly
        })
    };
    let (high, key, general) = (
        freq("high", &b.high),
        freq("key", &b.key),
        freq("general", &b.general),
    );
    let mut phone = Vec::new();
    for t in &b.phone_counts_for {
        match Tier::parse(t) {
            Some(t) => phone.push(t),
            None => e.add(
                "phone_counts_for",
                "bad_tier",
                "等级应为 high、key 或 general",
            ),
        }
    }
    e.into_result()?;
    let s = CareSettings {
        oldest_age: b.oldest_age,
        high,
        key,
        general,
        phone_counts_for: phone,
        video_counts: b.video_counts,
    };
    let mut tx = st.db.begin().await?;
    care::put_settings(&mut tx.conn(), &scope, &s, st.now()).await?;
    tx.commit().await?;
    Ok(Json(settings_body(&s)))
}
