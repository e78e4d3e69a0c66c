//! 好差评 pages. Staff: the 差评整改 queue (`handle_work_orders`) and each
//! rectification with a form for every step allowed now (review steps need
//! `dispatch_work_orders`). Public, without sign-in: the service-matter rating
//! page `/pj/{code}` (five large buttons; a one-time nonce makes a refreshed or
//! repeated submission count once) and the scorecards `/scorecards/{code}`.

use super::{Ctx, Layout, PageError};
use crate::api::ratings::{
    ChildScore, FiguresView, QueueQuery, RatingBody, ScorecardView, filter, scorecard_view, window,
};
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;
use shequ_core::ratings::{Action, Level as RatingLevel};
use shequ_core::role::Capability;
use shequ_core::{DivisionCode, Level};
use shequ_db::ratings::{self, RatingEvent, RectificationRow};
use shequ_db::scope::{Actor, Scope};
use shequ_db::{DbError, PageReq};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rectifications", get(queue))
        .route("/rectifications/{id}", get(detail))
        .route("/rectifications/{id}/actions", post(act))
        .route("/rectifications/{id}/phone", post(reveal_phone))
        .route("/pj/{code}", get(rate_page).post(rate_submit))
        .route("/scorecards/{code}", get(scorecard_page))
}

const PER_PAGE: u64 = 20;

/// Common community service matters offered on the rating page.
pub const COMMON_MATTERS: [&str; 10] = [
    "居住证办理",
    "社保参保登记",
    "医保参保缴费",
    "高龄津贴申领",
    "低保与临时救助",
    "残疾人证办理",
    "就业失业登记",
    "养老服务",
    "开具证明",
    "矛盾纠纷调解",
];

/// Shanghai wall-clock time: "2025-07-07 23:59".
fn local_time(t: DateTime<Utc>) -> String {
    (t + Duration::hours(8))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// "兴隆街道 › 宝塔社区" (township down).
fn place_name(st: &AppState, code: &str) -> String {
    let Ok(c) = DivisionCode::parse(code) else {
        return code.to_owned();
    };
    let tree = st.tree.get();
    let names: Vec<String> = tree
        .lineage(&c)
        .iter()
        .filter(|d| d.code.len() >= 9)
        .map(|d| d.name.clone())
        .collect();
    if names.is_empty() {
        code.to_owned()
    } else {
        names.join(" › ")
    }
}

fn messages(fe: shequ_core::FieldErrors) -> Vec<String> {
    fe.0.into_iter().map(|e| e.message).collect()
}

/// A select option: value, label, selected.
pub struct Choice {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

/// One rectification as a queue row or the head of its page.
pub struct Row {
    pub id: i64,
    pub subject: String,
    pub level: i32,
    pub level_label: &'static str,
    pub state: String,
    pub state_label: &'static str,
    pub deadline: String,
    pub overdue: bool,
    pub place: String,
    pub unit: String,
    pub comment: String,
    pub real_name: bool,
    pub excluded: bool,
    pub rated_at: String,
}

fn row(st: &AppState, r: &RectificationRow) -> Row {
    Row {
        id: r.id,
        subject: r.subject(),
        level: r.level,
        level_label: r.level_label(),
        state: r.state.clone(),
        state_label: r.state_label(),
        deadline: local_time(r.deadline),
        overdue: r.overdue,
        place: place_name(st, &r.division_code),
        unit: r.unit.clone(),
        comment: r.comment.clone(),
        real_name: r.real_name,
        excluded: r.excluded,
        rated_at: local_time(r.rated_at),
    }
}

/// The queue's filters, echoed back.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct QueueParams {
    /// `open` (default), `all`, or a state code.
    #[serde(default)]
    pub state: String,
    /// "1" (or "on") for overdue only.
    #[serde(default)]
    pub overdue: String,
    #[serde(default)]
    pub page: Option<u64>,
}

impl QueueParams {
    fn state(&self) -> &str {
        match self.state.trim() {
            "" => "open",
            s => s,
        }
    }

    fn overdue(&self) -> bool {
        matches!(self.overdue.as_str(), "1" | "on" | "true")
    }

    fn query_string(&self) -> String {
        format!(
            "state={}&overdue={}",
            super::urlencode(self.state()),
            if self.overdue() { "1" } else { "" }
        )
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "ratings/queue.html")]
pub struct QueuePage {
    pub layout: Layout,
    pub states: Vec<Choice>,
    pub only_overdue: bool,
    pub rows: Vec<Row>,
    pub total: i64,
    pub overdue_total: i64,
    pub page: u64,
    pub pages: u64,
    pub message: String,
    pub query_string: String,
}

fn state_choices(selected: &str) -> Vec<Choice> {
    [
        ("open", "未办结"),
        ("verify", "待核实"),
        ("rectify", "整改中"),
        ("callback", "待回访"),
        ("review", "待复核"),
        ("closed", "已办结"),
        ("all", "全部"),
    ]
    .into_iter()
    .map(|(c, l)| Choice {
        code: c.into(),
        label: l.into(),
        selected: c == selected,
    })
    .collect()
}

/// The 差评整改 queue of the signed-in user's area.
pub async fn queue(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<QueueParams>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::HandleWorkOrders)?;
    let page_no = q.page.unwrap_or(1).max(1);
    let query = QueueQuery {
        state: Some(q.state().to_owned()),
        overdue: Some(q.overdue()),
        ..Default::default()
    };
    let mut c = st.db.conn();
    let (rows, total, message) = match filter(&query) {
        Ok(f) => {
            let found = ratings::rectifications(
                &mut c,
                &scope,
                &f,
                PageReq::new(Some(page_no), Some(PER_PAGE)),
                st.now(),
            )
            .await
            .map_err(|e| ctx.err(e))?;
            let rows = found.items.iter().map(|r| row(&st, r)).collect();
            (rows, found.total, String::new())
        }
        Err(e) => (Vec::new(), 0, e.to_string()),
    };
    let overdue_total = ratings::rectifications(
        &mut c,
        &scope,
        &ratings::Filter {
            overdue: true,
            ..Default::default()
        },
        PageReq::new(Some(1), Some(1)),
        st.now(),
    )
    .await
    .map_err(|e| ctx.err(e))?
    .total;
    let page = QueuePage {
        layout: ctx.layout("差评整改", "rectifications"),
        states: state_choices(q.state()),
        only_overdue: q.overdue(),
        rows,
        total,
        overdue_total,
        page: page_no,
        pages: (total.max(0) as u64).div_ceil(PER_PAGE),
        message,
        query_string: q.query_string(),
    };
    Ok(page.into_response())
}

