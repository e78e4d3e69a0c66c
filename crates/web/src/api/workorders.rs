//! 接诉即办 over JSON: intake (idempotent), the queues and filters, one order with
//! its timeline, actions one at a time or in bulk, dispatch rules and departments,
//! and the user's notices. Intake needs `handle_work_orders`; the actions check
//! who may do what in `crate::orders`.

use super::{List, Paging};
use crate::auth::{ApiUser, scope_for};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, division_code};
use crate::intake::{self, RawIntake};
use crate::orders::{self, UnitNames};
use crate::{AppError, AppState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shequ_core::role::Capability;
use shequ_core::workorders::{Action, State as OrderState};
use shequ_db::workorders::dispatch::{self, Department, NewRule, UnitKind};
use shequ_db::workorders::list::{Filter, Queue};
use shequ_db::workorders::{self, Order, notify, photos};
use utoipa::{IntoParams, ToSchema};

/// A new order as submitted by staff or an integration.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrderBody {
    /// Category code, e.g. `facilities.streetlight`.
    pub category: String,
    /// ≤ 2000 characters, no HTML.
    pub description: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    #[serde(default)]
    pub address: String,
    /// Village/community or grid code; found from lon/lat when absent.
    pub division: Option<String>,
    /// `phone`, `walk_in`, `proxy`, `patrol` or `portal` (default `phone`).
    pub channel: Option<String>,
    #[serde(default)]
    pub urgent: bool,
    #[serde(default)]
    pub reporter_name: String,
    pub reporter_phone: Option<String>,
    /// Answers to the category's extra questions.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// What intake returns.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptView {
    pub id: i64,
    /// The code residents use to follow their order.
    pub tracking_code: String,
    pub division: String,
    /// The unit the dispatch rules suggest.
    pub suggested_unit: String,
}

/// Take an order in. Send an `Idempotency-Key` header to make retries safe:
/// a replay returns the first order with 200.
#[utoipa::path(post, path = "/api/v1/workorders", tag = "workorders", request_body = NewOrderBody,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried submission return the first order")),
    responses((status = 201, description = "Taken in (stored and committed)", body = ReceiptView),
        (status = 200, description = "A replay of an earlier submission", body = ReceiptView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not take in orders", body = ErrorBody),
        (status = 422, description = "Invalid fields; nothing stored", body = ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    ApiJson(b): ApiJson<NewOrderBody>,
) -> ApiResult<(StatusCode, Json<ReceiptView>)> {
    let scope = scope_for(&user, Capability::HandleWorkOrders)?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|s| format!("api:{}:{}", user.id, s.trim()));
    let raw = RawIntake {
        category: b.category,
        description: b.description,
        lon: b.lon,
        lat: b.lat,
        address: b.address,
        division: b.division,
        channel: b.channel.unwrap_or_else(|| "phone".into()),
        urgent: b.urgent,
        reporter_name: b.reporter_name,
        reporter_phone: b.reporter_phone,
        reporter_user_id: None,
        idempotency_key: key,
        attributes: b.attributes,
        photos: Vec::new(),
    };
    if raw.channel == "open311" {
        return Err(AppError::bad_request(
            "bad_channel",
            "请通过 Open311 接口提交",
        ));
    }
    let prepared = intake::prepare(&st, raw).await?;
    if !scope.contains(&prepared.order.division) {
        return Err(AppError::Forbidden);
    }
    let category = prepared.order.category.clone();
    let r = intake::submit(&st, user.actor(), prepared).await?;
    let suggested_unit = intake::suggested_unit(&st, &category, &r.division).await?;
    let status = if r.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(ReceiptView {
            id: r.id,
            tracking_code: r.tracking_code,
            division: r.division,
            suggested_unit,
        }),
    ))
}

