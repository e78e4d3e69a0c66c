//! Reading Open311 parameters: query strings, urlencoded and multipart bodies
//! (with their uploaded photos), `attribute[code]` / `attribute[code][]`, W3C
//! datetimes and comma lists. An empty parameter counts as an absent one.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value};

/// Name/value pairs in the order they came.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub fn from_query(q: Option<&str>) -> Params {
        Params::from_urlencoded(q.unwrap_or("").as_bytes())
    }

    pub fn from_urlencoded(body: &[u8]) -> Params {
        Params {
            pairs: form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    pub fn push(&mut self, name: String, value: String) {
        self.pairs.push((name, value));
    }

    /// Add the pairs of `other` after these.
    pub fn extend(&mut self, other: Params) {
        self.pairs.extend(other.pairs);
    }

    /// The first non-empty value of `name`, trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .find(|v| !v.is_empty())
    }

    /// Answers to a service's questions: `attribute[code]=v` is a string (several
    /// of them a list), `attribute[code][]=v` always a list. Empty values are absent.
    pub fn attributes(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for (k, v) in &self.pairs {
            let Some(inner) = k.strip_prefix("attribute[") else {
                continue;
            };
            let (code, many) = match inner.strip_suffix("][]") {
                Some(code) => (code, true),
                None => match inner.strip_suffix(']') {
                    Some(code) => (code, false),
                    None => continue,
                },
            };
            let v = v.trim();
            if code.is_empty() || v.is_empty() {
                continue;
            }
            let value = Value::String(v.to_owned());
            match out.get_mut(code) {
                Some(Value::Array(a)) => a.push(value),
                Some(prev) => {
                    let first = prev.take();
                    *prev = Value::Array(vec![first, value]);
                }
                None if many => {
                    out.insert(code.to_owned(), Value::Array(vec![value]));
                }
                None => {
                    out.insert(code.to_owned(), value);
                }
            }
        }
        out
    }
}

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    Malformed(String),
    UnsupportedType,
}

/// A submitted form: its fields and its uploaded files (photos).
#[derive(Debug, Default)]
pub struct Form {
    pub params: Params,
    pub files: Vec<Vec<u8>>,
}

/// Multipart parts that carry photos: `media`, `media[]`, `photo1`, `photo2`, …
pub fn is_photo_field(name: &str) -> bool {
    matches!(name, "media" | "media[]")
        || name
            .strip_prefix("photo")
            .is_some_and(|n| !n.is_empty() && n.len() <= 2 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Read an urlencoded or multipart body (the request's own size limit applies).
pub async fn read_form(req: Request) -> Result<Form, BodyError> {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ctype.starts_with("multipart/form-data") {
        let mp = Multipart::from_request(req, &())
            .await
            .map_err(|e| BodyError::Malformed(e.body_text()))?;
        return read_multipart(mp).await;
    }
    if !(ctype.is_empty() || ctype.starts_with("application/x-www-form-urlencoded")) {
        return Err(BodyError::UnsupportedType);
    }
    let bytes = axum::body::Bytes::from_request(req, &())
        .await
        .map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                BodyError::TooLarge
            } else {
                BodyError::Malformed(e.body_text())
            }
        })?;
    Ok(Form {
        params: Params::from_urlencoded(&bytes),
        files: Vec::new(),
    })
}

async fn read_multipart(mut mp: Multipart) -> Result<Form, BodyError> {
    let mut form = Form::default();
    let fail = |e: axum::extract::multipart::MultipartError| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            BodyError::TooLarge
        } else {
            BodyError::Malformed(e.body_text())
        }
    };
    while let Some(field) = mp.next_field().await.map_err(fail)? {
        let name = field.name().unwrap_or("").to_owned();
        let is_file = field.file_name().is_some();
        if is_photo_field(&name) {
            let bytes = field.bytes().await.map_err(fail)?;
            // A browser sends an empty part for a file input left blank.
            if !bytes.is_empty() || !is_file {
                form.files.push(bytes.to_vec());
            }
        } else if is_file {
            // Other uploads are not ours to keep; read past them.
            field.bytes().await.map_err(fail)?;
        } else {
            let text = field.text().await.map_err(fail)?;
            form.params.push(name, text);
        }
    }
    Ok(form)
}

/// A W3C datetime (`2025-03-01T08:00:00Z`, `…+08:00`, fractions allowed). A value
/// without a zone is read as UTC, and a bare date as its midnight in UTC.
pub fn datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // A `+` that arrived unencoded in a query string became a space.
    if let Some((head, zone)) = s.rsplit_once(' ')
        && let Ok(t) = DateTime::parse_from_rfc3339(&format!("{head}+{zone}"))
    {
        return Some(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// The non-empty items of a comma list, trimmed.
pub fn list(s: &str) -> Vec<&str> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn attributes_single_repeated_and_lists() {
        let p = Params::from_urlencoded(
            b"attribute%5Bone%5D=a&attribute[many][]=x&attribute[many][]=y&attribute[rep]=1\
              &attribute[rep]=2&attribute[blank]=&attribute[solo][]=z&attribute[bad=1&other=2",
        );
        assert_eq!(
            Value::Object(p.attributes()),
            json!({"one": "a", "many": ["x", "y"], "rep": ["1", "2"], "solo": ["z"]})
        );
    }

    #[test]
    fn empty_counts_as_absent() {
        let p = Params::from_query(Some("status=&status=open&x=%20"));
        assert_eq!(p.get("status"), Some("open"));
        assert_eq!(p.get("x"), None);
        assert_eq!(p.get("y"), None);
    }

    #[test]
    fn datetimes_with_and_without_zone() {
        let t = Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap();
        for s in [
            "2025-03-01T08:00:00Z",
            "2025-03-01T16:00:00+08:00",
            "2025-03-01T16:00:00 08:00",
            "2025-03-01T08:00:00",
            "2025-03-01T08:00:00.000Z",
        ] {
            assert_eq!(datetime(s), Some(t), "{s}");
        }
        assert_eq!(
            datetime("2025-03-01"),
            Some(Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap())
        );
        for bad in ["yesterday", "2025-13-01", "", "2025-03-01T25:00:00Z"] {
            assert_eq!(datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn photo_fields() {
        for ok in ["media", "media[]", "photo1", "photo3", "photo12"] {
            assert!(is_photo_field(ok), "{ok}");
        }
        for no in ["photo", "photos", "photo1a", "mediax", "description"] {
            assert!(!is_photo_field(no), "{no}");
        }
    }

    #[test]
    fn comma_lists() {
        assert_eq!(list(" open, closed ,,"), vec!["open", "closed"]);
        assert!(list("").is_empty());
    }
}
