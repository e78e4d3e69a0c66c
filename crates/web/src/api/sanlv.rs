//! 三率 over JSON: response, resolution and satisfaction rates with the weighted
//! score, per handling unit or per child division, for a month, ranked; and the
//! definitions and weights (city staff may change them).

use crate::auth::{ApiUser, scope_for};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, division_code};
use crate::orders::{UnitNames, place_name};
use crate::{AppError, AppState};
use axum::Json;
use axum::extract::State;
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use shequ_core::role::Capability;
use shequ_core::workorders::sanlv::{Config, Counts, Rates};
use shequ_core::{DivisionCode, Level};
use shequ_db::scope::Scope;
use shequ_db::settings;
use shequ_db::workorders::monthly;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// Where the definitions and weights are kept.
pub const SETTING: &str = "workorders.sanlv";

/// The stored configuration, or the default.
pub async fn config(st: &AppState) -> Result<Config, AppError> {
    Ok(settings::get(&mut st.db.conn(), SETTING)
        .await?
        .unwrap_or_default())
}

/// One ranked line: a unit or a division.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Line {
    pub key: String,
    pub name: String,
    pub rank: usize,
    pub orders: i64,
    pub dispatched: i64,
    pub overdue: i64,
    pub rated: i64,
    /// Bad ratings (不满意, 非常不满意).
    pub bad: i64,
    pub response: Option<f64>,
    pub resolution: Option<f64>,
    pub satisfaction: Option<f64>,
    /// Weighted score, 0–100.
    pub composite: Option<f64>,
}

/// The report for a month and a division.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    pub month: String,
    pub division: String,
    pub division_name: String,
    /// `division` (children of the division) or `unit` (handling units).
    pub by: String,
    pub total: Line,
    pub items: Vec<Line>,
}

fn line(key: String, name: String, c: &Counts, cfg: &Config) -> Line {
    let Rates {
        response,
        resolution,
        satisfaction,
        composite,
    } = cfg.rates(c);
    Line {
        key,
        name,
        rank: 0,
        orders: c.orders,
        dispatched: c.dispatched,
        overdue: c.overdue,
        rated: c.rated,
        bad: c.levels[3] + c.levels[4],
        response,
        resolution,
        satisfaction,
        composite,
    }
}

/// Parse "YYYY-MM"; default this month (Beijing time).
pub fn month_of(st: &AppState, s: Option<&str>) -> Result<NaiveDate, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok((st.now() + Duration::hours(8)).date_naive()),
        Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
            .map_err(|_| AppError::bad_request("bad_month", "月份格式应为 YYYY-MM")),
    }
}

/// The report from the monthly aggregate, reused while the aggregate's version
/// is unchanged (it changes on every refresh and configuration change).
pub async fn report(
    st: &AppState,
    scope: &Scope,
    division: &DivisionCode,
    month: NaiveDate,
    by_unit: bool,
) -> Result<Report, AppError> {
    if !scope.contains(division) {
        return Err(AppError::Forbidden);
    }
    let version = monthly::version(&mut st.db.conn()).await?;
    let key = format!(
        "{}|{}|{by_unit}",
        division.as_str(),
        monthly::month_key(month)
    );
    if let Some(r) = st.caches.sanlv(&key, version) {
        return Ok((*r).clone());
    }
    let r = build(st, scope, division, month, by_unit).await?;
    st.caches.put_sanlv(key, version, Arc::new(r.clone()));
    Ok(r)
}

