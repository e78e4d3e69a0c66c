//! Running the HTTP server until Ctrl-C or SIGTERM.

use anyhow::{Context, Result};
use shequ_db::Db;
use shequ_web::AppState;
use std::time::Duration;

/// How often the server looks for division changes made by other processes.
const TREE_POLL: Duration = Duration::from_secs(5);
/// How often cached dashboards check for indicator changes made by other processes.
const INDICATOR_POLL: Duration = Duration::from_secs(1);

pub async fn serve(db: Db, key: shequ_core::Protector, bind: &str) -> Result<()> {
    let state = AppState::with_system_clock(db.clone(), key).await?;
    let _watch = state.tree.watch(db, TREE_POLL);
    let _indicators = state.watch_indicators(INDICATOR_POLL);
    let _jobs = shequ_web::jobs::spawn(
        state.clone(),
        std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(15 * 60),
    );
    let app = shequ_web::router(state);
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("无法监听 {bind}"))?;
    let addr = listener.local_addr()?;
    eprintln!("社区服务平台已启动：http://{addr}/");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
        .context("服务异常退出")
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    eprintln!("正在停止……");
}
