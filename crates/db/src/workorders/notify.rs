//! Notices: in-app messages to handling units (dispatch, urging, overdue) and to
//! signed-in residents, and text messages to reporters queued in a durable outbox
//! that a sender drains through an [`SmsGateway`] (a logging one by default).

use super::{F_REPORTER_PHONE, Order, WorkOrders};
use crate::{Conn, Page, PageReq, Result};
use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Iden, Order as SortOrder, Query};
use serde::Serialize;
use shequ_core::crypto::Protector;
use shequ_core::workorders::{Action, State};

#[derive(Iden, Clone, Copy)]
enum Notifications {
    Table,
    Id,
    Recipient,
    OrderId,
    Kind,
    Message,
    CreatedAt,
    ReadAt,
}

#[derive(Iden, Clone, Copy)]
enum SmsOutbox {
    Table,
    Id,
    PhoneEnc,
    PhoneMasked,
    Message,
    OrderId,
    Status,
    Attempts,
    CreatedAt,
    SentAt,
}

/// The recipient string of a signed-in user's own notices.
pub fn user_recipient(user_id: i64) -> String {
    format!("user:{user_id}")
}

/// One in-app notice.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Notice {
    pub id: i64,
    pub recipient: String,
    pub order_id: Option<i64>,
    pub kind: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// Leave a notice for a unit (a division or department code) or a user.
pub async fn notice(
    c: &mut Conn<'_>,
    recipient: &str,
    order: Option<i64>,
    kind: &str,
    message: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    if recipient.is_empty() {
        return Ok(());
    }
    let q = Query::insert()
        .into_table(Notifications::Table)
        .columns([
            Notifications::Recipient,
            Notifications::OrderId,
            Notifications::Kind,
            Notifications::Message,
            Notifications::CreatedAt,
        ])
        .values_panic([
            recipient.into(),
            order.into(),
            kind.into(),
            message.chars().take(500).collect::<String>().into(),
            now.into(),
        ])
        .to_owned();
    c.execute(&q).await.map(|_| ())
}

/// Notices for any of `recipients`, newest first.
pub async fn notices(
    c: &mut Conn<'_>,
    recipients: &[String],
    unread_only: bool,
    page: PageReq,
) -> Result<Page<Notice>> {
    let mut q = Query::select()
        .from(Notifications::Table)
        .and_where(Expr::col(Notifications::Recipient).is_in(recipients.to_vec()))
        .to_owned();
    if unread_only {
        q.and_where(Expr::col(Notifications::ReadAt).is_null());
    }
    let mut count = q.clone();
    count.expr(Expr::col(Notifications::Id).count());
    let total = c.fetch_i64(&count).await?;
    q.columns([
        Notifications::Id,
        Notifications::Recipient,
        Notifications::OrderId,
        Notifications::Kind,
        Notifications::Message,
        Notifications::CreatedAt,
        Notifications::ReadAt,
    ])
    .order_by(Notifications::Id, SortOrder::Desc)
    .limit(page.per_page)
    .offset(page.offset());
    Ok(Page {
        items: c.fetch_all(&q).await?,
        total,
    })
}

/// Mark notices read (only those addressed to `recipients`).
pub async fn mark_read(
    c: &mut Conn<'_>,
    recipients: &[String],
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut q = Query::update()
        .table(Notifications::Table)
        .value(Notifications::ReadAt, now)
        .and_where(Expr::col(Notifications::Recipient).is_in(recipients.to_vec()))
        .and_where(Expr::col(Notifications::ReadAt).is_null())
        .to_owned();
    if !ids.is_empty() {
        q.and_where(Expr::col(Notifications::Id).is_in(ids.to_vec()));
    }
    c.execute(&q).await
}

/// What the resident hears about a transition, if anything.
fn resident_message(o: &Order, action: &Action, to: State) -> Option<String> {
    let what = match action {
        Action::Sign => "已由承办单位签收",
        Action::Reply { .. } => "承办单位已回复，请查看",
        Action::Close { .. } => "已办结，欢迎评价",
        Action::Reopen { .. } => "已重新交办",
        Action::Merge { .. } => "已与相同诉求合并办理",
        _ => return None,
    };
    let _ = to;
    Some(format!("【社区服务】您的诉求 {} {what}。", o.tracking_code))
}

/// Notices after a transition: the unit hears of dispatch and urging, the resident of progress.
pub(super) async fn after_transition(
    c: &mut Conn<'_>,
    o: &Order,
    action: &Action,
    to: State,
    now: DateTime<Utc>,
) -> Result<()> {
    let tc = &o.tracking_code;
    match action {
        Action::Dispatch { unit } | Action::Transfer { unit, .. } => {
            let msg = format!("新派工单 {tc}，请及时签收");
            notice(c, unit, Some(o.id), "dispatch", &msg, now).await?;
        }
        Action::Reopen { reason } => {
            let msg = format!("工单 {tc} 重办：{reason}");
            notice(c, &o.unit, Some(o.id), "dispatch", &msg, now).await?;
        }
        Action::Urge { note } | Action::Supervise { note } => {
            let msg = format!("{}：工单 {tc}。{note}", action.label());
            notice(c, &o.unit, Some(o.id), "urge", &msg, now).await?;
        }
        _ => {}
    }
    if let Some(msg) = resident_message(o, action, to) {
        if let Some(uid) = o.reporter_user_id {
            notice(c, &user_recipient(uid), Some(o.id), "status", &msg, now).await?;
        }
        queue_sms_for_order(c, o.id, &msg, now).await?;
    }
    Ok(())
}

