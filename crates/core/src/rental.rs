//! 康复辅具租赁: the aid catalogue, an item's condition and state, loan dates,
//! fees and the settlement of the deposit at return. Money is integer fen
//! (1 元 = 100 fen); dates are calendar days in Asia/Shanghai.
//!
//! An item is 在库 (in stock), 借出 (on loan), 维修 (under repair) or 报废
//! (scrapped, final). Only an item in stock can be lent; a lent item comes back
//! in stock, to repair or scrapped, according to its condition on return; an
//! item on loan can be neither repaired nor scrapped until it is returned.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// One kind of aid in the built-in catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AidKind {
    /// Stable ASCII code (stored).
    pub code: &'static str,
    pub label: &'static str,
    /// Default rent per day, fen.
    pub daily_fee_fen: i64,
    /// Default deposit, fen.
    pub deposit_fen: i64,
}

/// The built-in catalogue, most common first.
pub const CATALOGUE: [AidKind; 10] = [
    kind("wheelchair", "轮椅", 200, 30_000),
    kind("nursing_bed", "护理床", 500, 100_000),
    kind("walker", "助行器", 100, 10_000),
    kind("crutches", "拐杖", 50, 5_000),
    kind("commode_chair", "坐便椅", 100, 10_000),
    kind("shower_chair", "洗澡椅", 100, 10_000),
    kind("pressure_mattress", "防褥疮垫", 200, 20_000),
    kind("oxygen_concentrator", "制氧机", 800, 200_000),
    kind("electric_wheelchair", "电动轮椅", 800, 300_000),
    kind("patient_lift", "移位机", 600, 150_000),
];

const fn kind(code: &'static str, label: &'static str, fee: i64, deposit: i64) -> AidKind {
    AidKind {
        code,
        label,
        daily_fee_fen: fee,
        deposit_fen: deposit,
    }
}

/// The catalogue entry for a code (or a label).
pub fn aid_kind(code_or_label: &str) -> Option<&'static AidKind> {
    let s = code_or_label.trim();
    CATALOGUE.iter().find(|k| k.code == s || k.label == s)
}

/// The label of a stored kind code (the code itself when unknown).
pub fn aid_label(code: &str) -> &str {
    aid_kind(code).map_or(code, |k| k.label)
}

/// The local (Beijing, UTC+8) date of an instant: the day loans start, fall due and come back.
pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    (t + Duration::hours(8)).date_naive()
}

/// Largest deposit or daily fee of one item: 100,000 元.
pub const MAX_MONEY_FEN: i64 = 10_000_000;
/// Longest loan (and extension target), days from the start.
pub const MAX_LOAN_DAYS: i64 = 366;

/// The physical condition of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// 良好
    Good,
    /// 需维修
    NeedsRepair,
    /// 报废
    Scrapped,
}

impl Condition {
    pub const ALL: [Condition; 3] = [Condition::Good, Condition::NeedsRepair, Condition::Scrapped];

    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Good => "good",
            Condition::NeedsRepair => "needs_repair",
            Condition::Scrapped => "scrapped",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Condition::Good => "良好",
            Condition::NeedsRepair => "需维修",
            Condition::Scrapped => "报废",
        }
    }

    /// Accepts the code or the label.
    pub fn parse(s: &str) -> Option<Condition> {
        let s = s.trim();
        Condition::ALL
            .into_iter()
            .find(|c| c.as_str() == s || c.label() == s)
    }
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// 在库
    InStock,
    /// 借出
    OnLoan,
    /// 维修
    Repair,
    /// 报废 (final)
    Scrapped,
}

impl ItemState {
    pub const ALL: [ItemState; 4] = [
        ItemState::InStock,
        ItemState::OnLoan,
        ItemState::Repair,
        ItemState::Scrapped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::InStock => "in_stock",
            ItemState::OnLoan => "on_loan",
            ItemState::Repair => "repair",
            ItemState::Scrapped => "scrapped",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ItemState::InStock => "在库",
            ItemState::OnLoan => "借出",
            ItemState::Repair => "维修",
            ItemState::Scrapped => "报废",
        }
    }

    /// Accepts the code or the label.
    pub fn parse(s: &str) -> Option<ItemState> {
        let s = s.trim();
        ItemState::ALL
            .into_iter()
            .find(|c| c.as_str() == s || c.label() == s)
    }

    /// The state an item with this condition takes when it comes back or is registered.
    pub fn for_condition(c: Condition) -> ItemState {
        match c {
            Condition::Good => ItemState::InStock,
            Condition::NeedsRepair => ItemState::Repair,
            Condition::Scrapped => ItemState::Scrapped,
        }
    }
}

