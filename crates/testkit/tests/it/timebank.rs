//! Integration tests for `timebank`.
