//! 时间银行: the double-entry hour ledger and its rules.
//!
//! Every movement of time is a transaction of two or more postings, in minutes,
//! that sum to zero. Accounts:
//! - one per volunteer (存入 from confirmed elder-care service, 支取 for service
//!   received by the volunteer or a family member, 转赠 to a family member's
//!   account, 捐赠 to the pool);
//! - one per team: team hours can only be donated to the pool;
//! - the city's 公益池 (donation pool): donations, the overflow above the cap, and
//!   grants to people in need;
//! - the 保障账户 (guarantee account): time the government guarantees, topped up
//!   and granted like the pool;
//! - the 发行账户 (issued): the system's source of credited time; its balance is
//!   minus all time outstanding, and time spent returns to it.
//!
//! A volunteer's balance never exceeds the cap (default 1500 hours, the Nanjing
//! model): a deposit above it goes to the pool at once (溢出捐赠). No account but
//! the issued account goes below its floor (the volunteer minimum, default 0; zero
//! for the others). Postings are never changed; a correction is a reversing
//! transaction.
//!
//! This ledger is separate from the 志愿服务记录证明: time-bank credit is a mutual
//! aid scheme, not the free and truthful record the 办法 requires.

use crate::validation::FieldErrors;
use serde::{Deserialize, Serialize};

/// Largest single amount, in minutes (10 000 hours).
pub const MAX_AMOUNT: i64 = 10_000 * 60;

/// What an account belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Volunteer,
    Team,
    Pool,
    Guarantee,
    Issued,
}

impl AccountKind {
    pub const ALL: [AccountKind; 5] = [
        AccountKind::Volunteer,
        AccountKind::Team,
        AccountKind::Pool,
        AccountKind::Guarantee,
        AccountKind::Issued,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Volunteer => "volunteer",
            AccountKind::Team => "team",
            AccountKind::Pool => "pool",
            AccountKind::Guarantee => "guarantee",
            AccountKind::Issued => "issued",
        }
    }

    pub fn parse(s: &str) -> Option<AccountKind> {
        AccountKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            AccountKind::Volunteer => "志愿者账户",
            AccountKind::Team => "团队账户",
            AccountKind::Pool => "公益池（捐赠池）",
            AccountKind::Guarantee => "保障账户",
            AccountKind::Issued => "发行账户",
        }
    }

    /// The pool, the guarantee and the issued account exist once each.
    pub fn is_system(self) -> bool {
        matches!(
            self,
            AccountKind::Pool | AccountKind::Guarantee | AccountKind::Issued
        )
    }
}

/// What a transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    /// 存入: confirmed elder-care service (issued → volunteer or team).
    Deposit,
    /// 溢出捐赠: the part of a deposit above the cap (volunteer → pool).
    Overflow,
    /// 支取: service received by the volunteer or a family member (volunteer → issued).
    Withdraw,
    /// 转赠: to a family member's volunteer account.
    Transfer,
    /// 捐赠: volunteer or team → pool.
    Donate,
    /// 发放: pool or guarantee → issued, service for a person in need.
    Grant,
    /// 注资: issued → guarantee (time the government guarantees).
    Fund,
    /// 冲正: the exact opposite of an earlier transaction.
    Reversal,
}

impl TxKind {
    pub const ALL: [TxKind; 8] = [
        TxKind::Deposit,
        TxKind::Overflow,
        TxKind::Withdraw,
        TxKind::Transfer,
        TxKind::Donate,
        TxKind::Grant,
        TxKind::Fund,
        TxKind::Reversal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TxKind::Deposit => "deposit",
            TxKind::Overflow => "overflow",
            TxKind::Withdraw => "withdraw",
            TxKind::Transfer => "transfer",
            TxKind::Donate => "donate",
            TxKind::Grant => "grant",
            TxKind::Fund => "fund",
            TxKind::Reversal => "reversal",
        }
    }

    pub fn parse(s: &str) -> Option<TxKind> {
        TxKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            TxKind::Deposit => "存入",
            TxKind::Overflow => "超上限自动捐赠",
            TxKind::Withdraw => "支取",
            TxKind::Transfer => "转赠",
            TxKind::Donate => "捐赠",
            TxKind::Grant => "发放",
            TxKind::Fund => "注资",
            TxKind::Reversal => "冲正",
        }
    }
}

