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
        /// Serve the database after loading it.
        #[arg(long)]
        serve: bool,
        #[arg(long, env = "SHEQU_BIND", default_value = DEFAULT_BIND)]
        bind: String,
    },
    /// Print the OpenAPI document and exit.
    Openapi,
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
            config::secret_key(&db.url)?;
            crate::serve::serve(open(&db.url).await?, &bind).await?;
        }
        Command::Migrate { db } => {
            open(&db.url).await?;
            println!("数据库已是最新结构。");
        }
        Command::Demo {
            db,
            scale,
            seed,
            serve,
            bind,
        } => {
            config::secret_key(&db.url)?;
            let pool = open(&db.url).await?;
            load_demo(&pool, scale, seed).await?;
            if serve {
                crate::serve::serve(pool, &bind).await?;
            }
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
            eprintln!("密钥只显示这一次，请妥善保存。");
        }
        Command::Import {
            cmd: ImportCmd::DivisionFigures { file, db },
        } => {
            let pool = open(&db.url).await?;
            return import_figures(&pool, &file).await;
        }
        Command::Bench { cmd } => crate::bench::run(cmd).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn load_demo(db: &Db, scale: ScaleArg, seed: u64) -> Result<()> {
    let scale = match scale {
        ScaleArg::Small => Scale::Small,
        ScaleArg::City => Scale::City,
    };
    let started = Instant::now();
    let s = demo::load(db, scale, seed, chrono::Utc::now()).await?;
    let key = add_api_key(db, "演示集成密钥", None).await?;
    println!(
        "演示数据已载入（{}，种子 {seed}），用时 {:.1} 秒：",
        scale.as_str(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "  区划节点 {} 个，其中村（社区）{} 个、网格 {} 个",
        s.divisions, s.villages, s.grids
    );
    println!("  常住人口 {} 人，{} 户", s.population, s.households);
    println!("演示集成密钥（Authorization: Bearer …）：{key}");
    Ok(())
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
    shequ_db::api_keys::create(&mut db.conn(), name, &key, &scope, chrono::Utc::now()).await?;
    Ok(key)
}

async fn import_figures(db: &Db, file: &std::path::Path) -> Result<ExitCode> {
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
    let state = shequ_web::AppState::with_system_clock(db.clone()).await?;
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
