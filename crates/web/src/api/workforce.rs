//! The workforce registry (社区工作者) over JSON: workers, their trainings and
//! csv/xlsx uploads, scoped to the caller's subtree. Reading needs
//! `read_indicators`, writing `write_registries`.

use super::List;
use super::imports::{ImportReport, ImportRowError};
use crate::auth::{ApiUser, scope_for};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, division_code};
use crate::{AppError, AppState};
use axum::Json;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use shequ_core::facility::{WORKER_KINDS, lookup};
use shequ_core::role::Capability;
use shequ_core::{DivisionCode, FieldErrors};
use shequ_db::workforce::{
    self, Filter, ImportRow, TrainingInput, TrainingRow, WorkerDetail, WorkerInput, WorkerRow,
};
use shequ_reports::Table;
use utoipa::{IntoParams, ToSchema};

/// A community worker as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerView {
    pub id: i64,
    /// Village/community code, or township code for street-level staff.
    pub division: String,
    pub name: String,
    /// `committee`, `full_time`, `grid` or `social_worker`.
    pub kind: String,
    /// 两委成员 / 专职社区工作者 / 专职网格员 / 社工.
    pub kind_label: String,
    /// 岗位等级, e.g. 三岗七级.
    pub grade: String,
    /// `none`, `assistant`, `social_worker` or `senior`.
    pub certificate: String,
    pub certificate_label: String,
    pub hire_date: NaiveDate,
    pub mentor_id: Option<i64>,
    pub mentor_name: Option<String>,
    /// False once the worker has left.
    pub active: bool,
}

impl From<&WorkerRow> for WorkerView {
    fn from(w: &WorkerRow) -> Self {
        WorkerView {
            id: w.id,
            division: w.division_code.clone(),
            name: w.name.clone(),
            kind: w.kind.clone(),
            kind_label: w.kind_label().into(),
            grade: w.grade.clone(),
            certificate: w.certificate.clone(),
            certificate_label: w.certificate_label().into(),
            hire_date: w.hire_date,
            mentor_id: w.mentor_id,
            mentor_name: w.mentor_name.clone(),
            active: w.active,
        }
    }
}

/// One training record.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingView {
    pub id: i64,
    pub day: NaiveDate,
    pub topic: String,
    /// Hours, to one decimal.
    pub hours: f64,
}

impl From<&TrainingRow> for TrainingView {
    fn from(t: &TrainingRow) -> Self {
        TrainingView {
            id: t.id,
            day: t.day,
            topic: t.topic.clone(),
            hours: t.hours(),
        }
    }
}

/// A worker with their trainings.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerDetailView {
    #[serde(flatten)]
    pub worker: WorkerView,
    /// Newest first.
    pub trainings: Vec<TrainingView>,
    /// Training hours in the current calendar year.
    pub hours_this_year: f64,
}

fn detail_view(d: &WorkerDetail, year: i32) -> WorkerDetailView {
    WorkerDetailView {
        worker: WorkerView::from(&d.worker),
        trainings: d.trainings.iter().map(TrainingView::from).collect(),
        hours_this_year: d.hours_x10_in(year) as f64 / 10.0,
    }
}

/// A worker's fields as submitted.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWorker {
    /// Village/community code (12 digits), or township code (9) for street-level staff.
    pub division: String,
    pub name: String,
    /// Code or Chinese name: 两委成员, 专职社区工作者, 专职网格员, 社工.
    pub kind: String,
    /// 岗位等级, e.g. 三岗七级 (≤ 20 characters).
    #[serde(default)]
    pub grade: String,
    /// Code or Chinese name; empty means none.
    #[serde(default)]
    pub certificate: String,
    /// YYYY-MM-DD or YYYY/M/D; not in the future, not before 1950.
    pub hire_date: String,
    /// Another active worker of the same township hired at least a year earlier.
    #[serde(default)]
    pub mentor_id: Option<i64>,
    /// On update only: `false` records that the worker has left.
    #[serde(default)]
    pub active: Option<bool>,
}

