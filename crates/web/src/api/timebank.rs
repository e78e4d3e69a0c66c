//! 时间银行 over JSON: accounts, balances and statements, and the postings staff
//! make (`manage_volunteers`): deposits from confirmed elder-care service,
//! withdrawals, family transfers, donations to the pool, grants to people in
//! need, guarantee top-ups, reversals; the rules (city staff change them). A
//! volunteer reads their own account at `/api/v1/timebank/me`.
//!
//! Amounts are whole minutes. Refusals carry their own code:
//! `insufficient_balance`, `already_deposited`, `over_cap`,
//! `withdrawal_too_large`, `account_not_allowed`, `not_elder_care`, …

use super::List;
use super::certificates::{Fail, FailResult};
use crate::auth::{ApiUser, scope_for};
use crate::error::ErrorBody;
use crate::extract::{ApiJson, ApiQuery, division_code};
use crate::{AppError, AppState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shequ_core::role::Capability;
use shequ_core::timebank::{self as core, AccountKind, Rules};
use shequ_db::scope::Scope;
use shequ_db::timebank::{self as store, AccountRow, Posted, StatementLine};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(accounts))
        .routes(routes!(account))
        .routes(routes!(statement))
        .routes(routes!(me))
        .routes(routes!(summary))
        .routes(routes!(deposit))
        .routes(routes!(withdraw))
        .routes(routes!(transfer))
        .routes(routes!(donate))
        .routes(routes!(grant))
        .routes(routes!(fund))
        .routes(routes!(reverse))
        .routes(routes!(get_settings, put_settings))
}

/// An account and its balance.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: i64,
    /// `volunteer`, `team`, `pool`, `guarantee` or `issued`.
    pub kind: String,
    pub kind_label: String,
    pub name: String,
    pub volunteer_id: Option<i64>,
    pub volunteer_no: Option<String>,
    pub team_id: Option<i64>,
    pub division: Option<String>,
    pub balance_minutes: i64,
    /// "12 小时 30 分钟".
    pub balance: String,
}

pub fn account_view(a: &AccountRow) -> AccountView {
    AccountView {
        id: a.id,
        kind: a.kind.clone(),
        kind_label: a.kind().label().into(),
        name: a.name(),
        volunteer_id: a.volunteer_id,
        volunteer_no: a.volunteer_no.clone(),
        team_id: a.team_id,
        division: a.division_code.clone(),
        balance_minutes: a.balance_minutes,
        balance: core::hours(a.balance_minutes),
    }
}

/// One statement line.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineView {
    pub transaction_id: i64,
    /// `deposit`, `overflow`, `withdraw`, `transfer`, `donate`, `grant`, `fund` or `reversal`.
    pub kind: String,
    pub kind_label: String,
    /// Positive in, negative out.
    pub minutes: i64,
    pub beneficiary: String,
    pub note: String,
    pub signup_id: Option<i64>,
    pub reverses_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

pub fn line_view(l: &StatementLine) -> LineView {
    LineView {
        transaction_id: l.transaction_id,
        kind: l.kind.clone(),
        kind_label: l.kind().map_or("", |k| k.label()).into(),
        minutes: l.minutes,
        beneficiary: l.beneficiary.clone(),
        note: l.note.clone(),
        signup_id: l.signup_id,
        reverses_id: l.reverses_id,
        created_at: l.created_at,
    }
}

/// What a posting did.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostedView {
    pub transaction_ids: Vec<i64>,
    /// The main account's balance afterwards.
    pub balance_minutes: i64,
    /// Minutes that went to the pool because of the cap.
    pub overflow_minutes: i64,
}

impl From<Posted> for PostedView {
    fn from(p: Posted) -> Self {
        PostedView {
            transaction_ids: p.transaction_ids,
            balance_minutes: p.balance_minutes,
            overflow_minutes: p.overflow_minutes,
        }
    }
}

fn staff(user: &shequ_db::users::User) -> Result<Scope, AppError> {
    scope_for(user, Capability::ManageVolunteers)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct AccountsQuery {
    /// `volunteer`, `team`, `pool`, `guarantee` or `issued`.
    pub kind: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// Accounts in your area (volunteers and teams there) and the system accounts.
#[utoipa::path(get, path = "/api/v1/timebank/accounts", tag = "timebank", params(AccountsQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page of accounts", body = List<AccountView>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the time bank", body = ErrorBody)))]
pub async fn accounts(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<AccountsQuery>,
) -> FailResult<Json<List<AccountView>>> {
    let scope = staff(&user)?;
    let page = super::Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let kind = match q.kind.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(k) => Some(
            AccountKind::parse(k)
                .ok_or_else(|| AppError::bad_request("bad_kind", "未知的账户类型"))?,
        ),
        None => None,
    };
    let found = store::accounts(&mut st.db.conn(), &scope, kind, page).await?;
    Ok(Json(List {
        items: found.items.iter().map(account_view).collect(),
        total: found.total,
    }))
}

/// One account with its balance.
#[utoipa::path(get, path = "/api/v1/timebank/accounts/{id}", tag = "timebank", params(("id" = i64, Path, description = "Account id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The account", body = AccountView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the time bank", body = ErrorBody),
        (status = 404, description = "No such account in your area", body = ErrorBody)))]
