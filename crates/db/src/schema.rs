//! Introspection of the migrated schema, so the two backends can be compared.

use crate::{Db, Result};
use std::collections::BTreeSet;

/// Tables with their columns, and explicit indexes, as `table.column` / `table.index` strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaShape {
    pub columns: BTreeSet<String>,
    pub indexes: BTreeSet<String>,
}

const SQLITE_COLUMNS: &str = "SELECT m.name, p.name FROM sqlite_master m \
    JOIN pragma_table_info(m.name) p WHERE m.type = 'table' \
    AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'";
const SQLITE_INDEXES: &str = "SELECT tbl_name, name FROM sqlite_master \
    WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'";
const PG_COLUMNS: &str = "SELECT table_name::text, column_name::text FROM information_schema.columns \
    WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx%'";
const PG_INDEXES: &str = "SELECT tablename::text, indexname::text FROM pg_indexes \
    WHERE schemaname = current_schema() AND indexname NOT LIKE '%\\_pkey' \
    AND indexname NOT LIKE '%\\_key' AND tablename NOT LIKE '\\_sqlx%'";

pub async fn shape(db: &Db) -> Result<SchemaShape> {
    let (cols, idx) = match db {
        Db::Sqlite(_) => (SQLITE_COLUMNS, SQLITE_INDEXES),
        Db::Postgres(_) => (PG_COLUMNS, PG_INDEXES),
    };
    let join =
        |rows: Vec<(String, String)>| rows.into_iter().map(|(t, c)| format!("{t}.{c}")).collect();
    Ok(SchemaShape {
        columns: join(db.fetch_static_pairs(cols).await?),
        indexes: join(db.fetch_static_pairs(idx).await?),
    })
}
