//! Resident pages: search (name, tag, division, exact ID number), detail with
//! masked fields and audited reveal, registration and editing, masked export.

use super::{Ctx, Layout, PageError};
use crate::api::people::{PeopleQuery, filter};
use crate::person_input::RawPerson;
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use shequ_core::role::Capability;
use shequ_core::{Relation, Tag};
use shequ_db::PageReq;
use shequ_db::people::{self, PersonRow, Protected};
use shequ_reports::xlsx::{self, Cell};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/people", get(list).post(create))
        .route("/people/new", get(new_form))
        .route("/people/export.xlsx", get(export))
        .route("/people/{id}", get(detail).post(update))
        .route("/people/{id}/edit", get(edit_form))
        .route("/people/{id}/reveal", post(reveal))
}

pub struct Row {
    pub id: i64,
    pub name: String,
    pub gender: &'static str,
    pub birth: String,
    pub id_masked: String,
    pub phone: String,
    pub place: String,
    pub tags: String,
}

fn row(st: &AppState, p: &PersonRow) -> Row {
    Row {
        id: p.id,
        name: p.name.clone(),
        gender: people::gender(p).map_or("", |g| g.label()),
        birth: p.birth_date.format("%Y-%m-%d").to_string(),
        id_masked: p.id_number_masked.clone(),
        phone: p.phone_masked.clone().unwrap_or_default(),
        place: place_name(st, &p.division_code),
        tags: tag_line(p),
    }
}

fn tag_line(p: &PersonRow) -> String {
    let mut t: Vec<&str> = p.general_tags().iter().map(|t| t.label()).collect();
    if p.has_protected_tags() {
        t.push("受保护标签（已隐藏）");
    }
    t.join("、")
}

/// "兴隆街道 › 和平社区 › 第一网格" (township down).
fn place_name(st: &AppState, code: &str) -> String {
    let Ok(c) = shequ_core::DivisionCode::parse(code) else {
        return code.to_owned();
    };
    let tree = st.tree.get();
    tree.lineage(&c)
        .iter()
        .filter(|d| d.code.len() >= 9)
        .map(|d| d.name.as_str())
        .collect::<Vec<_>>()
        .join(" › ")
}

pub struct TagOption {
    pub code: &'static str,
    pub label: &'static str,
    pub sensitive: bool,
    pub selected: bool,
}

fn tag_options(selected: &[Tag], include_sensitive: bool) -> Vec<TagOption> {
    Tag::ALL
        .iter()
        .filter(|t| include_sensitive || !t.sensitive())
        .map(|t| TagOption {
            code: t.as_str(),
            label: t.label(),
            sensitive: t.sensitive(),
            selected: selected.contains(t),
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "people/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub q: PeopleParams,
    pub rows: Vec<Row>,
    pub total: i64,
    pub page: u64,
    pub pages: u64,
    pub tags: Vec<TagOption>,
    pub message: String,
    pub can_write: bool,
    pub can_export: bool,
    pub query_string: String,
}

/// The search form's fields, echoed back.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PeopleParams {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub page: Option<u64>,
}

impl PeopleParams {
    fn query(&self) -> PeopleQuery {
        let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        PeopleQuery {
            division: opt(&self.division),
            id_number: opt(&self.id_number),
            tag: opt(&self.tag),
            name: opt(&self.name),
            page: self.page,
            per_page: Some(20),
        }
    }

    fn query_string(&self) -> String {
        let enc = super::urlencode;
        format!(
            "name={}&id_number={}&tag={}&division={}",
            enc(&self.name),
            enc(&self.id_number),
            enc(&self.tag),
            enc(&self.division)
        )
    }
}

pub async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<PeopleParams>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ReadPeople)?;
    let can_reveal = scope.role.can(Capability::RevealProtected);
    let page_no = q.page.unwrap_or(1).max(1);
    let (rows, total, message) = match filter(&st, can_reveal, &q.query()) {
        Ok(f) => {
            let found = people::list(
                &mut st.db.conn(),
                &scope,
                &st.key,
                &f,
                PageReq::new(Some(page_no), Some(20)),
            )
            .await
            .map_err(|e| ctx.err(e))?;
            if f.tag.is_some_and(Tag::sensitive) {
                let ev = shequ_db::audit::Event::new("people_search_protected_tag", "person", "")
                    .division(scope.root.as_str())
                    .detail(serde_json::json!({"tag": q.tag}));
                shequ_db::audit::record(&st.db, &scope.actor, ev, st.now())
                    .await
                    .map_err(|e| ctx.err(e))?;
            }
            let msg = if found.total == 0 && !q.id_number.trim().is_empty() {
                "您管辖范围内没有这个身份证号的居民。".to_owned()
            } else {
                String::new()
            };
            (
                found.items.iter().map(|p| row(&st, p)).collect(),
                found.total,
                msg,
            )
        }
        Err(AppError::Forbidden) => (
            Vec::new(),
            0,
            "按受保护标签查询需要查看明文的权限。".to_owned(),
        ),
        Err(e) => (Vec::new(), 0, e.to_string()),
    };
    let page = ListPage {
        layout: ctx.layout("居民", "people"),
        query_string: q.query_string(),
        q,
        rows,
        total,
        page: page_no,
        pages: (total.max(0) as u64).div_ceil(20),
        tags: tag_options(&[], can_reveal),
        message,
        can_write: ctx.can(Capability::WritePeople),
        can_export: ctx.can(Capability::ExportPeople),
    };
    Ok(page.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "people/detail.html")]
