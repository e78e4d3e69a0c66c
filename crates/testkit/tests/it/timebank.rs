//! 志愿服务记录证明 and 时间银行: issue → public verification → correction →
//! revocation, duplicates and periods without hours, scope, the PDF; the time
//! bank's story (deposit once per sign-up, overflow to the pool at the cap,
//! refused withdrawals storing nothing, donations, grants, the guarantee account,
//! family transfers) and the ledger check.
//!
//! Volunteers, activities and completed sign-ups are written straight into the
//! volunteer tables, so these tests stand on their own.

use axum::Router;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Value, json};
use shequ_core::{DivisionCode, Role};
use shequ_db::Db;
use shequ_db::scope::Actor;
use shequ_testkit::{
    Browser, Reply, app, demo_users, json, now, on_each_backend, password_hash, send, small_demo,
    token,
};

const TOWNSHIP: &str = "430502001";
const V1: &str = "430502001001";
const OTHER_TOWNSHIP: &str = "430502002";

/// A bound value for [`exec`].
enum Arg {
    I(i64),
    S(String),
    T(DateTime<Utc>),
    D(NaiveDate),
    B(bool),
    Bytes(Vec<u8>),
    NoId,
}

/// Run an INSERT … RETURNING id written with `?` placeholders on either backend.
async fn exec(db: &Db, sql: &str, args: Vec<Arg>) -> i64 {
    match db {
        Db::Sqlite(p) => {
            let mut q = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql.to_owned()));
            for a in args {
                q = match a {
                    Arg::I(v) => q.bind(v),
                    Arg::S(v) => q.bind(v),
                    Arg::T(v) => q.bind(v),
                    Arg::D(v) => q.bind(v),
                    Arg::B(v) => q.bind(v),
                    Arg::Bytes(v) => q.bind(v),
                    Arg::NoId => q.bind(Option::<i64>::None),
                };
            }
            q.fetch_one(p).await.unwrap().0
        }
        Db::Postgres(p) => {
            let mut n = 0;
            let pg: String = sql
                .chars()
                .map(|c| {
                    if c == '?' {
                        n += 1;
                        format!("${n}")
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            let mut q = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(pg));
            for a in args {
                q = match a {
                    Arg::I(v) => q.bind(v),
                    Arg::S(v) => q.bind(v),
                    Arg::T(v) => q.bind(v),
                    Arg::D(v) => q.bind(v),
                    Arg::B(v) => q.bind(v),
                    Arg::Bytes(v) => q.bind(v),
                    Arg::NoId => q.bind(Option::<i64>::None),
                };
            }
            q.fetch_one(p).await.unwrap().0
        }
    }
}

/// A registered volunteer in `division`; returns the id.
async fn volunteer(db: &Db, no: &str, name: &str, division: &str, user_id: Option<i64>) -> i64 {
    exec(
        db,
        "INSERT INTO volunteers (volunteer_no, user_id, name, gender, birth_date, id_number_enc, \
         id_number_index, id_number_masked, division_code, consent_at, created_at, updated_at) \
         VALUES (?, ?, ?, 'female', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        vec![
            Arg::S(no.into()),
            user_id.map_or(Arg::NoId, Arg::I),
            Arg::S(name.into()),
            Arg::D(NaiveDate::from_ymd_opt(1960, 3, 1).unwrap()),
            Arg::Bytes(vec![1, 2, 3]),
            Arg::S(format!("idx-{no}")),
            Arg::S("430502********123X".into()),
            Arg::S(division.into()),
            Arg::T(now()),
            Arg::T(now()),
            Arg::T(now()),
        ],
    )
    .await
}

