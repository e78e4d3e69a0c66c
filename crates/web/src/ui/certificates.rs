//! 志愿服务记录证明 pages: the list (staff in scope, or a volunteer's own), the
//! issue form, the printable certificate (A4 print styles, QR code of the public
//! verification address, PDF at `/certificates/{number}.pdf`), revocation, and
//! the public verification page `/v/{number}` (no sign-in).

use super::{Ctx, Layout, PageError};
use crate::api::certificates::{
    ViewerOf, random_bits, site_url, unknown_number, verify_path, viewer_scope,
};
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use shequ_core::FieldErrors;
use shequ_core::certificates::{self as core, CertState, IssueInput, Issuer, Verdict};
use shequ_core::role::Capability;
use shequ_db::PageReq;
use shequ_db::certificates::{self as store, Certificate, Filter};
use shequ_reports::pdf::{self, A4_HEIGHT, A4_WIDTH, Align};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/certificates", get(list).post(issue))
        .route("/certificates/new", get(new_form))
        .route("/certificates/{number}", get(show))
        .route("/certificates/{number}/revoke", post(revoke))
        .route("/v/{number}", get(verify_page))
}

const PER_PAGE: u64 = 20;

fn errors_of(e: &FieldErrors) -> Vec<String> {
    e.0.iter().map(|e| e.message.clone()).collect()
}

// ---------------------------------------------------------------- list

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub page: Option<u64>,
}

pub struct Row {
    pub number: String,
    pub name: String,
    pub volunteer_no: String,
    pub period: String,
    pub hours: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub issued: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "certificates/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub rows: Vec<Row>,
    pub total: i64,
    pub page: u64,
    pub pages: u64,
    pub state: String,
    pub can_issue: bool,
}

pub async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListParams>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let who = viewer_scope(user).map_err(|e| ctx.err(e))?;
    let state = CertState::parse(q.state.trim());
    let page_no = q.page.unwrap_or(1).max(1);
    let found = store::list(
        &mut st.db.conn(),
        who.viewer(),
        &Filter {
            state,
            volunteer_id: None,
        },
        PageReq::new(Some(page_no), Some(PER_PAGE)),
    )
    .await
    .map_err(|e| ctx.err(e))?;
    let rows = found
        .items
        .iter()
        .map(|r| Row {
            number: r.number.clone(),
            name: r.volunteer_name.clone(),
            volunteer_no: r.volunteer_no.clone(),
            period: format!("{} 至 {}", r.period_from, r.period_to),
            hours: core::hours_decimal(r.total_minutes),
            state: r.state().as_str(),
            state_label: r.state().label(),
            issued: store::local_date(r.issued_at).to_string(),
        })
        .collect();
    Ok(ListPage {
        layout: ctx.layout("志愿服务记录证明", "certificates"),
        rows,
        total: found.total,
        page: page_no,
        pages: (found.total.max(0) as u64).div_ceil(PER_PAGE),
        state: state.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        can_issue: ctx.can(Capability::ManageVolunteers),
    }
    .into_response())
}

// ---------------------------------------------------------------- issue

#[derive(Debug, Clone, Default, Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub volunteer_no: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub issuer_name: String,
    #[serde(default)]
    pub issuer_head: String,
    #[serde(default)]
    pub issuer_handler: String,
    #[serde(default)]
    pub issuer_contact: String,
    #[serde(default)]
    pub remarks: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "certificates/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub v: IssueForm,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewParams {
    #[serde(default)]
    pub volunteer_no: String,
}

