//! The monthly 三率 aggregate: per month (of intake, Beijing time), handling unit
//! and village/community, the counts behind the rates. Refreshed from the orders
//! by the background job, so reports read a few thousand rows, never the history.

use super::WorkOrders;
use crate::scope::Scope;
use crate::{Conn, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, Iden, Query};
use shequ_core::workorders::State;
use shequ_core::workorders::sanlv::Counts;
use std::collections::BTreeMap;

#[derive(Iden, Clone, Copy)]
enum WoMonthly {
    Table,
    Month,
    Unit,
    DivisionCode,
    Orders,
    Dispatched,
    SignedOnTime,
    Replied,
    RepliedOnTime,
    Closed,
    ClosedOnTime,
    Visited,
    Answered,
    Solved,
    Rated,
    Level1,
    Level2,
    Level3,
    Level4,
    Level5,
    Overdue,
    Returned,
    Reopened,
}

/// Setting bumped whenever the aggregate (or how it is read) changes, so readers
/// in any process can tell their cached reports are stale with one cheap query.
pub const VERSION_SETTING: &str = "workorders.monthly_version";

/// The aggregate's version (0 before the first refresh).
pub async fn version(c: &mut Conn<'_>) -> Result<i64> {
    Ok(crate::settings::get(c, VERSION_SETTING).await?.unwrap_or(0))
}

/// Mark the aggregate changed.
pub async fn bump_version(c: &mut Conn<'_>) -> Result<()> {
    let v = version(c).await? + 1;
    crate::settings::put(c, VERSION_SETTING, &v).await
}

const COUNT_COLUMNS: [WoMonthly; 19] = [
    WoMonthly::Orders,
    WoMonthly::Dispatched,
    WoMonthly::SignedOnTime,
    WoMonthly::Replied,
    WoMonthly::RepliedOnTime,
    WoMonthly::Closed,
    WoMonthly::ClosedOnTime,
    WoMonthly::Visited,
    WoMonthly::Answered,
    WoMonthly::Solved,
    WoMonthly::Rated,
    WoMonthly::Level1,
    WoMonthly::Level2,
    WoMonthly::Level3,
    WoMonthly::Level4,
    WoMonthly::Level5,
    WoMonthly::Overdue,
    WoMonthly::Returned,
    WoMonthly::Reopened,
];

/// The timing facts of one order.
#[derive(sqlx::FromRow)]
struct Facts {
    unit: String,
    division_code: String,
    state: String,
    sign_by: Option<DateTime<Utc>>,
    signed_at: Option<DateTime<Utc>>,
    reply_by: Option<DateTime<Utc>>,
    first_reply_at: Option<DateTime<Utc>>,
    resolve_by: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
    visited_at: Option<DateTime<Utc>>,
    solved: Option<bool>,
    rating: Option<i32>,
    returns: i32,
    reopens: i32,
}

fn on_time(at: Option<DateTime<Utc>>, by: Option<DateTime<Utc>>) -> bool {
    matches!((at, by), (Some(a), Some(b)) if a <= b)
}

impl Facts {
    fn count(&self, now: DateTime<Utc>) -> Counts {
        let b = i64::from;
        let open = State::parse(&self.state).is_some_and(State::is_open);
        let mut levels = [0; 5];
        if let Some(r) = self.rating.and_then(|r| usize::try_from(r - 1).ok())
            && let Some(slot) = levels.get_mut(r)
        {
            *slot = 1;
        }
        let late_open = open && self.due_at.is_some_and(|d| d < now);
        let late_closed = matches!((self.closed_at, self.resolve_by), (Some(a), Some(b)) if a > b);
        Counts {
            orders: 1,
            dispatched: b(self.sign_by.is_some()),
            signed_on_time: b(on_time(self.signed_at, self.sign_by)),
            replied: b(self.first_reply_at.is_some()),
            replied_on_time: b(on_time(self.first_reply_at, self.reply_by)),
            closed: b(self.closed_at.is_some()),
            closed_on_time: b(on_time(self.closed_at, self.resolve_by)),
            visited: b(self.visited_at.is_some()),
            answered: b(self.solved.is_some()),
            solved: b(self.solved == Some(true)),
            rated: b(self.rating.is_some()),
            levels,
            overdue: b(late_open || late_closed),
            returned: b(self.returns > 0),
            reopened: b(self.reopens > 0),
        }
    }
}

/// First instant of a Beijing-time month, in UTC.
pub fn month_start(month: NaiveDate) -> DateTime<Utc> {
    let first = month.with_day(1).unwrap_or(month);
    first.and_time(chrono::NaiveTime::MIN).and_utc() - Duration::hours(8)
}

