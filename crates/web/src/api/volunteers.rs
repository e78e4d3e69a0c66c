//! Volunteers (志愿者) over JSON: the register (`manage_volunteers`, or a
//! signed-in resident registering themselves), teams, stations, activities,
//! sign-ups, check-in/check-out with the venue code, and the organiser's hour
//! confirmation and corrections. Rule refusals carry their own stable code
//! (`duplicate_volunteer`, `overlapping_signup`, `wrong_checkin_code`,
//! `outside_activity_window`, `hours_exceed_activity`, …) with status 400.

use super::List;
use crate::auth::{ApiUser, scope_for};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, division_code};
use crate::{AppError, AppState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shequ_core::role::Capability;
use shequ_core::volunteers::{
    self as core, ActivityDraft, ActivityState, Category, Period, Refusal, TeamKind,
    VolunteerStatus,
};
use shequ_core::{DivisionCode, FieldErrors, IdCardNo, Phone};
use shequ_db::DbError;
use shequ_db::scope::Scope;
use shequ_db::users::User;
use shequ_db::volunteers::{
    self as store, ActivityFilter, ActivityInput, ActivityRow, HoursEntry, Protected, SignupLine,
    TeamInput, TeamRow, VolunteerFilter, VolunteerInput, VolunteerRow,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, register))
        .routes(routes!(register_self))
        .routes(routes!(me))
        .routes(routes!(get_one))
        .routes(routes!(reveal))
        .routes(routes!(set_status))
        .routes(routes!(teams, create_team))
        .routes(routes!(team))
        .routes(routes!(add_member))
        .routes(routes!(remove_member))
        .routes(routes!(stations, open_station))
        .routes(routes!(close_station))
        .routes(routes!(activities, publish))
        .routes(routes!(activity))
        .routes(routes!(cancel_activity))
        .routes(routes!(finish_activity))
        .routes(routes!(signups, sign_up))
        .routes(routes!(cancel_signup))
        .routes(routes!(checkin))
        .routes(routes!(checkout))
        .routes(routes!(hours))
        .routes(routes!(correct))
}

/// A rule refusal from the store as its own error code (400); other errors as usual.
pub fn refusal(e: DbError) -> AppError {
    if let DbError::Invalid(f) = &e
        && let [one] = f.0.as_slice()
        && Refusal::from_code(one.code).is_some()
    {
        return AppError::bad_request(one.code, one.message.clone());
    }
    AppError::from(e)
}

fn bad_status() -> AppError {
    AppError::bad_request("bad_status", "status 应为 active、suspended 或 left")
}

/// The volunteer record linked to the caller's login.
async fn own_volunteer(st: &AppState, user: &User) -> ApiResult<VolunteerRow> {
    store::get_by_user(&mut st.db.conn(), user.id)
        .await?
        .ok_or_else(|| {
            AppError::bad_request("not_a_volunteer", "您的账号尚未登记为志愿者，请先登记")
        })
}

/// The caller's subtree when they may manage volunteers (no error otherwise).
pub fn manager_scope(user: &User) -> Option<Scope> {
    scope_for(user, Capability::ManageVolunteers).ok()
}

// ---------------------------------------------------------------- volunteers

/// A volunteer as the API shows it: ID number and phone masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct VolunteerView {
    pub id: i64,
    /// Unified volunteer number: `ZY` + county code + 7-digit sequence + check character.
    pub volunteer_no: String,
    pub name: String,
    pub gender: String,
    pub birth_date: NaiveDate,
    /// Masked, e.g. `430502********123X`.
    pub id_number: String,
    pub phone: Option<String>,
    pub division: String,
    pub skills: Vec<String>,
    pub availability: String,
    pub registered_by_org: Option<i64>,
    /// The resident record with the same ID number, when there is one.
    pub person_id: Option<i64>,
    /// Whether a login is linked (the volunteer acts for themselves).
    pub has_login: bool,
    pub consent_at: DateTime<Utc>,
    /// `active`, `suspended` or `left`.
    pub status: String,
    pub status_label: String,
    pub created_at: DateTime<Utc>,
}

impl From<&VolunteerRow> for VolunteerView {
    fn from(v: &VolunteerRow) -> Self {
        VolunteerView {
            id: v.id,
            volunteer_no: v.volunteer_no.clone(),
            name: v.name.clone(),
            gender: v.gender.clone(),
            birth_date: v.birth_date,
            id_number: v.id_number_masked.clone(),
            phone: v.phone_masked.clone(),
            division: v.division_code.clone(),
            skills: v.skill_list(),
            availability: v.availability.clone(),
            registered_by_org: v.registered_by_org,
            person_id: v.person_id,
            has_login: v.user_id.is_some(),
            consent_at: v.consent_at,
            status: v.status.clone(),
            status_label: v.status().label().into(),
            created_at: v.created_at,
        }
    }
}

/// A registration as submitted (《志愿服务条例》 art. 7).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVolunteer {
    /// Village/community (12 digits) or grid (15 digits) where they live or serve.
    /// Self-registration: defaults to your own division.
    #[serde(default)]
    pub division: Option<String>,
    pub name: String,
    /// 18-digit ID number (GB 11643 check digit).
    pub id_number: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// Service skills, separated by commas or 、 (≤ 10, each ≤ 20 characters).
    #[serde(default)]
    pub skills: String,
    /// When they can serve, e.g. "周末上午" (≤ 100 characters).
    #[serde(default)]
    pub availability: String,
    /// The organisation registering them (staff registration).
    #[serde(default)]
    pub registered_by_org: Option<i64>,
    /// The registrant agreed to the registration notice; must be true.
    #[serde(default)]
    pub consent: bool,
}

