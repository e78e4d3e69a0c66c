//! Workforce pages (社工队伍): the list with filters and the "new hires without a
//! mentor" notice, registration and editing, and the detail page with trainings.
//! Reading needs `read_indicators`; every form posts with a CSRF field and
//! `write_registries`.

use super::{Ctx, Layout, PageError};
use crate::api::workforce::{RawWorker, WorkersQuery, filter};
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Datelike;
use serde::Deserialize;
use shequ_core::DivisionCode;
use shequ_core::facility::{CERTIFICATES, WORKER_KINDS};
use shequ_core::role::Capability;
use shequ_db::scope::Scope;
use shequ_db::workforce::{self, TrainingInput, WorkerDetail, WorkerRow};
use shequ_db::{DbError, PageReq};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workers", get(list).post(create))
        .route("/workers/new", get(new_form))
        .route("/workers/{id}", get(detail).post(update))
        .route("/workers/{id}/edit", get(edit_form))
        .route("/workers/{id}/trainings", post(add_training))
        .route("/workers/{id}/deactivate", post(deactivate))
}

const PER_PAGE: u64 = 20;

/// One worker as a list row or the head of the detail page.
pub struct Row {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub grade: String,
    pub certificate: &'static str,
    pub hire_date: String,
    pub place: String,
    pub mentor_id: Option<i64>,
    pub mentor: String,
    pub needs_mentor: bool,
    pub active: bool,
}

fn row(st: &AppState, w: &WorkerRow) -> Row {
    Row {
        id: w.id,
        name: w.name.clone(),
        kind: w.kind_label(),
        grade: w.grade.clone(),
        certificate: w.certificate_label(),
        hire_date: w.hire_date.format("%Y-%m-%d").to_string(),
        place: place_name(st, &w.division_code),
        mentor_id: w.mentor_id,
        mentor: w.mentor_name.clone().unwrap_or_default(),
        needs_mentor: w.needs_mentor(st.now().date_naive()),
        active: w.active,
    }
}

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

/// An option of a select: code, label, selected.
pub struct Choice {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

fn choices(table: &[(&'static str, &'static str)], selected: &str) -> Vec<Choice> {
    table
        .iter()
        .map(|(c, l)| Choice {
            code: (*c).into(),
            label: (*l).into(),
            selected: *c == selected || *l == selected,
        })
        .collect()
}

/// The list's filters, echoed back.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    /// "1" (or "on") to show only first-year workers without a mentor.
    #[serde(default)]
    pub no_mentor: String,
    #[serde(default)]
    pub page: Option<u64>,
}

impl ListParams {
    fn no_mentor(&self) -> bool {
        matches!(self.no_mentor.as_str(), "1" | "on" | "true")
    }

    fn query(&self) -> WorkersQuery {
        let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        WorkersQuery {
            division: opt(&self.division),
            kind: opt(&self.kind),
            name: opt(&self.name),
            first_year_without_mentor: Some(self.no_mentor()),
            ..Default::default()
        }
    }

    fn query_string(&self) -> String {
        let enc = super::urlencode;
        format!(
            "division={}&kind={}&name={}&no_mentor={}",
            enc(&self.division),
            enc(&self.kind),
            enc(&self.name),
            if self.no_mentor() { "1" } else { "" }
        )
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "workforce/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub q: ListParams,
    pub only_no_mentor: bool,
    pub kinds: Vec<Choice>,
    pub rows: Vec<Row>,
    pub total: i64,
    pub page: u64,
    pub pages: u64,
    pub message: String,
    /// First-year workers without a mentor in the whole area.
    pub without_mentor: i64,
    pub can_write: bool,
    pub query_string: String,
}

pub async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListParams>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ReadIndicators)?;
    let page_no = q.page.unwrap_or(1).max(1);
    let (rows, total, message) = match filter(&st, &q.query()) {
        Ok(f) => {
            let found = workforce::list(
                &mut st.db.conn(),
                &scope,
                &f,
                PageReq::new(Some(page_no), Some(PER_PAGE)),
            )
            .await
            .map_err(|e| ctx.err(e))?;
            let rows = found.items.iter().map(|w| row(&st, w)).collect();
            (rows, found.total, String::new())
        }
        Err(e) => (Vec::new(), 0, e.to_string()),
    };
    let without_mentor = count_without_mentor(&st, &scope)
        .await
        .map_err(|e| ctx.err(e))?;
    let page = ListPage {
        layout: ctx.layout("社工队伍", "workers"),
        only_no_mentor: q.no_mentor(),
        kinds: choices(&WORKER_KINDS, &q.kind),
        query_string: q.query_string(),
        q,
        rows,
        total,
        page: page_no,
        pages: (total.max(0) as u64).div_ceil(PER_PAGE),
        message,
        without_mentor,
        can_write: ctx.can(Capability::WriteRegistries),
    };
    Ok(page.into_response())
}

