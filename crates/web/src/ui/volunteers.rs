//! Volunteer pages (志愿者), phone-first.
//!
//! Staff (`manage_volunteers`): the register with registration form and an
//! audited reveal, teams (incl. 应急救援队), stations, activities (publish,
//! cancel), the venue page with the check-in code in big digits and a QR code of
//! the check-in address, the hours confirmation page with corrections, and the
//! xlsx export of hours by team.
//! Volunteers: 我的志愿服务 (self-registration with consent, own record),
//! activity list and detail with sign-up and withdrawal, and the check-in page
//! (type the code, or open the QR address).

use super::{Ctx, Layout, PageError};
use crate::api::volunteers::{activity_filter, seed};
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::Deserialize;
use shequ_core::role::Capability;
use shequ_core::volunteers::{
    self as core, ActivityDraft, ActivityState, Category, Period, SignupState, TeamKind,
};
use shequ_core::{DivisionCode, FieldErrors, IdCardNo, Phone};
use shequ_db::scope::Scope;
use shequ_db::users::User;
use shequ_db::volunteers::{
    self as store, ActivityInput, ActivityRow, HoursEntry, Protected, TeamInput, VolunteerFilter,
    VolunteerInput, VolunteerRow,
};
use shequ_db::{DbError, PageReq};
use shequ_reports::xlsx::{self, Cell};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/volunteers", get(list).post(register))
        .route("/volunteers/new", get(new_form))
        .route("/volunteers/hours.xlsx", get(export))
        .route("/volunteers/{id}", get(detail))
        .route("/volunteers/{id}/reveal", post(reveal))
        .route("/my/volunteering", get(mine).post(register_self))
        .route("/volunteer-teams", get(teams).post(create_team))
        .route("/volunteer-teams/{id}", get(team))
        .route("/volunteer-teams/{id}/members", post(add_member))
        .route("/volunteer-stations", get(stations).post(open_station))
        .route("/volunteer-stations/{id}/close", post(close_station))
        .route("/volunteer-activities", get(activities).post(publish))
        .route("/volunteer-activities/new", get(new_activity))
        .route("/volunteer-activities/{id}", get(activity))
        .route("/volunteer-activities/{id}/signup", post(sign_up))
        .route("/volunteer-activities/{id}/withdraw", post(withdraw))
        .route(
            "/volunteer-activities/{id}/checkin",
            get(checkin_page).post(checkin),
        )
        .route("/volunteer-activities/{id}/cancel", post(cancel))
        .route("/volunteer-activities/{id}/venue", get(venue))
        .route(
            "/volunteer-activities/{id}/hours",
            get(hours).post(confirm_hours),
        )
        .route("/volunteer-signups/{id}/correction", post(correct))
}

const PER_PAGE: u64 = 30;
const CST_HOURS: i64 = 8;

