//! Satisfaction surveys (满意度调查) in the store: questionnaires owned by the
//! creator's division, the divisions they target, answers from the resident
//! portal or staff entry of paper forms, and results for any node of the tree.
//!
//! Who sees a survey: staff whose subtree holds its owner division, and, once it
//! is open, staff whose subtree overlaps one of its targets (a target inside the
//! subtree, or the subtree inside a target). Who changes it: staff whose subtree
//! holds its owner division.
//! A village/community (or grid) may answer when it lies under a target.

use crate::audit::{self, Event};
use crate::scope::{Actor, Scope};
use crate::{Conn, Db, DbError, Page, PageReq, Result};
use chrono::{DateTime, Utc};
use sea_query::{Condition, Expr, ExprTrait, Iden, JoinType, Order, Query, SelectStatement};
use serde::Serialize;
use shequ_core::surveys::{
    self as core, Answer, Question, QuestionKind, Questionnaire, SurveyAction, SurveyState, Window,
};
use shequ_core::{DivisionCode, FieldErrors, Level};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Iden, Clone, Copy)]
enum Surveys {
    Table,
    Id,
    Title,
    Intro,
    DivisionCode,
    State,
    StartsAt,
    EndsAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
enum SurveyQuestions {
    Table,
    SurveyId,
    Position,
    Kind,
    Title,
    Options,
    MaxChoices,
    Required,
}

#[derive(Iden, Clone, Copy)]
enum SurveyTargets {
    Table,
    SurveyId,
    DivisionCode,
}

#[derive(Iden, Clone, Copy)]
enum SurveyResponses {
    Table,
    Id,
    SurveyId,
    DivisionCode,
    Channel,
    EnteredBy,
    Nonce,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
enum SurveyAnswers {
    Table,
    ResponseId,
    Position,
    Value,
}

/// Most target divisions of one survey.
pub const MAX_TARGETS: usize = 200;
/// How answers reached us.
pub const CHANNELS: [&str; 2] = ["portal", "paper"];

/// A survey as built: the questionnaire, the optional window and the targets.
#[derive(Debug, Clone)]
pub struct SurveyInput {
    pub questionnaire: Questionnaire,
    pub window: Window,
    pub targets: Vec<DivisionCode>,
}

/// A survey's own row.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SurveyRow {
    pub id: i64,
    pub title: String,
    pub intro: String,
    /// The owner: the division of the staff member who built it.
    pub division_code: String,
    pub state: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SurveyRow {
    pub fn state(&self) -> SurveyState {
        SurveyState::parse(&self.state).unwrap_or(SurveyState::Closed)
    }

    pub fn window(&self) -> Window {
        Window {
            starts_at: self.starts_at,
            ends_at: self.ends_at,
        }
    }

    /// Whether staff with `scope` may change it (the owner lies in their subtree).
    pub fn owned_within(&self, scope: &Scope) -> bool {
        scope.contains_str(&self.division_code)
    }

    /// Whether it takes answers at `now`.
    pub fn accepting(&self, now: DateTime<Utc>) -> bool {
        core::accepts_answers(self.state(), &self.window(), now).is_ok()
    }
}

/// A survey with its questions and targets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Survey {
    pub row: SurveyRow,
    pub questionnaire: Questionnaire,
    /// Target division codes, in code order.
    pub targets: Vec<String>,
}

impl Survey {
    /// Whether `code` lies under one of the targets.
    pub fn targets_cover(&self, code: &DivisionCode) -> bool {
        self.targets
            .iter()
            .filter_map(|t| DivisionCode::parse(t).ok())
            .any(|t| code.is_within(&t))
    }

    /// Whether the subtree of `code` and some target's subtree meet.
    pub fn targets_overlap(&self, code: &DivisionCode) -> bool {
        self.targets
            .iter()
            .filter_map(|t| DivisionCode::parse(t).ok())
            .any(|t| code.is_within(&t) || t.is_within(code))
    }
}

/// A list entry: the row and how many answers lie in the caller's subtree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveySummary {
    #[serde(flatten)]
    pub row: SurveyRow,
    pub responses: i64,
}

fn refusal(field: &str, r: &core::SurveyRefusal) -> DbError {
    DbError::invalid(field, r.code(), r.to_string())
}

/// The codes of `code` and every node above it.
fn with_ancestors(code: &DivisionCode) -> Vec<String> {
    let mut out = vec![code.as_str().to_owned()];
    let mut cur = code.parent();
    while let Some(p) = cur {
        out.push(p.as_str().to_owned());
        cur = p.parent();
    }
    out
}

/// Surveys one of whose targets overlaps the scope's subtree: a target inside
/// it, or the scope's root inside a target.
fn targets_overlap(scope: &Scope) -> Expr {
    let t = SurveyTargets::Table;
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(t)
            .cond_where(
                Condition::all()
                    .add(
                        Expr::col((t, SurveyTargets::SurveyId))
                            .equals((Surveys::Table, Surveys::Id)),
                    )
                    .add(
                        Condition::any()
                            .add(scope.condition((t, SurveyTargets::DivisionCode)))
                            .add(
                                Expr::col((t, SurveyTargets::DivisionCode))
                                    .is_in(with_ancestors(&scope.root)),
                            ),
                    ),
            )
            .to_owned(),
    )
}