/// The configurable rules (kept as JSON in the settings table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Most hours a volunteer account holds; the rest is donated to the pool.
    pub cap_hours: i64,
    /// Lowest balance of a volunteer account, in hours (0, or negative for a
    /// small overdraft).
    pub min_balance_hours: i64,
    /// Most hours one withdrawal takes.
    pub max_withdrawal_hours: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            cap_hours: 1500,
            min_balance_hours: 0,
            max_withdrawal_hours: 20,
        }
    }
}

impl Rules {
    /// Cap 1–10 000 hours, minimum balance −100–0 hours, withdrawal 1 hour – cap.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errs = FieldErrors::new();
        if !(1..=10_000).contains(&self.cap_hours) {
            errs.add("cap_hours", "bad_cap", "存储上限应在 1 到 10000 小时之间");
        }
        if !(-100..=0).contains(&self.min_balance_hours) {
            errs.add(
                "min_balance_hours",
                "bad_min_balance",
                "最低余额应在 -100 到 0 小时之间",
            );
        }
        if self.max_withdrawal_hours < 1 || self.max_withdrawal_hours > self.cap_hours.max(1) {
            errs.add(
                "max_withdrawal_hours",
                "bad_max_withdrawal",
                "单次支取上限应在 1 小时到存储上限之间",
            );
        }
        errs.into_result()
    }

    pub fn cap_minutes(&self) -> i64 {
        self.cap_hours.saturating_mul(60)
    }

    pub fn max_withdrawal_minutes(&self) -> i64 {
        self.max_withdrawal_hours.saturating_mul(60)
    }

    /// The lowest balance an account of `kind` may reach; `None` for no floor.
    pub fn floor(&self, kind: AccountKind) -> Option<i64> {
        match kind {
            AccountKind::Volunteer => Some(self.min_balance_hours.saturating_mul(60)),
            AccountKind::Team | AccountKind::Pool | AccountKind::Guarantee => Some(0),
            AccountKind::Issued => None,
        }
    }

    /// The highest balance an account of `kind` may reach; `None` for no cap.
    pub fn cap(&self, kind: AccountKind) -> Option<i64> {
        match kind {
            AccountKind::Volunteer => Some(self.cap_minutes()),
            _ => None,
        }
    }
}

/// An account and its balance, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acct {
    pub id: i64,
    pub kind: AccountKind,
    pub balance: i64,
}

/// One posting: minutes added to (positive) or taken from (negative) an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    pub account: i64,
    pub minutes: i64,
}

/// A transaction before it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub kind: TxKind,
    pub legs: Vec<Leg>,
}

/// Why the ledger refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("时长应大于 0 且不超过 10000 小时")]
    BadAmount,
    #[error("余额不足：当前可用 {available}，本次需要 {needed}")]
    InsufficientBalance { available: String, needed: String },
    #[error("对方账户将超过存储上限 {0} 小时")]
    OverCap(i64),
    #[error("单次支取不能超过 {0} 小时")]
    WithdrawalTooLarge(i64),
    #[error("{0}")]
    NotAllowed(&'static str),
    #[error("不能转给自己")]
    SameAccount,
    #[error("记账不平衡")]
    Unbalanced,
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::BadAmount => "bad_amount",
            Refusal::InsufficientBalance { .. } => "insufficient_balance",
            Refusal::OverCap(_) => "over_cap",
            Refusal::WithdrawalTooLarge(_) => "withdrawal_too_large",
            Refusal::NotAllowed(_) => "account_not_allowed",
            Refusal::SameAccount => "same_account",
            Refusal::Unbalanced => "unbalanced",
        }
    }
}

/// Minutes as hours to one decimal and minutes: "12.5 小时".
pub fn hours(minutes: i64) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let m = minutes.unsigned_abs();
    let h = m / 60;
    let r = m % 60;
    if r == 0 {
        format!("{sign}{h} 小时")
    } else {
        format!("{sign}{h} 小时 {r} 分钟")
    }
}

