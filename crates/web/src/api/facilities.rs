//! The facility registry over JSON: facilities with their spaces, functions,
//! hours, exceptions and terminals; division attributes; csv/xlsx import.
//! Reading needs `ReadIndicators`, writing `WriteRegistries`, both within the
//! caller's subtree.

use super::List;
use super::imports::{ImportReport, ImportRowError};
use crate::auth::{ApiUser, scope_for};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, division_code};
use crate::{AppError, AppState};
use axum::Json;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shequ_core::facility::{FunctionCode, Interval, format_minutes, parse_span};
use shequ_core::geo::Point;
use shequ_core::role::Capability;
use shequ_core::{DivisionCode, FieldErrors};
use shequ_db::facilities::{
    self, DivisionAttributes, ExceptionInput, Facility, FacilityInput, Filter, FunctionInput,
    Purpose, SpaceInput, Status, TerminalInput, format_area, m2_to_x100,
};
use shequ_reports::Table;
use utoipa::{IntoParams, ToSchema};

/// Square metres with two decimals, from hundredths.
fn m2(x100: i64) -> f64 {
    x100 as f64 / 100.0
}

/// A space (room) of a facility.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpaceBody {
    pub name: String,
    /// `activity` (活动用房) or `office` (办公用房).
    pub purpose: String,
    /// Area in m².
    pub area: f64,
}

/// A function the facility hosts.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FunctionBody {
    /// A code such as `day_care`, its Chinese name, or a name of your own.
    pub code: String,
    /// Land area in m², only for elderly-care functions.
    #[serde(default)]
    pub land_area: Option<f64>,
}

/// Opening hours on one weekday.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursBody {
    /// 1 (Monday) … 7 (Sunday).
    pub weekday: u8,
    /// "08:30-17:30".
    pub span: String,
}

/// A day with other hours than the weekly schedule.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionBody {
    pub day: NaiveDate,
    /// Hours that day ("09:00-12:00"); absent or null when closed.
    #[serde(default)]
    pub span: Option<String>,
    #[serde(default)]
    pub note: String,
}

/// A facility's fields as a client sends them; lists replace the stored ones.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FacilityBody {
    /// Village/community (12 digits) or township (9 digits) code.
    pub division: String,
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub lat: Option<f64>,
    /// Floor area in m².
    pub floor_area: f64,
    /// `in_use` (default), `building` or `closed`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub year_built: Option<i32>,
    /// Open online around the clock (24 小时线上服务).
    #[serde(default)]
    pub online_24h: bool,
    #[serde(default)]
    pub spaces: Vec<SpaceBody>,
    #[serde(default)]
    pub functions: Vec<FunctionBody>,
    #[serde(default)]
    pub hours: Vec<HoursBody>,
    #[serde(default)]
    pub exceptions: Vec<ExceptionBody>,
}

/// An area field as hundredths, or an error on `field`.
fn area_field(errs: &mut FieldErrors, field: &str, m2: f64) -> i64 {
    m2_to_x100(m2).unwrap_or_else(|| {
        errs.add(field, "bad_area", "面积应为数字（平方米）");
        0
    })
}

/// An opening span, or an error on `field`.
fn span_field(errs: &mut FieldErrors, field: &str, s: &str) -> Option<(u16, u16)> {
    let span = parse_span(s);
    if span.is_none() {
        errs.add(
            field,
            "bad_hours",
            format!(
                "开放时间“{}”有误，应为开始早于结束，例如 08:30-17:30",
                s.chars().take(20).collect::<String>()
            ),
        );
    }
    span
}

/// A point from optional longitude and latitude (both or neither).
pub fn point(errs: &mut FieldErrors, lon: Option<f64>, lat: Option<f64>) -> Option<Point> {
    match (lon, lat) {
        (Some(lon), Some(lat)) => Point::new(lon, lat).map_err(|e| errs.0.extend(e.0)).ok(),
        (None, None) => None,
        _ => {
            errs.add("lon", "incomplete_point", "经度和纬度须同时提供");
            None
        }
    }
}

