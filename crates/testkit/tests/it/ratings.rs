//! 好差评: ratings of service matters and work orders, the 差评 rectification
//! workflow (核实 → 整改 → 回访 → 办结, 申诉 → 复核), scope, refusals that store
//! nothing, the public scorecards and the public rating page.

use axum::Router;
use chrono::Duration;
use serde_json::{Value, json};
use shequ_core::ratings::State;
use shequ_core::{DivisionCode, Phone, Role};
use shequ_db::ratings::{self, Filter, NewRating, Subject};
use shequ_db::scope::{Actor, Scope};
use shequ_db::{Db, PageReq};
use shequ_testkit::{
    Browser, Reply, app, demo_users, json, key, now, on_each_backend, password_hash, send,
    small_demo, token,
};

const HOME: &str = "430502001001";
const OTHER: &str = "430502001002";

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).unwrap()
}

async fn setup(db: &Db) -> Router {
    small_demo(db).await;
    demo_users(db).await;
    app(db).await.1
}

/// A community worker of the neighbouring community, and their token.
async fn neighbour(db: &Db, app: &Router) -> String {
    let u = shequ_db::users::NewUser {
        username: "community2".into(),
        display_name: "邻近社区工作者".into(),
        role: Role::CommunityStaff,
        division: code(OTHER),
        password_hash: password_hash(),
    };
    shequ_db::users::create(&mut db.conn(), &Actor::system(), &u, now())
        .await
        .unwrap();
    token(app, "community2").await
}

async fn get_auth(app: &Router, uri: &str, token: Option<&str>) -> Reply {
    let mut b = axum::http::Request::get(uri);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    send(app, b.body(axum::body::Body::empty()).unwrap()).await
}

fn service(division: &str, level: i64) -> Value {
    json!({"division": division, "service_matter": "居住证办理", "level": level,
        "comment": "等了很久才办好"})
}

fn real_name(division: &str, level: i64) -> Value {
    json!({"division": division, "service_matter": "高龄津贴申领", "level": level,
        "real_name": true, "rater_name": "王小明", "rater_phone": "13807391234",
        "comment": "材料跑了三趟"})
}

