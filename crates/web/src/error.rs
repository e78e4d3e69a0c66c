//! One error type for every handler. API routes answer
//! `{"error":{"code","message","fields"}}`; pages answer with the Chinese error page.
//! Internal errors are logged with their detail and shown only as a generic message.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shequ_core::FieldErrors;
use shequ_db::DbError;
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("提交的内容未通过校验")]
    Validation(FieldErrors),
    #[error("请先登录或提供有效的访问令牌")]
    Unauthorized,
    #[error("无权访问该数据")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("提交的内容过大")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("请求过于频繁，请稍后再试")]
    TooManyRequests,
    #[error("服务器内部错误，请稍后再试")]
    Internal(#[from] anyhow::Error),
}

/// The JSON error envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code, for programs.
    pub code: String,
    /// Chinese message, for people.
    pub message: String,
    /// Per-field messages, when the input had bad fields.
    pub fields: BTreeMap<String, String>,
}

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn not_found() -> Self {
        AppError::NotFound("未找到该数据".into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest { code, .. } => code,
            AppError::Validation(_) => "validation_failed",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::TooManyRequests => "too_many_requests",
            AppError::Internal(_) => "internal_error",
        }
    }

    pub fn body(&self) -> ErrorBody {
        let fields = match self {
            AppError::Validation(f) => {
                f.0.iter()
                    .map(|e| (e.field.clone(), e.message.clone()))
                    .collect()
            }
            _ => BTreeMap::new(),
        };
        let message = match self {
            AppError::Validation(f) => format!("提交的内容未通过校验：{}", f.summary()),
            other => other.to_string(),
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message,
                fields,
            },
        }
    }

    fn log(&self) {
        if let AppError::Internal(e) = self {
            tracing::error!(error = ?e, "internal error");
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let mut res = (self.status(), Json(self.body())).into_response();
        if matches!(self, AppError::Unauthorized) {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => AppError::not_found(),
            DbError::Conflict(_) => AppError::Conflict("数据已存在或与现有数据冲突".into()),
            DbError::Invalid(f) => AppError::Validation(f),
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<FieldErrors> for AppError {
    fn from(e: FieldErrors) -> Self {
        AppError::Validation(e)
    }
}

pub type ApiResult<T> = Result<T, AppError>;
