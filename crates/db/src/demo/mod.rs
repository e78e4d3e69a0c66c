//! Deterministic demo data: Shaoyang's real counties and townships, generated
//! villages/communities and grids whose figures add up to the 2020 census.

mod apportion;
pub mod care;
pub mod facilities;
mod names;
pub mod people;
pub mod ratings;
pub mod rental;
pub mod shaoyang;
pub mod surveys;
pub mod timebank;
mod tree;
pub mod users;
pub mod volunteers;
pub mod workforce;
pub mod workorders;

pub use apportion::{apportion, apportion_capped};
pub use tree::{DemoTree, build_tree};

use crate::{Db, DbError, Result};
use chrono::{DateTime, Utc};

/// How much of the city to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// One district (双清区) with its real townships.
    Small,
    /// The whole city: 12 counties/districts, 206 townships/streets.
    City,
}

impl Scale {
    pub fn as_str(self) -> &'static str {
        match self {
            Scale::Small => "small",
            Scale::City => "city",
        }
    }
}

/// What a demo run created, for the operator.
#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    pub divisions: usize,
    pub villages: usize,
    pub grids: usize,
    pub population: i64,
    pub households: i64,
}

/// Fill an empty database. Refuses a database that already has divisions.
pub async fn load(db: &Db, scale: Scale, seed: u64, now: DateTime<Utc>) -> Result<DemoSummary> {
    if !crate::divisions::roots(&mut db.conn()).await?.is_empty() {
        return Err(DbError::Conflict(
            "数据库中已有区划数据，演示数据只能写入空库".into(),
        ));
    }
    let tree = build_tree(scale, seed)?;
    let mut tx = db.begin().await?;
    crate::divisions::insert_many(&mut tx.conn(), &tree.nodes, now).await?;
    tx.commit().await?;
    Ok(tree.summary())
}
