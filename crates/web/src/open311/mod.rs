//! Open311 GeoReport v2 under `/open311/v2/`: discovery, the service list (our
//! leaf categories, grouped by their parents), service definitions (a category's
//! extra questions), submitting requests (work orders through the shared intake,
//! with an integration key as `api_key`), reading requests back without any
//! personal data, and tokens. Every endpoint answers `.xml` and `.json`; every
//! error is the spec's error list.

pub mod format;
pub mod params;
pub mod requests;
pub mod xml;

use crate::AppState;
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use format::{Failure, Fmt, Node};
use params::Params;
use shequ_db::workorders::{self, Category, attributes};

/// Where the endpoints live, below the server's origin.
pub const BASE_PATH: &str = "/open311/v2";
/// When this interface last changed (the discovery `changeset`).
pub const CHANGESET: &str = "2025-06-01T00:00:00Z";
/// Largest request body: three photos of at most 5 MB each, plus the fields.
pub const POST_LIMIT: usize = 16 * 1024 * 1024;
/// Groups (parent categories) whose requests concern a person's own situation:
/// listed publicly without description, street address or coordinates.
pub const PRIVATE_GROUPS: [&str; 2] = ["social", "dispute"];

/// The Open311 routes; merged into the application router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/open311/v2/{file}",
            get(top_get)
                .post(top_post)
                .fallback(bad_method)
                .layer(DefaultBodyLimit::max(POST_LIMIT)),
        )
        .route(
            "/open311/v2/services/{file}",
            get(definition).fallback(bad_method),
        )
        .route(
            "/open311/v2/service/{file}",
            get(definition).fallback(bad_method),
        )
        .route(
            "/open311/v2/requests/{file}",
            get(requests::one).fallback(bad_method),
        )
        .route(
            "/open311/v2/tokens/{file}",
            get(requests::token).fallback(bad_method),
        )
        .route("/open311", any(missing))
        .route("/open311/{*rest}", any(missing))
}

/// The file name of a path segment and its format, or a 404 in the spec's form.
fn file(path: Result<Path<String>, PathRejection>, uri: &Uri) -> Result<(String, Fmt), Failure> {
    let missing = || Failure::not_found(format::guess(uri.path()), "接口不存在");
    let Path(file) = path.map_err(|_| missing())?;
    let (stem, fmt) = format::split_file(&file).ok_or_else(missing)?;
    Ok((stem.to_owned(), fmt))
}

async fn top_get(
    State(st): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (stem, fmt) = match file(path, &uri) {
        Ok(x) => x,
        Err(f) => return f.into_response(),
    };
    let q = Params::from_query(uri.query());
    let res = match stem.as_str() {
        "discovery" => Ok(discovery(&st, fmt, &headers)),
        "services" => services(&st, fmt).await,
        "service_definition" => match q.get("service_code") {
            Some(code) => service_definition(&st, fmt, code).await,
            None => Err(Failure::bad(fmt, "service_code：请提供服务代码")),
        },
        "requests" => requests::list(&st, fmt, &q).await,
        _ => Err(Failure::not_found(fmt, "接口不存在")),
    };
    res.unwrap_or_else(IntoResponse::into_response)
}

async fn top_post(
    State(st): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    req: Request,
) -> Response {
    let res = match file(path, &uri) {
        Ok((stem, fmt)) if stem == "requests" => {
            requests::create(&st, fmt, &headers, uri.query(), req).await
        }
        Ok((_, fmt)) => Err(Failure::coded(fmt, 405, "该接口只接受 GET 请求")),
        Err(f) => Err(f),
    };
    res.unwrap_or_else(IntoResponse::into_response)
}

async fn definition(
    State(st): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
) -> Response {
    let res = match file(path, &uri) {
        Ok((code, fmt)) => service_definition(&st, fmt, &code).await,
        Err(f) => Err(f),
    };
    res.unwrap_or_else(IntoResponse::into_response)
}

async fn missing(uri: Uri) -> Response {
    Failure::not_found(format::guess(uri.path()), "接口不存在").into_response()
}

async fn bad_method(uri: Uri) -> Response {
    Failure::coded(format::guess(uri.path()), 405, "不支持该请求方法").into_response()
}

/// `http(s)://host/open311/v2`, from the request's Host and X-Forwarded-Proto.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        })
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let scheme = if proto.as_deref() == Some("https") {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}{BASE_PATH}")
}

