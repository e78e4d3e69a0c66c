//! 好差评 over JSON: the 差评 rectification queue and its actions (staff, by
//! bearer token), rating a service matter (residents, sign-in optional), and
//! the public per-division scorecards (no sign-in, no personal data).
//!
//! Refusals by the rectification rules keep their own stable codes
//! (`illegal_transition`, `already_appealed`, `self_review`, `missing_field`,
//! `bad_days`, …) in the usual `{"error":{"code","message","fields"}}` envelope.

use super::List;
use crate::auth::{ApiUser, scope_for};
use crate::error::{ErrorBody, ErrorDetail};
use crate::extract::{ApiJson, ApiQuery, division_code};
use crate::{AppError, AppState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shequ_core::ratings::{Action, State as RState};
use shequ_core::role::Capability;
use shequ_core::{DivisionCode, FieldErrors, Phone};
use shequ_db::DbError;
use shequ_db::ratings::{
    self, Filter, NewRating, RatingEvent, RectificationRow, Scorecard, Subject,
};
use shequ_db::scope::Actor;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// An error of these routes.
#[derive(Debug)]
pub enum RatingsError {
    /// Any of the common errors.
    App(AppError),
    /// A refusal by the rules, with its own code.
    Refused {
        status: StatusCode,
        code: &'static str,
        field: String,
        message: String,
    },
}

impl From<AppError> for RatingsError {
    fn from(e: AppError) -> Self {
        RatingsError::App(e)
    }
}

impl From<FieldErrors> for RatingsError {
    fn from(e: FieldErrors) -> Self {
        RatingsError::App(AppError::Validation(e))
    }
}

/// The status a refusal code answers with; `None` for plain validation errors.
pub fn refusal_status(code: &str) -> Option<StatusCode> {
    match code {
        "illegal_transition" | "already_appealed" | "self_review" | "not_callback"
        | "already_rated" => Some(StatusCode::CONFLICT),
        "not_reviewer" => Some(StatusCode::FORBIDDEN),
        "missing_field" | "bad_days" | "unknown_action" => Some(StatusCode::UNPROCESSABLE_ENTITY),
        _ => None,
    }
}

impl From<DbError> for RatingsError {
    fn from(e: DbError) -> Self {
        if let DbError::Invalid(fe) = &e
            && let [one] = fe.0.as_slice()
            && let Some(status) = refusal_status(one.code).or_else(|| {
                (one.code == "too_long" && matches!(one.field.as_str(), "note" | "reason"))
                    .then_some(StatusCode::UNPROCESSABLE_ENTITY)
            })
        {
            return RatingsError::Refused {
                status,
                code: one.code,
                field: one.field.clone(),
                message: one.message.clone(),
            };
        }
        RatingsError::App(e.into())
    }
}

impl IntoResponse for RatingsError {
    fn into_response(self) -> Response {
        match self {
            RatingsError::App(e) => e.into_response(),
            RatingsError::Refused {
                status,
                code,
                field,
                message,
            } => {
                let body = ErrorBody {
                    error: ErrorDetail {
                        code: code.to_owned(),
                        message: message.clone(),
                        fields: BTreeMap::from([(field, message)]),
                    },
                };
                (status, Json(body)).into_response()
            }
        }
    }
}

type Res<T> = Result<T, RatingsError>;

/// A 差评 under rectification, as the queue lists it (no personal data).
#[derive(Debug, Serialize, ToSchema)]
pub struct RectificationView {
    pub id: i64,
    pub rating_id: i64,
    /// `verify` 待核实, `rectify` 整改中, `callback` 待回访, `review` 待复核, `closed` 已办结.
    pub state: String,
    pub state_label: String,
    /// `work_order` or `service`.
    pub subject_kind: String,
    pub work_order_id: Option<i64>,
    /// The work order's tracking code (for `work_order`).
    pub tracking_code: Option<String>,
    /// The service matter (for `service`).
    pub service_matter: String,
    /// 4 不满意 or 5 非常不满意.
    pub level: i32,
    pub level_label: String,
    /// Real-name ratings must be called back before closing.
    pub real_name: bool,
    pub comment: String,
    /// Responsible unit (division or department code).
    pub unit: String,
    /// Village/community (or grid) where the service happened.
    pub division: String,
    /// End of the last working day allowed.
    pub deadline: DateTime<Utc>,
    /// Past the deadline while it runs (it is paused during review).
    pub overdue: bool,
    /// Overturned on review: left out of the satisfaction statistics.
    pub excluded: bool,
    pub rated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl From<&RectificationRow> for RectificationView {
    fn from(r: &RectificationRow) -> Self {
        RectificationView {
            id: r.id,
            rating_id: r.rating_id,
            state: r.state.clone(),
            state_label: r.state_label().into(),
            subject_kind: r.subject_kind.clone(),
            work_order_id: r.work_order_id,
            tracking_code: r.tracking_code.clone(),
            service_matter: r.service_matter.clone(),
            level: r.level,
            level_label: r.level_label().into(),
            real_name: r.real_name,
            comment: r.comment.clone(),
            unit: r.unit.clone(),
            division: r.division_code.clone(),
            deadline: r.deadline,
            overdue: r.overdue,
            excluded: r.excluded,
            rated_at: r.rated_at,
            closed_at: r.closed_at,
        }
    }
}

/// One step of the history.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingEventView {
    pub at: DateTime<Utc>,
    pub actor: String,
    /// `open`, `verify`, `rectified`, `callback`, `appeal`, `uphold` or `overturn`.
    pub action: String,
    pub action_label: String,
    pub from_state: String,
    pub to_state: String,
    pub note: String,
}

impl From<&RatingEvent> for RatingEventView {
    fn from(e: &RatingEvent) -> Self {
        RatingEventView {
            at: e.at,
            actor: e.actor.clone(),
            action: e.action.clone(),
            action_label: e.action_label().into(),
            from_state: e.from_state.clone(),
            to_state: e.to_state.clone(),
            note: e.note.clone(),
        }
    }
}

/// A rectification with its notes, the rater (phone masked) and its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct RectificationDetailView {
    #[serde(flatten)]
    pub item: RectificationView,
    /// 核实情况.
    pub verify_note: String,
    /// 整改措施.
    pub rectify_note: String,
    /// 回访情况.
    pub callback_note: String,
    /// 申诉理由.
    pub appeal_reason: String,
    /// 复核意见.
    pub review_note: String,
    pub rectified_at: Option<DateTime<Utc>>,
    pub called_back_at: Option<DateTime<Utc>>,
    /// Real-name ratings only.
    pub rater_name: String,
    /// Masked, e.g. 138****0000.
    pub rater_phone_masked: Option<String>,
    /// Action codes allowed now.
    pub allowed_actions: Vec<String>,
    /// Oldest first.
    pub events: Vec<RatingEventView>,
}

