//! Dispatch settings for dispatchers: the rules from category × division to a
//! handling unit, the handling departments (added by city and county staff), and
//! the working-day calendar (holidays and swapped workdays, set by city staff).
//! Every change is recorded in the audit log.

use super::{
    Choice, CsrfOnly, Ctx, Group, Layout, PageError, SubLink, category_groups, category_name,
    code_in, divisions_below, layout, local_time, sub_nav,
};
use crate::orders::{self, UnitNames};
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use shequ_core::Level;
use shequ_core::role::{Capability, Role};
use shequ_db::DbError;
use shequ_db::audit::{self, Event};
use shequ_db::scope::Scope;
use shequ_db::users::User;
use shequ_db::workorders::{self, calendar, dispatch};

/// `?saved=1`, `?deleted=1` after a change (PRG).
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    pub saved: String,
    #[serde(default)]
    pub deleted: String,
}

impl Done {
    fn message(&self) -> &'static str {
        if !self.saved.is_empty() {
            "已保存。"
        } else if !self.deleted.is_empty() {
            "已删除。"
        } else {
            ""
        }
    }
}

fn messages(fe: shequ_core::FieldErrors) -> Vec<String> {
    fe.0.into_iter().map(|e| e.message).collect()
}

/// The divisions a rule may be set for: the user's area down two levels.
fn rule_divisions(st: &AppState, scope: &Scope, selected: &str) -> Vec<Choice> {
    let deepest = match scope.root.level() {
        Level::City => Level::Township,
        _ => Level::Village,
    };
    divisions_below(st, scope.root.as_str(), deepest, 800)
        .into_iter()
        .map(|(code, name)| {
            let sel = code == selected;
            Choice::new(code, name, sel)
        })
        .collect()
}

/// The add-rule form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RuleForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub unit_kind: String,
    #[serde(default)]
    pub department: String,
}

/// One rule as listed.
pub struct RuleLine {
    pub id: i64,
    pub division: String,
    pub category: String,
    pub kind: &'static str,
    pub department: String,
    pub updated_by: String,
    pub updated_at: String,
    /// Rules of a higher level are shown but belong to that level.
    pub deletable: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "workorders/rules.html")]
pub struct RulesPage {
    pub layout: Layout,
    pub sub: Vec<SubLink>,
    pub rules: Vec<RuleLine>,
    pub divisions: Vec<Choice>,
    pub categories: Vec<Group>,
    pub kinds: Vec<Choice>,
    pub departments: Vec<Choice>,
    pub errors: Vec<String>,
    pub message: &'static str,
}

async fn rules_view(
    st: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    v: RuleForm,
    errors: Vec<String>,
    message: &'static str,
) -> Result<RulesPage, PageError> {
    let err = |e: DbError| ctx.err(e);
    let mut c = st.db.conn();
    let rules = dispatch::rules(&mut c, scope).await.map_err(err)?;
    let cats = workorders::categories(&mut c).await.map_err(err)?;
    let names = UnitNames::load(st).await.map_err(|e| ctx.err(e))?;
    let kind = dispatch::UnitKind::parse(&v.unit_kind).unwrap_or(dispatch::UnitKind::Community);
    Ok(RulesPage {
        layout: layout(ctx, "派单规则"),
        sub: sub_nav(ctx, "/workorders/rules"),
        rules: rules
            .iter()
            .map(|r| RuleLine {
                id: r.id,
                division: orders::place_name(st, &r.division_code),
                category: r
                    .category_code
                    .as_deref()
                    .map_or_else(|| "全部类别".to_owned(), |c| category_name(&cats, c)),
                kind: dispatch::UnitKind::parse(&r.unit_kind).map_or("", |k| k.label()),
                department: r
                    .department_code
                    .as_deref()
                    .map(|d| names.name(st, d))
                    .unwrap_or_default(),
                updated_by: r.updated_by.clone(),
                updated_at: local_time(r.updated_at),
                deletable: dispatch::within(&r.division_code, scope.root.as_str()),
            })
            .collect(),
        divisions: rule_divisions(st, scope, v.division.trim()),
        categories: category_groups(&cats, &v.category, true),
        kinds: [
            dispatch::UnitKind::Community,
            dispatch::UnitKind::Township,
            dispatch::UnitKind::Department,
        ]
        .into_iter()
        .map(|k| Choice::new(k.as_str(), k.label(), k == kind))
        .collect(),
        departments: names
            .departments()
            .iter()
            .filter(|d| d.active)
            .map(|d| Choice::new(&d.code, &d.name, d.code == v.department))
            .collect(),
        errors,
        message,
    })
}

