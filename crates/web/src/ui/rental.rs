//! 康复辅具租赁 pages: rental points in the caller's area with their counts, a
//! point's inventory and current loans, the lend and return forms (large
//! buttons, usable on a phone, no script), overdue loans, who has what (per
//! resident or phone) and the per-division summary with drill-down.

use super::{Ctx, Layout, PageError};
use crate::api::rental::{
    LoanView, RentalError, borrower, item_view, loan_filter, loan_view, loans_xlsx, point_detail,
};
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use shequ_core::rental::{self as core, Condition, ItemAction, local_date, parse_yuan, yuan};
use shequ_core::role::Capability;
use shequ_core::{DivisionCode, Level};
use shequ_db::PageReq;
use shequ_db::rental::{self, ItemInput, LoanInput, PointInput, ReturnInput};
use shequ_db::scope::Scope;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rental", get(list))
        .route("/rental/summary", get(summary))
        .route("/rental/overdue", get(overdue))
        .route("/rental/loans", get(loans))
        .route("/rental/points/new", get(new_point).post(create_point))
        .route("/rental/points/{id}", get(point))
        .route(
            "/rental/points/{id}/edit",
            get(edit_point).post(update_point),
        )
        .route("/rental/points/{id}/items", post(add_item))
        .route("/rental/points/{id}/loans.xlsx", get(export))
        .route("/rental/items/{id}/lend", get(lend_form).post(lend))
        .route("/rental/items/{id}/action", post(item_action))
        .route(
            "/rental/loans/{id}/return",
            get(return_form).post(return_loan),
        )
        .route("/rental/loans/{id}/extend", post(extend))
}

const PER_PAGE: u64 = 30;

fn name_of(st: &AppState, code: &str) -> String {
    st.tree
        .get()
        .get(code)
        .map_or_else(|| code.to_owned(), |d| d.name.clone())
}

fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

fn rental_err(ctx: &Ctx, e: RentalError) -> PageError {
    match e {
        RentalError::App(a) => ctx.err(a),
        RentalError::Refused { message, .. } => ctx.err(AppError::Conflict(message)),
    }
}

/// The messages of a refused write, for showing above the form.
fn messages(e: shequ_db::DbError) -> Result<Vec<String>, AppError> {
    match e {
        shequ_db::DbError::Invalid(f) => Ok(f.0.into_iter().map(|e| e.message).collect()),
        other => Err(other.into()),
    }
}

// ---------------------------------------------------------------- list

pub struct PointLine {
    pub id: i64,
    pub name: String,
    pub place: String,
    pub facility: String,
    pub items: i64,
    pub in_stock: i64,
    pub on_loan: i64,
    pub overdue: i64,
    pub active: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "rental/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub rows: Vec<PointLine>,
    pub total: i64,
    pub page: u64,
    pub pages: u64,
    pub overdue: i64,
    pub on_loan: i64,
    pub lending: i64,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    pub page: Option<u64>,
}

pub async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListParams>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageRentals)?;
    let page = q.page.unwrap_or(1).max(1);
    let today = local_date(st.now());
    let mut c = st.db.conn();
    let found = rental::list_points(
        &mut c,
        &scope,
        None,
        today,
        PageReq::new(Some(page), Some(PER_PAGE)),
    )
    .await
    .map_err(|e| ctx.err(e))?;
    let s = rental::summary(&mut c, &scope, &scope.root, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    Ok(ListPage {
        layout: ctx.layout("康复辅具租赁", "rental"),
        rows: found
            .items
            .iter()
            .map(|p| PointLine {
                id: p.row.id,
                name: p.row.name.clone(),
                place: name_of(&st, &p.row.division_code),
                facility: p.row.facility_name.clone(),
                items: p.counts.items,
                in_stock: p.counts.in_stock,
                on_loan: p.counts.on_loan,
                overdue: p.counts.overdue,
                active: p.row.active,
            })
            .collect(),
        total: found.total,
        page,
        pages: (found.total.max(0) as u64).div_ceil(PER_PAGE),
        overdue: s.total.counts.overdue,
        on_loan: s.total.counts.on_loan,
        lending: s.total.lending_communities,
    }
    .into_response())
}

// ---------------------------------------------------------------- summary

pub struct SummaryLine {
    pub code: String,
    pub name: String,
    pub points: i64,
    pub items: i64,
    pub on_loan: i64,
    pub overdue: i64,
    pub lending: i64,
    pub drill: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "rental/summary.html")]