async fn count_without_mentor(st: &AppState, scope: &Scope) -> Result<i64, DbError> {
    let f = workforce::Filter {
        first_year_without_mentor: Some(st.now().date_naive()),
        ..Default::default()
    };
    let page = PageReq::new(Some(1), Some(1));
    Ok(workforce::list(&mut st.db.conn(), scope, &f, page)
        .await?
        .total)
}

/// One training as shown.
pub struct TrainingLine {
    pub day: String,
    pub topic: String,
    pub hours: String,
}

/// The add-training form's fields.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TrainingForm {
    #[serde(default)]
    pub day: String,
    #[serde(default)]
    pub topic: String,
    #[serde(default)]
    pub hours: String,
    #[serde(default)]
    pub csrf: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "workforce/detail.html")]
pub struct DetailPage {
    pub layout: Layout,
    pub w: Row,
    pub trainings: Vec<TrainingLine>,
    pub year: i32,
    pub hours_this_year: String,
    pub can_write: bool,
    pub t: TrainingForm,
    pub errors: Vec<String>,
}

async fn load(st: &AppState, ctx: &Ctx, scope: &Scope, id: i64) -> Result<WorkerDetail, PageError> {
    workforce::get(&mut st.db.conn(), scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| {
            ctx.err(AppError::NotFound(
                "没有找到该社区工作者，或不在您的管辖范围内。".into(),
            ))
        })
}

async fn detail_page(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    t: TrainingForm,
    errors: Vec<String>,
) -> Result<DetailPage, PageError> {
    let (_, scope) = ctx.scope(Capability::ReadIndicators)?;
    let d = load(st, ctx, &scope, id).await?;
    let year = st.now().year();
    Ok(DetailPage {
        layout: ctx.layout(d.worker.name.clone(), "workers"),
        w: row(st, &d.worker),
        trainings: d
            .trainings
            .iter()
            .map(|t| TrainingLine {
                day: t.day.format("%Y-%m-%d").to_string(),
                topic: t.topic.clone(),
                hours: workforce::format_hours(i64::from(t.hours_x10)),
            })
            .collect(),
        year,
        hours_this_year: workforce::format_hours(d.hours_x10_in(year)),
        can_write: ctx.can(Capability::WriteRegistries),
        t,
        errors,
    })
}

