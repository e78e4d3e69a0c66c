//! `shequ bench indicators`: full recomputation at city scale, the indicator API
//! beside a bare axum handler, and how soon one facility change shows on the city
//! dashboard.

use super::api::{TempFile, bench_key, spawn};
use super::load::{drive, drive_with_header};
use anyhow::{Context, Result};
use axum::Router;
use axum::routing::get;
use shequ_core::{DivisionCode, Role};
use shequ_db::Db;
use shequ_db::demo::{self, Scale};
use shequ_db::scope::{Actor, Scope};
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
    update_latency(&db).await
}

/// Change one facility's floor area and time until the city's value reflects it.
async fn update_latency(db: &Db) -> Result<()> {
    use shequ_db::facilities::{FacilityInput, FunctionInput, Status};
    let city = Scope::new(
        DivisionCode::parse("430500").map_err(|e| anyhow::anyhow!("{e}"))?,
        Role::CityStaff,
        Actor::system(),
    );
    let village = shequ_db::divisions::all(&mut db.conn())
        .await?
        .into_iter()
        .find(|d| d.level == "village")
        .context("没有村（社区）")?;
    let mut f = FacilityInput {
        division: DivisionCode::parse(&village.code).map_err(|e| anyhow::anyhow!("{e}"))?,
        name: "测速用服务站".into(),
        address: String::new(),
        location: None,
        floor_area_x100: 10_000,
        status: Status::InUse,
        year_built: Some(2020),
        online_24h: false,
        spaces: Vec::new(),
        functions: vec![FunctionInput {
            code: shequ_core::facility::FunctionCode::parse("comprehensive_service")
                .context("功能")?,
            land_area_x100: 0,
        }],
        hours: Vec::new(),
        exceptions: Vec::new(),
    };
    let mut tx = db.begin().await?;
    let id = shequ_db::facilities::create(&mut tx.conn(), &city, &f, chrono::Utc::now()).await?;
    tx.commit().await?;
    let mut samples = Vec::new();
    for i in 0..20 {
        let before = city_value(db).await?;
        f.floor_area_x100 += 100 * (i + 1);
        let t = Instant::now();
        let mut tx = db.begin().await?;
        shequ_db::facilities::update(&mut tx.conn(), &city, id, &f, chrono::Utc::now()).await?;
        tx.commit().await?;
        let after = city_value(db).await?;
        samples.push(t.elapsed());
        anyhow::ensure!(
            after.0 == before.0 + 100 * (i + 1),
            "城市指标没有随设施变化"
        );
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "单个设施修改到市级驾驶舱可见：p50 {:.1} ms，最大 {:.1} ms（含写入、所在乡镇重算与逐级累加）",
        ms(samples.get(samples.len() / 2).copied().unwrap_or_default()),
        ms(samples.last().copied().unwrap_or_default())
    );
    Ok(())
}

async fn city_value(db: &Db) -> Result<(i64, i64)> {
    let v = shequ_db::indicators::values_for(&mut db.conn(), &["430500".to_owned()]).await?;
    Ok(v.get(&(
        "facility_area_per_100_households".to_owned(),
        "430500".to_owned(),
    ))
    .copied()
    .unwrap_or((0, 0)))
}

async fn token(db: &Db) -> Result<String> {
    let secret = format!("st_bench_ind_{}", std::process::id());
    let user = shequ_db::users::find_by_username(&mut db.conn(), "city")
        .await?
        .context("缺少演示账号 city")?;
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
