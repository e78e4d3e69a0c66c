//! The workforce registry: CRUD over the API, scope, bad input, uploads, the
//! first-year-without-mentor work list, the demo, and the pages.

use axum::Router;
use chrono::NaiveDate;
use serde_json::{Value, json};
use shequ_core::{DivisionCode, Role};
use shequ_db::scope::{Actor, Scope};
use shequ_db::workforce::{self, Filter};
use shequ_db::{Db, PageReq};
use shequ_reports::xlsx::{self, Cell};
use shequ_testkit::{
    Browser, Reply, app, demo_users, json, now, on_each_backend, send, small_demo, token, with_body,
};

const HOME: &str = "430502001001";
const NEIGHBOUR: &str = "430502001002";
const OTHER_TOWNSHIP: &str = "430502002001";

fn city() -> Scope {
    Scope::new(
        DivisionCode::parse("430500").unwrap(),
        Role::CityStaff,
        Actor::system(),
    )
}

fn today() -> NaiveDate {
    now().date_naive()
}

/// Every worker stored, active or not.
async fn all_workers(db: &Db) -> Vec<workforce::WorkerRow> {
    let f = Filter {
        include_inactive: true,
        ..Default::default()
    };
    workforce::list(&mut db.conn(), &city(), &f, PageReq::all())
        .await
        .unwrap()
        .items
}

async fn setup(db: &Db) -> Router {
    small_demo(db).await;
    demo_users(db).await;
    app(db).await.1
}