impl RawVolunteer {
    /// Parse codes, ID and phone; the store checks the rest.
    pub fn parse(
        &self,
        today: NaiveDate,
        default_division: Option<&str>,
    ) -> Result<VolunteerInput, FieldErrors> {
        let mut errs = FieldErrors::new();
        let division_text = self
            .division
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .or(default_division)
            .unwrap_or_default();
        let division = DivisionCode::parse(division_text)
            .map_err(|e| errs.add("division", e.code(), format!("区划代码有误：{e}")))
            .ok();
        let id_number = IdCardNo::parse(&self.id_number, today)
            .map_err(|e| errs.add("id_number", e.code(), e.to_string()))
            .ok();
        let phone = match self
            .phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            Some(p) => Phone::parse(p)
                .map_err(|e| errs.add("phone", e.code(), e.to_string()))
                .ok(),
            None => None,
        };
        errs.into_result()?;
        match (division, id_number) {
            (Some(division), Some(id_number)) => Ok(VolunteerInput {
                division,
                name: self.name.clone(),
                id_number,
                phone,
                skills: self.skills.clone(),
                availability: self.availability.clone(),
                registered_by_org: self.registered_by_org,
                consent: self.consent,
            }),
            _ => {
                let mut e = FieldErrors::new();
                e.add("id_number", "required", "身份证号不能为空");
                Err(e)
            }
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct VolunteersQuery {
    /// Limit to this subtree.
    pub division: Option<String>,
    /// Volunteer number, or the start of a name.
    pub q: Option<String>,
    pub skill: Option<String>,
    /// `active`, `suspended` or `left`.
    pub status: Option<String>,
    pub team_id: Option<i64>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// Volunteers in the caller's subtree.
#[utoipa::path(get, path = "/api/v1/volunteers", tag = "volunteers", params(VolunteersQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of volunteers (masked)", body = List<VolunteerView>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not manage volunteers", body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<VolunteersQuery>,
) -> ApiResult<Json<List<VolunteerView>>> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let page = super::Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(VolunteerStatus::parse(s).ok_or_else(bad_status)?),
        None => None,
    };
    let f = VolunteerFilter {
        q: q.q.clone(),
        skill: q.skill.clone(),
        status,
        team_id: q.team_id,
        division: q
            .division
            .as_deref()
            .filter(|d| !d.is_empty())
            .map(division_code)
            .transpose()?,
    };
    let found = store::list(&mut st.db.conn(), &scope, &f, page).await?;
    Ok(Json(List {
        items: found.items.iter().map(VolunteerView::from).collect(),
        total: found.total,
    }))
}

/// Register a volunteer in your area; a volunteer number is issued.
#[utoipa::path(post, path = "/api/v1/volunteers", tag = "volunteers", request_body = RawVolunteer, security(("bearer" = [])),
    responses((status = 201, description = "Registered", body = VolunteerView),
        (status = 400, description = "ID number already registered (duplicate_volunteer)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not manage volunteers", body = ErrorBody),
        (status = 422, description = "Invalid fields or missing consent", body = ErrorBody)))]
pub async fn register(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RawVolunteer>,
) -> ApiResult<(StatusCode, Json<VolunteerView>)> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let input = raw.parse(st.now().date_naive(), None)?;
    let mut tx = st.db.begin().await?;
    let v = store::register(&mut tx.conn(), &scope, &st.key, &input, None, st.now())
        .await
        .map_err(refusal)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(VolunteerView::from(&v))))
}

/// Register yourself as a volunteer (consent required); your login is linked to
/// the record. The division defaults to your own and must lie within it.
#[utoipa::path(post, path = "/api/v1/volunteers/self", tag = "volunteers", request_body = RawVolunteer, security(("bearer" = [])),
    responses((status = 201, description = "Registered", body = VolunteerView),
        (status = 400, description = "Already registered (duplicate_volunteer, account_linked)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 422, description = "Invalid fields or missing consent", body = ErrorBody)))]
pub async fn register_self(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RawVolunteer>,
) -> ApiResult<(StatusCode, Json<VolunteerView>)> {
    let scope = self_scope(&user)?;
    let mut raw = raw;
    raw.registered_by_org = None;
    let input = raw.parse(st.now().date_naive(), Some(&user.division_code))?;
    let mut tx = st.db.begin().await?;
    let v = store::register(
        &mut tx.conn(),
        &scope,
        &st.key,
        &input,
        Some(user.id),
        st.now(),
    )
    .await
    .map_err(refusal)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(VolunteerView::from(&v))))
}

/// The scope of a self-registration: the user's own division.
pub fn self_scope(user: &User) -> ApiResult<Scope> {
    let role = user.role().ok_or(AppError::Forbidden)?;
    if matches!(
        role,
        shequ_core::Role::Admin | shequ_core::Role::SecurityAdmin | shequ_core::Role::Auditor
    ) {
        return Err(AppError::Forbidden);
    }
    let root = DivisionCode::parse(&user.division_code)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored division: {e}")))?;
    Ok(Scope::new(root, role, user.actor()))
}

/// One line of a service record.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordLineView {
    pub signup_id: i64,
    pub activity_id: i64,
    pub title: String,
    pub division: String,
    pub place: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub category: String,
    pub elder_care: bool,
    pub activity_state: String,
    /// `signed_up`, `checked_in`, `completed`, `no_show` or `cancelled`.
    pub state: String,
    pub state_label: String,
    pub checkin_at: Option<DateTime<Utc>>,
    pub checkout_at: Option<DateTime<Utc>>,
    /// Confirmed service minutes (null until the organiser confirms).
    pub minutes: Option<i32>,
}

/// Your volunteer record: registration, activities and confirmed hours.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyRecord {
    pub volunteer: VolunteerView,
    pub lines: Vec<RecordLineView>,
    pub total_minutes: i64,
    /// Total confirmed hours, one decimal.
    pub total_hours: String,
    pub completed: i64,
}

