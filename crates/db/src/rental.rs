//! Store for `rental` (康复辅具租赁): rental points at community facilities,
//! their aids, loans and returns.
//!
//! Scoped like [`crate::facilities`]: points, items and loans carry the
//! division of the point's community, and every read and write takes a
//! [`Scope`] whose condition is part of the query. Every write appends an audit
//! entry inside the caller's transaction; a new loan also refreshes the plan
//! targets of its community (the `rehab_rental_pilots` indicator counts
//! communities that lent in the last 12 months).
//!
//! Borrowers are residents from the register (`people`, in scope) or named
//! borrowers with a phone number, sealed with [`Protector`] under
//! [`F_BORROWER_PHONE`], filed under a blind index and shown masked.

use crate::audit::{self, Event};
use crate::scope::Scope;
use crate::{Conn, DbError, Page, PageReq, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, Iden, JoinType, Order, Query, SelectStatement};
use serde::Serialize;
use shequ_core::crypto::Protector;
use shequ_core::rental::{
    self as core, Condition as ItemCondition, FeeRule, ItemAction, ItemState, RentalRefusal,
    local_date,
};
use shequ_core::{DivisionCode, FieldErrors, Level, Phone, Tag};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Iden, Clone, Copy)]
enum RentalPoints {
    Table,
    Id,
    FacilityId,
    DivisionCode,
    Name,
    ContactName,
    ContactPhone,
    OpeningNote,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
enum RentalItems {
    Table,
    Id,
    PointId,
    DivisionCode,
    Kind,
    AssetTag,
    Condition,
    State,
    DailyFeeFen,
    DepositFen,
    Note,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
enum RentalLoans {
    Table,
    Id,
    ItemId,
    PointId,
    DivisionCode,
    PersonId,
    BorrowerName,
    BorrowerPhoneEnc,
    BorrowerPhoneIndex,
    BorrowerPhoneMasked,
    StartDate,
    DueDate,
    FeeRule,
    DailyFeeFen,
    DepositFen,
    Extensions,
    ReturnedOn,
    ReturnCondition,
    FeeFen,
    DepositKeptFen,
    DepositRefundFen,
    AmountDueFen,
    KeepReason,
    LentBy,
    ReturnedBy,
    CreatedAt,
    ReturnedAt,
}

#[derive(Iden, Clone, Copy)]
enum Facilities {
    Table,
    Id,
    Name,
}

#[derive(Iden, Clone, Copy)]
enum PersonTags {
    Table,
    PersonId,
    TagIndex,
}

/// Field name bound into a sealed borrower phone and its blind index.
pub const F_BORROWER_PHONE: &str = "rental.borrower_phone";
/// Longest point name, in characters.
pub const MAX_NAME: usize = 60;
/// Longest contact name, in characters.
pub const MAX_CONTACT: usize = 30;
/// Longest opening note, item note or keep reason, in characters.
pub const MAX_NOTE: usize = 200;
/// Longest asset tag.
pub const MAX_ASSET_TAG: usize = 40;
/// Longest borrower name, in characters.
pub const MAX_BORROWER: usize = 30;

fn refusal(r: &RentalRefusal) -> DbError {
    DbError::invalid(r.field(), r.code(), r.to_string())
}

fn has_bad_chars(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || "<>\"&".contains(c))
}

fn check_text(
    errs: &mut FieldErrors,
    field: &str,
    value: &str,
    max: usize,
    label: &str,
    required: bool,
) {
    let n = value.trim().chars().count();
    if n == 0 && required {
        errs.add(field, "required", format!("{label}不能为空"));
    } else if n > max {
        errs.add(field, "too_long", format!("{label}不能超过 {max} 个字"));
    } else if has_bad_chars(value) {
        errs.add(
            field,
            "bad_chars",
            format!("{label}不能含有 < > \" & 或控制字符"),
        );
    }
}

// ---------------------------------------------------------------- points

/// A rental point's fields as entered.
#[derive(Debug, Clone, PartialEq)]
pub struct PointInput {
    /// The facility that hosts it; must lie in a village/community in scope.
    pub facility_id: i64,
    pub name: String,
    pub contact_name: String,
    /// A service number (public, not personal data).
    pub contact_phone: String,
    pub opening_note: String,
    pub active: bool,
}

/// A rental point's row.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PointRow {
    pub id: i64,
    pub facility_id: i64,
    pub facility_name: String,
    pub division_code: String,
    pub name: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub opening_note: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Counts of one point (or one division): items by state, open and overdue loans.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Items not scrapped.
    pub items: i64,
    pub in_stock: i64,
    pub on_loan: i64,
    pub repair: i64,
    pub scrapped: i64,
    /// Loans not returned whose due date has passed.
    pub overdue: i64,
}

/// A point in a list, with its counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointSummary {
    #[serde(flatten)]
    pub row: PointRow,
    pub counts: Counts,
}

fn select_points() -> SelectStatement {
    Query::select()
        .columns([
            (RentalPoints::Table, RentalPoints::Id),
            (RentalPoints::Table, RentalPoints::FacilityId),
        ])
        .expr_as(
            Expr::col((Facilities::Table, Facilities::Name)),
            sea_query::Alias::new("facility_name"),
        )
        .columns([
            (RentalPoints::Table, RentalPoints::DivisionCode),
            (RentalPoints::Table, RentalPoints::Name),
            (RentalPoints::Table, RentalPoints::ContactName),
            (RentalPoints::Table, RentalPoints::ContactPhone),
            (RentalPoints::Table, RentalPoints::OpeningNote),
            (RentalPoints::Table, RentalPoints::Active),
            (RentalPoints::Table, RentalPoints::CreatedAt),
            (RentalPoints::Table, RentalPoints::UpdatedAt),
        ])
        .from(RentalPoints::Table)
        .join(
            JoinType::InnerJoin,
            Facilities::Table,
            Expr::col((Facilities::Table, Facilities::Id))
                .equals((RentalPoints::Table, RentalPoints::FacilityId)),
        )
        .to_owned()
}

fn check_point(p: &PointInput) -> Result<()> {
    let mut errs = FieldErrors::new();
    check_text(&mut errs, "name", &p.name, MAX_NAME, "租赁点名称", true);
    check_text(
        &mut errs,
        "contact_name",
        &p.contact_name,
        MAX_CONTACT,
        "联系人",
        false,
    );
    let phone = p.contact_phone.trim();
    if !phone.is_empty() && Phone::parse(phone).is_err() {
        errs.add("contact_phone", "bad_phone", "联系电话格式有误");
    }
    check_text(
        &mut errs,
        "opening_note",
        &p.opening_note,
        MAX_NOTE,
        "开放时间说明",
        false,
    );
    Ok(errs.into_result()?)
}