fn body(division: &str, name: &str, kind: &str, hire: &str, mentor: Option<i64>) -> Value {
    json!({"division": division, "name": name, "kind": kind, "grade": "三岗七级",
        "certificate": "助理社会工作师", "hire_date": hire, "mentor_id": mentor})
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

/// Create a worker through the API and return its id.
async fn create(app: &Router, token: &str, b: Value) -> i64 {
    let r = json(app, "POST", "/api/v1/workers", Some(token), b).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_i64().unwrap()
}

fn field_code(r: &Reply, field: &str) -> String {
    let v = r.json();
    assert_eq!(v["error"]["code"], "validation_failed", "{}", r.text());
    assert!(
        v["error"]["fields"][field].is_string(),
        "no error on {field}: {}",
        r.text()
    );
    v["error"]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn crud_round_trip_through_the_api() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let t = token(&app, "community").await;
        let a = create(
            &app,
            &t,
            body(HOME, "周建华", "专职社区工作者", "2018-03-01", None),
        )
        .await;
        let r = json(
            &app,
            "POST",
            "/api/v1/workers",
            Some(&t),
            body(HOME, "刘晓琴", "grid", "2025/3/1", Some(a)),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let v = r.json();
        let b = v["id"].as_i64().unwrap();
        assert_eq!(
            (
                &v["kind"],
                &v["certificate"],
                &v["hire_date"],
                &v["mentor_name"]
            ),
            (
                &json!("grid"),
                &json!("assistant"),
                &json!("2025-03-01"),
                &json!("周建华")
            )
        );

        let mut changed = body(HOME, "刘晓琴", "社工", "2025-03-01", Some(a));
        changed["grade"] = json!("三岗八级");
        changed["certificate"] = json!("social_worker");
        let r = json(
            &app,
            "PUT",
            &format!("/api/v1/workers/{b}"),
            Some(&t),
            changed,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            (&r.json()["kind_label"], &r.json()["grade"]),
            (&json!("社工"), &json!("三岗八级"))
        );

        for (day, hours) in [
            ("2025-05-10", 2.5),
            ("2024-12-01", 4.0),
            ("2025-01-02", 6.0),
        ] {
            let r = json(
                &app,
                "POST",
                &format!("/api/v1/workers/{b}/trainings"),
                Some(&t),
                json!({"day": day, "topic": "社区治理实务", "hours": hours}),
            )
            .await;
            assert_eq!(r.status, 201, "{}", r.text());
        }
        let d = get_auth(&app, &format!("/api/v1/workers/{b}"), &t)
            .await
            .json();
        assert_eq!(d["trainings"].as_array().unwrap().len(), 3);
        assert_eq!(d["trainings"][0]["day"], "2025-05-10");
        assert_eq!(d["hours_this_year"], 8.5);
        assert_eq!(d["mentor_id"], a);

        let list = get_auth(&app, "/api/v1/workers?name=%E6%99%93%E7%90%B4", &t)
            .await
            .json();
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["id"], b);

        // The mentor leaves: the mentee loses the mentor, lists hide the leaver.
        let mut leave = body(HOME, "周建华", "full_time", "2018-03-01", None);
        leave["active"] = json!(false);
        let r = json(
            &app,
            "PUT",
            &format!("/api/v1/workers/{a}"),
            Some(&t),
            leave,
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), &r.json()["active"]),
            (200, &json!(false))
        );
        let d = get_auth(&app, &format!("/api/v1/workers/{b}"), &t)
            .await
            .json();
        assert_eq!(d["mentor_id"], Value::Null);
        assert_eq!(
            get_auth(&app, "/api/v1/workers", &t).await.json()["total"],
            1
        );
        let all = get_auth(&app, "/api/v1/workers?include_inactive=true", &t).await;
        assert_eq!(all.json()["total"], 2);

        let actions: Vec<String> = shequ_db::audit::search(
            &mut db.conn(),
            &shequ_db::audit::Filter::default(),
            PageReq::all(),
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.action.starts_with("worker_"))
        .map(|e| e.action)
        .collect();
        for (action, n) in [
            ("worker_create", 2),
            ("worker_update", 2),
            ("worker_training_add", 3),
            ("worker_deactivate", 1),
        ] {
            assert_eq!(
                actions.iter().filter(|a| *a == action).count(),
                n,
                "{action}"
            );
        }
        shequ_db::audit::require_intact(&mut db.conn())
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_community_sees_and_changes_only_its_own_workers() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let township = token(&app, "township").await;
        let community = token(&app, "community").await;
        let mine = create(
            &app,
            &community,
            body(HOME, "王芳", "committee", "2016-05-01", None),
        )
        .await;
        let theirs = create(
            &app,
            &township,
            body(NEIGHBOUR, "李敏", "committee", "2016-05-01", None),
        )
        .await;

        let r = get_auth(&app, &format!("/api/v1/workers/{theirs}"), &community).await;
        assert_eq!(r.status, 404);
        let r = json(
            &app,
            "PUT",
            &format!("/api/v1/workers/{theirs}"),
            Some(&community),
            body(NEIGHBOUR, "改名", "committee", "2016-05-01", None),
        )
        .await;
        assert_eq!(r.status, 404);
        let r = json(
            &app,
            "POST",
            &format!("/api/v1/workers/{theirs}/trainings"),
            Some(&community),
            json!({"day": "2025-05-01", "topic": "应急处置", "hours": 3}),
        )
        .await;
        assert_eq!(r.status, 404);
        let r = json(
            &app,
            "POST",
            "/api/v1/workers",
            Some(&community),
            body(NEIGHBOUR, "张伟", "grid", "2020-01-01", None),
        )
        .await;
        assert_eq!(r.status, 422);
        field_code(&r, "division");
        // Moving one's own worker out of the area is refused too.
        let r = json(
            &app,
            "PUT",
            &format!("/api/v1/workers/{mine}"),
            Some(&community),
            body(NEIGHBOUR, "王芳", "committee", "2016-05-01", None),
        )
        .await;
        assert_eq!(r.status, 422);

        let list = get_auth(&app, "/api/v1/workers", &community).await.json();
        assert_eq!(
            (list["total"].as_i64(), &list["items"][0]["id"]),
            (Some(1), &json!(mine))
        );
        let list = get_auth(
            &app,
            &format!("/api/v1/workers?division={NEIGHBOUR}"),
            &community,
        )
        .await;
        assert_eq!(list.json()["total"], 0);
        assert_eq!(
            get_auth(&app, "/api/v1/workers", &township).await.json()["total"],
            2
        );

        let stored = all_workers(&db).await;
        assert_eq!(stored.len(), 2);
        assert!(stored.iter().any(|w| w.id == theirs && w.name == "李敏"));
        assert!(
            stored
                .iter()
                .any(|w| w.id == mine && w.division_code == HOME)
        );
        let them = workforce::trainings_of(&mut db.conn(), &city(), theirs)
            .await
            .unwrap();
        assert!(them.is_empty());

        // Residents may not read the registry; grid workers may read but not write.
        let resident = token(&app, "resident").await;
        assert_eq!(
            get_auth(&app, "/api/v1/workers", &resident).await.status,
            403
        );
        let grid = token(&app, "grid").await;
        assert_eq!(get_auth(&app, "/api/v1/workers", &grid).await.status, 200);
        let r = json(
            &app,
            "POST",
            "/api/v1/workers",
            Some(&grid),
            body(HOME, "赵强", "grid", "2020-01-01", None),
        )
        .await;
        assert_eq!(r.status, 403);
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_stored() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let t = token(&app, "community").await;
        let county = token(&app, "county").await;
        let a = create(
            &app,
            &t,
            body(HOME, "周建华", "full_time", "2015-03-01", None),
        )
        .await;
        let b = create(
            &app,
            &t,
            body(HOME, "刘晓琴", "grid", "2019-03-01", Some(a)),
        )
        .await;
        let junior = create(&app, &t, body(HOME, "彭丽", "grid", "2024-12-01", None)).await;
        let far = create(
            &app,
            &county,
            body(OTHER_TOWNSHIP, "唐勇", "full_time", "2010-01-01", None),
        )
        .await;
        let before = all_workers(&db).await;

        let long_name = "张".repeat(31);
        let cases = [
            (
                body(HOME, "甲", "full_time", "2025-07-01", None),
                "hire_date",
                "future_date",
            ),
            (
                body(HOME, "甲", "full_time", "1949-12-31", None),
                "hire_date",
                "too_early",
            ),
            (
                body(HOME, "甲", "full_time", "2025-13-01", None),
                "hire_date",
                "bad_date",
            ),
            (
                body(HOME, "甲", "志愿者", "2020-01-01", None),
                "kind",
                "bad_kind",
            ),
            (
                body(HOME, "", "full_time", "2020-01-01", None),
                "name",
                "required",
            ),
            (
                body(HOME, &long_name, "full_time", "2020-01-01", None),
                "name",
                "too_long",
            ),
            (
                body("430502001001001", "甲", "grid", "2020-01-01", None),
                "division",
                "bad_level",
            ),
            (
                body(HOME, "甲", "grid", "2025-03-01", Some(far)),
                "mentor_id",
                "mentor_elsewhere",
            ),
            (
                body(HOME, "甲", "grid", "2025-03-01", Some(junior)),
                "mentor_id",
                "mentor_too_junior",
            ),
            (
                body(HOME, "甲", "grid", "2025-03-01", Some(999_999)),
                "mentor_id",
                "unknown_mentor",
            ),
        ];
        for (b, field, code) in cases {
            let r = json(&app, "POST", "/api/v1/workers", Some(&t), b).await;
            assert_eq!(r.status, 422, "{code}: {}", r.text());
            field_code(&r, field);
            let v = r.json();
            let got = v["error"]["message"].as_str().unwrap();
            assert!(!got.is_empty(), "{code}");
        }
        let mut bad_cert = body(HOME, "甲", "grid", "2020-01-01", None);
        bad_cert["certificate"] = json!("律师");
        let r = json(&app, "POST", "/api/v1/workers", Some(&t), bad_cert).await;
        assert_eq!(r.status, 422);
        field_code(&r, "certificate");

        // Self-mentoring and a cycle (b is mentored by a; a may not be mentored by b).
        let r = json(
            &app,
            "PUT",
            &format!("/api/v1/workers/{a}"),
            Some(&t),
            body(HOME, "周建华", "full_time", "2015-03-01", Some(a)),
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("导师不能是本人"), "{}", r.text());
        let r = json(
            &app,
            "PUT",
            &format!("/api/v1/workers/{a}"),
            Some(&t),
            body(HOME, "周建华", "full_time", "2015-03-01", Some(b)),
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("循环带教"), "{}", r.text());
        // A mentor cannot become junior to their mentee.
        let r = json(
            &app,
            "PUT",
            &format!("/api/v1/workers/{a}"),
            Some(&t),
            body(HOME, "周建华", "full_time", "2019-01-01", None),
        )
        .await;
        assert_eq!(r.status, 422);
        field_code(&r, "hire_date");

        for (hours, day) in [
            (json!(0), "2025-05-01"),
            (json!(500), "2025-05-01"),
            (json!(2.25), "2025-05-01"),
            (json!(3), "2025-07-02"),
        ] {
            let r = json(
                &app,
                "POST",
                &format!("/api/v1/workers/{b}/trainings"),
                Some(&t),
                json!({"day": day, "topic": "应急处置", "hours": hours}),
            )
            .await;
            assert_eq!(r.status, 422, "{hours} {day}: {}", r.text());
        }
        let r = json(
            &app,
            "POST",
            &format!("/api/v1/workers/{b}/trainings"),
            Some(&t),
            json!({"day": "2025-05-01", "topic": "", "hours": 3}),
        )
        .await;
        assert_eq!(r.status, 422);

        // The form without its CSRF field changes nothing.
        let mut br = Browser::new(&app);
        br.login("community").await;
        let form = [
            ("name", "表单甲"),
            ("division", HOME),
            ("kind", "full_time"),
            ("certificate", "none"),
            ("hire_date", "2020-01-01"),
            ("csrf", ""),
        ];
        let r = br.post("/workers", &form).await;
        assert_eq!(r.status, 400, "{}", r.text());
        let r = br
            .post(
                &format!("/workers/{b}/trainings"),
                &[
                    ("day", "2025-05-01"),
                    ("topic", "应急处置"),
                    ("hours", "3"),
                    ("csrf", "00"),
                ],
            )
            .await;
        assert_eq!(r.status, 400);
        let r = br
            .post(&format!("/workers/{a}/deactivate"), &[("csrf", "")])
            .await;
        assert_eq!(r.status, 400);
        // With it, bad fields re-render the form with Chinese messages (422).
        let r = br
            .post(
                "/workers",
                &[
                    ("name", "表单乙"),
                    ("division", HOME),
                    ("kind", "full_time"),
                    ("hire_date", "2026-01-01"),
                ],
            )
            .await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("入职日期不能晚于今天"), "{}", r.text());
        let r = br
            .post(
                &format!("/workers/{b}/trainings"),
                &[("day", "2025-05-01"), ("topic", "应急处置"), ("hours", "0")],
            )
            .await;
        assert_eq!(r.status, 422);
        assert!(
            r.text().contains("培训学时应在 0.5 到 200 之间"),
            "{}",
            r.text()
        );

        assert_eq!(all_workers(&db).await, before);
        let trainings = workforce::trainings_of(&mut db.conn(), &city(), b)
            .await
            .unwrap();
        assert!(trainings.is_empty(), "{trainings:?}");
    })
    .await;
}

