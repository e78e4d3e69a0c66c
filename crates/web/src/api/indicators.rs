//! The plan-target monitor over JSON.

use super::List;
use crate::auth::{ApiUser, scope_for};
use crate::board::{self, IndicatorValue};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, division_code};
use crate::{AppError, AppState};
use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use shequ_core::DivisionCode;
use shequ_core::indicators::Catalogue;
use shequ_core::role::Capability;
use shequ_db::indicators::{TargetError, set_target};
use shequ_db::scope::Scope;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
pub struct DivisionQuery {
    /// A division in your area; your own area when absent (the city for city staff).
    pub division: Option<String>,
}

/// The division a request asks about, checked against the caller's scope (404 outside).
pub fn node_in_scope(scope: &Scope, division: Option<&str>) -> Result<DivisionCode, AppError> {
    let code = match division.filter(|d| !d.is_empty()) {
        Some(d) => division_code(d)?,
        None => scope.root.clone(),
    };
    if !scope.contains(&code) {
        return Err(AppError::NotFound("该区划不在您的管辖范围内".into()));
    }
    Ok(code)
}

/// Every indicator at one division, with its target and whether it is met.
#[utoipa::path(get, path = "/api/v1/indicators", tag = "indicators", params(DivisionQuery), security(("bearer" = [])),
    responses((status = 200, description = "Indicators of the division", body = List<IndicatorValue>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "Division outside your area", body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<DivisionQuery>,
) -> ApiResult<axum::response::Response> {
    let scope = scope_for(&user, Capability::ReadIndicators)?;
    let code = node_in_scope(&scope, q.division.as_deref())?;
    if st.tree.get().get(code.as_str()).is_none() {
        return Err(AppError::NotFound("区划不存在".into()));
    }
    let json = match st.caches.board_json(code.as_str()) {
        Some(j) => j,
        None => {
            let (epoch, version) = (st.caches.epoch(), st.caches.indicator_version());
            let items = board::node(&st, &code).await?;
            let body = serde_json::to_vec(&Board {
                total: items.len() as i64,
                items,
            })
            .map_err(|e| AppError::Internal(e.into()))?;
            let bytes = axum::body::Bytes::from(body);
            st.caches
                .put_board_json(code.to_string(), epoch, version, bytes.clone());
            bytes
        }
    };
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json,
    )
        .into_response())
}

/// `{"items":[…],"total":N}` over a shared (cached) board, serialised without copying.
#[derive(Debug, Serialize)]
pub struct Board {
    pub items: std::sync::Arc<Vec<IndicatorValue>>,
    pub total: i64,
}

/// A child that falls short of the target.
#[derive(Debug, Serialize, ToSchema)]
pub struct Gap {
    pub code: String,
    pub name: String,
    pub value: Option<f64>,
    pub target: Option<f64>,
    pub numerator: i64,
    pub denominator: i64,
    /// The shortfall in the indicator's own unit, e.g. "差 37 m²".
    pub shortfall: String,
    /// The shortfall as a number (for sorting).
    pub shortfall_amount: f64,
}

/// Children of a division that fall short on one indicator, largest shortfall first.
pub async fn gaps_of(st: &AppState, code: &DivisionCode, id: &str) -> Result<Vec<Gap>, AppError> {
    let cat = Catalogue::builtin();
    let ind = cat
        .get(id)
        .ok_or_else(|| AppError::NotFound("指标不存在".into()))?;
    let mut out: Vec<Gap> = board::children(st, code, ind)
        .await?
        .into_iter()
        .filter(|(_, v)| v.met == Some(false))
        .map(|(d, v)| Gap {
            shortfall_amount: v
                .target
                .map_or(0.0, |t| ind.shortfall(v.numerator, v.denominator, t)),
            code: d.code,
            name: d.name,
            value: v.value,
            target: v.target,
            numerator: v.numerator,
            denominator: v.denominator,
            shortfall: v.shortfall,
        })
        .collect();
    out.sort_by(|a, b| {
        b.shortfall_amount
            .total_cmp(&a.shortfall_amount)
            .then(a.code.cmp(&b.code))
    });
    Ok(out)
}

/// 短板清单: the children of a division below the target on one indicator.
#[utoipa::path(get, path = "/api/v1/indicators/{id}/gaps", tag = "indicators", params(("id" = String, Path, description = "Indicator id"), DivisionQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "Children short of the target", body = List<Gap>),
        (status = 404, description = "Unknown indicator or division outside your area", body = ErrorBody)))]
pub async fn gaps(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DivisionQuery>,
) -> ApiResult<Json<List<Gap>>> {
    let scope = scope_for(&user, Capability::ReadIndicators)?;
    let code = node_in_scope(&scope, q.division.as_deref())?;
    let items = gaps_of(&st, &code, &id).await?;
    Ok(Json(List {
        total: items.len() as i64,
        items,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetRequest {
    pub division: String,
    pub target: f64,
}

/// Set a local target for a division in your area; it may only be stricter than the inherited one.
#[utoipa::path(put, path = "/api/v1/indicators/{id}/target", tag = "indicators", params(("id" = String, Path, description = "Indicator id")),
    request_body = TargetRequest, security(("bearer" = [])),
    responses((status = 200, description = "The division's indicators with the new target", body = List<IndicatorValue>),
        (status = 403, description = "Role may not set targets", body = ErrorBody),
        (status = 404, description = "Unknown indicator or division outside your area", body = ErrorBody),
        (status = 422, description = "Looser than the inherited target", body = ErrorBody)))]
pub async fn target(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(t): ApiJson<TargetRequest>,
) -> ApiResult<Json<List<IndicatorValue>>> {
    let scope = scope_for(&user, Capability::WriteRegistries)?;
    let code = node_in_scope(&scope, Some(&t.division))?;
    apply_target(&st, &scope, &id, &code, t.target).await?;
    let items = board::node(&st, &code).await?.as_ref().clone();
    Ok(Json(List {
        total: items.len() as i64,
        items,
    }))
}

/// Store a target, turning refusals into errors with Chinese messages.
pub async fn apply_target(
    st: &AppState,
    scope: &Scope,
    id: &str,
    code: &DivisionCode,
    target: f64,
) -> Result<(), AppError> {
    let mut tx = st.db.begin().await?;
    match set_target(&mut tx.conn(), scope, id, code, target, st.now()).await? {
        Ok(()) => {
            tx.commit().await?;
            // This request reads the board back: drop cached boards now, not after the response.
            st.caches.bump_epoch();
            Ok(())
        }
        Err(TargetError::UnknownIndicator) => Err(AppError::NotFound("指标不存在".into())),
        Err(TargetError::OutOfScope) => Err(AppError::NotFound("该区划不在您的管辖范围内".into())),
        Err(TargetError::Looser { inherited }) => {
            let mut e = shequ_core::FieldErrors::new();
            e.add(
                "target",
                "looser_than_inherited",
                format!("本级目标不能低于上级要求（{inherited}）"),
            );
            Err(AppError::Validation(e))
        }
    }
}
