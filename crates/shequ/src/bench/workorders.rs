//! `shequ bench workorders`: durable intake through the native API and Open311
//! beside the store's own ceiling (the same rows committed one transaction each,
//! no HTTP), with a count of stored rows against acknowledged submissions; then,
//! at city scale, the staff workbench queue and the 三率 report beside a bare
//! axum handler.

use super::api::{TempFile, bench_key, spawn};
use super::load::{LoadResult, drive, drive_with_header};
use anyhow::{Context, Result, bail};
use axum::Router;
use axum::routing::get;
use chrono::{DateTime, Utc};
use shequ_core::{DivisionCode, Phone, Role};
use shequ_db::demo::{self, Scale};
use shequ_db::scope::{Actor, Scope};
use shequ_db::workorders::{NewOrder, list, monthly};
use shequ_db::{Db, PageReq};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Goals: durable submissions per second, and the share of the store's own rate.
const GOAL_RPS: f64 = 5_000.0;
const GOAL_RATIO: f64 = 0.25;
/// Categories without required extra questions, so every channel takes them as they are.
const CATEGORIES: [(&str, &str); 4] = [
    ("environment.garbage", "小区垃圾桶满溢，已经两天没有清运"),
    ("facilities.road", "路面有个大坑，下雨天积水"),
    ("social.elderly", "独居老人需要上门助餐服务"),
    ("other.advice", "建议在学校门口设置减速带"),
];
const NATIVE: &str = "/api/v1/workorders";
const OPEN311: &str = "/open311/v2/requests.json";

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub seconds: u64,
    pub connections: usize,
    pub db: Option<String>,
    pub small: bool,
    pub skip_reads: bool,
}

