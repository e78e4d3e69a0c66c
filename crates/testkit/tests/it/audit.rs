//! The auditor's view of the audit chain: search and filters, the integrity check
//! (which must notice an edited, a deleted and a swapped entry), and export.

use serde_json::json;
use shequ_db::Db;
use shequ_testkit::{Browser, PASSWORD, app, demo_users, json, on_each_backend, small_demo, token};

async fn setup(db: &Db) -> axum::Router {
    small_demo(db).await;
    demo_users(db).await;
    app(db).await.1
}

async fn auditor(app: &axum::Router) -> Browser {
    let mut b = Browser::new(app);
    b.login("auditor").await;
    b
}

/// The text of every `<td class="{class}">` cell, in order.
fn cells(html: &str, class: &str) -> Vec<String> {
    let open = format!("<td class=\"{class}\">");
    html.split(&open)
        .skip(1)
        .map(|rest| rest.split(['<']).next().unwrap_or("").trim().to_owned())
        .collect()
}

/// The text of the element with `id="verify-result"`.
fn verify_result(html: &str) -> String {
    let start = html
        .find("id=\"verify-result\"")
        .expect("no verify result on the page");
    let rest = &html[start..];
    let text = &rest[rest.find('>').unwrap() + 1..];
    text[..text.find('<').unwrap()].to_owned()
}

/// Run statements on the raw pool: `sqlite` on SQLite, `pg` on PostgreSQL.
async fn raw(db: &Db, sqlite: &[&'static str], pg: &[&'static str]) {
    match db {
        Db::Sqlite(p) => {
            for s in sqlite {
                sqlx::query(*s).execute(p).await.unwrap();
            }
        }
        Db::Postgres(p) => {
            for s in pg {
                sqlx::query(*s).execute(p).await.unwrap();
            }
        }
    }
}

async fn entry_count(db: &Db) -> i64 {
    let all = shequ_db::audit::search(
        &mut db.conn(),
        &Default::default(),
        shequ_db::PageReq::new(Some(1), Some(1)),
    )
    .await
    .unwrap();
    all.total
}

#[tokio::test]
async fn search_filters_by_actor_action_and_date() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let creds = |pw: &str| json!({"username": "community", "password": pw});
        assert_eq!(
            json(
                &app,
                "POST",
                "/api/v1/auth/token",
                None,
                creds("Wrong#2025pw")
            )
            .await
            .status,
            401
        );
        assert_eq!(
            json(&app, "POST", "/api/v1/auth/token", None, creds(PASSWORD))
                .await
                .status,
            200
        );
        let mut comm = Browser::new(&app);
        comm.login("community").await;
        comm.post("/logout", &[]).await;
        let mut b = auditor(&app).await;

        let page = b.get("/audit").await;
        assert_eq!(page.status, 200);
        let html = page.text();
        assert!(html.contains("id=\"audit\""));
        let seqs: Vec<i64> = cells(&html, "num")
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert!(
            seqs.len() > 10 && seqs.windows(2).all(|w| w[0] > w[1]),
            "newest first: {seqs:?}"
        );
        assert_eq!(seqs[0], entry_count(&db).await);
        assert!(
            html.contains("2025-06-30 10:00:00"),
            "times in Beijing time"
        );

        let html = b.get("/audit?actor=community").await.text();
        let actions = cells(&html, "action");
        assert_eq!(actions, ["退出登录", "登录", "登录", "登录"], "{html}");
        assert!(cells(&html, "actor").iter().all(|a| a == "community"));

        let html = b.get("/audit?actor=community&action=login").await.text();
        assert_eq!(cells(&html, "action"), ["登录", "登录", "登录"]);
        let outcomes = cells(&html, "outcome");
        assert_eq!(
            outcomes,
            ["成功", "成功", "失败"],
            "sign-in failures and successes"
        );
        assert!(html.contains("wrong_password"));
        assert!(
            html.contains("<option value=\"login\" selected>"),
            "the filter is kept"
        );

        let html = b.get("/audit?action=user_create").await.text();
        let made = cells(&html, "action");
        assert!(
            !made.is_empty() && made.iter().all(|a| a == "新建用户"),
            "{made:?}"
        );
        assert!(cells(&html, "actor").iter().all(|a| a == "system"));

        let day = b
            .get("/audit?actor=community&from=2025-06-30&to=2025-06-30")
            .await;
        assert_eq!(cells(&day.text(), "action").len(), 4);
        assert!(
            cells(
                &b.get("/audit?actor=community&from=2025-07-01").await.text(),
                "action"
            )
            .is_empty()
        );
        assert!(
            cells(
                &b.get("/audit?actor=community&to=2025-06-29").await.text(),
                "action"
            )
            .is_empty()
        );
        let bad = b.get("/audit?from=2025-13-01").await;
        assert_eq!(bad.status, 400);
        assert!(bad.text().contains("开始日期“2025-13-01”无法识别"));
        let backwards = b.get("/audit?from=2025-07-01&to=2025-06-01").await;
        assert_eq!(backwards.status, 400);
        assert!(backwards.text().contains("开始日期不能晚于结束日期"));

        let t = token(&app, "auditor").await;
        let r = json(
            &app,
            "GET",
            "/api/v1/audit?actor=community&action=login",
            Some(&t),
            json!(null),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let items = r.json()["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 3);
        assert!(
            items
                .iter()
                .all(|e| e["actor"] == "community" && e["action"] == "login")
        );
        assert_eq!(items[2]["outcome"], "failed");
        assert_eq!(items[2]["detail"]["reason"], "wrong_password");
        let r = json(
            &app,
            "GET",
            "/api/v1/audit?per_page=2&page=2",
            Some(&t),
            json!(null),
        )
        .await;
        assert_eq!(r.json()["items"].as_array().unwrap().len(), 2);
        assert_eq!(r.json()["total"], entry_count(&db).await);
    })
    .await;
}

