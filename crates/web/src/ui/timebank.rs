//! 时间银行 pages: 我的时间银行 (a volunteer's own balance and statement,
//! phone-first), and for staff the ledger overview (pool, guarantee, time held in
//! the area, the ledger check), sign-ups waiting to be deposited, accounts with
//! their statements, and forms to post a withdrawal or a grant.

use super::{Ctx, Layout, PageError};
use crate::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use shequ_core::DivisionCode;
use shequ_core::role::Capability;
use shequ_core::timebank::{self as core, AccountKind};
use shequ_db::scope::Scope;
use shequ_db::timebank::{self as store, AccountRow, StatementLine};
use shequ_db::{DbError, PageReq};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/timebank", get(overview))
        .route("/timebank/me", get(mine))
        .route("/timebank/accounts/{id}", get(account_page))
        .route("/timebank/deposit", post(deposit))
        .route("/timebank/withdraw", post(withdraw))
        .route("/timebank/grant", post(grant))
}

/// A statement line as shown.
pub struct Line {
    pub date: String,
    pub kind: String,
    pub amount: String,
    pub incoming: bool,
    pub detail: String,
}

fn line(l: &StatementLine) -> Line {
    let mut detail = Vec::new();
    if !l.beneficiary.is_empty() {
        detail.push(l.beneficiary.clone());
    }
    if !l.note.is_empty() {
        detail.push(l.note.clone());
    }
    if let Some(r) = l.reverses_id {
        detail.push(format!("冲正第 {r} 笔"));
    }
    Line {
        date: (l.created_at + chrono::Duration::hours(8))
            .format("%Y-%m-%d")
            .to_string(),
        kind: l.kind().map_or("", |k| k.label()).into(),
        amount: format!(
            "{}{}",
            if l.minutes > 0 { "+" } else { "" },
            core::hours(l.minutes)
        ),
        incoming: l.minutes > 0,
        detail: detail.join(" · "),
    }
}

// ---------------------------------------------------------------- mine

#[derive(Template, WebTemplate)]
#[template(path = "timebank/me.html")]
pub struct MinePage {
    pub layout: Layout,
    pub has_account: bool,
    pub balance: String,
    pub cap: String,
    pub lines: Vec<Line>,
}

pub async fn mine(State(st): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let mut c = st.db.conn();
    let rules = store::rules(&mut c).await.map_err(|e| ctx.err(e))?;
    let account = store::account_of_user(&mut c, user.id)
        .await
        .map_err(|e| ctx.err(e))?;
    let lines = match &account {
        Some(a) => store::statement(&mut c, a.id, PageReq::new(Some(1), Some(50)))
            .await
            .map_err(|e| ctx.err(e))?
            .items
            .iter()
            .map(line)
            .collect(),
        None => Vec::new(),
    };
    Ok(MinePage {
        layout: ctx.layout("我的时间银行", "timebank"),
        has_account: account.is_some(),
        balance: core::hours(account.as_ref().map_or(0, |a| a.balance_minutes)),
        cap: format!("{} 小时", rules.cap_hours),
        lines,
    }
    .into_response())
}

// ---------------------------------------------------------------- staff overview

pub struct AccountLine {
    pub id: i64,
    pub name: String,
    pub number: String,
    pub kind: &'static str,
    pub balance: String,
}

fn account_line(a: &AccountRow) -> AccountLine {
    AccountLine {
        id: a.id,
        name: a.name(),
        number: a.volunteer_no.clone().unwrap_or_default(),
        kind: a.kind().label(),
        balance: core::hours(a.balance_minutes),
    }
}