/// What can happen to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemAction {
    /// Lend it out.
    Lend,
    /// It comes back in this condition.
    Return(Condition),
    /// Send it to repair (送修).
    Repair,
    /// Repair done, back in stock (修复).
    Repaired,
    /// Scrap it (报废).
    Scrap,
}

impl ItemAction {
    /// The code of a staff action on an item (lend and return go through loans).
    pub fn parse_staff(s: &str) -> Option<ItemAction> {
        match s.trim() {
            "repair" => Some(ItemAction::Repair),
            "repaired" => Some(ItemAction::Repaired),
            "scrap" => Some(ItemAction::Scrap),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ItemAction::Lend => "出借",
            ItemAction::Return(_) => "归还",
            ItemAction::Repair => "送修",
            ItemAction::Repaired => "修复入库",
            ItemAction::Scrap => "报废",
        }
    }
}

/// Why an item, a loan or a date is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RentalRefusal {
    #[error("该辅具当前为“{0}”，不能出借")]
    ItemUnavailable(&'static str),
    #[error("该辅具已借出，请先办理归还")]
    ItemOnLoan,
    #[error("该辅具当前为“{0}”，不能“{1}”")]
    IllegalTransition(&'static str, &'static str),
    #[error("该借用已归还")]
    AlreadyReturned,
    #[error("归还日期应在今天或之前")]
    ReturnInFuture,
    #[error("归还日期不能早于借出日期")]
    ReturnBeforeStart,
    #[error("应还日期不能早于借出日期")]
    DueBeforeStart,
    #[error("借期最长 {MAX_LOAN_DAYS} 天")]
    LoanTooLong,
    #[error("续借后的应还日期应晚于原应还日期")]
    ExtensionNotLater,
    #[error("借出日期不能晚于今天")]
    StartInFuture,
    #[error("扣留押金不能超过所收押金")]
    KeptExceedsDeposit,
    #[error("扣留押金须说明原因")]
    KeptWithoutReason,
    #[error("金额应在 0 到 100000 元之间")]
    BadAmount,
}

impl RentalRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            RentalRefusal::ItemUnavailable(_) => "item_unavailable",
            RentalRefusal::ItemOnLoan => "item_on_loan",
            RentalRefusal::IllegalTransition(..) => "illegal_transition",
            RentalRefusal::AlreadyReturned => "already_returned",
            RentalRefusal::ReturnInFuture => "return_in_future",
            RentalRefusal::ReturnBeforeStart => "bad_return_date",
            RentalRefusal::DueBeforeStart
            | RentalRefusal::LoanTooLong
            | RentalRefusal::ExtensionNotLater => "bad_due_date",
            RentalRefusal::StartInFuture => "start_in_future",
            RentalRefusal::KeptExceedsDeposit => "kept_exceeds_deposit",
            RentalRefusal::KeptWithoutReason => "reason_required",
            RentalRefusal::BadAmount => "bad_amount",
        }
    }

    /// The input field the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            RentalRefusal::ItemUnavailable(_)
            | RentalRefusal::ItemOnLoan
            | RentalRefusal::IllegalTransition(..) => "item_id",
            RentalRefusal::AlreadyReturned => "loan_id",
            RentalRefusal::ReturnInFuture | RentalRefusal::ReturnBeforeStart => "returned_on",
            RentalRefusal::DueBeforeStart
            | RentalRefusal::LoanTooLong
            | RentalRefusal::ExtensionNotLater => "due_date",
            RentalRefusal::StartInFuture => "start_date",
            RentalRefusal::KeptExceedsDeposit => "deposit_kept_fen",
            RentalRefusal::KeptWithoutReason => "keep_reason",
            RentalRefusal::BadAmount => "amount",
        }
    }
}

/// The state after `action`, or why it is refused. Scrapped is final; an item on
/// loan only comes back; only an item in stock is lent.
pub fn apply(state: ItemState, action: ItemAction) -> Result<ItemState, RentalRefusal> {
    use ItemAction as A;
    use ItemState as S;
    match (state, action) {
        (S::InStock, A::Lend) => Ok(S::OnLoan),
        (s, A::Lend) => Err(RentalRefusal::ItemUnavailable(s.label())),
        (S::OnLoan, A::Return(c)) => Ok(ItemState::for_condition(c)),
        (S::OnLoan, _) => Err(RentalRefusal::ItemOnLoan),
        (S::InStock, A::Repair) => Ok(S::Repair),
        (S::Repair, A::Repaired) => Ok(S::InStock),
        (S::InStock | S::Repair, A::Scrap) => Ok(S::Scrapped),
        (s, a) => Err(RentalRefusal::IllegalTransition(s.label(), a.label())),
    }
}