/// Rate through the public API (no token); returns the rating id.
async fn rate(app: &Router, body: Value) -> i64 {
    let r = json(app, "POST", "/api/v1/ratings", None, body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_i64().unwrap()
}

/// The queue as `token` sees it.
async fn queue(app: &Router, token: &str, query: &str) -> Value {
    let r = get_auth(app, &format!("/api/v1/rectifications?{query}"), Some(token)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// The rectification of a rating, found in the queue of `token`.
async fn rectification_of(app: &Router, token: &str, rating: i64) -> i64 {
    let q = queue(app, token, "state=all&per_page=500").await;
    q["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["rating_id"] == rating)
        .unwrap_or_else(|| panic!("rating {rating} not in the queue: {q}"))["id"]
        .as_i64()
        .unwrap()
}

async fn act(app: &Router, token: &str, id: i64, body: Value) -> Reply {
    json(
        app,
        "POST",
        &format!("/api/v1/rectifications/{id}/actions"),
        Some(token),
        body,
    )
    .await
}

async fn step(app: &Router, token: &str, id: i64, action: &str, note: &str) -> Value {
    let r = act(app, token, id, json!({"action": action, "note": note})).await;
    assert_eq!(r.status, 200, "{action}: {}", r.text());
    r.json()
}

async fn scorecard(app: &Router, division: &str) -> Value {
    let r = get_auth(app, &format!("/api/v1/scorecards/{division}"), None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[tokio::test]
async fn a_bad_service_rating_reaches_its_own_community_only() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let community = token(&app, "community").await;
        let other = neighbour(&db, &app).await;
        assert_eq!(queue(&app, &community, "").await["total"], 0);

        let good = rate(&app, service(HOME, 2)).await;
        let bad = rate(&app, service(HOME, 5)).await;
        assert!(good > 0 && bad > good);
        let q = queue(&app, &community, "").await;
        assert_eq!(q["total"], 1, "only the 差评 is queued: {q}");
        let item = &q["items"][0];
        assert_eq!(item["rating_id"], bad);
        assert_eq!(item["state"], "verify");
        assert_eq!(item["state_label"], "待核实");
        assert_eq!(item["service_matter"], "居住证办理");
        assert_eq!(item["level_label"], "非常不满意");
        assert_eq!(item["unit"], HOME);
        assert_eq!(item["overdue"], false);
        // Five working days from Monday 30 June: the end of Monday 7 July (Shanghai).
        assert_eq!(item["deadline"], "2025-07-07T15:59:59Z");

        // The neighbouring community sees nothing of it, and gets 404 for it.
        assert_eq!(queue(&app, &other, "").await["total"], 0);
        let id = item["id"].as_i64().unwrap();
        let r = get_auth(&app, &format!("/api/v1/rectifications/{id}"), Some(&other)).await;
        assert_eq!(r.status, 404, "{}", r.text());
        let r = act(
            &app,
            &other,
            id,
            json!({"action": "verify", "note": "看看"}),
        )
        .await;
        assert_eq!(r.status, 404, "{}", r.text());
        // The township and the county above see it.
        let township = token(&app, "township").await;
        assert_eq!(queue(&app, &township, "").await["total"], 1);
        let county = token(&app, "county").await;
        assert_eq!(
            queue(&app, &county, &format!("division={OTHER}")).await["total"],
            0
        );
        assert_eq!(
            queue(&app, &county, &format!("division={HOME}")).await["total"],
            1
        );
        // Residents and volunteers have no queue; no token is 401.
        let resident = token(&app, "resident").await;
        let r = get_auth(&app, "/api/v1/rectifications", Some(&resident)).await;
        assert_eq!(r.status, 403);
        assert_eq!(
            get_auth(&app, "/api/v1/rectifications", None).await.status,
            401
        );
        let r = get_auth(&app, "/api/v1/rectifications?state=nope", Some(&community)).await;
        assert_eq!(r.error_code(), "bad_state");

        // The city's 好差评 coverage counts the rated community (and only it).
        shequ_db::indicators::recompute_all(&db, now() + Duration::minutes(1))
            .await
            .unwrap();
        let coverage = |code: &str| {
            let db = db.clone();
            let code = code.to_owned();
            async move {
                shequ_db::indicators::values_for(&mut db.conn(), std::slice::from_ref(&code))
                    .await
                    .unwrap()
                    .get(&("rating_coverage".to_owned(), code))
                    .copied()
                    .unwrap()
            }
        };
        assert_eq!(coverage("430500").await.0, 1);
        assert_eq!(coverage("430502001").await.0, 1);
        assert_eq!(coverage(OTHER).await.0, 0);
    })
    .await;
}

#[tokio::test]
async fn a_real_name_bad_rating_goes_verify_rectify_callback_closed() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let community = token(&app, "community").await;
        let rating = rate(&app, real_name(HOME, 4)).await;
        let id = rectification_of(&app, &community, rating).await;
        let r = get_auth(
            &app,
            &format!("/api/v1/rectifications/{id}"),
            Some(&community),
        )
        .await;
        let d = r.json();
        assert_eq!(d["rater_name"], "王小明");
        assert_eq!(d["rater_phone_masked"], "138****1234");
        assert!(!r.text().contains("13807391234"));
        assert_eq!(d["allowed_actions"], json!(["verify", "appeal"]));

        // Out of order: refused with the rules' own codes, nothing changed.
        let r = act(
            &app,
            &community,
            id,
            json!({"action": "callback", "note": "x"}),
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.error_code()),
            (409, "illegal_transition".into())
        );
        let r = act(
            &app,
            &community,
            id,
            json!({"action": "verify", "note": "  "}),
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.error_code()),
            (422, "missing_field".into())
        );
        let r = act(
            &app,
            &community,
            id,
            json!({"action": "verify", "note": "属实", "days": 20}),
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.error_code()),
            (422, "bad_days".into())
        );
        let r = act(
            &app,
            &community,
            id,
            json!({"action": "close", "note": "x"}),
        )
        .await;
        assert_eq!(r.error_code(), "unknown_action");

        let r = act(
            &app,
            &community,
            id,
            json!({"action": "verify", "note": "情况属实，窗口材料清单未更新", "days": 3}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let d = r.json();
        assert_eq!(d["state"], "rectify");
        // Three working days from Monday 30 June: Thursday 3 July.
        assert_eq!(d["deadline"], "2025-07-03T15:59:59Z");
        let d = step(&app, &community, id, "rectified", "已更新材料清单并张贴").await;
        assert_eq!(d["state"], "callback", "real-name: a call-back is due");
        assert_eq!(d["allowed_actions"], json!(["callback"]));
        let d = step(&app, &community, id, "callback", "电话回访，居民表示认可").await;
        assert_eq!(d["state"], "closed");
        assert!(d["closed_at"].is_string() && d["called_back_at"].is_string());
        assert_eq!(d["callback_note"], "电话回访，居民表示认可");
        let actions: Vec<&str> = d["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["open", "verify", "rectified", "callback"]);
        let r = act(
            &app,
            &community,
            id,
            json!({"action": "appeal", "note": "x"}),
        )
        .await;
        assert_eq!(r.error_code(), "illegal_transition", "closed stays closed");

        let s = scorecard(&app, HOME).await;
        assert_eq!(
            (
                &s["bad"],
                &s["rectified"],
                &s["real_name_bad"],
                &s["called_back"],
                &s["open"]
            ),
            (&json!(1), &json!(1), &json!(1), &json!(1), &json!(0))
        );
        // Each step is in the audit log.
        let n = shequ_db::audit::search(
            &mut db.conn(),
            &shequ_db::audit::Filter::default(),
            PageReq::new(Some(1), Some(500)),
        )
        .await
        .unwrap()
        .items
        .iter()
        .filter(|e| e.action == "rating_rectify")
        .count();
        assert_eq!(n, 3);
    })
    .await;
}

