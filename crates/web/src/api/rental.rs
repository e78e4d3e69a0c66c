//! 康复辅具社区租赁 over JSON: rental points at community facilities, their
//! inventory, loans, returns and extensions, overdue lists and the per-division
//! summary. Everything needs `manage_rentals` and stays in the caller's subtree,
//! except the summary, which any staff who may read indicators can see.
//!
//! Refusals by the rental rules keep their own stable codes (`item_unavailable`,
//! `already_returned`, `bad_due_date`, `return_in_future`, …) in the usual
//! `{"error":{"code","message","fields"}}` envelope; nothing is stored then.

use super::List;
use crate::auth::{ApiUser, scope_for};
use crate::error::{ErrorBody, ErrorDetail};
use crate::extract::{ApiJson, ApiQuery, division_code};
use crate::{AppError, AppState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shequ_core::rental::{self as core, Condition, ItemAction, local_date};
use shequ_core::role::Capability;
use shequ_core::{FieldErrors, Phone};
use shequ_db::DbError;
use shequ_db::rental::{
    self, Borrower, Counts, DivisionSummary, ItemInput, ItemRow, LoanFilter, LoanInput, LoanRow,
    PointInput, PointRow, ReturnInput, SummaryRow,
};
use shequ_db::scope::Scope;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(catalogue))
        .routes(routes!(list_points, create_point))
        .routes(routes!(get_point, update_point))
        .routes(routes!(add_item))
        .routes(routes!(item_action))
        .routes(routes!(list_loans, lend))
        .routes(routes!(get_loan))
        .routes(routes!(return_loan))
        .routes(routes!(extend))
        .routes(routes!(overdue))
        .routes(routes!(summary))
        .routes(routes!(export_loans))
}

/// An error of these routes.
#[derive(Debug)]
pub enum RentalError {
    /// Any of the common errors.
    App(AppError),
    /// A refusal by the rental rules, with its own code.
    Refused {
        status: StatusCode,
        code: &'static str,
        field: String,
        message: String,
    },
}

/// The status a refusal code answers with; `None` for plain validation errors.
pub fn refusal_status(code: &str) -> Option<StatusCode> {
    match code {
        "item_unavailable"
        | "item_on_loan"
        | "already_returned"
        | "illegal_transition"
        | "duplicate_asset_tag"
        | "point_has_loans" => Some(StatusCode::CONFLICT),
        "bad_due_date"
        | "return_in_future"
        | "bad_return_date"
        | "start_in_future"
        | "kept_exceeds_deposit"
        | "reason_required"
        | "unknown_item"
        | "unknown_person"
        | "unknown_facility"
        | "facility_not_in_community"
        | "unknown_kind"
        | "unknown_action" => Some(StatusCode::UNPROCESSABLE_ENTITY),
        _ => None,
    }
}

impl From<AppError> for RentalError {
    fn from(e: AppError) -> Self {
        RentalError::App(e)
    }
}

impl From<FieldErrors> for RentalError {
    fn from(e: FieldErrors) -> Self {
        RentalError::App(AppError::Validation(e))
    }
}

impl From<DbError> for RentalError {
    fn from(e: DbError) -> Self {
        if let DbError::Invalid(fe) = &e
            && let [one] = fe.0.as_slice()
            && let Some(status) = refusal_status(one.code)
        {
            return RentalError::Refused {
                status,
                code: one.code,
                field: one.field.clone(),
                message: one.message.clone(),
            };
        }
        RentalError::App(e.into())
    }
}

impl RentalError {
    /// The Chinese message (for pages that show it).
    pub fn message(&self) -> String {
        match self {
            RentalError::App(e) => e.body().error.message,
            RentalError::Refused { message, .. } => message.clone(),
        }
    }
}

impl IntoResponse for RentalError {
    fn into_response(self) -> Response {
        match self {
            RentalError::App(e) => e.into_response(),
            RentalError::Refused {
                status,
                code,
                field,
                message,
            } => {
                let body = ErrorBody {
                    error: ErrorDetail {
                        code: code.to_owned(),
                        message: message.clone(),
                        fields: BTreeMap::from([(field, message)]),
                    },
                };
                (status, Json(body)).into_response()
            }
        }
    }
}

type Res<T> = Result<T, RentalError>;

// ---------------------------------------------------------------- views

/// One kind of aid in the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct AidKindView {
    pub code: String,
    pub label: String,
    pub daily_fee_fen: i64,
    pub deposit_fen: i64,
}