/// A completed sign-up with confirmed minutes of a new activity organised by
/// `organizer`, `days_ago` days before now; returns the sign-up id.
async fn served(
    db: &Db,
    volunteer_id: i64,
    organizer: &str,
    days_ago: i64,
    minutes: i64,
    elder_care: bool,
) -> i64 {
    let starts = now() - Duration::days(days_ago);
    let activity = exec(
        db,
        "INSERT INTO volunteer_activities (title, organizer_kind, organizer_division_code, \
         division_code, starts_at, ends_at, quota, category, elder_care, checkin_code, \
         created_at, updated_at) VALUES (?, 'division', ?, ?, ?, ?, 10, ?, ?, 'CODE', ?, ?) RETURNING id",
        vec![
            Arg::S(if elder_care { "助老送餐" } else { "河道清洁" }.into()),
            Arg::S(organizer.into()),
            Arg::S(organizer.into()),
            Arg::T(starts),
            Arg::T(starts + Duration::hours(3)),
            Arg::S(if elder_care { "为老服务" } else { "环境保护" }.into()),
            Arg::B(elder_care),
            Arg::T(starts),
            Arg::T(starts),
        ],
    )
    .await;
    exec(
        db,
        "INSERT INTO volunteer_signups (activity_id, volunteer_id, state, signed_up_at, minutes, \
         confirmed_at) VALUES (?, ?, 'completed', ?, ?, ?) RETURNING id",
        vec![
            Arg::I(activity),
            Arg::I(volunteer_id),
            Arg::T(starts - Duration::days(1)),
            Arg::I(minutes),
            Arg::T(starts + Duration::hours(4)),
        ],
    )
    .await
}

async fn set_minutes(db: &Db, signup: i64, minutes: i64) {
    let sql = format!(
        "UPDATE volunteer_signups SET minutes = {minutes} WHERE id = {signup} RETURNING id"
    );
    exec(db, &sql, vec![]).await;
}

/// A township login for another street (`township2`).
async fn other_township_login(db: &Db) {
    let u = shequ_db::users::NewUser {
        username: "township2".into(),
        display_name: "另一街道工作人员".into(),
        role: Role::TownshipStaff,
        division: DivisionCode::parse(OTHER_TOWNSHIP).unwrap(),
        password_hash: password_hash(),
    };
    shequ_db::users::create(&mut db.conn(), &Actor::system(), &u, now())
        .await
        .unwrap();
}