/// Surveys whose owner lies in the scope, and surveys past the draft stage one of
/// whose targets overlaps it (drafts are their builders' business only).
fn visible(scope: &Scope) -> Condition {
    Condition::any()
        .add(scope.condition((Surveys::Table, Surveys::DivisionCode)))
        .add(
            Condition::all()
                .add(Expr::col((Surveys::Table, Surveys::State)).ne(SurveyState::Draft.as_str()))
                .add(targets_overlap(scope)),
        )
}

fn select_rows() -> SelectStatement {
    Query::select()
        .columns([
            (Surveys::Table, Surveys::Id),
            (Surveys::Table, Surveys::Title),
            (Surveys::Table, Surveys::Intro),
            (Surveys::Table, Surveys::DivisionCode),
            (Surveys::Table, Surveys::State),
            (Surveys::Table, Surveys::StartsAt),
            (Surveys::Table, Surveys::EndsAt),
            (Surveys::Table, Surveys::CreatedBy),
            (Surveys::Table, Surveys::CreatedAt),
            (Surveys::Table, Surveys::UpdatedAt),
        ])
        .from(Surveys::Table)
        .to_owned()
}

#[derive(sqlx::FromRow)]
struct QuestionRow {
    position: i32,
    kind: String,
    title: String,
    options: String,
    max_choices: Option<i32>,
    required: bool,
}

async fn load(c: &mut Conn<'_>, row: SurveyRow) -> Result<Survey> {
    let q = Query::select()
        .columns([
            SurveyQuestions::Position,
            SurveyQuestions::Kind,
            SurveyQuestions::Title,
            SurveyQuestions::Options,
            SurveyQuestions::MaxChoices,
            SurveyQuestions::Required,
        ])
        .from(SurveyQuestions::Table)
        .and_where(Expr::col(SurveyQuestions::SurveyId).eq(row.id))
        .order_by(SurveyQuestions::Position, Order::Asc)
        .to_owned();
    let rows: Vec<QuestionRow> = c.fetch_all(&q).await?;
    let mut questions = Vec::with_capacity(rows.len());
    for r in rows {
        let kind = QuestionKind::parse(&r.kind)
            .ok_or_else(|| DbError::Conflict(format!("题型有误：{}", r.kind)))?;
        let options: Vec<String> = serde_json::from_str(&r.options)
            .map_err(|e| DbError::Conflict(format!("第 {} 题选项有误：{e}", r.position)))?;
        questions.push(Question {
            kind,
            title: r.title,
            options,
            required: r.required,
            max_choices: r.max_choices.and_then(|m| usize::try_from(m).ok()),
        });
    }
    let q = Query::select()
        .column(SurveyTargets::DivisionCode)
        .from(SurveyTargets::Table)
        .and_where(Expr::col(SurveyTargets::SurveyId).eq(row.id))
        .order_by(SurveyTargets::DivisionCode, Order::Asc)
        .to_owned();
    let targets: Vec<(String,)> = c.fetch_all(&q).await?;
    Ok(Survey {
        questionnaire: Questionnaire {
            title: row.title.clone(),
            intro: row.intro.clone(),
            questions,
        },
        row,
        targets: targets.into_iter().map(|(t,)| t).collect(),
    })
}

async fn row_by_id(c: &mut Conn<'_>, id: i64, scope: Option<&Scope>) -> Result<Option<SurveyRow>> {
    let mut q = select_rows()
        .and_where(Expr::col((Surveys::Table, Surveys::Id)).eq(id))
        .to_owned();
    if let Some(s) = scope {
        q.cond_where(visible(s));
    }
    c.fetch_optional(&q).await
}

/// One survey the caller may see, with questions and targets.
pub async fn get(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<Survey>> {
    match row_by_id(c, id, Some(scope)).await? {
        Some(row) => Ok(Some(load(c, row).await?)),
        None => Ok(None),
    }
}

/// A survey as residents see it: open or closed ones, never drafts (no scope).
pub async fn get_public(c: &mut Conn<'_>, id: i64) -> Result<Option<Survey>> {
    match row_by_id(c, id, None).await? {
        Some(row) if row.state() != SurveyState::Draft => Ok(Some(load(c, row).await?)),
        _ => Ok(None),
    }
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<SurveyState>,
}

/// Surveys the caller may see, newest first, with the number of answers in
/// the caller's subtree.
pub async fn list(
    c: &mut Conn<'_>,
    scope: &Scope,
    f: &Filter,
    page: PageReq,
) -> Result<Page<SurveySummary>> {
    let mut q = select_rows().cond_where(visible(scope)).to_owned();
    if let Some(s) = f.state {
        q.and_where(Expr::col((Surveys::Table, Surveys::State)).eq(s.as_str()));
    }
    let mut count = q.clone();
    count
        .clear_selects()
        .expr(Expr::col((Surveys::Table, Surveys::Id)).count());
    let total = c.fetch_i64(&count).await?;
    q.order_by((Surveys::Table, Surveys::Id), Order::Desc)
        .limit(page.per_page)
        .offset(page.offset());
    let rows: Vec<SurveyRow> = c.fetch_all(&q).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let counts = response_counts(c, scope, &ids).await?;
    Ok(Page {
        items: rows
            .into_iter()
            .map(|row| SurveySummary {
                responses: counts.get(&row.id).copied().unwrap_or(0),
                row,
            })
            .collect(),
        total,
    })
}

async fn response_counts(
    c: &mut Conn<'_>,
    scope: &Scope,
    ids: &[i64],
) -> Result<BTreeMap<i64, i64>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let q = Query::select()
        .column(SurveyResponses::SurveyId)
        .expr(Expr::col(SurveyResponses::Id).count())
        .from(SurveyResponses::Table)
        .and_where(Expr::col(SurveyResponses::SurveyId).is_in(ids.iter().copied()))
        .cond_where(scope.condition(SurveyResponses::DivisionCode))
        .group_by_col(SurveyResponses::SurveyId)
        .to_owned();
    let rows: Vec<(i64, i64)> = c.fetch_all(&q).await?;
    Ok(rows.into_iter().collect())
}

