//! Pages as a browser receives them: snapshots of the HTML, and the behaviour of
//! search, preferences and errors.

use shequ_testkit::{Browser, app, get, on_each_backend, small_demo};

/// Pages carry a random CSRF token; snapshots show a fixed one.
fn redact(html: String) -> String {
    let marker = "name=\"csrf\" value=\"";
    let mut out = String::with_capacity(html.len());
    let mut rest = html.as_str();
    while let Some(i) = rest.find(marker) {
        let (head, tail) = rest.split_at(i + marker.len());
        out.push_str(head);
        out.push_str("[csrf]");
        rest = tail.find('"').map_or("", |j| &tail[j..]);
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn pages_render_the_same_on_both_backends() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let home = get(&app, "/").await;
        assert_eq!(home.status, 200);
        assert!(
            home.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        insta::assert_snapshot!("home", redact(home.text()));
        insta::assert_snapshot!(
            "county",
            redact(get(&app, "/divisions/430502").await.text())
        );
        insta::assert_snapshot!(
            "community",
            redact(get(&app, "/divisions/430502001001").await.text())
        );
        insta::assert_snapshot!(
            "search",
            redact(get(&app, "/divisions?q=%E5%85%B4%E9%9A%86").await.text())
        );
        let missing = get(&app, "/divisions/430502999").await;
        assert_eq!(missing.status, 404);
        insta::assert_snapshot!("not_found", redact(missing.text()));
    })
    .await;
}

#[tokio::test]
async fn search_redirects_exact_codes_and_escapes_input() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let r = get(&app, "/divisions?q=430502001").await;
        assert_eq!(r.status, 303);
        assert_eq!(r.headers["location"], "/divisions/430502001");
        let r = get(&app, "/divisions?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
        assert_eq!(r.status, 200);
        assert!(!r.text().contains("<script>alert(1)"));
        assert!(r.text().contains("&#60;script&#62;"));
        let r = get(&app, "/divisions/not-a-code").await;
        assert_eq!(r.status, 400);
        assert!(r.text().contains("请求有误"));
    })
    .await;
}

#[tokio::test]
async fn large_text_and_contrast_toggle_by_cookie() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let mut b = Browser::new(&app);
        let r = b
            .post(
                "/prefs",
                &[("toggle", "large"), ("back", "/divisions/430502")],
            )
            .await;
        assert_eq!(r.status, 303);
        assert_eq!(r.headers["location"], "/divisions/430502");
        assert_eq!(b.cookies["shequ_prefs"], "large");
        assert!(
            b.get("/divisions/430502")
                .await
                .text()
                .contains("<body class=\"large\">")
        );
        let r = b
            .post(
                "/prefs",
                &[("toggle", "contrast"), ("back", "https://evil.example")],
            )
            .await;
        assert_eq!(r.headers["location"], "/");
        assert_eq!(b.cookies["shequ_prefs"], "large.contrast");
        // Without the CSRF token nothing changes.
        let r = b
            .post(
                "/prefs",
                &[("toggle", "large"), ("back", "/"), ("csrf", "bad")],
            )
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(b.cookies["shequ_prefs"], "large.contrast");
    })
    .await;
}

#[tokio::test]
async fn children_export_as_xlsx() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let r = get(&app, "/divisions/430502/children.xlsx").await;
        assert_eq!(r.status, 200);
        let t = shequ_reports::Table::read(&r.body, shequ_reports::Format::Xlsx).unwrap();
        assert_eq!(t.headers[0], "区划代码");
        assert_eq!(t.rows.len(), 12);
        assert_eq!(t.rows[0].cells[1], "兴隆街道");
    })
    .await;
}

#[tokio::test]
async fn static_assets_are_embedded() {
    on_each_backend(|db| async move {
        let (_, app) = app(&db).await;
        let r = get(&app, &shequ_web::assets::url("shequ.css")).await;
        assert_eq!(r.status, 200);
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/css")
        );
        assert!(r.text().contains("body.large"));
        assert_eq!(
            get(&app, &shequ_web::assets::url("nope.css")).await.status,
            404
        );
    })
    .await;
}