/// Items by state, and overdue loans.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountsView {
    /// Items not scrapped.
    pub items: i64,
    pub in_stock: i64,
    pub on_loan: i64,
    pub repair: i64,
    pub scrapped: i64,
    pub overdue: i64,
}

impl From<Counts> for CountsView {
    fn from(c: Counts) -> Self {
        CountsView {
            items: c.items,
            in_stock: c.in_stock,
            on_loan: c.on_loan,
            repair: c.repair,
            scrapped: c.scrapped,
            overdue: c.overdue,
        }
    }
}

/// A rental point.
#[derive(Debug, Serialize, ToSchema)]
pub struct PointView {
    pub id: i64,
    pub facility_id: i64,
    pub facility_name: String,
    /// The community (12 digits).
    pub division: String,
    pub name: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub opening_note: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub counts: CountsView,
}

fn point_view(p: &PointRow, counts: Counts) -> PointView {
    PointView {
        id: p.id,
        facility_id: p.facility_id,
        facility_name: p.facility_name.clone(),
        division: p.division_code.clone(),
        name: p.name.clone(),
        contact_name: p.contact_name.clone(),
        contact_phone: p.contact_phone.clone(),
        opening_note: p.opening_note.clone(),
        active: p.active,
        created_at: p.created_at,
        counts: counts.into(),
    }
}

/// An aid on a point's inventory.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemView {
    pub id: i64,
    pub point_id: i64,
    pub kind: String,
    pub kind_label: String,
    pub asset_tag: String,
    /// `good` 良好, `needs_repair` 需维修, `scrapped` 报废.
    pub condition: String,
    pub condition_label: String,
    /// `in_stock` 在库, `on_loan` 借出, `repair` 维修, `scrapped` 报废.
    pub state: String,
    pub state_label: String,
    pub daily_fee_fen: i64,
    pub deposit_fen: i64,
    pub note: String,
}

pub fn item_view(i: &ItemRow) -> ItemView {
    ItemView {
        id: i.id,
        point_id: i.point_id,
        kind: i.kind.clone(),
        kind_label: i.kind_label().to_owned(),
        asset_tag: i.asset_tag.clone(),
        condition: i.condition.clone(),
        condition_label: i.condition().label().into(),
        state: i.state.clone(),
        state_label: i.state().label().into(),
        daily_fee_fen: i.daily_fee_fen,
        deposit_fen: i.deposit_fen,
        note: i.note.clone(),
    }
}

/// A loan (borrower phone masked).
#[derive(Debug, Serialize, ToSchema)]
pub struct LoanView {
    pub id: i64,
    pub item_id: i64,
    pub kind: String,
    pub kind_label: String,
    pub asset_tag: String,
    pub point_id: i64,
    pub point_name: String,
    pub division: String,
    /// The resident, when the borrower is on the register.
    pub person_id: Option<i64>,
    pub borrower_name: String,
    pub borrower_phone_masked: Option<String>,
    pub start_date: NaiveDate,
    pub due_date: NaiveDate,
    /// `standard` (daily fee) or `waived` (低保/特困).
    pub fee_rule: String,
    pub fee_rule_label: String,
    pub daily_fee_fen: i64,
    pub deposit_fen: i64,
    pub extensions: i32,
    pub returned: bool,
    pub overdue: bool,
    pub days_overdue: i64,
    /// Rent so far (open loans) or charged (returned).
    pub fee_fen: i64,
    pub returned_on: Option<NaiveDate>,
    pub return_condition: Option<String>,
    pub deposit_kept_fen: Option<i64>,
    pub deposit_refund_fen: Option<i64>,
    /// Rent still to pay beyond the deposit.
    pub amount_due_fen: Option<i64>,
    pub keep_reason: String,
    pub created_at: DateTime<Utc>,
}

pub fn loan_view(l: &LoanRow, today: NaiveDate) -> LoanView {
    LoanView {
        id: l.id,
        item_id: l.item_id,
        kind: l.kind.clone(),
        kind_label: l.kind_label().to_owned(),
        asset_tag: l.asset_tag.clone(),
        point_id: l.point_id,
        point_name: l.point_name.clone(),
        division: l.division_code.clone(),
        person_id: l.person_id,
        borrower_name: l.borrower_name.clone(),
        borrower_phone_masked: l.borrower_phone_masked.clone(),
        start_date: l.start_date,
        due_date: l.due_date,
        fee_rule: l.fee_rule.clone(),
        fee_rule_label: l.fee_rule().label().into(),
        daily_fee_fen: l.daily_fee_fen,
        deposit_fen: l.deposit_fen,
        extensions: l.extensions,
        returned: l.returned_on.is_some(),
        overdue: l.is_overdue(today),
        days_overdue: l.days_overdue(today),
        fee_fen: l.fee_so_far(today),
        returned_on: l.returned_on,
        return_condition: l.return_condition.clone(),
        deposit_kept_fen: l.deposit_kept_fen,
        deposit_refund_fen: l.deposit_refund_fen,
        amount_due_fen: l.amount_due_fen,
        keep_reason: l.keep_reason.clone(),
        created_at: l.created_at,
    }
}