/// A function by code or name, or an error.
pub fn function_field(errs: &mut FieldErrors, s: &str, land_x100: i64) -> Option<FunctionInput> {
    match FunctionCode::parse(s) {
        Some(code) => Some(FunctionInput {
            code,
            land_area_x100: land_x100,
        }),
        None => {
            errs.add(
                "functions",
                "bad_function",
                format!(
                    "功能“{}”有误：名称应为 1–20 个字，不含特殊符号",
                    s.chars().take(20).collect::<String>()
                ),
            );
            None
        }
    }
}

/// The status by code or label; in use when empty.
pub fn status_field(errs: &mut FieldErrors, s: Option<&str>) -> Status {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Status::InUse,
        Some(s) => Status::parse(s).unwrap_or_else(|| {
            errs.add("status", "bad_status", "状态应为 在用、在建 或 停用");
            Status::InUse
        }),
    }
}

impl FacilityBody {
    /// Check every field that can be checked without the store.
    pub fn parse(&self) -> Result<FacilityInput, FieldErrors> {
        let mut errs = FieldErrors::new();
        let division = DivisionCode::parse(&self.division)
            .map_err(|e| errs.add("division", e.code(), format!("区划代码有误：{e}")))
            .ok();
        let location = point(&mut errs, self.lon, self.lat);
        let floor_area_x100 = area_field(&mut errs, "floor_area", self.floor_area);
        let status = status_field(&mut errs, self.status.as_deref());
        let spaces = self.spaces(&mut errs);
        let functions = self.functions(&mut errs);
        let hours = self.hours(&mut errs);
        let exceptions = self.exceptions(&mut errs);
        errs.into_result()?;
        let division = division.ok_or_else(FieldErrors::new)?;
        Ok(FacilityInput {
            division,
            name: self.name.clone(),
            address: self.address.clone(),
            location,
            floor_area_x100,
            status,
            year_built: self.year_built,
            online_24h: self.online_24h,
            spaces,
            functions,
            hours,
            exceptions,
        })
    }

    fn spaces(&self, errs: &mut FieldErrors) -> Vec<SpaceInput> {
        self.spaces
            .iter()
            .map(|s| {
                let purpose = Purpose::parse(&s.purpose).unwrap_or_else(|| {
                    errs.add("spaces", "bad_purpose", "用途应为 活动用房 或 办公用房");
                    Purpose::Activity
                });
                SpaceInput {
                    name: s.name.clone(),
                    purpose,
                    area_x100: area_field(errs, "spaces", s.area),
                }
            })
            .collect()
    }

    fn functions(&self, errs: &mut FieldErrors) -> Vec<FunctionInput> {
        self.functions
            .iter()
            .filter_map(|f| {
                let land = f.land_area.map_or(0, |a| area_field(errs, "functions", a));
                function_field(errs, &f.code, land)
            })
            .collect()
    }

    fn hours(&self, errs: &mut FieldErrors) -> Vec<Interval> {
        self.hours
            .iter()
            .filter_map(|h| {
                span_field(errs, "hours", &h.span).map(|(opens, closes)| Interval {
                    weekday: h.weekday,
                    opens,
                    closes,
                })
            })
            .collect()
    }

    fn exceptions(&self, errs: &mut FieldErrors) -> Vec<ExceptionInput> {
        self.exceptions
            .iter()
            .map(|e| ExceptionInput {
                day: e.day,
                hours: e
                    .span
                    .as_deref()
                    .filter(|s| !s.trim().is_empty())
                    .and_then(|s| span_field(errs, "exceptions", s)),
                note: e.note.clone(),
            })
            .collect()
    }
}

/// A space as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpaceView {
    pub id: i64,
    pub name: String,
    pub purpose: String,
    /// m².
    pub area: f64,
}

/// A hosted function as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FunctionView {
    pub code: String,
    pub label: String,
    /// Land area in m² (elderly-care functions).
    pub land_area: f64,
}

/// One opening span on a weekday.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoursView {
    pub weekday: u8,
    pub span: String,
}

/// A holiday exception as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExceptionView {
    pub day: NaiveDate,
    /// Null when closed that day.
    pub span: Option<String>,
    pub note: String,
}

/// A self-service terminal as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TerminalView {
    pub id: i64,
    pub facility_id: i64,
    pub serial: String,
    pub model: String,
    pub last_seen_at: Option<DateTime<Utc>>,
}

