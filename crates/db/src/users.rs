//! Staff and resident accounts: creation, lookup, lockout, passwords, roles.

use crate::audit::{self, Event};
use crate::scope::Actor;
use crate::{Conn, DbError, Page, PageReq, Result};
use chrono::{DateTime, Duration, Utc};
use sea_query::{Expr, ExprTrait, Iden, Order, Query};
use serde::Serialize;
use shequ_core::role::Role;
use shequ_core::{DivisionCode, FieldErrors};

#[derive(Iden)]
pub(crate) enum Users {
    Table,
    Id,
    Username,
    DisplayName,
    Role,
    DivisionCode,
    PasswordHash,
    FailedLogins,
    LockedUntil,
    Disabled,
    PasswordChangedAt,
    CreatedAt,
    UpdatedAt,
    DepartmentCode,
}

/// Failed sign-ins before an account is locked, and for how long.
pub const LOCK_AFTER: i64 = 5;
pub const LOCK_MINUTES: i64 = 15;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub division_code: String,
    #[serde(skip)]
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub disabled: bool,
    pub password_changed_at: DateTime<Utc>,
    /// The department a department-staff user works for (handles its work orders).
    pub department_code: Option<String>,
}

impl User {
    pub fn role(&self) -> Option<Role> {
        Role::parse(&self.role)
    }

    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|t| t > now)
    }

    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.id),
            name: self.username.clone(),
            role: self.role.clone(),
        }
    }
}

/// A new account; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub division: DivisionCode,
    pub password_hash: String,
}

/// 3–32 characters of letters, digits, `_`, `.`, `-`.
pub fn check_username(username: &str, errs: &mut FieldErrors) {
    let ok_chars = username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !(3..=32).contains(&username.len()) || !ok_chars {
        errs.add(
            "username",
            "bad_username",
            "用户名应为 3–32 位字母、数字、下划线、点或连字符",
        );
    }
}

fn check_new(u: &NewUser) -> Result<()> {
    let mut errs = FieldErrors::new();
    check_username(&u.username, &mut errs);
    crate::divisions::check_name(&u.display_name, &mut errs);
    if let Some(level) = u.role.expected_level()
        && u.division.level() != level
    {
        errs.add(
            "division",
            "role_level_mismatch",
            format!("{}应绑定到{}一级的区划", u.role.label(), level.label()),
        );
    }
    errs.into_result().map_err(DbError::Invalid)
}

fn select() -> sea_query::SelectStatement {
    Query::select()
        .columns([
            Users::Id,
            Users::Username,
            Users::DisplayName,
            Users::Role,
            Users::DivisionCode,
            Users::PasswordHash,
            Users::FailedLogins,
            Users::LockedUntil,
            Users::Disabled,
            Users::PasswordChangedAt,
            Users::DepartmentCode,
        ])
        .from(Users::Table)
        .to_owned()
}

/// Create an account and record it in the audit log.
pub async fn create(
    c: &mut Conn<'_>,
    actor: &Actor,
    u: &NewUser,
    now: DateTime<Utc>,
) -> Result<i64> {
    check_new(u)?;
    if crate::divisions::get(c, &u.division).await?.is_none() {
        return Err(DbError::invalid(
            "division",
            "unknown_division",
            format!("区划 {} 不存在", u.division),
        ));
    }
    let q = Query::insert()
        .into_table(Users::Table)
        .columns([
            Users::Username,
            Users::DisplayName,
            Users::Role,
            Users::DivisionCode,
            Users::PasswordHash,
            Users::PasswordChangedAt,
            Users::CreatedAt,
            Users::UpdatedAt,
        ])
        .values_panic([
            u.username.clone().into(),
            u.display_name.trim().into(),
            u.role.as_str().into(),
            u.division.as_str().into(),
            u.password_hash.clone().into(),
            now.into(),
            now.into(),
            now.into(),
        ])
        .to_owned();
    let id = c.insert_id(&q).await?;
    let detail = serde_json::json!({"username": u.username, "role": u.role.as_str(), "division": u.division.as_str()});
    audit::append(
        c,
        actor,
        Event::new("user_create", "user", id)
            .division(u.division.as_str())
            .detail(detail),
        now,
    )
    .await?;
    Ok(id)
}

pub async fn find_by_username(c: &mut Conn<'_>, username: &str) -> Result<Option<User>> {
    c.fetch_optional(
        &select()
            .and_where(Expr::col(Users::Username).eq(username))
            .to_owned(),
    )
    .await
}

pub async fn get(c: &mut Conn<'_>, id: i64) -> Result<Option<User>> {
    c.fetch_optional(&select().and_where(Expr::col(Users::Id).eq(id)).to_owned())
        .await
}

/// All accounts, by username.
pub async fn list(c: &mut Conn<'_>, page: PageReq) -> Result<Page<User>> {
    let total = c
        .fetch_i64(
            &Query::select()
                .expr(Expr::col(Users::Id).count())
                .from(Users::Table)
                .to_owned(),
        )
        .await?;
    let q = select()
        .order_by(Users::Username, Order::Asc)
        .limit(page.per_page)
        .offset(page.offset())
        .to_owned();
    Ok(Page {
        items: c.fetch_all(&q).await?,
        total,
    })
}