/// "2025-06-30 10:00" in Beijing time.
pub fn clock(t: DateTime<Utc>) -> String {
    (t + Duration::hours(CST_HOURS))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn hm(t: DateTime<Utc>) -> String {
    (t + Duration::hours(CST_HOURS)).format("%H:%M").to_string()
}

fn opt_clock(t: Option<DateTime<Utc>>) -> String {
    t.map(clock).unwrap_or_default()
}

/// "2025-06-30 09:00–11:00".
fn span(p: &Period) -> String {
    format!("{}–{}", clock(p.starts_at), hm(p.ends_at))
}

/// A `datetime-local` value (Beijing time) as UTC.
fn parse_local(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .ok()
        .map(|t| t.and_utc() - Duration::hours(CST_HOURS))
}

fn local_input(t: DateTime<Utc>) -> String {
    (t + Duration::hours(CST_HOURS))
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

fn name_of(st: &AppState, code: &str) -> String {
    st.tree
        .get()
        .get(code)
        .map_or_else(|| code.to_owned(), |d| d.name.clone())
}

/// Error messages of a refused store call, one per line.
fn messages(e: DbError) -> Result<Vec<String>, AppError> {
    match e {
        DbError::Invalid(f) => Ok(f.0.into_iter().map(|e| e.message).collect()),
        other => Err(AppError::from(other)),
    }
}

fn notice_text(code: &str) -> &'static str {
    match code {
        "registered" => "登记成功，志愿者编号已生成。",
        "signed_up" => "报名成功。请在活动开始前 30 分钟内到场签到。",
        "withdrawn" => "已取消报名。",
        "checked_in" => "签到成功。活动结束后请签退。",
        "checked_out" => "签退成功，感谢您的志愿服务！服务时长由组织方确认。",
        "published" => "活动已发布。",
        "cancelled" => "活动已取消，已报名的志愿者报名随之取消。",
        "confirmed" => "服务时长已确认。",
        "corrected" => "服务时长已更正，更正记录已留存。",
        "team" => "已保存。",
        "station" => "已保存，设施已计入志愿服务站。",
        "closed" => "站点已撤销。",
        _ => "",
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    pub ok: String,
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

// ---------------------------------------------------------------- register

#[derive(Debug, Clone)]
pub struct VRow {
    pub id: i64,
    pub no: String,
    pub name: String,
    pub place: String,
    pub skills: String,
    pub status: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "volunteers/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub q: String,
    pub skill: String,
    pub rows: Vec<VRow>,
    pub total: i64,
    pub page: u64,
    pub pages: u64,
    pub active: i64,
    pub teams: i64,
    pub stations: i64,
    pub year: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub skill: String,
    pub page: Option<u64>,
}

pub async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(p): Query<ListParams>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let page = p.page.unwrap_or(1).max(1);
    let f = VolunteerFilter {
        q: Some(p.q.chars().take(30).collect()),
        skill: Some(p.skill.chars().take(20).collect()),
        ..Default::default()
    };
    let mut c = st.db.conn();
    let found = store::list(&mut c, &scope, &f, PageReq::new(Some(page), Some(PER_PAGE)))
        .await
        .map_err(|e| ctx.err(e))?;
    let o = store::overview(&mut c, &scope)
        .await
        .map_err(|e| ctx.err(e))?;
    Ok(ListPage {
        layout: ctx.layout("志愿者", "volunteers"),
        q: p.q.clone(),
        skill: p.skill.clone(),
        rows: found
            .items
            .iter()
            .map(|v| VRow {
                id: v.id,
                no: v.volunteer_no.clone(),
                name: v.name.clone(),
                place: name_of(&st, &v.division_code),
                skills: v.skill_list().join("、"),
                status: v.status().label(),
            })
            .collect(),
        total: found.total,
        page,
        pages: (found.total.max(0) as u64).div_ceil(PER_PAGE),
        active: o.active,
        teams: o.teams,
        stations: o.stations,
        year: (st.now() + Duration::hours(CST_HOURS))
            .format("%Y")
            .to_string(),
    }
    .into_response())
}

/// Registration fields as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub skills: String,
    #[serde(default)]
    pub availability: String,
    #[serde(default)]
    pub consent: Option<String>,
}

impl RegForm {
    fn parse(&self, st: &AppState, default_division: &str) -> Result<VolunteerInput, FieldErrors> {
        let mut errs = FieldErrors::new();
        let d = if self.division.trim().is_empty() {
            default_division
        } else {
            self.division.trim()
        };
        let division = DivisionCode::parse(d)
            .map_err(|e| errs.add("division", e.code(), format!("区划代码有误：{e}")))
            .ok();
        let id_number = IdCardNo::parse(&self.id_number, st.now().date_naive())
            .map_err(|e| errs.add("id_number", e.code(), format!("身份证号：{e}")))
            .ok();
        let phone = if self.phone.trim().is_empty() {
            None
        } else {
            Phone::parse(self.phone.trim())
                .map_err(|e| errs.add("phone", e.code(), format!("手机号：{e}")))
                .ok()
        };
        errs.into_result()?;
        match (division, id_number) {
            (Some(division), Some(id_number)) => Ok(VolunteerInput {
                division,
                name: self.name.clone(),
                id_number,
                phone,
                skills: self.skills.clone(),
                availability: self.availability.clone(),
                registered_by_org: None,
                consent: self.consent.is_some(),
            }),
            _ => {
                let mut e = FieldErrors::new();
                e.add("id_number", "required", "请填写身份证号");
                Err(e)
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "volunteers/register.html")]
pub struct RegisterPage {
    pub layout: Layout,
    pub action: String,
    pub staff: bool,
    pub divisions: Vec<Choice>,
    pub v: RegForm,
    pub errors: Vec<String>,
}

/// Villages/communities (and their grids' parents) within the scope, for the division select.
fn village_choices(st: &AppState, scope: &Scope, selected: &str) -> Vec<Choice> {
    let tree = st.tree.get();
    let mut out = Vec::new();
    let mut stack = vec![scope.root.as_str().to_owned()];
    while let Some(code) = stack.pop() {
        if code.len() == 12 {
            out.push(Choice {
                label: tree
                    .get(&code)
                    .map_or_else(|| code.clone(), |d| d.name.clone()),
                selected: code == selected,
                code,
            });
            continue;
        }
        if out.len() > 400 {
            break;
        }
        for k in tree.children(Some(&code)).unwrap_or_default().iter().rev() {
            stack.push(k.code.clone());
        }
    }
    out
}

pub async fn new_form(State(st): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    Ok(RegisterPage {
        layout: ctx.layout("登记志愿者", "volunteers"),
        action: "/volunteers".into(),
        staff: true,
        divisions: village_choices(&st, &scope, ""),
        v: RegForm::default(),
        errors: Vec::new(),
    }
    .into_response())
}

pub async fn register(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<RegForm>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    ctx.check_csrf(&f.csrf)?;
    let errors = match f.parse(&st, "") {
        Err(e) => e.0.into_iter().map(|e| e.message).collect(),
        Ok(input) => {
            let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
            match store::register(&mut tx.conn(), &scope, &st.key, &input, None, st.now()).await {
                Ok(v) => {
                    tx.commit().await.map_err(|e| ctx.err(e))?;
                    return Ok(Redirect::to(&format!("/volunteers/{}?ok=registered", v.id))
                        .into_response());
                }
                Err(e) => messages(e).map_err(|e| ctx.err(e))?,
            }
        }
    };
    let divisions = village_choices(&st, &scope, f.division.trim());
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        RegisterPage {
            layout: ctx.layout("登记志愿者", "volunteers"),
            action: "/volunteers".into(),
            staff: true,
            divisions,
            v: RegForm {
                id_number: String::new(),
                ..f
            },
            errors,
        },
    )
        .into_response())
}

#[derive(Debug, Clone)]
pub struct Line {
    pub signup_id: i64,
    pub activity_id: i64,
    pub title: String,
    pub when: String,
    pub place: String,
    pub state: &'static str,
    pub state_code: &'static str,
    pub hours: String,
    pub upcoming: bool,
}

fn lines(r: &store::Record, now: DateTime<Utc>) -> Vec<Line> {
    r.lines
        .iter()
        .map(|l| {
            let s = SignupState::parse(&l.state).unwrap_or(SignupState::Cancelled);
            Line {
                signup_id: l.signup_id,
                activity_id: l.activity_id,
                title: l.title.clone(),
                when: span(&Period {
                    starts_at: l.starts_at,
                    ends_at: l.ends_at,
                }),
                place: l.place.clone(),
                state: s.label(),
                state_code: s.as_str(),
                hours: l
                    .minutes
                    .map(|m| core::hours_text(i64::from(m)))
                    .unwrap_or_default(),
                upcoming: l.ends_at > now && s.holds_time(),
            }
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "volunteers/detail.html")]
pub struct DetailPage {
    pub layout: Layout,
    pub notice: &'static str,
    pub v: VolunteerRow,
    pub place: String,
    pub status: &'static str,
    pub skills: String,
    pub revealed: String,
    pub can_reveal: bool,
    pub lines: Vec<Line>,
    pub total_hours: String,
    pub completed: i64,
}

pub async fn detail(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    show_detail(&st, &ctx, id, notice_text(&q.ok), String::new()).await
}

async fn show_detail(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    notice: &'static str,
    revealed: String,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let mut c = st.db.conn();
    let v = store::get(&mut c, &scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    let r = store::record(&mut c, v.id, 100)
        .await
        .map_err(|e| ctx.err(e))?;
    Ok(DetailPage {
        layout: ctx.layout(format!("志愿者 {}", v.name), "volunteers"),
        notice,
        place: name_of(st, &v.division_code),
        status: v.status().label(),
        skills: v.skill_list().join("、"),
        revealed,
        can_reveal: ctx.can(Capability::RevealProtected),
        lines: lines(&r, st.now()),
        total_hours: core::hours_text(r.total_minutes),
        completed: r.completed,
        v,
    }
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub field: String,
}

pub async fn reveal(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<RevealForm>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::RevealProtected)?;
    ctx.scope(Capability::ManageVolunteers)?;
    ctx.check_csrf(&f.csrf)?;
    let field = Protected::parse(&f.field)
        .ok_or_else(|| ctx.err(AppError::bad_request("unknown_field", "可查看的字段有误")))?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    let value = store::reveal(&mut tx.conn(), &scope, &st.key, id, field, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    tx.commit().await.map_err(|e| ctx.err(e))?;
    let label = if field == Protected::IdNumber {
        "身份证号"
    } else {
        "手机号"
    };
    let shown = if value.is_empty() {
        format!("{label}：未登记")
    } else {
        format!("{label}：{value}（本次查看已记入审计日志）")
    };
    show_detail(&st, &ctx, id, "", shown).await
}

// ---------------------------------------------------------------- my volunteering

#[derive(Template, WebTemplate)]
#[template(path = "volunteers/mine.html")]
pub struct MinePage {
    pub layout: Layout,
    pub notice: &'static str,
    pub registered: bool,
    pub no: String,
    pub name: String,
    pub place: String,
    pub lines: Vec<Line>,
    pub upcoming: usize,
    pub total_hours: String,
    pub completed: i64,
    pub form: RegForm,
    pub errors: Vec<String>,
    /// Unused by the self-registration form (the division is the login's own).
    pub divisions: Vec<Choice>,
}

async fn mine_page(
    st: &AppState,
    ctx: &Ctx,
    user: &User,
    notice: &'static str,
    form: RegForm,
    errors: Vec<String>,
) -> Result<MinePage, PageError> {
    let mut c = st.db.conn();
    let v = store::get_by_user(&mut c, user.id)
        .await
        .map_err(|e| ctx.err(e))?;
    let mut page = MinePage {
        layout: ctx.layout("我的志愿服务", "volunteering"),
        notice,
        registered: v.is_some(),
        no: String::new(),
        name: String::new(),
        place: String::new(),
        lines: Vec::new(),
        upcoming: 0,
        total_hours: "0".into(),
        completed: 0,
        form,
        errors,
        divisions: Vec::new(),
    };
    if let Some(v) = v {
        let r = store::record(&mut c, v.id, 200)
            .await
            .map_err(|e| ctx.err(e))?;
        page.no = v.volunteer_no.clone();
        page.name = v.name.clone();
        page.place = name_of(st, &v.division_code);
        page.lines = lines(&r, st.now());
        page.upcoming = page.lines.iter().filter(|l| l.upcoming).count();
        page.total_hours = core::hours_text(r.total_minutes);
        page.completed = r.completed;
    }
    Ok(page)
}

pub async fn mine(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let user = ctx.user()?.clone();
    Ok(mine_page(
        &st,
        &ctx,
        &user,
        notice_text(&q.ok),
        RegForm::default(),
        Vec::new(),
    )
    .await?
    .into_response())
}

pub async fn register_self(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<RegForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?.clone();
    ctx.check_csrf(&f.csrf)?;
    let scope = crate::api::volunteers::self_scope(&user).map_err(|e| ctx.err(e))?;
    let errors = match f.parse(&st, &user.division_code) {
        Err(e) => e.0.into_iter().map(|e| e.message).collect(),
        Ok(input) => {
            let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
            match store::register(
                &mut tx.conn(),
                &scope,
                &st.key,
                &input,
                Some(user.id),
                st.now(),
            )
            .await
            {
                Ok(_) => {
                    tx.commit().await.map_err(|e| ctx.err(e))?;
                    return Ok(Redirect::to("/my/volunteering?ok=registered").into_response());
                }
                Err(e) => messages(e).map_err(|e| ctx.err(e))?,
            }
        }
    };
    let form = RegForm {
        id_number: String::new(),
        ..f
    };
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        mine_page(&st, &ctx, &user, "", form, errors).await?,
    )
        .into_response())
}

// ---------------------------------------------------------------- activities

#[derive(Debug, Clone)]
pub struct ARow {
    pub id: i64,
    pub title: String,
    pub when: String,
    pub place: String,
    pub area: String,
    pub category: &'static str,
    pub state: &'static str,
    pub state_code: &'static str,
    pub places: String,
    pub elder_care: bool,
}

fn arow(st: &AppState, a: &ActivityRow) -> ARow {
    ARow {
        id: a.id,
        title: a.title.clone(),
        when: span(&a.period()),
        place: a.place.clone(),
        area: name_of(st, &a.division_code),
        category: a.category().label(),
        state: a.state().label(),
        state_code: a.state().as_str(),
        places: format!("{}/{}", a.signed_up, a.quota),
        elder_care: a.elder_care,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "volunteers/activities.html")]
pub struct ActivitiesPage {
    pub layout: Layout,
    pub notice: &'static str,
    pub manager: bool,
    pub from: String,
    pub to: String,
    pub division: String,
    pub rows: Vec<ARow>,
    pub total: i64,
    pub page: u64,
    pub pages: u64,
}

#[derive(Debug, Default, Deserialize)]
pub struct ActivitiesParams {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub ok: String,
    pub page: Option<u64>,
}

pub async fn activities(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(p): Query<ActivitiesParams>,
) -> Result<Response, PageError> {
    let user = ctx.user()?.clone();
    let manager = crate::api::volunteers::manager_scope(&user);
    let today = (st.now() + Duration::hours(CST_HOURS))
        .format("%Y-%m-%d")
        .to_string();
    let from = if p.from.trim().is_empty() && p.to.trim().is_empty() {
        today
    } else {
        p.from.trim().to_owned()
    };
    let mut f = activity_filter(Some(&p.division), Some(&from), Some(&p.to), None, None)
        .map_err(|e| ctx.err(e))?;
    if manager.is_none() && f.state.is_none() {
        f.state = Some(ActivityState::Published);
    }
    let page = p.page.unwrap_or(1).max(1);
    let found = store::list_activities(
        &mut st.db.conn(),
        manager.as_ref(),
        &f,
        PageReq::new(Some(page), Some(PER_PAGE)),
    )
    .await
    .map_err(|e| ctx.err(e))?;
    Ok(ActivitiesPage {
        layout: ctx.layout("志愿服务活动", "volunteers"),
        notice: notice_text(&p.ok),
        manager: manager.is_some(),
        from,
        to: p.to.trim().to_owned(),
        division: p.division.trim().to_owned(),
        rows: found.items.iter().map(|a| arow(&st, a)).collect(),
        total: found.total,
        page,
        pages: (found.total.max(0) as u64).div_ceil(PER_PAGE),
    }
    .into_response())
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ActivityForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub place: String,
    #[serde(default)]
    pub starts: String,
    #[serde(default)]
    pub ends: String,
    #[serde(default)]
    pub quota: String,
    #[serde(default)]
    pub skills: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub elder_care: Option<String>,
    #[serde(default)]
    pub weeks: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "volunteers/activity_form.html")]
pub struct ActivityFormPage {
    pub layout: Layout,
    pub divisions: Vec<Choice>,
    pub categories: Vec<Choice>,
    pub v: ActivityForm,
    pub errors: Vec<String>,
}

fn categories(selected: &str) -> Vec<Choice> {
    Category::ALL
        .iter()
        .map(|c| Choice {
            code: c.as_str().into(),
            label: c.label().into(),
            selected: c.as_str() == selected,
        })
        .collect()
}

pub async fn new_activity(State(st): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let start = st.now() + Duration::days(1);
    Ok(ActivityFormPage {
        layout: ctx.layout("发布志愿服务活动", "volunteers"),
        divisions: village_choices(&st, &scope, ""),
        categories: categories("elder_care"),
        v: ActivityForm {
            starts: local_input(start),
            ends: local_input(start + Duration::hours(2)),
            quota: "10".into(),
            weeks: "1".into(),
            elder_care: Some("on".into()),
            ..Default::default()
        },
        errors: Vec::new(),
    }
    .into_response())
}

impl ActivityForm {
    fn parse(&self, scope: &Scope) -> Result<ActivityInput, FieldErrors> {
        let mut errs = FieldErrors::new();
        let division = if self.division.trim().is_empty() {
            Some(scope.root.clone())
        } else {
            DivisionCode::parse(self.division.trim())
                .map_err(|e| errs.add("division", e.code(), format!("区划代码有误：{e}")))
                .ok()
        };
        let starts = parse_local(&self.starts);
        if starts.is_none() {
            errs.add("starts_at", "bad_time", "请填写开始时间");
        }
        let ends = parse_local(&self.ends);
        if ends.is_none() {
            errs.add("ends_at", "bad_time", "请填写结束时间");
        }
        let quota = self.quota.trim().parse::<i64>().unwrap_or(0);
        let weeks = if self.weeks.trim().is_empty() {
            1
        } else {
            self.weeks.trim().parse::<u32>().unwrap_or(0)
        };
        let category = Category::parse(&self.category);
        if category.is_none() {
            errs.add("category", "bad_category", "请选择活动类别");
        }
        errs.into_result()?;
        match (division, starts, ends, category) {
            (Some(division), Some(starts_at), Some(ends_at), Some(category)) => Ok(ActivityInput {
                draft: ActivityDraft {
                    title: self.title.clone(),
                    description: self.description.clone(),
                    place: self.place.clone(),
                    period: Period { starts_at, ends_at },
                    quota,
                    skills: self.skills.clone(),
                    category,
                    elder_care: self.elder_care.is_some(),
                    occurrences: weeks,
                },
                division,
                organization_id: None,
                team_id: None,
                station_id: None,
            }),
            _ => Err(FieldErrors::new()),
        }
    }
}

pub async fn publish(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<ActivityForm>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    ctx.check_csrf(&f.csrf)?;
    let errors = match f.parse(&scope) {
        Err(e) => e.0.into_iter().map(|e| e.message).collect(),
        Ok(input) => {
            let seed = seed().map_err(|e| ctx.err(e))?;
            let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
            match store::publish(&mut tx.conn(), &scope, &input, seed, st.now()).await {
                Ok(ids) => {
                    tx.commit().await.map_err(|e| ctx.err(e))?;
                    let first = ids.first().copied().unwrap_or_default();
                    return Ok(Redirect::to(&format!(
                        "/volunteer-activities/{first}?ok=published"
                    ))
                    .into_response());
                }
                Err(e) => messages(e).map_err(|e| ctx.err(e))?,
            }
        }
    };
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        ActivityFormPage {
            layout: ctx.layout("发布志愿服务活动", "volunteers"),
            divisions: village_choices(&st, &scope, f.division.trim()),
            categories: categories(&f.category),
            v: f,
            errors,
        },
    )
        .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "volunteers/activity.html")]