pub async fn detail(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<DetailPage, PageError> {
    let t = TrainingForm {
        day: st.now().date_naive().format("%Y-%m-%d").to_string(),
        ..Default::default()
    };
    detail_page(&st, &ctx, id, t, Vec::new()).await
}

fn messages(fe: shequ_core::FieldErrors) -> Vec<String> {
    fe.0.into_iter().map(|e| e.message).collect()
}

/// Record a training from the detail page.
pub async fn add_training(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(t): Form<TrainingForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&t.csrf)?;
    let (_, scope) = ctx.scope(Capability::WriteRegistries)?;
    let parsed = match (
        workforce::parse_date(&t.day),
        workforce::parse_hours(&t.hours),
    ) {
        (Some(day), Some(hours_x10)) => Ok(TrainingInput {
            day,
            topic: t.topic.clone(),
            hours_x10,
        }),
        (None, _) => Err(vec!["培训日期格式应为 YYYY-MM-DD 或 YYYY/M/D".to_owned()]),
        (_, None) => Err(vec!["培训学时应为数字，最多保留一位小数".to_owned()]),
    };
    let result = match parsed {
        Ok(input) => {
            let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
            match workforce::add_training(&mut tx.conn(), &scope, id, &input, st.now()).await {
                Ok(_) => tx.commit().await.map_err(|e| ctx.err(e)).map(|()| Ok(()))?,
                Err(DbError::Invalid(fe)) => Err(messages(fe)),
                Err(e) => return Err(ctx.err(e)),
            }
        }
        Err(errors) => Err(errors),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/workers/{id}#trainings")).into_response()),
        Err(errors) => {
            let page = detail_page(&st, &ctx, id, t, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// The "left the post" button's form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// Record that a worker has left.
pub async fn deactivate(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::WriteRegistries)?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    workforce::deactivate(&mut tx.conn(), &scope, id, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    tx.commit().await.map_err(|e| ctx.err(e))?;
    Ok(Redirect::to(&format!("/workers/{id}")).into_response())
}

/// The registration form's fields.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FormValues {
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub grade: String,
    #[serde(default)]
    pub certificate: String,
    #[serde(default)]
    pub hire_date: String,
    #[serde(default)]
    pub mentor_id: String,
    #[serde(default)]
    pub csrf: String,
}

impl FormValues {
    fn from_row(w: &WorkerRow) -> FormValues {
        FormValues {
            division: w.division_code.clone(),
            name: w.name.clone(),
            kind: w.kind.clone(),
            grade: w.grade.clone(),
            certificate: w.certificate.clone(),
            hire_date: w.hire_date.format("%Y-%m-%d").to_string(),
            mentor_id: w.mentor_id.map(|m| m.to_string()).unwrap_or_default(),
            csrf: String::new(),
        }
    }

    fn input(&self) -> Result<workforce::WorkerInput, Vec<String>> {
        let mentor_id = match self.mentor_id.trim() {
            "" => None,
            m => Some(
                m.parse::<i64>()
                    .map_err(|_| vec!["导师编号应为数字".to_owned()])?,
            ),
        };
        RawWorker {
            division: self.division.trim().to_owned(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            grade: self.grade.clone(),
            certificate: self.certificate.clone(),
            hire_date: self.hire_date.clone(),
            mentor_id,
            active: None,
        }
        .parse()
        .map_err(messages)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "workforce/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub action: String,
    pub editing: bool,
    pub v: FormValues,
    pub kinds: Vec<Choice>,
    pub certificates: Vec<Choice>,
    pub mentors: Vec<Choice>,
    pub errors: Vec<String>,
}

/// Most mentor candidates offered in the form's list.
const MENTOR_CHOICES: u64 = 300;

async fn form_page(
    st: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    editing: Option<i64>,
    v: FormValues,
    errors: Vec<String>,
) -> Result<FormPage, PageError> {
    let mentors = mentor_choices(st, scope, editing, &v)
        .await
        .map_err(|e| ctx.err(e))?;
    Ok(FormPage {
        layout: ctx.layout(
            if editing.is_some() {
                "修改社区工作者信息"
            } else {
                "登记社区工作者"
            },
            "workers",
        ),
        action: editing.map_or_else(|| "/workers".to_owned(), |id| format!("/workers/{id}")),
        editing: editing.is_some(),
        kinds: choices(&WORKER_KINDS, &v.kind),
        certificates: choices(&CERTIFICATES, &v.certificate),
        mentors,
        v,
        errors,
    })
}

/// Possible mentors from the township of the form's division (the current one kept).
async fn mentor_choices(
    st: &AppState,
    scope: &Scope,
    editing: Option<i64>,
    v: &FormValues,
) -> Result<Vec<Choice>, DbError> {
    let Ok(division) = DivisionCode::parse(v.division.trim()) else {
        return Ok(Vec::new());
    };
    let today = st.now().date_naive();
    let found =
        workforce::mentor_candidates(&mut st.db.conn(), scope, &division, today, MENTOR_CHOICES)
            .await?;
    let mut out: Vec<Choice> = found
        .iter()
        .filter(|m| Some(m.id) != editing)
        .map(|m| Choice {
            code: m.id.to_string(),
            label: format!(
                "{}（{}，{} 年入职）",
                m.name,
                place_name(st, &m.division_code),
                m.hire_date.year()
            ),
            selected: m.id.to_string() == v.mentor_id.trim(),
        })
        .collect();
    let current = v.mentor_id.trim();
    if !current.is_empty() && !out.iter().any(|c| c.selected) {
        out.insert(
            0,
            Choice {
                code: current.to_owned(),
                label: format!("编号 {current}"),
                selected: true,
            },
        );
    }
    Ok(out)
}

pub async fn new_form(State(st): State<AppState>, ctx: Ctx) -> Result<FormPage, PageError> {
    let (user, scope) = ctx.scope(Capability::WriteRegistries)?;
    let v = FormValues {
        division: user.division_code.clone(),
        kind: "full_time".into(),
        certificate: "none".into(),
        ..Default::default()
    };
    form_page(&st, &ctx, &scope, None, v, Vec::new()).await
}

fn unprocessable(page: FormPage) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

pub async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(v): Form<FormValues>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&v.csrf)?;
    let (_, scope) = ctx.scope(Capability::WriteRegistries)?;
    let input = match v.input() {
        Ok(i) => i,
        Err(errors) => {
            return Ok(unprocessable(
                form_page(&st, &ctx, &scope, None, v, errors).await?,
            ));
        }
    };
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match workforce::create(&mut tx.conn(), &scope, &input, st.now()).await {
        Ok(id) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/workers/{id}")).into_response())
        }
        Err(DbError::Invalid(fe)) => {
            drop(tx);
            let page = form_page(&st, &ctx, &scope, None, v, messages(fe)).await?;
            Ok(unprocessable(page))
        }
        Err(e) => Err(ctx.err(e)),
    }
}

pub async fn edit_form(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<FormPage, PageError> {
    let (_, scope) = ctx.scope(Capability::WriteRegistries)?;
    let d = load(&st, &ctx, &scope, id).await?;
    let v = FormValues::from_row(&d.worker);
    form_page(&st, &ctx, &scope, Some(id), v, Vec::new()).await
}

pub async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(v): Form<FormValues>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&v.csrf)?;
    let (_, scope) = ctx.scope(Capability::WriteRegistries)?;
    let input = match v.input() {
        Ok(i) => i,
        Err(errors) => {
            return Ok(unprocessable(
                form_page(&st, &ctx, &scope, Some(id), v, errors).await?,
            ));
        }
    };
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match workforce::update(&mut tx.conn(), &scope, id, &input, st.now()).await {
        Ok(()) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/workers/{id}")).into_response())
        }
        Err(DbError::Invalid(fe)) => {
            drop(tx);
            let page = form_page(&st, &ctx, &scope, Some(id), v, messages(fe)).await?;
            Ok(unprocessable(page))
        }
        Err(e) => Err(ctx.err(e)),
    }
}
