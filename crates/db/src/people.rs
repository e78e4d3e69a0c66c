//! Residents and households, scoped to the caller's subtree. ID numbers, phone
//! numbers and sensitive tags are sealed with AES-256-GCM; an HMAC blind index
//! serves exact ID-number lookups and tag filters; masked forms are kept for display.

use crate::audit::{self, Event};
use crate::scope::Scope;
use crate::{Conn, DbError, Page, PageReq, Result};
use chrono::{DateTime, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, Iden, JoinType, Order, Query, SelectStatement};
use serde::Serialize;
use shequ_core::crypto::Protector;
use shequ_core::{DivisionCode, FieldErrors, Gender, IdCardNo, Level, Phone, Relation, Tag};

#[derive(Iden, Clone, Copy)]
pub(crate) enum People {
    Table,
    Id,
    DivisionCode,
    HouseholdId,
    Relation,
    Name,
    Gender,
    BirthDate,
    IdNumberEnc,
    IdNumberIndex,
    IdNumberMasked,
    PhoneEnc,
    PhoneMasked,
    Address,
    TagsGeneral,
    TagsProtectedEnc,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum PersonTags {
    Table,
    PersonId,
    TagIndex,
    DivisionCode,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum Households {
    Table,
    Id,
    DivisionCode,
    Address,
    CreatedAt,
    UpdatedAt,
}

/// Field names bound into the ciphertexts (associated data) and blind indexes.
pub const F_ID: &str = "people.id_number";
pub const F_PHONE: &str = "people.phone";
pub const F_TAGS: &str = "people.tags";
pub const F_TAG_INDEX: &str = "people.tag";

pub const MAX_NAME: usize = 30;
pub const MAX_ADDRESS: usize = 100;

/// A person as stored: protected values only sealed or masked.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PersonRow {
    pub id: i64,
    pub division_code: String,
    pub household_id: Option<i64>,
    pub relation: String,
    pub name: String,
    pub gender: String,
    pub birth_date: NaiveDate,
    #[serde(skip)]
    pub id_number_enc: Vec<u8>,
    pub id_number_masked: String,
    #[serde(skip)]
    pub phone_enc: Option<Vec<u8>>,
    pub phone_masked: Option<String>,
    pub address: String,
    pub tags_general: String,
    #[serde(skip)]
    pub tags_protected_enc: Option<Vec<u8>>,
    pub updated_at: DateTime<Utc>,
}

impl PersonRow {
    pub fn general_tags(&self) -> Vec<Tag> {
        split_tags(&self.tags_general)
    }

