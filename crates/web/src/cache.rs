//! Short-lived caches for the hottest reads: bearer-token lookups and indicator
//! boards. Any state-changing request handled by this process empties them at once
//! (the write epoch); changes made by other processes reach them through the
//! indicator version polled from the store, and token entries live at most
//! [`TOKEN_TTL`].

use shequ_db::users::User;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a token lookup is trusted without asking the store again.
pub const TOKEN_TTL: Duration = Duration::from_secs(10);
/// Most entries kept per cache; past this the cache is emptied.
const MAX_ENTRIES: usize = 20_000;

/// How long the work-order category catalogue is reused without asking the store.
/// Categories and their questions change only by migration or configuration.
pub const CATEGORY_TTL: Duration = Duration::from_secs(30);

/// The active work-order categories with their extra questions, as intake checks them.
#[derive(Debug, Default)]
pub struct CategoryCatalogue {
    pub categories: Vec<shequ_db::workorders::Category>,
    pub attributes: HashMap<String, Vec<shequ_db::workorders::attributes::Attribute>>,
}

/// One node's indicators, shared between requests.
pub type SharedBoard = Arc<Vec<crate::board::IndicatorValue>>;

#[derive(Debug, Default)]
pub struct Caches {
    /// Incremented after every state-changing request in this process.
    epoch: AtomicU64,
    /// The store's indicator version, as last polled.
    indicator_version: AtomicI64,
    tokens: Mutex<HashMap<String, (u64, Instant, User)>>,
    boards: Mutex<HashMap<String, (u64, i64, SharedBoard)>>,
    board_json: Mutex<HashMap<String, (u64, i64, axum::body::Bytes)>>,
    categories: Mutex<Option<(Instant, Arc<CategoryCatalogue>)>>,
    sanlv: Mutex<HashMap<String, (i64, Arc<crate::api::sanlv::Report>)>>,
}

impl Caches {
    pub fn bump_epoch(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub fn set_indicator_version(&self, v: i64) {
        self.indicator_version.store(v, Ordering::Release);
    }

    pub fn indicator_version(&self) -> i64 {
        self.indicator_version.load(Ordering::Acquire)
    }

    pub fn token(&self, hash: &str) -> Option<User> {
        let epoch = self.epoch();
        let map = self.tokens.lock().ok()?;
        let (e, at, user) = map.get(hash)?;
        (*e == epoch && at.elapsed() < TOKEN_TTL).then(|| user.clone())
    }

    /// Cache a lookup made when the epoch was `epoch`.
    pub fn put_token(&self, hash: String, epoch: u64, user: User) {
        if let Ok(mut map) = self.tokens.lock() {
            if map.len() > MAX_ENTRIES {
                map.clear();
            }
            map.insert(hash, (epoch, Instant::now(), user));
        }
    }

    pub fn board(&self, code: &str) -> Option<SharedBoard> {
        let (epoch, version) = (self.epoch(), self.indicator_version());
        let map = self.boards.lock().ok()?;
        let (e, v, b) = map.get(code)?;
        (*e == epoch && *v == version).then(|| Arc::clone(b))
    }

    pub fn put_board(
        &self,
        code: String,
        epoch: u64,
        version: i64,
        board: Arc<Vec<crate::board::IndicatorValue>>,
    ) {
        if let Ok(mut map) = self.boards.lock() {
            if map.len() > MAX_ENTRIES {
                map.clear();
            }
            map.insert(code, (epoch, version, board));
        }
    }

    /// A 三率 report built at aggregate version `version`.
    pub fn sanlv(&self, key: &str, version: i64) -> Option<Arc<crate::api::sanlv::Report>> {
        let map = self.sanlv.lock().ok()?;
        let (v, r) = map.get(key)?;
        (*v == version).then(|| Arc::clone(r))
    }

    pub fn put_sanlv(&self, key: String, version: i64, report: Arc<crate::api::sanlv::Report>) {
        if let Ok(mut map) = self.sanlv.lock() {
            if map.len() > MAX_ENTRIES {
                map.clear();
            }
            map.insert(key, (version, report));
        }
    }

    /// The category catalogue, while younger than [`CATEGORY_TTL`].
    pub fn categories(&self) -> Option<Arc<CategoryCatalogue>> {
        let slot = self.categories.lock().ok()?;
        let (at, cat) = slot.as_ref()?;
        (at.elapsed() < CATEGORY_TTL).then(|| Arc::clone(cat))
    }

    pub fn put_categories(&self, cat: Arc<CategoryCatalogue>) {
        if let Ok(mut slot) = self.categories.lock() {
            *slot = Some((Instant::now(), cat));
        }
    }

    /// The API's serialised board for a node, while nothing has changed.
    pub fn board_json(&self, code: &str) -> Option<axum::body::Bytes> {
        let (epoch, version) = (self.epoch(), self.indicator_version());
        let map = self.board_json.lock().ok()?;
        let (e, v, b) = map.get(code)?;
        (*e == epoch && *v == version).then(|| b.clone())
    }

    pub fn put_board_json(&self, code: String, epoch: u64, version: i64, json: axum::body::Bytes) {
        if let Ok(mut map) = self.board_json.lock() {
            if map.len() > MAX_ENTRIES {
                map.clear();
            }
            map.insert(code, (epoch, version, json));
        }
    }
}
