//! 好差评 in the store: ratings of work orders and service matters, the
//! rectification of every 差评 under the rules of `core::ratings` (with deadlines
//! on the working-day calendar and one event per step), the community's
//! rectification queue, and the public scorecards.
//!
//! [`record`] takes a `Conn` and opens no transaction of its own, so a caller
//! (the work-order module rating an order) can run it inside its transaction.

use crate::audit::{self, Event as AuditEvent};
use crate::scope::{Actor, Scope};
use crate::{Conn, DbError, Page, PageReq, Result};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use sea_query::{Alias, Condition, Expr, ExprTrait, Iden, JoinType, Order, Query, SelectStatement};
use serde::Serialize;
use shequ_core::crypto::Protector;
use shequ_core::ratings::{self as rules, Action, Case, RectifyError, State};
use shequ_core::role::{Capability, Role};
use shequ_core::workorders::Calendar;
use shequ_core::{DivisionCode, FieldErrors, Level, Phone};
use std::collections::BTreeMap;
use std::sync::OnceLock;

#[derive(Iden, Clone, Copy)]
enum Ratings {
    Table,
    Id,
    SubjectKind,
    WorkOrderId,
    ServiceMatter,
    DivisionCode,
    Unit,
    Level,
    RealName,
    RaterName,
    RaterPhoneEnc,
    RaterPhoneMasked,
    Comment,
    Channel,
    Excluded,
    IdempotencyKey,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
enum RatingRectifications {
    Table,
    Id,
    RatingId,
    State,
    Unit,
    DivisionCode,
    Deadline,
    VerifyNote,
    RectifyNote,
    CallbackNote,
    AppealReason,
    ReviewNote,
    RectifiedAt,
    CalledBackAt,
    UpdatedAt,
    ClosedAt,
}

#[derive(Iden, Clone, Copy)]
enum RatingEvents {
    Table,
    RatingId,
    At,
    Actor,
    ActorUserId,
    Action,
    FromState,
    ToState,
    Note,
}

#[derive(Iden, Clone, Copy)]
enum WorkOrders {
    Table,
    Id,
    TrackingCode,
}

/// Field name bound into the sealed rater phone.
pub const F_RATER_PHONE: &str = "ratings.rater_phone";
pub const MAX_COMMENT: usize = 500;
pub const MAX_MATTER: usize = 60;
pub const MAX_NAME: usize = 30;
pub const MAX_UNIT: usize = 60;
/// How a rating was given: web page, QR code, app, phone, SMS, at the window,
/// a self-service terminal, by a proxy, or over Open311.
pub const CHANNELS: [&str; 9] = [
    "portal", "qr", "app", "phone", "sms", "walk_in", "terminal", "proxy", "open311",
];

/// What is rated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A work order (one rating per order).
    WorkOrder(i64),
    /// A 政务服务 or community service matter, by name (e.g. 居住证办理).
    Service(String),
}

impl Subject {
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::WorkOrder(_) => "work_order",
            Subject::Service(_) => "service",
        }
    }
}

/// A rating as given.
#[derive(Debug, Clone)]
pub struct NewRating {
    pub subject: Subject,
    /// Village/community (or grid) where the service happened.
    pub division: DivisionCode,
    /// Responsible unit: a division code or department code; empty means the
    /// village/community of `division`.
    pub unit: String,
    /// 1 非常满意 … 5 非常不满意; 4 and 5 are 差评.
    pub level: u8,
    /// Real-name ratings carry the rater's name and phone and are called back
    /// after a 差评 is rectified; anonymous ones must carry neither.
    pub real_name: bool,
    pub rater_name: String,
    pub rater_phone: Option<Phone>,
    /// Up to 500 characters, no HTML.
    pub comment: String,
    /// One of [`CHANNELS`].
    pub channel: String,
    /// Replaying a submission with the same key returns the first rating.
    pub idempotency_key: Option<String>,
}

/// Whether text looks like HTML markup (a tag, comment or entity opener).
pub fn has_markup(s: &str) -> bool {
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '<'
            && chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'))
        {
            return true;
        }
    }
    false
}

fn has_control(s: &str, allow_newlines: bool) -> bool {
    s.chars()
        .any(|c| c.is_control() && !(allow_newlines && matches!(c, '\n' | '\r' | '\t')))
}

