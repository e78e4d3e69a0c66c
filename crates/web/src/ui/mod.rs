//! The Chinese web UI: server-rendered pages that work without JavaScript,
//! readable on a 360 px phone, with large-text and high-contrast modes.

pub mod account;
pub mod audit;
pub mod care;
pub mod certificates;
pub mod divisions;
pub mod facilities;
pub mod fmt;
pub mod home;
pub mod indicators;
pub mod people;
pub mod portal;
pub mod prefs;
pub mod ratings;
pub mod rental;
pub mod sanlv;
pub mod surveys;
pub mod timebank;
pub mod users;
pub mod volunteers;
pub mod workforce;
pub mod workorders;

use crate::auth;
use crate::middleware::CsrfToken;
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
pub use prefs::Prefs;
use shequ_core::role::Capability;
use shequ_db::scope::Scope;
use shequ_db::users::User;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home::page))
        .route("/divisions", get(divisions::search))
        .route("/divisions/{code}", get(divisions::page))
        .route("/divisions/{code}/children.xlsx", get(divisions::export))
        .route("/prefs", post(prefs::toggle))
        .merge(account::router())
        .merge(people::router())
        .merge(users::router())
        .merge(audit::router())
        .merge(facilities::router())
        .merge(workforce::router())
        .merge(workorders::router())
        .merge(sanlv::router())
        .merge(indicators::router())
        .merge(ratings::router())
        .merge(surveys::router())
        .merge(portal::router())
        .merge(volunteers::router())
        .merge(certificates::router())
        .merge(timebank::router())
        .merge(care::router())
        .merge(rental::router())
}

/// Everything a page handler knows about the request: who, preferences, CSRF token.
pub struct Ctx {
    pub prefs: Prefs,
    pub csrf: String,
    pub user: Option<User>,
    pub headers: HeaderMap,
    pub here: String,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let prefs = Prefs::from_headers(&parts.headers);
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let here = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        let user = auth::session_user(st, &parts.headers)
            .await
            .map_err(|e| PageError::new(e, prefs))?;
        Ok(Ctx {
            prefs,
            csrf,
            user,
            headers: parts.headers.clone(),
            here,
        })
    }
}

impl Ctx {
    pub fn layout(&self, title: impl Into<String>, nav: &'static str) -> Layout {
        Layout::new(title, self, nav)
    }

    /// An error page for this request.
    pub fn err(&self, e: impl Into<AppError>) -> PageError {
        PageError {
            error: e.into(),
            prefs: self.prefs,
            here: self.here.clone(),
        }
    }

    /// The signed-in user (or a redirect to the login page).
    pub fn user(&self) -> Result<&User, PageError> {
        self.user
            .as_ref()
            .ok_or_else(|| self.err(AppError::Unauthorized))
    }

    /// The user's scope for `cap` (login redirect, or 403).
    pub fn scope(&self, cap: Capability) -> Result<(User, Scope), PageError> {
        let u = self.user()?;
        let s = auth::scope_for(u, cap).map_err(|e| self.err(e))?;
        Ok((u.clone(), s))
    }

    pub fn can(&self, cap: Capability) -> bool {
        self.user
            .as_ref()
            .and_then(User::role)
            .is_some_and(|r| r.can(cap))
    }

    /// Check the hidden CSRF field of a submitted form.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), PageError> {
        auth::check_csrf(&self.headers, submitted).map_err(|e| self.err(e))
    }
}

/// A link in the top navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub key: &'static str,
}

/// What every page's frame needs.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub prefs: Prefs,
    /// The current path, so the preference buttons can return here.
    pub here: String,
    pub nav: &'static str,
    pub nav_items: Vec<NavItem>,
    pub css: String,
    pub js: String,
    pub csrf: String,
    /// "张三（社区工作人员）" when signed in.
    pub user_label: Option<String>,
}

