//! Uploads: division figures from csv or xlsx, with a per-row report.

use crate::error::{ApiResult, ErrorBody};
use crate::extract::Integration;
use crate::{AppError, AppState};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use serde::Serialize;
use shequ_db::divisions::{self, FiguresUpdate};
use shequ_reports::{Format, Table, division_figures};
use utoipa::ToSchema;

/// Largest upload accepted.
pub const IMPORT_LIMIT: usize = 20 * 1024 * 1024;

/// What an import did: rows that landed and rows refused, with reasons.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    pub rows: usize,
    pub imported: usize,
    pub errors: Vec<ImportRowError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRowError {
    /// Row number in the file (the header is row 1).
    pub line: usize,
    pub code: String,
    pub reason: String,
}

/// Import population and household figures. The body is the file itself,
/// `Content-Type: text/csv` or the xlsx type. Columns: 区划代码, 常住人口, 户数,
/// and optionally 城镇人口 and 名称 (checked against the stored name).
#[utoipa::path(post, path = "/api/v1/imports/division-figures", tag = "divisions",
    request_body(content = String, description = "csv (UTF-8) or xlsx file",
        content_type = "text/csv"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Per-row report; good rows were applied", body = ImportReport),
        (status = 400, description = "The file cannot be read", body = ErrorBody),
        (status = 401, description = "No valid key", body = ErrorBody),
        (status = 413, description = "File too large", body = ErrorBody),
        (status = 415, description = "Not csv or xlsx", body = ErrorBody)))]
pub async fn division_figures(
    State(st): State<AppState>,
    who: Integration,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<ImportReport>> {
    let body = body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::bad_request("bad_body", "无法读取上传内容")
        }
    })?;
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = Format::detect(ctype).ok_or_else(|| {
        AppError::UnsupportedMediaType("请上传 CSV（text/csv）或 xlsx 文件".into())
    })?;
    let report = run(&st, &who, &body, format).await?;
    Ok(Json(report))
}

/// Parse, check and apply; shared with the CLI importer through [`shequ_db`].
pub async fn run(
    st: &AppState,
    who: &Integration,
    bytes: &[u8],
    format: Format,
) -> ApiResult<ImportReport> {
    let table =
        Table::read(bytes, format).map_err(|e| AppError::bad_request(e.code(), e.to_string()))?;
    let (good, bad) = division_figures::parse(&table)
        .map_err(|e| AppError::bad_request(e.code(), e.to_string()))?;
    let updates: Vec<FiguresUpdate> = good
        .into_iter()
        .map(|r| FiguresUpdate {
            line: r.line,
            code: r.code,
            name: r.name,
            figures: r.figures,
        })
        .collect();
    let (imported, refused) =
        divisions::import_figures(&st.db, &who.scope, &updates, st.now()).await?;
    st.tree.reload(&st.db).await?;
    let mut errors: Vec<ImportRowError> = bad
        .into_iter()
        .map(|e| ImportRowError {
            line: e.line,
            code: e.code.into(),
            reason: e.reason,
        })
        .chain(refused.into_iter().map(|e| ImportRowError {
            line: e.line,
            code: e.code.into(),
            reason: e.reason,
        }))
        .collect();
    errors.sort_by_key(|e| e.line);
    Ok(ImportReport {
        rows: table.rows.len(),
        imported,
        errors,
    })
}
