//! Account administration over HTTP: 三员分立 (admin, security admin and auditor
//! each do only their own work), new accounts, CSRF, password resets, lockout.

use axum::body::Body;
use axum::http::Request;
use serde_json::json;
use shequ_db::Db;
use shequ_testkit::{
    Browser, PASSWORD, app, demo_users, get, json, on_each_backend, send, small_demo, token,
};

/// A strong password that differs from the test password.
const NEW_PASSWORD: &str = "Fresh#2025pw";

async fn setup(db: &Db) -> axum::Router {
    small_demo(db).await;
    demo_users(db).await;
    app(db).await.1
}

async fn signed_in(app: &axum::Router, username: &str) -> Browser {
    let mut b = Browser::new(app);
    b.login(username).await;
    b
}

async fn user(db: &Db, username: &str) -> Option<shequ_db::users::User> {
    shequ_db::users::find_by_username(&mut db.conn(), username)
        .await
        .unwrap()
}

async fn user_id(db: &Db, username: &str) -> i64 {
    user(db, username).await.unwrap().id
}

async fn user_count(db: &Db) -> i64 {
    shequ_db::users::list(&mut db.conn(), shequ_db::PageReq::new(Some(1), Some(1)))
        .await
        .unwrap()
        .total
}

/// The fields of a valid new community worker.
fn new_worker(username: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("username", username),
        ("display_name", "李四"),
        ("role", "community_staff"),
        ("division", "430502001001"),
        ("password", NEW_PASSWORD),
        ("confirm", NEW_PASSWORD),
    ]
}

#[tokio::test]
async fn admin_manages_accounts_but_not_roles_or_audit() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut admin = signed_in(&app, "admin").await;
        let list = admin.get("/users").await;
        assert_eq!(list.status, 200);
        assert!(list.text().contains("id=\"users\""));
        assert!(list.text().contains(">community</a>"));
        assert!(list.text().contains("社区工作人员"));
        assert!(list.text().contains("href=\"/users/new\""));
        assert_eq!(admin.get("/users/new").await.status, 200);

        let r = admin.post("/users", &new_worker("lisi")).await;
        assert_eq!(r.status, 303, "{}", r.text());
        let made = user(&db, "lisi").await.expect("lisi was not stored");
        assert_eq!(
            (made.role.as_str(), made.division_code.as_str()),
            ("community_staff", "430502001001")
        );
        assert_eq!(
            r.headers["location"],
            format!("/users/{}?done=created", made.id)
        );
        let page = admin.get(&format!("/users/{}?done=created", made.id)).await;
        assert!(page.text().contains("账号已创建"));
        assert!(
            page.text().contains("/disable\""),
            "admin sees the disable form"
        );
        assert!(
            !page.text().contains("/role\""),
            "admin must not see the role form"
        );
        let mut lisi = Browser::new(&app);
        let r = lisi
            .post(
                "/login",
                &[
                    ("username", "lisi"),
                    ("password", NEW_PASSWORD),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "the new account signs in");

        assert_eq!(admin.get("/audit").await.status, 403);
        let r = admin
            .post(
                &format!("/users/{}/role", made.id),
                &[("role", "grid_worker"), ("division", "430502001001001")],
            )
            .await;
        assert_eq!(r.status, 403);
        assert_eq!(
            admin
                .post(&format!("/users/{}/unlock", made.id), &[])
                .await
                .status,
            403
        );
        let pw = [
            ("new_password", "Other#2025pw"),
            ("confirm", "Other#2025pw"),
        ];
        assert_eq!(
            admin
                .post(&format!("/users/{}/password", made.id), &pw)
                .await
                .status,
            403
        );
        assert_eq!(user(&db, "lisi").await.unwrap().role, "community_staff");
        assert_eq!(admin.get("/people").await.status, 403);

        let t = token(&app, "admin").await;
        let r = json(
            &app,
            "GET",
            "/api/v1/users?per_page=5",
            Some(&t),
            json!(null),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["items"].as_array().unwrap().len(), 5);
        assert_eq!(r.json()["total"], user_count(&db).await);
        assert!(!r.text().contains("password_hash") && !r.text().contains("$argon2"));
        let r = json(&app, "GET", "/api/v1/audit", Some(&t), json!(null)).await;
        assert_eq!(r.status, 403);
    })
    .await;
}