pub struct PendingLine {
    pub signup_id: i64,
    pub name: String,
    pub title: String,
    pub date: String,
    pub hours: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PostForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub signup_id: Option<i64>,
    #[serde(default)]
    pub volunteer_no: String,
    #[serde(default)]
    pub hours: String,
    #[serde(default)]
    pub beneficiary: String,
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "timebank/overview.html")]
pub struct OverviewPage {
    pub layout: Layout,
    pub pool: String,
    pub guarantee: String,
    pub held: String,
    pub volunteer_accounts: i64,
    pub ledger_ok: bool,
    pub cap_hours: i64,
    pub max_withdrawal_hours: i64,
    pub pending: Vec<PendingLine>,
    pub accounts: Vec<AccountLine>,
    pub accounts_total: i64,
    pub notice: String,
    pub errors: Vec<String>,
    pub v: PostForm,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct OverviewParams {
    #[serde(default)]
    pub done: String,
}

async fn overview_page(
    st: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    notice: String,
    errors: Vec<String>,
    v: PostForm,
) -> Result<OverviewPage, PageError> {
    let mut c = st.db.conn();
    let t = store::totals(&mut c, scope).await.map_err(|e| ctx.err(e))?;
    let check = store::verify(&mut c).await.map_err(|e| ctx.err(e))?;
    let rules = store::rules(&mut c).await.map_err(|e| ctx.err(e))?;
    let pending = store::pending_deposits(&mut c, scope, 30)
        .await
        .map_err(|e| ctx.err(e))?;
    let accounts = store::accounts(
        &mut c,
        scope,
        Some(AccountKind::Volunteer),
        PageReq::new(Some(1), Some(50)),
    )
    .await
    .map_err(|e| ctx.err(e))?;
    Ok(OverviewPage {
        layout: ctx.layout("时间银行", "timebank"),
        pool: core::hours(t.pool_minutes),
        guarantee: core::hours(t.guarantee_minutes),
        held: core::hours(t.volunteer_minutes + t.team_minutes),
        volunteer_accounts: t.volunteer_accounts,
        ledger_ok: check.ok(),
        cap_hours: rules.cap_hours,
        max_withdrawal_hours: rules.max_withdrawal_hours,
        pending: pending
            .iter()
            .map(|p| PendingLine {
                signup_id: p.signup_id,
                name: p.volunteer_name.clone(),
                title: p.title.clone(),
                date: (p.starts_at + chrono::Duration::hours(8))
                    .format("%Y-%m-%d")
                    .to_string(),
                hours: core::hours(p.minutes),
            })
            .collect(),
        accounts: accounts.items.iter().map(account_line).collect(),
        accounts_total: accounts.total,
        notice,
        errors,
        v,
    })
}

pub async fn overview(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<OverviewParams>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let notice = match q.done.as_str() {
        "deposit" => "已存入时间银行。",
        "withdraw" => "已记录支取。",
        "grant" => "已从公益时间中发放。",
        _ => "",
    }
    .to_owned();
    Ok(
        overview_page(&st, &ctx, &scope, notice, Vec::new(), PostForm::default())
            .await?
            .into_response(),
    )
}

/// Run a posting; on a refusal show the overview again with the message.
async fn posted(
    st: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    f: PostForm,
    done: &str,
    result: Result<store::Posted, DbError>,
    tx: shequ_db::Tx,
) -> Result<Response, PageError> {
    match result {
        Ok(_) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/timebank?done={done}")).into_response())
        }
        Err(DbError::Invalid(e)) => {
            drop(tx);
            let errors = e.0.iter().map(|e| e.message.clone()).collect();
            Ok(overview_page(st, ctx, scope, String::new(), errors, f)
                .await?
                .into_response())
        }
        Err(DbError::NotFound) => {
            drop(tx);
            Ok(overview_page(
                st,
                ctx,
                scope,
                String::new(),
                vec!["您的管辖范围内没有该记录".into()],
                f,
            )
            .await?
            .into_response())
        }
        Err(e) => Err(ctx.err(e)),
    }
}

async fn refuse(
    st: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    f: PostForm,
    msg: &str,
) -> Result<Response, PageError> {
    Ok(
        overview_page(st, ctx, scope, String::new(), vec![msg.to_owned()], f)
            .await?
            .into_response(),
    )
}

pub async fn deposit(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<PostForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let Some(id) = f.signup_id else {
        return refuse(&st, &ctx, &scope, f, "请选择要存入的服务记录").await;
    };
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    let r = store::deposit_signup(&mut tx.conn(), &scope, id, false, st.now()).await;
    posted(&st, &ctx, &scope, f, "deposit", r, tx).await
}

pub async fn withdraw(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<PostForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let minutes = match core::parse_hours(&f.hours) {
        Ok(m) => m,
        Err(e) => return refuse(&st, &ctx, &scope, f, &e.to_string()).await,
    };
    let v = shequ_db::certificates::volunteer_by_no(&mut st.db.conn(), &scope, &f.volunteer_no)
        .await
        .map_err(|e| ctx.err(e))?;
    let Some(v) = v else {
        return refuse(&st, &ctx, &scope, f, "您的管辖范围内没有该志愿者编号").await;
    };
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    let r = store::withdraw(
        &mut tx.conn(),
        &scope,
        v.id,
        minutes,
        &f.beneficiary,
        &f.note,
        st.now(),
    )
    .await;
    posted(&st, &ctx, &scope, f, "withdraw", r, tx).await
}

pub async fn grant(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<PostForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let minutes = match core::parse_hours(&f.hours) {
        Ok(m) => m,
        Err(e) => return refuse(&st, &ctx, &scope, f, &e.to_string()).await,
    };
    let Ok(division) = DivisionCode::parse(f.division.trim()) else {
        return refuse(&st, &ctx, &scope, f, "请填写受助人所在村（社区）的区划代码").await;
    };
    let from_guarantee = f.source == "guarantee";
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    let r = store::grant(
        &mut tx.conn(),
        &scope,
        from_guarantee,
        &f.beneficiary,
        &division,
        minutes,
        &f.note,
        st.now(),
    )
    .await;
    posted(&st, &ctx, &scope, f, "grant", r, tx).await
}

// ---------------------------------------------------------------- one account

#[derive(Template, WebTemplate)]
#[template(path = "timebank/account.html")]
pub struct AccountPage {
    pub layout: Layout,
    pub a: AccountLine,
    pub lines: Vec<Line>,
    pub total: i64,
    pub page: u64,
    pub pages: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PageParams {
    #[serde(default)]
    pub page: Option<u64>,
}

pub async fn account_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<PageParams>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let mut c = st.db.conn();
    let a = store::account(&mut c, &scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(crate::AppError::not_found()))?;
    let page_no = q.page.unwrap_or(1).max(1);
    let s = store::statement(&mut c, a.id, PageReq::new(Some(page_no), Some(50)))
        .await
        .map_err(|e| ctx.err(e))?;
    Ok(AccountPage {
        layout: ctx.layout(format!("{} · 时间银行", a.name()), "timebank"),
        a: account_line(&a),
        lines: s.items.iter().map(line).collect(),
        total: s.total,
        page: page_no,
        pages: (s.total.max(0) as u64).div_ceil(50),
    }
    .into_response())
}