/// Queue a text message to an order's reporter (when a phone was given).
async fn queue_sms_for_order(
    c: &mut Conn<'_>,
    order: i64,
    message: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let q = Query::select()
        .columns([
            WorkOrders::ReporterPhoneEnc,
            WorkOrders::ReporterPhoneMasked,
        ])
        .from(WorkOrders::Table)
        .and_where(Expr::col(WorkOrders::Id).eq(order))
        .to_owned();
    let Some((Some(enc), Some(masked))) = c
        .fetch_optional::<(Option<Vec<u8>>, Option<String>)>(&q)
        .await?
    else {
        return Ok(());
    };
    let q = Query::insert()
        .into_table(SmsOutbox::Table)
        .columns([
            SmsOutbox::PhoneEnc,
            SmsOutbox::PhoneMasked,
            SmsOutbox::Message,
            SmsOutbox::OrderId,
            SmsOutbox::CreatedAt,
        ])
        .values_panic([
            enc.into(),
            masked.into(),
            message.into(),
            order.into(),
            now.into(),
        ])
        .to_owned();
    c.execute(&q).await.map(|_| ())
}

/// Where text messages go. A real gateway implements this; the default logs.
pub trait SmsGateway: Send + Sync {
    /// Send one message; an error leaves it queued for another attempt.
    fn send(&self, phone: &str, message: &str) -> std::result::Result<(), String>;
    fn name(&self) -> &'static str;
}

/// Writes each message to the log with the number masked, and reports success.
pub struct LoggingGateway;

impl SmsGateway for LoggingGateway {
    fn send(&self, phone: &str, message: &str) -> std::result::Result<(), String> {
        let masked = shequ_core::Phone::parse(phone)
            .map(|p| p.masked())
            .unwrap_or_else(|_| "***".into());
        tracing::info!(target: "shequ::sms", to = %masked, %message, "短信（日志网关）");
        Ok(())
    }

    fn name(&self) -> &'static str {
        "log"
    }
}

#[derive(sqlx::FromRow)]
struct Outgoing {
    id: i64,
    phone_enc: Vec<u8>,
    message: String,
    attempts: i32,
}

/// A queued or sent text message, for the operator's view (number masked).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Sms {
    pub id: i64,
    pub phone_masked: String,
    pub message: String,
    pub order_id: Option<i64>,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

/// The latest messages of an order, newest first.
pub async fn sms_for_order(c: &mut Conn<'_>, order: i64) -> Result<Vec<Sms>> {
    let q = Query::select()
        .columns([
            SmsOutbox::Id,
            SmsOutbox::PhoneMasked,
            SmsOutbox::Message,
            SmsOutbox::OrderId,
            SmsOutbox::Status,
            SmsOutbox::CreatedAt,
        ])
        .from(SmsOutbox::Table)
        .and_where(Expr::col(SmsOutbox::OrderId).eq(order))
        .order_by(SmsOutbox::Id, SortOrder::Desc)
        .to_owned();
    c.fetch_all(&q).await
}

/// Send up to `limit` queued messages; returns how many were sent. A message
/// failing five times is marked failed.
pub async fn drain_outbox(
    c: &mut Conn<'_>,
    key: &Protector,
    gateway: &dyn SmsGateway,
    limit: u64,
    now: DateTime<Utc>,
) -> Result<usize> {
    let q = Query::select()
        .columns([
            SmsOutbox::Id,
            SmsOutbox::PhoneEnc,
            SmsOutbox::Message,
            SmsOutbox::Attempts,
        ])
        .from(SmsOutbox::Table)
        .and_where(Expr::col(SmsOutbox::Status).eq("queued"))
        .order_by(SmsOutbox::Id, SortOrder::Asc)
        .limit(limit)
        .to_owned();
    let mut sent = 0;
    for m in c.fetch_all::<Outgoing>(&q).await? {
        let phone = key
            .open(F_REPORTER_PHONE, &m.phone_enc)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let ok = phone.is_some_and(|p| gateway.send(&p, &m.message).is_ok());
        let status = match (ok, m.attempts + 1 >= 5) {
            (true, _) => "sent",
            (false, true) => "failed",
            (false, false) => "queued",
        };
        let mut u = Query::update()
            .table(SmsOutbox::Table)
            .value(SmsOutbox::Status, status)
            .value(SmsOutbox::Attempts, m.attempts + 1)
            .and_where(Expr::col(SmsOutbox::Id).eq(m.id))
            .to_owned();
        if ok {
            u.value(SmsOutbox::SentAt, now);
            sent += 1;
        }
        c.execute(&u).await?;
    }
    Ok(sent)
}
