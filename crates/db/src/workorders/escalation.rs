//! The escalation job: marks orders about to be overdue (an automatic 催办 to the
//! unit) and overdue (督办, to the unit and recorded on the order), once per level.

use super::list::DUE_SOON_HOURS;
use super::{WorkOrders, event, notify};
use crate::scope::Actor;
use crate::{Conn, Result};
use chrono::{DateTime, Duration, Utc};
use sea_query::{Expr, ExprTrait, Order as SortOrder, Query};
use shequ_core::workorders::State;

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    pub due_soon: usize,
    pub overdue: usize,
}

#[derive(sqlx::FromRow)]
struct Due {
    id: i64,
    tracking_code: String,
    unit: String,
    state: String,
    due_at: DateTime<Utc>,
}

/// Escalate up to `batch` orders per level whose deadline has come near or passed.
pub async fn run(c: &mut Conn<'_>, now: DateTime<Utc>, batch: u64) -> Result<Report> {
    let soon = now + Duration::hours(DUE_SOON_HOURS);
    let overdue = escalate(c, now, now, 2, batch).await?;
    let due_soon = escalate(c, soon, now, 1, batch).await?;
    Ok(Report { due_soon, overdue })
}

async fn escalate(
    c: &mut Conn<'_>,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
    level: i32,
    batch: u64,
) -> Result<usize> {
    let timed = [State::Dispatched, State::Signed, State::Processing].map(State::as_str);
    let q = Query::select()
        .columns([
            WorkOrders::Id,
            WorkOrders::TrackingCode,
            WorkOrders::Unit,
            WorkOrders::State,
            WorkOrders::DueAt,
        ])
        .from(WorkOrders::Table)
        .and_where(Expr::col(WorkOrders::State).is_in(timed))
        .and_where(Expr::col(WorkOrders::DueAt).lt(before))
        .and_where(Expr::col(WorkOrders::Escalation).lt(level))
        .order_by(WorkOrders::DueAt, SortOrder::Asc)
        .limit(batch)
        .to_owned();
    let due: Vec<Due> = c.fetch_all(&q).await?;
    let system = Actor::system();
    for d in &due {
        let u = Query::update()
            .table(WorkOrders::Table)
            .value(WorkOrders::Escalation, level)
            .and_where(Expr::col(WorkOrders::Id).eq(d.id))
            .and_where(Expr::col(WorkOrders::Escalation).lt(level))
            .to_owned();
        if c.execute(&u).await? == 0 {
            continue;
        }
        let state = State::parse(&d.state).unwrap_or(State::Dispatched);
        let due_local = (d.due_at + Duration::hours(8)).format("%m-%d %H:%M");
        let (action, kind, msg) = if level == 2 {
            let m = format!(
                "督办：工单 {} 已超过办理时限（{due_local}）",
                d.tracking_code
            );
            ("supervise", "overdue", m)
        } else {
            let m = format!("催办：工单 {} 将于 {due_local} 到期", d.tracking_code);
            ("urge", "due_soon", m)
        };
        event(c, d.id, &system, action, state, state, &msg, now).await?;
        notify::notice(c, &d.unit, Some(d.id), kind, &msg, now).await?;
    }
    Ok(due.len())
}
