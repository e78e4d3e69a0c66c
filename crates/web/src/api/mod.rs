//! The JSON API under `/api/v1`, each route registered with its OpenAPI description.

pub mod admin;
pub mod auth;
pub mod care;
pub mod certificates;
pub mod divisions;
pub mod facilities;
pub mod health;
pub mod imports;
pub mod indicators;
pub mod organizations;
pub mod people;
pub mod ratings;
pub mod rental;
pub mod sanlv;
pub mod surveys;
pub mod timebank;
pub mod volunteers;
pub mod workforce;
pub mod workorders;

use crate::AppState;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::base())
        .routes(routes!(health::healthz))
        .routes(routes!(crate::openapi::document))
        .routes(routes!(divisions::list))
        .routes(routes!(divisions::get_one))
        .routes(routes!(divisions::create_grid))
        .routes(routes!(divisions::update_grid, divisions::delete_grid))
        .routes(routes!(imports::division_figures))
        .routes(routes!(imports::people))
        .routes(routes!(auth::token))
        .routes(routes!(indicators::list))
        .routes(routes!(indicators::gaps))
        .routes(routes!(indicators::target))
        .routes(routes!(admin::list_users))
        .routes(routes!(admin::audit_log))
        .routes(routes!(admin::audit_verify))
        .routes(routes!(people::list, people::create))
        .routes(routes!(people::get_one, people::update))
        .routes(routes!(people::reveal))
        .routes(routes!(people::move_household))
        .routes(routes!(people::create_household))
        .routes(routes!(organizations::list, organizations::create))
        .routes(routes!(facilities::list, facilities::create))
        .routes(routes!(
            facilities::get_one,
            facilities::update,
            facilities::delete
        ))
        .routes(routes!(facilities::add_terminal))
        .routes(routes!(
            facilities::get_attributes,
            facilities::put_attributes
        ))
        .routes(routes!(facilities::import))
        .routes(routes!(workforce::list, workforce::create))
        .routes(routes!(workforce::get_one, workforce::update))
        .routes(routes!(workforce::add_training))
        .routes(routes!(workforce::import))
        .routes(routes!(workorders::list, workorders::create))
        .routes(routes!(workorders::categories))
        .routes(routes!(sanlv::get_report))
        .routes(routes!(sanlv::get_config, sanlv::put_config))
        .routes(routes!(workorders::bulk))
        .routes(routes!(workorders::rules, workorders::put_rule))
        .routes(routes!(workorders::delete_rule))
        .routes(routes!(workorders::get_one))
        .routes(routes!(workorders::act))
        .routes(routes!(workorders::departments, workorders::put_department))
        .routes(routes!(workorders::notices))
        .routes(routes!(workorders::read_notices))
        .routes(routes!(surveys::list, surveys::create))
        .routes(routes!(surveys::get_one, surveys::update))
        .routes(routes!(surveys::open))
        .routes(routes!(surveys::close))
        .routes(routes!(surveys::respond))
        .routes(routes!(surveys::results))
        .routes(routes!(ratings::queue))
        .routes(routes!(ratings::get_one))
        .routes(routes!(ratings::act))
        .routes(routes!(ratings::rate))
        .routes(routes!(ratings::scorecard))
        .merge(volunteers::routes())
        .merge(certificates::routes())
        .merge(timebank::routes())
        .merge(care::routes())
        .merge(rental::routes())
}

/// Unknown paths: a JSON error under `/api/`, the 404 page elsewhere.
pub async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        crate::AppError::NotFound("接口不存在".into()).into_response()
    } else {
        crate::ui::not_found(uri).await.into_response()
    }
}

/// `?page=N&per_page=M`.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
pub struct Paging {
    /// Page number, from 1.
    pub page: Option<u64>,
    /// Items per page, 1–500 (default 50).
    pub per_page: Option<u64>,
}

impl Paging {
    pub fn resolve(self) -> Result<shequ_db::PageReq, crate::AppError> {
        if self.page == Some(0) {
            return Err(crate::AppError::bad_request("bad_page", "page 应从 1 开始"));
        }
        if matches!(self.per_page, Some(n) if n == 0 || n > shequ_db::PageReq::MAX_PER_PAGE) {
            return Err(crate::AppError::bad_request(
                "bad_per_page",
                "per_page 应在 1 到 500 之间",
            ));
        }
        Ok(shequ_db::PageReq::new(self.page, self.per_page))
    }
}

/// `{"items":[…],"total":N}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T: ToSchema> {
    pub items: Vec<T>,
    pub total: i64,
}
