//! Photos on an order: the resident's (`report`) and the unit's result (`result`),
//! stored after `core::photo::clean` has checked them and stripped their metadata.

use crate::{Conn, DbError, Result};
use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Iden, Order as SortOrder, Query};
use serde::Serialize;
use shequ_core::photo::Photo;

#[derive(Iden, Clone, Copy)]
enum WoPhotos {
    Table,
    Id,
    OrderId,
    Kind,
    ContentType,
    Bytes,
    Width,
    Height,
    CreatedAt,
}

/// Most photos an order keeps per kind.
pub const MAX_PER_ORDER: i64 = 3;

/// A photo without its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PhotoMeta {
    pub id: i64,
    pub order_id: i64,
    pub kind: String,
    pub content_type: String,
    pub width: i32,
    pub height: i32,
    pub created_at: DateTime<Utc>,
}

/// Attach a cleaned photo (kind `report` or `result`).
pub async fn add(
    c: &mut Conn<'_>,
    order: i64,
    kind: &str,
    p: &Photo,
    now: DateTime<Utc>,
) -> Result<i64> {
    if !matches!(kind, "report" | "result") {
        return Err(DbError::invalid("kind", "bad_kind", "照片类别有误"));
    }
    let have = c
        .fetch_i64(
            &Query::select()
                .expr(Expr::col(WoPhotos::Id).count())
                .from(WoPhotos::Table)
                .and_where(Expr::col(WoPhotos::OrderId).eq(order))
                .and_where(Expr::col(WoPhotos::Kind).eq(kind))
                .to_owned(),
        )
        .await?;
    if have >= MAX_PER_ORDER {
        return Err(DbError::invalid(
            "photo",
            "too_many_photos",
            format!("每张工单最多 {MAX_PER_ORDER} 张照片"),
        ));
    }
    let dim = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    let q = Query::insert()
        .into_table(WoPhotos::Table)
        .columns([
            WoPhotos::OrderId,
            WoPhotos::Kind,
            WoPhotos::ContentType,
            WoPhotos::Bytes,
            WoPhotos::Width,
            WoPhotos::Height,
            WoPhotos::CreatedAt,
        ])
        .values_panic([
            order.into(),
            kind.into(),
            p.content_type.into(),
            p.bytes.clone().into(),
            dim(p.width).into(),
            dim(p.height).into(),
            now.into(),
        ])
        .to_owned();
    c.insert_id(&q).await
}

/// The photos of an order, oldest first.
pub async fn of_order(c: &mut Conn<'_>, order: i64) -> Result<Vec<PhotoMeta>> {
    let q = Query::select()
        .columns([
            WoPhotos::Id,
            WoPhotos::OrderId,
            WoPhotos::Kind,
            WoPhotos::ContentType,
            WoPhotos::Width,
            WoPhotos::Height,
            WoPhotos::CreatedAt,
        ])
        .from(WoPhotos::Table)
        .and_where(Expr::col(WoPhotos::OrderId).eq(order))
        .order_by(WoPhotos::Id, SortOrder::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

/// A photo's order, content type and bytes (the caller checks access to the order).
pub async fn bytes(c: &mut Conn<'_>, id: i64) -> Result<Option<(i64, String, Vec<u8>)>> {
    let q = Query::select()
        .columns([WoPhotos::OrderId, WoPhotos::ContentType, WoPhotos::Bytes])
        .from(WoPhotos::Table)
        .and_where(Expr::col(WoPhotos::Id).eq(id))
        .to_owned();
    c.fetch_optional(&q).await
}
