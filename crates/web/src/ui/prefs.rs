//! Display preferences (large text, high contrast), kept in a cookie so they work
//! without JavaScript and without signing in.

use axum::Form;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

pub const COOKIE: &str = "shequ_prefs";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prefs {
    pub large: bool,
    pub contrast: bool,
}

impl Prefs {
    pub fn parse_cookie_header(h: &str) -> Prefs {
        let mut p = Prefs::default();
        for part in h.split(';') {
            if let Some(v) = part
                .trim()
                .strip_prefix(COOKIE)
                .and_then(|r| r.strip_prefix('='))
            {
                for flag in v.split('.') {
                    match flag {
                        "large" => p.large = true,
                        "contrast" => p.contrast = true,
                        _ => {}
                    }
                }
            }
        }
        p
    }

    fn cookie_value(self) -> String {
        let flags: Vec<&str> = [(self.large, "large"), (self.contrast, "contrast")]
            .into_iter()
            .filter_map(|(on, f)| on.then_some(f))
            .collect();
        let v = if flags.is_empty() {
            "none".to_owned()
        } else {
            flags.join(".")
        };
        format!("{COOKIE}={v}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly")
    }
}

impl Prefs {
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Prefs {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(Prefs::parse_cookie_header)
            .fold(Prefs::default(), |a, b| Prefs {
                large: a.large || b.large,
                contrast: a.contrast || b.contrast,
            })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Prefs {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Prefs::from_headers(&parts.headers))
    }
}

#[derive(Debug, Deserialize)]
pub struct Toggle {
    /// `large` or `contrast`.
    pub toggle: String,
    /// Where to go back to; only local paths are followed.
    #[serde(default)]
    pub back: String,
    #[serde(default)]
    pub csrf: String,
}

/// Flip one preference and return to the page the button was on.
pub async fn toggle(
    headers: axum::http::HeaderMap,
    prefs: Prefs,
    Form(t): Form<Toggle>,
) -> Response {
    if let Err(e) = crate::auth::check_csrf(&headers, &t.csrf) {
        return super::PageError::new(e, prefs).into_response();
    }
    let mut p = prefs;
    match t.toggle.as_str() {
        "large" => p.large = !p.large,
        "contrast" => p.contrast = !p.contrast,
        _ => {}
    }
    let back = safe_back(&t.back);
    let mut res = Redirect::to(back).into_response();
    if let Ok(v) = HeaderValue::from_str(&p.cookie_value()) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// A same-site path: starts with one `/`, no scheme or host, no control characters.
pub fn safe_back(s: &str) -> &str {
    let ok = s.starts_with('/')
        && !s.starts_with("//")
        && !s.contains('\\')
        && !s.chars().any(char::is_control)
        && s.len() < 512;
    if ok { s } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_round_trip() {
        let p = Prefs {
            large: true,
            contrast: false,
        };
        let v = p.cookie_value();
        let pair = v.split(';').next().unwrap();
        assert_eq!(Prefs::parse_cookie_header(&format!("a=b; {pair}")), p);
        assert_eq!(
            Prefs::parse_cookie_header("shequ_prefs=none"),
            Prefs::default()
        );
    }

    #[test]
    fn back_is_local_only() {
        assert_eq!(safe_back("/divisions/430502"), "/divisions/430502");
        assert_eq!(safe_back("//evil.example/"), "/");
        assert_eq!(safe_back("https://evil.example/"), "/");
        assert_eq!(safe_back("/\\evil"), "/");
    }
}
