//! The audit chain: an append-only log in which every entry carries the hash of
//! the one before it. Entries are appended inside the transaction of the change
//! they record, so a change and its entry land together or not at all.

use crate::scope::Actor;
use crate::{Conn, DbError, Page, PageReq, Result};
use chrono::{DateTime, SubsecRound, Utc};
use sea_query::{Expr, ExprTrait, Iden, Order, Query};
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Iden)]
enum AuditLog {
    Table,
    Seq,
    At,
    Actor,
    ActorRole,
    Action,
    Entity,
    EntityId,
    DivisionCode,
    Outcome,
    Detail,
    PrevHash,
    Hash,
}

#[derive(Iden)]
enum AuditHead {
    Table,
    Id,
    Seq,
    LastHash,
}

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, before it is chained.
#[derive(Debug, Clone)]
pub struct Event {
    pub action: &'static str,
    pub entity: &'static str,
    pub entity_id: String,
    pub division_code: String,
    pub outcome: &'static str,
    /// JSON: changed fields as `{"field":{"before":…,"after":…}}`, never protected values in clear.
    pub detail: serde_json::Value,
}

impl Event {
    pub fn new(action: &'static str, entity: &'static str, entity_id: impl ToString) -> Event {
        Event {
            action,
            entity,
            entity_id: entity_id.to_string(),
            division_code: String::new(),
            outcome: "ok",
            detail: serde_json::json!({}),
        }
    }

    pub fn division(mut self, code: &str) -> Event {
        self.division_code = code.to_owned();
        self
    }

