//! The facility registry: community service facilities with their spaces, the
//! functions they host (一房多用), weekly opening hours, holiday exceptions and
//! self-service terminals; and the division attributes the plan targets need.
//!
//! Scoped like [`crate::people`]: every read and write takes a [`Scope`] whose
//! condition is part of the query. Every write appends an audit entry and
//! refreshes the plan-target values of the divisions it touches, inside the
//! caller's transaction.

use crate::audit::{self, Event};
use crate::scope::{Actor, Scope};
use crate::{Conn, DbError, Page, PageReq, Result};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, Iden, OnConflict, Order, Query, SelectStatement};
use serde::Serialize;
use shequ_core::facility::{DESIGNATIONS, FunctionCode, Interval, mean_daily_hours};
use shequ_core::geo::Point;
use shequ_core::{DivisionCode, FieldErrors, Level};
use std::collections::HashMap;

#[derive(Iden, Clone, Copy)]
enum Facilities {
    Table,
    Id,
    DivisionCode,
    Name,
    Address,
    Lon,
    Lat,
    #[iden = "floor_area_x100"]
    FloorArea,
    Status,
    YearBuilt,
    #[iden = "online_24h"]
    Online24h,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
enum FacilitySpaces {
    Table,
    Id,
    FacilityId,
    Name,
    Purpose,
    #[iden = "area_x100"]
    Area,
}

#[derive(Iden, Clone, Copy)]
enum FacilityFunctions {
    Table,
    FacilityId,
    FunctionCode,
    #[iden = "land_area_x100"]
    LandArea,
}

#[derive(Iden, Clone, Copy)]
enum FacilityHours {
    Table,
    FacilityId,
    Weekday,
    OpensMin,
    ClosesMin,
}

#[derive(Iden, Clone, Copy)]
enum FacilityExceptions {
    Table,
    FacilityId,
    Day,
    OpensMin,
    ClosesMin,
    Note,
}

#[derive(Iden, Clone, Copy)]
enum Terminals {
    Table,
    Id,
    FacilityId,
    DivisionCode,
    Serial,
    Model,
    LastSeenAt,
}

#[derive(Iden, Clone, Copy)]
#[iden = "division_attributes"]
enum Attrs {
    Table,
    DivisionCode,
    NewBuild,
    #[iden = "building_area_x100"]
    BuildingArea,
    #[iden = "commercial_area_x100"]
    CommercialArea,
    Broadband,
    #[iden = "five_g"]
    FiveG,
    Designations,
    UpdatedAt,
}

/// Longest facility name, in characters.
pub const MAX_NAME: usize = 60;
/// Longest address, in characters.
pub const MAX_ADDRESS: usize = 100;
/// Longest space name, in characters.
pub const MAX_SPACE_NAME: usize = 30;
/// Most spaces one facility may list.
pub const MAX_SPACES: usize = 20;
/// Most functions one facility may host.
pub const MAX_FUNCTIONS: usize = 30;
/// Most holiday exceptions one facility may list.
pub const MAX_EXCEPTIONS: usize = 60;
/// Longest exception note, in characters.
pub const MAX_NOTE: usize = 60;
/// Most opening spans on one weekday.
pub const MAX_INTERVALS_PER_DAY: usize = 4;
/// Longest terminal serial number.
pub const MAX_SERIAL: usize = 40;
/// Longest terminal model name, in characters.
pub const MAX_MODEL: usize = 40;
/// Largest floor, space or land area of one facility: 100,000 m².
pub const MAX_FACILITY_AREA_X100: i64 = 10_000_000;
/// Largest building area of one division: 10,000,000 m².
pub const MAX_DIVISION_AREA_X100: i64 = 1_000_000_000;
/// The earliest year a facility may have been built.
pub const FIRST_YEAR: i32 = 1949;

/// Whether a facility is in service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    InUse,
    Building,
    Closed,
}

impl Status {
    /// Every status, in display order.
    pub const ALL: [Status; 3] = [Status::InUse, Status::Building, Status::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::InUse => "in_use",
            Status::Building => "building",
            Status::Closed => "closed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::InUse => "在用",
            Status::Building => "在建",
            Status::Closed => "停用",
        }
    }

    /// By code or Chinese label.
    pub fn parse(s: &str) -> Option<Status> {
        let s = s.trim();
        Status::ALL
            .into_iter()
            .find(|x| x.as_str() == s || x.label() == s)
    }
}

/// What a space (room) is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Activity,
    Office,
}

impl Purpose {
    /// Every purpose, in display order.
    pub const ALL: [Purpose; 2] = [Purpose::Activity, Purpose::Office];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Activity => "activity",
            Purpose::Office => "office",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Purpose::Activity => "活动用房",
            Purpose::Office => "办公用房",
        }
    }

    /// By code or Chinese label ("活动用房" or "活动").
    pub fn parse(s: &str) -> Option<Purpose> {
        let s = s.trim();
        Purpose::ALL
            .into_iter()
            .find(|p| p.as_str() == s || p.label() == s || p.label().get(0..6) == Some(s))
    }
}

/// Square metres to hundredths; `None` unless a finite number. Out-of-range
/// values are left for [`check_input`] to refuse.
pub fn m2_to_x100(m2: f64) -> Option<i64> {
    m2.is_finite().then(|| (m2 * 100.0).round() as i64)
}

/// Parse an area typed by a person: "650", "650.5", "1,200", "650㎡", "650平方米".
pub fn parse_area(s: &str) -> Option<i64> {
    let mut t = s.trim().replace([',', '，', ' '], "");
    for suffix in ["平方米", "平米", "㎡", "m²", "m2"] {
        if let Some(x) = t.strip_suffix(suffix) {
            t = x.to_owned();
        }
    }
    t.parse::<f64>().ok().and_then(m2_to_x100)
}

/// 65025 → "650.25"; 65000 → "650".
pub fn format_area(x100: i64) -> String {
    let (whole, frac) = (x100 / 100, (x100 % 100).abs());
    if frac == 0 {
        whole.to_string()
    } else if frac % 10 == 0 {
        format!("{whole}.{}", frac / 10)
    } else {
        format!("{whole}.{frac:02}")
    }
}

/// One room or area of a facility.
#[derive(Debug, Clone, PartialEq)]
pub struct SpaceInput {
    pub name: String,
    pub purpose: Purpose,
    pub area_x100: i64,
}

/// A function the facility hosts; land area only for elderly-care functions.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionInput {
    pub code: FunctionCode,
    pub land_area_x100: i64,
}

/// A day with other hours than the weekly schedule: closed (`hours` = `None`) or open.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionInput {
    pub day: NaiveDate,
    pub hours: Option<(u16, u16)>,
    pub note: String,
}