#[tokio::test]
async fn security_admin_changes_roles_and_unlocks_but_creates_nothing() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut sec = signed_in(&app, "security").await;
        assert_eq!(sec.get("/users").await.status, 200);
        assert!(
            !sec.get("/users")
                .await
                .text()
                .contains("href=\"/users/new\"")
        );
        assert_eq!(sec.get("/users/new").await.status, 403);
        let before = user_count(&db).await;
        assert_eq!(sec.post("/users", &new_worker("wangwu")).await.status, 403);
        assert_eq!(user_count(&db).await, before);
        assert!(user(&db, "wangwu").await.is_none());
        assert_eq!(sec.get("/audit").await.status, 403);
        assert_eq!(sec.get("/people").await.status, 403);

        let id = user_id(&db, "community").await;
        let page = sec.get(&format!("/users/{id}")).await;
        assert!(page.text().contains("/role\"") && page.text().contains("/password\""));
        assert!(
            !page.text().contains("/disable\""),
            "security admin must not see the disable form"
        );
        assert_eq!(
            sec.post(&format!("/users/{id}/disable"), &[]).await.status,
            403
        );
        assert!(!user(&db, "community").await.unwrap().disabled);

        let r = sec
            .post(
                &format!("/users/{id}/role"),
                &[("role", "grid_worker"), ("division", "430502001001001")],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let changed = user(&db, "community").await.unwrap();
        assert_eq!(
            (changed.role.as_str(), changed.division_code.as_str()),
            ("grid_worker", "430502001001001")
        );
        assert!(
            sec.get(&format!("/users/{id}?done=role"))
                .await
                .text()
                .contains("网格员")
        );

        let r = sec
            .post(
                &format!("/users/{id}/role"),
                &[("role", "county_staff"), ("division", "430502001")],
            )
            .await;
        assert_eq!(r.status, 422, "a county worker belongs to a county");
        assert_eq!(user(&db, "community").await.unwrap().role, "grid_worker");

        let r = sec.post(&format!("/users/{id}/unlock"), &[]).await;
        assert_eq!(r.status, 303);
        let t = token(&app, "security").await;
        assert_eq!(
            json(&app, "GET", "/api/v1/users", Some(&t), json!(null))
                .await
                .status,
            200
        );
        assert_eq!(
            json(&app, "GET", "/api/v1/audit/verify", Some(&t), json!(null))
                .await
                .status,
            403
        );
    })
    .await;
}

#[tokio::test]
async fn auditor_and_workers_cannot_open_accounts() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut auditor = signed_in(&app, "auditor").await;
        assert_eq!(auditor.get("/audit").await.status, 200);
        assert_eq!(auditor.get("/users").await.status, 403);
        assert_eq!(auditor.get("/people").await.status, 403);
        let id = user_id(&db, "community").await;
        assert_eq!(auditor.get(&format!("/users/{id}")).await.status, 403);
        for who in ["community", "township", "grid", "resident"] {
            let mut b = signed_in(&app, who).await;
            assert_eq!(b.get("/users").await.status, 403, "{who} on /users");
            assert_eq!(b.get("/audit").await.status, 403, "{who} on /audit");
            assert_eq!(
                b.post(&format!("/users/{id}/disable"), &[]).await.status,
                403,
                "{who} disabling"
            );
            let t = token(&app, who).await;
            assert_eq!(
                json(&app, "GET", "/api/v1/users", Some(&t), json!(null))
                    .await
                    .status,
                403
            );
            assert_eq!(
                json(&app, "GET", "/api/v1/audit", Some(&t), json!(null))
                    .await
                    .status,
                403
            );
        }
        assert!(!user(&db, "community").await.unwrap().disabled);
        let r = get(&app, "/users").await;
        assert_eq!(r.status, 303, "signed out: to the login page");
        assert!(
            r.headers["location"]
                .to_str()
                .unwrap()
                .starts_with("/login")
        );
        assert_eq!(get(&app, "/api/v1/users").await.status, 401);
        let t = token(&app, "auditor").await;
        assert_eq!(
            json(&app, "GET", "/api/v1/users", Some(&t), json!(null))
                .await
                .status,
            403
        );
    })
    .await;
}