impl RawWorker {
    /// Parse the fields that have a shape of their own; the store checks the rest.
    pub fn parse(&self) -> Result<WorkerInput, FieldErrors> {
        let mut errs = FieldErrors::new();
        let division = DivisionCode::parse(&self.division)
            .map_err(|e| errs.add("division", e.code(), format!("区划代码有误：{e}")))
            .ok();
        let hire_date = workforce::parse_date(&self.hire_date);
        if hire_date.is_none() {
            errs.add(
                "hire_date",
                "bad_date",
                "入职日期格式应为 YYYY-MM-DD 或 YYYY/M/D",
            );
        }
        match (division, hire_date) {
            (Some(division), Some(hire_date)) if errs.is_empty() => Ok(WorkerInput {
                division,
                name: self.name.clone(),
                kind: self.kind.clone(),
                grade: self.grade.clone(),
                certificate: self.certificate.clone(),
                hire_date,
                mentor_id: self.mentor_id,
            }),
            _ => Err(errs),
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct WorkersQuery {
    /// Limit to this subtree.
    pub division: Option<String>,
    /// Kind code or Chinese name.
    pub kind: Option<String>,
    /// Name contains.
    pub name: Option<String>,
    /// Only active workers in their first year who have no mentor.
    pub first_year_without_mentor: Option<bool>,
    /// Also list workers who have left.
    pub include_inactive: Option<bool>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// Build a store filter, checking every parameter (400 on a bad one).
pub fn filter(st: &AppState, q: &WorkersQuery) -> Result<Filter, AppError> {
    let opt = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let division = opt(&q.division).as_deref().map(division_code).transpose()?;
    let kind = opt(&q.kind);
    if let Some(k) = &kind
        && lookup(&WORKER_KINDS, k).is_none()
    {
        return Err(AppError::bad_request("unknown_kind", "未知的人员类别"));
    }
    Ok(Filter {
        division,
        kind,
        name: opt(&q.name).map(|n| n.chars().take(30).collect()),
        first_year_without_mentor: q
            .first_year_without_mentor
            .unwrap_or(false)
            .then(|| st.now().date_naive()),
        include_inactive: q.include_inactive.unwrap_or(false),
    })
}

/// Community workers in the caller's subtree.
#[utoipa::path(get, path = "/api/v1/workers", tag = "divisions", params(WorkersQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of workers", body = List<WorkerView>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not read the workforce", body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<WorkersQuery>,
) -> ApiResult<Json<List<WorkerView>>> {
    let scope = scope_for(&user, Capability::ReadIndicators)?;
    let page = super::Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let f = filter(&st, &q)?;
    let found = workforce::list(&mut st.db.conn(), &scope, &f, page).await?;
    Ok(Json(List {
        items: found.items.iter().map(WorkerView::from).collect(),
        total: found.total,
    }))
}

/// One worker in the caller's subtree, with trainings (404 outside it).
#[utoipa::path(get, path = "/api/v1/workers/{id}", tag = "divisions", params(("id" = i64, Path, description = "Worker id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The worker", body = WorkerDetailView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not read the workforce", body = ErrorBody),
        (status = 404, description = "No such worker in your area", body = ErrorBody)))]
