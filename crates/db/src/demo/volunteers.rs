//! Demo data for `volunteers`.