pub struct ActivityPage {
    pub layout: Layout,
    pub notice: &'static str,
    pub error: String,
    pub a: ARow,
    pub description: String,
    pub skills: String,
    pub organiser: bool,
    pub open: bool,
    pub is_volunteer: bool,
    /// The caller's sign-up state code ("" when none).
    pub my_state: &'static str,
    pub my_state_label: &'static str,
    pub can_withdraw: bool,
    pub can_check: bool,
    pub code: String,
    pub cancel_reason: String,
}

async fn show_activity(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    notice: &'static str,
    error: String,
    code: String,
) -> Result<Response, PageError> {
    let user = ctx.user()?.clone();
    let mut c = st.db.conn();
    let a = store::activity(&mut c, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    let organiser = crate::api::volunteers::manager_scope(&user).is_some_and(|s| a.managed_by(&s));
    let me = store::get_by_user(&mut c, user.id)
        .await
        .map_err(|e| ctx.err(e))?;
    let mine = match &me {
        Some(v) => store::signup_for(&mut c, id, v.id)
            .await
            .map_err(|e| ctx.err(e))?,
        None => None,
    };
    let now = st.now();
    let my_state = mine.as_ref().map(|s| s.state());
    let open = a.state() == ActivityState::Published && a.starts_at > now;
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ActivityPage {
        layout: ctx.layout(a.title.clone(), "volunteers"),
        notice,
        error,
        description: a.description.clone(),
        skills: a.skills.replace(',', "、"),
        organiser,
        open,
        is_volunteer: me.is_some(),
        my_state: my_state.map_or("", |s| s.as_str()),
        my_state_label: my_state.map_or("", |s| s.label()),
        can_withdraw: open && my_state == Some(SignupState::SignedUp),
        can_check: a.state() != ActivityState::Cancelled
            && matches!(
                my_state,
                Some(SignupState::SignedUp | SignupState::CheckedIn)
            )
            && a.period().checkin_window().starts_at <= now
            && now <= a.period().checkout_window().ends_at,
        code,
        cancel_reason: a.cancel_reason.clone(),
        a: arow(st, &a),
    };
    Ok((status, page).into_response())
}

pub async fn activity(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    show_activity(
        &st,
        &ctx,
        id,
        notice_text(&q.ok),
        String::new(),
        String::new(),
    )
    .await
}

async fn own(st: &AppState, ctx: &Ctx, user: &User) -> Result<VolunteerRow, PageError> {
    store::get_by_user(&mut st.db.conn(), user.id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| {
            ctx.err(AppError::bad_request(
                "not_a_volunteer",
                "您的账号尚未登记为志愿者，请先在“我的志愿服务”中登记",
            ))
        })
}

/// The message of a refusal, or the error page for anything else.
fn refusal_text(ctx: &Ctx, e: DbError) -> Result<String, PageError> {
    match e {
        DbError::Invalid(f) => Ok(f.summary_messages()),
        other => Err(ctx.err(other)),
    }
}

trait Messages {
    fn summary_messages(&self) -> String;
}

impl Messages for FieldErrors {
    fn summary_messages(&self) -> String {
        self.0
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join("；")
    }
}

pub async fn sign_up(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    let user = ctx.user()?.clone();
    ctx.check_csrf(&f.csrf)?;
    let v = own(&st, &ctx, &user).await?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match store::sign_up(&mut tx.conn(), &user.actor(), id, &v, st.now()).await {
        Ok(_) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/volunteer-activities/{id}?ok=signed_up")).into_response())
        }
        Err(e) => {
            let msg = refusal_text(&ctx, e)?;
            show_activity(&st, &ctx, id, "", msg, String::new()).await
        }
    }
}

