//! The OpenAPI 3.1 document: built from the routes themselves (see [`crate::api::router`]),
//! served at `/api/v1/openapi.json` and committed as `docs/openapi.json`.

use axum::Json;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi as _};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Shequ 社区服务平台 API", version = "1",
        description = "城乡社区服务平台接口。错误统一为 {\"error\":{\"code\",\"message\",\"fields\"}}；列表为 {\"items\",\"total\"}，分页参数 page、per_page（≤ 500）。"),
    modifiers(&Bearer),
    tags((name = "system", description = "运行状态与接口文档"),
         (name = "divisions", description = "区划树：市、县市区、乡镇（街道）、村（社区）、网格"),
         (name = "auth", description = "登录与访问令牌"),
         (name = "indicators", description = "规划指标监测：指标值、短板清单、本级目标"),
         (name = "people", description = "居民、户与组织（受保护字段加密存储、脱敏显示）"),
         (name = "workorders", description = "接诉即办：受理、派单、签收、办理、回复、办结、回访、评价；三率"))
)]
struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, api: &mut OpenApi) {
        let comps = api.components.get_or_insert_with(Default::default);
        comps.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn base() -> OpenApi {
    ApiDoc::openapi()
}

/// The whole document, as served and committed.
pub fn document_value() -> OpenApi {
    crate::api::router().split_for_parts().1
}

/// The OpenAPI document of this API.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "system",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn document() -> Json<OpenApi> {
    Json(document_value())
}