pub async fn get_one(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<WorkerDetailView>> {
    let scope = scope_for(&user, Capability::ReadIndicators)?;
    let d = workforce::get(&mut st.db.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Json(detail_view(&d, st.now().year())))
}

async fn fetch_view(
    st: &AppState,
    scope: &shequ_db::scope::Scope,
    id: i64,
) -> ApiResult<WorkerDetailView> {
    let d = workforce::get(&mut st.db.conn(), scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(detail_view(&d, st.now().year()))
}

/// Register a community worker.
#[utoipa::path(post, path = "/api/v1/workers", tag = "divisions", request_body = RawWorker, security(("bearer" = [])),
    responses((status = 201, description = "Registered", body = WorkerDetailView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the registry", body = ErrorBody),
        (status = 422, description = "Invalid fields (future hire date, unknown kind, mentor rules, division outside your area…)", body = ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RawWorker>,
) -> ApiResult<(StatusCode, Json<WorkerDetailView>)> {
    let scope = scope_for(&user, Capability::WriteRegistries)?;
    if raw.active == Some(false) {
        let mut e = FieldErrors::new();
        e.add("active", "inactive_create", "不能登记已离岗的人员");
        return Err(AppError::Validation(e));
    }
    let input = raw.parse()?;
    let mut tx = st.db.begin().await?;
    let id = workforce::create(&mut tx.conn(), &scope, &input, st.now()).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(fetch_view(&st, &scope, id).await?),
    ))
}

/// Replace a worker's fields; `"active": false` records that they have left
/// (their mentees lose this mentor).
#[utoipa::path(put, path = "/api/v1/workers/{id}", tag = "divisions", params(("id" = i64, Path, description = "Worker id")),
    request_body = RawWorker, security(("bearer" = [])),
    responses((status = 200, description = "Updated", body = WorkerDetailView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the registry", body = ErrorBody),
        (status = 404, description = "No such worker in your area", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)))]
pub async fn update(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(raw): ApiJson<RawWorker>,
) -> ApiResult<Json<WorkerDetailView>> {
    let scope = scope_for(&user, Capability::WriteRegistries)?;
    let input = raw.parse()?;
    let mut tx = st.db.begin().await?;
    let current = workforce::get(&mut tx.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    if raw.active == Some(true) && !current.worker.active {
        let mut e = FieldErrors::new();
        e.add("active", "reactivate", "已离岗人员不能恢复在岗，请重新登记");
        return Err(AppError::Validation(e));
    }
    workforce::update(&mut tx.conn(), &scope, id, &input, st.now()).await?;
    if raw.active == Some(false) {
        workforce::deactivate(&mut tx.conn(), &scope, id, st.now()).await?;
    }
    tx.commit().await?;
    Ok(Json(fetch_view(&st, &scope, id).await?))
}

/// A training as submitted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTraining {
    /// YYYY-MM-DD or YYYY/M/D; not in the future.
    pub day: String,
    /// ≤ 60 characters.
    pub topic: String,
    /// 0.5–200, at most one decimal.
    pub hours: f64,
}

impl RawTraining {
    pub fn parse(&self) -> Result<TrainingInput, FieldErrors> {
        let mut errs = FieldErrors::new();
        let day = workforce::parse_date(&self.day);
        if day.is_none() {
            errs.add("day", "bad_date", "培训日期格式应为 YYYY-MM-DD 或 YYYY/M/D");
        }
        let tenths = self.hours * 10.0;
        if !tenths.is_finite() || (tenths - tenths.round()).abs() > 1e-6 || tenths.abs() > 1e7 {
            errs.add("hours", "bad_hours", "培训学时最多保留一位小数");
        }
        match day {
            Some(day) if errs.is_empty() => Ok(TrainingInput {
                day,
                topic: self.topic.clone(),
                hours_x10: tenths.round() as i32,
            }),
            _ => Err(errs),
        }
    }
}

/// Record a training of a worker in the caller's subtree.
#[utoipa::path(post, path = "/api/v1/workers/{id}/trainings", tag = "divisions", params(("id" = i64, Path, description = "Worker id")),
    request_body = RawTraining, security(("bearer" = [])),
    responses((status = 201, description = "Recorded", body = TrainingView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the registry", body = ErrorBody),
        (status = 404, description = "No such worker in your area", body = ErrorBody),
        (status = 422, description = "Invalid fields (future date, hours outside 0.5–200…)", body = ErrorBody)))]
pub async fn add_training(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(raw): ApiJson<RawTraining>,
) -> ApiResult<(StatusCode, Json<TrainingView>)> {
    let scope = scope_for(&user, Capability::WriteRegistries)?;
    let input = raw.parse()?;
    let mut tx = st.db.begin().await?;
    let tid = workforce::add_training(&mut tx.conn(), &scope, id, &input, st.now()).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(TrainingView {
            id: tid,
            day: input.day,
            topic: input.topic.trim().to_owned(),
            hours: f64::from(input.hours_x10) / 10.0,
        }),
    ))
}