#[tokio::test]
async fn pager_keeps_the_filters() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let actor = shequ_db::scope::Actor {
            user_id: None,
            name: "tester".into(),
            role: "city_staff".into(),
        };
        for i in 0..60 {
            let ev = shequ_db::audit::Event::new("reveal", "person", i);
            shequ_db::audit::record(&db, &actor, ev, shequ_testkit::now())
                .await
                .unwrap();
        }
        let mut b = auditor(&app).await;
        let html = b.get("/audit?action=reveal").await.text();
        let first = cells(&html, "num");
        assert_eq!(first.len(), 50);
        assert!(html.contains("共 60 条"));
        assert!(
            html.contains(
                "href=\"/audit?actor=&#38;action=reveal&#38;entity_id=&#38;from=&#38;to=&page=2\""
            ),
            "{html}"
        );
        let html = b
            .get("/audit?actor=&action=reveal&entity_id=&from=&to=&page=2")
            .await
            .text();
        let second = cells(&html, "num");
        assert_eq!(second.len(), 10);
        assert!(cells(&html, "action").iter().all(|a| a == "查看明文"));
        assert!(second[0].parse::<i64>().unwrap() < first[49].parse::<i64>().unwrap());
        assert!(html.contains("page=1\""), "a link back to page 1");
    })
    .await;
}

#[tokio::test]
async fn verify_reports_an_edited_entry() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut b = auditor(&app).await;
        let r = b.post("/audit/verify", &[]).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            verify_result(&r.text()),
            format!("审计日志完整：共 {} 条", entry_count(&db).await)
        );
        let t = token(&app, "auditor").await;
        let v = json(&app, "GET", "/api/v1/audit/verify", Some(&t), json!(null))
            .await
            .json();
        assert_eq!(
            (
                v["intact"].as_bool(),
                v["entries"].as_i64(),
                v["broken_at"].is_null()
            ),
            (Some(true), Some(entry_count(&db).await), true)
        );

        let update = "UPDATE audit_log SET detail = '{}' WHERE seq = 2";
        raw(
            &db,
            &["DROP TRIGGER audit_log_no_update", update],
            &["ALTER TABLE audit_log DISABLE TRIGGER USER", update],
        )
        .await;
        let r = b.post("/audit/verify", &[]).await;
        assert_eq!(
            verify_result(&r.text()),
            "第 2 条起不一致：第 2 条内容被改动"
        );
        let v = json(&app, "GET", "/api/v1/audit/verify", Some(&t), json!(null))
            .await
            .json();
        assert_eq!(
            (v["intact"].as_bool(), v["broken_at"].as_i64()),
            (Some(false), Some(2))
        );
        assert_eq!(v["entries"], 1);
        assert_eq!(v["reason"], "第 2 条内容被改动");
    })
    .await;
}

