//! Store for `certificates`.