/// An order as staff see it (the reporter's phone masked).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub id: i64,
    pub tracking_code: String,
    pub category: String,
    pub description: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: String,
    pub division: String,
    /// Handling unit: a division code or a department code (`D…`); empty before dispatch.
    pub unit: String,
    pub unit_name: String,
    pub channel: String,
    pub urgent: bool,
    pub state: String,
    pub state_label: String,
    pub reporter_name: String,
    pub reporter_phone_masked: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    /// 0 on time, 1 about to be overdue, 2 overdue.
    pub escalation: i32,
    pub extension_pending: bool,
    pub rating: Option<i32>,
    pub solved: Option<bool>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(st: &AppState, names: &UnitNames, o: &Order) -> OrderView {
    OrderView {
        id: o.id,
        tracking_code: o.tracking_code.clone(),
        category: o.category_code.clone(),
        description: o.description.clone(),
        lon: o.lon,
        lat: o.lat,
        address: o.address.clone(),
        division: o.division_code.clone(),
        unit: o.unit.clone(),
        unit_name: names.name(st, &o.unit),
        channel: o.channel.clone(),
        urgent: o.urgent,
        state: o.state.clone(),
        state_label: o.state().map_or("", OrderState::label).into(),
        reporter_name: o.reporter_name.clone(),
        reporter_phone_masked: o.reporter_phone_masked.clone(),
        due_at: o.due_at,
        escalation: o.escalation,
        extension_pending: o.extension_pending,
        rating: o.rating,
        solved: o.solved,
        created_at: o.created_at,
        updated_at: o.updated_at,
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct OrdersQuery {
    /// `to_dispatch`, `to_sign`, `in_progress`, `due_soon`, `overdue`, `to_visit`.
    pub queue: Option<String>,
    /// Handling unit; `mine` for the caller's own unit.
    pub unit: Option<String>,
    /// State code (e.g. `dispatched`); repeatable as a comma-separated list.
    pub state: Option<String>,
    /// Limit to this subtree.
    pub division: Option<String>,
    /// Category or parent category code.
    pub category: Option<String>,
    pub channel: Option<String>,
    pub urgent: Option<bool>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

fn opt(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn filter(user: &shequ_db::users::User, q: &OrdersQuery) -> Result<Filter, AppError> {
    let queue = match opt(&q.queue) {
        Some(s) => Some(
            Queue::parse(s).ok_or_else(|| AppError::bad_request("bad_queue", "未知的工单队列"))?,
        ),
        None => None,
    };
    let mut states = Vec::new();
    for s in opt(&q.state)
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
    {
        states.push(
            OrderState::parse(s.trim())
                .ok_or_else(|| AppError::bad_request("bad_state", "未知的工单状态"))?,
        );
    }
    let unit = match opt(&q.unit) {
        Some("mine") => Some(orders::unit_of(user).unwrap_or_default()),
        other => other.map(str::to_owned),
    };
    Ok(Filter {
        queue,
        states,
        unit,
        division: opt(&q.division).map(division_code).transpose()?,
        category: opt(&q.category).map(str::to_owned),
        channel: opt(&q.channel).map(str::to_owned),
        urgent: q.urgent,
        oldest_first: queue.is_some(),
        ..Filter::default()
    })
}

/// Orders in the caller's subtree: a workbench queue or any filter.
#[utoipa::path(get, path = "/api/v1/workorders", tag = "workorders", params(OrdersQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "One page of orders", body = List<OrderView>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not read orders", body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<OrdersQuery>,
) -> ApiResult<Json<List<OrderView>>> {
    let scope = orders::read_scope(&user)?;
    let page = Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let f = filter(&user, &q)?;
    let found = workorders::list::list(&mut st.db.conn(), &scope, &f, st.now(), page).await?;
    let names = UnitNames::load(&st).await?;
    Ok(Json(List {
        items: found.items.iter().map(|o| view(&st, &names, o)).collect(),
        total: found.total,
    }))
}

/// One event of an order's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub note: String,
}

/// An order with its history and photos.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDetail {
    #[serde(flatten)]
    pub order: OrderView,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    pub events: Vec<EventView>,
    /// Ids of the photos (`report` from the resident, `result` from the unit).
    pub photos: Vec<PhotoView>,
    pub suggested_unit: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhotoView {
    pub id: i64,
    pub kind: String,
    pub content_type: String,
    pub width: i32,
    pub height: i32,
}

/// One order in the caller's subtree with its timeline (404 outside it).
#[utoipa::path(get, path = "/api/v1/workorders/{id}", tag = "workorders",
    params(("id" = i64, Path, description = "Order id")), security(("bearer" = [])),
    responses((status = 200, description = "The order", body = OrderDetail),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such order in your area", body = ErrorBody)))]
pub async fn get_one(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<OrderDetail>> {
    Ok(Json(detail(&st, &user, id).await?))
}

async fn detail(st: &AppState, user: &shequ_db::users::User, id: i64) -> ApiResult<OrderDetail> {
    let scope = orders::read_scope(user)?;
    let mut c = st.db.conn();
    let o = workorders::get(&mut c, &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let events = workorders::timeline(&mut c, id).await?;
    let pics = photos::of_order(&mut c, id).await?;
    let suggested_unit = dispatch::suggest(&mut c, &o.category_code, &o.division_code).await?;
    let names = UnitNames::load(st).await?;
    Ok(OrderDetail {
        order: view(st, &names, &o),
        attributes: serde_json::from_str(&o.attributes).unwrap_or_default(),
        events: events
            .into_iter()
            .map(|e| EventView {
                at: e.at,
                actor: e.actor,
                action: e.action,
                from_state: e.from_state,
                to_state: e.to_state,
                note: e.note,
            })
            .collect(),
        photos: pics
            .into_iter()
            .map(|p| PhotoView {
                id: p.id,
                kind: p.kind,
                content_type: p.content_type,
                width: p.width,
                height: p.height,
            })
            .collect(),
        suggested_unit,
    })
}

/// An action as submitted: `action` names it, the other fields carry what it needs.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// dispatch, sign, return, start, reply, close, visit, rate, request_extension,
    /// approve_extension, refuse_extension, urge, supervise, transfer, reopen, merge.
    pub action: String,
    pub unit: Option<String>,
    pub reason: Option<String>,
    pub text: Option<String>,
    pub days: Option<u16>,
    pub level: Option<u8>,
    pub solved: Option<bool>,
    pub into: Option<i64>,
}

impl ActionBody {
    /// The lifecycle action; missing fields become empty and the lifecycle refuses them.
    pub fn action(&self) -> Result<Action, AppError> {
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        let text = s(&self.text);
        Ok(match self.action.as_str() {
            "dispatch" => Action::Dispatch {
                unit: s(&self.unit),
            },
            "sign" => Action::Sign,
            "return" => Action::Return {
                reason: s(&self.reason),
            },
            "start" => Action::Start,
            "reply" => Action::Reply { text },
            "close" => Action::Close { summary: text },
            "visit" => Action::Visit {
                note: text,
                solved: self.solved,
            },
            "rate" => Action::Rate {
                level: self.level.unwrap_or(0),
                solved: self.solved,
            },
            "request_extension" => Action::RequestExtension {
                days: self.days.unwrap_or(0),
                reason: s(&self.reason),
            },
            "approve_extension" => Action::ApproveExtension,
            "refuse_extension" => Action::RefuseExtension {
                reason: s(&self.reason),
            },
            "urge" => Action::Urge { note: text },
            "supervise" => Action::Supervise { note: text },
            "transfer" => Action::Transfer {
                unit: s(&self.unit),
                reason: s(&self.reason),
            },
            "reopen" => Action::Reopen {
                reason: s(&self.reason),
            },
            "merge" => Action::Merge {
                into: self.into.unwrap_or(0),
            },
            _ => return Err(AppError::bad_request("unknown_action", "未知的操作")),
        })
    }
}

/// Apply an action to an order; illegal transitions are refused and change nothing.
#[utoipa::path(post, path = "/api/v1/workorders/{id}/actions", tag = "workorders",
    params(("id" = i64, Path, description = "Order id")), request_body = ActionBody,
    security(("bearer" = [])),
    responses((status = 200, description = "Applied; the order as it now is", body = OrderDetail),
        (status = 400, description = "Unknown action", body = ErrorBody),
        (status = 403, description = "Not yours to do", body = ErrorBody),
        (status = 404, description = "No such order in your area", body = ErrorBody),
        (status = 409, description = "Changed by someone else meanwhile", body = ErrorBody),
        (status = 422, description = "Not allowed in this state, or a missing reason", body = ErrorBody)))]
pub async fn act(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ActionBody>,
) -> ApiResult<Json<OrderDetail>> {
    orders::act(&st, &user, id, &b.action()?).await?;
    Ok(Json(detail(&st, &user, id).await?))
}

/// The same action on several orders.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkBody {
    /// At most 200 ids.
    pub ids: Vec<i64>,
    #[serde(flatten)]
    pub action: ActionBody,
    /// For `dispatch`: send each order to the unit its rules suggest (ignores `unit`).
    #[serde(default)]
    pub suggested: bool,
}

/// The outcome for one order of a bulk action.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkOutcome {
    pub id: i64,
    pub ok: bool,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// Apply one action to many orders; each succeeds or fails on its own.
#[utoipa::path(post, path = "/api/v1/workorders/bulk", tag = "workorders", request_body = BulkBody,
    security(("bearer" = [])),
    responses((status = 200, description = "One outcome per order", body = Vec<BulkOutcome>),
        (status = 400, description = "Unknown action or too many ids", body = ErrorBody)))]