fn check(r: &NewRating) -> std::result::Result<(), FieldErrors> {
    let mut errs = FieldErrors::new();
    if rules::Level::new(i64::from(r.level)).is_none() {
        errs.add(
            "level",
            "bad_level",
            "评价应为 1（非常满意）到 5（非常不满意）",
        );
    }
    match &r.subject {
        Subject::Service(m) => {
            let n = m.trim().chars().count();
            if n == 0 {
                errs.add("service_matter", "required", "请选择或填写评价的服务事项");
            } else if n > MAX_MATTER {
                errs.add(
                    "service_matter",
                    "too_long",
                    format!("服务事项不能超过 {MAX_MATTER} 个字"),
                );
            } else if has_markup(m) || has_control(m, false) {
                errs.add("service_matter", "markup", "服务事项中不能含有特殊符号");
            }
        }
        Subject::WorkOrder(id) if *id <= 0 => {
            errs.add("work_order_id", "unknown_work_order", "工单不存在");
        }
        Subject::WorkOrder(_) => {}
    }
    let comment = r.comment.trim();
    if comment.chars().count() > MAX_COMMENT {
        errs.add(
            "comment",
            "too_long",
            format!("评价内容不能超过 {MAX_COMMENT} 个字"),
        );
    } else if has_markup(comment) || has_control(comment, true) {
        errs.add(
            "comment",
            "markup",
            "评价内容中不能含有 HTML 标记或控制字符",
        );
    }
    let name = r.rater_name.trim();
    if r.real_name {
        let n = name.chars().count();
        if n == 0 {
            errs.add("rater_name", "required", "实名评价请留下姓名");
        } else if n > MAX_NAME || has_markup(name) || has_control(name, false) {
            errs.add("rater_name", "bad_name", "姓名过长或含有特殊符号");
        }
        if r.rater_phone.is_none() {
            errs.add(
                "rater_phone",
                "required",
                "实名评价请留下手机号码，以便回访",
            );
        }
    } else if !name.is_empty() || r.rater_phone.is_some() {
        errs.add(
            "real_name",
            "anonymous_identity",
            "匿名评价不能填写姓名或电话",
        );
    }
    if !CHANNELS.contains(&r.channel.as_str()) {
        errs.add("channel", "bad_channel", "未知的评价渠道");
    }
    if r.unit.trim().chars().count() > MAX_UNIT || has_control(&r.unit, false) {
        errs.add("unit", "bad_unit", "责任单位有误");
    }
    if !matches!(r.division.level(), Level::Village | Level::Grid) {
        errs.add("division", "bad_level", "评价应定位到村（社区）或网格");
    }
    if r.idempotency_key
        .as_ref()
        .is_some_and(|k| k.is_empty() || k.len() > 100)
    {
        errs.add("idempotency_key", "bad_key", "幂等键应为 1–100 个字符");
    }
    errs.into_result()
}

/// The working-day calendar deadlines are counted on.
fn calendar() -> &'static Calendar {
    static CAL: OnceLock<Calendar> = OnceLock::new();
    CAL.get_or_init(Calendar::china_2025)
}

/// Shanghai wall-clock time of an instant (deadlines are counted in local working days).
fn local(t: DateTime<Utc>) -> NaiveDateTime {
    (t + Duration::hours(8)).naive_utc()
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    (t - Duration::hours(8)).and_utc()
}

/// The end of the `days`th working day after `now`.
pub fn deadline_after(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    utc(calendar().deadline_days(local(now), days))
}

/// The village/community (12-digit) part of a code.
fn village_of(code: &str) -> &str {
    code.get(0..12).unwrap_or(code)
}

/// The error a second rating of the same work order gets.
fn already_rated() -> DbError {
    DbError::invalid(
        "work_order_id",
        "already_rated",
        "该工单已评价，不能重复评价",
    )
}

/// Whether `e` is the refusal of a second rating of the same work order.
pub fn is_already_rated(e: &DbError) -> bool {
    matches!(e, DbError::Invalid(f) if f.0.iter().any(|x| x.code == "already_rated"))
}

