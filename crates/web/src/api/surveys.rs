//! Satisfaction surveys (满意度调查) over JSON: building, opening and closing
//! questionnaires (`manage_surveys`), answers from the resident portal (no
//! sign-in) or staff entry of paper forms (`manage_surveys`), and results by
//! division (`read_indicators`). Everything is scoped to the caller's subtree.

use super::List;
use crate::auth::{ApiUser, scope_for};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, division_code};
use crate::{AppError, AppState};
use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shequ_core::role::Capability;
use shequ_core::surveys::{Question, QuestionKind, Questionnaire, SurveyState, Window};
use shequ_core::{DivisionCode, FieldErrors};
use shequ_db::PageReq;
use shequ_db::scope::Scope;
use shequ_db::surveys::{
    self, Channel, NewResponse, RawAnswers, Results, Submitted, Survey, SurveyInput, SurveySummary,
};
use shequ_db::users::User;
use utoipa::{IntoParams, ToSchema};

/// One question as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionView {
    /// From 1; answers are keyed "q1", "q2", ….
    pub position: usize,
    /// `single`, `multiple`, `scale` (1–5) or `text`.
    pub kind: String,
    pub kind_label: String,
    pub title: String,
    /// Choice questions: the options; answers name them by index from 0.
    pub options: Vec<String>,
    pub required: bool,
    /// Multiple choice: the most options one may pick.
    pub max_choices: Option<usize>,
}

/// A survey with its questions and targets.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyView {
    pub id: i64,
    pub title: String,
    pub intro: String,
    /// The owner: the division of the staff member who built it.
    pub division: String,
    /// `draft`, `open` or `closed`.
    pub state: String,
    pub state_label: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Whether it takes answers now.
    pub accepting: bool,
    /// Target divisions (any level); villages/communities under them may answer.
    pub targets: Vec<String>,
    pub questions: Vec<QuestionView>,
}

/// Questions of a stored survey, as shown.
pub fn question_views(q: &Questionnaire) -> Vec<QuestionView> {
    q.questions
        .iter()
        .enumerate()
        .map(|(i, q)| QuestionView {
            position: i + 1,
            kind: q.kind.as_str().into(),
            kind_label: q.kind.label().into(),
            title: q.title.clone(),
            options: q.options.clone(),
            required: q.required,
            max_choices: q.max_choices,
        })
        .collect()
}

fn survey_view(s: &Survey, now: DateTime<Utc>) -> SurveyView {
    SurveyView {
        id: s.row.id,
        title: s.row.title.clone(),
        intro: s.row.intro.clone(),
        division: s.row.division_code.clone(),
        state: s.row.state.clone(),
        state_label: s.row.state().label().into(),
        starts_at: s.row.starts_at,
        ends_at: s.row.ends_at,
        created_at: s.row.created_at,
        accepting: s.row.accepting(now),
        targets: s.targets.clone(),
        questions: question_views(&s.questionnaire),
    }
}

/// A survey in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyListItem {
    pub id: i64,
    pub title: String,
    pub division: String,
    pub state: String,
    pub state_label: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Answers within the caller's subtree.
    pub responses: i64,
}

impl From<&SurveySummary> for SurveyListItem {
    fn from(s: &SurveySummary) -> Self {
        SurveyListItem {
            id: s.row.id,
            title: s.row.title.clone(),
            division: s.row.division_code.clone(),
            state: s.row.state.clone(),
            state_label: s.row.state().label().into(),
            starts_at: s.row.starts_at,
            ends_at: s.row.ends_at,
            created_at: s.row.created_at,
            responses: s.responses,
        }
    }
}

/// A question as submitted.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawQuestion {
    /// `single`, `multiple`, `scale` or `text`.
    pub kind: String,
    /// ≤ 200 characters, no markup.
    pub title: String,
    /// Choice questions: 2–10 distinct options (≤ 100 characters each).
    #[serde(default)]
    pub options: Vec<String>,
    /// Defaults to true.
    #[serde(default = "yes")]
    pub required: bool,
    /// Multiple choice only: at most this many options (1 … number of options).
    #[serde(default)]
    pub max_choices: Option<usize>,
}