impl From<&facilities::TerminalRow> for TerminalView {
    fn from(t: &facilities::TerminalRow) -> Self {
        TerminalView {
            id: t.id,
            facility_id: t.facility_id,
            serial: t.serial.clone(),
            model: t.model.clone(),
            last_seen_at: t.last_seen_at,
        }
    }
}

/// A facility as the API shows it; areas in m².
#[derive(Debug, Serialize, ToSchema)]
pub struct FacilityView {
    pub id: i64,
    pub division: String,
    pub name: String,
    pub address: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub floor_area: f64,
    pub status: String,
    pub year_built: Option<i32>,
    pub online_24h: bool,
    pub spaces: Vec<SpaceView>,
    pub functions: Vec<FunctionView>,
    pub hours: Vec<HoursView>,
    pub exceptions: Vec<ExceptionView>,
    pub terminals: Vec<TerminalView>,
    /// Total area of activity spaces, m².
    pub activity_area: f64,
    /// Activity area over floor area (0–1); null without a floor area.
    pub activity_share: Option<f64>,
    /// Mean opening hours per day over the week.
    pub mean_daily_hours: f64,
    pub updated_at: DateTime<Utc>,
}

fn span_text(o: Option<i32>, c: Option<i32>) -> Option<String> {
    let fmt = |m: i32| format_minutes(u16::try_from(m).unwrap_or(0));
    Some(format!("{}-{}", fmt(o?), fmt(c?)))
}

impl From<&Facility> for FacilityView {
    fn from(f: &Facility) -> Self {
        let r = &f.row;
        FacilityView {
            id: r.id,
            division: r.division_code.clone(),
            name: r.name.clone(),
            address: r.address.clone(),
            lon: r.lon,
            lat: r.lat,
            floor_area: m2(r.floor_area_x100),
            status: r.status.clone(),
            year_built: r.year_built,
            online_24h: r.online_24h,
            spaces: f
                .spaces
                .iter()
                .map(|s| SpaceView {
                    id: s.id,
                    name: s.name.clone(),
                    purpose: s.purpose.clone(),
                    area: m2(s.area_x100),
                })
                .collect(),
            functions: f
                .functions
                .iter()
                .map(|x| FunctionView {
                    code: x.function_code.clone(),
                    label: x.label(),
                    land_area: m2(x.land_area_x100),
                })
                .collect(),
            hours: f
                .hours
                .iter()
                .map(|h| HoursView {
                    weekday: h.weekday,
                    span: format!("{}-{}", format_minutes(h.opens), format_minutes(h.closes)),
                })
                .collect(),
            exceptions: f
                .exceptions
                .iter()
                .map(|e| ExceptionView {
                    day: e.day,
                    span: span_text(e.opens_min, e.closes_min),
                    note: e.note.clone(),
                })
                .collect(),
            terminals: f.terminals.iter().map(TerminalView::from).collect(),
            activity_area: m2(f.area_x100(Purpose::Activity)),
            activity_share: f.activity_share(),
            mean_daily_hours: (f.mean_daily_hours() * 100.0).round() / 100.0,
            updated_at: r.updated_at,
        }
    }
}

/// `?division=&function=&q=&status=&page=&per_page=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct FacilityQuery {
    /// Limit to this subtree.
    pub division: Option<String>,
    /// Function code or Chinese name.
    pub function: Option<String>,
    /// Name contains.
    pub q: Option<String>,
    /// `in_use`, `building` or `closed`.
    pub status: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// Build a store filter, checking every parameter (400 on a bad one).
pub fn filter(q: &FacilityQuery) -> Result<Filter, AppError> {
    let opt = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let division = opt(&q.division).as_deref().map(division_code).transpose()?;
    let function = match opt(&q.function) {
        Some(f) => Some(
            FunctionCode::parse(&f)
                .ok_or_else(|| AppError::bad_request("bad_function", "功能名称有误"))?,
        ),
        None => None,
    };
    let status = match opt(&q.status) {
        Some(s) => Some(Status::parse(&s).ok_or_else(|| {
            AppError::bad_request("bad_status", "状态应为 in_use、building 或 closed")
        })?),
        None => None,
    };
    Ok(Filter {
        division,
        function,
        name: opt(&q.q).map(|n| n.chars().take(60).collect()),
        status,
    })
}