    pub fn has_protected_tags(&self) -> bool {
        self.tags_protected_enc.is_some()
    }
}

fn split_tags(s: &str) -> Vec<Tag> {
    s.split(',').filter_map(Tag::parse).collect()
}

fn join_tags(tags: &[Tag]) -> String {
    tags.iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// A resident's fields as entered. Gender and birth date come from the ID number.
#[derive(Debug, Clone)]
pub struct PersonInput {
    pub division: DivisionCode,
    pub household_id: Option<i64>,
    pub relation: Relation,
    pub name: String,
    pub id_number: IdCardNo,
    pub phone: Option<Phone>,
    pub address: String,
    pub tags: Vec<Tag>,
}

/// Which protected value to reveal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protected {
    IdNumber,
    Phone,
    Tags,
}

impl Protected {
    pub fn parse(s: &str) -> Option<Protected> {
        match s {
            "id_number" => Some(Protected::IdNumber),
            "phone" => Some(Protected::Phone),
            "tags" => Some(Protected::Tags),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protected::IdNumber => "id_number",
            Protected::Phone => "phone",
            Protected::Tags => "tags",
        }
    }
}

/// Check the fields a store needs no lookup for.
pub fn check_input(p: &PersonInput) -> std::result::Result<(), FieldErrors> {
    let mut errs = FieldErrors::new();
    let name = p.name.trim();
    let n = name.chars().count();
    if n == 0 {
        errs.add("name", "required", "姓名不能为空");
    } else if n > MAX_NAME {
        errs.add("name", "too_long", format!("姓名不能超过 {MAX_NAME} 个字"));
    } else if name.chars().any(|c| c.is_control() || "<>\"&;".contains(c)) {
        errs.add("name", "bad_chars", "姓名中不能含有特殊符号");
    }
    if p.address.chars().count() > MAX_ADDRESS {
        errs.add(
            "address",
            "too_long",
            format!("地址不能超过 {MAX_ADDRESS} 个字"),
        );
    } else if p.address.chars().any(char::is_control) {
        errs.add("address", "bad_chars", "地址中不能含有控制字符");
    }
    if !matches!(p.division.level(), Level::Village | Level::Grid) {
        errs.add("division", "bad_level", "居民应登记在村（社区）或网格");
    }
    errs.into_result()
}

/// Sealed and indexed forms of the protected fields.
struct Sealed {
    id_enc: Vec<u8>,
    id_index: String,
    id_masked: String,
    phone_enc: Option<Vec<u8>>,
    phone_masked: Option<String>,
    general: String,
    protected_enc: Option<Vec<u8>>,
    tag_indexes: Vec<String>,
}

fn nonce() -> Result<[u8; 12]> {
    let mut n = [0u8; 12];
    getrandom::fill(&mut n).map_err(|e| DbError::Conflict(format!("随机数不可用：{e}")))?;
    Ok(n)
}

/// The index under which a tag is filed: the code for general tags, a blind index for sensitive ones.
pub fn tag_index(key: &Protector, tag: Tag) -> String {
    if tag.sensitive() {
        key.blind(F_TAG_INDEX, tag.as_str())
    } else {
        tag.as_str().to_owned()
    }
}

/// The blind index of an ID number (exact-match search, duplicate detection).
pub fn id_index(key: &Protector, id: &IdCardNo) -> String {
    key.blind(F_ID, id.as_str())
}

fn seal(key: &Protector, p: &PersonInput) -> Result<Sealed> {
    let (protected, general): (Vec<Tag>, Vec<Tag>) =
        p.tags.iter().copied().partition(|t| t.sensitive());
    let protected_enc = if protected.is_empty() {
        None
    } else {
        Some(key.seal(F_TAGS, join_tags(&protected).as_bytes(), nonce()?))
    };
    let mut tag_indexes: Vec<String> = p.tags.iter().map(|t| tag_index(key, *t)).collect();
    tag_indexes.sort();
    tag_indexes.dedup();
    Ok(Sealed {
        id_enc: key.seal(F_ID, p.id_number.as_str().as_bytes(), nonce()?),
        id_index: id_index(key, &p.id_number),
        id_masked: p.id_number.masked(),
        phone_enc: p
            .phone
            .as_ref()
            .map(|ph| nonce().map(|n| key.seal(F_PHONE, ph.as_str().as_bytes(), n)))
            .transpose()?,
        phone_masked: p.phone.as_ref().map(Phone::masked),
        general: join_tags(&general),
        protected_enc,
        tag_indexes,
    })
}

fn select() -> SelectStatement {
    Query::select()
        .columns([
            (People::Table, People::Id),
            (People::Table, People::DivisionCode),
            (People::Table, People::HouseholdId),
            (People::Table, People::Relation),
            (People::Table, People::Name),
            (People::Table, People::Gender),
            (People::Table, People::BirthDate),
            (People::Table, People::IdNumberEnc),
            (People::Table, People::IdNumberMasked),
            (People::Table, People::PhoneEnc),
            (People::Table, People::PhoneMasked),
            (People::Table, People::Address),
            (People::Table, People::TagsGeneral),
            (People::Table, People::TagsProtectedEnc),
            (People::Table, People::UpdatedAt),
        ])
        .from(People::Table)
        .to_owned()
}

/// Check the division and household a person is to be filed under.
async fn check_placement(c: &mut Conn<'_>, scope: &Scope, p: &PersonInput) -> Result<()> {
    if !scope.contains(&p.division) {
        return Err(DbError::invalid(
            "division",
            "out_of_scope",
            "该区划不在您的管辖范围内",
        ));
    }
    if crate::divisions::get(c, &p.division).await?.is_none() {
        return Err(DbError::invalid(
            "division",
            "unknown_division",
            format!("区划 {} 不存在", p.division),
        ));
    }
    if let Some(h) = p.household_id {
        let hh = household(c, scope, h).await?.ok_or_else(|| {
            DbError::invalid(
                "household_id",
                "unknown_household",
                "户不存在或不在管辖范围内",
            )
        })?;
        let village = p.division.as_str().get(0..12).unwrap_or_default();
        if hh.division_code != village {
            return Err(DbError::invalid(
                "household_id",
                "household_elsewhere",
                "该户不在此人所在的村（社区）",
            ));
        }
    }
    Ok(())
}

/// Register a resident and record it in the audit log.
pub async fn create(
    c: &mut Conn<'_>,
    scope: &Scope,
    key: &Protector,
    p: &PersonInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    check_input(p)?;
    check_placement(c, scope, p).await?;
    let s = seal(key, p)?;
    if find_id_index(c, &s.id_index).await?.is_some() {
        return Err(DbError::invalid(
            "id_number",
            "duplicate_id_number",
            "该身份证号已经登记",
        ));
    }
    let id = insert_row(c, p, &s, now).await?;
    let detail = serde_json::json!({
        "name": p.name.trim(), "division": p.division.as_str(), "id_number": s.id_masked,
        "phone": s.phone_masked, "tags": s.general, "protected_tags": if s.protected_enc.is_some() { "已设置" } else { "" },
    });
    audit::append(
        c,
        &scope.actor,
        Event::new("person_create", "person", id)
            .division(p.division.as_str())
            .detail(detail),
        now,
    )
    .await?;
    Ok(id)
}

async fn find_id_index(c: &mut Conn<'_>, index: &str) -> Result<Option<i64>> {
    let q = Query::select()
        .column(People::Id)
        .from(People::Table)
        .and_where(Expr::col(People::IdNumberIndex).eq(index))
        .to_owned();
    let row: Option<(i64,)> = c.fetch_optional(&q).await?;
    Ok(row.map(|r| r.0))
}

async fn insert_row(
    c: &mut Conn<'_>,
    p: &PersonInput,
    s: &Sealed,
    now: DateTime<Utc>,
) -> Result<i64> {
    let q = Query::insert()
        .into_table(People::Table)
        .columns(ROW_COLUMNS)
        .values_panic(row_values(p, s, now))
        .to_owned();
    let id = c.insert_id(&q).await?;
    write_tags(c, id, p.division.as_str(), &s.tag_indexes).await?;
    Ok(id)
}

/// The columns [`row_values`] fills, in its order.
const ROW_COLUMNS: [People; 16] = [
    People::DivisionCode,
    People::HouseholdId,
    People::Relation,
    People::Name,
    People::Gender,
    People::BirthDate,
    People::IdNumberEnc,
    People::IdNumberIndex,
    People::IdNumberMasked,
    People::PhoneEnc,
    People::PhoneMasked,
    People::Address,
    People::TagsGeneral,
    People::TagsProtectedEnc,
    People::CreatedAt,
    People::UpdatedAt,
];

fn row_values(p: &PersonInput, s: &Sealed, now: DateTime<Utc>) -> [sea_query::SimpleExpr; 16] {
    [
        p.division.as_str().into(),
        p.household_id.into(),
        p.relation.as_str().into(),
        p.name.trim().into(),
        p.id_number.gender().as_str().into(),
        p.id_number.birth_date().into(),
        s.id_enc.clone().into(),
        s.id_index.clone().into(),
        s.id_masked.clone().into(),
        s.phone_enc.clone().into(),
        s.phone_masked.clone().into(),
        p.address.trim().into(),
        s.general.clone().into(),
        s.protected_enc.clone().into(),
        now.into(),
        now.into(),
    ]
}

async fn write_tags(
    c: &mut Conn<'_>,
    person: i64,
    division: &str,
    indexes: &[String],
) -> Result<()> {
    c.execute(
        &Query::delete()
            .from_table(PersonTags::Table)
            .and_where(Expr::col(PersonTags::PersonId).eq(person))
            .to_owned(),
    )
    .await?;
    if indexes.is_empty() {
        return Ok(());
    }
    let mut q = Query::insert()
        .into_table(PersonTags::Table)
        .columns([
            PersonTags::PersonId,
            PersonTags::TagIndex,
            PersonTags::DivisionCode,
        ])
        .to_owned();
    for t in indexes {
        q.values_panic([person.into(), t.clone().into(), division.into()]);
    }
    c.execute(&q).await.map(|_| ())
}

/// One resident in scope; `None` when absent or outside the subtree.
pub async fn get(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<PersonRow>> {
    let q = select()
        .and_where(Expr::col((People::Table, People::Id)).eq(id))
        .cond_where(scope.condition((People::Table, People::DivisionCode)))
        .to_owned();
    c.fetch_optional(&q).await
}

/// Search filters; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Limit to this subtree (must lie within the scope, else nothing is found).
    pub division: Option<DivisionCode>,
    /// Name contains.
    pub name: Option<String>,
    pub tag: Option<Tag>,
    /// Exact ID number.
    pub id_number: Option<IdCardNo>,
    pub household_id: Option<i64>,
}

/// Residents in scope matching `f`, by division then id.
pub async fn list(
    c: &mut Conn<'_>,
    scope: &Scope,
    key: &Protector,
    f: &Filter,
    page: PageReq,
) -> Result<Page<PersonRow>> {
    let narrowed = match &f.division {
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
        .cond_where(narrowed.condition((People::Table, People::DivisionCode)))
        .to_owned();
    if let Some(t) = f.tag {
        q.join(
            JoinType::InnerJoin,
            PersonTags::Table,
            Expr::col((PersonTags::Table, PersonTags::PersonId))
                .equals((People::Table, People::Id)),
        )
        .and_where(Expr::col((PersonTags::Table, PersonTags::TagIndex)).eq(tag_index(key, t)))
        .cond_where(narrowed.condition((PersonTags::Table, PersonTags::DivisionCode)));
    }
    if let Some(n) = f.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        q.and_where(Expr::col((People::Table, People::Name)).like(format!("%{}%", escape_like(n))));
    }
    if let Some(idn) = &f.id_number {
        q.and_where(Expr::col((People::Table, People::IdNumberIndex)).eq(id_index(key, idn)));
    }
    if let Some(h) = f.household_id {
        q.and_where(Expr::col((People::Table, People::HouseholdId)).eq(h));
    }
    let mut count = q.clone();
    count
        .clear_selects()
        .expr(Expr::col((People::Table, People::Id)).count());
    let total = c.fetch_i64(&count).await?;
    // With a tag, walk the (tag, division, person) index in order and stop at the page.
    if f.tag.is_some() {
        q.order_by((PersonTags::Table, PersonTags::DivisionCode), Order::Asc)
            .order_by((PersonTags::Table, PersonTags::PersonId), Order::Asc);
    } else {
        q.order_by((People::Table, People::DivisionCode), Order::Asc)
            .order_by((People::Table, People::Id), Order::Asc);
    }
    q.limit(page.per_page).offset(page.offset());
    Ok(Page {
        items: c.fetch_all(&q).await?,
        total,
    })
}

fn escape_like(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '%' | '_' | '\\'))
        .collect()
}