pub async fn new_form(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NewParams>,
) -> Result<Response, PageError> {
    let (user, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let today = store::local_date(st.now());
    let issuer = st
        .tree
        .get()
        .get(scope.root.as_str())
        .map(|d| d.name.clone())
        .unwrap_or_default();
    Ok(FormPage {
        layout: ctx.layout("开具志愿服务记录证明", "certificates"),
        v: IssueForm {
            volunteer_no: q.volunteer_no,
            from: NaiveDate::from_ymd_opt(chrono::Datelike::year(&today), 1, 1)
                .map(|d| d.to_string())
                .unwrap_or_default(),
            to: today.to_string(),
            issuer_name: issuer,
            issuer_handler: user.display_name.clone(),
            ..IssueForm::default()
        },
        errors: Vec::new(),
    }
    .into_response())
}

pub async fn issue(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<IssueForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let again = |errors: Vec<String>| {
        FormPage {
            layout: ctx.layout("开具志愿服务记录证明", "certificates"),
            v: f.clone(),
            errors,
        }
        .into_response()
    };
    let day = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
    let (Some(from), Some(to)) = (day(&f.from), day(&f.to)) else {
        return Ok(again(vec!["日期格式应为 YYYY-MM-DD".into()]));
    };
    let Some(v) = store::volunteer_by_no(&mut st.db.conn(), &scope, &f.volunteer_no)
        .await
        .map_err(|e| ctx.err(e))?
    else {
        return Ok(again(vec!["您的管辖范围内没有该志愿者编号".into()]));
    };
    let input = IssueInput {
        volunteer_id: v.id,
        from,
        to,
        issuer: Issuer {
            name: f.issuer_name.clone(),
            head: f.issuer_head.clone(),
            handler: f.issuer_handler.clone(),
            contact: f.issuer_contact.clone(),
        },
        remarks: f.remarks.clone(),
    };
    let random = random_bits().map_err(|e| ctx.err(e))?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match store::issue(&mut tx.conn(), &scope, &input, random, st.now()).await {
        Ok(row) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/certificates/{}", row.number)).into_response())
        }
        Err(shequ_db::DbError::Invalid(e)) => Ok(again(errors_of(&e))),
        Err(e) => Err(ctx.err(e)),
    }
}

// ---------------------------------------------------------------- printable page and PDF

pub struct ItemLine {
    pub date: String,
    pub title: String,
    pub category: String,
    pub hours: String,
    pub changed: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "certificates/show.html")]
pub struct ShowPage {
    pub layout: Layout,
    pub c: CertText,
    pub items: Vec<ItemLine>,
    pub qr_svg: String,
    pub verify_url: String,
    pub can_revoke: bool,
    pub revoked: bool,
    pub corrected: bool,
    pub revoke_reason: String,
    pub errors: Vec<String>,
}

/// Everything printed on a certificate, as text.
#[derive(Debug, Clone)]
pub struct CertText {
    pub number: String,
    pub name: String,
    pub id_type: String,
    pub id_masked: String,
    pub volunteer_no: String,
    pub from: String,
    pub to: String,
    pub hours_text: String,
    pub content: String,
    pub remarks: String,
    pub issuer_name: String,
    pub issuer_head: String,
    pub issuer_handler: String,
    pub issuer_contact: String,
    pub issue_date: String,
    pub verdict: &'static str,
    pub verdict_label: &'static str,
}

impl CertText {
    pub fn of(c: &Certificate) -> CertText {
        let r = &c.row;
        CertText {
            number: r.number.clone(),
            name: r.volunteer_name.clone(),
            id_type: r.id_type.clone(),
            id_masked: r.id_number_masked.clone(),
            volunteer_no: r.volunteer_no.clone(),
            from: r.period_from.to_string(),
            to: r.period_to.to_string(),
            hours_text: core::hours_text(r.total_minutes),
            content: r.content.clone(),
            remarks: r.remarks.clone(),
            issuer_name: r.issuer_name.clone(),
            issuer_head: r.issuer_head.clone(),
            issuer_handler: r.issuer_handler.clone(),
            issuer_contact: r.issuer_contact.clone(),
            issue_date: store::local_date(r.issued_at).to_string(),
            verdict: c.verdict.as_str(),
            verdict_label: c.verdict.label(),
        }
    }

    /// The certifying sentence.
    pub fn statement(&self) -> String {
        format!(
            "兹证明 {}（{}：{}，志愿者编号：{}）于 {} 至 {} 期间参加本单位组织的志愿服务活动，经核实累计服务时长 {}（不含往返路程）。",
            self.name,
            self.id_type,
            self.id_masked,
            self.volunteer_no,
            self.from,
            self.to,
            self.hours_text
        )
    }
}