#[tokio::test]
async fn an_anonymous_bad_rating_closes_without_a_call_back() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let community = token(&app, "community").await;
        let rating = rate(&app, service(HOME, 4)).await;
        let id = rectification_of(&app, &community, rating).await;
        step(&app, &community, id, "verify", "属实").await;
        let d = step(&app, &community, id, "rectified", "已当面致歉并改进").await;
        assert_eq!(d["state"], "closed");
        assert_eq!(d["real_name"], false);
        assert!(d["called_back_at"].is_null());
        let r = act(
            &app,
            &community,
            id,
            json!({"action": "callback", "note": "x"}),
        )
        .await;
        assert_eq!(r.error_code(), "illegal_transition");
        let s = scorecard(&app, HOME).await;
        assert_eq!(
            (&s["rectified"], &s["real_name_bad"]),
            (&json!(1), &json!(0))
        );
    })
    .await;
}

#[tokio::test]
async fn an_overturned_appeal_leaves_the_satisfaction_figures() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let community = token(&app, "community").await;
        let township = token(&app, "township").await;
        let county = token(&app, "county").await;
        rate(&app, service(HOME, 1)).await;
        rate(&app, service(HOME, 3)).await;
        let bad = rate(&app, service(HOME, 5)).await;
        let s = scorecard(&app, HOME).await;
        assert_eq!(
            (&s["total"], &s["satisfied"], &s["bad"]),
            (&json!(3), &json!(2), &json!(1))
        );
        let rate_before = s["satisfaction_rate"].as_f64().unwrap();
        assert!((rate_before - 2.0 / 3.0).abs() < 1e-9);

        let id = rectification_of(&app, &community, bad).await;
        let r = act(
            &app,
            &community,
            id,
            json!({"action": "appeal", "note": ""}),
        )
        .await;
        assert_eq!(r.error_code(), "missing_field");
        let d = step(
            &app,
            &community,
            id,
            "appeal",
            "评价人当天未到大厅办事，系误评",
        )
        .await;
        assert_eq!(d["state"], "review");
        assert_eq!(d["appeal_reason"], "评价人当天未到大厅办事，系误评");
        // The community may not review; the township may.
        let r = act(
            &app,
            &community,
            id,
            json!({"action": "overturn", "note": "x"}),
        )
        .await;
        assert_eq!(r.status, 403, "{}", r.text());
        let d = step(
            &app,
            &township,
            id,
            "overturn",
            "经调取监控，评价人当日未办事",
        )
        .await;
        assert_eq!(
            (&d["state"], &d["excluded"]),
            (&json!("closed"), &json!(true))
        );

        let s = scorecard(&app, HOME).await;
        assert_eq!(
            (&s["total"], &s["satisfied"], &s["bad"], &s["excluded"]),
            (&json!(2), &json!(2), &json!(0), &json!(1))
        );
        assert_eq!(s["satisfaction_rate"], 1.0);
        assert_eq!(s["levels"][4]["count"], 0, "the 5 is no longer counted");
        let villages = ratings::rated_villages(
            &mut db.conn(),
            now() - Duration::days(1),
            now() + Duration::days(1),
        )
        .await
        .unwrap();
        assert_eq!(villages, vec![(HOME.to_owned(), 2)]);

        // One appeal only; after an upheld review the unit must rectify.
        let bad2 = rate(&app, service(HOME, 4)).await;
        let id2 = rectification_of(&app, &community, bad2).await;
        step(&app, &community, id2, "verify", "属实").await;
        step(&app, &community, id2, "appeal", "评价与事实不符").await;
        let r = act(
            &app,
            &community,
            id2,
            json!({"action": "uphold", "note": "x"}),
        )
        .await;
        assert_eq!(r.status, 403);
        let d = step(&app, &county, id2, "uphold", "差评属实，继续整改").await;
        assert_eq!(d["state"], "rectify");
        let r = act(
            &app,
            &community,
            id2,
            json!({"action": "appeal", "note": "再次申诉"}),
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.error_code()),
            (409, "already_appealed".into())
        );
        assert_eq!(scorecard(&app, HOME).await["bad"], 1);

        // Whoever appealed may not review their own appeal.
        let bad3 = rate(&app, service(HOME, 5)).await;
        let id3 = rectification_of(&app, &township, bad3).await;
        step(&app, &township, id3, "appeal", "恶意差评").await;
        let r = act(
            &app,
            &township,
            id3,
            json!({"action": "overturn", "note": "同意"}),
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.error_code()),
            (409, "self_review".into())
        );
        step(&app, &county, id3, "overturn", "经核实为恶意差评").await;
    })
    .await;
}