/// Change a resident's fields (division may move within scope); audits the changes.
pub async fn update(
    c: &mut Conn<'_>,
    scope: &Scope,
    key: &Protector,
    id: i64,
    p: &PersonInput,
    now: DateTime<Utc>,
) -> Result<()> {
    check_input(p)?;
    let before = get(c, scope, id).await?.ok_or(DbError::NotFound)?;
    check_placement(c, scope, p).await?;
    let s = seal(key, p)?;
    if find_id_index(c, &s.id_index)
        .await?
        .is_some_and(|other| other != id)
    {
        return Err(DbError::invalid(
            "id_number",
            "duplicate_id_number",
            "该身份证号已经登记",
        ));
    }
    let vals = row_values(p, &s, now);
    // Every stored column but the creation time; `updated_at` is set below.
    let cols = ROW_COLUMNS.into_iter().take(14);
    let pairs: Vec<(People, sea_query::SimpleExpr)> = cols.into_iter().zip(vals).collect();
    let q = Query::update()
        .table(People::Table)
        .values(pairs)
        .value(People::UpdatedAt, now)
        .and_where(Expr::col(People::Id).eq(id))
        .cond_where(scope.condition(People::DivisionCode))
        .to_owned();
    if c.execute(&q).await? == 0 {
        return Err(DbError::NotFound);
    }
    write_tags(c, id, p.division.as_str(), &s.tag_indexes).await?;
    let detail = diff(&before, p, &s, key);
    audit::append(
        c,
        &scope.actor,
        Event::new("person_update", "person", id)
            .division(p.division.as_str())
            .detail(detail),
        now,
    )
    .await?;
    Ok(())
}