/// The first day of the following month.
pub fn next_month(month: NaiveDate) -> NaiveDate {
    let (y, m) = if month.month() == 12 {
        (month.year() + 1, 1)
    } else {
        (month.year(), month.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(month)
}

/// "2025-03".
pub fn month_key(month: NaiveDate) -> String {
    month.format("%Y-%m").to_string()
}

/// Recompute one month's rows from the orders taken in that month; returns the row count.
pub async fn refresh(c: &mut Conn<'_>, month: NaiveDate, now: DateTime<Utc>) -> Result<usize> {
    let q = Query::select()
        .columns([
            WorkOrders::Unit,
            WorkOrders::DivisionCode,
            WorkOrders::State,
            WorkOrders::SignBy,
            WorkOrders::SignedAt,
            WorkOrders::ReplyBy,
            WorkOrders::FirstReplyAt,
            WorkOrders::ResolveBy,
            WorkOrders::ClosedAt,
            WorkOrders::DueAt,
            WorkOrders::VisitedAt,
            WorkOrders::Solved,
            WorkOrders::Rating,
            WorkOrders::Returns,
            WorkOrders::Reopens,
        ])
        .from(WorkOrders::Table)
        .and_where(Expr::col(WorkOrders::CreatedAt).gte(month_start(month)))
        .and_where(Expr::col(WorkOrders::CreatedAt).lt(month_start(next_month(month))))
        .and_where(Expr::col(WorkOrders::State).ne(State::Merged.as_str()))
        .to_owned();
    let mut groups: BTreeMap<(String, String), Counts> = BTreeMap::new();
    for f in c.fetch_all::<Facts>(&q).await? {
        let village: String = f.division_code.chars().take(12).collect();
        *groups.entry((f.unit.clone(), village)).or_default() += &f.count(now);
    }
    let key = month_key(month);
    let del = Query::delete()
        .from_table(WoMonthly::Table)
        .and_where(Expr::col(WoMonthly::Month).eq(key.clone()))
        .to_owned();
    c.execute(&del).await?;
    let rows: Vec<_> = groups.into_iter().collect();
    for chunk in rows.chunks(200) {
        let mut ins = Query::insert()
            .into_table(WoMonthly::Table)
            .columns(
                [WoMonthly::Month, WoMonthly::Unit, WoMonthly::DivisionCode]
                    .into_iter()
                    .chain(COUNT_COLUMNS),
            )
            .to_owned();
        for ((unit, village), k) in chunk {
            let mut v: Vec<sea_query::Value> = vec![
                key.clone().into(),
                unit.clone().into(),
                village.clone().into(),
            ];
            v.extend(values(k).into_iter().map(sea_query::Value::from));
            ins.values_panic(v.into_iter().map(sea_query::SimpleExpr::from));
        }
        c.execute(&ins).await?;
    }
    bump_version(c).await?;
    Ok(rows.len())
}

fn values(k: &Counts) -> [i64; 19] {
    let [l1, l2, l3, l4, l5] = k.levels;
    [
        k.orders,
        k.dispatched,
        k.signed_on_time,
        k.replied,
        k.replied_on_time,
        k.closed,
        k.closed_on_time,
        k.visited,
        k.answered,
        k.solved,
        k.rated,
        l1,
        l2,
        l3,
        l4,
        l5,
        k.overdue,
        k.returned,
        k.reopened,
    ]
}

/// One stored row.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Stored {
    month: String,
    unit: String,
    division_code: String,
    orders: i64,
    dispatched: i64,
    signed_on_time: i64,
    replied: i64,
    replied_on_time: i64,
    closed: i64,
    closed_on_time: i64,
    visited: i64,
    answered: i64,
    solved: i64,
    rated: i64,
    level1: i64,
    level2: i64,
    level3: i64,
    level4: i64,
    level5: i64,
    overdue: i64,
    returned: i64,
    reopened: i64,
}

/// A row of the aggregate: month, unit, village/community and its counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub month: String,
    pub unit: String,
    pub division_code: String,
    pub counts: Counts,
}

impl From<Stored> for Row {
    fn from(s: Stored) -> Row {
        Row {
            counts: Counts {
                orders: s.orders,
                dispatched: s.dispatched,
                signed_on_time: s.signed_on_time,
                replied: s.replied,
                replied_on_time: s.replied_on_time,
                closed: s.closed,
                closed_on_time: s.closed_on_time,
                visited: s.visited,
                answered: s.answered,
                solved: s.solved,
                rated: s.rated,
                levels: [s.level1, s.level2, s.level3, s.level4, s.level5],
                overdue: s.overdue,
                returned: s.returned,
                reopened: s.reopened,
            },
            month: s.month,
            unit: s.unit,
            division_code: s.division_code,
        }
    }
}

/// Rows for months `from..=to` ("YYYY-MM") in the caller's subtree.
pub async fn rows(c: &mut Conn<'_>, scope: &Scope, from: &str, to: &str) -> Result<Vec<Row>> {
    let q = Query::select()
        .columns(
            [WoMonthly::Month, WoMonthly::Unit, WoMonthly::DivisionCode]
                .into_iter()
                .chain(COUNT_COLUMNS),
        )
        .from(WoMonthly::Table)
        .and_where(Expr::col(WoMonthly::Month).gte(from))
        .and_where(Expr::col(WoMonthly::Month).lte(to))
        .cond_where(scope.condition(WoMonthly::DivisionCode))
        .to_owned();
    Ok(c.fetch_all::<Stored>(&q)
        .await?
        .into_iter()
        .map(Row::from)
        .collect())
}

/// Sum rows by a key (a unit, or a division code prefix).
pub fn sum_by(rows: &[Row], key: impl Fn(&Row) -> Option<String>) -> BTreeMap<String, Counts> {
    let mut out: BTreeMap<String, Counts> = BTreeMap::new();
    for r in rows {
        if let Some(k) = key(r) {
            *out.entry(k).or_default() += &r.counts;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_beijing_time() {
        let m = NaiveDate::from_ymd_opt(2025, 12, 15).unwrap();
        assert_eq!(month_key(m), "2025-12");
        assert_eq!(
            month_start(m).to_rfc3339(),
            "2025-11-30T16:00:00+00:00".to_string()
        );
        assert_eq!(next_month(m), NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
    }
}