/// The rules in the user's area (and those above it that apply there).
pub async fn rules_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(d): Query<Done>,
) -> Result<RulesPage, PageError> {
    let (_, scope) = ctx.scope(Capability::DispatchWorkOrders)?;
    rules_view(
        &st,
        &ctx,
        &scope,
        RuleForm::default(),
        Vec::new(),
        d.message(),
    )
    .await
}

fn unprocessable(page: impl IntoResponse) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

/// Add (or replace) the rule for a division and category.
pub async fn add_rule(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(v): Form<RuleForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&v.csrf)?;
    let (_, scope) = ctx.scope(Capability::DispatchWorkOrders)?;
    let mut errors = Vec::new();
    let division = code_in(&v.division);
    if division.is_none() {
        errors.push("请选择规则适用的区划".to_owned());
    }
    let kind = dispatch::UnitKind::parse(&v.unit_kind);
    if kind.is_none() {
        errors.push("请选择承办单位类型".to_owned());
    }
    let (Some(division), Some(unit_kind), true) = (division, kind, errors.is_empty()) else {
        let page = rules_view(&st, &ctx, &scope, v, errors, "").await?;
        return Ok(unprocessable(page));
    };
    let rule = dispatch::NewRule {
        category_code: Some(v.category.trim().to_owned()).filter(|c| !c.is_empty()),
        division: division.clone(),
        unit_kind,
        department_code: (unit_kind == dispatch::UnitKind::Department)
            .then(|| v.department.trim().to_owned())
            .filter(|d| !d.is_empty()),
    };
    let now = st.now();
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    let saved = dispatch::put_rule(&mut tx.conn(), &scope, &rule, now).await;
    let errors = match saved {
        Ok(id) => {
            let ev = Event::new("dispatch_rule_put", "dispatch_rule", id)
                .division(division.as_str())
                .detail(serde_json::json!({
                    "category": rule.category_code,
                    "unit_kind": unit_kind.as_str(),
                    "department": rule.department_code,
                }));
            audit::append(&mut tx.conn(), &scope.actor, ev, now)
                .await
                .map_err(|e| ctx.err(e))?;
            tx.commit().await.map_err(|e| ctx.err(e))?;
            return Ok(Redirect::to("/workorders/rules?saved=1").into_response());
        }
        Err(DbError::Invalid(fe)) => messages(fe),
        Err(DbError::NotFound) => vec!["所选区划不在您的管辖范围内".to_owned()],
        Err(e) => return Err(ctx.err(e)),
    };
    drop(tx);
    let page = rules_view(&st, &ctx, &scope, v, errors, "").await?;
    Ok(unprocessable(page))
}

/// Remove a rule of the user's area.
pub async fn delete_rule(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::DispatchWorkOrders)?;
    let now = st.now();
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    dispatch::delete_rule(&mut tx.conn(), &scope, id)
        .await
        .map_err(|e| match e {
            DbError::NotFound => ctx.err(AppError::NotFound(
                "没有找到该规则，或它不属于您的管辖范围。".into(),
            )),
            e => ctx.err(e),
        })?;
    let ev = Event::new("dispatch_rule_delete", "dispatch_rule", id).division(scope.root.as_str());
    audit::append(&mut tx.conn(), &scope.actor, ev, now)
        .await
        .map_err(|e| ctx.err(e))?;
    tx.commit().await.map_err(|e| ctx.err(e))?;
    Ok(Redirect::to("/workorders/rules?deleted=1").into_response())
}

/// Who may add departments: city and county staff.
fn edits_departments(user: &User) -> bool {
    matches!(user.role(), Some(Role::CityStaff | Role::CountyStaff))
}

/// The add-department form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeptForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub active: String,
}