/// Changed fields as `{"field":{"before","after"}}`; protected fields only as "已修改".
fn diff(before: &PersonRow, p: &PersonInput, s: &Sealed, key: &Protector) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    let mut plain = |field: &str, a: String, b: String| {
        if a != b {
            m.insert(field.into(), serde_json::json!({"before": a, "after": b}));
        }
    };
    plain("name", before.name.clone(), p.name.trim().to_owned());
    plain(
        "division",
        before.division_code.clone(),
        p.division.as_str().to_owned(),
    );
    plain(
        "address",
        before.address.clone(),
        p.address.trim().to_owned(),
    );
    plain(
        "relation",
        before.relation.clone(),
        p.relation.as_str().to_owned(),
    );
    plain(
        "household_id",
        format!("{:?}", before.household_id),
        format!("{:?}", p.household_id),
    );
    plain("tags", before.tags_general.clone(), s.general.clone());
    let old_id = key
        .open_string(F_ID, &before.id_number_enc)
        .unwrap_or_default();
    if old_id != p.id_number.as_str() {
        m.insert("id_number".into(), serde_json::json!("已修改"));
    }
    let old_phone = before
        .phone_enc
        .as_ref()
        .and_then(|b| key.open_string(F_PHONE, b).ok());
    if old_phone.as_deref() != p.phone.as_ref().map(Phone::as_str) {
        m.insert("phone".into(), serde_json::json!("已修改"));
    }
    let old_tags = before
        .tags_protected_enc
        .as_ref()
        .and_then(|b| key.open_string(F_TAGS, b).ok())
        .unwrap_or_default();
    let new_tags = s
        .protected_enc
        .as_ref()
        .and_then(|b| key.open_string(F_TAGS, b).ok())
        .unwrap_or_default();
    if old_tags != new_tags {
        m.insert("protected_tags".into(), serde_json::json!("已修改"));
    }
    serde_json::Value::Object(m)
}