fn discovery(st: &AppState, fmt: Fmt, headers: &HeaderMap) -> Response {
    let city = st
        .tree
        .get()
        .root()
        .map(|d| d.name.clone())
        .unwrap_or_default();
    let endpoint = Node::Obj(vec![
        (
            "specification",
            Node::text("http://wiki.open311.org/GeoReport_v2"),
        ),
        ("url", Node::text(base_url(headers))),
        ("changeset", Node::text(CHANGESET)),
        ("type", Node::text("production")),
        (
            "formats",
            Node::List(
                "format",
                vec![Node::text("text/xml"), Node::text("application/json")],
            ),
        ),
    ]);
    let node = Node::Obj(vec![
        ("changeset", Node::text(CHANGESET)),
        (
            "contact",
            Node::text(format!("{city}社区服务平台管理员（接诉即办）")),
        ),
        (
            "key_service",
            Node::text("提交诉求需要接口密钥（api_key），请向平台管理员申请"),
        ),
        ("endpoints", Node::List("endpoint", vec![endpoint])),
    ]);
    format::render(fmt, StatusCode::OK, "discovery", &node)
}

/// The groups and the services (active leaves whose group is active).
pub(crate) fn services_of(cats: &[Category]) -> Vec<(&Category, &Category)> {
    cats.iter()
        .filter(|c| c.active)
        .filter_map(|c| {
            let parent = c.parent_code.as_deref()?;
            let group = cats.iter().find(|g| g.code == parent && g.active)?;
            Some((c, group))
        })
        .collect()
}

/// Whether a category's requests are listed without their personal details.
pub fn is_private(code: &str) -> bool {
    let group = code.split('.').next().unwrap_or(code);
    PRIVATE_GROUPS.contains(&group)
}

fn limit_text(days: i32) -> String {
    if days <= 0 {
        "当天办结".to_owned()
    } else {
        format!("一般 {days} 个工作日内办结")
    }
}

async fn services(st: &AppState, fmt: Fmt) -> Result<Response, Failure> {
    let fail = |e: shequ_db::DbError| Failure::from_app(fmt, e.into());
    let mut c = st.db.conn();
    let cats = workorders::categories(&mut c).await.map_err(fail)?;
    let mut items = Vec::new();
    for (cat, group) in services_of(&cats) {
        let has_questions = !attributes::of_category(&mut c, &cat.code)
            .await
            .map_err(fail)?
            .is_empty();
        let mut keywords = vec![group.name.as_str(), cat.name.as_str()];
        if is_private(&cat.code) {
            keywords.push("private");
        }
        items.push(Node::Obj(vec![
            ("service_code", Node::text(&cat.code)),
            ("service_name", Node::text(&cat.name)),
            (
                "description",
                Node::text(format!(
                    "{}（{}），{}",
                    cat.name,
                    group.name,
                    limit_text(cat.resolve_days)
                )),
            ),
            ("metadata", Node::Bool(has_questions)),
            ("type", Node::text("realtime")),
            ("keywords", Node::text(keywords.join(","))),
            ("group", Node::text(&group.name)),
        ]));
    }
    Ok(format::render(
        fmt,
        StatusCode::OK,
        "services",
        &Node::List("service", items),
    ))
}

/// The active service with this code, or a 404.
pub(crate) async fn find_service(
    st: &AppState,
    fmt: Fmt,
    code: &str,
) -> Result<(Category, Category), Failure> {
    let cats = workorders::categories(&mut st.db.conn())
        .await
        .map_err(|e| Failure::from_app(fmt, e.into()))?;
    services_of(&cats)
        .into_iter()
        .find(|(c, _)| c.code == code)
        .map(|(c, g)| (c.clone(), g.clone()))
        .ok_or_else(|| {
            Failure::not_found(
                fmt,
                format!("service_code：没有代码为“{}”的服务", clip(code, 40)),
            )
        })
}

async fn service_definition(st: &AppState, fmt: Fmt, code: &str) -> Result<Response, Failure> {
    let (cat, _) = find_service(st, fmt, code).await?;
    let attrs = attributes::of_category(&mut st.db.conn(), &cat.code)
        .await
        .map_err(|e| Failure::from_app(fmt, e.into()))?;
    let items = attrs
        .iter()
        .map(|a| {
            let values = a
                .choice_list()
                .into_iter()
                .map(|c| {
                    Node::Obj(vec![
                        ("key", Node::Text(c.key)),
                        ("name", Node::Text(c.name)),
                    ])
                })
                .collect();
            Node::Obj(vec![
                ("variable", Node::Bool(true)),
                ("code", Node::text(&a.code)),
                ("datatype", Node::text(&a.datatype)),
                ("required", Node::Bool(a.required)),
                ("datatype_description", Node::text(&a.datatype_description)),
                ("order", Node::Int(i64::from(a.position))),
                ("description", Node::text(&a.description)),
                ("values", Node::List("value", values)),
            ])
        })
        .collect();
    let node = Node::Obj(vec![
        ("service_code", Node::text(&cat.code)),
        ("attributes", Node::List("attribute", items)),
    ]);
    Ok(format::render(
        fmt,
        StatusCode::OK,
        "service_definition",
        &node,
    ))
}

/// At most `n` characters of `s`, for echoing input in messages.
pub(crate) fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}
