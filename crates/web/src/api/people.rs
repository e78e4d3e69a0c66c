//! Residents and households over JSON, scoped to the caller's subtree.
//! Protected fields are masked; revealing one is its own audited call.

use super::List;
use crate::auth::{ApiUser, scope_for};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, division_code};
use crate::person_input::RawPerson;
use crate::{AppError, AppState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use shequ_core::role::Capability;
use shequ_core::{FieldErrors, IdCardNo, Relation, Tag};
use shequ_db::people::{self, Filter, PersonRow, Protected};
use utoipa::{IntoParams, ToSchema};

/// A resident as the API shows it: ID number and phone masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonView {
    pub id: i64,
    pub name: String,
    pub gender: String,
    pub birth_date: NaiveDate,
    pub division: String,
    pub household_id: Option<i64>,
    pub relation: String,
    /// Masked, e.g. `430502********123X`.
    pub id_number: String,
    /// Masked, e.g. `138****5678`.
    pub phone: Option<String>,
    pub address: String,
    /// General (non-sensitive) tags.
    pub tags: Vec<String>,
    /// Whether sensitive tags (health, disability, welfare) are recorded; reveal to read them.
    pub has_protected_tags: bool,
}

impl From<&PersonRow> for PersonView {
    fn from(p: &PersonRow) -> Self {
        PersonView {
            id: p.id,
            name: p.name.clone(),
            gender: p.gender.clone(),
            birth_date: p.birth_date,
            division: p.division_code.clone(),
            household_id: p.household_id,
            relation: p.relation.clone(),
            id_number: p.id_number_masked.clone(),
            phone: p.phone_masked.clone(),
            address: p.address.clone(),
            tags: p
                .general_tags()
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            has_protected_tags: p.has_protected_tags(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PeopleQuery {
    /// Limit to this subtree.
    pub division: Option<String>,
    /// Exact ID number.
    pub id_number: Option<String>,
    /// Tag code or label.
    pub tag: Option<String>,
    /// Name contains.
    pub name: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// Build a store filter, checking every parameter. Filtering by a sensitive tag needs the reveal capability.
pub fn filter(st: &AppState, role_can_reveal: bool, q: &PeopleQuery) -> Result<Filter, AppError> {
    let division = q
        .division
        .as_deref()
        .filter(|d| !d.is_empty())
        .map(division_code)
        .transpose()?;
    let today = st.now().date_naive();
    let id_number = match q
        .id_number
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => Some(
            IdCardNo::parse(s, today)
                .map_err(|e| AppError::bad_request(e.code(), e.to_string()))?,
        ),
        None => None,
    };
    let tag = match q.tag.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => Some(
            Tag::parse(t).ok_or_else(|| AppError::bad_request("unknown_tag", "未知的人群标签"))?,
        ),
        None => None,
    };
    if tag.is_some_and(Tag::sensitive) && !role_can_reveal {
        return Err(AppError::Forbidden);
    }
    let name = q.name.as_deref().map(|n| n.chars().take(30).collect());
    Ok(Filter {
        division,
        name,
        tag,
        id_number,
        household_id: None,
    })
}

/// Residents in the caller's subtree.
#[utoipa::path(get, path = "/api/v1/people", tag = "people", params(PeopleQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of residents (masked)", body = List<PersonView>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not list residents", body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<PeopleQuery>,
) -> ApiResult<Json<List<PersonView>>> {
    let scope = scope_for(&user, Capability::ReadPeople)?;
    let page = super::Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let f = filter(&st, scope.role.can(Capability::RevealProtected), &q)?;
    let found = people::list(&mut st.db.conn(), &scope, &st.key, &f, page).await?;
    Ok(Json(List {
        items: found.items.iter().map(PersonView::from).collect(),
        total: found.total,
    }))
}

/// One resident in the caller's subtree (404 outside it).
#[utoipa::path(get, path = "/api/v1/people/{id}", tag = "people", params(("id" = i64, Path, description = "Resident id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The resident (masked)", body = PersonView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such resident in your area", body = ErrorBody)))]
pub async fn get_one(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<PersonView>> {
    let scope = scope_for(&user, Capability::ReadPeople)?;
    let p = people::get(&mut st.db.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Json(PersonView::from(&p)))
}

/// Register a resident.
#[utoipa::path(post, path = "/api/v1/people", tag = "people", request_body = RawPerson, security(("bearer" = [])),
    responses((status = 201, description = "Registered", body = PersonView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not register residents", body = ErrorBody),
        (status = 422, description = "Invalid fields (check digit, duplicate ID number, division outside your area…)", body = ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RawPerson>,
) -> ApiResult<(StatusCode, Json<PersonView>)> {
    let scope = scope_for(&user, Capability::WritePeople)?;
    let input = raw.parse(st.now().date_naive())?;
    let mut tx = st.db.begin().await?;
    let id = people::create(&mut tx.conn(), &scope, &st.key, &input, st.now()).await?;
    tx.commit().await?;
    let p = people::get(&mut st.db.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok((StatusCode::CREATED, Json(PersonView::from(&p))))
}

/// Replace a resident's fields.
#[utoipa::path(put, path = "/api/v1/people/{id}", tag = "people", params(("id" = i64, Path, description = "Resident id")),
    request_body = RawPerson, security(("bearer" = [])),
    responses((status = 200, description = "Updated", body = PersonView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not edit residents", body = ErrorBody),
        (status = 404, description = "No such resident in your area", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)))]
pub async fn update(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(raw): ApiJson<RawPerson>,
) -> ApiResult<Json<PersonView>> {
    let scope = scope_for(&user, Capability::WritePeople)?;
    let input = raw.parse(st.now().date_naive())?;
    let mut tx = st.db.begin().await?;
    people::update(&mut tx.conn(), &scope, &st.key, id, &input, st.now()).await?;
    tx.commit().await?;
    let p = people::get(&mut st.db.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Json(PersonView::from(&p)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    /// `id_number`, `phone` or `tags`.
    pub field: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Revealed {
    pub field: String,
    pub value: String,
}

/// Read one protected value in clear. Allowed to some roles only; always audited.
#[utoipa::path(post, path = "/api/v1/people/{id}/reveal", tag = "people", params(("id" = i64, Path, description = "Resident id")),
    request_body = RevealRequest, security(("bearer" = [])),
    responses((status = 200, description = "The clear value", body = Revealed),
        (status = 400, description = "Unknown field", body = ErrorBody),
        (status = 403, description = "Role may not reveal protected data", body = ErrorBody),
        (status = 404, description = "No such resident in your area", body = ErrorBody)))]
pub async fn reveal(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<RevealRequest>,
) -> ApiResult<Json<Revealed>> {
    let scope = scope_for(&user, Capability::RevealProtected)?;
    let field = Protected::parse(&r.field).ok_or_else(|| {
        AppError::bad_request("unknown_field", "可查看的字段为 id_number、phone 或 tags")
    })?;
    let mut tx = st.db.begin().await?;
    let value = people::reveal(&mut tx.conn(), &scope, &st.key, id, field, st.now()).await?;
    tx.commit().await?;
    Ok(Json(Revealed {
        field: field.as_str().into(),
        value,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// The new household, or null for none.
    pub household_id: Option<i64>,
    #[serde(default)]
    pub relation: Option<String>,
}

/// Move a resident to another household.
#[utoipa::path(post, path = "/api/v1/people/{id}/household", tag = "people", params(("id" = i64, Path, description = "Resident id")),
    request_body = MoveRequest, security(("bearer" = [])),
    responses((status = 200, description = "Moved", body = PersonView),
        (status = 404, description = "No such resident in your area", body = ErrorBody),
        (status = 422, description = "Household elsewhere or unknown", body = ErrorBody)))]
pub async fn move_household(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(m): ApiJson<MoveRequest>,
) -> ApiResult<Json<PersonView>> {
    let scope = scope_for(&user, Capability::WritePeople)?;
    let relation = match m.relation.as_deref() {
        Some(r) => Relation::parse(r).ok_or_else(|| {
            let mut e = FieldErrors::new();
            e.add("relation", "bad_relation", "与户主关系有误");
            AppError::Validation(e)
        })?,
        None => Relation::Other,
    };
    let mut tx = st.db.begin().await?;
    people::move_household(
        &mut tx.conn(),
        &scope,
        id,
        m.household_id,
        relation,
        st.now(),
    )
    .await?;
    tx.commit().await?;
    let p = people::get(&mut st.db.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Json(PersonView::from(&p)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHousehold {
    /// Village/community code (12 digits).
    pub division: String,
    #[serde(default)]
    pub address: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdView {
    pub id: i64,
    pub division: String,
    pub address: String,
}

/// Open a household (户) in a village/community.
#[utoipa::path(post, path = "/api/v1/households", tag = "people", request_body = NewHousehold, security(("bearer" = [])),
    responses((status = 201, description = "Created", body = HouseholdView),
        (status = 422, description = "Invalid fields", body = ErrorBody)))]
pub async fn create_household(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(h): ApiJson<NewHousehold>,
) -> ApiResult<(StatusCode, Json<HouseholdView>)> {
    let scope = scope_for(&user, Capability::WritePeople)?;
    let village = division_code(&h.division)?;
    let mut tx = st.db.begin().await?;
    let id =
        people::create_household(&mut tx.conn(), &scope, &village, &h.address, st.now()).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(HouseholdView {
            id,
            division: village.to_string(),
            address: h.address.trim().into(),
        }),
    ))
}
