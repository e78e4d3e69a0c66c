//! 康复辅具社区租赁: a point at a community facility → inventory → lend → who has
//! what → return → back in stock; overdue lists and extensions; each refusal
//! storing nothing; scope; the pages; and the `rehab_rental_pilots` indicator,
//! which counts a community after its first loan and not before.

use axum::Router;
use chrono::NaiveDate;
use serde_json::{Value, json};
use shequ_core::facility::{FunctionCode, Interval};
use shequ_core::{DivisionCode, IdCardNo, Relation, Role, Tag};
use shequ_db::Db;
use shequ_db::facilities::{self, FacilityInput, FunctionInput, Status};
use shequ_db::people::{self, PersonInput};
use shequ_db::scope::{Actor, Scope};
use shequ_testkit::{
    Browser, Reply, app, demo_users, json, key, now, on_each_backend, send, small_demo, token,
};

const V1: &str = "430502001001";
const V2: &str = "430502001002";

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).unwrap()
}

fn city() -> Scope {
    Scope::new(code("430500"), Role::CityStaff, Actor::system())
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn facility(db: &Db, division: &str) -> i64 {
    let f = FacilityInput {
        division: code(division),
        name: "社区综合服务中心".into(),
        address: "测试路 1 号".into(),
        location: None,
        floor_area_x100: 50_000,
        status: Status::InUse,
        year_built: Some(2015),
        online_24h: false,
        spaces: vec![],
        functions: vec![FunctionInput {
            code: FunctionCode::parse("rehab_rental").unwrap(),
            land_area_x100: 0,
        }],
        hours: (1..=5)
            .map(|w| Interval {
                weekday: w,
                opens: 510,
                closes: 1050,
            })
            .collect(),
        exceptions: vec![],
    };
    let mut tx = db.begin().await.unwrap();
    let id = facilities::create(&mut tx.conn(), &city(), &f, now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn resident(db: &Db, division: &str, n: u16, tags: Vec<Tag>) -> i64 {
    let p = PersonInput {
        division: code(division),
        household_id: None,
        relation: Relation::Head,
        name: format!("刘桂英{n}"),
        id_number: IdCardNo::from_parts("430502", d("1945-03-08"), n).unwrap(),
        phone: None,
        address: String::new(),
        tags,
    };
    people::create(&mut db.conn(), &city(), &key(), &p, now())
        .await
        .unwrap()
}

async fn setup(db: &Db) -> Router {
    small_demo(db).await;
    demo_users(db).await;
    app(db).await.1
}

async fn get_auth(app: &Router, uri: &str, token: &str) -> Reply {
    send(
        app,
        axum::http::Request::get(uri)
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
}

/// A point at a new facility in `division` with the given items; returns (point, item ids).
async fn point_with_items(
    app: &Router,
    db: &Db,
    t: &str,
    division: &str,
    items: &[(&str, &str)],
) -> (i64, Vec<i64>) {
    let fid = facility(db, division).await;
    let r = json(
        app,
        "POST",
        "/api/v1/rental/points",
        Some(t),
        json!({"facility_id": fid, "name": "康复辅具租赁点", "contact_name": "王主任",
               "contact_phone": "0739-5321234", "opening_note": "工作日 8:30–17:30"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let pid = r.json()["point"]["id"].as_i64().unwrap();
    let mut ids = vec![];
    for (kind, tag) in items {
        let r = json(
            app,
            "POST",
            &format!("/api/v1/rental/points/{pid}/items"),
            Some(t),
            json!({"kind": kind, "asset_tag": tag}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        ids.push(r.json()["id"].as_i64().unwrap());
    }
    (pid, ids)
}

async fn lend(app: &Router, t: &str, body: Value) -> Reply {
    json(app, "POST", "/api/v1/rental/loans", Some(t), body).await
}

async fn audit_count(db: &Db, prefix: &str) -> usize {
    shequ_db::audit::search(
        &mut db.conn(),
        &shequ_db::audit::Filter::default(),
        shequ_db::PageReq::all(),
    )
    .await
    .unwrap()
    .items
    .into_iter()
    .filter(|e| e.action.starts_with(prefix))
    .count()
}

async fn loan_count(db: &Db) -> i64 {
    shequ_db::rental::loans(
        &mut db.conn(),
        &city(),
        &Default::default(),
        shequ_db::PageReq::all(),
    )
    .await
    .unwrap()
    .total
}

#[tokio::test]
async fn lending_story() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let t = token(&app, "community").await;
        let (pid, items) = point_with_items(
            &app,
            &db,
            &t,
            V1,
            &[("wheelchair", "LY-001"), ("护理床", "HLC-001")],
        )
        .await;
        let (chair, bed) = (items[0], items[1]);

        // A named borrower (phone sealed, shown masked) takes the wheelchair.
        let r = lend(
            &app,
            &t,
            json!({"item_id": chair, "borrower_name": "张建国", "borrower_phone": "13907391234",
                   "start_date": "2025-06-20", "due_date": "2025-07-20"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let named = r.json();
        assert_eq!(named["borrower_phone_masked"], "139****1234");
        assert!(!r.text().contains("13907391234"));
        assert_eq!(named["deposit_fen"], 30_000);
        assert_eq!(named["fee_rule"], "standard");
        let named_id = named["id"].as_i64().unwrap();

        // A resident in 低保 takes the bed: no rent.
        let pid_person = resident(&db, V1, 11, vec![Tag::Dibao]).await;
        let r = lend(
            &app,
            &t,
            json!({"item_id": bed, "person_id": pid_person, "due_date": "2025-09-30"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["fee_rule"], "waived");
        assert_eq!(r.json()["start_date"], "2025-06-30");

        // Who has what: per point, per resident, per phone.
        let r = get_auth(&app, &format!("/api/v1/rental/points/{pid}"), &t).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["point"]["counts"]["on_loan"], 2);
        assert_eq!(v["point"]["counts"]["in_stock"], 0);
        assert_eq!(v["open_loans"].as_array().unwrap().len(), 2);
        let r = get_auth(
            &app,
            &format!("/api/v1/rental/loans?person_id={pid_person}&status=open"),
            &t,
        )
        .await;
        assert_eq!(r.json()["total"], 1);
        assert_eq!(r.json()["items"][0]["kind_label"], "护理床");
        let r = get_auth(&app, "/api/v1/rental/loans?phone=13907391234", &t).await;
        assert_eq!(r.json()["total"], 1);
        assert_eq!(r.json()["items"][0]["asset_tag"], "LY-001");

        // Return: ten days of rent out of the deposit, the rest refunded, back in stock.
        let r = json(
            &app,
            "POST",
            &format!("/api/v1/rental/loans/{named_id}/return"),
            Some(&t),
            json!({"returned_on": "2025-06-30", "condition": "good"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["returned"], true);
        assert_eq!(v["fee_fen"], 2_000);
        assert_eq!(v["deposit_refund_fen"], 28_000);
        assert_eq!(v["amount_due_fen"], 0);
        let r = get_auth(&app, &format!("/api/v1/rental/points/{pid}"), &t).await;
        let v = r.json();
        assert_eq!(v["point"]["counts"]["in_stock"], 1);
        let chair_row = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == chair)
            .unwrap()
            .clone();
        assert_eq!(chair_row["state"], "in_stock");

        // And it can be lent again.
        let r = lend(
            &app,
            &t,
            json!({"item_id": chair, "borrower_name": "李秀兰", "borrower_phone": "13807395678",
                   "due_date": "2025-07-15"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());

        // Every write is in the audit chain.
        assert_eq!(audit_count(&db, "rental_point").await, 1);
        assert_eq!(audit_count(&db, "rental_item").await, 2);
        assert_eq!(audit_count(&db, "rental_lend").await, 3);
        assert_eq!(audit_count(&db, "rental_return").await, 1);
        shequ_db::audit::require_intact(&mut db.conn())
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn overdue_listing_and_extension() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let t = token(&app, "community").await;
        let (pid, items) =
            point_with_items(&app, &db, &t, V1, &[("walker", "ZXQ-1"), ("拐杖", "GZ-1")]).await;
        let r = lend(
            &app,
            &t,
            json!({"item_id": items[0], "borrower_name": "陈德明", "borrower_phone": "13607391111",
                   "start_date": "2025-06-01", "due_date": "2025-06-10"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let late = r.json()["id"].as_i64().unwrap();
        let r = lend(
            &app,
            &t,
            json!({"item_id": items[1], "borrower_name": "陈德明", "borrower_phone": "13607391111",
                   "start_date": "2025-06-25", "due_date": "2025-07-25"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());

        let r = get_auth(&app, "/api/v1/rental/overdue", &t).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["total"], 1);
        assert_eq!(v["items"][0]["id"], late);
        assert_eq!(v["items"][0]["days_overdue"], 20);
        let r = get_auth(&app, &format!("/api/v1/rental/overdue?point_id={pid}"), &t).await;
        assert_eq!(r.json()["total"], 1);
        let t2 = token(&app, "township").await;
        let r = get_auth(&app, &format!("/api/v1/rental/overdue?division={V1}"), &t2).await;
        assert_eq!(r.json()["total"], 1);
        let r = get_auth(&app, &format!("/api/v1/rental/overdue?division={V2}"), &t2).await;
        assert_eq!(r.json()["total"], 0);

        // The township summary shows the community with its overdue loan.
        let r = get_auth(&app, "/api/v1/rental/summary", &t2).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["total"]["points"], 1);
        assert_eq!(v["total"]["on_loan"], 2);
        assert_eq!(v["total"]["overdue"], 1);
        assert_eq!(v["total"]["lending_communities"], 1);
        let row = v["children"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["division"] == V1)
            .unwrap()
            .clone();
        assert_eq!(row["overdue"], 1);

        // An extension to a later date ends the overdue state; an earlier one is refused.
        let uri = format!("/api/v1/rental/loans/{late}/extend");
        let r = json(
            &app,
            "POST",
            &uri,
            Some(&t),
            json!({"due_date": "2025-06-05"}),
        )
        .await;
        assert_eq!(r.status, 422);
        assert_eq!(r.error_code(), "bad_due_date");
        let r = json(
            &app,
            "POST",
            &uri,
            Some(&t),
            json!({"due_date": "2025-07-10"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["extensions"], 1);
        assert_eq!(r.json()["overdue"], false);
        let r = get_auth(&app, "/api/v1/rental/overdue", &t).await;
        assert_eq!(r.json()["total"], 0);

        // The export lists the point's current loans.
        let r = get_auth(&app, &format!("/api/v1/rental/points/{pid}/loans.xlsx"), &t).await;
        assert_eq!(r.status, 200);
        assert!(r.body.starts_with(b"PK"));
    })
    .await;
}

#[tokio::test]
async fn bad_input_stores_nothing() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let t = token(&app, "community").await;
        let (_pid, items) = point_with_items(&app, &db, &t, V1, &[("wheelchair", "A1")]).await;
        let item = items[0];
        let r = lend(
            &app,
            &t,
            json!({"item_id": item, "borrower_name": "赵大爷", "borrower_phone": "13907390000",
                   "start_date": "2025-06-01", "due_date": "2025-06-20"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let loan = r.json()["id"].as_i64().unwrap();
        let before = (loan_count(&db).await, audit_count(&db, "rental_").await);

        // Lending an item that is out.
        let r = lend(
            &app,
            &t,
            json!({"item_id": item, "borrower_name": "钱奶奶", "borrower_phone": "13907390001",
                   "due_date": "2025-07-20"}),
        )
        .await;
        assert_eq!(r.status, 409);
        assert_eq!(r.error_code(), "item_unavailable");

        // Due before start (on a fresh item, so only the dates are wrong).
        let r = json(
            &app,
            "POST",
            &format!("/api/v1/rental/points/{_pid}/items"),
            Some(&t),
            json!({"kind": "walker", "asset_tag": "A2"}),
        )
        .await;
        let fresh = r.json()["id"].as_i64().unwrap();
        let before = (before.0, before.1 + 1);
        let r = lend(
            &app,
            &t,
            json!({"item_id": fresh, "borrower_name": "孙爷爷", "borrower_phone": "13907390002",
                   "start_date": "2025-06-20", "due_date": "2025-06-19"}),
        )
        .await;
        assert_eq!(r.status, 422);
        assert_eq!(r.error_code(), "bad_due_date");
        // A start in the future, a bad phone, no borrower at all.
        let r = lend(
            &app,
            &t,
            json!({"item_id": fresh, "borrower_name": "孙爷爷", "borrower_phone": "13907390002",
                   "start_date": "2025-07-02", "due_date": "2025-07-09"}),
        )
        .await;
        assert_eq!(r.error_code(), "start_in_future");
        let r = lend(
            &app,
            &t,
            json!({"item_id": fresh, "borrower_name": "孙爷爷", "borrower_phone": "12345",
                   "due_date": "2025-07-09"}),
        )
        .await;
        assert_eq!(r.status, 422);
        let r = lend(&app, &t, json!({"item_id": fresh, "due_date": "2025-07-09"})).await;
        assert_eq!(r.status, 422);

        // A return dated tomorrow; a deposit kept beyond the deposit; kept without reason.
        let uri = format!("/api/v1/rental/loans/{loan}/return");
        let r = json(&app, "POST", &uri, Some(&t), json!({"returned_on": "2025-07-01"})).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.error_code(), "return_in_future");
        let r = json(&app, "POST", &uri, Some(&t), json!({"returned_on": "2025-05-01"})).await;
        assert_eq!(r.error_code(), "bad_return_date");
        let r = json(
            &app,
            "POST",
            &uri,
            Some(&t),
            json!({"deposit_kept_fen": 30_001, "keep_reason": "丢失"}),
        )
        .await;
        assert_eq!(r.error_code(), "kept_exceeds_deposit");
        let r = json(&app, "POST", &uri, Some(&t), json!({"deposit_kept_fen": 100})).await;
        assert_eq!(r.error_code(), "reason_required");

        assert_eq!(
            (loan_count(&db).await, audit_count(&db, "rental_").await),
            before
        );
        let item_row = shequ_db::rental::get_item(&mut db.conn(), &city(), fresh)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(item_row.state, "in_stock");

        // Return once (broken: to repair, part of the deposit kept), then again.
        let r = json(
            &app,
            "POST",
            &uri,
            Some(&t),
            json!({"condition": "needs_repair", "deposit_kept_fen": 5_000, "keep_reason": "刹车损坏"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        // 29 days × 2 元 = 58 元 rent; 300 − 50 − 58 = 192 元 back.
        assert_eq!(r.json()["deposit_refund_fen"], 19_200);
        let r = json(&app, "POST", &uri, Some(&t), json!({})).await;
        assert_eq!(r.status, 409);
        assert_eq!(r.error_code(), "already_returned");
        let it = shequ_db::rental::get_item(&mut db.conn(), &city(), item)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(it.state, "repair");
        // An item under repair can't be lent; repaired, it can.
        let r = lend(
            &app,
            &t,
            json!({"item_id": item, "borrower_name": "钱奶奶", "borrower_phone": "13907390001",
                   "due_date": "2025-07-20"}),
        )
        .await;
        assert_eq!(r.error_code(), "item_unavailable");
        let act = format!("/api/v1/rental/items/{item}/actions");
        let r = json(&app, "POST", &act, Some(&t), json!({"action": "repaired"})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["state"], "in_stock");
        let r = lend(
            &app,
            &t,
            json!({"item_id": item, "borrower_name": "钱奶奶", "borrower_phone": "13907390001",
                   "due_date": "2025-07-20"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        // A lent item can't be scrapped.
        let r = json(&app, "POST", &act, Some(&t), json!({"action": "scrap"})).await;
        assert_eq!(r.status, 409);
        assert_eq!(r.error_code(), "item_on_loan");
        // Duplicate asset tag.
        let r = json(
            &app,
            "POST",
            &format!("/api/v1/rental/points/{_pid}/items"),
            Some(&t),
            json!({"kind": "walker", "asset_tag": "A2"}),
        )
        .await;
        assert_eq!(r.status, 409);
        assert_eq!(r.error_code(), "duplicate_asset_tag");
    })
    .await;
}

#[tokio::test]
async fn scope_is_enforced() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let township = token(&app, "township").await;
        let community = token(&app, "community").await;
        // A point in the neighbouring community, kept by the township.
        let (pid, items) =
            point_with_items(&app, &db, &township, V2, &[("wheelchair", "V2-1")]).await;
        let other_person = resident(&db, V2, 21, vec![]).await;

        let r = get_auth(&app, &format!("/api/v1/rental/points/{pid}"), &community).await;
        assert_eq!(r.status, 404);
        let r = get_auth(&app, "/api/v1/rental/points", &community).await;
        assert_eq!(r.json()["total"], 0);
        let r = lend(
            &app,
            &community,
            json!({"item_id": items[0], "borrower_name": "周阿姨", "borrower_phone": "13907392222",
                   "due_date": "2025-07-20"}),
        )
        .await;
        assert_eq!(r.status, 422);
        assert_eq!(r.error_code(), "unknown_item");
        // The community's own point can't lend to a resident of the other community.
        let (_, own) = point_with_items(&app, &db, &community, V1, &[("walker", "V1-1")]).await;
        let r = lend(
            &app,
            &community,
            json!({"item_id": own[0], "person_id": other_person, "due_date": "2025-07-20"}),
        )
        .await;
        assert_eq!(r.error_code(), "unknown_person");
        // Nor open a point at the other community's facility.
        let fid = facility(&db, V2).await;
        let r = json(
            &app,
            "POST",
            "/api/v1/rental/points",
            Some(&community),
            json!({"facility_id": fid, "name": "越权租赁点"}),
        )
        .await;
        assert_eq!(r.error_code(), "unknown_facility");
        // Grid workers don't keep rentals; the other county sees nothing.
        let grid = token(&app, "grid").await;
        assert_eq!(
            get_auth(&app, "/api/v1/rental/points", &grid).await.status,
            403
        );
        let county = token(&app, "county").await;
        let r = get_auth(&app, "/api/v1/rental/points", &county).await;
        assert_eq!(r.json()["total"], 2);
        let r = get_auth(&app, "/api/v1/rental/summary?division=430503", &county).await;
        assert_eq!(r.status, 404);
        assert_eq!(loan_count(&db).await, 0);
    })
    .await;
}

async fn pilots(db: &Db, at: &str) -> (i64, i64) {
    shequ_db::indicators::values_for(&mut db.conn(), &[at.to_owned()])
        .await
        .unwrap()
        .get(&("rehab_rental_pilots".to_owned(), at.to_owned()))
        .copied()
        .unwrap_or((0, 0))
}

#[tokio::test]
async fn pilots_count_communities_after_their_first_loan() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let t = token(&app, "community").await;
        let (_, items) = point_with_items(
            &app,
            &db,
            &t,
            V1,
            &[("wheelchair", "P-1"), ("walker", "P-2")],
        )
        .await;
        shequ_db::indicators::recompute_all(&db, now())
            .await
            .unwrap();
        assert_eq!(
            pilots(&db, "430500").await.0,
            0,
            "a point alone does not count"
        );

        // A loan more than a year ago does not count either.
        let r = lend(
            &app,
            &t,
            json!({"item_id": items[1], "borrower_name": "吴奶奶", "borrower_phone": "13907393333",
                   "start_date": "2024-06-01", "due_date": "2024-06-30"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(pilots(&db, "430500").await.0, 0);

        // The first loan in the window: counted at once (refresh), and on recompute.
        let r = lend(
            &app,
            &t,
            json!({"item_id": items[0], "borrower_name": "郑爷爷", "borrower_phone": "13907394444",
                   "due_date": "2025-07-30"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        for at in ["430500", "430502", "430502001"] {
            assert_eq!(pilots(&db, at).await.0, 1, "{at}");
        }
        shequ_db::indicators::recompute_all(&db, now())
            .await
            .unwrap();
        assert_eq!(pilots(&db, "430500").await.0, 1);
        let villages = shequ_db::rental::lending_villages(
            &mut db.conn(),
            now() - chrono::Duration::days(365),
            now(),
        )
        .await
        .unwrap();
        assert_eq!(villages, vec![V1.to_owned()]);
    })
    .await;
}

#[tokio::test]
async fn pages_work() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let t = token(&app, "community").await;
        let (pid, items) = point_with_items(&app, &db, &t, V1, &[("wheelchair", "W-1")]).await;
        let mut b = Browser::new(&app);
        b.login("community").await;
        let r = b.get("/rental").await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.text().contains("康复辅具租赁点"));
        let r = b.get(&format!("/rental/points/{pid}")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.text().contains("W-1"));
        let r = b.get(&format!("/rental/items/{}/lend", items[0])).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let r = b
            .post(
                &format!("/rental/items/{}/lend", items[0]),
                &[
                    ("borrower_name", "黄大妈"),
                    ("borrower_phone", "13907395555"),
                    ("start_date", "2025-06-01"),
                    ("due_date", "2025-06-15"),
                    ("deposit", "300"),
                ],
            )
            .await;
        assert!(r.status.is_redirection(), "{} {}", r.status, r.text());
        let r = b.get("/rental/overdue").await;
        assert_eq!(r.status, 200);
        assert!(r.text().contains("黄大妈"));
        let loan = shequ_db::rental::loans(
            &mut db.conn(),
            &city(),
            &Default::default(),
            shequ_db::PageReq::all(),
        )
        .await
        .unwrap()
        .items[0]
            .id;
        let r = b.get(&format!("/rental/loans/{loan}/return")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        // A return in the future shows the form again with the message, nothing stored.
        let r = b
            .post(
                &format!("/rental/loans/{loan}/return"),
                &[
                    ("returned_on", "2025-07-05"),
                    ("condition", "good"),
                    ("kept", "0"),
                ],
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("归还日期应在今天或之前"));
        let r = b
            .post(
                &format!("/rental/loans/{loan}/return"),
                &[
                    ("returned_on", "2025-06-30"),
                    ("condition", "good"),
                    ("kept", "0"),
                ],
            )
            .await;
        assert!(r.status.is_redirection(), "{} {}", r.status, r.text());
        let r = b.get("/rental/summary").await;
        assert_eq!(r.status, 200, "{}", r.text());
        let r = b.get("/rental/points/new").await;
        assert_eq!(r.status, 200, "{}", r.text());
    })
    .await;
}

#[tokio::test]
async fn demo_lends_in_most_points_but_not_all() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        shequ_db::demo::facilities::load(&db, 7, now())
            .await
            .unwrap();
        let s = shequ_db::demo::rental::load(&db, &key(), 7, now())
            .await
            .unwrap();
        assert!(s.points >= 5, "{s:?}");
        assert!(s.at_rental_facilities >= 1, "{s:?}");
        assert!(s.dormant >= 1, "{s:?}");
        assert!(s.items >= 20 * s.points, "{s:?}");
        assert!(s.loans > s.items, "{s:?}");
        assert!(s.open > 0 && s.overdue > 0, "{s:?}");
        assert!(
            s.lending_communities > 0 && s.lending_communities < s.points,
            "{s:?}"
        );
        let home = shequ_db::rental::list_points(
            &mut db.conn(),
            &city(),
            Some(&code("430502001")),
            d("2025-06-30"),
            shequ_db::PageReq::all(),
        )
        .await
        .unwrap();
        assert!(home.total >= 1, "points in the home township");
        shequ_db::indicators::recompute_all(&db, now())
            .await
            .unwrap();
        assert_eq!(pilots(&db, "430500").await.0, s.lending_communities as i64);
        // Item states agree with the loans: one open loan per item on loan.
        let open = shequ_db::rental::loans(
            &mut db.conn(),
            &city(),
            &shequ_db::rental::LoanFilter {
                open: true,
                ..Default::default()
            },
            shequ_db::PageReq::all(),
        )
        .await
        .unwrap();
        let on_loan: i64 = shequ_db::rental::list_points(
            &mut db.conn(),
            &city(),
            None,
            d("2025-06-30"),
            shequ_db::PageReq::all(),
        )
        .await
        .unwrap()
        .items
        .iter()
        .map(|p| p.counts.on_loan)
        .sum();
        assert_eq!(open.total, on_loan);
    })
    .await;
}