pub async fn withdraw(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    let user = ctx.user()?.clone();
    ctx.check_csrf(&f.csrf)?;
    let v = own(&st, &ctx, &user).await?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match store::cancel_signup(&mut tx.conn(), &user.actor(), id, &v, st.now()).await {
        Ok(()) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/volunteer-activities/{id}?ok=withdrawn")).into_response())
        }
        Err(e) => {
            let msg = refusal_text(&ctx, e)?;
            show_activity(&st, &ctx, id, "", msg, String::new()).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeQuery {
    #[serde(default)]
    pub code: String,
}

/// The check-in page (what the venue QR code opens): the code prefilled.
pub async fn checkin_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<CodeQuery>,
) -> Result<Response, PageError> {
    let code: String = q
        .code
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    show_activity(&st, &ctx, id, "", String::new(), code).await
}

#[derive(Debug, Deserialize)]
pub struct CheckForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub code: String,
    /// `checkin` or `checkout`.
    #[serde(default)]
    pub action: String,
}

pub async fn checkin(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CheckForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?.clone();
    ctx.check_csrf(&f.csrf)?;
    let v = own(&st, &ctx, &user).await?;
    let out = f.action == "checkout";
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    let r = if out {
        store::check_out(&mut tx.conn(), &user.actor(), id, &v, &f.code, st.now()).await
    } else {
        store::check_in(&mut tx.conn(), &user.actor(), id, &v, &f.code, st.now()).await
    };
    match r {
        Ok(_) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            let ok = if out { "checked_out" } else { "checked_in" };
            Ok(Redirect::to(&format!("/volunteer-activities/{id}?ok={ok}")).into_response())
        }
        Err(e) => {
            let msg = refusal_text(&ctx, e)?;
            let code: String = f
                .code
                .chars()
                .filter(char::is_ascii_digit)
                .take(6)
                .collect();
            show_activity(&st, &ctx, id, "", msg, code).await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub reason: String,
}

pub async fn cancel(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CancelForm>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    ctx.check_csrf(&f.csrf)?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match store::cancel_activity(&mut tx.conn(), &scope, id, &f.reason, st.now()).await {
        Ok(()) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/volunteer-activities/{id}?ok=cancelled")).into_response())
        }
        Err(e) => {
            let msg = refusal_text(&ctx, e)?;
            show_activity(&st, &ctx, id, "", msg, String::new()).await
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "volunteers/venue.html")]
pub struct VenuePage {
    pub layout: Layout,
    pub a: ARow,
    pub code: String,
    pub qr: String,
    pub url: String,
    pub window: String,
}

/// The organiser's venue page: the code in big digits and a QR code of the check-in address.
pub async fn venue(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let a = store::managed_activity(&mut st.db.conn(), &scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    let host = ctx
        .headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let scheme = match ctx
        .headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    let url = format!(
        "{scheme}://{host}/volunteer-activities/{id}/checkin?code={}",
        a.checkin_code
    );
    let p = a.period();
    Ok(VenuePage {
        layout: ctx.layout("活动签到码", "volunteers"),
        code: a.checkin_code.clone(),
        qr: crate::qr::svg(&url, 240).unwrap_or_default(),
        url,
        window: format!(
            "签到：{} 至 {}；签退：{} 至 {}",
            clock(p.checkin_window().starts_at),
            hm(p.checkin_window().ends_at),
            hm(p.checkout_window().starts_at),
            clock(p.checkout_window().ends_at)
        ),
        a: arow(&st, &a),
    }
    .into_response())
}

// ---------------------------------------------------------------- hours

#[derive(Debug, Clone)]
pub struct HRow {
    pub id: i64,
    pub no: String,
    pub name: String,
    pub state: &'static str,
    pub state_code: &'static str,
    pub checkin: String,
    pub checkout: String,
    pub minutes: String,
    pub default_minutes: i64,
    pub open: bool,
    pub completed: bool,
    pub may_no_show: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "volunteers/hours.html")]
pub struct HoursPage {
    pub layout: Layout,
    pub notice: &'static str,
    pub errors: Vec<String>,
    pub a: ARow,
    pub length: i64,
    pub started: bool,
    pub rows: Vec<HRow>,
}

async fn show_hours(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    notice: &'static str,
    errors: Vec<String>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let mut c = st.db.conn();
    let a = store::managed_activity(&mut c, &scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    let lines = store::signups(&mut c, &scope, id)
        .await
        .map_err(|e| ctx.err(e))?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = HoursPage {
        layout: ctx.layout("确认服务时长", "volunteers"),
        notice,
        errors,
        length: a.period().minutes(),
        started: a.starts_at <= st.now(),
        rows: lines
            .iter()
            .map(|l| {
                let s = l.state();
                HRow {
                    id: l.id,
                    no: l.volunteer_no.clone(),
                    name: l.name.clone(),
                    state: s.label(),
                    state_code: s.as_str(),
                    checkin: l.checkin_at.map(hm).unwrap_or_default(),
                    checkout: l.checkout_at.map(hm).unwrap_or_default(),
                    minutes: l.minutes.map(|m| m.to_string()).unwrap_or_default(),
                    default_minutes: core::default_minutes(
                        &a.period(),
                        l.checkin_at,
                        l.checkout_at,
                    ),
                    open: matches!(s, SignupState::SignedUp | SignupState::CheckedIn),
                    completed: s == SignupState::Completed,
                    may_no_show: s == SignupState::SignedUp,
                }
            })
            .collect(),
        a: arow(st, &a),
    };
    Ok((status, page).into_response())
}

pub async fn hours(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    show_hours(&st, &ctx, id, notice_text(&q.ok), Vec::new()).await
}

/// Form fields `m{signup}` (minutes) and `act{signup}` (`confirm`, `no_show` or empty).
pub async fn confirm_hours(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let field = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    ctx.check_csrf(&field("csrf"))?;
    let lines = store::signups(&mut st.db.conn(), &scope, id)
        .await
        .map_err(|e| ctx.err(e))?;
    let mut errors = Vec::new();
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    let mut done = 0;
    for l in &lines {
        let act = field(&format!("act{}", l.id));
        let entry = match act.as_str() {
            "confirm" => {
                let m = field(&format!("m{}", l.id));
                if m.is_empty() {
                    HoursEntry::Minutes(None)
                } else {
                    match m.parse::<i64>() {
                        Ok(v) => HoursEntry::Minutes(Some(v)),
                        Err(_) => {
                            errors.push(format!("{}：服务时长应为整数分钟", l.name));
                            continue;
                        }
                    }
                }
            }
            "no_show" => HoursEntry::NoShow,
            _ => continue,
        };
        match store::confirm(&mut tx.conn(), &scope, l.id, entry, "", st.now()).await {
            Ok(_) => done += 1,
            Err(e) => errors.push(format!("{}：{}", l.name, refusal_text(&ctx, e)?)),
        }
    }
    if !errors.is_empty() {
        drop(tx);
        return show_hours(&st, &ctx, id, "", errors).await;
    }
    tx.commit().await.map_err(|e| ctx.err(e))?;
    let ok = if done > 0 { "confirmed" } else { "" };
    Ok(Redirect::to(&format!("/volunteer-activities/{id}/hours?ok={ok}")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CorrectionForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub minutes: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub activity: i64,
}

pub async fn correct(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CorrectionForm>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    ctx.check_csrf(&f.csrf)?;
    let Ok(minutes) = f.minutes.trim().parse::<i64>() else {
        return show_hours(
            &st,
            &ctx,
            f.activity,
            "",
            vec!["更正后的时长应为整数分钟".into()],
        )
        .await;
    };
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match store::correct(&mut tx.conn(), &scope, id, minutes, &f.reason, st.now()).await {
        Ok(()) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!(
                "/volunteer-activities/{}/hours?ok=corrected",
                f.activity
            ))
            .into_response())
        }
        Err(e) => {
            let msg = refusal_text(&ctx, e)?;
            show_hours(&st, &ctx, f.activity, "", vec![msg]).await
        }
    }
}

// ---------------------------------------------------------------- teams and stations

#[derive(Debug, Clone)]
pub struct TRow {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub area: String,
    pub members: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "volunteers/teams.html")]