/// A facility's fields as entered; spaces, functions, hours and exceptions are
/// replaced wholesale on update.
#[derive(Debug, Clone, PartialEq)]
pub struct FacilityInput {
    /// A village/community (12 digits) or a township (9 digits).
    pub division: DivisionCode,
    pub name: String,
    pub address: String,
    pub location: Option<Point>,
    pub floor_area_x100: i64,
    pub status: Status,
    pub year_built: Option<i32>,
    pub online_24h: bool,
    pub spaces: Vec<SpaceInput>,
    pub functions: Vec<FunctionInput>,
    pub hours: Vec<Interval>,
    pub exceptions: Vec<ExceptionInput>,
}

/// The fields of a facility to create.
pub type NewFacility = FacilityInput;

/// A self-service terminal to register.
#[derive(Debug, Clone, PartialEq)]
pub struct TerminalInput {
    pub serial: String,
    pub model: String,
    pub last_seen_at: Option<DateTime<Utc>>,
}

fn has_bad_chars(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || "<>\"&".contains(c))
}

/// Required text of at most `max` characters without markup or control characters.
fn check_text(errs: &mut FieldErrors, field: &str, value: &str, max: usize, label: &str) {
    let n = value.trim().chars().count();
    if n == 0 {
        errs.add(field, "required", format!("{label}不能为空"));
    } else if n > max {
        errs.add(field, "too_long", format!("{label}不能超过 {max} 个字"));
    } else if has_bad_chars(value) {
        errs.add(field, "bad_chars", format!("{label}中不能含有特殊符号"));
    }
}

fn check_area(errs: &mut FieldErrors, field: &str, x100: i64, max: i64, label: &str) {
    if x100 < 0 {
        errs.add(field, "negative_area", format!("{label}不能为负数"));
    } else if x100 > max {
        errs.add(
            field,
            "area_too_large",
            format!("{label}不能超过 {} 平方米", format_area(max)),
        );
    }
}

/// Check every field that needs no store. `this_year` bounds the year built.
pub fn check_input(f: &FacilityInput, this_year: i32) -> std::result::Result<(), FieldErrors> {
    let mut errs = FieldErrors::new();
    check_fields(f, this_year, &mut errs);
    check_spaces(f, &mut errs);
    check_functions(&f.functions, &mut errs);
    check_hours(&f.hours, &mut errs);
    check_exceptions(&f.exceptions, &mut errs);
    errs.into_result()
}

fn check_fields(f: &FacilityInput, this_year: i32, errs: &mut FieldErrors) {
    if !matches!(f.division.level(), Level::Village | Level::Township) {
        errs.add(
            "division",
            "bad_level",
            "设施应登记在村（社区）或乡镇（街道）",
        );
    }
    check_text(errs, "name", &f.name, MAX_NAME, "名称");
    if f.address.chars().count() > MAX_ADDRESS {
        errs.add(
            "address",
            "too_long",
            format!("地址不能超过 {MAX_ADDRESS} 个字"),
        );
    } else if has_bad_chars(&f.address) {
        errs.add("address", "bad_chars", "地址中不能含有特殊符号");
    }
    check_area(
        errs,
        "floor_area",
        f.floor_area_x100,
        MAX_FACILITY_AREA_X100,
        "建筑面积",
    );
    if let Some(y) = f.year_built
        && !(FIRST_YEAR..=this_year).contains(&y)
    {
        errs.add(
            "year_built",
            "bad_year",
            format!("建成年份应在 {FIRST_YEAR} 到 {this_year} 年之间"),
        );
    }
}

fn check_spaces(f: &FacilityInput, errs: &mut FieldErrors) {
    if f.spaces.len() > MAX_SPACES {
        errs.add(
            "spaces",
            "too_many",
            format!("用房不能超过 {MAX_SPACES} 处"),
        );
    }
    for s in &f.spaces {
        check_text(errs, "spaces", &s.name, MAX_SPACE_NAME, "用房名称");
        check_area(
            errs,
            "spaces",
            s.area_x100,
            MAX_FACILITY_AREA_X100,
            "用房面积",
        );
    }
    let total: i64 = f.spaces.iter().map(|s| std::cmp::max(s.area_x100, 0)).sum();
    if f.floor_area_x100 >= 0 && total > f.floor_area_x100 {
        errs.add(
            "spaces",
            "spaces_exceed_floor_area",
            format!(
                "各用房面积之和（{} 平方米）不能超过建筑面积（{} 平方米）",
                format_area(total),
                format_area(f.floor_area_x100)
            ),
        );
    }
}

fn check_functions(functions: &[FunctionInput], errs: &mut FieldErrors) {
    if functions.len() > MAX_FUNCTIONS {
        errs.add(
            "functions",
            "too_many",
            format!("功能不能超过 {MAX_FUNCTIONS} 项"),
        );
    }
    for (i, f) in functions.iter().enumerate() {
        if functions.iter().take(i).any(|g| g.code == f.code) {
            errs.add(
                "functions",
                "duplicate_function",
                format!("功能“{}”重复", f.code.label()),
            );
        }
        if f.land_area_x100 != 0 && !f.code.is_elderly_care() {
            errs.add(
                "functions",
                "land_area_not_elderly",
                format!("只有养老类功能才填写占地面积，“{}”不需要", f.code.label()),
            );
        }
        check_area(
            errs,
            "functions",
            f.land_area_x100,
            MAX_FACILITY_AREA_X100,
            "占地面积",
        );
    }
}

/// Whether a span is a valid opening: opens before it closes, within the day.
fn valid_span(opens: u16, closes: u16) -> bool {
    opens < closes && closes <= 1440
}

fn check_hours(hours: &[Interval], errs: &mut FieldErrors) {
    for day in 1..=7u8 {
        let mut spans: Vec<(u16, u16)> = hours
            .iter()
            .filter(|i| i.weekday == day)
            .map(|i| (i.opens, i.closes))
            .collect();
        spans.sort_unstable();
        if spans.len() > MAX_INTERVALS_PER_DAY {
            errs.add(
                "hours",
                "too_many_intervals",
                format!("每天最多 {MAX_INTERVALS_PER_DAY} 个开放时段"),
            );
        }
        if spans.windows(2).any(|w| matches!(w, [a, b] if b.0 < a.1)) {
            errs.add("hours", "overlapping_hours", "同一天的开放时段不能重叠");
        }
    }
    if hours.iter().any(|i| !(1..=7).contains(&i.weekday)) {
        errs.add("hours", "bad_weekday", "星期应为 1（周一）到 7（周日）");
    }
    if hours.iter().any(|i| !valid_span(i.opens, i.closes)) {
        errs.add(
            "hours",
            "bad_hours",
            "开放时间应为当天的开始时间早于结束时间，例如 08:30-17:30",
        );
    }
}

