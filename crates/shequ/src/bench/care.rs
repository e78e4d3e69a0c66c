//! `shequ bench care`: at city scale (or one district with `--scale small`),
//! generating the whole roster's visit plan for a month, then the monthly
//! visit-rate dashboard API under load beside a bare axum handler.

use super::api::{TempFile, bench_key, spawn};
use super::load::{drive, drive_with_header};
use crate::cli::ScaleArg;
use anyhow::{Context, Result};
use axum::Router;
use axum::routing::get;
use shequ_core::Role;
use shequ_core::care::{Month, local_date};
use shequ_db::Db;
use shequ_db::demo::{self, Scale};
use shequ_db::scope::{Actor, Scope};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The dashboard should serve at least this share of the bare framework's rate.
const GOAL: f64 = 0.3;

pub struct Options {
    pub seconds: u64,
    pub connections: usize,
    pub db: Option<String>,
    pub scale: ScaleArg,
    pub people: Option<usize>,
}

pub async fn run(o: Options) -> Result<()> {
    let scale = match o.scale {
        ScaleArg::Small => Scale::Small,
        ScaleArg::City => Scale::City,
    };
    let (db, _tmp) = open_or_build(o.db, scale, o.people).await?;
    let now = chrono::Utc::now();
    let root = shequ_db::divisions::roots(&mut db.conn())
        .await?
        .into_iter()
        .find_map(|d| shequ_core::DivisionCode::parse(&d.code).ok())
        .context("数据库中没有区划")?;
    let scope = Scope::new(root.clone(), Role::CityStaff, Actor::system());
    let roster = shequ_db::care::roster_count(&mut db.conn(), &scope).await?;
    let visits = shequ_db::care::visit_count(&mut db.conn(), &scope).await?;
    println!("探访关爱名册 {roster} 人，探访记录 {visits} 条");

    // The whole roster's plan for next month (nothing written yet), then again.
    let month = Month::of(local_date(now)).next();
    let t0 = Instant::now();
    let mut tx = db.begin().await?;
    let plan = shequ_db::care::generate_plan(&mut tx.conn(), &scope, month, now).await?;
    tx.commit().await?;
    let first = t0.elapsed();
    let t1 = Instant::now();
    let mut tx = db.begin().await?;
    let again = shequ_db::care::generate_plan(&mut tx.conn(), &scope, month, now).await?;
    tx.commit().await?;
    let second = t1.elapsed();
    println!(
        "全市 {} 月探访计划：{} 名对象，{} 次应探访，写入 {} 行，用时 {:.2} 秒（{:.0} 行/秒）",
        plan.month,
        plan.subjects,
        plan.due,
        plan.inserted,
        first.as_secs_f64(),
        plan.due as f64 / first.as_secs_f64().max(1e-9)
    );
    println!(
        "再次生成（幂等，新写入 {} 行）：用时 {:.2} 秒",
        again.inserted,
        second.as_secs_f64()
    );

    let state = shequ_web::AppState::with_system_clock(db.clone(), bench_key()).await?;
    let app = spawn(shequ_web::router(state)).await?;
    let bare = spawn(Router::new().route("/bare", get(|| async { r#"{"ok":true}"# }))).await?;
    let token = token_for(&db, "city").await?;
    let nodes: Vec<String> = shequ_db::divisions::all(&mut db.conn())
        .await?
        .into_iter()
        .filter(|d| d.code.len() <= 9)
        .map(|d| format!("/api/v1/care/rates?division={}", d.code))
        .collect();
    let (status, body) = super::load::request(
        app,
        "GET",
        &format!("/api/v1/care/rates?division={root}"),
        &[format!("Authorization: Bearer {token}")],
        "",
    )
    .await?;
    anyhow::ensure!(status == 200, "探访率接口失败：{status} {body}");
    let v: serde_json::Value = serde_json::from_str(&body)?;
    println!(
        "本月全市探访率：{} / {} = {}%",
        v["total"]["visited"],
        v["total"]["roster"],
        v["total"]["rate"]
            .as_f64()
            .map_or_else(|| "—".to_owned(), |r| format!("{r:.1}"))
    );
    let dur = Duration::from_secs(o.seconds.max(1));
    let auth = format!("Authorization: Bearer {token}");
    let division_paths: Vec<String> = nodes
        .iter()
        .filter_map(|p| p.rsplit('=').next())
        .map(|c| format!("/api/v1/divisions/{c}"))
        .collect();
    let ceiling = drive(bare, Arc::new(vec!["/bare".into()]), o.connections, dur).await?;
    let peer = drive_with_header(app, Arc::new(division_paths), &auth, o.connections, dur).await?;
    let board = drive_with_header(app, Arc::new(nodes), &auth, o.connections, dur).await?;
    println!("{}", ceiling.line("bare axum（框架上限）"));
    println!("{}", peer.line("GET /api/v1/divisions/{code}（同栈参照）"));
    println!("{}", board.line("GET /api/v1/care/rates?division="));
    let ratio = board.rps() / ceiling.rps().max(1e-9);
    println!(
        "ratio 探访率接口 / 上限 {ratio:.2}（目标 ≥ {GOAL}）{}",
        if ratio >= GOAL { "达标" } else { "未达标" }
    );
    Ok(())
}

async fn token_for(db: &Db, username: &str) -> Result<String> {
    let secret = format!("st_bench_care_{username}_{}", std::process::id());
    let user = shequ_db::users::find_by_username(&mut db.conn(), username)
        .await?
        .context("缺少演示账号")?;
    shequ_db::sessions::issue_token(&mut db.conn(), user.id, &secret, chrono::Utc::now()).await?;
    Ok(secret)
}

/// The given database (the demo is loaded first when it is empty, and the care demo
/// when it has no roster), or a fresh temporary SQLite file.
async fn open_or_build(
    url: Option<String>,
    scale: Scale,
    people: Option<usize>,
) -> Result<(Db, Option<TempFile>)> {
    let (db, tmp) = match url {
        Some(url) => (crate::cli::open(&url).await?, None),
        None => {
            let path =
                std::env::temp_dir().join(format!("shequ-bench-care-{}.db", std::process::id()));
            let tmp = TempFile(path.clone());
            let db = crate::cli::open(&format!("sqlite://{}", path.display())).await?;
            (db, Some(tmp))
        }
    };
    let now = chrono::Utc::now();
    let key = bench_key();
    if shequ_db::divisions::roots(&mut db.conn()).await?.is_empty() {
        let t0 = Instant::now();
        demo::load(&db, scale, 2025, now).await?;
        let hash = shequ_web::auth::hash(demo::users::DEFAULT_PASSWORD)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        demo::users::load(&db, &hash, now).await?;
        let n = people.unwrap_or(match scale {
            Scale::Small => 5_000,
            Scale::City => 500_000,
        });
        let made = demo::people::load(&db, &key, 2025, n, now).await?;
        println!(
            "演示区划与 {made} 名居民，用时 {:.1} 秒",
            t0.elapsed().as_secs_f64()
        );
    }
    let city = Scope::new(
        shequ_core::DivisionCode::parse("430500").context("市级代码")?,
        Role::CityStaff,
        Actor::system(),
    );
    if shequ_db::care::roster_count(&mut db.conn(), &city).await? == 0 {
        let t0 = Instant::now();
        let s = demo::care::load(&db, &key, 2025, now).await?;
        println!(
            "探访关爱演示：{} 名对象（高风险 {}），{} 条探访记录（{} 个月），用时 {:.1} 秒",
            s.subjects,
            s.high,
            s.visits,
            s.months,
            t0.elapsed().as_secs_f64()
        );
    }
    Ok((db, tmp))
}