/// Answers to survey `id` filed in the caller's subtree.
pub async fn response_count(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<i64> {
    Ok(response_counts(c, scope, &[id])
        .await?
        .get(&id)
        .copied()
        .unwrap_or(0))
}

/// Open surveys taking answers at `now`, newest first; with `division`, only
/// those whose targets overlap it (a community under a target, or a target under
/// the township chosen so far).
pub async fn list_open(
    c: &mut Conn<'_>,
    division: Option<&DivisionCode>,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<SurveyRow>> {
    let mut q = select_rows()
        .and_where(Expr::col((Surveys::Table, Surveys::State)).eq(SurveyState::Open.as_str()))
        .cond_where(
            Condition::any()
                .add(Expr::col((Surveys::Table, Surveys::StartsAt)).is_null())
                .add(Expr::col((Surveys::Table, Surveys::StartsAt)).lte(now)),
        )
        .cond_where(
            Condition::any()
                .add(Expr::col((Surveys::Table, Surveys::EndsAt)).is_null())
                .add(Expr::col((Surveys::Table, Surveys::EndsAt)).gt(now)),
        )
        .to_owned();
    if let Some(d) = division {
        let narrowed = Scope::new(d.clone(), shequ_core::Role::Resident, Actor::anonymous());
        q.and_where(targets_overlap(&narrowed));
    }
    q.order_by((Surveys::Table, Surveys::Id), Order::Desc)
        .limit(limit);
    c.fetch_all(&q).await
}

/// Check an input: the questionnaire, the window and the targets (in scope,
/// existing, distinct, 1–200). Returns the trimmed questionnaire and target codes.
async fn check_input(
    c: &mut Conn<'_>,
    scope: &Scope,
    input: &SurveyInput,
) -> Result<(Questionnaire, Vec<String>)> {
    let mut errs = FieldErrors::new();
    let questionnaire = match input.questionnaire.validate() {
        Ok(q) => Some(q),
        Err(e) => {
            errs.0.extend(e.0);
            None
        }
    };
    if let Err(e) = input.window.check() {
        errs.0.extend(e.0);
    }
    let targets: BTreeSet<String> = input
        .targets
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect();
    if targets.is_empty() {
        errs.add("targets", "required", "请选择调查范围（至少一个区划）");
    } else if targets.len() > MAX_TARGETS {
        errs.add(
            "targets",
            "too_many",
            format!("调查范围最多 {MAX_TARGETS} 个区划"),
        );
    }
    for t in &input.targets {
        if !scope.contains(t) {
            errs.add(
                "targets",
                "out_of_scope",
                format!("区划 {t} 不在您的管辖范围内"),
            );
        } else if crate::divisions::get(c, t).await?.is_none() {
            errs.add("targets", "unknown_division", format!("区划 {t} 不存在"));
        }
    }
    errs.into_result()?;
    match questionnaire {
        Some(q) => Ok((q, targets.into_iter().collect())),
        None => Err(DbError::Conflict("问卷校验失败".into())),
    }
}

async fn write_parts(
    c: &mut Conn<'_>,
    id: i64,
    q: &Questionnaire,
    targets: &[String],
) -> Result<()> {
    let mut ins = Query::insert()
        .into_table(SurveyQuestions::Table)
        .columns([
            SurveyQuestions::SurveyId,
            SurveyQuestions::Position,
            SurveyQuestions::Kind,
            SurveyQuestions::Title,
            SurveyQuestions::Options,
            SurveyQuestions::MaxChoices,
            SurveyQuestions::Required,
        ])
        .to_owned();
    for (i, question) in q.questions.iter().enumerate() {
        let options = serde_json::to_string(&question.options)
            .map_err(|e| DbError::Conflict(format!("选项无法保存：{e}")))?;
        ins.values_panic([
            id.into(),
            i32::try_from(i + 1).unwrap_or(i32::MAX).into(),
            question.kind.as_str().into(),
            question.title.clone().into(),
            options.into(),
            question
                .max_choices
                .and_then(|m| i32::try_from(m).ok())
                .into(),
            question.required.into(),
        ]);
    }
    c.execute(&ins).await?;
    let mut ins = Query::insert()
        .into_table(SurveyTargets::Table)
        .columns([SurveyTargets::SurveyId, SurveyTargets::DivisionCode])
        .to_owned();
    for t in targets {
        ins.values_panic([id.into(), t.clone().into()]);
    }
    c.execute(&ins).await?;
    Ok(())
}

fn summary(q: &Questionnaire, w: &Window, targets: &[String]) -> serde_json::Value {
    serde_json::json!({
        "title": q.title, "questions": q.questions.len(), "targets": targets,
        "starts_at": w.starts_at, "ends_at": w.ends_at,
    })
}

/// Build a survey as a draft, owned by the caller's division. Audited.
pub async fn create(
    c: &mut Conn<'_>,
    scope: &Scope,
    input: &SurveyInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    let (q, targets) = check_input(c, scope, input).await?;
    let ins = Query::insert()
        .into_table(Surveys::Table)
        .columns([
            Surveys::Title,
            Surveys::Intro,
            Surveys::DivisionCode,
            Surveys::State,
            Surveys::StartsAt,
            Surveys::EndsAt,
            Surveys::CreatedBy,
            Surveys::CreatedAt,
            Surveys::UpdatedAt,
        ])
        .values_panic([
            q.title.clone().into(),
            q.intro.clone().into(),
            scope.root.as_str().into(),
            SurveyState::Draft.as_str().into(),
            input.window.starts_at.into(),
            input.window.ends_at.into(),
            scope.actor.user_id.into(),
            now.into(),
            now.into(),
        ])
        .to_owned();
    let id = c.insert_id(&ins).await?;
    write_parts(c, id, &q, &targets).await?;
    let ev = Event::new("survey_create", "survey", id)
        .division(scope.root.as_str())
        .detail(summary(&q, &input.window, &targets));
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(id)
}

/// A survey the caller may change (its owner lies in their subtree).
async fn owned(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<SurveyRow> {
    let q = select_rows()
        .and_where(Expr::col((Surveys::Table, Surveys::Id)).eq(id))
        .cond_where(scope.condition((Surveys::Table, Surveys::DivisionCode)))
        .to_owned();
    c.fetch_optional(&q).await?.ok_or(DbError::NotFound)
}

/// Replace a draft's questionnaire, window and targets. Audited.
pub async fn update(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    input: &SurveyInput,
    now: DateTime<Utc>,
) -> Result<()> {
    let row = owned(c, scope, id).await?;
    if !row.state().editable() {
        return Err(DbError::invalid(
            "state",
            "survey_not_editable",
            "问卷已发布，不能再修改",
        ));
    }
    let (q, targets) = check_input(c, scope, input).await?;
    let upd = Query::update()
        .table(Surveys::Table)
        .values([
            (Surveys::Title, q.title.clone().into()),
            (Surveys::Intro, q.intro.clone().into()),
            (Surveys::StartsAt, input.window.starts_at.into()),
            (Surveys::EndsAt, input.window.ends_at.into()),
            (Surveys::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Surveys::Id).eq(id))
        .and_where(Expr::col(Surveys::State).eq(SurveyState::Draft.as_str()))
        .to_owned();
    if c.execute(&upd).await? == 0 {
        return Err(DbError::invalid(
            "state",
            "survey_not_editable",
            "问卷已发布，不能再修改",
        ));
    }
    for del in [
        Query::delete()
            .from_table(SurveyQuestions::Table)
            .and_where(Expr::col(SurveyQuestions::SurveyId).eq(id))
            .to_owned(),
        Query::delete()
            .from_table(SurveyTargets::Table)
            .and_where(Expr::col(SurveyTargets::SurveyId).eq(id))
            .to_owned(),
    ] {
        c.execute(&del).await?;
    }
    write_parts(c, id, &q, &targets).await?;
    let ev = Event::new("survey_update", "survey", id)
        .division(&row.division_code)
        .detail(summary(&q, &input.window, &targets));
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(())
}

/// Apply open or close to a survey the caller owns. Opening needs an end time
/// still ahead (when one is set). Audited; returns the new state.
pub async fn transition(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    action: SurveyAction,
    now: DateTime<Utc>,
) -> Result<SurveyState> {
    let row = owned(c, scope, id).await?;
    let from = row.state();
    let to = from.apply(action).map_err(|e| refusal("state", &e))?;
    if action == SurveyAction::Open && row.ends_at.is_some_and(|e| e <= now) {
        return Err(DbError::invalid(
            "ends_at",
            "window_passed",
            "结束时间已过，请先修改结束时间再发布",
        ));
    }
    let upd = Query::update()
        .table(Surveys::Table)
        .values([
            (Surveys::State, to.as_str().into()),
            (Surveys::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Surveys::Id).eq(id))
        .and_where(Expr::col(Surveys::State).eq(from.as_str()))
        .to_owned();
    if c.execute(&upd).await? == 0 {
        return Err(DbError::Conflict(
            "问卷状态已被他人修改，请刷新后重试".into(),
        ));
    }
    let ev = Event::new(
        if action == SurveyAction::Open {
            "survey_open"
        } else {
            "survey_close"
        },
        "survey",
        id,
    )
    .division(&row.division_code)
    .detail(serde_json::json!({"from": from.as_str(), "to": to.as_str()}));
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(to)
}

/// Open a draft for answers.
pub async fn open(c: &mut Conn<'_>, scope: &Scope, id: i64, now: DateTime<Utc>) -> Result<()> {
    transition(c, scope, id, SurveyAction::Open, now)
        .await
        .map(|_| ())
}

/// Stop taking answers.
pub async fn close(c: &mut Conn<'_>, scope: &Scope, id: i64, now: DateTime<Utc>) -> Result<()> {
    transition(c, scope, id, SurveyAction::Close, now)
        .await
        .map(|_| ())
}

/// Answers as they arrive, read against the survey's questionnaire.
#[derive(Debug, Clone)]
pub enum RawAnswers {
    /// Form fields "q1", "q2", … (checkboxes repeat their field).
    Form(Vec<(String, String)>),
    /// A JSON object `{"q1": 0, "q2": [1, 3], "q3": 4, "q4": "…"}`.
    Json(serde_json::Map<String, serde_json::Value>),
    /// Already read, by position from 1 (still checked).
    Parsed(BTreeMap<usize, Answer>),
}

/// Who hands the answers in.
#[derive(Debug, Clone, Copy)]
pub enum Channel<'a> {
    /// A resident on the portal (anonymous).
    Portal,
    /// Staff typing in a paper form; the respondent's division must lie in their subtree.
    Paper(&'a Scope),
}

impl Channel<'_> {
    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::Portal => "portal",
            Channel::Paper(_) => "paper",
        }
    }
}

/// One set of answers to store.
#[derive(Debug, Clone)]
pub struct NewResponse<'a> {
    pub survey_id: i64,
    /// The respondent's village/community (or grid).
    pub division: DivisionCode,
    pub channel: Channel<'a>,
    /// One-time value of the form or client; a replay returns the first response.
    /// Required on the portal; generated for paper entry when missing.
    pub nonce: Option<String>,
    pub answers: RawAnswers,
}

/// A stored response.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ResponseRow {
    pub id: i64,
    pub survey_id: i64,
    pub division_code: String,
    pub channel: String,
    pub entered_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// The outcome of a submission.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Submitted {
    pub response: ResponseRow,
    /// False when the nonce had been used by this survey already (nothing stored).
    pub created: bool,
}

