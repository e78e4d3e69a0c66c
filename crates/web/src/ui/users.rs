//! Account pages, following 三员分立: the system administrator creates, disables
//! and re-enables accounts; the security administrator changes roles, lifts
//! lockouts and resets passwords; either of them may look at the accounts.
//! The three system accounts themselves are created only on the command line.

use super::{Ctx, Layout, PageError};
use crate::{AppError, AppState, auth};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use shequ_core::role::{Capability, Role};
use shequ_core::{DivisionCode, FieldErrors, password};
use shequ_db::users::{self, NewUser, User};
use shequ_db::{DbError, PageReq};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/new", get(new_form))
        .route("/users/{id}", get(detail))
        .route("/users/{id}/disable", post(disable))
        .route("/users/{id}/enable", post(enable))
        .route("/users/{id}/role", post(change_role))
        .route("/users/{id}/unlock", post(unlock))
        .route("/users/{id}/password", post(reset_password))
}

/// Accounts per page of the list.
const PER_PAGE: u64 = 50;

/// Shown when someone tries to make a system account in the browser.
const SYSTEM_ROLE_MESSAGE: &str =
    "系统管理员、安全管理员和审计员账号只能由服务器管理员在命令行创建，不能在这里设置。";

/// Admin, security admin and auditor: the roles of 三员分立.
fn is_system_role(r: Role) -> bool {
    matches!(r, Role::Admin | Role::SecurityAdmin | Role::Auditor)
}

/// The signed-in user, when they may look at accounts (admin or security admin).
fn viewer(ctx: &Ctx) -> Result<User, PageError> {
    match ctx.scope(Capability::ManageUsers) {
        Ok((u, _)) => Ok(u),
        Err(_) => ctx.scope(Capability::ManageSecurity).map(|(u, _)| u),
    }
}

/// One account as the pages show it.
pub struct Row {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub division_code: String,
    pub division_name: String,
    pub status: String,
}

fn row(st: &AppState, u: &User, now: DateTime<Utc>) -> Row {
    Row {
        id: u.id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role: u
            .role()
            .map_or_else(|| u.role.clone(), |r| r.label().to_owned()),
        division_code: u.division_code.clone(),
        division_name: st
            .tree
            .get()
            .get(&u.division_code)
            .map(|d| d.name.clone())
            .unwrap_or_default(),
        status: status(u, now),
    }
}

/// 正常, 已停用, or 已锁定至 HH:MM (Beijing time).
fn status(u: &User, now: DateTime<Utc>) -> String {
    match u.locked_until {
        _ if u.disabled => "已停用".to_owned(),
        Some(t) if t > now => format!("已锁定至 {}", super::audit::local(t).format("%H:%M")),
        _ => "正常".to_owned(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "users/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub rows: Vec<Row>,
    pub total: i64,
    pub page: u64,
    pub pages: u64,
    pub can_create: bool,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub page: Option<u64>,
}

/// Every account, by username.
pub async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> Result<ListPage, PageError> {
    viewer(&ctx)?;
    let page = q.page.unwrap_or(1).max(1);
    let found = users::list(&mut st.db.conn(), PageReq::new(Some(page), Some(PER_PAGE)))
        .await
        .map_err(|e| ctx.err(e))?;
    let now = st.now();
    Ok(ListPage {
        layout: ctx.layout("用户管理", "users"),
        rows: found.items.iter().map(|u| row(&st, u, now)).collect(),
        total: found.total,
        page,
        pages: (found.total.max(0) as u64).div_ceil(PER_PAGE),
        can_create: ctx.can(Capability::ManageUsers),
    })
}

/// A role in a select box: code, label, selected.
pub type RoleOption = (&'static str, &'static str, bool);

/// The roles that may be given in the browser (not the three system roles).
fn role_options(selected: &str) -> Vec<RoleOption> {
    Role::ALL
        .iter()
        .filter(|r| !is_system_role(**r))
        .map(|r| (r.as_str(), r.label(), r.as_str() == selected))
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "users/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub v: NewValues,
    pub roles: Vec<RoleOption>,
    pub errors: Vec<String>,
}

/// The new-account form's fields. Passwords are never echoed back.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewValues {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub confirm: String,
    #[serde(default)]
    pub csrf: String,
}

fn form_page(ctx: &Ctx, v: NewValues, errors: Vec<String>) -> FormPage {
    FormPage {
        layout: ctx.layout("新建用户", "users"),
        roles: role_options(&v.role),
        v,
        errors,
    }
}

/// The form again, with what was wrong, as 422.
fn reject_form(ctx: &Ctx, v: NewValues, errors: Vec<String>) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, form_page(ctx, v, errors)).into_response()
}

pub async fn new_form(ctx: Ctx) -> Result<FormPage, PageError> {
    ctx.scope(Capability::ManageUsers)?;
    let v = NewValues {
        role: Role::CommunityStaff.as_str().into(),
        ..Default::default()
    };
    Ok(form_page(&ctx, v, Vec::new()))
}