pub struct SummaryPage {
    pub layout: Layout,
    pub total: SummaryLine,
    pub rows: Vec<SummaryLine>,
    pub up: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SummaryParams {
    #[serde(default)]
    pub division: String,
}

pub async fn summary(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SummaryParams>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ReadIndicators)?;
    let node = match q.division.trim() {
        "" => scope.root.clone(),
        s => DivisionCode::parse(s)
            .map_err(|e| ctx.err(AppError::bad_request("bad_division_code", e.to_string())))?,
    };
    let s = rental::summary(&mut st.db.conn(), &scope, &node, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    let line = |r: &rental::SummaryRow| SummaryLine {
        code: r.code.clone(),
        name: r.name.clone(),
        points: r.points,
        items: r.counts.items,
        on_loan: r.counts.on_loan,
        overdue: r.counts.overdue,
        lending: r.lending_communities,
        drill: DivisionCode::parse(&r.code)
            .is_ok_and(|c| matches!(c.level(), Level::City | Level::County | Level::Township)),
    };
    let up = node
        .parent()
        .filter(|p| scope.contains(p))
        .map(|p| p.as_str().to_owned());
    Ok(SummaryPage {
        layout: ctx.layout(format!("辅具租赁汇总 · {}", s.total.name), "rental"),
        total: line(&s.total),
        rows: s.children.iter().map(line).collect(),
        up,
    }
    .into_response())
}

// ---------------------------------------------------------------- loan lists

pub struct LoanLine {
    pub id: i64,
    pub kind: String,
    pub asset_tag: String,
    pub point_id: i64,
    pub point_name: String,
    pub place: String,
    pub borrower: String,
    pub phone: String,
    pub start: String,
    pub due: String,
    pub returned: String,
    pub overdue: bool,
    pub days_overdue: i64,
}

fn loan_line(st: &AppState, l: &LoanView) -> LoanLine {
    LoanLine {
        id: l.id,
        kind: l.kind_label.clone(),
        asset_tag: l.asset_tag.clone(),
        point_id: l.point_id,
        point_name: l.point_name.clone(),
        place: name_of(st, &l.division),
        borrower: l.borrower_name.clone(),
        phone: l.borrower_phone_masked.clone().unwrap_or_default(),
        start: l.start_date.to_string(),
        due: l.due_date.to_string(),
        returned: l.returned_on.map(|d| d.to_string()).unwrap_or_default(),
        overdue: l.overdue,
        days_overdue: l.days_overdue,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "rental/loans.html")]
pub struct LoansPage {
    pub layout: Layout,
    pub heading: String,
    pub rows: Vec<LoanLine>,
    pub total: i64,
    /// The search form (who has what) is shown on the general list.
    pub search: bool,
    pub phone: String,
    pub person_id: String,
    pub division: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoansParams {
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub person_id: String,
    #[serde(default)]
    pub status: String,
}

async fn loans_page(
    st: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    q: &LoansParams,
    overdue: bool,
) -> Result<Response, PageError> {
    let person_id = match q.person_id.trim() {
        "" => None,
        s => Some(
            s.parse::<i64>()
                .map_err(|_| ctx.err(AppError::bad_request("bad_person_id", "居民编号应为数字")))?,
        ),
    };
    let status = if overdue {
        "overdue"
    } else if q.status.trim().is_empty() {
        "open"
    } else {
        q.status.trim()
    };
    let f = loan_filter(
        st,
        Some(q.division.as_str()),
        None,
        person_id,
        Some(q.phone.as_str()),
        Some(status),
    )
    .map_err(|e| ctx.err(e))?;
    let found = rental::loans(
        &mut st.db.conn(),
        scope,
        &f,
        PageReq::new(Some(1), Some(500)),
    )
    .await
    .map_err(|e| ctx.err(e))?;
    let today = local_date(st.now());
    let heading = if overdue {
        match q.division.trim() {
            "" => "逾期未还".to_owned(),
            d => format!("逾期未还 · {}", name_of(st, d)),
        }
    } else {
        "在借查询（谁借了什么）".to_owned()
    };
    Ok(LoansPage {
        layout: ctx.layout(heading.clone(), "rental"),
        heading,
        rows: found
            .items
            .iter()
            .map(|l| loan_line(st, &loan_view(l, today)))
            .collect(),
        total: found.total,
        search: !overdue,
        phone: q.phone.trim().to_owned(),
        person_id: q.person_id.trim().to_owned(),
        division: q.division.trim().to_owned(),
    }
    .into_response())
}

pub async fn overdue(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<LoansParams>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageRentals)?;
    loans_page(&st, &ctx, &scope, &q, true).await
}

pub async fn loans(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<LoansParams>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageRentals)?;
    loans_page(&st, &ctx, &scope, &q, false).await
}