/// The facility's division, when the facility is in scope and in a village/community.
async fn facility_division(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<DivisionCode> {
    let f = crate::facilities::get(c, scope, id).await?.ok_or_else(|| {
        DbError::invalid(
            "facility_id",
            "unknown_facility",
            "设施不存在或不在您的管辖范围内",
        )
    })?;
    let code = DivisionCode::parse(&f.row.division_code)
        .map_err(|e| DbError::invalid("facility_id", e.code(), e.to_string()))?;
    match code.level() {
        Level::Village | Level::Grid => Ok(DivisionCode::parse(
            code.as_str().get(0..12).unwrap_or(code.as_str()),
        )
        .unwrap_or(code)),
        _ => Err(DbError::invalid(
            "facility_id",
            "facility_not_in_community",
            "租赁点应设在村（社区）的服务设施中",
        )),
    }
}

fn point_detail(p: &PointInput) -> serde_json::Value {
    serde_json::json!({
        "facility_id": p.facility_id, "name": p.name.trim(), "contact_name": p.contact_name.trim(),
        "opening_note": p.opening_note.trim(), "active": p.active,
    })
}

/// Open a rental point at a facility in a village/community in scope. Audited.
pub async fn create_point(
    c: &mut Conn<'_>,
    scope: &Scope,
    p: &PointInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    check_point(p)?;
    let division = facility_division(c, scope, p.facility_id).await?;
    let ins = Query::insert()
        .into_table(RentalPoints::Table)
        .columns([
            RentalPoints::FacilityId,
            RentalPoints::DivisionCode,
            RentalPoints::Name,
            RentalPoints::ContactName,
            RentalPoints::ContactPhone,
            RentalPoints::OpeningNote,
            RentalPoints::Active,
            RentalPoints::CreatedAt,
            RentalPoints::UpdatedAt,
        ])
        .values_panic([
            p.facility_id.into(),
            division.as_str().into(),
            p.name.trim().into(),
            p.contact_name.trim().into(),
            p.contact_phone.trim().into(),
            p.opening_note.trim().into(),
            p.active.into(),
            now.into(),
            now.into(),
        ])
        .to_owned();
    let id = c.insert_id(&ins).await?;
    let ev = Event::new("rental_point_create", "rental_point", id)
        .division(division.as_str())
        .detail(point_detail(p));
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(id)
}

/// Change a point's fields (it may move to another facility in scope). Audited.
pub async fn update_point(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    p: &PointInput,
    now: DateTime<Utc>,
) -> Result<()> {
    let before = get_point(c, scope, id).await?.ok_or(DbError::NotFound)?;
    check_point(p)?;
    let division = facility_division(c, scope, p.facility_id).await?;
    if division.as_str() != before.division_code && has_open_loans(c, id).await? {
        return Err(DbError::invalid(
            "facility_id",
            "point_has_loans",
            "租赁点还有未归还的辅具，不能迁往其他社区",
        ));
    }
    let upd = Query::update()
        .table(RentalPoints::Table)
        .values([
            (RentalPoints::FacilityId, p.facility_id.into()),
            (RentalPoints::DivisionCode, division.as_str().into()),
            (RentalPoints::Name, p.name.trim().into()),
            (RentalPoints::ContactName, p.contact_name.trim().into()),
            (RentalPoints::ContactPhone, p.contact_phone.trim().into()),
            (RentalPoints::OpeningNote, p.opening_note.trim().into()),
            (RentalPoints::Active, p.active.into()),
            (RentalPoints::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(RentalPoints::Id).eq(id))
        .to_owned();
    c.execute(&upd).await?;
    if division.as_str() != before.division_code {
        for upd in [Query::update()
            .table(RentalItems::Table)
            .value(RentalItems::DivisionCode, division.as_str())
            .and_where(Expr::col(RentalItems::PointId).eq(id))
            .to_owned()]
        {
            c.execute(&upd).await?;
        }
    }
    let ev = Event::new("rental_point_update", "rental_point", id)
        .division(division.as_str())
        .detail(
            serde_json::json!({"before": {"name": before.name, "division": before.division_code,
            "facility_id": before.facility_id, "active": before.active}, "after": point_detail(p)}),
        );
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(())
}

async fn has_open_loans(c: &mut Conn<'_>, point_id: i64) -> Result<bool> {
    let q = Query::select()
        .expr(Expr::col(RentalLoans::Id).count())
        .from(RentalLoans::Table)
        .and_where(Expr::col(RentalLoans::PointId).eq(point_id))
        .and_where(Expr::col(RentalLoans::ReturnedOn).is_null())
        .to_owned();
    Ok(c.fetch_i64(&q).await? > 0)
}

/// One point in scope.
pub async fn get_point(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<PointRow>> {
    let q = select_points()
        .and_where(Expr::col((RentalPoints::Table, RentalPoints::Id)).eq(id))
        .cond_where(scope.condition((RentalPoints::Table, RentalPoints::DivisionCode)))
        .to_owned();
    c.fetch_optional(&q).await
}

/// Points in scope (or in `division` inside it), by division then name, with counts at `today`.
pub async fn list_points(
    c: &mut Conn<'_>,
    scope: &Scope,
    division: Option<&DivisionCode>,
    today: NaiveDate,
    page: PageReq,
) -> Result<Page<PointSummary>> {
    let mut q = select_points()
        .cond_where(scope.condition((RentalPoints::Table, RentalPoints::DivisionCode)))
        .to_owned();
    if let Some(d) = division {
        let narrowed = Scope::new(d.clone(), scope.role, scope.actor.clone());
        if !scope.contains(d) {
            return Ok(Page {
                items: Vec::new(),
                total: 0,
            });
        }
        q.cond_where(narrowed.condition((RentalPoints::Table, RentalPoints::DivisionCode)));
    }
    let mut count = q.clone();
    count
        .clear_selects()
        .expr(Expr::col((RentalPoints::Table, RentalPoints::Id)).count());
    let total = c.fetch_i64(&count).await?;
    q.order_by(
        (RentalPoints::Table, RentalPoints::DivisionCode),
        Order::Asc,
    )
    .order_by((RentalPoints::Table, RentalPoints::Id), Order::Asc)
    .limit(page.per_page)
    .offset(page.offset());
    let rows: Vec<PointRow> = c.fetch_all(&q).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let counts = point_counts(c, &ids, today).await?;
    Ok(Page {
        items: rows
            .into_iter()
            .map(|row| PointSummary {
                counts: counts.get(&row.id).copied().unwrap_or_default(),
                row,
            })
            .collect(),
        total,
    })
}

fn add_state(k: &mut Counts, state: &str, n: i64) {
    match ItemState::parse(state) {
        Some(ItemState::InStock) => k.in_stock += n,
        Some(ItemState::OnLoan) => k.on_loan += n,
        Some(ItemState::Repair) => k.repair += n,
        Some(ItemState::Scrapped) => k.scrapped += n,
        None => {}
    }
    if ItemState::parse(state) != Some(ItemState::Scrapped) {
        k.items += n;
    }
}

/// Counts per point.
pub async fn point_counts(
    c: &mut Conn<'_>,
    ids: &[i64],
    today: NaiveDate,
) -> Result<BTreeMap<i64, Counts>> {
    let mut out: BTreeMap<i64, Counts> = BTreeMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let q = Query::select()
        .columns([RentalItems::PointId, RentalItems::State])
        .expr(Expr::col(RentalItems::Id).count())
        .from(RentalItems::Table)
        .and_where(Expr::col(RentalItems::PointId).is_in(ids.iter().copied()))
        .group_by_col(RentalItems::PointId)
        .group_by_col(RentalItems::State)
        .to_owned();
    let rows: Vec<(i64, String, i64)> = c.fetch_all(&q).await?;
    for (p, s, n) in rows {
        add_state(out.entry(p).or_default(), &s, n);
    }
    let q = Query::select()
        .column(RentalLoans::PointId)
        .expr(Expr::col(RentalLoans::Id).count())
        .from(RentalLoans::Table)
        .and_where(Expr::col(RentalLoans::PointId).is_in(ids.iter().copied()))
        .and_where(Expr::col(RentalLoans::ReturnedOn).is_null())
        .and_where(Expr::col(RentalLoans::DueDate).lt(today))
        .group_by_col(RentalLoans::PointId)
        .to_owned();
    let rows: Vec<(i64, i64)> = c.fetch_all(&q).await?;
    for (p, n) in rows {
        out.entry(p).or_default().overdue += n;
    }
    Ok(out)
}

// ---------------------------------------------------------------- items

/// An aid to put on a point's inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemInput {
    /// A catalogue code (`wheelchair`) or label (`轮椅`).
    pub kind: String,
    /// Unique within the point.
    pub asset_tag: String,
    pub condition: ItemCondition,
    /// Defaults to the catalogue's daily fee.
    pub daily_fee_fen: Option<i64>,
    /// Defaults to the catalogue's deposit.
    pub deposit_fen: Option<i64>,
    pub note: String,
}

/// An item's row.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ItemRow {
    pub id: i64,
    pub point_id: i64,
    pub division_code: String,
    pub kind: String,
    pub asset_tag: String,
    pub condition: String,
    pub state: String,
    pub daily_fee_fen: i64,
    pub deposit_fen: i64,
    pub note: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ItemRow {
    pub fn state(&self) -> ItemState {
        ItemState::parse(&self.state).unwrap_or(ItemState::Scrapped)
    }

    pub fn condition(&self) -> ItemCondition {
        ItemCondition::parse(&self.condition).unwrap_or(ItemCondition::Scrapped)
    }

    pub fn kind_label(&self) -> &str {
        core::aid_label(&self.kind)
    }
}

fn select_items() -> SelectStatement {
    Query::select()
        .columns([
            RentalItems::Id,
            RentalItems::PointId,
            RentalItems::DivisionCode,
            RentalItems::Kind,
            RentalItems::AssetTag,
            RentalItems::Condition,
            RentalItems::State,
            RentalItems::DailyFeeFen,
            RentalItems::DepositFen,
            RentalItems::Note,
            RentalItems::CreatedAt,
            RentalItems::UpdatedAt,
        ])
        .from(RentalItems::Table)
        .to_owned()
}

/// The checked fields of an item: kind code, tag, fee, deposit.
fn check_item(i: &ItemInput) -> Result<(&'static str, String, i64, i64)> {
    let mut errs = FieldErrors::new();
    let kind = core::aid_kind(&i.kind);
    if kind.is_none() {
        errs.add("kind", "unknown_kind", "辅具类别不在目录中");
    }
    let tag = i.asset_tag.trim().to_owned();
    if tag.is_empty() {
        errs.add("asset_tag", "required", "资产编号不能为空");
    } else if tag.chars().count() > MAX_ASSET_TAG
        || !tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '/')
    {
        errs.add(
            "asset_tag",
            "bad_asset_tag",
            format!("资产编号应为不超过 {MAX_ASSET_TAG} 位的字母、数字、- _ /"),
        );
    }
    check_text(&mut errs, "note", &i.note, MAX_NOTE, "备注", false);
    let fee = i
        .daily_fee_fen
        .or(kind.map(|k| k.daily_fee_fen))
        .unwrap_or(0);
    let deposit = i.deposit_fen.or(kind.map(|k| k.deposit_fen)).unwrap_or(0);
    for (field, v) in [("daily_fee_fen", fee), ("deposit_fen", deposit)] {
        if core::check_amount(v).is_err() {
            errs.add(field, "bad_amount", "金额应在 0 到 100000 元之间");
        }
    }
    errs.into_result()?;
    match kind {
        Some(k) => Ok((k.code, tag, fee, deposit)),
        None => Err(DbError::Conflict("辅具类别校验失败".into())),
    }
}

fn duplicate_tag() -> DbError {
    DbError::invalid("asset_tag", "duplicate_asset_tag", "该租赁点已有此资产编号")
}

/// Put an aid on a point's inventory (state from its condition). Audited.
pub async fn add_item(
    c: &mut Conn<'_>,
    scope: &Scope,
    point_id: i64,
    i: &ItemInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    let point = get_point(c, scope, point_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let (kind, tag, fee, deposit) = check_item(i)?;
    let q = select_items()
        .and_where(Expr::col(RentalItems::PointId).eq(point_id))
        .and_where(Expr::col(RentalItems::AssetTag).eq(tag.clone()))
        .to_owned();
    if c.fetch_optional::<ItemRow>(&q).await?.is_some() {
        return Err(duplicate_tag());
    }
    let state = ItemState::for_condition(i.condition);
    let ins = Query::insert()
        .into_table(RentalItems::Table)
        .columns([
            RentalItems::PointId,
            RentalItems::DivisionCode,
            RentalItems::Kind,
            RentalItems::AssetTag,
            RentalItems::Condition,
            RentalItems::State,
            RentalItems::DailyFeeFen,
            RentalItems::DepositFen,
            RentalItems::Note,
            RentalItems::CreatedAt,
            RentalItems::UpdatedAt,
        ])
        .values_panic([
            point_id.into(),
            point.division_code.clone().into(),
            kind.into(),
            tag.clone().into(),
            i.condition.as_str().into(),
            state.as_str().into(),
            fee.into(),
            deposit.into(),
            i.note.trim().into(),
            now.into(),
            now.into(),
        ])
        .to_owned();
    let id = match c.insert_id(&ins).await {
        Ok(id) => id,
        Err(DbError::Conflict(_)) => return Err(duplicate_tag()),
        Err(e) => return Err(e),
    };
    let ev = Event::new("rental_item_create", "rental_item", id)
        .division(&point.division_code)
        .detail(
            serde_json::json!({"point_id": point_id, "kind": kind, "asset_tag": tag,
            "condition": i.condition.as_str(), "daily_fee_fen": fee, "deposit_fen": deposit}),
        );
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(id)
}

/// One item in scope.
pub async fn get_item(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<ItemRow>> {
    let q = select_items()
        .and_where(Expr::col(RentalItems::Id).eq(id))
        .cond_where(scope.condition(RentalItems::DivisionCode))
        .to_owned();
    c.fetch_optional(&q).await
}

/// A point's inventory, by kind then asset tag.
pub async fn items(c: &mut Conn<'_>, scope: &Scope, point_id: i64) -> Result<Vec<ItemRow>> {
    let q = select_items()
        .and_where(Expr::col(RentalItems::PointId).eq(point_id))
        .cond_where(scope.condition(RentalItems::DivisionCode))
        .order_by(RentalItems::Kind, Order::Asc)
        .order_by(RentalItems::AssetTag, Order::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

/// Move an item from `from` to `to` with its condition, only if still in `from`.
async fn set_state(
    c: &mut Conn<'_>,
    id: i64,
    from: ItemState,
    to: ItemState,
    condition: ItemCondition,
    now: DateTime<Utc>,
) -> Result<()> {
    let upd = Query::update()
        .table(RentalItems::Table)
        .values([
            (RentalItems::State, to.as_str().into()),
            (RentalItems::Condition, condition.as_str().into()),
            (RentalItems::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(RentalItems::Id).eq(id))
        .and_where(Expr::col(RentalItems::State).eq(from.as_str()))
        .to_owned();
    if c.execute(&upd).await? == 0 {
        return Err(DbError::Conflict(
            "辅具状态已被他人修改，请刷新后重试".into(),
        ));
    }
    Ok(())
}

/// Send to repair, mark repaired, or scrap an item (never one on loan). Audited;
/// returns the new state.
pub async fn item_action(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    action: ItemAction,
    note: &str,
    now: DateTime<Utc>,
) -> Result<ItemState> {
    if matches!(action, ItemAction::Lend | ItemAction::Return(_)) {
        return Err(DbError::invalid(
            "action",
            "unknown_action",
            "出借和归还请通过借用登记办理",
        ));
    }
    let mut errs = FieldErrors::new();
    check_text(&mut errs, "note", note, MAX_NOTE, "说明", false);
    errs.into_result()?;
    let item = get_item(c, scope, id).await?.ok_or(DbError::NotFound)?;
    let from = item.state();
    let to = core::apply(from, action).map_err(|e| refusal(&e))?;
    let condition = core::condition_for(to, item.condition());
    set_state(c, id, from, to, condition, now).await?;
    let ev = Event::new("rental_item_state", "rental_item", id)
        .division(&item.division_code)
        .detail(serde_json::json!({"from": from.as_str(), "to": to.as_str(), "note": note.trim()}));
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(to)
}

// ---------------------------------------------------------------- loans

/// Who borrows.
#[derive(Debug, Clone, PartialEq)]
pub enum Borrower {
    /// A resident from the register, in scope.
    Resident(i64),
    /// Someone not (yet) on the register: a name and a phone number.
    Named { name: String, phone: Phone },
}

/// A loan as entered.
#[derive(Debug, Clone, PartialEq)]
pub struct LoanInput {
    pub item_id: i64,
    pub borrower: Borrower,
    pub start_date: NaiveDate,
    pub due_date: NaiveDate,
    /// Deposit received; defaults to the item's deposit.
    pub deposit_fen: Option<i64>,
}

/// A loan with its item and point, as lists show it. No protected value in clear.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct LoanRow {
    pub id: i64,
    pub item_id: i64,
    pub point_id: i64,
    pub division_code: String,
    pub person_id: Option<i64>,
    pub borrower_name: String,
    pub borrower_phone_masked: Option<String>,
    pub start_date: NaiveDate,
    pub due_date: NaiveDate,
    pub fee_rule: String,
    pub daily_fee_fen: i64,
    pub deposit_fen: i64,
    pub extensions: i32,
    pub returned_on: Option<NaiveDate>,
    pub return_condition: Option<String>,
    pub fee_fen: Option<i64>,
    pub deposit_kept_fen: Option<i64>,
    pub deposit_refund_fen: Option<i64>,
    pub amount_due_fen: Option<i64>,
    pub keep_reason: String,
    pub created_at: DateTime<Utc>,
    pub returned_at: Option<DateTime<Utc>>,
    pub kind: String,
    pub asset_tag: String,
    pub point_name: String,
}

impl LoanRow {
    pub fn fee_rule(&self) -> FeeRule {
        FeeRule::parse(&self.fee_rule).unwrap_or(FeeRule::Standard)
    }

    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        core::is_overdue(self.due_date, self.returned_on, today)
    }

    pub fn days_overdue(&self, today: NaiveDate) -> i64 {
        if self.is_overdue(today) {
            core::days_overdue(self.due_date, today)
        } else {
            0
        }
    }

    pub fn kind_label(&self) -> &str {
        core::aid_label(&self.kind)
    }

    /// Rent so far (open loans) or charged (returned ones).
    pub fn fee_so_far(&self, today: NaiveDate) -> i64 {
        self.fee_fen.unwrap_or_else(|| {
            core::fee_fen(
                self.fee_rule(),
                self.daily_fee_fen,
                self.start_date,
                std::cmp::max(today, self.start_date),
            )
        })
    }
}

fn select_loans() -> SelectStatement {
    let l = RentalLoans::Table;
    Query::select()
        .columns([
            (l, RentalLoans::Id),
            (l, RentalLoans::ItemId),
            (l, RentalLoans::PointId),
            (l, RentalLoans::DivisionCode),
            (l, RentalLoans::PersonId),
            (l, RentalLoans::BorrowerName),
            (l, RentalLoans::BorrowerPhoneMasked),
            (l, RentalLoans::StartDate),
            (l, RentalLoans::DueDate),
            (l, RentalLoans::FeeRule),
            (l, RentalLoans::DailyFeeFen),
            (l, RentalLoans::DepositFen),
            (l, RentalLoans::Extensions),
            (l, RentalLoans::ReturnedOn),
            (l, RentalLoans::ReturnCondition),
            (l, RentalLoans::FeeFen),
            (l, RentalLoans::DepositKeptFen),
            (l, RentalLoans::DepositRefundFen),
            (l, RentalLoans::AmountDueFen),
            (l, RentalLoans::KeepReason),
            (l, RentalLoans::CreatedAt),
            (l, RentalLoans::ReturnedAt),
        ])
        .columns([
            (RentalItems::Table, RentalItems::Kind),
            (RentalItems::Table, RentalItems::AssetTag),
        ])
        .expr_as(
            Expr::col((RentalPoints::Table, RentalPoints::Name)),
            sea_query::Alias::new("point_name"),
        )
        .from(l)
        .join(
            JoinType::InnerJoin,
            RentalItems::Table,
            Expr::col((RentalItems::Table, RentalItems::Id)).equals((l, RentalLoans::ItemId)),
        )
        .join(
            JoinType::InnerJoin,
            RentalPoints::Table,
            Expr::col((RentalPoints::Table, RentalPoints::Id)).equals((l, RentalLoans::PointId)),
        )
        .to_owned()
}

/// Whether the resident is in 低保 or 特困供养 (rent waived).
async fn waived(c: &mut Conn<'_>, key: &Protector, person_id: i64) -> Result<bool> {
    let tags = [
        crate::people::tag_index(key, Tag::Dibao),
        crate::people::tag_index(key, Tag::Tekun),
    ];
    let q = Query::select()
        .expr(Expr::col(PersonTags::PersonId).count())
        .from(PersonTags::Table)
        .and_where(Expr::col(PersonTags::PersonId).eq(person_id))
        .and_where(Expr::col(PersonTags::TagIndex).is_in(tags))
        .to_owned();
    Ok(c.fetch_i64(&q).await? > 0)
}

/// The blind index a named borrower's phone is filed under.
pub fn phone_index(key: &Protector, phone: &Phone) -> String {
    key.blind(F_BORROWER_PHONE, phone.as_str())
}

/// Lend an item in stock: to a resident in scope (rent waived for 低保/特困) or a
/// named borrower (phone sealed). Audited; refreshes the community's plan targets.
pub async fn lend(
    c: &mut Conn<'_>,
    key: &Protector,
    scope: &Scope,
    l: &LoanInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    let today = local_date(now);
    let item = get_item(c, scope, l.item_id).await?.ok_or_else(|| {
        DbError::invalid("item_id", "unknown_item", "辅具不存在或不在您的管辖范围内")
    })?;
    core::apply(item.state(), ItemAction::Lend).map_err(|e| refusal(&e))?;
    core::check_loan_dates(l.start_date, l.due_date, today).map_err(|e| refusal(&e))?;
    let deposit = l.deposit_fen.unwrap_or(item.deposit_fen);
    if core::check_amount(deposit).is_err() {
        return Err(DbError::invalid(
            "deposit_fen",
            "bad_amount",
            "押金应在 0 到 100000 元之间",
        ));
    }
    let (person_id, name, enc, index, masked, rule) = match &l.borrower {
        Borrower::Resident(pid) => {
            let p = crate::people::get(c, scope, *pid).await?.ok_or_else(|| {
                DbError::invalid(
                    "person_id",
                    "unknown_person",
                    "居民不存在或不在您的管辖范围内",
                )
            })?;
            let rule = if waived(c, key, p.id).await? {
                FeeRule::Waived
            } else {
                FeeRule::Standard
            };
            (Some(p.id), p.name, None, None, p.phone_masked, rule)
        }
        Borrower::Named { name, phone } => {
            let mut errs = FieldErrors::new();
            check_text(
                &mut errs,
                "borrower_name",
                name,
                MAX_BORROWER,
                "借用人姓名",
                true,
            );
            errs.into_result()?;
            let mut nonce = [0u8; 12];
            getrandom::fill(&mut nonce)
                .map_err(|e| DbError::Conflict(format!("随机数不可用：{e}")))?;
            (
                None,
                name.trim().to_owned(),
                Some(key.seal(F_BORROWER_PHONE, phone.as_str().as_bytes(), nonce)),
                Some(phone_index(key, phone)),
                Some(phone.masked()),
                FeeRule::Standard,
            )
        }
    };
    set_state(
        c,
        item.id,
        ItemState::InStock,
        ItemState::OnLoan,
        item.condition(),
        now,
    )
    .await?;
    let ins = Query::insert()
        .into_table(RentalLoans::Table)
        .columns([
            RentalLoans::ItemId,
            RentalLoans::PointId,
            RentalLoans::DivisionCode,
            RentalLoans::PersonId,
            RentalLoans::BorrowerName,
            RentalLoans::BorrowerPhoneEnc,
            RentalLoans::BorrowerPhoneIndex,
            RentalLoans::BorrowerPhoneMasked,
            RentalLoans::StartDate,
            RentalLoans::DueDate,
            RentalLoans::FeeRule,
            RentalLoans::DailyFeeFen,
            RentalLoans::DepositFen,
            RentalLoans::Extensions,
            RentalLoans::LentBy,
            RentalLoans::CreatedAt,
        ])
        .values_panic([
            item.id.into(),
            item.point_id.into(),
            item.division_code.clone().into(),
            person_id.into(),
            name.into(),
            enc.into(),
            index.into(),
            masked.clone().into(),
            l.start_date.into(),
            l.due_date.into(),
            rule.as_str().into(),
            item.daily_fee_fen.into(),
            deposit.into(),
            0i32.into(),
            scope.actor.user_id.into(),
            now.into(),
        ])
        .to_owned();
    let id = c.insert_id(&ins).await?;
    let ev = Event::new("rental_lend", "rental_loan", id)
        .division(&item.division_code)
        .detail(serde_json::json!({
            "item_id": item.id, "asset_tag": item.asset_tag, "kind": item.kind,
            "person_id": person_id, "borrower_phone": masked,
            "start_date": l.start_date, "due_date": l.due_date,
            "fee_rule": rule.as_str(), "deposit_fen": deposit,
        }));
    audit::append(c, &scope.actor, ev, now).await?;
    if let Ok(code) = DivisionCode::parse(&item.division_code) {
        crate::indicators::refresh(c, &code, now).await?;
    }
    Ok(id)
}

/// One loan in scope.
pub async fn get_loan(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<LoanRow>> {
    let q = select_loans()
        .and_where(Expr::col((RentalLoans::Table, RentalLoans::Id)).eq(id))
        .cond_where(scope.condition((RentalLoans::Table, RentalLoans::DivisionCode)))
        .to_owned();
    c.fetch_optional(&q).await
}

/// A return as entered.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnInput {
    pub returned_on: NaiveDate,
    pub condition: ItemCondition,
    /// Deposit kept for damage or loss (a reason is then required).
    pub deposit_kept_fen: i64,
    pub keep_reason: String,
}

/// Take an item back: the rent is computed, the deposit settled, the item goes
/// back in stock, to repair or scrapped by its condition. Audited.
pub async fn return_loan(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    r: &ReturnInput,
    now: DateTime<Utc>,
) -> Result<LoanRow> {
    let loan = get_loan(c, scope, id).await?.ok_or(DbError::NotFound)?;
    if loan.returned_on.is_some() {
        return Err(refusal(&RentalRefusal::AlreadyReturned));
    }
    core::check_return_date(loan.start_date, r.returned_on, local_date(now))
        .map_err(|e| refusal(&e))?;
    let mut errs = FieldErrors::new();
    check_text(
        &mut errs,
        "keep_reason",
        &r.keep_reason,
        MAX_NOTE,
        "扣留原因",
        false,
    );
    errs.into_result()?;
    let fee = core::fee_fen(
        loan.fee_rule(),
        loan.daily_fee_fen,
        loan.start_date,
        r.returned_on,
    );
    let s = core::settle(loan.deposit_fen, fee, r.deposit_kept_fen, &r.keep_reason)
        .map_err(|e| refusal(&e))?;
    let to = ItemState::for_condition(r.condition);
    set_state(c, loan.item_id, ItemState::OnLoan, to, r.condition, now).await?;
    let upd = Query::update()
        .table(RentalLoans::Table)
        .values([
            (RentalLoans::ReturnedOn, r.returned_on.into()),
            (RentalLoans::ReturnCondition, r.condition.as_str().into()),
            (RentalLoans::FeeFen, s.fee_fen.into()),
            (RentalLoans::DepositKeptFen, s.kept_fen.into()),
            (RentalLoans::DepositRefundFen, s.refund_fen.into()),
            (RentalLoans::AmountDueFen, s.due_fen.into()),
            (RentalLoans::KeepReason, r.keep_reason.trim().into()),
            (RentalLoans::ReturnedBy, scope.actor.user_id.into()),
            (RentalLoans::ReturnedAt, now.into()),
        ])
        .and_where(Expr::col(RentalLoans::Id).eq(id))
        .and_where(Expr::col(RentalLoans::ReturnedOn).is_null())
        .to_owned();
    if c.execute(&upd).await? == 0 {
        return Err(refusal(&RentalRefusal::AlreadyReturned));
    }
    let ev = Event::new("rental_return", "rental_loan", id)
        .division(&loan.division_code)
        .detail(serde_json::json!({
            "item_id": loan.item_id, "returned_on": r.returned_on,
            "condition": r.condition.as_str(), "item_state": to.as_str(),
            "fee_fen": s.fee_fen, "deposit_kept_fen": s.kept_fen,
            "deposit_refund_fen": s.refund_fen, "amount_due_fen": s.due_fen,
            "keep_reason": r.keep_reason.trim(),
        }));
    audit::append(c, &scope.actor, ev, now).await?;
    get_loan(c, scope, id).await?.ok_or(DbError::NotFound)
}

/// Move an open loan's due date later (续借). Audited.
pub async fn extend(
    c: &mut Conn<'_>,
    scope: &Scope,
    id: i64,
    new_due: NaiveDate,
    now: DateTime<Utc>,
) -> Result<()> {
    let loan = get_loan(c, scope, id).await?.ok_or(DbError::NotFound)?;
    if loan.returned_on.is_some() {
        return Err(refusal(&RentalRefusal::AlreadyReturned));
    }
    core::check_extension(loan.start_date, loan.due_date, new_due).map_err(|e| refusal(&e))?;
    let upd = Query::update()
        .table(RentalLoans::Table)
        .values([
            (RentalLoans::DueDate, new_due.into()),
            (
                RentalLoans::Extensions,
                Expr::col(RentalLoans::Extensions).add(1),
            ),
        ])
        .and_where(Expr::col(RentalLoans::Id).eq(id))
        .and_where(Expr::col(RentalLoans::ReturnedOn).is_null())
        .to_owned();
    if c.execute(&upd).await? == 0 {
        return Err(refusal(&RentalRefusal::AlreadyReturned));
    }
    let ev = Event::new("rental_extend", "rental_loan", id)
        .division(&loan.division_code)
        .detail(serde_json::json!({"due_date": {"before": loan.due_date, "after": new_due}}));
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(())
}

/// Which loans to list; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct LoanFilter {
    /// Within this subtree (inside the scope).
    pub division: Option<DivisionCode>,
    pub point_id: Option<i64>,
    pub item_id: Option<i64>,
    /// Loans of this resident.
    pub person_id: Option<i64>,
    /// Loans of the named borrower with this phone (blind index).
    pub phone_index: Option<String>,
    /// Only loans not yet returned.
    pub open: bool,
    /// Only loans not returned and due before this day.
    pub overdue_on: Option<NaiveDate>,
}

/// Loans in scope matching `f`: open ones by due date, others newest first.
pub async fn loans(
    c: &mut Conn<'_>,
    scope: &Scope,
    f: &LoanFilter,
    page: PageReq,
) -> Result<Page<LoanRow>> {
    let l = RentalLoans::Table;
    let mut q = select_loans()
        .cond_where(scope.condition((l, RentalLoans::DivisionCode)))
        .to_owned();
    if let Some(d) = &f.division {
        if !scope.contains(d) {
            return Ok(Page {
                items: Vec::new(),
                total: 0,
            });
        }
        let narrowed = Scope::new(d.clone(), scope.role, scope.actor.clone());
        q.cond_where(narrowed.condition((l, RentalLoans::DivisionCode)));
    }
    if let Some(p) = f.point_id {
        q.and_where(Expr::col((l, RentalLoans::PointId)).eq(p));
    }
    if let Some(i) = f.item_id {
        q.and_where(Expr::col((l, RentalLoans::ItemId)).eq(i));
    }
    if let Some(p) = f.person_id {
        q.and_where(Expr::col((l, RentalLoans::PersonId)).eq(p));
    }
    if let Some(ix) = &f.phone_index {
        q.and_where(Expr::col((l, RentalLoans::BorrowerPhoneIndex)).eq(ix.clone()));
    }
    if f.open || f.overdue_on.is_some() {
        q.and_where(Expr::col((l, RentalLoans::ReturnedOn)).is_null());
    }
    if let Some(d) = f.overdue_on {
        q.and_where(Expr::col((l, RentalLoans::DueDate)).lt(d));
    }
    let mut count = q.clone();
    count
        .clear_selects()
        .expr(Expr::col((l, RentalLoans::Id)).count());
    let total = c.fetch_i64(&count).await?;
    if f.open || f.overdue_on.is_some() {
        q.order_by((l, RentalLoans::DueDate), Order::Asc);
    } else {
        q.order_by((l, RentalLoans::StartDate), Order::Desc);
    }
    q.order_by((l, RentalLoans::Id), Order::Desc)
        .limit(page.per_page)
        .offset(page.offset());
    Ok(Page {
        items: c.fetch_all(&q).await?,
        total,
    })
}

// ---------------------------------------------------------------- summary

/// Figures of one division (or child) of the summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SummaryRow {
    pub code: String,
    pub name: String,
    pub points: i64,
    #[serde(flatten)]
    pub counts: Counts,
    /// Villages/communities whose points lent in the last 12 months.
    pub lending_communities: i64,
}

/// The per-division summary: the node and each of its children.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DivisionSummary {
    pub total: SummaryRow,
    pub children: Vec<SummaryRow>,
}

/// Points, items, items out, overdue loans and lending communities under `node`
/// (inside the scope), and for each child of it.
pub async fn summary(
    c: &mut Conn<'_>,
    scope: &Scope,
    node: &DivisionCode,
    now: DateTime<Utc>,
) -> Result<DivisionSummary> {
    if !scope.contains(node) {
        return Err(DbError::NotFound);
    }
    let here = Scope::new(node.clone(), scope.role, scope.actor.clone());
    let today = local_date(now);
    let name = crate::divisions::get(c, node)
        .await?
        .map(|d| d.name)
        .unwrap_or_default();
    let kids = crate::divisions::children(c, node, PageReq::all()).await?;
    let mut rows: Vec<SummaryRow> = kids
        .items
        .into_iter()
        .map(|d| SummaryRow {
            code: d.code,
            name: d.name,
            ..SummaryRow::default()
        })
        .collect();
    let mut total = SummaryRow {
        code: node.as_str().to_owned(),
        name,
        ..SummaryRow::default()
    };
    fn child_of<'a>(rows: &'a mut [SummaryRow], code: &str) -> Option<&'a mut SummaryRow> {
        rows.iter_mut().find(
            |r| match (DivisionCode::parse(code), DivisionCode::parse(&r.code)) {
                (Ok(c), Ok(k)) => c.is_within(&k),
                _ => false,
            },
        )
    }
    let q = Query::select()
        .column(RentalPoints::DivisionCode)
        .expr(Expr::col(RentalPoints::Id).count())
        .from(RentalPoints::Table)
        .cond_where(here.condition(RentalPoints::DivisionCode))
        .group_by_col(RentalPoints::DivisionCode)
        .to_owned();
    for (code, n) in c.fetch_all::<(String, i64)>(&q).await? {
        total.points += n;
        if let Some(r) = child_of(&mut rows, &code) {
            r.points += n;
        }
    }
    let q = Query::select()
        .columns([RentalItems::DivisionCode, RentalItems::State])
        .expr(Expr::col(RentalItems::Id).count())
        .from(RentalItems::Table)
        .cond_where(here.condition(RentalItems::DivisionCode))
        .group_by_col(RentalItems::DivisionCode)
        .group_by_col(RentalItems::State)
        .to_owned();
    for (code, state, n) in c.fetch_all::<(String, String, i64)>(&q).await? {
        add_state(&mut total.counts, &state, n);
        if let Some(r) = child_of(&mut rows, &code) {
            add_state(&mut r.counts, &state, n);
        }
    }
    let q = Query::select()
        .column(RentalLoans::DivisionCode)
        .expr(Expr::col(RentalLoans::Id).count())
        .from(RentalLoans::Table)
        .cond_where(here.condition(RentalLoans::DivisionCode))
        .and_where(Expr::col(RentalLoans::ReturnedOn).is_null())
        .and_where(Expr::col(RentalLoans::DueDate).lt(today))
        .group_by_col(RentalLoans::DivisionCode)
        .to_owned();
    for (code, n) in c.fetch_all::<(String, i64)>(&q).await? {
        total.counts.overdue += n;
        if let Some(r) = child_of(&mut rows, &code) {
            r.counts.overdue += n;
        }
    }
    let (from, to) = window(now);
    for code in lending_in(c, Some(&here), from, to).await? {
        total.lending_communities += 1;
        if let Some(r) = child_of(&mut rows, &code) {
            r.lending_communities += 1;
        }
    }
    Ok(DivisionSummary {
        total,
        children: rows,
    })
}

/// The indicator's window: the 12 months up to `now`.
pub fn window(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (now - Duration::days(365), now)
}

async fn lending_in(
    c: &mut Conn<'_>,
    scope: Option<&Scope>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<String>> {
    let mut q = Query::select()
        .column(RentalLoans::DivisionCode)
        .distinct()
        .from(RentalLoans::Table)
        .and_where(Expr::col(RentalLoans::StartDate).gte(local_date(from)))
        .and_where(Expr::col(RentalLoans::StartDate).lte(local_date(to)))
        .to_owned();
    if let Some(s) = scope {
        q.cond_where(s.condition(RentalLoans::DivisionCode));
    }
    let rows: Vec<(String,)> = c.fetch_all(&q).await?;
    let set: BTreeSet<String> = rows
        .into_iter()
        .filter_map(|(code,)| code.get(0..12).map(str::to_owned))
        .collect();
    Ok(set.into_iter().collect())
}

/// Codes of the villages/communities (12 digits) whose rental points lent an aid in
/// `[from, to)`, each once. A loan counts on its start date (Beijing time); the
/// day of `to` itself is included, since `to` is normally "now".
pub async fn lending_villages(
    c: &mut Conn<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<String>> {
    lending_in(c, None, from, to).await
}

// ---------------------------------------------------------------- demo

/// A loan for bulk loading (demo): already checked, no audit, no refresh.
#[derive(Debug, Clone)]
pub struct BulkLoan {
    pub item_id: i64,
    pub point_id: i64,
    pub division_code: String,
    pub person_id: Option<i64>,
    pub borrower_name: String,
    pub phone_enc: Option<Vec<u8>>,
    pub phone_index: Option<String>,
    pub phone_masked: Option<String>,
    pub start_date: NaiveDate,
    pub due_date: NaiveDate,
    pub fee_rule: FeeRule,
    pub daily_fee_fen: i64,
    pub deposit_fen: i64,
    /// Return: date, condition, settlement.
    pub returned: Option<(NaiveDate, ItemCondition, core::Settlement)>,
    pub created_at: DateTime<Utc>,
}

/// A point for bulk loading (demo).
#[derive(Debug, Clone)]
pub struct BulkPoint {
    pub facility_id: i64,
    pub division_code: String,
    pub name: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub opening_note: String,
}

/// An item for bulk loading (demo).
#[derive(Debug, Clone)]
pub struct BulkItem {
    pub point_id: i64,
    pub division_code: String,
    pub kind: &'static str,
    pub asset_tag: String,
    pub condition: ItemCondition,
    pub state: ItemState,
    pub daily_fee_fen: i64,
    pub deposit_fen: i64,
}

/// Insert points (demo); returns their ids in input order.
pub async fn bulk_points(
    c: &mut Conn<'_>,
    rows: &[BulkPoint],
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(rows.len());
    for p in rows {
        let ins = Query::insert()
            .into_table(RentalPoints::Table)
            .columns([
                RentalPoints::FacilityId,
                RentalPoints::DivisionCode,
                RentalPoints::Name,
                RentalPoints::ContactName,
                RentalPoints::ContactPhone,
                RentalPoints::OpeningNote,
                RentalPoints::Active,
                RentalPoints::CreatedAt,
                RentalPoints::UpdatedAt,
            ])
            .values_panic([
                p.facility_id.into(),
                p.division_code.clone().into(),
                p.name.clone().into(),
                p.contact_name.clone().into(),
                p.contact_phone.clone().into(),
                p.opening_note.clone().into(),
                true.into(),
                now.into(),
                now.into(),
            ])
            .to_owned();
        ids.push(c.insert_id(&ins).await?);
    }
    Ok(ids)
}

/// Insert items (demo) in chunks; returns their ids in input order.
pub async fn bulk_items(
    c: &mut Conn<'_>,
    rows: &[BulkItem],
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    for chunk in rows.chunks(500) {
        let mut ins = Query::insert()
            .into_table(RentalItems::Table)
            .columns([
                RentalItems::PointId,
                RentalItems::DivisionCode,
                RentalItems::Kind,
                RentalItems::AssetTag,
                RentalItems::Condition,
                RentalItems::State,
                RentalItems::DailyFeeFen,
                RentalItems::DepositFen,
                RentalItems::Note,
                RentalItems::CreatedAt,
                RentalItems::UpdatedAt,
            ])
            .to_owned();
        for i in chunk {
            ins.values_panic([
                i.point_id.into(),
                i.division_code.clone().into(),
                i.kind.into(),
                i.asset_tag.clone().into(),
                i.condition.as_str().into(),
                i.state.as_str().into(),
                i.daily_fee_fen.into(),
                i.deposit_fen.into(),
                String::new().into(),
                now.into(),
                now.into(),
            ]);
        }
        c.execute(&ins).await?;
    }
    // Ids by (point, tag), which are unique.
    let points: BTreeSet<i64> = rows.iter().map(|r| r.point_id).collect();
    let mut by_key: BTreeMap<(i64, String), i64> = BTreeMap::new();
    let pts: Vec<i64> = points.into_iter().collect();
    for chunk in pts.chunks(500) {
        let q = Query::select()
            .columns([RentalItems::PointId, RentalItems::AssetTag, RentalItems::Id])
            .from(RentalItems::Table)
            .and_where(Expr::col(RentalItems::PointId).is_in(chunk.iter().copied()))
            .to_owned();
        for (p, t, id) in c.fetch_all::<(i64, String, i64)>(&q).await? {
            by_key.insert((p, t), id);
        }
    }
    Ok(rows
        .iter()
        .map(|r| {
            by_key
                .get(&(r.point_id, r.asset_tag.clone()))
                .copied()
                .unwrap_or(0)
        })
        .collect())
}

/// Insert loans (demo) in chunks. Item states are the caller's business.
pub async fn bulk_loans(c: &mut Conn<'_>, rows: &[BulkLoan]) -> Result<()> {
    for chunk in rows.chunks(300) {
        let mut ins = Query::insert()
            .into_table(RentalLoans::Table)
            .columns([
                RentalLoans::ItemId,
                RentalLoans::PointId,
                RentalLoans::DivisionCode,
                RentalLoans::PersonId,
                RentalLoans::BorrowerName,
                RentalLoans::BorrowerPhoneEnc,
                RentalLoans::BorrowerPhoneIndex,
                RentalLoans::BorrowerPhoneMasked,
                RentalLoans::StartDate,
                RentalLoans::DueDate,
                RentalLoans::FeeRule,
                RentalLoans::DailyFeeFen,
                RentalLoans::DepositFen,
                RentalLoans::Extensions,
                RentalLoans::ReturnedOn,
                RentalLoans::ReturnCondition,
                RentalLoans::FeeFen,
                RentalLoans::DepositKeptFen,
                RentalLoans::DepositRefundFen,
                RentalLoans::AmountDueFen,
                RentalLoans::KeepReason,
                RentalLoans::CreatedAt,
                RentalLoans::ReturnedAt,
            ])
            .to_owned();
        for l in chunk {
            let (ron, rc, s) = match &l.returned {
                Some((d, c, s)) => (Some(*d), Some(c.as_str()), Some(*s)),
                None => (None, None, None),
            };
            let returned_at = ron.map(|d| {
                d.and_hms_opt(2, 0, 0)
                    .map(|t| t.and_utc())
                    .unwrap_or(l.created_at)
            });
            ins.values_panic([
                l.item_id.into(),
                l.point_id.into(),
                l.division_code.clone().into(),
                l.person_id.into(),
                l.borrower_name.clone().into(),
                l.phone_enc.clone().into(),
                l.phone_index.clone().into(),
                l.phone_masked.clone().into(),
                l.start_date.into(),
                l.due_date.into(),
                l.fee_rule.as_str().into(),
                l.daily_fee_fen.into(),
                l.deposit_fen.into(),
                0i32.into(),
                ron.into(),
                rc.map(str::to_owned).into(),
                s.map(|s| s.fee_fen).into(),
                s.map(|s| s.kept_fen).into(),
                s.map(|s| s.refund_fen).into(),
                s.map(|s| s.due_fen).into(),
                if s.is_some_and(|s| s.kept_fen > 0) {
                    "部件损坏".to_owned()
                } else {
                    String::new()
                }
                .into(),
                l.created_at.into(),
                returned_at.into(),
            ]);
        }
        c.execute(&ins).await?;
    }
    Ok(())
}