fn yes() -> bool {
    true
}

/// A survey as submitted (built as a draft; changed only while a draft).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSurvey {
    /// ≤ 200 characters, no markup.
    pub title: String,
    /// ≤ 1000 characters, no markup.
    #[serde(default)]
    pub intro: String,
    /// Answers are taken from this time on (optional).
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    /// Answers are taken until this time (optional; after `starts_at`).
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// 1–200 division codes of any level within your area.
    pub targets: Vec<String>,
    /// 1–50 questions.
    pub questions: Vec<RawQuestion>,
}

impl RawSurvey {
    /// Parse kinds and codes; the store checks the rest. Errors about question N
    /// are filed under "qN".
    pub fn parse(&self) -> Result<SurveyInput, FieldErrors> {
        let mut errs = FieldErrors::new();
        let mut targets = Vec::new();
        for t in &self.targets {
            match DivisionCode::parse(t) {
                Ok(c) => targets.push(c),
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
        let mut questions = Vec::with_capacity(self.questions.len());
        for (i, q) in self.questions.iter().enumerate() {
            match QuestionKind::parse(q.kind.trim()) {
                Some(kind) => questions.push(Question {
                    kind,
                    title: q.title.clone(),
                    options: q.options.clone(),
                    required: q.required,
                    max_choices: q.max_choices,
                }),
                None => errs.add(
                    &shequ_core::surveys::key(i + 1),
                    "bad_kind",
                    format!("第 {} 题：题型应为 single、multiple、scale 或 text", i + 1),
                ),
            }
        }
        errs.into_result()?;
        Ok(SurveyInput {
            questionnaire: Questionnaire {
                title: self.title.clone(),
                intro: self.intro.clone(),
                questions,
            },
            window: Window {
                starts_at: self.starts_at,
                ends_at: self.ends_at,
            },
            targets,
        })
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct SurveysQuery {
    /// `draft`, `open` or `closed`.
    pub state: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// Surveys the caller may see: built in their subtree, or targeting it.
#[utoipa::path(get, path = "/api/v1/surveys", tag = "surveys", params(SurveysQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of surveys, newest first", body = List<SurveyListItem>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not read surveys", body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<SurveysQuery>,
) -> ApiResult<Json<List<SurveyListItem>>> {
    let scope = scope_for(&user, Capability::ReadIndicators)?;
    let page = super::Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let state = match q.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(SurveyState::parse(s).ok_or_else(|| {
            AppError::bad_request("bad_state", "state 应为 draft、open 或 closed")
        })?),
        None => None,
    };
    let f = surveys::Filter { state };
    let found = surveys::list(&mut st.db.conn(), &scope, &f, page).await?;
    Ok(Json(List {
        items: found.items.iter().map(SurveyListItem::from).collect(),
        total: found.total,
    }))
}

async fn fetch_view(st: &AppState, scope: &Scope, id: i64) -> ApiResult<SurveyView> {
    let s = surveys::get(&mut st.db.conn(), scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(survey_view(&s, st.now()))
}

/// One survey the caller may see, with questions and targets (404 otherwise).
#[utoipa::path(get, path = "/api/v1/surveys/{id}", tag = "surveys", params(("id" = i64, Path, description = "Survey id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The survey", body = SurveyView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not read surveys", body = ErrorBody),
        (status = 404, description = "No such survey in your area", body = ErrorBody)))]
pub async fn get_one(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<SurveyView>> {
    let scope = scope_for(&user, Capability::ReadIndicators)?;
    Ok(Json(fetch_view(&st, &scope, id).await?))
}

/// Build a survey (a draft, owned by your division). Errors about question N
/// are filed under "qN".
#[utoipa::path(post, path = "/api/v1/surveys", tag = "surveys", request_body = RawSurvey, security(("bearer" = [])),
    responses((status = 201, description = "Built as a draft", body = SurveyView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not build surveys", body = ErrorBody),
        (status = 422, description = "Invalid questionnaire, window or targets", body = ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RawSurvey>,
) -> ApiResult<(StatusCode, Json<SurveyView>)> {
    let scope = scope_for(&user, Capability::ManageSurveys)?;
    let input = raw.parse()?;
    let mut tx = st.db.begin().await?;
    let id = surveys::create(&mut tx.conn(), &scope, &input, st.now()).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(fetch_view(&st, &scope, id).await?),
    ))
}

/// Replace a draft's questionnaire, window and targets.
#[utoipa::path(put, path = "/api/v1/surveys/{id}", tag = "surveys", params(("id" = i64, Path, description = "Survey id")),
    request_body = RawSurvey, security(("bearer" = [])),
    responses((status = 200, description = "Changed", body = SurveyView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not build surveys", body = ErrorBody),
        (status = 404, description = "No such survey built in your area", body = ErrorBody),
        (status = 422, description = "Invalid fields, or no longer a draft", body = ErrorBody)))]
pub async fn update(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(raw): ApiJson<RawSurvey>,
) -> ApiResult<Json<SurveyView>> {
    let scope = scope_for(&user, Capability::ManageSurveys)?;
    let input = raw.parse()?;
    let mut tx = st.db.begin().await?;
    surveys::update(&mut tx.conn(), &scope, id, &input, st.now()).await?;
    tx.commit().await?;
    Ok(Json(fetch_view(&st, &scope, id).await?))
}

async fn change(st: &AppState, user: &User, id: i64, open: bool) -> ApiResult<Json<SurveyView>> {
    let scope = scope_for(user, Capability::ManageSurveys)?;
    let mut tx = st.db.begin().await?;
    if open {
        surveys::open(&mut tx.conn(), &scope, id, st.now()).await?;
    } else {
        surveys::close(&mut tx.conn(), &scope, id, st.now()).await?;
    }
    tx.commit().await?;
    Ok(Json(fetch_view(st, &scope, id).await?))
}

/// Open a draft for answers (it can no longer be changed).
#[utoipa::path(post, path = "/api/v1/surveys/{id}/open", tag = "surveys", params(("id" = i64, Path, description = "Survey id")),
    security(("bearer" = [])),
    responses((status = 200, description = "Open", body = SurveyView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not manage surveys", body = ErrorBody),
        (status = 404, description = "No such survey built in your area", body = ErrorBody),
        (status = 422, description = "Not a draft, or its end time has passed", body = ErrorBody)))]