// ---------------------------------------------------------------- point

pub struct ItemLine {
    pub id: i64,
    pub kind: String,
    pub asset_tag: String,
    pub state: String,
    pub state_label: String,
    pub condition: String,
    pub fee: String,
    pub deposit: String,
}

pub struct KindChoice {
    pub code: &'static str,
    pub label: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "rental/point.html")]
pub struct PointPage {
    pub layout: Layout,
    pub id: i64,
    pub name: String,
    pub place: String,
    pub facility: String,
    pub contact: String,
    pub opening_note: String,
    pub active: bool,
    pub items_count: i64,
    pub in_stock: i64,
    pub on_loan: i64,
    pub repair: i64,
    pub overdue: i64,
    pub items: Vec<ItemLine>,
    pub loans: Vec<LoanLine>,
    pub kinds: Vec<KindChoice>,
    pub errors: Vec<String>,
}

async fn point_page(
    st: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    id: i64,
    errors: Vec<String>,
) -> Result<PointPage, PageError> {
    let d = point_detail(st, scope, id)
        .await
        .map_err(|e| rental_err(ctx, e))?;
    let p = &d.point;
    Ok(PointPage {
        layout: ctx.layout(p.name.clone(), "rental"),
        id,
        name: p.name.clone(),
        place: name_of(st, &p.division),
        facility: p.facility_name.clone(),
        contact: format!("{} {}", p.contact_name, p.contact_phone)
            .trim()
            .to_owned(),
        opening_note: p.opening_note.clone(),
        active: p.active,
        items_count: p.counts.items,
        in_stock: p.counts.in_stock,
        on_loan: p.counts.on_loan,
        repair: p.counts.repair,
        overdue: p.counts.overdue,
        items: d
            .items
            .iter()
            .map(|i| ItemLine {
                id: i.id,
                kind: i.kind_label.clone(),
                asset_tag: i.asset_tag.clone(),
                state: i.state.clone(),
                state_label: i.state_label.clone(),
                condition: i.condition_label.clone(),
                fee: yuan(i.daily_fee_fen),
                deposit: yuan(i.deposit_fen),
            })
            .collect(),
        loans: d.open_loans.iter().map(|l| loan_line(st, l)).collect(),
        kinds: core::CATALOGUE
            .iter()
            .map(|k| KindChoice {
                code: k.code,
                label: k.label,
            })
            .collect(),
        errors,
    })
}

pub async fn point(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageRentals)?;
    Ok(point_page(&st, &ctx, &scope, id, vec![])
        .await?
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct ItemForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub asset_tag: String,
    #[serde(default)]
    pub condition: String,
    #[serde(default)]
    pub fee: String,
    #[serde(default)]
    pub deposit: String,
}

/// Money typed in 元; empty means "the catalogue's".
fn money(s: &str, label: &str, errors: &mut Vec<String>) -> Option<i64> {
    match s.trim() {
        "" => None,
        t => parse_yuan(t).or_else(|| {
            errors.push(format!("{label}应为金额（元），最多两位小数"));
            None
        }),
    }
}

pub async fn add_item(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<ItemForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::ManageRentals)?;
    let mut errors = vec![];
    let daily_fee_fen = money(&f.fee, "日租金", &mut errors);
    let deposit_fen = money(&f.deposit, "押金", &mut errors);
    let condition = Condition::parse(&f.condition).unwrap_or(Condition::Good);
    if errors.is_empty() {
        let input = ItemInput {
            kind: f.kind.clone(),
            asset_tag: f.asset_tag.clone(),
            condition,
            daily_fee_fen,
            deposit_fen,
            note: String::new(),
        };
        let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
        match rental::add_item(&mut tx.conn(), &scope, id, &input, st.now()).await {
            Ok(_) => {
                tx.commit().await.map_err(|e| ctx.err(e))?;
                return Ok(Redirect::to(&format!("/rental/points/{id}#items")).into_response());
            }
            Err(shequ_db::DbError::NotFound) => return Err(ctx.err(AppError::not_found())),
            Err(e) => errors = messages(e).map_err(|e| ctx.err(e))?,
        }
    }
    let page = point_page(&st, &ctx, &scope, id, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub action: String,
}

