//! Demo data for `care`.
