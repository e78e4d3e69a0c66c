//! Demo time bank and certificates, loaded after the volunteers demo:
//! - the guarantee account funded once (2 000 hours);
//! - every completed, confirmed sign-up of an elder-care activity deposited to
//!   its volunteer in time order, with the cap's overflow to the pool;
//! - some withdrawals (service for the volunteer or a family member), some
//!   donations to the pool, and grants from the pool and the guarantee account
//!   to people in need;
//! - certificates for about 2% of the volunteers with confirmed hours, issued by
//!   their township for the last year, a few of them revoked.
//!
//! The ledger is planned in memory with the same rules as live postings
//! ([`shequ_core::timebank`]) and stored with multi-row inserts and explicit ids;
//! certificates go through [`crate::certificates::issue`], so their numbers,
//! snapshots and audit entries are the real thing.

use crate::certificates::{VolunteerActivities, VolunteerSignups, Volunteers};
use crate::scope::{Actor, Scope};
use crate::{Backend, Conn, Db, Result};
use chrono::{DateTime, Duration, Utc};
use sea_query::{Alias, Expr, ExprTrait, Iden, InsertStatement, Order, Query, SimpleExpr};
use shequ_core::certificates::{IssueInput, Issuer};
use shequ_core::rng::SeededRng;
use shequ_core::timebank::{self as core, AccountKind, Acct, Plan, Rules, TxKind};
use shequ_core::{DivisionCode, Role};
use std::collections::BTreeMap;

/// Rows per multi-row insert.
const CHUNK: usize = 1_000;

#[derive(Iden, Clone, Copy)]
enum TimebankAccounts {
    Table,
    Id,
    Kind,
    VolunteerId,
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
    DivisionCode,
    Beneficiary,
    Note,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
enum TimebankPostings {
    Table,
    TransactionId,
    AccountId,
    Minutes,
}

#[derive(Iden, Clone, Copy)]
enum ElderCare {
    ElderCare,
}

/// What was loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub accounts: usize,
    pub deposits: usize,
    pub overflows: usize,
    pub withdrawals: usize,
    pub donations: usize,
    pub grants: usize,
    pub certificates: usize,
    pub revoked: usize,
}

#[derive(sqlx::FromRow)]
struct Served {
    signup_id: i64,
    volunteer_id: i64,
    division_code: String,
    minutes: i64,
    starts_at: DateTime<Utc>,
}

const BENEFICIARIES: [&str; 6] = ["本人", "母亲", "父亲", "岳母", "公公", "祖母"];
const SERVICES: [&str; 6] = [
    "上门助浴",
    "陪同就医",
    "助餐送餐",
    "居家保洁",
    "代购代办",
    "理发修面",
];
const NEEDY: [&str; 8] = [
    "刘奶奶",
    "陈爷爷",
    "周奶奶",
    "黄爷爷",
    "谢奶奶",
    "罗爷爷",
    "曾奶奶",
    "唐爷爷",
];
const HEADS: [&str; 6] = ["王建华", "李红梅", "张志强", "刘芳", "陈国庆", "杨秀兰"];

async fn max_id(c: &mut Conn<'_>, table: &str) -> Result<i64> {
    let q = Query::select()
        .expr(Expr::col(Alias::new("id")).max())
        .from(Alias::new(table))
        .to_owned();
    c.fetch_i64(&q).await
}

/// Move a PostgreSQL identity past explicitly inserted ids.
async fn bump(c: &mut Conn<'_>, table: &str) -> Result<()> {
    if c.backend() != Backend::Postgres {
        return Ok(());
    }
    let q = Query::select()
        .expr(Expr::cust(format!(
            "setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT MAX(id) FROM {table}), 1))"
        )))
        .to_owned();
    c.fetch_i64(&q).await?;
    Ok(())
}

async fn run_chunks(
    c: &mut Conn<'_>,
    base: &InsertStatement,
    rows: &[Vec<SimpleExpr>],
) -> Result<()> {
    for chunk in rows.chunks(CHUNK) {
        let mut ins = base.clone();
        for r in chunk {
            ins.values_panic(r.iter().cloned());
        }
        c.execute(&ins).await?;
    }
    Ok(())
}