async fn fetch(
    st: &AppState,
    ctx: &Ctx,
    number: &str,
) -> Result<(ViewerOf, Certificate), PageError> {
    let user = ctx.user()?;
    let who = viewer_scope(user).map_err(|e| ctx.err(e))?;
    let c = store::get(&mut st.db.conn(), who.viewer(), number)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| ctx.err(unknown_number()))?;
    Ok((who, c))
}

pub async fn show(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(number): Path<String>,
) -> Result<Response, PageError> {
    if let Some(n) = number.strip_suffix(".pdf") {
        return pdf_file(&st, &ctx, n).await;
    }
    let (who, c) = fetch(&st, &ctx, &number).await?;
    Ok(show_page(&st, &ctx, &who, &c, Vec::new()).into_response())
}

fn show_page(
    st: &AppState,
    ctx: &Ctx,
    who: &ViewerOf,
    c: &Certificate,
    errors: Vec<String>,
) -> ShowPage {
    let _ = st;
    let verify_url = format!("{}{}", site_url(&ctx.headers), verify_path(&c.row.number));
    ShowPage {
        layout: ctx.layout(format!("志愿服务记录证明 {}", c.row.number), "certificates"),
        c: CertText::of(c),
        items: c
            .items
            .iter()
            .map(|i| ItemLine {
                date: store::local_date(i.served_at).to_string(),
                title: i.activity_title.clone(),
                category: i.category.clone(),
                hours: core::hours_minutes(i.minutes),
                changed: c.changed_items.contains(&i.signup_id),
            })
            .collect(),
        qr_svg: crate::qr::svg(&verify_url, 132).unwrap_or_default(),
        verify_url,
        can_revoke: matches!(who, ViewerOf::Staff(_)) && c.row.state() == CertState::Valid,
        revoked: c.verdict == Verdict::Revoked,
        corrected: c.verdict == Verdict::Corrected,
        revoke_reason: c.row.revoke_reason.clone(),
        errors,
    }
}

/// The certificate as a one-page A4 PDF.
pub fn certificate_pdf(t: &CertText, verify_url: &str) -> Vec<u8> {
    let mut p = pdf::Page::new();
    let left = 72.0;
    let width = A4_WIDTH - 2.0 * left;
    p.rect(36.0, 36.0, A4_WIDTH - 72.0, A4_HEIGHT - 72.0, 1.2);
    p.rect(42.0, 42.0, A4_WIDTH - 84.0, A4_HEIGHT - 84.0, 0.4);
    p.text(
        A4_WIDTH / 2.0,
        740.0,
        26.0,
        Align::Center,
        "志愿服务记录证明",
    );
    p.text(
        A4_WIDTH - left,
        705.0,
        10.5,
        Align::Right,
        &format!("编号：{}", t.number),
    );
    p.line(left, 695.0, A4_WIDTH - left, 695.0, 0.5);
    let mut y = p.paragraph(left, 660.0, 13.0, width, 24.0, &t.statement());
    y -= 6.0;
    y = p.paragraph(
        left,
        y,
        12.0,
        width,
        20.0,
        &format!("服务内容：{}", t.content),
    );
    if !t.remarks.is_empty() {
        y = p.paragraph(left, y, 12.0, width, 20.0, &format!("备注：{}", t.remarks));
    }
    p.text(left + 26.0, y - 10.0, 13.0, Align::Left, "特此证明。");
    let x = A4_WIDTH / 2.0 + 20.0;
    let mut iy = 330.0;
    for line in [
        format!("出具单位：{}", t.issuer_name),
        format!("负 责 人：{}", t.issuer_head),
        format!("经 办 人：{}", t.issuer_handler),
        format!("联系方式：{}", t.issuer_contact),
        format!("出具日期：{}", t.issue_date),
    ] {
        iy = p.paragraph(x, iy, 12.0, A4_WIDTH - left - x, 20.0, &line);
    }
    p.text(x + 60.0, iy - 14.0, 10.0, Align::Left, "（盖章）");
    if let Ok(code) = qrcode::QrCode::new(verify_url.as_bytes()) {
        let w = code.width() as u32;
        let dark: Vec<(u32, u32)> = code
            .to_colors()
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == qrcode::Color::Dark)
            .map(|(i, _)| (i as u32 % w, i as u32 / w))
            .collect();
        let cell = 100.0 / w.max(1) as f32;
        p.modules(left, 230.0, cell, &dark);
        p.text(left, 115.0, 9.0, Align::Left, "扫码核验真伪");
    }
    p.paragraph(
        left,
        96.0,
        8.5,
        width,
        12.0,
        &format!("核验地址：{verify_url}"),
    );
    p.paragraph(
        left,
        70.0,
        8.5,
        width,
        12.0,
        "本证明依据《志愿服务记录与证明出具办法（试行）》无偿出具，如实记载志愿服务情况；时间银行存储时长不属于本证明内容。",
    );
    if t.verdict != Verdict::Valid.as_str() {
        p.text(A4_WIDTH / 2.0, 520.0, 40.0, Align::Center, t.verdict_label);
    }
    p.finish(&format!("志愿服务记录证明 {}", t.number))
}

