//! Integration tests for `rental`.