/// A work order, inserted as the work-order module stores one.
async fn work_order(db: &Db, tracking: &str) -> i64 {
    let insert = format!(
        "INSERT INTO work_orders (tracking_code, category_code, description, division_code, \
         channel, state, created_at, updated_at) VALUES ('{tracking}', 'other', '测试工单', \
         '430502001001001', 'portal', 'closed', '2025-06-30T02:00:00+00:00', \
         '2025-06-30T02:00:00+00:00')"
    );
    let select = format!("SELECT id FROM work_orders WHERE tracking_code = '{tracking}'");
    let (id,): (i64,) = match db {
        Db::Sqlite(p) => {
            sqlx::query(sqlx::AssertSqlSafe(insert))
                .execute(p)
                .await
                .unwrap();
            sqlx::query_as(sqlx::AssertSqlSafe(select))
                .fetch_one(p)
                .await
                .unwrap()
        }
        Db::Postgres(p) => {
            sqlx::query(sqlx::AssertSqlSafe(insert))
                .execute(p)
                .await
                .unwrap();
            sqlx::query_as(sqlx::AssertSqlSafe(select))
                .fetch_one(p)
                .await
                .unwrap()
        }
    };
    id
}

fn order_rating(order: i64, level: u8) -> NewRating {
    NewRating {
        subject: Subject::WorkOrder(order),
        division: code("430502001001001"),
        unit: "430502001001".into(),
        level,
        real_name: true,
        rater_name: "李女士".into(),
        rater_phone: Some(Phone::parse("13907390001").unwrap()),
        comment: String::new(),
        channel: "portal".into(),
        idempotency_key: None,
    }
}