#[tokio::test]
async fn admin_cannot_create_the_three_system_accounts() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut admin = signed_in(&app, "admin").await;
        let before = user_count(&db).await;
        for role in ["auditor", "security_admin", "admin"] {
            let mut fields = new_worker("sysacct");
            fields[2] = ("role", role);
            fields[3] = ("division", "430500");
            let r = admin.post("/users", &fields).await;
            assert_eq!(r.status, 422, "{role}");
            assert!(
                r.text().contains("只能由服务器管理员在命令行创建"),
                "{role}: {}",
                r.text()
            );
        }
        assert!(user(&db, "sysacct").await.is_none());
        assert_eq!(user_count(&db).await, before);
        let form = admin.get("/users/new").await.text();
        assert!(!form.contains("value=\"auditor\"") && !form.contains("value=\"admin\""));
        assert!(form.contains("value=\"community_staff\""));
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_shown_again_with_422_and_nothing_is_stored() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut admin = signed_in(&app, "admin").await;
        let before = user_count(&db).await;
        let cases: [(&str, &str, &str); 6] = [
            ("password", "short1A", "至少需要 8 个字符"),
            ("password", "alllowercaseletters", "至少三类"),
            ("confirm", "Different#2025", "两次输入的密码不一致"),
            ("username", "community", "已被使用"),
            ("division", "4305", "区划代码有误"),
            ("division", "430502001", "应绑定到"),
        ];
        for (field, value, message) in cases {
            let mut fields = new_worker("zhaoliu");
            if field == "username" {
                fields[0] = ("username", value);
            } else {
                for f in &mut fields {
                    if f.0 == field || (field == "password" && f.0 == "confirm") {
                        f.1 = value;
                    }
                }
            }
            let r = admin.post("/users", &fields).await;
            assert_eq!(r.status, 422, "{field}={value}");
            assert!(r.text().contains("id=\"form-errors\""), "{field}={value}");
            assert!(r.text().contains(message), "{field}={value}: {}", r.text());
            assert!(!r.text().contains(NEW_PASSWORD), "passwords are not echoed");
            if field == "password" || field == "confirm" {
                assert!(!r.text().contains(value), "passwords are not echoed");
            }
            assert!(
                r.text().contains("value=\"李四\""),
                "the other fields are kept"
            );
        }
        assert!(user(&db, "zhaoliu").await.is_none());
        assert_eq!(user_count(&db).await, before);
        assert_eq!(
            user(&db, "community").await.unwrap().display_name,
            "兴隆街道第一个社区的社区工作者"
        );
    })
    .await;
}

#[tokio::test]
async fn creating_users_needs_the_csrf_token() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut admin = signed_in(&app, "admin").await;
        let before = user_count(&db).await;
        let mut forged = new_worker("csrfuser");
        forged.push(("csrf", "0000000000000000000000000000000000000000000000000000000000000000"));
        let r = admin.post("/users", &forged).await;
        assert_eq!(r.status, 400);
        assert!(r.text().contains("页面已过期"));

        let cookie = admin.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let body = format!("username=csrfuser&display_name=x&role=community_staff&division=430502001001&password={0}&confirm={0}", "Fresh%232025pw");
        let req = Request::post("/users").header("cookie", cookie).header("content-type", "application/x-www-form-urlencoded").body(Body::from(body)).unwrap();
        assert_eq!(send(&app, req).await.status, 400, "no csrf field");
        assert!(user(&db, "csrfuser").await.is_none());
        assert_eq!(user_count(&db).await, before);

        let r = admin.post("/users", &new_worker("csrfuser")).await;
        assert_eq!(r.status, 303, "the same form with the token works");
        assert!(user(&db, "csrfuser").await.is_some());
    })
    .await;
}

#[tokio::test]
async fn password_reset_ends_the_old_session_and_token() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut worker = signed_in(&app, "community").await;
        assert_eq!(worker.get("/people").await.status, 200);
        let old_token = token(&app, "community").await;
        assert_eq!(
            json(&app, "GET", "/api/v1/people", Some(&old_token), json!(null))
                .await
                .status,
            200
        );

        let mut sec = signed_in(&app, "security").await;
        let id = user_id(&db, "community").await;
        let weak = sec
            .post(
                &format!("/users/{id}/password"),
                &[("new_password", "weakpass"), ("confirm", "weakpass")],
            )
            .await;
        assert_eq!(weak.status, 422);
        assert_eq!(
            worker.get("/people").await.status,
            200,
            "a rejected reset changes nothing"
        );

        let r = sec
            .post(
                &format!("/users/{id}/password"),
                &[("new_password", NEW_PASSWORD), ("confirm", NEW_PASSWORD)],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let r = worker.get("/people").await;
        assert_eq!(r.status, 303, "the old session has ended");
        assert!(
            r.headers["location"]
                .to_str()
                .unwrap()
                .starts_with("/login")
        );
        assert_eq!(
            json(&app, "GET", "/api/v1/people", Some(&old_token), json!(null))
                .await
                .status,
            401
        );
        let creds = |pw: &str| json!({"username": "community", "password": pw});
        assert_eq!(
            json(&app, "POST", "/api/v1/auth/token", None, creds(PASSWORD))
                .await
                .status,
            401
        );
        assert_eq!(
            json(
                &app,
                "POST",
                "/api/v1/auth/token",
                None,
                creds(NEW_PASSWORD)
            )
            .await
            .status,
            200
        );

        let me = user_id(&db, "security").await;
        let r = sec
            .post(
                &format!("/users/{me}/password"),
                &[("new_password", NEW_PASSWORD), ("confirm", NEW_PASSWORD)],
            )
            .await;
        assert_eq!(
            r.status, 422,
            "one's own password is changed on the account page"
        );
        assert_eq!(
            json(
                &app,
                "POST",
                "/api/v1/auth/token",
                None,
                json!({"username": "security", "password": NEW_PASSWORD})
            )
            .await
            .status,
            401
        );
    })
    .await;
}