pub struct TeamsPage {
    pub layout: Layout,
    pub notice: &'static str,
    pub errors: Vec<String>,
    pub rows: Vec<TRow>,
    pub kinds: Vec<Choice>,
    pub divisions: Vec<Choice>,
}

async fn show_teams(
    st: &AppState,
    ctx: &Ctx,
    notice: &'static str,
    errors: Vec<String>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let found = store::list_teams(&mut st.db.conn(), &scope, PageReq::new(Some(1), Some(500)))
        .await
        .map_err(|e| ctx.err(e))?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut divisions = vec![Choice {
        code: scope.root.as_str().into(),
        label: name_of(st, scope.root.as_str()),
        selected: true,
    }];
    divisions.extend(
        village_choices(st, &scope, "")
            .into_iter()
            .filter(|c| c.code != scope.root.as_str()),
    );
    let page = TeamsPage {
        layout: ctx.layout("志愿服务队伍", "volunteers"),
        notice,
        errors,
        rows: found
            .items
            .iter()
            .map(|t| TRow {
                id: t.id,
                name: t.name.clone(),
                kind: t.kind().label(),
                area: name_of(st, &t.division_code),
                members: t.members,
            })
            .collect(),
        kinds: TeamKind::ALL
            .iter()
            .map(|k| Choice {
                code: k.as_str().into(),
                label: k.label().into(),
                selected: false,
            })
            .collect(),
        divisions,
    };
    Ok((status, page).into_response())
}

