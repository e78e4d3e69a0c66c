//! The Chinese web UI: server-rendered pages that work without JavaScript,
//! readable on a 360 px phone, with large-text and high-contrast modes.

pub mod divisions;
pub mod fmt;
pub mod home;
pub mod prefs;

use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
pub use prefs::Prefs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home::page))
        .route("/divisions", get(divisions::search))
        .route("/divisions/{code}", get(divisions::page))
        .route("/divisions/{code}/children.xlsx", get(divisions::export))
        .route("/prefs", post(prefs::toggle))
}

/// What every page's frame needs.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub prefs: Prefs,
    /// The current path, so the preference buttons can return here.
    pub here: String,
    pub nav: &'static str,
    pub css: String,
    pub js: String,
}

impl Layout {
    pub fn new(title: impl Into<String>, prefs: Prefs, here: &str, nav: &'static str) -> Self {
        Layout {
            title: title.into(),
            prefs,
            here: here.to_owned(),
            nav,
            css: crate::assets::url("shequ.css"),
            js: crate::assets::url("shequ.js"),
        }
    }

    /// Classes on `<body>` for the chosen modes.
    pub fn body_class(&self) -> String {
        let mut c = Vec::new();
        if self.prefs.large {
            c.push("large");
        }
        if self.prefs.contrast {
            c.push("contrast");
        }
        c.join(" ")
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub heading: String,
    pub message: String,
}

/// An error shown as a page rather than JSON.
pub struct PageError {
    pub error: AppError,
    pub prefs: Prefs,
}

impl PageError {
    pub fn new(error: impl Into<AppError>, prefs: Prefs) -> Self {
        PageError {
            error: error.into(),
            prefs,
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let AppError::Internal(e) = &self.error {
            tracing::error!(error = ?e, "internal error");
        }
        let status = self.error.status();
        let heading = match status {
            StatusCode::NOT_FOUND => "页面不存在",
            StatusCode::FORBIDDEN => "无权查看",
            StatusCode::UNAUTHORIZED => "请先登录",
            s if s.is_client_error() => "请求有误",
            _ => "系统出错了",
        };
        let page = ErrorPage {
            layout: Layout::new(heading, self.prefs, "/", ""),
            status: status.as_u16(),
            heading: heading.into(),
            message: self.error.to_string(),
        };
        (status, page).into_response()
    }
}

/// The 404 page for any path no route serves.
pub async fn not_found(uri: Uri) -> Response {
    let _ = uri;
    PageError::new(
        AppError::NotFound("您要找的页面不存在，请从首页重新进入。".into()),
        Prefs::default(),
    )
    .into_response()
}