/// The ledger being built in memory.
struct Book {
    rules: Rules,
    next_account: i64,
    next_tx: i64,
    accounts: BTreeMap<i64, Acct>,
    /// Volunteer id → (account id, division).
    by_volunteer: BTreeMap<i64, (i64, String)>,
    account_rows: Vec<Vec<SimpleExpr>>,
    tx_rows: Vec<Vec<SimpleExpr>>,
    posting_rows: Vec<Vec<SimpleExpr>>,
    issued: i64,
    pool: i64,
    guarantee: i64,
}

impl Book {
    fn open(
        &mut self,
        kind: AccountKind,
        volunteer: Option<(i64, &str)>,
        now: DateTime<Utc>,
    ) -> i64 {
        let id = self.next_account;
        self.next_account += 1;
        self.accounts.insert(
            id,
            Acct {
                id,
                kind,
                balance: 0,
            },
        );
        let system: Option<String> = kind.is_system().then(|| kind.as_str().to_owned());
        self.account_rows.push(vec![
            id.into(),
            kind.as_str().into(),
            volunteer.map(|(v, _)| v).into(),
            system.into(),
            volunteer.map(|(_, d)| d.to_owned()).into(),
            now.into(),
        ]);
        if let Some((v, d)) = volunteer {
            self.by_volunteer.insert(v, (id, d.to_owned()));
        }
        id
    }

    fn acct(&self, id: i64) -> Acct {
        self.accounts.get(&id).copied().unwrap_or(Acct {
            id,
            kind: AccountKind::Issued,
            balance: 0,
        })
    }

    /// Record a checked plan.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        p: &Plan,
        signup: Option<i64>,
        division: Option<&str>,
        beneficiary: &str,
        note: &str,
        at: DateTime<Utc>,
    ) {
        let id = self.next_tx;
        self.next_tx += 1;
        self.tx_rows.push(vec![
            id.into(),
            p.kind.as_str().into(),
            signup.into(),
            division.map(str::to_owned).into(),
            beneficiary.into(),
            note.into(),
            at.into(),
        ]);
        for l in &p.legs {
            self.posting_rows
                .push(vec![id.into(), l.account.into(), l.minutes.into()]);
            if let Some(a) = self.accounts.get_mut(&l.account) {
                a.balance += l.minutes;
            }
        }
    }
}