/// Decrypt one protected value of a resident in scope and audit the reveal.
pub async fn reveal(
    c: &mut Conn<'_>,
    scope: &Scope,
    key: &Protector,
    id: i64,
    field: Protected,
    now: DateTime<Utc>,
) -> Result<String> {
    let p = get(c, scope, id).await?.ok_or(DbError::NotFound)?;
    let clear = open_field(key, &p, field)?;
    let ev = Event::new("reveal", "person", id)
        .division(&p.division_code)
        .detail(serde_json::json!({"field": field.as_str()}));
    audit::append(c, &scope.actor, ev, now).await?;
    Ok(clear)
}

/// The clear text of one protected field ("" when the person has none).
pub fn open_field(key: &Protector, p: &PersonRow, field: Protected) -> Result<String> {
    let broken = |_| DbError::Conflict("受保护数据无法解密（密钥不符或数据损坏）".into());
    Ok(match field {
        Protected::IdNumber => key.open_string(F_ID, &p.id_number_enc).map_err(broken)?,
        Protected::Phone => match &p.phone_enc {
            Some(b) => key.open_string(F_PHONE, b).map_err(broken)?,
            None => String::new(),
        },
        Protected::Tags => match &p.tags_protected_enc {
            Some(b) => split_tags(&key.open_string(F_TAGS, b).map_err(broken)?)
                .iter()
                .map(|t| t.label())
                .collect::<Vec<_>>()
                .join("、"),
            None => String::new(),
        },
    })
}

