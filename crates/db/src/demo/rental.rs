//! Demo data for `rental`.