pub struct DetailPage {
    pub layout: Layout,
    pub p: Row,
    pub relation: &'static str,
    pub address: String,
    pub household_id: Option<i64>,
    pub members: Vec<Row>,
    pub revealed_field: &'static str,
    pub revealed_value: String,
    pub can_reveal: bool,
    pub can_write: bool,
    pub has_phone: bool,
    pub has_protected_tags: bool,
}

async fn detail_page(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    revealed: Option<(Protected, String)>,
) -> Result<DetailPage, PageError> {
    let (_, scope) = ctx.scope(Capability::ReadPeople)?;
    let p = people::get(&mut st.db.conn(), &scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| {
            ctx.err(AppError::NotFound(
                "没有找到该居民，或不在您的管辖范围内。".into(),
            ))
        })?;
    let members = match p.household_id {
        Some(h) => {
            let f = people::Filter {
                household_id: Some(h),
                ..Default::default()
            };
            people::list(
                &mut st.db.conn(),
                &scope,
                &st.key,
                &f,
                PageReq::new(Some(1), Some(50)),
            )
            .await
            .map_err(|e| ctx.err(e))?
            .items
        }
        None => Vec::new(),
    };
    let (field, value) = revealed.map_or(("", String::new()), |(f, v)| (f.as_str(), v));
    Ok(DetailPage {
        layout: ctx.layout(p.name.clone(), "people"),
        relation: Relation::parse(&p.relation).map_or("", |r| r.label()),
        address: p.address.clone(),
        household_id: p.household_id,
        members: members
            .iter()
            .filter(|m| m.id != p.id)
            .map(|m| row(st, m))
            .collect(),
        revealed_field: field,
        revealed_value: value,
        can_reveal: ctx.can(Capability::RevealProtected),
        can_write: ctx.can(Capability::WritePeople),
        has_phone: p.phone_enc.is_some(),
        has_protected_tags: p.has_protected_tags(),
        p: row(st, &p),
    })
}

pub async fn detail(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<DetailPage, PageError> {
    detail_page(&st, &ctx, id, None).await
}

#[derive(Debug, Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub csrf: String,
}

/// Show one protected value in clear; audited.
pub async fn reveal(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<RevealForm>,
) -> Result<DetailPage, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::RevealProtected)?;
    let field = Protected::parse(&f.field)
        .ok_or_else(|| ctx.err(AppError::bad_request("unknown_field", "无法查看该字段")))?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    let value = people::reveal(&mut tx.conn(), &scope, &st.key, id, field, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    tx.commit().await.map_err(|e| ctx.err(e))?;
    detail_page(&st, &ctx, id, Some((field, value))).await
}

#[derive(Template, WebTemplate)]
#[template(path = "people/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub action: String,
    pub editing: bool,
    pub v: FormValues,
    pub tags: Vec<TagOption>,
    pub relations: Vec<(&'static str, &'static str, bool)>,
    pub errors: Vec<String>,
}

