//! Bearer tokens for API clients.

use crate::AppState;
use crate::auth::{self, LoginError};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::random_secret;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Token {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Exchange a username and password for a bearer token (12 hours).
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = Credentials,
    responses(
        (status = 200, description = "Signed in", body = Token),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 429, description = "Locked after repeated failures", body = ErrorBody)))]
pub async fn token(
    State(st): State<AppState>,
    ApiJson(c): ApiJson<Credentials>,
) -> ApiResult<Json<Token>> {
    if c.username.len() > 64 || c.password.len() > 256 {
        return Err(LoginError::Invalid.into());
    }
    let user = auth::login(&st, &c.username, &c.password).await?;
    let secret = format!("st_{}", random_secret()?);
    let expires_at =
        shequ_db::sessions::issue_token(&mut st.db.conn(), user.id, &secret, st.now()).await?;
    Ok(Json(Token {
        token: secret,
        expires_at,
    }))
}
