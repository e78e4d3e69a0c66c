//! The facility registry: API round trip, scope, bad input, import, demo data and
//! pages, on each backend.

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use shequ_core::{DivisionCode, Role};
use shequ_db::facilities::{self, Filter};
use shequ_db::scope::{Actor, Scope};
use shequ_db::{Db, PageReq};
use shequ_testkit::{
    Browser, Reply, app, demo_users, json, now, on_each_backend, send, small_demo, token, with_body,
};

const HOME: &str = "430502001001";
const NEIGHBOUR: &str = "430502001002";

fn city() -> Scope {
    Scope::new(
        DivisionCode::parse("430500").unwrap(),
        Role::CityStaff,
        Actor::system(),
    )
}

/// Every facility in the store.
async fn all(db: &Db) -> Vec<facilities::Facility> {
    facilities::list(&mut db.conn(), &city(), &Filter::default(), PageReq::all())
        .await
        .unwrap()
        .items
}

async fn setup(db: &Db) -> axum::Router {
    small_demo(db).await;
    demo_users(db).await;
    app(db).await.1
}

async fn call(app: &axum::Router, method: &str, uri: &str, token: &str) -> Reply {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    send(app, req).await
}

fn week(span: &str) -> Vec<Value> {
    (1..=7)
        .map(|d| json!({"weekday": d, "span": span}))
        .collect()
}

fn body(division: &str) -> Value {
    json!({
        "division": division, "name": "和平社区党群服务中心", "address": "宝庆路1号",
        "lon": 111.47, "lat": 27.24, "floor_area": 600.5, "year_built": 2015, "online_24h": true,
        "spaces": [{"name": "活动室", "purpose": "activity", "area": 400},
                   {"name": "办公室", "purpose": "办公用房", "area": 100.25}],
        "functions": [{"code": "comprehensive_service"}, {"code": "日间照料中心", "land_area": 300},
                      {"code": "书法教室"}],
        "hours": week("08:30-17:30"),
        "exceptions": [{"day": "2025-10-01", "note": "国庆闭馆"}],
    })
}

async fn create(app: &axum::Router, t: &str, b: Value) -> i64 {
    let r = json(app, "POST", "/api/v1/facilities", Some(t), b).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_i64().unwrap()
}

async fn audit_count(db: &Db, action: &str) -> i64 {
    let f = shequ_db::audit::Filter {
        action: Some(action.into()),
        ..Default::default()
    };
    shequ_db::audit::search(&mut db.conn(), &f, PageReq::new(None, None))
        .await
        .unwrap()
        .total
}