pub async fn account(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> FailResult<Json<AccountView>> {
    let scope = staff(&user)?;
    let a = store::account(&mut st.db.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Json(account_view(&a)))
}

/// An account's postings, newest first.
#[utoipa::path(get, path = "/api/v1/timebank/accounts/{id}/statement", tag = "timebank",
    params(("id" = i64, Path, description = "Account id"), super::Paging),
    security(("bearer" = [])),
    responses((status = 200, description = "One page of the statement", body = List<LineView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the time bank", body = ErrorBody),
        (status = 404, description = "No such account in your area", body = ErrorBody)))]
pub async fn statement(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiQuery(p): ApiQuery<super::Paging>,
) -> FailResult<Json<List<LineView>>> {
    let scope = staff(&user)?;
    let page = p.resolve()?;
    let a = store::account(&mut st.db.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let s = store::statement(&mut st.db.conn(), a.id, page).await?;
    Ok(Json(List {
        items: s.items.iter().map(line_view).collect(),
        total: s.total,
    }))
}

/// A volunteer's own account and latest postings.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyAccount {
    /// None until the first deposit.
    pub account: Option<AccountView>,
    pub lines: Vec<LineView>,
    pub cap_hours: i64,
}

/// Your own time-bank account (a volunteer's login): balance and the latest 50 postings.
#[utoipa::path(get, path = "/api/v1/timebank/me", tag = "timebank", security(("bearer" = [])),
    responses((status = 200, description = "Your account", body = MyAccount),
        (status = 401, description = "Not signed in", body = ErrorBody)))]
pub async fn me(State(st): State<AppState>, ApiUser(user): ApiUser) -> FailResult<Json<MyAccount>> {
    let mut c = st.db.conn();
    let rules = store::rules(&mut c).await?;
    let account = store::account_of_user(&mut c, user.id).await?;
    let lines = match &account {
        Some(a) => store::statement(&mut c, a.id, shequ_db::PageReq::new(Some(1), Some(50)))
            .await?
            .items
            .iter()
            .map(line_view)
            .collect(),
        None => Vec::new(),
    };
    Ok(Json(MyAccount {
        account: account.as_ref().map(account_view),
        lines,
        cap_hours: rules.cap_hours,
    }))
}

/// Totals and the ledger check.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryView {
    pub pool_minutes: i64,
    pub guarantee_minutes: i64,
    /// Held by volunteers in your area.
    pub volunteer_minutes: i64,
    /// Held by teams in your area.
    pub team_minutes: i64,
    pub volunteer_accounts: i64,
    /// The whole ledger balances: postings sum to zero per transaction and
    /// overall, balances equal their postings, limits hold.
    pub ledger_ok: bool,
    pub transactions: i64,
}

/// The pool, the guarantee account, time held in your area, and whether the ledger is whole.
#[utoipa::path(get, path = "/api/v1/timebank/summary", tag = "timebank", security(("bearer" = [])),
    responses((status = 200, description = "Totals", body = SummaryView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the time bank", body = ErrorBody)))]
pub async fn summary(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
) -> FailResult<Json<SummaryView>> {
    let scope = staff(&user)?;
    let mut c = st.db.conn();
    let t = store::totals(&mut c, &scope).await?;
    let check = store::verify(&mut c).await?;
    Ok(Json(SummaryView {
        pool_minutes: t.pool_minutes,
        guarantee_minutes: t.guarantee_minutes,
        volunteer_minutes: t.volunteer_minutes,
        team_minutes: t.team_minutes,
        volunteer_accounts: t.volunteer_accounts,
        ledger_ok: check.ok(),
        transactions: check.transactions,
    }))
}

/// A deposit request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDeposit {
    /// A completed sign-up with confirmed minutes, of an elder-care activity
    /// organised in your area.
    pub signup_id: i64,
    /// Credit the activity's team instead of the volunteer (team time can only be donated).
    #[serde(default)]
    pub to_team: bool,
}

/// Deposit the confirmed minutes of a sign-up (once per sign-up); above the cap
/// the excess goes to the pool.
#[utoipa::path(post, path = "/api/v1/timebank/deposits", tag = "timebank", request_body = RawDeposit, security(("bearer" = [])),
    responses((status = 201, description = "Deposited", body = PostedView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the time bank", body = ErrorBody),
        (status = 404, description = "No such sign-up organised in your area", body = ErrorBody),
        (status = 409, description = "`already_deposited`", body = ErrorBody),
        (status = 422, description = "`not_confirmed`, `not_elder_care`, `no_team`", body = ErrorBody)))]