/// A point with its inventory and open loans.
#[derive(Debug, Serialize, ToSchema)]
pub struct PointDetailView {
    pub point: PointView,
    pub items: Vec<ItemView>,
    /// Loans not returned, by due date (overdue ones first).
    pub open_loans: Vec<LoanView>,
}

// ---------------------------------------------------------------- inputs

/// A point as submitted.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPoint {
    /// A facility in a village/community in your area.
    pub facility_id: i64,
    /// ≤ 60 characters.
    pub name: String,
    #[serde(default)]
    pub contact_name: String,
    /// A service number (mobile or landline).
    #[serde(default)]
    pub contact_phone: String,
    /// ≤ 200 characters, e.g. 工作日 8:30–17:30.
    #[serde(default)]
    pub opening_note: String,
    /// Defaults to true.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl RawPoint {
    pub fn input(&self) -> PointInput {
        PointInput {
            facility_id: self.facility_id,
            name: self.name.clone(),
            contact_name: self.contact_name.clone(),
            contact_phone: self.contact_phone.clone(),
            opening_note: self.opening_note.clone(),
            active: self.active,
        }
    }
}

/// An aid as submitted.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawItem {
    /// Catalogue code (`wheelchair`) or label (`轮椅`).
    pub kind: String,
    /// Unique within the point: letters, digits, `-`, `_`, `/`.
    pub asset_tag: String,
    /// `good` (default), `needs_repair` or `scrapped`.
    #[serde(default)]
    pub condition: Option<String>,
    /// Defaults to the catalogue's.
    #[serde(default)]
    pub daily_fee_fen: Option<i64>,
    /// Defaults to the catalogue's.
    #[serde(default)]
    pub deposit_fen: Option<i64>,
    #[serde(default)]
    pub note: String,
}

pub fn parse_condition(s: Option<&str>) -> Result<Condition, FieldErrors> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Condition::Good),
        Some(s) => Condition::parse(s).ok_or_else(|| {
            let mut e = FieldErrors::new();
            e.add(
                "condition",
                "bad_condition",
                "状况应为 good（良好）、needs_repair（需维修）或 scrapped（报废）",
            );
            e
        }),
    }
}

impl RawItem {
    pub fn input(&self) -> Result<ItemInput, FieldErrors> {
        Ok(ItemInput {
            kind: self.kind.clone(),
            asset_tag: self.asset_tag.clone(),
            condition: parse_condition(self.condition.as_deref())?,
            daily_fee_fen: self.daily_fee_fen,
            deposit_fen: self.deposit_fen,
            note: self.note.clone(),
        })
    }
}

/// A staff action on an item.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawItemAction {
    /// `repair` (送修), `repaired` (修复入库) or `scrap` (报废).
    pub action: String,
    #[serde(default)]
    pub note: String,
}

/// A loan as submitted: `person_id`, or `borrower_name` with `borrower_phone`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLoan {
    pub item_id: i64,
    /// A resident in your area (rent waived for 低保/特困).
    #[serde(default)]
    pub person_id: Option<i64>,
    #[serde(default)]
    pub borrower_name: Option<String>,
    #[serde(default)]
    pub borrower_phone: Option<String>,
    /// Defaults to today.
    #[serde(default)]
    pub start_date: Option<NaiveDate>,
    pub due_date: NaiveDate,
    /// Deposit received; defaults to the item's.
    #[serde(default)]
    pub deposit_fen: Option<i64>,
}