fn detail_view(r: &RectificationRow, events: &[RatingEvent]) -> RectificationDetailView {
    RectificationDetailView {
        item: RectificationView::from(r),
        verify_note: r.verify_note.clone(),
        rectify_note: r.rectify_note.clone(),
        callback_note: r.callback_note.clone(),
        appeal_reason: r.appeal_reason.clone(),
        review_note: r.review_note.clone(),
        rectified_at: r.rectified_at,
        called_back_at: r.called_back_at,
        rater_name: r.rater_name.clone(),
        rater_phone_masked: r.rater_phone_masked.clone(),
        allowed_actions: r.allowed().into_iter().map(str::to_owned).collect(),
        events: events.iter().map(RatingEventView::from).collect(),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct QueueQuery {
    /// `open` (not yet closed), or one state: `verify`, `rectify`, `callback`, `review`, `closed`.
    pub state: Option<String>,
    /// Responsible unit.
    pub unit: Option<String>,
    /// Limit to this subtree.
    pub division: Option<String>,
    /// Only those past their deadline.
    pub overdue: Option<bool>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// Build a store filter, checking every parameter (400 on a bad one).
pub fn filter(q: &QueueQuery) -> Result<Filter, AppError> {
    let opt = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let mut f = Filter {
        division: opt(&q.division).as_deref().map(division_code).transpose()?,
        unit: opt(&q.unit).map(|u| u.chars().take(60).collect()),
        overdue: q.overdue.unwrap_or(false),
        ..Default::default()
    };
    match opt(&q.state).as_deref() {
        None | Some("all") => {}
        Some("open") => f.open = true,
        Some(s) => {
            f.state = Some(
                RState::parse(s)
                    .ok_or_else(|| AppError::bad_request("bad_state", "未知的整改状态"))?,
            );
        }
    }
    Ok(f)
}

/// The 差评 rectification queue of the caller's area: open ones first, nearest deadline first.
#[utoipa::path(get, path = "/api/v1/rectifications", tag = "ratings", params(QueueQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of rectifications", body = List<RectificationView>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not handle work orders", body = ErrorBody)))]
pub async fn queue(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Res<Json<List<RectificationView>>> {
    let scope = scope_for(&user, Capability::HandleWorkOrders)?;
    let page = super::Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let f = filter(&q)?;
    let found = ratings::rectifications(&mut st.db.conn(), &scope, &f, page, st.now()).await?;
    Ok(Json(List {
        items: found.items.iter().map(RectificationView::from).collect(),
        total: found.total,
    }))
}

async fn fetch_detail(
    st: &AppState,
    scope: &shequ_db::scope::Scope,
    id: i64,
) -> Res<RectificationDetailView> {
    let mut c = st.db.conn();
    let r = ratings::get(&mut c, scope, id, st.now())
        .await?
        .ok_or_else(AppError::not_found)?;
    let events = ratings::history(&mut c, scope, id).await?;
    Ok(detail_view(&r, &events))
}

/// One rectification in the caller's area, with its history (404 outside it).
#[utoipa::path(get, path = "/api/v1/rectifications/{id}", tag = "ratings",
    params(("id" = i64, Path, description = "Rectification id")), security(("bearer" = [])),
    responses((status = 200, description = "The rectification", body = RectificationDetailView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not handle work orders", body = ErrorBody),
        (status = 404, description = "No such rectification in your area", body = ErrorBody)))]
pub async fn get_one(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> Res<Json<RectificationDetailView>> {
    let scope = scope_for(&user, Capability::HandleWorkOrders)?;
    Ok(Json(fetch_detail(&st, &scope, id).await?))
}

/// An action on a rectification.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// `verify` 核实, `rectified` 整改完成, `callback` 回访, `appeal` 申诉,
    /// `uphold` 复核维持, `overturn` 复核撤销.
    pub action: String,
    /// What was found or done; the reason of an appeal (required, ≤ 500 characters).
    #[serde(default)]
    pub note: String,
    /// Rectification limit in working days (1–15), for `verify` (optional: the
    /// first limit stands) and `uphold` (default 5).
    #[serde(default)]
    pub days: Option<u32>,
}

/// Take a step: 核实 → 整改完成 → 回访 (real-name only) → 已办结; 申诉 (once, from
/// 待核实 or 整改中) → 复核维持 (back to 整改中) or 复核撤销 (closed, excluded from
/// the satisfaction statistics). Review needs `dispatch_work_orders` and another
/// person than the appellant.
#[utoipa::path(post, path = "/api/v1/rectifications/{id}/actions", tag = "ratings",
    params(("id" = i64, Path, description = "Rectification id")), request_body = ActionBody,
    security(("bearer" = [])),
    responses((status = 200, description = "Done; the rectification after the step", body = RectificationDetailView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not take this step (`forbidden`, `not_reviewer`)", body = ErrorBody),
        (status = 404, description = "No such rectification in your area", body = ErrorBody),
        (status = 409, description = "Not allowed now (`illegal_transition`, `already_appealed`, `self_review`)", body = ErrorBody),
        (status = 422, description = "Bad fields (`missing_field`, `bad_days`, `too_long`, `unknown_action`)", body = ErrorBody)))]
pub async fn act(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ActionBody>,
) -> Res<Json<RectificationDetailView>> {
    let action = Action::from_parts(body.action.trim(), &body.note, body.days).map_err(|e| {
        DbError::invalid(
            if e.code() == "bad_days" {
                "days"
            } else {
                "action"
            },
            e.code(),
            e.to_string(),
        )
    })?;
    let cap = if action.needs_reviewer() {
        Capability::DispatchWorkOrders
    } else {
        Capability::HandleWorkOrders
    };
    let scope = scope_for(&user, cap)?;
    let mut tx = st.db.begin().await.map_err(AppError::from)?;
    ratings::rectify_action(&mut tx.conn(), &scope, id, &action, st.now()).await?;
    tx.commit().await.map_err(AppError::from)?;
    Ok(Json(fetch_detail(&st, &scope, id).await?))
}

/// A rating of a service matter as submitted.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingBody {
    /// Village/community (12 digits) or grid (15) where the service happened.
    pub division: String,
    /// The service matter, e.g. 居住证办理 (≤ 60 characters).
    pub service_matter: String,
    /// 1 非常满意, 2 满意, 3 基本满意, 4 不满意, 5 非常不满意.
    pub level: i64,
    /// Real-name ratings need `rater_name` and `rater_phone` and are called back
    /// after a 差评; anonymous ones must carry neither.
    #[serde(default)]
    pub real_name: bool,
    #[serde(default)]
    pub rater_name: String,
    #[serde(default)]
    pub rater_phone: String,
    /// ≤ 500 characters, no HTML.
    #[serde(default)]
    pub comment: String,
    /// `portal`, `qr`, `app` (default), `phone`, `sms`, `walk_in`, `terminal`, `proxy`, `open311`.
    #[serde(default)]
    pub channel: String,
    /// Replaying a submission with the same key returns the first rating.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

impl RatingBody {
    /// Parse the fields with a shape of their own; the store checks the rest.
    pub fn parse(&self) -> Result<NewRating, FieldErrors> {
        let mut errs = FieldErrors::new();
        let division = DivisionCode::parse(self.division.trim())
            .map_err(|e| errs.add("division", e.code(), format!("区划代码有误：{e}")))
            .ok();
        let phone = match self.rater_phone.trim() {
            "" => None,
            p => Phone::parse(p)
                .map_err(|e| errs.add("rater_phone", e.code(), "手机号码有误"))
                .ok(),
        };
        let level = u8::try_from(self.level).unwrap_or(0);
        match division {
            Some(division) if errs.is_empty() => Ok(NewRating {
                subject: Subject::Service(self.service_matter.clone()),
                division,
                unit: String::new(),
                level,
                real_name: self.real_name,
                rater_name: self.rater_name.clone(),
                rater_phone: phone,
                comment: self.comment.clone(),
                channel: match self.channel.trim() {
                    "" => "app".into(),
                    c => c.to_owned(),
                },
                idempotency_key: self.idempotency_key.clone(),
            }),
            _ => Err(errs),
        }
    }
}

/// What a rating submission returns.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingReceipt {
    pub id: i64,
    pub level: i64,
    pub level_label: String,
    /// A 差评: its rectification has been opened.
    pub bad: bool,
    /// False when this was a replay of an earlier submission (same idempotency key).
    pub created: bool,
}

/// The actor of an optionally signed-in request: a bad token is refused,
/// no token is anonymous.
fn optional_actor(headers: &HeaderMap, user: Result<ApiUser, AppError>) -> Result<Actor, AppError> {
    match user {
        Ok(ApiUser(u)) => Ok(u.actor()),
        Err(AppError::Unauthorized) if !headers.contains_key(header::AUTHORIZATION) => {
            Ok(Actor::anonymous())
        }
        Err(e) => Err(e),
    }
}

/// Rate a 政务服务 or community service matter (好差评, 一事一评). Anyone may
/// rate, signed in or not; a 差评 (4–5) opens a rectification for the community.
#[utoipa::path(post, path = "/api/v1/ratings", tag = "ratings", request_body = RatingBody,
    responses((status = 201, description = "Recorded", body = RatingReceipt),
        (status = 200, description = "A replay of an earlier submission; nothing new stored", body = RatingReceipt),
        (status = 401, description = "A token was given and is not valid", body = ErrorBody),
        (status = 422, description = "Invalid fields (level outside 1–5, HTML in the comment, real name without phone…)", body = ErrorBody)))]
