//! 志愿服务记录证明 over JSON: issuing and revoking (`manage_volunteers`), the
//! list and one certificate (staff in scope, or the volunteer themself), and the
//! public verification by number (no sign-in).
//!
//! Refusals a client must tell apart carry their own top-level code:
//! `duplicate_certificate` (409), `no_confirmed_hours` (422), `already_revoked`
//! (409); the field they concern is named in `fields` as usual.

use super::List;
use crate::auth::{ApiUser, scope_for};
use crate::error::ErrorBody;
use crate::extract::{ApiJson, ApiQuery};
use crate::{AppError, AppState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shequ_core::FieldErrors;
use shequ_core::certificates::{self as core, CertState, IssueInput, Issuer};
use shequ_core::role::{Capability, Role};
use shequ_db::DbError;
use shequ_db::certificates::{self as store, Certificate, CertificateRow, Filter, Viewer};
use shequ_db::users::User;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, issue))
        .routes(routes!(get_one))
        .routes(routes!(revoke))
        .routes(routes!(verify))
}

// ---------------------------------------------------------------- errors

/// Field codes that become the top-level error code, with their status.
const DOMAIN: [(&str, StatusCode); 14] = [
    ("duplicate_certificate", StatusCode::CONFLICT),
    ("no_confirmed_hours", StatusCode::UNPROCESSABLE_ENTITY),
    ("already_revoked", StatusCode::CONFLICT),
    ("insufficient_balance", StatusCode::UNPROCESSABLE_ENTITY),
    ("already_deposited", StatusCode::CONFLICT),
    ("already_reversed", StatusCode::CONFLICT),
    ("over_cap", StatusCode::UNPROCESSABLE_ENTITY),
    ("withdrawal_too_large", StatusCode::UNPROCESSABLE_ENTITY),
    ("account_not_allowed", StatusCode::UNPROCESSABLE_ENTITY),
    ("not_elder_care", StatusCode::UNPROCESSABLE_ENTITY),
    ("not_confirmed", StatusCode::UNPROCESSABLE_ENTITY),
    ("bad_amount", StatusCode::UNPROCESSABLE_ENTITY),
    ("same_account", StatusCode::UNPROCESSABLE_ENTITY),
    ("city_only", StatusCode::FORBIDDEN),
];

/// An API error: either the shared [`AppError`] or a domain refusal with its own code.
#[derive(Debug)]
pub enum Fail {
    App(AppError),
    Domain {
        status: StatusCode,
        code: &'static str,
        field: String,
        message: String,
    },
}

impl Fail {
    /// The domain refusal inside field errors, when there is exactly one.
    pub fn from_fields(f: FieldErrors) -> Fail {
        if let [e] = f.0.as_slice()
            && let Some((code, status)) = DOMAIN.iter().find(|(c, _)| *c == e.code)
        {
            return Fail::Domain {
                status: *status,
                code,
                field: e.field.clone(),
                message: e.message.clone(),
            };
        }
        Fail::App(AppError::Validation(f))
    }
}

impl From<AppError> for Fail {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Validation(f) => Fail::from_fields(f),
            other => Fail::App(other),
        }
    }
}

impl From<DbError> for Fail {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Invalid(f) => Fail::from_fields(f),
            other => Fail::App(other.into()),
        }
    }
}

impl From<FieldErrors> for Fail {
    fn from(e: FieldErrors) -> Self {
        Fail::from_fields(e)
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        match self {
            Fail::App(e) => e.into_response(),
            Fail::Domain {
                status,
                code,
                field,
                message,
            } => {
                let body = ErrorBody {
                    error: crate::error::ErrorDetail {
                        code: code.to_owned(),
                        message: message.clone(),
                        fields: [(field, message)].into_iter().collect(),
                    },
                };
                (status, Json(body)).into_response()
            }
        }
    }
}

pub type FailResult<T> = Result<T, Fail>;

// ---------------------------------------------------------------- views

/// The site's own address from the request (`http(s)://host`), for links
/// printed on paper.
pub fn site_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        })
        .unwrap_or("localhost");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// The public verification page of a number.
pub fn verify_path(number: &str) -> String {
    format!("/v/{number}")
}