/// Read a borrower from a resident id or a name and phone.
pub fn borrower(
    person_id: Option<i64>,
    name: Option<&str>,
    phone: Option<&str>,
) -> Result<Borrower, FieldErrors> {
    let mut errs = FieldErrors::new();
    let name = name.map(str::trim).filter(|s| !s.is_empty());
    let phone = phone.map(str::trim).filter(|s| !s.is_empty());
    match (person_id, name, phone) {
        (Some(id), None, None) => return Ok(Borrower::Resident(id)),
        (Some(_), _, _) => errs.add(
            "person_id",
            "borrower_ambiguous",
            "请选择居民，或填写借用人姓名和电话，二者只能选一",
        ),
        (None, Some(n), Some(p)) => match Phone::parse(p) {
            Ok(phone) => {
                return Ok(Borrower::Named {
                    name: n.to_owned(),
                    phone,
                });
            }
            Err(e) => errs.add("borrower_phone", e.code(), "借用人电话格式有误"),
        },
        (None, n, p) => {
            if n.is_none() {
                errs.add(
                    "borrower_name",
                    "required",
                    "请填写借用人姓名（或选择居民）",
                );
            }
            if p.is_none() {
                errs.add("borrower_phone", "required", "请填写借用人电话");
            }
        }
    }
    Err(errs)
}

impl RawLoan {
    pub fn input(&self, today: NaiveDate) -> Result<LoanInput, FieldErrors> {
        Ok(LoanInput {
            item_id: self.item_id,
            borrower: borrower(
                self.person_id,
                self.borrower_name.as_deref(),
                self.borrower_phone.as_deref(),
            )?,
            start_date: self.start_date.unwrap_or(today),
            due_date: self.due_date,
            deposit_fen: self.deposit_fen,
        })
    }
}

/// A return as submitted.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReturn {
    /// Defaults to today; not in the future.
    #[serde(default)]
    pub returned_on: Option<NaiveDate>,
    /// `good` (default), `needs_repair` or `scrapped`.
    #[serde(default)]
    pub condition: Option<String>,
    /// Deposit kept for damage or loss (default 0; a reason is then required).
    #[serde(default)]
    pub deposit_kept_fen: i64,
    #[serde(default)]
    pub keep_reason: String,
}

impl RawReturn {
    pub fn input(&self, today: NaiveDate) -> Result<ReturnInput, FieldErrors> {
        Ok(ReturnInput {
            returned_on: self.returned_on.unwrap_or(today),
            condition: parse_condition(self.condition.as_deref())?,
            deposit_kept_fen: self.deposit_kept_fen,
            keep_reason: self.keep_reason.clone(),
        })
    }
}

/// An extension as submitted.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExtend {
    /// Later than the current due date.
    pub due_date: NaiveDate,
}

// ---------------------------------------------------------------- handlers

fn manage(user: &shequ_db::users::User) -> Result<Scope, AppError> {
    scope_for(user, Capability::ManageRentals)
}

/// The built-in catalogue of aids with default fees and deposits (fen).
#[utoipa::path(get, path = "/api/v1/rental/catalogue", tag = "rental", security(("bearer" = [])),
    responses((status = 200, description = "The catalogue", body = Vec<AidKindView>),
        (status = 401, description = "Not signed in", body = ErrorBody)))]
