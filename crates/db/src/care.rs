//! Store for `care` (探访关爱): the special-difficulty elderly roster, visit plans and
//! visit records.

use crate::{Conn, Result};
use chrono::{DateTime, Utc};

/// One village/community's roster size and how many on it had a valid visit in the
/// month of `now` (Asia/Shanghai).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitFacts {
    pub village: String,
    pub roster: i64,
    pub visited: i64,
}

/// Roster and visited counts per village/community, for the monthly visit-rate indicator.
pub async fn visit_facts(_c: &mut Conn<'_>, _now: DateTime<Utc>) -> Result<Vec<VisitFacts>> {
    Ok(Vec::new())
}