pub async fn teams(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    show_teams(&st, &ctx, notice_text(&q.ok), Vec::new()).await
}

#[derive(Debug, Deserialize)]
pub struct TeamForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub division: String,
}

pub async fn create_team(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<TeamForm>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    ctx.check_csrf(&f.csrf)?;
    let Some(kind) = TeamKind::parse(&f.kind) else {
        return show_teams(&st, &ctx, "", vec!["请选择队伍类型".into()]).await;
    };
    let Ok(division) = DivisionCode::parse(f.division.trim()) else {
        return show_teams(&st, &ctx, "", vec!["请选择所属区划".into()]).await;
    };
    let input = TeamInput {
        name: f.name.clone(),
        kind,
        division,
        organization_id: None,
        leader_volunteer_id: None,
    };
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match store::create_team(&mut tx.conn(), &scope, &input, st.now()).await {
        Ok(id) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/volunteer-teams/{id}?ok=team")).into_response())
        }
        Err(e) => {
            let msgs = messages(e).map_err(|e| ctx.err(e))?;
            show_teams(&st, &ctx, "", msgs).await
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "volunteers/team.html")]
pub struct TeamPage {
    pub layout: Layout,
    pub notice: &'static str,
    pub errors: Vec<String>,
    pub t: TRow,
    pub members: Vec<VRow>,
}

