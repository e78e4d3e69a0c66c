//! The division tree over JSON: browse, read, search; grids created, changed and
//! removed by integrations within their subtree.

use super::{List, Paging};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Integration, division_code};
use crate::tree::DivisionView;
use crate::{AppError, AppState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use shequ_core::figures::Figures;
use shequ_core::geo::{Point, validate_polygon};
use shequ_core::{FieldErrors, Level};
use shequ_db::divisions::{self, GridUpdate};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Code of the parent; the city's counties when absent.
    pub parent: Option<String>,
    /// Search by name (contains) or code (prefix) instead of listing children.
    pub q: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// Children of a node (or the city's counties), or a search.
#[utoipa::path(get, path = "/api/v1/divisions", tag = "divisions", params(ListQuery),
    responses(
        (status = 200, description = "One page of nodes", body = List<DivisionView>),
        (status = 400, description = "Malformed code or paging", body = ErrorBody),
        (status = 404, description = "No such parent", body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<List<DivisionView>>> {
    let page = Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let tree = st.tree.get();
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        if text.chars().count() > 40 {
            return Err(AppError::bad_request(
                "bad_search",
                "搜索词不能超过 40 个字",
            ));
        }
        let found = divisions::search(&mut st.db.conn(), text, 200).await?;
        let total = found.len() as i64;
        let items = found
            .iter()
            .skip(page.offset() as usize)
            .take(page.per_page as usize)
            .map(|d| tree.view(d))
            .collect();
        return Ok(Json(List { items, total }));
    }
    let parent = q.parent.as_deref().map(division_code).transpose()?;
    let kids = tree
        .children(parent.as_ref().map(|p| p.as_str()))
        .ok_or_else(|| AppError::NotFound("上级区划不存在".into()))?;
    let total = kids.len() as i64;
    let items = kids
        .into_iter()
        .skip(page.offset() as usize)
        .take(page.per_page as usize)
        .map(|d| tree.view(d))
        .collect();
    Ok(Json(List { items, total }))
}

/// One node.
#[utoipa::path(get, path = "/api/v1/divisions/{code}", tag = "divisions",
    params(("code" = String, Path, description = "Division code")),
    responses(
        (status = 200, description = "The node", body = DivisionView),
        (status = 400, description = "Malformed code", body = ErrorBody),
        (status = 404, description = "No such node", body = ErrorBody)))]
pub async fn get_one(
    State(st): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<Json<DivisionView>> {
    let code = division_code(&code)?;
    let tree = st.tree.get();
    let d = tree
        .get(code.as_str())
        .ok_or_else(|| AppError::NotFound("区划不存在".into()))?;
    Ok(Json(tree.view(d)))
}

/// A grid's fields.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GridInput {
    /// Grid number within its village/community, 1–999 (creation only).
    pub number: Option<u16>,
    pub name: String,
    #[serde(default)]
    pub population: i64,
    #[serde(default)]
    pub urban_population: i64,
    #[serde(default)]
    pub households: i64,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// GeoJSON Polygon geometry.
    #[schema(value_type = Option<Object>)]
    pub polygon: Option<serde_json::Value>,
}

impl GridInput {
    fn into_update(self) -> Result<GridUpdate, AppError> {
        let mut errs = FieldErrors::new();
        let centroid = match (self.lon, self.lat) {
            (Some(lon), Some(lat)) => Point::new(lon, lat).map_err(|e| errs.0.extend(e.0)).ok(),
            (None, None) => None,
            _ => {
                errs.add("lon", "incomplete_point", "经度和纬度须同时提供");
                None
            }
        };
        let polygon = match self.polygon {
            Some(p) => validate_polygon(&p.to_string())
                .map_err(|e| errs.0.extend(e.0))
                .ok(),
            None => None,
        };
        errs.into_result()?;
        Ok(GridUpdate {
            name: self.name,
            figures: Figures {
                population: self.population,
                urban_population: self.urban_population,
                households: self.households,
            },
            centroid,
            polygon,
        })
    }
}