    pub fn outcome(mut self, outcome: &'static str) -> Event {
        self.outcome = outcome;
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Event {
        self.detail = detail;
        self
    }
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Entry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub actor_role: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub division_code: String,
    pub outcome: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Entry {
    /// The hash this entry should carry, from its own fields and `prev_hash`.
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        let at = self.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        for part in [
            self.seq.to_string().as_str(),
            at.as_str(),
            &self.actor,
            &self.actor_role,
            &self.action,
            &self.entity,
            &self.entity_id,
            &self.division_code,
            &self.outcome,
            &self.detail,
            &self.prev_hash,
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

/// Append one entry. Run it in the transaction of the change it records.
pub async fn append(c: &mut Conn<'_>, actor: &Actor, ev: Event, now: DateTime<Utc>) -> Result<i64> {
    // Taking the head row first serialises appenders on both backends.
    let bump = Query::update()
        .table(AuditHead::Table)
        .value(AuditHead::Seq, Expr::col(AuditHead::Seq).add(1))
        .and_where(Expr::col(AuditHead::Id).eq(1))
        .to_owned();
    c.execute(&bump).await?;
    let (seq, prev_hash): (i64, String) = c
        .fetch_one(
            &Query::select()
                .columns([AuditHead::Seq, AuditHead::LastHash])
                .from(AuditHead::Table)
                .and_where(Expr::col(AuditHead::Id).eq(1))
                .to_owned(),
        )
        .await?;
    let mut e = Entry {
        seq,
        at: now.trunc_subsecs(6),
        actor: actor.name.clone(),
        actor_role: actor.role.clone(),
        action: ev.action.to_owned(),
        entity: ev.entity.to_owned(),
        entity_id: ev.entity_id,
        division_code: ev.division_code,
        outcome: ev.outcome.to_owned(),
        detail: ev.detail.to_string(),
        prev_hash,
        hash: String::new(),
    };
    e.hash = e.compute_hash();
    let ins = Query::insert()
        .into_table(AuditLog::Table)
        .columns([
            AuditLog::Seq,
            AuditLog::At,
            AuditLog::Actor,
            AuditLog::ActorRole,
            AuditLog::Action,
            AuditLog::Entity,
            AuditLog::EntityId,
            AuditLog::DivisionCode,
            AuditLog::Outcome,
            AuditLog::Detail,
            AuditLog::PrevHash,
            AuditLog::Hash,
        ])
        .values_panic([
            e.seq.into(),
            e.at.into(),
            e.actor.clone().into(),
            e.actor_role.clone().into(),
            e.action.clone().into(),
            e.entity.clone().into(),
            e.entity_id.clone().into(),
            e.division_code.clone().into(),
            e.outcome.clone().into(),
            e.detail.clone().into(),
            e.prev_hash.clone().into(),
            e.hash.clone().into(),
        ])
        .to_owned();
    c.execute(&ins).await?;
    let tip = Query::update()
        .table(AuditHead::Table)
        .value(AuditHead::LastHash, e.hash)
        .and_where(Expr::col(AuditHead::Id).eq(1))
        .to_owned();
    c.execute(&tip).await?;
    Ok(seq)
}

/// Append one entry in its own transaction (sign-ins, reads).
pub async fn record(db: &crate::Db, actor: &Actor, ev: Event, now: DateTime<Utc>) -> Result<i64> {
    let mut tx = db.begin().await?;
    let seq = append(&mut tx.conn(), actor, ev, now).await?;
    tx.commit().await?;
    Ok(seq)
}

/// Why the chain is not intact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// The first entry that does not fit (or the tip's sequence when the tail is missing).
    pub seq: i64,
    pub reason: String,
}

/// Walk the whole chain. `Ok(n)` with the number of entries when intact.
pub async fn verify(c: &mut Conn<'_>) -> Result<std::result::Result<i64, Break>> {
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_owned();
    loop {
        let q = select()
            .and_where(Expr::col(AuditLog::Seq).gte(expected_seq))
            .order_by(AuditLog::Seq, Order::Asc)
            .limit(5000)
            .to_owned();
        let batch: Vec<Entry> = c.fetch_all(&q).await?;
        if batch.is_empty() {
            break;
        }
        for e in batch {
            if let Some(b) = check_link(&e, expected_seq, &prev) {
                return Ok(Err(b));
            }
            prev = e.hash;
            expected_seq += 1;
        }
    }
    let (tip_seq, tip_hash): (i64, String) = c
        .fetch_one(
            &Query::select()
                .columns([AuditHead::Seq, AuditHead::LastHash])
                .from(AuditHead::Table)
                .to_owned(),
        )
        .await?;
    if tip_seq != expected_seq - 1 || tip_hash != prev {
        return Ok(Err(Break {
            seq: expected_seq,
            reason: format!(
                "日志末尾缺失：应有 {tip_seq} 条，只找到 {} 条",
                expected_seq - 1
            ),
        }));
    }
    Ok(Ok(expected_seq - 1))
}

fn check_link(e: &Entry, expected_seq: i64, prev: &str) -> Option<Break> {
    if e.seq != expected_seq {
        return Some(Break {
            seq: expected_seq,
            reason: format!("第 {expected_seq} 条缺失"),
        });
    }
    if e.prev_hash != prev {
        return Some(Break {
            seq: e.seq,
            reason: format!("第 {} 条的前序哈希不符（条目被删除或调换）", e.seq),
        });
    }
    if e.compute_hash() != e.hash {
        return Some(Break {
            seq: e.seq,
            reason: format!("第 {} 条内容被改动", e.seq),
        });
    }
    None
}

fn select() -> sea_query::SelectStatement {
    Query::select()
        .columns([
            AuditLog::Seq,
            AuditLog::At,
            AuditLog::Actor,
            AuditLog::ActorRole,
            AuditLog::Action,
            AuditLog::Entity,
            AuditLog::EntityId,
            AuditLog::DivisionCode,
            AuditLog::Outcome,
            AuditLog::Detail,
            AuditLog::PrevHash,
            AuditLog::Hash,
        ])
        .from(AuditLog::Table)
        .to_owned()
}

/// Filters for the auditor's search.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub entity_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Newest first.
pub async fn search(c: &mut Conn<'_>, f: &Filter, page: PageReq) -> Result<Page<Entry>> {
    let mut q = select();
    if let Some(a) = f.actor.as_deref().filter(|s| !s.is_empty()) {
        q.and_where(Expr::col(AuditLog::Actor).eq(a));
    }
    if let Some(a) = f.action.as_deref().filter(|s| !s.is_empty()) {
        q.and_where(Expr::col(AuditLog::Action).eq(a));
    }
    if let Some(a) = f.entity_id.as_deref().filter(|s| !s.is_empty()) {
        q.and_where(Expr::col(AuditLog::EntityId).eq(a));
    }
    if let Some(t) = f.from {
        q.and_where(Expr::col(AuditLog::At).gte(t));
    }
    if let Some(t) = f.to {
        q.and_where(Expr::col(AuditLog::At).lt(t));
    }
    let mut count = q.clone();
    count.clear_selects().expr(Expr::col(AuditLog::Seq).count());
    let total = c.fetch_i64(&count).await?;
    q.order_by(AuditLog::Seq, Order::Desc)
        .limit(page.per_page)
        .offset(page.offset());
    Ok(Page {
        items: c.fetch_all(&q).await?,
        total,
    })
}

/// Raise an error unless the chain verifies (used by tests and the CLI).
pub async fn require_intact(c: &mut Conn<'_>) -> Result<i64> {
    verify(c).await?.map_err(|b| DbError::Conflict(b.reason))
}