pub async fn item_action(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<ActionForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::ManageRentals)?;
    let item = rental::get_item(&mut st.db.conn(), &scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    let action = ItemAction::parse_staff(&f.action)
        .ok_or_else(|| ctx.err(AppError::bad_request("unknown_action", "未知操作")))?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match rental::item_action(&mut tx.conn(), &scope, id, action, "", st.now()).await {
        Ok(_) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/rental/points/{}#items", item.point_id)).into_response())
        }
        Err(e) => {
            drop(tx);
            let errors = messages(e).map_err(|e| ctx.err(e))?;
            let page = point_page(&st, &ctx, &scope, item.point_id, errors).await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
    }
}

pub async fn export(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<LoansParams>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageRentals)?;
    loans_xlsx(&st, &scope, id, q.status.trim() == "overdue")
        .await
        .map_err(|e| rental_err(&ctx, e))
}

// ---------------------------------------------------------------- point form

pub struct FacilityChoice {
    pub id: i64,
    pub label: String,
    pub selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "rental/point_form.html")]
pub struct PointFormPage {
    pub layout: Layout,
    /// `None` for a new point.
    pub id: Option<i64>,
    pub facilities: Vec<FacilityChoice>,
    pub name: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub opening_note: String,
    pub active: bool,
    pub errors: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PointForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub facility_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_phone: String,
    #[serde(default)]
    pub opening_note: String,
    #[serde(default)]
    pub active: Option<String>,
}

async fn point_form_page(
    st: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    id: Option<i64>,
    f: &PointForm,
    errors: Vec<String>,
) -> Result<PointFormPage, PageError> {
    let found = shequ_db::facilities::list(
        &mut st.db.conn(),
        scope,
        &Default::default(),
        PageReq::new(Some(1), Some(500)),
    )
    .await
    .map_err(|e| ctx.err(e))?;
    let chosen: i64 = f.facility_id.trim().parse().unwrap_or(0);
    Ok(PointFormPage {
        layout: ctx.layout(
            if id.is_some() {
                "修改租赁点"
            } else {
                "新建租赁点"
            },
            "rental",
        ),
        id,
        facilities: found
            .items
            .iter()
            .filter(|x| x.row.division_code.len() >= 12)
            .map(|x| FacilityChoice {
                id: x.row.id,
                label: format!("{} · {}", name_of(st, &x.row.division_code), x.row.name),
                selected: x.row.id == chosen,
            })
            .collect(),
        name: f.name.clone(),
        contact_name: f.contact_name.clone(),
        contact_phone: f.contact_phone.clone(),
        opening_note: f.opening_note.clone(),
        active: f.active.is_some() || id.is_none(),
        errors,
    })
}

pub async fn new_point(State(st): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageRentals)?;
    let f = PointForm {
        name: "康复辅具租赁点".into(),
        opening_note: "工作日 8:30–17:30".into(),
        ..PointForm::default()
    };
    Ok(point_form_page(&st, &ctx, &scope, None, &f, vec![])
        .await?
        .into_response())
}

pub async fn edit_point(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageRentals)?;
    let p = rental::get_point(&mut st.db.conn(), &scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    let f = PointForm {
        csrf: String::new(),
        facility_id: p.facility_id.to_string(),
        name: p.name,
        contact_name: p.contact_name,
        contact_phone: p.contact_phone,
        opening_note: p.opening_note,
        active: p.active.then(|| "1".to_owned()),
    };
    Ok(point_form_page(&st, &ctx, &scope, Some(id), &f, vec![])
        .await?
        .into_response())
}

fn point_input(f: &PointForm) -> PointInput {
    PointInput {
        facility_id: f.facility_id.trim().parse().unwrap_or(0),
        name: f.name.clone(),
        contact_name: f.contact_name.clone(),
        contact_phone: f.contact_phone.clone(),
        opening_note: f.opening_note.clone(),
        active: f.active.is_some(),
    }
}

