//! Test harness: an isolated, migrated database per test on each backend (SQLite
//! always, PostgreSQL when `SHEQU_TEST_DATABASE_URL` is set), the app wired to it
//! with a fixed clock, and request helpers that go through the full middleware stack.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use chrono::{DateTime, TimeZone, Utc};
use shequ_db::Db;
use shequ_web::AppState;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tower::ServiceExt;

pub const PG_ENV: &str = "SHEQU_TEST_DATABASE_URL";

/// The fixed "now" of every test.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 30, 2, 0, 0).unwrap()
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A migrated database that belongs to one test.
pub struct TestDb {
    pub db: Db,
    pub label: &'static str,
    drop_pg: Option<(String, String)>,
    sqlite_path: Option<std::path::PathBuf>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("shequ-test-{}-{n}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let db = Db::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        TestDb {
            db,
            label: "sqlite",
            drop_pg: None,
            sqlite_path: Some(path),
        }
    }

    /// A fresh database on the PostgreSQL server named by `SHEQU_TEST_DATABASE_URL`.
    pub async fn postgres(admin_url: &str) -> TestDb {
        let admin = Db::connect(admin_url).await.unwrap();
        let Db::Postgres(pool) = &admin else {
            panic!("{PG_ENV} must be a postgres:// URL")
        };
        sweep_old(pool).await;
        let epoch = Utc::now().timestamp();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("shequ_t_{epoch}_{}_{n}", std::process::id());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(pool)
            .await
            .unwrap();
        admin.close().await;
        let url = with_database(admin_url, &name);
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        TestDb {
            db,
            label: "postgres",
            drop_pg: Some((admin_url.to_owned(), name)),
            sqlite_path: None,
        }
    }

    /// Close and remove the database.
    pub async fn cleanup(self) {
        self.db.close().await;
        if let Some((admin_url, name)) = self.drop_pg
            && let Ok(Db::Postgres(pool)) = Db::connect(&admin_url).await
        {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await;
            pool.close().await;
        }
        if let Some(p) = self.sqlite_path {
            for suffix in ["", "-wal", "-shm"] {
                let mut f = p.clone().into_os_string();
                f.push(suffix);
                let _ = std::fs::remove_file(f);
            }
        }
    }
}

/// Drop test databases left behind (by a failed test) more than an hour ago.
async fn sweep_old(pool: &sqlx::PgPool) {
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname::text FROM pg_database WHERE datname LIKE 'shequ\\_t\\_%'")
            .fetch_all(pool)
            .await
            .unwrap_or_default();
    let cutoff = Utc::now().timestamp() - 3600;
    for (name,) in names {
        let epoch: i64 = name
            .split('_')
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(i64::MAX);
        if epoch < cutoff && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(pool)
            .await;
        }
    }
}

/// The same URL with another database name.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// The backends this run tests: SQLite, and PostgreSQL when configured.
pub fn backends() -> Vec<&'static str> {
    let mut v = vec!["sqlite"];
    if std::env::var(PG_ENV).is_ok_and(|u| !u.is_empty()) {
        v.push("postgres");
    }
    v
}

pub async fn open(backend: &str) -> TestDb {
    match backend {
        "postgres" => TestDb::postgres(&std::env::var(PG_ENV).unwrap()).await,
        _ => TestDb::sqlite().await,
    }
}

/// Run `f` once per backend, each time on a fresh database that is removed afterwards.
pub async fn on_each_backend<F, Fut>(f: F)
where
    F: Fn(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    for b in backends() {
        let t = open(b).await;
        f(t.db.clone()).await;
        t.cleanup().await;
    }
}

/// Load the small demo (one district) with a fixed seed.
pub async fn small_demo(db: &Db) {
    shequ_db::demo::load(db, shequ_db::demo::Scale::Small, 7, now())
        .await
        .unwrap();
}

/// The data-encryption key of every test.
pub fn key() -> shequ_core::Protector {
    shequ_core::Protector::new(&[42u8; 32])
}

/// The password of every test login.
pub const PASSWORD: &str = "Test@2025pw";

