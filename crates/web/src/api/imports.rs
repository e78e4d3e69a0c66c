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

/// Read an uploaded csv/xlsx body (up to [`IMPORT_LIMIT`], more than the default
/// body limit) and tell its format from the content type: 413, 415 or 400 otherwise.
pub async fn read_file(headers: &HeaderMap, body: axum::body::Body) -> ApiResult<(Bytes, Format)> {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = Format::detect(ctype).ok_or_else(|| {
        AppError::UnsupportedMediaType("请上传 CSV（text/csv）或 xlsx 文件".into())
    })?;
    let bytes = axum::body::to_bytes(body, IMPORT_LIMIT)
        .await
        .map_err(|_| AppError::PayloadTooLarge)?;
    Ok((bytes, format))
}

/// The uploaded file as a table.
pub async fn read_upload(headers: &HeaderMap, body: axum::body::Body) -> ApiResult<Table> {
    let (bytes, format) = read_file(headers, body).await?;
    Table::read(&bytes, format).map_err(|e| AppError::bad_request(e.code(), e.to_string()))
}

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
    body: axum::body::Body,
) -> ApiResult<Json<ImportReport>> {
    let (body, format) = read_file(&headers, body).await?;
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

/// Column names accepted for a people upload (first one is the canonical header).
const P_NAME: [&str; 2] = ["姓名", "name"];
const P_ID: [&str; 3] = ["身份证号", "公民身份号码", "id_number"];
const P_DIVISION: [&str; 3] = ["区划代码", "所在村（社区）或网格代码", "division"];
const P_PHONE: [&str; 3] = ["手机号", "联系电话", "phone"];
const P_ADDRESS: [&str; 2] = ["地址", "address"];
const P_RELATION: [&str; 2] = ["与户主关系", "relation"];
const P_TAGS: [&str; 2] = ["人群标签", "tags"];

/// Import residents. Columns: 姓名, 身份证号, 区划代码 (village or grid), and
/// optionally 手机号, 地址, 与户主关系, 人群标签 (separated by 、 or ,).
#[utoipa::path(post, path = "/api/v1/imports/people", tag = "people",
    request_body(content = String, description = "csv (UTF-8) or xlsx file", content_type = "text/csv"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Per-row report; good rows were registered", body = ImportReport),
        (status = 400, description = "The file cannot be read", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not register residents", body = ErrorBody),
        (status = 415, description = "Not csv or xlsx", body = ErrorBody)))]
pub async fn people(
    State(st): State<AppState>,
    crate::auth::ApiUser(user): crate::auth::ApiUser,
    headers: HeaderMap,
    body: axum::body::Body,
) -> ApiResult<Json<ImportReport>> {
    let scope = crate::auth::scope_for(&user, shequ_core::role::Capability::WritePeople)?;
    let table = read_upload(&headers, body).await?;
    let col = |names: &[&str]| {
        table
            .require(names)
            .map_err(|e| AppError::bad_request(e.code(), e.to_string()))
    };
    let (c_name, c_id, c_div) = (col(&P_NAME)?, col(&P_ID)?, col(&P_DIVISION)?);
    let opt = |names: &[&str]| table.column(names);
    let (c_phone, c_addr, c_rel, c_tags) = (
        opt(&P_PHONE),
        opt(&P_ADDRESS),
        opt(&P_RELATION),
        opt(&P_TAGS),
    );
    let today = st.now().date_naive();
    let mut errors = Vec::new();
    let mut imported = 0;
    let mut tx = st.db.begin().await?;
    for row in &table.rows {
        let cell = |c: Option<usize>| c.map(|i| row.cell(i).to_owned()).filter(|s| !s.is_empty());
        let raw = crate::person_input::RawPerson {
            division: row.cell(c_div).to_owned(),
            name: row.cell(c_name).to_owned(),
            id_number: row.cell(c_id).to_owned(),
            phone: cell(c_phone),
            address: cell(c_addr),
            household_id: None,
            relation: cell(c_rel),
            tags: cell(c_tags)
                .map(|t| {
                    t.split(['、', ',', '，', ';', '；'])
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        };
        let refused = |code: &str, reason: String| ImportRowError {
            line: row.line,
            code: code.to_owned(),
            reason,
        };
        let input = match raw.parse(today) {
            Ok(i) => i,
            Err(fe) => {
                errors.push(refused(
                    fe.0.first().map_or("invalid", |e| e.code),
                    fe.summary(),
                ));
                continue;
            }
        };
        match shequ_db::people::create(&mut tx.conn(), &scope, &st.key, &input, st.now()).await {
            Ok(_) => imported += 1,
            Err(shequ_db::DbError::Invalid(fe)) => errors.push(refused(
                fe.0.first().map_or("invalid", |e| e.code),
                fe.summary(),
            )),
            Err(e) => return Err(e.into()),
        }
    }
    tx.commit().await?;
    Ok(Json(ImportReport {
        rows: table.rows.len(),
        imported,
        errors,
    }))
}
