//! Satisfaction survey pages (满意度调查).
//!
//! Staff: the list, the questionnaire builder (a plain form: "添加一道题" posts
//! the form back and returns it with one more row), the detail page with
//! 发布/结束, entry of paper forms, and results by division with server-drawn
//! bars and drill-down to the children.
//!
//! Residents (no sign-in): open surveys, filtered by the community chosen step
//! by step (county → township → community, one short list at a time), and the
//! answer form with large choice buttons and a one-time nonce.

use super::{Ctx, Layout, PageError};
use crate::api::surveys::{default_node, text_page};
use crate::charts::{self, Item, Standing};
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
use shequ_core::role::Capability;
use shequ_core::surveys::{
    self as core, MAX_QUESTIONS, Question, QuestionKind, Questionnaire, SCALE_LABELS, Window,
};
use shequ_core::{DivisionCode, FieldErrors, Level};
use shequ_db::scope::Scope;
use shequ_db::surveys::{self, Channel, NewResponse, RawAnswers, Survey, SurveyInput};
use shequ_db::{DbError, PageReq};
use std::collections::{BTreeMap, BTreeSet};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/surveys", get(list).post(create))
        .route("/surveys/new", get(new_form))
        .route("/surveys/{id}", get(detail))
        .route("/surveys/{id}/edit", get(edit_form).post(update))
        .route("/surveys/{id}/open", post(open))
        .route("/surveys/{id}/close", post(close))
        .route("/surveys/{id}/paper", get(paper_form).post(paper_submit))
        .route("/surveys/{id}/results", get(results))
        .route("/portal/surveys", get(portal_list))
        .route("/portal/surveys/{id}", get(portal_form).post(portal_submit))
        .route("/portal/surveys/{id}/thanks", get(portal_thanks))
}

const PER_PAGE: u64 = 20;
/// Open surveys listed on the portal at most.
const PORTAL_LIMIT: u64 = 50;

// ---------------------------------------------------------------- time

/// China Standard Time, the clock of every date on these pages (no daylight saving).
const CST_HOURS: i64 = 8;

fn local_date(t: DateTime<Utc>) -> NaiveDate {
    (t + Duration::hours(CST_HOURS)).date_naive()
}

/// 00:00 Beijing time on `d`.
fn start_of(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - Duration::hours(CST_HOURS)
}

/// "2025-06-30 10:00" in Beijing time.
fn clock(t: DateTime<Utc>) -> String {
    (t + Duration::hours(CST_HOURS))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The window in words, e.g. "2025-07-01 至 2025-07-31".
fn window_text(w: &Window) -> String {
    let end = w.ends_at.map(|e| local_date(e - Duration::seconds(1)));
    match (w.starts_at.map(local_date), end) {
        (None, None) => "不限时间".into(),
        (Some(s), None) => format!("{s} 起"),
        (None, Some(e)) => format!("截至 {e}"),
        (Some(s), Some(e)) => format!("{s} 至 {e}"),
    }
}

fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

// ---------------------------------------------------------------- places

/// The node's name with its township and county, e.g. "双清区 › 兴隆街道 › 和平社区".
fn place(st: &AppState, code: &str) -> String {
    let Ok(c) = DivisionCode::parse(code) else {
        return code.to_owned();
    };
    let tree = st.tree.get();
    let names: Vec<String> = tree
        .lineage(&c)
        .iter()
        .filter(|d| d.parent_code.is_some())
        .map(|d| d.name.clone())
        .collect();
    if names.is_empty() {
        tree.get(code)
            .map_or_else(|| code.to_owned(), |d| d.name.clone())
    } else {
        names.join(" › ")
    }
}

fn name_of(st: &AppState, code: &str) -> String {
    st.tree
        .get()
        .get(code)
        .map_or_else(|| code.to_owned(), |d| d.name.clone())
}

/// A link in a trail or a choice in a list.
#[derive(Debug, Clone)]
pub struct Crumb {
    pub code: String,
    pub name: String,
    pub href: String,
}

/// Choosing a village/community one short list at a time, without script:
/// each step is a GET form with the children of the node chosen so far.
#[derive(Debug, Clone, Default)]
pub struct Picker {
    /// Where the step form goes (a path without query).
    pub action: String,
    /// The nodes chosen so far, from the top down.
    pub trail: Vec<Crumb>,
    /// The next choices.
    pub options: Vec<Crumb>,
    /// "乡镇（街道）" — what the next choice is.
    pub step: &'static str,
    /// The village/community chosen, when the choice is complete.
    pub chosen: Option<Crumb>,
    /// The chosen place in full.
    pub chosen_label: String,
}

impl Picker {
    pub fn chosen_code(&self) -> String {
        self.chosen
            .as_ref()
            .map(|c| c.code.clone())
            .unwrap_or_default()
    }
}

/// Build a picker below `start`: `allowed` says which nodes may be walked
/// through, `answerable` which villages/communities may be chosen. A node with a
/// single choice below it is passed through automatically.
fn picker(
    st: &AppState,
    action: &str,
    start: Option<DivisionCode>,
    requested: &str,
    allowed: &dyn Fn(&DivisionCode) -> bool,
    answerable: &dyn Fn(&DivisionCode) -> bool,
) -> Picker {
    let tree = st.tree.get();
    let link = |code: &str| format!("{action}?division={code}");
    let crumb = |code: &str, name: &str| Crumb {
        code: code.to_owned(),
        name: name.to_owned(),
        href: link(code),
    };
    let Some(start) = start.or_else(|| tree.root().and_then(|r| DivisionCode::parse(&r.code).ok()))
    else {
        return Picker {
            action: action.to_owned(),
            ..Default::default()
        };
    };
    let mut current = match DivisionCode::parse(requested.trim()) {
        Ok(c) if c.is_within(&start) && allowed(&c) && tree.get(c.as_str()).is_some() => c,
        _ => start.clone(),
    };
    let mut chosen = None;
    let mut options = Vec::new();
    for _ in 0..6 {
        if current.level() >= Level::Village {
            if answerable(&current) {
                chosen = Some(current.clone());
            } else if let Some(p) = current.parent() {
                current = p;
                continue;
            }
            break;
        }
        let kids: Vec<DivisionCode> = tree
            .children(Some(current.as_str()))
            .unwrap_or_default()
            .iter()
            .filter_map(|d| DivisionCode::parse(&d.code).ok())
            .filter(|c| allowed(c))
            .filter(|c| c.level() < Level::Village || answerable(c))
            .collect();
        match kids.as_slice() {
            [only] => current = only.clone(),
            _ => {
                options = kids;
                break;
            }
        }
    }
    let trail: Vec<Crumb> = tree
        .lineage(&current)
        .iter()
        .filter(|d| DivisionCode::parse(&d.code).is_ok_and(|c| c.is_within(&start) && c != start))
        .map(|d| crumb(&d.code, &d.name))
        .collect();
    let step = current.level().child().map_or("", Level::label);
    let chosen = chosen.map(|c| crumb(c.as_str(), &name_of(st, c.as_str())));
    Picker {
        action: action.to_owned(),
        chosen_label: chosen
            .as_ref()
            .map(|c| place(st, &c.code))
            .unwrap_or_default(),
        chosen,
        options: options
            .iter()
            .map(|c| crumb(c.as_str(), &name_of(st, c.as_str())))
            .collect(),
        step,
        trail,
    }
}

// ---------------------------------------------------------------- answer forms

/// A choice button: radio or checkbox.
#[derive(Debug, Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub note: String,
    pub checked: bool,
}

