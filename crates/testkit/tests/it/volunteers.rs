//! Volunteers: registration by staff and by the volunteer themselves, teams,
//! stations (the facility gains and loses the volunteer-station function),
//! activities with weekly series, sign-ups (quota, no double-booking),
//! check-in/check-out with the venue code inside the window, the organiser's
//! hour confirmation, corrections, the volunteer's own record, scope, and every
//! refusal leaving nothing stored.

use axum::Router;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use shequ_core::{DivisionCode, IdCardNo, Role};
use shequ_db::Db;
use shequ_db::scope::{Actor, Scope};
use shequ_db::volunteers as store;
use shequ_testkit::{
    Browser, Reply, demo_users, json, key, now, on_each_backend, password_hash, send, small_demo,
    token,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

const V1: &str = "430502001001";
const V2: &str = "430502001002";

fn city() -> Scope {
    Scope::new(
        DivisionCode::parse("430500").unwrap(),
        Role::CityStaff,
        Actor::system(),
    )
}

/// A clock the test moves.
#[derive(Clone)]
struct Clock(Arc<AtomicI64>);

impl Clock {
    fn set(&self, t: DateTime<Utc>) {
        self.0.store(t.timestamp(), Ordering::SeqCst);
    }
}

async fn setup(db: &Db) -> (Router, Clock) {
    small_demo(db).await;
    demo_users(db).await;
    let u = shequ_db::users::NewUser {
        username: "community2".into(),
        display_name: "邻近社区工作者".into(),
        role: Role::CommunityStaff,
        division: DivisionCode::parse(V2).unwrap(),
        password_hash: password_hash(),
    };
    shequ_db::users::create(&mut db.conn(), &Actor::system(), &u, now())
        .await
        .unwrap();
    let t = Arc::new(AtomicI64::new(now().timestamp()));
    let read = t.clone();
    let clock: shequ_web::state::Clock = Arc::new(move || {
        Utc.timestamp_opt(read.load(Ordering::SeqCst), 0)
            .single()
            .unwrap()
    });
    let state = shequ_web::AppState::new(db.clone(), clock, key())
        .await
        .unwrap();
    (shequ_web::router(state), Clock(t))
}

fn id_number(seq: u16) -> String {
    IdCardNo::from_parts("430502", NaiveDate::from_ymd_opt(1980, 3, 1).unwrap(), seq)
        .unwrap()
        .as_str()
        .to_owned()
}

fn registration(name: &str, seq: u16) -> Value {
    json!({
        "division": V1, "name": name, "id_number": id_number(seq), "phone": "13912345678",
        "skills": "急救，理发、陪诊", "availability": "周末上午", "consent": true,
    })
}

async fn volunteers_stored(db: &Db) -> i64 {
    store::list(
        &mut db.conn(),
        &city(),
        &Default::default(),
        shequ_db::PageReq::new(None, None),
    )
    .await
    .unwrap()
    .total
}

async fn activities_stored(db: &Db) -> i64 {
    store::list_activities(
        &mut db.conn(),
        None,
        &Default::default(),
        shequ_db::PageReq::new(None, None),
    )
    .await
    .unwrap()
    .total
}

fn fields(r: &Reply) -> Vec<String> {
    let v = r.json();
    assert_eq!(v["error"]["code"], "validation_failed", "{}", r.text());
    v["error"]["fields"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn refused(r: &Reply, code: &str) {
    assert_eq!(
        (r.status.as_u16(), r.error_code()),
        (400, code.to_owned()),
        "{}",
        r.text()
    );
}

fn activity(title: &str, starts: DateTime<Utc>, minutes: i64, quota: i64) -> Value {
    json!({
        "title": title, "description": "为辖区独居老人上门理发", "division": V1,
        "place": "和平社区党群服务中心", "starts_at": starts, "ends_at": starts + Duration::minutes(minutes),
        "quota": quota, "skills": "理发", "category": "elder_care",
    })
}

async fn publish(app: &Router, t: &str, body: Value) -> Value {
    let r = json(app, "POST", "/api/v1/volunteer-activities", Some(t), body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

async fn post(app: &Router, uri: &str, t: &str, body: Value) -> Reply {
    json(app, "POST", uri, Some(t), body).await
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

#[tokio::test]
async fn register_sign_up_check_in_and_confirm_hours() {
    on_each_backend(|db| async move {
        let (app, clock) = setup(&db).await;
        let community = token(&app, "community").await;
        let community2 = token(&app, "community2").await;
        let me = token(&app, "volunteer").await;

        // Registration by staff; the number carries its check character.
        let r = post(&app, "/api/v1/volunteers", &community, registration("张志愿", 11)).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let zhang = r.json();
        let no = zhang["volunteer_no"].as_str().unwrap().to_owned();
        assert!(shequ_core::volunteers::valid_volunteer_no(&no), "{no}");
        assert!(no.starts_with("ZY430502"));
        assert_eq!(zhang["skills"], json!(["急救", "理发", "陪诊"]));
        assert!(zhang["id_number"].as_str().unwrap().contains('*'));
        let zhang_id = zhang["id"].as_i64().unwrap();

        // Refusals store nothing.
        let before = volunteers_stored(&db).await;
        let r = post(&app, "/api/v1/volunteers", &community, registration("重复者", 11)).await;
        refused(&r, "duplicate_volunteer");
        let mut no_consent = registration("未同意", 12);
        no_consent["consent"] = json!(false);
        let r = post(&app, "/api/v1/volunteers", &community, no_consent).await;
        refused(&r, "consent_required");
        let mut bad_id = registration("错号", 12);
        bad_id["id_number"] = json!("430502198003010000");
        let r = post(&app, "/api/v1/volunteers", &community, bad_id).await;
        assert_eq!((r.status.as_u16(), fields(&r)), (422, vec!["id_number".to_owned()]));
        let mut elsewhere = registration("邻社区", 12);
        elsewhere["division"] = json!(V2);
        let r = post(&app, "/api/v1/volunteers", &community, elsewhere).await;
        assert_eq!((r.status.as_u16(), fields(&r)), (422, vec!["division".to_owned()]));
        let mut bad_phone = registration("错电话", 12);
        bad_phone["phone"] = json!("123");
        let r = post(&app, "/api/v1/volunteers", &community, bad_phone).await;
        assert_eq!(r.status, 422);
        assert_eq!(volunteers_stored(&db).await, before);

        // Self-registration by the volunteer login.
        let mut mine = registration("李自愿", 21);
        mine.as_object_mut().unwrap().remove("division");
        let r = post(&app, "/api/v1/volunteers/self", &me, mine.clone()).await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!((&r.json()["has_login"], &r.json()["division"]), (&json!(true), &json!(V1)));
        mine["id_number"] = json!(id_number(22));
        let r = post(&app, "/api/v1/volunteers/self", &me, mine).await;
        refused(&r, "account_linked");

        // Reveal is for staff with the capability, and returns the clear number.
        let r = post(
            &app,
            &format!("/api/v1/volunteers/{zhang_id}/reveal"),
            &community,
            json!({"field": "id_number"}),
        )
        .await;
        assert_eq!((r.status.as_u16(), r.json()["value"].as_str().unwrap()), (200, id_number(11).as_str()));
        let r = post(&app, &format!("/api/v1/volunteers/{zhang_id}/reveal"), &community2, json!({"field": "id_number"})).await;
        assert_eq!(r.status, 404);

        // Publishing: bad input stores nothing.
        let start = now() + Duration::hours(2);
        let n = activities_stored(&db).await;
        for (field, body) in [
            ("ends_at", activity("倒挂", start, -30, 2)),
            ("quota", activity("无名额", start, 120, 0)),
            ("title", activity("", start, 120, 2)),
            ("starts_at", activity("过去的", now() - Duration::hours(1), 60, 2)),
        ] {
            let r = post(&app, "/api/v1/volunteer-activities", &community, body).await;
            assert_eq!((r.status.as_u16(), fields(&r)), (422, vec![field.to_owned()]), "{field}");
        }
        let mut bad_cat = activity("类别", start, 60, 2);
        bad_cat["category"] = json!("party");
        let r = post(&app, "/api/v1/volunteer-activities", &community, bad_cat).await;
        assert_eq!(r.status, 422);
        let r = post(&app, "/api/v1/volunteer-activities", &me, activity("越权", start, 60, 2)).await;
        assert_eq!(r.status, 403);
        assert_eq!(activities_stored(&db).await, n);

        let a = publish(&app, &community, activity("上门理发", start, 120, 2)).await;
        let aid = a["id"].as_i64().unwrap();
        let code = a["checkin_code"].as_str().unwrap().to_owned();
        assert_eq!(code.len(), 6);
        assert_eq!(a["elder_care"], true);
        // The volunteer sees the activity, not its code.
        let r = get(&app, &format!("/api/v1/volunteer-activities/{aid}"), &me).await;
        assert_eq!((r.status.as_u16(), &r.json()["checkin_code"]), (200, &Value::Null));
        let r = get(&app, &format!("/api/v1/volunteer-activities?division={V1}&from=2025-06-30&to=2025-06-30"), &me).await;
        assert!(r.json()["items"].as_array().unwrap().iter().any(|i| i["id"] == aid), "{}", r.text());

        // A weekly series: three occurrences sharing a group.
        let mut weekly = activity("周三健身指导", start + Duration::days(1), 60, 5);
        weekly["weekly_occurrences"] = json!(3);
        weekly["category"] = json!("culture");
        let w = publish(&app, &community, weekly).await;
        assert_eq!(w["elder_care"], false);
        let group = w["recurrence_group"].as_str().unwrap().to_owned();
        let r = get(&app, "/api/v1/volunteer-activities?category=culture", &community).await;
        let items = r.json()["items"].as_array().unwrap().clone();
        assert_eq!(items.iter().filter(|i| i["recurrence_group"] == group.as_str()).count(), 3);
        assert_eq!(
            (chrono::DateTime::parse_from_rfc3339(items[1]["starts_at"].as_str().unwrap()).unwrap()
                - chrono::DateTime::parse_from_rfc3339(items[0]["starts_at"].as_str().unwrap()).unwrap())
            .num_days(),
            7
        );

        // Sign-ups: self, twice, overlapping, by staff, beyond the quota.
        let signups = format!("/api/v1/volunteer-activities/{aid}/signups");
        let r = post(&app, &signups, &me, json!({})).await;
        assert_eq!(r.status, 201, "{}", r.text());
        refused(&post(&app, &signups, &me, json!({})).await, "already_signed_up");
        let other = publish(&app, &community, activity("同时段活动", start + Duration::hours(1), 60, 5)).await;
        let other_id = other["id"].as_i64().unwrap();
        refused(
            &post(&app, &format!("/api/v1/volunteer-activities/{other_id}/signups"), &me, json!({})).await,
            "overlapping_signup",
        );
        let r = post(&app, &signups, &community, json!({"volunteer_id": zhang_id})).await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["activity"]["places_left"], 0);
        let r = post(&app, "/api/v1/volunteers", &community, registration("王满员", 31)).await;
        let wang = r.json()["id"].as_i64().unwrap();
        refused(&post(&app, &signups, &community, json!({"volunteer_id": wang})).await, "quota_full");
        // Staff of another community cannot sign up volunteers of this one.
        let r = post(&app, &signups, &community2, json!({"volunteer_id": wang})).await;
        assert_eq!(r.status, 404);
        // Withdrawing before the start frees the place; the cancelled sign-up can be taken up again.
        let r = post(&app, &format!("{signups}/cancel"), &community, json!({"volunteer_id": zhang_id})).await;
        assert_eq!(r.status, 204, "{}", r.text());
        let r = post(&app, &signups, &community, json!({"volunteer_id": zhang_id})).await;
        assert_eq!(r.status, 201, "{}", r.text());
        // The other activity no longer overlaps anything of wang's.
        let r = post(&app, &format!("/api/v1/volunteer-activities/{other_id}/signups"), &community, json!({"volunteer_id": wang})).await;
        assert_eq!(r.status, 201);

        // Check-in: too early, wrong code, right code, twice.
        let checkin = format!("/api/v1/volunteer-activities/{aid}/checkin");
        let checkout = format!("/api/v1/volunteer-activities/{aid}/checkout");
        refused(&post(&app, &checkin, &me, json!({"code": code})).await, "outside_activity_window");
        clock.set(start - Duration::minutes(20));
        let wrong = if code == "000000" { "111111" } else { "000000" };
        refused(&post(&app, &checkin, &me, json!({"code": wrong})).await, "wrong_checkin_code");
        let r = post(&app, &checkin, &me, json!({"code": code})).await;
        assert_eq!((r.status.as_u16(), r.json()["state"].as_str()), (200, Some("checked_in")), "{}", r.text());
        refused(&post(&app, &checkin, &me, json!({"code": code})).await, "already_checked_in");
        // Check-out is not open before the start.
        refused(&post(&app, &checkout, &me, json!({"code": code})).await, "outside_activity_window");
        // After the start nobody withdraws.
        clock.set(start + Duration::minutes(10));
        let r = post(&app, &format!("{signups}/cancel"), &community, json!({"volunteer_id": zhang_id})).await;
        refused(&r, "activity_started");
        // Check-out until two hours after the end.
        clock.set(start + Duration::minutes(120 + 150));
        refused(&post(&app, &checkout, &me, json!({"code": code})).await, "outside_activity_window");
        clock.set(start + Duration::minutes(120 + 60));
        let r = post(&app, &checkout, &me, json!({"code": code})).await;
        assert_eq!(r.status, 200, "{}", r.text());

        // Hours: another community's worker cannot see or confirm.
        let r = get(&app, &signups, &community2).await;
        assert_eq!(r.status, 404);
        let r = get(&app, &signups, &community).await;
        let lines = r.json()["items"].as_array().unwrap().clone();
        let mine_line = lines.iter().find(|l| l["state"] == "checked_in").unwrap().clone();
        let zhang_line = lines.iter().find(|l| l["volunteer_id"] == zhang_id).unwrap().clone();
        assert_eq!(mine_line["default_minutes"], 120);
        let hours = format!("/api/v1/volunteer-activities/{aid}/hours");
        let r = post(&app, &hours, &community2, json!({"entries": [{"signup_id": mine_line["id"]}]})).await;
        assert_eq!(r.status, 404);
        // More than the activity lasted: refused, nothing stored (the whole batch).
        let r = post(
            &app,
            &hours,
            &community,
            json!({"entries": [{"signup_id": zhang_line["id"], "no_show": true}, {"signup_id": mine_line["id"], "minutes": 121}]}),
        )
        .await;
        refused(&r, "hours_exceed_activity");
        let r = get(&app, &signups, &community).await;
        assert!(r.json()["items"].as_array().unwrap().iter().all(|l| l["minutes"].is_null() && l["state"] != "no_show"));
        let r = post(
            &app,
            &hours,
            &community,
            json!({"entries": [{"signup_id": zhang_line["id"], "no_show": true}, {"signup_id": mine_line["id"]}]}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let after = r.json()["items"].as_array().unwrap().clone();
        let m = after.iter().find(|l| l["id"] == mine_line["id"]).unwrap();
        assert_eq!((&m["state"], &m["minutes"]), (&json!("completed"), &json!(120)));
        let z = after.iter().find(|l| l["id"] == zhang_line["id"]).unwrap();
        assert_eq!(z["state"], "no_show");
        // Confirming twice is refused: corrections need a reason and are logged.
        let r = post(&app, &hours, &community, json!({"entries": [{"signup_id": mine_line["id"], "minutes": 60}]})).await;
        refused(&r, "already_confirmed");
        let sid = mine_line["id"].as_i64().unwrap();
        let correction = format!("/api/v1/volunteer-signups/{sid}/correction");
        refused(&post(&app, &correction, &community, json!({"minutes": 90})).await, "reason_required");
        refused(&post(&app, &correction, &community, json!({"minutes": 999, "reason": "多记"})).await, "hours_exceed_activity");
        let r = post(&app, &correction, &community2, json!({"minutes": 90, "reason": "越权"})).await;
        assert_eq!(r.status, 404);
        let r = post(&app, &correction, &community, json!({"minutes": 90, "reason": "志愿者申请更正：提前离场半小时"})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let log = r.json()["items"].as_array().unwrap().clone();
        assert_eq!(log.len(), 1);
        assert_eq!((&log[0]["old_minutes"], &log[0]["new_minutes"]), (&json!(120), &json!(90)));
        let corrections = store::corrections(&mut db.conn(), sid).await.unwrap();
        assert_eq!(corrections.len(), 1);

        // The volunteer's own record.
        let r = get(&app, "/api/v1/volunteers/me", &me).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let rec = r.json();
        assert_eq!((&rec["total_minutes"], &rec["total_hours"], &rec["completed"]), (&json!(90), &json!("1.5"), &json!(1)));
        let r = get(&app, "/api/v1/volunteers/me", &community).await;
        refused(&r, "not_a_volunteer");

        // Cancelling an activity cancels its sign-ups.
        clock.set(now());
        let r = post(&app, &format!("/api/v1/volunteer-activities/{other_id}/cancel"), &community, json!({"reason": ""})).await;
        assert_eq!(r.status, 422);
        let r = post(&app, &format!("/api/v1/volunteer-activities/{other_id}/cancel"), &community, json!({"reason": "天气原因"})).await;
        assert_eq!((r.status.as_u16(), r.json()["state"].as_str()), (200, Some("cancelled")));
        assert_eq!(r.json()["signed_up"], 0);
        let r = post(&app, &format!("/api/v1/volunteer-activities/{other_id}/cancel"), &community, json!({"reason": "再次"})).await;
        refused(&r, "activity_not_open");
    })
    .await;
}

#[tokio::test]
async fn teams_and_stations() {
    on_each_backend(|db| async move {
        let (app, _clock) = setup(&db).await;
        let community = token(&app, "community").await;
        let community2 = token(&app, "community2").await;
        let r = post(&app, "/api/v1/volunteers", &community, registration("队长甲", 41)).await;
        let leader = r.json()["id"].as_i64().unwrap();
        let r = post(&app, "/api/v1/volunteers", &community, registration("队员乙", 42)).await;
        let member = r.json()["id"].as_i64().unwrap();

        let r = post(&app, "/api/v1/volunteer-teams", &community, json!({"name": "应急队", "kind": "fire"})).await;
        assert_eq!(r.status, 400);
        let r = post(
            &app,
            "/api/v1/volunteer-teams",
            &community,
            json!({"name": "和平社区应急救援队", "kind": "emergency_rescue", "leader_volunteer_id": leader}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let team = r.json();
        assert_eq!((&team["kind_label"], &team["members"], &team["division"]), (&json!("应急救援队"), &json!(1), &json!(V1)));
        let tid = team["id"].as_i64().unwrap();
        let r = post(&app, &format!("/api/v1/volunteer-teams/{tid}/members"), &community, json!({"volunteer_id": member})).await;
        assert_eq!(r.json()["member_list"].as_array().unwrap().len(), 2, "{}", r.text());
        let r = post(&app, &format!("/api/v1/volunteer-teams/{tid}/members"), &community2, json!({"volunteer_id": member})).await;
        assert_eq!(r.status, 404);
        let r = get(&app, &format!("/api/v1/volunteers?team_id={tid}&skill=理发"), &community).await;
        assert_eq!(r.json()["total"], 2, "{}", r.text());

        // A station in a facility of the township: the facility gains the function, and loses it on closing.
        shequ_db::demo::facilities::load(&db, 7, now())
            .await
            .unwrap();
        let facilities = shequ_db::facilities::list(
            &mut db.conn(),
            &city(),
            &shequ_db::facilities::Filter {
                division: Some(DivisionCode::parse("430502001").unwrap()),
                ..Default::default()
            },
            shequ_db::PageReq::new(None, Some(500)),
        )
        .await
        .unwrap();
        let f = facilities
            .items
            .iter()
            .find(|f| !f.has_function("volunteer_station"))
            .or_else(|| facilities.items.first())
            .expect("a facility in the township");
        let fid = f.row.id;
        let township = token(&app, "township").await;
        let outsider = if f.row.division_code.starts_with(V1) {
            &community2
        } else {
            &community
        };
        let r = post(
            &app,
            "/api/v1/volunteer-stations",
            outsider,
            json!({"facility_id": fid, "name": "越权站"}),
        )
        .await;
        assert_eq!(r.status, 422);
        let r = post(
            &app,
            "/api/v1/volunteer-stations",
            &township,
            json!({"facility_id": fid, "name": "和平社区志愿服务站"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let sid = r.json()["id"].as_i64().unwrap();
        let has = |db: Db| async move {
            shequ_db::facilities::get(&mut db.conn(), &city(), fid)
                .await
                .unwrap()
                .unwrap()
                .has_function("volunteer_station")
        };
        assert!(has(db.clone()).await);
        let r = post(&app, "/api/v1/volunteer-stations", &township, json!({"facility_id": fid, "name": "重复"})).await;
        assert_eq!(r.status, 422);
        let r = post(&app, &format!("/api/v1/volunteer-stations/{sid}/close"), &township, json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(!has(db.clone()).await);
        let r = post(&app, "/api/v1/volunteer-stations", &township, json!({"facility_id": fid, "name": "和平社区志愿服务站"})).await;
        assert_eq!((r.status.as_u16(), r.json()["id"].as_i64()), (201, Some(sid)));
        assert!(has(db.clone()).await);
    })
    .await;
}

#[tokio::test]
async fn pages_for_volunteers_and_organisers() {
    on_each_backend(|db| async move {
        let (app, clock) = setup(&db).await;
        let community = token(&app, "community").await;
        let me = token(&app, "volunteer").await;
        let mut mine = registration("李自愿", 21);
        mine.as_object_mut().unwrap().remove("division");
        let r = post(&app, "/api/v1/volunteers/self", &me, mine).await;
        assert_eq!(r.status, 201);
        let start = now() + Duration::hours(1);
        let a = publish(&app, &community, activity("社区清扫", start, 90, 10)).await;
        let aid = a["id"].as_i64().unwrap();
        let code = a["checkin_code"].as_str().unwrap().to_owned();

        let mut staff = Browser::new(&app);
        staff.login("community").await;
        for uri in [
            "/volunteers".to_owned(),
            "/volunteers/new".to_owned(),
            "/volunteer-activities".to_owned(),
            "/volunteer-activities/new".to_owned(),
            format!("/volunteer-activities/{aid}"),
            format!("/volunteer-activities/{aid}/venue"),
            format!("/volunteer-activities/{aid}/hours"),
            "/volunteer-teams".to_owned(),
        ] {
            let r = staff.get(&uri).await;
            assert_eq!(r.status, 200, "{uri}: {}", r.text());
        }
        let venue = staff
            .get(&format!("/volunteer-activities/{aid}/venue"))
            .await
            .text();
        assert!(venue.contains(&code) && venue.contains("<svg"), "{venue}");

        let mut vol = Browser::new(&app);
        vol.login("volunteer").await;
        let r = vol.get(&format!("/volunteer-activities/{aid}")).await;
        assert!(!r.text().contains(&code));
        let r = vol
            .post(&format!("/volunteer-activities/{aid}/signup"), &[])
            .await;
        assert!(r.status.is_redirection() || r.status == 200, "{}", r.text());
        let r = vol.get(&format!("/volunteer-activities/{aid}")).await;
        assert!(r.text().contains("已报名"), "{}", r.text());
        clock.set(start);
        // Sessions idle out; sign in again at the venue.
        let mut vol = Browser::new(&app);
        vol.login("volunteer").await;
        let r = vol
            .post(
                &format!("/volunteer-activities/{aid}/checkin"),
                &[("code", code.as_str()), ("action", "checkin")],
            )
            .await;
        assert!(r.status.is_redirection() || r.status == 200, "{}", r.text());
        let r = vol.get("/my/volunteering").await;
        assert!(
            r.text().contains("社区清扫") && r.text().contains("已签到"),
            "{}",
            r.text()
        );
        let r = vol
            .post(
                &format!("/volunteer-activities/{aid}/checkin"),
                &[("code", "999999"), ("action", "checkin")],
            )
            .await;
        assert!(
            r.text().contains("签到码不正确") || r.text().contains("已经签到"),
            "{}",
            r.text()
        );
        // The QR address opens the check-in page with the code filled in.
        let r = vol
            .get(&format!("/volunteer-activities/{aid}/checkin?code={code}"))
            .await;
        assert!(
            r.text().contains(&format!("value=\"{code}\"")),
            "{}",
            r.text()
        );
        // The organiser confirms the default minutes on the hours page.
        let mut staff = Browser::new(&app);
        staff.login("community").await;
        let lines = get(
            &app,
            &format!("/api/v1/volunteer-activities/{aid}/signups"),
            &community,
        )
        .await
        .json();
        let sid = lines["items"][0]["id"].as_i64().unwrap();
        let act = format!("act{sid}");
        let r = staff
            .post(
                &format!("/volunteer-activities/{aid}/hours"),
                &[(act.as_str(), "confirm")],
            )
            .await;
        assert!(r.status.is_redirection(), "{}", r.text());
        let r = vol.get("/my/volunteering").await;
        assert!(
            r.text().contains("已完成") && r.text().contains("1.5"),
            "{}",
            r.text()
        );
        let r = staff.get("/volunteers/hours.xlsx").await;
        assert_eq!(r.status, 200);
        assert!(r.body.starts_with(b"PK"));
    })
    .await;
}

#[tokio::test]
async fn demo_volunteers_with_the_login_record() {
    on_each_backend(|db| async move {
        shequ_testkit::small_demo_with_people(&db, 3_000).await;
        shequ_db::demo::facilities::load(&db, 7, now())
            .await
            .unwrap();
        let t = std::time::Instant::now();
        let s = shequ_db::demo::volunteers::load(&db, &key(), 7, now())
            .await
            .unwrap();
        eprintln!(
            "demo volunteers: {s:?} in {:.2}s",
            t.elapsed().as_secs_f64()
        );
        assert!(s.volunteers > 150 && s.volunteers < 330, "{s:?}");
        assert!(s.teams > 0 && s.stations > 0 && s.activities > 0 && s.upcoming > 0);
        assert!(s.confirmed > 0 && s.no_shows > 0);
        assert!(s.login_volunteer.is_some());
        let (app, _clock) = {
            let t = Arc::new(AtomicI64::new(now().timestamp()));
            let read = t.clone();
            let clock: shequ_web::state::Clock = Arc::new(move || {
                Utc.timestamp_opt(read.load(Ordering::SeqCst), 0)
                    .single()
                    .unwrap()
            });
            let state = shequ_web::AppState::new(db.clone(), clock, key())
                .await
                .unwrap();
            (shequ_web::router(state), Clock(t))
        };
        let me = token(&app, "volunteer").await;
        let r = get(&app, "/api/v1/volunteers/me", &me).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let rec = r.json();
        assert!(rec["total_minutes"].as_i64().unwrap() > 0, "{rec}");
        assert_eq!(
            rec["volunteer"]["division"].as_str().unwrap().get(0..12),
            Some(V1)
        );
        let lines = rec["lines"].as_array().unwrap();
        assert!(lines.iter().any(|l| l["state"] == "signed_up"), "{rec}");
        // The people row's sealed ID number opens as the volunteer's.
        let community = token(&app, "community").await;
        let vid = rec["volunteer"]["id"].as_i64().unwrap();
        let r = post(
            &app,
            &format!("/api/v1/volunteers/{vid}/reveal"),
            &community,
            json!({"field": "id_number"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["value"].as_str().unwrap().len(), 18);
        // A newly registered volunteer continues the county's sequence.
        let r = post(
            &app,
            "/api/v1/volunteers",
            &community,
            registration("新登记", 77),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        // Registering an existing resident links their people row.
        let staff = Scope::new(
            DivisionCode::parse(V1).unwrap(),
            Role::CommunityStaff,
            Actor::system(),
        );
        let found = store::list(
            &mut db.conn(),
            &staff,
            &Default::default(),
            shequ_db::PageReq::new(None, Some(500)),
        )
        .await
        .unwrap();
        assert!(
            found
                .items
                .iter()
                .all(|v| shequ_core::volunteers::valid_volunteer_no(&v.volunteer_no))
        );
        assert!(found.items.iter().filter(|v| v.person_id.is_some()).count() > 0);
    })
    .await;
}

/// City scale (500,000 residents): how long the volunteer demo takes. Run with
/// `cargo test -p shequ-testkit --test it demo_volunteers_city -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn demo_volunteers_city_scale_timing() {
    let t = shequ_testkit::TestDb::sqlite().await;
    let db = t.db.clone();
    shequ_db::demo::load(&db, shequ_db::demo::Scale::City, 7, now())
        .await
        .unwrap();
    demo_users(&db).await;
    let started = std::time::Instant::now();
    shequ_db::demo::people::load(&db, &key(), 7, 500_000, now())
        .await
        .unwrap();
    shequ_db::demo::facilities::load(&db, 7, now())
        .await
        .unwrap();
    eprintln!(
        "people + facilities: {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let started = std::time::Instant::now();
    let s = shequ_db::demo::volunteers::load(&db, &key(), 7, now())
        .await
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    eprintln!("demo volunteers at city scale: {s:?} in {secs:.1}s");
    t.cleanup().await;
}

#[tokio::test]
async fn demo_links_the_login_even_with_few_residents() {
    on_each_backend(|db| async move {
        shequ_testkit::small_demo_with_people(&db, 200).await;
        let s = shequ_db::demo::volunteers::load(&db, &key(), 3, now())
            .await
            .unwrap();
        assert!(s.login_volunteer.is_some(), "{s:?}");
        assert!(s.upcoming > 0, "{s:?}");
    })
    .await;
}