#[tokio::test]
async fn lockout_after_five_failures_and_unlock() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let creds = |pw: &str| json!({"username": "grid", "password": pw});
        for n in 1..=4 {
            let r = json(
                &app,
                "POST",
                "/api/v1/auth/token",
                None,
                creds("Wrong#2025pw"),
            )
            .await;
            assert_eq!(r.status, 401, "failure {n}");
        }
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
            429,
            "fifth failure locks"
        );
        let r = json(&app, "POST", "/api/v1/auth/token", None, creds(PASSWORD)).await;
        assert_eq!(r.status, 429, "locked even with the right password");

        let mut sec = signed_in(&app, "security").await;
        let id = user_id(&db, "grid").await;
        let page = sec.get(&format!("/users/{id}")).await.text();
        assert!(page.contains("已锁定至 10:15"), "{page}");
        assert!(page.contains("/unlock\""));
        assert!(sec.get("/users").await.text().contains("已锁定至 10:15"));
        let r = sec.post(&format!("/users/{id}/unlock"), &[]).await;
        assert_eq!(r.status, 303);
        assert!(
            sec.get(&format!("/users/{id}?done=unlocked"))
                .await
                .text()
                .contains("已解除锁定")
        );
        assert_eq!(
            json(&app, "POST", "/api/v1/auth/token", None, creds(PASSWORD))
                .await
                .status,
            200
        );
    })
    .await;
}

#[tokio::test]
async fn no_one_disables_themselves_or_changes_their_own_role() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut admin = signed_in(&app, "admin").await;
        let me = user_id(&db, "admin").await;
        let r = admin.post(&format!("/users/{me}/disable"), &[]).await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("不能停用自己的账号"));
        assert!(!user(&db, "admin").await.unwrap().disabled);
        assert_eq!(admin.get("/users").await.status, 200, "still signed in");

        let mut sec = signed_in(&app, "security").await;
        let me = user_id(&db, "security").await;
        let r = sec
            .post(
                &format!("/users/{me}/role"),
                &[("role", "city_staff"), ("division", "430500")],
            )
            .await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("不能修改自己的角色"));
        assert_eq!(user(&db, "security").await.unwrap().role, "security_admin");

        let auditor = user_id(&db, "auditor").await;
        let r = sec
            .post(
                &format!("/users/{auditor}/role"),
                &[("role", "city_staff"), ("division", "430500")],
            )
            .await;
        assert_eq!(
            r.status, 422,
            "the auditor's role is not changed in the browser"
        );
        assert_eq!(user(&db, "auditor").await.unwrap().role, "auditor");
        let worker = user_id(&db, "city").await;
        let r = sec
            .post(
                &format!("/users/{worker}/role"),
                &[("role", "admin"), ("division", "430500")],
            )
            .await;
        assert_eq!(r.status, 422, "no one is made an admin in the browser");
        assert_eq!(user(&db, "city").await.unwrap().role, "city_staff");
    })
    .await;
}

#[tokio::test]
async fn disabling_signs_out_and_enabling_lets_back_in() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut worker = signed_in(&app, "township").await;
        let mut admin = signed_in(&app, "admin").await;
        let id = user_id(&db, "township").await;
        assert_eq!(
            admin
                .post(&format!("/users/{id}/disable"), &[])
                .await
                .status,
            303
        );
        assert!(user(&db, "township").await.unwrap().disabled);
        assert_eq!(worker.get("/people").await.status, 303, "signed out");
        assert!(admin.get("/users").await.text().contains("已停用"));
        let creds = json!({"username": "township", "password": PASSWORD});
        assert_eq!(
            json(&app, "POST", "/api/v1/auth/token", None, creds.clone())
                .await
                .status,
            401
        );
        assert!(
            admin
                .get(&format!("/users/{id}"))
                .await
                .text()
                .contains("/enable\"")
        );
        assert_eq!(
            admin.post(&format!("/users/{id}/enable"), &[]).await.status,
            303
        );
        assert!(!user(&db, "township").await.unwrap().disabled);
        assert_eq!(
            json(&app, "POST", "/api/v1/auth/token", None, creds)
                .await
                .status,
            200
        );
    })
    .await;
}
