//! Background work of a serving process: escalating orders near or past their
//! deadlines, keeping the monthly 三率 aggregate and the service indicators
//! current, and sending queued text messages through the SMS gateway.

use crate::AppState;
use chrono::{Datelike, Duration};
use shequ_db::workorders::notify::{LoggingGateway, SmsGateway};
use shequ_db::workorders::{escalation, monthly};
use std::sync::Arc;

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub due_soon: usize,
    pub overdue: usize,
    pub monthly_rows: usize,
    pub sms_sent: usize,
    /// Care visits newly noticed as overdue.
    pub care_overdue: usize,
}

/// One round of every job; also what tests call to move time along.
pub async fn run_once(st: &AppState, gateway: &dyn SmsGateway) -> Result<Round, shequ_db::DbError> {
    let now = st.now();
    let mut round = Round::default();
    loop {
        let mut tx = st.db.begin().await?;
        let r = escalation::run(&mut tx.conn(), now, 500).await?;
        tx.commit().await?;
        round.due_soon += r.due_soon;
        round.overdue += r.overdue;
        if r.due_soon < 500 && r.overdue < 500 {
            break;
        }
    }
    let today = (now + Duration::hours(8)).date_naive();
    let mut months = vec![today];
    if today.day() <= 7 {
        months.push(today - Duration::days(10));
    }
    for m in months {
        let mut tx = st.db.begin().await?;
        round.monthly_rows += monthly::refresh(&mut tx.conn(), m, now).await?;
        tx.commit().await?;
    }
    {
        let mut tx = st.db.begin().await?;
        round.care_overdue = shequ_db::care::notify_overdue(&mut tx.conn(), now).await?;
        tx.commit().await?;
    }
    round.sms_sent =
        shequ_db::workorders::notify::drain_outbox(&mut st.db.conn(), &st.key, gateway, 200, now)
            .await?;
    Ok(round)
}

/// Run the jobs every `every`, and recompute the indicators every `indicators_every`.
pub fn spawn(
    st: AppState,
    every: std::time::Duration,
    indicators_every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    let gateway: Arc<dyn SmsGateway> = Arc::new(LoggingGateway);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        let mut last_indicators = tokio::time::Instant::now();
        loop {
            tick.tick().await;
            match run_once(&st, gateway.as_ref()).await {
                Ok(r) if r.due_soon + r.overdue > 0 => {
                    tracing::info!(due_soon = r.due_soon, overdue = r.overdue, "工单预警与督办");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "background jobs failed"),
            }
            if last_indicators.elapsed() >= indicators_every {
                last_indicators = tokio::time::Instant::now();
                if let Err(e) = shequ_db::indicators::store::recompute_all(&st.db, st.now()).await {
                    tracing::warn!(error = %e, "indicator recomputation failed");
                }
            }
        }
    })
}
