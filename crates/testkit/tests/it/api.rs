//! The JSON API as a client sees it: contract shapes, paging, errors, grid writes.

use serde_json::json;
use shequ_testkit::{api_key, app, get, json, on_each_backend, small_demo, with_body};

#[tokio::test]
async fn health_and_contract_shapes() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let r = get(&app, "/healthz").await;
        assert_eq!((r.status.as_u16(), r.text().as_str()), (200, "ok"));

        let r = get(&app, "/api/v1/divisions").await;
        assert_eq!(r.status, 200);
        let v = r.json();
        assert_eq!(v["total"], 1);
        assert_eq!(v["items"][0]["code"], "430502");

        let v = get(&app, "/api/v1/divisions/430502001").await.json();
        for key in [
            "code",
            "name",
            "level",
            "urban",
            "population",
            "urban_population",
            "households",
            "parent",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["level"], "township");
        assert_eq!(v["parent"], "430502");
        assert_eq!(v["urban"], true);
        let city = get(&app, "/api/v1/divisions/430500").await.json();
        assert_eq!(
            (city["level"].as_str(), city["parent"].is_null()),
            (Some("city"), true)
        );
        let grid = get(&app, "/api/v1/divisions/430502001001001").await.json();
        assert_eq!(grid["level"], "grid");
    })
    .await;
}

#[tokio::test]
async fn paging_and_search() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let v = get(&app, "/api/v1/divisions?parent=430502&page=2&per_page=5")
            .await
            .json();
        assert_eq!(v["total"], 12);
        assert_eq!(v["items"].as_array().unwrap().len(), 5);
        assert_eq!(v["items"][0]["code"], "430502006");
        let v = get(&app, "/api/v1/divisions?parent=430502&page=9")
            .await
            .json();
        assert_eq!(v["items"].as_array().unwrap().len(), 0);
        let v = get(&app, "/api/v1/divisions?q=%E5%85%B4%E9%9A%86")
            .await
            .json();
        assert_eq!(v["items"][0]["name"], "兴隆街道");
        let v = get(&app, "/api/v1/divisions?parent=430502001001")
            .await
            .json();
        assert!(
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|g| g["level"] == "grid")
        );
    })
    .await;
}

#[tokio::test]
async fn bad_input_gets_stable_codes() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let cases = [
            ("/api/v1/divisions/43050A", 400, "bad_division_code"),
            ("/api/v1/divisions/4305021", 400, "bad_division_code"),
            ("/api/v1/divisions/990500", 400, "bad_division_code"),
            ("/api/v1/divisions/430503", 404, "not_found"),
            ("/api/v1/divisions?parent=430599", 404, "not_found"),
            ("/api/v1/divisions?parent=abc", 400, "bad_division_code"),
            ("/api/v1/divisions?per_page=501", 400, "bad_per_page"),
            ("/api/v1/divisions?per_page=0", 400, "bad_per_page"),
            ("/api/v1/divisions?page=0", 400, "bad_page"),
            ("/api/v1/divisions?page=-1", 400, "bad_query"),
            ("/api/v1/divisions?page=x", 400, "bad_query"),
            ("/api/v1/nothing", 404, "not_found"),
        ];
        for (uri, status, code) in cases {
            let r = get(&app, uri).await;
            assert_eq!(r.status.as_u16(), status, "{uri}");
            assert_eq!(r.error_code(), code, "{uri}");
            assert!(!r.json()["error"]["message"].as_str().unwrap().is_empty());
        }
        let long = format!("/api/v1/divisions?q={}", "邵".repeat(50));
        assert_eq!(get(&app, &long).await.error_code(), "bad_search");
    })
    .await;
}

#[tokio::test]
async fn grid_writes_need_a_key_within_scope() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let street_key = api_key(&db, "430502001").await;
        let other_key = api_key(&db, "430502002").await;
        let body = json!({"number": 42, "name": "滨江网格", "population": 800, "urban_population": 800, "households": 300, "lon": 111.5, "lat": 27.2});
        let uri = "/api/v1/divisions/430502001001/grids";

        let r = json(&app, "POST", uri, None, body.clone()).await;
        assert_eq!((r.status.as_u16(), r.error_code().as_str()), (401, "unauthorized"));
        let r = json(&app, "POST", uri, Some("sq_wrong"), body.clone()).await;
        assert_eq!(r.status, 401);
        let r = json(&app, "POST", uri, Some(&other_key), body.clone()).await;
        assert_eq!((r.status.as_u16(), r.error_code().as_str()), (403, "forbidden"));

        let r = json(&app, "POST", uri, Some(&street_key), body.clone()).await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["code"], "430502001001042");
        // The cached tree shows it at once.
        assert_eq!(get(&app, "/api/v1/divisions/430502001001042").await.json()["name"], "滨江网格");
        let r = json(&app, "POST", uri, Some(&street_key), body.clone()).await;
        assert_eq!((r.status.as_u16(), r.error_code().as_str()), (409, "conflict"));

        let r = json(&app, "PUT", "/api/v1/grids/430502001001042", Some(&street_key), json!({"name": "滨江一网格", "population": 900, "households": 320})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["population"], 900);
        let r = json(&app, "PUT", "/api/v1/grids/430502001001042", Some(&street_key), json!({"number": 3, "name": "x"})).await;
        assert_eq!(r.error_code(), "number_immutable");

        let r = shequ_testkit::send(&app, axum::http::Request::delete("/api/v1/grids/430502001001042").header("authorization", format!("Bearer {other_key}")).body(axum::body::Body::empty()).unwrap()).await;
        assert_eq!(r.status, 403);
        let r = shequ_testkit::send(&app, axum::http::Request::delete("/api/v1/grids/430502001001042").header("authorization", format!("Bearer {street_key}")).body(axum::body::Body::empty()).unwrap()).await;
        assert_eq!(r.status, 204);
        assert_eq!(get(&app, "/api/v1/divisions/430502001001042").await.status, 404);
    })
    .await;
}