async fn save_point(
    st: &AppState,
    ctx: &Ctx,
    id: Option<i64>,
    f: PointForm,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::ManageRentals)?;
    let input = point_input(&f);
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    let done = match id {
        Some(id) => rental::update_point(&mut tx.conn(), &scope, id, &input, st.now())
            .await
            .map(|_| id),
        None => rental::create_point(&mut tx.conn(), &scope, &input, st.now()).await,
    };
    match done {
        Ok(pid) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/rental/points/{pid}")).into_response())
        }
        Err(shequ_db::DbError::NotFound) => Err(ctx.err(AppError::not_found())),
        Err(e) => {
            drop(tx);
            let errors = messages(e).map_err(|e| ctx.err(e))?;
            let page = point_form_page(st, ctx, &scope, id, &f, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

pub async fn create_point(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<PointForm>,
) -> Result<Response, PageError> {
    save_point(&st, &ctx, None, f).await
}

pub async fn update_point(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<PointForm>,
) -> Result<Response, PageError> {
    save_point(&st, &ctx, Some(id), f).await
}

// ---------------------------------------------------------------- lend

#[derive(Template, WebTemplate)]
#[template(path = "rental/lend.html")]
pub struct LendPage {
    pub layout: Layout,
    pub item_id: i64,
    pub point_id: i64,
    pub kind: String,
    pub asset_tag: String,
    pub available: bool,
    pub state_label: String,
    pub fee: String,
    pub f: LendForm,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct LendForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub person_id: String,
    #[serde(default)]
    pub borrower_name: String,
    #[serde(default)]
    pub borrower_phone: String,
    #[serde(default)]
    pub start_date: String,
    #[serde(default)]
    pub due_date: String,
    /// 元.
    #[serde(default)]
    pub deposit: String,
}

async fn lend_page(
    st: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    id: i64,
    f: LendForm,
    errors: Vec<String>,
) -> Result<LendPage, PageError> {
    let item = rental::get_item(&mut st.db.conn(), scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    let v = item_view(&item);
    Ok(LendPage {
        layout: ctx.layout(format!("出借 {}", v.kind_label), "rental"),
        item_id: id,
        point_id: item.point_id,
        kind: v.kind_label,
        asset_tag: v.asset_tag,
        available: item.state() == shequ_core::rental::ItemState::InStock,
        state_label: v.state_label,
        fee: yuan(item.daily_fee_fen),
        f,
        errors,
    })
}

pub async fn lend_form(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageRentals)?;
    let today = local_date(st.now());
    let item = rental::get_item(&mut st.db.conn(), &scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    let f = LendForm {
        start_date: today.to_string(),
        due_date: (today + chrono::Duration::days(30)).to_string(),
        deposit: yuan(item.deposit_fen),
        ..LendForm::default()
    };
    Ok(lend_page(&st, &ctx, &scope, id, f, vec![])
        .await?
        .into_response())
}

pub async fn lend(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<LendForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::ManageRentals)?;
    let today = local_date(st.now());
    let mut errors = vec![];
    let person_id = match f.person_id.trim() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push("居民编号应为数字".to_owned());
                None
            }
        },
    };
    let start = match f.start_date.trim() {
        "" => Some(today),
        s => parse_day(s).or_else(|| {
            errors.push("借出日期格式应为 2025-06-30".to_owned());
            None
        }),
    };
    let due = parse_day(&f.due_date).or_else(|| {
        errors.push("请填写应还日期（格式 2025-06-30）".to_owned());
        None
    });
    let deposit_fen = money(&f.deposit, "押金", &mut errors);
    let who = borrower(
        person_id,
        Some(f.borrower_name.as_str()),
        Some(f.borrower_phone.as_str()),
    );
    if let Err(e) = &who {
        errors.extend(e.0.iter().map(|e| e.message.clone()));
    }
    if let (true, Ok(who), Some(start), Some(due)) = (errors.is_empty(), who, start, due) {
        let input = LoanInput {
            item_id: id,
            borrower: who,
            start_date: start,
            due_date: due,
            deposit_fen,
        };
        let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
        match rental::lend(&mut tx.conn(), &st.key, &scope, &input, st.now()).await {
            Ok(loan) => {
                tx.commit().await.map_err(|e| ctx.err(e))?;
                let l = rental::get_loan(&mut st.db.conn(), &scope, loan)
                    .await
                    .map_err(|e| ctx.err(e))?
                    .ok_or_else(|| ctx.err(AppError::not_found()))?;
                return Ok(
                    Redirect::to(&format!("/rental/points/{}#loans", l.point_id)).into_response(),
                );
            }
            Err(e) => {
                drop(tx);
                errors = messages(e).map_err(|e| ctx.err(e))?;
            }
        }
    }
    let page = lend_page(&st, &ctx, &scope, id, f, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

// ---------------------------------------------------------------- return

pub struct ConditionChoice {
    pub code: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "rental/return.html")]
