//! Volunteers (志愿者) in the store: the register (ID number and phone sealed as
//! for people, under the same field names so a resident's ciphertexts can be
//! reused and the blind index links a volunteer to their `people` row), teams,
//! stations at facilities, activities with sign-ups, check-in/check-out with a
//! per-activity code, and the service-hour record with its correction log.
//!
//! Scope: staff see and change volunteers, teams and stations whose division lies
//! in their subtree, and activities held in their subtree; sign-ups of an
//! activity are confirmed by staff whose subtree holds the activity's division.
//! A volunteer acts for themselves through the login linked to their record.
//! Every write appends an audit entry inside the caller's transaction.

use crate::audit::{self, Event};
use crate::people::{F_ID, F_PHONE};
use crate::scope::{Actor, Scope};
use crate::{Conn, DbError, Page, PageReq, Result};
use chrono::{DateTime, NaiveDate, Utc};
use sea_query::{
    Condition, Expr, ExprTrait, Func, Iden, JoinType, OnConflict, Order, Query, SelectStatement,
};
use serde::Serialize;
use shequ_core::crypto::Protector;
use shequ_core::rng::SeededRng;
use shequ_core::volunteers::{
    self as core, ActivityDraft, ActivityState, Category, OrganizerKind, Period, Refusal,
    SignupState, TeamKind, VolunteerStatus,
};
use shequ_core::{DivisionCode, FieldErrors, IdCardNo, Level, Phone};

