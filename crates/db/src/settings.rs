//! Small pieces of configuration kept in the store as JSON (三率 definitions and
//! weights, …), so every process serves the same settings.

use crate::{Conn, DbError, Result};
use sea_query::{Expr, ExprTrait, Iden, OnConflict, Query};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Iden, Clone, Copy)]
enum Settings {
    Table,
    Key,
    Value,
}

/// The stored value of `key`, or `None` when unset (or no longer readable).
pub async fn get<T: DeserializeOwned>(c: &mut Conn<'_>, key: &str) -> Result<Option<T>> {
    let q = Query::select()
        .column(Settings::Value)
        .from(Settings::Table)
        .and_where(Expr::col(Settings::Key).eq(key))
        .to_owned();
    let found: Option<(String,)> = c.fetch_optional(&q).await?;
    Ok(found.and_then(|(v,)| serde_json::from_str(&v).ok()))
}

/// Store `value` under `key`.
pub async fn put<T: Serialize>(c: &mut Conn<'_>, key: &str, value: &T) -> Result<()> {
    let text = serde_json::to_string(value).map_err(|e| DbError::Conflict(e.to_string()))?;
    let q = Query::insert()
        .into_table(Settings::Table)
        .columns([Settings::Key, Settings::Value])
        .values_panic([key.into(), text.into()])
        .on_conflict(
            OnConflict::column(Settings::Key)
                .update_columns([Settings::Value])
                .to_owned(),
        )
        .to_owned();
    c.execute(&q).await.map(|_| ())
}