fn check_nonce(n: &str) -> Result<()> {
    let ok = (8..=100).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(DbError::invalid(
            "nonce",
            "bad_nonce",
            "提交编号应为 8–100 位字母、数字、- 或 _",
        ))
    }
}

fn fresh_nonce() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| DbError::Conflict(format!("随机数不可用：{e}")))?;
    Ok(hex::encode(b))
}

async fn by_nonce(c: &mut Conn<'_>, nonce: &str) -> Result<Option<ResponseRow>> {
    let q = Query::select()
        .columns([
            SurveyResponses::Id,
            SurveyResponses::SurveyId,
            SurveyResponses::DivisionCode,
            SurveyResponses::Channel,
            SurveyResponses::EnteredBy,
            SurveyResponses::CreatedAt,
        ])
        .from(SurveyResponses::Table)
        .and_where(Expr::col(SurveyResponses::Nonce).eq(nonce))
        .to_owned();
    c.fetch_optional(&q).await
}

fn replayed(first: ResponseRow, survey_id: i64) -> Result<Submitted> {
    if first.survey_id == survey_id {
        Ok(Submitted {
            response: first,
            created: false,
        })
    } else {
        Err(DbError::invalid(
            "nonce",
            "nonce_reused",
            "该提交编号已用于其他问卷",
        ))
    }
}

