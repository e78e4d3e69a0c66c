//! What every handler can reach: the store, the cached division tree, the clock.

use crate::tree::TreeCache;
use chrono::{DateTime, Utc};
use shequ_db::Db;
use std::sync::Arc;

/// The current time, passed in so tests control it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub tree: TreeCache,
    pub clock: Clock,
}

impl AppState {
    /// Build the state and load the division tree into memory.
    pub async fn new(db: Db, clock: Clock) -> Result<AppState, shequ_db::DbError> {
        let tree = TreeCache::load(&db).await?;
        Ok(AppState { db, tree, clock })
    }

    /// State with the system clock.
    pub async fn with_system_clock(db: Db) -> Result<AppState, shequ_db::DbError> {
        AppState::new(db, Arc::new(Utc::now)).await
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}
