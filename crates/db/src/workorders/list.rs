//! Finding orders: the workbench queues (待派单, 待签收, 办理中, 即将超期, 已超期,
//! 待回访) per unit, and the filters the API and Open311 need.

use super::{Order, WorkOrders, select};
use crate::scope::Scope;
use crate::{Conn, Page, PageReq, Result};
use chrono::{DateTime, Duration, Utc};
use sea_query::{Condition, Expr, ExprTrait, Order as SortOrder, SelectStatement};
use serde::Serialize;
use shequ_core::DivisionCode;
use shequ_core::workorders::State;

/// Hours before a deadline at which an order counts as about to be overdue.
pub const DUE_SOON_HOURS: i64 = 24;

/// A workbench queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Queue {
    ToDispatch,
    ToSign,
    InProgress,
    DueSoon,
    Overdue,
    ToVisit,
}

impl Queue {
    pub const ALL: [Queue; 6] = [
        Queue::ToDispatch,
        Queue::ToSign,
        Queue::InProgress,
        Queue::DueSoon,
        Queue::Overdue,
        Queue::ToVisit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Queue::ToDispatch => "to_dispatch",
            Queue::ToSign => "to_sign",
            Queue::InProgress => "in_progress",
            Queue::DueSoon => "due_soon",
            Queue::Overdue => "overdue",
            Queue::ToVisit => "to_visit",
        }
    }

    pub fn parse(s: &str) -> Option<Queue> {
        Queue::ALL.into_iter().find(|q| q.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Queue::ToDispatch => "待派单",
            Queue::ToSign => "待签收",
            Queue::InProgress => "办理中",
            Queue::DueSoon => "即将超期",
            Queue::Overdue => "已超期",
            Queue::ToVisit => "待回访",
        }
    }

    /// Queues worked by dispatchers (the others by the handling unit).
    pub fn for_dispatcher(self) -> bool {
        matches!(self, Queue::ToDispatch | Queue::ToVisit)
    }

    fn condition(self, now: DateTime<Utc>) -> Condition {
        let st = |s: &[State]| {
            Expr::col(WorkOrders::State).is_in(s.iter().map(|x| x.as_str()).collect::<Vec<_>>())
        };
        let timed = [State::Dispatched, State::Signed, State::Processing];
        let soon = now + Duration::hours(DUE_SOON_HOURS);
        match self {
            Queue::ToDispatch => Condition::all().add(st(&[State::Accepted])),
            Queue::ToSign => Condition::all().add(st(&[State::Dispatched])),
            Queue::InProgress => Condition::all().add(st(&[State::Signed, State::Processing])),
            Queue::DueSoon => Condition::all()
                .add(st(&timed))
                .add(Expr::col(WorkOrders::DueAt).gte(now))
                .add(Expr::col(WorkOrders::DueAt).lt(soon)),
            Queue::Overdue => Condition::all()
                .add(st(&timed))
                .add(Expr::col(WorkOrders::DueAt).lt(now)),
            Queue::ToVisit => Condition::all().add(st(&[State::Replied, State::Closed])),
        }
    }
}

/// What to list. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub queue: Option<Queue>,
    pub states: Vec<State>,
    pub unit: Option<String>,
    pub division: Option<DivisionCode>,
    /// A category or a parent category (its subcategories match).
    pub category: Option<String>,
    pub channel: Option<String>,
    pub ids: Vec<i64>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub updated_after: Option<DateTime<Utc>>,
    pub updated_before: Option<DateTime<Utc>>,
    pub urgent: Option<bool>,
    /// Only orders with a location (for the map).
    pub located: bool,
    /// Oldest first (queues work the oldest first); newest first otherwise.
    pub oldest_first: bool,
}