fn messages(e: FieldErrors) -> Vec<String> {
    e.0.into_iter().map(|x| x.message).collect()
}

/// Check the role and division fields; both forms use this.
fn parse_role(
    role: &str,
    division: &str,
    errors: &mut Vec<String>,
) -> Option<(Role, DivisionCode)> {
    let role = match Role::parse(role.trim()) {
        None => {
            errors.push("请选择角色".to_owned());
            None
        }
        Some(r) if is_system_role(r) => {
            errors.push(SYSTEM_ROLE_MESSAGE.to_owned());
            None
        }
        Some(r) => Some(r),
    };
    let division = match division.trim() {
        "" => {
            errors.push("请填写所属区划代码".to_owned());
            None
        }
        d => DivisionCode::parse(d)
            .map_err(|e| errors.push(format!("区划代码有误：{e}")))
            .ok(),
    };
    role.zip(division)
}

/// Check the two password fields against each other and the policy.
fn check_new_password(username: &str, pw: &str, confirm: &str, errors: &mut Vec<String>) {
    if pw != confirm {
        errors.push("两次输入的密码不一致".to_owned());
    }
    if let Err(e) = password::check_policy(username, pw) {
        errors.extend(messages(e));
    }
}

/// Every check that needs no database; the account without its password hash.
fn check_new(v: &NewValues) -> Result<NewUser, Vec<String>> {
    let mut errors = Vec::new();
    let username = v.username.trim().to_owned();
    let mut fe = FieldErrors::new();
    users::check_username(&username, &mut fe);
    errors.extend(messages(fe));
    if v.display_name.trim().is_empty() {
        errors.push("请填写姓名".to_owned());
    }
    let rd = parse_role(&v.role, &v.division, &mut errors);
    check_new_password(&username, &v.password, &v.confirm, &mut errors);
    match rd {
        Some((role, division)) if errors.is_empty() => Ok(NewUser {
            username,
            display_name: v.display_name.trim().to_owned(),
            role,
            division,
            password_hash: String::new(),
        }),
        _ => Err(errors),
    }
}

/// Create an account (system administrator only).
pub async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(v): Form<NewValues>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&v.csrf)?;
    let (admin, _) = ctx.scope(Capability::ManageUsers)?;
    let mut new = match check_new(&v) {
        Ok(n) => n,
        Err(errors) => return Ok(reject_form(&ctx, v, errors)),
    };
    let taken = users::find_by_username(&mut st.db.conn(), &new.username)
        .await
        .map_err(|e| ctx.err(e))?;
    if taken.is_some() {
        let msg = format!("用户名 {} 已被使用，请换一个", new.username);
        return Ok(reject_form(&ctx, v, vec![msg]));
    }
    new.password_hash = auth::hash(&v.password).await.map_err(|e| ctx.err(e))?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match users::create(&mut tx.conn(), &admin.actor(), &new, st.now()).await {
        Ok(id) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/users/{id}?done=created")).into_response())
        }
        Err(DbError::Invalid(fe)) => Ok(reject_form(&ctx, v, messages(fe))),
        Err(DbError::Conflict(_)) => Ok(reject_form(
            &ctx,
            v,
            vec![format!("用户名 {} 已被使用，请换一个", new.username)],
        )),
        Err(e) => Err(ctx.err(e)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "users/detail.html")]
pub struct DetailPage {
    pub layout: Layout,
    pub u: Row,
    pub failed_logins: i64,
    pub password_changed: String,
    pub disabled: bool,
    pub locked: bool,
    pub is_self: bool,
    pub is_system: bool,
    pub can_manage: bool,
    pub can_secure: bool,
    pub roles: Vec<RoleOption>,
    pub notice: &'static str,
    pub errors: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    pub done: String,
}

/// The message after a change succeeded (post, redirect, get).
fn notice(done: &str) -> &'static str {
    match done {
        "created" => "账号已创建。请把初始密码当面告知本人，并提醒其登录后修改。",
        "disabled" => "账号已停用，该用户已被退出登录。",
        "enabled" => "账号已重新启用。",
        "role" => "角色和区划已修改，该用户需要重新登录。",
        "unlocked" => "已解除锁定，该用户可以重新登录。",
        "password" => "密码已重置，该用户在所有设备上的登录都已失效。请把新密码当面告知本人。",
        _ => "",
    }
}

/// The account `id`, or a 404 page.
async fn target(st: &AppState, ctx: &Ctx, id: i64) -> Result<User, PageError> {
    users::get(&mut st.db.conn(), id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::NotFound("没有找到该账号。".into())))
}