async fn user_id(db: &Db, username: &str) -> i64 {
    shequ_db::users::find_by_username(&mut db.conn(), username)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn setup(db: &Db) -> Router {
    small_demo(db).await;
    demo_users(db).await;
    other_township_login(db).await;
    app(db).await.1
}

async fn get_auth(app: &Router, uri: &str, token: Option<&str>) -> Reply {
    let mut b = axum::http::Request::get(uri);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    send(app, b.body(axum::body::Body::empty()).unwrap()).await
}

fn issue_body(volunteer_id: i64, from: &str, to: &str) -> Value {
    json!({
        "volunteer_id": volunteer_id, "from": from, "to": to,
        "issuer_name": "兴隆街道办事处", "issuer_head": "王主任",
        "issuer_handler": "李经办", "issuer_contact": "0739-5200000",
        "remarks": "服务时长不含往返路程"
    })
}

#[tokio::test]
async fn issue_verify_correct_revoke_and_reissue() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let township = token(&app, "township").await;
        let vid = volunteer(&db, "430502-2025-000001", "张秀英", V1, None).await;
        let s1 = served(&db, vid, TOWNSHIP, 20, 90, true).await;
        served(&db, vid, TOWNSHIP, 10, 60, false).await;
        served(&db, vid, V1, 5, 45, true).await;
        // Organised by another street: not this issuer's record.
        served(&db, vid, OTHER_TOWNSHIP, 3, 120, true).await;

        let r = json(
            &app,
            "POST",
            "/api/v1/certificates",
            Some(&township),
            issue_body(vid, "2025-06-01", "2025-06-29"),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let c = r.json();
        let number = c["number"].as_str().unwrap().to_owned();
        assert!(number.starts_with("ZM2025-000001-"), "{number}");
        assert_eq!(
            (c["total_minutes"].as_i64(), c["hours"].as_str()),
            (Some(195), Some("3.2"))
        );
        assert_eq!(c["hours_text"], "3.2 小时（3 小时 15 分钟）");
        assert_eq!(c["items"].as_array().unwrap().len(), 3);
        assert_eq!(c["id_number_masked"], "430502********123X");
        assert_eq!(c["verdict"], "valid");
        assert!(
            c["content"].as_str().unwrap().contains("为老服务（2 次）"),
            "{}",
            c["content"]
        );

        // Public verification, no sign-in.
        let r = get_auth(&app, &format!("/api/v1/certificates/{number}/verify"), None).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(
            (&v["valid"], &v["verdict"], &v["volunteer_name"]),
            (&json!(true), &json!("valid"), &json!("张秀英"))
        );
        assert_eq!(
            (&v["volunteer_no"], &v["hours"], &v["issuer_name"]),
            (
                &json!("430502-2025-000001"),
                &json!("3.2"),
                &json!("兴隆街道办事处")
            )
        );
        assert_eq!(v["id_number_masked"], "430502********123X");
        // Lower case and blanks are forgiven; a typo is not found.
        let r = get_auth(
            &app,
            &format!("/api/v1/certificates/{}/verify", number.to_lowercase()),
            None,
        )
        .await;
        assert_eq!(r.status, 200);
        let r = get_auth(
            &app,
            "/api/v1/certificates/ZM2025-000001-00000/verify",
            None,
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.error_code()),
            (404, "not_found".to_owned())
        );
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("未找到该编号")
        );

        // One valid certificate per volunteer and period.
        let r = json(
            &app,
            "POST",
            "/api/v1/certificates",
            Some(&township),
            issue_body(vid, "2025-06-01", "2025-06-29"),
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.error_code()),
            (409, "duplicate_certificate".to_owned()),
            "{}",
            r.text()
        );
        // No confirmed hours in the period.
        let r = json(
            &app,
            "POST",
            "/api/v1/certificates",
            Some(&township),
            issue_body(vid, "2025-01-01", "2025-01-31"),
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.error_code()),
            (422, "no_confirmed_hours".to_owned())
        );
        // Bad period and missing issuer fields.
        let mut bad = issue_body(vid, "2025-06-10", "2025-06-01");
        bad["issuer_head"] = json!("");
        let r = json(&app, "POST", "/api/v1/certificates", Some(&township), bad).await;
        assert_eq!(r.error_code(), "validation_failed");
        let fields = r.json()["error"]["fields"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>();
        assert_eq!(fields, vec!["issuer_head".to_owned(), "to".to_owned()]);

        // Staff of another street cannot issue for this volunteer, nor see the certificate.
        let other = token(&app, "township2").await;
        let r = json(
            &app,
            "POST",
            "/api/v1/certificates",
            Some(&other),
            issue_body(vid, "2025-06-01", "2025-06-28"),
        )
        .await;
        assert_eq!(r.status, 404);
        let r = get_auth(
            &app,
            &format!("/api/v1/certificates/{number}"),
            Some(&other),
        )
        .await;
        assert_eq!(r.status, 404);
        // Residents may not issue.
        let resident = token(&app, "resident").await;
        let r = json(
            &app,
            "POST",
            "/api/v1/certificates",
            Some(&resident),
            issue_body(vid, "2025-06-01", "2025-06-28"),
        )
        .await;
        assert_eq!(r.status, 403);

        // The list in scope.
        let r = get_auth(&app, "/api/v1/certificates", Some(&township)).await;
        assert_eq!(r.json()["total"], 1);
        let r = get_auth(&app, "/api/v1/certificates", Some(&other)).await;
        assert_eq!(r.json()["total"], 0);

        // A correction of the record after issue shows on verification.
        set_minutes(&db, s1, 80).await;
        let v = get_auth(&app, &format!("/api/v1/certificates/{number}/verify"), None)
            .await
            .json();
        assert_eq!(
            (&v["valid"], &v["verdict"]),
            (&json!(false), &json!("corrected"))
        );
        assert_eq!(v["verdict_label"], "记录已更正，请重新开具");
        assert_eq!(
            v["hours"], "3.2",
            "the issued statement itself is unchanged"
        );

        // Revocation needs a reason, is audited, and verification then says 已撤销.
        let r = json(
            &app,
            "POST",
            &format!("/api/v1/certificates/{number}/revoke"),
            Some(&township),
            json!({"reason": "x"}),
        )
        .await;
        assert_eq!(r.status, 422);
        let r = json(
            &app,
            "POST",
            &format!("/api/v1/certificates/{number}/revoke"),
            Some(&township),
            json!({"reason": "服务时长已更正，重新开具"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["state"], "revoked");
        let v = get_auth(&app, &format!("/api/v1/certificates/{number}/verify"), None)
            .await
            .json();
        assert_eq!(
            (&v["valid"], &v["verdict"], &v["verdict_label"]),
            (&json!(false), &json!("revoked"), &json!("已撤销"))
        );
        let r = json(
            &app,
            "POST",
            &format!("/api/v1/certificates/{number}/revoke"),
            Some(&township),
            json!({"reason": "再次撤销"}),
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.error_code()),
            (409, "already_revoked".to_owned())
        );
        let log = shequ_db::audit::search(
            &mut db.conn(),
            &shequ_db::audit::Filter::default(),
            shequ_db::PageReq::all(),
        )
        .await
        .unwrap();
        let actions: Vec<&str> = log.items.iter().map(|e| e.action.as_str()).collect();
        assert!(
            actions.contains(&"certificate_issue") && actions.contains(&"certificate_revoke"),
            "{actions:?}"
        );

        // Once revoked, the period can be certified again, with the corrected hours.
        let r = json(
            &app,
            "POST",
            "/api/v1/certificates",
            Some(&township),
            issue_body(vid, "2025-06-01", "2025-06-29"),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["total_minutes"], 185);
        assert!(
            r.json()["number"]
                .as_str()
                .unwrap()
                .starts_with("ZM2025-000002-")
        );
    })
    .await;
}

