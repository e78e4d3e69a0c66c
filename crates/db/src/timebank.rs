//! Store for `timebank`.
