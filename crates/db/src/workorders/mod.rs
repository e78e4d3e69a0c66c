//! 接诉即办 work orders in the store: intake (idempotent), transitions checked by
//! the lifecycle in `core::workorders` with deadlines on the working-day calendar,
//! and the event history behind the resident's timeline.

use crate::scope::{Actor, Scope};
use crate::{Conn, DbError, Result};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use sea_query::{Expr, ExprTrait, Iden, Order as SortOrder, Query};
use serde::Serialize;
use shequ_core::crypto::Protector;
use shequ_core::geo::Point;
use shequ_core::workorders::{Action, Calendar, State};
use shequ_core::{DivisionCode, FieldErrors, Phone};

pub mod attributes;
pub mod calendar;
pub mod dispatch;
pub mod escalation;
pub mod list;
pub mod monthly;
pub mod notify;
pub mod photos;

#[derive(Iden, Clone, Copy)]
enum WorkOrders {
    Table,
    Id,
    TrackingCode,
    IdempotencyKey,
    CategoryCode,
    Description,
    Lon,
    Lat,
    Address,
    DivisionCode,
    Unit,
    Channel,
    Urgent,
    State,
    ReporterName,
    ReporterPhoneEnc,
    ReporterPhoneMasked,
    ReporterUserId,
    ExtensionPending,
    ExtensionDays,
    MergedInto,
    SignBy,
    ReplyBy,
    ResolveBy,
    ClosedAt,
    CreatedAt,
    UpdatedAt,
    Attributes,
    DueAt,
    Escalation,
    SignedAt,
    FirstReplyAt,
    VisitedAt,
    Solved,
    Rating,
    Returns,
    Reopens,
}

#[derive(Iden, Clone, Copy)]
enum WorkOrderEvents {
    Table,
    OrderId,
    At,
    Actor,
    Action,
    FromState,
    ToState,
    Note,
}

#[derive(Iden, Clone, Copy)]
enum WoCategories {
    Table,
    Code,
    ParentCode,
    Name,
    SignHours,
    ReplyDays,
    ResolveDays,
    Active,
}

/// Field name bound into the sealed reporter phone.
pub const F_REPORTER_PHONE: &str = "work_orders.reporter_phone";
pub const MAX_DESCRIPTION: usize = 2000;
pub const CHANNELS: [&str; 6] = ["portal", "phone", "walk_in", "proxy", "patrol", "open311"];

/// A category with its time limits.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Category {
    pub code: String,
    pub parent_code: Option<String>,
    pub name: String,
    pub sign_hours: i32,
    pub reply_days: i32,
    pub resolve_days: i32,
    pub active: bool,
}

