//! Shequ's integration tests: every story runs on SQLite, and on PostgreSQL too
//! when `SHEQU_TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod audit;
mod care;
mod demo;
mod divisions;
mod facilities;
mod imports;
mod indicators;
mod open311;
mod openapi;
mod people;
mod portal;
mod ratings;
mod rental;
mod schema;
mod scope;
mod surveys;
mod timebank;
mod ui;
mod users;
mod volunteers;
mod workforce;
mod workorders;
mod workorders_api;
mod workorders_ui;