pub async fn open(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<SurveyView>> {
    change(&st, &user, id, true).await
}

/// Stop taking answers (final).
#[utoipa::path(post, path = "/api/v1/surveys/{id}/close", tag = "surveys", params(("id" = i64, Path, description = "Survey id")),
    security(("bearer" = [])),
    responses((status = 200, description = "Closed", body = SurveyView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not manage surveys", body = ErrorBody),
        (status = 404, description = "No such survey built in your area", body = ErrorBody),
        (status = 422, description = "Not open", body = ErrorBody)))]
pub async fn close(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<SurveyView>> {
    change(&st, &user, id, false).await
}

/// A set of answers as submitted.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawResponse {
    /// The respondent's village/community (12 digits) or grid (15).
    pub division: String,
    /// One-time value (8–100 letters, digits, `-`, `_`): sending it again returns
    /// the first response. Required without a bearer token.
    #[serde(default)]
    pub nonce: Option<String>,
    /// `{"q1": 0, "q2": [1, 3], "q3": 4, "q4": "…"}`: an option index (from 0),
    /// option indexes, a score 1–5, or text; `null` or absent for unanswered.
    #[schema(value_type = Object)]
    pub answers: serde_json::Map<String, serde_json::Value>,
}

/// A stored response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResponseView {
    pub id: i64,
    pub survey_id: i64,
    pub division: String,
    /// `portal` or `paper`.
    pub channel: String,
    pub created_at: DateTime<Utc>,
    /// True when this nonce had been used already and nothing new was stored.
    pub replayed: bool,
}