pub struct ReturnPage {
    pub layout: Layout,
    pub loan: LoanLine,
    pub deposit: String,
    pub fee_rule: String,
    pub fee_so_far: String,
    pub returned: bool,
    pub refund: String,
    pub kept: String,
    pub due_amount: String,
    pub keep_reason: String,
    pub conditions: Vec<ConditionChoice>,
    pub f: ReturnForm,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReturnForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub returned_on: String,
    #[serde(default)]
    pub condition: String,
    /// Deposit kept, 元.
    #[serde(default)]
    pub kept: String,
    #[serde(default)]
    pub reason: String,
    /// New due date (extension).
    #[serde(default)]
    pub due_date: String,
}

async fn return_page(
    st: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    id: i64,
    f: ReturnForm,
    errors: Vec<String>,
) -> Result<ReturnPage, PageError> {
    let l = rental::get_loan(&mut st.db.conn(), scope, id)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(AppError::not_found()))?;
    let v = loan_view(&l, local_date(st.now()));
    let chosen = Condition::parse(&f.condition).unwrap_or(Condition::Good);
    Ok(ReturnPage {
        layout: ctx.layout(format!("归还 {} {}", v.kind_label, v.asset_tag), "rental"),
        deposit: yuan(v.deposit_fen),
        fee_rule: v.fee_rule_label.clone(),
        fee_so_far: yuan(v.fee_fen),
        returned: v.returned,
        refund: yuan(v.deposit_refund_fen.unwrap_or(0)),
        kept: yuan(v.deposit_kept_fen.unwrap_or(0)),
        due_amount: yuan(v.amount_due_fen.unwrap_or(0)),
        keep_reason: v.keep_reason.clone(),
        conditions: Condition::ALL
            .iter()
            .map(|c| ConditionChoice {
                code: c.as_str(),
                label: c.label(),
                checked: *c == chosen,
            })
            .collect(),
        loan: loan_line(st, &v),
        f,
        errors,
    })
}

pub async fn return_form(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (_, scope) = ctx.scope(Capability::ManageRentals)?;
    let f = ReturnForm {
        returned_on: local_date(st.now()).to_string(),
        kept: "0".into(),
        ..ReturnForm::default()
    };
    Ok(return_page(&st, &ctx, &scope, id, f, vec![])
        .await?
        .into_response())
}

pub async fn return_loan(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<ReturnForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::ManageRentals)?;
    let today = local_date(st.now());
    let mut errors = vec![];
    let returned_on = match f.returned_on.trim() {
        "" => Some(today),
        s => parse_day(s).or_else(|| {
            errors.push("归还日期格式应为 2025-06-30".to_owned());
            None
        }),
    };
    let kept = money(&f.kept, "扣留押金", &mut errors).unwrap_or(0);
    let condition = Condition::parse(&f.condition).unwrap_or(Condition::Good);
    if let (true, Some(returned_on)) = (errors.is_empty(), returned_on) {
        let input = ReturnInput {
            returned_on,
            condition,
            deposit_kept_fen: kept,
            keep_reason: f.reason.clone(),
        };
        let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
        match rental::return_loan(&mut tx.conn(), &scope, id, &input, st.now()).await {
            Ok(_) => {
                tx.commit().await.map_err(|e| ctx.err(e))?;
                return Ok(Redirect::to(&format!("/rental/loans/{id}/return")).into_response());
            }
            Err(shequ_db::DbError::NotFound) => return Err(ctx.err(AppError::not_found())),
            Err(e) => {
                drop(tx);
                errors = messages(e).map_err(|e| ctx.err(e))?;
            }
        }
    }
    let page = return_page(&st, &ctx, &scope, id, f, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

pub async fn extend(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<ReturnForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::ManageRentals)?;
    let mut errors = vec![];
    if let Some(due) = parse_day(&f.due_date) {
        let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
        match rental::extend(&mut tx.conn(), &scope, id, due, st.now()).await {
            Ok(()) => {
                tx.commit().await.map_err(|e| ctx.err(e))?;
                return Ok(Redirect::to(&format!("/rental/loans/{id}/return")).into_response());
            }
            Err(shequ_db::DbError::NotFound) => return Err(ctx.err(AppError::not_found())),
            Err(e) => {
                drop(tx);
                errors = messages(e).map_err(|e| ctx.err(e))?;
            }
        }
    } else {
        errors.push("请填写新的应还日期（格式 2025-06-30）".to_owned());
    }
    let page = return_page(&st, &ctx, &scope, id, f, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
