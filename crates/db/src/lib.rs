//! Shequ's store: one query layer over SQLite (the embedded default) and PostgreSQL.
//!
//! Every query is written once with sea-query and rendered for the active backend by
//! [`Conn`]; rows decode into the same `sqlx::FromRow` structs from either backend.

pub mod api_keys;
pub mod audit;
pub mod care;
pub mod certificates;
pub mod conn;
pub mod demo;
pub mod divisions;
pub mod error;
pub mod facilities;
pub mod indicators;
pub mod organizations;
pub mod people;
pub mod ratings;
pub mod rental;
pub mod schema;
pub mod scope;
pub mod sessions;
pub mod settings;
pub mod surveys;
pub mod timebank;
pub mod users;
pub mod volunteers;
pub mod workforce;
pub mod workorders;

pub use conn::{Backend, Conn, Db, Tx};
pub use error::DbError;

pub type Result<T, E = DbError> = std::result::Result<T, E>;

/// One page of a list, as the API returns it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// Which page of a list to read; `per_page` is clamped to 1..=500.
#[derive(Debug, Clone, Copy)]
pub struct PageReq {
    pub page: u64,
    pub per_page: u64,
}

impl PageReq {
    pub const MAX_PER_PAGE: u64 = 500;

    pub fn new(page: Option<u64>, per_page: Option<u64>) -> Self {
        PageReq {
            page: page.unwrap_or(1).max(1),
            per_page: per_page.unwrap_or(50).clamp(1, Self::MAX_PER_PAGE),
        }
    }

    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    pub fn all() -> Self {
        PageReq {
            page: 1,
            per_page: u64::MAX / 4,
        }
    }
}