#[tokio::test]
async fn the_time_bank_story() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let city = token(&app, "city").await;
        let township = token(&app, "township").await;
        let me = user_id(&db, "volunteer").await;
        let a = volunteer(&db, "430502-2025-000011", "李桂兰", V1, Some(me)).await;
        let b = volunteer(&db, "430502-2025-000012", "李建国", V1, None).await;
        let s1 = served(&db, a, TOWNSHIP, 9, 90, true).await;
        let s2 = served(&db, a, TOWNSHIP, 8, 60, true).await;
        let s3 = served(&db, a, TOWNSHIP, 7, 30, false).await;
        let far = served(&db, a, OTHER_TOWNSHIP, 6, 30, true).await;

        // A small cap for the story: 2 hours; withdrawals up to 2 hours.
        let rules = json!({"cap_hours": 2, "min_balance_hours": 0, "max_withdrawal_hours": 2});
        let r = json(&app, "PUT", "/api/v1/timebank/settings", Some(&township), rules.clone()).await;
        assert_eq!((r.status.as_u16(), r.error_code()), (403, "city_only".to_owned()));
        let r = json(&app, "PUT", "/api/v1/timebank/settings", Some(&city), json!({"cap_hours": 0, "min_balance_hours": 0, "max_withdrawal_hours": 2})).await;
        assert_eq!(r.status, 422);
        let r = json(&app, "PUT", "/api/v1/timebank/settings", Some(&city), rules).await;
        assert_eq!(r.status, 200, "{}", r.text());

        let deposit = |s: i64| json!({"signup_id": s});
        let r = json(&app, "POST", "/api/v1/timebank/deposits", Some(&township), deposit(s1)).await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!((r.json()["balance_minutes"].as_i64(), r.json()["overflow_minutes"].as_i64()), (Some(90), Some(0)));
        // Once per sign-up; elder care only; organised in one's own area.
        let r = json(&app, "POST", "/api/v1/timebank/deposits", Some(&township), deposit(s1)).await;
        assert_eq!((r.status.as_u16(), r.error_code()), (409, "already_deposited".to_owned()));
        let r = json(&app, "POST", "/api/v1/timebank/deposits", Some(&township), deposit(s3)).await;
        assert_eq!((r.status.as_u16(), r.error_code()), (422, "not_elder_care".to_owned()));
        let r = json(&app, "POST", "/api/v1/timebank/deposits", Some(&township), deposit(far)).await;
        assert_eq!(r.status, 404);
        // At the cap the excess goes to the pool.
        let r = json(&app, "POST", "/api/v1/timebank/deposits", Some(&township), deposit(s2)).await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!((r.json()["balance_minutes"].as_i64(), r.json()["overflow_minutes"].as_i64()), (Some(120), Some(30)));
        assert_eq!(r.json()["transaction_ids"].as_array().unwrap().len(), 2);

        let accounts = get_auth(&app, "/api/v1/timebank/accounts?kind=volunteer", Some(&township)).await.json();
        let acct_a = accounts["items"][0]["id"].as_i64().unwrap();
        assert_eq!(accounts["items"][0]["balance"], "2 小时");
        let statement = |app: Router, t: String| async move {
            get_auth(&app, &format!("/api/v1/timebank/accounts/{acct_a}/statement"), Some(&t)).await.json()
        };
        let before = statement(app.clone(), township.clone()).await;
        assert_eq!(before["total"], 3);
        assert_eq!(before["items"][0]["kind"], "overflow");
        assert_eq!(before["items"][0]["minutes"], -30);

        // A withdrawal; one beyond the balance is refused and stores nothing.
        let w = |m: i64| json!({"volunteer_id": a, "minutes": m, "beneficiary": "李桂兰的母亲", "note": "上门助浴"});
        let r = json(&app, "POST", "/api/v1/timebank/withdrawals", Some(&township), w(30)).await;
        assert_eq!((r.status.as_u16(), r.json()["balance_minutes"].as_i64()), (201, Some(90)));
        let r = json(&app, "POST", "/api/v1/timebank/withdrawals", Some(&township), w(100)).await;
        assert_eq!((r.status.as_u16(), r.error_code()), (422, "insufficient_balance".to_owned()), "{}", r.text());
        assert_eq!(statement(app.clone(), township.clone()).await["total"], 4);
        let r = json(&app, "POST", "/api/v1/timebank/withdrawals", Some(&township), w(0)).await;
        assert_eq!(r.error_code(), "bad_amount");
        let r = json(&app, "POST", "/api/v1/timebank/withdrawals", Some(&township), w(121)).await;
        assert_eq!(r.error_code(), "withdrawal_too_large");

        // Donation to the pool, grants from it.
        let r = json(&app, "POST", "/api/v1/timebank/donations", Some(&township), json!({"account_id": acct_a, "minutes": 30})).await;
        assert_eq!((r.status.as_u16(), r.json()["balance_minutes"].as_i64()), (201, Some(60)));
        let g = |m: i64, source: &str| json!({"source": source, "beneficiary": "王奶奶", "division": V1, "minutes": m, "note": "独居老人陪护"});
        let r = json(&app, "POST", "/api/v1/timebank/grants", Some(&township), g(45, "pool")).await;
        assert_eq!((r.status.as_u16(), r.json()["balance_minutes"].as_i64()), (201, Some(15)));
        let r = json(&app, "POST", "/api/v1/timebank/grants", Some(&township), g(30, "pool")).await;
        assert_eq!(r.error_code(), "insufficient_balance");
        let r = json(&app, "POST", "/api/v1/timebank/grants", Some(&township), json!({"beneficiary": "王奶奶", "division": "430502002001", "minutes": 5})).await;
        assert_eq!(r.status, 422);
        // The guarantee account: city staff top it up; grants may draw on it.
        let r = json(&app, "POST", "/api/v1/timebank/fund", Some(&township), json!({"minutes": 600})).await;
        assert_eq!(r.error_code(), "city_only");
        let r = json(&app, "POST", "/api/v1/timebank/fund", Some(&city), json!({"minutes": 600, "note": "市财政保障"})).await;
        assert_eq!((r.status.as_u16(), r.json()["balance_minutes"].as_i64()), (201, Some(600)));
        let r = json(&app, "POST", "/api/v1/timebank/grants", Some(&township), g(30, "guarantee")).await;
        assert_eq!((r.status.as_u16(), r.json()["balance_minutes"].as_i64()), (201, Some(570)));

        // Transfer to a family member; not to oneself, not beyond the balance.
        let t = |to: &str, m: i64| json!({"volunteer_id": a, "to_volunteer_no": to, "minutes": m});
        let r = json(&app, "POST", "/api/v1/timebank/transfers", Some(&township), t("430502-2025-000012", 30)).await;
        assert_eq!((r.status.as_u16(), r.json()["balance_minutes"].as_i64()), (201, Some(30)));
        let r = json(&app, "POST", "/api/v1/timebank/transfers", Some(&township), t("430502-2025-000011", 10)).await;
        assert_eq!(r.error_code(), "same_account");
        let r = json(&app, "POST", "/api/v1/timebank/transfers", Some(&township), t("430502-2025-000012", 31)).await;
        assert_eq!(r.error_code(), "insufficient_balance");
        let _ = b;

        // A reversal undoes a transaction once.
        let last = statement(app.clone(), township.clone()).await;
        let tx = last["items"][0]["transaction_id"].as_i64().unwrap();
        let r = json(&app, "POST", &format!("/api/v1/timebank/transactions/{tx}/reverse"), Some(&township), json!({"reason": "误转，撤回"})).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let r = json(&app, "POST", &format!("/api/v1/timebank/transactions/{tx}/reverse"), Some(&township), json!({"reason": "误转，撤回"})).await;
        assert_eq!((r.status.as_u16(), r.error_code()), (409, "already_reversed".to_owned()));

        // Staff of another street see neither the account nor may post on it.
        let other = token(&app, "township2").await;
        let r = get_auth(&app, &format!("/api/v1/timebank/accounts/{acct_a}"), Some(&other)).await;
        assert_eq!(r.status, 404);
        let r = json(&app, "POST", "/api/v1/timebank/withdrawals", Some(&other), w(10)).await;
        assert_eq!(r.status, 404);

        // The volunteer sees their own account.
        let vt = token(&app, "volunteer").await;
        let mine = get_auth(&app, "/api/v1/timebank/me", Some(&vt)).await.json();
        assert_eq!(mine["account"]["balance_minutes"], 60);
        assert_eq!(mine["cap_hours"], 2);

        // The ledger balances.
        let s = get_auth(&app, "/api/v1/timebank/summary", Some(&city)).await.json();
        assert_eq!((&s["ledger_ok"], &s["pool_minutes"], &s["guarantee_minutes"]), (&json!(true), &json!(15), &json!(570)));
        let check = shequ_db::timebank::verify(&mut db.conn()).await.unwrap();
        assert!(check.ok(), "{check:?}");
        assert_eq!(check.total, 0);
        let log = shequ_db::audit::search(&mut db.conn(), &shequ_db::audit::Filter::default(), shequ_db::PageReq::all()).await.unwrap();
        let n = log.items.iter().filter(|e| e.action.starts_with("timebank_")).count();
        assert_eq!(n, 10, "every posting and the rules change are audited");
    })
    .await;
}