pub async fn catalogue(ApiUser(_user): ApiUser) -> Json<Vec<AidKindView>> {
    Json(
        core::CATALOGUE
            .iter()
            .map(|k| AidKindView {
                code: k.code.into(),
                label: k.label.into(),
                daily_fee_fen: k.daily_fee_fen,
                deposit_fen: k.deposit_fen,
            })
            .collect(),
    )
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct PointsQuery {
    /// Only points under this division (in your area).
    pub division: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

fn opt_division(s: Option<&str>) -> Result<Option<shequ_core::DivisionCode>, AppError> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(division_code)
        .transpose()
}

/// Rental points in your area, with item counts and overdue loans.
#[utoipa::path(get, path = "/api/v1/rental/points", tag = "rental", params(PointsQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page of points", body = List<PointView>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep rentals", body = ErrorBody)))]
pub async fn list_points(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<PointsQuery>,
) -> Res<Json<List<PointView>>> {
    let scope = manage(&user)?;
    let page = super::Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let division = opt_division(q.division.as_deref())?;
    let today = local_date(st.now());
    let found =
        rental::list_points(&mut st.db.conn(), &scope, division.as_ref(), today, page).await?;
    Ok(Json(List {
        items: found
            .items
            .iter()
            .map(|p| point_view(&p.row, p.counts))
            .collect(),
        total: found.total,
    }))
}

/// A point with inventory and open loans, as the API and the pages read it.
pub async fn point_detail(st: &AppState, scope: &Scope, id: i64) -> Res<PointDetailView> {
    let mut c = st.db.conn();
    let today = local_date(st.now());
    let p = rental::get_point(&mut c, scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let counts = rental::point_counts(&mut c, &[id], today)
        .await?
        .remove(&id)
        .unwrap_or_default();
    let items = rental::items(&mut c, scope, id).await?;
    let f = LoanFilter {
        point_id: Some(id),
        open: true,
        ..LoanFilter::default()
    };
    let loans = rental::loans(&mut c, scope, &f, shequ_db::PageReq::all()).await?;
    Ok(PointDetailView {
        point: point_view(&p, counts),
        items: items.iter().map(item_view).collect(),
        open_loans: loans.items.iter().map(|l| loan_view(l, today)).collect(),
    })
}

/// Open a rental point at a facility in a village/community in your area.
#[utoipa::path(post, path = "/api/v1/rental/points", tag = "rental", request_body = RawPoint, security(("bearer" = [])),
    responses((status = 201, description = "Opened", body = PointDetailView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep rentals", body = ErrorBody),
        (status = 422, description = "Invalid fields, unknown facility or not in a community", body = ErrorBody)))]
pub async fn create_point(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RawPoint>,
) -> Res<(StatusCode, Json<PointDetailView>)> {
    let scope = manage(&user)?;
    let mut tx = st.db.begin().await.map_err(AppError::from)?;
    let id = rental::create_point(&mut tx.conn(), &scope, &raw.input(), st.now()).await?;
    tx.commit().await.map_err(AppError::from)?;
    Ok((
        StatusCode::CREATED,
        Json(point_detail(&st, &scope, id).await?),
    ))
}

/// One point in your area, with its inventory and open loans.
#[utoipa::path(get, path = "/api/v1/rental/points/{id}", tag = "rental", params(("id" = i64, Path, description = "Point id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The point", body = PointDetailView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep rentals", body = ErrorBody),
        (status = 404, description = "No such point in your area", body = ErrorBody)))]
pub async fn get_point(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> Res<Json<PointDetailView>> {
    let scope = manage(&user)?;
    Ok(Json(point_detail(&st, &scope, id).await?))
}

/// Change a point's fields.
#[utoipa::path(put, path = "/api/v1/rental/points/{id}", tag = "rental", params(("id" = i64, Path, description = "Point id")),
    request_body = RawPoint, security(("bearer" = [])),
    responses((status = 200, description = "Changed", body = PointDetailView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep rentals", body = ErrorBody),
        (status = 404, description = "No such point in your area", body = ErrorBody),
        (status = 409, description = "Moving a point with open loans", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)))]
pub async fn update_point(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(raw): ApiJson<RawPoint>,
) -> Res<Json<PointDetailView>> {
    let scope = manage(&user)?;
    let mut tx = st.db.begin().await.map_err(AppError::from)?;
    rental::update_point(&mut tx.conn(), &scope, id, &raw.input(), st.now()).await?;
    tx.commit().await.map_err(AppError::from)?;
    Ok(Json(point_detail(&st, &scope, id).await?))
}

/// Put an aid on a point's inventory.
#[utoipa::path(post, path = "/api/v1/rental/points/{id}/items", tag = "rental", params(("id" = i64, Path, description = "Point id")),
    request_body = RawItem, security(("bearer" = [])),
    responses((status = 201, description = "Added", body = ItemView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep rentals", body = ErrorBody),
        (status = 404, description = "No such point in your area", body = ErrorBody),
        (status = 409, description = "Asset tag already used at this point", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)))]
pub async fn add_item(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(raw): ApiJson<RawItem>,
) -> Res<(StatusCode, Json<ItemView>)> {
    let scope = manage(&user)?;
    let input = raw.input()?;
    let mut tx = st.db.begin().await.map_err(AppError::from)?;
    let item_id = rental::add_item(&mut tx.conn(), &scope, id, &input, st.now()).await?;
    tx.commit().await.map_err(AppError::from)?;
    let item = rental::get_item(&mut st.db.conn(), &scope, item_id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok((StatusCode::CREATED, Json(item_view(&item))))
}

/// Send an item to repair, mark it repaired, or scrap it (never while on loan).
#[utoipa::path(post, path = "/api/v1/rental/items/{id}/actions", tag = "rental", params(("id" = i64, Path, description = "Item id")),
    request_body = RawItemAction, security(("bearer" = [])),
    responses((status = 200, description = "Done", body = ItemView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep rentals", body = ErrorBody),
        (status = 404, description = "No such item in your area", body = ErrorBody),
        (status = 409, description = "Not allowed in the item's state (`item_on_loan`, `illegal_transition`)", body = ErrorBody),
        (status = 422, description = "Unknown action", body = ErrorBody)))]