/// The issuer as printed.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuerView {
    pub name: String,
    pub head: String,
    pub handler: String,
    pub contact: String,
}

/// One counted service record.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemView {
    pub signup_id: i64,
    pub title: String,
    pub category: String,
    pub served_at: DateTime<Utc>,
    pub minutes: i64,
}

/// A certificate as staff and the volunteer see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    pub number: String,
    /// `valid` or `revoked`.
    pub state: String,
    /// `valid`, `corrected` (hours changed since issue) or `revoked`.
    pub verdict: String,
    pub verdict_label: String,
    pub volunteer_id: i64,
    pub volunteer_name: String,
    pub id_type: String,
    /// Always masked.
    pub id_number_masked: String,
    pub volunteer_no: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub total_minutes: i64,
    /// Hours to one decimal, rounded down.
    pub hours: String,
    /// "12.5 小时（12 小时 34 分钟）".
    pub hours_text: String,
    pub content: String,
    pub issuer: IssuerView,
    pub remarks: String,
    /// The issuing staff member's division.
    pub division: String,
    pub issued_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: String,
    /// Path of the public verification page.
    pub verify_path: String,
    pub items: Vec<ItemView>,
    /// Sign-ups whose hours changed since issue.
    pub changed_items: Vec<i64>,
}

pub fn certificate_view(c: &Certificate) -> CertificateView {
    let r = &c.row;
    CertificateView {
        number: r.number.clone(),
        state: r.state.clone(),
        verdict: c.verdict.as_str().into(),
        verdict_label: c.verdict.label().into(),
        volunteer_id: r.volunteer_id,
        volunteer_name: r.volunteer_name.clone(),
        id_type: r.id_type.clone(),
        id_number_masked: r.id_number_masked.clone(),
        volunteer_no: r.volunteer_no.clone(),
        period_from: r.period_from,
        period_to: r.period_to,
        total_minutes: r.total_minutes,
        hours: core::hours_decimal(r.total_minutes),
        hours_text: core::hours_text(r.total_minutes),
        content: r.content.clone(),
        issuer: IssuerView {
            name: r.issuer_name.clone(),
            head: r.issuer_head.clone(),
            handler: r.issuer_handler.clone(),
            contact: r.issuer_contact.clone(),
        },
        remarks: r.remarks.clone(),
        division: r.division_code.clone(),
        issued_at: r.issued_at,
        revoked_at: r.revoked_at,
        revoke_reason: r.revoke_reason.clone(),
        verify_path: verify_path(&r.number),
        items: c
            .items
            .iter()
            .map(|i| ItemView {
                signup_id: i.signup_id,
                title: i.activity_title.clone(),
                category: i.category.clone(),
                served_at: i.served_at,
                minutes: i.minutes,
            })
            .collect(),
        changed_items: c.changed_items.clone(),
    }
}

/// A certificate in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateListItem {
    pub number: String,
    pub state: String,
    pub volunteer_id: i64,
    pub volunteer_name: String,
    pub volunteer_no: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub total_minutes: i64,
    pub hours: String,
    pub issuer_name: String,
    pub issued_at: DateTime<Utc>,
}

impl From<&CertificateRow> for CertificateListItem {
    fn from(r: &CertificateRow) -> Self {
        CertificateListItem {
            number: r.number.clone(),
            state: r.state.clone(),
            volunteer_id: r.volunteer_id,
            volunteer_name: r.volunteer_name.clone(),
            volunteer_no: r.volunteer_no.clone(),
            period_from: r.period_from,
            period_to: r.period_to,
            total_minutes: r.total_minutes,
            hours: core::hours_decimal(r.total_minutes),
            issuer_name: r.issuer_name.clone(),
            issued_at: r.issued_at,
        }
    }
}