/// Every category, parents first.
pub async fn categories(c: &mut Conn<'_>) -> Result<Vec<Category>> {
    let q = Query::select()
        .columns([
            WoCategories::Code,
            WoCategories::ParentCode,
            WoCategories::Name,
            WoCategories::SignHours,
            WoCategories::ReplyDays,
            WoCategories::ResolveDays,
            WoCategories::Active,
        ])
        .from(WoCategories::Table)
        .order_by(WoCategories::Code, SortOrder::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

pub(crate) async fn category(c: &mut Conn<'_>, code: &str) -> Result<Option<Category>> {
    Ok(categories(c)
        .await?
        .into_iter()
        .find(|x| x.code == code && x.active))
}

/// A new order as taken in from any channel.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub category: String,
    pub description: String,
    pub location: Option<Point>,
    pub address: String,
    /// Resolved village/community or grid.
    pub division: DivisionCode,
    pub channel: String,
    pub urgent: bool,
    pub reporter_name: String,
    pub reporter_phone: Option<Phone>,
    pub reporter_user_id: Option<i64>,
    /// Replaying a submission with the same key returns the first order.
    pub idempotency_key: Option<String>,
    /// Answers to the category's extra questions (Open311 attributes), a JSON object.
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// An order as stored (the reporter's phone only sealed and masked).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Order {
    pub id: i64,
    pub tracking_code: String,
    pub category_code: String,
    pub description: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: String,
    pub division_code: String,
    pub unit: String,
    pub channel: String,
    pub urgent: bool,
    pub state: String,
    pub reporter_name: String,
    pub reporter_phone_masked: Option<String>,
    pub extension_pending: bool,
    pub extension_days: i32,
    pub merged_into: Option<i64>,
    pub sign_by: Option<DateTime<Utc>>,
    pub reply_by: Option<DateTime<Utc>>,
    pub resolve_by: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub reporter_user_id: Option<i64>,
    /// Open311 attribute answers, a JSON object.
    pub attributes: String,
    /// The deadline that applies in the current state (sign-for or resolve).
    pub due_at: Option<DateTime<Utc>>,
    /// 0 on time, 1 about to be overdue, 2 overdue (set by the escalation job).
    pub escalation: i32,
    pub signed_at: Option<DateTime<Utc>>,
    pub first_reply_at: Option<DateTime<Utc>>,
    pub visited_at: Option<DateTime<Utc>>,
    pub solved: Option<bool>,
    pub rating: Option<i32>,
    pub returns: i32,
    pub reopens: i32,
}

impl Order {
    pub fn state(&self) -> Option<State> {
        State::parse(&self.state)
    }
}

/// Check an order's own fields (lengths, markup, channel, level of the division).
pub fn check(o: &NewOrder) -> std::result::Result<(), FieldErrors> {
    let mut errs = FieldErrors::new();
    let n = o.description.trim().chars().count();
    if n == 0 {
        errs.add("description", "required", "请描述您的诉求");
    } else if n > MAX_DESCRIPTION {
        errs.add(
            "description",
            "too_long",
            format!("诉求描述不能超过 {MAX_DESCRIPTION} 个字"),
        );
    } else if o.description.contains('<') && o.description.contains('>') {
        errs.add("description", "markup", "诉求描述中不能含有 HTML 标记");
    }
    if !CHANNELS.contains(&o.channel.as_str()) {
        errs.add("channel", "bad_channel", "未知的受理渠道");
    }
    if o.address.chars().count() > 200 || o.reporter_name.chars().count() > 30 {
        errs.add("address", "too_long", "地址或姓名过长");
    }
    if !matches!(
        o.division.level(),
        shequ_core::Level::Village | shequ_core::Level::Grid
    ) {
        errs.add("division", "bad_level", "诉求应定位到村（社区）或网格");
    }
    if o.idempotency_key
        .as_ref()
        .is_some_and(|k| k.is_empty() || k.len() > 100)
    {
        errs.add("idempotency_key", "bad_key", "幂等键应为 1–100 个字符");
    }
    errs.into_result()
}

/// A random tracking code residents can read out on the phone (no 0/O/1/I).
pub fn tracking_code() -> Result<String> {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut b = [0u8; 10];
    getrandom::fill(&mut b).map_err(|e| DbError::Conflict(format!("随机数不可用：{e}")))?;
    Ok(b.iter()
        .map(|x| {
            char::from(
                ALPHABET
                    .get(usize::from(*x) % ALPHABET.len())
                    .copied()
                    .unwrap_or(b'X'),
            )
        })
        .collect())
}

/// Shanghai wall-clock time of an instant (deadlines are counted in local working days).
pub(crate) fn local(t: DateTime<Utc>) -> NaiveDateTime {
    (t + Duration::hours(8)).naive_utc()
}

pub(crate) fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    (t - Duration::hours(8)).and_utc()
}