/// Read an amount in hours as typed ("2", "1.5", "0.25"); whole minutes only.
pub fn parse_hours(s: &str) -> Result<i64, Refusal> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || int.len() > 5
        || frac.len() > 2
    {
        return Err(Refusal::BadAmount);
    }
    let whole: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| Refusal::BadAmount)?
    };
    let hundredths: i64 = format!("{frac:0<2}")
        .parse()
        .map_err(|_| Refusal::BadAmount)?;
    let total_hundredths = whole * 100 + hundredths;
    // Whole minutes: hundredths of an hour × 0.6.
    if (total_hundredths * 60) % 100 != 0 {
        return Err(Refusal::BadAmount);
    }
    let minutes = total_hundredths * 60 / 100;
    check_amount(minutes)?;
    Ok(minutes)
}

fn check_amount(minutes: i64) -> Result<(), Refusal> {
    if minutes <= 0 || minutes > MAX_AMOUNT {
        Err(Refusal::BadAmount)
    } else {
        Ok(())
    }
}

/// Check a plan against the accounts it touches: at least two legs, none zero,
/// summing to zero; every lowered balance stays at or above its floor, every
/// raised balance at or below its cap. Returns the new balances, one per account.
pub fn check(rules: &Rules, plan: &Plan, accts: &[Acct]) -> Result<Vec<(i64, i64)>, Refusal> {
    if plan.legs.len() < 2 || plan.legs.iter().any(|l| l.minutes == 0) {
        return Err(Refusal::Unbalanced);
    }
    let sum = plan
        .legs
        .iter()
        .try_fold(0i64, |s, l| s.checked_add(l.minutes))
        .ok_or(Refusal::BadAmount)?;
    if sum != 0 {
        return Err(Refusal::Unbalanced);
    }
    let mut out: Vec<(i64, i64)> = Vec::new();
    for leg in &plan.legs {
        let a = accts
            .iter()
            .find(|a| a.id == leg.account)
            .ok_or(Refusal::Unbalanced)?;
        match out.iter_mut().find(|(id, _)| *id == a.id) {
            Some((_, b)) => *b = b.checked_add(leg.minutes).ok_or(Refusal::BadAmount)?,
            None => out.push((
                a.id,
                a.balance
                    .checked_add(leg.minutes)
                    .ok_or(Refusal::BadAmount)?,
            )),
        }
    }
    for (id, after) in &out {
        let Some(a) = accts.iter().find(|a| a.id == *id) else {
            return Err(Refusal::Unbalanced);
        };
        if *after < a.balance
            && let Some(floor) = rules.floor(a.kind)
            && *after < floor
        {
            return Err(Refusal::InsufficientBalance {
                available: hours((a.balance - floor).max(0)),
                needed: hours(a.balance - after),
            });
        }
        if *after > a.balance
            && let Some(cap) = rules.cap(a.kind)
            && *after > cap
        {
            return Err(Refusal::OverCap(rules.cap_hours));
        }
    }
    Ok(out)
}

fn two(kind: TxKind, from: &Acct, to: &Acct, minutes: i64) -> Plan {
    Plan {
        kind,
        legs: vec![
            Leg {
                account: from.id,
                minutes: -minutes,
            },
            Leg {
                account: to.id,
                minutes,
            },
        ],
    }
}

fn expect(a: &Acct, kinds: &[AccountKind], why: &'static str) -> Result<(), Refusal> {
    if kinds.contains(&a.kind) {
        Ok(())
    } else {
        Err(Refusal::NotAllowed(why))
    }
}