/// Record lines as shown.
pub fn record_lines(r: &store::Record) -> Vec<RecordLineView> {
    r.lines
        .iter()
        .map(|l| RecordLineView {
            signup_id: l.signup_id,
            activity_id: l.activity_id,
            title: l.title.clone(),
            division: l.division_code.clone(),
            place: l.place.clone(),
            starts_at: l.starts_at,
            ends_at: l.ends_at,
            category: l.category.clone(),
            elder_care: l.elder_care,
            activity_state: l.activity_state.clone(),
            state: l.state.clone(),
            state_label: core::SignupState::parse(&l.state)
                .map(|s| s.label())
                .unwrap_or("")
                .into(),
            checkin_at: l.checkin_at,
            checkout_at: l.checkout_at,
            minutes: l.minutes,
        })
        .collect()
}

/// Your own volunteer record (for a login linked to a volunteer).
#[utoipa::path(get, path = "/api/v1/volunteers/me", tag = "volunteers", security(("bearer" = [])),
    responses((status = 200, description = "Your record", body = MyRecord),
        (status = 400, description = "Not registered as a volunteer (not_a_volunteer)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody)))]
pub async fn me(State(st): State<AppState>, ApiUser(user): ApiUser) -> ApiResult<Json<MyRecord>> {
    let v = own_volunteer(&st, &user).await?;
    let r = store::record(&mut st.db.conn(), v.id, 500).await?;
    Ok(Json(MyRecord {
        volunteer: VolunteerView::from(&v),
        lines: record_lines(&r),
        total_minutes: r.total_minutes,
        total_hours: core::hours_text(r.total_minutes),
        completed: r.completed,
    }))
}

/// One volunteer in your area.
#[utoipa::path(get, path = "/api/v1/volunteers/{id}", tag = "volunteers", params(("id" = i64, Path, description = "Volunteer id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The volunteer", body = VolunteerView),
        (status = 403, description = "Role may not manage volunteers", body = ErrorBody),
        (status = 404, description = "No such volunteer in your area", body = ErrorBody)))]
pub async fn get_one(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<VolunteerView>> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let v = store::get(&mut st.db.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Json(VolunteerView::from(&v)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    /// `id_number` or `phone`.
    pub field: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Revealed {
    pub field: String,
    pub value: String,
}

/// Read a volunteer's ID number or phone in clear. Always audited.
#[utoipa::path(post, path = "/api/v1/volunteers/{id}/reveal", tag = "volunteers", params(("id" = i64, Path, description = "Volunteer id")),
    request_body = RevealRequest, security(("bearer" = [])),
    responses((status = 200, description = "The clear value", body = Revealed),
        (status = 400, description = "Unknown field", body = ErrorBody),
        (status = 403, description = "Role may not reveal protected data", body = ErrorBody),
        (status = 404, description = "No such volunteer in your area", body = ErrorBody)))]
pub async fn reveal(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<RevealRequest>,
) -> ApiResult<Json<Revealed>> {
    let scope = scope_for(&user, Capability::RevealProtected)?;
    scope_for(&user, Capability::ManageVolunteers)?;
    let field = Protected::parse(&r.field).ok_or_else(|| {
        AppError::bad_request("unknown_field", "可查看的字段为 id_number 或 phone")
    })?;
    let mut tx = st.db.begin().await?;
    let value = store::reveal(&mut tx.conn(), &scope, &st.key, id, field, st.now()).await?;
    tx.commit().await?;
    Ok(Json(Revealed {
        field: field.as_str().into(),
        value,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// `active`, `suspended` or `left`.
    pub status: String,
}

/// Change a volunteer's status.
#[utoipa::path(post, path = "/api/v1/volunteers/{id}/status", tag = "volunteers", params(("id" = i64, Path, description = "Volunteer id")),
    request_body = StatusRequest, security(("bearer" = [])),
    responses((status = 200, description = "Changed", body = VolunteerView),
        (status = 400, description = "Unknown status", body = ErrorBody),
        (status = 403, description = "Role may not manage volunteers", body = ErrorBody),
        (status = 404, description = "No such volunteer in your area", body = ErrorBody)))]
pub async fn set_status(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<StatusRequest>,
) -> ApiResult<Json<VolunteerView>> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let status = VolunteerStatus::parse(r.status.trim()).ok_or_else(bad_status)?;
    let mut tx = st.db.begin().await?;
    store::set_status(&mut tx.conn(), &scope, id, status, st.now()).await?;
    tx.commit().await?;
    let v = store::get(&mut st.db.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Json(VolunteerView::from(&v)))
}

// ---------------------------------------------------------------- teams

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamView {
    pub id: i64,
    pub name: String,
    /// `general`, `emergency_rescue` (应急救援队), `elder_care`, `party_member`,
    /// `culture`, `environment` or `medical`.
    pub kind: String,
    pub kind_label: String,
    pub division: String,
    pub organization_id: Option<i64>,
    pub leader_volunteer_id: Option<i64>,
    pub members: i64,
    pub created_at: DateTime<Utc>,
}

impl From<&TeamRow> for TeamView {
    fn from(t: &TeamRow) -> Self {
        TeamView {
            id: t.id,
            name: t.name.clone(),
            kind: t.kind.clone(),
            kind_label: t.kind().label().into(),
            division: t.division_code.clone(),
            organization_id: t.organization_id,
            leader_volunteer_id: t.leader_volunteer_id,
            members: t.members,
            created_at: t.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub volunteer_id: i64,
    pub volunteer_no: String,
    pub name: String,
    pub division: String,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamDetail {
    #[serde(flatten)]
    pub team: TeamView,
    pub member_list: Vec<MemberView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTeam {
    /// ≤ 50 characters.
    pub name: String,
    /// Team kind (see TeamView.kind); defaults to `general`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Any division in your area; defaults to your own.
    #[serde(default)]
    pub division: Option<String>,
    #[serde(default)]
    pub organization_id: Option<i64>,
    #[serde(default)]
    pub leader_volunteer_id: Option<i64>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct PageQuery {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// Teams in your area.
#[utoipa::path(get, path = "/api/v1/volunteer-teams", tag = "volunteers", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page of teams", body = List<TeamView>),
        (status = 403, description = "Role may not manage volunteers", body = ErrorBody)))]
pub async fn teams(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<List<TeamView>>> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let page = super::Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let found = store::list_teams(&mut st.db.conn(), &scope, page).await?;
    Ok(Json(List {
        items: found.items.iter().map(TeamView::from).collect(),
        total: found.total,
    }))
}

/// Form a team (e.g. an 应急救援队) in your area.
#[utoipa::path(post, path = "/api/v1/volunteer-teams", tag = "volunteers", request_body = RawTeam, security(("bearer" = [])),
    responses((status = 201, description = "Formed", body = TeamView),
        (status = 400, description = "Unknown kind or bad division code", body = ErrorBody),
        (status = 403, description = "Role may not manage volunteers", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)))]
pub async fn create_team(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RawTeam>,
) -> ApiResult<(StatusCode, Json<TeamView>)> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let kind = match raw.kind.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(k) => {
            TeamKind::parse(k).ok_or_else(|| AppError::bad_request("bad_kind", "队伍类型有误"))?
        }
        None => TeamKind::General,
    };
    let division = match raw
        .division
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(d) => division_code(d)?,
        None => scope.root.clone(),
    };
    let input = TeamInput {
        name: raw.name.clone(),
        kind,
        division,
        organization_id: raw.organization_id,
        leader_volunteer_id: raw.leader_volunteer_id,
    };
    let mut tx = st.db.begin().await?;
    let id = store::create_team(&mut tx.conn(), &scope, &input, st.now()).await?;
    tx.commit().await?;
    let t = store::get_team(&mut st.db.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok((StatusCode::CREATED, Json(TeamView::from(&t))))
}