pub async fn item_action(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(raw): ApiJson<RawItemAction>,
) -> Res<Json<ItemView>> {
    let scope = manage(&user)?;
    let action = ItemAction::parse_staff(&raw.action).ok_or_else(|| RentalError::Refused {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "unknown_action",
        field: "action".into(),
        message: "操作应为 repair（送修）、repaired（修复入库）或 scrap（报废）".into(),
    })?;
    let mut tx = st.db.begin().await.map_err(AppError::from)?;
    rental::item_action(&mut tx.conn(), &scope, id, action, &raw.note, st.now()).await?;
    tx.commit().await.map_err(AppError::from)?;
    let item = rental::get_item(&mut st.db.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Json(item_view(&item)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct LoansQuery {
    /// Only loans under this division (in your area).
    pub division: Option<String>,
    pub point_id: Option<i64>,
    pub item_id: Option<i64>,
    /// Loans of this resident (who has what).
    pub person_id: Option<i64>,
    /// Loans of the named borrower with this phone number.
    pub phone: Option<String>,
    /// `open` (not returned), `overdue`, or `all` (default).
    pub status: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// A loan filter from query fields.
pub fn loan_filter(
    st: &AppState,
    division: Option<&str>,
    point_id: Option<i64>,
    person_id: Option<i64>,
    phone: Option<&str>,
    status: Option<&str>,
) -> Result<LoanFilter, AppError> {
    let today = local_date(st.now());
    let mut f = LoanFilter {
        division: opt_division(division)?,
        point_id,
        person_id,
        ..LoanFilter::default()
    };
    if let Some(p) = phone.map(str::trim).filter(|s| !s.is_empty()) {
        let phone =
            Phone::parse(p).map_err(|_| AppError::bad_request("bad_phone", "电话号码格式有误"))?;
        f.phone_index = Some(rental::phone_index(&st.key, &phone));
    }
    match status.map(str::trim).unwrap_or("") {
        "" | "all" => {}
        "open" => f.open = true,
        "overdue" => f.overdue_on = Some(today),
        _ => {
            return Err(AppError::bad_request(
                "bad_status",
                "status 应为 open、overdue 或 all",
            ));
        }
    }
    Ok(f)
}

/// Loans in your area: per point, per resident or phone (who has what), open or overdue.
#[utoipa::path(get, path = "/api/v1/rental/loans", tag = "rental", params(LoansQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page of loans", body = List<LoanView>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep rentals", body = ErrorBody)))]
pub async fn list_loans(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<LoansQuery>,
) -> Res<Json<List<LoanView>>> {
    let scope = manage(&user)?;
    let page = super::Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let mut f = loan_filter(
        &st,
        q.division.as_deref(),
        q.point_id,
        q.person_id,
        q.phone.as_deref(),
        q.status.as_deref(),
    )?;
    f.item_id = q.item_id;
    let found = rental::loans(&mut st.db.conn(), &scope, &f, page).await?;
    let today = local_date(st.now());
    Ok(Json(List {
        items: found.items.iter().map(|l| loan_view(l, today)).collect(),
        total: found.total,
    }))
}

async fn fetch_loan(st: &AppState, scope: &Scope, id: i64) -> Res<LoanView> {
    let l = rental::get_loan(&mut st.db.conn(), scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(loan_view(&l, local_date(st.now())))
}

/// Lend an item in stock to a resident in your area or to a named borrower with a phone.
#[utoipa::path(post, path = "/api/v1/rental/loans", tag = "rental", request_body = RawLoan, security(("bearer" = [])),
    responses((status = 201, description = "Lent", body = LoanView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep rentals", body = ErrorBody),
        (status = 409, description = "Item not in stock (`item_unavailable`)", body = ErrorBody),
        (status = 422, description = "Bad dates (`bad_due_date`, `start_in_future`), unknown item or resident, invalid borrower", body = ErrorBody)))]
pub async fn lend(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RawLoan>,
) -> Res<(StatusCode, Json<LoanView>)> {
    let scope = manage(&user)?;
    let input = raw.input(local_date(st.now()))?;
    let mut tx = st.db.begin().await.map_err(AppError::from)?;
    let id = rental::lend(&mut tx.conn(), &st.key, &scope, &input, st.now()).await?;
    tx.commit().await.map_err(AppError::from)?;
    Ok((
        StatusCode::CREATED,
        Json(fetch_loan(&st, &scope, id).await?),
    ))
}

/// One loan in your area.
#[utoipa::path(get, path = "/api/v1/rental/loans/{id}", tag = "rental", params(("id" = i64, Path, description = "Loan id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The loan", body = LoanView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep rentals", body = ErrorBody),
        (status = 404, description = "No such loan in your area", body = ErrorBody)))]
pub async fn get_loan(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> Res<Json<LoanView>> {
    let scope = manage(&user)?;
    Ok(Json(fetch_loan(&st, &scope, id).await?))
}

/// Take an item back: rent computed, deposit settled, item back in stock (or to
/// repair, or scrapped, by its condition).
#[utoipa::path(post, path = "/api/v1/rental/loans/{id}/return", tag = "rental", params(("id" = i64, Path, description = "Loan id")),
    request_body = RawReturn, security(("bearer" = [])),
    responses((status = 200, description = "Returned", body = LoanView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep rentals", body = ErrorBody),
        (status = 404, description = "No such loan in your area", body = ErrorBody),
        (status = 409, description = "Already returned (`already_returned`)", body = ErrorBody),
        (status = 422, description = "Return date in the future or before the start, deposit kept beyond the deposit or without reason", body = ErrorBody)))]
pub async fn return_loan(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(raw): ApiJson<RawReturn>,
) -> Res<Json<LoanView>> {
    let scope = manage(&user)?;
    let input = raw.input(local_date(st.now()))?;
    let mut tx = st.db.begin().await.map_err(AppError::from)?;
    rental::return_loan(&mut tx.conn(), &scope, id, &input, st.now()).await?;
    tx.commit().await.map_err(AppError::from)?;
    Ok(Json(fetch_loan(&st, &scope, id).await?))
}

/// Move an open loan's due date later (续借).
#[utoipa::path(post, path = "/api/v1/rental/loans/{id}/extend", tag = "rental", params(("id" = i64, Path, description = "Loan id")),
    request_body = RawExtend, security(("bearer" = [])),
    responses((status = 200, description = "Extended", body = LoanView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep rentals", body = ErrorBody),
        (status = 404, description = "No such loan in your area", body = ErrorBody),
        (status = 409, description = "Already returned", body = ErrorBody),
        (status = 422, description = "New due date not later, or beyond the longest loan (`bad_due_date`)", body = ErrorBody)))]