pub async fn rate(
    State(st): State<AppState>,
    headers: HeaderMap,
    user: Result<ApiUser, AppError>,
    ApiJson(body): ApiJson<RatingBody>,
) -> Res<(StatusCode, Json<RatingReceipt>)> {
    let actor = optional_actor(&headers, user)?;
    let input = body.parse()?;
    let mut tx = st.db.begin().await.map_err(AppError::from)?;
    let (id, created) =
        ratings::record_once(&mut tx.conn(), &st.key, &input, &actor, st.now()).await?;
    tx.commit().await.map_err(AppError::from)?;
    let level = shequ_core::ratings::Level::new(body.level);
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(RatingReceipt {
            id,
            level: body.level,
            level_label: level.map_or("", |l| l.label()).into(),
            bad: level.is_some_and(|l| l.is_bad()),
            created,
        }),
    ))
}

/// The window of a scorecard: `from`/`to` local dates, `to` included.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct WindowQuery {
    /// First day (YYYY-MM-DD); default 1 January of this year.
    pub from: Option<NaiveDate>,
    /// Last day, included (YYYY-MM-DD); default today.
    pub to: Option<NaiveDate>,
}

/// A window as dates and as the instants `[from, to)` the store counts in.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from_day: NaiveDate,
    pub to_day: NaiveDate,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Resolve a window (Shanghai days), checking it (400 on a bad one).
