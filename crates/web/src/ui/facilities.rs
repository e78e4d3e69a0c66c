//! Facility pages: the registry list with filters, detail (activity-area share,
//! mean daily opening hours, terminals), registration and editing forms, and the
//! division attributes form. Everything works without JavaScript.

use super::{Ctx, Layout, PageError};
use crate::api::facilities::{FacilityQuery, area_text, filter, parse_day_spans, read_attributes};
use crate::extract::division_code;
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use serde::Deserialize;
use shequ_core::facility::{DESIGNATIONS, FUNCTIONS, Interval, format_minutes};
use shequ_core::geo::Point;
use shequ_core::role::Capability;
use shequ_core::{DivisionCode, FieldErrors};
use shequ_db::PageReq;
use shequ_db::facilities::{
    self, DivisionAttributes, ExceptionInput, Facility, FacilityInput, FunctionInput, Purpose,
    SpaceInput, Status, TerminalInput, parse_area,
};

/// The facility pages and the division attributes form.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/facilities", get(list).post(create))
        .route("/facilities/new", get(new_form))
        .route("/facilities/{id}", get(detail).post(update))
        .route("/facilities/{id}/edit", get(edit_form))
        .route("/facilities/{id}/delete", post(delete))
        .route("/facilities/{id}/terminals", post(add_terminal))
        .route(
            "/divisions/{code}/attributes",
            get(attributes_form).post(save_attributes),
        )
}

const PER_PAGE: u64 = 20;
const WEEKDAYS: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
/// Days after which a terminal counts as offline.
const STALE_DAYS: i64 = 30;

/// "兴隆街道 › 和平社区" (township down).
fn place_name(st: &AppState, code: &str) -> String {
    let Ok(c) = DivisionCode::parse(code) else {
        return code.to_owned();
    };
    let tree = st.tree.get();
    tree.lineage(&c)
        .iter()
        .filter(|d| d.code.len() >= 9)
        .map(|d| d.name.as_str())
        .collect::<Vec<_>>()
        .join(" › ")
}

fn beijing(t: DateTime<Utc>) -> String {
    t.with_timezone(&Shanghai)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn function_labels(f: &Facility) -> String {
    f.functions
        .iter()
        .map(|x| x.label())
        .collect::<Vec<_>>()
        .join("、")
}

fn status_label(code: &str) -> &'static str {
    Status::parse(code).map_or("", Status::label)
}

/// One line of the list.
pub struct ListRow {
    pub id: i64,
    pub name: String,
    pub place: String,
    pub floor_area: String,
    pub functions: String,
    pub status: &'static str,
}

/// The filter form's fields, echoed back.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub function: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub page: Option<u64>,
}

impl ListParams {
    fn query(&self) -> FacilityQuery {
        let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        FacilityQuery {
            division: opt(&self.division),
            function: opt(&self.function),
            q: opt(&self.q),
            status: opt(&self.status),
            page: self.page,
            per_page: Some(PER_PAGE),
        }
    }

    fn query_string(&self) -> String {
        let enc = super::urlencode;
        format!(
            "division={}&function={}&q={}&status={}",
            enc(&self.division),
            enc(&self.function),
            enc(&self.q),
            enc(&self.status)
        )
    }
}

/// `/facilities`: the registry with filters.
#[derive(Template, WebTemplate)]
#[template(path = "facilities/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub q: ListParams,
    pub rows: Vec<ListRow>,
    pub total: i64,
    pub page: u64,
    pub pages: u64,
    pub functions: Vec<(&'static str, &'static str)>,
    pub statuses: Vec<(&'static str, &'static str)>,
    pub message: String,
    pub can_write: bool,
    pub query_string: String,
}

/// The registry list, filtered and paged.
pub async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListParams>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ReadIndicators)?;
    let page_no = q.page.unwrap_or(1).max(1);
    let (rows, total, message) = match filter(&q.query()) {
        Ok(f) => {
            let found = facilities::list(
                &mut st.db.conn(),
                &scope,
                &f,
                PageReq::new(Some(page_no), Some(PER_PAGE)),
            )
            .await
            .map_err(|e| ctx.err(e))?;
            let rows = found.items.iter().map(|f| list_row(&st, f)).collect();
            (rows, found.total, String::new())
        }
        Err(e) => (Vec::new(), 0, e.to_string()),
    };
    let page = ListPage {
        layout: ctx.layout("设施", "facilities"),
        query_string: q.query_string(),
        q,
        rows,
        total,
        page: page_no,
        pages: (total.max(0) as u64).div_ceil(PER_PAGE),
        functions: FUNCTIONS.iter().map(|(c, n, _)| (*c, *n)).collect(),
        statuses: Status::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect(),
        message,
        can_write: ctx.can(Capability::WriteRegistries),
    };
    Ok(page.into_response())
}

