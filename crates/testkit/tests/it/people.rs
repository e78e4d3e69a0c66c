//! Residents: scoped reads and writes, masking, audited reveal, encryption at rest,
//! bad input and attacks, over the API and the pages.

use serde_json::json;
use shequ_core::{DivisionCode, IdCardNo};
use shequ_db::people::{self, PersonInput};
use shequ_db::scope::{Actor, Scope};
use shequ_testkit::{
    Browser, app, get, json, key, now, on_each_backend, send, small_demo_with_people, token,
};

fn id_for(year: i32, seq: u16) -> String {
    IdCardNo::from_parts(
        "430502",
        chrono::NaiveDate::from_ymd_opt(year, 5, 17).unwrap(),
        seq,
    )
    .unwrap()
    .to_string()
}

/// A resident of the community the `community` login serves, created through the API.
async fn register(app: &axum::Router, token: &str, idn: &str) -> i64 {
    let body = json!({"division": "430502001001001", "name": "王秀英", "id_number": idn, "phone": "13807395678",
        "address": "宝庆路1号", "tags": ["living_alone", "dibao"]});
    let r = json(app, "POST", "/api/v1/people", Some(token), body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_i64().unwrap()
}

#[tokio::test]
async fn find_by_id_number_masked_then_reveal_and_audit() {
    on_each_backend(|db| async move {
        small_demo_with_people(&db, 300).await;
        let (_, app) = app(&db).await;
        let t = token(&app, "community").await;
        let idn = id_for(1948, 21);
        let id = register(&app, &t, &idn).await;

        let r = get_auth(&app, &format!("/api/v1/people?id_number={idn}"), &t).await;
        let v = r.json();
        assert_eq!(v["total"], 1);
        let masked = v["items"][0]["id_number"].as_str().unwrap();
        assert_eq!(masked, format!("{}********{}", &idn[..6], &idn[14..]));
        assert!(!r.text().contains(&idn), "clear ID number leaked in a list");
        assert_eq!(v["items"][0]["phone"], "138****5678");
        assert_eq!(v["items"][0]["tags"], json!(["living_alone"]));
        assert_eq!(v["items"][0]["has_protected_tags"], true);

        let r = json(
            &app,
            "POST",
            &format!("/api/v1/people/{id}/reveal"),
            Some(&t),
            json!({"field": "id_number"}),
        )
        .await;
        assert_eq!(r.json()["value"], idn);
        let r = json(
            &app,
            "POST",
            &format!("/api/v1/people/{id}/reveal"),
            Some(&t),
            json!({"field": "tags"}),
        )
        .await;
        assert_eq!(r.json()["value"], "低保");
        let r = json(
            &app,
            "POST",
            &format!("/api/v1/people/{id}/reveal"),
            Some(&t),
            json!({"field": "password"}),
        )
        .await;
        assert_eq!(r.error_code(), "unknown_field");

        let page = shequ_db::audit::search(
            &mut db.conn(),
            &shequ_db::audit::Filter {
                action: Some("reveal".into()),
                ..Default::default()
            },
            shequ_db::PageReq::new(None, None),
        )
        .await
        .unwrap();
        assert_eq!(page.total, 2);
        assert!(
            page.items
                .iter()
                .all(|e| e.actor == "community" && e.entity_id == id.to_string())
        );
        assert!(page.items.iter().all(|e| !e.detail.contains(&idn)));
        shequ_db::audit::require_intact(&mut db.conn())
            .await
            .unwrap();
    })
    .await;
}

async fn get_auth(app: &axum::Router, uri: &str, token: &str) -> shequ_testkit::Reply {
    send(
        app,
        axum::http::Request::get(uri)
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn protected_fields_are_encrypted_at_rest() {
    on_each_backend(|db| async move {
        small_demo_with_people(&db, 50).await;
        let (_, app) = app(&db).await;
        let t = token(&app, "community").await;
        let idn = id_for(1950, 33);
        let id = register(&app, &t, &idn).await;
        let scope = Scope::new(
            DivisionCode::parse("430500").unwrap(),
            shequ_core::Role::CityStaff,
            Actor::system(),
        );
        let row = people::get(&mut db.conn(), &scope, id)
            .await
            .unwrap()
            .unwrap();
        let blob = String::from_utf8_lossy(&row.id_number_enc).into_owned();
        assert!(!blob.contains(&idn) && !blob.contains(&idn[6..14]));
        assert!(!String::from_utf8_lossy(row.phone_enc.as_ref().unwrap()).contains("13807395678"));
        assert_eq!(row.tags_general, "living_alone");
        assert!(
            !String::from_utf8_lossy(row.tags_protected_enc.as_ref().unwrap()).contains("dibao")
        );
        // A different key cannot open them.
        let other = shequ_core::Protector::new(&[1u8; 32]);
        assert!(people::open_field(&other, &row, people::Protected::IdNumber).is_err());
        assert_eq!(
            people::open_field(&key(), &row, people::Protected::IdNumber).unwrap(),
            idn
        );
    })
    .await;
}

#[tokio::test]
async fn roles_and_scope_decide_what_is_seen() {
    on_each_backend(|db| async move {
        small_demo_with_people(&db, 400).await;
        // A resident in another county, registered directly in the store.
        add_second_county(&db).await;
        let scope_city = Scope::new(
            DivisionCode::parse("430500").unwrap(),
            shequ_core::Role::CityStaff,
            Actor::system(),
        );
        let other = PersonInput {
            division: DivisionCode::parse("430503001001").unwrap(),
            household_id: None,
            relation: shequ_core::Relation::Head,
            name: "赵四".into(),
            id_number: IdCardNo::parse(
                &id_for(1960, 41),
                chrono::NaiveDate::from_ymd_opt(2025, 6, 30).unwrap(),
            )
            .unwrap(),
            phone: None,
            address: String::new(),
            tags: vec![],
        };
        let other_id = people::create(&mut db.conn(), &scope_city, &key(), &other, now())
            .await
            .unwrap();
        let (_, app) = app(&db).await;

        let county = token(&app, "county").await;
        assert_eq!(
            get_auth(&app, &format!("/api/v1/people/{other_id}"), &county)
                .await
                .status,
            404
        );
        let list = get_auth(&app, "/api/v1/people?per_page=500", &county)
            .await
            .json();
        assert!(
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["division"].as_str().unwrap().starts_with("430502"))
        );
        assert_eq!(
            get_auth(&app, "/api/v1/people?division=430503", &county)
                .await
                .json()["total"],
            0
        );
        let r = json(
            &app,
            "POST",
            &format!("/api/v1/people/{other_id}/reveal"),
            Some(&county),
            json!({"field": "id_number"}),
        )
        .await;
        assert_eq!(r.status, 404);

        let city = token(&app, "city").await;
        assert_eq!(
            get_auth(&app, &format!("/api/v1/people/{other_id}"), &city)
                .await
                .status,
            200
        );
        // City staff read but do not write.
        let r = json(
            &app,
            "POST",
            "/api/v1/people",
            Some(&city),
            json!({"division": "430502001001", "name": "甲", "id_number": id_for(1970, 51)}),
        )
        .await;
        assert_eq!(r.status, 403);

        let community = token(&app, "community").await;
        register(&app, &community, &id_for(1952, 43)).await;
        let grid = token(&app, "grid").await;
        let mine = get_auth(&app, "/api/v1/people?per_page=500", &grid)
            .await
            .json();
        assert!(mine["total"].as_i64().unwrap() > 0);
        assert!(
            mine["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["division"] == "430502001001001")
        );
        let some = mine["items"][0]["id"].as_i64().unwrap();
        let r = json(
            &app,
            "POST",
            &format!("/api/v1/people/{some}/reveal"),
            Some(&grid),
            json!({"field": "id_number"}),
        )
        .await;
        assert_eq!(r.status, 403, "grid workers see masked values only");
        assert_eq!(
            get_auth(&app, "/api/v1/people?tag=dibao", &grid)
                .await
                .status,
            403
        );

        for login in [
            "admin",
            "security",
            "auditor",
            "volunteer",
            "resident",
            "dept",
        ] {
            let t = token(&app, login).await;
            assert_eq!(
                get_auth(&app, "/api/v1/people", &t).await.status,
                403,
                "{login}"
            );
        }
        assert_eq!(get(&app, "/api/v1/people").await.status, 401);
        assert_eq!(
            get_auth(&app, "/api/v1/people", "st_forged").await.status,
            401
        );
    })
    .await;
}

/// 大祥区 with one street and one community, so scope can be tested across counties.
pub async fn add_second_county(db: &shequ_db::Db) {
    use shequ_db::divisions::{NewDivision, insert};
    for code in ["430503", "430503001", "430503001001"] {
        let d = NewDivision {
            code: DivisionCode::parse(code).unwrap(),
            name: format!("测试{code}"),
            urban: true,
            urban_rural_class: None,
            figures: Default::default(),
            centroid: None,
            polygon: None,
        };
        insert(&mut db.conn(), &d, now()).await.unwrap();
    }
}

#[tokio::test]
async fn bad_people_input_is_refused_and_stores_nothing() {
    on_each_backend(|db| async move {
        small_demo_with_people(&db, 20).await;
        let (_, app) = app(&db).await;
        let t = token(&app, "community").await;
        let good = id_for(1955, 61);
        register(&app, &t, &good).await;
        let mut wrong_check = good.clone();
        wrong_check.replace_range(17..18, if good.ends_with('0') { "1" } else { "0" });
        let cases = [
            (json!({"division": "430502001001", "name": "甲", "id_number": wrong_check}), "id_number"),
            (json!({"division": "430502001001", "name": "甲", "id_number": "430502202602300012"}), "id_number"),
            (json!({"division": "430502001001", "name": "甲", "id_number": IdCardNo::from_parts("430502", chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(), 3).unwrap().to_string()}), "id_number"),
            (json!({"division": "430502001001", "name": "甲", "id_number": good}), "id_number"),
            (json!({"division": "430502001001", "name": "甲".repeat(31), "id_number": id_for(1956, 71)}), "name"),
            (json!({"division": "430502001001", "name": "甲", "id_number": id_for(1956, 73), "phone": "12345"}), "phone"),
            (json!({"division": "430502001002", "name": "甲", "id_number": id_for(1956, 75)}), "division"),
            (json!({"division": "430502001", "name": "甲", "id_number": id_for(1956, 77)}), "division"),
            (json!({"division": "430502001001", "name": "甲", "id_number": id_for(1956, 79), "tags": ["vip"]}), "tags"),
            (json!({"division": "430502001001", "name": "甲", "id_number": id_for(1956, 81), "household_id": 999999}), "household_id"),
        ];
        let before = count_all(&db).await;
        for (body, field) in cases {
            let r = json(&app, "POST", "/api/v1/people", Some(&t), body.clone()).await;
            assert_eq!(r.status, 422, "{body}: {}", r.text());
            assert_eq!(r.error_code(), "validation_failed");
            assert!(r.json()["error"]["fields"][field].is_string(), "{field} not reported for {body}: {}", r.text());
        }
        assert_eq!(count_all(&db).await, before);
        // SQL-looking search text is just text.
        let r = get_auth(&app, "/api/v1/people?name=%27%20OR%201%3D1%20--", &t).await;
        assert_eq!((r.status.as_u16(), r.json()["total"].as_i64()), (200, Some(0)));
        let r = get_auth(&app, "/api/v1/people?id_number=123", &t).await;
        assert_eq!(r.status, 400);
    })
    .await;
}

async fn count_all(db: &shequ_db::Db) -> i64 {
    let scope = Scope::new(
        DivisionCode::parse("430500").unwrap(),
        shequ_core::Role::CityStaff,
        Actor::system(),
    );
    people::count(&mut db.conn(), &scope).await.unwrap()
}

#[tokio::test]
async fn pages_need_session_and_csrf() {
    on_each_backend(|db| async move {
        small_demo_with_people(&db, 50).await;
        let (_, app) = app(&db).await;
        let mut b = Browser::new(&app);
        let r = b.get("/people").await;
        assert_eq!(r.status, 303);
        assert!(
            r.headers["location"]
                .to_str()
                .unwrap()
                .starts_with("/login?next=/people")
        );
        b.login("community").await;
        let r = b.get("/people").await;
        assert_eq!(r.status, 200);
        assert!(r.text().contains("id=\"people\""));

        let before = count_all(&db).await;
        let fields = [
            ("name", "钱七"),
            ("id_number", "430502195601010019"),
            ("division", "430502001001"),
            ("relation", "head"),
        ];
        let mut forged: Vec<(&str, &str)> = fields.to_vec();
        forged.push(("csrf", "00ff"));
        assert_eq!(b.post("/people", &forged).await.status, 400);
        let mut missing = fields.to_vec();
        missing.push(("csrf", ""));
        assert_eq!(b.post("/people", &missing).await.status, 400);
        assert_eq!(count_all(&db).await, before);

        let idn = id_for(1944, 91);
        let r = b
            .post(
                "/people",
                &[
                    ("name", "钱七"),
                    ("id_number", &idn),
                    ("division", "430502001001"),
                    ("relation", "head"),
                    ("tag", "empty_nest"),
                    ("tag", "disability"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let loc = r.headers["location"].to_str().unwrap().to_owned();
        let page = b.get(&loc).await.text();
        assert!(page.contains(&format!("{}********{}", &idn[..6], &idn[14..])));
        assert!(!page.contains(&idn));
        let revealed = b
            .post(&format!("{loc}/reveal"), &[("field", "id_number")])
            .await
            .text();
        assert!(revealed.contains(&idn));

        // A tampered session cookie is no session at all.
        b.cookies.insert("shequ_session".into(), "00".repeat(32));
        assert_eq!(b.get("/people").await.status, 303);
    })
    .await;
}

#[tokio::test]
async fn idle_sessions_expire_and_password_change_signs_out_everywhere() {
    on_each_backend(|db| async move {
        small_demo_with_people(&db, 10).await;
        let (_, app) = app(&db).await;
        let mut b = Browser::new(&app);
        b.login("community").await;
        assert_eq!(b.get("/people").await.status, 200);
        // The same store seen 31 minutes later.
        let later = shequ_web::AppState::new(
            db.clone(),
            std::sync::Arc::new(|| now() + chrono::Duration::minutes(31)),
            key(),
        )
        .await
        .unwrap();
        let mut b_later = Browser {
            app: shequ_web::router(later),
            cookies: b.cookies.clone(),
        };
        assert_eq!(b_later.get("/people").await.status, 303);

        let mut b2 = Browser::new(&app);
        b2.login("township").await;
        let t = token(&app, "township").await;
        let r = b2
            .post(
                "/account/password",
                &[
                    ("current", shequ_testkit::PASSWORD),
                    ("new_password", "Another#2025x"),
                    ("confirm", "Another#2025x"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(b2.get("/people").await.status, 303);
        assert_eq!(get_auth(&app, "/api/v1/people", &t).await.status, 401);
        let weak = b2
            .post(
                "/login",
                &[("username", "township"), ("password", "Another#2025x")],
            )
            .await;
        assert_eq!(weak.status, 303);
        let r = b2
            .post(
                "/account/password",
                &[
                    ("current", "Another#2025x"),
                    ("new_password", "township123"),
                    ("confirm", "township123"),
                ],
            )
            .await;
        assert_eq!(r.status, 422);
    })
    .await;
}

#[tokio::test]
async fn export_is_masked_and_audited() {
    on_each_backend(|db| async move {
        small_demo_with_people(&db, 400).await;
        let (_, app) = app(&db).await;
        let mut b = Browser::new(&app);
        b.login("township").await;
        let r = b.get("/people/export.xlsx").await;
        assert_eq!(r.status, 200);
        let t = shequ_reports::Table::read(&r.body, shequ_reports::Format::Xlsx).unwrap();
        assert!(!t.rows.is_empty());
        let id_col = t
            .headers
            .iter()
            .position(|h| h.contains("身份证号"))
            .unwrap();
        assert!(
            t.rows
                .iter()
                .all(|row| row.cells[id_col].contains("********"))
        );
        let f = shequ_db::audit::Filter {
            action: Some("export".into()),
            ..Default::default()
        };
        assert_eq!(
            shequ_db::audit::search(&mut db.conn(), &f, shequ_db::PageReq::new(None, None))
                .await
                .unwrap()
                .total,
            1
        );
        let mut g = Browser::new(&app);
        g.login("grid").await;
        assert_eq!(g.get("/people/export.xlsx").await.status, 403);
    })
    .await;
}

#[tokio::test]
async fn import_people_reports_each_row() {
    on_each_backend(|db| async move {
        small_demo_with_people(&db, 10).await;
        let (_, app) = app(&db).await;
        let t = token(&app, "community").await;
        let (a, b) = (id_for(1961, 101), id_for(1962, 103));
        let csv = format!("姓名,身份证号,区划代码,手机号,人群标签\n张一,{a},430502001001,13900001111,独居老人、低保\n张二,{a},430502001001,,\n张三,{b},430502002001,,\n张四,123,430502001001,,\n张五,{b},430502001001,,未知标签\n");
        let r = shequ_testkit::with_body(&app, "POST", "/api/v1/imports/people", "text/csv", Some(&t), csv).await;
        let v = r.json();
        assert_eq!((v["rows"].as_i64(), v["imported"].as_i64()), (Some(5), Some(1)), "{v}");
        let lines: Vec<i64> = v["errors"].as_array().unwrap().iter().map(|e| e["line"].as_i64().unwrap()).collect();
        assert_eq!(lines, vec![3, 4, 5, 6]);
        let found = get_auth(&app, &format!("/api/v1/people?id_number={a}"), &t).await.json();
        assert_eq!(found["items"][0]["tags"], json!(["living_alone"]));
    })
    .await;
}

#[tokio::test]
async fn organizations_need_a_valid_credit_code() {
    on_each_backend(|db| async move {
        small_demo_with_people(&db, 10).await;
        let (_, app) = app(&db).await;
        let t = token(&app, "township").await;
        let ok = json!({"name": "兴隆街道社会工作服务站", "credit_code": "91350100M000100Y43", "division": "430502001", "kind": "社会组织"});
        assert_eq!(json(&app, "POST", "/api/v1/organizations", Some(&t), ok.clone()).await.status, 201);
        assert_eq!(json(&app, "POST", "/api/v1/organizations", Some(&t), ok).await.error_code(), "validation_failed");
        let bad = json!({"name": "某组织", "credit_code": "91350100M000100Y44", "division": "430502001"});
        let r = json(&app, "POST", "/api/v1/organizations", Some(&t), bad).await;
        assert_eq!(r.status, 422);
        assert!(r.json()["error"]["fields"]["credit_code"].is_string());
        assert_eq!(get_auth(&app, "/api/v1/organizations", &t).await.json()["total"], 1);
    })
    .await;
}