/// The condition an item has once it is in `state` (after an action).
pub fn condition_for(state: ItemState, before: Condition) -> Condition {
    match state {
        ItemState::InStock => Condition::Good,
        ItemState::Repair => Condition::NeedsRepair,
        ItemState::Scrapped => Condition::Scrapped,
        ItemState::OnLoan => before,
    }
}

/// A loan's dates: started today or earlier, due no earlier than the start and
/// at most [`MAX_LOAN_DAYS`] after it.
pub fn check_loan_dates(
    start: NaiveDate,
    due: NaiveDate,
    today: NaiveDate,
) -> Result<(), RentalRefusal> {
    if start > today {
        return Err(RentalRefusal::StartInFuture);
    }
    check_due(start, due)
}

fn check_due(start: NaiveDate, due: NaiveDate) -> Result<(), RentalRefusal> {
    if due < start {
        Err(RentalRefusal::DueBeforeStart)
    } else if (due - start).num_days() > MAX_LOAN_DAYS {
        Err(RentalRefusal::LoanTooLong)
    } else {
        Ok(())
    }
}

/// An extension: the new due date comes after the current one, within the longest loan.
pub fn check_extension(
    start: NaiveDate,
    current_due: NaiveDate,
    new_due: NaiveDate,
) -> Result<(), RentalRefusal> {
    if new_due <= current_due {
        return Err(RentalRefusal::ExtensionNotLater);
    }
    check_due(start, new_due)
}

/// A return date: not before the start, not after today.
pub fn check_return_date(
    start: NaiveDate,
    returned: NaiveDate,
    today: NaiveDate,
) -> Result<(), RentalRefusal> {
    if returned > today {
        Err(RentalRefusal::ReturnInFuture)
    } else if returned < start {
        Err(RentalRefusal::ReturnBeforeStart)
    } else {
        Ok(())
    }
}

/// An amount of money entered by staff.
pub fn check_amount(fen: i64) -> Result<(), RentalRefusal> {
    if (0..=MAX_MONEY_FEN).contains(&fen) {
        Ok(())
    } else {
        Err(RentalRefusal::BadAmount)
    }
}

/// How rent is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeRule {
    /// The item's daily fee for each day.
    Standard,
    /// No rent: the borrower is a resident in 低保 or 特困供养 (checked from the register).
    Waived,
}

impl FeeRule {
    pub fn as_str(self) -> &'static str {
        match self {
            FeeRule::Standard => "standard",
            FeeRule::Waived => "waived",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FeeRule::Standard => "按日计租",
            FeeRule::Waived => "免租（低保/特困）",
        }
    }

    pub fn parse(s: &str) -> Option<FeeRule> {
        [FeeRule::Standard, FeeRule::Waived]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// Days charged for a loan from `start` to `end`: whole days between them, at
/// least one (a same-day return is one day).
pub fn days_charged(start: NaiveDate, end: NaiveDate) -> i64 {
    (end - start).num_days().max(1)
}

/// The rent for a loan from `start` returned on `end`.
pub fn fee_fen(rule: FeeRule, daily_fee_fen: i64, start: NaiveDate, end: NaiveDate) -> i64 {
    match rule {
        FeeRule::Waived => 0,
        FeeRule::Standard => daily_fee_fen.saturating_mul(days_charged(start, end)),
    }
}

/// How the deposit is settled at return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// Rent owed.
    pub fee_fen: i64,
    /// Deposit kept for damage or loss.
    pub kept_fen: i64,
    /// Rent taken out of the deposit.
    pub fee_from_deposit_fen: i64,
    /// Deposit handed back.
    pub refund_fen: i64,
    /// Rent still to pay beyond the deposit.
    pub due_fen: i64,
}

/// Settle a deposit: the amount kept (with a reason) comes off first, then the
/// rent; what is left is refunded and any rent beyond the deposit is still due.
pub fn settle(
    deposit_fen: i64,
    fee_fen: i64,
    kept_fen: i64,
    reason: &str,
) -> Result<Settlement, RentalRefusal> {
    check_amount(kept_fen)?;
    if kept_fen > deposit_fen {
        return Err(RentalRefusal::KeptExceedsDeposit);
    }
    if kept_fen > 0 && reason.trim().is_empty() {
        return Err(RentalRefusal::KeptWithoutReason);
    }
    let left = deposit_fen - kept_fen;
    let from_deposit = fee_fen.min(left);
    Ok(Settlement {
        fee_fen,
        kept_fen,
        fee_from_deposit_fen: from_deposit,
        refund_fen: left - from_deposit,
        due_fen: fee_fen - from_deposit,
    })
}