async fn show_team(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    notice: &'static str,
    errors: Vec<String>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let mut c = st.db.conn();
    let t = store::get_team(&mut c, &scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    let members = store::members(&mut c, &scope, id)
        .await
        .map_err(|e| ctx.err(e))?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = TeamPage {
        layout: ctx.layout(t.name.clone(), "volunteers"),
        notice,
        errors,
        t: TRow {
            id: t.id,
            name: t.name.clone(),
            kind: t.kind().label(),
            area: name_of(st, &t.division_code),
            members: t.members,
        },
        members: members
            .iter()
            .map(|m| VRow {
                id: m.volunteer_id,
                no: m.volunteer_no.clone(),
                name: m.name.clone(),
                place: name_of(st, &m.division_code),
                skills: String::new(),
                status: "",
            })
            .collect(),
    };
    Ok((status, page).into_response())
}

pub async fn team(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    show_team(&st, &ctx, id, notice_text(&q.ok), Vec::new()).await
}

#[derive(Debug, Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    pub csrf: String,
    /// Volunteer number.
    #[serde(default)]
    pub volunteer_no: String,
}

pub async fn add_member(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<MemberForm>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    ctx.check_csrf(&f.csrf)?;
    let found = store::list(
        &mut st.db.conn(),
        &scope,
        &VolunteerFilter {
            q: Some(f.volunteer_no.trim().to_uppercase()),
            ..Default::default()
        },
        PageReq::new(Some(1), Some(2)),
    )
    .await
    .map_err(|e| ctx.err(e))?;
    let Some(v) = found
        .items
        .iter()
        .find(|v| v.volunteer_no == f.volunteer_no.trim().to_uppercase())
    else {
        return show_team(&st, &ctx, id, "", vec!["没有找到该编号的志愿者".into()]).await;
    };
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match store::add_member(&mut tx.conn(), &scope, id, v.id, st.now()).await {
        Ok(()) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/volunteer-teams/{id}?ok=team")).into_response())
        }
        Err(e) => {
            let msgs = messages(e).map_err(|e| ctx.err(e))?;
            show_team(&st, &ctx, id, "", msgs).await
        }
    }
}

