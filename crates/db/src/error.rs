//! Storage errors, with the cases callers must tell apart.

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid: {0}")]
    Invalid(shequ_core::FieldErrors),
    #[error("database url: {0}")]
    BadUrl(String),
    #[error(transparent)]
    Sqlx(sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => DbError::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                DbError::Conflict(d.message().to_owned())
            }
            _ => DbError::Sqlx(e),
        }
    }
}

impl From<shequ_core::FieldErrors> for DbError {
    fn from(e: shequ_core::FieldErrors) -> Self {
        DbError::Invalid(e)
    }
}

impl DbError {
    /// A single-field validation error.
    pub fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        let mut e = shequ_core::FieldErrors::new();
        e.add(field, code, message);
        DbError::Invalid(e)
    }
}
