//! Open311 responses: one value tree written either as XML or as JSON (the JSON
//! being the mechanical mapping of the XML: collections become bare arrays), and
//! the spec's error list with its status rule (404 missing, 403 key, 400 the rest).

use super::xml;
use crate::AppError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use shequ_core::FieldErrors;

/// The format a path asks for with its suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fmt {
    Json,
    Xml,
}

impl Fmt {
    fn content_type(self) -> &'static str {
        match self {
            Fmt::Json => "application/json; charset=utf-8",
            Fmt::Xml => "text/xml; charset=utf-8",
        }
    }
}

/// `name.json` / `name.xml` → (`name`, format). The stem may itself contain dots
/// (service codes do); only the last one separates the suffix.
pub fn split_file(file: &str) -> Option<(&str, Fmt)> {
    let (stem, ext) = file.rsplit_once('.')?;
    let fmt = match ext {
        "json" => Fmt::Json,
        "xml" => Fmt::Xml,
        _ => return None,
    };
    (!stem.is_empty()).then_some((stem, fmt))
}

/// The format to answer an error in when the path itself is wrong: XML (the
/// format every Open311 server must speak) unless the path ends in `.json`.
pub fn guess(path: &str) -> Fmt {
    if path.ends_with(".json") {
        Fmt::Json
    } else {
        Fmt::Xml
    }
}

/// A value of a response.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Absent: `null` in JSON, no element in XML.
    Null,
    Bool(bool),
    Int(i64),
    /// Always written with a decimal point (`27.0`, never `27`).
    Float(f64),
    Text(String),
    /// A collection: a JSON array; in XML a wrapper whose items are `<item>`.
    List(&'static str, Vec<Node>),
    /// Named fields, in order.
    Obj(Vec<(&'static str, Node)>),
}

impl Node {
    pub fn text(s: impl Into<String>) -> Node {
        Node::Text(s.into())
    }

    /// Text, or absent when empty.
    pub fn opt_text(s: Option<impl Into<String>>) -> Node {
        match s.map(Into::into) {
            Some(s) if !s.is_empty() => Node::Text(s),
            _ => Node::Null,
        }
    }

    /// A W3C datetime in UTC with `Z` and no fraction, or absent.
    pub fn time(t: Option<DateTime<Utc>>) -> Node {
        t.map_or(Node::Null, |t| Node::Text(w3c(t)))
    }

    pub fn float(v: Option<f64>) -> Node {
        match v {
            Some(v) if v.is_finite() => Node::Float(v),
            _ => Node::Null,
        }
    }

    fn json(&self, out: &mut String) {
        match self {
            Node::Null => out.push_str("null"),
            Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Node::Int(i) => out.push_str(&i.to_string()),
            Node::Float(f) => out.push_str(&decimal(*f)),
            Node::Text(s) => out.push_str(&json_string(s)),
            Node::List(_, items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.json(out);
                }
                out.push(']');
            }
            Node::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&json_string(k));
                    out.push(':');
                    v.json(out);
                }
                out.push('}');
            }
        }
    }

    fn xml(&self, name: &'static str, w: &mut xml::Writer) {
        match self {
            Node::Null => {}
            Node::Bool(b) => w.text(name, if *b { "true" } else { "false" }),
            Node::Int(i) => w.text(name, &i.to_string()),
            Node::Float(f) => w.text(name, &decimal(*f)),
            Node::Text(s) => w.text(name, s),
            Node::List(item, items) => {
                w.start(name);
                for it in items {
                    it.xml(item, w);
                }
                w.end();
            }
            Node::Obj(fields) => {
                w.start(name);
                for (k, v) in fields {
                    v.xml(k, w);
                }
                w.end();
            }
        }
    }
}