async fn team_detail(st: &AppState, scope: &Scope, id: i64) -> ApiResult<TeamDetail> {
    let mut c = st.db.conn();
    let t = store::get_team(&mut c, scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let members = store::members(&mut c, scope, id).await?;
    Ok(TeamDetail {
        team: TeamView::from(&t),
        member_list: members
            .iter()
            .map(|m| MemberView {
                volunteer_id: m.volunteer_id,
                volunteer_no: m.volunteer_no.clone(),
                name: m.name.clone(),
                division: m.division_code.clone(),
                joined_at: m.joined_at,
            })
            .collect(),
    })
}

/// One team with its members.
#[utoipa::path(get, path = "/api/v1/volunteer-teams/{id}", tag = "volunteers", params(("id" = i64, Path, description = "Team id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The team", body = TeamDetail),
        (status = 404, description = "No such team in your area", body = ErrorBody)))]
pub async fn team(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<TeamDetail>> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    Ok(Json(team_detail(&st, &scope, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRequest {
    pub volunteer_id: i64,
}

/// Add a volunteer of your area to a team.
#[utoipa::path(post, path = "/api/v1/volunteer-teams/{id}/members", tag = "volunteers", params(("id" = i64, Path, description = "Team id")),
    request_body = MemberRequest, security(("bearer" = [])),
    responses((status = 200, description = "The team", body = TeamDetail),
        (status = 404, description = "No such team in your area", body = ErrorBody),
        (status = 422, description = "Unknown volunteer", body = ErrorBody)))]
pub async fn add_member(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<MemberRequest>,
) -> ApiResult<Json<TeamDetail>> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let mut tx = st.db.begin().await?;
    store::add_member(&mut tx.conn(), &scope, id, r.volunteer_id, st.now()).await?;
    tx.commit().await?;
    Ok(Json(team_detail(&st, &scope, id).await?))
}

/// Remove a member from a team.
#[utoipa::path(delete, path = "/api/v1/volunteer-teams/{id}/members/{volunteer_id}", tag = "volunteers",
    params(("id" = i64, Path, description = "Team id"), ("volunteer_id" = i64, Path, description = "Volunteer id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The team", body = TeamDetail),
        (status = 404, description = "No such team or member in your area", body = ErrorBody)))]
pub async fn remove_member(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path((id, volunteer_id)): Path<(i64, i64)>,
) -> ApiResult<Json<TeamDetail>> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let mut tx = st.db.begin().await?;
    store::remove_member(&mut tx.conn(), &scope, id, volunteer_id, st.now()).await?;
    tx.commit().await?;
    Ok(Json(team_detail(&st, &scope, id).await?))
}

// ---------------------------------------------------------------- stations

#[derive(Debug, Serialize, ToSchema)]
pub struct StationView {
    pub id: i64,
    pub facility_id: i64,
    pub name: String,
    pub division: String,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl From<&store::StationRow> for StationView {
    fn from(s: &store::StationRow) -> Self {
        StationView {
            id: s.id,
            facility_id: s.facility_id,
            name: s.name.clone(),
            division: s.division_code.clone(),
            opened_at: s.opened_at,
            closed_at: s.closed_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStation {
    /// A facility in your area; it gains the `volunteer_station` function.
    pub facility_id: i64,
    /// e.g. "和平社区新时代文明实践志愿服务站" (≤ 60 characters).
    pub name: String,
}

/// Stations in your area (open ones first).
#[utoipa::path(get, path = "/api/v1/volunteer-stations", tag = "volunteers", security(("bearer" = [])),
    responses((status = 200, description = "Stations", body = List<StationView>),
        (status = 403, description = "Role may not manage volunteers", body = ErrorBody)))]
pub async fn stations(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Json<List<StationView>>> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let rows = store::list_stations(&mut st.db.conn(), &scope).await?;
    Ok(Json(List {
        total: i64::try_from(rows.len()).unwrap_or(i64::MAX),
        items: rows.iter().map(StationView::from).collect(),
    }))
}

/// Open a volunteer station in a facility; the facility then counts for the
/// volunteer-station share indicator.
#[utoipa::path(post, path = "/api/v1/volunteer-stations", tag = "volunteers", request_body = RawStation, security(("bearer" = [])),
    responses((status = 201, description = "Opened", body = StationView),
        (status = 403, description = "Role may not manage volunteers", body = ErrorBody),
        (status = 422, description = "Unknown facility, or it already has a station", body = ErrorBody)))]