/// Store a rating; for a 差评 also open its rectification (待核实, deadline
/// [`rules::DEFAULT_DAYS`] working days). Returns the rating's id. A replay of
/// the same idempotency key returns the first rating's id and stores nothing.
/// Runs on the caller's connection or transaction; opens none of its own.
pub async fn record(
    c: &mut Conn<'_>,
    key: &Protector,
    r: &NewRating,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<i64> {
    record_once(c, key, r, actor, now).await.map(|(id, _)| id)
}

/// [`record`], also telling whether the rating was created (false: a replay).
pub async fn record_once(
    c: &mut Conn<'_>,
    key: &Protector,
    r: &NewRating,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(i64, bool)> {
    check(r)?;
    if let Some(k) = &r.idempotency_key {
        let q = Query::select()
            .column(Ratings::Id)
            .from(Ratings::Table)
            .and_where(Expr::col(Ratings::IdempotencyKey).eq(k.clone()))
            .to_owned();
        if let Some((id,)) = c.fetch_optional::<(i64,)>(&q).await? {
            return Ok((id, false));
        }
    }
    if crate::divisions::get(c, &r.division).await?.is_none() {
        return Err(DbError::invalid(
            "division",
            "unknown_division",
            "评价所在区划不存在",
        ));
    }
    let (work_order_id, matter) = match &r.subject {
        Subject::WorkOrder(id) => {
            let q = Query::select()
                .column(WorkOrders::Id)
                .from(WorkOrders::Table)
                .and_where(Expr::col(WorkOrders::Id).eq(*id))
                .to_owned();
            if c.fetch_optional::<(i64,)>(&q).await?.is_none() {
                return Err(DbError::invalid(
                    "work_order_id",
                    "unknown_work_order",
                    "工单不存在",
                ));
            }
            let q = Query::select()
                .column(Ratings::Id)
                .from(Ratings::Table)
                .and_where(Expr::col(Ratings::WorkOrderId).eq(*id))
                .to_owned();
            if c.fetch_optional::<(i64,)>(&q).await?.is_some() {
                return Err(already_rated());
            }
            (Some(*id), String::new())
        }
        Subject::Service(m) => (None, m.trim().to_owned()),
    };
    let unit = match r.unit.trim() {
        "" => village_of(r.division.as_str()).to_owned(),
        u => u.to_owned(),
    };
    let (phone_enc, phone_masked) = match &r.rater_phone {
        Some(p) => {
            let mut nonce = [0u8; 12];
            getrandom::fill(&mut nonce)
                .map_err(|e| DbError::Conflict(format!("随机数不可用：{e}")))?;
            (
                Some(key.seal(F_RATER_PHONE, p.as_str().as_bytes(), nonce)),
                Some(p.masked()),
            )
        }
        None => (None, None),
    };
    let q = Query::insert()
        .into_table(Ratings::Table)
        .columns([
            Ratings::SubjectKind,
            Ratings::WorkOrderId,
            Ratings::ServiceMatter,
            Ratings::DivisionCode,
            Ratings::Unit,
            Ratings::Level,
            Ratings::RealName,
            Ratings::RaterName,
            Ratings::RaterPhoneEnc,
            Ratings::RaterPhoneMasked,
            Ratings::Comment,
            Ratings::Channel,
            Ratings::Excluded,
            Ratings::IdempotencyKey,
            Ratings::CreatedAt,
        ])
        .values_panic([
            r.subject.kind().into(),
            work_order_id.into(),
            matter.into(),
            r.division.as_str().into(),
            unit.clone().into(),
            i32::from(r.level).into(),
            r.real_name.into(),
            r.rater_name.trim().into(),
            phone_enc.into(),
            phone_masked.into(),
            r.comment.trim().into(),
            r.channel.clone().into(),
            false.into(),
            r.idempotency_key.clone().into(),
            now.into(),
        ])
        .to_owned();
    let id = match c.insert_id(&q).await {
        Ok(id) => id,
        Err(DbError::Conflict(_)) if work_order_id.is_some() => return Err(already_rated()),
        Err(e) => return Err(e),
    };
    if rules::Level::new(i64::from(r.level)).is_some_and(rules::Level::is_bad) {
        let q = Query::insert()
            .into_table(RatingRectifications::Table)
            .columns([
                RatingRectifications::RatingId,
                RatingRectifications::State,
                RatingRectifications::Unit,
                RatingRectifications::DivisionCode,
                RatingRectifications::Deadline,
                RatingRectifications::UpdatedAt,
            ])
            .values_panic([
                id.into(),
                State::Verify.as_str().into(),
                unit.into(),
                r.division.as_str().into(),
                deadline_after(now, rules::DEFAULT_DAYS).into(),
                now.into(),
            ])
            .to_owned();
        c.execute(&q).await?;
        let note = r.comment.trim().chars().take(200).collect::<String>();
        event(c, id, actor, "open", "", State::Verify.as_str(), &note, now).await?;
    }
    Ok((id, true))
}

#[allow(clippy::too_many_arguments)]
async fn event(
    c: &mut Conn<'_>,
    rating: i64,
    actor: &Actor,
    action: &str,
    from: &str,
    to: &str,
    note: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let q = Query::insert()
        .into_table(RatingEvents::Table)
        .columns([
            RatingEvents::RatingId,
            RatingEvents::At,
            RatingEvents::Actor,
            RatingEvents::ActorUserId,
            RatingEvents::Action,
            RatingEvents::FromState,
            RatingEvents::ToState,
            RatingEvents::Note,
        ])
        .values_panic([
            rating.into(),
            now.into(),
            actor.name.clone().into(),
            actor.user_id.into(),
            action.into(),
            from.into(),
            to.into(),
            note.chars()
                .take(rules::MAX_NOTE)
                .collect::<String>()
                .into(),
        ])
        .to_owned();
    c.execute(&q).await.map(|_| ())
}

/// A rectification with its rating, as the queue and the detail page show it.
/// The rater's phone only masked; the scorecards never read these rows.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RectificationRow {
    pub id: i64,
    pub rating_id: i64,
    pub state: String,
    pub unit: String,
    pub division_code: String,
    pub deadline: DateTime<Utc>,
    pub verify_note: String,
    pub rectify_note: String,
    pub callback_note: String,
    pub appeal_reason: String,
    pub review_note: String,
    pub rectified_at: Option<DateTime<Utc>>,
    pub called_back_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub subject_kind: String,
    pub work_order_id: Option<i64>,
    pub tracking_code: Option<String>,
    pub service_matter: String,
    pub level: i32,
    pub real_name: bool,
    pub rater_name: String,
    pub rater_phone_masked: Option<String>,
    pub comment: String,
    pub channel: String,
    pub excluded: bool,
    pub rated_at: DateTime<Utc>,
    /// Past the deadline while the deadline runs (set when read).
    #[sqlx(skip)]
    pub overdue: bool,
}

impl RectificationRow {
    pub fn state(&self) -> Option<State> {
        State::parse(&self.state)
    }

    pub fn state_label(&self) -> &'static str {
        self.state().map_or("", State::label)
    }

    pub fn level_label(&self) -> &'static str {
        rules::Level::new(i64::from(self.level)).map_or("", rules::Level::label)
    }

    /// The work order's tracking code, or the service matter's name.
    pub fn subject(&self) -> String {
        match &self.tracking_code {
            Some(t) => format!("工单 {t}"),
            None => self.service_matter.clone(),
        }
    }

    /// The case the rules work on.
    pub fn case(&self) -> Option<Case> {
        Some(Case {
            state: self.state()?,
            real_name: self.real_name,
            appealed: !self.appeal_reason.is_empty(),
            excluded: self.excluded,
        })
    }

    /// Actions allowed now, by code.
    pub fn allowed(&self) -> Vec<&'static str> {
        self.case().map(|c| c.allowed()).unwrap_or_default()
    }

    fn mark(mut self, now: DateTime<Utc>) -> Self {
        self.overdue = self.state().is_some_and(State::deadline_runs) && self.deadline < now;
        self
    }
}