#[tokio::test]
async fn bad_grid_bodies_store_nothing() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let key = api_key(&db, "430502").await;
        let uri = "/api/v1/divisions/430502001001/grids";
        let cases = [
            (
                json!({"number": 5, "name": "", "population": 1, "households": 1}),
                422,
                "validation_failed",
            ),
            (
                json!({"number": 5, "name": "网格", "population": -1, "households": 0}),
                422,
                "validation_failed",
            ),
            (
                json!({"number": 5, "name": "网格", "population": 10, "households": 20}),
                422,
                "validation_failed",
            ),
            (
                json!({"number": 5, "name": "网格", "population": 99_999_999, "households": 1}),
                422,
                "validation_failed",
            ),
            (
                json!({"number": 5, "name": "网格", "lon": 500.0, "lat": 27.0}),
                422,
                "validation_failed",
            ),
            (
                json!({"number": 5, "name": "网格", "lon": 111.0}),
                422,
                "validation_failed",
            ),
            (
                json!({"number": 5, "name": "网格", "polygon": {"type": "Point"}}),
                422,
                "validation_failed",
            ),
            (
                json!({"number": 0, "name": "网格"}),
                422,
                "validation_failed",
            ),
            (json!({"name": "网格"}), 422, "validation_failed"),
            (
                json!({"number": 5, "name": "网格", "surprise": 1}),
                400,
                "bad_json_fields",
            ),
            (
                json!({"number": "five", "name": "网格"}),
                400,
                "bad_json_fields",
            ),
            (
                json!({"number": 5, "name": "<script>alert(1)</script>"}),
                422,
                "validation_failed",
            ),
        ];
        for (body, status, code) in cases {
            let r = json(&app, "POST", uri, Some(&key), body.clone()).await;
            assert_eq!(
                (r.status.as_u16(), r.error_code()),
                (status, code.to_owned()),
                "{body}"
            );
        }
        let r = with_body(&app, "POST", uri, "text/plain", Some(&key), "number=5").await;
        assert_eq!(
            (r.status.as_u16(), r.error_code().as_str()),
            (415, "unsupported_media_type")
        );
        let r = with_body(
            &app,
            "POST",
            uri,
            "application/json",
            Some(&key),
            "{not json",
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.error_code().as_str()),
            (400, "bad_json")
        );
        let huge = format!(
            "{{\"number\":5,\"name\":\"{}\"}}",
            "a".repeat(3 * 1024 * 1024)
        );
        let r = with_body(&app, "POST", uri, "application/json", Some(&key), huge).await;
        assert_eq!(
            (r.status.as_u16(), r.error_code().as_str()),
            (413, "payload_too_large")
        );
        let r = json(
            &app,
            "POST",
            "/api/v1/divisions/430502001/grids",
            Some(&key),
            json!({"number": 5, "name": "网格"}),
        )
        .await;
        assert_eq!(r.status, 422);
        let r = json(
            &app,
            "POST",
            "/api/v1/divisions/430502001999/grids",
            Some(&key),
            json!({"number": 5, "name": "网格"}),
        )
        .await;
        assert_eq!(r.status, 404);
        let r = get(&app, "/api/v1/divisions?parent=430502001001")
            .await
            .json();
        assert!(
            r["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|g| g["code"] != "430502001001005")
        );
    })
    .await;
}

#[tokio::test]
async fn every_response_carries_security_headers() {
    on_each_backend(|db| async move {
        let (_, app) = app(&db).await;
        for uri in ["/", "/api/v1/divisions", "/nope", "/healthz"] {
            let r = get(&app, uri).await;
            let csp = r
                .headers
                .get("content-security-policy")
                .unwrap()
                .to_str()
                .unwrap();
            assert!(
                csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
                "{uri}"
            );
            assert_eq!(r.headers.get("x-content-type-options").unwrap(), "nosniff");
            assert!(r.headers.get("x-request-id").is_some());
        }
    })
    .await;
}

mod fuzz {
    use proptest::prelude::*;
    use shequ_testkit::{TestDb, app, get};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// No path segment or query value makes the API answer 5xx.
        #[test]
        fn arbitrary_codes_never_fail_the_server(seg in "[0-9A-Za-z%._~-]{0,24}", q in "[0-9a-z%&=]{0,24}") {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let t = TestDb::sqlite().await;
                shequ_testkit::small_demo(&t.db).await;
                let (_, app) = app(&t.db).await;
                for uri in [format!("/api/v1/divisions/{seg}"), format!("/api/v1/divisions?parent={seg}&{q}"), format!("/divisions/{seg}")] {
                    let r = get(&app, &uri).await;
                    assert!(r.status.as_u16() < 500, "{uri} -> {}", r.status);
                }
                t.cleanup().await;
            });
        }
    }
}