fn check_exceptions(exceptions: &[ExceptionInput], errs: &mut FieldErrors) {
    if exceptions.len() > MAX_EXCEPTIONS {
        errs.add(
            "exceptions",
            "too_many",
            format!("特殊日期不能超过 {MAX_EXCEPTIONS} 个"),
        );
    }
    for (i, e) in exceptions.iter().enumerate() {
        if exceptions.iter().take(i).any(|x| x.day == e.day) {
            errs.add(
                "exceptions",
                "duplicate_day",
                format!("日期 {} 重复", e.day),
            );
        }
        if e.hours.is_some_and(|(o, c)| !valid_span(o, c)) {
            errs.add("exceptions", "bad_hours", "特殊日期的开放时间有误");
        }
        if e.note.chars().count() > MAX_NOTE || has_bad_chars(&e.note) {
            errs.add(
                "exceptions",
                "bad_note",
                format!("说明不能超过 {MAX_NOTE} 个字，且不能含特殊符号"),
            );
        }
    }
}

/// Check a terminal's serial number and model.
pub fn check_terminal(t: &TerminalInput) -> std::result::Result<(), FieldErrors> {
    let mut errs = FieldErrors::new();
    let serial = t.serial.trim();
    if serial.is_empty() || serial.len() > MAX_SERIAL {
        errs.add(
            "serial",
            "bad_serial",
            format!("序列号不能为空，且不超过 {MAX_SERIAL} 个字符"),
        );
    } else if !serial
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        errs.add(
            "serial",
            "bad_serial",
            "序列号只能由字母、数字、- 和 _ 组成",
        );
    }
    if t.model.chars().count() > MAX_MODEL || has_bad_chars(&t.model) {
        errs.add(
            "model",
            "bad_model",
            format!("型号不能超过 {MAX_MODEL} 个字，且不能含特殊符号"),
        );
    }
    errs.into_result()
}

/// A facility's own row.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct FacilityRow {
    pub id: i64,
    pub division_code: String,
    pub name: String,
    pub address: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub floor_area_x100: i64,
    pub status: String,
    pub year_built: Option<i32>,
    pub online_24h: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A stored space of a facility.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SpaceRow {
    pub id: i64,
    pub facility_id: i64,
    pub name: String,
    pub purpose: String,
    pub area_x100: i64,
}

/// A stored function of a facility.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct FunctionRow {
    pub facility_id: i64,
    pub function_code: String,
    pub land_area_x100: i64,
}

impl FunctionRow {
    /// The function as a code; custom names keep their `custom:` prefix.
    pub fn code(&self) -> Option<FunctionCode> {
        FunctionCode::parse(&self.function_code)
    }

    /// The Chinese name.
    pub fn label(&self) -> String {
        self.code()
            .map_or_else(|| self.function_code.clone(), |c| c.label())
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
struct HoursRow {
    facility_id: i64,
    weekday: i32,
    opens_min: i32,
    closes_min: i32,
}

/// A stored holiday exception; no hours means closed.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ExceptionRow {
    pub facility_id: i64,
    pub day: NaiveDate,
    pub opens_min: Option<i32>,
    pub closes_min: Option<i32>,
    pub note: String,
}

/// A stored self-service terminal.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TerminalRow {
    pub id: i64,
    pub facility_id: i64,
    pub division_code: String,
    pub serial: String,
    pub model: String,
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// A facility with everything it holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Facility {
    pub row: FacilityRow,
    pub spaces: Vec<SpaceRow>,
    pub functions: Vec<FunctionRow>,
    /// Weekly hours, by weekday then opening time.
    pub hours: Vec<Interval>,
    pub exceptions: Vec<ExceptionRow>,
    pub terminals: Vec<TerminalRow>,
}

impl Facility {
    /// Total area of the spaces with `purpose`, in hundredths of m².
    pub fn area_x100(&self, purpose: Purpose) -> i64 {
        self.spaces
            .iter()
            .filter(|s| s.purpose == purpose.as_str())
            .map(|s| s.area_x100)
            .sum()
    }

    /// Activity area as a share of the floor area (0–1); `None` without a floor area.
    pub fn activity_share(&self) -> Option<f64> {
        (self.row.floor_area_x100 > 0)
            .then(|| self.area_x100(Purpose::Activity) as f64 / self.row.floor_area_x100 as f64)
    }

    /// Mean opening hours per day over the week.
    pub fn mean_daily_hours(&self) -> f64 {
        mean_daily_hours(&self.hours)
    }

    /// Whether the facility hosts the function with this code.
    pub fn has_function(&self, code: &str) -> bool {
        self.functions.iter().any(|f| f.function_code == code)
    }

    /// The stored status, when it is a known one.
    pub fn status(&self) -> Option<Status> {
        Status::parse(&self.row.status)
    }
}

fn select() -> SelectStatement {
    Query::select()
        .columns([
            (Facilities::Table, Facilities::Id),
            (Facilities::Table, Facilities::DivisionCode),
            (Facilities::Table, Facilities::Name),
            (Facilities::Table, Facilities::Address),
            (Facilities::Table, Facilities::Lon),
            (Facilities::Table, Facilities::Lat),
            (Facilities::Table, Facilities::FloorArea),
            (Facilities::Table, Facilities::Status),
            (Facilities::Table, Facilities::YearBuilt),
            (Facilities::Table, Facilities::Online24h),
            (Facilities::Table, Facilities::CreatedAt),
            (Facilities::Table, Facilities::UpdatedAt),
        ])
        .from(Facilities::Table)
        .to_owned()
}

/// The scope must hold the division, and the division must exist.
async fn check_placement(c: &mut Conn<'_>, scope: &Scope, division: &DivisionCode) -> Result<()> {
    if !scope.contains(division) {
        return Err(DbError::invalid(
            "division",
            "out_of_scope",
            "该区划不在您的管辖范围内",
        ));
    }
    if crate::divisions::get(c, division).await?.is_none() {
        return Err(DbError::invalid(
            "division",
            "unknown_division",
            format!("区划 {division} 不存在"),
        ));
    }
    Ok(())
}

const FACILITY_COLUMNS: [Facilities; 11] = [
    Facilities::DivisionCode,
    Facilities::Name,
    Facilities::Address,
    Facilities::Lon,
    Facilities::Lat,
    Facilities::FloorArea,
    Facilities::Status,
    Facilities::YearBuilt,
    Facilities::Online24h,
    Facilities::CreatedAt,
    Facilities::UpdatedAt,
];

/// The values of [`FACILITY_COLUMNS`].
fn row_values(f: &FacilityInput, now: DateTime<Utc>) -> [sea_query::SimpleExpr; 11] {
    [
        f.division.as_str().into(),
        f.name.trim().into(),
        f.address.trim().into(),
        f.location.map(|p| p.lon).into(),
        f.location.map(|p| p.lat).into(),
        f.floor_area_x100.into(),
        f.status.as_str().into(),
        f.year_built.into(),
        f.online_24h.into(),
        now.into(),
        now.into(),
    ]
}