impl From<&Submitted> for ResponseView {
    fn from(s: &Submitted) -> Self {
        ResponseView {
            id: s.response.id,
            survey_id: s.response.survey_id,
            division: s.response.division_code.clone(),
            channel: s.response.channel.clone(),
            created_at: s.response.created_at,
            replayed: !s.created,
        }
    }
}

/// The signed-in caller when a bearer token is sent; nobody otherwise.
pub struct MaybeUser(pub Option<User>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        if !parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
        {
            return Ok(MaybeUser(None));
        }
        let ApiUser(user) = ApiUser::from_request_parts(parts, st).await?;
        Ok(MaybeUser(Some(user)))
    }
}

/// Hand in answers: without a bearer token as a resident on the portal (a
/// nonce is required), with one as staff typing in a paper form (the respondent's
/// division must lie in your area). Errors about question N are filed under "qN";
/// nothing is stored unless every answer fits.
#[utoipa::path(post, path = "/api/v1/surveys/{id}/responses", tag = "surveys", params(("id" = i64, Path, description = "Survey id")),
    request_body = RawResponse, security((), ("bearer" = [])),
    responses((status = 201, description = "Stored", body = ResponseView),
        (status = 200, description = "Nonce seen before: the first response, nothing stored", body = ResponseView),
        (status = 400, description = "Malformed request or division code", body = ErrorBody),
        (status = 401, description = "Bearer token not valid", body = ErrorBody),
        (status = 403, description = "Role may not enter paper forms", body = ErrorBody),
        (status = 404, description = "No such survey", body = ErrorBody),
        (status = 422, description = "Survey not taking answers, division outside the targets, or invalid answers", body = ErrorBody)))]
pub async fn respond(
    State(st): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(id): Path<i64>,
    ApiJson(raw): ApiJson<RawResponse>,
) -> ApiResult<(StatusCode, Json<ResponseView>)> {
    let division = division_code(raw.division.trim())?;
    let scope = user
        .as_ref()
        .map(|u| scope_for(u, Capability::ManageSurveys))
        .transpose()?;
    let channel = match &scope {
        Some(s) => Channel::Paper(s),
        None => Channel::Portal,
    };
    let r = NewResponse {
        survey_id: id,
        division,
        channel,
        nonce: raw.nonce.clone(),
        answers: RawAnswers::Json(raw.answers.clone()),
    };
    let done = surveys::submit(&st.db, &r, st.now()).await?;
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(ResponseView::from(&done))))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ResultsQuery {
    /// Any node in your area (default: the survey's owner division when in
    /// your area, else your own division).
    pub division: Option<String>,
    /// Page of the text answers (each text question), from 1.
    pub text_page: Option<u64>,
    /// Text answers per page, 1–500 (default 50).
    pub text_per_page: Option<u64>,
}

/// How often an option was chosen.
#[derive(Debug, Serialize, ToSchema)]
pub struct OptionCountView {
    pub index: usize,
    pub label: String,
    pub count: i64,
}

/// One free-text answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct TextView {
    pub division: String,
    pub created_at: DateTime<Utc>,
    pub text: String,
}

/// The results of one question.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionResultView {
    pub position: usize,
    pub kind: String,
    pub title: String,
    /// Responses that answered it.
    pub answered: i64,
    /// Choice questions: every option with its count.
    pub options: Vec<OptionCountView>,
    /// Scale questions: the mean score.
    pub mean: Option<f64>,
    /// Scale questions: how many gave 1, 2, 3, 4, 5.
    pub distribution: Option<Vec<i64>>,
    /// Text questions: one page of answers, newest first.
    pub texts: Option<List<TextView>>,
}