pub async fn deposit(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RawDeposit>,
) -> FailResult<(StatusCode, Json<PostedView>)> {
    let scope = staff(&user)?;
    let mut tx = st.db.begin().await?;
    let p =
        store::deposit_signup(&mut tx.conn(), &scope, raw.signup_id, raw.to_team, st.now()).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

/// A withdrawal.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWithdraw {
    pub volunteer_id: i64,
    /// 1 … the per-withdrawal limit.
    pub minutes: i64,
    /// Who received the service: the volunteer or a named family member.
    #[serde(default)]
    pub beneficiary: String,
    #[serde(default)]
    pub note: String,
}

/// Service received by the volunteer or a family member: debits the volunteer.
#[utoipa::path(post, path = "/api/v1/timebank/withdrawals", tag = "timebank", request_body = RawWithdraw, security(("bearer" = [])),
    responses((status = 201, description = "Withdrawn", body = PostedView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the time bank", body = ErrorBody),
        (status = 404, description = "No such volunteer in your area", body = ErrorBody),
        (status = 422, description = "`insufficient_balance`, `withdrawal_too_large`, `bad_amount`", body = ErrorBody)))]
pub async fn withdraw(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RawWithdraw>,
) -> FailResult<(StatusCode, Json<PostedView>)> {
    let scope = staff(&user)?;
    let mut tx = st.db.begin().await?;
    let p = store::withdraw(
        &mut tx.conn(),
        &scope,
        raw.volunteer_id,
        raw.minutes,
        &raw.beneficiary,
        &raw.note,
        st.now(),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

/// A transfer to a family member.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTransfer {
    /// The giving volunteer (in your area).
    pub volunteer_id: i64,
    /// The receiving family member's volunteer number.
    pub to_volunteer_no: String,
    pub minutes: i64,
    #[serde(default)]
    pub note: String,
}

/// Give time to a family member's volunteer account (not above its cap).
#[utoipa::path(post, path = "/api/v1/timebank/transfers", tag = "timebank", request_body = RawTransfer, security(("bearer" = [])),
    responses((status = 201, description = "Transferred", body = PostedView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the time bank", body = ErrorBody),
        (status = 404, description = "No such volunteer in your area", body = ErrorBody),
        (status = 422, description = "`insufficient_balance`, `over_cap`, `same_account`, unknown recipient", body = ErrorBody)))]
pub async fn transfer(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RawTransfer>,
) -> FailResult<(StatusCode, Json<PostedView>)> {
    let scope = staff(&user)?;
    let mut tx = st.db.begin().await?;
    let p = store::transfer(
        &mut tx.conn(),
        &scope,
        raw.volunteer_id,
        &raw.to_volunteer_no,
        raw.minutes,
        &raw.note,
        st.now(),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

/// A donation to the pool.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDonate {
    /// A volunteer or team account in your area.
    pub account_id: i64,
    pub minutes: i64,
    #[serde(default)]
    pub note: String,
}

/// A volunteer or team gives time to the pool.
#[utoipa::path(post, path = "/api/v1/timebank/donations", tag = "timebank", request_body = RawDonate, security(("bearer" = [])),
    responses((status = 201, description = "Donated", body = PostedView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the time bank", body = ErrorBody),
        (status = 404, description = "No such account in your area", body = ErrorBody),
        (status = 422, description = "`insufficient_balance`, `account_not_allowed`", body = ErrorBody)))]
pub async fn donate(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RawDonate>,
) -> FailResult<(StatusCode, Json<PostedView>)> {
    let scope = staff(&user)?;
    let mut tx = st.db.begin().await?;
    let p = store::donate(
        &mut tx.conn(),
        &scope,
        raw.account_id,
        raw.minutes,
        &raw.note,
        st.now(),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

/// A grant to a person in need.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGrant {
    /// `pool` (default) or `guarantee`.
    #[serde(default)]
    pub source: Option<String>,
    /// The person served (name).
    pub beneficiary: String,
    /// Where they live (in your area).
    pub division: String,
    pub minutes: i64,
    #[serde(default)]
    pub note: String,
}

/// Service for a person in need, paid from the pool or the guarantee account.
#[utoipa::path(post, path = "/api/v1/timebank/grants", tag = "timebank", request_body = RawGrant, security(("bearer" = [])),
    responses((status = 201, description = "Granted", body = PostedView),
        (status = 400, description = "Bad source or division code", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the time bank", body = ErrorBody),
        (status = 422, description = "`insufficient_balance`, division outside your area", body = ErrorBody)))]