async fn build(
    st: &AppState,
    scope: &Scope,
    division: &DivisionCode,
    month: NaiveDate,
    by_unit: bool,
) -> Result<Report, AppError> {
    let cfg = config(st).await?;
    let key = monthly::month_key(month);
    let sub = Scope::new(division.clone(), scope.role, scope.actor.clone());
    let rows = monthly::rows(&mut st.db.conn(), &sub, &key, &key).await?;
    let mut total = Counts::default();
    for r in &rows {
        total += &r.counts;
    }
    let mut items: Vec<Line> = if by_unit {
        let names = UnitNames::load(st).await?;
        monthly::sum_by(&rows, |r| Some(r.unit.clone()))
            .into_iter()
            .map(|(k, c)| line(k.clone(), names.name(st, &k), &c, &cfg))
            .collect()
    } else {
        let len = child_len(division);
        monthly::sum_by(&rows, |r| r.division_code.get(..len).map(str::to_owned))
            .into_iter()
            .map(|(k, c)| line(k.clone(), place_name(st, &k), &c, &cfg))
            .collect()
    };
    items.sort_by(|a, b| {
        b.composite
            .unwrap_or(-1.0)
            .total_cmp(&a.composite.unwrap_or(-1.0))
            .then_with(|| a.key.cmp(&b.key))
    });
    for (i, l) in items.iter_mut().enumerate() {
        l.rank = i + 1;
    }
    Ok(Report {
        month: key,
        division: division.as_str().into(),
        division_name: place_name(st, division.as_str()),
        by: if by_unit { "unit" } else { "division" }.into(),
        total: line(division.as_str().into(), "合计".into(), &total, &cfg),
        items,
    })
}

/// Length of the codes of a division's children (villages for a township and below).
fn child_len(d: &DivisionCode) -> usize {
    match d.level() {
        Level::City => 6,
        Level::County => 9,
        _ => 12,
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct SanlvQuery {
    /// YYYY-MM; this month when absent.
    pub month: Option<String>,
    /// The caller's own division when absent.
    pub division: Option<String>,
    /// `division` (default) or `unit`.
    pub by: Option<String>,
}

/// 三率 for a month, per child division or per handling unit, ranked by the weighted score.
#[utoipa::path(get, path = "/api/v1/workorders/sanlv", tag = "workorders", params(SanlvQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "The report", body = Report),
        (status = 400, description = "Bad month or grouping", body = ErrorBody),
        (status = 403, description = "Outside your area", body = ErrorBody)))]
pub async fn get_report(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<SanlvQuery>,
) -> ApiResult<Json<Report>> {
    let scope = scope_for(&user, Capability::ReadIndicators)?;
    let division = match q.division.as_deref().filter(|s| !s.is_empty()) {
        Some(d) => division_code(d)?,
        None => scope.root.clone(),
    };
    let by_unit = match q.by.as_deref() {
        None | Some("division") => false,
        Some("unit") => true,
        Some(_) => return Err(AppError::bad_request("bad_by", "by 应为 division 或 unit")),
    };
    let month = month_of(&st, q.month.as_deref())?;
    Ok(Json(report(&st, &scope, &division, month, by_unit).await?))
}

/// The definitions and weights in force.
#[utoipa::path(get, path = "/api/v1/workorders/sanlv/config", tag = "workorders",
    security(("bearer" = [])),
    responses((status = 200, description = "The configuration", body = Object)))]
pub async fn get_config(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Json<Config>> {
    scope_for(&user, Capability::ReadIndicators)?;
    Ok(Json(config(&st).await?))
}

/// Change the definitions and weights (city staff only).
#[utoipa::path(put, path = "/api/v1/workorders/sanlv/config", tag = "workorders",
    request_body = Object, security(("bearer" = [])),
    responses((status = 200, description = "Saved", body = Object),
        (status = 403, description = "Only the city sets the definitions", body = ErrorBody),
        (status = 422, description = "Bad weights or level", body = ErrorBody)))]
pub async fn put_config(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(cfg): ApiJson<Config>,
) -> ApiResult<Json<Config>> {
    let scope = scope_for(&user, Capability::DispatchWorkOrders)?;
    if scope.root.level() != Level::City {
        return Err(AppError::Forbidden);
    }
    cfg.validate()?;
    let mut tx = st.db.begin().await?;
    settings::put(&mut tx.conn(), SETTING, &cfg).await?;
    monthly::bump_version(&mut tx.conn()).await?;
    let ev = shequ_db::audit::Event::new("sanlv_config", "setting", SETTING)
        .division(scope.root.as_str())
        .detail(serde_json::to_value(cfg).unwrap_or_default());
    shequ_db::audit::append(&mut tx.conn(), &scope.actor, ev, st.now()).await?;
    tx.commit().await?;
    Ok(Json(cfg))
}