/// The registration form's fields.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FormValues {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub household_id: String,
    #[serde(default)]
    pub relation: String,
    /// Comma-joined tag codes (the form sends one `tag_<code>=on` per ticked box).
    #[serde(skip)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub csrf: String,
}

fn relations(selected: &str) -> Vec<(&'static str, &'static str, bool)> {
    Relation::ALL
        .iter()
        .map(|r| (r.as_str(), r.label(), r.as_str() == selected))
        .collect()
}

fn form_page(
    ctx: &Ctx,
    action: String,
    editing: bool,
    v: FormValues,
    errors: Vec<String>,
) -> FormPage {
    let selected: Vec<Tag> = v.tags.iter().filter_map(|t| Tag::parse(t)).collect();
    FormPage {
        layout: ctx.layout(
            if editing {
                "修改居民信息"
            } else {
                "登记居民"
            },
            "people",
        ),
        action,
        editing,
        relations: relations(&v.relation),
        tags: tag_options(&selected, true),
        v,
        errors,
    }
}

pub async fn new_form(ctx: Ctx) -> Result<FormPage, PageError> {
    let (user, _) = ctx.scope(Capability::WritePeople)?;
    let v = FormValues {
        division: user.division_code.clone(),
        relation: "head".into(),
        ..Default::default()
    };
    Ok(form_page(&ctx, "/people".into(), false, v, Vec::new()))
}

/// Read the form body, collecting the ticked tag boxes (one `tag=` per box).
fn parse_form(body: &str) -> FormValues {
    let mut v = FormValues::default();
    for (k, val) in form_urlencoded::parse(body.as_bytes()) {
        let val = val.into_owned();
        match k.as_ref() {
            "name" => v.name = val,
            "id_number" => v.id_number = val,
            "phone" => v.phone = val,
            "division" => v.division = val,
            "address" => v.address = val,
            "household_id" => v.household_id = val,
            "relation" => v.relation = val,
            "csrf" => v.csrf = val,
            "tag" => v.tags.push(val),
            _ => {}
        }
    }
    v
}

impl FormValues {
    fn raw(&self) -> Result<RawPerson, String> {
        let household_id = match self.household_id.trim() {
            "" => None,
            h => Some(h.parse::<i64>().map_err(|_| "户编号应为数字".to_owned())?),
        };
        Ok(RawPerson {
            division: self.division.trim().to_owned(),
            name: self.name.clone(),
            id_number: self.id_number.clone(),
            phone: Some(self.phone.clone()),
            address: Some(self.address.clone()),
            household_id,
            relation: Some(self.relation.clone()),
            tags: self.tags.clone(),
        })
    }
}

pub async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    body: String,
) -> Result<Response, PageError> {
    let v = parse_form(&body);
    ctx.check_csrf(&v.csrf)?;
    let (_, scope) = ctx.scope(Capability::WritePeople)?;
    let input = match v.raw().map_err(|m| vec![m]).and_then(|r| {
        r.parse(st.now().date_naive())
            .map_err(|e| e.0.into_iter().map(|x| x.message).collect())
    }) {
        Ok(i) => i,
        Err(errors) => {
            return Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                form_page(&ctx, "/people".into(), false, v, errors),
            )
                .into_response());
        }
    };
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match people::create(&mut tx.conn(), &scope, &st.key, &input, st.now()).await {
        Ok(id) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/people/{id}")).into_response())
        }
        Err(shequ_db::DbError::Invalid(fe)) => {
            let errors = fe.0.into_iter().map(|x| x.message).collect();
            Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                form_page(&ctx, "/people".into(), false, v, errors),
            )
                .into_response())
        }
        Err(e) => Err(ctx.err(e)),
    }
}