/// Take an order in. Returns its id and whether it was created (false: a replay of
/// the same idempotency key, which returns the first order unchanged).
pub async fn create(
    c: &mut Conn<'_>,
    key: &Protector,
    o: &NewOrder,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(i64, bool)> {
    check(o)?;
    if category(c, &o.category).await?.is_none() {
        return Err(DbError::invalid(
            "category",
            "unknown_category",
            "未知的诉求类别",
        ));
    }
    if crate::divisions::get(c, &o.division).await?.is_none() {
        return Err(DbError::invalid(
            "division",
            "unknown_division",
            "诉求所在区划不存在",
        ));
    }
    store(c, key, o, actor, now)
        .await
        .map(|(id, created, _)| (id, created))
}

/// Store an order whose category and division the caller has checked: a replayed
/// idempotency key returns the first order. Returns id, created, tracking code.
pub async fn store(
    c: &mut Conn<'_>,
    key: &Protector,
    o: &NewOrder,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(i64, bool, String)> {
    if let Some(k) = &o.idempotency_key {
        let q = Query::select()
            .columns([WorkOrders::Id, WorkOrders::TrackingCode])
            .from(WorkOrders::Table)
            .and_where(Expr::col(WorkOrders::IdempotencyKey).eq(k.clone()))
            .to_owned();
        if let Some((id, code)) = c.fetch_optional::<(i64, String)>(&q).await? {
            return Ok((id, false, code));
        }
    }
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|e| DbError::Conflict(format!("随机数不可用：{e}")))?;
    let phone_enc = o
        .reporter_phone
        .as_ref()
        .map(|p| key.seal(F_REPORTER_PHONE, p.as_str().as_bytes(), nonce));
    let code = tracking_code()?;
    let q = Query::insert()
        .into_table(WorkOrders::Table)
        .columns([
            WorkOrders::TrackingCode,
            WorkOrders::IdempotencyKey,
            WorkOrders::CategoryCode,
            WorkOrders::Description,
            WorkOrders::Lon,
            WorkOrders::Lat,
            WorkOrders::Address,
            WorkOrders::DivisionCode,
            WorkOrders::Channel,
            WorkOrders::Urgent,
            WorkOrders::State,
            WorkOrders::ReporterName,
            WorkOrders::ReporterPhoneEnc,
            WorkOrders::ReporterPhoneMasked,
            WorkOrders::ReporterUserId,
            WorkOrders::CreatedAt,
            WorkOrders::UpdatedAt,
            WorkOrders::Attributes,
        ])
        .values_panic([
            code.clone().into(),
            o.idempotency_key.clone().into(),
            o.category.clone().into(),
            o.description.trim().into(),
            o.location.map(|p| p.lon).into(),
            o.location.map(|p| p.lat).into(),
            o.address.trim().into(),
            o.division.as_str().into(),
            o.channel.clone().into(),
            o.urgent.into(),
            State::Accepted.as_str().into(),
            o.reporter_name.trim().into(),
            phone_enc.into(),
            o.reporter_phone.as_ref().map(Phone::masked).into(),
            o.reporter_user_id.into(),
            now.into(),
            now.into(),
            serde_json::Value::Object(o.attributes.clone())
                .to_string()
                .into(),
        ])
        .to_owned();
    let id = c.insert_id(&q).await?;
    event(
        c,
        id,
        actor,
        "accept",
        State::Accepted,
        State::Accepted,
        &o.channel,
        now,
    )
    .await?;
    Ok((id, true, code))
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn event(
    c: &mut Conn<'_>,
    order: i64,
    actor: &Actor,
    action: &str,
    from: State,
    to: State,
    note: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let q = Query::insert()
        .into_table(WorkOrderEvents::Table)
        .columns([
            WorkOrderEvents::OrderId,
            WorkOrderEvents::At,
            WorkOrderEvents::Actor,
            WorkOrderEvents::Action,
            WorkOrderEvents::FromState,
            WorkOrderEvents::ToState,
            WorkOrderEvents::Note,
        ])
        .values_panic([
            order.into(),
            now.into(),
            actor.name.clone().into(),
            action.into(),
            from.as_str().into(),
            to.as_str().into(),
            note.chars().take(2000).collect::<String>().into(),
        ])
        .to_owned();
    c.execute(&q).await.map(|_| ())
}

pub(crate) fn select() -> sea_query::SelectStatement {
    Query::select()
        .columns([
            WorkOrders::Id,
            WorkOrders::TrackingCode,
            WorkOrders::CategoryCode,
            WorkOrders::Description,
            WorkOrders::Lon,
            WorkOrders::Lat,
            WorkOrders::Address,
            WorkOrders::DivisionCode,
            WorkOrders::Unit,
            WorkOrders::Channel,
            WorkOrders::Urgent,
            WorkOrders::State,
            WorkOrders::ReporterName,
            WorkOrders::ReporterPhoneMasked,
            WorkOrders::ExtensionPending,
            WorkOrders::ExtensionDays,
            WorkOrders::MergedInto,
            WorkOrders::SignBy,
            WorkOrders::ReplyBy,
            WorkOrders::ResolveBy,
            WorkOrders::ClosedAt,
            WorkOrders::CreatedAt,
            WorkOrders::UpdatedAt,
            WorkOrders::ReporterUserId,
            WorkOrders::Attributes,
            WorkOrders::DueAt,
            WorkOrders::Escalation,
            WorkOrders::SignedAt,
            WorkOrders::FirstReplyAt,
            WorkOrders::VisitedAt,
            WorkOrders::Solved,
            WorkOrders::Rating,
            WorkOrders::Returns,
            WorkOrders::Reopens,
        ])
        .from(WorkOrders::Table)
        .to_owned()
}

/// One order in the caller's subtree.
pub async fn get(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<Order>> {
    c.fetch_optional(
        &select()
            .and_where(Expr::col(WorkOrders::Id).eq(id))
            .cond_where(scope.condition(WorkOrders::DivisionCode))
            .to_owned(),
    )
    .await
}

/// An order by its tracking code (the resident's own view; no scope).
pub async fn by_tracking_code(c: &mut Conn<'_>, code: &str) -> Result<Option<Order>> {
    c.fetch_optional(
        &select()
            .and_where(Expr::col(WorkOrders::TrackingCode).eq(code.trim().to_uppercase()))
            .to_owned(),
    )
    .await
}

/// Apply an action to an order in scope: checked by the lifecycle, deadlines set
/// on the calendar, the timing facts behind 三率 kept, one event recorded, and the
/// unit and the resident notified. Returns the new state.
pub async fn transition(
    c: &mut Conn<'_>,
    scope: &Scope,
    cal: &Calendar,
    id: i64,
    action: &Action,
    now: DateTime<Utc>,
) -> Result<State> {
    let o = get(c, scope, id).await?.ok_or(DbError::NotFound)?;
    let from = o
        .state()
        .ok_or_else(|| DbError::Conflict("工单状态有误".into()))?;
    let to = from
        .apply(action, o.extension_pending)
        .map_err(|e| DbError::invalid("action", e.code(), e.to_string()))?;
    let cat = category(c, &o.category_code)
        .await?
        .ok_or_else(|| DbError::Conflict("工单类别已停用".into()))?;
    if let Action::Merge { into } = action
        && (*into == id || get(c, scope, *into).await?.is_none())
    {
        return Err(DbError::invalid(
            "into",
            "bad_merge",
            "只能并入管辖范围内的另一张工单",
        ));
    }
    if let Action::Dispatch { unit } | Action::Transfer { unit, .. } = action {
        dispatch::check_unit(c, unit).await?;
    }
    let mut q = Query::update()
        .table(WorkOrders::Table)
        .value(WorkOrders::State, to.as_str())
        .value(WorkOrders::UpdatedAt, now)
        .and_where(Expr::col(WorkOrders::Id).eq(id))
        .and_where(Expr::col(WorkOrders::State).eq(from.as_str()))
        .to_owned();
    let note = apply_columns(&mut q, &o, &cat, cal, action, now);
    if c.execute(&q).await? == 0 {
        return Err(DbError::Conflict("工单已被他人处理，请刷新后重试".into()));
    }
    event(c, id, &scope.actor, action.code(), from, to, &note, now).await?;
    notify::after_transition(c, &o, action, to, now).await?;
    Ok(to)
}

/// The column changes an action makes; returns the event's note.
fn apply_columns(
    q: &mut sea_query::UpdateStatement,
    o: &Order,
    cat: &Category,
    cal: &Calendar,
    action: &Action,
    now: DateTime<Utc>,
) -> String {
    let t = local(now);
    let limit = |n: i32| u32::try_from(n).unwrap_or(0);
    let days = |n: i32| utc(cal.deadline_days(t, if o.urgent { 0 } else { limit(n) }));
    let sign_by = utc(cal.deadline_hours(
        t,
        if o.urgent {
            1
        } else {
            Ord::max(limit(cat.sign_hours), 1)
        },
    ));
    let none = Option::<DateTime<Utc>>::None;
    let set_due = |q: &mut sea_query::UpdateStatement, due: Option<DateTime<Utc>>| {
        q.value(WorkOrders::DueAt, due)
            .value(WorkOrders::Escalation, 0);
    };
    match action {
        Action::Dispatch { unit } | Action::Transfer { unit, .. } => {
            q.value(WorkOrders::Unit, unit.clone())
                .value(WorkOrders::SignBy, sign_by);
            set_due(q, Some(sign_by));
            match action {
                Action::Transfer { reason, .. } => format!("{unit}：{reason}"),
                _ => unit.clone(),
            }
        }
        Action::Sign => {
            let resolve_by = days(cat.resolve_days + o.extension_days);
            q.value(WorkOrders::ReplyBy, days(cat.reply_days))
                .value(WorkOrders::ResolveBy, resolve_by)
                .value(WorkOrders::SignedAt, now);
            set_due(q, Some(resolve_by));
            String::new()
        }
        Action::Return { reason } => {
            q.value(WorkOrders::Unit, "")
                .value(WorkOrders::Returns, o.returns + 1);
            set_due(q, None);
            reason.clone()
        }
        Action::Reopen { reason } => {
            q.value(WorkOrders::ClosedAt, none)
                .value(WorkOrders::SignBy, sign_by)
                .value(WorkOrders::Reopens, o.reopens + 1);
            set_due(q, Some(sign_by));
            reason.clone()
        }
        Action::RequestExtension { days: d, reason } => {
            q.value(WorkOrders::ExtensionPending, true)
                .value(WorkOrders::ExtensionDays, i32::from(*d));
            reason.clone()
        }
        Action::ApproveExtension => {
            let base = o.resolve_by.map_or(t, local);
            let resolve_by = utc(cal.deadline_days(base, limit(o.extension_days)));
            q.value(WorkOrders::ExtensionPending, false)
                .value(WorkOrders::ResolveBy, resolve_by);
            if o.signed_at.is_some() && o.due_at.is_some() {
                set_due(q, Some(resolve_by));
            }
            String::new()
        }
        Action::RefuseExtension { reason } => {
            q.value(WorkOrders::ExtensionPending, false)
                .value(WorkOrders::ExtensionDays, 0);
            reason.clone()
        }
        Action::Close { summary } => {
            q.value(WorkOrders::ClosedAt, now);
            set_due(q, None);
            summary.clone()
        }
        Action::Merge { into } => {
            q.value(WorkOrders::MergedInto, *into);
            set_due(q, None);
            format!("并入 {into}")
        }
        Action::Reply { text } => {
            if o.first_reply_at.is_none() {
                q.value(WorkOrders::FirstReplyAt, now);
            }
            text.clone()
        }
        Action::Visit { note, solved } => {
            q.value(WorkOrders::VisitedAt, now);
            if let Some(v) = solved {
                q.value(WorkOrders::Solved, *v);
            }
            note.clone()
        }
        Action::Rate { level, solved } => {
            q.value(WorkOrders::Rating, i32::from(*level));
            if let Some(v) = solved {
                q.value(WorkOrders::Solved, *v);
            }
            format!("{level}")
        }
        Action::Urge { note } | Action::Supervise { note } => note.clone(),
        Action::Start => String::new(),
    }
}

/// The reporter's phone, opened (for call-backs and real-name ratings; callers audit).
pub async fn reporter_phone(c: &mut Conn<'_>, key: &Protector, id: i64) -> Result<Option<Phone>> {
    let q = Query::select()
        .column(WorkOrders::ReporterPhoneEnc)
        .from(WorkOrders::Table)
        .and_where(Expr::col(WorkOrders::Id).eq(id))
        .to_owned();
    let Some((Some(blob),)) = c.fetch_optional::<(Option<Vec<u8>>,)>(&q).await? else {
        return Ok(None);
    };
    let text = key
        .open_string(F_REPORTER_PHONE, &blob)
        .map_err(|e| DbError::Conflict(format!("无法解密：{e}")))?;
    Ok(Phone::parse(&text).ok())
}

/// One step of an order's history.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub note: String,
}

/// The history of an order, oldest first.
pub async fn timeline(c: &mut Conn<'_>, id: i64) -> Result<Vec<Event>> {
    let q = Query::select()
        .columns([
            WorkOrderEvents::At,
            WorkOrderEvents::Actor,
            WorkOrderEvents::Action,
            WorkOrderEvents::FromState,
            WorkOrderEvents::ToState,
            WorkOrderEvents::Note,
        ])
        .from(WorkOrderEvents::Table)
        .and_where(Expr::col(WorkOrderEvents::OrderId).eq(id))
        .order_by(WorkOrderEvents::At, SortOrder::Asc)
        .to_owned();
    c.fetch_all(&q).await
}