/// One Argon2id hash of [`PASSWORD`], computed once per test process.
pub fn password_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| shequ_core::password::hash_password(PASSWORD, &[9u8; 16]).unwrap())
        .clone()
}

/// The demo logins (admin, security, auditor, city, county, township, community, grid, …).
pub async fn demo_users(db: &Db) {
    shequ_db::demo::users::load(db, &password_hash(), now())
        .await
        .unwrap();
}

/// The small demo with its logins and `people` residents.
pub async fn small_demo_with_people(db: &Db, people: usize) {
    small_demo(db).await;
    demo_users(db).await;
    shequ_db::demo::people::load(db, &key(), 7, people, now())
        .await
        .unwrap();
}

/// A bearer token for a login (password [`PASSWORD`]).
pub async fn token(app: &Router, username: &str) -> String {
    let r = json(
        app,
        "POST",
        "/api/v1/auth/token",
        None,
        serde_json::json!({"username": username, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "login {username}: {}", r.text());
    r.json()["token"].as_str().unwrap().to_owned()
}

/// A browser: its cookies (CSRF, session) carried from response to request.
pub struct Browser {
    pub app: Router,
    pub cookies: std::collections::BTreeMap<String, String>,
}

impl Browser {
    pub fn new(app: &Router) -> Browser {
        Browser {
            app: app.clone(),
            cookies: Default::default(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, r: &Reply) {
        for v in r.headers.get_all("set-cookie") {
            let first = v.to_str().unwrap().split(';').next().unwrap();
            if let Some((k, val)) = first.split_once('=') {
                if val.is_empty() {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), val.to_owned());
                }
            }
        }
    }

    pub async fn get(&mut self, uri: &str) -> Reply {
        let req = Request::get(uri)
            .header("cookie", self.cookie_header())
            .body(Body::empty())
            .unwrap();
        let r = send(&self.app, req).await;
        self.keep(&r);
        r
    }

    /// Post a form; `csrf` is added from the cookie unless the fields carry one.
    pub async fn post(&mut self, uri: &str, fields: &[(&str, &str)]) -> Reply {
        if !self.cookies.contains_key("shequ_csrf") {
            self.get("/").await;
        }
        let csrf = self.cookies.get("shequ_csrf").cloned().unwrap_or_default();
        let mut pairs: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if !fields.iter().any(|(k, _)| *k == "csrf") {
            pairs.push(("csrf".into(), csrf));
        }
        let body = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let req = Request::post(uri)
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let r = send(&self.app, req).await;
        self.keep(&r);
        r
    }

    /// Sign in through the login page.
    pub async fn login(&mut self, username: &str) -> Reply {
        let r = self
            .post(
                "/login",
                &[
                    ("username", username),
                    ("password", PASSWORD),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "login {username}: {}",
            r.text()
        );
        r
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The app over `db`, with the fixed clock.
pub async fn app(db: &Db) -> (AppState, Router) {
    let state = AppState::new(db.clone(), Arc::new(now), key())
        .await
        .unwrap();
    let router = shequ_web::router(state.clone());
    (state, router)
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The stable error code of an API error.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
}

pub async fn send(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn get(app: &Router, uri: &str) -> Reply {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// A request with a body, a content type and an optional bearer token.
pub async fn with_body(
    app: &Router,
    method: &str,
    uri: &str,
    ctype: &str,
    token: Option<&str>,
    body: impl Into<Body>,
) -> Reply {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", ctype);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    send(app, b.body(body.into()).unwrap()).await
}

pub async fn json(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: serde_json::Value,
) -> Reply {
    with_body(
        app,
        method,
        uri,
        "application/json",
        token,
        body.to_string(),
    )
    .await
}

/// Create an integration key for `division` and return it.
pub async fn api_key(db: &Db, division: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let key = format!("sq_test_{division}_{n}");
    let code = shequ_core::DivisionCode::parse(division).unwrap();
    shequ_db::api_keys::create(&mut db.conn(), "测试密钥", &key, &code, now())
        .await
        .unwrap();
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