async fn pdf_file(st: &AppState, ctx: &Ctx, number: &str) -> Result<Response, PageError> {
    let (_, c) = fetch(st, ctx, number).await?;
    let verify_url = format!("{}{}", site_url(&ctx.headers), verify_path(&c.row.number));
    let bytes = certificate_pdf(&CertText::of(&c), &verify_url);
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{}.pdf\"", c.row.number)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub reason: String,
}

pub async fn revoke(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(number): Path<String>,
    Form(f): Form<RevokeForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (_, scope) = ctx.scope(Capability::ManageVolunteers)?;
    let mut tx = st.db.begin().await.map_err(|e| ctx.err(e))?;
    match store::revoke(&mut tx.conn(), &scope, &number, &f.reason, st.now()).await {
        Ok(row) => {
            tx.commit().await.map_err(|e| ctx.err(e))?;
            Ok(Redirect::to(&format!("/certificates/{}", row.number)).into_response())
        }
        Err(shequ_db::DbError::Invalid(e)) => {
            drop(tx);
            let (who, c) = fetch(&st, &ctx, &number).await?;
            Ok(show_page(&st, &ctx, &who, &c, errors_of(&e)).into_response())
        }
        Err(e) => Err(ctx.err(e)),
    }
}

// ---------------------------------------------------------------- public verification

#[derive(Template, WebTemplate)]
#[template(path = "certificates/verify.html")]
pub struct VerifyPage {
    pub layout: Layout,
    pub number: String,
    pub verdict: &'static str,
    pub verdict_label: &'static str,
    pub name: String,
    pub id_type: String,
    pub id_masked: String,
    pub volunteer_no: String,
    pub period: String,
    pub hours_text: String,
    pub issuer_name: String,
    pub issue_date: String,
    pub revoked_date: String,
}

pub async fn verify_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(number): Path<String>,
) -> Result<Response, PageError> {
    let c = store::by_number(&mut st.db.conn(), &number)
        .await
        .map_err(|e| ctx.err(e))?
        .ok_or_else(|| {
            ctx.err(AppError::NotFound(
                "未找到该编号的志愿服务记录证明，请核对编号后再试".into(),
            ))
        })?;
    let r = &c.row;
    Ok(VerifyPage {
        layout: ctx.layout("证明核验", ""),
        number: r.number.clone(),
        verdict: c.verdict.as_str(),
        verdict_label: c.verdict.label(),
        name: r.volunteer_name.clone(),
        id_type: r.id_type.clone(),
        id_masked: r.id_number_masked.clone(),
        volunteer_no: r.volunteer_no.clone(),
        period: format!("{} 至 {}", r.period_from, r.period_to),
        hours_text: core::hours_text(r.total_minutes),
        issuer_name: r.issuer_name.clone(),
        issue_date: store::local_date(r.issued_at).to_string(),
        revoked_date: r
            .revoked_at
            .map(|t| store::local_date(t).to_string())
            .unwrap_or_default(),
    }
    .into_response())
}