fn list_row(st: &AppState, f: &Facility) -> ListRow {
    ListRow {
        id: f.row.id,
        name: f.row.name.clone(),
        place: place_name(st, &f.row.division_code),
        floor_area: area_text(f.row.floor_area_x100),
        functions: function_labels(f),
        status: status_label(&f.row.status),
    }
}

/// A terminal as the detail page shows it.
pub struct TerminalLine {
    pub serial: String,
    pub model: String,
    pub last_seen: String,
    pub stale: bool,
}

/// A hosted function as the detail page shows it.
pub struct FunctionLine {
    pub label: String,
    pub land_area: String,
}

/// A facility as the detail page shows it.
pub struct DetailView {
    pub id: i64,
    pub name: String,
    pub place: String,
    pub division_code: String,
    pub address: String,
    pub location: String,
    pub floor_area: String,
    pub activity_area: String,
    pub office_area: String,
    pub activity_share: String,
    pub share_low: bool,
    pub mean_hours: String,
    pub hours_low: bool,
    pub status: &'static str,
    pub year_built: String,
    pub online_24h: bool,
    pub functions: Vec<FunctionLine>,
    pub hours: Vec<(&'static str, String)>,
    pub exceptions: Vec<(String, String, String)>,
    pub terminals: Vec<TerminalLine>,
}

/// Each weekday with its spans ("08:30-12:00 14:00-17:30"), empty when closed.
fn week_text(hours: &[Interval]) -> Vec<String> {
    (1..=7u8)
        .map(|d| {
            hours
                .iter()
                .filter(|i| i.weekday == d)
                .map(|i| format!("{}-{}", format_minutes(i.opens), format_minutes(i.closes)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn terminal_line(t: &facilities::TerminalRow, now: DateTime<Utc>) -> TerminalLine {
    let (last_seen, stale) = match t.last_seen_at {
        Some(at) => {
            let days = (now - at).num_days();
            let ago = if days < 1 {
                "今天".to_owned()
            } else {
                format!("{days} 天前")
            };
            (format!("{}（{ago}）", beijing(at)), days > STALE_DAYS)
        }
        None => ("从未上线".to_owned(), true),
    };
    TerminalLine {
        serial: t.serial.clone(),
        model: t.model.clone(),
        last_seen,
        stale,
    }
}

fn detail_view(st: &AppState, f: &Facility) -> DetailView {
    let r = &f.row;
    let share = f.activity_share();
    let mean = f.mean_daily_hours();
    DetailView {
        id: r.id,
        name: r.name.clone(),
        place: place_name(st, &r.division_code),
        division_code: r.division_code.clone(),
        address: r.address.clone(),
        location: r
            .lon
            .zip(r.lat)
            .map_or_else(String::new, |(lon, lat)| format!("{lon:.5}, {lat:.5}")),
        floor_area: area_text(r.floor_area_x100),
        activity_area: area_text(f.area_x100(Purpose::Activity)),
        office_area: area_text(f.area_x100(Purpose::Office)),
        activity_share: share.map_or_else(|| "—".into(), |s| format!("{:.1}%", s * 100.0)),
        share_low: share.is_some_and(|s| s < 0.6),
        mean_hours: format!("{mean:.1} 小时"),
        hours_low: mean < 8.0 - 1e-9,
        status: status_label(&r.status),
        year_built: r.year_built.map(|y| format!("{y} 年")).unwrap_or_default(),
        online_24h: r.online_24h,
        functions: f
            .functions
            .iter()
            .map(|x| FunctionLine {
                label: x.label(),
                land_area: if x.land_area_x100 > 0 {
                    area_text(x.land_area_x100)
                } else {
                    String::new()
                },
            })
            .collect(),
        hours: WEEKDAYS.into_iter().zip(week_text(&f.hours)).collect(),
        exceptions: f
            .exceptions
            .iter()
            .map(|e| {
                let when = match (e.opens_min, e.closes_min) {
                    (Some(o), Some(c)) => format!("{}-{}", minutes(o), minutes(c)),
                    _ => "闭馆".into(),
                };
                (e.day.format("%Y-%m-%d").to_string(), when, e.note.clone())
            })
            .collect(),
        terminals: f
            .terminals
            .iter()
            .map(|t| terminal_line(t, st.now()))
            .collect(),
    }
}

fn minutes(m: i32) -> String {
    format_minutes(u16::try_from(m).unwrap_or(0))
}

/// `/facilities/{id}`.
#[derive(Template, WebTemplate)]
#[template(path = "facilities/detail.html")]
pub struct DetailPage {
    pub layout: Layout,
    pub f: DetailView,
    pub can_write: bool,
    pub errors: Vec<String>,
    pub serial: String,
    pub model: String,
}

async fn load(st: &AppState, ctx: &Ctx, cap: Capability, id: i64) -> Result<Facility, PageError> {
    let (_, scope) = ctx.scope(cap)?;
    facilities::get(&mut st.db.conn(), &scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| {
            ctx.err(AppError::NotFound(
                "没有找到该设施，或不在您的管辖范围内。".into(),
            ))
        })
}

fn detail_page(st: &AppState, ctx: &Ctx, f: &Facility, errors: Vec<String>) -> DetailPage {
    DetailPage {
        layout: ctx.layout(f.row.name.clone(), "facilities"),
        f: detail_view(st, f),
        can_write: ctx.can(Capability::WriteRegistries),
        errors,
        serial: String::new(),
        model: String::new(),
    }
}

/// One facility in scope.
pub async fn detail(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<DetailPage, PageError> {
    let f = load(&st, &ctx, Capability::ReadIndicators, id).await?;
    Ok(detail_page(&st, &ctx, &f, Vec::new()))
}

/// One space row of the form.
pub struct SpaceValues {
    pub name: String,
    pub purpose: String,
    pub area: String,
}

/// One function checkbox, with the land-area box for elderly care.
pub struct FunctionOption {
    pub code: &'static str,
    pub label: &'static str,
    pub elderly: bool,
    pub checked: bool,
    pub land: String,
}

/// The registration form's fields as submitted (or as stored, when editing).
#[derive(Default)]
pub struct FormValues {
    pub division: String,
    pub name: String,
    pub address: String,
    pub lon: String,
    pub lat: String,
    pub floor_area: String,
    pub status: String,
    pub year_built: String,
    pub online_24h: bool,
    pub spaces: Vec<SpaceValues>,
    pub functions: Vec<String>,
    pub lands: Vec<(String, String)>,
    pub other_functions: String,
    pub hours: Vec<String>,
    pub csrf: String,
}

/// Spaces shown on a form: at least three rows.
const SPACE_ROWS: usize = 3;

impl FormValues {
    fn blank(division: &str) -> FormValues {
        FormValues {
            division: division.to_owned(),
            status: Status::InUse.as_str().into(),
            ..Default::default()
        }
        .padded()
    }

    /// Fill up the repeated rows the form shows.
    fn padded(mut self) -> FormValues {
        while self.spaces.len() < SPACE_ROWS {
            self.spaces.push(SpaceValues {
                name: String::new(),
                purpose: if self.spaces.is_empty() {
                    "activity".into()
                } else {
                    "office".into()
                },
                area: String::new(),
            });
        }
        self.hours.resize(7, String::new());
        self
    }

    fn from_facility(f: &Facility) -> FormValues {
        let r = &f.row;
        let (known, custom): (Vec<_>, Vec<_>) = f
            .functions
            .iter()
            .partition(|x| !x.function_code.starts_with("custom:"));
        FormValues {
            division: r.division_code.clone(),
            name: r.name.clone(),
            address: r.address.clone(),
            lon: r.lon.map(|v| v.to_string()).unwrap_or_default(),
            lat: r.lat.map(|v| v.to_string()).unwrap_or_default(),
            floor_area: facilities::format_area(r.floor_area_x100),
            status: r.status.clone(),
            year_built: r.year_built.map(|y| y.to_string()).unwrap_or_default(),
            online_24h: r.online_24h,
            spaces: f
                .spaces
                .iter()
                .map(|s| SpaceValues {
                    name: s.name.clone(),
                    purpose: s.purpose.clone(),
                    area: facilities::format_area(s.area_x100),
                })
                .collect(),
            functions: known.iter().map(|x| x.function_code.clone()).collect(),
            lands: known
                .iter()
                .filter(|x| x.land_area_x100 > 0)
                .map(|x| {
                    (
                        x.function_code.clone(),
                        facilities::format_area(x.land_area_x100),
                    )
                })
                .collect(),
            other_functions: custom
                .iter()
                .map(|x| x.label())
                .collect::<Vec<_>>()
                .join("、"),
            hours: week_text(&f.hours),
            csrf: String::new(),
        }
        .padded()
    }

    /// Read a submitted form; repeated `function` boxes and indexed rows.
    fn from_pairs(pairs: &[(String, String)]) -> FormValues {
        let mut v = FormValues::default();
        for (k, val) in pairs {
            v.take(k, val);
        }
        v.padded()
    }

    fn take(&mut self, k: &str, val: &str) {
        let s = val.to_owned();
        match k {
            "division" => self.division = s,
            "name" => self.name = s,
            "address" => self.address = s,
            "lon" => self.lon = s,
            "lat" => self.lat = s,
            "floor_area" => self.floor_area = s,
            "status" => self.status = s,
            "year_built" => self.year_built = s,
            "online_24h" => self.online_24h = !s.is_empty(),
            "function" => self.functions.push(s),
            "other_functions" => self.other_functions = s,
            "csrf" => self.csrf = s,
            _ => self.take_indexed(k, s),
        }
    }

    fn take_indexed(&mut self, k: &str, s: String) {
        if let Some(code) = k.strip_prefix("land_") {
            self.lands.push((code.to_owned(), s));
        } else if let Some(d) = k
            .strip_prefix("hours_")
            .and_then(|d| d.parse::<usize>().ok())
        {
            if (1..=7).contains(&d) {
                self.hours.resize(7, String::new());
                if let Some(h) = self.hours.get_mut(d - 1) {
                    *h = s;
                }
            }
        } else if let Some((field, i)) = k
            .rsplit_once('_')
            .and_then(|(f, i)| Some((f, i.parse::<usize>().ok()?)))
            .filter(|(_, i)| *i < facilities::MAX_SPACES)
        {
            while self.spaces.len() <= i {
                self.spaces.push(SpaceValues {
                    name: String::new(),
                    purpose: String::new(),
                    area: String::new(),
                });
            }
            if let Some(row) = self.spaces.get_mut(i) {
                match field {
                    "space_name" => row.name = s,
                    "space_purpose" => row.purpose = s,
                    "space_area" => row.area = s,
                    _ => {}
                }
            }
        }
    }

    fn land(&self, code: &str) -> String {
        self.lands
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn options(&self) -> Vec<FunctionOption> {
        FUNCTIONS
            .iter()
            .map(|(code, label, elderly)| FunctionOption {
                code,
                label,
                elderly: *elderly,
                checked: self.functions.iter().any(|f| f == code),
                land: self.land(code),
            })
            .collect()
    }
}

/// A decimal field, or an error message.
fn number<T: std::str::FromStr>(
    errs: &mut FieldErrors,
    field: &str,
    s: &str,
    msg: &str,
) -> Option<T> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let v = s.parse::<T>().ok();
    if v.is_none() {
        errs.add(field, "bad_number", msg);
    }
    v
}

fn area_or_error(errs: &mut FieldErrors, field: &str, s: &str, label: &str) -> i64 {
    parse_area(s).unwrap_or_else(|| {
        errs.add(field, "bad_area", format!("{label}应为数字（平方米）"));
        0
    })
}

impl FormValues {
    /// The checked facility fields, or every message to show.
    fn input(&self, exceptions: Vec<ExceptionInput>) -> Result<FacilityInput, FieldErrors> {
        let mut errs = FieldErrors::new();
        let division = DivisionCode::parse(&self.division)
            .map_err(|e| errs.add("division", e.code(), format!("区划代码有误：{e}")))
            .ok();
        let lon: Option<f64> = number(&mut errs, "lon", &self.lon, "经度应为数字");
        let lat: Option<f64> = number(&mut errs, "lat", &self.lat, "纬度应为数字");
        let location: Option<Point> = crate::api::facilities::point(&mut errs, lon, lat);
        let floor_area_x100 = if self.floor_area.trim().is_empty() {
            errs.add("floor_area", "required", "请填写建筑面积");
            0
        } else {
            area_or_error(&mut errs, "floor_area", &self.floor_area, "建筑面积")
        };
        let status = crate::api::facilities::status_field(&mut errs, Some(&self.status));
        let year_built = number(
            &mut errs,
            "year_built",
            &self.year_built,
            "建成年份应为四位数字",
        );
        let spaces = self.space_inputs(&mut errs);
        let functions = self.function_inputs(&mut errs);
        let hours = self.hour_inputs(&mut errs);
        errs.into_result()?;
        Ok(FacilityInput {
            division: division.ok_or_else(FieldErrors::new)?,
            name: self.name.clone(),
            address: self.address.clone(),
            location,
            floor_area_x100,
            status,
            year_built,
            online_24h: self.online_24h,
            spaces,
            functions,
            hours,
            exceptions,
        })
    }

    fn space_inputs(&self, errs: &mut FieldErrors) -> Vec<SpaceInput> {
        self.spaces
            .iter()
            .filter(|s| !(s.name.trim().is_empty() && s.area.trim().is_empty()))
            .map(|s| SpaceInput {
                name: s.name.clone(),
                purpose: Purpose::parse(&s.purpose).unwrap_or_else(|| {
                    errs.add("spaces", "bad_purpose", "用途应为 活动用房 或 办公用房");
                    Purpose::Activity
                }),
                area_x100: area_or_error(errs, "spaces", &s.area, "用房面积"),
            })
            .collect()
    }

    fn function_inputs(&self, errs: &mut FieldErrors) -> Vec<FunctionInput> {
        let mut out: Vec<FunctionInput> = Vec::new();
        for code in &self.functions {
            let land = self.land(code);
            let land_x100 = if land.trim().is_empty() {
                0
            } else {
                area_or_error(errs, "functions", &land, "占地面积")
            };
            if let Some(f) = crate::api::facilities::function_field(errs, code, land_x100) {
                out.push(f);
            }
        }
        for name in self
            .other_functions
            .split(['、', ',', '，', ';', '；'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            if let Some(f) = crate::api::facilities::function_field(errs, name, 0)
                && !out.iter().any(|x| x.code == f.code)
            {
                out.push(f);
            }
        }
        out
    }

    fn hour_inputs(&self, errs: &mut FieldErrors) -> Vec<Interval> {
        let mut out = Vec::new();
        for (i, text) in self.hours.iter().enumerate().take(7) {
            let weekday = u8::try_from(i + 1).unwrap_or(1);
            match parse_day_spans(text) {
                Ok(spans) => out.extend(spans.into_iter().map(|(opens, closes)| Interval {
                    weekday,
                    opens,
                    closes,
                })),
                Err(m) => errs.add(
                    "hours",
                    "bad_hours",
                    format!("{}：{m}", WEEKDAYS.get(i).copied().unwrap_or("")),
                ),
            }
        }
        out
    }
}

/// The registration and editing form.
#[derive(Template, WebTemplate)]
#[template(path = "facilities/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub action: String,
    pub editing: bool,
    pub v: FormValues,
    pub options: Vec<FunctionOption>,
    pub statuses: Vec<(&'static str, &'static str)>,
    pub purposes: Vec<(&'static str, &'static str)>,
    pub weekdays: Vec<(usize, &'static str)>,
    pub errors: Vec<String>,
}

fn form_page(
    ctx: &Ctx,
    action: String,
    editing: bool,
    v: FormValues,
    errors: Vec<String>,
) -> FormPage {
    FormPage {
        layout: ctx.layout(
            if editing {
                "修改设施"
            } else {
                "登记设施"
            },
            "facilities",
        ),
        action,
        editing,
        options: v.options(),
        v,
        statuses: Status::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect(),
        purposes: Purpose::ALL
            .iter()
            .map(|p| (p.as_str(), p.label()))
            .collect(),
        weekdays: WEEKDAYS
            .iter()
            .enumerate()
            .map(|(i, d)| (i + 1, *d))
            .collect(),
        errors,
    }
}

fn messages(fe: FieldErrors) -> Vec<String> {
    fe.0.into_iter().map(|e| e.message).collect()
}

fn rejected(page: FormPage) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

/// An empty registration form, the division preset to the user's own.
pub async fn new_form(ctx: Ctx) -> Result<FormPage, PageError> {
    let (user, _) = ctx.scope(Capability::WriteRegistries)?;
    let v = FormValues::blank(&user.division_code);
    Ok(form_page(&ctx, "/facilities".into(), false, v, Vec::new()))
}

/// Register a facility from the form; 422 with messages on bad input.
pub async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues::from_pairs(&pairs);
    ctx.check_csrf(&v.csrf)?;
    let (_, scope) = ctx.scope(Capability::WriteRegistries)?;
    let input = match v.input(Vec::new()) {
        Ok(i) => i,
        Err(fe) => {
            let page = form_page(&ctx, "/facilities".into(), false, v, messages(fe));
            return Ok(rejected(page));
        }
    };
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match facilities::create(&mut tx.conn(), &scope, &input, st.now()).await {
        Ok(id) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/facilities/{id}")).into_response())
        }
        Err(shequ_db::DbError::Invalid(fe)) => {
            let page = form_page(&ctx, "/facilities".into(), false, v, messages(fe));
            Ok(rejected(page))
        }
        Err(e) => Err(ctx.err(e)),
    }
}

/// The form filled with a stored facility.
pub async fn edit_form(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<FormPage, PageError> {
    let f = load(&st, &ctx, Capability::WriteRegistries, id).await?;
    let v = FormValues::from_facility(&f);
    Ok(form_page(
        &ctx,
        format!("/facilities/{id}"),
        true,
        v,
        Vec::new(),
    ))
}

/// Exceptions are not on the form; an edit keeps the stored ones.
fn kept_exceptions(f: &Facility) -> Vec<ExceptionInput> {
    f.exceptions
        .iter()
        .map(|e| ExceptionInput {
            day: e.day,
            hours: e
                .opens_min
                .zip(e.closes_min)
                .map(|(o, c)| (u16::try_from(o).unwrap_or(0), u16::try_from(c).unwrap_or(0))),
            note: e.note.clone(),
        })
        .collect()
}

/// Save an edit; 422 with messages on bad input.
pub async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues::from_pairs(&pairs);
    ctx.check_csrf(&v.csrf)?;
    let (_, scope) = ctx.scope(Capability::WriteRegistries)?;
    let current = load(&st, &ctx, Capability::WriteRegistries, id).await?;
    let action = format!("/facilities/{id}");
    let input = match v.input(kept_exceptions(&current)) {
        Ok(i) => i,
        Err(fe) => return Ok(rejected(form_page(&ctx, action, true, v, messages(fe)))),
    };
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match facilities::update(&mut tx.conn(), &scope, id, &input, st.now()).await {
        Ok(()) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&action).into_response())
        }
        Err(shequ_db::DbError::Invalid(fe)) => {
            Ok(rejected(form_page(&ctx, action, true, v, messages(fe))))
        }
        Err(e) => Err(ctx.err(e)),
    }
}

/// A form that carries only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// Remove a facility, then back to the list.
pub async fn delete(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::WriteRegistries)?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    facilities::delete(&mut tx.conn(), &scope, id, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    tx.commit().await.map_err(|e| ctx.err(e))?;
    Ok(Redirect::to("/facilities").into_response())
}

/// The new-terminal form on the detail page.
#[derive(Debug, Deserialize)]
pub struct TerminalForm {
    #[serde(default)]
    pub serial: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub csrf: String,
}

/// Register a terminal from the detail page.
pub async fn add_terminal(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(t): Form<TerminalForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&t.csrf)?;
    let (_, scope) = ctx.scope(Capability::WriteRegistries)?;
    let input = TerminalInput {
        serial: t.serial.clone(),
        model: t.model.clone(),
        last_seen_at: None,
    };
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match facilities::add_terminal(&mut tx.conn(), &scope, id, &input, st.now()).await {
        Ok(_) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/facilities/{id}")).into_response())
        }
        Err(shequ_db::DbError::Invalid(fe)) => {
            drop(tx);
            let f = load(&st, &ctx, Capability::WriteRegistries, id).await?;
            let mut page = detail_page(&st, &ctx, &f, messages(fe));
            page.serial = t.serial;
            page.model = t.model;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(ctx.err(e)),
    }
}

/// The attributes form's fields.
#[derive(Debug, Clone, Default)]
pub struct AttributeValues {
    pub new_build: bool,
    pub building_area: String,
    pub commercial_area: String,
    pub broadband: bool,
    pub five_g: bool,
    pub designations: Vec<String>,
    pub csrf: String,
}

impl AttributeValues {
    fn from_pairs(pairs: &[(String, String)]) -> AttributeValues {
        let mut v = AttributeValues::default();
        for (k, val) in pairs {
            match k.as_str() {
                "new_build" => v.new_build = true,
                "building_area" => v.building_area = val.clone(),
                "commercial_area" => v.commercial_area = val.clone(),
                "broadband" => v.broadband = true,
                "five_g" => v.five_g = true,
                "designation" => v.designations.push(val.clone()),
                "csrf" => v.csrf = val.clone(),
                _ => {}
            }
        }
        v
    }

    fn parse(&self) -> Result<DivisionAttributes, FieldErrors> {
        let mut errs = FieldErrors::new();
        let area = |errs: &mut FieldErrors, field: &str, s: &str, label: &str| {
            if s.trim().is_empty() {
                0
            } else {
                area_or_error(errs, field, s, label)
            }
        };
        let building = area(&mut errs, "building_area", &self.building_area, "建筑面积");
        let commercial = area(
            &mut errs,
            "commercial_area",
            &self.commercial_area,
            "商业和服务用房面积",
        );
        let mut designations = Vec::new();
        for d in &self.designations {
            match shequ_core::facility::parse_designation(d) {
                Some(c) => designations.push(c),
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

/// `/divisions/{code}/attributes`.
#[derive(Template, WebTemplate)]
#[template(path = "facilities/attributes.html")]
pub struct AttributesPage {
    pub layout: Layout,
    pub code: String,
    pub place: String,
    pub v: AttributeValues,
    pub designations: Vec<(&'static str, &'static str, bool)>,
    pub errors: Vec<String>,
    pub saved: bool,
    pub updated: String,
}

fn attributes_page(
    st: &AppState,
    ctx: &Ctx,
    code: &DivisionCode,
    v: AttributeValues,
    errors: Vec<String>,
) -> AttributesPage {
    AttributesPage {
        layout: ctx.layout("区划基本情况", "facilities"),
        code: code.to_string(),
        place: place_name(st, code.as_str()),
        designations: DESIGNATIONS
            .iter()
            .map(|(c, n)| (*c, *n, v.designations.iter().any(|d| d == c)))
            .collect(),
        v,
        errors,
        saved: false,
        updated: String::new(),
    }
}

/// `?saved=1` after a save.
#[derive(Debug, Default, Deserialize)]
pub struct SavedParam {
    #[serde(default)]
    pub saved: Option<String>,
}

/// The attributes form of a division in scope.
pub async fn attributes_form(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<SavedParam>,
) -> Result<AttributesPage, PageError> {
    let (_, scope) = ctx.scope(Capability::WriteRegistries)?;
    let code = division_code(&code).map_err(|e| ctx.err(e))?;
    let view = read_attributes(&st, &scope, &code)
        .await
        .map_err(|e| ctx.err(e))?;
    let v = AttributeValues {
        new_build: view.new_build,
        building_area: area_value(view.building_area),
        commercial_area: area_value(view.commercial_area),
        broadband: view.broadband,
        five_g: view.five_g,
        designations: view.designations.clone(),
        csrf: String::new(),
    };
    let mut page = attributes_page(&st, &ctx, &code, v, Vec::new());
    page.saved = q.saved.is_some();
    page.updated = view.updated_at.map(beijing).unwrap_or_default();
    Ok(page)
}

fn area_value(m2: f64) -> String {
    if m2 == 0.0 {
        String::new()
    } else {
        facilities::format_area((m2 * 100.0).round() as i64)
    }
}

/// Save a division's attributes.
pub async fn save_attributes(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = AttributeValues::from_pairs(&pairs);
    ctx.check_csrf(&v.csrf)?;
    let (_, scope) = ctx.scope(Capability::WriteRegistries)?;
    let code = division_code(&code).map_err(|e| ctx.err(e))?;
    read_attributes(&st, &scope, &code)
        .await
        .map_err(|e| ctx.err(e))?;
    let a = match v.parse() {
        Ok(a) => a,
        Err(fe) => {
            let page = attributes_page(&st, &ctx, &code, v, messages(fe));
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match facilities::set_attributes(&mut tx.conn(), &scope, &code, &a, st.now()).await {
        Ok(()) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/divisions/{code}/attributes?saved=1")).into_response())
        }
        Err(shequ_db::DbError::Invalid(fe)) => {
            let page = attributes_page(&st, &ctx, &code, v, messages(fe));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(ctx.err(e)),
    }
}