impl Filter {
    fn apply(&self, q: &mut SelectStatement, scope: &Scope, now: DateTime<Utc>) {
        q.cond_where(scope.condition(WorkOrders::DivisionCode));
        if let Some(queue) = self.queue {
            q.cond_where(queue.condition(now));
        }
        if !self.states.is_empty() {
            let s: Vec<&str> = self.states.iter().map(|x| x.as_str()).collect();
            q.and_where(Expr::col(WorkOrders::State).is_in(s));
        }
        if let Some(u) = &self.unit {
            q.and_where(Expr::col(WorkOrders::Unit).eq(u.clone()));
        }
        if let Some(d) = &self.division {
            let sub = Scope::new(d.clone(), scope.role, scope.actor.clone());
            q.cond_where(sub.condition(WorkOrders::DivisionCode));
        }
        if let Some(cat) = &self.category {
            q.cond_where(
                Condition::any()
                    .add(Expr::col(WorkOrders::CategoryCode).eq(cat.clone()))
                    .add(Expr::col(WorkOrders::CategoryCode).like(format!("{cat}.%"))),
            );
        }
        self.apply_rest(q);
    }

    fn apply_rest(&self, q: &mut SelectStatement) {
        let col = |c: WorkOrders| Expr::col(c);
        if let Some(ch) = &self.channel {
            q.and_where(col(WorkOrders::Channel).eq(ch.clone()));
        }
        if !self.ids.is_empty() {
            q.and_where(col(WorkOrders::Id).is_in(self.ids.clone()));
        }
        let bounds = [
            (WorkOrders::CreatedAt, self.created_from, true),
            (WorkOrders::CreatedAt, self.created_to, false),
            (WorkOrders::UpdatedAt, self.updated_after, true),
            (WorkOrders::UpdatedAt, self.updated_before, false),
        ];
        for (c, t, lower) in bounds {
            if let Some(t) = t {
                q.and_where(if lower { col(c).gte(t) } else { col(c).lte(t) });
            }
        }
        if let Some(u) = self.urgent {
            q.and_where(col(WorkOrders::Urgent).eq(u));
        }
        if self.located {
            q.and_where(col(WorkOrders::Lat).is_not_null());
        }
    }
}

/// One page of orders in the caller's scope.
pub async fn list(
    c: &mut Conn<'_>,
    scope: &Scope,
    f: &Filter,
    now: DateTime<Utc>,
    page: PageReq,
) -> Result<Page<Order>> {
    let mut q = select();
    f.apply(&mut q, scope, now);
    let mut count = q.clone();
    count
        .clear_selects()
        .expr(Expr::col((WorkOrders::Table, WorkOrders::Id)).count());
    let total = c.fetch_i64(&count).await?;
    let (first, order) = if f.queue.is_some() && f.oldest_first {
        (WorkOrders::DueAt, SortOrder::Asc)
    } else if f.oldest_first {
        (WorkOrders::Id, SortOrder::Asc)
    } else {
        (WorkOrders::Id, SortOrder::Desc)
    };
    q.order_by(first, order.clone())
        .order_by(WorkOrders::Id, order)
        .limit(page.per_page)
        .offset(page.offset());
    Ok(Page {
        items: c.fetch_all(&q).await?,
        total,
    })
}

/// How many orders wait in each queue for a unit (all units in scope when `None`).
pub async fn queue_counts(
    c: &mut Conn<'_>,
    scope: &Scope,
    unit: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<(Queue, i64)>> {
    let mut out = Vec::with_capacity(Queue::ALL.len());
    for queue in Queue::ALL {
        let f = Filter {
            queue: Some(queue),
            unit: if queue == Queue::ToDispatch {
                None
            } else {
                unit.map(str::to_owned)
            },
            ..Filter::default()
        };
        let mut q = sea_query::Query::select();
        q.expr(Expr::col(WorkOrders::Id).count())
            .from(WorkOrders::Table);
        f.apply(&mut q, scope, now);
        out.push((queue, c.fetch_i64(&q).await?));
    }
    Ok(out)
}