/// One question of an answer form.
#[derive(Debug, Clone)]
pub struct QView {
    pub position: usize,
    pub name: String,
    /// `single`, `multiple`, `scale` or `text`.
    pub kind: &'static str,
    pub title: String,
    pub required: bool,
    pub hint: String,
    pub options: Vec<Opt>,
    pub text: String,
    pub error: String,
}

fn hint(q: &Question) -> String {
    match (q.kind, q.max_choices) {
        (QuestionKind::Single, _) => "请选一项".into(),
        (QuestionKind::Multiple, Some(m)) => format!("可多选，最多 {m} 项"),
        (QuestionKind::Multiple, None) => "可多选".into(),
        (QuestionKind::Scale, _) => "1 分最不满意，5 分最满意".into(),
        (QuestionKind::Text, _) => format!("不超过 {} 字", core::MAX_TEXT_ANSWER),
    }
}

/// The answer form's questions, with what was submitted and the errors.
fn answer_views(q: &Questionnaire, pairs: &[(String, String)], errs: &FieldErrors) -> Vec<QView> {
    let mut submitted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in pairs {
        submitted.entry(k.clone()).or_default().push(v.clone());
    }
    q.questions
        .iter()
        .enumerate()
        .map(|(i, question)| {
            let name = core::key(i + 1);
            let given = submitted.get(&name).cloned().unwrap_or_default();
            let is = |v: &str| given.iter().any(|g| g == v);
            let options = match question.kind {
                QuestionKind::Single | QuestionKind::Multiple => question
                    .options
                    .iter()
                    .enumerate()
                    .map(|(j, label)| Opt {
                        value: j.to_string(),
                        label: label.clone(),
                        note: String::new(),
                        checked: is(&j.to_string()),
                    })
                    .collect(),
                QuestionKind::Scale => (1..=5)
                    .map(|s: usize| Opt {
                        value: s.to_string(),
                        label: s.to_string(),
                        note: SCALE_LABELS.get(s - 1).copied().unwrap_or("").into(),
                        checked: is(&s.to_string()),
                    })
                    .collect(),
                QuestionKind::Text => Vec::new(),
            };
            QView {
                position: i + 1,
                kind: question.kind.as_str(),
                title: question.title.clone(),
                required: question.required,
                hint: hint(question),
                options,
                text: given.first().cloned().unwrap_or_default(),
                error: errs
                    .0
                    .iter()
                    .find(|e| e.field == name)
                    .map(|e| e.message.clone())
                    .unwrap_or_default(),
                name,
            }
        })
        .collect()
}

fn nonce() -> Result<String, AppError> {
    crate::state::random_secret().map(|s| s.chars().take(32).collect())
}

/// Messages of errors not about a single question.
fn general(errs: &FieldErrors) -> Vec<String> {
    errs.0
        .iter()
        .filter(|e| core::position_of(&e.field).is_none())
        .map(|e| e.message.clone())
        .collect()
}

fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- staff: list

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub page: Option<u64>,
}

pub struct ListRow {
    pub id: i64,
    pub title: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub owner: String,
    pub window: String,
    pub responses: i64,
}

pub struct StateChoice {
    pub code: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "surveys/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub states: Vec<StateChoice>,
    pub state: String,
    pub rows: Vec<ListRow>,
    pub total: i64,
    pub page: u64,
    pub pages: u64,
    pub can_manage: bool,
}