/// Column names accepted for a workers upload (first one is the canonical header).
const W_DIVISION: [&str; 2] = ["区划代码", "division"];
const W_NAME: [&str; 2] = ["姓名", "name"];
const W_KIND: [&str; 3] = ["类别", "人员类别", "kind"];
const W_GRADE: [&str; 2] = ["岗位等级", "grade"];
const W_CERT: [&str; 3] = ["证书", "职业资格证书", "certificate"];
const W_HIRE: [&str; 2] = ["入职日期", "hire_date"];

/// A date cell: text like 2024-03-05 or 2024/3/5, or an Excel date serial number.
fn cell_date(s: &str) -> String {
    let serial = s.strip_suffix(".0").unwrap_or(s);
    match serial.parse::<i64>() {
        Ok(n) if (1..=2_958_465).contains(&n) => NaiveDate::from_ymd_opt(1899, 12, 30)
            .map(|base| (base + Duration::days(n)).to_string())
            .unwrap_or_default(),
        _ => s.to_owned(),
    }
}

/// Import community workers. Columns: 区划代码, 姓名, 类别 (两委成员, 专职社区工作者,
/// 专职网格员, 社工), 入职日期 (YYYY-MM-DD or YYYY/M/D), and optionally 岗位等级, 证书.
#[utoipa::path(post, path = "/api/v1/imports/workers", tag = "divisions",
    request_body(content = String, description = "csv (UTF-8) or xlsx file", content_type = "text/csv"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Per-row report; good rows were registered", body = ImportReport),
        (status = 400, description = "The file cannot be read", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the registry", body = ErrorBody),
        (status = 413, description = "File too large", body = ErrorBody),
        (status = 415, description = "Not csv or xlsx", body = ErrorBody)))]
pub async fn import(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    body: axum::body::Body,
) -> ApiResult<Json<ImportReport>> {
    let scope = scope_for(&user, Capability::WriteRegistries)?;
    let table = super::imports::read_upload(&headers, body).await?;
    let (rows, mut errors) = parse_rows(&table)?;
    let mut tx = st.db.begin().await?;
    let (imported, refused) =
        workforce::create_many(&mut tx.conn(), &scope, &rows, st.now()).await?;
    tx.commit().await?;
    errors.extend(refused.into_iter().map(|(line, fe)| row_error(line, &fe)));
    errors.sort_by_key(|e| e.line);
    Ok(Json(ImportReport {
        rows: table.rows.len(),
        imported,
        errors,
    }))
}

fn row_error(line: usize, fe: &FieldErrors) -> ImportRowError {
    ImportRowError {
        line,
        code: fe.0.first().map_or("invalid", |e| e.code).to_owned(),
        reason: fe.summary(),
    }
}

/// Rows that parse, and the errors of those that do not.
fn parse_rows(table: &Table) -> ApiResult<(Vec<ImportRow>, Vec<ImportRowError>)> {
    let col = |names: &[&str]| {
        table
            .require(names)
            .map_err(|e| AppError::bad_request(e.code(), e.to_string()))
    };
    let (c_div, c_name, c_kind, c_hire) = (
        col(&W_DIVISION)?,
        col(&W_NAME)?,
        col(&W_KIND)?,
        col(&W_HIRE)?,
    );
    let (c_grade, c_cert) = (table.column(&W_GRADE), table.column(&W_CERT));
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for row in &table.rows {
        let opt = |c: Option<usize>| c.map(|i| row.cell(i).to_owned()).unwrap_or_default();
        let raw = RawWorker {
            division: row.cell(c_div).to_owned(),
            name: row.cell(c_name).to_owned(),
            kind: row.cell(c_kind).to_owned(),
            grade: opt(c_grade),
            certificate: opt(c_cert),
            hire_date: cell_date(row.cell(c_hire)),
            ..Default::default()
        };
        match raw.parse() {
            Ok(input) => good.push(ImportRow {
                line: row.line,
                input,
            }),
            Err(fe) => bad.push(row_error(row.line, &fe)),
        }
    }
    Ok((good, bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_serial_dates() {
        assert_eq!(cell_date("45292"), "2024-01-01");
        assert_eq!(cell_date("2024/3/5"), "2024/3/5");
        let raw = RawTraining {
            day: "2025-01-02".into(),
            topic: "应急处置".into(),
            hours: 2.25,
        };
        assert!(raw.parse().is_err());
    }
}
