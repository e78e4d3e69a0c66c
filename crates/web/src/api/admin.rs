//! Accounts and the audit chain over JSON, for the three system roles:
//! the account list for the system and security administrators, the audit
//! search and chain check for the auditor.

use super::{List, Paging};
use crate::auth::{ApiUser, scope_for};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiQuery;
use crate::{AppError, AppState};
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shequ_core::role::Capability;
use shequ_db::audit::{self, Entry, Filter};
use shequ_db::users::{self, User};
use utoipa::{IntoParams, ToSchema};

/// An account as the API shows it (never the password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// Role code, e.g. `community_staff`.
    pub role: String,
    /// Division code the account is bound to.
    pub division: String,
    pub disabled: bool,
    /// Set while the account is locked after repeated failed sign-ins.
    pub locked_until: Option<DateTime<Utc>>,
    /// Failed sign-ins since the last success.
    pub failed_logins: i64,
    pub password_changed_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: u.role.clone(),
            division: u.division_code.clone(),
            disabled: u.disabled,
            locked_until: u.locked_until,
            failed_logins: u.failed_logins,
            password_changed_at: u.password_changed_at,
        }
    }
}

/// Accounts, by username (system or security administrator).
#[utoipa::path(get, path = "/api/v1/users", tag = "auth", params(Paging), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of accounts", body = List<UserView>),
        (status = 400, description = "Bad paging", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only the system or security administrator may list accounts", body = ErrorBody)))]
pub async fn list_users(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<List<UserView>>> {
    scope_for(&user, Capability::ManageUsers)
        .or_else(|_| scope_for(&user, Capability::ManageSecurity))?;
    let found = users::list(&mut st.db.conn(), p.resolve()?).await?;
    Ok(Json(List {
        items: found.items.iter().map(UserView::from).collect(),
        total: found.total,
    }))
}

/// `?actor=&action=&entity_id=&page=&per_page=`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Username of whoever acted (exact).
    pub actor: Option<String>,
    /// Action code, e.g. `login` or `user_create` (exact).
    pub action: Option<String>,
    /// Id of the entity acted on (exact).
    pub entity_id: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// One entry of the audit chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    /// Position in the chain, from 1.
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// Username (or `system`, `anonymous`).
    pub actor: String,
    pub actor_role: String,
    pub action: String,
    /// What kind of thing was acted on: `user`, `person`, `audit`…
    pub entity: String,
    pub entity_id: String,
    pub division: String,
    /// `ok` or `failed`.
    pub outcome: String,
    /// Changed fields and other particulars; never protected values in clear.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

impl From<&Entry> for AuditEntryView {
    fn from(e: &Entry) -> Self {
        AuditEntryView {
            seq: e.seq,
            at: e.at,
            actor: e.actor.clone(),
            actor_role: e.actor_role.clone(),
            action: e.action.clone(),
            entity: e.entity.clone(),
            entity_id: e.entity_id.clone(),
            division: e.division_code.clone(),
            outcome: e.outcome.clone(),
            detail: serde_json::from_str(&e.detail)
                .unwrap_or_else(|_| serde_json::Value::String(e.detail.clone())),
            prev_hash: e.prev_hash.clone(),
            hash: e.hash.clone(),
        }
    }
}

/// Search the audit chain, newest first (auditor).
#[utoipa::path(get, path = "/api/v1/audit", tag = "auth", params(AuditQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of entries, newest first", body = List<AuditEntryView>),
        (status = 400, description = "Bad paging", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only the auditor may read the audit log", body = ErrorBody)))]
pub async fn audit_log(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<List<AuditEntryView>>> {
    scope_for(&user, Capability::ReadAudit)?;
    let page = Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let f = Filter {
        actor: q.actor,
        action: q.action,
        entity_id: q.entity_id,
        from: None,
        to: None,
    };
    let found = audit::search(&mut st.db.conn(), &f, page).await?;
    Ok(Json(List {
        items: found.items.iter().map(AuditEntryView::from).collect(),
        total: found.total,
    }))
}

/// Whether the audit chain is intact.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyView {
    pub intact: bool,
    /// Entries checked and found in order (all of them when intact).
    pub entries: i64,
    /// The first entry that does not fit, when broken.
    pub broken_at: Option<i64>,
    /// What is wrong, in Chinese, when broken.
    pub reason: Option<String>,
}

/// Walk the whole audit chain and check every link (auditor).
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The result of the check", body = VerifyView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only the auditor may check the audit log", body = ErrorBody)))]
pub async fn audit_verify(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Json<VerifyView>> {
    scope_for(&user, Capability::ReadAudit)?;
    let view = match audit::verify(&mut st.db.conn())
        .await
        .map_err(AppError::from)?
    {
        Ok(n) => VerifyView {
            intact: true,
            entries: n,
            broken_at: None,
            reason: None,
        },
        Err(b) => VerifyView {
            intact: false,
            entries: (b.seq - 1).max(0),
            broken_at: Some(b.seq),
            reason: Some(b.reason),
        },
    };
    Ok(Json(view))
}
