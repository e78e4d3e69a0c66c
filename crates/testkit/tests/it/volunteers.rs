//! Integration tests for `volunteers`.