pub async fn open_station(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RawStation>,
) -> ApiResult<(StatusCode, Json<StationView>)> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let mut tx = st.db.begin().await?;
    let id =
        store::open_station(&mut tx.conn(), &scope, raw.facility_id, &raw.name, st.now()).await?;
    tx.commit().await?;
    let rows = store::list_stations(&mut st.db.conn(), &scope).await?;
    let s = rows
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(AppError::not_found)?;
    Ok((StatusCode::CREATED, Json(StationView::from(s))))
}

/// Close a station; the facility loses the `volunteer_station` function.
#[utoipa::path(post, path = "/api/v1/volunteer-stations/{id}/close", tag = "volunteers", params(("id" = i64, Path, description = "Station id")),
    security(("bearer" = [])),
    responses((status = 200, description = "Closed", body = StationView),
        (status = 404, description = "No such station in your area", body = ErrorBody),
        (status = 422, description = "Already closed", body = ErrorBody)))]
pub async fn close_station(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<StationView>> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let mut tx = st.db.begin().await?;
    store::close_station(&mut tx.conn(), &scope, id, st.now()).await?;
    tx.commit().await?;
    let rows = store::list_stations(&mut st.db.conn(), &scope).await?;
    let s = rows
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(AppError::not_found)?;
    Ok(Json(StationView::from(s)))
}

// ---------------------------------------------------------------- activities

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityView {
    pub id: i64,
    pub title: String,
    pub description: String,
    /// `division` or `organization`.
    pub organizer_kind: String,
    pub organizer_division: String,
    pub organization_id: Option<i64>,
    pub team_id: Option<i64>,
    pub station_id: Option<i64>,
    /// Where it is held.
    pub division: String,
    pub place: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub quota: i32,
    pub signed_up: i64,
    pub places_left: i64,
    pub skills: Vec<String>,
    pub category: String,
    pub category_label: String,
    /// Counts for the time bank (助老服务).
    pub elder_care: bool,
    /// Occurrences of one weekly series share it.
    pub recurrence_group: Option<String>,
    /// `published`, `cancelled` or `finished`.
    pub state: String,
    pub state_label: String,
    pub cancel_reason: String,
    /// The 6-digit check-in code: shown to the organisers only.
    pub checkin_code: Option<String>,
}