pub async fn bulk(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Json(b): Json<BulkBody>,
) -> ApiResult<Json<Vec<BulkOutcome>>> {
    if b.ids.is_empty() || b.ids.len() > 200 {
        return Err(AppError::bad_request("bad_ids", "一次应处理 1–200 张工单"));
    }
    let mut out = Vec::with_capacity(b.ids.len());
    for &id in &b.ids {
        let action = if b.suggested && b.action.action == "dispatch" {
            suggested_dispatch(&st, &user, id).await
        } else {
            b.action.action()
        };
        let r = match action {
            Ok(a) => orders::act(&st, &user, id, &a).await,
            Err(e) => Err(e),
        };
        out.push(match r {
            Ok(s) => BulkOutcome {
                id,
                ok: true,
                state: Some(s.as_str().into()),
                error: None,
            },
            Err(e) => BulkOutcome {
                id,
                ok: false,
                state: None,
                error: Some(e.to_string()),
            },
        });
    }
    Ok(Json(out))
}

async fn suggested_dispatch(
    st: &AppState,
    user: &shequ_db::users::User,
    id: i64,
) -> Result<Action, AppError> {
    let scope = orders::read_scope(user)?;
    let mut c = st.db.conn();
    let o = workorders::get(&mut c, &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let unit = dispatch::suggest(&mut c, &o.category_code, &o.division_code).await?;
    Ok(Action::Dispatch { unit })
}

/// A category with its time limits.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryView {
    pub code: String,
    pub parent: Option<String>,
    pub name: String,
    /// Hours to sign for (working hours).
    pub sign_hours: i32,
    /// Working days to the first reply.
    pub reply_days: i32,
    /// Working days to resolve.
    pub resolve_days: i32,
}

