//! 时间银行 in the store: accounts, transactions and their postings, the rules in
//! the settings table, and the checks that keep the ledger whole.
//!
//! Every write plans its transaction with [`shequ_core::timebank`] against the
//! balances read in the same database transaction, then stores the transaction,
//! its postings and the new balances. Each balance update is guarded (floor for a
//! debit, cap for a credit to a volunteer), so two writers racing on one account
//! cannot take it past its limits: the loser is refused and nothing is stored.
//!
//! Who may post: staff with `manage_volunteers` whose subtree holds the volunteer
//! (or team) concerned; deposits need the activity organised in their subtree.
//! The rules and the guarantee account are city business (staff bound to the
//! city). Every write is audited.

use crate::audit::{self, Event};
use crate::certificates::{VolunteerActivities, VolunteerSignups, Volunteers};
use crate::scope::Scope;
use crate::{Backend, Conn, DbError, Page, PageReq, Result};
use chrono::{DateTime, Utc};
use sea_query::{
    Alias, Condition, Expr, ExprTrait, Func, Iden, JoinType, OnConflict, Order, Query,
    SelectStatement,
};
use serde::Serialize;
use shequ_core::timebank::{self as core, AccountKind, Acct, Plan, Refusal, Rules, TxKind};
use shequ_core::{DivisionCode, Level};

#[derive(Iden, Clone, Copy)]
enum TimebankAccounts {
    Table,
    Id,
    Kind,
    VolunteerId,
    TeamId,
    SystemKey,
    DivisionCode,
    BalanceMinutes,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
enum TimebankTransactions {
    Table,
    Id,
    Kind,
    SignupId,
    ReversesId,
    DivisionCode,
    Beneficiary,
    Note,
    CreatedBy,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
enum TimebankPostings {
    Table,
    Id,
    TransactionId,
    AccountId,
    Minutes,
}

#[derive(Iden, Clone, Copy)]
enum VolunteerTeams {
    Table,
    Id,
    Name,
    DivisionCode,
}

/// The settings key of the rules.
pub const SETTINGS_KEY: &str = "timebank_rules";
/// Longest beneficiary name or note, in characters.
pub const MAX_NOTE: usize = 200;

fn refused(r: &Refusal) -> DbError {
    DbError::invalid("minutes", r.code(), r.to_string())
}

fn bigint(col: impl sea_query::IntoColumnRef) -> Expr {
    Expr::col(col).cast_as(Alias::new("BIGINT"))
}

// ---------------------------------------------------------------- rules

/// The rules in force (the defaults until changed).
pub async fn rules(c: &mut Conn<'_>) -> Result<Rules> {
    Ok(crate::settings::get(c, SETTINGS_KEY)
        .await?
        .unwrap_or_default())
}

/// Change the rules (staff bound to the city only). Audited.
pub async fn put_rules(
    c: &mut Conn<'_>,
    scope: &Scope,
    new: &Rules,
    now: DateTime<Utc>,
) -> Result<Rules> {
    if scope.root.level() != Level::City {
        return Err(DbError::invalid(
            "scope",
            "city_only",
            "时间银行规则只能由市级工作人员设置",
        ));
    }
    new.validate()?;
    let before = rules(c).await?;
    crate::settings::put(c, SETTINGS_KEY, new).await?;
    let ev = Event::new("timebank_rules", "settings", SETTINGS_KEY)
        .division(scope.root.as_str())
        .detail(serde_json::json!({"before": before, "after": new}));
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(*new)
}

// ---------------------------------------------------------------- accounts

/// An account as stored, with its owner's name.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub kind: String,
    pub volunteer_id: Option<i64>,
    pub team_id: Option<i64>,
    pub division_code: Option<String>,
    pub balance_minutes: i64,
    pub created_at: DateTime<Utc>,
    /// The volunteer's or team's name; empty for system accounts.
    pub owner: Option<String>,
    /// The volunteer number, for volunteer accounts.
    pub volunteer_no: Option<String>,
}

impl AccountRow {
    pub fn kind(&self) -> AccountKind {
        AccountKind::parse(&self.kind).unwrap_or(AccountKind::Issued)
    }

    pub fn acct(&self) -> Acct {
        Acct {
            id: self.id,
            kind: self.kind(),
            balance: self.balance_minutes,
        }
    }

