//! Extractors whose failures become [`AppError`]s with stable codes, and the
//! integration-key check for API writes.

use crate::{AppError, AppState};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use shequ_core::DivisionCode;

/// JSON body; wrong content type → 415, oversized → 413, malformed → 400.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::UnsupportedMediaType(
                "请求体应为 JSON（Content-Type: application/json）".into(),
            )),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(AppError::PayloadTooLarge),
            Err(JsonRejection::JsonDataError(e)) => Err(AppError::bad_request(
                "bad_json_fields",
                format!("JSON 字段有误：{}", e.body_text()),
            )),
            Err(_) => Err(AppError::bad_request("bad_json", "请求体不是合法的 JSON")),
        }
    }
}

/// Query string; malformed → 400 `bad_query`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| {
                AppError::bad_request("bad_query", format!("查询参数有误：{}", e.body_text()))
            })
    }
}

/// Parse a division code from a path or query value, as a 400 on failure.
pub fn division_code(s: &str) -> Result<DivisionCode, AppError> {
    DivisionCode::parse(s).map_err(|e| {
        AppError::bad_request(
            "bad_division_code",
            format!("区划代码“{}”有误：{e}", truncate(s, 40)),
        )
    })
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// A caller authenticated by an integration key (`Authorization: Bearer …`).
#[derive(Debug, Clone)]
pub struct Integration {
    pub key_id: i64,
    pub name: String,
    pub scope: DivisionCode,
}

impl Integration {
    /// 403 unless `code` lies in this caller's subtree.
    pub fn require_within(&self, code: &DivisionCode) -> Result<(), AppError> {
        if code.is_within(&self.scope) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// The bearer token of a request, if it carries one.
pub fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 200)
}

impl FromRequestParts<AppState> for Integration {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(AppError::Unauthorized)?;
        let key = shequ_db::api_keys::find(&mut state.db.conn(), token, state.now())
            .await?
            .ok_or(AppError::Unauthorized)?;
        let scope = DivisionCode::parse(&key.division_code)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored scope: {e}")))?;
        Ok(Integration {
            key_id: key.id,
            name: key.name,
            scope,
        })
    }
}