/// A form for one step.
pub struct StepForm {
    pub code: &'static str,
    pub button: &'static str,
    pub note_label: &'static str,
    pub days: bool,
    pub days_note: &'static str,
    pub secondary: bool,
}

fn step_form(code: &'static str) -> StepForm {
    let (button, note_label, days, days_note, secondary) = match code {
        "verify" => (
            "核实，开始整改",
            "核实情况",
            true,
            "不填则沿用收到差评时定的期限",
            false,
        ),
        "rectified" => ("整改完成", "整改措施和结果", false, "", false),
        "callback" => ("已回访，办结", "回访情况（居民的意见）", false, "", false),
        "appeal" => (
            "提出申诉",
            "申诉理由（如误评、恶意差评，请写明依据）",
            false,
            "",
            true,
        ),
        "uphold" => (
            "复核维持，继续整改",
            "复核意见",
            true,
            "不填则为 5 个工作日",
            false,
        ),
        "overturn" => ("复核撤销，不计入满意度", "复核意见", false, "", true),
        _ => ("", "", false, "", false),
    };
    StepForm {
        code,
        button,
        note_label,
        days,
        days_note,
        secondary,
    }
}

/// One step of the history as shown.
pub struct EventLine {
    pub at: String,
    pub actor: String,
    pub action: &'static str,
    pub note: String,
}

fn event_line(e: &RatingEvent) -> EventLine {
    EventLine {
        at: local_time(e.at),
        actor: e.actor.clone(),
        action: e.action_label(),
        note: e.note.clone(),
    }
}

/// A step form as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ActForm {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub days: String,
    #[serde(default)]
    pub csrf: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "ratings/detail.html")]
pub struct DetailPage {
    pub layout: Layout,
    pub r: Row,
    pub verify_note: String,
    pub rectify_note: String,
    pub callback_note: String,
    pub appeal_reason: String,
    pub review_note: String,
    pub rater_name: String,
    pub rater_phone: String,
    pub phone_revealed: bool,
    pub can_reveal: bool,
    pub events: Vec<EventLine>,
    pub forms: Vec<StepForm>,
    pub review_waiting: bool,
    pub errors: Vec<String>,
    pub f: ActForm,
}

