//! Store for `care`.