pub async fn run(opts: Options) -> Result<()> {
    let scale = if opts.small {
        Scale::Small
    } else {
        Scale::City
    };
    let (db, _tmp) = open_or_build(opts.db.as_deref(), scale).await?;
    let key = bench_key();
    let state = shequ_web::AppState::with_system_clock(db.clone(), key.clone()).await?;
    let app = spawn(shequ_web::router(state)).await?;
    let bare = spawn(Router::new().route("/bare", get(|| async { r#"{"ok":true}"# }))).await?;
    let dur = Duration::from_secs(opts.seconds.max(1));
    let samples = Arc::new(samples(&db).await?);
    println!(
        "并发连接 {}，每项 {} 秒，回环地址；后端 {:?}；投递点 {} 个村（社区）。",
        opts.connections,
        dur.as_secs(),
        db.backend(),
        samples.len()
    );
    let run_id = std::process::id();
    let mut table = Vec::new();
    let raw = raw_peer(&db, &key, &samples, run_id, opts.connections, dur).await?;
    let raw_rows = stored(&db, raw.started, raw.finished).await?;
    table.push(Line::intake(
        "仓库直写（每单一个事务，无 HTTP）",
        &raw,
        raw_rows,
        None,
    ));
    let native = native(&db, app, &samples, run_id, opts.connections, dur).await?;
    table.push(match native {
        Some((r, rows)) => Line::intake("POST /api/v1/workorders", &r, rows, Some(raw.rps())),
        None => Line::missing("POST /api/v1/workorders"),
    });
    let open311 = open311(&db, app, &samples, opts.connections, dur).await?;
    table.push(match open311 {
        Some((r, rows)) => {
            Line::intake("POST /open311/v2/requests.json", &r, rows, Some(raw.rps()))
        }
        None => Line::missing("POST /open311/v2/requests.json"),
    });
    print_intake(&table);
    if !opts.skip_reads {
        reads(&db, app, bare, opts.connections, dur).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The database
// ---------------------------------------------------------------------------

/// The given database (the demo is loaded when it has no divisions yet), or the
/// demo built into a temporary SQLite file.
async fn open_or_build(url: Option<&str>, scale: Scale) -> Result<(Db, Option<TempFile>)> {
    let (db, tmp) = match url {
        Some(u) => (crate::cli::open(u).await?, None),
        None => {
            let path =
                std::env::temp_dir().join(format!("shequ-bench-wo-{}.db", std::process::id()));
            let tmp = TempFile(path.clone());
            let db = crate::cli::open(&format!("sqlite://{}", path.display())).await?;
            (db, Some(tmp))
        }
    };
    if shequ_db::divisions::roots(&mut db.conn()).await?.is_empty() {
        let now = Utc::now();
        let t0 = Instant::now();
        demo::load(&db, scale, 2025, now).await?;
        let hash = shequ_web::auth::hash(demo::users::DEFAULT_PASSWORD)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        demo::users::load(&db, &hash, now).await?;
        let s = demo::workorders::load(
            &db,
            &bench_key(),
            2025,
            demo::workorders::default_count(scale),
            now,
        )
        .await?;
        demo::workorders::logins(&db, &hash, now).await?;
        println!(
            "演示数据（{}）：工单 {} 张、处理记录 {} 条，用时 {:.1} 秒",
            scale.as_str(),
            s.orders,
            s.events,
            t0.elapsed().as_secs_f64()
        );
    }
    Ok((db, tmp))
}

/// Where submissions land: village/community centres (the same rows on every path).
#[derive(Debug, Clone)]
struct Sample {
    division: DivisionCode,
    lon: f64,
    lat: f64,
    address: String,
}

async fn samples(db: &Db) -> Result<Vec<Sample>> {
    let all = shequ_db::divisions::all(&mut db.conn()).await?;
    let villages: Vec<_> = all.iter().filter(|d| d.level == "village").collect();
    let step = (villages.len() / 1000).max(1);
    let out: Vec<Sample> = villages
        .iter()
        .step_by(step)
        .filter_map(|v| {
            Some(Sample {
                division: DivisionCode::parse(&v.code).ok()?,
                lon: v.centroid_lon?,
                lat: v.centroid_lat?,
                address: format!("{}宝庆路 1 号", v.name),
            })
        })
        .collect();
    (!out.is_empty())
        .then_some(out)
        .context("数据库中没有带中心点的村（社区）")
}

/// Orders stored with an intake time in `[from, to]`.
async fn stored(db: &Db, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<i64> {
    let root = shequ_db::divisions::roots(&mut db.conn())
        .await?
        .first()
        .map(|d| d.code.clone())
        .context("没有区划")?;
    let scope = Scope::new(
        DivisionCode::parse(&root).map_err(|e| anyhow::anyhow!("{e}"))?,
        Role::CityStaff,
        Actor::system(),
    );
    let f = list::Filter {
        created_from: Some(from),
        created_to: Some(to),
        ..list::Filter::default()
    };
    Ok(list::list(
        &mut db.conn(),
        &scope,
        &f,
        Utc::now(),
        PageReq::new(Some(1), Some(1)),
    )
    .await?
    .total)
}

async fn token_for(db: &Db, username: &str) -> Result<String> {
    let secret = crate::config::random_token()?;
    let user = shequ_db::users::find_by_username(&mut db.conn(), username)
        .await?
        .with_context(|| format!("缺少演示账号 {username}"))?;
    shequ_db::sessions::issue_token(&mut db.conn(), user.id, &secret, Utc::now()).await?;
    Ok(secret)
}

// ---------------------------------------------------------------------------
// Intake
// ---------------------------------------------------------------------------

/// A timed run of submissions: acknowledged ones, failures by status, latencies.
#[derive(Debug, Default)]
struct Run {
    ok: u64,
    failed: BTreeMap<u16, u64>,
    latencies_us: Vec<u32>,
    elapsed: Duration,
    started: DateTime<Utc>,
    finished: DateTime<Utc>,
    /// The first failure's body, to say why.
    first_error: Option<String>,
}

impl Run {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn quantile_ms(&self, q: f64) -> f64 {
        let n = self.latencies_us.len();
        if n == 0 {
            return 0.0;
        }
        let i = ((n as f64 * q) as usize).min(n - 1);
        self.latencies_us
            .get(i)
            .map_or(0.0, |v| f64::from(*v) / 1000.0)
    }

    fn merge(&mut self, o: Run) {
        self.ok += o.ok;
        for (k, v) in o.failed {
            *self.failed.entry(k).or_default() += v;
        }
        self.latencies_us.extend(o.latencies_us);
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }
}

/// One submission path's row in the table.
struct Line {
    label: &'static str,
    run: Option<(f64, f64, f64, u64, String)>,
    rows: i64,
    ratio: Option<f64>,
}

impl Line {
    fn intake(label: &'static str, r: &Run, rows: i64, raw: Option<f64>) -> Line {
        let failed = if r.failed.is_empty() {
            String::new()
        } else {
            let codes: Vec<String> = r.failed.iter().map(|(k, v)| format!("{k}×{v}")).collect();
            format!(
                "失败 {}{}",
                codes.join(" "),
                r.first_error
                    .as_deref()
                    .map(|e| format!("：{}", e.chars().take(160).collect::<String>()))
                    .unwrap_or_default()
            )
        };
        Line {
            label,
            run: Some((
                r.rps(),
                r.quantile_ms(0.5),
                r.quantile_ms(0.99),
                r.ok,
                failed,
            )),
            rows,
            ratio: raw.map(|raw| r.rps() / raw.max(1e-9)),
        }
    }

    fn missing(label: &'static str) -> Line {
        Line {
            label,
            run: None,
            rows: 0,
            ratio: None,
        }
    }
}

fn print_intake(lines: &[Line]) {
    println!();
    println!(
        "{:<36} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}  结论",
        "受理（持久化后确认）", "件/秒", "p50 ms", "p99 ms", "确认", "入库", "比直写"
    );
    for l in lines {
        let Some((rps, p50, p99, ok, failed)) = &l.run else {
            println!("{:<36} 接口尚未提供（404），跳过", l.label);
            continue;
        };
        let durable = if l.rows == *ok as i64 {
            "入库数=确认数".to_owned()
        } else {
            format!("入库数≠确认数（差 {}）", l.rows - *ok as i64)
        };
        let verdict = match l.ratio {
            Some(r) => {
                let pass = *rps >= GOAL_RPS && r >= GOAL_RATIO;
                format!(
                    "{}（目标 ≥ {GOAL_RPS:.0}/s 且 ≥ {GOAL_RATIO}）",
                    if pass { "达标" } else { "未达标" }
                )
            }
            None => "（上限）".to_owned(),
        };
        println!(
            "{:<36} {rps:>10.0} {p50:>9.2} {p99:>9.2} {ok:>9} {:>9} {:>9}  {durable}；{verdict} {failed}",
            l.label,
            l.rows,
            l.ratio.map_or("1".to_owned(), |r| format!("{r:.2}"))
        );
    }
}

/// The peer: 64 tasks, each storing one order with its accept event per
/// transaction through the store, on the app's own pool.
async fn raw_peer(
    db: &Db,
    key: &shequ_core::Protector,
    samples: &Arc<Vec<Sample>>,
    run_id: u32,
    connections: usize,
    dur: Duration,
) -> Result<Run> {
    let key = Arc::new(key.clone());
    let started = Utc::now();
    let t0 = Instant::now();
    let deadline = t0 + dur;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (db, key, samples) = (db.clone(), Arc::clone(&key), Arc::clone(samples));
        tasks.push(tokio::spawn(async move {
            let mut r = Run::default();
            let actor = Actor {
                user_id: None,
                name: "bench".into(),
                role: "city_staff".into(),
            };
            let mut n = 0u64;
            while Instant::now() < deadline {
                let o = order(&samples, c, n, format!("bench-{run_id}-raw-{c}-{n}"));
                n += 1;
                let t = Instant::now();
                let mut tx = db.begin().await?;
                shequ_db::workorders::store(&mut tx.conn(), &key, &o, &actor, Utc::now()).await?;
                tx.commit().await?;
                r.latencies_us
                    .push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                r.ok += 1;
            }
            anyhow::Ok(r)
        }));
    }
    let mut total = Run::default();
    for t in tasks {
        total.merge(t.await.context("写入任务失败")??);
    }
    total.elapsed = t0.elapsed();
    total.started = started;
    total.finished = Utc::now();
    total.latencies_us.sort_unstable();
    Ok(total)
}

/// The order every path submits for connection `c`, submission `n`.
fn order(samples: &[Sample], c: usize, n: u64, key: String) -> NewOrder {
    let i = c.wrapping_mul(7919).wrapping_add(n as usize);
    // Never empty: `samples` refuses a database without village centres.
    let s = &samples[i % samples.len()];
    let (category, text) = CATEGORIES
        .get(i % CATEGORIES.len())
        .copied()
        .unwrap_or(CATEGORIES[0]);
    NewOrder {
        category: category.into(),
        description: format!("{text}（压测 {n}）"),
        location: shequ_core::geo::Point::new(s.lon, s.lat).ok(),
        address: s.address.clone(),
        division: s.division.clone(),
        channel: "phone".into(),
        urgent: n.is_multiple_of(33),
        reporter_name: "李女士".into(),
        reporter_phone: Phone::parse(&format!("138{:08}", (i as u64 * 7 + n) % 100_000_000)).ok(),
        reporter_user_id: None,
        idempotency_key: Some(key),
        attributes: serde_json::Map::new(),
    }
}

/// Native submissions with a bearer token and an idempotency key each.
async fn native(
    db: &Db,
    app: SocketAddr,
    samples: &Arc<Vec<Sample>>,
    run_id: u32,
    connections: usize,
    dur: Duration,
) -> Result<Option<(Run, i64)>> {
    let token = token_for(db, "city").await?;
    let make = {
        let samples = Arc::clone(samples);
        move |c: usize, n: u64| -> Vec<u8> {
            let o = order(&samples, c, n, String::new());
            let body = serde_json::json!({
                "category": o.category,
                "description": o.description,
                "lat": o.location.map(|p| p.lat),
                "lon": o.location.map(|p| p.lon),
                "address": o.address,
                "urgent": o.urgent,
                "reporter_name": o.reporter_name,
                "reporter_phone": o.reporter_phone.as_ref().map(|p| p.as_str().to_owned()),
                "attributes": {},
            })
            .to_string();
            format!(
                "POST {NATIVE} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nIdempotency-Key: bench-{run_id}-api-{c}-{n}\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }
    };
    submit_phase(db, app, Arc::new(make), &[201], connections, dur).await
}

/// Open311 GeoReport v2 submissions with an integration key.
async fn open311(
    db: &Db,
    app: SocketAddr,
    samples: &Arc<Vec<Sample>>,
    connections: usize,
    dur: Duration,
) -> Result<Option<(Run, i64)>> {
    let root = shequ_db::divisions::roots(&mut db.conn())
        .await?
        .first()
        .map(|d| d.code.clone())
        .context("没有区划")?;
    let api_key = crate::config::random_token()?;
    shequ_db::api_keys::create(
        &mut db.conn(),
        "压测集成",
        &api_key,
        &DivisionCode::parse(&root).map_err(|e| anyhow::anyhow!("{e}"))?,
        Utc::now(),
    )
    .await?;
    let make = {
        let samples = Arc::clone(samples);
        move |c: usize, n: u64| -> Vec<u8> {
            let o = order(&samples, c, n, String::new());
            let (lat, lon) = o.location.map_or((0.0, 0.0), |p| (p.lat, p.lon));
            let body = format!(
                "api_key={api_key}&service_code={}&lat={lat}&long={lon}&description={}",
                percent(&o.category),
                percent(&o.description)
            );
            format!(
                "POST {OPEN311} HTTP/1.1\r\nHost: bench\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }
    };
    submit_phase(db, app, Arc::new(make), &[200, 201], connections, dur).await
}

type MakeRequest = Arc<dyn Fn(usize, u64) -> Vec<u8> + Send + Sync>;

/// Probe once (404: the endpoint is not there yet), warm up for a second, then
/// drive for `dur` and count the rows the phase stored.
async fn submit_phase(
    db: &Db,
    app: SocketAddr,
    make: MakeRequest,
    ok: &'static [u16],
    connections: usize,
    dur: Duration,
) -> Result<Option<(Run, i64)>> {
    let probe = {
        let mut s = TcpStream::connect(app).await?;
        s.write_all(&make(usize::MAX / 2, 0)).await?;
        let mut buf = Vec::new();
        read_response(&mut s, &mut buf).await?
    };
    if probe.0 == 405 || (probe.0 == 404 && probe.1.contains("接口不存在")) {
        return Ok(None);
    }
    drive_posts(
        app,
        Arc::clone(&make),
        ok,
        connections,
        Duration::from_secs(1),
        1,
    )
    .await?;
    let r = drive_posts(app, make, ok, connections, dur, 2).await?;
    let rows = stored(db, r.started, r.finished).await?;
    Ok(Some((r, rows)))
}

/// `connections` keep-alive connections, one request in flight each.
async fn drive_posts(
    addr: SocketAddr,
    make: MakeRequest,
    ok: &'static [u16],
    connections: usize,
    dur: Duration,
    round: u64,
) -> Result<Run> {
    let started = Utc::now();
    let t0 = Instant::now();
    let deadline = t0 + dur;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let make = Arc::clone(&make);
        tasks.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await?;
            s.set_nodelay(true)?;
            let mut r = Run::default();
            let mut buf = Vec::with_capacity(8 * 1024);
            let mut n = round << 40;
            while Instant::now() < deadline {
                let req = make(c, n);
                n += 1;
                let t = Instant::now();
                s.write_all(&req).await?;
                let (status, body) = read_response(&mut s, &mut buf).await?;
                if ok.contains(&status) {
                    r.ok += 1;
                    r.latencies_us
                        .push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                } else {
                    *r.failed.entry(status).or_default() += 1;
                    if r.first_error.is_none() {
                        r.first_error = Some(body);
                    }
                }
            }
            anyhow::Ok(r)
        }));
    }
    let mut total = Run::default();
    for t in tasks {
        total.merge(t.await.context("压测连接失败")??);
    }
    total.elapsed = t0.elapsed();
    total.started = started;
    total.finished = Utc::now();
    total.latencies_us.sort_unstable();
    Ok(total)
}

/// Read one response (Content-Length or chunked); returns the status and body.
async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(u16, String)> {
    buf.clear();
    let head_end = loop {
        if let Some(p) = find(buf, b"\r\n\r\n") {
            break p + 4;
        }
        fill(s, buf).await?;
    };
    let head = String::from_utf8_lossy(buf.get(..head_end).unwrap_or(&[])).to_ascii_lowercase();
    let status: u16 = head
        .get(9..12)
        .and_then(|x| x.parse().ok())
        .context("bad status line")?;
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    match length {
        Some(n) => {
            while buf.len() < head_end + n {
                fill(s, buf).await?;
            }
        }
        None if head.contains("transfer-encoding: chunked") => {
            while find(buf.get(head_end..).unwrap_or(&[]), b"0\r\n\r\n").is_none() {
                fill(s, buf).await?;
            }
        }
        None => {}
    }
    let body = String::from_utf8_lossy(buf.get(head_end..).unwrap_or(&[])).into_owned();
    Ok((status, body))
}

async fn fill(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<()> {
    let mut chunk = [0u8; 8 * 1024];
    let n = s.read(&mut chunk).await?;
    if n == 0 {
        bail!("connection closed");
    }
    buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `application/x-www-form-urlencoded` value encoding.
fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Reads at city scale
// ---------------------------------------------------------------------------

/// The workbench queue of the busiest communities of one county (as its county
/// staff) and the 三率 report of the last twelve months (as city staff), beside
/// the bare handler.
async fn reads(
    db: &Db,
    app: SocketAddr,
    bare: SocketAddr,
    connections: usize,
    dur: Duration,
) -> Result<()> {
    let roots = shequ_db::divisions::roots(&mut db.conn()).await?;
    let root = roots.first().context("没有区划")?;
    let city = DivisionCode::parse(&root.code).map_err(|e| anyhow::anyhow!("{e}"))?;
    let scope = Scope::new(city.clone(), Role::CityStaff, Actor::system());
    let months = monthly_keys(Utc::now());
    let (first, last) = (
        months.first().cloned().unwrap_or_default(),
        months.last().cloned().unwrap_or_default(),
    );
    let rows = monthly::rows(&mut db.conn(), &scope, &first, &last).await?;
    let by_unit = monthly::sum_by(&rows, |r| {
        (r.unit.len() == 12 && r.unit.bytes().all(|b| b.is_ascii_digit())).then(|| r.unit.clone())
    });
    let mut busy: Vec<(String, i64)> = by_unit.into_iter().map(|(u, c)| (u, c.orders)).collect();
    busy.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let Some((top, top_orders)) = busy.first().cloned() else {
        println!("库中没有工单月度汇总，跳过工作台与三率读取。");
        return Ok(());
    };
    let county: String = top.chars().take(6).collect();
    let units: Vec<String> = busy
        .iter()
        .filter(|(u, _)| u.starts_with(&county))
        .take(30)
        .map(|(u, _)| u.clone())
        .collect();
    let county_token = county_token(db, &county).await?;
    let city_token = token_for(db, "city").await?;
    let queue_sizes = list::queue_counts(&mut db.conn(), &scope, Some(&top), Utc::now()).await?;
    println!();
    println!(
        "最忙的社区 {top}（一年 {top_orders} 张）所在 {county} 的前 {} 个社区；该社区队列：{}",
        units.len(),
        queue_sizes
            .iter()
            .map(|(q, n)| format!("{} {n}", q.label()))
            .collect::<Vec<_>>()
            .join("，")
    );
    let queue_paths: Vec<String> = units
        .iter()
        .map(|u| format!("{NATIVE}?queue=to_sign&unit={u}"))
        .collect();
    let sanlv_paths: Vec<String> = months
        .iter()
        .map(|m| format!("{NATIVE}/sanlv?month={m}&division={city}"))
        .collect();
    let warm = Duration::from_millis(500);
    drive(bare, Arc::new(vec!["/bare".into()]), connections, warm).await?;
    let ceiling = drive(bare, Arc::new(vec!["/bare".into()]), connections, dur).await?;
    println!("{}", ceiling.line("bare axum（框架上限）"));
    let targets = [
        (
            "工作台 待签收（区县账号）",
            queue_paths,
            format!("Authorization: Bearer {county_token}"),
        ),
        (
            "三率月报（市级账号）",
            sanlv_paths,
            format!("Authorization: Bearer {city_token}"),
        ),
    ];
    for (label, paths, auth) in targets {
        let Some(first) = paths.first() else { continue };
        let (status, body) =
            super::load::request(app, "GET", first, std::slice::from_ref(&auth), "").await?;
        if status == 404 && body.contains("接口不存在") {
            println!("{label:<40} 接口尚未提供（404），跳过");
            continue;
        }
        if status != 200 {
            println!(
                "{label:<40} 首个请求返回 {status}：{}",
                body.chars().take(200).collect::<String>()
            );
            continue;
        }
        let paths = Arc::new(paths);
        drive_with_header(app, Arc::clone(&paths), &auth, connections, warm).await?;
        let r = drive_with_header(app, paths, &auth, connections, dur).await?;
        print_read(label, &r, &ceiling);
    }
    Ok(())
}

fn print_read(label: &str, r: &LoadResult, ceiling: &LoadResult) {
    println!(
        "{}   ratio {:.2}",
        r.line(label),
        r.rps() / ceiling.rps().max(1e-9)
    );
}

/// The twelve months up to the current one (Beijing time), "YYYY-MM".
fn monthly_keys(now: DateTime<Utc>) -> Vec<String> {
    use chrono::{Datelike, Months};
    let this = (now + chrono::Duration::hours(8)).date_naive();
    let first = this.with_day(1).unwrap_or(this);
    (0..12u32)
        .rev()
        .filter_map(|k| first.checked_sub_months(Months::new(k)))
        .map(|d| d.format("%Y-%m").to_string())
        .collect()
}

/// A county staff token for `county` (the demo's own when it is 双清区, else a bench account).
async fn county_token(db: &Db, county: &str) -> Result<String> {
    let username = format!("bench_county_{county}");
    if shequ_db::users::find_by_username(&mut db.conn(), &username)
        .await?
        .is_none()
    {
        let hash = shequ_web::auth::hash(demo::users::DEFAULT_PASSWORD)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let u = shequ_db::users::NewUser {
            username: username.clone(),
            display_name: format!("压测区县账号 {county}"),
            role: Role::CountyStaff,
            division: DivisionCode::parse(county).map_err(|e| anyhow::anyhow!("{e}"))?,
            password_hash: hash,
        };
        let mut tx = db.begin().await?;
        shequ_db::users::create(&mut tx.conn(), &Actor::system(), &u, Utc::now()).await?;
        tx.commit().await?;
    }
    token_for(db, &username).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(percent("a b&c=中"), "a%20b%26c%3D%E4%B8%AD");
        assert_eq!(percent("other.advice"), "other.advice");
    }

    #[test]
    fn twelve_months_end_with_this_one() {
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2025, 1, 15, 3, 0, 0).unwrap();
        let m = monthly_keys(now);
        assert_eq!(m.len(), 12);
        assert_eq!(m.first().map(String::as_str), Some("2024-02"));
        assert_eq!(m.last().map(String::as_str), Some("2025-01"));
    }
}