/// Facilities in the caller's subtree.
#[utoipa::path(get, path = "/api/v1/facilities", tag = "divisions", params(FacilityQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of facilities", body = List<FacilityView>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not read the registry", body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<FacilityQuery>,
) -> ApiResult<Json<List<FacilityView>>> {
    let scope = scope_for(&user, Capability::ReadIndicators)?;
    let page = super::Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let found = facilities::list(&mut st.db.conn(), &scope, &filter(&q)?, page).await?;
    Ok(Json(List {
        items: found.items.iter().map(FacilityView::from).collect(),
        total: found.total,
    }))
}

/// One facility in the caller's subtree (404 outside it).
#[utoipa::path(get, path = "/api/v1/facilities/{id}", tag = "divisions",
    params(("id" = i64, Path, description = "Facility id")), security(("bearer" = [])),
    responses((status = 200, description = "The facility", body = FacilityView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such facility in your area", body = ErrorBody)))]
pub async fn get_one(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<FacilityView>> {
    let scope = scope_for(&user, Capability::ReadIndicators)?;
    let f = facilities::get(&mut st.db.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Json(FacilityView::from(&f)))
}

/// Register a facility.
#[utoipa::path(post, path = "/api/v1/facilities", tag = "divisions", request_body = FacilityBody, security(("bearer" = [])),
    responses((status = 201, description = "Registered", body = FacilityView),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the registry", body = ErrorBody),
        (status = 422, description = "Invalid fields (areas, hours, division outside your area…)", body = ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(body): ApiJson<FacilityBody>,
) -> ApiResult<(StatusCode, Json<FacilityView>)> {
    let scope = scope_for(&user, Capability::WriteRegistries)?;
    let input = body.parse()?;
    let mut tx = st.db.begin().await?;
    let id = facilities::create(&mut tx.conn(), &scope, &input, st.now()).await?;
    tx.commit().await?;
    let f = facilities::get(&mut st.db.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok((StatusCode::CREATED, Json(FacilityView::from(&f))))
}

/// Replace a facility's fields, spaces, functions, hours and exceptions.
#[utoipa::path(put, path = "/api/v1/facilities/{id}", tag = "divisions",
    params(("id" = i64, Path, description = "Facility id")),
    request_body = FacilityBody, security(("bearer" = [])),
    responses((status = 200, description = "Updated", body = FacilityView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the registry", body = ErrorBody),
        (status = 404, description = "No such facility in your area", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)))]
pub async fn update(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<FacilityBody>,
) -> ApiResult<Json<FacilityView>> {
    let scope = scope_for(&user, Capability::WriteRegistries)?;
    let input = body.parse()?;
    let mut tx = st.db.begin().await?;
    facilities::update(&mut tx.conn(), &scope, id, &input, st.now()).await?;
    tx.commit().await?;
    let f = facilities::get(&mut st.db.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Json(FacilityView::from(&f)))
}

/// Remove a facility and everything it holds.
#[utoipa::path(delete, path = "/api/v1/facilities/{id}", tag = "divisions",
    params(("id" = i64, Path, description = "Facility id")), security(("bearer" = [])),
    responses((status = 204, description = "Removed"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the registry", body = ErrorBody),
        (status = 404, description = "No such facility in your area", body = ErrorBody)))]
pub async fn delete(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let scope = scope_for(&user, Capability::WriteRegistries)?;
    let mut tx = st.db.begin().await?;
    facilities::delete(&mut tx.conn(), &scope, id, st.now()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A self-service terminal to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerminalBody {
    /// Unique serial number: letters, digits, `-` and `_`.
    pub serial: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// Register a self-service terminal at a facility.
#[utoipa::path(post, path = "/api/v1/facilities/{id}/terminals", tag = "divisions",
    params(("id" = i64, Path, description = "Facility id")),
    request_body = TerminalBody, security(("bearer" = [])),
    responses((status = 201, description = "Registered", body = TerminalView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the registry", body = ErrorBody),
        (status = 404, description = "No such facility in your area", body = ErrorBody),
        (status = 422, description = "Bad or duplicate serial number", body = ErrorBody)))]
pub async fn add_terminal(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<TerminalBody>,
) -> ApiResult<(StatusCode, Json<TerminalView>)> {
    let scope = scope_for(&user, Capability::WriteRegistries)?;
    let t = TerminalInput {
        serial: body.serial,
        model: body.model,
        last_seen_at: body.last_seen_at,
    };
    let mut tx = st.db.begin().await?;
    let tid = facilities::add_terminal(&mut tx.conn(), &scope, id, &t, st.now()).await?;
    tx.commit().await?;
    let f = facilities::get(&mut st.db.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let row = f
        .terminals
        .iter()
        .find(|x| x.id == tid)
        .ok_or_else(AppError::not_found)?;
    Ok((StatusCode::CREATED, Json(TerminalView::from(row))))
}

/// Division facts the plan targets need; areas in m².
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributesBody {
    /// A newly built residential community.
    #[serde(default)]
    pub new_build: bool,
    #[serde(default)]
    pub building_area: f64,
    /// Commercial and service floor area.
    #[serde(default)]
    pub commercial_area: f64,
    #[serde(default)]
    pub broadband: bool,
    #[serde(default)]
    pub five_g: bool,
    /// `education_pilot`, `rehab_rental_pilot` (or the Chinese names).
    #[serde(default)]
    pub designations: Vec<String>,
}

impl AttributesBody {
    /// Check every field that can be checked without the store.
    pub fn parse(&self) -> Result<DivisionAttributes, FieldErrors> {
        let mut errs = FieldErrors::new();
        let building = area_field(&mut errs, "building_area", self.building_area);
        let commercial = area_field(&mut errs, "commercial_area", self.commercial_area);
        let mut designations = Vec::new();
        for d in &self.designations {
            match shequ_core::facility::parse_designation(d) {
                Some(code) if !designations.contains(&code) => designations.push(code),
                Some(_) => {}
                None => errs.add("designations", "unknown_designation", "未知的试点类别"),
            }
        }
        errs.into_result()?;
        Ok(DivisionAttributes {
            new_build: self.new_build,
            building_area_x100: building,
            commercial_area_x100: commercial,
            broadband: self.broadband,
            five_g: self.five_g,
            designations,
        })
    }
}

/// A division's attributes as the API shows them; areas in m².
#[derive(Debug, Serialize, ToSchema)]
pub struct AttributesView {
    pub division: String,
    pub new_build: bool,
    pub building_area: f64,
    pub commercial_area: f64,
    pub broadband: bool,
    pub five_g: bool,
    pub designations: Vec<String>,
    /// Null when never set.
    pub updated_at: Option<DateTime<Utc>>,
}

fn attributes_view(
    code: &DivisionCode,
    a: &DivisionAttributes,
    at: Option<DateTime<Utc>>,
) -> AttributesView {
    AttributesView {
        division: code.to_string(),
        new_build: a.new_build,
        building_area: m2(a.building_area_x100),
        commercial_area: m2(a.commercial_area_x100),
        broadband: a.broadband,
        five_g: a.five_g,
        designations: a.designations.iter().map(|d| (*d).to_owned()).collect(),
        updated_at: at,
    }
}

/// A division's attributes, when it lies in the caller's subtree.
pub async fn read_attributes(
    st: &AppState,
    scope: &shequ_db::scope::Scope,
    code: &DivisionCode,
) -> Result<AttributesView, AppError> {
    if !scope.contains(code) || st.tree.get().get(code.as_str()).is_none() {
        return Err(AppError::NotFound("区划不存在或不在您的管辖范围内".into()));
    }
    let row = facilities::get_attributes(&mut st.db.conn(), scope, code).await?;
    Ok(match row {
        Some(r) => attributes_view(code, &r.attributes(), Some(r.updated_at)),
        None => attributes_view(code, &DivisionAttributes::default(), None),
    })
}

/// A division's attributes (defaults when never set).
#[utoipa::path(get, path = "/api/v1/divisions/{code}/attributes", tag = "divisions",
    params(("code" = String, Path, description = "Village/community or township code")),
    security(("bearer" = [])),
    responses((status = 200, description = "The attributes", body = AttributesView),
        (status = 400, description = "Malformed code", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such division in your area", body = ErrorBody)))]
pub async fn get_attributes(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(code): Path<String>,
) -> ApiResult<Json<AttributesView>> {
    let scope = scope_for(&user, Capability::ReadIndicators)?;
    let code = division_code(&code)?;
    Ok(Json(read_attributes(&st, &scope, &code).await?))
}

/// Set a division's attributes.
#[utoipa::path(put, path = "/api/v1/divisions/{code}/attributes", tag = "divisions",
    params(("code" = String, Path, description = "Village/community or township code")),
    request_body = AttributesBody, security(("bearer" = [])),
    responses((status = 200, description = "Saved", body = AttributesView),
        (status = 400, description = "Malformed input", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not keep the registry", body = ErrorBody),
        (status = 404, description = "No such division in your area", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody)))]
pub async fn put_attributes(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<AttributesBody>,
) -> ApiResult<Json<AttributesView>> {
    let scope = scope_for(&user, Capability::WriteRegistries)?;
    let code = division_code(&code)?;
    if !scope.contains(&code) {
        return Err(AppError::NotFound("区划不存在或不在您的管辖范围内".into()));
    }
    let a = body.parse()?;
    let mut tx = st.db.begin().await?;
    facilities::set_attributes(&mut tx.conn(), &scope, &code, &a, st.now()).await?;
    tx.commit().await?;
    Ok(Json(read_attributes(&st, &scope, &code).await?))
}

/// "周一" → 1 … "周日" → 7; also 星期/礼拜 prefixes.
fn weekday(s: &str) -> Option<u8> {
    let s = s.trim();
    let rest = ["星期", "礼拜", "周"]
        .iter()
        .find_map(|p| s.strip_prefix(p))?;
    match rest.trim() {
        "一" => Some(1),
        "二" => Some(2),
        "三" => Some(3),
        "四" => Some(4),
        "五" => Some(5),
        "六" => Some(6),
        "日" | "天" | "七" => Some(7),
        _ => None,
    }
}

/// "周一至周五", "周六、周日", "每天", "工作日", "周末" → weekdays.
pub fn parse_days(s: &str) -> Option<Vec<u8>> {
    let s = s.trim().trim_end_matches([':', '：']).trim();
    match s {
        "每天" | "每日" | "全周" | "全天" => return Some((1..=7).collect()),
        "工作日" => return Some((1..=5).collect()),
        "周末" => return Some(vec![6, 7]),
        _ => {}
    }
    let mut out = Vec::new();
    for item in s
        .split(['、', '和', '及', ' '])
        .filter(|x| !x.trim().is_empty())
    {
        match item.split_once(['至', '到', '-', '~', '–', '—']) {
            Some((a, b)) => {
                let (a, b) = (weekday(a)?, weekday(b)?);
                if a > b {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(weekday(item)?),
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The "HH:MM" times in a text, in order.
fn time_tokens(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let digits = |from: usize| {
            chars
                .iter()
                .skip(from)
                .take_while(|c| c.is_ascii_digit())
                .count()
        };
        let h = digits(i);
        let colon = chars.get(i + h).is_some_and(|c| *c == ':' || *c == '：');
        let m = if colon { digits(i + h + 1) } else { 0 };
        if (1..=2).contains(&h) && colon && m == 2 {
            let hh: String = chars.iter().skip(i).take(h).collect();
            let mm: String = chars.iter().skip(i + h + 1).take(2).collect();
            out.push(format!("{hh}:{mm}"));
            i += h + 3;
        } else {
            i += h.max(1);
        }
    }
    out
}

/// "08:30-12:00 14:00-17:30" → spans; empty text → none.
pub fn parse_day_spans(s: &str) -> Result<Vec<(u16, u16)>, String> {
    let times = time_tokens(s);
    if times.is_empty() && s.trim().is_empty() {
        return Ok(Vec::new());
    }
    if times.is_empty() || !times.len().is_multiple_of(2) {
        return Err(format!(
            "开放时间“{}”有误，应写作 08:30-17:30",
            s.trim().chars().take(30).collect::<String>()
        ));
    }
    times
        .chunks(2)
        .map(|pair| {
            let text = pair.join("-");
            parse_span(&text).ok_or_else(|| {
                format!("开放时间“{text}”有误，开始时间应早于结束时间，例如 08:30-17:30")
            })
        })
        .collect()
}

/// A week as written in a spreadsheet: "周一至周五 08:30-17:30；周六 09:00-12:00".
/// A segment without days continues the previous one's days; "周日休息" adds nothing.
pub fn parse_week(s: &str) -> Result<Vec<Interval>, String> {
    let mut out = Vec::new();
    let mut last: Option<Vec<u8>> = None;
    for seg in s
        .split(['；', ';', '\n', '，', ',', '。'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
    {
        let cut = seg.find(|c: char| c.is_ascii_digit()).unwrap_or(seg.len());
        let (day_part, time_part) = seg.split_at(cut);
        let days = if day_part.trim().is_empty() {
            last.clone()
        } else if day_part.contains('休') || day_part.contains('闭') {
            Some(Vec::new())
        } else {
            parse_days(day_part)
        };
        let days =
            days.ok_or_else(|| format!("无法识别“{seg}”中的星期，应写作“周一至周五 08:30-17:30”"))?;
        for (opens, closes) in parse_day_spans(time_part)? {
            out.extend(days.iter().map(|&weekday| Interval {
                weekday,
                opens,
                closes,
            }));
        }
        last = Some(days);
    }
    Ok(out)
}

/// Column names accepted for a facility upload (the first is the canonical header).
const F_DIVISION: [&str; 2] = ["区划代码", "division"];
const F_NAME: [&str; 2] = ["名称", "name"];
const F_ADDRESS: [&str; 2] = ["地址", "address"];
const F_FLOOR: [&str; 2] = ["建筑面积", "floor_area"];
const F_ACTIVITY: [&str; 2] = ["活动用房面积", "activity_area"];
const F_OFFICE: [&str; 2] = ["办公用房面积", "office_area"];
const F_FUNCTIONS: [&str; 2] = ["功能", "functions"];
const F_HOURS: [&str; 2] = ["开放时间", "hours"];
const F_YEAR: [&str; 2] = ["建成年份", "year_built"];
const F_STATUS: [&str; 2] = ["状态", "status"];

/// Where each column of an upload is.
struct Columns {
    division: usize,
    name: usize,
    floor: usize,
    address: Option<usize>,
    activity: Option<usize>,
    office: Option<usize>,
    functions: Option<usize>,
    hours: Option<usize>,
    year: Option<usize>,
    status: Option<usize>,
}

impl Columns {
    fn find(t: &Table) -> Result<Columns, AppError> {
        let col = |names: &[&str]| {
            t.require(names)
                .map_err(|e| AppError::bad_request(e.code(), e.to_string()))
        };
        Ok(Columns {
            division: col(&F_DIVISION)?,
            name: col(&F_NAME)?,
            floor: col(&F_FLOOR)?,
            address: t.column(&F_ADDRESS),
            activity: t.column(&F_ACTIVITY),
            office: t.column(&F_OFFICE),
            functions: t.column(&F_FUNCTIONS),
            hours: t.column(&F_HOURS),
            year: t.column(&F_YEAR),
            status: t.column(&F_STATUS),
        })
    }
}

/// An area cell (m²); empty is zero.
fn area_cell(errs: &mut FieldErrors, field: &str, s: &str) -> i64 {
    if s.trim().is_empty() {
        return 0;
    }
    facilities::parse_area(s).unwrap_or_else(|| {
        errs.add(field, "bad_area", format!("面积“{s}”应为数字（平方米）"));
        0
    })
}

/// One spreadsheet row as a facility with one activity and one office space.
fn row_input(
    row: &shequ_reports::table::Row,
    cols: &Columns,
) -> Result<FacilityInput, FieldErrors> {
    let mut errs = FieldErrors::new();
    let cell = |c: Option<usize>| c.map_or("", |i| row.cell(i));
    let division = DivisionCode::parse(row.cell(cols.division))
        .map_err(|e| errs.add("division", e.code(), format!("区划代码有误：{e}")))
        .ok();
    let floor = row.cell(cols.floor);
    let floor_area_x100 = facilities::parse_area(floor).unwrap_or_else(|| {
        errs.add("floor_area", "bad_area", "建筑面积应为数字（平方米）");
        0
    });
    let activity = area_cell(&mut errs, "spaces", cell(cols.activity));
    let office = area_cell(&mut errs, "spaces", cell(cols.office));
    let functions: Vec<FunctionInput> = cell(cols.functions)
        .split(['、', ',', '，', ';', '；'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|s| function_field(&mut errs, s, 0))
        .collect();
    let hours = parse_week(cell(cols.hours)).unwrap_or_else(|m| {
        errs.add("hours", "bad_hours", m);
        Vec::new()
    });
    let year = cell(cols.year);
    let year_built = if year.is_empty() {
        None
    } else {
        let y = year.trim_end_matches('年').parse::<i32>().ok();
        if y.is_none() {
            errs.add("year_built", "bad_year", "建成年份应为四位数字");
        }
        y
    };
    let status = status_field(&mut errs, Some(cell(cols.status)));
    errs.into_result()?;
    Ok(FacilityInput {
        division: division.ok_or_else(FieldErrors::new)?,
        name: row.cell(cols.name).to_owned(),
        address: cell(cols.address).to_owned(),
        location: None,
        floor_area_x100,
        status,
        year_built,
        online_24h: false,
        spaces: vec![
            SpaceInput {
                name: Purpose::Activity.label().into(),
                purpose: Purpose::Activity,
                area_x100: activity,
            },
            SpaceInput {
                name: Purpose::Office.label().into(),
                purpose: Purpose::Office,
                area_x100: office,
            },
        ],
        functions,
        hours,
        exceptions: Vec::new(),
    })
}

fn refusal(line: usize, fe: &FieldErrors) -> ImportRowError {
    ImportRowError {
        line,
        code: fe.0.first().map_or("invalid", |e| e.code).to_owned(),
        reason: fe.summary(),
    }
}

/// Import facilities. Columns: 区划代码, 名称, 建筑面积, and optionally 地址,
/// 活动用房面积, 办公用房面积, 功能 (names separated by 、), 开放时间
/// (e.g. `周一至周五 08:30-17:30；周六 09:00-12:00`), 建成年份, 状态.
/// Each good row becomes one facility with one activity and one office space.
#[utoipa::path(post, path = "/api/v1/imports/facilities", tag = "divisions",
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
    let cols = Columns::find(&table)?;
    let mut errors = Vec::new();
    let mut imported = 0;
    let mut tx = st.db.begin().await?;
    for row in &table.rows {
        let input = match row_input(row, &cols) {
            Ok(i) => i,
            Err(fe) => {
                errors.push(refusal(row.line, &fe));
                continue;
            }
        };
        match facilities::create(&mut tx.conn(), &scope, &input, st.now()).await {
            Ok(_) => imported += 1,
            Err(shequ_db::DbError::Invalid(fe)) => errors.push(refusal(row.line, &fe)),
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

/// Area text for people: "650.25 平方米".
pub fn area_text(x100: i64) -> String {
    format!("{} 平方米", format_area(x100))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week(s: &str) -> Vec<(u8, u16, u16)> {
        parse_week(s)
            .unwrap()
            .iter()
            .map(|i| (i.weekday, i.opens, i.closes))
            .collect()
    }

    #[test]
    fn weeks_parse() {
        let w = week("周一至周五 08:30-17:30；周六 09:00-12:00");
        assert_eq!(w.len(), 6);
        assert_eq!(w[0], (1, 510, 1050));
        assert_eq!(w[5], (6, 540, 720));
        assert_eq!(week("每天 8:00-12:00、14:00-18:00").len(), 14);
        assert_eq!(week("周六、周日 09:00-12:00").len(), 2);
        assert_eq!(week("周一至周五 08:30-12:00，14:00-17:30").len(), 10);
        assert_eq!(week("周一至周六 08:00-18:00；周日休息").len(), 6);
        assert!(week("").is_empty());
        assert!(parse_week("周一至周五 18:00-08:00").is_err());
        assert!(parse_week("周五至周一 08:00-12:00").is_err());
        assert!(parse_week("礼拜八 08:00-12:00").is_err());
        assert!(parse_week("周一 08:00").is_err());
    }
}