/// Load the demo time bank and certificates; see the module documentation.
/// Refuses to run twice (the time bank must be empty).
pub async fn load(db: &Db, seed: u64, now: DateTime<Utc>) -> Result<Summary> {
    let mut rng = SeededRng::new(seed).fork("timebank");
    let mut summary = Summary::default();
    let mut c = db.conn();
    if max_id(&mut c, "timebank_accounts").await? > 0 {
        return Err(crate::DbError::Conflict(
            "时间银行已有数据，演示数据只能写入空账簿".into(),
        ));
    }
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
            Alias::new("division_code"),
        )
        .expr_as(
            Expr::col((s, VolunteerSignups::Minutes)).cast_as(Alias::new("BIGINT")),
            Alias::new("minutes"),
        )
        .column((a, VolunteerActivities::StartsAt))
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
        .and_where(Expr::col((a, VolunteerActivities::StartsAt)).lt(now))
        .order_by((a, VolunteerActivities::StartsAt), Order::Asc)
        .order_by((s, VolunteerSignups::Id), Order::Asc)
        .to_owned();
    let served: Vec<Served> = c.fetch_all(&q).await?;
    let rules = crate::timebank::rules(&mut c).await?;

    let mut book = Book {
        rules,
        next_account: 1,
        next_tx: max_id(&mut c, "timebank_transactions").await? + 1,
        accounts: BTreeMap::new(),
        by_volunteer: BTreeMap::new(),
        account_rows: Vec::new(),
        tx_rows: Vec::new(),
        posting_rows: Vec::new(),
        issued: 0,
        pool: 0,
        guarantee: 0,
    };
    let start = served.first().map_or(now - Duration::days(365), |s| {
        s.starts_at - Duration::days(1)
    });
    book.issued = book.open(AccountKind::Issued, None, start);
    book.pool = book.open(AccountKind::Pool, None, start);
    book.guarantee = book.open(AccountKind::Guarantee, None, start);
    if let Ok(p) = core::fund(
        &book.rules,
        &book.acct(book.issued),
        &book.acct(book.guarantee),
        2_000 * 60,
    ) {
        book.record(&p, None, None, "", "市级财政保障时长", start);
    }

    let mut villages: Vec<String> = Vec::new();
    for sv in &served {
        let at = std::cmp::min(sv.starts_at + Duration::hours(rng.range(4, 72)), now);
        let account = match book.by_volunteer.get(&sv.volunteer_id) {
            Some((id, _)) => *id,
            None => book.open(
                AccountKind::Volunteer,
                Some((sv.volunteer_id, &sv.division_code)),
                at,
            ),
        };
        if !villages.contains(&sv.division_code) && villages.len() < 500 {
            villages.push(sv.division_code.clone());
        }
        let (issued, to, pool) = (
            book.acct(book.issued),
            book.acct(account),
            book.acct(book.pool),
        );
        if let Ok(plans) = core::deposit(&book.rules, &issued, &to, &pool, sv.minutes) {
            for (i, p) in plans.iter().enumerate() {
                let signup = (i == 0).then_some(sv.signup_id);
                if p.kind == TxKind::Overflow {
                    summary.overflows += 1;
                } else {
                    summary.deposits += 1;
                }
                book.record(p, signup, Some(&sv.division_code), "", "", at);
            }
        }
        // Now and then the volunteer or a family member receives service.
        if rng.chance(0.12) {
            let bal = book.acct(account).balance;
            let want = rng.range(1, 4) * 30;
            if want <= bal
                && let Ok(p) = core::withdraw(
                    &book.rules,
                    &book.acct(account),
                    &book.acct(book.issued),
                    want,
                )
            {
                let who = rng.pick(&BENEFICIARIES).copied().unwrap_or("本人");
                let what = rng.pick(&SERVICES).copied().unwrap_or("上门服务");
                book.record(
                    &p,
                    None,
                    Some(&sv.division_code),
                    who,
                    what,
                    std::cmp::min(at + Duration::days(rng.range(1, 20)), now),
                );
                summary.withdrawals += 1;
            }
        } else if rng.chance(0.04) {
            let bal = book.acct(account).balance;
            let give = (bal / 2 / 30) * 30;
            if give > 0
                && let Ok(p) = core::donate(
                    &book.rules,
                    &book.acct(account),
                    &book.acct(book.pool),
                    give,
                )
            {
                book.record(
                    &p,
                    None,
                    Some(&sv.division_code),
                    "",
                    "自愿捐赠",
                    std::cmp::min(at + Duration::days(1), now),
                );
                summary.donations += 1;
            }
        }
    }
    // Grants to people in need, from the pool while it lasts, then the guarantee.
    let grants = (served.len() / 40).clamp(3, 2_000);
    for i in 0..grants {
        let Some(village) = rng.pick(&villages).cloned() else {
            break;
        };
        let want = rng.range(1, 4) * 60;
        let source = if book.acct(book.pool).balance >= want {
            book.pool
        } else {
            book.guarantee
        };
        if let Ok(p) = core::grant(
            &book.rules,
            &book.acct(source),
            &book.acct(book.issued),
            want,
        ) {
            let who = rng.pick(&NEEDY).copied().unwrap_or("王奶奶");
            let what = rng.pick(&SERVICES).copied().unwrap_or("上门服务");
            let at = now - Duration::days(((grants - i) as i64 % 300) + 1);
            book.record(&p, None, Some(&village), who, what, at);
            summary.grants += 1;
        }
    }

    // Store the ledger.
    let mut tx = db.begin().await?;
    let mut c = tx.conn();
    let mut balances: Vec<(i64, i64)> = book.accounts.values().map(|a| (a.id, a.balance)).collect();
    balances.sort_unstable();
    let rows: Vec<Vec<SimpleExpr>> = book
        .account_rows
        .iter()
        .zip(&balances)
        .map(|(r, (_, b))| {
            let mut r = r.clone();
            r.insert(5, (*b).into());
            r
        })
        .collect();
    let base = Query::insert()
        .into_table(TimebankAccounts::Table)
        .columns([
            TimebankAccounts::Id,
            TimebankAccounts::Kind,
            TimebankAccounts::VolunteerId,
            TimebankAccounts::SystemKey,
            TimebankAccounts::DivisionCode,
            TimebankAccounts::BalanceMinutes,
            TimebankAccounts::CreatedAt,
        ])
        .to_owned();
    run_chunks(&mut c, &base, &rows).await?;
    let base = Query::insert()
        .into_table(TimebankTransactions::Table)
        .columns([
            TimebankTransactions::Id,
            TimebankTransactions::Kind,
            TimebankTransactions::SignupId,
            TimebankTransactions::DivisionCode,
            TimebankTransactions::Beneficiary,
            TimebankTransactions::Note,
            TimebankTransactions::CreatedAt,
        ])
        .to_owned();
    run_chunks(&mut c, &base, &book.tx_rows).await?;
    let base = Query::insert()
        .into_table(TimebankPostings::Table)
        .columns([
            TimebankPostings::TransactionId,
            TimebankPostings::AccountId,
            TimebankPostings::Minutes,
        ])
        .to_owned();
    run_chunks(&mut c, &base, &book.posting_rows).await?;
    bump(&mut c, "timebank_accounts").await?;
    bump(&mut c, "timebank_transactions").await?;
    summary.accounts = book.account_rows.len();

    // Certificates: about 2% of the volunteers with confirmed hours, issued by
    // their township for the last year.
    let q = Query::select()
        .expr_as(Expr::col((v, Volunteers::Id)), Alias::new("id"))
        .expr_as(
            Expr::col((v, Volunteers::DivisionCode)),
            Alias::new("division_code"),
        )
        .from(v)
        .and_where(
            Expr::col((v, Volunteers::Id)).in_subquery(
                Query::select()
                    .column(VolunteerSignups::VolunteerId)
                    .from(VolunteerSignups::Table)
                    .and_where(Expr::col(VolunteerSignups::State).eq("completed"))
                    .and_where(Expr::col(VolunteerSignups::Minutes).gt(0))
                    .to_owned(),
            ),
        )
        .order_by((v, Volunteers::Id), Order::Asc)
        .to_owned();
    let with_hours: Vec<(i64, String)> = c.fetch_all(&q).await?;
    let tree = crate::divisions::all(&mut c).await?;
    let name_of = |code: &str| {
        tree.iter()
            .find(|d| d.code == code)
            .map_or_else(|| code.to_owned(), |d| d.name.clone())
    };
    for (vid, division) in &with_hours {
        if !rng.chance(0.02) {
            continue;
        }
        let Some(township) = DivisionCode::parse(division).ok().and_then(|d| {
            std::iter::successors(Some(d), |x| x.parent())
                .find(|x| x.level() == shequ_core::Level::Township)
        }) else {
            continue;
        };
        let scope = Scope::new(township.clone(), Role::TownshipStaff, Actor::system());
        let issued_at = now - Duration::days(rng.range(1, 60));
        let to = crate::certificates::local_date(issued_at) - Duration::days(1);
        let from = to - Duration::days(365);
        let input = IssueInput {
            volunteer_id: *vid,
            from,
            to,
            issuer: Issuer {
                name: format!("{}志愿服务站", name_of(township.as_str())),
                head: rng.pick(&HEADS).copied().unwrap_or("王建华").into(),
                handler: rng.pick(&HEADS).copied().unwrap_or("李红梅").into(),
                contact: format!("0739-{}", rng.range(5_000_000, 5_999_999)),
            },
            remarks: String::new(),
        };
        let random = (rng.next_u64() & 0xF_FFFF) as u32;
        match crate::certificates::issue(&mut c, &scope, &input, random, issued_at).await {
            Ok(row) => {
                summary.certificates += 1;
                if summary.certificates % 8 == 1 {
                    crate::certificates::revoke(
                        &mut c,
                        &scope,
                        &row.number,
                        "证明信息有误，已重新开具",
                        issued_at + Duration::hours(2),
                    )
                    .await?;
                    summary.revoked += 1;
                }
            }
            Err(crate::DbError::Invalid(_) | crate::DbError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    tx.commit().await?;
    Ok(summary)
}
