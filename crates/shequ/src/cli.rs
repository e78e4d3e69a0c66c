//! The command line (see CONTRACT.md): each verb is a small function.

use crate::config::{self, DEFAULT_BIND, DEFAULT_DB};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use shequ_core::DivisionCode;
use shequ_db::Db;
use shequ_db::demo::{self, Scale};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, Parser)]
#[command(
    name = "shequ",
    version,
    about = "社区服务平台 Shequ：城乡社区服务体系的业务与监测系统"
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Command,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DbArg {
    /// Database URL: sqlite://PATH or postgres://…
    #[arg(long = "db", env = "SHEQU_DATABASE_URL", default_value = DEFAULT_DB)]
    pub url: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScaleArg {
    Small,
    City,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate if needed, then serve HTTP.
    Serve {
        #[command(flatten)]
        db: DbArg,
        #[arg(long, env = "SHEQU_BIND", default_value = DEFAULT_BIND)]
        bind: String,
    },
    /// Apply migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DbArg,
    },
    /// Fill an empty database with deterministic demo data.
    Demo {
        #[command(flatten)]
        db: DbArg,
        #[arg(long, value_enum, default_value = "small")]
        scale: ScaleArg,
        #[arg(long, default_value_t = 2025)]
        seed: u64,
        /// Residents to generate (default: 5,000 small, 500,000 city).
        #[arg(long)]
        people: Option<usize>,
        /// Work orders of the past year to generate (default: 20,000 small, 1,000,000 city).
        #[arg(long)]
        workorders: Option<usize>,
        /// Serve the database after loading it.
        #[arg(long)]
        serve: bool,
        #[arg(long, env = "SHEQU_BIND", default_value = DEFAULT_BIND)]
        bind: String,
    },
    /// Print the OpenAPI document and exit.
    Openapi,
    /// Accounts.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// The plan-target monitor.
    Indicators {
        #[command(subcommand)]
        cmd: IndicatorsCmd,
    },
    /// The audit chain.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
    /// Integration keys.
    Apikey {
        #[command(subcommand)]
        cmd: ApikeyCmd,
    },
    /// Import data from csv or xlsx files.
    Import {
        #[command(subcommand)]
        cmd: ImportCmd,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        cmd: crate::bench::BenchCmd,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApikeyCmd {
    /// Create a key and print it once.
    Add {
        name: String,
        /// Subtree the key may act in (default: the whole city).
        #[arg(long)]
        division: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
    /// Revoke a key by its id (printed when it was created).
    Revoke {
        id: i64,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create an account; the password comes from SHEQU_PASSWORD or a prompt.
    Add {
        username: String,
        /// admin, security_admin, auditor, city_staff, county_staff, township_staff,
        /// community_staff, grid_worker, department_staff, volunteer or resident.
        #[arg(long)]
        role: String,
        /// The division the account is bound to (default: the whole city).
        #[arg(long)]
        division: Option<String>,
        /// Display name (default: the username).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum IndicatorsCmd {
    /// Recompute every indicator at every node from the registries.
    Recompute {
        #[command(flatten)]
        db: DbArg,
    },
    /// Keep this month's values (or `--month YYYY-MM`) for the trend.
    Snapshot {
        #[arg(long)]
        month: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Check the hash chain: exit 0 when intact, 1 naming the first broken entry.
    Verify {
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCmd {
    /// Population and household figures (区划代码, 常住人口, 城镇人口, 户数).
    DivisionFigures {
        /// A .csv (UTF-8) or .xlsx file.
        file: std::path::PathBuf,
        #[command(flatten)]
        db: DbArg,
    },
}

/// Connect and migrate.
pub async fn open(url: &str) -> Result<Db> {
    let db = Db::connect(url)
        .await
        .with_context(|| "无法连接数据库".to_string())?;
    db.migrate().await.context("数据库迁移失败")?;
    Ok(db)
}

pub async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.cmd {
        Command::Serve { db, bind } => {
            let key = config::secret_key(&db.url)?.protector();
            crate::serve::serve(open(&db.url).await?, key, &bind).await?;
        }
        Command::Migrate { db } => {
            open(&db.url).await?;
            println!("数据库已是最新结构。");
        }
        Command::Demo {
            db,
            scale,
            seed,
            people,
            workorders,
            serve,
            bind,
        } => {
            let key = config::secret_key(&db.url)?.protector();
            let pool = open(&db.url).await?;
            load_demo(&pool, &key, scale, seed, people, workorders).await?;
            if serve {
                crate::serve::serve(pool, key, &bind).await?;
            }
        }
        Command::User {
            cmd:
                UserCmd::Add {
                    username,
                    role,
                    division,
                    name,
                    db,
                },
        } => {
            let pool = open(&db.url).await?;
            add_user(
                &pool,
                &username,
                &role,
                division.as_deref(),
                name.as_deref(),
            )
            .await?;
        }
        Command::Indicators { cmd } => indicators(cmd).await?,
        Command::Audit {
            cmd: AuditCmd::Verify { db },
        } => {
            let pool = open(&db.url).await?;
            return verify_audit(&pool).await;
        }
        Command::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&shequ_web::openapi::document_value())?
            );
        }
        Command::Apikey {
            cmd: ApikeyCmd::Add { name, division, db },
        } => {
            let pool = open(&db.url).await?;
            let key = add_api_key(&pool, &name, division.as_deref()).await?;
            println!("{key}");
            eprintln!(
                "密钥只显示这一次，请妥善保存；有效期 {} 天。",
                shequ_db::api_keys::KEY_DAYS
            );
        }
        Command::Apikey {
            cmd: ApikeyCmd::Revoke { id, db },
        } => {
            let pool = open(&db.url).await?;
            shequ_db::api_keys::revoke(&mut pool.conn(), id, chrono::Utc::now())
                .await
                .map_err(|e| match e {
                    shequ_db::DbError::NotFound => anyhow::anyhow!("没有编号为 {id} 的密钥"),
                    other => other.into(),
                })?;
            println!("密钥 {id} 已吊销。");
        }
        Command::Import {
            cmd: ImportCmd::DivisionFigures { file, db },
        } => {
            let key = config::secret_key(&db.url)?.protector();
            let pool = open(&db.url).await?;
            return import_figures(&pool, key, &file).await;
        }
        Command::Bench { cmd } => crate::bench::run(cmd).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn load_demo(
    db: &Db,
    key: &shequ_core::Protector,
    scale: ScaleArg,
    seed: u64,
    people: Option<usize>,
    workorders: Option<usize>,
) -> Result<()> {
    let scale = match scale {
        ScaleArg::Small => Scale::Small,
        ScaleArg::City => Scale::City,
    };
    let people = people.unwrap_or(match scale {
        Scale::Small => 5_000,
        Scale::City => 500_000,
    });
    let started = Instant::now();
    let now = chrono::Utc::now();
    let s = demo::load(db, scale, seed, now).await?;
    let password = std::env::var("SHEQU_DEMO_PASSWORD")
        .unwrap_or_else(|_| demo::users::DEFAULT_PASSWORD.to_owned());
    shequ_core::password::check_policy("demo", &password)
        .map_err(|e| anyhow::anyhow!("SHEQU_DEMO_PASSWORD 不符合密码规则：{e}"))?;
    let hash = shequ_web::auth::hash(&password)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut logins = demo::users::load(db, &hash, now).await?;
    let residents = demo::people::load(db, key, seed, people, now).await?;
    let facilities = demo::facilities::load(db, seed, now).await?;
    let today = (now + chrono::Duration::hours(8)).date_naive();
    let workers = demo::workforce::load(db, seed, today, now).await?;
    let wo_started = Instant::now();
    let orders = demo::workorders::load(
        db,
        key,
        seed,
        workorders.unwrap_or(demo::workorders::default_count(scale)),
        now,
    )
    .await?;
    let wo_secs = wo_started.elapsed().as_secs_f64();
    logins.extend(demo::workorders::logins(db, &hash, now).await?);
    let ratings = demo::ratings::load(db, key, seed, now).await?;
    let surveys = demo::surveys::load(db, seed, now).await?;
    let volunteers = demo::volunteers::load(db, key, seed, now).await?;
    let bank = demo::timebank::load(db, seed, now).await?;
    let care = demo::care::load(db, key, seed, now).await?;
    let rental = demo::rental::load(db, key, seed, now).await?;
    let values = shequ_db::indicators::recompute_all(db, now).await?;
    backfill_trend(db, now).await?;
    let ev = shequ_db::audit::Event::new("demo_load", "system", scale.as_str())
        .detail(serde_json::json!({"people": residents, "divisions": s.divisions}));
    shequ_db::audit::record(db, &shequ_db::scope::Actor::system(), ev, now).await?;
    let api_key = add_api_key(db, "演示集成密钥", None).await?;
    println!(
        "演示数据已载入（{}，种子 {seed}），用时 {:.1} 秒：",
        scale.as_str(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "  区划节点 {} 个，其中村（社区）{} 个、网格 {} 个",
        s.divisions, s.villages, s.grids
    );
    println!(
        "  常住人口 {} 人，{} 户；登记居民 {} 人",
        s.population, s.households, residents
    );
    println!(
        "  服务设施 {facilities} 处，社区工作者 {workers} 人，指标值 {values} 项（含 12 个月趋势）"
    );
    println!(
        "  接诉即办工单 {} 张（未办结 {}），处理记录 {} 条，生成用时 {wo_secs:.1} 秒",
        orders.orders,
        orders.open(),
        orders.events
    );
    println!(
        "  好差评 {} 条（工单 {}，服务事项 {}），差评整改 {} 件（未结 {}）；满意度调查 {} 份，答卷 {} 份，覆盖村（社区）{}/{}",
        ratings.work_order_ratings + ratings.service_ratings,
        ratings.work_order_ratings,
        ratings.service_ratings,
        ratings.rectifications,
        ratings.open,
        surveys.surveys,
        surveys.responses,
        surveys.villages_answered,
        surveys.villages
    );
    println!(
        "  志愿者 {} 人，队伍 {} 支，服务站 {} 个，活动 {} 场（待开展 {}），已确认服务记录 {} 条；时间银行存入 {} 笔，证明 {} 份",
        volunteers.volunteers,
        volunteers.teams,
        volunteers.stations,
        volunteers.activities,
        volunteers.upcoming,
        volunteers.confirmed,
        bank.deposits,
        bank.certificates
    );
    println!(
        "  探访关爱对象 {} 人（高风险 {}），探访记录 {} 条；辅具租赁点 {} 个，辅具 {} 件，借用 {} 次（逾期 {}）",
        care.subjects,
        care.high,
        care.visits,
        rental.points,
        rental.items,
        rental.loans,
        rental.overdue
    );
    println!(
        "演示登录（密码均为 {}）：",
        if std::env::var("SHEQU_DEMO_PASSWORD").is_ok() {
            "SHEQU_DEMO_PASSWORD 的值"
        } else {
            demo::users::DEFAULT_PASSWORD
        }
    );
    for l in &logins {
        println!(
            "  {:<10} {:<12} {} {}",
            l.username,
            l.role.as_str(),
            l.division,
            l.note
        );
    }
    println!("演示集成密钥（Authorization: Bearer …）：{api_key}");
    Ok(())
}

/// Twelve months of trend for the demo: past months recomputed as of their last day.
async fn backfill_trend(db: &Db, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
    use chrono::{Datelike, Months};
    let this_month = (now + chrono::Duration::hours(8))
        .date_naive()
        .with_day(1)
        .context("日期有误")?;
    for back in (1..12u32).rev() {
        let first = this_month
            .checked_sub_months(Months::new(back))
            .context("日期有误")?;
        let last_day = first
            .checked_add_months(Months::new(1))
            .and_then(|d| d.pred_opt())
            .context("日期有误")?;
        let as_of = last_day
            .and_hms_opt(12, 0, 0)
            .context("日期有误")?
            .and_utc();
        shequ_db::indicators::backfill(db, &first.format("%Y-%m").to_string(), as_of).await?;
    }
    shequ_db::indicators::snapshot(db, &this_month.format("%Y-%m").to_string()).await?;
    Ok(())
}

async fn indicators(cmd: IndicatorsCmd) -> Result<()> {
    match cmd {
        IndicatorsCmd::Recompute { db } => {
            let pool = open(&db.url).await?;
            let t0 = Instant::now();
            let n = shequ_db::indicators::recompute_all(&pool, chrono::Utc::now()).await?;
            println!(
                "已重新计算 {n} 项指标值，用时 {:.1} 秒。",
                t0.elapsed().as_secs_f64()
            );
        }
        IndicatorsCmd::Snapshot { month, db } => {
            let pool = open(&db.url).await?;
            let month = match month {
                Some(m) => {
                    chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
                        .map_err(|_| anyhow::anyhow!("月份应为 YYYY-MM"))?;
                    m
                }
                None => (chrono::Utc::now() + chrono::Duration::hours(8))
                    .format("%Y-%m")
                    .to_string(),
            };
            let n = shequ_db::indicators::snapshot(&pool, &month).await?;
            println!("已保存 {month} 的指标快照：{n} 项。");
        }
    }
    Ok(())
}

async fn add_user(
    db: &Db,
    username: &str,
    role: &str,
    division: Option<&str>,
    name: Option<&str>,
) -> Result<()> {
    let role = shequ_core::Role::parse(role).context("未知角色；可选 admin、security_admin、auditor、city_staff、county_staff、township_staff、community_staff、grid_worker、department_staff、volunteer、resident")?;
    let division = match division {
        Some(d) => DivisionCode::parse(d).map_err(|e| anyhow::anyhow!("区划代码有误：{e}"))?,
        None => root_code(db).await?,
    };
    let password = match std::env::var("SHEQU_PASSWORD") {
        Ok(p) => p,
        Err(_) => prompt_password()?,
    };
    shequ_core::password::check_policy(username, &password)
        .map_err(|e| anyhow::anyhow!("密码不符合规则：{e}"))?;
    let hash = shequ_web::auth::hash(&password)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let u = shequ_db::users::NewUser {
        username: username.into(),
        display_name: name.unwrap_or(username).into(),
        role,
        division,
        password_hash: hash,
    };
    let mut tx = db.begin().await?;
    let id = shequ_db::users::create(
        &mut tx.conn(),
        &shequ_db::scope::Actor::system(),
        &u,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| match e {
        shequ_db::DbError::Invalid(f) => anyhow::anyhow!("{f}"),
        shequ_db::DbError::Conflict(_) => anyhow::anyhow!("用户名 {username} 已存在"),
        other => other.into(),
    })?;
    tx.commit().await?;
    println!("已创建用户 {username}（{}，编号 {id}）", role.label());
    Ok(())
}

fn prompt_password() -> Result<String> {
    use std::io::{BufRead, Write};
    eprint!("请输入密码：");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn verify_audit(db: &Db) -> Result<ExitCode> {
    match shequ_db::audit::verify(&mut db.conn()).await? {
        Ok(n) => {
            println!("审计日志完整：共 {n} 条，哈希链校验通过。");
            Ok(ExitCode::SUCCESS)
        }
        Err(b) => {
            println!("审计日志被破坏：第 {} 条起不一致——{}", b.seq, b.reason);
            Ok(ExitCode::from(1))
        }
    }
}

async fn root_code(db: &Db) -> Result<DivisionCode> {
    let roots = shequ_db::divisions::roots(&mut db.conn()).await?;
    let root = roots
        .first()
        .context("数据库中还没有区划，请先导入区划或运行 shequ demo")?;
    DivisionCode::parse(&root.code).map_err(|e| anyhow::anyhow!("{e}"))
}

async fn add_api_key(db: &Db, name: &str, division: Option<&str>) -> Result<String> {
    let scope = match division {
        Some(d) => DivisionCode::parse(d).map_err(|e| anyhow::anyhow!("区划代码有误：{e}"))?,
        None => {
            let roots = shequ_db::divisions::roots(&mut db.conn()).await?;
            let root = roots
                .first()
                .context("数据库中还没有区划，请先导入区划或运行 shequ demo")?;
            DivisionCode::parse(&root.code).map_err(|e| anyhow::anyhow!("{e}"))?
        }
    };
    let key = config::random_token()?;
    let id =
        shequ_db::api_keys::create(&mut db.conn(), name, &key, &scope, chrono::Utc::now()).await?;
    eprintln!("密钥编号 {id}（吊销：shequ apikey revoke {id}）");
    Ok(key)
}

async fn import_figures(
    db: &Db,
    key: shequ_core::Protector,
    file: &std::path::Path,
) -> Result<ExitCode> {
    let name = file.to_string_lossy();
    let format = shequ_reports::Format::detect(&name).context("只支持 .csv 和 .xlsx 文件")?;
    let bytes = std::fs::read(file).with_context(|| format!("无法读取 {name}"))?;
    let roots = shequ_db::divisions::roots(&mut db.conn()).await?;
    let root = roots.first().context("数据库中还没有区划")?;
    let who = shequ_web::extract::Integration {
        key_id: 0,
        name: "命令行".into(),
        scope: DivisionCode::parse(&root.code).map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let state = shequ_web::AppState::with_system_clock(db.clone(), key).await?;
    let report = shequ_web::api::imports::run(&state, &who, &bytes, format)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.body().error.message))?;
    println!(
        "共 {} 行，导入 {} 行，未导入 {} 行。",
        report.rows,
        report.imported,
        report.errors.len()
    );
    for e in &report.errors {
        println!("  第 {} 行：{}（{}）", e.line, e.reason, e.code);
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