pub fn window(
    now: DateTime<Utc>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Window, AppError> {
    let today = (now + Duration::hours(8)).date_naive();
    let to_day = to.unwrap_or(today);
    let from_day =
        from.unwrap_or_else(|| NaiveDate::from_ymd_opt(to_day.year(), 1, 1).unwrap_or(to_day));
    if from_day > to_day {
        return Err(AppError::bad_request(
            "bad_window",
            "开始日期不能晚于结束日期",
        ));
    }
    if (to_day - from_day).num_days() > 3660 {
        return Err(AppError::bad_request("bad_window", "统计区间不能超过十年"));
    }
    let start = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .map(|t| (t - Duration::hours(8)).and_utc())
            .unwrap_or(now)
    };
    Ok(Window {
        from_day,
        to_day,
        from: start(from_day),
        to: start(to_day + Duration::days(1)),
    })
}

/// One level's count.
#[derive(Debug, Serialize, ToSchema)]
pub struct LevelCount {
    /// 1 非常满意 … 5 非常不满意.
    pub level: u8,
    pub label: String,
    pub count: i64,
}

/// Public figures (no personal data).
#[derive(Debug, Serialize, ToSchema)]
pub struct FiguresView {
    /// Counted ratings per level (overturned 差评 left out).
    pub levels: Vec<LevelCount>,
    pub total: i64,
    /// Levels 1–3.
    pub satisfied: i64,
    /// satisfied / total, 0–1; absent without ratings.
    pub satisfaction_rate: Option<f64>,
    /// 差评 counted (levels 4–5).
    pub bad: i64,
    /// 差评 whose rectification is done.
    pub rectified: i64,
    pub rectified_rate: Option<f64>,
    /// Real-name 差评 and how many were called back.
    pub real_name_bad: i64,
    pub called_back: i64,
    pub callback_rate: Option<f64>,
    /// 差评 overturned on review (误评/恶意差评).
    pub excluded: i64,
    /// Rectifications not yet closed.
    pub open: i64,
}

