//! The `Db` enum: a pool for SQLite or PostgreSQL, transactions over either, and the
//! one place where sea-query statements are rendered and handed to sqlx.

use crate::{DbError, Result};
use sea_query::{
    DeleteStatement, InsertStatement, PostgresQueryBuilder, SelectStatement, SqliteQueryBuilder,
    UpdateStatement,
};
use sea_query_sqlx::SqlxBinder;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, FromRow, PgConnection, PgPool, SqliteConnection, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

/// Which engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool to the active backend.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open transaction; dropped without [`Tx::commit`] it rolls back.
#[derive(Debug)]
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Something a statement can run on: a pool or an open transaction.
#[derive(Debug)]
pub enum Conn<'a> {
    SqlitePool(&'a SqlitePool),
    SqliteTx(&'a mut SqliteConnection),
    PgPool(&'a PgPool),
    PgTx(&'a mut PgConnection),
}

/// A statement sea-query can render for either backend.
pub trait Statement: SqlxBinder {}
impl Statement for SelectStatement {}
impl Statement for InsertStatement {}
impl Statement for UpdateStatement {}
impl Statement for DeleteStatement {}

/// Rows that decode from both backends (any `#[derive(sqlx::FromRow)]` struct of portable types).
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// Render `$stmt` for the variant of `$conn`, bind `$sql`/`$vals`/`$ex` and run `$body`.
macro_rules! on_backend {
    ($conn:expr, $stmt:expr, |$sql:ident, $vals:ident, $ex:ident| $body:expr) => {
        match $conn {
            Conn::SqlitePool(p) => {
                let ($sql, $vals) = $stmt.build_sqlx(SqliteQueryBuilder);
                let $sql = AssertSqlSafe($sql);
                let $ex = *p;
                $body
            }
            Conn::SqliteTx(c) => {
                let ($sql, $vals) = $stmt.build_sqlx(SqliteQueryBuilder);
                let $sql = AssertSqlSafe($sql);
                let $ex = &mut **c;
                $body
            }
            Conn::PgPool(p) => {
                let ($sql, $vals) = $stmt.build_sqlx(PostgresQueryBuilder);
                let $sql = AssertSqlSafe($sql);
                let $ex = *p;
                $body
            }
            Conn::PgTx(c) => {
                let ($sql, $vals) = $stmt.build_sqlx(PostgresQueryBuilder);
                let $sql = AssertSqlSafe($sql);
                let $ex = &mut **c;
                $body
            }
        }
    };
}

impl Conn<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            Conn::SqlitePool(_) | Conn::SqliteTx(_) => Backend::Sqlite,
            Conn::PgPool(_) | Conn::PgTx(_) => Backend::Postgres,
        }
    }

    pub async fn fetch_all<T: Row>(&mut self, q: &SelectStatement) -> Result<Vec<T>> {
        on_backend!(self, q, |sql, vals, ex| Ok(sqlx::query_as_with::<_, T, _>(
            sql, vals
        )
        .fetch_all(ex)
        .await?))
    }

    pub async fn fetch_optional<T: Row>(&mut self, q: &SelectStatement) -> Result<Option<T>> {
        on_backend!(self, q, |sql, vals, ex| Ok(sqlx::query_as_with::<_, T, _>(
            sql, vals
        )
        .fetch_optional(ex)
        .await?))
    }

    pub async fn fetch_one<T: Row>(&mut self, q: &SelectStatement) -> Result<T> {
        self.fetch_optional(q).await?.ok_or(DbError::NotFound)
    }

    /// A single `i64` from the first column of the first row (counts, sums).
    pub async fn fetch_i64(&mut self, q: &SelectStatement) -> Result<i64> {
        let row: Option<(Option<i64>,)> = self.fetch_optional(q).await?;
        Ok(row.and_then(|(v,)| v).unwrap_or(0))
    }

    /// Run an insert/update/delete; returns the number of rows affected.
    pub async fn execute<S: Statement>(&mut self, q: &S) -> Result<u64> {
        on_backend!(self, q, |sql, vals, ex| Ok(sqlx::query_with(sql, vals)
            .execute(ex)
            .await?
            .rows_affected()))
    }

    /// Run an insert with its own `RETURNING` columns; one row per inserted row.
    pub async fn insert_returning<T: Row>(&mut self, q: &InsertStatement) -> Result<Vec<T>> {
        on_backend!(self, q, |sql, vals, ex| Ok(sqlx::query_as_with::<_, T, _>(
            sql, vals
        )
        .fetch_all(ex)
        .await?))
    }

    /// Run an insert that ends in `RETURNING id`; returns the new id.
    pub async fn insert_id(&mut self, q: &InsertStatement) -> Result<i64> {
        let mut q = q.clone();
        q.returning_col(sea_query::Alias::new("id"));
        let (id,): (i64,) = on_backend!(self, q, |sql, vals, ex| sqlx::query_as_with(sql, vals)
            .fetch_one(ex)
            .await?);
        Ok(id)
    }
}

impl Db {
    /// Open a pool from a `sqlite://…` or `postgres://…` URL. SQLite files are created
    /// when missing and run in WAL mode with `synchronous=NORMAL`.
    pub async fn connect(url: &str) -> Result<Db> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| DbError::BadUrl(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("cache_size", "-32000")
                .pragma("temp_store", "memory");
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .min_connections(1)
                .connect_with(opts)
                .await?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts =
                PgConnectOptions::from_str(url).map_err(|e| DbError::BadUrl(e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(15))
                .connect_with(opts)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            Err(DbError::BadUrl(
                "数据库地址应以 sqlite:// 或 postgres:// 开头".into(),
            ))
        }
    }

    /// Apply the embedded migrations of the active backend.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Sqlite(p) => sqlx::migrate!("migrations/sqlite").run(p).await?,
            Db::Postgres(p) => sqlx::migrate!("migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn conn(&self) -> Conn<'_> {
        match self {
            Db::Sqlite(p) => Conn::SqlitePool(p),
            Db::Postgres(p) => Conn::PgPool(p),
        }
    }

    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            // IMMEDIATE takes the write lock up front, so a transaction that reads
            // before it writes waits its turn instead of failing with SQLITE_BUSY.
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }

    /// Fixed SQL returning rows of two text columns (schema introspection).
    pub async fn fetch_static_pairs(&self, sql: &'static str) -> Result<Vec<(String, String)>> {
        Ok(match self {
            Db::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await?,
            Db::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await?,
        })
    }

    /// Take an online copy of a SQLite database (`VACUUM INTO`).
    pub async fn backup_sqlite(&self, path: &str) -> Result<()> {
        match self {
            Db::Sqlite(p) => {
                sqlx::query("VACUUM INTO ?").bind(path).execute(p).await?;
                Ok(())
            }
            Db::Postgres(_) => Err(DbError::BadUrl("PostgreSQL 请使用 pg_dump 备份".into())),
        }
    }
}

impl Tx {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(t) => Conn::SqliteTx(&mut *t),
            Tx::Postgres(t) => Conn::PgTx(&mut *t),
        }
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}