#[tokio::test]
async fn crud_round_trip_through_the_api() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let t = token(&app, "community").await;
        let id = create(&app, &t, body(HOME)).await;
        let uri = format!("/api/v1/facilities/{id}");
        let v = call(&app, "GET", &uri, &t).await.json();
        assert_eq!(v["floor_area"], 600.5);
        assert_eq!(v["activity_area"], 400.0);
        let share = v["activity_share"].as_f64().unwrap();
        assert!((share - 400.0 / 600.5).abs() < 1e-9, "{share}");
        assert_eq!(v["mean_daily_hours"], 9.0);
        assert_eq!(v["spaces"][1]["purpose"], "office");
        let codes: Vec<&str> = v["functions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            ["comprehensive_service", "day_care", "custom:书法教室"]
        );
        assert_eq!(v["functions"][1]["land_area"], 300.0);
        assert_eq!(v["exceptions"][0]["span"], Value::Null);
        assert_eq!(v["hours"][6]["span"], "08:30-17:30");

        let list = |q: &str| format!("/api/v1/facilities?{q}");
        let found = call(&app, "GET", &list("function=day_care&q=%E5%92%8C%E5%B9%B3"), &t).await;
        assert_eq!(found.json()["total"], 1, "{}", found.text());
        assert_eq!(
            call(&app, "GET", &list("function=fitness"), &t).await.json()["total"],
            0
        );
        assert_eq!(
            call(&app, "GET", &list("status=closed"), &t).await.json()["total"],
            0
        );
        assert_eq!(
            call(&app, "GET", &list("status=nonsense"), &t).await.status,
            400
        );

        let mut b = body(HOME);
        b["name"] = json!("和平社区综合服务中心");
        b["spaces"] = json!([{"name": "大活动室", "purpose": "activity", "area": 300}]);
        b["functions"] = json!([{"code": "fitness"}]);
        b["hours"] = json!([{"weekday": 1, "span": "09:00-12:00"}]);
        b["status"] = json!("closed");
        let r = json(&app, "PUT", &uri, Some(&t), b).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["name"], "和平社区综合服务中心");
        assert_eq!(v["spaces"].as_array().unwrap().len(), 1);
        assert_eq!(v["functions"][0]["code"], "fitness");
        assert_eq!(v["hours"].as_array().unwrap().len(), 1);
        assert_eq!(v["status"], "closed");
        assert_eq!(
            call(&app, "GET", &list("function=day_care"), &t).await.json()["total"],
            0
        );

        let r = json(
            &app,
            "POST",
            &format!("{uri}/terminals"),
            Some(&t),
            json!({"serial": "SQ-0001", "model": "邵政通 S1", "last_seen_at": "2025-06-29T08:00:00Z"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["serial"], "SQ-0001");
        let v = call(&app, "GET", &uri, &t).await.json();
        assert_eq!(v["terminals"][0]["last_seen_at"], "2025-06-29T08:00:00Z");
        let later = now() + chrono::Duration::hours(1);
        let mut tx = db.begin().await.unwrap();
        assert!(
            facilities::touch_terminal(&mut tx.conn(), "SQ-0001", later)
                .await
                .unwrap()
        );
        assert!(
            !facilities::touch_terminal(&mut tx.conn(), "SQ-none", later)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        let f = facilities::get(&mut db.conn(), &city(), id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(f.terminals[0].last_seen_at, Some(later));

        assert_eq!(call(&app, "DELETE", &uri, &t).await.status, 204);
        assert_eq!(call(&app, "GET", &uri, &t).await.status, 404);
        assert_eq!(call(&app, "DELETE", &uri, &t).await.status, 404);
        assert!(all(&db).await.is_empty());
        for action in ["facility_create", "facility_update", "facility_delete", "terminal_create"] {
            assert_eq!(audit_count(&db, action).await, 1, "{action}");
        }
        shequ_db::audit::require_intact(&mut db.conn()).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_community_worker_cannot_reach_another_community() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let township = token(&app, "township").await;
        let community = token(&app, "community").await;
        let theirs = create(&app, &township, body(NEIGHBOUR)).await;
        let mine = create(&app, &community, body(HOME)).await;
        let uri = format!("/api/v1/facilities/{theirs}");
        assert_eq!(call(&app, "GET", &uri, &community).await.status, 404);
        let r = json(&app, "PUT", &uri, Some(&community), body(HOME)).await;
        assert_eq!(r.status, 404, "{}", r.text());
        assert_eq!(call(&app, "DELETE", &uri, &community).await.status, 404);
        let r = json(
            &app,
            "POST",
            &format!("{uri}/terminals"),
            Some(&community),
            json!({"serial": "X-1"}),
        )
        .await;
        assert_eq!(r.status, 404);
        let r = json(
            &app,
            "POST",
            "/api/v1/facilities",
            Some(&community),
            body(NEIGHBOUR),
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.error_code()),
            (422, "validation_failed".into())
        );
        assert!(r.json()["error"]["fields"]["division"].is_string());
        // Moving my own facility out of my area is refused too.
        let r = json(
            &app,
            "PUT",
            &format!("/api/v1/facilities/{mine}"),
            Some(&community),
            body(NEIGHBOUR),
        )
        .await;
        assert_eq!(r.status, 422);

        let listed = call(&app, "GET", "/api/v1/facilities", &community)
            .await
            .json();
        assert_eq!(listed["total"], 1);
        assert_eq!(listed["items"][0]["id"], mine);
        let asked = call(
            &app,
            "GET",
            &format!("/api/v1/facilities?division={NEIGHBOUR}"),
            &community,
        )
        .await;
        assert_eq!(asked.json()["total"], 0);
        assert_eq!(
            call(&app, "GET", "/api/v1/facilities", &township)
                .await
                .json()["total"],
            2
        );
        let f = facilities::get(&mut db.conn(), &city(), theirs)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(f.row.division_code, NEIGHBOUR);
        assert!(f.terminals.is_empty());

        let attrs = format!("/api/v1/divisions/{NEIGHBOUR}/attributes");
        assert_eq!(call(&app, "GET", &attrs, &community).await.status, 404);
        let r = json(
            &app,
            "PUT",
            &attrs,
            Some(&community),
            json!({"broadband": true}),
        )
        .await;
        assert_eq!(r.status, 404);
        assert_eq!(
            call(&app, "GET", &attrs, &township).await.json()["broadband"],
            false
        );

        let resident = token(&app, "resident").await;
        assert_eq!(
            call(&app, "GET", "/api/v1/facilities", &resident)
                .await
                .status,
            403
        );
        let grid = token(&app, "grid").await;
        let r = json(&app, "POST", "/api/v1/facilities", Some(&grid), body(HOME)).await;
        assert_eq!(r.status, 403);
        assert_eq!(all(&db).await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_stored() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let t = token(&app, "community").await;
        type Edit = fn(&mut Value);
        let cases: [(&str, Edit, u16, &str); 12] = [
            (
                "negative area",
                |b| b["floor_area"] = json!(-5),
                422,
                "floor_area",
            ),
            (
                "absurd area",
                |b| b["floor_area"] = json!(1e12),
                422,
                "floor_area",
            ),
            (
                "spaces too large",
                |b| b["spaces"][0]["area"] = json!(550),
                422,
                "spaces",
            ),
            (
                "negative space",
                |b| b["spaces"][0]["area"] = json!(-1),
                422,
                "spaces",
            ),
            (
                "bad hours",
                |b| b["hours"] = json!([{"weekday": 1, "span": "18:00-08:00"}]),
                422,
                "hours",
            ),
            (
                "bad weekday",
                |b| b["hours"] = json!([{"weekday": 9, "span": "08:00-12:00"}]),
                422,
                "hours",
            ),
            (
                "unknown status",
                |b| b["status"] = json!("demolished"),
                422,
                "status",
            ),
            (
                "land on fitness",
                |b| b["functions"] = json!([{"code": "fitness", "land_area": 100}]),
                422,
                "functions",
            ),
            (
                "year 1800",
                |b| b["year_built"] = json!(1800),
                422,
                "year_built",
            ),
            (
                "county level",
                |b| b["division"] = json!("430502"),
                422,
                "division",
            ),
            ("empty name", |b| b["name"] = json!(" "), 422, "name"),
            ("unknown field", |b| b["colour"] = json!("red"), 400, ""),
        ];
        for (label, edit, status, field) in cases {
            let mut b = body(HOME);
            edit(&mut b);
            let r = json(&app, "POST", "/api/v1/facilities", Some(&t), b).await;
            assert_eq!(r.status.as_u16(), status, "{label}: {}", r.text());
            if !field.is_empty() {
                assert!(
                    r.json()["error"]["fields"][field].is_string(),
                    "{label}: {}",
                    r.text()
                );
            }
        }
        assert!(all(&db).await.is_empty());

        let id = create(&app, &t, body(HOME)).await;
        let uri = format!("/api/v1/facilities/{id}");
        let mut b = body(HOME);
        b["spaces"][0]["area"] = json!(9999);
        assert_eq!(json(&app, "PUT", &uri, Some(&t), b).await.status, 422);
        let kept = facilities::get(&mut db.conn(), &city(), id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kept.area_x100(facilities::Purpose::Activity), 40_000);

        let term = format!("{uri}/terminals");
        let first = json(&app, "POST", &term, Some(&t), json!({"serial": "SQ-7"})).await;
        assert_eq!(first.status, 201);
        let again = json(&app, "POST", &term, Some(&t), json!({"serial": "SQ-7"})).await;
        assert_eq!(again.status, 422, "{}", again.text());
        assert!(again.json()["error"]["fields"]["serial"].is_string());
        let odd = json(&app, "POST", &term, Some(&t), json!({"serial": "SQ 7<"})).await;
        assert_eq!(odd.status, 422);
        let kept = facilities::get(&mut db.conn(), &city(), id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kept.terminals.len(), 1);

        let mut browser = Browser::new(&app);
        browser.login("community").await;
        let before = all(&db).await.len();
        let r = browser
            .post(
                "/facilities",
                &[
                    ("csrf", "forged"),
                    ("division", HOME),
                    ("name", "无令牌"),
                    ("floor_area", "100"),
                ],
            )
            .await;
        assert_eq!(r.status, 400);
        let r = browser
            .post(&format!("/facilities/{id}/delete"), &[("csrf", "forged")])
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(all(&db).await.len(), before);
    })
    .await;
}

#[tokio::test]
async fn import_reports_bad_rows_and_keeps_good_ones() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let t = token(&app, "township").await;
        let csv = "区划代码,名称,地址,建筑面积,活动用房面积,办公用房面积,功能,开放时间,建成年份,状态\n\
            430502001001,和平社区党群服务中心,宝庆路1号,650,420,120,综合服务设施、志愿服务站,周一至周五 08:30-17:30；周六 09:00-12:00,2016,在用\n\
            430502001002,东风社区党群服务中心,,300,,,,每天 08:00-18:00,,\n\
            430502001003,面积超了,,100,90,20,,,,\n\
            430502001004,时间错了,,100,,,,周一至周五 18:00-08:00,,\n\
            430502002001,不在本街道,,100,,,,,,\n\
            430502001005,状态错了,,100,,,,,,拆除\n\
            430502001006,年份错了,,100,,,,,1800,\n\
            43050200100X,代码错了,,100,,,,,,\n";
        let r = with_body(&app, "POST", "/api/v1/imports/facilities", "text/csv", Some(&t), csv).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!((v["rows"].as_i64(), v["imported"].as_i64()), (Some(8), Some(2)));
        let lines: Vec<(i64, String)> = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["line"].as_i64().unwrap(), e["code"].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(
            lines,
            vec![
                (4, "spaces_exceed_floor_area".into()),
                (5, "bad_hours".into()),
                (6, "out_of_scope".into()),
                (7, "bad_status".into()),
                (8, "bad_year".into()),
                (9, "code_not_digits".into()),
            ]
        );
        let stored = all(&db).await;
        assert_eq!(stored.len(), 2);
        let first = stored.iter().find(|f| f.row.division_code == "430502001001").unwrap();
        assert_eq!(first.spaces.len(), 2);
        assert_eq!(first.area_x100(facilities::Purpose::Office), 12_000);
        assert_eq!(first.hours.len(), 6);
        assert!(first.has_function("volunteer_station"));
        assert_eq!(first.row.year_built, Some(2016));
        let second = stored.iter().find(|f| f.row.division_code == NEIGHBOUR).unwrap();
        assert!((second.mean_daily_hours() - 10.0).abs() < 1e-9);

        let community = token(&app, "community").await;
        let r = with_body(&app, "POST", "/api/v1/imports/facilities", "text/csv", Some(&community), "名称\n某设施\n").await;
        assert_eq!(r.error_code(), "import_missing_column");
        let resident = token(&app, "resident").await;
        let r = with_body(&app, "POST", "/api/v1/imports/facilities", "text/csv", Some(&resident), csv).await;
        assert_eq!(r.status, 403);
        assert_eq!(all(&db).await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn demo_loads_with_plausible_counts_and_gaps() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let n = shequ_db::demo::facilities::load(&db, 7, now())
            .await
            .unwrap();
        let divisions = shequ_db::divisions::all(&mut db.conn()).await.unwrap();
        let villages: Vec<_> = divisions.iter().filter(|d| d.level == "village").collect();
        let townships = divisions.iter().filter(|d| d.level == "township").count();
        let stored = all(&db).await;
        assert_eq!(stored.len(), n);
        let at_village = stored
            .iter()
            .filter(|f| f.row.division_code.len() == 12)
            .count();
        assert_eq!(n - at_village, townships);
        let v = villages.len();
        assert!(
            at_village * 100 >= v * 85 && at_village * 100 <= v * 96,
            "{at_village} of {v}"
        );
        assert!(
            stored
                .iter()
                .filter(|f| f.row.division_code.len() == 12)
                .all(|f| f.has_function("comprehensive_service"))
        );
        let share = |pred: &dyn Fn(&facilities::Facility) -> bool| {
            stored
                .iter()
                .filter(|f| f.row.division_code.len() == 12 && pred(f))
                .count() as f64
                / at_village as f64
        };
        let eight = share(&|f| f.mean_daily_hours() >= 8.0);
        assert!((0.75..=0.97).contains(&eight), "{eight}");
        let roomy = share(&|f| f.activity_share().unwrap() >= 0.6);
        assert!((0.80..=0.97).contains(&roomy), "{roomy}");
        // The monitor divides by the space area; the demo agrees with itself there.
        let roomy_spaces = share(&|f| {
            let activity = f.area_x100(facilities::Purpose::Activity);
            activity * 10 >= (activity + f.area_x100(facilities::Purpose::Office)) * 6
        });
        assert!(
            (roomy_spaces - roomy).abs() < 1e-9,
            "{roomy_spaces} {roomy}"
        );
        let volunteers = share(&|f| f.has_function("volunteer_station"));
        assert!((0.75..=0.95).contains(&volunteers), "{volunteers}");
        let with_terminal = stored.iter().filter(|f| !f.terminals.is_empty()).count();
        assert!(with_terminal > 0 && with_terminal < at_village);
        assert!(stored.iter().any(|f| f.has_function("social_work_room")));
        assert!(
            stored
                .iter()
                .filter(|f| f.has_function("day_care"))
                .flat_map(|f| &f.functions)
                .filter(|x| x.function_code == "day_care")
                .all(|x| (20_000..=80_000).contains(&x.land_area_x100))
        );
        let scope = city();
        let mut c = db.conn();
        let mut pilots = 0;
        for d in &divisions {
            let code = DivisionCode::parse(&d.code).unwrap();
            if let Some(a) = facilities::get_attributes(&mut c, &scope, &code)
                .await
                .unwrap()
            {
                pilots += usize::from(a.designations.contains("education_pilot"));
            }
        }
        assert_eq!(pilots, 2);
        assert_eq!(audit_count(&db, "demo_facilities_load").await, 1);
    })
    .await;
}

