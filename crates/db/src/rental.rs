//! Store for `rental`.