/// Credit confirmed service to a volunteer or team: one deposit, and for a
/// volunteer whose balance would pass the cap, an overflow of the excess to the
/// pool. Both plans are checked in sequence.
pub fn deposit(
    rules: &Rules,
    issued: &Acct,
    to: &Acct,
    pool: &Acct,
    minutes: i64,
) -> Result<Vec<Plan>, Refusal> {
    check_amount(minutes)?;
    expect(issued, &[AccountKind::Issued], "存入须来自发行账户")?;
    expect(
        to,
        &[AccountKind::Volunteer, AccountKind::Team],
        "只能存入志愿者或团队账户",
    )?;
    expect(pool, &[AccountKind::Pool], "溢出须捐入公益池")?;
    let dep = two(TxKind::Deposit, issued, to, minutes);
    let mut plans = vec![dep];
    if let Some(cap) = rules.cap(to.kind) {
        // What lies above the cap after the deposit (all of it when the balance
        // is above a cap lowered since).
        let after = to.balance.saturating_add(minutes);
        let excess = (after - cap).clamp(0, minutes);
        if excess > 0 {
            plans.push(two(TxKind::Overflow, to, pool, excess));
        }
    }
    // Check them as they would apply, one after the other (the deposit alone may
    // pass the cap; the overflow brings it back).
    let mut accts = [*issued, *to, *pool];
    let last = plans.len() - 1;
    for (i, p) in plans.iter().enumerate() {
        let relaxed = if i < last {
            Rules {
                cap_hours: i64::MAX / 120,
                ..*rules
            }
        } else {
            *rules
        };
        for (id, b) in check(&relaxed, p, &accts)? {
            if let Some(a) = accts.iter_mut().find(|a| a.id == id) {
                a.balance = b;
            }
        }
    }
    Ok(plans)
}

/// Service received by the volunteer or a family member: volunteer → issued, at
/// most the per-withdrawal limit, never below the floor.
pub fn withdraw(rules: &Rules, from: &Acct, issued: &Acct, minutes: i64) -> Result<Plan, Refusal> {
    check_amount(minutes)?;
    expect(from, &[AccountKind::Volunteer], "只能从志愿者账户支取")?;
    expect(issued, &[AccountKind::Issued], "支取的时间回到发行账户")?;
    if minutes > rules.max_withdrawal_minutes() {
        return Err(Refusal::WithdrawalTooLarge(rules.max_withdrawal_hours));
    }
    let p = two(TxKind::Withdraw, from, issued, minutes);
    check(rules, &p, &[*from, *issued])?;
    Ok(p)
}

/// A volunteer gives time to a family member's volunteer account (not above its cap).
pub fn transfer(rules: &Rules, from: &Acct, to: &Acct, minutes: i64) -> Result<Plan, Refusal> {
    check_amount(minutes)?;
    expect(from, &[AccountKind::Volunteer], "只能从志愿者账户转赠")?;
    expect(to, &[AccountKind::Volunteer], "只能转赠给志愿者账户")?;
    if from.id == to.id {
        return Err(Refusal::SameAccount);
    }
    let p = two(TxKind::Transfer, from, to, minutes);
    check(rules, &p, &[*from, *to])?;
    Ok(p)
}

/// A volunteer or team gives time to the pool.
pub fn donate(rules: &Rules, from: &Acct, pool: &Acct, minutes: i64) -> Result<Plan, Refusal> {
    check_amount(minutes)?;
    expect(
        from,
        &[AccountKind::Volunteer, AccountKind::Team],
        "只能从志愿者或团队账户捐赠",
    )?;
    expect(pool, &[AccountKind::Pool], "捐赠进入公益池")?;
    let p = two(TxKind::Donate, from, pool, minutes);
    check(rules, &p, &[*from, *pool])?;
    Ok(p)
}

/// Service for a person in need, paid from the pool or the guarantee account.
pub fn grant(rules: &Rules, source: &Acct, issued: &Acct, minutes: i64) -> Result<Plan, Refusal> {
    check_amount(minutes)?;
    expect(
        source,
        &[AccountKind::Pool, AccountKind::Guarantee],
        "只能从公益池或保障账户发放",
    )?;
    expect(issued, &[AccountKind::Issued], "发放的时间回到发行账户")?;
    let p = two(TxKind::Grant, source, issued, minutes);
    check(rules, &p, &[*source, *issued])?;
    Ok(p)
}