pub struct DeptLine {
    pub code: String,
    pub name: String,
    pub division: String,
    pub active: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "workorders/departments.html")]
pub struct DeptPage {
    pub layout: Layout,
    pub sub: Vec<SubLink>,
    pub items: Vec<DeptLine>,
    pub can_edit: bool,
    pub divisions: Vec<Choice>,
    pub v: DeptForm,
    pub errors: Vec<String>,
    pub message: &'static str,
}

async fn departments_view(
    st: &AppState,
    ctx: &Ctx,
    user: &User,
    scope: &Scope,
    v: DeptForm,
    errors: Vec<String>,
    message: &'static str,
) -> Result<DeptPage, PageError> {
    let all = dispatch::departments(&mut st.db.conn())
        .await
        .map_err(|e| ctx.err(e))?;
    let deepest = match scope.root.level() {
        Level::City => Level::County,
        l => l,
    };
    Ok(DeptPage {
        layout: layout(ctx, "承办部门"),
        sub: sub_nav(ctx, "/workorders/departments"),
        items: all
            .iter()
            .map(|d| DeptLine {
                code: d.code.clone(),
                name: d.name.clone(),
                division: orders::place_name(st, &d.division_code),
                active: d.active,
            })
            .collect(),
        can_edit: edits_departments(user),
        divisions: divisions_below(st, scope.root.as_str(), deepest, 100)
            .into_iter()
            .map(|(code, name)| {
                let sel = code == v.division;
                Choice::new(code, name, sel)
            })
            .collect(),
        v,
        errors,
        message,
    })
}

/// The handling departments.
pub async fn departments_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(d): Query<Done>,
) -> Result<DeptPage, PageError> {
    let (user, scope) = ctx.scope(Capability::DispatchWorkOrders)?;
    let v = DeptForm {
        active: "1".into(),
        ..DeptForm::default()
    };
    departments_view(&st, &ctx, &user, &scope, v, Vec::new(), d.message()).await
}

/// Add or rename a department of the user's area.
pub async fn add_department(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(v): Form<DeptForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&v.csrf)?;
    let (user, scope) = ctx.scope(Capability::DispatchWorkOrders)?;
    if !edits_departments(&user) {
        return Err(ctx.err(AppError::Forbidden));
    }
    let mut errors = Vec::new();
    let division = code_in(&v.division).filter(|d| scope.contains(d));
    if division.is_none() {
        errors.push("请选择部门所属的区划".to_owned());
    }
    let code = v.code.trim().to_owned();
    let all = dispatch::departments(&mut st.db.conn())
        .await
        .map_err(|e| ctx.err(e))?;
    if all
        .iter()
        .any(|d| d.code == code && !scope.contains_str(&d.division_code))
    {
        errors.push("该部门编码已被其他地区使用".to_owned());
    }
    let Some(division) = division.filter(|_| errors.is_empty()) else {
        let page = departments_view(&st, &ctx, &user, &scope, v, errors, "").await?;
        return Ok(unprocessable(page));
    };
    let d = dispatch::Department {
        code: code.clone(),
        name: v.name.trim().to_owned(),
        division_code: division.as_str().to_owned(),
        active: !v.active.is_empty(),
    };
    let now = st.now();
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match dispatch::put_department(&mut tx.conn(), &d).await {
        Ok(()) => {
            let ev = Event::new("department_put", "department", &code)
                .division(division.as_str())
                .detail(serde_json::json!({"name": d.name, "active": d.active}));
            audit::append(&mut tx.conn(), &scope.actor, ev, now)
                .await
                .map_err(|e| ctx.err(e))?;
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to("/workorders/departments?saved=1").into_response())
        }
        Err(DbError::Invalid(fe)) => {
            drop(tx);
            let page = departments_view(&st, &ctx, &user, &scope, v, messages(fe), "").await?;
            Ok(unprocessable(page))
        }
        Err(e) => Err(ctx.err(e)),
    }
}

/// Who may change the calendar (it applies to the whole city): city staff.
fn edits_calendar(user: &User) -> bool {
    user.role() == Some(Role::CityStaff)
}

/// The add-day form (and the remove button's day).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DayForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub day: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