/// Store one set of answers in one transaction: the survey must take answers
/// now, the division must be a village/community or grid under its targets (and,
/// for paper entry, in the staff member's subtree), and the answers must fit the
/// questionnaire (errors per question, nothing stored). A nonce seen before for
/// this survey returns the first response without storing anything.
pub async fn submit(db: &Db, r: &NewResponse<'_>, now: DateTime<Utc>) -> Result<Submitted> {
    let nonce = match (&r.nonce, r.channel) {
        (Some(n), _) => n.trim().to_owned(),
        (None, Channel::Paper(_)) => fresh_nonce()?,
        (None, Channel::Portal) => {
            return Err(DbError::invalid("nonce", "required", "缺少提交编号"));
        }
    };
    check_nonce(&nonce)?;
    let mut tx = db.begin().await?;
    let result = submit_in(&mut tx.conn(), r, &nonce, now).await;
    match result {
        Ok(s) => {
            tx.commit().await?;
            Ok(s)
        }
        Err(DbError::Conflict(msg)) => {
            // Two submissions of the same nonce at once: the other one won.
            drop(tx);
            match by_nonce(&mut db.conn(), &nonce).await? {
                Some(first) => replayed(first, r.survey_id),
                None => Err(DbError::Conflict(msg)),
            }
        }
        Err(e) => Err(e),
    }
}