fn select() -> SelectStatement {
    use RatingRectifications as R;
    Query::select()
        .columns([
            (R::Table, R::Id),
            (R::Table, R::RatingId),
            (R::Table, R::State),
            (R::Table, R::Unit),
            (R::Table, R::DivisionCode),
            (R::Table, R::Deadline),
            (R::Table, R::VerifyNote),
            (R::Table, R::RectifyNote),
            (R::Table, R::CallbackNote),
            (R::Table, R::AppealReason),
            (R::Table, R::ReviewNote),
            (R::Table, R::RectifiedAt),
            (R::Table, R::CalledBackAt),
            (R::Table, R::UpdatedAt),
            (R::Table, R::ClosedAt),
        ])
        .columns([
            (Ratings::Table, Ratings::SubjectKind),
            (Ratings::Table, Ratings::WorkOrderId),
        ])
        .column((WorkOrders::Table, WorkOrders::TrackingCode))
        .columns([
            (Ratings::Table, Ratings::ServiceMatter),
            (Ratings::Table, Ratings::Level),
            (Ratings::Table, Ratings::RealName),
            (Ratings::Table, Ratings::RaterName),
            (Ratings::Table, Ratings::RaterPhoneMasked),
            (Ratings::Table, Ratings::Comment),
            (Ratings::Table, Ratings::Channel),
            (Ratings::Table, Ratings::Excluded),
        ])
        .expr_as(
            Expr::col((Ratings::Table, Ratings::CreatedAt)),
            Alias::new("rated_at"),
        )
        .from(R::Table)
        .join(
            JoinType::InnerJoin,
            Ratings::Table,
            Expr::col((Ratings::Table, Ratings::Id)).equals((R::Table, R::RatingId)),
        )
        .join(
            JoinType::LeftJoin,
            WorkOrders::Table,
            Expr::col((WorkOrders::Table, WorkOrders::Id))
                .equals((Ratings::Table, Ratings::WorkOrderId)),
        )
        .to_owned()
}