fn staff(root: &str, role: Role) -> Scope {
    Scope::new(
        code(root),
        role,
        Actor {
            user_id: Some(99),
            name: "staff".into(),
            role: role.as_str().into(),
        },
    )
}

#[tokio::test]
async fn a_work_order_is_rated_once_inside_the_callers_transaction() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let order = work_order(&db, "RATEONCE01").await;
        let mut tx = db.begin().await.unwrap();
        let id = ratings::record(
            &mut tx.conn(),
            &key(),
            &order_rating(order, 5),
            &Actor::anonymous(),
            now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let mut c = db.conn();
        let again = ratings::record(
            &mut c,
            &key(),
            &order_rating(order, 1),
            &Actor::anonymous(),
            now(),
        )
        .await
        .unwrap_err();
        assert!(ratings::is_already_rated(&again), "{again:?}");
        // A rolled-back rating leaves nothing behind.
        let other = work_order(&db, "RATEONCE02").await;
        let mut tx = db.begin().await.unwrap();
        ratings::record(
            &mut tx.conn(),
            &key(),
            &order_rating(other, 4),
            &Actor::anonymous(),
            now(),
        )
        .await
        .unwrap();
        drop(tx);
        let missing = ratings::record(
            &mut c,
            &key(),
            &order_rating(99_999, 4),
            &Actor::anonymous(),
            now(),
        )
        .await
        .unwrap_err();
        assert!(format!("{missing:?}").contains("unknown_work_order"));

        let s = staff(HOME, Role::CommunityStaff);
        let page = ratings::rectifications(
            &mut c,
            &s,
            &Filter::default(),
            PageReq::new(None, None),
            now(),
        )
        .await
        .unwrap();
        assert_eq!(page.total, 1, "only the committed 差评");
        let row = &page.items[0];
        assert_eq!(row.rating_id, id);
        assert_eq!(row.tracking_code.as_deref(), Some("RATEONCE01"));
        assert_eq!(row.subject(), "工单 RATEONCE01");
        assert_eq!(row.rater_phone_masked.as_deref(), Some("139****0001"));

        // Overdue once the deadline has passed (and only while it runs).
        let later = now() + Duration::days(30);
        let f = Filter {
            overdue: true,
            ..Default::default()
        };
        assert_eq!(
            ratings::rectifications(&mut c, &s, &f, PageReq::new(None, None), now())
                .await
                .unwrap()
                .total,
            0
        );
        let late = ratings::rectifications(&mut c, &s, &f, PageReq::new(None, None), later)
            .await
            .unwrap();
        assert_eq!(late.total, 1);
        assert!(late.items[0].overdue);
        // The phone is revealed only when a call-back is due, and then audited.
        let err = ratings::reveal_phone(&mut c, &key(), &s, row.id, now())
            .await
            .unwrap_err();
        assert!(format!("{err:?}").contains("not_callback"));
        for a in [
            shequ_core::ratings::Action::Verify {
                note: "属实".into(),
                days: None,
            },
            shequ_core::ratings::Action::Rectified {
                note: "已修复".into(),
            },
        ] {
            ratings::rectify_action(&mut c, &s, row.id, &a, now())
                .await
                .unwrap();
        }
        assert_eq!(
            ratings::get(&mut c, &s, row.id, now())
                .await
                .unwrap()
                .unwrap()
                .state(),
            Some(State::Callback)
        );
        assert_eq!(
            ratings::reveal_phone(&mut c, &key(), &s, row.id, now())
                .await
                .unwrap(),
            "13907390001"
        );
        // Another community's scope cannot reach it.
        let away = staff(OTHER, Role::CommunityStaff);
        assert!(
            ratings::get(&mut c, &away, row.id, now())
                .await
                .unwrap()
                .is_none()
        );
        let err = ratings::rectify_action(
            &mut c,
            &away,
            row.id,
            &shequ_core::ratings::Action::Callback { note: "x".into() },
            now(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, shequ_db::DbError::NotFound));
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_stored() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut cases = vec![
            service(HOME, 0),
            service(HOME, 6),
            service(HOME, -1),
            json!({"division": HOME, "service_matter": "居住证办理", "level": 5,
                "comment": "<script>alert(1)</script>"}),
            json!({"division": HOME, "service_matter": "<b>办证</b>", "level": 5}),
            json!({"division": HOME, "service_matter": "  ", "level": 5}),
            json!({"division": HOME, "service_matter": "居住证办理", "level": 5,
                "comment": "长".repeat(501)}),
            json!({"division": HOME, "service_matter": "居住证办理", "level": 5,
                "real_name": true, "rater_name": "王小明"}),
            json!({"division": HOME, "service_matter": "居住证办理", "level": 5,
                "rater_phone": "13807391234"}),
            json!({"division": HOME, "service_matter": "居住证办理", "level": 5,
                "real_name": true, "rater_name": "王小明", "rater_phone": "123"}),
            json!({"division": "430502001", "service_matter": "居住证办理", "level": 5}),
            json!({"division": HOME, "service_matter": "居住证办理", "level": 5, "channel": "fax"}),
        ];
        cases.push(json!({"division": "430502001999", "service_matter": "居住证办理", "level": 5}));
        for body in cases {
            let r = json(&app, "POST", "/api/v1/ratings", None, body.clone()).await;
            assert_eq!(r.status, 422, "{body}: {}", r.text());
            assert_eq!(r.error_code(), "validation_failed", "{body}");
        }
        let r = json(
            &app,
            "POST",
            "/api/v1/ratings",
            None,
            json!({"division": HOME, "service_matter": "x", "level": 5, "stars": 1}),
        )
        .await;
        assert_eq!(r.status, 400, "unknown fields are refused");
        let s = scorecard(&app, "430502").await;
        assert_eq!(
            (&s["total"], &s["excluded"], &s["open"]),
            (&json!(0), &json!(0), &json!(0))
        );
        let community = token(&app, "community").await;
        assert_eq!(queue(&app, &community, "state=all").await["total"], 0);

        // A bad token is refused rather than treated as anonymous.
        let r = json(
            &app,
            "POST",
            "/api/v1/ratings",
            Some("nope"),
            service(HOME, 2),
        )
        .await;
        assert_eq!(r.status, 401);
        // A replay with the same key stores one rating.
        let mut b = service(HOME, 4);
        b["idempotency_key"] = json!("app-123");
        let first = json(&app, "POST", "/api/v1/ratings", None, b.clone()).await;
        assert_eq!(first.status, 201);
        assert_eq!(first.json()["bad"], true);
        let again = json(&app, "POST", "/api/v1/ratings", None, b).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.json()["id"], first.json()["id"]);
        assert_eq!(again.json()["created"], false);
        assert_eq!(scorecard(&app, HOME).await["total"], 1);
        // Signed-in staff may rate too; the rating is theirs in the history.
        let r = json(
            &app,
            "POST",
            "/api/v1/ratings",
            Some(&community),
            service(HOME, 2),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
    })
    .await;
}

