//! Signing in and knowing who is asking: password checks (off the async executor,
//! with equal cost for unknown users), lockout, sessions in cookies, bearer tokens,
//! CSRF tokens, and the capability checks that turn a user into a [`Scope`].

use crate::state::random_secret;
use crate::{AppError, AppState};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use shequ_core::role::{Capability, Role};
use shequ_core::{DivisionCode, password};
use shequ_db::audit::{self, Event};
use shequ_db::scope::{Actor, Scope};
use shequ_db::sessions;
use shequ_db::users::{self, User};

pub const SESSION_COOKIE: &str = "shequ_session";
pub const CSRF_COOKIE: &str = "shequ_csrf";

/// Why a sign-in failed. Unknown user and wrong password look the same.
#[derive(Debug)]
pub enum LoginError {
    Invalid,
    Locked,
    Internal(AppError),
}

impl From<LoginError> for AppError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::Invalid => AppError::Unauthorized,
            LoginError::Locked => AppError::TooManyRequests,
            LoginError::Internal(e) => e,
        }
    }
}

impl LoginError {
    pub fn message(&self) -> &'static str {
        match self {
            LoginError::Invalid => "用户名或密码错误",
            LoginError::Locked => {
                "连续登录失败次数过多，账号已锁定 15 分钟，请稍后再试或联系安全管理员"
            }
            LoginError::Internal(_) => "系统出错了，请稍后再试",
        }
    }
}

/// Check a username and password; count failures, lock at the threshold, audit both outcomes.
pub async fn login(st: &AppState, username: &str, password_text: &str) -> Result<User, LoginError> {
    let now = st.now();
    let username: String = username.trim().chars().take(64).collect();
    let user = users::find_by_username(&mut st.db.conn(), &username)
        .await
        .map_err(|e| LoginError::Internal(e.into()))?;
    let phc = user.as_ref().map_or_else(
        || password::dummy_hash().to_owned(),
        |u| u.password_hash.clone(),
    );
    let pw = password_text.to_owned();
    let matches = tokio::task::spawn_blocking(move || password::verify_password(&pw, &phc))
        .await
        .map_err(|e| LoginError::Internal(AppError::Internal(e.into())))?;
    let actor = Actor {
        user_id: user.as_ref().map(|u| u.id),
        name: username.clone(),
        role: user.as_ref().map(|u| u.role.clone()).unwrap_or_default(),
    };
    let fail = |reason: &'static str| {
        Event::new("login", "user", &username)
            .outcome("failed")
            .detail(serde_json::json!({"reason": reason}))
    };
    let Some(user) = user else {
        audit::record(&st.db, &actor, fail("unknown_user"), now)
            .await
            .map_err(|e| LoginError::Internal(e.into()))?;
        return Err(LoginError::Invalid);
    };
    if user.is_locked(now) {
        audit::record(&st.db, &actor, fail("locked"), now)
            .await
            .map_err(|e| LoginError::Internal(e.into()))?;
        return Err(LoginError::Locked);
    }
    if !matches || user.disabled {
        let mut tx = st
            .db
            .begin()
            .await
            .map_err(|e| LoginError::Internal(e.into()))?;
        let locked = users::record_failure(&mut tx.conn(), &user, now)
            .await
            .map_err(|e| LoginError::Internal(e.into()))?;
        let reason = if user.disabled {
            "disabled"
        } else if locked {
            "wrong_password_locked"
        } else {
            "wrong_password"
        };
        audit::append(&mut tx.conn(), &actor, fail(reason), now)
            .await
            .map_err(|e| LoginError::Internal(e.into()))?;
        tx.commit()
            .await
            .map_err(|e| LoginError::Internal(e.into()))?;
        return Err(if locked {
            LoginError::Locked
        } else {
            LoginError::Invalid
        });
    }
    let mut tx = st
        .db
        .begin()
        .await
        .map_err(|e| LoginError::Internal(e.into()))?;
    users::record_success(&mut tx.conn(), user.id)
        .await
        .map_err(|e| LoginError::Internal(e.into()))?;
    audit::append(
        &mut tx.conn(),
        &user.actor(),
        Event::new("login", "user", user.id).division(&user.division_code),
        now,
    )
    .await
    .map_err(|e| LoginError::Internal(e.into()))?;
    tx.commit()
        .await
        .map_err(|e| LoginError::Internal(e.into()))?;
    Ok(user)
}

/// Hash a password off the async executor, with a fresh salt.
pub async fn hash(password_text: &str) -> Result<String, AppError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    let pw = password_text.to_owned();
    tokio::task::spawn_blocking(move || password::hash_password(&pw, &salt))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))
}

/// Start a browser session; returns the `Set-Cookie` value.
pub async fn start_session(st: &AppState, user: &User) -> Result<String, AppError> {
    let secret = random_secret()?;
    sessions::start(&mut st.db.conn(), user.id, &secret, st.now()).await?;
    Ok(format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
        sessions::ABSOLUTE_HOURS * 3600
    ))
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// A cookie's value from the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The signed-in user of a browser request, if any.
pub async fn session_user(st: &AppState, headers: &HeaderMap) -> Result<Option<User>, AppError> {
    let Some(secret) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(sessions::resume(&mut st.db.conn(), secret, st.now())
        .await?
        .map(|(_, u)| u))
}

/// A user's scope, when their role has `cap`.
pub fn scope_for(user: &User, cap: Capability) -> Result<Scope, AppError> {
    let role = user.role().ok_or(AppError::Forbidden)?;
    if !role.can(cap) {
        return Err(AppError::Forbidden);
    }
    let root = DivisionCode::parse(&user.division_code)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored division: {e}")))?;
    Ok(Scope::new(root, role, user.actor()))
}

/// The role of a user (unknown roles have no capability).
pub fn role_of(user: &User) -> Option<Role> {
    user.role()
}

/// A user authenticated by `Authorization: Bearer` (a token from `/api/v1/auth/token`).
#[derive(Debug, Clone)]
pub struct ApiUser(pub User);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let token = crate::extract::bearer(parts).ok_or(AppError::Unauthorized)?;
        let hash = sessions::hash_secret(token);
        if let Some(user) = st.caches.token(&hash) {
            return Ok(ApiUser(user));
        }
        let epoch = st.caches.epoch();
        let user = sessions::token_user(&mut st.db.conn(), token, st.now())
            .await?
            .ok_or(AppError::Unauthorized)?;
        st.caches.put_token(hash, epoch, user.clone());
        Ok(ApiUser(user))
    }
}

/// Compare a submitted CSRF token with the cookie, in constant time.
pub fn check_csrf(headers: &HeaderMap, submitted: &str) -> Result<(), AppError> {
    let Some(expected) = cookie(headers, CSRF_COOKIE) else {
        return Err(AppError::bad_request(
            "csrf_failed",
            "页面已过期，请刷新后重新提交",
        ));
    };
    let (a, b) = (expected.as_bytes(), submitted.as_bytes());
    let same = a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
    if same {
        Ok(())
    } else {
        Err(AppError::bad_request(
            "csrf_failed",
            "页面已过期，请刷新后重新提交",
        ))
    }
}