/// An activity as shown; the code only when `organiser`.
pub fn activity_view(a: &ActivityRow, organiser: bool) -> ActivityView {
    ActivityView {
        id: a.id,
        title: a.title.clone(),
        description: a.description.clone(),
        organizer_kind: a.organizer_kind.clone(),
        organizer_division: a.organizer_division_code.clone(),
        organization_id: a.organization_id,
        team_id: a.team_id,
        station_id: a.station_id,
        division: a.division_code.clone(),
        place: a.place.clone(),
        starts_at: a.starts_at,
        ends_at: a.ends_at,
        quota: a.quota,
        signed_up: a.signed_up,
        places_left: a.places_left(),
        skills: a
            .skills
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        category: a.category.clone(),
        category_label: a.category().label().into(),
        elder_care: a.elder_care,
        recurrence_group: a.recurrence_group.clone(),
        state: a.state.clone(),
        state_label: a.state().label().into(),
        cancel_reason: a.cancel_reason.clone(),
        checkin_code: organiser.then(|| a.checkin_code.clone()),
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawActivity {
    /// ≤ 100 characters.
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Where it is held: a division in your area; defaults to your own.
    #[serde(default)]
    pub division: Option<String>,
    /// ≤ 100 characters.
    pub place: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// 1–1000 places.
    pub quota: i64,
    #[serde(default)]
    pub skills: String,
    /// `elder_care`, `child_care`, `disability`, `environment`, `culture`,
    /// `safety`, `health`, `emergency`, `civility` or `other`.
    pub category: String,
    /// Counts for the time bank; defaults to true for the `elder_care` category.
    #[serde(default)]
    pub elder_care: Option<bool>,
    /// Weekly occurrences, 1 (default) – 26.
    #[serde(default)]
    pub weekly_occurrences: Option<u32>,
    #[serde(default)]
    pub organization_id: Option<i64>,
    #[serde(default)]
    pub team_id: Option<i64>,
    #[serde(default)]
    pub station_id: Option<i64>,
}

impl RawActivity {
    pub fn parse(&self, scope: &Scope) -> Result<ActivityInput, AppError> {
        let category = Category::parse(self.category.trim()).ok_or_else(|| {
            let mut e = FieldErrors::new();
            e.add("category", "bad_category", "活动类别有误");
            AppError::Validation(e)
        })?;
        let division = match self
            .division
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(d) => division_code(d)?,
            None => scope.root.clone(),
        };
        Ok(ActivityInput {
            draft: ActivityDraft {
                title: self.title.clone(),
                description: self.description.clone(),
                place: self.place.clone(),
                period: Period {
                    starts_at: self.starts_at,
                    ends_at: self.ends_at,
                },
                quota: self.quota,
                skills: self.skills.clone(),
                category,
                elder_care: self.elder_care.unwrap_or(category == Category::ElderCare),
                occurrences: self.weekly_occurrences.unwrap_or(1),
            },
            division,
            organization_id: self.organization_id,
            team_id: self.team_id,
            station_id: self.station_id,
        })
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ActivitiesQuery {
    /// Held in this subtree.
    pub division: Option<String>,
    /// Starting on or after this day (Beijing time, YYYY-MM-DD).
    pub from: Option<String>,
    /// Starting on or before this day (Beijing time, YYYY-MM-DD).
    pub to: Option<String>,
    /// `published`, `cancelled` or `finished`.
    pub state: Option<String>,
    pub category: Option<String>,
    /// Staff: `true` to list every activity, not only those in your area.
    pub all: Option<bool>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// 00:00 Beijing time on a day given as text.
fn nonempty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

pub fn day_start(s: &str) -> Option<DateTime<Utc>> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc() - chrono::Duration::hours(8))
}

/// Build an activity filter from query text.
pub fn activity_filter(
    division: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    state: Option<&str>,
    category: Option<&str>,
) -> Result<ActivityFilter, AppError> {
    let day = |s: &str| {
        day_start(s).ok_or_else(|| AppError::bad_request("bad_date", "日期格式应为 YYYY-MM-DD"))
    };
    Ok(ActivityFilter {
        division: nonempty(division).map(division_code).transpose()?,
        from: nonempty(from).map(day).transpose()?,
        to: nonempty(to)
            .map(day)
            .transpose()?
            .map(|t| t + chrono::Duration::days(1)),
        state: nonempty(state)
            .map(|s| {
                ActivityState::parse(s).ok_or_else(|| {
                    AppError::bad_request(
                        "bad_state",
                        "state 应为 published、cancelled 或 finished",
                    )
                })
            })
            .transpose()?,
        category: nonempty(category)
            .map(|s| {
                Category::parse(s)
                    .ok_or_else(|| AppError::bad_request("bad_category", "活动类别有误"))
            })
            .transpose()?,
    })
}

/// Activities by start time. Organisers see those held in their area (with
/// check-in codes); everyone else sees recruitment across the city.
#[utoipa::path(get, path = "/api/v1/volunteer-activities", tag = "volunteers", params(ActivitiesQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page of activities", body = List<ActivityView>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody)))]
pub async fn activities(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<ActivitiesQuery>,
) -> ApiResult<Json<List<ActivityView>>> {
    let page = super::Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let f = activity_filter(
        q.division.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        q.state.as_deref(),
        q.category.as_deref(),
    )?;
    let manager = manager_scope(&user);
    let limit = if q.all == Some(true) {
        None
    } else {
        manager.as_ref()
    };
    let found = store::list_activities(&mut st.db.conn(), limit, &f, page).await?;
    Ok(Json(List {
        items: found
            .items
            .iter()
            .map(|a| activity_view(a, manager.as_ref().is_some_and(|s| a.managed_by(s))))
            .collect(),
        total: found.total,
    }))
}

/// Publish an activity in your area (optionally a weekly series of 1–26).
/// Returns the first occurrence.
#[utoipa::path(post, path = "/api/v1/volunteer-activities", tag = "volunteers", request_body = RawActivity, security(("bearer" = [])),
    responses((status = 201, description = "Published", body = ActivityView),
        (status = 403, description = "Role may not manage volunteers", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)))]
pub async fn publish(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RawActivity>,
) -> ApiResult<(StatusCode, Json<ActivityView>)> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let input = raw.parse(&scope)?;
    let seed = seed()?;
    let mut tx = st.db.begin().await?;
    let ids = store::publish(&mut tx.conn(), &scope, &input, seed, st.now()).await?;
    tx.commit().await?;
    let first = ids.first().copied().ok_or_else(AppError::not_found)?;
    let a = store::activity(&mut st.db.conn(), first)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok((StatusCode::CREATED, Json(activity_view(&a, true))))
}

/// A random seed for check-in codes.
pub fn seed() -> ApiResult<u64> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(u64::from_le_bytes(b))
}

/// One activity (the check-in code only for its organisers).
#[utoipa::path(get, path = "/api/v1/volunteer-activities/{id}", tag = "volunteers", params(("id" = i64, Path, description = "Activity id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The activity", body = ActivityView),
        (status = 404, description = "No such activity", body = ErrorBody)))]
pub async fn activity(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<ActivityView>> {
    let a = store::activity(&mut st.db.conn(), id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let organiser = manager_scope(&user).is_some_and(|s| a.managed_by(&s));
    Ok(Json(activity_view(&a, organiser)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why (≤ 200 characters).
    pub reason: String,
}

/// Cancel an activity in your area; its sign-ups are cancelled with it.
#[utoipa::path(post, path = "/api/v1/volunteer-activities/{id}/cancel", tag = "volunteers", params(("id" = i64, Path, description = "Activity id")),
    request_body = CancelRequest, security(("bearer" = [])),
    responses((status = 200, description = "Cancelled", body = ActivityView),
        (status = 400, description = "Already cancelled or over (activity_not_open)", body = ErrorBody),
        (status = 404, description = "No such activity in your area", body = ErrorBody),
        (status = 422, description = "Reason missing", body = ErrorBody)))]
pub async fn cancel_activity(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<CancelRequest>,
) -> ApiResult<Json<ActivityView>> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let mut tx = st.db.begin().await?;
    store::cancel_activity(&mut tx.conn(), &scope, id, &r.reason, st.now())
        .await
        .map_err(refusal)?;
    tx.commit().await?;
    let a = store::activity(&mut st.db.conn(), id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Json(activity_view(&a, true)))
}

/// Mark an activity of your area finished (after it ended).
#[utoipa::path(post, path = "/api/v1/volunteer-activities/{id}/finish", tag = "volunteers", params(("id" = i64, Path, description = "Activity id")),
    security(("bearer" = [])),
    responses((status = 200, description = "Finished", body = ActivityView),
        (status = 404, description = "No such activity in your area", body = ErrorBody),
        (status = 422, description = "Not over yet, or cancelled", body = ErrorBody)))]