#[tokio::test]
async fn verify_reports_a_deleted_last_entry() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut b = auditor(&app).await;
        let n = entry_count(&db).await;
        assert_eq!(
            verify_result(&b.post("/audit/verify", &[]).await.text()),
            format!("审计日志完整：共 {n} 条")
        );
        let delete = "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)";
        raw(
            &db,
            &["DROP TRIGGER audit_log_no_delete", delete],
            &["ALTER TABLE audit_log DISABLE TRIGGER USER", delete],
        )
        .await;
        assert_eq!(entry_count(&db).await, n - 1);
        let text = verify_result(&b.post("/audit/verify", &[]).await.text());
        assert_eq!(
            text,
            format!(
                "第 {n} 条起不一致：日志末尾缺失：应有 {n} 条，只找到 {} 条",
                n - 1
            )
        );
    })
    .await;
}

#[tokio::test]
async fn verify_reports_swapped_entries() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut b = auditor(&app).await;
        assert!(
            verify_result(&b.post("/audit/verify", &[]).await.text()).starts_with("审计日志完整")
        );
        let swap = [
            "UPDATE audit_log SET seq = -3 WHERE seq = 3",
            "UPDATE audit_log SET seq = 3 WHERE seq = 4",
            "UPDATE audit_log SET seq = 4 WHERE seq = -3",
        ];
        let sqlite = [
            "DROP TRIGGER audit_log_no_update",
            swap[0],
            swap[1],
            swap[2],
        ];
        let pg = [
            "ALTER TABLE audit_log DISABLE TRIGGER USER",
            swap[0],
            swap[1],
            swap[2],
        ];
        raw(&db, &sqlite, &pg).await;
        let text = verify_result(&b.post("/audit/verify", &[]).await.text());
        assert!(text.starts_with("第 3 条起不一致："), "{text}");
        assert!(text.contains("被删除或调换"), "{text}");
    })
    .await;
}

#[tokio::test]
async fn verify_needs_the_auditor_and_the_csrf_token() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut admin = Browser::new(&app);
        admin.login("admin").await;
        assert_eq!(admin.post("/audit/verify", &[]).await.status, 403);
        assert_eq!(admin.get("/audit/export.xlsx").await.status, 403);
        let mut b = auditor(&app).await;
        assert_eq!(
            b.post("/audit/verify", &[("csrf", "forged")]).await.status,
            400
        );
    })
    .await;
}

#[tokio::test]
async fn export_writes_the_filtered_entries_and_is_audited() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        token(&app, "community").await;
        let mut b = auditor(&app).await;
        let r = b
            .get("/audit/export.xlsx?actor=community&action=login")
            .await;
        assert_eq!(r.status, 200);
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .contains("spreadsheetml")
        );
        let t = shequ_reports::Table::read(&r.body, shequ_reports::Format::Xlsx).unwrap();
        assert_eq!(t.headers[..3], ["序号", "时间", "操作人"]);
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0].cells[2], "community");
        assert_eq!(t.rows[0].cells[4], "登录");

        let html = b.get("/audit?actor=auditor&action=export").await.text();
        assert_eq!(cells(&html, "action"), ["导出"]);
        assert_eq!(cells(&html, "object"), ["审计日志"]);
        let api = token(&app, "auditor").await;
        let v = json(
            &app,
            "GET",
            "/api/v1/audit?action=export",
            Some(&api),
            json!(null),
        )
        .await
        .json();
        assert_eq!(v["total"], 1);
        assert_eq!(
            (
                v["items"][0]["entity"].as_str(),
                v["items"][0]["actor"].as_str()
            ),
            (Some("audit"), Some("auditor"))
        );
        assert_eq!(v["items"][0]["detail"]["rows"], 1);
        assert_eq!(b.get("/audit/export.xlsx?to=yesterday").await.status, 400);
    })
    .await;
}