async fn submit_in(
    c: &mut Conn<'_>,
    r: &NewResponse<'_>,
    nonce: &str,
    now: DateTime<Utc>,
) -> Result<Submitted> {
    if let Some(first) = by_nonce(c, nonce).await? {
        return replayed(first, r.survey_id);
    }
    let row = match r.channel {
        Channel::Portal => row_by_id(c, r.survey_id, None).await?,
        Channel::Paper(scope) => row_by_id(c, r.survey_id, Some(scope)).await?,
    }
    .ok_or(DbError::NotFound)?;
    core::accepts_answers(row.state(), &row.window(), now).map_err(|e| refusal("survey", &e))?;
    let survey = load(c, row).await?;
    if !matches!(r.division.level(), Level::Village | Level::Grid) {
        return Err(DbError::invalid(
            "division",
            "bad_level",
            "请选择您所在的村（社区）",
        ));
    }
    if let Channel::Paper(scope) = r.channel
        && !scope.contains(&r.division)
    {
        return Err(DbError::invalid(
            "division",
            "out_of_scope",
            "该村（社区）不在您的管辖范围内",
        ));
    }
    if !survey.targets_cover(&r.division) {
        return Err(DbError::invalid(
            "division",
            "not_targeted",
            "该村（社区）不在本次调查范围内",
        ));
    }
    if crate::divisions::get(c, &r.division).await?.is_none() {
        return Err(DbError::invalid(
            "division",
            "unknown_division",
            format!("区划 {} 不存在", r.division),
        ));
    }
    let q = &survey.questionnaire;
    let answers = match &r.answers {
        RawAnswers::Form(pairs) => core::answers_from_form(q, pairs),
        RawAnswers::Json(obj) => core::answers_from_json(q, obj),
        RawAnswers::Parsed(map) => core::check_answers(q, map),
    }?;
    let entered_by = match r.channel {
        Channel::Portal => None,
        Channel::Paper(scope) => scope.actor.user_id,
    };
    let ins = Query::insert()
        .into_table(SurveyResponses::Table)
        .columns([
            SurveyResponses::SurveyId,
            SurveyResponses::DivisionCode,
            SurveyResponses::Channel,
            SurveyResponses::EnteredBy,
            SurveyResponses::Nonce,
            SurveyResponses::CreatedAt,
        ])
        .values_panic([
            r.survey_id.into(),
            r.division.as_str().into(),
            r.channel.as_str().into(),
            entered_by.into(),
            nonce.into(),
            now.into(),
        ])
        .to_owned();
    let id = c.insert_id(&ins).await?;
    if !answers.is_empty() {
        let mut ins = Query::insert()
            .into_table(SurveyAnswers::Table)
            .columns([
                SurveyAnswers::ResponseId,
                SurveyAnswers::Position,
                SurveyAnswers::Value,
            ])
            .to_owned();
        for (pos, a) in &answers {
            ins.values_panic([
                id.into(),
                i32::try_from(*pos).unwrap_or(i32::MAX).into(),
                a.to_stored().into(),
            ]);
        }
        c.execute(&ins).await?;
    }
    if let Channel::Paper(scope) = r.channel {
        let ev = Event::new("survey_paper_entry", "survey", r.survey_id)
            .division(r.division.as_str())
            .detail(serde_json::json!({"response_id": id, "answers": answers.len()}));
        audit::append(c, &scope.actor, ev, now).await?;
    }
    Ok(Submitted {
        response: ResponseRow {
            id,
            survey_id: r.survey_id,
            division_code: r.division.as_str().to_owned(),
            channel: r.channel.as_str().to_owned(),
            entered_by,
            created_at: now,
        },
        created: true,
    })
}

/// How often one option was chosen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionCount {
    pub index: usize,
    pub label: String,
    pub count: i64,
}

/// Scores of a 1–5 question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaleStats {
    /// Mean score, when anyone answered.
    pub mean: Option<f64>,
    /// How many chose 1, 2, 3, 4 and 5.
    pub counts: [i64; 5],
}

impl ScaleStats {
    fn from_counts(counts: [i64; 5]) -> ScaleStats {
        let n: i64 = counts.iter().sum();
        let sum: i64 = counts.iter().zip(1i64..).map(|(c, score)| c * score).sum();
        ScaleStats {
            mean: (n > 0).then(|| sum as f64 / n as f64),
            counts,
        }
    }
}

/// One free-text answer.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TextAnswer {
    pub response_id: i64,
    pub division_code: String,
    pub created_at: DateTime<Utc>,
    pub value: String,
}

/// The results of one question in a subtree.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionResult {
    pub position: usize,
    pub kind: QuestionKind,
    pub title: String,
    /// Responses that answered this question.
    pub answered: i64,
    /// Choice questions: every option with its count (multiple choice counts
    /// each chosen option once per response).
    pub options: Vec<OptionCount>,
    /// Scale questions.
    pub scale: Option<ScaleStats>,
    /// Text questions: one page of answers, newest first.
    pub texts: Option<Page<TextAnswer>>,
}

/// Responses in one child of the node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChildCount {
    pub code: String,
    pub name: String,
    pub responses: i64,
    /// Mean of every 1–5 score given in the child, when any.
    pub mean_score: Option<f64>,
}

/// A survey's results for one node of the tree.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub survey_id: i64,
    pub division: String,
    pub responses: i64,
    pub portal: i64,
    pub paper: i64,
    pub questions: Vec<QuestionResult>,
    /// Every child of the node with its responses (zero included).
    pub children: Vec<ChildCount>,
    /// Responses recorded at the node itself rather than in a child (e.g. at a
    /// community when its grids are the children).
    pub direct: i64,
}

fn response_join(q: &mut SelectStatement) {
    q.join(
        JoinType::InnerJoin,
        SurveyResponses::Table,
        Expr::col((SurveyResponses::Table, SurveyResponses::Id))
            .equals((SurveyAnswers::Table, SurveyAnswers::ResponseId)),
    );
}

/// The length of the codes of a node's children, when it has any.
fn child_len(node: &DivisionCode) -> Option<usize> {
    node.level().child().map(Level::code_len)
}