/// One rectification in the caller's subtree.
pub async fn get(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Option<RectificationRow>> {
    let q = select()
        .and_where(Expr::col((RatingRectifications::Table, RatingRectifications::Id)).eq(id))
        .cond_where(scope.condition((
            RatingRectifications::Table,
            RatingRectifications::DivisionCode,
        )))
        .to_owned();
    Ok(c.fetch_optional::<RectificationRow>(&q)
        .await?
        .map(|r| r.mark(now)))
}

/// Queue filters; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this state.
    pub state: Option<State>,
    /// Only those not yet closed.
    pub open: bool,
    /// Only this responsible unit.
    pub unit: Option<String>,
    /// Limit to this subtree (must lie within the scope, else nothing is found).
    pub division: Option<DivisionCode>,
    /// Only those past their deadline while it runs.
    pub overdue: bool,
}

const RUNNING: [&str; 3] = ["verify", "rectify", "callback"];

/// The rectification queue of the caller's subtree: open ones first, the
/// nearest deadline first, then closed ones.
pub async fn rectifications(
    c: &mut Conn<'_>,
    scope: &Scope,
    f: &Filter,
    page: PageReq,
    now: DateTime<Utc>,
) -> Result<Page<RectificationRow>> {
    use RatingRectifications as R;
    let s = match &f.division {
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
        .cond_where(s.condition((R::Table, R::DivisionCode)))
        .to_owned();
    if let Some(st) = f.state {
        q.and_where(Expr::col((R::Table, R::State)).eq(st.as_str()));
    }
    if f.open {
        q.and_where(Expr::col((R::Table, R::State)).ne(State::Closed.as_str()));
    }
    if let Some(u) = f.unit.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        q.and_where(Expr::col((R::Table, R::Unit)).eq(u));
    }
    if f.overdue {
        q.and_where(Expr::col((R::Table, R::State)).is_in(RUNNING))
            .and_where(Expr::col((R::Table, R::Deadline)).lt(now));
    }
    let mut count = q.clone();
    count
        .clear_selects()
        .expr(Expr::col((R::Table, R::Id)).count());
    let total = c.fetch_i64(&count).await?;
    q.order_by_expr(
        Expr::col((R::Table, R::State)).eq(State::Closed.as_str()),
        Order::Asc,
    )
    .order_by((R::Table, R::Deadline), Order::Asc)
    .order_by((R::Table, R::Id), Order::Asc)
    .limit(page.per_page)
    .offset(page.offset());
    let items = c
        .fetch_all::<RectificationRow>(&q)
        .await?
        .into_iter()
        .map(|r| r.mark(now))
        .collect();
    Ok(Page { items, total })
}

/// One step of a rectification's history.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RatingEvent {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub note: String,
}

impl RatingEvent {
    pub fn action_label(&self) -> &'static str {
        rules::label_of(&self.action)
    }
}