pub async fn extend(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(raw): ApiJson<RawExtend>,
) -> Res<Json<LoanView>> {
    let scope = manage(&user)?;
    let mut tx = st.db.begin().await.map_err(AppError::from)?;
    rental::extend(&mut tx.conn(), &scope, id, raw.due_date, st.now()).await?;
    tx.commit().await.map_err(AppError::from)?;
    Ok(Json(fetch_loan(&st, &scope, id).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct OverdueQuery {
    /// Only loans under this division (a community, a township…; in your area).
    pub division: Option<String>,
    pub point_id: Option<i64>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// Overdue loans (due date passed, not returned) in your area, longest overdue first.
#[utoipa::path(get, path = "/api/v1/rental/overdue", tag = "rental", params(OverdueQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page of overdue loans", body = List<LoanView>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep rentals", body = ErrorBody)))]
pub async fn overdue(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<OverdueQuery>,
) -> Res<Json<List<LoanView>>> {
    let scope = manage(&user)?;
    let page = super::Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let f = loan_filter(
        &st,
        q.division.as_deref(),
        q.point_id,
        None,
        None,
        Some("overdue"),
    )?;
    let found = rental::loans(&mut st.db.conn(), &scope, &f, page).await?;
    let today = local_date(st.now());
    Ok(Json(List {
        items: found.items.iter().map(|l| loan_view(l, today)).collect(),
        total: found.total,
    }))
}

/// Figures of one division in the summary.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryRowView {
    pub division: String,
    pub name: String,
    pub points: i64,
    pub items: i64,
    pub in_stock: i64,
    pub on_loan: i64,
    pub repair: i64,
    pub overdue: i64,
    /// Villages/communities whose points lent in the last 12 months.
    pub lending_communities: i64,
}

fn summary_row(r: &SummaryRow) -> SummaryRowView {
    SummaryRowView {
        division: r.code.clone(),
        name: r.name.clone(),
        points: r.points,
        items: r.counts.items,
        in_stock: r.counts.in_stock,
        on_loan: r.counts.on_loan,
        repair: r.counts.repair,
        overdue: r.counts.overdue,
        lending_communities: r.lending_communities,
    }
}

/// The summary of a division and each of its children.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryView {
    pub total: SummaryRowView,
    pub children: Vec<SummaryRowView>,
}

impl From<&DivisionSummary> for SummaryView {
    fn from(s: &DivisionSummary) -> Self {
        SummaryView {
            total: summary_row(&s.total),
            children: s.children.iter().map(summary_row).collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct SummaryQuery {
    /// Any node in your area (default: your own division).
    pub division: Option<String>,
}

/// Points, items, items out, overdue loans and communities lending in the last
/// 12 months, for a division and each of its children.
#[utoipa::path(get, path = "/api/v1/rental/summary", tag = "rental", params(SummaryQuery), security(("bearer" = [])),
    responses((status = 200, description = "The summary", body = SummaryView),
        (status = 400, description = "Bad division code", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not read indicators", body = ErrorBody),
        (status = 404, description = "Division outside your area", body = ErrorBody)))]
pub async fn summary(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> Res<Json<SummaryView>> {
    let scope = scope_for(&user, Capability::ReadIndicators)?;
    let node = opt_division(q.division.as_deref())?.unwrap_or_else(|| scope.root.clone());
    let s = rental::summary(&mut st.db.conn(), &scope, &node, st.now()).await?;
    Ok(Json(SummaryView::from(&s)))
}

/// Current loans of a point (or overdue ones with `status=overdue`) as an xlsx workbook.
pub async fn loans_xlsx(
    st: &AppState,
    scope: &Scope,
    point_id: i64,
    overdue: bool,
) -> Res<Response> {
    use shequ_reports::xlsx::{self, Cell};
    let today = local_date(st.now());
    let mut c = st.db.conn();
    let p = rental::get_point(&mut c, scope, point_id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let f = LoanFilter {
        point_id: Some(point_id),
        open: true,
        overdue_on: overdue.then_some(today),
        ..LoanFilter::default()
    };
    let loans = rental::loans(&mut c, scope, &f, shequ_db::PageReq::all()).await?;
    let headers = [
        "辅具类别",
        "资产编号",
        "借用人",
        "联系电话",
        "借出日期",
        "应还日期",
        "逾期天数",
        "计费方式",
        "押金（元）",
        "已产生租金（元）",
    ];
    let rows: Vec<Vec<Cell>> = loans
        .items
        .iter()
        .map(|l| {
            vec![
                Cell::Text(l.kind_label().to_owned()),
                Cell::Text(l.asset_tag.clone()),
                Cell::Text(l.borrower_name.clone()),
                Cell::Text(l.borrower_phone_masked.clone().unwrap_or_default()),
                Cell::Text(l.start_date.to_string()),
                Cell::Text(l.due_date.to_string()),
                Cell::Int(l.days_overdue(today)),
                Cell::Text(l.fee_rule().label().to_owned()),
                Cell::Text(core::yuan(l.deposit_fen)),
                Cell::Text(core::yuan(l.fee_so_far(today))),
            ]
        })
        .collect();
    let title = if overdue {
        "逾期未还"
    } else {
        "在借清单"
    };
    let bytes = xlsx::sheet(title, &headers, &rows)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("xlsx: {e}")))?;
    let name = format!(
        "rental-{}-{}.xlsx",
        p.id,
        if overdue { "overdue" } else { "loans" }
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ExportQuery {
    /// `open` (default: every loan not returned) or `overdue`.
    pub status: Option<String>,
}

/// A point's current (or overdue) loans as an xlsx workbook (phones masked).
#[utoipa::path(get, path = "/api/v1/rental/points/{id}/loans.xlsx", tag = "rental",
    params(("id" = i64, Path, description = "Point id"), ExportQuery), security(("bearer" = [])),
    responses((status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, description = "Bad status", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep rentals", body = ErrorBody),
        (status = 404, description = "No such point in your area", body = ErrorBody)))]
pub async fn export_loans(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Res<Response> {
    let scope = manage(&user)?;
    let overdue = match q.status.as_deref().map(str::trim).unwrap_or("") {
        "" | "open" => false,
        "overdue" => true,
        _ => {
            return Err(AppError::bad_request("bad_status", "status 应为 open 或 overdue").into());
        }
    };
    loans_xlsx(&st, &scope, id, overdue).await
}
