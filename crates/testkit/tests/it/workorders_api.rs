//! 接诉即办 over the API: idempotent intake with its refusals, the queues, actions
//! and who may take them, bulk dispatch by the rules, notices, the 差评 that opens a
//! rectification, escalation, the monthly 三率 report and its configuration.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use shequ_db::Db;
use shequ_db::workorders::{escalation, monthly};
use shequ_testkit::{
    Browser, Reply, app, demo_users, json, now, on_each_backend, send, small_demo, token,
};

const COMMUNITY: &str = "430502001001";

async fn setup(db: &Db) -> Router {
    small_demo(db).await;
    demo_users(db).await;
    app(db).await.1
}

async fn get(app: &Router, uri: &str, tok: &str) -> Reply {
    send(
        app,
        Request::get(uri)
            .header("authorization", format!("Bearer {tok}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

async fn submit(app: &Router, tok: &str, body: Value, key: Option<&str>) -> Reply {
    let mut b = Request::post("/api/v1/workorders")
        .header("authorization", format!("Bearer {tok}"))
        .header("content-type", "application/json");
    if let Some(k) = key {
        b = b.header("idempotency-key", k);
    }
    send(app, b.body(Body::from(body.to_string())).unwrap()).await
}

fn streetlight() -> Value {
    json!({"category": "facilities.streetlight", "description": "小区东门路灯不亮",
        "division": COMMUNITY, "reporter_name": "李先生", "reporter_phone": "13807391234",
        "attributes": {"lamp_state": "off"}})
}

async fn act(app: &Router, tok: &str, id: i64, body: Value) -> Reply {
    json(
        app,
        "POST",
        &format!("/api/v1/workorders/{id}/actions"),
        Some(tok),
        body,
    )
    .await
}

async fn count_orders(app: &Router) -> i64 {
    let city = token(app, "city").await;
    get(app, "/api/v1/workorders", &city).await.json()["total"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn intake_is_idempotent_and_refuses_bad_input_storing_nothing() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let county = token(&app, "county").await;
        let first = submit(&app, &county, streetlight(), Some("k-1")).await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
        let replay = submit(&app, &county, streetlight(), Some("k-1")).await;
        assert_eq!(replay.status, StatusCode::OK);
        assert_eq!(first.json()["id"], replay.json()["id"]);
        assert_eq!(first.json()["suggested_unit"], COMMUNITY);
        let mut bad = Vec::new();
        for (field, value) in [
            ("description", json!("<script>alert(1)</script>")),
            ("description", json!("长".repeat(2001))),
            ("category", json!("no.such")),
            ("attributes", json!({})),
            ("attributes", json!({"lamp_state": "exploded"})),
            ("division", json!("430502999001")),
            ("reporter_phone", json!("12345")),
        ] {
            let mut b = streetlight();
            b[field] = value;
            bad.push(submit(&app, &county, b, None).await);
        }
        let mut far = streetlight();
        far.as_object_mut().unwrap().remove("division");
        far["lon"] = json!(116.4);
        far["lat"] = json!(39.9);
        bad.push(submit(&app, &county, far, None).await);
        let mut nowhere = streetlight();
        nowhere["lat"] = json!(91.0);
        nowhere["lon"] = json!(111.0);
        nowhere.as_object_mut().unwrap().remove("division");
        bad.push(submit(&app, &county, nowhere, None).await);
        for r in &bad {
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        }
        assert!(bad[3].json()["error"]["fields"]["attribute[lamp_state]"].is_string());
        assert_eq!(count_orders(&app).await, 1);
        // Outside the caller's own community: refused.
        let community = token(&app, "community").await;
        let mut elsewhere = streetlight();
        elsewhere["division"] = json!("430502002001");
        let r = submit(&app, &community, elsewhere, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test]
async fn dispatch_sign_reply_close_rate_with_notices_and_a_rectification() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let county = token(&app, "county").await;
        let community = token(&app, "community").await;
        let id = submit(&app, &county, streetlight(), None).await.json()["id"]
            .as_i64()
            .unwrap();
        let queue = get(&app, "/api/v1/workorders?queue=to_dispatch", &county).await;
        assert_eq!(queue.json()["items"][0]["id"], id);
        // The community cannot dispatch, nor close an unsigned order.
        let r = act(
            &app,
            &community,
            id,
            json!({"action": "dispatch", "unit": COMMUNITY}),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = act(
            &app,
            &county,
            id,
            json!({"action": "dispatch", "unit": "D-nowhere"}),
        )
        .await;
        assert!(
            r.json()["error"]["fields"]["unit"].is_string(),
            "{}",
            r.text()
        );
        let r = act(
            &app,
            &county,
            id,
            json!({"action": "dispatch", "unit": COMMUNITY}),
        )
        .await;
        assert_eq!(r.json()["state"], "dispatched", "{}", r.text());
        let r = act(
            &app,
            &community,
            id,
            json!({"action": "close", "text": "已修"}),
        )
        .await;
        let msg = &r.json()["error"]["fields"]["action"];
        assert_eq!(msg, "当前状态“待签收”下不能“办结”");
        let notices = get(&app, "/api/v1/notices", &community).await.json();
        assert_eq!(notices["items"][0]["kind"], "dispatch");
        let mine = get(
            &app,
            "/api/v1/workorders?queue=to_sign&unit=mine",
            &community,
        )
        .await;
        assert_eq!(mine.json()["total"], 1);
        for body in [
            json!({"action": "sign"}),
            json!({"action": "reply", "text": "已安排电工维修"}),
            json!({"action": "close", "text": "路灯已修复"}),
        ] {
            let r = act(&app, &community, id, body).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        }
        let r = act(
            &app,
            &county,
            id,
            json!({"action": "rate", "level": 4, "solved": false}),
        )
        .await;
        assert_eq!(r.json()["state"], "rated");
        let again = act(&app, &county, id, json!({"action": "rate", "level": 1})).await;
        assert!(again.json()["error"]["fields"]["action"].is_string());
        let detail = r.json();
        let actions: Vec<&str> = detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            ["accept", "dispatch", "sign", "reply", "close", "rate"]
        );
        let fixes = get(&app, "/api/v1/rectifications", &community).await;
        assert_eq!(fixes.json()["total"], 1, "{}", fixes.text());
    })
    .await;
}

#[tokio::test]
async fn rules_suggest_the_unit_and_bulk_dispatch_follows_them() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let city = token(&app, "city").await;
        let county = token(&app, "county").await;
        let dept = json!({"code": "D-430500-sw", "name": "市水务局", "division": "430500"});
        let r = json(&app, "POST", "/api/v1/departments", Some(&city), dept).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
        let rule = json!({"division": "430500", "category": "facilities.water",
            "unit_kind": "department", "department": "D-430500-sw"});
        let r = json(&app, "POST", "/api/v1/workorders/rules", Some(&city), rule).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let township_rule =
            json!({"division": "430502", "category": "dispute", "unit_kind": "township"});
        let r = json(
            &app,
            "POST",
            "/api/v1/workorders/rules",
            Some(&county),
            township_rule,
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let mut ids = Vec::new();
        for (cat, unit) in [
            ("facilities.water", "D-430500-sw"),
            ("dispute.neighbour", "430502001"),
            ("environment.garbage", COMMUNITY),
        ] {
            let b = json!({"category": cat, "description": "反映问题", "division": COMMUNITY});
            let r = submit(&app, &county, b, None).await;
            assert_eq!(r.json()["suggested_unit"], unit);
            ids.push(r.json()["id"].as_i64().unwrap());
        }
        let bulk = json!({"ids": ids, "action": "dispatch", "suggested": true});
        let r = json(&app, "POST", "/api/v1/workorders/bulk", Some(&county), bulk).await;
        let out = r.json();
        assert!(
            out.as_array().unwrap().iter().all(|o| o["ok"] == true),
            "{out}"
        );
        let d = get(&app, &format!("/api/v1/workorders/{}", ids[0]), &county)
            .await
            .json();
        assert_eq!(
            (d["unit"].as_str(), d["unit_name"].as_str()),
            (Some("D-430500-sw"), Some("市水务局"))
        );
    })
    .await;
}

#[tokio::test]
async fn escalation_marks_overdue_orders_and_sanlv_reports_the_month() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let county = token(&app, "county").await;
        let community = token(&app, "community").await;
        let mut ids = Vec::new();
        for _ in 0..2 {
            let id = submit(&app, &county, streetlight(), None).await.json()["id"]
                .as_i64()
                .unwrap();
            act(
                &app,
                &county,
                id,
                json!({"action": "dispatch", "unit": COMMUNITY}),
            )
            .await;
            ids.push(id);
        }
        act(&app, &community, ids[0], json!({"action": "sign"})).await;
        // A week later the unsigned order is overdue and escalated once.
        let later = now() + chrono::Duration::days(7);
        let mut c = db.conn();
        let r = escalation::run(&mut c, later, 100).await.unwrap();
        // The unsigned one missed its sign-for limit; the signed one nears its resolve limit.
        assert_eq!((r.overdue, r.due_soon), (1, 1));
        assert_eq!(
            escalation::run(&mut c, later, 100).await.unwrap().overdue,
            0
        );
        let uri = format!("/api/v1/workorders/{}", ids[1]);
        let overdue = get(&app, &uri, &county).await.json();
        assert_eq!(overdue["escalation"], 2);
        assert_eq!(
            overdue["events"].as_array().unwrap().last().unwrap()["action"],
            "supervise"
        );
        let notices = get(&app, "/api/v1/notices?unread=true", &community)
            .await
            .json();
        assert!(
            notices["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["kind"] == "overdue")
        );
        monthly::refresh(&mut c, now().date_naive(), now())
            .await
            .unwrap();
        let rep = get(
            &app,
            "/api/v1/workorders/sanlv?month=2025-06&by=unit",
            &county,
        )
        .await
        .json();
        let line = &rep["items"][0];
        assert_eq!(
            (line["key"].as_str(), line["orders"].as_i64()),
            (Some(COMMUNITY), Some(2))
        );
        assert_eq!(line["response"], 0.5);
        let by_div = get(&app, "/api/v1/workorders/sanlv?month=2025-06", &county)
            .await
            .json();
        assert_eq!(by_div["items"][0]["key"], "430502001");
        assert_eq!(by_div["total"]["dispatched"], 2);
        let mut b = Browser::new(&app);
        b.login("county").await;
        let page = b.get("/workorders/sanlv?month=2025-06&by=unit").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text().contains("三率考核") && page.text().contains("50.0%"));
        let x = b.get("/workorders/sanlv.xlsx?month=2025-06").await;
        assert_eq!(&x.body[..2], b"PK");
        assert_eq!(
            b.get("/workorders/sanlv?month=June").await.status,
            StatusCode::BAD_REQUEST
        );
    })
    .await;
}

#[tokio::test]
async fn only_the_city_sets_sanlv_definitions_and_bad_ones_are_refused() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let city = token(&app, "city").await;
        let county = token(&app, "county").await;
        let cfg = json!({"response_basis": "reply_on_time", "satisfied_up_to": 2, "weights": [0.5, 0.25, 0.25]});
        let uri = "/api/v1/workorders/sanlv/config";
        assert_eq!(json(&app, "PUT", uri, Some(&county), cfg.clone()).await.status, StatusCode::FORBIDDEN);
        let bad = json!({"response_basis": "sign_on_time", "satisfied_up_to": 9, "weights": [0, 0, 0]});
        let r = json(&app, "PUT", uri, Some(&city), bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(json(&app, "PUT", uri, Some(&city), cfg.clone()).await.status, StatusCode::OK);
        assert_eq!(get(&app, uri, &county).await.json(), cfg);
    })
    .await;
}