impl Layout {
    pub fn new(title: impl Into<String>, ctx: &Ctx, nav: &'static str) -> Self {
        let mut nav_items = vec![
            NavItem {
                href: "/",
                label: "首页",
                key: "home",
            },
            NavItem {
                href: "/divisions",
                label: "区划",
                key: "divisions",
            },
        ];
        let extra = [
            (
                Capability::ReadIndicators,
                "/indicators",
                "指标",
                "indicators",
            ),
            (Capability::ReadPeople, "/people", "居民", "people"),
            (
                Capability::ReadIndicators,
                "/facilities",
                "设施",
                "facilities",
            ),
            (Capability::ManageUsers, "/users", "用户", "users"),
            (Capability::ManageSecurity, "/users", "用户", "users"),
            (Capability::ReadAudit, "/audit", "审计", "audit"),
            (
                Capability::ReadIndicators,
                "/workers",
                "社工队伍",
                "workers",
            ),
            (
                Capability::ManageSurveys,
                "/surveys",
                "满意度调查",
                "surveys",
            ),
            (
                Capability::HandleWorkOrders,
                "/workorders",
                "接诉即办",
                "workorders",
            ),
            (
                Capability::HandleWorkOrders,
                "/rectifications",
                "差评整改",
                "rectifications",
            ),
            (Capability::VisitElderly, "/care", "探访关爱", "care"),
            (Capability::ManageRentals, "/rental", "辅具租赁", "rental"),
            (
                Capability::ManageVolunteers,
                "/volunteers",
                "志愿者",
                "volunteers",
            ),
            (
                Capability::ManageVolunteers,
                "/timebank",
                "时间银行",
                "timebank",
            ),
        ];
        for (cap, href, label, key) in extra {
            if ctx.can(cap) && !nav_items.iter().any(|n| n.key == key) {
                nav_items.push(NavItem { href, label, key });
            }
        }
        if ctx
            .user
            .as_ref()
            .and_then(|u| u.role())
            .is_some_and(|r| matches!(r, shequ_core::Role::Volunteer | shequ_core::Role::Resident))
        {
            nav_items.push(NavItem {
                href: "/my/volunteering",
                label: "我的志愿服务",
                key: "my_volunteering",
            });
        }
        Layout {
            title: title.into(),
            prefs: ctx.prefs,
            here: ctx.here.clone(),
            nav,
            nav_items,
            css: crate::assets::url("shequ.css"),
            js: crate::assets::url("shequ.js"),
            csrf: ctx.csrf.clone(),
            user_label: ctx
                .user
                .as_ref()
                .map(|u| format!("{}（{}）", u.username, u.role().map_or("", |r| r.label()))),
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

/// An error shown as a page rather than JSON; 401 becomes a trip to the login page.
pub struct PageError {
    pub error: AppError,
    pub prefs: Prefs,
    pub here: String,
}

impl PageError {
    pub fn new(error: impl Into<AppError>, prefs: Prefs) -> Self {
        PageError {
            error: error.into(),
            prefs,
            here: "/".into(),
        }
    }
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError::new(e, Prefs::default())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let AppError::Internal(e) = &self.error {
            tracing::error!(error = ?e, "internal error");
        }
        if matches!(self.error, AppError::Unauthorized) {
            return Redirect::to(&format!("/login?next={}", urlencode(&self.here))).into_response();
        }
        let status = self.error.status();
        let heading = match status {
            StatusCode::NOT_FOUND => "页面不存在",
            StatusCode::FORBIDDEN => "无权查看",
            StatusCode::TOO_MANY_REQUESTS => "操作过于频繁",
            s if s.is_client_error() => "请求有误",
            _ => "系统出错了",
        };
        let ctx = Ctx {
            prefs: self.prefs,
            csrf: String::new(),
            user: None,
            headers: HeaderMap::new(),
            here: "/".into(),
        };
        let page = ErrorPage {
            layout: Layout::new(heading, &ctx, ""),
            status: status.as_u16(),
            heading: heading.into(),
            message: self.error.to_string(),
        };
        (status, page).into_response()
    }
}

/// Percent-encode a path for a query parameter.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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
