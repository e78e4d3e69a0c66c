//! The committed `docs/openapi.json` is the document the code produces, and it
//! describes every API route. Set `SHEQU_UPDATE_OPENAPI=1` to rewrite the file.

use shequ_testkit::{TestDb, app, get};

fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

#[test]
fn committed_document_matches_the_code() {
    let doc = shequ_web::openapi::document_value();
    let text = format!("{}\n", serde_json::to_string_pretty(&doc).unwrap());
    let path = committed_path();
    if std::env::var("SHEQU_UPDATE_OPENAPI").is_ok() {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "docs/openapi.json is out of date: run `SHEQU_UPDATE_OPENAPI=1 cargo test -p shequ-testkit openapi`"
    );
}

#[test]
fn document_is_openapi_31_and_lists_the_contract_routes() {
    let v = serde_json::to_value(shequ_web::openapi::document_value()).unwrap();
    assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/healthz",
        "/api/v1/openapi.json",
        "/api/v1/divisions",
        "/api/v1/divisions/{code}",
        "/api/v1/divisions/{code}/grids",
        "/api/v1/grids/{code}",
        "/api/v1/imports/division-figures",
    ] {
        assert!(
            v["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    insta::assert_json_snapshot!(
        "openapi_paths",
        v["paths"].as_object().unwrap().keys().collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn served_document_equals_the_generated_one() {
    let t = TestDb::sqlite().await;
    let (_, app) = app(&t.db).await;
    let r = get(&app, "/api/v1/openapi.json").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        serde_json::to_value(shequ_web::openapi::document_value()).unwrap()
    );
    t.cleanup().await;
}
