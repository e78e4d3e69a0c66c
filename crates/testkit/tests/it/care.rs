//! 探访关爱: roster sync from tagged residents (60+ with a care tag only), tiers, the
//! month's visit plan, visits that do and do not count toward the village's
//! monthly visit rate, refusals that store nothing, a visit raising a work order,
//! scope, overdue visits and their notices, and the pages.

use axum::Router;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use shequ_core::care::Month;
use shequ_core::{DivisionCode, IdCardNo, Relation, Role, Tag};
use shequ_db::Db;
use shequ_db::care;
use shequ_db::people::{self, PersonInput};
use shequ_db::scope::{Actor, Scope};
use shequ_testkit::{
    Reply, app, demo_users, json, key, now, on_each_backend, password_hash, send, small_demo, token,
};

const GRID: &str = "430502001001001";
const V1: &str = "430502001001";
const V2: &str = "430502001002";
const TOWNSHIP: &str = "430502001";

fn city() -> Scope {
    Scope::new(
        DivisionCode::parse("430500").unwrap(),
        Role::CityStaff,
        Actor::system(),
    )
}

/// The first of June, when the roster is synced in most tests (so June owes visits).
fn june_first() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 1, 0, 0).unwrap()
}

/// A resident of `division` aged `age` on 2025-06-30 with `tags`; returns the person id.
async fn person(db: &Db, division: &str, name: &str, age: i32, seq: u16, tags: &[Tag]) -> i64 {
    let birth = NaiveDate::from_ymd_opt(2025 - age, 3, 1).unwrap();
    let p = PersonInput {
        division: DivisionCode::parse(division).unwrap(),
        household_id: None,
        relation: Relation::Head,
        name: name.into(),
        id_number: IdCardNo::from_parts("430502", birth, seq).unwrap(),
        phone: None,
        address: "宝庆路1号".into(),
        tags: tags.to_vec(),
    };
    people::create(
        &mut db.conn(),
        &city(),
        &key(),
        &p,
        june_first() - Duration::days(30),
    )
    .await
    .unwrap()
}

struct World {
    app: Router,
    /// 85, living alone: high tier.
    high: i64,
    /// 70, disabled (a protected tag): key tier.
    key_tier: i64,
    /// 65, empty nest: general tier.
    general: i64,
}

/// The small demo, its logins, a second community's staff login (`community2`),
/// and residents of the first community's first grid: three who qualify and three
/// who do not (55 living alone, 75 untagged, 70 with only a general disability tag).
async fn setup(db: &Db) -> World {
    small_demo(db).await;
    demo_users(db).await;
    shequ_db::users::create(
        &mut db.conn(),
        &Actor::system(),
        &shequ_db::users::NewUser {
            username: "community2".into(),
            display_name: "第二社区工作者".into(),
            role: Role::CommunityStaff,
            division: DivisionCode::parse(V2).unwrap(),
            password_hash: password_hash(),
        },
        now(),
    )
    .await
    .unwrap();
    let high = person(
        db,
        GRID,
        "独居甲",
        85,
        1,
        &[Tag::LivingAlone, Tag::OldestOld],
    )
    .await;
    let key_tier = person(db, GRID, "失能乙", 70, 3, &[Tag::DisabledElderly]).await;
    let general = person(db, GRID, "空巢丙", 65, 5, &[Tag::EmptyNest]).await;
    person(db, GRID, "年轻丁", 55, 7, &[Tag::LivingAlone]).await;
    person(db, GRID, "无标签戊", 75, 9, &[]).await;
    person(db, GRID, "残疾己", 70, 11, &[Tag::Disability]).await;
    let (_, app) = app(db).await;
    World {
        app,
        high,
        key_tier,
        general,
    }
}

/// Sync the township's roster as of `at`.
async fn sync_at(db: &Db, at: chrono::DateTime<Utc>) -> care::SyncReport {
    let scope = Scope::new(
        DivisionCode::parse(TOWNSHIP).unwrap(),
        Role::TownshipStaff,
        Actor::system(),
    );
    let mut tx = db.begin().await.unwrap();
    let r = care::sync(&mut tx.conn(), &scope, &key(), at)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    r
}

async fn subjects(app: &Router, t: &str) -> Vec<Value> {
    let r = get(app, "/api/v1/care/subjects?per_page=100", t).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["items"].as_array().unwrap().clone()
}