fn insert_stmt<'a>(
    rows: impl Iterator<Item = &'a FacilityInput>,
    now: DateTime<Utc>,
) -> sea_query::InsertStatement {
    let mut q = Query::insert()
        .into_table(Facilities::Table)
        .columns(FACILITY_COLUMNS)
        .to_owned();
    for f in rows {
        q.values_panic(row_values(f, now));
    }
    q
}

/// Register a facility with its spaces, functions, hours and exceptions.
pub async fn create(
    c: &mut Conn<'_>,
    scope: &Scope,
    f: &FacilityInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    check_input(f, now.year())?;
    check_placement(c, scope, &f.division).await?;
    let id = c.insert_id(&insert_stmt(std::iter::once(f), now)).await?;
    write_children(c, &[(id, f)]).await?;
    let ev = Event::new("facility_create", "facility", id)
        .division(f.division.as_str())
        .detail(summary(f));
    audit::append(c, &scope.actor, ev, now).await?;
    crate::indicators::refresh(c, &f.division, now).await?;
    Ok(id)
}

/// What the audit log records of a facility's fields.
fn summary(f: &FacilityInput) -> serde_json::Value {
    serde_json::json!({
        "name": f.name.trim(),
        "division": f.division.as_str(),
        "floor_area": format_area(f.floor_area_x100),
        "status": f.status.as_str(),
        "spaces": f.spaces.len(),
        "functions": f.functions.iter().map(|x| x.code.as_str()).collect::<Vec<_>>(),
        "hours": f.hours.len(),
    })
}

/// Insert spaces, functions, hours and exceptions of many facilities.
async fn write_children(c: &mut Conn<'_>, rows: &[(i64, &FacilityInput)]) -> Result<()> {
    insert_spaces(c, rows).await?;
    insert_functions(c, rows).await?;
    insert_hours(c, rows).await?;
    insert_exceptions(c, rows).await
}

/// Rows per multi-row insert of child records.
const CHUNK: usize = 1000;

async fn insert_chunked<T>(
    c: &mut Conn<'_>,
    items: &[T],
    base: &sea_query::InsertStatement,
    values: impl Fn(&T) -> Vec<sea_query::SimpleExpr>,
) -> Result<()> {
    for chunk in items.chunks(CHUNK) {
        let mut q = base.clone();
        for item in chunk {
            q.values_panic(values(item));
        }
        c.execute(&q).await?;
    }
    Ok(())
}

async fn insert_spaces(c: &mut Conn<'_>, rows: &[(i64, &FacilityInput)]) -> Result<()> {
    let items: Vec<(i64, &SpaceInput)> = rows
        .iter()
        .flat_map(|(id, f)| f.spaces.iter().map(move |s| (*id, s)))
        .collect();
    let base = Query::insert()
        .into_table(FacilitySpaces::Table)
        .columns([
            FacilitySpaces::FacilityId,
            FacilitySpaces::Name,
            FacilitySpaces::Purpose,
            FacilitySpaces::Area,
        ])
        .to_owned();
    insert_chunked(c, &items, &base, |(id, s)| {
        vec![
            (*id).into(),
            s.name.trim().into(),
            s.purpose.as_str().into(),
            s.area_x100.into(),
        ]
    })
    .await
}

async fn insert_functions(c: &mut Conn<'_>, rows: &[(i64, &FacilityInput)]) -> Result<()> {
    let items: Vec<(i64, &FunctionInput)> = rows
        .iter()
        .flat_map(|(id, f)| f.functions.iter().map(move |x| (*id, x)))
        .collect();
    let base = Query::insert()
        .into_table(FacilityFunctions::Table)
        .columns([
            FacilityFunctions::FacilityId,
            FacilityFunctions::FunctionCode,
            FacilityFunctions::LandArea,
        ])
        .to_owned();
    insert_chunked(c, &items, &base, |(id, x)| {
        vec![
            (*id).into(),
            x.code.as_str().into(),
            x.land_area_x100.into(),
        ]
    })
    .await
}

async fn insert_hours(c: &mut Conn<'_>, rows: &[(i64, &FacilityInput)]) -> Result<()> {
    let items: Vec<(i64, &Interval)> = rows
        .iter()
        .flat_map(|(id, f)| f.hours.iter().map(move |h| (*id, h)))
        .collect();
    let base = Query::insert()
        .into_table(FacilityHours::Table)
        .columns([
            FacilityHours::FacilityId,
            FacilityHours::Weekday,
            FacilityHours::OpensMin,
            FacilityHours::ClosesMin,
        ])
        .to_owned();
    insert_chunked(c, &items, &base, |(id, h)| {
        vec![
            (*id).into(),
            i32::from(h.weekday).into(),
            i32::from(h.opens).into(),
            i32::from(h.closes).into(),
        ]
    })
    .await
}

async fn insert_exceptions(c: &mut Conn<'_>, rows: &[(i64, &FacilityInput)]) -> Result<()> {
    let items: Vec<(i64, &ExceptionInput)> = rows
        .iter()
        .flat_map(|(id, f)| f.exceptions.iter().map(move |e| (*id, e)))
        .collect();
    let base = Query::insert()
        .into_table(FacilityExceptions::Table)
        .columns([
            FacilityExceptions::FacilityId,
            FacilityExceptions::Day,
            FacilityExceptions::OpensMin,
            FacilityExceptions::ClosesMin,
            FacilityExceptions::Note,
        ])
        .to_owned();
    insert_chunked(c, &items, &base, |(id, e)| {
        vec![
            (*id).into(),
            e.day.into(),
            e.hours.map(|(o, _)| i32::from(o)).into(),
            e.hours.map(|(_, cl)| i32::from(cl)).into(),
            e.note.trim().into(),
        ]
    })
    .await
}

async fn insert_terminals(
    c: &mut Conn<'_>,
    items: &[(i64, &str, &TerminalInput)],
) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(items.len());
    for chunk in items.chunks(CHUNK) {
        let mut q = Query::insert()
            .into_table(Terminals::Table)
            .columns([
                Terminals::FacilityId,
                Terminals::DivisionCode,
                Terminals::Serial,
                Terminals::Model,
                Terminals::LastSeenAt,
            ])
            .to_owned();
        for (id, division, t) in chunk {
            q.values_panic([
                (*id).into(),
                (*division).into(),
                t.serial.trim().into(),
                t.model.trim().into(),
                t.last_seen_at.into(),
            ]);
        }
        q.returning_col(Terminals::Id);
        let mut got: Vec<i64> = c
            .insert_returning::<(i64,)>(&q)
            .await?
            .into_iter()
            .map(|r| r.0)
            .collect();
        got.sort_unstable();
        ids.extend(got);
    }
    Ok(ids)
}