async fn detail_page(
    st: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    id: i64,
    f: ActForm,
    errors: Vec<String>,
    phone: Option<String>,
) -> Result<DetailPage, PageError> {
    let mut c = st.db.conn();
    let r = ratings::get(&mut c, scope, id, st.now())
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| {
            ctx.err(AppError::NotFound(
                "没有找到该差评，或不在您的管辖范围内。".into(),
            ))
        })?;
    let events = ratings::history(&mut c, scope, id)
        .await
        .map_err(|e| ctx.err(e))?;
    let can_review = ctx.can(Capability::DispatchWorkOrders);
    let allowed = r.allowed();
    let forms = allowed
        .iter()
        .filter(|code| can_review || !matches!(**code, "uphold" | "overturn"))
        .map(|code| step_form(code))
        .collect();
    let callback_due = allowed.contains(&"callback");
    Ok(DetailPage {
        layout: ctx.layout(format!("差评整改 · {}", r.subject()), "rectifications"),
        verify_note: r.verify_note.clone(),
        rectify_note: r.rectify_note.clone(),
        callback_note: r.callback_note.clone(),
        appeal_reason: r.appeal_reason.clone(),
        review_note: r.review_note.clone(),
        rater_name: r.rater_name.clone(),
        phone_revealed: phone.is_some(),
        rater_phone: phone
            .or_else(|| r.rater_phone_masked.clone())
            .unwrap_or_default(),
        can_reveal: callback_due && r.rater_phone_masked.is_some(),
        events: events.iter().map(event_line).collect(),
        forms,
        review_waiting: allowed.contains(&"uphold") && !can_review,
        r: row(st, &r),
        errors,
        f,
    })
}

