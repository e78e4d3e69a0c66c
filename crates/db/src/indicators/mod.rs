//! The plan-target monitor in the store: per-node numerators and denominators kept
//! current as the registries change (so reading a dashboard costs O(nodes shown)),
//! full recomputation, local targets and monthly snapshots.

pub mod facts;
mod rollup;
pub mod store;

pub use rollup::{Values, compute, leaf_values};
pub use store::{
    TargetError, backfill, effective_targets, recompute_all, refresh, set_target, snapshot, trend,
    values_for, version,
};