#[tokio::test]
async fn import_reports_good_and_bad_rows() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let t = token(&app, "community").await;
        let csv = format!(
            "区划代码,姓名,类别,岗位等级,证书,入职日期\n\
             {HOME},张秀英,两委成员,一岗五级,社会工作师,2019/3/5\n\
             {HOME},李强,社工,三岗二级,,2024-11-20\n\
             {HOME},王五,志愿者,,,2020-01-01\n\
             {HOME},赵六,专职网格员,,,2020-02-30\n\
             {HOME},钱七,专职网格员,,,2030-01-01\n\
             {OTHER_TOWNSHIP},孙八,专职网格员,,,2020-01-01\n\
             43050200100X,周九,专职网格员,,,2020-01-01\n\
             {HOME},吴十,专职网格员,,高级工程师,2020-01-01\n"
        );
        let uri = "/api/v1/imports/workers";
        let r = with_body(&app, "POST", uri, "text/csv", Some(&t), csv).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(
            (v["rows"].as_i64(), v["imported"].as_i64()),
            (Some(8), Some(2))
        );
        let codes: Vec<(i64, String)> = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["line"].as_i64().unwrap(),
                    e["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            codes,
            vec![
                (4, "bad_kind".into()),
                (5, "bad_date".into()),
                (6, "future_date".into()),
                (7, "out_of_scope".into()),
                (8, "code_not_digits".into()),
                (9, "bad_certificate".into()),
            ]
        );
        let stored = all_workers(&db).await;
        assert_eq!(stored.len(), 2);
        let first = stored.iter().find(|w| w.name == "张秀英").unwrap();
        assert_eq!(
            (
                first.kind.as_str(),
                first.certificate.as_str(),
                first.grade.as_str(),
                first.hire_date.to_string()
            ),
            (
                "committee",
                "social_worker",
                "一岗五级",
                "2019-03-05".to_owned()
            )
        );
        assert_eq!(
            stored
                .iter()
                .find(|w| w.name == "李强")
                .unwrap()
                .certificate,
            "none"
        );

        // xlsx, with a real date cell (an Excel serial number).
        let book = xlsx::sheet(
            "社区工作者",
            &["区划代码", "姓名", "类别", "入职日期"],
            &[vec![
                Cell::Text(HOME.into()),
                Cell::Text("郑华".into()),
                Cell::Text("专职社区工作者".into()),
                Cell::Int(45292),
            ]],
        )
        .unwrap();
        let xlsx_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        let r = with_body(&app, "POST", uri, xlsx_type, Some(&t), book).await;
        assert_eq!(r.json()["imported"], 1, "{}", r.text());
        let zheng = all_workers(&db)
            .await
            .into_iter()
            .find(|w| w.name == "郑华")
            .unwrap();
        assert_eq!(zheng.hire_date.to_string(), "2024-01-01");

        let r = with_body(
            &app,
            "POST",
            uri,
            "text/csv",
            Some(&t),
            "区划代码,姓名\n1,2\n",
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.error_code()),
            (400, "import_missing_column".into())
        );
        let grid = token(&app, "grid").await;
        let r = with_body(&app, "POST", uri, "text/csv", Some(&grid), "x").await;
        assert_eq!(r.status, 403);
        assert_eq!(all_workers(&db).await.len(), 3);
    })
    .await;
}

