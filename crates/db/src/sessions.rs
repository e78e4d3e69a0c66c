//! Server-side sign-in sessions (browser) and bearer tokens (API), both stored
//! only as SHA-256 of the secret the client holds.

use crate::users::User;
use crate::{Conn, Result};
use chrono::{DateTime, Duration, Utc};
use sea_query::{Expr, ExprTrait, Iden, Query};
use sha2::{Digest, Sha256};

#[derive(Iden)]
enum Sessions {
    Table,
    Id,
    TokenHash,
    UserId,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
}

#[derive(Iden)]
enum AuthTokens {
    Table,
    TokenHash,
    UserId,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

/// A browser session ends after this long without a request…
pub const IDLE_MINUTES: i64 = 30;
/// …and in any case this long after sign-in.
pub const ABSOLUTE_HOURS: i64 = 12;
/// Lifetime of an API bearer token.
pub const TOKEN_HOURS: i64 = 12;

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Start a session for `user_id`; the caller keeps `secret` in the cookie.
pub async fn start(
    c: &mut Conn<'_>,
    user_id: i64,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let q = Query::insert()
        .into_table(Sessions::Table)
        .columns([
            Sessions::TokenHash,
            Sessions::UserId,
            Sessions::CreatedAt,
            Sessions::LastSeenAt,
            Sessions::ExpiresAt,
        ])
        .values_panic([
            hash_secret(secret).into(),
            user_id.into(),
            now.into(),
            now.into(),
            (now + Duration::hours(ABSOLUTE_HOURS)).into(),
        ])
        .to_owned();
    c.insert_id(&q).await
}

/// A live session and its user: not expired, not idle too long, user enabled.
/// Refreshes the idle clock (at most once a minute).
pub async fn resume(
    c: &mut Conn<'_>,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Option<(i64, User)>> {
    let q = Query::select()
        .columns([
            Sessions::Id,
            Sessions::UserId,
            Sessions::LastSeenAt,
            Sessions::ExpiresAt,
        ])
        .from(Sessions::Table)
        .and_where(Expr::col(Sessions::TokenHash).eq(hash_secret(secret)))
        .to_owned();
    let row: Option<(i64, i64, DateTime<Utc>, DateTime<Utc>)> = c.fetch_optional(&q).await?;
    let Some((id, user_id, seen, expires)) = row else {
        return Ok(None);
    };
    if expires <= now || seen + Duration::minutes(IDLE_MINUTES) <= now {
        end(c, secret).await?;
        return Ok(None);
    }
    let Some(user) = crate::users::get(c, user_id).await?.filter(|u| !u.disabled) else {
        return Ok(None);
    };
    if now - seen > Duration::minutes(1) {
        let touch = Query::update()
            .table(Sessions::Table)
            .value(Sessions::LastSeenAt, now)
            .and_where(Expr::col(Sessions::Id).eq(id))
            .to_owned();
        c.execute(&touch).await?;
    }
    Ok(Some((id, user)))
}

/// End one session (sign out).
pub async fn end(c: &mut Conn<'_>, secret: &str) -> Result<()> {
    let q = Query::delete()
        .from_table(Sessions::Table)
        .and_where(Expr::col(Sessions::TokenHash).eq(hash_secret(secret)))
        .to_owned();
    c.execute(&q).await.map(|_| ())
}

/// End every session and revoke every token of a user (password change, disabling).
pub async fn end_all_for_user(c: &mut Conn<'_>, user_id: i64, now: DateTime<Utc>) -> Result<()> {
    c.execute(
        &Query::delete()
            .from_table(Sessions::Table)
            .and_where(Expr::col(Sessions::UserId).eq(user_id))
            .to_owned(),
    )
    .await?;
    let q = Query::update()
        .table(AuthTokens::Table)
        .value(AuthTokens::RevokedAt, now)
        .and_where(Expr::col(AuthTokens::UserId).eq(user_id))
        .and_where(Expr::col(AuthTokens::RevokedAt).is_null())
        .to_owned();
    c.execute(&q).await.map(|_| ())
}

/// Issue a bearer token; returns its expiry.
pub async fn issue_token(
    c: &mut Conn<'_>,
    user_id: i64,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>> {
    let expires = now + Duration::hours(TOKEN_HOURS);
    let q = Query::insert()
        .into_table(AuthTokens::Table)
        .columns([
            AuthTokens::TokenHash,
            AuthTokens::UserId,
            AuthTokens::CreatedAt,
            AuthTokens::ExpiresAt,
        ])
        .values_panic([
            hash_secret(secret).into(),
            user_id.into(),
            now.into(),
            expires.into(),
        ])
        .to_owned();
    c.execute(&q).await?;
    Ok(expires)
}

/// The user behind a live, unrevoked, unexpired token whose account is enabled.
pub async fn token_user(
    c: &mut Conn<'_>,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Option<User>> {
    let q = Query::select()
        .column(AuthTokens::UserId)
        .from(AuthTokens::Table)
        .and_where(Expr::col(AuthTokens::TokenHash).eq(hash_secret(secret)))
        .and_where(Expr::col(AuthTokens::RevokedAt).is_null())
        .and_where(Expr::col(AuthTokens::ExpiresAt).gt(now))
        .to_owned();
    let row: Option<(i64,)> = c.fetch_optional(&q).await?;
    match row {
        Some((uid,)) => Ok(crate::users::get(c, uid).await?.filter(|u| !u.disabled)),
        None => Ok(None),
    }
}

/// Revoke one token.
pub async fn revoke_token(c: &mut Conn<'_>, secret: &str, now: DateTime<Utc>) -> Result<()> {
    let q = Query::update()
        .table(AuthTokens::Table)
        .value(AuthTokens::RevokedAt, now)
        .and_where(Expr::col(AuthTokens::TokenHash).eq(hash_secret(secret)))
        .to_owned();
    c.execute(&q).await.map(|_| ())
}