/// Top up the guarantee account.
pub fn fund(rules: &Rules, issued: &Acct, guarantee: &Acct, minutes: i64) -> Result<Plan, Refusal> {
    check_amount(minutes)?;
    expect(issued, &[AccountKind::Issued], "注资来自发行账户")?;
    expect(guarantee, &[AccountKind::Guarantee], "只能向保障账户注资")?;
    let p = two(TxKind::Fund, issued, guarantee, minutes);
    check(rules, &p, &[*issued, *guarantee])?;
    Ok(p)
}

/// The exact opposite of `legs`, checked against the accounts now (a reversal
/// that would take an account below its floor is refused).
pub fn reverse(rules: &Rules, legs: &[Leg], accts: &[Acct]) -> Result<Plan, Refusal> {
    let p = Plan {
        kind: TxKind::Reversal,
        legs: legs
            .iter()
            .map(|l| Leg {
                account: l.account,
                minutes: -l.minutes,
            })
            .collect(),
    };
    check(rules, &p, accts)?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const ISSUED: i64 = 1;
    const POOL: i64 = 2;
    const GUARANTEE: i64 = 3;
    const TEAM: i64 = 4;
    /// Volunteers are 10, 11, 12.
    const VOLS: [i64; 3] = [10, 11, 12];

    /// An in-memory ledger: accounts and every posting.
    struct Ledger {
        rules: Rules,
        accounts: BTreeMap<i64, Acct>,
        postings: Vec<(usize, Leg)>,
        txs: Vec<Plan>,
    }

    impl Ledger {
        fn new(rules: Rules) -> Ledger {
            let mut accounts = BTreeMap::new();
            for (id, kind) in [
                (ISSUED, AccountKind::Issued),
                (POOL, AccountKind::Pool),
                (GUARANTEE, AccountKind::Guarantee),
                (TEAM, AccountKind::Team),
            ]
            .into_iter()
            .chain(VOLS.iter().map(|v| (*v, AccountKind::Volunteer)))
            {
                accounts.insert(
                    id,
                    Acct {
                        id,
                        kind,
                        balance: 0,
                    },
                );
            }
            Ledger {
                rules,
                accounts,
                postings: Vec::new(),
                txs: Vec::new(),
            }
        }

        fn a(&self, id: i64) -> Acct {
            self.accounts[&id]
        }

        fn all(&self) -> Vec<Acct> {
            self.accounts.values().copied().collect()
        }

        fn apply(&mut self, p: Plan) {
            let news = check(
                &Rules {
                    cap_hours: i64::MAX / 120,
                    ..self.rules
                },
                &p,
                &self.all(),
            )
            .unwrap();
            for (id, b) in news {
                self.accounts.get_mut(&id).unwrap().balance = b;
            }
            let n = self.txs.len();
            for l in &p.legs {
                self.postings.push((n, *l));
            }
            self.txs.push(p);
        }

        fn run(&mut self, op: &Op) -> Result<(), Refusal> {
            let r = self.rules;
            let plans = match *op {
                Op::Deposit(v, m) => deposit(&r, &self.a(ISSUED), &self.a(v), &self.a(POOL), m)?,
                Op::Withdraw(v, m) => vec![withdraw(&r, &self.a(v), &self.a(ISSUED), m)?],
                Op::Transfer(a, b, m) => vec![transfer(&r, &self.a(a), &self.a(b), m)?],
                Op::Donate(v, m) => vec![donate(&r, &self.a(v), &self.a(POOL), m)?],
                Op::Grant(s, m) => vec![grant(&r, &self.a(s), &self.a(ISSUED), m)?],
                Op::Fund(m) => vec![fund(&r, &self.a(ISSUED), &self.a(GUARANTEE), m)?],
                Op::Reverse(i) => {
                    let Some(t) = self.txs.get(i % self.txs.len().max(1)) else {
                        return Ok(());
                    };
                    vec![reverse(&r, &t.legs, &self.all())?]
                }
            };
            for p in plans {
                self.apply(p);
            }
            Ok(())
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Deposit(i64, i64),
        Withdraw(i64, i64),
        Transfer(i64, i64, i64),
        Donate(i64, i64),
        Grant(i64, i64),
        Fund(i64),
        Reverse(usize),
    }

    fn vol() -> impl Strategy<Value = i64> {
        prop::sample::select(VOLS.to_vec())
    }

    fn any_account() -> impl Strategy<Value = i64> {
        prop::sample::select(vec![ISSUED, POOL, GUARANTEE, TEAM, 10, 11, 12])
    }

    fn amount() -> impl Strategy<Value = i64> {
        prop_oneof![-5i64..=0, 1i64..=600, 600i64..=3000]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any_account(), amount()).prop_map(|(v, m)| Op::Deposit(v, m)),
            2 => (any_account(), amount()).prop_map(|(v, m)| Op::Withdraw(v, m)),
            2 => (any_account(), any_account(), amount()).prop_map(|(a, b, m)| Op::Transfer(a, b, m)),
            2 => (any_account(), amount()).prop_map(|(v, m)| Op::Donate(v, m)),
            1 => (any_account(), amount()).prop_map(|(s, m)| Op::Grant(s, m)),
            1 => amount().prop_map(Op::Fund),
            1 => any::<usize>().prop_map(Op::Reverse),
        ]
    }

    fn rules() -> impl Strategy<Value = Rules> {
        (1i64..=40, -3i64..=0, 1i64..=10).prop_map(|(cap, min, w)| Rules {
            cap_hours: cap,
            min_balance_hours: min,
            max_withdrawal_hours: w.min(cap),
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn the_ledger_always_balances(rules in rules(), ops in prop::collection::vec(op(), 0..80), _v in vol()) {
            let mut l = Ledger::new(rules);
            for o in &ops {
                let before = l.accounts.clone();
                let n = l.postings.len();
                if l.run(o).is_err() {
                    // A refusal stores nothing.
                    prop_assert_eq!(&l.accounts, &before);
                    prop_assert_eq!(l.postings.len(), n);
                }
                // Every posting sums to zero overall and per transaction.
                let total: i64 = l.postings.iter().map(|(_, p)| p.minutes).sum();
                prop_assert_eq!(total, 0);
                for (i, _) in l.txs.iter().enumerate() {
                    let s: i64 = l.postings.iter().filter(|(t, _)| *t == i).map(|(_, p)| p.minutes).sum();
                    prop_assert_eq!(s, 0);
                    prop_assert!(l.postings.iter().filter(|(t, _)| *t == i).count() >= 2);
                }
                for a in l.accounts.values() {
                    let sum: i64 = l.postings.iter().filter(|(_, p)| p.account == a.id).map(|(_, p)| p.minutes).sum();
                    prop_assert_eq!(a.balance, sum, "balance of {}", a.id);
                    if let Some(f) = rules.floor(a.kind) {
                        prop_assert!(a.balance >= f, "{} below floor: {}", a.id, a.balance);
                    }
                    if a.kind == AccountKind::Volunteer {
                        prop_assert!(a.balance <= rules.cap_minutes(), "{} above cap: {}", a.id, a.balance);
                    }
                    if a.kind == AccountKind::Team {
                        // Team time leaves only as donations (or reversals of deposits).
                        for (t, p) in &l.postings {
                            if p.account == a.id && p.minutes < 0 {
                                let k = l.txs[*t].kind;
                                prop_assert!(matches!(k, TxKind::Donate | TxKind::Reversal), "{:?}", k);
                            }
                        }
                    }
                }
            }
        }
    }

    fn acct(id: i64, kind: AccountKind, balance: i64) -> Acct {
        Acct { id, kind, balance }
    }

    #[test]
    fn deposit_overflows_above_the_cap() {
        let r = Rules {
            cap_hours: 10,
            ..Rules::default()
        };
        let issued = acct(1, AccountKind::Issued, -540);
        let pool = acct(2, AccountKind::Pool, 0);
        let v = acct(10, AccountKind::Volunteer, 540);
        let plans = deposit(&r, &issued, &v, &pool, 120).unwrap();
        assert_eq!(plans.len(), 2);
        assert_eq!(plans[1].kind, TxKind::Overflow);
        assert_eq!(
            plans[1].legs[1],
            Leg {
                account: 2,
                minutes: 60
            }
        );
        let at_cap = acct(10, AccountKind::Volunteer, 600);
        let plans = deposit(&r, &issued, &at_cap, &pool, 30).unwrap();
        assert_eq!(plans[1].legs[0].minutes, -30);
        let below = deposit(&r, &issued, &v, &pool, 60).unwrap();
        assert_eq!(below.len(), 1);
        // Teams have no cap; system accounts take no deposits.
        let team = acct(4, AccountKind::Team, 100_000);
        assert_eq!(deposit(&r, &issued, &team, &pool, 60).unwrap().len(), 1);
        assert_eq!(
            deposit(&r, &issued, &pool, &pool, 60).unwrap_err().code(),
            "account_not_allowed"
        );
        assert_eq!(
            deposit(&r, &issued, &v, &pool, 0).unwrap_err(),
            Refusal::BadAmount
        );
    }

    #[test]
    fn withdrawals_transfers_and_team_rules() {
        let r = Rules::default();
        let issued = acct(1, AccountKind::Issued, 0);
        let v = acct(10, AccountKind::Volunteer, 90);
        let w = acct(11, AccountKind::Volunteer, 0);
        let team = acct(4, AccountKind::Team, 600);
        let pool = acct(2, AccountKind::Pool, 0);
        let e = withdraw(&r, &v, &issued, 120).unwrap_err();
        assert_eq!(e.code(), "insufficient_balance");
        assert_eq!(
            e.to_string(),
            "余额不足：当前可用 1 小时 30 分钟，本次需要 2 小时"
        );
        assert!(withdraw(&r, &v, &issued, 90).is_ok());
        assert_eq!(
            withdraw(
                &r,
                &acct(10, AccountKind::Volunteer, 6000),
                &issued,
                21 * 60
            )
            .unwrap_err()
            .code(),
            "withdrawal_too_large"
        );
        assert_eq!(
            withdraw(&r, &team, &issued, 60).unwrap_err().code(),
            "account_not_allowed"
        );
        assert_eq!(
            transfer(&r, &team, &w, 60).unwrap_err().code(),
            "account_not_allowed"
        );
        assert_eq!(transfer(&r, &v, &v, 60).unwrap_err(), Refusal::SameAccount);
        assert!(transfer(&r, &v, &w, 60).is_ok());
        let full = acct(11, AccountKind::Volunteer, r.cap_minutes());
        assert_eq!(transfer(&r, &v, &full, 60).unwrap_err().code(), "over_cap");
        assert!(donate(&r, &team, &pool, 600).is_ok());
        assert_eq!(
            grant(&r, &pool, &issued, 1).unwrap_err().code(),
            "insufficient_balance"
        );
        let overdraft = Rules {
            min_balance_hours: -2,
            ..r
        };
        assert!(withdraw(&overdraft, &v, &issued, 210).is_ok());
        assert!(withdraw(&overdraft, &v, &issued, 211).is_err());
    }

    #[test]
    fn amounts_and_rules() {
        assert_eq!(parse_hours("1.5"), Ok(90));
        assert_eq!(parse_hours("2"), Ok(120));
        assert_eq!(parse_hours("0.25"), Ok(15));
        assert_eq!(parse_hours(".5"), Ok(30));
        for bad in [
            "", "0", "-1", "1.005", "abc", "0.01", "1e3", "10001", "1.2.3",
        ] {
            assert!(parse_hours(bad).is_err(), "{bad}");
        }
        assert_eq!(hours(90), "1 小时 30 分钟");
        assert_eq!(hours(-60), "-1 小时");
        assert!(Rules::default().validate().is_ok());
        let bad = Rules {
            cap_hours: 0,
            min_balance_hours: 5,
            max_withdrawal_hours: 0,
        };
        assert_eq!(bad.validate().unwrap_err().0.len(), 3);
        for k in AccountKind::ALL {
            assert_eq!(AccountKind::parse(k.as_str()), Some(k));
        }
        for k in TxKind::ALL {
            assert_eq!(TxKind::parse(k.as_str()), Some(k));
        }
    }
}
