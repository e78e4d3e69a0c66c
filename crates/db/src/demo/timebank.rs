//! Demo data for `timebank`.