#[tokio::test]
async fn public_scorecards_show_figures_and_no_personal_data() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let community = token(&app, "community").await;
        rate(&app, real_name(HOME, 5)).await;
        rate(&app, service(HOME, 1)).await;
        rate(&app, service(HOME, 2)).await;
        rate(&app, service(OTHER, 1)).await;
        let bad = rate(&app, real_name(OTHER, 4)).await;
        let _ = bad;
        let r = get_auth(&app, &format!("/api/v1/scorecards/{HOME}"), None).await;
        assert_eq!(r.status, 200);
        let text = r.text();
        for secret in [
            "王小明",
            "13807391234",
            "1234",
            "材料跑了三趟",
            "居住证办理",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let s = r.json();
        assert_eq!(
            (&s["total"], &s["bad"], &s["open"]),
            (&json!(3), &json!(1), &json!(1))
        );
        assert_eq!(s["children"], json!([]));
        assert_eq!(s["from"], "2025-01-01");
        assert_eq!(s["to"], "2025-06-30");

        // The township aggregates its communities and lists every one of them,
        // the best satisfaction first, those without ratings last.
        let t = scorecard(&app, "430502001").await;
        assert_eq!((&t["total"], &t["bad"]), (&json!(5), &json!(2)));
        let kids = t["children"].as_array().unwrap();
        assert!(kids.len() > 2);
        assert_eq!(kids[0]["code"], HOME);
        assert_eq!(kids[1]["code"], OTHER);
        assert!(kids[2]["satisfaction_rate"].is_null());
        let county = scorecard(&app, "430502").await;
        assert_eq!(county["total"], 5);
        assert_eq!(county["children"][0]["code"], "430502001");
        let city = scorecard(&app, "430500").await;
        assert_eq!(city["total"], 5);

        // A window without ratings, and bad windows.
        let r = get_auth(
            &app,
            &format!("/api/v1/scorecards/{HOME}?from=2024-01-01&to=2024-12-31"),
            None,
        )
        .await;
        assert_eq!(r.json()["total"], 0);
        let r = get_auth(
            &app,
            &format!("/api/v1/scorecards/{HOME}?from=2025-07-01&to=2025-06-01"),
            None,
        )
        .await;
        assert_eq!(r.error_code(), "bad_window");
        assert_eq!(
            get_auth(&app, "/api/v1/scorecards/430502001999", None)
                .await
                .status,
            404
        );
        assert_eq!(
            get_auth(&app, "/api/v1/scorecards/12ab", None).await.status,
            400
        );

        // The public page: no sign-in, no personal data, links down and to rating.
        let page = get_auth(&app, "/scorecards/430502001", None).await;
        assert_eq!(page.status, 200);
        let html = page.text();
        assert!(
            html.contains("好差评公示") && html.contains(&format!("/scorecards/{HOME}?")),
            "{html}"
        );
        assert!(!html.contains("王小明") && !html.contains("138"));
        let page = get_auth(&app, &format!("/scorecards/{HOME}"), None)
            .await
            .text();
        assert!(
            page.contains(&format!("href=\"/pj/{HOME}\"")) && page.contains("66.7%"),
            "{page}"
        );
        let _ = community;
    })
    .await;
}