pub async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListParams>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ReadIndicators)?;
    let state = core::SurveyState::parse(q.state.trim());
    let page_no = q.page.unwrap_or(1).max(1);
    let found = surveys::list(
        &mut st.db.conn(),
        &scope,
        &surveys::Filter { state },
        PageReq::new(Some(page_no), Some(PER_PAGE)),
    )
    .await
    .map_err(|e| ctx.err(e))?;
    let rows = found
        .items
        .iter()
        .map(|s| ListRow {
            id: s.row.id,
            title: s.row.title.clone(),
            state: s.row.state().as_str(),
            state_label: s.row.state().label(),
            owner: name_of(&st, &s.row.division_code),
            window: window_text(&s.row.window()),
            responses: s.responses,
        })
        .collect();
    Ok(ListPage {
        layout: ctx.layout("满意度调查", "surveys"),
        states: core::SurveyState::ALL
            .iter()
            .map(|s| StateChoice {
                code: s.as_str(),
                label: s.label(),
                selected: state == Some(*s),
            })
            .collect(),
        state: state.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        rows,
        total: found.total,
        page: page_no,
        pages: (found.total.max(0) as u64).div_ceil(PER_PAGE),
        can_manage: ctx.can(Capability::ManageSurveys),
    }
    .into_response())
}

// ---------------------------------------------------------------- staff: builder

/// One question row of the builder.
#[derive(Debug, Clone)]
pub struct QRow {
    pub n: usize,
    pub kind: String,
    pub title: String,
    /// One option per line.
    pub options: String,
    pub required: bool,
    pub max: String,
    pub error: String,
}

impl QRow {
    fn blank(n: usize) -> QRow {
        QRow {
            n,
            kind: "single".into(),
            title: String::new(),
            options: String::new(),
            required: true,
            max: String::new(),
            error: String::new(),
        }
    }
}

/// A target checkbox: the user's own division and its children.
pub struct TargetChoice {
    pub code: String,
    pub label: String,
    pub checked: bool,
}

/// Everything the builder form holds.
#[derive(Debug, Clone, Default)]
pub struct BuilderValues {
    pub title: String,
    pub intro: String,
    pub starts: String,
    pub ends: String,
    pub targets: Vec<String>,
    /// Further target codes, typed.
    pub target_codes: String,
    pub rows: Vec<QRow>,
}

impl BuilderValues {
    fn from_pairs(pairs: &[(String, String)]) -> BuilderValues {
        let count = field(pairs, "count")
            .trim()
            .parse::<usize>()
            .unwrap_or(1)
            .clamp(1, MAX_QUESTIONS);
        let rows = (1..=count)
            .map(|n| {
                let f = |suffix: &str| field(pairs, &format!("q{n}_{suffix}"));
                QRow {
                    n,
                    kind: f("kind"),
                    title: f("title"),
                    options: f("options"),
                    required: f("required") != "0",
                    max: f("max"),
                    error: String::new(),
                }
            })
            .collect();
        BuilderValues {
            title: field(pairs, "title"),
            intro: field(pairs, "intro"),
            starts: field(pairs, "starts"),
            ends: field(pairs, "ends"),
            targets: pairs
                .iter()
                .filter(|(k, _)| k == "target")
                .map(|(_, v)| v.trim().to_owned())
                .collect(),
            target_codes: field(pairs, "target_codes"),
            rows,
        }
    }

    fn from_survey(s: &Survey, choices: &BTreeSet<String>) -> BuilderValues {
        let w = s.row.window();
        BuilderValues {
            title: s.row.title.clone(),
            intro: s.row.intro.clone(),
            starts: w
                .starts_at
                .map(|t| local_date(t).to_string())
                .unwrap_or_default(),
            ends: w
                .ends_at
                .map(|t| local_date(t - Duration::seconds(1)).to_string())
                .unwrap_or_default(),
            targets: s
                .targets
                .iter()
                .filter(|t| choices.contains(*t))
                .cloned()
                .collect(),
            target_codes: s
                .targets
                .iter()
                .filter(|t| !choices.contains(*t))
                .cloned()
                .collect::<Vec<_>>()
                .join("\n"),
            rows: s
                .questionnaire
                .questions
                .iter()
                .enumerate()
                .map(|(i, q)| QRow {
                    n: i + 1,
                    kind: q.kind.as_str().into(),
                    title: q.title.clone(),
                    options: q.options.join("\n"),
                    required: q.required,
                    max: q.max_choices.map(|m| m.to_string()).unwrap_or_default(),
                    error: String::new(),
                })
                .collect(),
        }
    }

    /// Read the form into a survey input; field errors as the store files them.
    fn input(&self) -> Result<SurveyInput, FieldErrors> {
        let mut errs = FieldErrors::new();
        let day = |s: &str, name: &str, errs: &mut FieldErrors| {
            if s.trim().is_empty() {
                return None;
            }
            let d = parse_day(s);
            if d.is_none() {
                errs.add(name, "bad_date", "日期格式应为 YYYY-MM-DD");
            }
            d
        };
        let starts_at = day(&self.starts, "starts_at", &mut errs).map(start_of);
        let ends_at =
            day(&self.ends, "ends_at", &mut errs).map(|d| start_of(d + Duration::days(1)));
        let mut targets = Vec::new();
        let typed = self
            .target_codes
            .split(|c: char| c.is_whitespace() || ",，、;；".contains(c))
            .filter(|s| !s.is_empty());
        for t in self.targets.iter().map(String::as_str).chain(typed) {
            match DivisionCode::parse(t) {
                Ok(c) if !targets.contains(&c) => targets.push(c),
                Ok(_) => {}
                Err(e) => errs.add(
                    "targets",
                    e.code(),
                    format!(
                        "区划代码“{}”有误：{e}",
                        t.chars().take(20).collect::<String>()
                    ),
                ),
            }
        }
        let mut questions = Vec::new();
        for r in &self.rows {
            let Some(kind) = QuestionKind::parse(r.kind.trim()) else {
                errs.add(
                    &core::key(r.n),
                    "bad_kind",
                    format!("第 {} 题：请选择题型", r.n),
                );
                continue;
            };
            let options: Vec<String> = if kind.has_options() {
                r.options
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect()
            } else {
                Vec::new()
            };
            let max_choices = match (kind, r.max.trim()) {
                (QuestionKind::Multiple, m) if !m.is_empty() => match m.parse::<usize>() {
                    Ok(m) => Some(m),
                    Err(_) => {
                        errs.add(
                            &core::key(r.n),
                            "bad_max_choices",
                            format!("第 {} 题：最多可选项数应为数字", r.n),
                        );
                        None
                    }
                },
                _ => None,
            };
            questions.push(Question {
                kind,
                title: r.title.clone(),
                options,
                required: r.required,
                max_choices,
            });
        }
        errs.into_result()?;
        Ok(SurveyInput {
            questionnaire: Questionnaire {
                title: self.title.clone(),
                intro: self.intro.clone(),
                questions,
            },
            window: Window { starts_at, ends_at },
            targets,
        })
    }
}