#[derive(Debug, Clone)]
pub struct SRow {
    pub id: i64,
    pub name: String,
    pub area: String,
    pub opened: String,
    pub closed: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "volunteers/stations.html")]
pub struct StationsPage {
    pub layout: Layout,
    pub notice: &'static str,
    pub errors: Vec<String>,
    pub rows: Vec<SRow>,
    pub facilities: Vec<Choice>,
}

async fn show_stations(
    st: &AppState,
    ctx: &Ctx,
    notice: &'static str,
    errors: Vec<String>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let mut c = st.db.conn();
    let rows = store::list_stations(&mut c, &scope)
        .await
        .map_err(|e| ctx.err(e))?;
    let facilities = shequ_db::facilities::list(
        &mut c,
        &scope,
        &shequ_db::facilities::Filter::default(),
        PageReq::new(Some(1), Some(300)),
    )
    .await
    .map_err(|e| ctx.err(e))?;
    let open: Vec<i64> = rows
        .iter()
        .filter(|s| s.closed_at.is_none())
        .map(|s| s.facility_id)
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = StationsPage {
        layout: ctx.layout("志愿服务站", "volunteers"),
        notice,
        errors,
        rows: rows
            .iter()
            .map(|s| SRow {
                id: s.id,
                name: s.name.clone(),
                area: name_of(st, &s.division_code),
                opened: clock(s.opened_at),
                closed: opt_clock(s.closed_at),
            })
            .collect(),
        facilities: facilities
            .items
            .iter()
            .filter(|f| !open.contains(&f.row.id))
            .map(|f| Choice {
                code: f.row.id.to_string(),
                label: format!("{}（{}）", f.row.name, name_of(st, &f.row.division_code)),
                selected: false,
            })
            .collect(),
    };
    Ok((status, page).into_response())
}

pub async fn stations(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    show_stations(&st, &ctx, notice_text(&q.ok), Vec::new()).await
}

#[derive(Debug, Deserialize)]
pub struct StationForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub facility_id: String,
    #[serde(default)]
    pub name: String,
}

pub async fn open_station(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<StationForm>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    ctx.check_csrf(&f.csrf)?;
    let Ok(fid) = f.facility_id.trim().parse::<i64>() else {
        return show_stations(&st, &ctx, "", vec!["请选择设施".into()]).await;
    };
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match store::open_station(&mut tx.conn(), &scope, fid, &f.name, st.now()).await {
        Ok(_) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to("/volunteer-stations?ok=station").into_response())
        }
        Err(e) => {
            let msgs = messages(e).map_err(|e| ctx.err(e))?;
            show_stations(&st, &ctx, "", msgs).await
        }
    }
}

pub async fn close_station(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    ctx.check_csrf(&f.csrf)?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match store::close_station(&mut tx.conn(), &scope, id, st.now()).await {
        Ok(()) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to("/volunteer-stations?ok=closed").into_response())
        }
        Err(e) => {
            let msgs = messages(e).map_err(|e| ctx.err(e))?;
            show_stations(&st, &ctx, "", msgs).await
        }
    }
}

// ---------------------------------------------------------------- export

#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    /// A year, e.g. 2025 (default: this year, Beijing time).
    #[serde(default)]
    pub year: String,
}

/// Confirmed hours per team member over a year, as xlsx.
pub async fn export(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ExportQuery>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let this_year = (st.now() + Duration::hours(CST_HOURS))
        .format("%Y")
        .to_string();
    let year = if q.year.trim().is_empty() {
        this_year
    } else {
        q.year.trim().to_owned()
    };
    let (Some(from), Some(to)) = (
        crate::api::volunteers::day_start(&format!("{year}-01-01")),
        year.parse::<i32>()
            .ok()
            .and_then(|y| crate::api::volunteers::day_start(&format!("{}-01-01", y + 1))),
    ) else {
        return Err(ctx.err(AppError::bad_request("bad_year", "年份有误")));
    };
    let lines = store::hours_by_team(&mut st.db.conn(), &scope, from, to)
        .await
        .map_err(|e| ctx.err(e))?;
    let rows: Vec<Vec<Cell>> = lines
        .iter()
        .map(|l| {
            vec![
                Cell::Text(l.team_name.clone()),
                Cell::Text(
                    TeamKind::parse(&l.team_kind)
                        .map_or_else(|| l.team_kind.clone(), |k| k.label().to_owned()),
                ),
                Cell::Text(name_of(&st, &l.team_division_code)),
                Cell::Text(l.volunteer_no.clone()),
                Cell::Text(l.name.clone()),
                Cell::Int(l.activities),
                Cell::Int(l.minutes),
                Cell::Float((l.minutes as f64 / 6.0).round() / 10.0),
            ]
        })
        .collect();
    let bytes = xlsx::sheet(
        &format!("{year}年志愿服务时长"),
        &[
            "队伍",
            "类型",
            "所属区划",
            "志愿者编号",
            "姓名",
            "服务次数",
            "服务分钟",
            "服务小时",
        ],
        &rows,
    )
    .map_err(|e| ctx.err(AppError::Internal(e.into())))?;
    Ok(super::indicators::xlsx_response(
        bytes,
        &format!("volunteer-hours-{}-{year}.xlsx", scope.root.as_str()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_round_trip() {
        let t = parse_local("2025-06-30T10:00").unwrap();
        assert_eq!(clock(t), "2025-06-30 10:00");
        assert_eq!(local_input(t), "2025-06-30T10:00");
        assert!(parse_local("nonsense").is_none());
    }
}