    /// The name shown: the owner's, or the system account's label.
    pub fn name(&self) -> String {
        match &self.owner {
            Some(o) if !o.is_empty() => o.clone(),
            _ => self.kind().label().to_owned(),
        }
    }
}

fn select_accounts() -> SelectStatement {
    let t = TimebankAccounts::Table;
    Query::select()
        .columns([
            (t, TimebankAccounts::Id),
            (t, TimebankAccounts::Kind),
            (t, TimebankAccounts::VolunteerId),
            (t, TimebankAccounts::TeamId),
            (t, TimebankAccounts::DivisionCode),
            (t, TimebankAccounts::CreatedAt),
        ])
        .expr_as(
            bigint((t, TimebankAccounts::BalanceMinutes)),
            Alias::new("balance_minutes"),
        )
        .expr_as(
            Func::coalesce([
                Expr::col((Volunteers::Table, Volunteers::Name)),
                Expr::col((VolunteerTeams::Table, VolunteerTeams::Name)),
            ]),
            Alias::new("owner"),
        )
        .expr_as(
            Expr::col((Volunteers::Table, Volunteers::VolunteerNo)),
            Alias::new("volunteer_no"),
        )
        .from(t)
        .join(
            JoinType::LeftJoin,
            Volunteers::Table,
            Expr::col((Volunteers::Table, Volunteers::Id))
                .equals((t, TimebankAccounts::VolunteerId)),
        )
        .join(
            JoinType::LeftJoin,
            VolunteerTeams::Table,
            Expr::col((VolunteerTeams::Table, VolunteerTeams::Id))
                .equals((t, TimebankAccounts::TeamId)),
        )
        .to_owned()
}

async fn account_where(c: &mut Conn<'_>, cond: Condition) -> Result<Option<AccountRow>> {
    let q = select_accounts().cond_where(cond).to_owned();
    c.fetch_optional(&q).await
}

/// One of the three system accounts, created on first use.
pub async fn system_account(
    c: &mut Conn<'_>,
    kind: AccountKind,
    now: DateTime<Utc>,
) -> Result<AccountRow> {
    if !kind.is_system() {
        return Err(DbError::Conflict("不是系统账户".into()));
    }
    let ins = Query::insert()
        .into_table(TimebankAccounts::Table)
        .columns([
            TimebankAccounts::Kind,
            TimebankAccounts::SystemKey,
            TimebankAccounts::BalanceMinutes,
            TimebankAccounts::CreatedAt,
        ])
        .values_panic([
            kind.as_str().into(),
            kind.as_str().into(),
            0i64.into(),
            now.into(),
        ])
        .on_conflict(
            OnConflict::column(TimebankAccounts::SystemKey)
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    c.execute(&ins).await?;
    account_where(
        c,
        Condition::all().add(
            Expr::col((TimebankAccounts::Table, TimebankAccounts::SystemKey)).eq(kind.as_str()),
        ),
    )
    .await?
    .ok_or(DbError::NotFound)
}

/// The account of a volunteer (created on first use).
pub async fn volunteer_account(
    c: &mut Conn<'_>,
    volunteer_id: i64,
    division_code: &str,
    now: DateTime<Utc>,
) -> Result<AccountRow> {
    let cond = || {
        Condition::all().add(
            Expr::col((TimebankAccounts::Table, TimebankAccounts::VolunteerId)).eq(volunteer_id),
        )
    };
    if let Some(a) = account_where(c, cond()).await? {
        return Ok(a);
    }
    let ins = Query::insert()
        .into_table(TimebankAccounts::Table)
        .columns([
            TimebankAccounts::Kind,
            TimebankAccounts::VolunteerId,
            TimebankAccounts::DivisionCode,
            TimebankAccounts::BalanceMinutes,
            TimebankAccounts::CreatedAt,
        ])
        .values_panic([
            AccountKind::Volunteer.as_str().into(),
            volunteer_id.into(),
            division_code.into(),
            0i64.into(),
            now.into(),
        ])
        .on_conflict(
            OnConflict::column(TimebankAccounts::VolunteerId)
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    c.execute(&ins).await?;
    account_where(c, cond()).await?.ok_or(DbError::NotFound)
}

/// The account of a team (created on first use).
pub async fn team_account(
    c: &mut Conn<'_>,
    team_id: i64,
    division_code: &str,
    now: DateTime<Utc>,
) -> Result<AccountRow> {
    let cond = || {
        Condition::all()
            .add(Expr::col((TimebankAccounts::Table, TimebankAccounts::TeamId)).eq(team_id))
    };
    if let Some(a) = account_where(c, cond()).await? {
        return Ok(a);
    }
    let ins = Query::insert()
        .into_table(TimebankAccounts::Table)
        .columns([
            TimebankAccounts::Kind,
            TimebankAccounts::TeamId,
            TimebankAccounts::DivisionCode,
            TimebankAccounts::BalanceMinutes,
            TimebankAccounts::CreatedAt,
        ])
        .values_panic([
            AccountKind::Team.as_str().into(),
            team_id.into(),
            division_code.into(),
            0i64.into(),
            now.into(),
        ])
        .on_conflict(
            OnConflict::column(TimebankAccounts::TeamId)
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    c.execute(&ins).await?;
    account_where(c, cond()).await?.ok_or(DbError::NotFound)
}

/// Accounts in the caller's subtree: volunteer and team accounts there, and the
/// system accounts (shown to every scope). Volunteers first, by id.
pub async fn accounts(
    c: &mut Conn<'_>,
    scope: &Scope,
    kind: Option<AccountKind>,
    page: PageReq,
) -> Result<Page<AccountRow>> {
    let t = TimebankAccounts::Table;
    let mut q = select_accounts()
        .cond_where(
            Condition::any()
                .add(scope.condition((t, TimebankAccounts::DivisionCode)))
                .add(Expr::col((t, TimebankAccounts::SystemKey)).is_not_null()),
        )
        .to_owned();
    if let Some(k) = kind {
        q.and_where(Expr::col((t, TimebankAccounts::Kind)).eq(k.as_str()));
    }
    let mut count = q.clone();
    count
        .clear_selects()
        .expr(Expr::col((t, TimebankAccounts::Id)).count());
    let total = c.fetch_i64(&count).await?;
    q.order_by((t, TimebankAccounts::Id), Order::Asc)
        .limit(page.per_page)
        .offset(page.offset());
    Ok(Page {
        items: c.fetch_all(&q).await?,
        total,
    })
}

/// One account the caller may see (in their subtree, or a system account).
pub async fn account(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<AccountRow>> {
    let t = TimebankAccounts::Table;
    account_where(
        c,
        Condition::all()
            .add(Expr::col((t, TimebankAccounts::Id)).eq(id))
            .add(
                Condition::any()
                    .add(scope.condition((t, TimebankAccounts::DivisionCode)))
                    .add(Expr::col((t, TimebankAccounts::SystemKey)).is_not_null()),
            ),
    )
    .await
}

/// A volunteer's account, for the volunteer's own login (None when none yet).
pub async fn account_of_user(c: &mut Conn<'_>, user_id: i64) -> Result<Option<AccountRow>> {
    let t = TimebankAccounts::Table;
    account_where(
        c,
        Condition::all().add(
            Expr::col((t, TimebankAccounts::VolunteerId)).in_subquery(
                Query::select()
                    .column(Volunteers::Id)
                    .from(Volunteers::Table)
                    .and_where(Expr::col(Volunteers::UserId).eq(user_id))
                    .to_owned(),
            ),
        ),
    )
    .await
}

/// The volunteer's account by volunteer id, when the volunteer lies in the scope
/// (created on first use).
async fn volunteer_account_in(
    c: &mut Conn<'_>,
    scope: &Scope,
    volunteer_id: i64,
    now: DateTime<Utc>,
) -> Result<AccountRow> {
    let v = crate::certificates::volunteer(c, scope, volunteer_id)
        .await?
        .ok_or(DbError::NotFound)?;
    volunteer_account(c, v.id, &v.division_code, now).await
}

// ---------------------------------------------------------------- statement

/// One line of a statement: a posting and its transaction.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StatementLine {
    pub posting_id: i64,
    pub transaction_id: i64,
    pub kind: String,
    pub minutes: i64,
    pub beneficiary: String,
    pub note: String,
    pub signup_id: Option<i64>,
    pub reverses_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl StatementLine {
    pub fn kind(&self) -> Option<TxKind> {
        TxKind::parse(&self.kind)
    }
}

/// An account's postings, newest first.
pub async fn statement(
    c: &mut Conn<'_>,
    account_id: i64,
    page: PageReq,
) -> Result<Page<StatementLine>> {
    let p = TimebankPostings::Table;
    let t = TimebankTransactions::Table;
    let mut q = Query::select()
        .expr_as(
            Expr::col((p, TimebankPostings::Id)),
            Alias::new("posting_id"),
        )
        .expr_as(
            Expr::col((t, TimebankTransactions::Id)),
            Alias::new("transaction_id"),
        )
        .column((t, TimebankTransactions::Kind))
        .expr_as(
            bigint((p, TimebankPostings::Minutes)),
            Alias::new("minutes"),
        )
        .column((t, TimebankTransactions::Beneficiary))
        .column((t, TimebankTransactions::Note))
        .column((t, TimebankTransactions::SignupId))
        .column((t, TimebankTransactions::ReversesId))
        .column((t, TimebankTransactions::CreatedAt))
        .from(p)
        .inner_join(
            t,
            Expr::col((t, TimebankTransactions::Id)).equals((p, TimebankPostings::TransactionId)),
        )
        .and_where(Expr::col((p, TimebankPostings::AccountId)).eq(account_id))
        .to_owned();
    let mut count = q.clone();
    count
        .clear_selects()
        .expr(Expr::col((p, TimebankPostings::Id)).count());
    let total = c.fetch_i64(&count).await?;
    q.order_by((p, TimebankPostings::Id), Order::Desc)
        .limit(page.per_page)
        .offset(page.offset());
    Ok(Page {
        items: c.fetch_all(&q).await?,
        total,
    })
}

// ---------------------------------------------------------------- posting

/// What a transaction records besides its postings.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub signup_id: Option<i64>,
    pub reverses_id: Option<i64>,
    pub division_code: Option<String>,
    pub beneficiary: String,
    pub note: String,
}

fn check_note(field: &str, what: &str, s: &str) -> Result<String> {
    let s = s.trim();
    if s.chars().count() > MAX_NOTE {
        return Err(DbError::invalid(
            field,
            "too_long",
            format!("{what}不能超过 {MAX_NOTE} 个字"),
        ));
    }
    if s.chars().any(char::is_control) || shequ_core::surveys::looks_like_html(s) {
        return Err(DbError::invalid(
            field,
            "bad_chars",
            format!("{what}中不能含有控制字符或 HTML 标记"),
        ));
    }
    Ok(s.to_owned())
}

/// Store checked plans: each a transaction, its postings and guarded balance
/// updates. Returns the transaction ids.
async fn post(
    c: &mut Conn<'_>,
    rules: &Rules,
    plans: &[Plan],
    accts: &[Acct],
    meta: &Meta,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(plans.len());
    for (i, p) in plans.iter().enumerate() {
        let first = i == 0;
        let ins = Query::insert()
            .into_table(TimebankTransactions::Table)
            .columns([
                TimebankTransactions::Kind,
                TimebankTransactions::SignupId,
                TimebankTransactions::ReversesId,
                TimebankTransactions::DivisionCode,
                TimebankTransactions::Beneficiary,
                TimebankTransactions::Note,
                TimebankTransactions::CreatedBy,
                TimebankTransactions::CreatedAt,
            ])
            .values_panic([
                p.kind.as_str().into(),
                meta.signup_id.filter(|_| first).into(),
                meta.reverses_id.filter(|_| first).into(),
                meta.division_code.clone().into(),
                meta.beneficiary.clone().into(),
                meta.note.clone().into(),
                by.into(),
                now.into(),
            ])
            .to_owned();
        let tx_id = match c.insert_id(&ins).await {
            Ok(id) => id,
            Err(DbError::Conflict(_)) if meta.signup_id.is_some() => {
                return Err(DbError::invalid(
                    "signup_id",
                    "already_deposited",
                    "该次服务的时长已存入时间银行，不能重复存入",
                ));
            }
            Err(DbError::Conflict(_)) if meta.reverses_id.is_some() => {
                return Err(DbError::invalid("id", "already_reversed", "该笔交易已冲正"));
            }
            Err(e) => return Err(e),
        };
        let mut ins = Query::insert()
            .into_table(TimebankPostings::Table)
            .columns([
                TimebankPostings::TransactionId,
                TimebankPostings::AccountId,
                TimebankPostings::Minutes,
            ])
            .to_owned();
        for l in &p.legs {
            ins.values_panic([tx_id.into(), l.account.into(), l.minutes.into()]);
        }
        c.execute(&ins).await?;
        for l in &p.legs {
            let Some(a) = accts.iter().find(|a| a.id == l.account) else {
                return Err(DbError::Conflict("账户不存在".into()));
            };
            let mut upd = Query::update()
                .table(TimebankAccounts::Table)
                .value(
                    TimebankAccounts::BalanceMinutes,
                    Expr::col(TimebankAccounts::BalanceMinutes).add(l.minutes),
                )
                .and_where(Expr::col(TimebankAccounts::Id).eq(l.account))
                .to_owned();
            // The overflow that follows a deposit brings the balance back under
            // the cap; the deposit itself may pass it for a moment.
            let last = i + 1 == plans.len();
            if l.minutes < 0
                && let Some(floor) = rules.floor(a.kind)
            {
                upd.and_where(
                    Expr::col(TimebankAccounts::BalanceMinutes)
                        .add(l.minutes)
                        .gte(floor),
                );
            }
            if l.minutes > 0
                && last
                && let Some(cap) = rules.cap(a.kind)
            {
                upd.and_where(
                    Expr::col(TimebankAccounts::BalanceMinutes)
                        .add(l.minutes)
                        .lte(cap),
                );
            }
            if c.execute(&upd).await? == 0 {
                return Err(refused(&Refusal::InsufficientBalance {
                    available: "（余额已变化，请刷新后重试）".into(),
                    needed: core::hours(l.minutes.abs()),
                }));
            }
        }
        ids.push(tx_id);
    }
    Ok(ids)
}

async fn audit_tx(
    c: &mut Conn<'_>,
    scope: &Scope,
    action: &'static str,
    ids: &[i64],
    division: &str,
    detail: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    let id = ids.first().copied().unwrap_or_default();
    let ev = Event::new(action, "timebank_transaction", id)
        .division(division)
        .detail(detail);
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(())
}

/// A confirmed sign-up as the time bank reads it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SignupFacts {
    pub signup_id: i64,
    pub volunteer_id: i64,
    pub volunteer_division: String,
    pub state: String,
    pub minutes: Option<i64>,
    pub confirmed: bool,
    pub elder_care: bool,
    pub team_id: Option<i64>,
    pub organizer_division_code: String,
}

async fn signup_facts(c: &mut Conn<'_>, signup_id: i64) -> Result<Option<SignupFacts>> {
    let s = VolunteerSignups::Table;
    let a = VolunteerActivities::Table;
    let v = Volunteers::Table;
    let q = Query::select()
        .expr_as(
            Expr::col((s, VolunteerSignups::Id)),
            Alias::new("signup_id"),
        )
        .expr_as(
            Expr::col((s, VolunteerSignups::VolunteerId)),
            Alias::new("volunteer_id"),
        )
        .expr_as(
            Expr::col((v, Volunteers::DivisionCode)),
            Alias::new("volunteer_division"),
        )
        .column((s, VolunteerSignups::State))
        .expr_as(
            bigint((s, VolunteerSignups::Minutes)),
            Alias::new("minutes"),
        )
        .expr_as(
            Expr::col((s, VolunteerSignups::ConfirmedAt)).is_not_null(),
            Alias::new("confirmed"),
        )
        .expr_as(
            Expr::col((a, ElderCare::ElderCare)),
            Alias::new("elder_care"),
        )
        .expr_as(Expr::col((a, ElderCare::TeamId)), Alias::new("team_id"))
        .column((a, VolunteerActivities::OrganizerDivisionCode))
        .from(s)
        .inner_join(
            a,
            Expr::col((a, VolunteerActivities::Id)).equals((s, VolunteerSignups::ActivityId)),
        )
        .inner_join(
            v,
            Expr::col((v, Volunteers::Id)).equals((s, VolunteerSignups::VolunteerId)),
        )
        .and_where(Expr::col((s, VolunteerSignups::Id)).eq(signup_id))
        .to_owned();
    c.fetch_optional(&q).await
}

/// Further activity columns this module reads.
#[derive(Iden, Clone, Copy)]
enum ElderCare {
    ElderCare,
    TeamId,
}

/// Whether a sign-up's time is already in the bank.
pub async fn deposited(c: &mut Conn<'_>, signup_id: i64) -> Result<bool> {
    let q = Query::select()
        .expr(Expr::col(TimebankTransactions::Id).count())
        .from(TimebankTransactions::Table)
        .and_where(Expr::col(TimebankTransactions::SignupId).eq(signup_id))
        .to_owned();
    Ok(c.fetch_i64(&q).await? > 0)
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Posted {
    /// The transactions stored (a deposit above the cap stores two).
    pub transaction_ids: Vec<i64>,
    /// The main account's balance afterwards, in minutes.
    pub balance_minutes: i64,
    /// Minutes donated to the pool because of the cap.
    pub overflow_minutes: i64,
}

async fn balance_of(c: &mut Conn<'_>, id: i64) -> Result<i64> {
    c.fetch_i64(
        &Query::select()
            .expr(bigint(TimebankAccounts::BalanceMinutes))
            .from(TimebankAccounts::Table)
            .and_where(Expr::col(TimebankAccounts::Id).eq(id))
            .to_owned(),
    )
    .await
}

/// Credit the confirmed minutes of a completed sign-up of an elder-care activity
/// organised in the caller's subtree, once per sign-up (`already_deposited`), to
/// the volunteer or, with `to_team`, to the activity's team. Above the cap the
/// excess goes to the pool in the same step. Audited.
pub async fn deposit_signup(
    c: &mut Conn<'_>,
    scope: &Scope,
    signup_id: i64,
    to_team: bool,
    now: DateTime<Utc>,
) -> Result<Posted> {
    let f = signup_facts(c, signup_id).await?.ok_or(DbError::NotFound)?;
    if !scope.contains_str(&f.organizer_division_code) {
        return Err(DbError::NotFound);
    }
    let minutes = match (f.state.as_str(), f.minutes, f.confirmed) {
        ("completed", Some(m), true) if m > 0 => m,
        _ => {
            return Err(DbError::invalid(
                "signup_id",
                "not_confirmed",
                "只有已完成并已确认时长的服务才能存入时间银行",
            ));
        }
    };
    if !f.elder_care {
        return Err(DbError::invalid(
            "signup_id",
            "not_elder_care",
            "只有为老服务活动的时长才能存入时间银行",
        ));
    }
    if deposited(c, signup_id).await? {
        return Err(DbError::invalid(
            "signup_id",
            "already_deposited",
            "该次服务的时长已存入时间银行，不能重复存入",
        ));
    }
    let rules = rules(c).await?;
    let to = if to_team {
        let team = f
            .team_id
            .ok_or_else(|| DbError::invalid("to_team", "no_team", "该活动不属于任何志愿服务队"))?;
        let div = team_division(c, team).await?;
        team_account(c, team, &div, now).await?
    } else {
        volunteer_account(c, f.volunteer_id, &f.volunteer_division, now).await?
    };
    let issued = system_account(c, AccountKind::Issued, now).await?;
    let pool = system_account(c, AccountKind::Pool, now).await?;
    let accts = [issued.acct(), to.acct(), pool.acct()];
    let plans =
        core::deposit(&rules, &accts[0], &accts[1], &accts[2], minutes).map_err(|r| refused(&r))?;
    let overflow: i64 = plans
        .iter()
        .filter(|p| p.kind == TxKind::Overflow)
        .flat_map(|p| p.legs.iter())
        .filter(|l| l.minutes > 0)
        .map(|l| l.minutes)
        .sum();
    let meta = Meta {
        signup_id: Some(signup_id),
        division_code: to.division_code.clone(),
        ..Meta::default()
    };
    let ids = post(c, &rules, &plans, &accts, &meta, scope.actor.user_id, now).await?;
    audit_tx(
        c,
        scope,
        "timebank_deposit",
        &ids,
        to.division_code.as_deref().unwrap_or(""),
        serde_json::json!({"signup_id": signup_id, "account_id": to.id, "minutes": minutes, "overflow_minutes": overflow}),
        now,
    )
    .await?;
    Ok(Posted {
        transaction_ids: ids,
        balance_minutes: balance_of(c, to.id).await?,
        overflow_minutes: overflow,
    })
}

async fn team_division(c: &mut Conn<'_>, team: i64) -> Result<String> {
    let q = Query::select()
        .column(VolunteerTeams::DivisionCode)
        .from(VolunteerTeams::Table)
        .and_where(Expr::col(VolunteerTeams::Id).eq(team))
        .to_owned();
    let (d,): (String,) = c.fetch_optional(&q).await?.ok_or(DbError::NotFound)?;
    Ok(d)
}

/// Service received by the volunteer or a named family member: debits the
/// volunteer (in the caller's subtree). Audited.
pub async fn withdraw(
    c: &mut Conn<'_>,
    scope: &Scope,
    volunteer_id: i64,
    minutes: i64,
    beneficiary: &str,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Posted> {
    let beneficiary = check_note("beneficiary", "服务对象", beneficiary)?;
    let note = check_note("note", "说明", note)?;
    let rules = rules(c).await?;
    let from = volunteer_account_in(c, scope, volunteer_id, now).await?;
    let issued = system_account(c, AccountKind::Issued, now).await?;
    let accts = [from.acct(), issued.acct()];
    let plan = core::withdraw(&rules, &accts[0], &accts[1], minutes).map_err(|r| refused(&r))?;
    let meta = Meta {
        division_code: from.division_code.clone(),
        beneficiary: beneficiary.clone(),
        note,
        ..Meta::default()
    };
    let ids = post(c, &rules, &[plan], &accts, &meta, scope.actor.user_id, now).await?;
    audit_tx(
        c,
        scope,
        "timebank_withdraw",
        &ids,
        from.division_code.as_deref().unwrap_or(""),
        serde_json::json!({"account_id": from.id, "minutes": minutes, "beneficiary": beneficiary}),
        now,
    )
    .await?;
    Ok(Posted {
        transaction_ids: ids,
        balance_minutes: balance_of(c, from.id).await?,
        overflow_minutes: 0,
    })
}

/// A volunteer (in the caller's subtree) gives time to a family member's
/// volunteer account, named by volunteer number. Audited.
pub async fn transfer(
    c: &mut Conn<'_>,
    scope: &Scope,
    volunteer_id: i64,
    to_volunteer_no: &str,
    minutes: i64,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Posted> {
    let note = check_note("note", "说明", note)?;
    let rules = rules(c).await?;
    let from = volunteer_account_in(c, scope, volunteer_id, now).await?;
    let q = Query::select()
        .columns([Volunteers::Id, Volunteers::DivisionCode])
        .from(Volunteers::Table)
        .and_where(Expr::col(Volunteers::VolunteerNo).eq(to_volunteer_no.trim()))
        .to_owned();
    let Some((to_id, to_div)) = c.fetch_optional::<(i64, String)>(&q).await? else {
        return Err(DbError::invalid(
            "to",
            "unknown_volunteer",
            "没有该志愿者编号",
        ));
    };
    let to = volunteer_account(c, to_id, &to_div, now).await?;
    let accts = [from.acct(), to.acct()];
    let plan = core::transfer(&rules, &accts[0], &accts[1], minutes).map_err(|r| refused(&r))?;
    let meta = Meta {
        division_code: from.division_code.clone(),
        beneficiary: to.name(),
        note,
        ..Meta::default()
    };
    let ids = post(c, &rules, &[plan], &accts, &meta, scope.actor.user_id, now).await?;
    audit_tx(
        c,
        scope,
        "timebank_transfer",
        &ids,
        from.division_code.as_deref().unwrap_or(""),
        serde_json::json!({"from": from.id, "to": to.id, "minutes": minutes}),
        now,
    )
    .await?;
    Ok(Posted {
        transaction_ids: ids,
        balance_minutes: balance_of(c, from.id).await?,
        overflow_minutes: 0,
    })
}

/// A volunteer or team account in the caller's subtree gives time to the pool. Audited.
pub async fn donate(
    c: &mut Conn<'_>,
    scope: &Scope,
    account_id: i64,
    minutes: i64,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Posted> {
    let note = check_note("note", "说明", note)?;
    let rules = rules(c).await?;
    let from = account(c, scope, account_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let pool = system_account(c, AccountKind::Pool, now).await?;
    let accts = [from.acct(), pool.acct()];
    let plan = core::donate(&rules, &accts[0], &accts[1], minutes).map_err(|r| refused(&r))?;
    let meta = Meta {
        division_code: from.division_code.clone(),
        note,
        ..Meta::default()
    };
    let ids = post(c, &rules, &[plan], &accts, &meta, scope.actor.user_id, now).await?;
    audit_tx(
        c,
        scope,
        "timebank_donate",
        &ids,
        from.division_code.as_deref().unwrap_or(""),
        serde_json::json!({"account_id": from.id, "minutes": minutes}),
        now,
    )
    .await?;
    Ok(Posted {
        transaction_ids: ids,
        balance_minutes: balance_of(c, from.id).await?,
        overflow_minutes: 0,
    })
}

/// Service for a person in need in the caller's subtree, paid from the pool or
/// (`from_guarantee`) the guarantee account. Audited.
#[allow(clippy::too_many_arguments)]
pub async fn grant(
    c: &mut Conn<'_>,
    scope: &Scope,
    from_guarantee: bool,
    beneficiary: &str,
    division: &DivisionCode,
    minutes: i64,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Posted> {
    let beneficiary = check_note("beneficiary", "受助人", beneficiary)?;
    if beneficiary.is_empty() {
        return Err(DbError::invalid("beneficiary", "required", "请填写受助人"));
    }
    let note = check_note("note", "说明", note)?;
    if !scope.contains(division) {
        return Err(DbError::invalid(
            "division",
            "out_of_scope",
            "受助人所在区划不在您的管辖范围内",
        ));
    }
    if crate::divisions::get(c, division).await?.is_none() {
        return Err(DbError::invalid(
            "division",
            "unknown_division",
            format!("区划 {division} 不存在"),
        ));
    }
    let rules = rules(c).await?;
    let kind = if from_guarantee {
        AccountKind::Guarantee
    } else {
        AccountKind::Pool
    };
    let source = system_account(c, kind, now).await?;
    let issued = system_account(c, AccountKind::Issued, now).await?;
    let accts = [source.acct(), issued.acct()];
    let plan = core::grant(&rules, &accts[0], &accts[1], minutes).map_err(|r| refused(&r))?;
    let meta = Meta {
        division_code: Some(division.as_str().to_owned()),
        beneficiary: beneficiary.clone(),
        note,
        ..Meta::default()
    };
    let ids = post(c, &rules, &[plan], &accts, &meta, scope.actor.user_id, now).await?;
    audit_tx(
        c,
        scope,
        "timebank_grant",
        &ids,
        division.as_str(),
        serde_json::json!({"source": kind.as_str(), "minutes": minutes, "beneficiary": beneficiary}),
        now,
    )
    .await?;
    Ok(Posted {
        transaction_ids: ids,
        balance_minutes: balance_of(c, source.id).await?,
        overflow_minutes: 0,
    })
}

/// Top up the guarantee account (staff bound to the city). Audited.
pub async fn fund(
    c: &mut Conn<'_>,
    scope: &Scope,
    minutes: i64,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Posted> {
    if scope.root.level() != Level::City {
        return Err(DbError::invalid(
            "scope",
            "city_only",
            "保障账户只能由市级工作人员注资",
        ));
    }
    let note = check_note("note", "说明", note)?;
    let rules = rules(c).await?;
    let issued = system_account(c, AccountKind::Issued, now).await?;
    let g = system_account(c, AccountKind::Guarantee, now).await?;
    let accts = [issued.acct(), g.acct()];
    let plan = core::fund(&rules, &accts[0], &accts[1], minutes).map_err(|r| refused(&r))?;
    let meta = Meta {
        note,
        ..Meta::default()
    };
    let ids = post(c, &rules, &[plan], &accts, &meta, scope.actor.user_id, now).await?;
    audit_tx(
        c,
        scope,
        "timebank_fund",
        &ids,
        scope.root.as_str(),
        serde_json::json!({"minutes": minutes}),
        now,
    )
    .await?;
    Ok(Posted {
        transaction_ids: ids,
        balance_minutes: balance_of(c, g.id).await?,
        overflow_minutes: 0,
    })
}

/// Reverse a transaction whose accounts the caller may see: a new transaction
/// with every posting negated (refused when it would break a floor or cap;
/// once per transaction). Audited.
pub async fn reverse(
    c: &mut Conn<'_>,
    scope: &Scope,
    transaction_id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Posted> {
    let reason = check_note("note", "冲正原因", reason)?;
    if reason.chars().count() < 2 {
        return Err(DbError::invalid("note", "required", "请填写冲正原因"));
    }
    let q = Query::select()
        .columns([TimebankTransactions::Kind])
        .column(TimebankTransactions::DivisionCode)
        .from(TimebankTransactions::Table)
        .and_where(Expr::col(TimebankTransactions::Id).eq(transaction_id))
        .to_owned();
    let (kind, division): (String, Option<String>) =
        c.fetch_optional(&q).await?.ok_or(DbError::NotFound)?;
    if kind == TxKind::Reversal.as_str() {
        return Err(DbError::invalid(
            "id",
            "not_reversible",
            "冲正交易不能再冲正",
        ));
    }
    let done = Query::select()
        .expr(Expr::col(TimebankTransactions::Id).count())
        .from(TimebankTransactions::Table)
        .and_where(Expr::col(TimebankTransactions::ReversesId).eq(transaction_id))
        .to_owned();
    if c.fetch_i64(&done).await? > 0 {
        return Err(DbError::invalid("id", "already_reversed", "该笔交易已冲正"));
    }
    let q = Query::select()
        .column(TimebankPostings::AccountId)
        .expr_as(bigint(TimebankPostings::Minutes), Alias::new("minutes"))
        .from(TimebankPostings::Table)
        .and_where(Expr::col(TimebankPostings::TransactionId).eq(transaction_id))
        .order_by(TimebankPostings::Id, Order::Asc)
        .to_owned();
    let legs: Vec<(i64, i64)> = c.fetch_all(&q).await?;
    let mut accts = Vec::new();
    for (a, _) in &legs {
        let row = account(c, scope, *a).await?.ok_or(DbError::NotFound)?;
        accts.push(row.acct());
    }
    // Only accounts of the caller's subtree, not merely system accounts.
    if !accts.iter().any(|a| !a.kind.is_system())
        && !division.as_deref().is_some_and(|d| scope.contains_str(d))
        && scope.root.level() != Level::City
    {
        return Err(DbError::NotFound);
    }
    let rules = rules(c).await?;
    let legs: Vec<core::Leg> = legs
        .into_iter()
        .map(|(account, minutes)| core::Leg { account, minutes })
        .collect();
    let plan = core::reverse(&rules, &legs, &accts).map_err(|r| refused(&r))?;
    let meta = Meta {
        reverses_id: Some(transaction_id),
        division_code: division.clone(),
        note: reason.clone(),
        ..Meta::default()
    };
    let ids = post(c, &rules, &[plan], &accts, &meta, scope.actor.user_id, now).await?;
    audit_tx(
        c,
        scope,
        "timebank_reverse",
        &ids,
        division.as_deref().unwrap_or(""),
        serde_json::json!({"reverses": transaction_id, "reason": reason}),
        now,
    )
    .await?;
    Ok(Posted {
        transaction_ids: ids,
        balance_minutes: 0,
        overflow_minutes: 0,
    })
}

// ---------------------------------------------------------------- checks

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerCheck {
    pub transactions: i64,
    pub postings: i64,
    /// Sum of every posting (0 when whole).
    pub total: i64,
    /// Transactions whose postings do not sum to zero, or have fewer than two.
    pub unbalanced: Vec<i64>,
    /// Accounts whose stored balance differs from the sum of their postings.
    pub mismatched: Vec<i64>,
    /// Accounts below their floor or (volunteers) above the cap.
    pub out_of_bounds: Vec<i64>,
}

impl LedgerCheck {
    pub fn ok(&self) -> bool {
        self.total == 0
            && self.unbalanced.is_empty()
            && self.mismatched.is_empty()
            && self.out_of_bounds.is_empty()
    }
}

/// Check the whole ledger.
pub async fn verify(c: &mut Conn<'_>) -> Result<LedgerCheck> {
    let rules = rules(c).await?;
    let p = TimebankPostings::Table;
    let q = Query::select()
        .column(TimebankPostings::TransactionId)
        .expr(
            bigint(TimebankPostings::Minutes)
                .sum()
                .cast_as(Alias::new("BIGINT")),
        )
        .expr(Expr::col(TimebankPostings::Id).count())
        .from(p)
        .group_by_col(TimebankPostings::TransactionId)
        .to_owned();
    let per_tx: Vec<(i64, i64, i64)> = c.fetch_all(&q).await?;
    let q = Query::select()
        .column(TimebankPostings::AccountId)
        .expr(
            bigint(TimebankPostings::Minutes)
                .sum()
                .cast_as(Alias::new("BIGINT")),
        )
        .from(p)
        .group_by_col(TimebankPostings::AccountId)
        .to_owned();
    let per_account: Vec<(i64, i64)> = c.fetch_all(&q).await?;
    let q = Query::select()
        .column(TimebankAccounts::Id)
        .column(TimebankAccounts::Kind)
        .expr(bigint(TimebankAccounts::BalanceMinutes))
        .from(TimebankAccounts::Table)
        .to_owned();
    let accts: Vec<(i64, String, i64)> = c.fetch_all(&q).await?;
    let transactions = c
        .fetch_i64(
            &Query::select()
                .expr(Expr::col(TimebankTransactions::Id).count())
                .from(TimebankTransactions::Table)
                .to_owned(),
        )
        .await?;
    let mut mismatched = Vec::new();
    let mut out_of_bounds = Vec::new();
    for (id, kind, bal) in &accts {
        let sum = per_account
            .iter()
            .find(|(a, _)| a == id)
            .map_or(0, |(_, s)| *s);
        if sum != *bal {
            mismatched.push(*id);
        }
        let k = AccountKind::parse(kind).unwrap_or(AccountKind::Issued);
        let below = rules.floor(k).is_some_and(|f| *bal < f);
        let above = rules.cap(k).is_some_and(|cap| *bal > cap);
        if below || above {
            out_of_bounds.push(*id);
        }
    }
    let with_postings = per_tx.len() as i64;
    let mut unbalanced: Vec<i64> = per_tx
        .iter()
        .filter(|(_, s, n)| *s != 0 || *n < 2)
        .map(|(t, _, _)| *t)
        .collect();
    if with_postings < transactions {
        // A transaction without postings.
        let q = Query::select()
            .column(TimebankTransactions::Id)
            .from(TimebankTransactions::Table)
            .and_where(
                Expr::col(TimebankTransactions::Id).not_in_subquery(
                    Query::select()
                        .column(TimebankPostings::TransactionId)
                        .from(TimebankPostings::Table)
                        .to_owned(),
                ),
            )
            .to_owned();
        let empty: Vec<(i64,)> = c.fetch_all(&q).await?;
        unbalanced.extend(empty.into_iter().map(|(t,)| t));
    }
    Ok(LedgerCheck {
        transactions,
        postings: per_tx.iter().map(|(_, _, n)| n).sum(),
        total: per_tx.iter().map(|(_, s, _)| s).sum(),
        unbalanced,
        mismatched,
        out_of_bounds,
    })
}

/// Totals for a dashboard: the pool, the guarantee account, and time held by
/// volunteers and teams in the caller's subtree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    pub pool_minutes: i64,
    pub guarantee_minutes: i64,
    pub volunteer_minutes: i64,
    pub team_minutes: i64,
    pub volunteer_accounts: i64,
}

pub async fn totals(c: &mut Conn<'_>, scope: &Scope) -> Result<Totals> {
    let t = TimebankAccounts::Table;
    let q = Query::select()
        .column(TimebankAccounts::Kind)
        .expr(
            bigint(TimebankAccounts::BalanceMinutes)
                .sum()
                .cast_as(Alias::new("BIGINT")),
        )
        .expr(Expr::col(TimebankAccounts::Id).count())
        .from(t)
        .cond_where(
            Condition::any()
                .add(scope.condition(TimebankAccounts::DivisionCode))
                .add(Expr::col(TimebankAccounts::SystemKey).is_not_null()),
        )
        .group_by_col(TimebankAccounts::Kind)
        .to_owned();
    let rows: Vec<(String, Option<i64>, i64)> = c.fetch_all(&q).await?;
    let get = |k: AccountKind| {
        rows.iter()
            .find(|(kind, _, _)| kind == k.as_str())
            .map_or((0, 0), |(_, s, n)| (s.unwrap_or(0), *n))
    };
    Ok(Totals {
        pool_minutes: get(AccountKind::Pool).0,
        guarantee_minutes: get(AccountKind::Guarantee).0,
        volunteer_minutes: get(AccountKind::Volunteer).0,
        team_minutes: get(AccountKind::Team).0,
        volunteer_accounts: get(AccountKind::Volunteer).1,
    })
}

/// Completed, confirmed elder-care sign-ups organised in the caller's subtree
/// whose time is not yet in the bank (for the staff page), newest first.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Pending {
    pub signup_id: i64,
    pub volunteer_id: i64,
    pub volunteer_name: String,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub minutes: i64,
}

pub async fn pending_deposits(c: &mut Conn<'_>, scope: &Scope, limit: u64) -> Result<Vec<Pending>> {
    let s = VolunteerSignups::Table;
    let a = VolunteerActivities::Table;
    let v = Volunteers::Table;
    let q = Query::select()
        .expr_as(
            Expr::col((s, VolunteerSignups::Id)),
            Alias::new("signup_id"),
        )
        .expr_as(Expr::col((v, Volunteers::Id)), Alias::new("volunteer_id"))
        .expr_as(
            Expr::col((v, Volunteers::Name)),
            Alias::new("volunteer_name"),
        )
        .column((a, VolunteerActivities::Title))
        .column((a, VolunteerActivities::StartsAt))
        .expr_as(
            bigint((s, VolunteerSignups::Minutes)),
            Alias::new("minutes"),
        )
        .from(s)
        .inner_join(
            a,
            Expr::col((a, VolunteerActivities::Id)).equals((s, VolunteerSignups::ActivityId)),
        )
        .inner_join(
            v,
            Expr::col((v, Volunteers::Id)).equals((s, VolunteerSignups::VolunteerId)),
        )
        .and_where(Expr::col((s, VolunteerSignups::State)).eq("completed"))
        .and_where(Expr::col((s, VolunteerSignups::Minutes)).gt(0))
        .and_where(Expr::col((s, VolunteerSignups::ConfirmedAt)).is_not_null())
        .and_where(Expr::col((a, ElderCare::ElderCare)).eq(true))
        .cond_where(scope.condition((a, VolunteerActivities::OrganizerDivisionCode)))
        .and_where(
            Expr::col((s, VolunteerSignups::Id)).not_in_subquery(
                Query::select()
                    .column(TimebankTransactions::SignupId)
                    .from(TimebankTransactions::Table)
                    .and_where(Expr::col(TimebankTransactions::SignupId).is_not_null())
                    .to_owned(),
            ),
        )
        .order_by((s, VolunteerSignups::Id), Order::Desc)
        .limit(limit)
        .to_owned();
    c.fetch_all(&q).await
}

/// Whether the active backend is SQLite (bulk loading picks its id strategy).
pub fn is_sqlite(c: &Conn<'_>) -> bool {
    c.backend() == Backend::Sqlite
}