impl From<&Scorecard> for FiguresView {
    fn from(s: &Scorecard) -> Self {
        FiguresView {
            levels: shequ_core::ratings::Level::ALL
                .iter()
                .zip(s.levels)
                .map(|(l, count)| LevelCount {
                    level: l.get(),
                    label: l.label().into(),
                    count,
                })
                .collect(),
            total: s.total,
            satisfied: s.satisfied,
            satisfaction_rate: s.satisfaction_rate(),
            bad: s.bad,
            rectified: s.rectified,
            rectified_rate: s.rectified_rate(),
            real_name_bad: s.real_name_bad,
            called_back: s.called_back,
            callback_rate: s.callback_rate(),
            excluded: s.excluded,
            open: s.open,
        }
    }
}

/// A child division's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChildScore {
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub figures: FiguresView,
}

/// A division's public scorecard.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScorecardView {
    pub division: String,
    pub name: String,
    /// `city`, `county`, `township`, `village` or `grid`.
    pub level: String,
    pub from: NaiveDate,
    /// Included.
    pub to: NaiveDate,
    #[serde(flatten)]
    pub figures: FiguresView,
    /// Every child (county, township or village/community), best satisfaction first,
    /// those without ratings last. Empty for a village/community.
    pub children: Vec<ChildScore>,
}