/// A rectification with its history and the forms for what may be done now.
pub async fn detail(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<DetailPage, PageError> {
    let (_, scope) = ctx.scope(Capability::HandleWorkOrders)?;
    detail_page(&st, &ctx, &scope, id, ActForm::default(), Vec::new(), None).await
}

/// Take a step from the detail page.
pub async fn act(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<ActForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::HandleWorkOrders)?;
    let days = match f.days.trim() {
        "" => Ok(None),
        d => d
            .parse::<u32>()
            .map(Some)
            .map_err(|_| vec!["整改期限应为 1–15 之间的整数".to_owned()]),
    };
    let action = days.and_then(|days| {
        Action::from_parts(f.action.trim(), &f.note, days).map_err(|e| vec![e.to_string()])
    });
    let result = match action {
        Ok(action) => {
            let scope = if action.needs_reviewer() {
                ctx.scope(Capability::DispatchWorkOrders)?.1
            } else {
                scope.clone()
            };
            let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
            match ratings::rectify_action(&mut tx.conn(), &scope, id, &action, st.now()).await {
                Ok(_) => {
                    tx.commit().await.map_err(|e| ctx.err(e))?;
                    Ok(())
                }
                Err(DbError::Invalid(fe)) => Err(messages(fe)),
                Err(e) => return Err(ctx.err(e)),
            }
        }
        Err(errors) => Err(errors),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/rectifications/{id}")).into_response()),
        Err(errors) => {
            let page = detail_page(&st, &ctx, &scope, id, f, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// A form carrying only the CSRF field.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// Show the rater's phone for the call-back (audited; only while a call-back is due).
pub async fn reveal_phone(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::HandleWorkOrders)?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    let result = ratings::reveal_phone(&mut tx.conn(), &st.key, &scope, id, st.now()).await;
    let (phone, errors) = match result {
        Ok(p) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            (Some(p), Vec::new())
        }
        Err(DbError::Invalid(fe)) => (None, messages(fe)),
        Err(e) => return Err(ctx.err(e)),
    };
    let page = detail_page(&st, &ctx, &scope, id, ActForm::default(), errors, phone).await?;
    Ok(page.into_response())
}

/// A service matter offered as a choice.
pub struct Matter {
    pub name: &'static str,
    pub selected: bool,
}

/// A child division to go down to.
pub struct Link {
    pub code: String,
    pub name: String,
}

/// The rating form as submitted (the level comes from the button pressed).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RateForm {
    #[serde(default)]
    pub matter: String,
    #[serde(default)]
    pub matter_other: String,
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub rater_name: String,
    #[serde(default)]
    pub rater_phone: String,
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub csrf: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RateQuery {
    #[serde(default)]
    pub done: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "ratings/rate.html")]
pub struct RatePage {
    pub layout: Layout,
    pub code: String,
    pub name: String,
    pub place: String,
    /// A village/community or grid: the form is shown; otherwise the children to pick from.
    pub rateable: bool,
    pub children: Vec<Link>,
    pub matters: Vec<Matter>,
    pub levels: Vec<(u8, &'static str)>,
    pub v: RateForm,
    pub nonce: String,
    pub errors: Vec<String>,
    /// "ok" or "bad" after a submission.
    pub done: String,
}

/// The division of a public page, or the 404 page.
fn public_division(
    st: &AppState,
    ctx: &Ctx,
    code: &str,
) -> Result<(DivisionCode, String), PageError> {
    let not_found = || ctx.err(AppError::NotFound("没有找到该村（社区）。".into()));
    let c = DivisionCode::parse(code.trim()).map_err(|_| not_found())?;
    let tree = st.tree.get();
    let d = tree.get(c.as_str()).ok_or_else(not_found)?;
    Ok((c, d.name.clone()))
}

fn rate_view(
    st: &AppState,
    ctx: &Ctx,
    code: &DivisionCode,
    name: String,
    v: RateForm,
    errors: Vec<String>,
    done: String,
) -> Result<RatePage, PageError> {
    let rateable = matches!(code.level(), Level::Village | Level::Grid);
    let children = if rateable {
        Vec::new()
    } else {
        st.tree
            .get()
            .children(Some(code.as_str()))
            .unwrap_or_default()
            .into_iter()
            .map(|d| Link {
                code: d.code.clone(),
                name: d.name.clone(),
            })
            .collect()
    };
    let nonce = if v.nonce.is_empty() {
        crate::state::random_secret().map_err(|e| ctx.err(e))?
    } else {
        v.nonce.clone()
    };
    Ok(RatePage {
        layout: ctx.layout(format!("服务评价 · {name}"), ""),
        code: code.as_str().to_owned(),
        place: place_name(st, code.as_str()),
        name,
        rateable,
        children,
        matters: COMMON_MATTERS
            .iter()
            .map(|m| Matter {
                name: m,
                selected: *m == v.matter,
            })
            .collect(),
        levels: RatingLevel::ALL
            .iter()
            .map(|l| (l.get(), l.label()))
            .collect(),
        v,
        nonce,
        errors,
        done,
    })
}

/// The public rating page of a village/community: no sign-in.
pub async fn rate_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<RateQuery>,
) -> Result<RatePage, PageError> {
    let (code, name) = public_division(&st, &ctx, &code)?;
    let done = match q.done.as_str() {
        "ok" | "bad" => q.done.clone(),
        _ => String::new(),
    };
    rate_view(
        &st,
        &ctx,
        &code,
        name,
        RateForm::default(),
        Vec::new(),
        done,
    )
}

/// A nonce as the page issues it: hex, 16–128 characters.
fn good_nonce(n: &str) -> bool {
    (16..=128).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Record a rating from the public page; a replayed nonce counts once.
pub async fn rate_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Form(mut v): Form<RateForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&v.csrf)?;
    let (code, name) = public_division(&st, &ctx, &code)?;
    if !good_nonce(&v.nonce) {
        v.nonce.clear();
        let errors = vec!["页面已过期，请重新选择后提交".to_owned()];
        let page = rate_view(&st, &ctx, &code, name, v, errors, String::new())?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let level = v
        .level
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(RatingLevel::new);
    let matter = match v.matter_other.trim() {
        "" => v.matter.trim().to_owned(),
        other => other.to_owned(),
    };
    let real_name = !v.rater_name.trim().is_empty() || !v.rater_phone.trim().is_empty();
    let body = RatingBody {
        division: code.as_str().to_owned(),
        service_matter: matter,
        level: level.map_or(0, |l| i64::from(l.get())),
        real_name,
        rater_name: v.rater_name.clone(),
        rater_phone: v.rater_phone.clone(),
        comment: v.comment.clone(),
        channel: "qr".into(),
        idempotency_key: Some(format!("pj:{}", v.nonce)),
    };
    let result = match body.parse() {
        Ok(input) => {
            let actor = ctx
                .user
                .as_ref()
                .map_or_else(Actor::anonymous, |u| u.actor());
            let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
            match ratings::record_once(&mut tx.conn(), &st.key, &input, &actor, st.now()).await {
                Ok(_) => {
                    tx.commit().await.map_err(|e| ctx.err(e))?;
                    Ok(())
                }
                Err(DbError::Invalid(fe)) => Err(messages(fe)),
                Err(e) => return Err(ctx.err(e)),
            }
        }
        Err(fe) => Err(messages(fe)),
    };
    match result {
        Ok(()) => {
            let done = if level.is_some_and(RatingLevel::is_bad) {
                "bad"
            } else {
                "ok"
            };
            Ok(Redirect::to(&format!("/pj/{}?done={done}", code.as_str())).into_response())
        }
        Err(mut errors) => {
            if level.is_none() {
                errors.retain(|e| !e.contains("评价应为"));
                errors.insert(0, "请点击下方按钮选择您的满意程度".into());
            }
            let page = rate_view(&st, &ctx, &code, name, v, errors, String::new())?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// Figures formatted for the page.
pub struct Figures {
    pub total: i64,
    pub rate: String,
    pub levels: Vec<(String, i64, String)>,
    pub bad: i64,
    pub rectified: i64,
    pub rectified_rate: String,
    pub real_name_bad: i64,
    pub called_back: i64,
    pub callback_rate: String,
    pub excluded: i64,
    pub open: i64,
}

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "—".to_owned(), |x| format!("{:.1}%", x * 100.0))
}

fn figures(f: &FiguresView) -> Figures {
    Figures {
        total: f.total,
        rate: pct(f.satisfaction_rate),
        levels: f
            .levels
            .iter()
            .map(|l| {
                (
                    l.label.clone(),
                    l.count,
                    super::fmt::percent(l.count, f.total),
                )
            })
            .collect(),
        bad: f.bad,
        rectified: f.rectified,
        rectified_rate: pct(f.rectified_rate),
        real_name_bad: f.real_name_bad,
        called_back: f.called_back,
        callback_rate: pct(f.callback_rate),
        excluded: f.excluded,
        open: f.open,
    }
}

/// A child's row on the page.
pub struct ChildRow {
    pub code: String,
    pub name: String,
    pub f: Figures,
}

fn child_row(c: &ChildScore) -> ChildRow {
    ChildRow {
        code: c.code.clone(),
        name: c.name.clone(),
        f: figures(&c.figures),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct WindowParams {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "ratings/scorecard.html")]
pub struct ScorecardPage {
    pub layout: Layout,
    pub code: String,
    pub name: String,
    pub crumbs: Vec<Link>,
    pub from: String,
    pub to: String,
    pub f: Figures,
    pub children: Vec<ChildRow>,
    pub child_label: &'static str,
    pub rateable: bool,
    pub message: String,
}

fn date_param(s: &str) -> Result<Option<NaiveDate>, AppError> {
    match s.trim() {
        "" => Ok(None),
        d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::bad_request("bad_date", "日期格式应为 YYYY-MM-DD")),
    }
}

/// The public scorecard of a division: no sign-in, no personal data.
pub async fn scorecard_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<WindowParams>,
) -> Result<ScorecardPage, PageError> {
    let (code, _) = public_division(&st, &ctx, &code)?;
    let now = st.now();
    let (w, message) = match date_param(&q.from)
        .and_then(|from| Ok((from, date_param(&q.to)?)))
        .and_then(|(from, to)| window(now, from, to))
    {
        Ok(w) => (w, String::new()),
        Err(e) => (
            window(now, None, None).map_err(|e| ctx.err(e))?,
            e.to_string(),
        ),
    };
    let view: ScorecardView = scorecard_view(&st, &code, &w)
        .await
        .map_err(|e| ctx.err(e))?;
    let tree = st.tree.get();
    let crumbs = tree
        .lineage(&code)
        .iter()
        .map(|d| Link {
            code: d.code.clone(),
            name: d.name.clone(),
        })
        .collect();
    let child_label = match code.level() {
        Level::City => "各县市区",
        Level::County => "各乡镇（街道）",
        Level::Township => "各村（社区）",
        Level::Village | Level::Grid => "",
    };
    Ok(ScorecardPage {
        layout: ctx.layout(format!("{} · 好差评公示", view.name), ""),
        code: view.division.clone(),
        name: view.name.clone(),
        crumbs,
        from: w.from_day.format("%Y-%m-%d").to_string(),
        to: w.to_day.format("%Y-%m-%d").to_string(),
        f: figures(&view.figures),
        children: view.children.iter().map(child_row).collect(),
        child_label,
        rateable: matches!(code.level(), Level::Village | Level::Grid),
        message,
    })
}