pub async fn finish_activity(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<ActivityView>> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let mut tx = st.db.begin().await?;
    store::finish_activity(&mut tx.conn(), &scope, id, st.now()).await?;
    tx.commit().await?;
    let a = store::activity(&mut st.db.conn(), id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Json(activity_view(&a, true)))
}

// ---------------------------------------------------------------- sign-ups

#[derive(Debug, Serialize, ToSchema)]
pub struct SignupView {
    pub id: i64,
    pub volunteer_id: i64,
    pub volunteer_no: String,
    pub name: String,
    pub phone: Option<String>,
    /// `signed_up`, `checked_in`, `completed`, `no_show` or `cancelled`.
    pub state: String,
    pub state_label: String,
    pub signed_up_at: DateTime<Utc>,
    pub checkin_at: Option<DateTime<Utc>>,
    pub checkout_at: Option<DateTime<Utc>>,
    /// Confirmed minutes (null until confirmed).
    pub minutes: Option<i32>,
    /// What confirming without minutes would record.
    pub default_minutes: i64,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub note: String,
}

pub fn signup_view(s: &SignupLine, a: &ActivityRow) -> SignupView {
    SignupView {
        id: s.id,
        volunteer_id: s.volunteer_id,
        volunteer_no: s.volunteer_no.clone(),
        name: s.name.clone(),
        phone: s.phone_masked.clone(),
        state: s.state.clone(),
        state_label: s.state().label().into(),
        signed_up_at: s.signed_up_at,
        checkin_at: s.checkin_at,
        checkout_at: s.checkout_at,
        minutes: s.minutes,
        default_minutes: core::default_minutes(&a.period(), s.checkin_at, s.checkout_at),
        confirmed_at: s.confirmed_at,
        note: s.note.clone(),
    }
}

/// The sign-ups of an activity in your area.
#[utoipa::path(get, path = "/api/v1/volunteer-activities/{id}/signups", tag = "volunteers", params(("id" = i64, Path, description = "Activity id")),
    security(("bearer" = [])),
    responses((status = 200, description = "Sign-ups", body = List<SignupView>),
        (status = 403, description = "Role may not manage volunteers", body = ErrorBody),
        (status = 404, description = "No such activity in your area", body = ErrorBody)))]