#[tokio::test]
async fn pages_render_for_staff_and_are_forbidden_to_residents() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut b = Browser::new(&app);
        b.login("community").await;
        let r = b.get("/facilities").await;
        assert_eq!(r.status, 200);
        assert!(
            r.text()
                .contains("href=\"/facilities\" aria-current=\"page\"")
        );
        assert!(r.text().contains("id=\"facility-new\""));
        let r = b.get("/facilities/new").await;
        assert_eq!(r.status, 200);
        assert!(r.text().contains("name=\"hours_7\""));
        assert!(r.text().contains("name=\"land_day_care\""));

        let mut fields = vec![
            ("division", HOME),
            ("name", "和平社区党群服务中心"),
            ("address", "宝庆路1号"),
            ("floor_area", "500"),
            ("status", "in_use"),
            ("year_built", "2018"),
            ("space_name_0", "活动室"),
            ("space_purpose_0", "activity"),
            ("space_area_0", "350"),
            ("space_name_1", "办公室"),
            ("space_purpose_1", "office"),
            ("space_area_1", "100"),
            ("space_name_2", ""),
            ("space_purpose_2", "office"),
            ("space_area_2", ""),
            ("function", "comprehensive_service"),
            ("function", "day_care"),
            ("land_day_care", "260"),
            ("other_functions", "书法教室、棋牌室"),
            ("hours_1", "08:30-17:30"),
            ("hours_2", "08:30-17:30"),
            ("hours_3", "08:30-17:30"),
            ("hours_4", "08:30-17:30"),
            ("hours_5", "08:30-17:30"),
            ("hours_6", "09:00-12:00 14:00-17:00"),
            ("hours_7", ""),
            ("online_24h", "on"),
        ];
        let r = b.post("/facilities", &fields).await;
        assert_eq!(r.status, 303, "{}", r.text());
        let at = r.headers["location"].to_str().unwrap().to_owned();
        let id: i64 = at.trim_start_matches("/facilities/").parse().unwrap();
        let page = b.get(&at).await.text();
        assert!(page.contains("70.0%"), "activity share");
        assert!(page.contains("7.3 小时"), "mean daily hours");
        assert!(page.contains("不足 8 小时"));
        assert!(page.contains("棋牌室"));
        let f = facilities::get(&mut db.conn(), &city(), id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(f.hours.len(), 7);
        assert!(f.row.online_24h);

        fields.retain(|(k, _)| *k != "space_area_0");
        fields.push(("space_area_0", "450"));
        let r = b.post(&format!("/facilities/{id}"), &fields).await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("不能超过建筑面积"));
        fields.retain(|(k, _)| *k != "hours_7");
        fields.push(("hours_7", "18:00-08:00"));
        let r = b.post("/facilities", &fields).await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("周日"));
        assert_eq!(all(&db).await.len(), 1);

        let edit = b.get(&format!("/facilities/{id}/edit")).await;
        assert_eq!(edit.status, 200);
        assert!(edit.text().contains("value=\"260\""));
        let r = b
            .post(
                &format!("/facilities/{id}/terminals"),
                &[("serial", "SQ-PAGE-1"), ("model", "S1")],
            )
            .await;
        assert_eq!(r.status, 303);
        assert!(b.get(&at).await.text().contains("从未上线"));

        let attrs = format!("/divisions/{HOME}/attributes");
        assert_eq!(b.get(&attrs).await.status, 200);
        let r = b
            .post(
                &attrs,
                &[
                    ("new_build", "on"),
                    ("building_area", "80000"),
                    ("commercial_area", "9000"),
                    ("broadband", "on"),
                    ("designation", "rehab_rental_pilot"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert!(
            b.get(&format!("{attrs}?saved=1"))
                .await
                .text()
                .contains("已保存")
        );
        let scope = city();
        let a =
            facilities::get_attributes(&mut db.conn(), &scope, &DivisionCode::parse(HOME).unwrap())
                .await
                .unwrap()
                .unwrap();
        assert_eq!(
            (a.building_area_x100, a.commercial_area_x100),
            (8_000_000, 900_000)
        );
        assert_eq!(a.designations, "rehab_rental_pilot");
        let r = b
            .post(
                &attrs,
                &[("building_area", "100"), ("commercial_area", "900")],
            )
            .await;
        assert_eq!(r.status, 422);
        assert_eq!(
            b.get(&format!("/divisions/{NEIGHBOUR}/attributes"))
                .await
                .status,
            404
        );

        let mut grid = Browser::new(&app);
        grid.login("grid").await;
        assert_eq!(grid.get("/facilities").await.status, 200);
        assert_eq!(grid.get("/facilities/new").await.status, 403);
        let mut resident = Browser::new(&app);
        resident.login("resident").await;
        for uri in ["/facilities".to_owned(), at.clone(), attrs.clone()] {
            assert_eq!(resident.get(&uri).await.status, 403, "{uri}");
        }
        assert!(
            !resident
                .get("/")
                .await
                .text()
                .contains("href=\"/facilities\"")
        );

        let r = b.post(&format!("/facilities/{id}/delete"), &[]).await;
        assert_eq!(r.status, 303);
        assert!(all(&db).await.is_empty());
    })
    .await;
}