pub async fn edit_form(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<FormPage, PageError> {
    let (_, scope) = ctx.scope(Capability::WritePeople)?;
    let p = people::get(&mut st.db.conn(), &scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    let v = FormValues {
        name: p.name.clone(),
        division: p.division_code.clone(),
        address: p.address.clone(),
        household_id: p.household_id.map(|h| h.to_string()).unwrap_or_default(),
        relation: p.relation.clone(),
        tags: p
            .general_tags()
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect(),
        ..Default::default()
    };
    Ok(form_page(
        &ctx,
        format!("/people/{id}"),
        true,
        v,
        Vec::new(),
    ))
}

/// Save an edit. Empty ID number or phone keeps the stored value; sensitive tags
/// are kept unless the form sets some.
pub async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: String,
) -> Result<Response, PageError> {
    let mut v = parse_form(&body);
    ctx.check_csrf(&v.csrf)?;
    let (_, scope) = ctx.scope(Capability::WritePeople)?;
    let current = people::get(&mut st.db.conn(), &scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    let keep = |field| people::open_field(&st.key, &current, field).map_err(|e| ctx.err(e));
    let shown_id = v.id_number.clone();
    if v.id_number.trim().is_empty() {
        v.id_number = keep(Protected::IdNumber)?;
    }
    if v.phone.trim().is_empty() {
        v.phone = keep(Protected::Phone)?;
    }
    let sets_sensitive = v
        .tags
        .iter()
        .filter_map(|t| Tag::parse(t))
        .any(Tag::sensitive);
    if !sets_sensitive && current.has_protected_tags() {
        let kept = keep(Protected::Tags)?;
        v.tags.extend(
            kept.split('、')
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        );
    }
    let result = match v.raw().map_err(|m| vec![m]).and_then(|r| {
        r.parse(st.now().date_naive())
            .map_err(|e| e.0.into_iter().map(|x| x.message).collect::<Vec<_>>())
    }) {
        Ok(input) => {
            let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
            match people::update(&mut tx.conn(), &scope, &st.key, id, &input, st.now()).await {
                Ok(()) => tx.commit().await.map_err(|e| ctx.err(e)).map(|()| Ok(())),
                Err(shequ_db::DbError::Invalid(fe)) => {
                    Ok(Err(fe.0.into_iter().map(|x| x.message).collect()))
                }
                Err(e) => Err(ctx.err(e)),
            }?
        }
        Err(errors) => Err(errors),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/people/{id}")).into_response()),
        Err(errors) => {
            // Never echo a kept protected value back into the form.
            v.id_number = shown_id;
            v.phone.clear();
            v.tags
                .retain(|t| Tag::parse(t).is_some_and(|t| !t.sensitive()));
            Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                form_page(&ctx, format!("/people/{id}"), true, v, errors),
            )
                .into_response())
        }
    }
}

/// The current search as a spreadsheet, protected fields masked; audited.
pub async fn export(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<PeopleParams>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ExportPeople)?;
    let f = filter(&st, scope.role.can(Capability::RevealProtected), &q.query())
        .map_err(|e| ctx.err(e))?;
    let found = people::list(
        &mut st.db.conn(),
        &scope,
        &st.key,
        &f,
        PageReq::new(Some(1), Some(EXPORT_LIMIT)),
    )
    .await
    .map_err(|e| ctx.err(e))?;
    let rows: Vec<Vec<Cell>> = found
        .items
        .iter()
        .map(|p| {
            let r = row(&st, p);
            vec![
                Cell::Int(r.id),
                Cell::Text(r.name),
                Cell::Text(r.gender.into()),
                Cell::Text(r.birth),
                Cell::Text(r.id_masked),
                Cell::Text(r.phone),
                Cell::Text(r.place),
                Cell::Text(r.tags),
            ]
        })
        .collect();
    let bytes = xlsx::sheet(
        "居民名单",
        &[
            "编号",
            "姓名",
            "性别",
            "出生日期",
            "身份证号（脱敏）",
            "电话（脱敏）",
            "所在地",
            "人群标签",
        ],
        &rows,
    )
    .map_err(|e| ctx.err(AppError::Internal(e.into())))?;
    let ev = shequ_db::audit::Event::new("export", "person", "")
        .division(scope.root.as_str())
        .detail(serde_json::json!({"rows": rows.len(), "filter": q.query_string()}));
    shequ_db::audit::record(&st.db, &scope.actor, ev, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"people.xlsx\""),
    );
    Ok(res)
}

/// Most rows one export writes.
pub const EXPORT_LIMIT: u64 = 500;