/// Create a grid under a village/community in the caller's subtree.
#[utoipa::path(post, path = "/api/v1/divisions/{code}/grids", tag = "divisions",
    params(("code" = String, Path, description = "Village/community code")),
    request_body = GridInput, security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = DivisionView),
        (status = 400, description = "Malformed input", body = ErrorBody),
        (status = 401, description = "No valid key", body = ErrorBody),
        (status = 403, description = "Outside the caller's subtree", body = ErrorBody),
        (status = 404, description = "No such village", body = ErrorBody),
        (status = 409, description = "Grid number taken", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)))]
pub async fn create_grid(
    State(st): State<AppState>,
    who: Integration,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<GridInput>,
) -> ApiResult<(StatusCode, Json<DivisionView>)> {
    let village = division_code(&code)?;
    who.require_within(&village)?;
    if st.tree.get().get(village.as_str()).is_none() {
        return Err(AppError::NotFound("村（社区）不存在".into()));
    }
    let number = input.number.ok_or_else(|| {
        let mut e = FieldErrors::new();
        e.add("number", "required", "请填写网格编号（1–999）");
        AppError::Validation(e)
    })?;
    let update = input.into_update()?;
    divisions::create_grid(&mut st.db.conn(), &village, number, &update, st.now()).await?;
    st.tree.reload(&st.db).await?;
    let grid = village.grid(number).ok_or_else(AppError::not_found)?;
    let tree = st.tree.get();
    let d = tree.get(grid.as_str()).ok_or_else(AppError::not_found)?;
    Ok((StatusCode::CREATED, Json(tree.view(d))))
}

/// Change a grid's name, figures or location.
#[utoipa::path(put, path = "/api/v1/grids/{code}", tag = "divisions",
    params(("code" = String, Path, description = "Grid code (15 digits)")),
    request_body = GridInput, security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = DivisionView),
        (status = 400, description = "Malformed input", body = ErrorBody),
        (status = 401, description = "No valid key", body = ErrorBody),
        (status = 403, description = "Outside the caller's subtree", body = ErrorBody),
        (status = 404, description = "No such grid", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)))]
pub async fn update_grid(
    State(st): State<AppState>,
    who: Integration,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<GridInput>,
) -> ApiResult<Json<DivisionView>> {
    let grid = grid_code(&code)?;
    who.require_within(&grid)?;
    if input.number.is_some() {
        return Err(AppError::bad_request(
            "number_immutable",
            "网格编号不能修改，请删除后重建",
        ));
    }
    divisions::update_grid(&mut st.db.conn(), &grid, &input.into_update()?, st.now()).await?;
    st.tree.reload(&st.db).await?;
    let tree = st.tree.get();
    let d = tree.get(grid.as_str()).ok_or_else(AppError::not_found)?;
    Ok(Json(tree.view(d)))
}

/// Remove a grid.
#[utoipa::path(delete, path = "/api/v1/grids/{code}", tag = "divisions",
    params(("code" = String, Path, description = "Grid code (15 digits)")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid key", body = ErrorBody),
        (status = 403, description = "Outside the caller's subtree", body = ErrorBody),
        (status = 404, description = "No such grid", body = ErrorBody)))]
pub async fn delete_grid(
    State(st): State<AppState>,
    who: Integration,
    Path(code): Path<String>,
) -> ApiResult<StatusCode> {
    let grid = grid_code(&code)?;
    who.require_within(&grid)?;
    divisions::delete_grid(&mut st.db.conn(), &grid).await?;
    st.tree.reload(&st.db).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn grid_code(s: &str) -> Result<shequ_core::DivisionCode, AppError> {
    let c = division_code(s)?;
    if c.level() != Level::Grid {
        return Err(AppError::bad_request(
            "not_a_grid",
            "这不是网格代码（网格代码为 15 位）",
        ));
    }
    Ok(c)
}
