//! Integration tests for `care`.