/// A division's scorecard with its children's, ordered for publication.
pub async fn scorecard_view(
    st: &AppState,
    code: &DivisionCode,
    w: &Window,
) -> Result<ScorecardView, AppError> {
    let tree = st.tree.get();
    let node = tree.get(code.as_str()).ok_or_else(AppError::not_found)?;
    let mut c = st.db.conn();
    let own = ratings::scorecard(&mut c, code, w.from, w.to).await?;
    let mut by_child = ratings::scorecards_by_child(&mut c, code, w.from, w.to).await?;
    let mut children: Vec<ChildScore> = if matches!(
        code.level(),
        shequ_core::Level::Village | shequ_core::Level::Grid
    ) {
        Vec::new()
    } else {
        tree.children(Some(code.as_str()))
            .unwrap_or_default()
            .into_iter()
            .map(|d| ChildScore {
                code: d.code.clone(),
                name: d.name.clone(),
                figures: FiguresView::from(&by_child.remove(&d.code).unwrap_or_default()),
            })
            .collect()
    };
    children.sort_by(|a, b| {
        let key = |x: &ChildScore| x.figures.satisfaction_rate.unwrap_or(-1.0);
        key(b)
            .total_cmp(&key(a))
            .then(b.figures.total.cmp(&a.figures.total))
            .then(a.code.cmp(&b.code))
    });
    Ok(ScorecardView {
        division: node.code.clone(),
        name: node.name.clone(),
        level: node.level.clone(),
        from: w.from_day,
        to: w.to_day,
        figures: FiguresView::from(&own),
        children,
    })
}

/// The public 好差评 scorecard of a division: satisfaction, 差评 and their
/// rectification and call-back, for the division and each child. No sign-in.
#[utoipa::path(get, path = "/api/v1/scorecards/{division}", tag = "ratings",
    params(("division" = String, Path, description = "Division code"), WindowQuery),
    responses((status = 200, description = "The scorecard", body = ScorecardView),
        (status = 400, description = "Bad code or window", body = ErrorBody),
        (status = 404, description = "No such division", body = ErrorBody)))]
pub async fn scorecard(
    State(st): State<AppState>,
    Path(division): Path<String>,
    ApiQuery(q): ApiQuery<WindowQuery>,
) -> Res<Json<ScorecardView>> {
    let code = division_code(&division)?;
    let w = window(st.now(), q.from, q.to)?;
    Ok(Json(scorecard_view(&st, &code, &w).await?))
}
