//! Signing in and out, and changing one's own password.

use super::{Ctx, Layout, PageError};
use crate::auth::{self, LoginError};
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use shequ_core::password;
use shequ_db::sessions;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route(
            "/account/password",
            get(password_page).post(password_submit),
        )
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub next: String,
    pub username: String,
    pub message: String,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    pub next: String,
}

pub async fn login_page(ctx: Ctx, Query(q): Query<NextQuery>) -> LoginPage {
    LoginPage {
        layout: ctx.layout("登录", "login"),
        next: super::prefs::safe_back(&q.next).to_owned(),
        username: String::new(),
        message: String::new(),
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub next: String,
    #[serde(default)]
    pub csrf: String,
}

pub async fn login_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let next = super::prefs::safe_back(&f.next).to_owned();
    match auth::login(&st, &f.username, &f.password).await {
        Ok(user) => {
            let cookie = auth::start_session(&st, &user)
                .await
                .map_err(|e| ctx.err(e))?;
            let mut res = Redirect::to(if next == "/" || next.starts_with("/login") {
                "/"
            } else {
                &next
            })
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(res)
        }
        Err(LoginError::Internal(e)) => Err(ctx.err(e)),
        Err(e) => {
            let status = AppError::from(LoginError::Invalid).status();
            let status = if matches!(e, LoginError::Locked) {
                axum::http::StatusCode::TOO_MANY_REQUESTS
            } else {
                status
            };
            let page = LoginPage {
                layout: ctx.layout("登录", "login"),
                next,
                username: f.username.chars().take(64).collect(),
                message: e.message().into(),
            };
            Ok((status, page).into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    if let Some(secret) = auth::cookie(&ctx.headers, auth::SESSION_COOKIE) {
        sessions::end(&mut st.db.conn(), secret)
            .await
            .map_err(|e| ctx.err(e))?;
    }
    if let Some(u) = &ctx.user {
        shequ_db::audit::record(
            &st.db,
            &u.actor(),
            shequ_db::audit::Event::new("logout", "user", u.id),
            st.now(),
        )
        .await
        .map_err(|e| ctx.err(e))?;
    }
    let mut res = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::clear_session_cookie()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

#[derive(Template, WebTemplate)]
#[template(path = "password.html")]
pub struct PasswordPage {
    pub layout: Layout,
    pub message: String,
    pub errors: Vec<String>,
}

pub async fn password_page(ctx: Ctx) -> Result<PasswordPage, PageError> {
    ctx.user()?;
    Ok(PasswordPage {
        layout: ctx.layout("修改密码", "account"),
        message: String::new(),
        errors: Vec::new(),
    })
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub current: String,
    #[serde(default)]
    pub new_password: String,
    #[serde(default)]
    pub confirm: String,
    #[serde(default)]
    pub csrf: String,
}

/// Change one's own password; every session (this one too) ends, so sign in again.
pub async fn password_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<PasswordForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let user = ctx.user()?.clone();
    let mut errors = Vec::new();
    let current_ok = {
        let (pw, phc) = (f.current.clone(), user.password_hash.clone());
        tokio::task::spawn_blocking(move || password::verify_password(&pw, &phc))
            .await
            .unwrap_or(false)
    };
    if !current_ok {
        errors.push("当前密码不正确".to_owned());
    }
    if f.new_password != f.confirm {
        errors.push("两次输入的新密码不一致".to_owned());
    }
    if let Err(e) = password::check_policy(&user.username, &f.new_password) {
        errors.extend(e.0.into_iter().map(|x| x.message));
    }
    if !errors.is_empty() {
        let page = PasswordPage {
            layout: ctx.layout("修改密码", "account"),
            message: String::new(),
            errors,
        };
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let hash = auth::hash(&f.new_password).await.map_err(|e| ctx.err(e))?;
    shequ_db::users::set_password(&mut st.db.conn(), &user.actor(), user.id, &hash, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    let mut res = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::clear_session_cookie()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}