/// What the public verification shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyView {
    pub number: String,
    /// True only when issued, not revoked and unchanged since.
    pub valid: bool,
    /// `valid`, `corrected` or `revoked`.
    pub verdict: String,
    pub verdict_label: String,
    pub volunteer_name: String,
    pub id_type: String,
    pub id_number_masked: String,
    pub volunteer_no: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub hours: String,
    pub hours_text: String,
    pub issuer_name: String,
    /// Beijing date of issue.
    pub issue_date: NaiveDate,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub fn verify_view(c: &Certificate) -> VerifyView {
    let r = &c.row;
    VerifyView {
        number: r.number.clone(),
        valid: c.verdict == core::Verdict::Valid,
        verdict: c.verdict.as_str().into(),
        verdict_label: c.verdict.label().into(),
        volunteer_name: r.volunteer_name.clone(),
        id_type: r.id_type.clone(),
        id_number_masked: r.id_number_masked.clone(),
        volunteer_no: r.volunteer_no.clone(),
        period_from: r.period_from,
        period_to: r.period_to,
        hours: core::hours_decimal(r.total_minutes),
        hours_text: core::hours_text(r.total_minutes),
        issuer_name: r.issuer_name.clone(),
        issue_date: store::local_date(r.issued_at),
        revoked_at: r.revoked_at,
    }
}

/// Who sees which certificates: staff with `manage_volunteers` in their scope,
/// a volunteer their own.
pub fn viewer_scope(user: &User) -> Result<ViewerOf, AppError> {
    match user.role() {
        Some(Role::Volunteer) => Ok(ViewerOf::Volunteer(user.id)),
        _ => Ok(ViewerOf::Staff(scope_for(
            user,
            Capability::ManageVolunteers,
        )?)),
    }
}

/// An owned [`Viewer`].
pub enum ViewerOf {
    Staff(shequ_db::scope::Scope),
    Volunteer(i64),
}

impl ViewerOf {
    pub fn viewer(&self) -> Viewer<'_> {
        match self {
            ViewerOf::Staff(s) => Viewer::Staff(s),
            ViewerOf::Volunteer(u) => Viewer::Volunteer(*u),
        }
    }
}

/// The message for an unknown number.
pub fn unknown_number() -> AppError {
    AppError::NotFound("未找到该编号的志愿服务记录证明，请核对编号".into())
}

/// 20 random bits for a new number.
pub fn random_bits() -> Result<u32, AppError> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(u32::from_le_bytes(b) & 0xF_FFFF)
}

// ---------------------------------------------------------------- handlers

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct CertificatesQuery {
    /// `valid` or `revoked`.
    pub state: Option<String>,
    pub volunteer_id: Option<i64>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

/// Certificates the caller may see, newest first: staff those issued in their
/// area or for volunteers there, a volunteer their own.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "certificates", params(CertificatesQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of certificates", body = List<CertificateListItem>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not read certificates", body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<CertificatesQuery>,
) -> FailResult<Json<List<CertificateListItem>>> {
    let who = viewer_scope(&user)?;
    let page = super::Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let state = match q.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(
            CertState::parse(s)
                .ok_or_else(|| AppError::bad_request("bad_state", "state 应为 valid 或 revoked"))?,
        ),
        None => None,
    };
    let f = Filter {
        state,
        volunteer_id: q.volunteer_id,
    };
    let found = store::list(&mut st.db.conn(), who.viewer(), &f, page).await?;
    Ok(Json(List {
        items: found.items.iter().map(CertificateListItem::from).collect(),
        total: found.total,
    }))
}

/// A certificate request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIssue {
    pub volunteer_id: i64,
    /// First day of the period (Beijing date).
    pub from: NaiveDate,
    /// Last day of the period, not after today.
    pub to: NaiveDate,
    /// 出具单位 (≤ 100 characters).
    pub issuer_name: String,
    /// 负责人.
    pub issuer_head: String,
    /// 经办人.
    pub issuer_handler: String,
    /// 联系方式.
    pub issuer_contact: String,
    /// 备注 (≤ 200 characters).
    #[serde(default)]
    pub remarks: String,
}

impl RawIssue {
    pub fn input(&self) -> IssueInput {
        IssueInput {
            volunteer_id: self.volunteer_id,
            from: self.from,
            to: self.to,
            issuer: Issuer {
                name: self.issuer_name.clone(),
                head: self.issuer_head.clone(),
                handler: self.issuer_handler.clone(),
                contact: self.issuer_contact.clone(),
            },
            remarks: self.remarks.clone(),
        }
    }
}

