//! The 三率 page (接诉即办考核): response, resolution and satisfaction rates with
//! the weighted score for a month, ranked per child division or per handling unit,
//! drilling down, and the same table as xlsx.

use super::{Ctx, Layout, PageError};
use crate::api::sanlv::{Line, Report, month_of, report};
use crate::extract::division_code;
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use shequ_core::role::Capability;
use shequ_reports::xlsx::{self, Cell};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workorders/sanlv", get(page))
        .route("/workorders/sanlv.xlsx", get(export))
}

#[derive(Debug, Default, Deserialize)]
pub struct SanlvQuery {
    pub month: Option<String>,
    pub division: Option<String>,
    pub by: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "sanlv/report.html")]
pub struct SanlvPage {
    pub layout: Layout,
    pub r: Report,
    /// Whether rows link down (child divisions above village level).
    pub drill: bool,
    pub query: String,
}

/// "96.5%" or "—".
pub fn pct(v: &Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |x| format!("{:.1}%", x * 100.0))
}

/// "87.3" or "—".
pub fn score(v: &Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |x| format!("{x:.1}"))
}

async fn build(st: &AppState, ctx: &Ctx, q: &SanlvQuery) -> Result<Report, PageError> {
    let (_, scope) = ctx.scope(Capability::ReadIndicators)?;
    let division = match q.division.as_deref().filter(|s| !s.is_empty()) {
        Some(d) => division_code(d).map_err(|e| ctx.err(e))?,
        None => scope.root.clone(),
    };
    let month = month_of(st, q.month.as_deref()).map_err(|e| ctx.err(e))?;
    let by_unit = q.by.as_deref() == Some("unit");
    report(st, &scope, &division, month, by_unit)
        .await
        .map_err(|e| ctx.err(e))
}

pub async fn page(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SanlvQuery>,
) -> Result<SanlvPage, PageError> {
    let r = build(&st, &ctx, &q).await?;
    let drill = r.by == "division" && r.division.len() < 9;
    let query = format!("month={}&division={}&by={}", r.month, r.division, r.by);
    Ok(SanlvPage {
        layout: ctx.layout(format!("{} 三率考核", r.division_name), "workorders"),
        r,
        drill,
        query,
    })
}

fn cells(l: &Line) -> Vec<Cell> {
    vec![
        Cell::Int(i64::try_from(l.rank).unwrap_or(0)),
        Cell::Text(l.key.clone()),
        Cell::Text(l.name.clone()),
        Cell::Int(l.orders),
        Cell::Int(l.dispatched),
        Cell::Text(pct(&l.response)),
        Cell::Text(pct(&l.resolution)),
        Cell::Text(pct(&l.satisfaction)),
        Cell::Text(score(&l.composite)),
        Cell::Int(l.overdue),
        Cell::Int(l.bad),
    ]
}

pub async fn export(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SanlvQuery>,
) -> Result<Response, PageError> {
    let r = build(&st, &ctx, &q).await?;
    let mut rows: Vec<Vec<Cell>> = r.items.iter().map(cells).collect();
    rows.push(cells(&r.total));
    let bytes = xlsx::sheet(
        &format!("{}三率{}", r.division_name, r.month),
        &[
            "排名",
            "代码",
            "名称",
            "受理量",
            "派单量",
            "响应率",
            "解决率",
            "满意率",
            "综合得分",
            "超期",
            "差评",
        ],
        &rows,
    )
    .map_err(|e| ctx.err(AppError::Internal(e.into())))?;
    Ok(super::indicators::xlsx_response(
        bytes,
        &format!("sanlv-{}-{}-{}.xlsx", r.division, r.month, r.by),
    ))
}