/// The gender stored for a row.
pub fn gender(p: &PersonRow) -> Option<Gender> {
    Gender::parse(&p.gender)
}

/// A household (户) in a village/community.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Household {
    pub id: i64,
    pub division_code: String,
    pub address: String,
}

pub async fn household(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<Household>> {
    let q = Query::select()
        .columns([
            Households::Id,
            Households::DivisionCode,
            Households::Address,
        ])
        .from(Households::Table)
        .and_where(Expr::col(Households::Id).eq(id))
        .cond_where(scope.condition(Households::DivisionCode))
        .to_owned();
    c.fetch_optional(&q).await
}

/// Open a household in a village/community in scope.
pub async fn create_household(
    c: &mut Conn<'_>,
    scope: &Scope,
    village: &DivisionCode,
    address: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    if village.level() != Level::Village {
        return Err(DbError::invalid(
            "division",
            "bad_level",
            "户应建在村（社区）",
        ));
    }
    if !scope.contains(village) {
        return Err(DbError::invalid(
            "division",
            "out_of_scope",
            "该区划不在您的管辖范围内",
        ));
    }
    if address.chars().count() > MAX_ADDRESS || address.chars().any(char::is_control) {
        return Err(DbError::invalid(
            "address",
            "bad_address",
            format!("地址不能超过 {MAX_ADDRESS} 个字"),
        ));
    }
    if crate::divisions::get(c, village).await?.is_none() {
        return Err(DbError::invalid(
            "division",
            "unknown_division",
            format!("区划 {village} 不存在"),
        ));
    }
    let q = Query::insert()
        .into_table(Households::Table)
        .columns([
            Households::DivisionCode,
            Households::Address,
            Households::CreatedAt,
            Households::UpdatedAt,
        ])
        .values_panic([
            village.as_str().into(),
            address.trim().into(),
            now.into(),
            now.into(),
        ])
        .to_owned();
    let id = c.insert_id(&q).await?;
    audit::append(
        c,
        &scope.actor,
        Event::new("household_create", "household", id).division(village.as_str()),
        now,
    )
    .await?;
    Ok(id)
}

/// Move a resident to another household (or none) with a relation to its head.
pub async fn move_household(
    c: &mut Conn<'_>,
    scope: &Scope,
    person: i64,
    household_id: Option<i64>,
    relation: Relation,
    now: DateTime<Utc>,
) -> Result<()> {
    let p = get(c, scope, person).await?.ok_or(DbError::NotFound)?;
    if let Some(h) = household_id {
        let hh = household(c, scope, h).await?.ok_or_else(|| {
            DbError::invalid(
                "household_id",
                "unknown_household",
                "户不存在或不在管辖范围内",
            )
        })?;
        if Some(hh.division_code.as_str()) != p.division_code.get(0..12) {
            return Err(DbError::invalid(
                "household_id",
                "household_elsewhere",
                "该户不在此人所在的村（社区）",
            ));
        }
    }
    let q = Query::update()
        .table(People::Table)
        .values([
            (People::HouseholdId, household_id.into()),
            (People::Relation, relation.as_str().into()),
            (People::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(People::Id).eq(person))
        .cond_where(scope.condition(People::DivisionCode))
        .to_owned();
    c.execute(&q).await?;
    let detail = serde_json::json!({"household_id": {"before": p.household_id, "after": household_id}, "relation": {"before": p.relation, "after": relation.as_str()}});
    audit::append(
        c,
        &scope.actor,
        Event::new("person_move_household", "person", person)
            .division(&p.division_code)
            .detail(detail),
        now,
    )
    .await?;
    Ok(())
}

/// Insert many residents at once (demo loading): sealed and indexed like
/// [`create`], with no per-row audit entry (the caller records one for the batch).
pub async fn insert_bulk(
    c: &mut Conn<'_>,
    key: &Protector,
    rows: &[PersonInput],
    now: DateTime<Utc>,
) -> Result<()> {
    for chunk in rows.chunks(300) {
        let mut q = Query::insert()
            .into_table(People::Table)
            .columns(ROW_COLUMNS)
            .to_owned();
        let mut tagged = Vec::new();
        for p in chunk {
            let s = seal(key, p)?;
            q.values_panic(row_values(p, &s, now));
            tagged.push((s.id_index, p.division.as_str().to_owned(), s.tag_indexes));
        }
        q.returning(Query::returning().columns([People::Id, People::IdNumberIndex]));
        // Pair ids by blind index: RETURNING order is not guaranteed.
        let ids: std::collections::HashMap<String, i64> = c
            .insert_returning::<(i64, String)>(&q)
            .await?
            .into_iter()
            .map(|(id, ix)| (ix, id))
            .collect();
        let mut t = Query::insert()
            .into_table(PersonTags::Table)
            .columns([
                PersonTags::PersonId,
                PersonTags::TagIndex,
                PersonTags::DivisionCode,
            ])
            .to_owned();
        let mut any = false;
        for (index, division, tags) in tagged {
            let Some(id) = ids.get(&index) else { continue };
            for tag in tags {
                t.values_panic([(*id).into(), tag.into(), division.clone().into()]);
                any = true;
            }
        }
        if any {
            c.execute(&t).await?;
        }
    }
    Ok(())
}

/// Number of residents in scope.
pub async fn count(c: &mut Conn<'_>, scope: &Scope) -> Result<i64> {
    let q = Query::select()
        .expr(Expr::col(People::Id).count())
        .from(People::Table)
        .cond_where(scope.condition(People::DivisionCode))
        .to_owned();
    c.fetch_i64(&q).await
}

/// Insert many households at once (demo loading); ids in input order.
pub async fn insert_households(
    c: &mut Conn<'_>,
    rows: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(500) {
        let mut q = Query::insert()
            .into_table(Households::Table)
            .columns([
                Households::DivisionCode,
                Households::Address,
                Households::CreatedAt,
                Households::UpdatedAt,
            ])
            .to_owned();
        for (code, address) in chunk {
            q.values_panic([
                code.clone().into(),
                address.clone().into(),
                now.into(),
                now.into(),
            ]);
        }
        q.returning_col(Households::Id);
        // Identity values are assigned in VALUES order; RETURNING order is not promised.
        let mut ids: Vec<i64> = c
            .insert_returning::<(i64,)>(&q)
            .await?
            .into_iter()
            .map(|r| r.0)
            .collect();
        ids.sort_unstable();
        out.extend(ids);
    }
    Ok(out)
}
