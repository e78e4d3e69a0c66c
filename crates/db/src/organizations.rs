//! Organisations (社会组织、企事业单位) identified by their unified social credit code.

use crate::audit::{self, Event};
use crate::scope::Scope;
use crate::{Conn, DbError, Page, PageReq, Result};
use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Iden, Order, Query};
use serde::Serialize;
use shequ_core::{CreditCode, DivisionCode, FieldErrors};

#[derive(Iden, Clone, Copy)]
enum Organizations {
    Table,
    Id,
    Name,
    CreditCode,
    DivisionCode,
    Kind,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Organization {
    pub id: i64,
    pub name: String,
    pub credit_code: String,
    pub division_code: String,
    pub kind: String,
}

#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub name: String,
    pub credit_code: CreditCode,
    pub division: DivisionCode,
    pub kind: String,
}

/// Register an organisation in a division in scope.
pub async fn create(
    c: &mut Conn<'_>,
    scope: &Scope,
    o: &NewOrganization,
    now: DateTime<Utc>,
) -> Result<i64> {
    let mut errs = FieldErrors::new();
    crate::divisions::check_name(&o.name, &mut errs);
    if o.kind.chars().count() > 30 {
        errs.add("kind", "too_long", "类别不能超过 30 个字");
    }
    errs.into_result()?;
    if !scope.contains(&o.division) {
        return Err(DbError::invalid(
            "division",
            "out_of_scope",
            "该区划不在您的管辖范围内",
        ));
    }
    if crate::divisions::get(c, &o.division).await?.is_none() {
        return Err(DbError::invalid(
            "division",
            "unknown_division",
            format!("区划 {} 不存在", o.division),
        ));
    }
    let q = Query::insert()
        .into_table(Organizations::Table)
        .columns([
            Organizations::Name,
            Organizations::CreditCode,
            Organizations::DivisionCode,
            Organizations::Kind,
            Organizations::CreatedAt,
            Organizations::UpdatedAt,
        ])
        .values_panic([
            o.name.trim().into(),
            o.credit_code.as_str().into(),
            o.division.as_str().into(),
            o.kind.trim().into(),
            now.into(),
            now.into(),
        ])
        .to_owned();
    let id = c.insert_id(&q).await.map_err(|e| match e {
        DbError::Conflict(_) => DbError::invalid(
            "credit_code",
            "duplicate_credit_code",
            "该统一社会信用代码已经登记",
        ),
        other => other,
    })?;
    let detail = serde_json::json!({"name": o.name.trim(), "credit_code": o.credit_code.as_str()});
    audit::append(
        c,
        &scope.actor,
        Event::new("organization_create", "organization", id)
            .division(o.division.as_str())
            .detail(detail),
        now,
    )
    .await?;
    Ok(id)
}

/// Organisations in scope, by name.
pub async fn list(c: &mut Conn<'_>, scope: &Scope, page: PageReq) -> Result<Page<Organization>> {
    let base = Query::select()
        .from(Organizations::Table)
        .cond_where(scope.condition(Organizations::DivisionCode))
        .to_owned();
    let mut count = base.clone();
    count.expr(Expr::col(Organizations::Id).count());
    let total = c.fetch_i64(&count).await?;
    let mut q = base;
    q.columns([
        Organizations::Id,
        Organizations::Name,
        Organizations::CreditCode,
        Organizations::DivisionCode,
        Organizations::Kind,
    ])
    .order_by(Organizations::Name, Order::Asc)
    .limit(page.per_page)
    .offset(page.offset());
    Ok(Page {
        items: c.fetch_all(&q).await?,
        total,
    })
}

/// One organisation in scope.
pub async fn get(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<Option<Organization>> {
    let q = Query::select()
        .columns([
            Organizations::Id,
            Organizations::Name,
            Organizations::CreditCode,
            Organizations::DivisionCode,
            Organizations::Kind,
        ])
        .from(Organizations::Table)
        .and_where(Expr::col(Organizations::Id).eq(id))
        .cond_where(scope.condition(Organizations::DivisionCode))
        .to_owned();
    c.fetch_optional(&q).await
}
