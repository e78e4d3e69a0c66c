//! `shequ bench api`: the division API against a bare axum handler, same process,
//! same connections, same duration.

use super::load::{LoadResult, drive};
use anyhow::{Context, Result};
use axum::Router;
use axum::routing::get;
use shequ_db::Db;
use shequ_db::demo::{self, Scale};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

const GOAL: f64 = 0.35;

/// A fixed key: benchmark databases are temporary and hold generated data only.
pub fn bench_key() -> shequ_core::Protector {
    shequ_core::Protector::new(&[7u8; 32])
}

pub async fn run(seconds: u64, connections: usize, db: Option<String>) -> Result<()> {
    let (db, _tmp) = open_or_build(db).await?;
    let state = shequ_web::AppState::with_system_clock(db.clone(), bench_key()).await?;
    let tree = state.tree.get();
    let app_addr = spawn(shequ_web::router(state.clone())).await?;
    let bare_addr = spawn(Router::new().route("/bare", get(|| async { r#"{"ok":true}"# }))).await?;

    let codes = sample_codes(&db).await?;
    let one: Vec<String> = codes
        .iter()
        .map(|c| format!("/api/v1/divisions/{c}"))
        .collect();
    let kids: Vec<String> = codes
        .iter()
        .filter(|c| tree.child_count(c) > 0)
        .map(|c| format!("/api/v1/divisions?parent={c}"))
        .collect();
    let dur = Duration::from_secs(seconds.max(1));
    println!(
        "并发连接 {connections}，每项 {} 秒，回环地址。",
        dur.as_secs()
    );

    let warm = Duration::from_millis(500);
    drive(bare_addr, Arc::new(vec!["/bare".into()]), connections, warm).await?;
    drive(app_addr, Arc::new(one.clone()), connections, warm).await?;

    let ceiling = drive(bare_addr, Arc::new(vec!["/bare".into()]), connections, dur).await?;
    let get_one = drive(app_addr, Arc::new(one), connections, dur).await?;
    let children = drive(app_addr, Arc::new(kids), connections, dur).await?;
    report(&ceiling, &get_one, &children);
    Ok(())
}

fn report(ceiling: &LoadResult, get_one: &LoadResult, children: &LoadResult) {
    println!("{}", ceiling.line("bare axum（框架上限）"));
    println!("{}", get_one.line("GET /api/v1/divisions/{code}"));
    println!("{}", children.line("GET /api/v1/divisions?parent="));
    let base = ceiling.rps().max(1e-9);
    for (label, r) in [
        ("divisions/{code}", get_one),
        ("divisions?parent=", children),
    ] {
        let ratio = r.rps() / base;
        let verdict = if ratio >= GOAL { "达标" } else { "未达标" };
        println!("ratio {label:<20} {ratio:.2} of ceiling (goal ≥ {GOAL}) {verdict}");
    }
}

pub async fn spawn(app: Router) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

/// The given database, or the city demo built into a temporary SQLite file.
async fn open_or_build(url: Option<String>) -> Result<(Db, Option<TempFile>)> {
    if let Some(url) = url {
        return Ok((crate::cli::open(&url).await?, None));
    }
    let path = std::env::temp_dir().join(format!("shequ-bench-{}.db", std::process::id()));
    let tmp = TempFile(path.clone());
    let db = crate::cli::open(&format!("sqlite://{}", path.display())).await?;
    let t0 = Instant::now();
    let s = demo::load(&db, Scale::City, 2025, chrono::Utc::now()).await?;
    println!(
        "城市演示数据：{} 个区划节点，用时 {:.2} 秒",
        s.divisions,
        t0.elapsed().as_secs_f64()
    );
    Ok((db, Some(tmp)))
}

/// Every county and township, and an even spread of villages and grids.
async fn sample_codes(db: &Db) -> Result<Vec<String>> {
    let all = shequ_db::divisions::all(&mut db.conn()).await?;
    let mut out: Vec<String> = all
        .iter()
        .filter(|d| d.code.len() <= 9)
        .map(|d| d.code.clone())
        .collect();
    let deep: Vec<&str> = all
        .iter()
        .filter(|d| d.code.len() > 9)
        .map(|d| d.code.as_str())
        .collect();
    let step = (deep.len() / 3000).max(1);
    out.extend(deep.iter().step_by(step).map(|s| (*s).to_owned()));
    (!out.is_empty()).then_some(out).context("数据库中没有区划")
}

/// Removes the temporary database (and its WAL files) when dropped.
pub struct TempFile(pub std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}
