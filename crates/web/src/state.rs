//! What every handler can reach: the store, the cached division tree, the clock,
//! and the key that protects personal data.

use crate::tree::TreeCache;
use chrono::{DateTime, Utc};
use shequ_core::Protector;
use shequ_db::Db;
use std::sync::Arc;

/// The current time, passed in so tests control it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub tree: TreeCache,
    pub clock: Clock,
    pub key: Arc<Protector>,
    pub caches: Arc<crate::cache::Caches>,
    /// The group-commit writer of work-order intake.
    pub intake: crate::intake::Writer,
}

impl AppState {
    /// Build the state and load the division tree into memory.
    pub async fn new(db: Db, clock: Clock, key: Protector) -> Result<AppState, shequ_db::DbError> {
        let tree = TreeCache::load(&db).await?;
        let caches = Arc::new(crate::cache::Caches::default());
        caches.set_indicator_version(shequ_db::indicators::version(&mut db.conn()).await?);
        let key = Arc::new(key);
        let intake = crate::intake::Writer::start(db.clone(), Arc::clone(&key), Arc::clone(&clock));
        Ok(AppState {
            db,
            tree,
            clock,
            key,
            caches,
            intake,
        })
    }

    /// State with the system clock.
    pub async fn with_system_clock(db: Db, key: Protector) -> Result<AppState, shequ_db::DbError> {
        AppState::new(db, Arc::new(Utc::now), key).await
    }

    /// Poll the store's indicator version every `every`, so dashboards cached here
    /// notice changes made by other processes.
    pub fn watch_indicators(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let (db, caches) = (self.db.clone(), Arc::clone(&self.caches));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                match shequ_db::indicators::version(&mut db.conn()).await {
                    Ok(v) => caches.set_indicator_version(v),
                    Err(e) => tracing::warn!(error = %e, "indicator version poll failed"),
                }
            }
        })
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

/// 32 random bytes as hex: session secrets, CSRF tokens, API tokens.
pub fn random_secret() -> Result<String, crate::AppError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b)
        .map_err(|e| crate::AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(hex::encode(b))
}