/// Responses in one child of the node.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChildView {
    pub division: String,
    pub name: String,
    pub responses: i64,
    /// Mean of every 1–5 score given there.
    pub mean_score: Option<f64>,
}

/// A survey's results for one node.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultsView {
    pub survey_id: i64,
    pub division: String,
    pub responses: i64,
    pub portal: i64,
    pub paper: i64,
    pub questions: Vec<QuestionResultView>,
    /// Every child of the node with its responses (zero included).
    pub children: Vec<ChildView>,
    /// Responses recorded at the node itself rather than in a child.
    pub direct: i64,
}

impl From<&Results> for ResultsView {
    fn from(r: &Results) -> Self {
        ResultsView {
            survey_id: r.survey_id,
            division: r.division.clone(),
            responses: r.responses,
            portal: r.portal,
            paper: r.paper,
            questions: r
                .questions
                .iter()
                .map(|q| QuestionResultView {
                    position: q.position,
                    kind: q.kind.as_str().into(),
                    title: q.title.clone(),
                    answered: q.answered,
                    options: q
                        .options
                        .iter()
                        .map(|o| OptionCountView {
                            index: o.index,
                            label: o.label.clone(),
                            count: o.count,
                        })
                        .collect(),
                    mean: q.scale.as_ref().and_then(|s| s.mean),
                    distribution: q.scale.as_ref().map(|s| s.counts.to_vec()),
                    texts: q.texts.as_ref().map(|p| List {
                        items: p
                            .items
                            .iter()
                            .map(|t| TextView {
                                division: t.division_code.clone(),
                                created_at: t.created_at,
                                text: t.value.clone(),
                            })
                            .collect(),
                        total: p.total,
                    }),
                })
                .collect(),
            children: r
                .children
                .iter()
                .map(|c| ChildView {
                    division: c.code.clone(),
                    name: c.name.clone(),
                    responses: c.responses,
                    mean_score: c.mean_score,
                })
                .collect(),
            direct: r.direct,
        }
    }
}

/// The node results are shown for when none is asked for.
pub fn default_node(scope: &Scope, s: &Survey) -> DivisionCode {
    match DivisionCode::parse(&s.row.division_code) {
        Ok(owner) if scope.contains(&owner) => owner,
        _ => scope.root.clone(),
    }
}

/// Results for a node in your area: counts per option, score means and
/// distributions, text answers (paged), and responses per child division.
#[utoipa::path(get, path = "/api/v1/surveys/{id}/results", tag = "surveys", params(("id" = i64, Path, description = "Survey id"), ResultsQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "Results for the node", body = ResultsView),
        (status = 400, description = "Bad division code or paging", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not read results", body = ErrorBody),
        (status = 404, description = "No such survey, or the node is outside your area", body = ErrorBody)))]
pub async fn results(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ResultsQuery>,
) -> ApiResult<Json<ResultsView>> {
    let scope = scope_for(&user, Capability::ReadIndicators)?;
    let page = super::Paging {
        page: q.text_page,
        per_page: q.text_per_page,
    }
    .resolve()?;
    let node = match q
        .division
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(d) => division_code(d)?,
        None => {
            let s = surveys::get(&mut st.db.conn(), &scope, id)
                .await?
                .ok_or_else(AppError::not_found)?;
            default_node(&scope, &s)
        }
    };
    let r = surveys::results(&mut st.db.conn(), &scope, id, &node, page).await?;
    Ok(Json(ResultsView::from(&r)))
}

/// Text answers per page on the results page when none is asked for.
pub const TEXT_PER_PAGE: u64 = 20;

/// `PageReq` for text answers from an optional page number.
pub fn text_page(page: Option<u64>) -> PageReq {
    PageReq::new(page, Some(TEXT_PER_PAGE))
}