pub struct KindChoice {
    pub code: &'static str,
    pub label: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "surveys/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub action: String,
    pub editing: bool,
    pub v: BuilderValues,
    pub count: usize,
    pub can_add: bool,
    pub kinds: Vec<KindChoice>,
    pub targets: Vec<TargetChoice>,
    pub errors: Vec<String>,
}

/// The user's own division and its children, as target checkboxes.
fn target_choices(st: &AppState, scope: &Scope, checked: &[String]) -> Vec<TargetChoice> {
    let tree = st.tree.get();
    let root = scope.root.as_str();
    let mut out = Vec::new();
    if let Some(d) = tree.get(root) {
        out.push(TargetChoice {
            code: d.code.clone(),
            label: format!("全{}（{}）", scope.root.level().label(), d.name),
            checked: checked.contains(&d.code),
        });
    }
    for d in tree.children(Some(root)).unwrap_or_default() {
        out.push(TargetChoice {
            code: d.code.clone(),
            label: d.name.clone(),
            checked: checked.contains(&d.code),
        });
    }
    out
}

fn form_page(
    st: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    editing: Option<i64>,
    mut v: BuilderValues,
    errs: &FieldErrors,
) -> FormPage {
    if v.rows.is_empty() {
        v.rows.push(QRow::blank(1));
    }
    for r in &mut v.rows {
        r.error = errs
            .0
            .iter()
            .filter(|e| e.field == core::key(r.n))
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join("；");
    }
    let mut errors = general(errs);
    let by_question = errs.0.len() - errors.len();
    if by_question > 0 {
        errors.push(format!("有 {by_question} 道题需要修改，请看题目下方的提示"));
    }
    FormPage {
        layout: ctx.layout(
            if editing.is_some() {
                "修改调查问卷"
            } else {
                "新建满意度调查"
            },
            "surveys",
        ),
        action: editing.map_or_else(|| "/surveys".into(), |id| format!("/surveys/{id}/edit")),
        editing: editing.is_some(),
        count: v.rows.len(),
        can_add: v.rows.len() < MAX_QUESTIONS,
        kinds: QuestionKind::ALL
            .iter()
            .map(|k| KindChoice {
                code: k.as_str(),
                label: k.label(),
            })
            .collect(),
        targets: target_choices(st, scope, &v.targets),
        v,
        errors,
    }
}

pub async fn new_form(State(st): State<AppState>, ctx: Ctx) -> Result<FormPage, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageSurveys)?;
    let v = BuilderValues {
        targets: vec![scope.root.as_str().to_owned()],
        rows: vec![
            QRow {
                kind: "scale".into(),
                title: "您对本社区服务的总体满意程度".into(),
                ..QRow::blank(1)
            },
            QRow::blank(2),
        ],
        ..Default::default()
    };
    Ok(form_page(&st, &ctx, &scope, None, v, &FieldErrors::new()))
}

/// What a builder post asks for.
enum Op {
    Add,
    Remove(usize),
    Save,
}

fn op_of(pairs: &[(String, String)]) -> Op {
    let op = field(pairs, "op");
    if op == "add" {
        Op::Add
    } else if let Some(n) = op.strip_prefix("remove").and_then(|n| n.parse().ok()) {
        Op::Remove(n)
    } else {
        Op::Save
    }
}

/// Handle "add question" and "remove" (the form comes back); `None` means save.
fn rework(v: &mut BuilderValues, op: &Op) -> bool {
    match op {
        Op::Add => {
            if v.rows.len() < MAX_QUESTIONS {
                v.rows.push(QRow::blank(v.rows.len() + 1));
            }
            true
        }
        Op::Remove(n) => {
            if v.rows.len() > 1 {
                v.rows.retain(|r| r.n != *n);
                for (i, r) in v.rows.iter_mut().enumerate() {
                    r.n = i + 1;
                }
            }
            true
        }
        Op::Save => false,
    }
}

