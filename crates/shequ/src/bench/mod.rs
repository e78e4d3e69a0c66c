//! `shequ bench …`: each benchmark prints its figures beside the peer or limit
//! measured in the same run.

mod api;
mod care;
mod indicators;
pub mod load;
mod people;
mod workorders;

use anyhow::Result;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Division API throughput and latency beside a bare axum handler.
    Api {
        /// Seconds of load per target.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Concurrent keep-alive connections.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Use this database instead of building the city demo in a temporary file.
        #[arg(long)]
        db: Option<String>,
    },
    /// Indicator recomputation, the dashboard API beside a bare handler, update latency.
    Indicators {
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        #[arg(long, default_value_t = 64)]
        connections: usize,
    },
    /// Resident search and listing at city scale, and the cost of decryption.
    People {
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Residents to generate.
        #[arg(long, default_value_t = 500_000)]
        people: usize,
    },
    /// Durable work-order intake (native API, Open311) beside direct store writes; workbench and 三率 reads at city scale.
    Workorders {
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Use this database (the demo is loaded first when it is empty) instead of a temporary SQLite file.
        #[arg(long)]
        db: Option<String>,
        /// Build the one-district demo instead of the city.
        #[arg(long)]
        small: bool,
        /// Intake only: skip the workbench and 三率 reads.
        #[arg(long)]
        skip_reads: bool,
    },
    /// The whole roster's monthly visit plan, and the visit-rate dashboard API beside a bare handler.
    Care {
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Use this database (demo data is loaded first when it is empty) instead of a temporary SQLite file.
        #[arg(long)]
        db: Option<String>,
        /// `city` (default) or `small` (one district).
        #[arg(long, value_enum, default_value = "city")]
        scale: crate::cli::ScaleArg,
        /// Residents to generate (default 500,000 for the city, 5,000 for one district).
        #[arg(long)]
        people: Option<usize>,
    },
}

pub async fn run(cmd: BenchCmd) -> Result<()> {
    match cmd {
        BenchCmd::Api {
            seconds,
            connections,
            db,
        } => api::run(seconds, connections, db).await,
        BenchCmd::Indicators {
            seconds,
            connections,
        } => indicators::run(seconds, connections).await,
        BenchCmd::People {
            seconds,
            connections,
            people: n,
        } => people::run(seconds, connections, n).await,
        BenchCmd::Workorders {
            seconds,
            connections,
            db,
            small,
            skip_reads,
        } => {
            workorders::run(workorders::Options {
                seconds,
                connections,
                db,
                small,
                skip_reads,
            })
            .await
        }
        BenchCmd::Care {
            seconds,
            connections,
            db,
            scale,
            people,
        } => {
            care::run(care::Options {
                seconds,
                connections,
                db,
                scale,
                people,
            })
            .await
        }
    }
}
