//! Store for `rental` (康复辅具租赁): rental points, aids, loans and returns.

use crate::{Conn, Result};
use chrono::{DateTime, Utc};

/// Codes of the villages/communities (12 digits) whose rental points lent an aid in
/// `[from, to)`, each once.
pub async fn lending_villages(
    _c: &mut Conn<'_>,
    _from: DateTime<Utc>,
    _to: DateTime<Utc>,
) -> Result<Vec<String>> {
    Ok(Vec::new())
}
