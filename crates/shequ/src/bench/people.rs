//! `shequ bench people`: exact ID-number search and a tag-filtered township list
//! over HTTP beside a bare axum handler, and the cost of decrypting protected fields.

use super::api::{bench_key, spawn};
use super::load::drive;
use anyhow::{Context, Result};
use axum::Router;
use axum::routing::get;
use shequ_core::{DivisionCode, Role, Tag};
use shequ_db::demo::{self, Scale};
use shequ_db::people::{self, Filter, Protected};
use shequ_db::scope::{Actor, Scope};
use shequ_db::{Db, PageReq};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub async fn run(seconds: u64, connections: usize, people_count: usize) -> Result<()> {
    let (db, _tmp) = build(people_count).await?;
    let key = bench_key();
    let state = shequ_web::AppState::with_system_clock(db.clone(), key.clone()).await?;
    let app = spawn(shequ_web::router(state.clone())).await?;
    let bare = spawn(Router::new().route("/bare", get(|| async { r#"{"ok":true}"# }))).await?;
    let token = bench_token(&db).await?;

    let city = Scope::new(
        DivisionCode::parse("430500").map_err(|e| anyhow::anyhow!("{e}"))?,
        Role::CityStaff,
        Actor::system(),
    );
    let ids = sample_ids(&db, &key, &city).await?;
    let townships: Vec<String> = shequ_db::divisions::all(&mut db.conn())
        .await?
        .into_iter()
        .filter(|d| d.level == "township")
        .map(|d| d.code)
        .collect();
    let by_id: Vec<String> = ids
        .iter()
        .map(|i| format!("/api/v1/people?id_number={i}"))
        .collect();
    let by_tag: Vec<String> = townships
        .iter()
        .map(|t| format!("/api/v1/people?division={t}&tag=empty_nest"))
        .collect();
    let dur = Duration::from_secs(seconds.max(1));
    println!(
        "并发连接 {connections}，每项 {} 秒；城市规模居民 {people_count} 人。",
        dur.as_secs()
    );

    let ceiling = drive(bare, Arc::new(vec!["/bare".into()]), connections, dur).await?;
    let id_search = drive_auth(app, by_id, &token, connections, dur).await?;
    let tag_list = drive_auth(app, by_tag, &token, connections, dur).await?;
    println!("{}", ceiling.line("bare axum（框架上限）"));
    println!("{}", id_search.line("按身份证号精确查询"));
    println!("{}", tag_list.line("乡镇内按标签列表（每页 50）"));
    println!(
        "ratio 身份证号查询 / 上限   {:.2}",
        id_search.rps() / ceiling.rps().max(1e-9)
    );
    println!(
        "ratio 标签列表 / 上限       {:.2}",
        tag_list.rps() / ceiling.rps().max(1e-9)
    );
    encryption_cost(&db, &key, &city, &townships).await?;
    login_timing(&state).await
}

/// Failed sign-ins for a known and an unknown username should cost the same.
async fn login_timing(st: &shequ_web::AppState) -> Result<()> {
    let rounds = 20;
    let mut known = Duration::ZERO;
    let mut unknown = Duration::ZERO;
    let user = shequ_db::users::find_by_username(&mut st.db.conn(), "community")
        .await?
        .context("缺少演示账号 community")?;
    for _ in 0..rounds {
        let t = Instant::now();
        let _ = shequ_web::auth::login(st, "community", "Wrong#Pass1").await;
        known += t.elapsed();
        shequ_db::users::record_success(&mut st.db.conn(), user.id).await?;
        let t = Instant::now();
        let _ = shequ_web::auth::login(st, "nobody_here", "Wrong#Pass1").await;
        unknown += t.elapsed();
    }
    let (k, u) = (
        known.as_secs_f64() * 1000.0 / rounds as f64,
        unknown.as_secs_f64() * 1000.0 / rounds as f64,
    );
    println!(
        "登录失败耗时：已知用户 {k:.1} ms，未知用户 {u:.1} ms，比值 {:.2}",
        u / k.max(1e-9)
    );
    Ok(())
}

async fn drive_auth(
    addr: std::net::SocketAddr,
    paths: Vec<String>,
    token: &str,
    connections: usize,
    dur: Duration,
) -> Result<super::load::LoadResult> {
    super::load::drive_with_header(
        addr,
        Arc::new(paths),
        &format!("Authorization: Bearer {token}"),
        connections,
        dur,
    )
    .await
}

/// The same township lists read with protected fields left sealed, then opened.
async fn encryption_cost(
    db: &Db,
    key: &shequ_core::Protector,
    city: &Scope,
    townships: &[String],
) -> Result<()> {
    let rounds = townships.len().min(200);
    let list = |t: &String| Filter {
        division: DivisionCode::parse(t).ok(),
        tag: Some(Tag::EmptyNest),
        ..Default::default()
    };
    // Warm the page cache first so neither pass pays for cold reads.
    for t in townships.iter().cycle().take(rounds) {
        people::list(
            &mut db.conn(),
            city,
            key,
            &list(t),
            PageReq::new(Some(1), Some(50)),
        )
        .await?;
    }
    let t0 = Instant::now();
    let mut rows = 0usize;
    for t in townships.iter().cycle().take(rounds) {
        rows += people::list(
            &mut db.conn(),
            city,
            key,
            &list(t),
            PageReq::new(Some(1), Some(50)),
        )
        .await?
        .items
        .len();
    }
    let plain = t0.elapsed();
    let t1 = Instant::now();
    for t in townships.iter().cycle().take(rounds) {
        for p in people::list(
            &mut db.conn(),
            city,
            key,
            &list(t),
            PageReq::new(Some(1), Some(50)),
        )
        .await?
        .items
        {
            for f in [Protected::IdNumber, Protected::Phone, Protected::Tags] {
                std::hint::black_box(people::open_field(key, &p, f)?);
            }
        }
    }
    let opened = t1.elapsed();
    let Some(first) = townships.first() else {
        return Ok(());
    };
    let sample = people::list(
        &mut db.conn(),
        city,
        key,
        &list(first),
        PageReq::new(Some(1), Some(50)),
    )
    .await?
    .items;
    let t2 = Instant::now();
    let mut opens = 0usize;
    for _ in 0..200 {
        for p in &sample {
            for f in [Protected::IdNumber, Protected::Phone, Protected::Tags] {
                std::hint::black_box(people::open_field(key, p, f)?);
                opens += 1;
            }
        }
    }
    println!(
        "单个受保护字段解密：平均 {:.2} µs",
        t2.elapsed().as_secs_f64() * 1e6 / opens.max(1) as f64
    );
    println!(
        "加密开销：{rounds} 次乡镇列表（共 {rows} 行）——不解密 {:.1} ms，解密身份证号/电话/标签 {:.1} ms，比值 {:.2}",
        plain.as_secs_f64() * 1000.0,
        opened.as_secs_f64() * 1000.0,
        opened.as_secs_f64() / plain.as_secs_f64().max(1e-9)
    );
    Ok(())
}

/// Clear ID numbers of an even spread of residents (decrypted here, for the load).
async fn sample_ids(db: &Db, key: &shequ_core::Protector, city: &Scope) -> Result<Vec<String>> {
    let total = people::count(&mut db.conn(), city).await?;
    let step = (total / 2000).max(1) as u64;
    let mut out = Vec::new();
    for page in (1..).step_by(step as usize).take(2000) {
        let got = people::list(
            &mut db.conn(),
            city,
            key,
            &Filter::default(),
            PageReq::new(Some(page), Some(1)),
        )
        .await?;
        let Some(p) = got.items.first() else { break };
        out.push(people::open_field(key, p, Protected::IdNumber)?);
        if out.len() >= 500 {
            break;
        }
    }
    (!out.is_empty()).then_some(out).context("没有居民数据")
}

async fn bench_token(db: &Db) -> Result<String> {
    let secret = format!("st_bench_{}", std::process::id());
    let user = shequ_db::users::find_by_username(&mut db.conn(), "city")
        .await?
        .context("缺少演示账号 city")?;
    shequ_db::sessions::issue_token(&mut db.conn(), user.id, &secret, chrono::Utc::now()).await?;
    Ok(secret)
}

async fn build(people_count: usize) -> Result<(Db, super::api::TempFile)> {
    let path = std::env::temp_dir().join(format!("shequ-bench-people-{}.db", std::process::id()));
    let tmp = super::api::TempFile(path.clone());
    let db = crate::cli::open(&format!("sqlite://{}", path.display())).await?;
    let now = chrono::Utc::now();
    let t0 = Instant::now();
    demo::load(&db, Scale::City, 2025, now).await?;
    let hash = shequ_web::auth::hash(demo::users::DEFAULT_PASSWORD)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    demo::users::load(&db, &hash, now).await?;
    let n = demo::people::load(&db, &bench_key(), 2025, people_count, now).await?;
    println!(
        "城市演示数据与 {n} 名居民：用时 {:.1} 秒",
        t0.elapsed().as_secs_f64()
    );
    Ok((db, tmp))
}