/// The results of a survey the caller may see, for `node` (in the caller's
/// subtree): counts per option, score means and distributions, a page of text
/// answers per text question, and responses per child of the node.
pub async fn results(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    node: &DivisionCode,
    text_page: PageReq,
) -> Result<Results> {
    if !scope.contains(node) {
        return Err(DbError::NotFound);
    }
    let survey = get(c, scope, id).await?.ok_or(DbError::NotFound)?;
    let area = Scope::new(node.clone(), scope.role, scope.actor.clone());
    let in_area = area.condition((SurveyResponses::Table, SurveyResponses::DivisionCode));
    let of_survey = Expr::col((SurveyResponses::Table, SurveyResponses::SurveyId)).eq(id);

    let by_channel: Vec<(String, i64)> = c
        .fetch_all(
            &Query::select()
                .column(SurveyResponses::Channel)
                .expr(Expr::col(SurveyResponses::Id).count())
                .from(SurveyResponses::Table)
                .and_where(of_survey.clone())
                .cond_where(in_area.clone())
                .group_by_col(SurveyResponses::Channel)
                .to_owned(),
        )
        .await?;
    let channel = |name: &str| {
        by_channel
            .iter()
            .filter(|(c, _)| c == name)
            .map(|(_, n)| *n)
            .sum::<i64>()
    };
    let (portal, paper) = (channel("portal"), channel("paper"));

    let questions = &survey.questionnaire.questions;
    let positions = |pred: fn(QuestionKind) -> bool| -> Vec<i32> {
        questions
            .iter()
            .enumerate()
            .filter(|(_, q)| pred(q.kind))
            .filter_map(|(i, _)| i32::try_from(i + 1).ok())
            .collect()
    };
    let closed = positions(|k| k != QuestionKind::Text);
    let open_ended = positions(|k| k == QuestionKind::Text);
    let scales = positions(|k| k == QuestionKind::Scale);

    let mut grouped: Vec<(i32, String, i64)> = Vec::new();
    if !closed.is_empty() {
        let mut q = Query::select()
            .column((SurveyAnswers::Table, SurveyAnswers::Position))
            .column((SurveyAnswers::Table, SurveyAnswers::Value))
            .expr(Expr::col((SurveyAnswers::Table, SurveyAnswers::ResponseId)).count())
            .from(SurveyAnswers::Table)
            .to_owned();
        response_join(&mut q);
        q.and_where(of_survey.clone())
            .cond_where(in_area.clone())
            .and_where(Expr::col((SurveyAnswers::Table, SurveyAnswers::Position)).is_in(closed))
            .group_by_col((SurveyAnswers::Table, SurveyAnswers::Position))
            .group_by_col((SurveyAnswers::Table, SurveyAnswers::Value));
        grouped = c.fetch_all(&q).await?;
    }
    let mut text_counts: BTreeMap<i32, i64> = BTreeMap::new();
    if !open_ended.is_empty() {
        let mut q = Query::select()
            .column((SurveyAnswers::Table, SurveyAnswers::Position))
            .expr(Expr::col((SurveyAnswers::Table, SurveyAnswers::ResponseId)).count())
            .from(SurveyAnswers::Table)
            .to_owned();
        response_join(&mut q);
        q.and_where(of_survey.clone())
            .cond_where(in_area.clone())
            .and_where(Expr::col((SurveyAnswers::Table, SurveyAnswers::Position)).is_in(open_ended))
            .group_by_col((SurveyAnswers::Table, SurveyAnswers::Position));
        let rows: Vec<(i32, i64)> = c.fetch_all(&q).await?;
        text_counts = rows.into_iter().collect();
    }

    let mut out = Vec::with_capacity(questions.len());
    for (i, question) in questions.iter().enumerate() {
        let pos = i + 1;
        let pos32 = i32::try_from(pos).unwrap_or(i32::MAX);
        let mut r = QuestionResult {
            position: pos,
            kind: question.kind,
            title: question.title.clone(),
            answered: 0,
            options: question
                .options
                .iter()
                .enumerate()
                .map(|(index, label)| OptionCount {
                    index,
                    label: label.clone(),
                    count: 0,
                })
                .collect(),
            scale: None,
            texts: None,
        };
        let mine = grouped.iter().filter(|(p, _, _)| *p == pos32);
        match question.kind {
            QuestionKind::Single | QuestionKind::Multiple => {
                for (_, value, n) in mine {
                    r.answered += n;
                    let picked = match Answer::from_stored(question.kind, value) {
                        Some(Answer::Single(i)) => vec![i],
                        Some(Answer::Multiple(v)) => v,
                        _ => Vec::new(),
                    };
                    for i in picked {
                        if let Some(o) = r.options.get_mut(i) {
                            o.count += n;
                        }
                    }
                }
            }
            QuestionKind::Scale => {
                let mut counts = [0i64; 5];
                for (_, value, n) in mine {
                    r.answered += n;
                    if let Some(Answer::Scale(s)) = Answer::from_stored(question.kind, value)
                        && let Some(slot) = counts.get_mut(usize::from(s).wrapping_sub(1))
                    {
                        *slot += n;
                    }
                }
                r.scale = Some(ScaleStats::from_counts(counts));
            }
            QuestionKind::Text => {
                r.answered = text_counts.get(&pos32).copied().unwrap_or(0);
                let mut q = Query::select()
                    .column((SurveyAnswers::Table, SurveyAnswers::ResponseId))
                    .column((SurveyResponses::Table, SurveyResponses::DivisionCode))
                    .column((SurveyResponses::Table, SurveyResponses::CreatedAt))
                    .column((SurveyAnswers::Table, SurveyAnswers::Value))
                    .from(SurveyAnswers::Table)
                    .to_owned();
                response_join(&mut q);
                q.and_where(of_survey.clone())
                    .cond_where(in_area.clone())
                    .and_where(Expr::col((SurveyAnswers::Table, SurveyAnswers::Position)).eq(pos32))
                    .order_by(
                        (SurveyAnswers::Table, SurveyAnswers::ResponseId),
                        Order::Desc,
                    )
                    .limit(text_page.per_page)
                    .offset(text_page.offset());
                r.texts = Some(Page {
                    items: c.fetch_all(&q).await?,
                    total: r.answered,
                });
            }
        }
        out.push(r);
    }

    let (children, direct) = children_breakdown(c, id, node, &area, &scales).await?;
    Ok(Results {
        survey_id: id,
        division: node.as_str().to_owned(),
        responses: portal + paper,
        portal,
        paper,
        questions: out,
        children,
        direct,
    })
}

