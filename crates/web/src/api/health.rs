//! Liveness.

/// `ok` while the process serves requests.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, description = "Serving", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok"
}