/// `2025-03-01T08:00:00Z`.
pub fn w3c(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A float as JSON writes it, with a decimal point even for whole numbers.
fn decimal(f: f64) -> String {
    let s = serde_json::Number::from_f64(f).map_or_else(|| "0.0".to_owned(), |n| n.to_string());
    if s.contains(['.', 'e', 'E']) {
        s
    } else {
        format!("{s}.0")
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// The body of a document whose root element is `root`.
pub fn render_body(fmt: Fmt, root: &'static str, node: &Node) -> String {
    match fmt {
        Fmt::Json => {
            let mut s = String::with_capacity(1024);
            node.json(&mut s);
            s
        }
        Fmt::Xml => {
            let mut w = xml::Writer::new();
            node.xml(root, &mut w);
            w.finish()
        }
    }
}

/// A complete response with the right content type.
pub fn render(fmt: Fmt, status: StatusCode, root: &'static str, node: &Node) -> Response {
    let mut res = (status, render_body(fmt, root, node)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(fmt.content_type()),
    );
    res
}

/// An Open311 error answer: an HTTP status and one or more `{code, description}`.
#[derive(Debug)]
pub struct Failure {
    pub fmt: Fmt,
    pub status: StatusCode,
    /// (code in the body, description).
    pub errors: Vec<(u16, String)>,
}

impl Failure {
    pub fn new(fmt: Fmt, status: StatusCode, description: impl Into<String>) -> Failure {
        Failure {
            fmt,
            status,
            errors: vec![(status.as_u16(), description.into())],
        }
    }

    pub fn bad(fmt: Fmt, description: impl Into<String>) -> Failure {
        Failure::new(fmt, StatusCode::BAD_REQUEST, description)
    }

    pub fn not_found(fmt: Fmt, description: impl Into<String>) -> Failure {
        Failure::new(fmt, StatusCode::NOT_FOUND, description)
    }

    pub fn forbidden(fmt: Fmt, description: impl Into<String>) -> Failure {
        Failure::new(fmt, StatusCode::FORBIDDEN, description)
    }

    /// 400 with one entry per field error, each description led by the field name
    /// as Open311 calls it.
    pub fn fields(fmt: Fmt, errs: &FieldErrors) -> Failure {
        let errors = errs
            .0
            .iter()
            .map(|e| (400, format!("{}：{}", open311_field(&e.field), e.message)))
            .collect::<Vec<_>>();
        if errors.is_empty() {
            return Failure::bad(fmt, "提交的内容未通过校验");
        }
        Failure {
            fmt,
            status: StatusCode::BAD_REQUEST,
            errors,
        }
    }

    /// An application error in Open311 terms. Only 404 and 403 keep their status;
    /// everything else is a 400 whose body code says more.
    pub fn from_app(fmt: Fmt, e: AppError) -> Failure {
        match e {
            AppError::Validation(f) => Failure::fields(fmt, &f),
            AppError::NotFound(m) => Failure::not_found(fmt, m),
            AppError::Forbidden | AppError::Unauthorized => {
                Failure::forbidden(fmt, "api_key：无权执行该操作")
            }
            AppError::Internal(err) => {
                tracing::error!(error = ?err, "open311 internal error");
                Failure::coded(fmt, 500, "服务暂时不可用，请稍后再试")
            }
            other => Failure::coded(fmt, other.status().as_u16(), other.to_string()),
        }
    }

    /// A 400 whose body carries a more specific code.
    pub fn coded(fmt: Fmt, code: u16, description: impl Into<String>) -> Failure {
        Failure {
            fmt,
            status: StatusCode::BAD_REQUEST,
            errors: vec![(code, description.into())],
        }
    }
}

/// Our internal field names as the Open311 client sent them.
fn open311_field(field: &str) -> &str {
    match field {
        "category" => "service_code",
        "lon" => "long",
        "location" => "lat",
        "division" => "division_code",
        "reporter_phone" => "phone",
        "reporter_name" => "first_name",
        "address" => "address_string",
        "photo" => "media",
        other => other,
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let items = self
            .errors
            .into_iter()
            .map(|(code, d)| {
                Node::Obj(vec![
                    ("code", Node::Int(i64::from(code))),
                    ("description", Node::Text(d)),
                ])
            })
            .collect();
        render(self.fmt, self.status, "errors", &Node::List("error", items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn suffixes_pick_the_format() {
        assert_eq!(
            split_file("facilities.streetlight.json"),
            Some(("facilities.streetlight", Fmt::Json))
        );
        assert_eq!(split_file("services.xml"), Some(("services", Fmt::Xml)));
        for bad in ["services", "services.html", ".json", "services.JSON", ""] {
            assert_eq!(split_file(bad), None, "{bad}");
        }
    }

    #[test]
    fn one_tree_two_formats() {
        let node = Node::List(
            "request",
            vec![Node::Obj(vec![
                ("service_request_id", Node::text("7")),
                ("lat", Node::Float(27.0)),
                ("long", Node::Float(111.4675)),
                ("zipcode", Node::Null),
                ("metadata", Node::Bool(true)),
                ("description", Node::text("<b>&\"")),
                (
                    "requested_datetime",
                    Node::time(Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).single()),
                ),
            ])],
        );
        assert_eq!(
            render_body(Fmt::Json, "service_requests", &node),
            r#"[{"service_request_id":"7","lat":27.0,"long":111.4675,"zipcode":null,"metadata":true,"description":"<b>&\"","requested_datetime":"2025-03-01T08:00:00Z"}]"#
        );
        assert_eq!(
            render_body(Fmt::Xml, "service_requests", &node),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_requests><request>\
             <service_request_id>7</service_request_id><lat>27.0</lat><long>111.4675</long>\
             <metadata>true</metadata><description>&lt;b&gt;&amp;&quot;</description>\
             <requested_datetime>2025-03-01T08:00:00Z</requested_datetime></request>\
             </service_requests>\n"
        );
    }

    #[test]
    fn decimals_always_have_a_point() {
        assert_eq!(decimal(40.0), "40.0");
        assert_eq!(decimal(-0.5), "-0.5");
        assert_eq!(decimal(111.123456), "111.123456");
    }

    #[test]
    fn field_errors_are_named_as_open311_names_them() {
        let mut e = FieldErrors::new();
        e.add("category", "unknown_category", "请选择有效的诉求类别");
        e.add("attribute[lamp_state]", "required", "请填写：路灯状况");
        let f = Failure::fields(Fmt::Json, &e);
        assert_eq!(f.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            f.errors,
            vec![
                (400, "service_code：请选择有效的诉求类别".to_owned()),
                (400, "attribute[lamp_state]：请填写：路灯状况".to_owned()),
            ]
        );
    }
}