async fn save(
    st: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    editing: Option<i64>,
    pairs: &[(String, String)],
) -> Result<Response, PageError> {
    let mut v = BuilderValues::from_pairs(pairs);
    let op = op_of(pairs);
    if rework(&mut v, &op) {
        return Ok(form_page(st, ctx, scope, editing, v, &FieldErrors::new()).into_response());
    }
    let input = match v.input() {
        Ok(i) => i,
        Err(errs) => {
            let page = form_page(st, ctx, scope, editing, v, &errs);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    let result = match editing {
        None => surveys::create(&mut tx.conn(), scope, &input, st.now()).await,
        Some(id) => surveys::update(&mut tx.conn(), scope, id, &input, st.now())
            .await
            .map(|()| id),
    };
    match result {
        Ok(id) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/surveys/{id}?done=saved")).into_response())
        }
        Err(DbError::Invalid(errs)) => {
            drop(tx);
            let page = form_page(st, ctx, scope, editing, v, &errs);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(ctx.err(e)),
    }
}

pub async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&field(&pairs, "csrf"))?;
    let (_, scope) = ctx.scope(Capability::ManageSurveys)?;
    save(&st, &ctx, &scope, None, &pairs).await
}

async fn load_visible(
    st: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    id: i64,
) -> Result<Survey, PageError> {
    surveys::get(&mut st.db.conn(), scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| {
            ctx.err(AppError::NotFound(
                "没有找到该调查，或不在您的管辖范围内。".into(),
            ))
        })
}

pub async fn edit_form(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageSurveys)?;
    let s = load_visible(&st, &ctx, &scope, id).await?;
    if !s.row.owned_within(&scope) {
        return Err(ctx.err(AppError::Forbidden));
    }
    if !s.row.state().editable() {
        return Ok(Redirect::to(&format!("/surveys/{id}")).into_response());
    }
    let choices: BTreeSet<String> = target_choices(&st, &scope, &[])
        .into_iter()
        .map(|c| c.code)
        .collect();
    let v = BuilderValues::from_survey(&s, &choices);
    Ok(form_page(&st, &ctx, &scope, Some(id), v, &FieldErrors::new()).into_response())
}

pub async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&field(&pairs, "csrf"))?;
    let (_, scope) = ctx.scope(Capability::ManageSurveys)?;
    save(&st, &ctx, &scope, Some(id), &pairs).await
}

// ---------------------------------------------------------------- staff: detail

pub struct QuestionLine {
    pub position: usize,
    pub kind: &'static str,
    pub title: String,
    pub required: bool,
    pub options: Vec<String>,
    pub note: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "surveys/detail.html")]
