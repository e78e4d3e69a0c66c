//! The division browser: a node with its breadcrumbs, figures and children;
//! search by name or code; the children as a spreadsheet.

use super::fmt::{class_label, int, kind_label, percent};
use super::{Ctx, Layout, PageError};
use crate::extract::division_code;
use crate::tree::TreeSnapshot;
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shequ_db::divisions::{self, Division};
use shequ_reports::xlsx::{self, Cell};

pub struct Crumb {
    pub code: String,
    pub name: String,
}

pub struct ChildRow {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub population: String,
    pub urban_share: String,
    pub households: String,
    pub children: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "division.html")]
pub struct DivisionPage {
    pub layout: Layout,
    pub crumbs: Vec<Crumb>,
    pub name: String,
    pub code: String,
    pub level_label: &'static str,
    pub kind: &'static str,
    pub class: &'static str,
    pub population: String,
    pub urban_population: String,
    pub urban_share: String,
    pub households: String,
    pub household_size: String,
    pub child_label: &'static str,
    pub children: Vec<ChildRow>,
    pub total: Option<ChildRow>,
    pub mismatch: bool,
    /// Links to this node's monitor and registries, for staff who may see them.
    pub can_indicators: bool,
}

fn child_row(tree: &TreeSnapshot, d: &Division) -> ChildRow {
    ChildRow {
        code: d.code.clone(),
        name: d.name.clone(),
        kind: kind_label(&d.kind),
        population: int(d.population),
        urban_share: percent(d.urban_population, d.population),
        households: int(d.households),
        children: tree.child_count(&d.code),
    }
}

pub async fn page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> Result<DivisionPage, PageError> {
    let code = division_code(&code).map_err(|e| ctx.err(e))?;
    let tree = st.tree.get();
    let d = tree
        .get(code.as_str())
        .ok_or_else(|| ctx.err(AppError::NotFound(format!("区划 {code} 不存在。"))))?;
    let kids = tree.children(Some(code.as_str())).unwrap_or_default();
    let sums = kids.iter().fold((0, 0, 0), |(p, u, h), k| {
        (p + k.population, u + k.urban_population, h + k.households)
    });
    let total = (!kids.is_empty()).then(|| ChildRow {
        code: String::new(),
        name: "合计".into(),
        kind: "",
        population: int(sums.0),
        urban_share: percent(sums.1, sums.0),
        households: int(sums.2),
        children: kids.iter().map(|k| tree.child_count(&k.code)).sum(),
    });
    let mismatch = !kids.is_empty()
        && (sums.0, sums.1, sums.2) != (d.population, d.urban_population, d.households);
    let level = d.level();
    Ok(DivisionPage {
        layout: ctx.layout(d.name.clone(), "divisions"),
        crumbs: tree
            .lineage(&code)
            .into_iter()
            .map(|a| Crumb {
                code: a.code.clone(),
                name: a.name.clone(),
            })
            .collect(),
        name: d.name.clone(),
        code: d.code.clone(),
        level_label: level.label(),
        kind: kind_label(&d.kind),
        class: d.urban_rural_class.as_deref().map_or("", class_label),
        population: int(d.population),
        urban_population: int(d.urban_population),
        urban_share: percent(d.urban_population, d.population),
        households: int(d.households),
        household_size: if d.households > 0 {
            format!("{:.2}", d.population as f64 / d.households as f64)
        } else {
            "—".into()
        },
        child_label: level.child().map_or("", |c| c.label()),
        children: kids.iter().map(|k| child_row(&tree, k)).collect(),
        total,
        mismatch,
        can_indicators: ctx.can(shequ_core::Capability::ReadIndicators),
    })
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    pub q: String,
}

pub struct Hit {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub path: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "search.html")]
pub struct SearchPage {
    pub layout: Layout,
    pub q: String,
    pub hits: Vec<Hit>,
    pub searched: bool,
}

/// Search by name or code; an exact code goes straight to its page.
pub async fn search(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SearchQuery>,
) -> Result<Response, PageError> {
    let text: String = q.q.trim().chars().take(40).collect();
    let tree = st.tree.get();
    if tree.get(&text).is_some() {
        return Ok(Redirect::to(&format!("/divisions/{text}")).into_response());
    }
    let found = if text.is_empty() {
        Vec::new()
    } else {
        divisions::search(&mut st.db.conn(), &text, 100)
            .await
            .map_err(|e| ctx.err(e))?
    };
    let hits = found
        .iter()
        .map(|d| {
            let path = lineage_names(&tree, &d.code);
            Hit {
                code: d.code.clone(),
                name: d.name.clone(),
                kind: kind_label(&d.kind),
                path,
            }
        })
        .collect();
    Ok(SearchPage {
        layout: ctx.layout("查找区划", "divisions"),
        q: text.clone(),
        hits,
        searched: !text.is_empty(),
    }
    .into_response())
}

/// "邵阳市 › 双清区 › 兴隆街道" for the ancestors of `code`.
fn lineage_names(tree: &TreeSnapshot, code: &str) -> String {
    let Ok(c) = shequ_core::DivisionCode::parse(code) else {
        return String::new();
    };
    let names: Vec<&str> = tree.lineage(&c).iter().map(|d| d.name.as_str()).collect();
    names
        .get(..names.len().saturating_sub(1))
        .unwrap_or(&[])
        .join(" › ")
}

/// The children of a node as an xlsx sheet.
pub async fn export(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let code = division_code(&code).map_err(|e| ctx.err(e))?;
    let tree = st.tree.get();
    let d = tree
        .get(code.as_str())
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    let rows: Vec<Vec<Cell>> = tree
        .children(Some(code.as_str()))
        .unwrap_or_default()
        .into_iter()
        .map(|k| {
            vec![
                Cell::Text(k.code.clone()),
                Cell::Text(k.name.clone()),
                Cell::Text(kind_label(&k.kind).into()),
                Cell::Int(k.population),
                Cell::Int(k.urban_population),
                Cell::Int(k.households),
                Cell::Int(tree.child_count(&k.code)),
            ]
        })
        .collect();
    let bytes = xlsx::sheet(
        &format!("{}下级区划", d.name),
        &[
            "区划代码",
            "名称",
            "类型",
            "常住人口",
            "城镇人口",
            "户数",
            "下级数",
        ],
        &rows,
    )
    .map_err(|e| ctx.err(AppError::Internal(e.into())))?;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    );
    let disp = format!("attachment; filename=\"{code}.xlsx\"");
    if let Ok(v) = HeaderValue::from_str(&disp) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
