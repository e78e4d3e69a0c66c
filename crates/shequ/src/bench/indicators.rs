//! `shequ bench indicators`: full recomputation at city scale, the indicator API
//! beside a bare axum handler, and how soon one facility change shows on the city
//! dashboard.

use super::api::{TempFile, bench_key, spawn};
use super::load::{drive, drive_with_header};
use anyhow::{Context, Result};
use axum::Router;
use axum::routing::get;
use shequ_db::Db;
use shequ_db::demo::{self, Scale};
use std::sync::Arc;
use std::time::{Duration, Instant};

const GOAL: f64 = 0.3;

pub async fn run(seconds: u64, connections: usize) -> Result<()> {
    let (db, _tmp) = build().await?;
    let now = chrono::Utc::now();
    let t0 = Instant::now();
    let n = shequ_db::indicators::recompute_all(&db, now).await?;
    let full = t0.elapsed();
    println!("全量重算：{n} 项指标值，用时 {:.2} 秒", full.as_secs_f64());

    let state = shequ_web::AppState::with_system_clock(db.clone(), bench_key()).await?;
    let app = spawn(shequ_web::router(state)).await?;
    let bare = spawn(Router::new().route("/bare", get(|| async { r#"{"ok":true}"# }))).await?;
    let token = token(&db).await?;
    let nodes: Vec<String> = shequ_db::divisions::all(&mut db.conn())
        .await?
        .into_iter()
        .filter(|d| d.code.len() <= 9)
        .map(|d| format!("/api/v1/indicators?division={}", d.code))
        .collect();
    let dur = Duration::from_secs(seconds.max(1));
    let auth = format!("Authorization: Bearer {token}");
    let ceiling = drive(bare, Arc::new(vec!["/bare".into()]), connections, dur).await?;
    let board = drive_with_header(app, Arc::new(nodes), &auth, connections, dur).await?;
    println!("{}", ceiling.line("bare axum（框架上限）"));
    println!("{}", board.line("GET /api/v1/indicators?division="));
    let ratio = board.rps() / ceiling.rps().max(1e-9);
    println!(
        "ratio 指标接口 / 上限 {ratio:.2}（目标 ≥ {GOAL}）{}",
        if ratio >= GOAL { "达标" } else { "未达标" }
    );
    update_latency(&db, app, &token).await
}

/// Over HTTP: a county worker changes one facility's floor area; time until the
/// city's dashboard (another user, another request) shows the new total.
async fn update_latency(db: &Db, app: std::net::SocketAddr, city_token: &str) -> Result<()> {
    let county = token_for(db, "county").await?;
    let village = shequ_db::divisions::all(&mut db.conn())
        .await?
        .into_iter()
        .find(|d| d.level == "village" && d.code.starts_with("430502"))
        .context("没有村（社区）")?;
    let body = |area: f64| {
        format!(
            r#"{{"division":"{}","name":"测速用服务站","floor_area":{area},"status":"in_use","functions":[{{"code":"comprehensive_service"}}]}}"#,
            village.code
        )
    };
    let json = "Content-Type: application/json".to_owned();
    let (status, created) = super::load::request(
        app,
        "POST",
        "/api/v1/facilities",
        &[county_auth(&county), json.clone()],
        &body(100.0),
    )
    .await?;
    anyhow::ensure!(status == 201, "创建设施失败：{status} {created}");
    let id = serde_json::from_str::<serde_json::Value>(&created)?
        .get("id")
        .and_then(serde_json::Value::as_i64)
        .context("设施编号")?;
    let mut samples = Vec::new();
    for i in 1..=20 {
        let before = city_numerator(app, city_token).await?;
        let t = Instant::now();
        let (status, text) = super::load::request(
            app,
            "PUT",
            &format!("/api/v1/facilities/{id}"),
            &[county_auth(&county), json.clone()],
            &body(100.0 + f64::from(i)),
        )
        .await?;
        anyhow::ensure!(status == 200, "修改设施失败：{status} {text}");
        loop {
            if city_numerator(app, city_token).await? != before {
                break;
            }
            anyhow::ensure!(
                t.elapsed() < Duration::from_secs(10),
                "10 秒内市级驾驶舱没有变化"
            );
        }
        samples.push(t.elapsed());
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "单个设施修改到市级驾驶舱可见（HTTP 修改 + 读取）：p50 {:.1} ms，最大 {:.1} ms",
        ms(samples.get(samples.len() / 2).copied().unwrap_or_default()),
        ms(samples.last().copied().unwrap_or_default())
    );
    Ok(())
}

fn county_auth(t: &str) -> String {
    format!("Authorization: Bearer {t}")
}

async fn city_numerator(app: std::net::SocketAddr, token: &str) -> Result<i64> {
    let (_, body) = super::load::request(
        app,
        "GET",
        "/api/v1/indicators?division=430500",
        &[county_auth(token)],
        "",
    )
    .await?;
    let v: serde_json::Value = serde_json::from_str(&body)?;
    v["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|i| i["id"] == "facility_area_per_100_households")
        })
        .and_then(|i| i["numerator"].as_i64())
        .context("没有该指标")
}

async fn token(db: &Db) -> Result<String> {
    token_for(db, "city").await
}

async fn token_for(db: &Db, username: &str) -> Result<String> {
    let secret = format!("st_bench_{username}_{}", std::process::id());
    let user = shequ_db::users::find_by_username(&mut db.conn(), username)
        .await?
        .context("缺少演示账号")?;
    shequ_db::sessions::issue_token(&mut db.conn(), user.id, &secret, chrono::Utc::now()).await?;
    Ok(secret)
}

async fn build() -> Result<(Db, TempFile)> {
    let path = std::env::temp_dir().join(format!("shequ-bench-ind-{}.db", std::process::id()));
    let tmp = TempFile(path.clone());
    let db = crate::cli::open(&format!("sqlite://{}", path.display())).await?;
    let now = chrono::Utc::now();
    let t0 = Instant::now();
    demo::load(&db, Scale::City, 2025, now).await?;
    let hash = shequ_web::auth::hash(demo::users::DEFAULT_PASSWORD)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    demo::users::load(&db, &hash, now).await?;
    let f = demo::facilities::load(&db, 2025, now).await?;
    let w = demo::workforce::load(
        &db,
        2025,
        (now + chrono::Duration::hours(8)).date_naive(),
        now,
    )
    .await?;
    println!(
        "城市演示数据：{f} 处设施、{w} 名社区工作者，用时 {:.1} 秒",
        t0.elapsed().as_secs_f64()
    );
    Ok((db, tmp))
}