#[tokio::test]
async fn first_year_workers_without_a_mentor_are_listed() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let t = token(&app, "community").await;
        let township = token(&app, "township").await;
        let veteran = create(
            &app,
            &t,
            body(HOME, "老周", "committee", "2015-01-01", None),
        )
        .await;
        let alone = create(&app, &t, body(HOME, "新甲", "grid", "2025-01-10", None)).await;
        let mentored = create(
            &app,
            &t,
            body(HOME, "新乙", "grid", "2025-02-01", Some(veteran)),
        )
        .await;
        let _full_year = create(&app, &t, body(HOME, "满一年", "grid", "2024-06-30", None)).await;
        let left = create(&app, &t, body(HOME, "新丙", "grid", "2025-02-01", None)).await;
        let mut leave = body(HOME, "新丙", "grid", "2025-02-01", None);
        leave["active"] = json!(false);
        let r = json(
            &app,
            "PUT",
            &format!("/api/v1/workers/{left}"),
            Some(&t),
            leave,
        )
        .await;
        assert_eq!(r.status, 200);
        let next_door = create(
            &app,
            &township,
            body(NEIGHBOUR, "新丁", "grid", "2024-09-01", None),
        )
        .await;

        let ids = |v: Value| -> Vec<i64> {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["id"].as_i64().unwrap())
                .collect()
        };
        let uri = "/api/v1/workers?first_year_without_mentor=true";
        assert_eq!(ids(get_auth(&app, uri, &t).await.json()), vec![alone]);
        assert_eq!(
            ids(get_auth(&app, uri, &township).await.json()),
            vec![alone, next_door]
        );

        let township_scope = Scope::new(
            DivisionCode::parse("430502001").unwrap(),
            Role::TownshipStaff,
            Actor::system(),
        );
        let work = workforce::first_year_without_mentor(&mut db.conn(), &township_scope, today())
            .await
            .unwrap();
        assert_eq!(
            work.iter().map(|w| w.id).collect::<Vec<_>>(),
            vec![alone, next_door]
        );

        let mut br = Browser::new(&app);
        br.login("community").await;
        let page = br.get("/workers").await;
        assert_eq!(page.status, 200);
        assert!(
            page.text()
                .contains("本辖区有 1 名入职未满一年且未安排导师的社区工作者"),
            "{}",
            page.text()
        );
        assert!(page.text().contains("href=\"/workers?no_mentor=1\""));
        let filtered = br.get("/workers?no_mentor=1").await.text();
        assert!(
            filtered.contains("新甲") && !filtered.contains("新乙") && !filtered.contains("老周")
        );

        // The veteran leaves: their mentee joins the list.
        let mut leave = body(HOME, "老周", "committee", "2015-01-01", None);
        leave["active"] = json!(false);
        json(
            &app,
            "PUT",
            &format!("/api/v1/workers/{veteran}"),
            Some(&t),
            leave,
        )
        .await;
        assert_eq!(
            ids(get_auth(&app, uri, &t).await.json()),
            vec![alone, mentored]
        );
        assert!(br.get("/workers").await.text().contains("本辖区有 2 名"));
    })
    .await;
}