fn nonce_of(html: &str) -> String {
    let at = html.find("name=\"nonce\" value=\"").unwrap() + "name=\"nonce\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_public_rating_page_feeds_the_rectification_pages() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut resident = Browser::new(&app);
        let page = resident.get(&format!("/pj/{HOME}")).await;
        assert_eq!(page.status, 200, "{}", page.text());
        let html = page.text();
        assert!(
            html.contains("非常不满意")
                && html.contains("居住证办理")
                && !html.contains("/rectifications"),
            "{html}"
        );
        let nonce = nonce_of(&html);
        let fields = [
            ("matter", "居住证办理"),
            ("matter_other", ""),
            ("comment", "窗口人员态度冷淡"),
            ("rater_name", ""),
            ("rater_phone", ""),
            ("nonce", nonce.as_str()),
            ("level", "5"),
        ];
        let r = resident.post(&format!("/pj/{HOME}"), &fields).await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(r.headers["location"], format!("/pj/{HOME}?done=bad"));
        // Refreshing (posting the same form again) counts once.
        let r = resident.post(&format!("/pj/{HOME}"), &fields).await;
        assert_eq!(r.status, 303);
        let done = resident.get(&format!("/pj/{HOME}?done=bad")).await.text();
        assert!(done.contains("id=\"thanks\"") && nonce_of(&done) != nonce);
        // No level pressed, or a real name without phone: shown again with the message.
        let fresh = nonce_of(&done);
        let r = resident
            .post(
                &format!("/pj/{HOME}"),
                &[
                    ("matter", "开具证明"),
                    ("nonce", fresh.as_str()),
                    ("level", ""),
                ],
            )
            .await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("请点击下方按钮选择您的满意程度"));
        let r = resident
            .post(
                &format!("/pj/{HOME}"),
                &[
                    ("matter", "开具证明"),
                    ("rater_name", "赵六"),
                    ("nonce", fresh.as_str()),
                    ("level", "4"),
                ],
            )
            .await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("手机号码"), "{}", r.text());
        let r = resident
            .post(
                &format!("/pj/{HOME}"),
                &[("matter", "开具证明"), ("nonce", "x"), ("level", "4")],
            )
            .await;
        assert_eq!(r.status, 422);
        // A township code lists its communities instead of the form.
        let up = resident.get("/pj/430502001").await.text();
        assert!(up.contains(&format!("href=\"/pj/{HOME}\"")) && !up.contains("rate-form"));
        assert_eq!(resident.get("/pj/430502001999").await.status, 404);
        // The staff pages are not public.
        let r = resident.get("/rectifications").await;
        assert_eq!(r.status, 303);

        let mut staff = Browser::new(&app);
        staff.login("community").await;
        let list = staff.get("/rectifications").await;
        assert_eq!(list.status, 200);
        let text = list.text();
        assert!(
            text.contains("href=\"/rectifications\" aria-current=\"page\">差评整改"),
            "{text}"
        );
        assert!(
            text.contains("居住证办理")
                && text.contains("窗口人员态度冷淡")
                && text.contains("待核实")
        );
        assert_eq!(text.matches("class=\"rect-item").count(), 1, "{text}");
        let at = text.find("href=\"/rectifications/").unwrap() + "href=\"/rectifications/".len();
        let id: i64 = text[at..].split('"').next().unwrap().parse().unwrap();
        let detail = staff.get(&format!("/rectifications/{id}")).await.text();
        assert!(detail.contains("id=\"form-verify\"") && detail.contains("id=\"form-appeal\""));
        assert!(!detail.contains("id=\"form-overturn\""));
        let r = staff
            .post(
                &format!("/rectifications/{id}/actions"),
                &[("action", "rectified"), ("note", "x")],
            )
            .await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("不能"), "{}", r.text());
        let r = staff
            .post(
                &format!("/rectifications/{id}/actions"),
                &[
                    ("action", "verify"),
                    ("note", "属实，已约谈窗口人员"),
                    ("days", ""),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let detail = staff.get(&format!("/rectifications/{id}")).await.text();
        assert!(
            detail.contains("整改中") && detail.contains("属实，已约谈窗口人员"),
            "{detail}"
        );
        let r = staff
            .post(
                &format!("/rectifications/{id}/actions"),
                &[("action", "rectified"), ("note", "已整改")],
            )
            .await;
        assert_eq!(r.status, 303);
        let closed = staff.get("/rectifications?state=closed").await.text();
        assert!(closed.contains("已办结") && closed.contains("居住证办理"));
        // A neighbouring community's worker gets the 404 page.
        neighbour(&db, &app).await;
        let mut away = Browser::new(&app);
        away.login("community2").await;
        assert_eq!(away.get(&format!("/rectifications/{id}")).await.status, 404);
        assert!(
            !away
                .get("/rectifications?state=all")
                .await
                .text()
                .contains("居住证办理")
        );
    })
    .await;
}
