//! Layers every response passes through: security headers (with a strict CSP),
//! request ids, timeouts, body limits, compression, and a last guard that turns a
//! panic into a plain 500 without internals.

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, Response, StatusCode, header};
use axum::middleware::Next;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Largest request body outside the import routes.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Everything is served from this origin: no inline script, no third-party hosts.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

pub fn wrap(app: Router, caches: std::sync::Arc<crate::cache::Caches>) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let epoch = axum::middleware::from_fn(move |req: Request<Body>, next: Next| {
        let caches = std::sync::Arc::clone(&caches);
        async move {
            let changes = !matches!(
                *req.method(),
                axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
            );
            let res = next.run(req).await;
            if changes {
                caches.bump_epoch();
            }
            res
        }
    });
    app.layer(epoch)
        .layer(axum::middleware::from_fn(csrf_cookie))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(CompressionLayer::new())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, Counter::default()))
        .layer(CatchPanicLayer::custom(panic_response))
}

async fn security_headers(req: Request<Body>, next: Next) -> Response<Body> {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(self), geolocation=(self), microphone=()"),
    );
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// The CSRF token of a page request (from its cookie, or freshly issued).
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// Give every browser a CSRF cookie; forms echo it back in a hidden field.
async fn csrf_cookie(mut req: Request<Body>, next: Next) -> Response<Body> {
    let path = req.uri().path();
    if path.starts_with("/api/") || path.starts_with("/static/") || path == "/healthz" {
        return next.run(req).await;
    }
    let existing = crate::auth::cookie(req.headers(), crate::auth::CSRF_COOKIE).map(str::to_owned);
    let (token, fresh) = match existing {
        Some(t) => (t, false),
        None => (crate::state::random_secret().unwrap_or_default(), true),
    };
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut res = next.run(req).await;
    if fresh && !token.is_empty() {
        let c = format!(
            "{}={token}; Path=/; HttpOnly; SameSite=Strict",
            crate::auth::CSRF_COOKIE
        );
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    tracing::error!("handler panicked");
    let body =
        r#"{"error":{"code":"internal_error","message":"服务器内部错误，请稍后再试","fields":{}}}"#;
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// Request ids: a process-unique counter, enough to correlate log lines.
#[derive(Clone, Default)]
struct Counter(std::sync::Arc<AtomicU64>);

impl MakeRequestId for Counter {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{n:x}"))
            .ok()
            .map(RequestId::new)
    }
}
