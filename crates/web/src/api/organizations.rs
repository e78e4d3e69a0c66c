//! Organisations with their unified social credit codes (GB 32100).

use super::{List, Paging};
use crate::auth::{ApiUser, scope_for};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::{AppError, AppState};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shequ_core::role::Capability;
use shequ_core::{CreditCode, DivisionCode, FieldErrors};
use shequ_db::organizations::{self, NewOrganization, Organization};
use utoipa::ToSchema;

/// An organisation as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationView {
    pub id: i64,
    pub name: String,
    pub credit_code: String,
    pub division: String,
    pub kind: String,
}

impl From<Organization> for OrganizationView {
    fn from(o: Organization) -> Self {
        OrganizationView {
            id: o.id,
            name: o.name,
            credit_code: o.credit_code,
            division: o.division_code,
            kind: o.kind,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOrganization {
    pub name: String,
    /// 18-character unified social credit code.
    pub credit_code: String,
    pub division: String,
    #[serde(default)]
    pub kind: String,
}

/// Organisations in the caller's subtree.
#[utoipa::path(get, path = "/api/v1/organizations", tag = "people", params(Paging), security(("bearer" = [])),
    responses((status = 200, description = "One page", body = List<OrganizationView>),
        (status = 401, description = "Not signed in", body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<List<OrganizationView>>> {
    let scope = scope_for(&user, Capability::ReadPeople)?;
    let page = organizations::list(&mut st.db.conn(), &scope, p.resolve()?).await?;
    Ok(Json(List {
        items: page.items.into_iter().map(OrganizationView::from).collect(),
        total: page.total,
    }))
}

/// Register an organisation; the credit code's check character is verified.
#[utoipa::path(post, path = "/api/v1/organizations", tag = "people", request_body = RawOrganization, security(("bearer" = [])),
    responses((status = 201, description = "Registered", body = OrganizationView),
        (status = 422, description = "Invalid fields (check character, duplicate code…)", body = ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(o): ApiJson<RawOrganization>,
) -> ApiResult<(StatusCode, Json<OrganizationView>)> {
    let scope = scope_for(&user, Capability::WritePeople)?;
    let mut errs = FieldErrors::new();
    let credit = CreditCode::parse(&o.credit_code)
        .map_err(|e| errs.add("credit_code", e.code(), e.to_string()))
        .ok();
    let division = DivisionCode::parse(&o.division)
        .map_err(|e| errs.add("division", e.code(), e.to_string()))
        .ok();
    let (Some(credit_code), Some(division)) = (credit, division) else {
        return Err(AppError::Validation(errs));
    };
    let new = NewOrganization {
        name: o.name,
        credit_code,
        division,
        kind: o.kind,
    };
    let mut tx = st.db.begin().await?;
    let id = organizations::create(&mut tx.conn(), &scope, &new, st.now()).await?;
    tx.commit().await?;
    let org = organizations::get(&mut st.db.conn(), &scope, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok((StatusCode::CREATED, Json(OrganizationView::from(org))))
}