#[derive(Iden, Clone, Copy)]
pub(crate) enum Volunteers {
    Table,
    Id,
    VolunteerNo,
    PersonId,
    UserId,
    Name,
    Gender,
    BirthDate,
    IdNumberEnc,
    IdNumberIndex,
    IdNumberMasked,
    PhoneEnc,
    PhoneMasked,
    DivisionCode,
    Skills,
    Availability,
    RegisteredByOrg,
    RegisteredBy,
    ConsentAt,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum VolunteerNoCounters {
    Table,
    CountyCode,
    LastSeq,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum VolunteerTeams {
    Table,
    Id,
    Name,
    Kind,
    DivisionCode,
    OrganizationId,
    LeaderVolunteerId,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum VolunteerTeamMembers {
    Table,
    TeamId,
    VolunteerId,
    JoinedAt,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum VolunteerStations {
    Table,
    Id,
    FacilityId,
    Name,
    DivisionCode,
    OpenedAt,
    ClosedAt,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum VolunteerActivities {
    Table,
    Id,
    Title,
    Description,
    OrganizerKind,
    OrganizerDivisionCode,
    OrganizationId,
    TeamId,
    StationId,
    DivisionCode,
    Place,
    StartsAt,
    EndsAt,
    Quota,
    Skills,
    Category,
    ElderCare,
    RecurrenceGroup,
    CheckinCode,
    State,
    CancelReason,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum VolunteerSignups {
    Table,
    Id,
    ActivityId,
    VolunteerId,
    State,
    SignedUpBy,
    SignedUpAt,
    CheckinAt,
    CheckoutAt,
    Minutes,
    ConfirmedBy,
    ConfirmedAt,
    Note,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum VolunteerHourCorrections {
    Table,
    Id,
    SignupId,
    OldMinutes,
    NewMinutes,
    Reason,
    ByUser,
    At,
}

#[derive(Iden, Clone, Copy)]
enum Facilities {
    Table,
    Id,
    DivisionCode,
    Name,
}

#[derive(Iden, Clone, Copy)]
enum FacilityFunctions {
    Table,
    FacilityId,
    FunctionCode,
    #[iden = "land_area_x100"]
    LandArea,
}

#[derive(Iden, Clone, Copy)]
enum People {
    Table,
    Id,
    IdNumberIndex,
}

#[derive(Iden, Clone, Copy)]
enum Organizations {
    Table,
    Id,
}

/// The facility function a station stands for (counted by `volunteer_station_share`).
pub const STATION_FUNCTION: &str = "volunteer_station";
pub const MAX_NAME: usize = 30;

fn refused(field: &str, r: Refusal) -> DbError {
    DbError::invalid(field, r.code(), r.to_string())
}

fn nonce() -> Result<[u8; 12]> {
    let mut n = [0u8; 12];
    getrandom::fill(&mut n).map_err(|e| DbError::Conflict(format!("随机数不可用：{e}")))?;
    Ok(n)
}

// ---------------------------------------------------------------- volunteers

/// A volunteer as stored: protected values only sealed or masked.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct VolunteerRow {
    pub id: i64,
    pub volunteer_no: String,
    pub person_id: Option<i64>,
    pub user_id: Option<i64>,
    pub name: String,
    pub gender: String,
    pub birth_date: NaiveDate,
    #[serde(skip)]
    pub id_number_enc: Vec<u8>,
    pub id_number_masked: String,
    #[serde(skip)]
    pub phone_enc: Option<Vec<u8>>,
    pub phone_masked: Option<String>,
    pub division_code: String,
    pub skills: String,
    pub availability: String,
    pub registered_by_org: Option<i64>,
    pub consent_at: DateTime<Utc>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl VolunteerRow {
    pub fn status(&self) -> VolunteerStatus {
        VolunteerStatus::parse(&self.status).unwrap_or(VolunteerStatus::Left)
    }

    pub fn skill_list(&self) -> Vec<String> {
        self.skills
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// A volunteer's registration as entered (《志愿服务条例》 art. 7: identity,
/// skills, availability, contact). Gender and birth date come from the ID number.
#[derive(Debug, Clone)]
pub struct VolunteerInput {
    pub division: DivisionCode,
    pub name: String,
    pub id_number: IdCardNo,
    pub phone: Option<Phone>,
    pub skills: String,
    pub availability: String,
    pub registered_by_org: Option<i64>,
    /// The registrant agreed to the registration notice (required).
    pub consent: bool,
}

fn check_volunteer(v: &VolunteerInput) -> std::result::Result<Vec<String>, FieldErrors> {
    let mut errs = FieldErrors::new();
    core::check_text(&mut errs, "name", "姓名", &v.name, true, MAX_NAME, false);
    if v.name.chars().any(|c| "<>\"&;".contains(c)) && errs.is_empty() {
        errs.add("name", "bad_chars", "姓名中不能含有特殊符号");
    }
    core::check_text(
        &mut errs,
        "availability",
        "服务时间",
        &v.availability,
        false,
        core::MAX_AVAILABILITY,
        false,
    );
    if !matches!(v.division.level(), Level::Village | Level::Grid) {
        errs.add("division", "bad_level", "志愿者应登记在村（社区）或网格");
    }
    if !v.consent {
        errs.add(
            "consent",
            Refusal::ConsentRequired.code(),
            Refusal::ConsentRequired.to_string(),
        );
    }
    let skills = match core::parse_skills(&v.skills) {
        Ok(s) => s,
        Err(e) => {
            errs.0.extend(e.0);
            Vec::new()
        }
    };
    errs.into_result()?;
    Ok(skills)
}

fn select_volunteers() -> SelectStatement {
    Query::select()
        .columns([
            (Volunteers::Table, Volunteers::Id),
            (Volunteers::Table, Volunteers::VolunteerNo),
            (Volunteers::Table, Volunteers::PersonId),
            (Volunteers::Table, Volunteers::UserId),
            (Volunteers::Table, Volunteers::Name),
            (Volunteers::Table, Volunteers::Gender),
            (Volunteers::Table, Volunteers::BirthDate),
            (Volunteers::Table, Volunteers::IdNumberEnc),
            (Volunteers::Table, Volunteers::IdNumberMasked),
            (Volunteers::Table, Volunteers::PhoneEnc),
            (Volunteers::Table, Volunteers::PhoneMasked),
            (Volunteers::Table, Volunteers::DivisionCode),
            (Volunteers::Table, Volunteers::Skills),
            (Volunteers::Table, Volunteers::Availability),
            (Volunteers::Table, Volunteers::RegisteredByOrg),
            (Volunteers::Table, Volunteers::ConsentAt),
            (Volunteers::Table, Volunteers::Status),
            (Volunteers::Table, Volunteers::CreatedAt),
            (Volunteers::Table, Volunteers::UpdatedAt),
        ])
        .from(Volunteers::Table)
        .to_owned()
}

/// Issue the next volunteer number of the county `division` lies in.
async fn next_number(c: &mut Conn<'_>, division: &DivisionCode) -> Result<String> {
    let county = division.as_str().get(0..6).unwrap_or_default().to_owned();
    let upd = Query::update()
        .table(VolunteerNoCounters::Table)
        .value(
            VolunteerNoCounters::LastSeq,
            Expr::col(VolunteerNoCounters::LastSeq).add(1),
        )
        .and_where(Expr::col(VolunteerNoCounters::CountyCode).eq(county.as_str()))
        .to_owned();
    if c.execute(&upd).await? == 0 {
        let ins = Query::insert()
            .into_table(VolunteerNoCounters::Table)
            .columns([
                VolunteerNoCounters::CountyCode,
                VolunteerNoCounters::LastSeq,
            ])
            .values_panic([county.as_str().into(), 1i64.into()])
            .to_owned();
        c.execute(&ins).await?;
    }
    let q = Query::select()
        .column(VolunteerNoCounters::LastSeq)
        .from(VolunteerNoCounters::Table)
        .and_where(Expr::col(VolunteerNoCounters::CountyCode).eq(county.as_str()))
        .to_owned();
    let seq = c.fetch_i64(&q).await?;
    u32::try_from(seq)
        .ok()
        .and_then(|s| core::volunteer_no(&county, s))
        .ok_or_else(|| DbError::Conflict("志愿者编号已用完".into()))
}

/// Set the counter of `county` to at least `seq` (bulk loading).
pub async fn raise_counter(c: &mut Conn<'_>, county: &str, seq: i64) -> Result<()> {
    let ins = Query::insert()
        .into_table(VolunteerNoCounters::Table)
        .columns([
            VolunteerNoCounters::CountyCode,
            VolunteerNoCounters::LastSeq,
        ])
        .values_panic([county.into(), seq.into()])
        .on_conflict(
            OnConflict::column(VolunteerNoCounters::CountyCode)
                .update_column(VolunteerNoCounters::LastSeq)
                .to_owned(),
        )
        .to_owned();
    c.execute(&ins).await?;
    Ok(())
}

async fn person_by_index(c: &mut Conn<'_>, index: &str) -> Result<Option<i64>> {
    let q = Query::select()
        .column(People::Id)
        .from(People::Table)
        .and_where(Expr::col(People::IdNumberIndex).eq(index))
        .to_owned();
    let r: Option<(i64,)> = c.fetch_optional(&q).await?;
    Ok(r.map(|(id,)| id))
}

async fn volunteer_by_index(c: &mut Conn<'_>, index: &str) -> Result<Option<i64>> {
    let q = Query::select()
        .column(Volunteers::Id)
        .from(Volunteers::Table)
        .and_where(Expr::col(Volunteers::IdNumberIndex).eq(index))
        .to_owned();
    let r: Option<(i64,)> = c.fetch_optional(&q).await?;
    Ok(r.map(|(id,)| id))
}

async fn check_org(c: &mut Conn<'_>, org: Option<i64>) -> Result<()> {
    if let Some(o) = org {
        let q = Query::select()
            .expr(Expr::col(Organizations::Id).count())
            .from(Organizations::Table)
            .and_where(Expr::col(Organizations::Id).eq(o))
            .to_owned();
        if c.fetch_i64(&q).await? == 0 {
            return Err(DbError::invalid(
                "registered_by_org",
                "unknown_organization",
                "组织不存在",
            ));
        }
    }
    Ok(())
}

/// Register a volunteer in the caller's subtree and issue a volunteer number.
/// `user_id` links a login (self-registration). Links the `people` row with the
/// same ID number when there is one. Audited.
pub async fn register(
    c: &mut Conn<'_>,
    scope: &Scope,
    key: &Protector,
    v: &VolunteerInput,
    user_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<VolunteerRow> {
    let skills = check_volunteer(v)?;
    if !scope.contains(&v.division) {
        return Err(DbError::invalid(
            "division",
            "out_of_scope",
            "该区划不在您的管辖范围内",
        ));
    }
    if crate::divisions::get(c, &v.division).await?.is_none() {
        return Err(DbError::invalid(
            "division",
            "unknown_division",
            format!("区划 {} 不存在", v.division),
        ));
    }
    check_org(c, v.registered_by_org).await?;
    let index = crate::people::id_index(key, &v.id_number);
    if volunteer_by_index(c, &index).await?.is_some() {
        return Err(refused("id_number", Refusal::DuplicateVolunteer));
    }
    if let Some(u) = user_id
        && get_by_user(c, u).await?.is_some()
    {
        return Err(refused("user", Refusal::AccountLinked));
    }
    let person_id = person_by_index(c, &index).await?;
    let number = next_number(c, &v.division).await?;
    let id_masked = v.id_number.masked();
    let phone_masked = v.phone.as_ref().map(Phone::masked);
    let phone_enc = match &v.phone {
        Some(p) => Some(key.seal(F_PHONE, p.as_str().as_bytes(), nonce()?)),
        None => None,
    };
    let ins = Query::insert()
        .into_table(Volunteers::Table)
        .columns([
            Volunteers::VolunteerNo,
            Volunteers::PersonId,
            Volunteers::UserId,
            Volunteers::Name,
            Volunteers::Gender,
            Volunteers::BirthDate,
            Volunteers::IdNumberEnc,
            Volunteers::IdNumberIndex,
            Volunteers::IdNumberMasked,
            Volunteers::PhoneEnc,
            Volunteers::PhoneMasked,
            Volunteers::DivisionCode,
            Volunteers::Skills,
            Volunteers::Availability,
            Volunteers::RegisteredByOrg,
            Volunteers::RegisteredBy,
            Volunteers::ConsentAt,
            Volunteers::Status,
            Volunteers::CreatedAt,
            Volunteers::UpdatedAt,
        ])
        .values_panic([
            number.clone().into(),
            person_id.into(),
            user_id.into(),
            v.name.trim().into(),
            v.id_number.gender().as_str().into(),
            v.id_number.birth_date().into(),
            key.seal(F_ID, v.id_number.as_str().as_bytes(), nonce()?)
                .into(),
            index.into(),
            id_masked.clone().into(),
            phone_enc.into(),
            phone_masked.clone().into(),
            v.division.as_str().into(),
            skills.join(",").into(),
            v.availability.trim().into(),
            v.registered_by_org.into(),
            scope.actor.user_id.into(),
            now.into(),
            VolunteerStatus::Active.as_str().into(),
            now.into(),
            now.into(),
        ])
        .to_owned();
    let id = c.insert_id(&ins).await?;
    let detail = serde_json::json!({
        "volunteer_no": number, "name": v.name.trim(), "division": v.division.as_str(),
        "id_number": id_masked, "phone": phone_masked, "skills": skills,
        "person_id": person_id, "self": user_id.is_some(),
    });
    audit::append(
        c,
        &scope.actor,
        Event::new("volunteer_register", "volunteer", id)
            .division(v.division.as_str())
            .detail(detail),
        now,
    )
    .await?;
    by_id(c, id).await?.ok_or(DbError::NotFound)
}

async fn by_id(c: &mut Conn<'_>, id: i64) -> Result<Option<VolunteerRow>> {
    let q = select_volunteers()
        .and_where(Expr::col((Volunteers::Table, Volunteers::Id)).eq(id))
        .to_owned();
    c.fetch_optional(&q).await
}

/// One volunteer in the caller's subtree.
pub async fn get(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<VolunteerRow>> {
    let q = select_volunteers()
        .and_where(Expr::col((Volunteers::Table, Volunteers::Id)).eq(id))
        .cond_where(scope.condition((Volunteers::Table, Volunteers::DivisionCode)))
        .to_owned();
    c.fetch_optional(&q).await
}

/// The volunteer record linked to a login.
pub async fn get_by_user(c: &mut Conn<'_>, user_id: i64) -> Result<Option<VolunteerRow>> {
    let q = select_volunteers()
        .and_where(Expr::col((Volunteers::Table, Volunteers::UserId)).eq(user_id))
        .to_owned();
    c.fetch_optional(&q).await
}

/// Volunteer list filters.
#[derive(Debug, Clone, Default)]
pub struct VolunteerFilter {
    /// Name or volunteer number, exact number or name prefix.
    pub q: Option<String>,
    /// A skill the volunteer lists.
    pub skill: Option<String>,
    pub status: Option<VolunteerStatus>,
    pub team_id: Option<i64>,
    /// Narrow to this division's subtree (must lie in scope to find anything).
    pub division: Option<DivisionCode>,
}

/// Volunteers in the caller's subtree, by number.
pub async fn list(
    c: &mut Conn<'_>,
    scope: &Scope,
    f: &VolunteerFilter,
    page: PageReq,
) -> Result<Page<VolunteerRow>> {
    let mut q = select_volunteers()
        .cond_where(scope.condition((Volunteers::Table, Volunteers::DivisionCode)))
        .to_owned();
    if let Some(d) = &f.division {
        let narrowed = Scope::new(d.clone(), scope.role, scope.actor.clone());
        q.cond_where(narrowed.condition((Volunteers::Table, Volunteers::DivisionCode)));
    }
    if let Some(s) = f.status {
        q.and_where(Expr::col((Volunteers::Table, Volunteers::Status)).eq(s.as_str()));
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        q.cond_where(
            Condition::any()
                .add(Expr::col((Volunteers::Table, Volunteers::VolunteerNo)).eq(text))
                .add(
                    Expr::col((Volunteers::Table, Volunteers::Name))
                        .like(format!("{}%", text.replace(['%', '_'], ""))),
                ),
        );
    }
    if let Some(skill) = f.skill.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let s = skill.replace(['%', '_', ','], "");
        q.cond_where(
            Condition::any()
                .add(Expr::col((Volunteers::Table, Volunteers::Skills)).eq(s.as_str()))
                .add(Expr::col((Volunteers::Table, Volunteers::Skills)).like(format!("{s},%")))
                .add(Expr::col((Volunteers::Table, Volunteers::Skills)).like(format!("%,{s}")))
                .add(Expr::col((Volunteers::Table, Volunteers::Skills)).like(format!("%,{s},%"))),
        );
    }
    if let Some(t) = f.team_id {
        q.and_where(
            Expr::col((Volunteers::Table, Volunteers::Id)).in_subquery(
                Query::select()
                    .column(VolunteerTeamMembers::VolunteerId)
                    .from(VolunteerTeamMembers::Table)
                    .and_where(Expr::col(VolunteerTeamMembers::TeamId).eq(t))
                    .to_owned(),
            ),
        );
    }
    let mut count = q.clone();
    count
        .clear_selects()
        .expr(Expr::col((Volunteers::Table, Volunteers::Id)).count());
    let total = c.fetch_i64(&count).await?;
    q.order_by((Volunteers::Table, Volunteers::Id), Order::Asc)
        .limit(page.per_page)
        .offset(page.offset());
    Ok(Page {
        items: c.fetch_all(&q).await?,
        total,
    })
}

/// Which protected value of a volunteer to reveal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protected {
    IdNumber,
    Phone,
}

impl Protected {
    pub fn parse(s: &str) -> Option<Protected> {
        match s {
            "id_number" => Some(Protected::IdNumber),
            "phone" => Some(Protected::Phone),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protected::IdNumber => "id_number",
            Protected::Phone => "phone",
        }
    }
}

/// The clear text of one protected field ("" when none). Audited.
pub async fn reveal(
    c: &mut Conn<'_>,
    scope: &Scope,
    key: &Protector,
    id: i64,
    field: Protected,
    now: DateTime<Utc>,
) -> Result<String> {
    let v = get(c, scope, id).await?.ok_or(DbError::NotFound)?;
    let broken = |_| DbError::Conflict("受保护数据无法解密（密钥不符或数据损坏）".into());
    let clear = match field {
        Protected::IdNumber => key.open_string(F_ID, &v.id_number_enc).map_err(broken)?,
        Protected::Phone => match &v.phone_enc {
            Some(b) => key.open_string(F_PHONE, b).map_err(broken)?,
            None => String::new(),
        },
    };
    let ev = Event::new("reveal", "volunteer", id)
        .division(&v.division_code)
        .detail(serde_json::json!({"field": field.as_str()}));
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(clear)
}

/// Change a volunteer's status (在册 / 暂停 / 已退出). Audited.
pub async fn set_status(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    status: VolunteerStatus,
    now: DateTime<Utc>,
) -> Result<()> {
    let v = get(c, scope, id).await?.ok_or(DbError::NotFound)?;
    let upd = Query::update()
        .table(Volunteers::Table)
        .values([
            (Volunteers::Status, status.as_str().into()),
            (Volunteers::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Volunteers::Id).eq(id))
        .to_owned();
    c.execute(&upd).await?;
    let ev = Event::new("volunteer_status", "volunteer", id)
        .division(&v.division_code)
        .detail(serde_json::json!({"status": {"before": v.status, "after": status.as_str()}}));
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(())
}

// ---------------------------------------------------------------- teams

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TeamRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub division_code: String,
    pub organization_id: Option<i64>,
    pub leader_volunteer_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub members: i64,
}

impl TeamRow {
    pub fn kind(&self) -> TeamKind {
        TeamKind::parse(&self.kind).unwrap_or(TeamKind::General)
    }
}

#[derive(Debug, Clone)]
pub struct TeamInput {
    pub name: String,
    pub kind: TeamKind,
    pub division: DivisionCode,
    pub organization_id: Option<i64>,
    pub leader_volunteer_id: Option<i64>,
}

fn select_teams() -> SelectStatement {
    let members = Query::select()
        .expr(Expr::col(VolunteerTeamMembers::VolunteerId).count())
        .from(VolunteerTeamMembers::Table)
        .and_where(
            Expr::col((VolunteerTeamMembers::Table, VolunteerTeamMembers::TeamId))
                .equals((VolunteerTeams::Table, VolunteerTeams::Id)),
        )
        .to_owned();
    Query::select()
        .columns([
            (VolunteerTeams::Table, VolunteerTeams::Id),
            (VolunteerTeams::Table, VolunteerTeams::Name),
            (VolunteerTeams::Table, VolunteerTeams::Kind),
            (VolunteerTeams::Table, VolunteerTeams::DivisionCode),
            (VolunteerTeams::Table, VolunteerTeams::OrganizationId),
            (VolunteerTeams::Table, VolunteerTeams::LeaderVolunteerId),
            (VolunteerTeams::Table, VolunteerTeams::CreatedAt),
        ])
        .expr_as(Expr::SubQuery(None, Box::new(members.into())), "members")
        .from(VolunteerTeams::Table)
        .to_owned()
}

/// Form a team in the caller's subtree (any level). Audited.
pub async fn create_team(
    c: &mut Conn<'_>,
    scope: &Scope,
    t: &TeamInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    let mut errs = FieldErrors::new();
    core::check_text(
        &mut errs,
        "name",
        "队伍名称",
        &t.name,
        true,
        core::MAX_TEAM_NAME,
        false,
    );
    if !scope.contains(&t.division) {
        errs.add("division", "out_of_scope", "该区划不在您的管辖范围内");
    }
    errs.into_result()?;
    if crate::divisions::get(c, &t.division).await?.is_none() {
        return Err(DbError::invalid(
            "division",
            "unknown_division",
            format!("区划 {} 不存在", t.division),
        ));
    }
    check_org(c, t.organization_id).await?;
    if let Some(l) = t.leader_volunteer_id
        && get(c, scope, l).await?.is_none()
    {
        return Err(DbError::invalid(
            "leader_volunteer_id",
            "unknown_volunteer",
            "队长不是您管辖范围内的志愿者",
        ));
    }
    let ins = Query::insert()
        .into_table(VolunteerTeams::Table)
        .columns([
            VolunteerTeams::Name,
            VolunteerTeams::Kind,
            VolunteerTeams::DivisionCode,
            VolunteerTeams::OrganizationId,
            VolunteerTeams::LeaderVolunteerId,
            VolunteerTeams::CreatedAt,
        ])
        .values_panic([
            t.name.trim().into(),
            t.kind.as_str().into(),
            t.division.as_str().into(),
            t.organization_id.into(),
            t.leader_volunteer_id.into(),
            now.into(),
        ])
        .to_owned();
    let id = c.insert_id(&ins).await?;
    if let Some(l) = t.leader_volunteer_id {
        insert_member(c, id, l, now).await?;
    }
    let ev = Event::new("volunteer_team_create", "volunteer_team", id)
        .division(t.division.as_str())
        .detail(serde_json::json!({"name": t.name.trim(), "kind": t.kind.as_str()}));
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(id)
}

async fn insert_member(
    c: &mut Conn<'_>,
    team: i64,
    volunteer: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    let ins = Query::insert()
        .into_table(VolunteerTeamMembers::Table)
        .columns([
            VolunteerTeamMembers::TeamId,
            VolunteerTeamMembers::VolunteerId,
            VolunteerTeamMembers::JoinedAt,
        ])
        .values_panic([team.into(), volunteer.into(), now.into()])
        .on_conflict(
            OnConflict::columns([
                VolunteerTeamMembers::TeamId,
                VolunteerTeamMembers::VolunteerId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .to_owned();
    Ok(c.execute(&ins).await? > 0)
}

/// One team in the caller's subtree.
pub async fn get_team(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<TeamRow>> {
    let q = select_teams()
        .and_where(Expr::col((VolunteerTeams::Table, VolunteerTeams::Id)).eq(id))
        .cond_where(scope.condition((VolunteerTeams::Table, VolunteerTeams::DivisionCode)))
        .to_owned();
    c.fetch_optional(&q).await
}

/// Teams in the caller's subtree, by id.
pub async fn list_teams(c: &mut Conn<'_>, scope: &Scope, page: PageReq) -> Result<Page<TeamRow>> {
    let q = select_teams()
        .cond_where(scope.condition((VolunteerTeams::Table, VolunteerTeams::DivisionCode)))
        .to_owned();
    let mut count = q.clone();
    count
        .clear_selects()
        .expr(Expr::col((VolunteerTeams::Table, VolunteerTeams::Id)).count());
    let total = c.fetch_i64(&count).await?;
    let mut q = q;
    let q = q
        .order_by((VolunteerTeams::Table, VolunteerTeams::Id), Order::Asc)
        .limit(page.per_page)
        .offset(page.offset())
        .to_owned();
    Ok(Page {
        items: c.fetch_all(&q).await?,
        total,
    })
}

/// Add a volunteer of the caller's subtree to a team of it. Audited.
pub async fn add_member(
    c: &mut Conn<'_>,
    scope: &Scope,
    team: i64,
    volunteer: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let t = get_team(c, scope, team).await?.ok_or(DbError::NotFound)?;
    if get(c, scope, volunteer).await?.is_none() {
        return Err(DbError::invalid(
            "volunteer_id",
            "unknown_volunteer",
            "志愿者不存在或不在您的管辖范围内",
        ));
    }
    if insert_member(c, team, volunteer, now).await? {
        let ev = Event::new("volunteer_team_join", "volunteer_team", team)
            .division(&t.division_code)
            .detail(serde_json::json!({"volunteer_id": volunteer}));
        audit::append(c, &scope.actor, ev, now).await?;
    }
    Ok(())
}

/// Remove a member from a team. Audited.
pub async fn remove_member(
    c: &mut Conn<'_>,
    scope: &Scope,
    team: i64,
    volunteer: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let t = get_team(c, scope, team).await?.ok_or(DbError::NotFound)?;
    let del = Query::delete()
        .from_table(VolunteerTeamMembers::Table)
        .and_where(Expr::col(VolunteerTeamMembers::TeamId).eq(team))
        .and_where(Expr::col(VolunteerTeamMembers::VolunteerId).eq(volunteer))
        .to_owned();
    if c.execute(&del).await? == 0 {
        return Err(DbError::NotFound);
    }
    let ev = Event::new("volunteer_team_leave", "volunteer_team", team)
        .division(&t.division_code)
        .detail(serde_json::json!({"volunteer_id": volunteer}));
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(())
}

/// A member as a team list shows them.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct MemberRow {
    pub volunteer_id: i64,
    pub volunteer_no: String,
    pub name: String,
    pub division_code: String,
    pub joined_at: DateTime<Utc>,
}

/// The members of a team, by name.
pub async fn members(c: &mut Conn<'_>, scope: &Scope, team: i64) -> Result<Vec<MemberRow>> {
    get_team(c, scope, team).await?.ok_or(DbError::NotFound)?;
    let q = Query::select()
        .expr_as(
            Expr::col((Volunteers::Table, Volunteers::Id)),
            "volunteer_id",
        )
        .column((Volunteers::Table, Volunteers::VolunteerNo))
        .column((Volunteers::Table, Volunteers::Name))
        .column((Volunteers::Table, Volunteers::DivisionCode))
        .column((VolunteerTeamMembers::Table, VolunteerTeamMembers::JoinedAt))
        .from(VolunteerTeamMembers::Table)
        .join(
            JoinType::InnerJoin,
            Volunteers::Table,
            Expr::col((Volunteers::Table, Volunteers::Id)).equals((
                VolunteerTeamMembers::Table,
                VolunteerTeamMembers::VolunteerId,
            )),
        )
        .and_where(Expr::col((VolunteerTeamMembers::Table, VolunteerTeamMembers::TeamId)).eq(team))
        .order_by((Volunteers::Table, Volunteers::VolunteerNo), Order::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

// ---------------------------------------------------------------- stations

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StationRow {
    pub id: i64,
    pub facility_id: i64,
    pub name: String,
    pub division_code: String,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

fn select_stations() -> SelectStatement {
    Query::select()
        .columns([
            VolunteerStations::Id,
            VolunteerStations::FacilityId,
            VolunteerStations::Name,
            VolunteerStations::DivisionCode,
            VolunteerStations::OpenedAt,
            VolunteerStations::ClosedAt,
        ])
        .from(VolunteerStations::Table)
        .to_owned()
}

async fn refresh_code(c: &mut Conn<'_>, code: &str, now: DateTime<Utc>) -> Result<()> {
    match DivisionCode::parse(code) {
        Ok(d) => crate::indicators::refresh(c, &d, now).await,
        Err(_) => Ok(()),
    }
}

/// Open a volunteer station in a facility of the caller's subtree (or reopen a
/// closed one): the facility gains the `volunteer_station` function and its
/// indicators are refreshed. Audited.
pub async fn open_station(
    c: &mut Conn<'_>,
    scope: &Scope,
    facility_id: i64,
    name: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let mut errs = FieldErrors::new();
    core::check_text(&mut errs, "name", "站点名称", name, true, 60, false);
    errs.into_result()?;
    let q = Query::select()
        .columns([Facilities::DivisionCode, Facilities::Name])
        .from(Facilities::Table)
        .and_where(Expr::col(Facilities::Id).eq(facility_id))
        .cond_where(scope.condition(Facilities::DivisionCode))
        .to_owned();
    let (division, _fname): (String, String) = c.fetch_optional(&q).await?.ok_or_else(|| {
        DbError::invalid(
            "facility_id",
            "unknown_facility",
            "设施不存在或不在您的管辖范围内",
        )
    })?;
    let existing: Option<StationRow> = c
        .fetch_optional(
            &select_stations()
                .and_where(Expr::col(VolunteerStations::FacilityId).eq(facility_id))
                .to_owned(),
        )
        .await?;
    let id = match existing {
        Some(s) if s.closed_at.is_none() => {
            return Err(DbError::invalid(
                "facility_id",
                "station_exists",
                "该设施已设有志愿服务站",
            ));
        }
        Some(s) => {
            let upd = Query::update()
                .table(VolunteerStations::Table)
                .values([
                    (VolunteerStations::Name, name.trim().into()),
                    (VolunteerStations::OpenedAt, now.into()),
                    (
                        VolunteerStations::ClosedAt,
                        Option::<DateTime<Utc>>::None.into(),
                    ),
                    (VolunteerStations::DivisionCode, division.clone().into()),
                ])
                .and_where(Expr::col(VolunteerStations::Id).eq(s.id))
                .to_owned();
            c.execute(&upd).await?;
            s.id
        }
        None => {
            let ins = Query::insert()
                .into_table(VolunteerStations::Table)
                .columns([
                    VolunteerStations::FacilityId,
                    VolunteerStations::Name,
                    VolunteerStations::DivisionCode,
                    VolunteerStations::OpenedAt,
                ])
                .values_panic([
                    facility_id.into(),
                    name.trim().into(),
                    division.clone().into(),
                    now.into(),
                ])
                .to_owned();
            c.insert_id(&ins).await?
        }
    };
    let ins = Query::insert()
        .into_table(FacilityFunctions::Table)
        .columns([
            FacilityFunctions::FacilityId,
            FacilityFunctions::FunctionCode,
            FacilityFunctions::LandArea,
        ])
        .values_panic([facility_id.into(), STATION_FUNCTION.into(), 0i64.into()])
        .on_conflict(
            OnConflict::columns([
                FacilityFunctions::FacilityId,
                FacilityFunctions::FunctionCode,
            ])
            .do_nothing()
            .to_owned(),
        )
        .to_owned();
    c.execute(&ins).await?;
    let ev = Event::new("volunteer_station_open", "volunteer_station", id)
        .division(&division)
        .detail(serde_json::json!({"facility_id": facility_id, "name": name.trim()}));
    audit::append(c, &scope.actor, ev, now).await?;
    refresh_code(c, &division, now).await?;
    Ok(id)
}

/// Close a station: the facility loses the `volunteer_station` function. Audited.
pub async fn close_station(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let s: StationRow = c
        .fetch_optional(
            &select_stations()
                .and_where(Expr::col(VolunteerStations::Id).eq(id))
                .cond_where(scope.condition(VolunteerStations::DivisionCode))
                .to_owned(),
        )
        .await?
        .ok_or(DbError::NotFound)?;
    if s.closed_at.is_some() {
        return Err(DbError::invalid("state", "station_closed", "该站点已撤销"));
    }
    let upd = Query::update()
        .table(VolunteerStations::Table)
        .value(VolunteerStations::ClosedAt, now)
        .and_where(Expr::col(VolunteerStations::Id).eq(id))
        .to_owned();
    c.execute(&upd).await?;
    let del = Query::delete()
        .from_table(FacilityFunctions::Table)
        .and_where(Expr::col(FacilityFunctions::FacilityId).eq(s.facility_id))
        .and_where(Expr::col(FacilityFunctions::FunctionCode).eq(STATION_FUNCTION))
        .to_owned();
    c.execute(&del).await?;
    let ev = Event::new("volunteer_station_close", "volunteer_station", id)
        .division(&s.division_code)
        .detail(serde_json::json!({"facility_id": s.facility_id}));
    audit::append(c, &scope.actor, ev, now).await?;
    refresh_code(c, &s.division_code, now).await
}

/// Stations in the caller's subtree (open ones first), by id.
pub async fn list_stations(c: &mut Conn<'_>, scope: &Scope) -> Result<Vec<StationRow>> {
    let q = select_stations()
        .cond_where(scope.condition(VolunteerStations::DivisionCode))
        .order_by(VolunteerStations::Id, Order::Asc)
        .to_owned();
    let mut rows: Vec<StationRow> = c.fetch_all(&q).await?;
    rows.sort_by_key(|s| s.closed_at.is_some());
    Ok(rows)
}

// ---------------------------------------------------------------- activities

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ActivityRow {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub organizer_kind: String,
    pub organizer_division_code: String,
    pub organization_id: Option<i64>,
    pub team_id: Option<i64>,
    pub station_id: Option<i64>,
    pub division_code: String,
    pub place: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub quota: i32,
    pub skills: String,
    pub category: String,
    pub elder_care: bool,
    pub recurrence_group: Option<String>,
    #[serde(skip)]
    pub checkin_code: String,
    pub state: String,
    pub cancel_reason: String,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// Sign-ups holding a place (not cancelled).
    pub signed_up: i64,
}

impl ActivityRow {
    pub fn period(&self) -> Period {
        Period {
            starts_at: self.starts_at,
            ends_at: self.ends_at,
        }
    }

    pub fn state(&self) -> ActivityState {
        ActivityState::parse(&self.state).unwrap_or(ActivityState::Cancelled)
    }

    pub fn category(&self) -> Category {
        Category::parse(&self.category).unwrap_or(Category::Other)
    }

    /// Whether staff with `scope` organise it (its place lies in their subtree).
    pub fn managed_by(&self, scope: &Scope) -> bool {
        scope.contains_str(&self.division_code)
    }

    pub fn places_left(&self) -> i64 {
        std::cmp::max(i64::from(self.quota) - self.signed_up, 0)
    }
}

/// An activity to publish: the draft, where it is held and who organises it.
#[derive(Debug, Clone)]
pub struct ActivityInput {
    pub draft: ActivityDraft,
    pub division: DivisionCode,
    /// Organised by this organisation (otherwise by the caller's division).
    pub organization_id: Option<i64>,
    pub team_id: Option<i64>,
    pub station_id: Option<i64>,
}

fn holding_states() -> Vec<&'static str> {
    SignupState::ALL
        .iter()
        .filter(|s| s.holds_time())
        .map(|s| s.as_str())
        .collect()
}

fn select_activities() -> SelectStatement {
    let a = VolunteerActivities::Table;
    let taken = Query::select()
        .expr(Expr::col(VolunteerSignups::Id).count())
        .from(VolunteerSignups::Table)
        .and_where(
            Expr::col((VolunteerSignups::Table, VolunteerSignups::ActivityId))
                .equals((a, VolunteerActivities::Id)),
        )
        .and_where(
            Expr::col((VolunteerSignups::Table, VolunteerSignups::State)).is_in(holding_states()),
        )
        .to_owned();
    Query::select()
        .columns([
            (a, VolunteerActivities::Id),
            (a, VolunteerActivities::Title),
            (a, VolunteerActivities::Description),
            (a, VolunteerActivities::OrganizerKind),
            (a, VolunteerActivities::OrganizerDivisionCode),
            (a, VolunteerActivities::OrganizationId),
            (a, VolunteerActivities::TeamId),
            (a, VolunteerActivities::StationId),
            (a, VolunteerActivities::DivisionCode),
            (a, VolunteerActivities::Place),
            (a, VolunteerActivities::StartsAt),
            (a, VolunteerActivities::EndsAt),
            (a, VolunteerActivities::Quota),
            (a, VolunteerActivities::Skills),
            (a, VolunteerActivities::Category),
            (a, VolunteerActivities::ElderCare),
            (a, VolunteerActivities::RecurrenceGroup),
            (a, VolunteerActivities::CheckinCode),
            (a, VolunteerActivities::State),
            (a, VolunteerActivities::CancelReason),
            (a, VolunteerActivities::CreatedBy),
            (a, VolunteerActivities::CreatedAt),
        ])
        .expr_as(Expr::SubQuery(None, Box::new(taken.into())), "signed_up")
        .from(a)
        .to_owned()
}

/// Publish an activity held in the caller's subtree; a weekly series creates
/// one activity per occurrence sharing a recurrence group. Each occurrence gets
/// its own 6-digit check-in code drawn from `seed`. Audited; returns the ids.
pub async fn publish(
    c: &mut Conn<'_>,
    scope: &Scope,
    input: &ActivityInput,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    let skills = core::check_activity(&input.draft)?;
    if !scope.contains(&input.division) {
        return Err(DbError::invalid(
            "division",
            "out_of_scope",
            "该区划不在您的管辖范围内",
        ));
    }
    if crate::divisions::get(c, &input.division).await?.is_none() {
        return Err(DbError::invalid(
            "division",
            "unknown_division",
            format!("区划 {} 不存在", input.division),
        ));
    }
    if input.draft.period.starts_at <= now {
        return Err(DbError::invalid(
            "starts_at",
            "starts_in_past",
            "开始时间应晚于现在",
        ));
    }
    check_org(c, input.organization_id).await?;
    if let Some(t) = input.team_id
        && get_team(c, scope, t).await?.is_none()
    {
        return Err(DbError::invalid(
            "team_id",
            "unknown_team",
            "队伍不存在或不在您的管辖范围内",
        ));
    }
    if let Some(s) = input.station_id {
        let q = select_stations()
            .and_where(Expr::col(VolunteerStations::Id).eq(s))
            .cond_where(scope.condition(VolunteerStations::DivisionCode))
            .to_owned();
        let found: Option<StationRow> = c.fetch_optional(&q).await?;
        if found.is_none() {
            return Err(DbError::invalid(
                "station_id",
                "unknown_station",
                "站点不存在或不在您的管辖范围内",
            ));
        }
    }
    let d = &input.draft;
    let kind = if input.organization_id.is_some() {
        OrganizerKind::Organization
    } else {
        OrganizerKind::Division
    };
    let occurrences = core::weekly(&d.period, d.occurrences);
    let mut rng = SeededRng::new(seed);
    let mut ids = Vec::with_capacity(occurrences.len());
    for p in &occurrences {
        let ins = Query::insert()
            .into_table(VolunteerActivities::Table)
            .columns([
                VolunteerActivities::Title,
                VolunteerActivities::Description,
                VolunteerActivities::OrganizerKind,
                VolunteerActivities::OrganizerDivisionCode,
                VolunteerActivities::OrganizationId,
                VolunteerActivities::TeamId,
                VolunteerActivities::StationId,
                VolunteerActivities::DivisionCode,
                VolunteerActivities::Place,
                VolunteerActivities::StartsAt,
                VolunteerActivities::EndsAt,
                VolunteerActivities::Quota,
                VolunteerActivities::Skills,
                VolunteerActivities::Category,
                VolunteerActivities::ElderCare,
                VolunteerActivities::CheckinCode,
                VolunteerActivities::State,
                VolunteerActivities::CreatedBy,
                VolunteerActivities::CreatedAt,
                VolunteerActivities::UpdatedAt,
            ])
            .values_panic([
                d.title.trim().into(),
                d.description.trim().into(),
                kind.as_str().into(),
                scope.root.as_str().into(),
                input.organization_id.into(),
                input.team_id.into(),
                input.station_id.into(),
                input.division.as_str().into(),
                d.place.trim().into(),
                p.starts_at.into(),
                p.ends_at.into(),
                i32::try_from(d.quota).unwrap_or(1).into(),
                skills.join(",").into(),
                d.category.as_str().into(),
                d.elder_care.into(),
                core::checkin_code(rng.next_u64()).into(),
                ActivityState::Published.as_str().into(),
                scope.actor.user_id.into(),
                now.into(),
                now.into(),
            ])
            .to_owned();
        ids.push(c.insert_id(&ins).await?);
    }
    if ids.len() > 1
        && let Some(first) = ids.first()
    {
        let upd = Query::update()
            .table(VolunteerActivities::Table)
            .value(VolunteerActivities::RecurrenceGroup, format!("w{first}"))
            .and_where(Expr::col(VolunteerActivities::Id).is_in(ids.iter().copied()))
            .to_owned();
        c.execute(&upd).await?;
    }
    for (id, p) in ids.iter().zip(&occurrences) {
        let ev = Event::new("volunteer_activity_publish", "volunteer_activity", id)
            .division(input.division.as_str())
            .detail(serde_json::json!({
                "title": d.title.trim(), "starts_at": p.starts_at, "ends_at": p.ends_at,
                "quota": d.quota, "category": d.category.as_str(), "elder_care": d.elder_care,
                "occurrences": ids.len(),
            }));
        audit::append(c, &scope.actor, ev, now).await?;
    }
    Ok(ids)
}

/// One activity (any division: recruitment is public; the check-in code is the
/// caller's to hide).
pub async fn activity(c: &mut Conn<'_>, id: i64) -> Result<Option<ActivityRow>> {
    let q = select_activities()
        .and_where(Expr::col((VolunteerActivities::Table, VolunteerActivities::Id)).eq(id))
        .to_owned();
    c.fetch_optional(&q).await
}

/// One activity held in the caller's subtree.
pub async fn managed_activity(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
) -> Result<Option<ActivityRow>> {
    let q = select_activities()
        .and_where(Expr::col((VolunteerActivities::Table, VolunteerActivities::Id)).eq(id))
        .cond_where(scope.condition((
            VolunteerActivities::Table,
            VolunteerActivities::DivisionCode,
        )))
        .to_owned();
    c.fetch_optional(&q).await
}

/// Activity list filters.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    /// Held in this division's subtree.
    pub division: Option<DivisionCode>,
    /// Starting at or after.
    pub from: Option<DateTime<Utc>>,
    /// Starting before.
    pub to: Option<DateTime<Utc>>,
    pub state: Option<ActivityState>,
    pub category: Option<Category>,
}

/// Activities by start time; with `scope`, only those held in its subtree.
pub async fn list_activities(
    c: &mut Conn<'_>,
    scope: Option<&Scope>,
    f: &ActivityFilter,
    page: PageReq,
) -> Result<Page<ActivityRow>> {
    let a = VolunteerActivities::Table;
    let mut q = select_activities();
    if let Some(s) = scope {
        q.cond_where(s.condition((a, VolunteerActivities::DivisionCode)));
    }
    if let Some(d) = &f.division {
        let narrowed = Scope::new(d.clone(), shequ_core::Role::Resident, Actor::anonymous());
        q.cond_where(narrowed.condition((a, VolunteerActivities::DivisionCode)));
    }
    if let Some(t) = f.from {
        q.and_where(Expr::col((a, VolunteerActivities::StartsAt)).gte(t));
    }
    if let Some(t) = f.to {
        q.and_where(Expr::col((a, VolunteerActivities::StartsAt)).lt(t));
    }
    if let Some(s) = f.state {
        q.and_where(Expr::col((a, VolunteerActivities::State)).eq(s.as_str()));
    }
    if let Some(k) = f.category {
        q.and_where(Expr::col((a, VolunteerActivities::Category)).eq(k.as_str()));
    }
    let mut count = q.clone();
    count
        .clear_selects()
        .expr(Expr::col((a, VolunteerActivities::Id)).count());
    let total = c.fetch_i64(&count).await?;
    q.order_by((a, VolunteerActivities::StartsAt), Order::Asc)
        .order_by((a, VolunteerActivities::Id), Order::Asc)
        .limit(page.per_page)
        .offset(page.offset());
    Ok(Page {
        items: c.fetch_all(&q).await?,
        total,
    })
}

/// Cancel a published activity held in the caller's subtree (before it ends);
/// its open sign-ups are cancelled with it. Audited.
pub async fn cancel_activity(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let a = managed_activity(c, scope, id)
        .await?
        .ok_or(DbError::NotFound)?;
    let mut errs = FieldErrors::new();
    core::check_text(
        &mut errs,
        "reason",
        "取消原因",
        reason,
        true,
        core::MAX_REASON,
        false,
    );
    errs.into_result()?;
    if a.state() != ActivityState::Published || a.ends_at <= now {
        return Err(refused("state", Refusal::ActivityNotOpen));
    }
    let upd = Query::update()
        .table(VolunteerActivities::Table)
        .values([
            (
                VolunteerActivities::State,
                ActivityState::Cancelled.as_str().into(),
            ),
            (VolunteerActivities::CancelReason, reason.trim().into()),
            (VolunteerActivities::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(VolunteerActivities::Id).eq(id))
        .and_where(Expr::col(VolunteerActivities::State).eq(ActivityState::Published.as_str()))
        .to_owned();
    if c.execute(&upd).await? == 0 {
        return Err(DbError::Conflict(
            "活动状态已被他人修改，请刷新后重试".into(),
        ));
    }
    let upd = Query::update()
        .table(VolunteerSignups::Table)
        .value(VolunteerSignups::State, SignupState::Cancelled.as_str())
        .and_where(Expr::col(VolunteerSignups::ActivityId).eq(id))
        .and_where(Expr::col(VolunteerSignups::State).is_in([
            SignupState::SignedUp.as_str(),
            SignupState::CheckedIn.as_str(),
        ]))
        .to_owned();
    let dropped = c.execute(&upd).await?;
    let ev = Event::new("volunteer_activity_cancel", "volunteer_activity", id)
        .division(&a.division_code)
        .detail(serde_json::json!({"reason": reason.trim(), "signups_cancelled": dropped}));
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(())
}

/// Mark an activity finished (after it ended). Audited.
pub async fn finish_activity(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let a = managed_activity(c, scope, id)
        .await?
        .ok_or(DbError::NotFound)?;
    if a.state() != ActivityState::Published || a.ends_at > now {
        return Err(DbError::invalid(
            "state",
            "not_finishable",
            "活动尚未结束或已取消，不能标记为已结束",
        ));
    }
    let upd = Query::update()
        .table(VolunteerActivities::Table)
        .values([
            (
                VolunteerActivities::State,
                ActivityState::Finished.as_str().into(),
            ),
            (VolunteerActivities::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(VolunteerActivities::Id).eq(id))
        .to_owned();
    c.execute(&upd).await?;
    let ev = Event::new("volunteer_activity_finish", "volunteer_activity", id)
        .division(&a.division_code);
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(())
}

// ---------------------------------------------------------------- sign-ups

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SignupRow {
    pub id: i64,
    pub activity_id: i64,
    pub volunteer_id: i64,
    pub state: String,
    pub signed_up_by: Option<i64>,
    pub signed_up_at: DateTime<Utc>,
    pub checkin_at: Option<DateTime<Utc>>,
    pub checkout_at: Option<DateTime<Utc>>,
    pub minutes: Option<i32>,
    pub confirmed_by: Option<i64>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub note: String,
}

impl SignupRow {
    pub fn state(&self) -> SignupState {
        SignupState::parse(&self.state).unwrap_or(SignupState::Cancelled)
    }
}

fn select_signups() -> SelectStatement {
    Query::select()
        .columns([
            (VolunteerSignups::Table, VolunteerSignups::Id),
            (VolunteerSignups::Table, VolunteerSignups::ActivityId),
            (VolunteerSignups::Table, VolunteerSignups::VolunteerId),
            (VolunteerSignups::Table, VolunteerSignups::State),
            (VolunteerSignups::Table, VolunteerSignups::SignedUpBy),
            (VolunteerSignups::Table, VolunteerSignups::SignedUpAt),
            (VolunteerSignups::Table, VolunteerSignups::CheckinAt),
            (VolunteerSignups::Table, VolunteerSignups::CheckoutAt),
            (VolunteerSignups::Table, VolunteerSignups::Minutes),
            (VolunteerSignups::Table, VolunteerSignups::ConfirmedBy),
            (VolunteerSignups::Table, VolunteerSignups::ConfirmedAt),
            (VolunteerSignups::Table, VolunteerSignups::Note),
        ])
        .from(VolunteerSignups::Table)
        .to_owned()
}

async fn signup_of(c: &mut Conn<'_>, activity: i64, volunteer: i64) -> Result<Option<SignupRow>> {
    let q = select_signups()
        .and_where(Expr::col(VolunteerSignups::ActivityId).eq(activity))
        .and_where(Expr::col(VolunteerSignups::VolunteerId).eq(volunteer))
        .to_owned();
    c.fetch_optional(&q).await
}

/// A volunteer's sign-up for an activity, if any.
pub async fn signup_for(
    c: &mut Conn<'_>,
    activity: i64,
    volunteer: i64,
) -> Result<Option<SignupRow>> {
    signup_of(c, activity, volunteer).await
}

/// Sign `v` up for activity `id`: the activity is published and not yet started,
/// the volunteer is active, a place is left, and no other non-cancelled sign-up
/// of theirs overlaps it. A cancelled sign-up is taken up again. Audited.
pub async fn sign_up(
    c: &mut Conn<'_>,
    actor: &Actor,
    id: i64,
    v: &VolunteerRow,
    now: DateTime<Utc>,
) -> Result<i64> {
    // Take the activity's row lock first so that places are counted once at a time.
    let touch = Query::update()
        .table(VolunteerActivities::Table)
        .value(
            VolunteerActivities::UpdatedAt,
            Expr::col(VolunteerActivities::UpdatedAt),
        )
        .and_where(Expr::col(VolunteerActivities::Id).eq(id))
        .to_owned();
    if c.execute(&touch).await? == 0 {
        return Err(DbError::NotFound);
    }
    let a = activity(c, id).await?.ok_or(DbError::NotFound)?;
    if a.state() != ActivityState::Published {
        return Err(refused("activity", Refusal::ActivityNotOpen));
    }
    if a.starts_at <= now {
        return Err(refused("activity", Refusal::ActivityStarted));
    }
    if v.status() != VolunteerStatus::Active {
        return Err(refused("volunteer", Refusal::VolunteerInactive));
    }
    let existing = signup_of(c, id, v.id).await?;
    if existing.as_ref().is_some_and(|s| s.state().holds_time()) {
        return Err(refused("activity", Refusal::AlreadySignedUp));
    }
    if a.places_left() == 0 {
        return Err(refused("activity", Refusal::QuotaFull));
    }
    if overlapping(c, v.id, &a.period(), id).await? {
        return Err(refused("activity", Refusal::OverlappingSignup));
    }
    let sid = match existing {
        Some(s) => {
            let upd = Query::update()
                .table(VolunteerSignups::Table)
                .values([
                    (
                        VolunteerSignups::State,
                        SignupState::SignedUp.as_str().into(),
                    ),
                    (VolunteerSignups::SignedUpBy, actor.user_id.into()),
                    (VolunteerSignups::SignedUpAt, now.into()),
                ])
                .and_where(Expr::col(VolunteerSignups::Id).eq(s.id))
                .to_owned();
            c.execute(&upd).await?;
            s.id
        }
        None => {
            let ins = Query::insert()
                .into_table(VolunteerSignups::Table)
                .columns([
                    VolunteerSignups::ActivityId,
                    VolunteerSignups::VolunteerId,
                    VolunteerSignups::State,
                    VolunteerSignups::SignedUpBy,
                    VolunteerSignups::SignedUpAt,
                ])
                .values_panic([
                    id.into(),
                    v.id.into(),
                    SignupState::SignedUp.as_str().into(),
                    actor.user_id.into(),
                    now.into(),
                ])
                .to_owned();
            c.insert_id(&ins).await?
        }
    };
    let ev = Event::new("volunteer_signup", "volunteer_signup", sid)
        .division(&a.division_code)
        .detail(serde_json::json!({"activity_id": id, "volunteer_id": v.id}));
    audit::append(c, actor, ev, now).await?;
    Ok(sid)
}

/// Whether volunteer `vid` holds a non-cancelled sign-up, for a non-cancelled
/// activity other than `except`, overlapping `p`.
async fn overlapping(c: &mut Conn<'_>, vid: i64, p: &Period, except: i64) -> Result<bool> {
    let a = VolunteerActivities::Table;
    let s = VolunteerSignups::Table;
    let q = Query::select()
        .expr(Expr::col((s, VolunteerSignups::Id)).count())
        .from(s)
        .join(
            JoinType::InnerJoin,
            a,
            Expr::col((a, VolunteerActivities::Id)).equals((s, VolunteerSignups::ActivityId)),
        )
        .and_where(Expr::col((s, VolunteerSignups::VolunteerId)).eq(vid))
        .and_where(Expr::col((s, VolunteerSignups::State)).is_in(holding_states()))
        .and_where(Expr::col((a, VolunteerActivities::State)).ne(ActivityState::Cancelled.as_str()))
        .and_where(Expr::col((a, VolunteerActivities::Id)).ne(except))
        .and_where(Expr::col((a, VolunteerActivities::StartsAt)).lt(p.ends_at))
        .and_where(Expr::col((a, VolunteerActivities::EndsAt)).gt(p.starts_at))
        .to_owned();
    Ok(c.fetch_i64(&q).await? > 0)
}

/// Withdraw `v`'s sign-up before the activity starts. Audited.
pub async fn cancel_signup(
    c: &mut Conn<'_>,
    actor: &Actor,
    id: i64,
    v: &VolunteerRow,
    now: DateTime<Utc>,
) -> Result<()> {
    let a = activity(c, id).await?.ok_or(DbError::NotFound)?;
    let s = signup_of(c, id, v.id)
        .await?
        .filter(|s| s.state().holds_time())
        .ok_or_else(|| refused("activity", Refusal::NotSignedUp))?;
    if a.starts_at <= now {
        return Err(refused("activity", Refusal::ActivityStarted));
    }
    if s.state() != SignupState::SignedUp {
        return Err(refused("state", Refusal::BadSignupState));
    }
    let upd = Query::update()
        .table(VolunteerSignups::Table)
        .value(VolunteerSignups::State, SignupState::Cancelled.as_str())
        .and_where(Expr::col(VolunteerSignups::Id).eq(s.id))
        .to_owned();
    c.execute(&upd).await?;
    let ev = Event::new("volunteer_signup_cancel", "volunteer_signup", s.id)
        .division(&a.division_code)
        .detail(serde_json::json!({"activity_id": id, "volunteer_id": v.id}));
    audit::append(c, actor, ev, now).await?;
    Ok(())
}

/// The open activity `id` and `v`'s live sign-up for it, when `code` is the
/// code shown at its venue.
async fn at_venue(
    c: &mut Conn<'_>,
    id: i64,
    v: &VolunteerRow,
    code: &str,
) -> Result<(ActivityRow, SignupRow)> {
    let a = activity(c, id).await?.ok_or(DbError::NotFound)?;
    if a.state() == ActivityState::Cancelled {
        return Err(refused("activity", Refusal::ActivityNotOpen));
    }
    let s = signup_of(c, id, v.id)
        .await?
        .filter(|s| s.state().holds_time())
        .ok_or_else(|| refused("activity", Refusal::NotSignedUp))?;
    if !core::code_matches(&a.checkin_code, code) {
        return Err(refused("code", Refusal::WrongCheckinCode));
    }
    Ok((a, s))
}

/// Check `v` in at activity `id` with the code shown at the venue, from 30
/// minutes before the start until the end. Audited.
pub async fn check_in(
    c: &mut Conn<'_>,
    actor: &Actor,
    id: i64,
    v: &VolunteerRow,
    code: &str,
    now: DateTime<Utc>,
) -> Result<SignupRow> {
    let (a, s) = at_venue(c, id, v, code).await?;
    core::may_check_in(&a.period(), now).map_err(|r| refused("code", r))?;
    if s.state() != SignupState::SignedUp {
        return Err(refused("state", Refusal::AlreadyCheckedIn));
    }
    let upd = Query::update()
        .table(VolunteerSignups::Table)
        .values([
            (
                VolunteerSignups::State,
                SignupState::CheckedIn.as_str().into(),
            ),
            (VolunteerSignups::CheckinAt, now.into()),
        ])
        .and_where(Expr::col(VolunteerSignups::Id).eq(s.id))
        .and_where(Expr::col(VolunteerSignups::State).eq(SignupState::SignedUp.as_str()))
        .to_owned();
    c.execute(&upd).await?;
    let ev = Event::new("volunteer_checkin", "volunteer_signup", s.id)
        .division(&a.division_code)
        .detail(serde_json::json!({"activity_id": id, "volunteer_id": v.id}));
    audit::append(c, actor, ev, now).await?;
    signup_of(c, id, v.id).await?.ok_or(DbError::NotFound)
}

/// Check `v` out of activity `id` with the venue code, from the start until 2
/// hours after the end. A later check-out replaces an earlier one. Audited.
pub async fn check_out(
    c: &mut Conn<'_>,
    actor: &Actor,
    id: i64,
    v: &VolunteerRow,
    code: &str,
    now: DateTime<Utc>,
) -> Result<SignupRow> {
    let (a, s) = at_venue(c, id, v, code).await?;
    core::may_check_out(&a.period(), now).map_err(|r| refused("code", r))?;
    if s.state() != SignupState::CheckedIn {
        return Err(refused("state", Refusal::NotCheckedIn));
    }
    let upd = Query::update()
        .table(VolunteerSignups::Table)
        .value(VolunteerSignups::CheckoutAt, now)
        .and_where(Expr::col(VolunteerSignups::Id).eq(s.id))
        .to_owned();
    c.execute(&upd).await?;
    let ev = Event::new("volunteer_checkout", "volunteer_signup", s.id)
        .division(&a.division_code)
        .detail(serde_json::json!({"activity_id": id, "volunteer_id": v.id}));
    audit::append(c, actor, ev, now).await?;
    signup_of(c, id, v.id).await?.ok_or(DbError::NotFound)
}

/// A sign-up as the organiser's list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SignupLine {
    pub id: i64,
    pub volunteer_id: i64,
    pub volunteer_no: String,
    pub name: String,
    pub phone_masked: Option<String>,
    pub state: String,
    pub signed_up_at: DateTime<Utc>,
    pub checkin_at: Option<DateTime<Utc>>,
    pub checkout_at: Option<DateTime<Utc>>,
    pub minutes: Option<i32>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub note: String,
}

impl SignupLine {
    pub fn state(&self) -> SignupState {
        SignupState::parse(&self.state).unwrap_or(SignupState::Cancelled)
    }
}

/// The sign-ups of an activity held in the caller's subtree, by volunteer number.
pub async fn signups(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Vec<SignupLine>> {
    managed_activity(c, scope, id)
        .await?
        .ok_or(DbError::NotFound)?;
    let s = VolunteerSignups::Table;
    let v = Volunteers::Table;
    let q = Query::select()
        .columns([
            (s, VolunteerSignups::Id),
            (s, VolunteerSignups::VolunteerId),
        ])
        .column((v, Volunteers::VolunteerNo))
        .column((v, Volunteers::Name))
        .column((v, Volunteers::PhoneMasked))
        .columns([
            (s, VolunteerSignups::State),
            (s, VolunteerSignups::SignedUpAt),
            (s, VolunteerSignups::CheckinAt),
            (s, VolunteerSignups::CheckoutAt),
            (s, VolunteerSignups::Minutes),
            (s, VolunteerSignups::ConfirmedAt),
            (s, VolunteerSignups::Note),
        ])
        .from(s)
        .join(
            JoinType::InnerJoin,
            v,
            Expr::col((v, Volunteers::Id)).equals((s, VolunteerSignups::VolunteerId)),
        )
        .and_where(Expr::col((s, VolunteerSignups::ActivityId)).eq(id))
        .order_by((v, Volunteers::VolunteerNo), Order::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

async fn managed_signup(
    c: &mut Conn<'_>,
    scope: &Scope,
    signup: i64,
) -> Result<(SignupRow, ActivityRow)> {
    let s: SignupRow = c
        .fetch_optional(
            &select_signups()
                .and_where(Expr::col(VolunteerSignups::Id).eq(signup))
                .to_owned(),
        )
        .await?
        .ok_or(DbError::NotFound)?;
    let a = managed_activity(c, scope, s.activity_id)
        .await?
        .ok_or(DbError::NotFound)?;
    Ok((s, a))
}

/// What the organiser records for one sign-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoursEntry {
    /// Confirm these minutes (`None`: the default from check-in/out).
    Minutes(Option<i64>),
    /// The volunteer did not come.
    NoShow,
}

/// Record the organiser's confirmation for one sign-up of an activity in the
/// caller's subtree, once the activity has started: confirmed minutes
/// (default: check-in..check-out within the activity; never more than the
/// activity's length) → completed, or no-show. Audited; returns the minutes.
pub async fn confirm(
    c: &mut Conn<'_>,
    scope: &Scope,
    signup: i64,
    entry: HoursEntry,
    note: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let (s, a) = managed_signup(c, scope, signup).await?;
    let mut errs = FieldErrors::new();
    core::check_text(
        &mut errs,
        "note",
        "备注",
        note,
        false,
        core::MAX_REASON,
        false,
    );
    errs.into_result()?;
    if a.state() == ActivityState::Cancelled {
        return Err(refused("activity", Refusal::ActivityNotOpen));
    }
    if a.starts_at > now {
        return Err(DbError::invalid(
            "activity",
            "not_started",
            "活动尚未开始，不能确认服务时长",
        ));
    }
    match s.state() {
        SignupState::Completed => return Err(refused("minutes", Refusal::AlreadyConfirmed)),
        SignupState::SignedUp | SignupState::CheckedIn => {}
        SignupState::NoShow | SignupState::Cancelled => {
            return Err(refused("state", Refusal::BadSignupState));
        }
    }
    let (state, minutes) = match entry {
        HoursEntry::NoShow => {
            if s.state() != SignupState::SignedUp {
                return Err(refused("state", Refusal::BadSignupState));
            }
            (SignupState::NoShow, None)
        }
        HoursEntry::Minutes(m) => {
            let m = m
                .unwrap_or_else(|| core::default_minutes(&a.period(), s.checkin_at, s.checkout_at));
            core::check_minutes(&a.period(), m).map_err(|r| refused("minutes", r))?;
            (SignupState::Completed, Some(m))
        }
    };
    let upd = Query::update()
        .table(VolunteerSignups::Table)
        .values([
            (VolunteerSignups::State, state.as_str().into()),
            (
                VolunteerSignups::Minutes,
                minutes.and_then(|m| i32::try_from(m).ok()).into(),
            ),
            (VolunteerSignups::ConfirmedBy, scope.actor.user_id.into()),
            (VolunteerSignups::ConfirmedAt, now.into()),
            (VolunteerSignups::Note, note.trim().into()),
        ])
        .and_where(Expr::col(VolunteerSignups::Id).eq(s.id))
        .and_where(Expr::col(VolunteerSignups::State).eq(s.state.as_str()))
        .to_owned();
    if c.execute(&upd).await? == 0 {
        return Err(DbError::Conflict(
            "报名状态已被他人修改，请刷新后重试".into(),
        ));
    }
    let (action, detail) = match minutes {
        Some(m) => (
            "volunteer_hours_confirm",
            serde_json::json!({"activity_id": a.id, "volunteer_id": s.volunteer_id, "minutes": m}),
        ),
        None => (
            "volunteer_no_show",
            serde_json::json!({"activity_id": a.id, "volunteer_id": s.volunteer_id}),
        ),
    };
    let ev = Event::new(action, "volunteer_signup", s.id)
        .division(&a.division_code)
        .detail(detail);
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(minutes.unwrap_or(0))
}

/// Correct confirmed minutes (on the volunteer's request, verified by the
/// organiser): a reason is required; the change is logged in
/// `volunteer_hour_corrections` and audited.
pub async fn correct(
    c: &mut Conn<'_>,
    scope: &Scope,
    signup: i64,
    minutes: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let (s, a) = managed_signup(c, scope, signup).await?;
    if reason.trim().is_empty() {
        return Err(refused("reason", Refusal::ReasonRequired));
    }
    let mut errs = FieldErrors::new();
    core::check_text(
        &mut errs,
        "reason",
        "更正理由",
        reason,
        true,
        core::MAX_REASON,
        false,
    );
    errs.into_result()?;
    if s.state() != SignupState::Completed {
        return Err(refused("minutes", Refusal::NotConfirmed));
    }
    core::check_minutes(&a.period(), minutes).map_err(|r| refused("minutes", r))?;
    let new = i32::try_from(minutes).unwrap_or(0);
    let ins = Query::insert()
        .into_table(VolunteerHourCorrections::Table)
        .columns([
            VolunteerHourCorrections::SignupId,
            VolunteerHourCorrections::OldMinutes,
            VolunteerHourCorrections::NewMinutes,
            VolunteerHourCorrections::Reason,
            VolunteerHourCorrections::ByUser,
            VolunteerHourCorrections::At,
        ])
        .values_panic([
            s.id.into(),
            s.minutes.into(),
            new.into(),
            reason.trim().into(),
            scope.actor.user_id.into(),
            now.into(),
        ])
        .to_owned();
    c.execute(&ins).await?;
    let upd = Query::update()
        .table(VolunteerSignups::Table)
        .value(VolunteerSignups::Minutes, new)
        .and_where(Expr::col(VolunteerSignups::Id).eq(s.id))
        .to_owned();
    c.execute(&upd).await?;
    let ev = Event::new("volunteer_hours_correct", "volunteer_signup", s.id)
        .division(&a.division_code)
        .detail(serde_json::json!({
            "activity_id": a.id, "volunteer_id": s.volunteer_id,
            "minutes": {"before": s.minutes, "after": new}, "reason": reason.trim(),
        }));
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CorrectionRow {
    pub id: i64,
    pub signup_id: i64,
    pub old_minutes: Option<i32>,
    pub new_minutes: i32,
    pub reason: String,
    pub by_user: Option<i64>,
    pub at: DateTime<Utc>,
}

/// The corrections of a sign-up, oldest first.
pub async fn corrections(c: &mut Conn<'_>, signup: i64) -> Result<Vec<CorrectionRow>> {
    let q = Query::select()
        .columns([
            VolunteerHourCorrections::Id,
            VolunteerHourCorrections::SignupId,
            VolunteerHourCorrections::OldMinutes,
            VolunteerHourCorrections::NewMinutes,
            VolunteerHourCorrections::Reason,
            VolunteerHourCorrections::ByUser,
            VolunteerHourCorrections::At,
        ])
        .from(VolunteerHourCorrections::Table)
        .and_where(Expr::col(VolunteerHourCorrections::SignupId).eq(signup))
        .order_by(VolunteerHourCorrections::Id, Order::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

// ---------------------------------------------------------------- records

/// One line of a volunteer's service record.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RecordLine {
    pub signup_id: i64,
    pub activity_id: i64,
    pub title: String,
    pub division_code: String,
    pub place: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub category: String,
    pub elder_care: bool,
    pub activity_state: String,
    pub state: String,
    pub checkin_at: Option<DateTime<Utc>>,
    pub checkout_at: Option<DateTime<Utc>>,
    pub minutes: Option<i32>,
}

/// A volunteer's service record: their sign-ups (newest first) and the total of
/// confirmed minutes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub lines: Vec<RecordLine>,
    pub total_minutes: i64,
    pub completed: i64,
}

/// The service record of volunteer `vid`.
pub async fn record(c: &mut Conn<'_>, vid: i64, limit: u64) -> Result<Record> {
    let a = VolunteerActivities::Table;
    let s = VolunteerSignups::Table;
    let q = Query::select()
        .expr_as(Expr::col((s, VolunteerSignups::Id)), "signup_id")
        .expr_as(Expr::col((a, VolunteerActivities::Id)), "activity_id")
        .columns([
            (a, VolunteerActivities::Title),
            (a, VolunteerActivities::DivisionCode),
            (a, VolunteerActivities::Place),
            (a, VolunteerActivities::StartsAt),
            (a, VolunteerActivities::EndsAt),
            (a, VolunteerActivities::Category),
            (a, VolunteerActivities::ElderCare),
        ])
        .expr_as(Expr::col((a, VolunteerActivities::State)), "activity_state")
        .columns([
            (s, VolunteerSignups::State),
            (s, VolunteerSignups::CheckinAt),
            (s, VolunteerSignups::CheckoutAt),
            (s, VolunteerSignups::Minutes),
        ])
        .from(s)
        .join(
            JoinType::InnerJoin,
            a,
            Expr::col((a, VolunteerActivities::Id)).equals((s, VolunteerSignups::ActivityId)),
        )
        .and_where(Expr::col((s, VolunteerSignups::VolunteerId)).eq(vid))
        .order_by((a, VolunteerActivities::StartsAt), Order::Desc)
        .limit(limit)
        .to_owned();
    let lines: Vec<RecordLine> = c.fetch_all(&q).await?;
    let total = Query::select()
        .expr(Func::coalesce([
            Expr::col(VolunteerSignups::Minutes).sum(),
            Expr::val(0),
        ]))
        .from(s)
        .and_where(Expr::col(VolunteerSignups::VolunteerId).eq(vid))
        .and_where(Expr::col(VolunteerSignups::State).eq(SignupState::Completed.as_str()))
        .to_owned();
    let total_minutes = c.fetch_i64(&total).await?;
    let completed = Query::select()
        .expr(Expr::col(VolunteerSignups::Id).count())
        .from(s)
        .and_where(Expr::col(VolunteerSignups::VolunteerId).eq(vid))
        .and_where(Expr::col(VolunteerSignups::State).eq(SignupState::Completed.as_str()))
        .to_owned();
    let completed = c.fetch_i64(&completed).await?;
    Ok(Record {
        lines,
        total_minutes,
        completed,
    })
}

/// Confirmed service per team member over a period, for the hours export.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TeamHoursLine {
    pub team_id: i64,
    pub team_name: String,
    pub team_kind: String,
    pub team_division_code: String,
    pub volunteer_no: String,
    pub name: String,
    pub activities: i64,
    pub minutes: i64,
}

/// Confirmed minutes of activities starting in `[from, to)` per member of every
/// team in the caller's subtree (members without service included, with 0).
pub async fn hours_by_team(
    c: &mut Conn<'_>,
    scope: &Scope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<TeamHoursLine>> {
    let t = VolunteerTeams::Table;
    let m = VolunteerTeamMembers::Table;
    let v = Volunteers::Table;
    let s = VolunteerSignups::Table;
    let a = VolunteerActivities::Table;
    let done = |col| {
        Query::select()
            .expr(col)
            .from(s)
            .join(
                JoinType::InnerJoin,
                a,
                Expr::col((a, VolunteerActivities::Id)).equals((s, VolunteerSignups::ActivityId)),
            )
            .and_where(
                Expr::col((s, VolunteerSignups::VolunteerId))
                    .equals((m, VolunteerTeamMembers::VolunteerId)),
            )
            .and_where(Expr::col((s, VolunteerSignups::State)).eq(SignupState::Completed.as_str()))
            .and_where(Expr::col((a, VolunteerActivities::StartsAt)).gte(from))
            .and_where(Expr::col((a, VolunteerActivities::StartsAt)).lt(to))
            .to_owned()
    };
    let count = done(Expr::col((s, VolunteerSignups::Id)).count());
    let sum = done(
        Func::coalesce([
            Expr::col((s, VolunteerSignups::Minutes)).sum(),
            Expr::val(0),
        ])
        .into(),
    );
    let q = Query::select()
        .expr_as(Expr::col((t, VolunteerTeams::Id)), "team_id")
        .expr_as(Expr::col((t, VolunteerTeams::Name)), "team_name")
        .expr_as(Expr::col((t, VolunteerTeams::Kind)), "team_kind")
        .expr_as(
            Expr::col((t, VolunteerTeams::DivisionCode)),
            "team_division_code",
        )
        .column((v, Volunteers::VolunteerNo))
        .column((v, Volunteers::Name))
        .expr_as(Expr::SubQuery(None, Box::new(count.into())), "activities")
        .expr_as(Expr::SubQuery(None, Box::new(sum.into())), "minutes")
        .from(t)
        .join(
            JoinType::InnerJoin,
            m,
            Expr::col((m, VolunteerTeamMembers::TeamId)).equals((t, VolunteerTeams::Id)),
        )
        .join(
            JoinType::InnerJoin,
            v,
            Expr::col((v, Volunteers::Id)).equals((m, VolunteerTeamMembers::VolunteerId)),
        )
        .cond_where(scope.condition((t, VolunteerTeams::DivisionCode)))
        .order_by((t, VolunteerTeams::Id), Order::Asc)
        .order_by((v, Volunteers::VolunteerNo), Order::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

/// Register counts in the caller's subtree: volunteers, active ones, teams, open stations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Overview {
    pub volunteers: i64,
    pub active: i64,
    pub teams: i64,
    pub stations: i64,
}

pub async fn overview(c: &mut Conn<'_>, scope: &Scope) -> Result<Overview> {
    let vq = Query::select()
        .expr(Expr::col(Volunteers::Id).count())
        .from(Volunteers::Table)
        .cond_where(scope.condition(Volunteers::DivisionCode))
        .to_owned();
    let volunteers = c.fetch_i64(&vq).await?;
    let active = c
        .fetch_i64(
            &vq.clone()
                .and_where(Expr::col(Volunteers::Status).eq(VolunteerStatus::Active.as_str()))
                .to_owned(),
        )
        .await?;
    let tq = Query::select()
        .expr(Expr::col(VolunteerTeams::Id).count())
        .from(VolunteerTeams::Table)
        .cond_where(scope.condition(VolunteerTeams::DivisionCode))
        .to_owned();
    let teams = c.fetch_i64(&tq).await?;
    let sq = Query::select()
        .expr(Expr::col(VolunteerStations::Id).count())
        .from(VolunteerStations::Table)
        .cond_where(scope.condition(VolunteerStations::DivisionCode))
        .and_where(Expr::col(VolunteerStations::ClosedAt).is_null())
        .to_owned();
    let stations = c.fetch_i64(&sq).await?;
    Ok(Overview {
        volunteers,
        active,
        teams,
        stations,
    })
}