/// The category tree, parents first.
#[utoipa::path(get, path = "/api/v1/workorders/categories", tag = "workorders",
    responses((status = 200, description = "Every active category", body = Vec<CategoryView>)))]
pub async fn categories(State(st): State<AppState>) -> ApiResult<Json<Vec<CategoryView>>> {
    let all = workorders::categories(&mut st.db.conn()).await?;
    Ok(Json(
        all.into_iter()
            .filter(|c| c.active)
            .map(|c| CategoryView {
                code: c.code,
                parent: c.parent_code,
                name: c.name,
                sign_hours: c.sign_hours,
                reply_days: c.reply_days,
                resolve_days: c.resolve_days,
            })
            .collect(),
    ))
}

/// A dispatch rule as submitted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    /// Applies to orders located in this subtree.
    pub division: String,
    /// A category or parent category; absent for all.
    pub category: Option<String>,
    /// `community`, `township` or `department`.
    pub unit_kind: String,
    /// Required when `unit_kind` is `department`.
    pub department: Option<String>,
}

/// A stored dispatch rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    pub id: i64,
    pub division: String,
    pub category: Option<String>,
    pub unit_kind: String,
    pub department: Option<String>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// Dispatch rules that apply in the caller's area.
#[utoipa::path(get, path = "/api/v1/workorders/rules", tag = "workorders", security(("bearer" = [])),
    responses((status = 200, description = "The rules", body = Vec<RuleView>),
        (status = 403, description = "Not a dispatcher", body = ErrorBody)))]
pub async fn rules(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Json<Vec<RuleView>>> {
    let scope = scope_for(&user, Capability::DispatchWorkOrders)?;
    let all = dispatch::rules(&mut st.db.conn(), &scope).await?;
    Ok(Json(
        all.into_iter()
            .map(|r| RuleView {
                id: r.id,
                division: r.division_code,
                category: r.category_code,
                unit_kind: r.unit_kind,
                department: r.department_code,
                updated_by: r.updated_by,
                updated_at: r.updated_at,
            })
            .collect(),
    ))
}

/// Add or replace the rule for a division and category.
#[utoipa::path(post, path = "/api/v1/workorders/rules", tag = "workorders", request_body = RuleBody,
    security(("bearer" = [])),
    responses((status = 201, description = "Saved; its id", body = i64),
        (status = 403, description = "Not a dispatcher", body = ErrorBody),
        (status = 404, description = "Division outside your area", body = ErrorBody),
        (status = 422, description = "Unknown category or department", body = ErrorBody)))]