pub async fn grant(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RawGrant>,
) -> FailResult<(StatusCode, Json<PostedView>)> {
    let scope = staff(&user)?;
    let from_guarantee = match raw.source.as_deref().map(str::trim) {
        None | Some("") | Some("pool") => false,
        Some("guarantee") => true,
        Some(_) => {
            return Err(
                AppError::bad_request("bad_source", "source 应为 pool 或 guarantee").into(),
            );
        }
    };
    let division = division_code(raw.division.trim())?;
    let mut tx = st.db.begin().await?;
    let p = store::grant(
        &mut tx.conn(),
        &scope,
        from_guarantee,
        &raw.beneficiary,
        &division,
        raw.minutes,
        &raw.note,
        st.now(),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

/// A guarantee top-up.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFund {
    pub minutes: i64,
    #[serde(default)]
    pub note: String,
}

/// Top up the guarantee account (city staff).
#[utoipa::path(post, path = "/api/v1/timebank/fund", tag = "timebank", request_body = RawFund, security(("bearer" = [])),
    responses((status = 201, description = "Funded", body = PostedView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "`city_only`, or role may not keep the time bank", body = ErrorBody),
        (status = 422, description = "`bad_amount`", body = ErrorBody)))]
pub async fn fund(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RawFund>,
) -> FailResult<(StatusCode, Json<PostedView>)> {
    let scope = staff(&user)?;
    let mut tx = st.db.begin().await?;
    let p = store::fund(&mut tx.conn(), &scope, raw.minutes, &raw.note, st.now()).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

/// A reversal.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReverse {
    pub reason: String,
}

/// Reverse a transaction with one of the exact opposite (once).
#[utoipa::path(post, path = "/api/v1/timebank/transactions/{id}/reverse", tag = "timebank",
    params(("id" = i64, Path, description = "Transaction id")),
    request_body = RawReverse, security(("bearer" = [])),
    responses((status = 201, description = "Reversed", body = PostedView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the time bank", body = ErrorBody),
        (status = 404, description = "No such transaction in your area", body = ErrorBody),
        (status = 409, description = "`already_reversed`", body = ErrorBody),
        (status = 422, description = "`insufficient_balance`, `over_cap`", body = ErrorBody)))]
pub async fn reverse(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(raw): ApiJson<RawReverse>,
) -> FailResult<(StatusCode, Json<PostedView>)> {
    let scope = staff(&user)?;
    let mut tx = st.db.begin().await?;
    let p = store::reverse(&mut tx.conn(), &scope, id, &raw.reason, st.now()).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

/// The rules.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesView {
    /// Most hours a volunteer account holds (default 1500); the rest is donated.
    pub cap_hours: i64,
    /// Lowest volunteer balance, −100 … 0 hours (default 0).
    pub min_balance_hours: i64,
    /// Most hours per withdrawal (default 20).
    pub max_withdrawal_hours: i64,
}

impl From<Rules> for RulesView {
    fn from(r: Rules) -> Self {
        RulesView {
            cap_hours: r.cap_hours,
            min_balance_hours: r.min_balance_hours,
            max_withdrawal_hours: r.max_withdrawal_hours,
        }
    }
}

/// The rules in force.
#[utoipa::path(get, path = "/api/v1/timebank/settings", tag = "timebank", security(("bearer" = [])),
    responses((status = 200, description = "The rules", body = RulesView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the time bank", body = ErrorBody)))]
pub async fn get_settings(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
) -> FailResult<Json<RulesView>> {
    staff(&user)?;
    Ok(Json(store::rules(&mut st.db.conn()).await?.into()))
}

/// Change the rules (city staff).
#[utoipa::path(put, path = "/api/v1/timebank/settings", tag = "timebank", request_body = RulesView, security(("bearer" = [])),
    responses((status = 200, description = "Changed", body = RulesView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "`city_only`, or role may not keep the time bank", body = ErrorBody),
        (status = 422, description = "Values out of range", body = ErrorBody)))]
pub async fn put_settings(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RulesView>,
) -> FailResult<Json<RulesView>> {
    let scope = staff(&user)?;
    let rules = Rules {
        cap_hours: raw.cap_hours,
        min_balance_hours: raw.min_balance_hours,
        max_withdrawal_hours: raw.max_withdrawal_hours,
    };
    let mut tx = st.db.begin().await?;
    let r = store::put_rules(&mut tx.conn(), &scope, &rules, st.now()).await?;
    tx.commit().await?;
    Ok(Json(r.into()))
}

/// Keep `Fail` reachable for pages that share the mapping.
pub fn fail(e: shequ_db::DbError) -> Fail {
    e.into()
}