async fn fetch(st: &AppState, who: &ViewerOf, number: &str) -> FailResult<Certificate> {
    Ok(store::get(&mut st.db.conn(), who.viewer(), number)
        .await?
        .ok_or_else(unknown_number)?)
}

/// Issue a certificate for a volunteer in your area, counting the confirmed
/// hours of activities organised in your area within the period.
#[utoipa::path(post, path = "/api/v1/certificates", tag = "certificates", request_body = RawIssue, security(("bearer" = [])),
    responses((status = 201, description = "Issued", body = CertificateView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not issue certificates", body = ErrorBody),
        (status = 404, description = "No such volunteer in your area", body = ErrorBody),
        (status = 409, description = "`duplicate_certificate`: a valid certificate for this volunteer and period exists", body = ErrorBody),
        (status = 422, description = "`no_confirmed_hours`, or invalid period or issuer fields", body = ErrorBody)))]
pub async fn issue(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(raw): ApiJson<RawIssue>,
) -> FailResult<(StatusCode, Json<CertificateView>)> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let random = random_bits()?;
    let mut tx = st.db.begin().await?;
    let row = store::issue(&mut tx.conn(), &scope, &raw.input(), random, st.now()).await?;
    tx.commit().await?;
    let c = fetch(&st, &ViewerOf::Staff(scope), &row.number).await?;
    Ok((StatusCode::CREATED, Json(certificate_view(&c))))
}

/// One certificate with the service records it counts (staff in scope, or the
/// volunteer themself).
#[utoipa::path(get, path = "/api/v1/certificates/{number}", tag = "certificates",
    params(("number" = String, Path, description = "Certificate number, e.g. ZM2025-000001-K7QXR")),
    security(("bearer" = [])),
    responses((status = 200, description = "The certificate", body = CertificateView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not read certificates", body = ErrorBody),
        (status = 404, description = "No such certificate for you", body = ErrorBody)))]
pub async fn get_one(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(number): Path<String>,
) -> FailResult<Json<CertificateView>> {
    let who = viewer_scope(&user)?;
    Ok(Json(certificate_view(&fetch(&st, &who, &number).await?)))
}

/// Why a certificate is revoked.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRevoke {
    /// 2–200 characters.
    pub reason: String,
}

/// Revoke a certificate (final); verification then says 已撤销.
#[utoipa::path(post, path = "/api/v1/certificates/{number}/revoke", tag = "certificates",
    params(("number" = String, Path, description = "Certificate number")),
    request_body = RawRevoke, security(("bearer" = [])),
    responses((status = 200, description = "Revoked", body = CertificateView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Role may not revoke certificates", body = ErrorBody),
        (status = 404, description = "No such certificate in your area", body = ErrorBody),
        (status = 409, description = "`already_revoked`", body = ErrorBody),
        (status = 422, description = "Reason missing or invalid", body = ErrorBody)))]
pub async fn revoke(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    Path(number): Path<String>,
    ApiJson(raw): ApiJson<RawRevoke>,
) -> FailResult<Json<CertificateView>> {
    let scope = scope_for(&user, Capability::ManageVolunteers)?;
    let mut tx = st.db.begin().await?;
    let row = store::revoke(&mut tx.conn(), &scope, &number, &raw.reason, st.now()).await?;
    tx.commit().await?;
    let c = fetch(&st, &ViewerOf::Staff(scope), &row.number).await?;
    Ok(Json(certificate_view(&c)))
}

/// Public verification (no sign-in): validity, name, masked ID number, volunteer
/// number, hours, issuer and date.
#[utoipa::path(get, path = "/api/v1/certificates/{number}/verify", tag = "certificates",
    params(("number" = String, Path, description = "Certificate number")),
    security(()),
    responses((status = 200, description = "What the certificate states and whether it stands", body = VerifyView),
        (status = 404, description = "No certificate with this number", body = ErrorBody)))]
pub async fn verify(
    State(st): State<AppState>,
    Path(number): Path<String>,
) -> FailResult<Json<VerifyView>> {
    let c = store::by_number(&mut st.db.conn(), &number)
        .await?
        .ok_or_else(unknown_number)?;
    Ok(Json(verify_view(&c)))
}