pub async fn put_rule(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(b): ApiJson<RuleBody>,
) -> ApiResult<(StatusCode, Json<i64>)> {
    let scope = scope_for(&user, Capability::DispatchWorkOrders)?;
    let unit_kind = UnitKind::parse(&b.unit_kind).ok_or_else(|| {
        AppError::bad_request(
            "bad_unit_kind",
            "承办单位类型应为 community、township 或 department",
        )
    })?;
    let rule = NewRule {
        category_code: b.category.filter(|c| !c.is_empty()),
        division: division_code(&b.division)?,
        unit_kind,
        department_code: b.department.filter(|d| !d.is_empty()),
    };
    let mut tx = st.db.begin().await?;
    let id = dispatch::put_rule(&mut tx.conn(), &scope, &rule, st.now()).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(id)))
}

/// Remove a rule in the caller's area.
#[utoipa::path(delete, path = "/api/v1/workorders/rules/{id}", tag = "workorders",
    params(("id" = i64, Path, description = "Rule id")), security(("bearer" = [])),
    responses((status = 204, description = "Removed"),
        (status = 404, description = "No such rule in your area", body = ErrorBody)))]
pub async fn delete_rule(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let scope = scope_for(&user, Capability::DispatchWorkOrders)?;
    dispatch::delete_rule(&mut st.db.conn(), &scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A handling department.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DepartmentView {
    /// Starts with `D`, e.g. `D-430500-cg`.
    pub code: String,
    pub name: String,
    /// Where it sits (city or county code).
    pub division: String,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// Every handling department.
#[utoipa::path(get, path = "/api/v1/departments", tag = "workorders", security(("bearer" = [])),
    responses((status = 200, description = "The departments", body = Vec<DepartmentView>)))]
pub async fn departments(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Json<Vec<DepartmentView>>> {
    scope_for(&user, Capability::HandleWorkOrders)?;
    let all = dispatch::departments(&mut st.db.conn()).await?;
    Ok(Json(
        all.into_iter()
            .map(|d| DepartmentView {
                code: d.code,
                name: d.name,
                division: d.division_code,
                active: d.active,
            })
            .collect(),
    ))
}

/// Add or rename a department in the caller's area.
#[utoipa::path(post, path = "/api/v1/departments", tag = "workorders", request_body = DepartmentView,
    security(("bearer" = [])),
    responses((status = 204, description = "Saved"),
        (status = 403, description = "Not a dispatcher", body = ErrorBody),
        (status = 422, description = "Bad code or name", body = ErrorBody)))]
pub async fn put_department(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(b): ApiJson<DepartmentView>,
) -> ApiResult<StatusCode> {
    let scope = scope_for(&user, Capability::DispatchWorkOrders)?;
    let division = division_code(&b.division)?;
    if !scope.contains(&division) {
        return Err(AppError::Forbidden);
    }
    let d = Department {
        code: b.code,
        name: b.name,
        division_code: division.as_str().into(),
        active: b.active,
    };
    dispatch::put_department(&mut st.db.conn(), &d).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One notice.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeView {
    pub id: i64,
    pub order_id: Option<i64>,
    /// dispatch, urge, due_soon, overdue, status.
    pub kind: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

/// The recipients whose notices a user reads: themselves and their unit.
pub fn recipients(user: &shequ_db::users::User) -> Vec<String> {
    let mut r = vec![notify::user_recipient(user.id)];
    r.extend(orders::unit_of(user));
    r
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct NoticesQuery {
    pub unread: Option<bool>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// The caller's notices, newest first.
#[utoipa::path(get, path = "/api/v1/notices", tag = "workorders", params(NoticesQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "One page of notices", body = List<NoticeView>)))]
pub async fn notices(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<NoticesQuery>,
) -> ApiResult<Json<List<NoticeView>>> {
    let page = Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let found = notify::notices(
        &mut st.db.conn(),
        &recipients(&user),
        q.unread.unwrap_or(false),
        page,
    )
    .await?;
    Ok(Json(List {
        items: found
            .items
            .into_iter()
            .map(|n| NoticeView {
                id: n.id,
                order_id: n.order_id,
                kind: n.kind,
                message: n.message,
                created_at: n.created_at,
                read: n.read_at.is_some(),
            })
            .collect(),
        total: found.total,
    }))
}

/// Mark notices read: the listed ids, or all when the list is empty.
#[utoipa::path(post, path = "/api/v1/notices/read", tag = "workorders", request_body = Vec<i64>,
    security(("bearer" = [])),
    responses((status = 200, description = "How many were marked", body = u64)))]
pub async fn read_notices(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Json(ids): Json<Vec<i64>>,
) -> ApiResult<Json<u64>> {
    let n = notify::mark_read(&mut st.db.conn(), &recipients(&user), &ids, st.now()).await?;
    Ok(Json(n))
}