/// The history of a rectification in the caller's subtree, oldest first.
pub async fn history(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Vec<RatingEvent>> {
    let q = Query::select()
        .column((RatingRectifications::Table, RatingRectifications::RatingId))
        .from(RatingRectifications::Table)
        .and_where(Expr::col((RatingRectifications::Table, RatingRectifications::Id)).eq(id))
        .cond_where(scope.condition((
            RatingRectifications::Table,
            RatingRectifications::DivisionCode,
        )))
        .to_owned();
    let (rating,): (i64,) = c.fetch_optional(&q).await?.ok_or(DbError::NotFound)?;
    let q = Query::select()
        .columns([
            RatingEvents::At,
            RatingEvents::Actor,
            RatingEvents::Action,
            RatingEvents::FromState,
            RatingEvents::ToState,
            RatingEvents::Note,
        ])
        .from(RatingEvents::Table)
        .and_where(Expr::col(RatingEvents::RatingId).eq(rating))
        .order_by(RatingEvents::At, Order::Asc)
        .order_by(Alias::new("id"), Order::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

/// The store error for a refused action, on the field it concerns.
fn refused(e: &RectifyError) -> DbError {
    let field = match e {
        RectifyError::Missing(f) => f,
        RectifyError::TooLong => "note",
        RectifyError::BadDays => "days",
        RectifyError::BadLevel => "level",
        RectifyError::NotAllowed(..)
        | RectifyError::AlreadyAppealed
        | RectifyError::UnknownAction => "action",
    };
    DbError::invalid(field, e.code(), e.to_string())
}

/// Who appealed a rectification (the user id of the latest appeal).
async fn appellant(c: &mut Conn<'_>, rating: i64) -> Result<Option<i64>> {
    let q = Query::select()
        .column(RatingEvents::ActorUserId)
        .from(RatingEvents::Table)
        .and_where(Expr::col(RatingEvents::RatingId).eq(rating))
        .and_where(Expr::col(RatingEvents::Action).eq("appeal"))
        .order_by(Alias::new("id"), Order::Desc)
        .limit(1)
        .to_owned();
    Ok(c.fetch_optional::<(Option<i64>,)>(&q)
        .await?
        .and_then(|(u,)| u))
}

/// Apply an action to a rectification in scope: checked by the rules in
/// `core::ratings`, deadlines on the working-day calendar, one event and one
/// audit entry. Review actions need a reviewer (`dispatch_work_orders`) other
/// than the one who appealed. Returns the new state.
pub async fn rectify_action(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    action: &Action,
    now: DateTime<Utc>,
) -> Result<State> {
    use RatingRectifications as R;
    let row = get(c, scope, id, now).await?.ok_or(DbError::NotFound)?;
    let case = row
        .case()
        .ok_or_else(|| DbError::Conflict("整改状态有误".into()))?;
    if action.needs_reviewer() {
        if !scope.role.can(Capability::DispatchWorkOrders) {
            return Err(DbError::invalid(
                "action",
                "not_reviewer",
                "只有乡镇（街道）及以上的派单人员可以复核申诉",
            ));
        }
        let me = scope.actor.user_id;
        if me.is_some() && me == appellant(c, row.rating_id).await? {
            return Err(DbError::invalid(
                "action",
                "self_review",
                "申诉人不能复核自己的申诉，请由其他人员复核",
            ));
        }
    }
    let step = case.apply(action).map_err(|e| refused(&e))?;
    let to = step.next.state;
    let note = action.note().trim().to_owned();
    let mut q = Query::update()
        .table(R::Table)
        .value(R::State, to.as_str())
        .value(R::UpdatedAt, now)
        .and_where(Expr::col(R::Id).eq(id))
        .and_where(Expr::col(R::State).eq(case.state.as_str()))
        .to_owned();
    let column = match action {
        Action::Verify { .. } => R::VerifyNote,
        Action::Rectified { .. } => {
            q.value(R::RectifiedAt, now);
            R::RectifyNote
        }
        Action::Callback { .. } => {
            q.value(R::CalledBackAt, now);
            R::CallbackNote
        }
        Action::Appeal { .. } => R::AppealReason,
        Action::Uphold { .. } | Action::Overturn { .. } => R::ReviewNote,
    };
    q.value(column, note.clone());
    if let Some(days) = step.deadline_days {
        q.value(R::Deadline, deadline_after(now, days));
    }
    if to == State::Closed {
        q.value(R::ClosedAt, now);
    }
    if c.execute(&q).await? == 0 {
        return Err(DbError::Conflict("该差评已被他人处理，请刷新后重试".into()));
    }
    if step.next.excluded && !case.excluded {
        let q = Query::update()
            .table(Ratings::Table)
            .value(Ratings::Excluded, true)
            .and_where(Expr::col(Ratings::Id).eq(row.rating_id))
            .to_owned();
        c.execute(&q).await?;
    }
    event(
        c,
        row.rating_id,
        &scope.actor,
        action.code(),
        case.state.as_str(),
        to.as_str(),
        &note,
        now,
    )
    .await?;
    let ev = AuditEvent::new("rating_rectify", "rating_rectification", id)
        .division(&row.division_code)
        .detail(serde_json::json!({
            "action": action.code(),
            "from": case.state.as_str(),
            "to": to.as_str(),
            "excluded": step.next.excluded,
        }));
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(to)
}

/// The rater's phone in clear, for the call-back: only while a call-back is
/// due, for a rectification in scope; every reveal is audited.
pub async fn reveal_phone(
    c: &mut Conn<'_>,
    key: &Protector,
    scope: &Scope,
    id: i64,
    now: DateTime<Utc>,
) -> Result<String> {
    let row = get(c, scope, id, now).await?.ok_or(DbError::NotFound)?;
    if row.state() != Some(State::Callback) {
        return Err(DbError::invalid(
            "action",
            "not_callback",
            "只有待回访的差评可以查看评价人电话",
        ));
    }
    let q = Query::select()
        .column(Ratings::RaterPhoneEnc)
        .from(Ratings::Table)
        .and_where(Expr::col(Ratings::Id).eq(row.rating_id))
        .to_owned();
    let (blob,): (Option<Vec<u8>>,) = c.fetch_one(&q).await?;
    let Some(blob) = blob else {
        return Ok(String::new());
    };
    let clear = key
        .open_string(F_RATER_PHONE, &blob)
        .map_err(|_| DbError::Conflict("受保护数据无法解密（密钥不符或数据损坏）".into()))?;
    let ev = AuditEvent::new("reveal", "rating", row.rating_id)
        .division(&row.division_code)
        .detail(serde_json::json!({"field": "rater_phone", "rectification": id}));
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(clear)
}

/// Public figures of a division's ratings in a window. No personal data.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scorecard {
    /// Ratings per level, 1 非常满意 … 5 非常不满意, without overturned 差评.
    pub levels: [i64; 5],
    /// Ratings counted (overturned 差评 left out).
    pub total: i64,
    /// Levels 1–3.
    pub satisfied: i64,
    /// 差评 (levels 4–5) counted.
    pub bad: i64,
    /// 差评 overturned on review (误评/恶意差评), left out of every figure above.
    pub excluded: i64,
    /// Counted 差评 whose rectification is done (待回访 or 已办结 after 整改).
    pub rectified: i64,
    /// Counted real-name 差评 (each must be called back).
    pub real_name_bad: i64,
    /// Real-name 差评 called back.
    pub called_back: i64,
    /// Rectifications not yet closed.
    pub open: i64,
}

impl Scorecard {
    /// Satisfied over all counted ratings, 0–1; `None` without ratings.
    pub fn satisfaction_rate(&self) -> Option<f64> {
        (self.total > 0).then(|| self.satisfied as f64 / self.total as f64)
    }

    /// Rectified over counted 差评, 0–1; `None` without 差评.
    pub fn rectified_rate(&self) -> Option<f64> {
        (self.bad > 0).then(|| self.rectified as f64 / self.bad as f64)
    }

    /// Called back over rectified real-name 差评 awaiting or past a call-back, 0–1.
    pub fn callback_rate(&self) -> Option<f64> {
        (self.real_name_bad > 0).then(|| self.called_back as f64 / self.real_name_bad as f64)
    }

    fn add_level(&mut self, level: i32, excluded: bool, n: i64) {
        if excluded {
            self.excluded += n;
            return;
        }
        let Some(l) = rules::Level::new(i64::from(level)) else {
            return;
        };
        if let Some(slot) = self.levels.get_mut(usize::from(l.get()) - 1) {
            *slot += n;
        }
        self.total += n;
        if l.is_bad() {
            self.bad += n;
        } else {
            self.satisfied += n;
        }
    }
}

/// The condition `column` lies in the subtree of `root` (byte range, as scopes do).
fn subtree<C: sea_query::IntoColumnRef + Clone>(root: &DivisionCode, column: C) -> Condition {
    Scope::new(root.clone(), Role::CityStaff, Actor::system()).condition(column)
}

/// The SQL of the code prefix a window is grouped by ("" for no grouping).
fn group_sql(len: Option<usize>) -> &'static str {
    match len {
        Some(6) => "substr(ratings.division_code, 1, 6)",
        Some(9) => "substr(ratings.division_code, 1, 9)",
        Some(12) => "substr(ratings.division_code, 1, 12)",
        _ => "CAST('' AS TEXT)",
    }
}

/// Figures under `root` in `[from, to)`, grouped by the first `len` digits of the code.
async fn tallies(
    c: &mut Conn<'_>,
    root: &DivisionCode,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    len: Option<usize>,
) -> Result<BTreeMap<String, Scorecard>> {
    use RatingRectifications as R;
    let code = Alias::new("code");
    let window = Condition::all()
        .add(subtree(root, (Ratings::Table, Ratings::DivisionCode)))
        .add(Expr::col((Ratings::Table, Ratings::CreatedAt)).gte(from))
        .add(Expr::col((Ratings::Table, Ratings::CreatedAt)).lt(to));
    let mut levels = Query::select()
        .expr_as(Expr::cust(group_sql(len)), code.clone())
        .column((Ratings::Table, Ratings::Level))
        .column((Ratings::Table, Ratings::Excluded))
        .expr(Expr::col((Ratings::Table, Ratings::Id)).count())
        .from(Ratings::Table)
        .cond_where(window.clone())
        .to_owned();
    let mut cases = Query::select()
        .expr_as(Expr::cust(group_sql(len)), code.clone())
        .column((R::Table, R::State))
        .column((Ratings::Table, Ratings::Excluded))
        .column((Ratings::Table, Ratings::RealName))
        .expr(Expr::col((R::Table, R::Id)).count())
        .expr(Expr::col((R::Table, R::RectifiedAt)).count())
        .expr(Expr::col((R::Table, R::CalledBackAt)).count())
        .from(R::Table)
        .join(
            JoinType::InnerJoin,
            Ratings::Table,
            Expr::col((Ratings::Table, Ratings::Id)).equals((R::Table, R::RatingId)),
        )
        .cond_where(window)
        .to_owned();
    if len.is_some() {
        levels.add_group_by([Expr::cust(group_sql(len))]);
        cases.add_group_by([Expr::cust(group_sql(len))]);
    }
    levels.group_by_columns([
        (Ratings::Table, Ratings::Level),
        (Ratings::Table, Ratings::Excluded),
    ]);
    cases.group_by_col((R::Table, R::State)).group_by_columns([
        (Ratings::Table, Ratings::Excluded),
        (Ratings::Table, Ratings::RealName),
    ]);
    let mut out: BTreeMap<String, Scorecard> = BTreeMap::new();
    let rows: Vec<(String, i32, bool, i64)> = c.fetch_all(&levels).await?;
    for (k, level, excluded, n) in rows {
        out.entry(k).or_default().add_level(level, excluded, n);
    }
    let rows: Vec<(String, String, bool, bool, i64, i64, i64)> = c.fetch_all(&cases).await?;
    for (k, state, excluded, real_name, n, rectified, called_back) in rows {
        let s = out.entry(k).or_default();
        if state != State::Closed.as_str() {
            s.open += n;
        }
        if excluded {
            continue;
        }
        s.rectified += rectified;
        if real_name {
            s.real_name_bad += n;
            s.called_back += called_back;
        }
    }
    Ok(out)
}

/// The public figures of `division` and its subtree for ratings given in `[from, to)`.
pub async fn scorecard(
    c: &mut Conn<'_>,
    division: &DivisionCode,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Scorecard> {
    Ok(tallies(c, division, from, to, None)
        .await?
        .into_values()
        .next()
        .unwrap_or_default())
}

/// The public figures of each child of `division` that has ratings in
/// `[from, to)`, by child code (counties of a city, townships of a county,
/// villages/communities of a township; nothing below a village).
pub async fn scorecards_by_child(
    c: &mut Conn<'_>,
    division: &DivisionCode,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<BTreeMap<String, Scorecard>> {
    let len = match division.level() {
        Level::City => 6,
        Level::County => 9,
        Level::Township => 12,
        Level::Village | Level::Grid => return Ok(BTreeMap::new()),
    };
    tallies(c, division, from, to, Some(len)).await
}

/// Per village/community (12-digit code), the number of ratings given in
/// `[from, to)` that count (overturned 差评 left out), by code.
pub async fn rated_villages(
    c: &mut Conn<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, i64)>> {
    let code = Alias::new("code");
    let q = Query::select()
        .expr_as(Expr::cust(group_sql(Some(12))), code.clone())
        .expr(Expr::col((Ratings::Table, Ratings::Id)).count())
        .from(Ratings::Table)
        .and_where(Expr::col((Ratings::Table, Ratings::Excluded)).eq(false))
        .and_where(Expr::col((Ratings::Table, Ratings::CreatedAt)).gte(from))
        .and_where(Expr::col((Ratings::Table, Ratings::CreatedAt)).lt(to))
        .add_group_by([Expr::cust(group_sql(Some(12)))])
        .order_by(code, Order::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_recognised() {
        assert!(has_markup("<script>alert(1)</script>"));
        assert!(has_markup("好<b>差</b>"));
        assert!(has_markup("<!-- x -->"));
        assert!(!has_markup("等了 <3 天，3<5"));
        assert!(!has_markup("服务 > 预期"));
    }

    #[test]
    fn scorecard_arithmetic() {
        let mut s = Scorecard::default();
        s.add_level(1, false, 3);
        s.add_level(3, false, 1);
        s.add_level(5, false, 1);
        s.add_level(4, true, 2);
        assert_eq!(s.levels, [3, 0, 1, 0, 1]);
        assert_eq!((s.total, s.satisfied, s.bad, s.excluded), (5, 4, 1, 2));
        assert_eq!(s.satisfaction_rate(), Some(0.8));
        assert_eq!(Scorecard::default().satisfaction_rate(), None);
    }

    #[test]
    fn deadlines_count_working_days_in_local_time() {
        // Monday 30 June 2025 10:00 in Shanghai + 5 working days: Monday 7 July.
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2025, 6, 30, 2, 0, 0).unwrap();
        let d = deadline_after(now, 5);
        assert_eq!(
            local(d).date(),
            chrono::NaiveDate::from_ymd_opt(2025, 7, 7).unwrap()
        );
    }
}