pub struct DetailPage {
    pub layout: Layout,
    pub id: i64,
    pub title: String,
    pub intro: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub owner: String,
    pub window: String,
    pub accepting: bool,
    pub targets: Vec<String>,
    pub responses: i64,
    pub questions: Vec<QuestionLine>,
    pub can_manage: bool,
    pub can_enter: bool,
    pub notice: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct DetailParams {
    #[serde(default)]
    pub done: String,
}

pub async fn detail(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(p): Query<DetailParams>,
) -> Result<DetailPage, PageError> {
    let (_, scope) = ctx.scope(Capability::ReadIndicators)?;
    let s = load_visible(&st, &ctx, &scope, id).await?;
    let responses = surveys::response_count(&mut st.db.conn(), &scope, id)
        .await
        .map_err(|e| ctx.err(e))?;
    let state = s.row.state();
    let manage = ctx.can(Capability::ManageSurveys);
    Ok(DetailPage {
        layout: ctx.layout(s.row.title.clone(), "surveys"),
        id,
        title: s.row.title.clone(),
        intro: s.row.intro.clone(),
        state: state.as_str(),
        state_label: state.label(),
        owner: place(&st, &s.row.division_code),
        window: window_text(&s.row.window()),
        accepting: s.row.accepting(st.now()),
        targets: s.targets.iter().map(|t| place(&st, t)).collect(),
        responses,
        questions: s
            .questionnaire
            .questions
            .iter()
            .enumerate()
            .map(|(i, q)| QuestionLine {
                position: i + 1,
                kind: q.kind.label(),
                title: q.title.clone(),
                required: q.required,
                options: q.options.clone(),
                note: match (q.kind, q.max_choices) {
                    (QuestionKind::Multiple, Some(m)) => format!("最多选 {m} 项"),
                    _ => String::new(),
                },
            })
            .collect(),
        can_manage: manage && s.row.owned_within(&scope),
        can_enter: manage && state == core::SurveyState::Open,
        notice: match p.done.as_str() {
            "saved" => "问卷已保存为草稿。确认无误后请点击“发布”。".into(),
            "opened" => "问卷已发布，居民现在可以填写。".into(),
            "closed" => "问卷已结束，不再接受填写。".into(),
            _ => String::new(),
        },
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

async fn change(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    action: core::SurveyAction,
    csrf: &str,
) -> Result<Response, PageError> {
    ctx.check_csrf(csrf)?;
    let (_, scope) = ctx.scope(Capability::ManageSurveys)?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    surveys::transition(&mut tx.conn(), &scope, id, action, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    tx.commit().await.map_err(|e| ctx.err(e))?;
    let done = match action {
        core::SurveyAction::Open => "opened",
        core::SurveyAction::Close => "closed",
    };
    Ok(Redirect::to(&format!("/surveys/{id}?done={done}")).into_response())
}

pub async fn open(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    change(&st, &ctx, id, core::SurveyAction::Open, &f.csrf).await
}

pub async fn close(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    change(&st, &ctx, id, core::SurveyAction::Close, &f.csrf).await
}

// ---------------------------------------------------------------- staff: paper entry

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PickParams {
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub saved: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "surveys/paper.html")]
pub struct PaperPage {
    pub layout: Layout,
    pub id: i64,
    pub title: String,
    pub picker: Picker,
    pub accepting: bool,
    pub refusal: String,
    pub questions: Vec<QView>,
    pub nonce: String,
    pub errors: Vec<String>,
    pub saved: bool,
}

fn paper_picker(st: &AppState, scope: &Scope, s: &Survey, requested: &str) -> Picker {
    let allowed =
        |c: &DivisionCode| s.targets_overlap(c) && (scope.contains(c) || scope.root.is_within(c));
    let answerable = |c: &DivisionCode| s.targets_cover(c) && scope.contains(c);
    picker(
        st,
        &format!("/surveys/{}/paper", s.row.id),
        Some(scope.root.clone()),
        requested,
        &allowed,
        &answerable,
    )
}

fn refusal_text(s: &Survey, now: DateTime<Utc>) -> String {
    core::accepts_answers(s.row.state(), &s.row.window(), now)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
fn paper_page(
    st: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    s: &Survey,
    requested: &str,
    pairs: &[(String, String)],
    errs: &FieldErrors,
    nonce: String,
    saved: bool,
) -> PaperPage {
    PaperPage {
        layout: ctx.layout(format!("录入纸质问卷 · {}", s.row.title), "surveys"),
        id: s.row.id,
        title: s.row.title.clone(),
        picker: paper_picker(st, scope, s, requested),
        accepting: s.row.accepting(st.now()),
        refusal: refusal_text(s, st.now()),
        questions: answer_views(&s.questionnaire, pairs, errs),
        nonce,
        errors: general(errs),
        saved,
    }
}

pub async fn paper_form(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(p): Query<PickParams>,
) -> Result<PaperPage, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageSurveys)?;
    let s = load_visible(&st, &ctx, &scope, id).await?;
    let n = nonce().map_err(|e| ctx.err(e))?;
    Ok(paper_page(
        &st,
        &ctx,
        &scope,
        &s,
        &p.division,
        &[],
        &FieldErrors::new(),
        n,
        !p.saved.is_empty(),
    ))
}

/// Store answers from a form; `Ok` with the division on success, field errors otherwise.
async fn submit_form(
    st: &AppState,
    id: i64,
    channel: Channel<'_>,
    pairs: &[(String, String)],
) -> Result<Result<String, FieldErrors>, DbError> {
    let division = match DivisionCode::parse(field(pairs, "division").trim()) {
        Ok(d) => d,
        Err(_) => {
            let mut e = FieldErrors::new();
            e.add("division", "required", "请先选择所在的村（社区）");
            return Ok(Err(e));
        }
    };
    let nonce = Some(field(pairs, "nonce")).filter(|n| !n.trim().is_empty());
    let r = NewResponse {
        survey_id: id,
        division: division.clone(),
        channel,
        nonce,
        answers: RawAnswers::Form(pairs.to_vec()),
    };
    match surveys::submit(&st.db, &r, st.now()).await {
        Ok(_) => Ok(Ok(division.as_str().to_owned())),
        Err(DbError::Invalid(e)) => Ok(Err(e)),
        Err(e) => Err(e),
    }
}

pub async fn paper_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&field(&pairs, "csrf"))?;
    let (_, scope) = ctx.scope(Capability::ManageSurveys)?;
    let s = load_visible(&st, &ctx, &scope, id).await?;
    match submit_form(&st, id, Channel::Paper(&scope), &pairs)
        .await
        .map_err(|e| ctx.err(e))?
    {
        Ok(division) => Ok(Redirect::to(&format!(
            "/surveys/{id}/paper?division={division}&saved=1"
        ))
        .into_response()),
        Err(errs) => {
            let page = paper_page(
                &st,
                &ctx,
                &scope,
                &s,
                &field(&pairs, "division"),
                &pairs,
                &errs,
                field(&pairs, "nonce"),
                false,
            );
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

// ---------------------------------------------------------------- staff: results

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResultsParams {
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub tp: Option<u64>,
}

pub struct ChildRow {
    pub code: String,
    pub name: String,
    pub responses: i64,
    pub mean: String,
    pub drill: bool,
}

pub struct TextLine {
    pub place: String,
    pub at: String,
    pub text: String,
}

pub struct QResult {
    pub position: usize,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub title: String,
    pub answered: i64,
    pub svg: String,
    pub rows: Vec<(String, i64, String)>,
    pub mean: String,
    pub texts: Vec<TextLine>,
    pub text_total: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "surveys/results.html")]
pub struct ResultsPage {
    pub layout: Layout,
    pub id: i64,
    pub title: String,
    pub state_label: &'static str,
    pub code: String,
    pub name: String,
    pub crumbs: Vec<Crumb>,
    pub responses: i64,
    pub portal: i64,
    pub paper: i64,
    pub direct: i64,
    pub children_svg: String,
    pub children: Vec<ChildRow>,
    pub questions: Vec<QResult>,
    pub text_page: u64,
    pub text_pages: u64,
}

fn bar(label: String, n: i64, text: String, href: String) -> Item {
    Item {
        label,
        value: Some(n as f64),
        standing: if n > 0 {
            Standing::Met
        } else {
            Standing::NoData
        },
        href,
        text,
        at: None,
    }
}

fn mean_text(m: Option<f64>) -> String {
    m.map_or_else(|| "—".into(), |m| format!("{m:.2}"))
}

pub async fn results(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(p): Query<ResultsParams>,
) -> Result<ResultsPage, PageError> {
    let (_, scope) = ctx.scope(Capability::ReadIndicators)?;
    let s = load_visible(&st, &ctx, &scope, id).await?;
    let node = match p.division.trim() {
        "" => default_node(&scope, &s),
        d => DivisionCode::parse(d).map_err(|e| {
            ctx.err(AppError::bad_request(
                "bad_division_code",
                format!("区划代码有误：{e}"),
            ))
        })?,
    };
    let tp = p.tp.unwrap_or(1).max(1);
    let r = surveys::results(&mut st.db.conn(), &scope, id, &node, text_page(Some(tp)))
        .await
        .map_err(|e| ctx.err(e))?;
    let href = |code: &str| format!("/surveys/{id}/results?division={code}");
    let tree = st.tree.get();
    let crumbs = tree
        .lineage(&node)
        .iter()
        .filter(|d| scope.contains_str(&d.code))
        .map(|d| Crumb {
            code: d.code.clone(),
            name: d.name.clone(),
            href: href(&d.code),
        })
        .collect();
    let drill = node.level() < Level::Village;
    let items: Vec<Item> = r
        .children
        .iter()
        .map(|c| {
            bar(
                c.name.clone(),
                c.responses,
                format!("{} 份", c.responses),
                href(&c.code),
            )
        })
        .collect();
    let children_svg = if items.is_empty() {
        String::new()
    } else {
        charts::bars(&items, None, "各下级区划的答卷数")
    };
    let mut text_pages = 1;
    let questions = r
        .questions
        .iter()
        .map(|q| {
            let anchor = format!("#q{}", q.position);
            let share = |n: i64| {
                if q.answered > 0 {
                    format!("{n}（{}）", super::fmt::percent(n, q.answered))
                } else {
                    n.to_string()
                }
            };
            let (svg, rows, mean) = match q.kind {
                QuestionKind::Single | QuestionKind::Multiple => {
                    let items: Vec<Item> = q
                        .options
                        .iter()
                        .map(|o| bar(o.label.clone(), o.count, share(o.count), anchor.clone()))
                        .collect();
                    (
                        charts::bars(&items, None, &q.title),
                        q.options
                            .iter()
                            .map(|o| (o.label.clone(), o.count, share(o.count)))
                            .collect(),
                        String::new(),
                    )
                }
                QuestionKind::Scale => {
                    let counts = q.scale.as_ref().map(|s| s.counts).unwrap_or_default();
                    let labelled: Vec<(String, i64)> = (1..=5usize)
                        .rev()
                        .map(|score| {
                            (
                                format!(
                                    "{score} 分 {}",
                                    SCALE_LABELS.get(score - 1).copied().unwrap_or("")
                                ),
                                counts.get(score - 1).copied().unwrap_or(0),
                            )
                        })
                        .collect();
                    let items: Vec<Item> = labelled
                        .iter()
                        .map(|(l, n)| bar(l.clone(), *n, share(*n), anchor.clone()))
                        .collect();
                    (
                        charts::bars(&items, None, &q.title),
                        labelled
                            .into_iter()
                            .map(|(l, n)| (l, n, share(n)))
                            .collect(),
                        mean_text(q.scale.as_ref().and_then(|s| s.mean)),
                    )
                }
                QuestionKind::Text => (String::new(), Vec::new(), String::new()),
            };
            let texts: Vec<TextLine> = q
                .texts
                .as_ref()
                .map(|p| {
                    p.items
                        .iter()
                        .map(|t| TextLine {
                            place: name_of(&st, &t.division_code),
                            at: clock(t.created_at),
                            text: t.value.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let text_total = q.texts.as_ref().map_or(0, |p| p.total);
            text_pages = text_pages
                .max((text_total.max(0) as u64).div_ceil(crate::api::surveys::TEXT_PER_PAGE));
            QResult {
                position: q.position,
                kind: q.kind.as_str(),
                kind_label: q.kind.label(),
                title: q.title.clone(),
                answered: q.answered,
                svg,
                rows,
                mean,
                texts,
                text_total,
            }
        })
        .collect();
    Ok(ResultsPage {
        layout: ctx.layout(format!("调查结果 · {}", s.row.title), "surveys"),
        id,
        title: s.row.title.clone(),
        state_label: s.row.state().label(),
        code: node.as_str().to_owned(),
        name: name_of(&st, node.as_str()),
        crumbs,
        responses: r.responses,
        portal: r.portal,
        paper: r.paper,
        direct: r.direct,
        children_svg,
        children: r
            .children
            .iter()
            .map(|c| ChildRow {
                code: c.code.clone(),
                name: c.name.clone(),
                responses: c.responses,
                mean: mean_text(c.mean_score),
                drill,
            })
            .collect(),
        questions,
        text_page: tp,
        text_pages,
    })
}

// ---------------------------------------------------------------- residents

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PortalParams {
    #[serde(default)]
    pub division: String,
}

pub struct PortalItem {
    pub id: i64,
    pub title: String,
    pub window: String,
    pub href: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "surveys/portal_list.html")]
pub struct PortalListPage {
    pub layout: Layout,
    pub picker: Picker,
    pub surveys: Vec<PortalItem>,
    pub filtered: bool,
}

pub async fn portal_list(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(p): Query<PortalParams>,
) -> Result<PortalListPage, PageError> {
    let everything = |_: &DivisionCode| true;
    let pick = picker(
        &st,
        "/portal/surveys",
        None,
        &p.division,
        &everything,
        &everything,
    );
    // Only a choice the resident made filters the list (not the steps passed through).
    let filter = if p.division.trim().is_empty() {
        None
    } else {
        pick.chosen
            .as_ref()
            .or(pick.trail.last())
            .and_then(|c| DivisionCode::parse(&c.code).ok())
    };
    let rows = surveys::list_open(&mut st.db.conn(), filter.as_ref(), st.now(), PORTAL_LIMIT)
        .await
        .map_err(|e| ctx.err(e))?;
    let suffix = pick
        .chosen
        .as_ref()
        .map(|c| format!("?division={}", c.code))
        .unwrap_or_default();
    Ok(PortalListPage {
        layout: ctx.layout("居民满意度调查", "portal"),
        surveys: rows
            .iter()
            .map(|r| PortalItem {
                id: r.id,
                title: r.title.clone(),
                window: window_text(&r.window()),
                href: format!("/portal/surveys/{}{suffix}", r.id),
            })
            .collect(),
        filtered: filter.is_some(),
        picker: pick,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "surveys/portal_form.html")]
pub struct PortalFormPage {
    pub layout: Layout,
    pub id: i64,
    pub title: String,
    pub intro: String,
    pub window: String,
    pub accepting: bool,
    pub refusal: String,
    pub picker: Picker,
    pub questions: Vec<QView>,
    pub nonce: String,
    pub errors: Vec<String>,
}

async fn load_public(st: &AppState, ctx: &Ctx, id: i64) -> Result<Survey, PageError> {
    surveys::get_public(&mut st.db.conn(), id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::NotFound("没有找到这份调查问卷。".into())))
}

fn portal_page(
    st: &AppState,
    ctx: &Ctx,
    s: &Survey,
    requested: &str,
    pairs: &[(String, String)],
    errs: &FieldErrors,
    nonce: String,
) -> PortalFormPage {
    let allowed = |c: &DivisionCode| s.targets_overlap(c);
    let answerable = |c: &DivisionCode| s.targets_cover(c);
    PortalFormPage {
        layout: ctx.layout(s.row.title.clone(), "portal"),
        id: s.row.id,
        title: s.row.title.clone(),
        intro: s.row.intro.clone(),
        window: window_text(&s.row.window()),
        accepting: s.row.accepting(st.now()),
        refusal: refusal_text(s, st.now()),
        picker: picker(
            st,
            &format!("/portal/surveys/{}", s.row.id),
            None,
            requested,
            &allowed,
            &answerable,
        ),
        questions: answer_views(&s.questionnaire, pairs, errs),
        nonce,
        errors: general(errs),
    }
}

pub async fn portal_form(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(p): Query<PortalParams>,
) -> Result<PortalFormPage, PageError> {
    let s = load_public(&st, &ctx, id).await?;
    let n = nonce().map_err(|e| ctx.err(e))?;
    Ok(portal_page(
        &st,
        &ctx,
        &s,
        &p.division,
        &[],
        &FieldErrors::new(),
        n,
    ))
}

pub async fn portal_submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&field(&pairs, "csrf"))?;
    let s = load_public(&st, &ctx, id).await?;
    match submit_form(&st, id, Channel::Portal, &pairs)
        .await
        .map_err(|e| ctx.err(e))?
    {
        Ok(division) => Ok(Redirect::to(&format!(
            "/portal/surveys/{id}/thanks?division={division}"
        ))
        .into_response()),
        Err(errs) => {
            let page = portal_page(
                &st,
                &ctx,
                &s,
                &field(&pairs, "division"),
                &pairs,
                &errs,
                field(&pairs, "nonce"),
            );
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "surveys/thanks.html")]
pub struct ThanksPage {
    pub layout: Layout,
    pub title: String,
    pub back: String,
}

pub async fn portal_thanks(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(p): Query<PortalParams>,
) -> Result<ThanksPage, PageError> {
    let s = load_public(&st, &ctx, id).await?;
    let back = match DivisionCode::parse(p.division.trim()) {
        Ok(d) => format!("/portal/surveys?division={d}"),
        Err(_) => "/portal/surveys".into(),
    };
    Ok(ThanksPage {
        layout: ctx.layout("感谢您的参与", "portal"),
        title: s.row.title.clone(),
        back,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_beijing_days() {
        let d = NaiveDate::from_ymd_opt(2025, 7, 1).unwrap();
        let s = start_of(d);
        assert_eq!(s.to_rfc3339(), "2025-06-30T16:00:00+00:00");
        assert_eq!(local_date(s), d);
        let w = Window {
            starts_at: Some(s),
            ends_at: Some(start_of(d + Duration::days(31))),
        };
        assert_eq!(window_text(&w), "2025-07-01 至 2025-07-31");
        assert_eq!(window_text(&Window::default()), "不限时间");
    }

    #[test]
    fn builder_rows_come_back() {
        let pairs: Vec<(String, String)> = [
            ("title", "调查"),
            ("count", "2"),
            ("q1_kind", "single"),
            ("q1_title", "是否满意"),
            ("q1_options", "是\r\n\r\n否\r\n"),
            ("q1_required", "1"),
            ("q2_kind", "multiple"),
            ("q2_title", "需要哪些服务"),
            ("q2_options", "养老\n托育\n就业"),
            ("q2_required", "0"),
            ("q2_max", "2"),
            ("target", "430502001"),
            ("target_codes", "430502002001，430502002002"),
            ("op", "add"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let mut v = BuilderValues::from_pairs(&pairs);
        assert!(rework(&mut v, &op_of(&pairs)));
        assert_eq!(v.rows.len(), 3);
        v.rows.pop();
        let input = v.input().unwrap();
        assert_eq!(input.targets.len(), 3);
        assert_eq!(input.questionnaire.questions[0].options, vec!["是", "否"]);
        assert!(!input.questionnaire.questions[1].required);
        assert_eq!(input.questionnaire.questions[1].max_choices, Some(2));
        let mut removed = v.clone();
        assert!(rework(&mut removed, &Op::Remove(1)));
        assert_eq!(removed.rows.len(), 1);
        assert_eq!(
            (removed.rows[0].n, removed.rows[0].kind.as_str()),
            (1, "multiple")
        );
    }
}