fn detail_page(
    st: &AppState,
    ctx: &Ctx,
    me: &User,
    t: &User,
    notice: &'static str,
    errors: Vec<String>,
) -> DetailPage {
    let now = st.now();
    DetailPage {
        layout: ctx.layout(format!("账号 {}", t.username), "users"),
        u: row(st, t, now),
        failed_logins: t.failed_logins,
        password_changed: super::audit::local(t.password_changed_at)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        disabled: t.disabled,
        locked: t.is_locked(now),
        is_self: me.id == t.id,
        is_system: t.role().is_some_and(is_system_role),
        can_manage: ctx.can(Capability::ManageUsers),
        can_secure: ctx.can(Capability::ManageSecurity),
        roles: role_options(&t.role),
        notice,
        errors,
    }
}

/// One account and the forms the viewer may use on it.
pub async fn detail(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> Result<DetailPage, PageError> {
    let me = viewer(&ctx)?;
    let t = target(&st, &ctx, id).await?;
    Ok(detail_page(&st, &ctx, &me, &t, notice(&q.done), Vec::new()))
}

/// The detail page with what was wrong, as 422.
fn reject_detail(st: &AppState, ctx: &Ctx, me: &User, t: &User, errors: Vec<String>) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        detail_page(st, ctx, me, t, "", errors),
    )
        .into_response()
}

fn done(id: i64, what: &str) -> Response {
    Redirect::to(&format!("/users/{id}?done={what}")).into_response()
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn disable(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    set_disabled(&st, &ctx, id, &f.csrf, true).await
}

pub async fn enable(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    set_disabled(&st, &ctx, id, &f.csrf, false).await
}

/// Disable or re-enable an account (system administrator only, never oneself).
async fn set_disabled(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    csrf: &str,
    disabled: bool,
) -> Result<Response, PageError> {
    ctx.check_csrf(csrf)?;
    let (admin, _) = ctx.scope(Capability::ManageUsers)?;
    let t = target(st, ctx, id).await?;
    if disabled && t.id == admin.id {
        return Ok(reject_detail(
            st,
            ctx,
            &admin,
            &t,
            vec!["不能停用自己的账号。".into()],
        ));
    }
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    users::set_disabled(&mut tx.conn(), &admin.actor(), id, disabled, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    tx.commit().await.map_err(|e| ctx.err(e))?;
    Ok(done(id, if disabled { "disabled" } else { "enabled" }))
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub csrf: String,
}

/// Why a role change may not happen, before looking at the new values.
fn role_change_refusal(me: &User, t: &User) -> Option<String> {
    if me.id == t.id {
        return Some("不能修改自己的角色。".into());
    }
    t.role()
        .is_some_and(is_system_role)
        .then(|| "系统管理员、安全管理员和审计员账号的角色不能在这里修改。".into())
}

/// Change an account's role and division (security administrator only).
pub async fn change_role(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<RoleForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (me, _) = ctx.scope(Capability::ManageSecurity)?;
    let t = target(&st, &ctx, id).await?;
    if let Some(msg) = role_change_refusal(&me, &t) {
        return Ok(reject_detail(&st, &ctx, &me, &t, vec![msg]));
    }
    let mut errors = Vec::new();
    let Some((role, division)) = parse_role(&f.role, &f.division, &mut errors) else {
        return Ok(reject_detail(&st, &ctx, &me, &t, errors));
    };
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match users::set_role(&mut tx.conn(), &me.actor(), id, role, &division, st.now()).await {
        Ok(()) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(done(id, "role"))
        }
        Err(DbError::Invalid(fe)) => Ok(reject_detail(&st, &ctx, &me, &t, messages(fe))),
        Err(e) => Err(ctx.err(e)),
    }
}

/// Lift a lockout (security administrator only).
pub async fn unlock(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (me, _) = ctx.scope(Capability::ManageSecurity)?;
    let t = target(&st, &ctx, id).await?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    users::unlock(&mut tx.conn(), &me.actor(), t.id, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    tx.commit().await.map_err(|e| ctx.err(e))?;
    Ok(done(id, "unlocked"))
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub new_password: String,
    #[serde(default)]
    pub confirm: String,
    #[serde(default)]
    pub csrf: String,
}

/// Set a new password for someone else (security administrator only); their sessions and tokens end.
pub async fn reset_password(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<PasswordForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (me, _) = ctx.scope(Capability::ManageSecurity)?;
    let t = target(&st, &ctx, id).await?;
    if me.id == t.id {
        return Ok(reject_detail(
            &st,
            &ctx,
            &me,
            &t,
            vec!["请在“修改密码”页面修改自己的密码。".into()],
        ));
    }
    let mut errors = Vec::new();
    check_new_password(&t.username, &f.new_password, &f.confirm, &mut errors);
    if !errors.is_empty() {
        return Ok(reject_detail(&st, &ctx, &me, &t, errors));
    }
    let hash = auth::hash(&f.new_password).await.map_err(|e| ctx.err(e))?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    users::set_password(&mut tx.conn(), &me.actor(), t.id, &hash, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    tx.commit().await.map_err(|e| ctx.err(e))?;
    Ok(done(id, "password"))
}