fn subject_of(list: &[Value], person: i64) -> Value {
    list.iter()
        .find(|s| s["person_id"] == person)
        .cloned()
        .unwrap_or(Value::Null)
}

async fn get(app: &Router, uri: &str, t: &str) -> Reply {
    send(
        app,
        axum::http::Request::get(uri)
            .header("authorization", format!("Bearer {t}"))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
}

fn visit(at: chrono::DateTime<Utc>, channel: &str) -> Value {
    json!({
        "visited_at": at,
        "channel": channel,
        "living": {"finding": "normal", "note": "饮食正常"},
        "safety": {"finding": "attention", "note": "燃气灶老旧"},
    })
}

async fn rate_of(app: &Router, t: &str, node: &str, child: &str) -> (i64, i64) {
    let r = get(app, &format!("/api/v1/care/rates?division={node}"), t).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let row = v["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["division"] == child)
        .cloned()
        .unwrap_or(json!({"roster": 0, "visited": 0}));
    (
        row["roster"].as_i64().unwrap(),
        row["visited"].as_i64().unwrap(),
    )
}

async fn visit_count(db: &Db) -> i64 {
    care::visit_count(&mut db.conn(), &city()).await.unwrap()
}

#[tokio::test]
async fn roster_sync_takes_tagged_elderly_only_and_sets_tiers() {
    on_each_backend(|db| async move {
        let w = setup(&db).await;
        let t = token(&w.app, "community").await;
        let tt = token(&w.app, "township").await;
        let r = json(&w.app, "POST", "/api/v1/care/sync", Some(&t), json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["added"], 3);
        assert_eq!(r.json()["roster"], 3);
        let list = subjects(&w.app, &t).await;
        assert_eq!(list.len(), 3, "{list:?}");
        assert_eq!(subject_of(&list, w.high)["tier"], "high");
        assert_eq!(subject_of(&list, w.high)["frequency"], "weekly");
        assert_eq!(subject_of(&list, w.key_tier)["tier"], "key");
        assert_eq!(subject_of(&list, w.general)["tier"], "general");
        assert_eq!(subject_of(&list, w.general)["frequency"], "quarterly");
        // A second sync changes nothing.
        let r = json(&w.app, "POST", "/api/v1/care/sync", Some(&t), json!({})).await;
        assert_eq!(r.json()["added"], 0);
        // An override sticks through a sync; an exclusion leaves the count.
        let sid = subject_of(&list, w.general)["id"].as_i64().unwrap();
        let r = json(
            &w.app,
            "PUT",
            &format!("/api/v1/care/subjects/{sid}/tier"),
            Some(&t),
            json!({"tier": "key"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["tier"], "key");
        assert_eq!(r.json()["tier_rule"], "general");
        let r = json(
            &w.app,
            "POST",
            &format!("/api/v1/care/subjects/{sid}/exclude"),
            Some(&t),
            json!({"reason": ""}),
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.text());
        let r = json(
            &w.app,
            "POST",
            &format!("/api/v1/care/subjects/{sid}/exclude"),
            Some(&t),
            json!({"reason": "已迁出本社区"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["status"], "excluded");
        let (roster, _) = rate_of(&w.app, &tt, TOWNSHIP, V1).await;
        assert_eq!(roster, 2);
        let r = json(&w.app, "POST", "/api/v1/care/sync", Some(&t), json!({})).await;
        assert_eq!(r.json()["added"], 0);
        assert_eq!(r.json()["roster"], 2);
    })
    .await;
}

#[tokio::test]
async fn plan_generation_gives_each_tier_its_due_visits() {
    on_each_backend(|db| async move {
        let w = setup(&db).await;
        sync_at(&db, june_first()).await;
        let t = token(&w.app, "community").await;
        // July: 4 Sundays for the weekly subject, 1 for the monthly one, none for
        // the quarterly one (July does not close a quarter).
        let r = json(
            &w.app,
            "POST",
            "/api/v1/care/plan",
            Some(&t),
            json!({"month": "2025-07"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["subjects"], 3);
        assert_eq!(r.json()["due"], 6 - 1);
        // June: 5 Sundays (1st … 29th), 1 monthly, 1 quarterly.
        let r = json(
            &w.app,
            "POST",
            "/api/v1/care/plan",
            Some(&t),
            json!({"month": "2025-06"}),
        )
        .await;
        assert_eq!(r.json()["due"], 7, "{}", r.text());
        assert_eq!(r.json()["inserted"], 7);
        // Again: nothing new.
        let r = json(
            &w.app,
            "POST",
            "/api/v1/care/plan",
            Some(&t),
            json!({"month": "2025-06"}),
        )
        .await;
        assert_eq!(r.json()["inserted"], 0);
        let r = json(
            &w.app,
            "POST",
            "/api/v1/care/plan",
            Some(&t),
            json!({"month": "2025-13"}),
        )
        .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.error_code(), "bad_month");
    })
    .await;
}

#[tokio::test]
async fn a_valid_visit_moves_the_village_rate_and_a_phone_call_to_a_high_tier_does_not() {
    on_each_backend(|db| async move {
        let w = setup(&db).await;
        sync_at(&db, june_first()).await;
        let t = token(&w.app, "community").await;
        let tt = token(&w.app, "township").await;
        let list = subjects(&w.app, &t).await;
        let high = subject_of(&list, w.high)["id"].as_i64().unwrap();
        let general = subject_of(&list, w.general)["id"].as_i64().unwrap();
        assert_eq!(rate_of(&w.app, &tt, TOWNSHIP, V1).await, (3, 0));
        // A phone call to a high-tier subject is stored but does not count.
        let r = json(
            &w.app,
            "POST",
            &format!("/api/v1/care/subjects/{high}/visits"),
            Some(&t),
            visit(now() - Duration::hours(3), "phone"),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["valid"], false);
        assert_eq!(rate_of(&w.app, &tt, TOWNSHIP, V1).await, (3, 0));
        // A home visit counts, once per subject and month.
        for _ in 0..2 {
            let r = json(
                &w.app,
                "POST",
                &format!("/api/v1/care/subjects/{high}/visits"),
                Some(&t),
                visit(now() - Duration::hours(2), "home"),
            )
            .await;
            assert_eq!(r.status, 201, "{}", r.text());
            assert_eq!(r.json()["valid"], true);
        }
        assert_eq!(rate_of(&w.app, &tt, TOWNSHIP, V1).await, (3, 1));
        // A phone call to a general-tier subject counts.
        let r = json(
            &w.app,
            "POST",
            &format!("/api/v1/care/subjects/{general}/visits"),
            Some(&t),
            visit(now() - Duration::hours(1), "电话"),
        )
        .await;
        assert_eq!(r.json()["valid"], true, "{}", r.text());
        assert_eq!(rate_of(&w.app, &tt, TOWNSHIP, V1).await, (3, 2));
        // The indicator reads the same aggregate, and its stored value moved.
        let facts = care::visit_facts(&mut db.conn(), now()).await.unwrap();
        let v1 = facts.iter().find(|f| f.village == V1).unwrap();
        assert_eq!((v1.roster, v1.visited), (3, 2));
        let values = shequ_db::indicators::store::values_for(&mut db.conn(), &[V1.to_owned()])
            .await
            .unwrap();
        assert_eq!(
            values.get(&("elderly_visit_rate".to_owned(), V1.to_owned())),
            Some(&(2, 3))
        );
        // The visit history shows on the subject.
        let r = get(&w.app, &format!("/api/v1/care/subjects/{high}/visits"), &t).await;
        assert_eq!(r.json()["total"], 3);
        let r = get(&w.app, &format!("/api/v1/care/subjects/{high}"), &t).await;
        assert!(r.json()["last_visit_at"].is_string(), "{}", r.text());
    })
    .await;
}

#[tokio::test]
async fn refused_visits_store_nothing() {
    on_each_backend(|db| async move {
        let w = setup(&db).await;
        sync_at(&db, june_first()).await;
        let t = token(&w.app, "community").await;
        let tt = token(&w.app, "township").await;
        let list = subjects(&w.app, &t).await;
        let high = subject_of(&list, w.high)["id"].as_i64().unwrap();
        let uri = format!("/api/v1/care/subjects/{high}/visits");
        let bad = [
            (
                visit(now() + Duration::days(1), "home"),
                "visited_at",
                "晚于现在",
            ),
            (
                visit(june_first() - Duration::days(5), "home"),
                "visited_at",
                "纳入名册",
            ),
            (
                visit(now() - Duration::hours(1), "letter"),
                "channel",
                "探访方式",
            ),
        ];
        for (body, field, words) in bad {
            let r = json(&w.app, "POST", &uri, Some(&t), body).await;
            assert_eq!(r.status, 422, "{}", r.text());
            assert_eq!(r.error_code(), "validation_failed");
            let msg = r.json()["error"]["fields"][field]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(msg.contains(words), "{field}: {}", r.text());
        }
        // A work order asked for without any need found.
        let mut body = visit(now() - Duration::hours(1), "home");
        body["raise_order"] = json!(true);
        body["order_category"] = json!("social.elderly");
        let r = json(&w.app, "POST", &uri, Some(&t), body).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(visit_count(&db).await, 0);
        assert_eq!(rate_of(&w.app, &tt, TOWNSHIP, V1).await, (3, 0));
    })
    .await;
}

#[tokio::test]
async fn a_visit_with_a_need_raises_a_linked_work_order() {
    on_each_backend(|db| async move {
        let w = setup(&db).await;
        sync_at(&db, june_first()).await;
        let t = token(&w.app, "community").await;
        let list = subjects(&w.app, &t).await;
        let high = subject_of(&list, w.high)["id"].as_i64().unwrap();
        let mut body = visit(now() - Duration::hours(1), "home");
        body["service"] = json!({"finding": "need", "note": "需要助浴服务"});
        body["raise_order"] = json!(true);
        body["order_category"] = json!("social.elderly");
        let r = json(
            &w.app,
            "POST",
            &format!("/api/v1/care/subjects/{high}/visits"),
            Some(&t),
            body,
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let v = r.json();
        let order = v["work_order_id"].as_i64().unwrap();
        let code = v["work_order_code"].as_str().unwrap().to_owned();
        let o = shequ_db::workorders::get(&mut db.conn(), &city(), order)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(o.tracking_code, code);
        assert_eq!(o.division_code, GRID);
        assert_eq!(o.channel, "patrol");
        assert!(o.description.contains("助浴"), "{}", o.description);
        // A bad category refuses the whole visit.
        let mut body = visit(now() - Duration::hours(1), "home");
        body["living"] = json!({"finding": "need"});
        body["raise_order"] = json!(true);
        body["order_category"] = json!("no.such");
        let before = visit_count(&db).await;
        let r = json(
            &w.app,
            "POST",
            &format!("/api/v1/care/subjects/{high}/visits"),
            Some(&t),
            body,
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.json()["error"]["fields"]["order_category"].is_string());
        assert_eq!(visit_count(&db).await, before);
    })
    .await;
}

#[tokio::test]
async fn visits_are_scoped_to_the_visitor_and_the_area() {
    on_each_backend(|db| async move {
        let w = setup(&db).await;
        sync_at(&db, june_first()).await;
        let t = token(&w.app, "community").await;
        let list = subjects(&w.app, &t).await;
        let high = subject_of(&list, w.high)["id"].as_i64().unwrap();
        let uri = format!("/api/v1/care/subjects/{high}/visits");
        // Another community's staff can neither see nor record.
        let other = token(&w.app, "community2").await;
        let r = json(
            &w.app,
            "POST",
            &uri,
            Some(&other),
            visit(now() - Duration::hours(1), "home"),
        )
        .await;
        assert_eq!(r.status, 404, "{}", r.text());
        assert!(subjects(&w.app, &other).await.is_empty());
        // Residents may not read the roster at all.
        let resident = token(&w.app, "resident").await;
        assert_eq!(
            get(&w.app, "/api/v1/care/subjects", &resident).await.status,
            403
        );
        // The grid worker gets the grid's subjects by bulk assignment.
        let r = json(
            &w.app,
            "POST",
            "/api/v1/care/assign-grid",
            Some(&t),
            json!({"grid": GRID}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["subjects"], 3);
        assert_eq!(r.json()["assigned"], 3);
        let grid = token(&w.app, "grid").await;
        let r = get(&w.app, "/api/v1/care/subjects?mine=true", &grid).await;
        assert_eq!(r.json()["total"], 3, "{}", r.text());
        let r = json(
            &w.app,
            "POST",
            &uri,
            Some(&grid),
            visit(now() - Duration::hours(1), "video"),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["visitor_name"], "该社区第一网格的网格员");
        // A volunteer sees only assigned subjects; a bad visitor is refused.
        let vol = token(&w.app, "volunteer").await;
        assert!(subjects(&w.app, &vol).await.is_empty());
        let r = json(
            &w.app,
            "POST",
            &format!("/api/v1/care/subjects/{high}/visitors"),
            Some(&t),
            json!({"user_id": 1}),
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(visit_count(&db).await, 1);
    })
    .await;
}

#[tokio::test]
async fn overdue_visits_are_listed_and_noticed_once() {
    on_each_backend(|db| async move {
        let w = setup(&db).await;
        sync_at(&db, june_first()).await;
        let t = token(&w.app, "community").await;
        let r = json(
            &w.app,
            "POST",
            "/api/v1/care/plan",
            Some(&t),
            json!({"month": "2025-06"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        // The five weekly visits of June are overdue on the 30th; the monthly and
        // quarterly ones fall due today.
        let r = get(&w.app, "/api/v1/care/overdue", &t).await;
        assert_eq!(r.json()["total"], 5, "{}", r.text());
        assert_eq!(r.json()["items"][0]["tier"], "high");
        // A home visit on the 20th fulfils that week's due visit.
        let list = subjects(&w.app, &t).await;
        let high = subject_of(&list, w.high)["id"].as_i64().unwrap();
        let at = Utc.with_ymd_and_hms(2025, 6, 20, 2, 0, 0).unwrap();
        let r = json(
            &w.app,
            "POST",
            &format!("/api/v1/care/subjects/{high}/visits"),
            Some(&t),
            visit(at, "home"),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let r = get(&w.app, "/api/v1/care/overdue", &t).await;
        assert_eq!(r.json()["total"], 4);
        // Another community sees none of them.
        let other = token(&w.app, "community2").await;
        let r = get(&w.app, "/api/v1/care/overdue", &other).await;
        assert_eq!(r.json()["total"], 0);
        // One notice for the community, once.
        let n = care::notify_overdue(&mut db.conn(), now()).await.unwrap();
        assert_eq!(n, 4);
        let n = care::notify_overdue(&mut db.conn(), now()).await.unwrap();
        assert_eq!(n, 0);
        let notes = shequ_db::workorders::notify::notices(
            &mut db.conn(),
            &[V1.to_owned()],
            false,
            shequ_db::PageReq::new(None, None),
        )
        .await
        .unwrap();
        assert!(notes.items.iter().any(|n| n.kind == "care_overdue"));
        let (rate_node, month) = (TOWNSHIP, Month::parse("2025-06").unwrap());
        let (_, rows) = care::rates(
            &mut db.conn(),
            &city(),
            &DivisionCode::parse(rate_node).unwrap(),
            month,
            shequ_core::care::local_date(now()),
        )
        .await
        .unwrap();
        let v1 = rows.iter().find(|r| r.code == V1).unwrap();
        assert_eq!((v1.roster, v1.visited, v1.overdue), (3, 1, Some(4)));
    })
    .await;
}

#[tokio::test]
async fn the_demo_fills_a_year_of_visits_and_gives_the_grid_worker_work() {
    on_each_backend(|db| async move {
        shequ_testkit::small_demo_with_people(&db, 3000).await;
        let s = shequ_db::demo::care::load(&db, &key(), 7, now())
            .await
            .unwrap();
        assert!(s.subjects > 50, "{s:?}");
        assert!(s.visits as i64 > s.subjects * 6, "{s:?}");
        assert_eq!(s.months, 12);
        assert!(s.plan_rows > 0);
        let (_, app) = app(&db).await;
        let county = token(&app, "county").await;
        // Last month: most subjects were visited.
        let r = get(&app, "/api/v1/care/rates?month=2025-05", &county).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let total = &r.json()["total"];
        let rate = total["rate"].as_f64().unwrap();
        assert!((80.0..=100.0).contains(&rate), "{total}");
        assert!(total["roster"].as_i64().unwrap() <= s.subjects);
        // This month's figure matches the roster and the indicator's facts.
        let r = get(&app, "/api/v1/care/rates", &county).await;
        assert_eq!(r.json()["total"]["roster"].as_i64().unwrap(), s.subjects);
        let facts = care::visit_facts(&mut db.conn(), now()).await.unwrap();
        let visited: i64 = facts.iter().map(|f| f.visited).sum();
        assert_eq!(r.json()["total"]["visited"].as_i64().unwrap(), visited);
        // The grid worker has visits due.
        let grid = token(&app, "grid").await;
        let r = get(&app, "/api/v1/care/mine", &grid).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(!r.json().as_array().unwrap().is_empty(), "{}", r.text());
    })
    .await;
}

/// Post a multipart form as a signed-in browser (the CSRF field added from the cookie).
async fn post_multipart(
    b: &mut shequ_testkit::Browser,
    uri: &str,
    fields: &[(&str, &str)],
) -> Reply {
    let csrf = b.cookies.get("shequ_csrf").cloned().unwrap_or_default();
    let boundary = "----careformboundary";
    let mut body = String::new();
    for (k, v) in fields.iter().chain([("csrf", csrf.as_str())].iter()) {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let cookie = b
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    send(
        &b.app,
        axum::http::Request::post(uri)
            .header("cookie", cookie)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(axum::body::Body::from(body))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn the_pages_take_a_grid_worker_from_my_visits_to_a_work_order() {
    on_each_backend(|db| async move {
        let w = setup(&db).await;
        sync_at(&db, june_first()).await;
        let t = token(&w.app, "community").await;
        let r = json(
            &w.app,
            "POST",
            "/api/v1/care/assign-grid",
            Some(&t),
            json!({"grid": GRID}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let r = json(
            &w.app,
            "POST",
            "/api/v1/care/plan",
            Some(&t),
            json!({"month": "2025-06"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let list = subjects(&w.app, &t).await;
        let high = subject_of(&list, w.high)["id"].as_i64().unwrap();

        let mut b = shequ_testkit::Browser::new(&w.app);
        b.login("grid").await;
        let home = b.get("/").await;
        assert!(home.text().contains("探访关爱"), "nav entry");
        let mine = b.get("/care/mine").await;
        assert_eq!(mine.status, 200, "{}", mine.text());
        assert!(mine.text().contains("独居甲"));
        assert!(
            mine.text()
                .contains(&format!("/care/subjects/{high}/visit"))
        );
        let form = b.get(&format!("/care/subjects/{high}/visit")).await;
        assert_eq!(form.status, 200, "{}", form.text());
        assert!(form.text().contains("name=\"csrf\""));
        // A visit in the future comes back with the reason; nothing stored.
        let uri = format!("/care/subjects/{high}/visit");
        let r = post_multipart(
            &mut b,
            &uri,
            &[("visited_at", "2025-07-02T10:00"), ("channel", "home")],
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("不能晚于现在"));
        assert_eq!(visit_count(&db).await, 0);
        // A home visit with a need, raising a work order.
        let r = post_multipart(
            &mut b,
            &uri,
            &[
                ("visited_at", "2025-06-30T09:30"),
                ("channel", "home"),
                ("finding_service", "need"),
                ("note_service", "需要助餐"),
                ("raise_order", "1"),
                ("order_category", "social.elderly"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let to = r.headers["location"].to_str().unwrap().to_owned();
        let page = b.get(&to).await;
        assert_eq!(page.status, 200, "{}", page.text());
        let html = page.text();
        assert!(html.contains("care-order-link"), "{html}");
        assert!(html.contains("计入本月探访率"));
        let vid: i64 = to.rsplit('/').next().unwrap().parse().unwrap();
        let (v, _) = care::visit(&mut db.conn(), &city(), vid)
            .await
            .unwrap()
            .unwrap();
        let code = care::order_tracking_code(&mut db.conn(), v.work_order_id.unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(html.contains(&code));
        // The subject page shows the visit, masked ID number.
        let s = b.get(&format!("/care/subjects/{high}")).await;
        assert_eq!(s.status, 200, "{}", s.text());
        assert!(s.text().contains("已转工单"));
        assert!(s.text().contains("****"));

        // Staff pages: roster, overdue, rates with drill-down, the export.
        let mut staff = shequ_testkit::Browser::new(&w.app);
        staff.login("township").await;
        for page in [
            "/care",
            "/care/overdue",
            "/care/rates",
            "/care/rates?division=430502001&month=2025-06",
        ] {
            let r = staff.get(page).await;
            assert_eq!(r.status, 200, "{page}: {}", r.text());
        }
        let r = staff.get("/care/rates").await;
        assert!(r.text().contains("1 人"), "{}", r.text());
        let r = staff.get("/care/rates.xlsx").await;
        assert_eq!(r.status, 200);
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .contains("spreadsheetml")
        );
        // A resident cannot open the roster.
        let mut res = shequ_testkit::Browser::new(&w.app);
        res.login("resident").await;
        assert_eq!(res.get("/care").await.status, 403);
    })
    .await;
}
