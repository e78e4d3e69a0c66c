//! 驾驶舱 (the dashboard), 短板清单 (gap lists) and the 目标考核 workbook.

use super::{Ctx, Layout, PageError};
use crate::api::indicators::{apply_target, gaps_of, node_in_scope};
use crate::board::{self, IndicatorValue};
use crate::charts::{self, Item};
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use shequ_core::DivisionCode;
use shequ_core::indicators::Catalogue;
use shequ_core::role::Capability;
use shequ_reports::indicators::{ReportRow, workbook};
use shequ_reports::xlsx::{self, Cell};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/indicators", get(dashboard))
        .route("/indicators/report.xlsx", get(report))
        .route("/indicators/{id}/gaps", get(gaps))
        .route("/indicators/{id}/gaps.xlsx", get(gaps_xlsx))
        .route("/indicators/{id}/target", post(target))
}

#[derive(Debug, Default, Deserialize)]
pub struct BoardQuery {
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub focus: String,
    #[serde(default)]
    pub sort: String,
}

pub struct Crumb {
    pub code: String,
    pub name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "indicators/dashboard.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub code: String,
    pub name: String,
    pub crumbs: Vec<Crumb>,
    pub cards: Vec<IndicatorValue>,
    pub met: usize,
    pub measured: usize,
    pub focus: Option<IndicatorValue>,
    pub bars_svg: String,
    pub map_svg: String,
    pub trend_svg: String,
    pub children: Vec<(String, String, String, &'static str)>,
    pub can_set_target: bool,
}

fn crumbs(st: &AppState, code: &DivisionCode, root: &DivisionCode) -> Vec<Crumb> {
    st.tree
        .get()
        .lineage(code)
        .into_iter()
        .filter(|d| d.code.len() >= root.as_str().len())
        .map(|d| Crumb {
            code: d.code.clone(),
            name: d.name.clone(),
        })
        .collect()
}

pub async fn dashboard(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<BoardQuery>,
) -> Result<DashboardPage, PageError> {
    let (_, scope) = ctx.scope(Capability::ReadIndicators)?;
    let code = node_in_scope(&scope, Some(&q.division)).map_err(|e| ctx.err(e))?;
    let name = st
        .tree
        .get()
        .get(code.as_str())
        .map(|d| d.name.clone())
        .ok_or_else(|| ctx.err(AppError::NotFound("区划不存在".into())))?;
    let cards = board::node(&st, &code)
        .await
        .map_err(|e| ctx.err(e))?
        .as_ref()
        .clone();
    let cat = Catalogue::builtin();
    let focus = cards
        .iter()
        .find(|c| c.id == q.focus)
        .or_else(|| cards.iter().find(|c| c.met == Some(false)))
        .or(cards.first())
        .cloned();
    let (mut bars_svg, mut map_svg, mut trend_svg, mut children) =
        (String::new(), String::new(), String::new(), Vec::new());
    if let Some(f) = &focus
        && let Some(ind) = cat.get(&f.id)
    {
        let kids = board::children(&st, &code, ind)
            .await
            .map_err(|e| ctx.err(e))?;
        let items: Vec<Item> = kids
            .iter()
            .map(|(d, v)| Item {
                label: d.name.clone(),
                value: v.value,
                standing: v.standing(),
                href: format!("/indicators?division={}&focus={}", d.code, f.id),
                text: v.value_text(),
                at: d.centroid_lon.zip(d.centroid_lat),
            })
            .collect();
        bars_svg = charts::bars(&items, f.target, &format!("{}：下级对比", f.name));
        map_svg = charts::map(&items, &format!("{}：下级达标地图", f.name));
        let points: Vec<(String, Option<f64>)> =
            shequ_db::indicators::trend(&mut st.db.conn(), &f.id, code.as_str())
                .await
                .map_err(|e| ctx.err(e))?
                .into_iter()
                .map(|(m, n, d)| (m, ind.value(n, d)))
                .collect();
        trend_svg = charts::trend(&points, f.target, &format!("{}：月度趋势", f.name));
        children = kids
            .iter()
            .map(|(d, v)| {
                (
                    d.code.clone(),
                    d.name.clone(),
                    v.value_text(),
                    v.standing().class(),
                )
            })
            .collect();
    }
    Ok(DashboardPage {
        layout: ctx.layout(format!("{name} 规划指标"), "indicators"),
        crumbs: crumbs(&st, &code, &scope.root),
        met: cards.iter().filter(|c| c.met == Some(true)).count(),
        measured: cards.iter().filter(|c| c.met.is_some()).count(),
        can_set_target: ctx.can(Capability::WriteRegistries),
        code: code.to_string(),
        name,
        cards,
        focus,
        bars_svg,
        map_svg,
        trend_svg,
        children,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "indicators/gaps.html")]
pub struct GapsPage {
    pub layout: Layout,
    pub code: String,
    pub name: String,
    pub indicator_id: String,
    pub indicator_name: String,
    pub target_text: String,
    pub rows: Vec<crate::api::indicators::Gap>,
    pub sort: String,
}

pub async fn gaps(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<BoardQuery>,
) -> Result<GapsPage, PageError> {
    let (_, scope) = ctx.scope(Capability::ReadIndicators)?;
    let code = node_in_scope(&scope, Some(&q.division)).map_err(|e| ctx.err(e))?;
    let cat = Catalogue::builtin();
    let ind = cat
        .get(&id)
        .ok_or_else(|| ctx.err(AppError::NotFound("指标不存在".into())))?;
    let mut rows = gaps_of(&st, &code, &id).await.map_err(|e| ctx.err(e))?;
    if q.sort == "name" {
        rows.sort_by(|a, b| a.code.cmp(&b.code));
    }
    let name = st
        .tree
        .get()
        .get(code.as_str())
        .map(|d| d.name.clone())
        .unwrap_or_default();
    let card = board::node(&st, &code)
        .await
        .map_err(|e| ctx.err(e))?
        .iter()
        .find(|c| c.id == id)
        .cloned();
    Ok(GapsPage {
        layout: ctx.layout(format!("{} 短板清单", ind.name), "indicators"),
        code: code.to_string(),
        name,
        indicator_id: id.clone(),
        indicator_name: ind.name.clone(),
        target_text: card.map(|c| c.target_text()).unwrap_or_default(),
        rows,
        sort: q.sort,
    })
}

pub fn xlsx_response(bytes: Vec<u8>, filename: &str) -> Response {
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// The gap list as a spreadsheet.
pub async fn gaps_xlsx(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<BoardQuery>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ReadIndicators)?;
    let code = node_in_scope(&scope, Some(&q.division)).map_err(|e| ctx.err(e))?;
    let rows = gaps_of(&st, &code, &id).await.map_err(|e| ctx.err(e))?;
    let ind = Catalogue::builtin()
        .get(&id)
        .map(|i| i.name.clone())
        .unwrap_or_default();
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|g| {
            let value = g.value.map_or_else(|| "—".into(), |v| format!("{v:.2}"));
            vec![
                Cell::Text(g.code.clone()),
                Cell::Text(g.name.clone()),
                Cell::Text(value),
                Cell::Int(g.numerator),
                Cell::Int(g.denominator),
                Cell::Text(g.shortfall.clone()),
            ]
        })
        .collect();
    let bytes = xlsx::sheet(
        &format!("{ind}短板清单"),
        &["区划代码", "名称", "指标值", "分子", "分母", "差距"],
        &cells,
    )
    .map_err(|e| ctx.err(AppError::Internal(e.into())))?;
    Ok(xlsx_response(bytes, &format!("gaps-{id}-{code}.xlsx")))
}

/// Every indicator for the division and its children, as the bureau hands it upward.
pub async fn report(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<BoardQuery>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ReadIndicators)?;
    let code = node_in_scope(&scope, Some(&q.division)).map_err(|e| ctx.err(e))?;
    let tree = st.tree.get();
    let mut nodes = vec![code.clone()];
    nodes.extend(
        tree.children(Some(code.as_str()))
            .unwrap_or_default()
            .iter()
            .filter_map(|d| DivisionCode::parse(&d.code).ok())
            .filter(|c| c.level() <= shequ_core::Level::Village),
    );
    let mut rows = Vec::new();
    for n in &nodes {
        let name = tree
            .get(n.as_str())
            .map(|d| d.name.clone())
            .unwrap_or_default();
        for v in board::node(&st, n)
            .await
            .map_err(|e| ctx.err(e))?
            .iter()
            .cloned()
        {
            rows.push(ReportRow {
                value: v.value_text(),
                target: v.target_text(),
                met: v.met,
                indicator: v.name,
                clause: v.clause,
                division: name.clone(),
                division_code: n.to_string(),
                numerator_label: v.numerator_label,
                numerator: v.numerator,
                denominator_label: v.denominator_label,
                denominator: v.denominator,
                shortfall: v.shortfall,
            });
        }
    }
    let title = format!(
        "{}城乡社区服务体系建设规划指标考核表",
        tree.get(code.as_str())
            .map(|d| d.name.as_str())
            .unwrap_or("")
    );
    let bytes = workbook(&title, &rows).map_err(|e| ctx.err(AppError::Internal(e.into())))?;
    let ev = shequ_db::audit::Event::new("export", "indicators", code.as_str())
        .division(code.as_str())
        .detail(serde_json::json!({"rows": rows.len()}));
    shequ_db::audit::record(&st.db, &scope.actor, ev, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    Ok(xlsx_response(bytes, &format!("indicators-{code}.xlsx")))
}

#[derive(Debug, Deserialize)]
pub struct TargetForm {
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub csrf: String,
}

/// Set a stricter local target from the dashboard.
pub async fn target(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<TargetForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::WriteRegistries)?;
    let code = node_in_scope(&scope, Some(&f.division)).map_err(|e| ctx.err(e))?;
    let value: f64 = f
        .target
        .trim()
        .parse()
        .map_err(|_| ctx.err(AppError::bad_request("bad_target", "目标值应为数字")))?;
    apply_target(&st, &scope, &id, &code, value)
        .await
        .map_err(|e| ctx.err(e))?;
    Ok(Redirect::to(&format!("/indicators?division={code}&focus={id}")).into_response())
}
