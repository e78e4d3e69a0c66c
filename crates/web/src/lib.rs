//! Shequ's HTTP face: the JSON API (documented by OpenAPI), the Chinese web UI,
//! and the middleware both share.

pub mod api;
pub mod assets;
pub mod auth;
pub mod board;
pub mod cache;
pub mod charts;
pub mod error;
pub mod extract;
pub mod intake;
pub mod jobs;
pub mod middleware;
pub mod open311;
pub mod openapi;
pub mod orders;
pub mod person_input;
pub mod qr;
pub mod state;
pub mod tree;
pub mod ui;

pub use error::AppError;
pub use state::{AppState, Clock};

use axum::Router;

/// The whole application: API, UI, static assets and middleware.
pub fn router(state: AppState) -> Router {
    let (api, _) = api::router().split_for_parts();
    let caches = std::sync::Arc::clone(&state.caches);
    let app = Router::new()
        .merge(api)
        .merge(ui::router())
        .merge(assets::router())
        .merge(open311::router())
        .fallback(api::not_found)
        .with_state(state);
    middleware::wrap(app, caches)
}