#[tokio::test]
async fn small_demo_workforce_is_plausible() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let made = shequ_db::demo::workforce::load(&db, 7, today(), now())
            .await
            .unwrap();
        let workers = all_workers(&db).await;
        assert_eq!(made, workers.len());
        assert!((300..5000).contains(&made), "{made}");

        let divisions = shequ_db::divisions::all(&mut db.conn()).await.unwrap();
        let villages: Vec<_> = divisions.iter().filter(|d| d.level == "village").collect();
        let per_village = |code: &str| workers.iter().filter(|w| w.division_code == code).count();
        let (mut urban_workers, mut urban_pop) = (0usize, 0i64);
        for v in &villages {
            let n = per_village(&v.code);
            if v.urban {
                urban_workers += n;
                urban_pop += v.urban_population;
            } else {
                assert!((3..=6).contains(&n), "{} has {n}", v.code);
            }
        }
        let per_10k = urban_workers as f64 / urban_pop as f64 * 10_000.0;
        assert!((18.0..19.5).contains(&per_10k), "{per_10k}");

        let share = |n: usize| n as f64 / workers.len() as f64;
        let new: Vec<_> = workers
            .iter()
            .filter(|w| workforce::in_first_year(w.hire_date, today()))
            .collect();
        assert!((0.04..0.13).contains(&share(new.len())), "{}", new.len());
        let mentored = new.iter().filter(|w| w.mentor_id.is_some()).count();
        let mentored_share = mentored as f64 / new.len() as f64;
        assert!(
            (0.65..1.0).contains(&mentored_share),
            "{mentored}/{}",
            new.len()
        );
        let by_id: std::collections::HashMap<i64, _> = workers.iter().map(|w| (w.id, w)).collect();
        for w in workers.iter().filter(|w| w.mentor_id.is_some()) {
            let m = by_id[&w.mentor_id.unwrap()];
            assert_eq!(m.division_code[..9], w.division_code[..9], "{}", w.id);
            assert!(
                m.hire_date <= workforce::one_year_before(w.hire_date),
                "{}",
                w.id
            );
            assert!(m.active && m.id != w.id);
        }
        let none = workers.iter().filter(|w| w.certificate == "none").count();
        assert!((0.25..0.45).contains(&share(none)), "{none}");
        let committee = workers.iter().filter(|w| w.kind == "committee").count();
        assert!(committee > 0 && committee < workers.len());
        assert!(workers.iter().all(|w| w.hire_date <= today()
            && w.hire_date > NaiveDate::from_ymd_opt(2010, 6, 1).unwrap()
            && !w.name.is_empty()
            && w.grade.ends_with('级')));

        for w in workers.iter().step_by(7) {
            let ts = workforce::trainings_of(&mut db.conn(), &city(), w.id)
                .await
                .unwrap();
            assert!((1..=4).contains(&ts.len()), "{}", w.id);
            for t in ts {
                assert!(
                    t.day < today()
                        && t.day >= workforce::one_year_before(today())
                        && t.day >= w.hire_date
                );
                assert!((20..=160).contains(&t.hours_x10), "{}", t.hours_x10);
            }
        }
    })
    .await;
}