/// Count a failed sign-in; lock the account at the threshold. Returns whether it is now locked.
pub async fn record_failure(c: &mut Conn<'_>, user: &User, now: DateTime<Utc>) -> Result<bool> {
    let failures = user.failed_logins + 1;
    let lock = failures >= LOCK_AFTER;
    let until = lock.then(|| now + Duration::minutes(LOCK_MINUTES));
    let q = Query::update()
        .table(Users::Table)
        .values([
            (
                Users::FailedLogins,
                (if lock { 0 } else { failures }).into(),
            ),
            (Users::LockedUntil, until.into()),
        ])
        .and_where(Expr::col(Users::Id).eq(user.id))
        .to_owned();
    c.execute(&q).await?;
    Ok(lock)
}

/// Clear the failure count after a successful sign-in.
pub async fn record_success(c: &mut Conn<'_>, user_id: i64) -> Result<()> {
    let q = Query::update()
        .table(Users::Table)
        .values([
            (Users::FailedLogins, 0i64.into()),
            (Users::LockedUntil, Option::<DateTime<Utc>>::None.into()),
        ])
        .and_where(Expr::col(Users::Id).eq(user_id))
        .to_owned();
    c.execute(&q).await.map(|_| ())
}

/// Replace the password hash and end every session and token of the user.
pub async fn set_password(
    c: &mut Conn<'_>,
    actor: &Actor,
    user_id: i64,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let q = Query::update()
        .table(Users::Table)
        .values([
            (Users::PasswordHash, hash.into()),
            (Users::PasswordChangedAt, now.into()),
            (Users::UpdatedAt, now.into()),
            (Users::FailedLogins, 0i64.into()),
            (Users::LockedUntil, Option::<DateTime<Utc>>::None.into()),
        ])
        .and_where(Expr::col(Users::Id).eq(user_id))
        .to_owned();
    if c.execute(&q).await? == 0 {
        return Err(DbError::NotFound);
    }
    crate::sessions::end_all_for_user(c, user_id, now).await?;
    audit::append(
        c,
        actor,
        Event::new("password_change", "user", user_id),
        now,
    )
    .await?;
    Ok(())
}

/// Change role and division (security administrator's work).
pub async fn set_role(
    c: &mut Conn<'_>,
    actor: &Actor,
    user_id: i64,
    role: Role,
    division: &DivisionCode,
    now: DateTime<Utc>,
) -> Result<()> {
    let before = get(c, user_id).await?.ok_or(DbError::NotFound)?;
    let probe = NewUser {
        username: before.username.clone(),
        display_name: before.display_name.clone(),
        role,
        division: division.clone(),
        password_hash: String::new(),
    };
    check_new(&probe)?;
    if crate::divisions::get(c, division).await?.is_none() {
        return Err(DbError::invalid(
            "division",
            "unknown_division",
            format!("区划 {division} 不存在"),
        ));
    }
    let q = Query::update()
        .table(Users::Table)
        .values([
            (Users::Role, role.as_str().into()),
            (Users::DivisionCode, division.as_str().into()),
            (Users::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Users::Id).eq(user_id))
        .to_owned();
    c.execute(&q).await?;
    crate::sessions::end_all_for_user(c, user_id, now).await?;
    let detail = serde_json::json!({
        "role": {"before": before.role, "after": role.as_str()},
        "division": {"before": before.division_code, "after": division.as_str()},
    });
    audit::append(
        c,
        actor,
        Event::new("user_role_change", "user", user_id)
            .division(division.as_str())
            .detail(detail),
        now,
    )
    .await?;
    Ok(())
}

/// Disable or re-enable an account; disabling ends its sessions.
pub async fn set_disabled(
    c: &mut Conn<'_>,
    actor: &Actor,
    user_id: i64,
    disabled: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    let q = Query::update()
        .table(Users::Table)
        .values([
            (Users::Disabled, disabled.into()),
            (Users::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Users::Id).eq(user_id))
        .to_owned();
    if c.execute(&q).await? == 0 {
        return Err(DbError::NotFound);
    }
    if disabled {
        crate::sessions::end_all_for_user(c, user_id, now).await?;
    }
    let action = if disabled {
        "user_disable"
    } else {
        "user_enable"
    };
    audit::append(c, actor, Event::new(action, "user", user_id), now).await?;
    Ok(())
}

/// Lift a lockout.
pub async fn unlock(
    c: &mut Conn<'_>,
    actor: &Actor,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    record_success(c, user_id).await?;
    audit::append(c, actor, Event::new("user_unlock", "user", user_id), now).await?;
    Ok(())
}

/// Attach a user to a department (department staff handle its work orders).
pub async fn set_department(
    c: &mut Conn<'_>,
    user_id: i64,
    department: Option<&str>,
) -> Result<()> {
    let q = Query::update()
        .table(Users::Table)
        .value(Users::DepartmentCode, department.map(str::to_owned))
        .and_where(Expr::col(Users::Id).eq(user_id))
        .to_owned();
    c.execute(&q).await.map(|_| ())
}