pub async fn signups(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<List<SignupView>>> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let mut c = st.db.conn();
    let a = store::managed_activity(&mut c, &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let rows = store::signups(&mut c, &scope, id).await?;
    Ok(Json(List {
        total: i64::try_from(rows.len()).unwrap_or(i64::MAX),
        items: rows.iter().map(|s| signup_view(s, &a)).collect(),
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// Staff signing a volunteer of their area up; omit to sign yourself up.
    #[serde(default)]
    pub volunteer_id: Option<i64>,
}

/// Whose sign-up a request is about: the caller's own record, or (staff) one in their area.
async fn subject(st: &AppState, user: &User, volunteer_id: Option<i64>) -> ApiResult<VolunteerRow> {
    match volunteer_id {
        None => own_volunteer(st, user).await,
        Some(v) => {
            let scope = scope_for(user, Capability::ManageVolunteers)?;
            store::get(&mut st.db.conn(), &scope, v)
                .await?
                .ok_or_else(AppError::not_found)
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignupResult {
    pub signup_id: i64,
    pub activity: ActivityView,
}

/// Sign up for an activity: before it starts, within its quota, and not
/// overlapping another of the volunteer's sign-ups.
#[utoipa::path(post, path = "/api/v1/volunteer-activities/{id}/signups", tag = "volunteers", params(("id" = i64, Path, description = "Activity id")),
    request_body = SignupRequest, security(("bearer" = [])),
    responses((status = 201, description = "Signed up", body = SignupResult),
        (status = 400, description = "overlapping_signup, quota_full, already_signed_up, activity_started, activity_not_open, volunteer_inactive, not_a_volunteer", body = ErrorBody),
        (status = 404, description = "No such activity or volunteer", body = ErrorBody)))]
pub async fn sign_up(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<SignupRequest>,
) -> ApiResult<(StatusCode, Json<SignupResult>)> {
    let v = subject(&st, &user, r.volunteer_id).await?;
    let mut tx = st.db.begin().await?;
    let sid = store::sign_up(&mut tx.conn(), &user.actor(), id, &v, st.now())
        .await
        .map_err(refusal)?;
    tx.commit().await?;
    let a = store::activity(&mut st.db.conn(), id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let organiser = manager_scope(&user).is_some_and(|s| a.managed_by(&s));
    Ok((
        StatusCode::CREATED,
        Json(SignupResult {
            signup_id: sid,
            activity: activity_view(&a, organiser),
        }),
    ))
}

/// Withdraw a sign-up before the activity starts.
#[utoipa::path(post, path = "/api/v1/volunteer-activities/{id}/signups/cancel", tag = "volunteers", params(("id" = i64, Path, description = "Activity id")),
    request_body = SignupRequest, security(("bearer" = [])),
    responses((status = 204, description = "Withdrawn"),
        (status = 400, description = "activity_started, not_signed_up", body = ErrorBody),
        (status = 404, description = "No such activity or volunteer", body = ErrorBody)))]
pub async fn cancel_signup(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<SignupRequest>,
) -> ApiResult<StatusCode> {
    let v = subject(&st, &user, r.volunteer_id).await?;
    let mut tx = st.db.begin().await?;
    store::cancel_signup(&mut tx.conn(), &user.actor(), id, &v, st.now())
        .await
        .map_err(refusal)?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The 6-digit code shown at the venue.
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckView {
    pub signup_id: i64,
    pub state: String,
    pub checkin_at: Option<DateTime<Utc>>,
    pub checkout_at: Option<DateTime<Utc>>,
}

/// Check in with the venue code: from 30 minutes before the start until the end.
#[utoipa::path(post, path = "/api/v1/volunteer-activities/{id}/checkin", tag = "volunteers", params(("id" = i64, Path, description = "Activity id")),
    request_body = CodeRequest, security(("bearer" = [])),
    responses((status = 200, description = "Checked in", body = CheckView),
        (status = 400, description = "wrong_checkin_code, outside_activity_window, not_signed_up, already_checked_in, not_a_volunteer", body = ErrorBody),
        (status = 404, description = "No such activity", body = ErrorBody)))]
pub async fn checkin(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<CodeRequest>,
) -> ApiResult<Json<CheckView>> {
    let v = own_volunteer(&st, &user).await?;
    let mut tx = st.db.begin().await?;
    let s = store::check_in(&mut tx.conn(), &user.actor(), id, &v, &r.code, st.now())
        .await
        .map_err(refusal)?;
    tx.commit().await?;
    Ok(Json(CheckView {
        signup_id: s.id,
        state: s.state,
        checkin_at: s.checkin_at,
        checkout_at: s.checkout_at,
    }))
}

/// Check out with the venue code: from the start until 2 hours after the end.
#[utoipa::path(post, path = "/api/v1/volunteer-activities/{id}/checkout", tag = "volunteers", params(("id" = i64, Path, description = "Activity id")),
    request_body = CodeRequest, security(("bearer" = [])),
    responses((status = 200, description = "Checked out", body = CheckView),
        (status = 400, description = "wrong_checkin_code, outside_activity_window, not_checked_in, not_a_volunteer", body = ErrorBody),
        (status = 404, description = "No such activity", body = ErrorBody)))]
pub async fn checkout(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<CodeRequest>,
) -> ApiResult<Json<CheckView>> {
    let v = own_volunteer(&st, &user).await?;
    let mut tx = st.db.begin().await?;
    let s = store::check_out(&mut tx.conn(), &user.actor(), id, &v, &r.code, st.now())
        .await
        .map_err(refusal)?;
    tx.commit().await?;
    Ok(Json(CheckView {
        signup_id: s.id,
        state: s.state,
        checkin_at: s.checkin_at,
        checkout_at: s.checkout_at,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursLine {
    pub signup_id: i64,
    /// Minutes to confirm; omit for the default (check-in..check-out within the activity).
    #[serde(default)]
    pub minutes: Option<i64>,
    /// Mark the volunteer as not having come.
    #[serde(default)]
    pub no_show: bool,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursRequest {
    /// One line per sign-up; all are recorded or none.
    pub entries: Vec<HoursLine>,
}

/// Confirm service minutes (or mark no-shows) for sign-ups of an activity in
/// your area; never more than the activity's length.
#[utoipa::path(post, path = "/api/v1/volunteer-activities/{id}/hours", tag = "volunteers", params(("id" = i64, Path, description = "Activity id")),
    request_body = HoursRequest, security(("bearer" = [])),
    responses((status = 200, description = "The sign-ups after confirmation", body = List<SignupView>),
        (status = 400, description = "hours_exceed_activity, already_confirmed, bad_signup_state", body = ErrorBody),
        (status = 404, description = "No such activity or sign-up in your area", body = ErrorBody),
        (status = 422, description = "Not started yet, or a bad note", body = ErrorBody)))]
pub async fn hours(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<HoursRequest>,
) -> ApiResult<Json<List<SignupView>>> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let a = store::managed_activity(&mut st.db.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let mut tx = st.db.begin().await?;
    {
        let mut c = tx.conn();
        let lines = store::signups(&mut c, &scope, id).await?;
        for e in &r.entries {
            if !lines.iter().any(|l| l.id == e.signup_id) {
                return Err(AppError::not_found());
            }
            let entry = if e.no_show {
                HoursEntry::NoShow
            } else {
                HoursEntry::Minutes(e.minutes)
            };
            store::confirm(&mut c, &scope, e.signup_id, entry, &e.note, st.now())
                .await
                .map_err(refusal)?;
        }
    }
    tx.commit().await?;
    let rows = store::signups(&mut st.db.conn(), &scope, id).await?;
    Ok(Json(List {
        total: i64::try_from(rows.len()).unwrap_or(i64::MAX),
        items: rows.iter().map(|s| signup_view(s, &a)).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionRequest {
    pub minutes: i64,
    /// Why (required, ≤ 200 characters).
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CorrectionView {
    pub id: i64,
    pub old_minutes: Option<i32>,
    pub new_minutes: i32,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// Correct confirmed minutes of a sign-up in your area; the correction is logged.
#[utoipa::path(post, path = "/api/v1/volunteer-signups/{id}/correction", tag = "volunteers", params(("id" = i64, Path, description = "Sign-up id")),
    request_body = CorrectionRequest, security(("bearer" = [])),
    responses((status = 200, description = "Every correction of the sign-up", body = List<CorrectionView>),
        (status = 400, description = "reason_required, not_confirmed, hours_exceed_activity", body = ErrorBody),
        (status = 404, description = "No such sign-up in your area", body = ErrorBody)))]
pub async fn correct(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<CorrectionRequest>,
) -> ApiResult<Json<List<CorrectionView>>> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let mut tx = st.db.begin().await?;
    store::correct(&mut tx.conn(), &scope, id, r.minutes, &r.reason, st.now())
        .await
        .map_err(refusal)?;
    tx.commit().await?;
    let rows = store::corrections(&mut st.db.conn(), id).await?;
    Ok(Json(List {
        total: i64::try_from(rows.len()).unwrap_or(i64::MAX),
        items: rows
            .iter()
            .map(|c| CorrectionView {
                id: c.id,
                old_minutes: c.old_minutes,
                new_minutes: c.new_minutes,
                reason: c.reason.clone(),
                at: c.at,
            })
            .collect(),
    }))
}