/// Whether a loan due on `due` and not returned is overdue on `today`.
pub fn is_overdue(due: NaiveDate, returned: Option<NaiveDate>, today: NaiveDate) -> bool {
    returned.is_none() && due < today
}

/// Days past the due date on `today` (0 when not overdue).
pub fn days_overdue(due: NaiveDate, today: NaiveDate) -> i64 {
    (today - due).num_days().max(0)
}

/// Fen as 元 with two decimals: `12345` → `123.45`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// 元 as typed (`123`, `123.4`, `123.45`) to fen; `None` for anything else.
pub fn parse_yuan(s: &str) -> Option<i64> {
    let s = s.trim();
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty()
        || whole.len() > 9
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let w: i64 = whole.parse().ok()?;
    let f: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().ok()?
    };
    Some(w * 100 + f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn catalogue_codes_are_unique_and_found_by_label() {
        for (i, k) in CATALOGUE.iter().enumerate() {
            assert!(CATALOGUE[i + 1..].iter().all(|o| o.code != k.code));
            assert_eq!(aid_kind(k.label), Some(k));
            assert!(k.code.is_ascii());
            assert!(k.deposit_fen > 0 && k.daily_fee_fen > 0);
        }
        assert_eq!(aid_label("wheelchair"), "轮椅");
        assert_eq!(aid_label("unknown"), "unknown");
    }

    #[test]
    fn lending_needs_an_item_in_stock() {
        assert_eq!(
            apply(ItemState::InStock, ItemAction::Lend),
            Ok(ItemState::OnLoan)
        );
        for s in [ItemState::OnLoan, ItemState::Repair, ItemState::Scrapped] {
            let e = apply(s, ItemAction::Lend).unwrap_err();
            assert_eq!(e.code(), "item_unavailable");
        }
    }

    #[test]
    fn a_lent_item_cannot_be_scrapped_or_repaired() {
        for a in [ItemAction::Scrap, ItemAction::Repair, ItemAction::Repaired] {
            assert_eq!(apply(ItemState::OnLoan, a), Err(RentalRefusal::ItemOnLoan));
        }
    }

    #[test]
    fn return_follows_the_condition() {
        assert_eq!(
            apply(ItemState::OnLoan, ItemAction::Return(Condition::Good)),
            Ok(ItemState::InStock)
        );
        assert_eq!(
            apply(
                ItemState::OnLoan,
                ItemAction::Return(Condition::NeedsRepair)
            ),
            Ok(ItemState::Repair)
        );
        assert_eq!(
            apply(ItemState::OnLoan, ItemAction::Return(Condition::Scrapped)),
            Ok(ItemState::Scrapped)
        );
        assert!(apply(ItemState::InStock, ItemAction::Return(Condition::Good)).is_err());
    }

    #[test]
    fn repair_cycle_and_scrapping() {
        assert_eq!(
            apply(ItemState::InStock, ItemAction::Repair),
            Ok(ItemState::Repair)
        );
        assert_eq!(
            apply(ItemState::Repair, ItemAction::Repaired),
            Ok(ItemState::InStock)
        );
        assert_eq!(
            apply(ItemState::Repair, ItemAction::Scrap),
            Ok(ItemState::Scrapped)
        );
        assert!(apply(ItemState::InStock, ItemAction::Repaired).is_err());
        assert!(apply(ItemState::Scrapped, ItemAction::Repaired).is_err());
    }

    #[test]
    fn dates() {
        let today = d(2025, 6, 30);
        assert!(check_loan_dates(d(2025, 6, 1), d(2025, 6, 30), today).is_ok());
        assert_eq!(
            check_loan_dates(d(2025, 6, 10), d(2025, 6, 9), today)
                .unwrap_err()
                .code(),
            "bad_due_date"
        );
        assert_eq!(
            check_loan_dates(d(2025, 7, 1), d(2025, 7, 9), today)
                .unwrap_err()
                .code(),
            "start_in_future"
        );
        assert_eq!(
            check_loan_dates(d(2025, 1, 1), d(2026, 6, 1), today)
                .unwrap_err()
                .code(),
            "bad_due_date"
        );
        assert_eq!(
            check_return_date(d(2025, 6, 1), d(2025, 7, 1), today)
                .unwrap_err()
                .code(),
            "return_in_future"
        );
        assert_eq!(
            check_return_date(d(2025, 6, 1), d(2025, 5, 1), today)
                .unwrap_err()
                .code(),
            "bad_return_date"
        );
        assert!(check_extension(d(2025, 6, 1), d(2025, 6, 30), d(2025, 6, 30)).is_err());
        assert!(check_extension(d(2025, 6, 1), d(2025, 6, 30), d(2025, 7, 30)).is_ok());
    }

    #[test]
    fn fees_and_settlement() {
        assert_eq!(days_charged(d(2025, 6, 1), d(2025, 6, 1)), 1);
        assert_eq!(
            fee_fen(FeeRule::Standard, 200, d(2025, 6, 1), d(2025, 6, 11)),
            2000
        );
        assert_eq!(
            fee_fen(FeeRule::Waived, 200, d(2025, 6, 1), d(2025, 6, 11)),
            0
        );
        let s = settle(30_000, 2_000, 0, "").unwrap();
        assert_eq!((s.refund_fen, s.due_fen), (28_000, 0));
        let s = settle(1_000, 2_000, 500, "扶手损坏").unwrap();
        assert_eq!(
            (s.refund_fen, s.due_fen, s.fee_from_deposit_fen),
            (0, 1_500, 500)
        );
        assert_eq!(
            settle(1_000, 0, 1_001, "丢失").unwrap_err().code(),
            "kept_exceeds_deposit"
        );
        assert_eq!(
            settle(1_000, 0, 100, " ").unwrap_err().code(),
            "reason_required"
        );
    }

    #[test]
    fn money_text() {
        assert_eq!(yuan(12_345), "123.45");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(parse_yuan("123.4"), Some(12_340));
        assert_eq!(parse_yuan("300"), Some(30_000));
        assert_eq!(parse_yuan("0.05"), Some(5));
        for bad in ["", "-1", "1.234", "abc", "1e3", ".5"] {
            assert_eq!(parse_yuan(bad), None, "{bad}");
        }
    }

    fn any_state() -> impl Strategy<Value = ItemState> {
        prop::sample::select(ItemState::ALL.to_vec())
    }

    fn any_action() -> impl Strategy<Value = ItemAction> {
        prop_oneof![
            Just(ItemAction::Lend),
            Just(ItemAction::Repair),
            Just(ItemAction::Repaired),
            Just(ItemAction::Scrap),
            prop::sample::select(Condition::ALL.to_vec()).prop_map(ItemAction::Return),
        ]
    }

    proptest! {
        #[test]
        fn scrapped_is_final(a in any_action()) {
            prop_assert!(apply(ItemState::Scrapped, a).is_err());
        }

        #[test]
        fn only_stock_lends_and_only_loans_return(s in any_state(), a in any_action()) {
            match apply(s, a) {
                Ok(to) => {
                    if to == ItemState::OnLoan { prop_assert_eq!(s, ItemState::InStock); }
                    if matches!(a, ItemAction::Return(_)) { prop_assert_eq!(s, ItemState::OnLoan); }
                    if s == ItemState::OnLoan { prop_assert!(matches!(a, ItemAction::Return(_))); }
                }
                Err(e) => prop_assert!(!e.code().is_empty()),
            }
        }

        #[test]
        fn walks_never_leave_the_states(start in any_state(), actions in prop::collection::vec(any_action(), 0..30)) {
            let mut s = start;
            let mut c = condition_for(start, Condition::Good);
            for a in actions {
                if let Ok(to) = apply(s, a) {
                    c = match a { ItemAction::Return(rc) => rc, _ => condition_for(to, c) };
                    s = to;
                }
                // An item in stock is always in good condition; scrapped ones are scrapped.
                if s == ItemState::InStock { prop_assert_eq!(c, Condition::Good); }
                if s == ItemState::Scrapped { prop_assert_eq!(c, Condition::Scrapped); }
            }
        }

        #[test]
        fn settlement_adds_up(deposit in 0i64..1_000_000, fee in 0i64..1_000_000, kept in 0i64..1_000_000) {
            match settle(deposit, fee, kept, "损坏") {
                Ok(s) => {
                    prop_assert_eq!(s.kept_fen + s.fee_from_deposit_fen + s.refund_fen, deposit);
                    prop_assert_eq!(s.fee_from_deposit_fen + s.due_fen, fee);
                    prop_assert!(s.refund_fen >= 0 && s.due_fen >= 0);
                }
                Err(e) => prop_assert!(kept > deposit, "{e:?}"),
            }
        }

        #[test]
        fn yuan_round_trips(fen in 0i64..10_000_000_000) {
            prop_assert_eq!(parse_yuan(&yuan(fen)), Some(fen));
        }
    }
}