/// Remove the spaces, functions, hours and exceptions of a facility.
async fn delete_children(c: &mut Conn<'_>, id: i64) -> Result<()> {
    c.execute(
        &Query::delete()
            .from_table(FacilitySpaces::Table)
            .and_where(Expr::col(FacilitySpaces::FacilityId).eq(id))
            .to_owned(),
    )
    .await?;
    c.execute(
        &Query::delete()
            .from_table(FacilityFunctions::Table)
            .and_where(Expr::col(FacilityFunctions::FacilityId).eq(id))
            .to_owned(),
    )
    .await?;
    c.execute(
        &Query::delete()
            .from_table(FacilityHours::Table)
            .and_where(Expr::col(FacilityHours::FacilityId).eq(id))
            .to_owned(),
    )
    .await?;
    c.execute(
        &Query::delete()
            .from_table(FacilityExceptions::Table)
            .and_where(Expr::col(FacilityExceptions::FacilityId).eq(id))
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// A facility's own row, in scope.
async fn get_row(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<FacilityRow>> {
    let q = select()
        .and_where(Expr::col((Facilities::Table, Facilities::Id)).eq(id))
        .cond_where(scope.condition((Facilities::Table, Facilities::DivisionCode)))
        .to_owned();
    c.fetch_optional(&q).await
}

/// One facility in scope with everything it holds; `None` when absent or outside the subtree.
pub async fn get(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<Facility>> {
    let Some(row) = get_row(c, scope, id).await? else {
        return Ok(None);
    };
    Ok(with_children(c, vec![row]).await?.into_iter().next())
}

/// Attach spaces, functions, hours, exceptions and terminals to rows (five queries).
async fn with_children(c: &mut Conn<'_>, rows: Vec<FacilityRow>) -> Result<Vec<Facility>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut spaces = group(fetch_spaces(c, &ids).await?, |s: &SpaceRow| s.facility_id);
    let mut functions = group(fetch_functions(c, &ids).await?, |f: &FunctionRow| {
        f.facility_id
    });
    let mut hours = group(fetch_hours(c, &ids).await?, |h: &HoursRow| h.facility_id);
    let mut exceptions = group(fetch_exceptions(c, &ids).await?, |e: &ExceptionRow| {
        e.facility_id
    });
    let mut terminals = group(fetch_terminals(c, &ids).await?, |t: &TerminalRow| {
        t.facility_id
    });
    Ok(rows
        .into_iter()
        .map(|row| Facility {
            spaces: spaces.remove(&row.id).unwrap_or_default(),
            functions: functions.remove(&row.id).unwrap_or_default(),
            hours: hours
                .remove(&row.id)
                .unwrap_or_default()
                .iter()
                .map(interval)
                .collect(),
            exceptions: exceptions.remove(&row.id).unwrap_or_default(),
            terminals: terminals.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

fn interval(h: &HoursRow) -> Interval {
    let small = |v: i32| u16::try_from(v.clamp(0, 1440)).unwrap_or(0);
    Interval {
        weekday: u8::try_from(h.weekday.clamp(1, 7)).unwrap_or(1),
        opens: small(h.opens_min),
        closes: small(h.closes_min),
    }
}

fn group<T>(items: Vec<T>, key: impl Fn(&T) -> i64) -> HashMap<i64, Vec<T>> {
    let mut m: HashMap<i64, Vec<T>> = HashMap::new();
    for item in items {
        m.entry(key(&item)).or_default().push(item);
    }
    m
}

async fn fetch_spaces(c: &mut Conn<'_>, ids: &[i64]) -> Result<Vec<SpaceRow>> {
    let q = Query::select()
        .columns([
            FacilitySpaces::Id,
            FacilitySpaces::FacilityId,
            FacilitySpaces::Name,
            FacilitySpaces::Purpose,
            FacilitySpaces::Area,
        ])
        .from(FacilitySpaces::Table)
        .and_where(Expr::col(FacilitySpaces::FacilityId).is_in(ids.iter().copied()))
        .order_by(FacilitySpaces::Id, Order::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

async fn fetch_functions(c: &mut Conn<'_>, ids: &[i64]) -> Result<Vec<FunctionRow>> {
    let q = Query::select()
        .columns([
            FacilityFunctions::FacilityId,
            FacilityFunctions::FunctionCode,
            FacilityFunctions::LandArea,
        ])
        .from(FacilityFunctions::Table)
        .and_where(Expr::col(FacilityFunctions::FacilityId).is_in(ids.iter().copied()))
        .order_by(FacilityFunctions::FunctionCode, Order::Asc)
        .to_owned();
    let mut rows: Vec<FunctionRow> = c.fetch_all(&q).await?;
    // Known functions in catalogue order, then custom ones by name.
    rows.sort_by_key(|f| {
        let pos = shequ_core::facility::FUNCTIONS
            .iter()
            .position(|(code, _, _)| *code == f.function_code)
            .unwrap_or(usize::MAX);
        (pos, f.function_code.clone())
    });
    Ok(rows)
}

async fn fetch_hours(c: &mut Conn<'_>, ids: &[i64]) -> Result<Vec<HoursRow>> {
    let q = Query::select()
        .columns([
            FacilityHours::FacilityId,
            FacilityHours::Weekday,
            FacilityHours::OpensMin,
            FacilityHours::ClosesMin,
        ])
        .from(FacilityHours::Table)
        .and_where(Expr::col(FacilityHours::FacilityId).is_in(ids.iter().copied()))
        .order_by(FacilityHours::Weekday, Order::Asc)
        .order_by(FacilityHours::OpensMin, Order::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

async fn fetch_exceptions(c: &mut Conn<'_>, ids: &[i64]) -> Result<Vec<ExceptionRow>> {
    let q = Query::select()
        .columns([
            FacilityExceptions::FacilityId,
            FacilityExceptions::Day,
            FacilityExceptions::OpensMin,
            FacilityExceptions::ClosesMin,
            FacilityExceptions::Note,
        ])
        .from(FacilityExceptions::Table)
        .and_where(Expr::col(FacilityExceptions::FacilityId).is_in(ids.iter().copied()))
        .order_by(FacilityExceptions::Day, Order::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

fn select_terminals() -> SelectStatement {
    Query::select()
        .columns([
            Terminals::Id,
            Terminals::FacilityId,
            Terminals::DivisionCode,
            Terminals::Serial,
            Terminals::Model,
            Terminals::LastSeenAt,
        ])
        .from(Terminals::Table)
        .to_owned()
}

async fn fetch_terminals(c: &mut Conn<'_>, ids: &[i64]) -> Result<Vec<TerminalRow>> {
    let q = select_terminals()
        .and_where(Expr::col(Terminals::FacilityId).is_in(ids.iter().copied()))
        .order_by(Terminals::Id, Order::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

/// List filters; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Limit to this subtree (outside the scope nothing is found).
    pub division: Option<DivisionCode>,
    /// Facilities hosting this function.
    pub function: Option<FunctionCode>,
    /// Name contains.
    pub name: Option<String>,
    pub status: Option<Status>,
}

/// Facilities in scope matching `f`, by division then id.
pub async fn list(
    c: &mut Conn<'_>,
    scope: &Scope,
    f: &Filter,
    page: PageReq,
) -> Result<Page<Facility>> {
    let narrowed = match &f.division {
        Some(d) if !scope.contains(d) => {
            return Ok(Page {
                items: Vec::new(),
                total: 0,
            });
        }
        Some(d) => Scope {
            root: d.clone(),
            ..scope.clone()
        },
        None => scope.clone(),
    };
    let mut q = select()
        .cond_where(narrowed.condition((Facilities::Table, Facilities::DivisionCode)))
        .to_owned();
    apply_filter(&mut q, f);
    let mut count = q.clone();
    count
        .clear_selects()
        .expr(Expr::col((Facilities::Table, Facilities::Id)).count());
    let total = c.fetch_i64(&count).await?;
    q.order_by((Facilities::Table, Facilities::DivisionCode), Order::Asc)
        .order_by((Facilities::Table, Facilities::Id), Order::Asc)
        .limit(page.per_page)
        .offset(page.offset());
    let rows: Vec<FacilityRow> = c.fetch_all(&q).await?;
    Ok(Page {
        items: with_children(c, rows).await?,
        total,
    })
}

fn apply_filter(q: &mut SelectStatement, f: &Filter) {
    if let Some(code) = &f.function {
        let hosts = Query::select()
            .column(FacilityFunctions::FacilityId)
            .from(FacilityFunctions::Table)
            .and_where(Expr::col(FacilityFunctions::FunctionCode).eq(code.as_str()))
            .to_owned();
        q.and_where(Expr::col((Facilities::Table, Facilities::Id)).in_subquery(hosts));
    }
    if let Some(n) = f.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        q.and_where(
            Expr::col((Facilities::Table, Facilities::Name)).like(format!("%{}%", escape_like(n))),
        );
    }
    if let Some(s) = f.status {
        q.and_where(Expr::col((Facilities::Table, Facilities::Status)).eq(s.as_str()));
    }
}

fn escape_like(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '%' | '_' | '\\'))
        .collect()
}

/// Replace a facility's fields, spaces, functions, hours and exceptions. The
/// division may move within scope; terminals follow it.
pub async fn update(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    f: &FacilityInput,
    now: DateTime<Utc>,
) -> Result<()> {
    check_input(f, now.year())?;
    let before = get(c, scope, id).await?.ok_or(DbError::NotFound)?;
    check_placement(c, scope, &f.division).await?;
    let cols = FACILITY_COLUMNS.into_iter().take(9);
    let vals = row_values(f, now).into_iter().take(9);
    let q = Query::update()
        .table(Facilities::Table)
        .values(cols.zip(vals).collect::<Vec<_>>())
        .value(Facilities::UpdatedAt, now)
        .and_where(Expr::col(Facilities::Id).eq(id))
        .cond_where(scope.condition(Facilities::DivisionCode))
        .to_owned();
    if c.execute(&q).await? == 0 {
        return Err(DbError::NotFound);
    }
    delete_children(c, id).await?;
    write_children(c, &[(id, f)]).await?;
    let moved = before.row.division_code != f.division.as_str();
    if moved {
        move_terminals(c, id, &f.division).await?;
    }
    let ev = Event::new("facility_update", "facility", id)
        .division(f.division.as_str())
        .detail(diff(&before, f));
    audit::append(c, &scope.actor, ev, now).await?;
    crate::indicators::refresh(c, &f.division, now).await?;
    if moved && let Ok(old) = DivisionCode::parse(&before.row.division_code) {
        crate::indicators::refresh(c, &old, now).await?;
    }
    Ok(())
}

async fn move_terminals(c: &mut Conn<'_>, id: i64, division: &DivisionCode) -> Result<()> {
    let q = Query::update()
        .table(Terminals::Table)
        .value(Terminals::DivisionCode, division.as_str())
        .and_where(Expr::col(Terminals::FacilityId).eq(id))
        .to_owned();
    c.execute(&q).await.map(|_| ())
}

/// Changed fields as `{"field":{"before","after"}}`; lists only as "已修改".
fn diff(before: &Facility, f: &FacilityInput) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    let b = &before.row;
    let mut plain = |field: &str, a: String, z: String| {
        if a != z {
            m.insert(field.into(), serde_json::json!({"before": a, "after": z}));
        }
    };
    plain("name", b.name.clone(), f.name.trim().to_owned());
    plain(
        "division",
        b.division_code.clone(),
        f.division.as_str().to_owned(),
    );
    plain("address", b.address.clone(), f.address.trim().to_owned());
    plain(
        "floor_area",
        format_area(b.floor_area_x100),
        format_area(f.floor_area_x100),
    );
    plain("status", b.status.clone(), f.status.as_str().to_owned());
    plain(
        "year_built",
        format!("{:?}", b.year_built),
        format!("{:?}", f.year_built),
    );
    plain(
        "online_24h",
        b.online_24h.to_string(),
        f.online_24h.to_string(),
    );
    let old_functions: Vec<&str> = before
        .functions
        .iter()
        .map(|x| x.function_code.as_str())
        .collect();
    let mut new_functions: Vec<&str> = f.functions.iter().map(|x| x.code.as_str()).collect();
    new_functions.sort_unstable();
    let mut sorted_old = old_functions.clone();
    sorted_old.sort_unstable();
    if sorted_old != new_functions {
        m.insert(
            "functions".into(),
            serde_json::json!({"before": sorted_old, "after": new_functions}),
        );
    }
    if before.hours != sorted_hours(&f.hours) {
        m.insert("hours".into(), serde_json::json!("已修改"));
    }
    m.insert("spaces".into(), serde_json::json!(f.spaces.len()));
    serde_json::Value::Object(m)
}

fn sorted_hours(h: &[Interval]) -> Vec<Interval> {
    let mut v = h.to_vec();
    v.sort_by_key(|i| (i.weekday, i.opens));
    v
}

/// Remove a facility and everything it holds.
pub async fn delete(c: &mut Conn<'_>, scope: &Scope, id: i64, now: DateTime<Utc>) -> Result<()> {
    let before = get_row(c, scope, id).await?.ok_or(DbError::NotFound)?;
    delete_children(c, id).await?;
    c.execute(
        &Query::delete()
            .from_table(Terminals::Table)
            .and_where(Expr::col(Terminals::FacilityId).eq(id))
            .to_owned(),
    )
    .await?;
    let q = Query::delete()
        .from_table(Facilities::Table)
        .and_where(Expr::col(Facilities::Id).eq(id))
        .cond_where(scope.condition(Facilities::DivisionCode))
        .to_owned();
    if c.execute(&q).await? == 0 {
        return Err(DbError::NotFound);
    }
    let ev = Event::new("facility_delete", "facility", id)
        .division(&before.division_code)
        .detail(serde_json::json!({"name": before.name}));
    audit::append(c, &scope.actor, ev, now).await?;
    refresh_stored(c, &before.division_code, now).await
}

/// Refresh the indicators of a division code read from the store.
async fn refresh_stored(c: &mut Conn<'_>, code: &str, now: DateTime<Utc>) -> Result<()> {
    match DivisionCode::parse(code) {
        Ok(d) => crate::indicators::refresh(c, &d, now).await,
        Err(_) => Ok(()),
    }
}

async fn serial_taken(c: &mut Conn<'_>, serial: &str) -> Result<bool> {
    let q = select_terminals()
        .and_where(Expr::col(Terminals::Serial).eq(serial))
        .to_owned();
    Ok(c.fetch_optional::<TerminalRow>(&q).await?.is_some())
}

/// Register a self-service terminal at a facility in scope.
pub async fn add_terminal(
    c: &mut Conn<'_>,
    scope: &Scope,
    facility_id: i64,
    t: &TerminalInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    check_terminal(t)?;
    let f = get_row(c, scope, facility_id)
        .await?
        .ok_or(DbError::NotFound)?;
    if serial_taken(c, t.serial.trim()).await? {
        return Err(DbError::invalid(
            "serial",
            "duplicate_serial",
            "该终端序列号已经登记",
        ));
    }
    let ids = insert_terminals(c, &[(facility_id, f.division_code.as_str(), t)]).await?;
    let id = ids.first().copied().ok_or(DbError::NotFound)?;
    let ev = Event::new("terminal_create", "terminal", id)
        .division(&f.division_code)
        .detail(serde_json::json!({"facility_id": facility_id, "serial": t.serial.trim(), "model": t.model.trim()}));
    audit::append(c, &scope.actor, ev, now).await?;
    refresh_stored(c, &f.division_code, now).await?;
    Ok(id)
}

/// Record that a terminal reported in; `false` when no terminal has that serial.
/// Audited as the system's own work.
pub async fn touch_terminal(c: &mut Conn<'_>, serial: &str, now: DateTime<Utc>) -> Result<bool> {
    let q = select_terminals()
        .and_where(Expr::col(Terminals::Serial).eq(serial.trim()))
        .to_owned();
    let Some(t) = c.fetch_optional::<TerminalRow>(&q).await? else {
        return Ok(false);
    };
    let u = Query::update()
        .table(Terminals::Table)
        .value(Terminals::LastSeenAt, now)
        .and_where(Expr::col(Terminals::Id).eq(t.id))
        .to_owned();
    c.execute(&u).await?;
    let ev = Event::new("terminal_seen", "terminal", t.id).division(&t.division_code);
    audit::append(c, &Actor::system(), ev, now).await?;
    refresh_stored(c, &t.division_code, now).await?;
    Ok(true)
}

/// A facility and its terminals, for [`bulk_insert`].
#[derive(Debug, Clone)]
pub struct BulkFacility {
    pub facility: FacilityInput,
    pub terminals: Vec<TerminalInput>,
}

/// Insert many facilities at once (demo loading): checked like [`create`] but
/// with no scope, no per-row audit entry (the caller records one for the batch)
/// and no indicator refresh (the caller recomputes). Returns ids in input order.
pub async fn bulk_insert(
    c: &mut Conn<'_>,
    rows: &[BulkFacility],
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    for r in rows {
        check_input(&r.facility, now.year())?;
        check_terminal_all(&r.terminals)?;
    }
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(400) {
        let mut q = insert_stmt(chunk.iter().map(|r| &r.facility), now);
        q.returning_col(Facilities::Id);
        // Identity values are assigned in VALUES order; RETURNING order is not promised.
        let mut ids: Vec<i64> = c
            .insert_returning::<(i64,)>(&q)
            .await?
            .into_iter()
            .map(|r| r.0)
            .collect();
        ids.sort_unstable();
        let pairs: Vec<(i64, &FacilityInput)> = ids
            .iter()
            .copied()
            .zip(chunk.iter().map(|r| &r.facility))
            .collect();
        write_children(c, &pairs).await?;
        let terms: Vec<(i64, &str, &TerminalInput)> = ids
            .iter()
            .zip(chunk)
            .flat_map(|(id, r)| {
                r.terminals
                    .iter()
                    .map(move |t| (*id, r.facility.division.as_str(), t))
            })
            .collect();
        insert_terminals(c, &terms).await?;
        out.extend(ids);
    }
    Ok(out)
}

fn check_terminal_all(ts: &[TerminalInput]) -> Result<()> {
    for t in ts {
        check_terminal(t)?;
    }
    Ok(())
}

/// Facts about a division that the plan targets need.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DivisionAttributes {
    /// A newly built residential community (新建住宅小区).
    pub new_build: bool,
    pub building_area_x100: i64,
    /// Commercial and service floor area (社区综合服务设施配建).
    pub commercial_area_x100: i64,
    pub broadband: bool,
    pub five_g: bool,
    /// Codes from [`DESIGNATIONS`].
    pub designations: Vec<&'static str>,
}

/// The stored attributes of a division.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AttributesRow {
    pub division_code: String,
    pub new_build: bool,
    pub building_area_x100: i64,
    pub commercial_area_x100: i64,
    pub broadband: bool,
    pub five_g: bool,
    pub designations: String,
    pub updated_at: DateTime<Utc>,
}

impl AttributesRow {
    /// The stored values as attributes.
    pub fn attributes(&self) -> DivisionAttributes {
        DivisionAttributes {
            new_build: self.new_build,
            building_area_x100: self.building_area_x100,
            commercial_area_x100: self.commercial_area_x100,
            broadband: self.broadband,
            five_g: self.five_g,
            designations: split_designations(&self.designations),
        }
    }
}

fn split_designations(s: &str) -> Vec<&'static str> {
    DESIGNATIONS
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| s.split(',').any(|x| x == *c))
        .collect()
}

fn join_designations(d: &[&str]) -> String {
    DESIGNATIONS
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| d.contains(c))
        .collect::<Vec<_>>()
        .join(",")
}

/// Check attributes for a division of `level`.
pub fn check_attributes(
    level: Level,
    a: &DivisionAttributes,
) -> std::result::Result<(), FieldErrors> {
    let mut errs = FieldErrors::new();
    if !matches!(level, Level::Village | Level::Township) {
        errs.add(
            "division",
            "bad_level",
            "只能为村（社区）或乡镇（街道）填写这些情况",
        );
    }
    let max = MAX_DIVISION_AREA_X100;
    check_area(
        &mut errs,
        "building_area",
        a.building_area_x100,
        max,
        "住宅建筑面积",
    );
    check_area(
        &mut errs,
        "commercial_area",
        a.commercial_area_x100,
        max,
        "商业和服务用房面积",
    );
    if a.commercial_area_x100 > std::cmp::max(a.building_area_x100, 0) {
        errs.add(
            "commercial_area",
            "commercial_exceeds_building",
            "商业和服务用房面积不能超过建筑面积",
        );
    }
    if a.designations
        .iter()
        .any(|d| !DESIGNATIONS.iter().any(|(c, _)| c == d))
    {
        errs.add("designations", "unknown_designation", "未知的试点类别");
    }
    errs.into_result()
}

fn attrs_insert(
    rows: &[(&DivisionCode, &DivisionAttributes)],
    now: DateTime<Utc>,
) -> sea_query::InsertStatement {
    let mut q = Query::insert()
        .into_table(Attrs::Table)
        .columns([
            Attrs::DivisionCode,
            Attrs::NewBuild,
            Attrs::BuildingArea,
            Attrs::CommercialArea,
            Attrs::Broadband,
            Attrs::FiveG,
            Attrs::Designations,
            Attrs::UpdatedAt,
        ])
        .on_conflict(
            OnConflict::column(Attrs::DivisionCode)
                .update_columns([
                    Attrs::NewBuild,
                    Attrs::BuildingArea,
                    Attrs::CommercialArea,
                    Attrs::Broadband,
                    Attrs::FiveG,
                    Attrs::Designations,
                    Attrs::UpdatedAt,
                ])
                .to_owned(),
        )
        .to_owned();
    for (code, a) in rows {
        q.values_panic([
            code.as_str().into(),
            a.new_build.into(),
            a.building_area_x100.into(),
            a.commercial_area_x100.into(),
            a.broadband.into(),
            a.five_g.into(),
            join_designations(&a.designations).into(),
            now.into(),
        ]);
    }
    q
}

/// Set the attributes of a village/community or township in scope.
pub async fn set_attributes(
    c: &mut Conn<'_>,
    scope: &Scope,
    division: &DivisionCode,
    a: &DivisionAttributes,
    now: DateTime<Utc>,
) -> Result<()> {
    check_attributes(division.level(), a)?;
    check_placement(c, scope, division).await?;
    let before = get_attributes(c, scope, division)
        .await?
        .map(|r| r.attributes())
        .unwrap_or_default();
    c.execute(&attrs_insert(&[(division, a)], now)).await?;
    let ev = Event::new("division_attributes_set", "division", division.as_str())
        .division(division.as_str())
        .detail(serde_json::json!({"before": before, "after": a}));
    audit::append(c, &scope.actor, ev, now).await?;
    crate::indicators::refresh(c, division, now).await
}

/// The attributes of a division in scope; `None` when unset or outside the subtree.
pub async fn get_attributes(
    c: &mut Conn<'_>,
    scope: &Scope,
    division: &DivisionCode,
) -> Result<Option<AttributesRow>> {
    if !scope.contains(division) {
        return Ok(None);
    }
    let q = Query::select()
        .columns([
            Attrs::DivisionCode,
            Attrs::NewBuild,
            Attrs::BuildingArea,
            Attrs::CommercialArea,
            Attrs::Broadband,
            Attrs::FiveG,
            Attrs::Designations,
            Attrs::UpdatedAt,
        ])
        .from(Attrs::Table)
        .and_where(Expr::col(Attrs::DivisionCode).eq(division.as_str()))
        .to_owned();
    c.fetch_optional(&q).await
}

/// Set many divisions' attributes at once (demo loading); no audit, no refresh.
pub async fn bulk_set_attributes(
    c: &mut Conn<'_>,
    rows: &[(DivisionCode, DivisionAttributes)],
    now: DateTime<Utc>,
) -> Result<()> {
    for (code, a) in rows {
        check_attributes(code.level(), a)?;
    }
    for chunk in rows.chunks(500) {
        let refs: Vec<(&DivisionCode, &DivisionAttributes)> =
            chunk.iter().map(|(c, a)| (c, a)).collect();
        c.execute(&attrs_insert(&refs, now)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> FacilityInput {
        FacilityInput {
            division: DivisionCode::parse("430502001001").unwrap(),
            name: "和平社区综合服务中心".into(),
            address: "宝庆路1号".into(),
            location: None,
            floor_area_x100: 60_000,
            status: Status::InUse,
            year_built: Some(2015),
            online_24h: false,
            spaces: vec![SpaceInput {
                name: "活动室".into(),
                purpose: Purpose::Activity,
                area_x100: 40_000,
            }],
            functions: vec![FunctionInput {
                code: FunctionCode::parse("day_care").unwrap(),
                land_area_x100: 30_000,
            }],
            hours: vec![Interval {
                weekday: 1,
                opens: 510,
                closes: 1050,
            }],
            exceptions: Vec::new(),
        }
    }

    fn codes(f: &FacilityInput) -> Vec<&'static str> {
        match check_input(f, 2025) {
            Ok(()) => Vec::new(),
            Err(e) => e.0.iter().map(|x| x.code).collect(),
        }
    }

    #[test]
    fn areas_parse_and_format() {
        assert_eq!(parse_area("650.25"), Some(65_025));
        assert_eq!(parse_area("1,200㎡"), Some(120_000));
        assert_eq!(parse_area("abc"), None);
        assert_eq!(format_area(65_025), "650.25");
        assert_eq!(format_area(65_050), "650.5");
        assert_eq!(format_area(65_000), "650");
        assert_eq!(m2_to_x100(f64::NAN), None);
    }

    #[test]
    fn input_checks() {
        assert!(codes(&input()).is_empty());
        let mut f = input();
        f.spaces[0].area_x100 = 70_000;
        assert_eq!(codes(&f), vec!["spaces_exceed_floor_area"]);
        let mut f = input();
        f.functions[0].code = FunctionCode::parse("fitness").unwrap();
        assert_eq!(codes(&f), vec!["land_area_not_elderly"]);
        let mut f = input();
        f.year_built = Some(1800);
        assert_eq!(codes(&f), vec!["bad_year"]);
        let mut f = input();
        f.hours[0] = Interval {
            weekday: 1,
            opens: 1080,
            closes: 480,
        };
        assert_eq!(codes(&f), vec!["bad_hours"]);
        let mut f = input();
        f.floor_area_x100 = -1;
        f.spaces.clear();
        assert_eq!(codes(&f), vec!["negative_area"]);
        let mut f = input();
        f.division = DivisionCode::parse("430502").unwrap();
        assert_eq!(codes(&f), vec!["bad_level"]);
    }

    #[test]
    fn designations_round_trip() {
        let s = join_designations(&["rehab_rental_pilot", "education_pilot"]);
        assert_eq!(s, "education_pilot,rehab_rental_pilot");
        assert_eq!(
            split_designations(&s),
            vec!["education_pilot", "rehab_rental_pilot"]
        );
    }
}