pub struct DayLine {
    pub day: String,
    pub kind: &'static str,
    pub holiday: bool,
    pub name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "workorders/calendar.html")]
pub struct CalendarPage {
    pub layout: Layout,
    pub sub: Vec<SubLink>,
    pub days: Vec<DayLine>,
    pub can_edit: bool,
    pub v: DayForm,
    pub errors: Vec<String>,
    pub message: &'static str,
}

async fn calendar_view(
    st: &AppState,
    ctx: &Ctx,
    user: &User,
    v: DayForm,
    errors: Vec<String>,
    message: &'static str,
) -> Result<CalendarPage, PageError> {
    let days = calendar::days(&mut st.db.conn())
        .await
        .map_err(|e| ctx.err(e))?;
    Ok(CalendarPage {
        layout: layout(ctx, "工作日历"),
        sub: sub_nav(ctx, "/workorders/calendar"),
        days: days
            .into_iter()
            .map(|d| DayLine {
                holiday: d.kind == "holiday",
                kind: if d.kind == "holiday" {
                    "放假"
                } else {
                    "调休上班"
                },
                day: d.day,
                name: d.name,
            })
            .collect(),
        can_edit: edits_calendar(user),
        v,
        errors,
        message,
    })
}

/// The configured holidays and swapped workdays.
pub async fn calendar_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(d): Query<Done>,
) -> Result<CalendarPage, PageError> {
    let (user, _) = ctx.scope(Capability::DispatchWorkOrders)?;
    let v = DayForm {
        kind: "holiday".into(),
        ..DayForm::default()
    };
    calendar_view(&st, &ctx, &user, v, Vec::new(), d.message()).await
}

fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// Add or change a day.
pub async fn add_day(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(v): Form<DayForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&v.csrf)?;
    let (user, scope) = ctx.scope(Capability::DispatchWorkOrders)?;
    if !edits_calendar(&user) {
        return Err(ctx.err(AppError::Forbidden));
    }
    let day = parse_day(&v.day);
    let holiday = match v.kind.as_str() {
        "holiday" => Some(true),
        "workday" => Some(false),
        _ => None,
    };
    let (Some(day), Some(holiday)) = (day, holiday) else {
        let errors = vec!["请填写日期（如 2025-10-01）并选择放假或调休上班".to_owned()];
        let page = calendar_view(&st, &ctx, &user, v, errors, "").await?;
        return Ok(unprocessable(page));
    };
    let now = st.now();
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match calendar::put_day(&mut tx.conn(), day, holiday, &v.name).await {
        Ok(()) => {
            let ev = Event::new("calendar_day_put", "calendar_day", day)
                .detail(serde_json::json!({"holiday": holiday, "name": v.name.trim()}));
            audit::append(&mut tx.conn(), &scope.actor, ev, now)
                .await
                .map_err(|e| ctx.err(e))?;
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to("/workorders/calendar?saved=1").into_response())
        }
        Err(DbError::Invalid(fe)) => {
            drop(tx);
            let page = calendar_view(&st, &ctx, &user, v, messages(fe), "").await?;
            Ok(unprocessable(page))
        }
        Err(e) => Err(ctx.err(e)),
    }
}

/// Remove a configured day.
pub async fn remove_day(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(v): Form<DayForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&v.csrf)?;
    let (user, scope) = ctx.scope(Capability::DispatchWorkOrders)?;
    if !edits_calendar(&user) {
        return Err(ctx.err(AppError::Forbidden));
    }
    let Some(day) = parse_day(&v.day) else {
        return Err(ctx.err(AppError::bad_request("bad_day", "日期格式应为 YYYY-MM-DD")));
    };
    let now = st.now();
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    if !calendar::remove_day(&mut tx.conn(), day)
        .await
        .map_err(|e| ctx.err(e))?
    {
        return Err(ctx.err(AppError::NotFound("日历中没有这一天。".into())));
    }
    let ev = Event::new("calendar_day_delete", "calendar_day", day);
    audit::append(&mut tx.conn(), &scope.actor, ev, now)
        .await
        .map_err(|e| ctx.err(e))?;
    tx.commit().await.map_err(|e| ctx.err(e))?;
    Ok(Redirect::to("/workorders/calendar?deleted=1").into_response())
}
