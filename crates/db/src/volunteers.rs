//! Store for `volunteers`.