#[tokio::test]
async fn pages_print_pdf_verify_and_time_bank() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let me = user_id(&db, "volunteer").await;
        let vid = volunteer(&db, "430502-2025-000021", "王淑芬", V1, Some(me)).await;
        served(&db, vid, TOWNSHIP, 12, 150, true).await;
        served(&db, vid, TOWNSHIP, 11, 60, false).await;

        // Staff issue through the form.
        let mut staff = Browser::new(&app);
        staff.login("township").await;
        let r = staff.get("/certificates/new").await;
        assert_eq!(r.status, 200);
        assert!(r.text().contains("name=\"issuer_name\""));
        let form = [
            ("volunteer_no", "430502-2025-000021"),
            ("from", "2025-06-01"),
            ("to", "2025-06-29"),
            ("issuer_name", "兴隆街道办事处"),
            ("issuer_head", "王主任"),
            ("issuer_handler", "李经办"),
            ("issuer_contact", "0739-5200000"),
            ("remarks", ""),
        ];
        let r = staff.post("/certificates", &form).await;
        assert_eq!(r.status, 303, "{}", r.text());
        let to = r.headers["location"].to_str().unwrap().to_owned();
        let number = to.trim_start_matches("/certificates/").to_owned();
        // Issuing again shows the refusal on the form.
        let r = staff.post("/certificates", &form).await;
        assert_eq!(r.status, 200);
        assert!(r.text().contains("已有有效证明"), "{}", r.text());
        // Without a CSRF token nothing happens.
        let r = staff
            .post("/certificates", &[("csrf", "bad"), ("volunteer_no", "x")])
            .await;
        assert!(r.status.is_client_error(), "{}", r.status);

        // The printable page carries the QR code of the public address.
        let r = staff.get(&to).await;
        assert_eq!(r.status, 200);
        let page = r.text();
        assert!(
            page.contains("志愿服务记录证明") && page.contains("3.5 小时（3 小时 30 分钟）"),
            "{page}"
        );
        assert!(page.contains("<svg") && page.contains(&format!("/v/{number}")));
        // The PDF.
        let r = staff.get(&format!("{to}.pdf")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.headers["content-type"], "application/pdf");
        assert!(r.body.starts_with(b"%PDF-1.4"));
        let hex = shequ_reports::pdf::utf16_hex("志愿服务记录证明");
        assert!(String::from_utf8_lossy(&r.body).contains(&hex));

        // Public verification needs no login.
        let r = shequ_testkit::get(&app, &format!("/v/{number}")).await;
        assert_eq!(r.status, 200);
        assert!(r.text().contains("有效") && r.text().contains("430502********123X"));
        let r = shequ_testkit::get(&app, "/v/ZM2025-999999-00000").await;
        assert_eq!(r.status, 404);
        assert!(r.text().contains("未找到该编号"));
        // Strangers do not get the printable page or the PDF.
        let r = shequ_testkit::get(&app, &to).await;
        assert_eq!(r.status, 303);

        // The volunteer sees their own certificate.
        let mut vol = Browser::new(&app);
        vol.login("volunteer").await;
        let r = vol.get("/certificates").await;
        assert!(r.text().contains(&number));
        let r = vol.get(&format!("{to}.pdf")).await;
        assert_eq!(r.status, 200);

        // Revoking through the page; the public page then says 已撤销.
        let r = staff
            .post(&format!("{to}/revoke"), &[("reason", "信息录入有误")])
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let r = shequ_testkit::get(&app, &format!("/v/{number}")).await;
        assert!(r.text().contains("已撤销"));

        // Time bank: staff deposit from the pending list, then withdraw by form.
        let r = vol.get("/timebank/me").await;
        assert!(r.text().contains("id=\"no-account\""));
        let r = staff.get("/timebank").await;
        assert_eq!(r.status, 200);
        let page = r.text();
        assert!(
            page.contains("助老送餐") && !page.contains("河道清洁"),
            "only elder care is pending"
        );
        let signup = page
            .split("name=\"signup_id\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let r = staff
            .post("/timebank/deposit", &[("signup_id", &signup)])
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let r = staff
            .post(
                "/timebank/withdraw",
                &[
                    ("volunteer_no", "430502-2025-000021"),
                    ("hours", "5"),
                    ("beneficiary", "王淑芬的母亲"),
                ],
            )
            .await;
        assert_eq!(r.status, 200);
        assert!(r.text().contains("余额不足"), "{}", r.text());
        let r = staff
            .post(
                "/timebank/withdraw",
                &[
                    ("volunteer_no", "430502-2025-000021"),
                    ("hours", "1.5"),
                    ("beneficiary", "王淑芬的母亲"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let r = vol.get("/timebank/me").await;
        let page = r.text();
        assert!(
            page.contains("1 小时") && page.contains("支取") && page.contains("存入"),
            "{page}"
        );
        let r = staff.get("/timebank").await;
        assert!(r.text().contains("平衡"));
    })
    .await;
}

#[tokio::test]
async fn the_demo_ledger_balances() {
    on_each_backend(|db| async move {
        shequ_testkit::small_demo_with_people(&db, 3_000).await;
        shequ_db::demo::volunteers::load(&db, &shequ_testkit::key(), 7, now())
            .await
            .unwrap();
        let s = shequ_db::demo::timebank::load(&db, 7, now()).await.unwrap();
        assert!(s.deposits > 0 && s.accounts > 3, "{s:?}");
        assert!(s.grants > 0, "{s:?}");
        let check = shequ_db::timebank::verify(&mut db.conn()).await.unwrap();
        assert!(check.ok(), "{check:?}");
        // Loading twice is refused.
        assert!(shequ_db::demo::timebank::load(&db, 7, now()).await.is_err());
        // Live postings continue after the demo's explicit ids.
        let (_, app) = app(&db).await;
        demo_users_if_missing(&db).await;
        let city = token(&app, "city").await;
        let r = json(
            &app,
            "POST",
            "/api/v1/timebank/fund",
            Some(&city),
            json!({"minutes": 60}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        if s.certificates > 0 {
            let r = get_auth(&app, "/api/v1/certificates", Some(&city)).await;
            assert_eq!(r.json()["total"].as_u64(), Some(s.certificates as u64));
        }
        eprintln!("demo time bank: {s:?}");
    })
    .await;
}

async fn demo_users_if_missing(db: &Db) {
    if shequ_db::users::find_by_username(&mut db.conn(), "city")
        .await
        .unwrap()
        .is_none()
    {
        demo_users(db).await;
    }
}