/// Responses (and mean score) per child of `node`, and those at the node itself.
async fn children_breakdown(
    c: &mut Conn<'_>,
    id: i64,
    node: &DivisionCode,
    area: &Scope,
    scales: &[i32],
) -> Result<(Vec<ChildCount>, i64)> {
    let of_survey = Expr::col((SurveyResponses::Table, SurveyResponses::SurveyId)).eq(id);
    let in_area = area.condition((SurveyResponses::Table, SurveyResponses::DivisionCode));
    let Some(len) = child_len(node) else {
        let total = c
            .fetch_i64(
                &Query::select()
                    .expr(Expr::col((SurveyResponses::Table, SurveyResponses::Id)).count())
                    .from(SurveyResponses::Table)
                    .and_where(of_survey)
                    .cond_where(in_area)
                    .to_owned(),
            )
            .await?;
        return Ok((Vec::new(), total));
    };
    // `len` is one of 6, 9, 12, 15: the prefix of a response's code naming the child.
    let prefix = || Expr::cust(format!("substr(survey_responses.division_code, 1, {len})"));
    let counts: Vec<(String, i64)> = c
        .fetch_all(
            &Query::select()
                .expr(prefix())
                .expr(Expr::col((SurveyResponses::Table, SurveyResponses::Id)).count())
                .from(SurveyResponses::Table)
                .and_where(of_survey.clone())
                .cond_where(in_area.clone())
                .add_group_by([prefix()])
                .to_owned(),
        )
        .await?;
    let mut scores: BTreeMap<String, [i64; 5]> = BTreeMap::new();
    if !scales.is_empty() {
        let mut q = Query::select()
            .expr(prefix())
            .column((SurveyAnswers::Table, SurveyAnswers::Value))
            .expr(Expr::col((SurveyAnswers::Table, SurveyAnswers::ResponseId)).count())
            .from(SurveyAnswers::Table)
            .to_owned();
        response_join(&mut q);
        q.and_where(of_survey)
            .cond_where(in_area)
            .and_where(
                Expr::col((SurveyAnswers::Table, SurveyAnswers::Position))
                    .is_in(scales.iter().copied()),
            )
            .add_group_by([
                prefix(),
                Expr::col((SurveyAnswers::Table, SurveyAnswers::Value)),
            ]);
        let rows: Vec<(String, String, i64)> = c.fetch_all(&q).await?;
        for (code, value, n) in rows {
            if let Ok(s) = value.parse::<usize>()
                && let Some(slot) = scores.entry(code).or_default().get_mut(s.wrapping_sub(1))
            {
                *slot += n;
            }
        }
    }
    let kids = crate::divisions::children(c, node, PageReq::all()).await?;
    let by_code: BTreeMap<String, i64> = counts.iter().cloned().collect();
    let in_children: i64 = kids.items.iter().filter_map(|k| by_code.get(&k.code)).sum();
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let children = kids
        .items
        .into_iter()
        .map(|k| ChildCount {
            responses: by_code.get(&k.code).copied().unwrap_or(0),
            mean_score: scores
                .get(&k.code)
                .and_then(|c| ScaleStats::from_counts(*c).mean),
            code: k.code,
            name: k.name,
        })
        .collect();
    Ok((children, total - in_children))
}

/// Per village/community (12-digit code) the number of responses, to any survey,
/// recorded in `[from, to)`; answers filed at a grid count for its community.
/// Villages without responses are not listed. In code order.
pub async fn answered_villages(
    c: &mut Conn<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, i64)>> {
    let prefix = || Expr::cust("substr(survey_responses.division_code, 1, 12)");
    let q = Query::select()
        .expr(prefix())
        .expr(Expr::col((SurveyResponses::Table, SurveyResponses::Id)).count())
        .from(SurveyResponses::Table)
        .and_where(Expr::col((SurveyResponses::Table, SurveyResponses::CreatedAt)).gte(from))
        .and_where(Expr::col((SurveyResponses::Table, SurveyResponses::CreatedAt)).lt(to))
        .add_group_by([prefix()])
        .order_by_expr(prefix(), Order::Asc)
        .to_owned();
    let rows: Vec<(String, i64)> = c.fetch_all(&q).await?;
    Ok(rows
        .into_iter()
        .filter(|(code, _)| code.len() == 12)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_means() {
        let s = ScaleStats::from_counts([1, 0, 0, 0, 1]);
        assert_eq!(s.mean, Some(3.0));
        assert_eq!(ScaleStats::from_counts([0; 5]).mean, None);
        let s = ScaleStats::from_counts([0, 0, 1, 2, 1]);
        assert_eq!(s.mean, Some(4.0));
    }

    #[test]
    fn nonces_and_lineage() {
        assert!(check_nonce("abcdEF12_-").is_ok());
        assert!(check_nonce("short").is_err());
        assert!(check_nonce("has space in it").is_err());
        let code = DivisionCode::parse("430502001001").unwrap();
        assert_eq!(
            with_ancestors(&code),
            vec!["430502001001", "430502001", "430502", "430500"]
        );
        assert_eq!(child_len(&DivisionCode::parse("430500").unwrap()), Some(6));
        assert_eq!(child_len(&code), Some(15));
    }
}