#[tokio::test]
async fn demo_is_the_same_for_the_same_seed() {
    let mut dumps = Vec::new();
    for _ in 0..2 {
        let t = shequ_testkit::open("sqlite").await;
        small_demo(&t.db).await;
        shequ_db::demo::workforce::load(&t.db, 7, today(), now())
            .await
            .unwrap();
        let rows: Vec<_> = all_workers(&t.db)
            .await
            .into_iter()
            .map(|w| (w.division_code, w.name, w.kind, w.hire_date, w.mentor_id))
            .collect();
        dumps.push(rows);
        t.cleanup().await;
    }
    assert_eq!(dumps[0], dumps[1]);
}

#[tokio::test]
async fn pages_work_for_staff_and_refuse_residents() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut br = Browser::new(&app);
        br.login("community").await;
        let list = br.get("/workers").await;
        assert_eq!(list.status, 200);
        assert!(
            list.text()
                .contains("href=\"/workers\" aria-current=\"page\">社工队伍"),
            "{}",
            list.text()
        );
        let form = br.get("/workers/new").await;
        assert_eq!(form.status, 200);
        assert!(form.text().contains("name=\"csrf\"") && form.text().contains("专职网格员"));

        let r = br
            .post(
                "/workers",
                &[
                    ("name", "页面甲"),
                    ("division", HOME),
                    ("kind", "full_time"),
                    ("grade", "三岗三级"),
                    ("certificate", "assistant"),
                    ("hire_date", "2016-04-01"),
                    ("mentor_id", ""),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let at = r.headers["location"].to_str().unwrap().to_owned();
        let id: i64 = at.trim_start_matches("/workers/").parse().unwrap();
        let r = br
            .post(
                "/workers",
                &[
                    ("name", "页面乙"),
                    ("division", HOME),
                    ("kind", "grid"),
                    ("certificate", "none"),
                    ("hire_date", "2025-04-01"),
                    ("mentor_id", &id.to_string()),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let mentee = r.headers["location"].to_str().unwrap().to_owned();
        let page = br.get(&mentee).await.text();
        assert!(
            page.contains(&format!("<a href=\"/workers/{id}\">页面甲</a>")),
            "{page}"
        );

        let r = br
            .post(
                &format!("/workers/{id}/trainings"),
                &[
                    ("day", "2025-03-02"),
                    ("topic", "养老服务政策"),
                    ("hours", "7.5"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let detail = br.get(&at).await;
        assert_eq!(detail.status, 200);
        let text = detail.text();
        assert!(
            text.contains("页面甲") && text.contains("养老服务政策"),
            "{text}"
        );
        assert!(
            text.contains("<strong id=\"hours-this-year\">7.5</strong>"),
            "{text}"
        );

        let edit = br.get(&format!("{mentee}/edit")).await;
        assert_eq!(edit.status, 200);
        assert!(
            edit.text().contains("页面甲（"),
            "mentor list: {}",
            edit.text()
        );
        let r = br
            .post(
                &mentee,
                &[
                    ("name", "页面乙改"),
                    ("division", HOME),
                    ("kind", "grid"),
                    ("certificate", "none"),
                    ("hire_date", "2025-04-01"),
                    ("mentor_id", &id.to_string()),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let r = br
            .post(
                &mentee,
                &[
                    ("name", "页面乙改"),
                    ("division", HOME),
                    ("kind", "grid"),
                    ("certificate", "none"),
                    ("hire_date", "2025-04-01"),
                    ("mentor_id", mentee.trim_start_matches("/workers/")),
                ],
            )
            .await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("导师不能是本人"));
        let list = br.get("/workers?name=%E9%A1%B5%E9%9D%A2").await.text();
        assert!(
            list.contains("页面乙改") && list.contains("共 2 人"),
            "{list}"
        );

        let r = br.post(&format!("/workers/{id}/deactivate"), &[]).await;
        assert_eq!(r.status, 303);
        assert!(br.get(&at).await.text().contains("（已离岗）"));

        let mut resident = Browser::new(&app);
        resident.login("resident").await;
        for uri in ["/workers", "/workers/new", at.as_str()] {
            assert_eq!(resident.get(uri).await.status, 403, "{uri}");
        }
        assert!(!resident.get("/").await.text().contains("社工队伍"));
        let r = resident
            .post(
                "/workers",
                &[
                    ("name", "居民乙"),
                    ("division", HOME),
                    ("kind", "grid"),
                    ("hire_date", "2020-01-01"),
                ],
            )
            .await;
        assert_eq!(r.status, 403);
        let mut grid = Browser::new(&app);
        grid.login("grid").await;
        assert_eq!(grid.get("/workers").await.status, 200);
        assert_eq!(grid.get("/workers/new").await.status, 403);
        assert_eq!(all_workers(&db).await.len(), 2);
        let anonymous = shequ_testkit::get(&app, "/workers").await;
        assert_eq!(anonymous.status, 303);
    })
    .await;
}

/// At city scale about a fifth of the counties fall short of 18 workers per
/// 10,000 urban residents (urban communities), the city as a whole does not.
#[tokio::test]
async fn city_demo_leaves_some_counties_short() {
    on_each_backend(|db| async move {
        shequ_db::demo::load(&db, shequ_db::demo::Scale::City, 2025, now())
            .await
            .unwrap();
        let made = shequ_db::demo::workforce::load(&db, 2025, today(), now())
            .await
            .unwrap();
        assert!((15_000..40_000).contains(&made), "{made}");
        let divisions = shequ_db::divisions::all(&mut db.conn()).await.unwrap();
        let urban: std::collections::HashMap<&str, bool> = divisions
            .iter()
            .map(|d| (d.code.as_str(), d.urban))
            .collect();
        let mut counties: std::collections::BTreeMap<&str, (i64, i64)> = Default::default();
        for d in divisions.iter().filter(|d| d.level == "village" && d.urban) {
            counties.entry(&d.code[..6]).or_default().1 += d.urban_population;
        }
        for w in all_workers(&db).await {
            if urban[w.division_code.as_str()] {
                counties.get_mut(&w.division_code[..6]).unwrap().0 += 1;
            }
        }
        let ratio = |(w, u): (i64, i64)| w as f64 / u as f64 * 10_000.0;
        let short = counties.values().filter(|c| ratio(**c) < 18.0).count();
        assert_eq!(counties.len(), 12);
        assert!((1..=4).contains(&short), "{counties:?}");
        let city = counties
            .values()
            .fold((0, 0), |(w, u), (cw, cu)| (w + cw, u + cu));
        assert!((18.0..19.0).contains(&ratio(city)), "{}", ratio(city));
    })
    .await;
}

/// Every write refreshes the indicators of the divisions it touches, in its transaction.
#[tokio::test]
async fn writes_keep_the_indicators_current() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let t = token(&app, "township").await;
        let value = |id: &'static str, code: &'static str| {
            let db = db.clone();
            async move {
                let v = shequ_db::indicators::values_for(&mut db.conn(), &[code.to_owned()])
                    .await
                    .unwrap();
                v.get(&(id.to_owned(), code.to_owned()))
                    .map_or(0, |(n, _)| *n)
            }
        };
        let workers = "workers_per_10k_urban";
        let mentored = "new_worker_mentor_coverage";
        let a = create(
            &app,
            &t,
            body(HOME, "周建华", "full_time", "2015-03-01", None),
        )
        .await;
        assert_eq!(value(workers, HOME).await, 1);
        let b = create(
            &app,
            &t,
            body(HOME, "刘晓琴", "grid", "2025-03-01", Some(a)),
        )
        .await;
        assert_eq!(value(workers, HOME).await, 2);
        assert_eq!(value(mentored, "430502001").await, 1);

        // A move refreshes both communities.
        let r = json(
            &app,
            "PUT",
            &format!("/api/v1/workers/{b}"),
            Some(&t),
            body(NEIGHBOUR, "刘晓琴", "grid", "2025-03-01", Some(a)),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            (value(workers, HOME).await, value(workers, NEIGHBOUR).await),
            (1, 1)
        );

        // The mentor leaves: one worker fewer, and the mentee's township loses a mentored new hire.
        let mut leave = body(HOME, "周建华", "full_time", "2015-03-01", None);
        leave["active"] = json!(false);
        let r = json(
            &app,
            "PUT",
            &format!("/api/v1/workers/{a}"),
            Some(&t),
            leave,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(value(workers, HOME).await, 0);
        assert_eq!(value(mentored, "430502001").await, 0);
    })
    .await;
}
