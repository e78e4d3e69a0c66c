//! Satisfaction surveys: build → open → answers on the portal (form and JSON) and
//! from paper forms → results by division; refusals (outside the targets, draft,
//! closed, not yet started, invalid answers), nonce replay, scope, the pages, and
//! the per-village counts the coverage indicator reads.

use axum::Router;
use chrono::Duration;
use serde_json::{Value, json};
use shequ_core::{DivisionCode, Role};
use shequ_db::Db;
use shequ_db::scope::{Actor, Scope};
use shequ_db::surveys;
use shequ_testkit::{
    Browser, Reply, app, demo_users, json, now, on_each_backend, send, small_demo, token,
};

const TOWNSHIP: &str = "430502001";
const V1: &str = "430502001001";
const V2: &str = "430502001002";
const OTHER_TOWNSHIP_VILLAGE: &str = "430502002001";

fn city() -> Scope {
    Scope::new(
        DivisionCode::parse("430500").unwrap(),
        Role::CityStaff,
        Actor::system(),
    )
}

/// 大祥区 with one street and one community, and its county login (`county2`).
async fn add_second_county(db: &Db) {
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

async fn setup(db: &Db) -> Router {
    small_demo(db).await;
    add_second_county(db).await;
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

async fn post_auth(app: &Router, uri: &str, token: &str) -> Reply {
    send(
        app,
        axum::http::Request::post(uri)
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
}

fn questionnaire(targets: &[&str]) -> Value {
    json!({
        "title": "2025 年社区服务群众满意度调查",
        "intro": "请根据您的实际感受填写，不记名。",
        "targets": targets,
        "questions": [
            {"kind": "single", "title": "您是否了解社区服务中心的开放时间", "options": ["了解", "不了解"]},
            {"kind": "multiple", "title": "您最需要哪些服务", "options": ["养老", "托育", "文化", "就业"], "max_choices": 2},
            {"kind": "scale", "title": "您对社区服务的总体满意程度"},
            {"kind": "text", "title": "您的意见和建议", "required": false}
        ]
    })
}

/// Build and open a survey as the township; returns its id.
async fn open_survey(app: &Router, t: &str, body: Value) -> i64 {
    let r = json(app, "POST", "/api/v1/surveys", Some(t), body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap();
    let r = post_auth(app, &format!("/api/v1/surveys/{id}/open"), t).await;
    assert_eq!(r.status, 200, "{}", r.text());
    id
}

async fn respond(app: &Router, id: i64, token: Option<&str>, body: Value) -> Reply {
    json(
        app,
        "POST",
        &format!("/api/v1/surveys/{id}/responses"),
        token,
        body,
    )
    .await
}

async fn stored(db: &Db, id: i64) -> i64 {
    surveys::response_count(&mut db.conn(), &city(), id)
        .await
        .unwrap()
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

/// The hidden nonce of an answer form.
fn nonce_of(html: &str) -> String {
    let marker = "name=\"nonce\" value=\"";
    let i = html.find(marker).expect("answer form with a nonce") + marker.len();
    html[i..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn build_open_answer_and_read_results_by_division() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let township = token(&app, "township").await;
        let r = json(
            &app,
            "POST",
            "/api/v1/surveys",
            Some(&township),
            questionnaire(&[TOWNSHIP]),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let s = r.json();
        let id = s["id"].as_i64().unwrap();
        assert_eq!(
            (&s["state"], &s["division"], &s["targets"], &s["accepting"]),
            (&json!("draft"), &json!(TOWNSHIP), &json!([TOWNSHIP]), &json!(false))
        );
        assert_eq!(s["questions"][1]["max_choices"], 2);
        assert_eq!(s["questions"][3]["required"], false);

        // A draft takes no answers and can still be changed.
        let r = respond(
            &app,
            id,
            None,
            json!({"division": V1, "nonce": "draft-nonce-1", "answers": {"q1": 0, "q2": [0], "q3": 4}}),
        )
        .await;
        assert_eq!(r.status, 422);
        assert_eq!(fields(&r), vec!["survey"]);
        let mut changed = questionnaire(&[TOWNSHIP]);
        changed["title"] = json!("2025 年群众满意度调查");
        let r = json(
            &app,
            "PUT",
            &format!("/api/v1/surveys/{id}"),
            Some(&township),
            changed,
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), &r.json()["title"]),
            (200, &json!("2025 年群众满意度调查"))
        );

        let r = post_auth(&app, &format!("/api/v1/surveys/{id}/open"), &township).await;
        assert_eq!((r.status.as_u16(), &r.json()["state"]), (200, &json!("open")));
        // Open surveys are no longer changed, nor opened twice.
        let r = json(
            &app,
            "PUT",
            &format!("/api/v1/surveys/{id}"),
            Some(&township),
            questionnaire(&[TOWNSHIP]),
        )
        .await;
        assert_eq!((r.status.as_u16(), fields(&r)), (422, vec!["state".to_owned()]));
        let r = post_auth(&app, &format!("/api/v1/surveys/{id}/open"), &township).await;
        assert_eq!(r.status, 422);

        // 1. A resident on the portal form (no sign-in).
        let mut resident = Browser::new(&app);
        let page = resident
            .get(&format!("/portal/surveys/{id}?division={V1}"))
            .await;
        assert_eq!(page.status, 200);
        let html = page.text();
        assert!(html.contains("id=\"answer-form\""), "{html}");
        let n1 = nonce_of(&html);
        let r = resident
            .post(
                &format!("/portal/surveys/{id}"),
                &[
                    ("division", V1),
                    ("nonce", &n1),
                    ("q1", "0"),
                    ("q2", "0"),
                    ("q2", "2"),
                    ("q3", "5"),
                    ("q4", "路灯很亮，谢谢社区"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let thanks = r.headers["location"].to_str().unwrap().to_owned();
        assert_eq!(thanks, format!("/portal/surveys/{id}/thanks?division={V1}"));
        assert!(resident.get(&thanks).await.text().contains("感谢您的参与"));

        // 2. A resident's app over JSON (no token).
        let r = respond(
            &app,
            id,
            None,
            json!({"division": V2, "nonce": "app-0001-abcdef", "answers": {"q1": 1, "q2": [1], "q3": 3, "q4": null}}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!((&r.json()["channel"], &r.json()["replayed"]), (&json!("portal"), &json!(false)));

        // 3. Community staff typing in a paper form over the API.
        let community = token(&app, "community").await;
        let r = respond(
            &app,
            id,
            Some(&community),
            json!({"division": V1, "answers": {"q1": 0, "q2": [0], "q3": 4, "q4": ""}}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["channel"], "paper");

        // 4. Township staff typing in a paper form on the page.
        let mut staff = Browser::new(&app);
        staff.login("township").await;
        let page = staff
            .get(&format!("/surveys/{id}/paper?division={V2}"))
            .await;
        assert_eq!(page.status, 200);
        let n4 = nonce_of(&page.text());
        let r = staff
            .post(
                &format!("/surveys/{id}/paper"),
                &[
                    ("division", V2),
                    ("nonce", &n4),
                    ("q1", "0"),
                    ("q2", "3"),
                    ("q2", "2"),
                    ("q3", "2"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(
            r.headers["location"],
            format!("/surveys/{id}/paper?division={V2}&saved=1")
        );
        assert_eq!(stored(&db, id).await, 4);

        // Results for the township: every answer, per option, mean and distribution.
        let county = token(&app, "county").await;
        let r = get_auth(
            &app,
            &format!("/api/v1/surveys/{id}/results?division={TOWNSHIP}"),
            &county,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!((&v["responses"], &v["portal"], &v["paper"]), (&json!(4), &json!(2), &json!(2)));
        let counts = |q: usize| -> Vec<i64> {
            v["questions"][q]["options"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["count"].as_i64().unwrap())
                .collect()
        };
        assert_eq!(counts(0), vec![3, 1]);
        assert_eq!(counts(1), vec![2, 1, 2, 1]);
        assert_eq!(v["questions"][2]["mean"], 3.5);
        assert_eq!(v["questions"][2]["distribution"], json!([0, 1, 1, 1, 1]));
        assert_eq!(v["questions"][2]["answered"], 4);
        assert_eq!(v["questions"][3]["answered"], 1);
        assert_eq!(v["questions"][3]["texts"]["items"][0]["text"], "路灯很亮，谢谢社区");
        assert_eq!(v["questions"][3]["texts"]["items"][0]["division"], V1);
        // Children: every village of the township, answered or not.
        let kids = v["children"].as_array().unwrap();
        assert!(kids.len() > 2);
        let kid = |code: &str| kids.iter().find(|k| k["division"] == code).unwrap().clone();
        assert_eq!((&kid(V1)["responses"], &kid(V1)["mean_score"]), (&json!(2), &json!(4.5)));
        assert_eq!((&kid(V2)["responses"], &kid(V2)["mean_score"]), (&json!(2), &json!(2.5)));
        assert_eq!(
            kids.iter().map(|k| k["responses"].as_i64().unwrap()).sum::<i64>(),
            4
        );
        assert_eq!(v["direct"], 0);

        // One village: its own answers only; they sit at the village, not in a grid.
        let r = get_auth(&app, &format!("/api/v1/surveys/{id}/results?division={V1}"), &county).await;
        let v = r.json();
        assert_eq!((&v["responses"], &v["direct"]), (&json!(2), &json!(2)));
        assert_eq!(v["questions"][2]["mean"], 4.5);
        assert_eq!(v["questions"][0]["options"][0]["count"], 2);
        // The county: the township holds all four; by default the owner's node.
        let r = get_auth(&app, &format!("/api/v1/surveys/{id}/results?division=430502"), &county).await;
        let v = r.json();
        let kids = v["children"].as_array().unwrap();
        assert_eq!(kids.iter().find(|k| k["division"] == TOWNSHIP).unwrap()["responses"], 4);
        assert!(kids.iter().filter(|k| k["division"] != TOWNSHIP).all(|k| k["responses"] == 0));
        let r = get_auth(&app, &format!("/api/v1/surveys/{id}/results"), &county).await;
        assert_eq!(r.json()["division"], TOWNSHIP);
        // Text answers page.
        let r = get_auth(
            &app,
            &format!("/api/v1/surveys/{id}/results?division={TOWNSHIP}&text_page=2&text_per_page=1"),
            &county,
        )
        .await;
        assert_eq!(r.json()["questions"][3]["texts"]["items"], json!([]));
        assert_eq!(r.json()["questions"][3]["texts"]["total"], 1);

        // Closing stops answers; closing twice is refused.
        let r = post_auth(&app, &format!("/api/v1/surveys/{id}/close"), &township).await;
        assert_eq!((r.status.as_u16(), &r.json()["state"]), (200, &json!("closed")));
        let r = respond(
            &app,
            id,
            None,
            json!({"division": V1, "nonce": "late-nonce-0001", "answers": {"q1": 0, "q2": [0], "q3": 4}}),
        )
        .await;
        assert_eq!((r.status.as_u16(), fields(&r)), (422, vec!["survey".to_owned()]));
        let r = respond(
            &app,
            id,
            Some(&community),
            json!({"division": V1, "answers": {"q1": 0, "q2": [0], "q3": 4}}),
        )
        .await;
        assert_eq!(r.status, 422);
        assert_eq!(post_auth(&app, &format!("/api/v1/surveys/{id}/close"), &township).await.status, 422);
        assert_eq!(stored(&db, id).await, 4);

        // Every change is in the audit chain.
        let actions: Vec<String> = shequ_db::audit::search(
            &mut db.conn(),
            &shequ_db::audit::Filter::default(),
            shequ_db::PageReq::all(),
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.action.starts_with("survey_"))
        .map(|e| e.action)
        .collect();
        for (action, n) in [
            ("survey_create", 1),
            ("survey_update", 1),
            ("survey_open", 1),
            ("survey_close", 1),
            ("survey_paper_entry", 2),
        ] {
            assert_eq!(actions.iter().filter(|a| *a == action).count(), n, "{action}");
        }
        shequ_db::audit::require_intact(&mut db.conn()).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn answers_outside_targets_or_window_and_invalid_answers_are_refused() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let township = token(&app, "township").await;
        let id = open_survey(&app, &township, questionnaire(&[V1])).await;
        let good = json!({"q1": 0, "q2": [1, 3], "q3": 5});

        // Outside the targets (a neighbour, another township), or not a village.
        for d in [V2, OTHER_TOWNSHIP_VILLAGE, TOWNSHIP] {
            let r = respond(&app, id, None, json!({"division": d, "nonce": format!("n-{d}"), "answers": good})).await;
            assert_eq!((r.status.as_u16(), fields(&r)), (422, vec!["division".to_owned()]), "{d}");
        }
        let r = respond(&app, id, None, json!({"division": "43050200100", "nonce": "n-bad-code", "answers": good})).await;
        assert_eq!(r.status, 400);
        // The portal needs a nonce.
        let r = respond(&app, id, None, json!({"division": V1, "answers": good})).await;
        assert_eq!(fields(&r), vec!["nonce"]);

        // Invalid answers: every bad question named, nothing stored.
        let r = respond(
            &app,
            id,
            None,
            json!({"division": V1, "nonce": "bad-answers-01", "answers": {"q1": 2, "q2": [0, 1, 2], "q3": 9, "q4": "<b>好</b>", "q7": 1}}),
        )
        .await;
        assert_eq!(r.status, 422);
        assert_eq!(fields(&r), vec!["q1", "q2", "q3", "q4", "q7"]);
        let r = respond(
            &app,
            id,
            None,
            json!({"division": V1, "nonce": "bad-answers-02", "answers": {"q1": "了解", "q2": [], "q4": "好"}}),
        )
        .await;
        assert_eq!(fields(&r), vec!["q1", "q2", "q3"]);
        assert_eq!(stored(&db, id).await, 0);
        // The same nonce works once the answers are right: nothing was kept of the failure.
        let r = respond(&app, id, None, json!({"division": V1, "nonce": "bad-answers-01", "answers": good})).await;
        assert_eq!(r.status, 201, "{}", r.text());

        // The portal form shows the errors next to the questions and keeps the answers.
        let mut resident = Browser::new(&app);
        let html = resident.get(&format!("/portal/surveys/{id}?division={V1}")).await.text();
        let n = nonce_of(&html);
        let r = resident
            .post(
                &format!("/portal/surveys/{id}"),
                &[("division", V1), ("nonce", &n), ("q1", "1"), ("q2", "0"), ("q2", "1"), ("q2", "2")],
            )
            .await;
        assert_eq!(r.status, 422);
        let html = r.text();
        assert!(html.contains("id=\"q2-error\"") && html.contains("id=\"q3-error\""), "{html}");
        assert!(!html.contains("id=\"q1-error\""));
        assert!(html.contains("value=\"1\" checked"), "the answer to q1 is kept");
        assert_eq!(nonce_of(&html), n, "the same nonce is offered again");
        assert_eq!(stored(&db, id).await, 1);

        // Not yet started; window already over when opening.
        let mut later = questionnaire(&[V1]);
        later["starts_at"] = json!((now() + Duration::days(2)).to_rfc3339());
        let later_id = open_survey(&app, &township, later).await;
        let r = respond(&app, later_id, None, json!({"division": V1, "nonce": "too-early-001", "answers": good})).await;
        assert_eq!((r.status.as_u16(), fields(&r)), (422, vec!["survey".to_owned()]));
        let mut past = questionnaire(&[V1]);
        past["ends_at"] = json!((now() - Duration::days(1)).to_rfc3339());
        let r = json(&app, "POST", "/api/v1/surveys", Some(&township), past).await;
        let past_id = r.json()["id"].as_i64().unwrap();
        let r = post_auth(&app, &format!("/api/v1/surveys/{past_id}/open"), &township).await;
        assert_eq!((r.status.as_u16(), fields(&r)), (422, vec!["ends_at".to_owned()]));
        // The portal lists only surveys taking answers now.
        let list = Browser::new(&app).get("/portal/surveys").await.text();
        assert!(list.contains(&format!("/portal/surveys/{id}")));
        assert!(!list.contains(&format!("/portal/surveys/{later_id}")));
        assert!(!list.contains(&format!("/portal/surveys/{past_id}")));
        let elsewhere = Browser::new(&app)
            .get(&format!("/portal/surveys?division={OTHER_TOWNSHIP_VILLAGE}"))
            .await
            .text();
        assert!(!elsewhere.contains(&format!("/portal/surveys/{id}")), "{elsewhere}");
        assert!(elsewhere.contains("id=\"no-surveys\""));
    })
    .await;
}

#[tokio::test]
async fn bad_questionnaires_are_refused_with_errors_per_question() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let township = token(&app, "township").await;
        let bad = json!({
            "title": "<script>x</script>",
            "targets": ["430502002", "430503"],
            "questions": [
                {"kind": "single", "title": "只有一个选项", "options": ["是"]},
                {"kind": "vote", "title": "未知题型"}
            ]
        });
        let r = json(&app, "POST", "/api/v1/surveys", Some(&township), bad).await;
        assert_eq!(
            (r.status.as_u16(), fields(&r)),
            (422, vec!["q2".to_owned()])
        );
        let bad = json!({
            "title": "<script>x</script>",
            "targets": ["430502002", "430503"],
            "starts_at": "2025-07-10T00:00:00Z", "ends_at": "2025-07-01T00:00:00Z",
            "questions": [
                {"kind": "single", "title": "只有一个选项", "options": ["是"]},
                {"kind": "text", "title": "意见", "max_choices": 1}
            ]
        });
        let r = json(&app, "POST", "/api/v1/surveys", Some(&township), bad).await;
        assert_eq!(r.status, 422);
        assert_eq!(fields(&r), vec!["ends_at", "q1", "q2", "targets", "title"]);
        let none = json!({"title": "空问卷", "targets": [TOWNSHIP], "questions": []});
        let r = json(&app, "POST", "/api/v1/surveys", Some(&township), none).await;
        assert_eq!(fields(&r), vec!["questions"]);
        // A grid worker reads but does not build.
        let grid = token(&app, "grid").await;
        let r = json(
            &app,
            "POST",
            "/api/v1/surveys",
            Some(&grid),
            questionnaire(&[TOWNSHIP]),
        )
        .await;
        assert_eq!(r.status, 403);
        assert_eq!(get_auth(&app, "/api/v1/surveys", &grid).await.status, 200);
        assert_eq!(
            shequ_db::surveys::list(
                &mut db.conn(),
                &city(),
                &Default::default(),
                shequ_db::PageReq::all()
            )
            .await
            .unwrap()
            .total,
            0
        );
    })
    .await;
}

#[tokio::test]
async fn a_nonce_replay_is_stored_once() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let township = token(&app, "township").await;
        let id = open_survey(&app, &township, questionnaire(&[TOWNSHIP])).await;
        let body = json!({"division": V1, "nonce": "same-nonce-42", "answers": {"q1": 0, "q2": [2], "q3": 5}});
        let first = respond(&app, id, None, body.clone()).await;
        assert_eq!(first.status, 201);
        let again = respond(&app, id, None, body).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.json()["id"], first.json()["id"]);
        assert_eq!(again.json()["replayed"], true);
        // Even with other answers, the first response stands.
        let other = respond(
            &app,
            id,
            None,
            json!({"division": V2, "nonce": "same-nonce-42", "answers": {"q1": 1, "q2": [0], "q3": 1}}),
        )
        .await;
        assert_eq!((other.status.as_u16(), &other.json()["id"]), (200, &first.json()["id"]));
        assert_eq!(stored(&db, id).await, 1);

        // The portal form posted twice (a double tap, or back and resubmit).
        let mut resident = Browser::new(&app);
        let n = nonce_of(&resident.get(&format!("/portal/surveys/{id}?division={V2}")).await.text());
        for _ in 0..2 {
            let r = resident
                .post(
                    &format!("/portal/surveys/{id}"),
                    &[("division", V2), ("nonce", &n), ("q1", "1"), ("q2", "1"), ("q3", "4")],
                )
                .await;
            assert_eq!(r.status, 303, "{}", r.text());
        }
        assert_eq!(stored(&db, id).await, 2);
        // A nonce belongs to one survey.
        let second = open_survey(&app, &township, questionnaire(&[TOWNSHIP])).await;
        let r = respond(
            &app,
            second,
            None,
            json!({"division": V1, "nonce": "same-nonce-42", "answers": {"q1": 0, "q2": [2], "q3": 5}}),
        )
        .await;
        assert_eq!((r.status.as_u16(), fields(&r)), (422, vec!["nonce".to_owned()]));
        assert_eq!(stored(&db, second).await, 0);
    })
    .await;
}

#[tokio::test]
async fn scope_decides_who_sees_and_changes_a_survey() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let county = token(&app, "county").await;
        let id = open_survey(&app, &county, questionnaire(&[TOWNSHIP])).await;
        let draft = json(
            &app,
            "POST",
            "/api/v1/surveys",
            Some(&county),
            questionnaire(&["430502"]),
        )
        .await
        .json()["id"]
            .as_i64()
            .unwrap();

        // Another county's staff: not seen, not changed, no paper entry, no results.
        let other = token(&app, "county2").await;
        assert_eq!(
            get_auth(&app, "/api/v1/surveys", &other).await.json()["total"],
            0
        );
        for uri in [
            format!("/api/v1/surveys/{id}"),
            format!("/api/v1/surveys/{id}/results"),
            format!("/api/v1/surveys/{id}/results?division=430503"),
        ] {
            assert_eq!(get_auth(&app, &uri, &other).await.status, 404, "{uri}");
        }
        assert_eq!(
            post_auth(&app, &format!("/api/v1/surveys/{id}/close"), &other)
                .await
                .status,
            404
        );
        assert_eq!(
            post_auth(&app, &format!("/api/v1/surveys/{draft}/open"), &other)
                .await
                .status,
            404
        );
        let r = json(
            &app,
            "PUT",
            &format!("/api/v1/surveys/{draft}"),
            Some(&other),
            questionnaire(&["430503"]),
        )
        .await;
        assert_eq!(r.status, 404);
        let r = respond(
            &app,
            id,
            Some(&other),
            json!({"division": "430503001001", "answers": {"q1": 0, "q2": [0], "q3": 3}}),
        )
        .await;
        assert_eq!(r.status, 404);
        // Nor can it target divisions outside its own area.
        let r = json(
            &app,
            "POST",
            "/api/v1/surveys",
            Some(&other),
            questionnaire(&[TOWNSHIP]),
        )
        .await;
        assert_eq!(fields(&r), vec!["targets"]);
        let mut br = Browser::new(&app);
        br.login("county2").await;
        assert_eq!(br.get(&format!("/surveys/{id}")).await.status, 404);
        assert_eq!(br.get(&format!("/surveys/{id}/results")).await.status, 404);
        assert!(
            !br.get("/surveys")
                .await
                .text()
                .contains(&format!("/surveys/{id}\""))
        );

        // A community under the target sees it and enters paper forms for itself,
        // but neither changes it nor enters forms for a neighbour or reads the township.
        let community = token(&app, "community").await;
        let list = get_auth(&app, "/api/v1/surveys", &community).await.json();
        assert_eq!(
            list["total"], 1,
            "the county's draft is not shown below the county"
        );
        assert_eq!(list["items"][0]["id"], id);
        assert_eq!(
            post_auth(&app, &format!("/api/v1/surveys/{id}/close"), &community)
                .await
                .status,
            404
        );
        let r = respond(
            &app,
            id,
            Some(&community),
            json!({"division": V2, "answers": {"q1": 0, "q2": [0], "q3": 3}}),
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), fields(&r)),
            (422, vec!["division".to_owned()])
        );
        let r = respond(
            &app,
            id,
            Some(&community),
            json!({"division": V1, "answers": {"q1": 0, "q2": [0], "q3": 3}}),
        )
        .await;
        assert_eq!(r.status, 201);
        let r = get_auth(
            &app,
            &format!("/api/v1/surveys/{id}/results?division={TOWNSHIP}"),
            &community,
        )
        .await;
        assert_eq!(r.status, 404);
        let r = get_auth(&app, &format!("/api/v1/surveys/{id}/results"), &community).await;
        assert_eq!(
            (&r.json()["division"], &r.json()["responses"]),
            (&json!(V1), &json!(1))
        );

        // Residents and the portal never see drafts.
        assert_eq!(
            Browser::new(&app)
                .get(&format!("/portal/surveys/{draft}"))
                .await
                .status,
            404
        );
        assert_eq!(
            get_auth(&app, "/api/v1/surveys", &token(&app, "resident").await)
                .await
                .status,
            403
        );
        assert_eq!(
            shequ_testkit::get(&app, "/api/v1/surveys").await.status,
            401
        );
    })
    .await;
}

#[tokio::test]
async fn answered_villages_counts_responses_per_village_in_the_window() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let township = token(&app, "township").await;
        let a = open_survey(&app, &township, questionnaire(&[TOWNSHIP])).await;
        let b = open_survey(&app, &township, questionnaire(&[V1])).await;
        let grid = format!("{V1}001");
        let answers = json!({"q1": 0, "q2": [0], "q3": 4});
        for (survey, division, nonce) in [
            (a, V1, "cov-00001"),
            (a, V2, "cov-00002"),
            (a, grid.as_str(), "cov-00003"),
            (b, V1, "cov-00004"),
        ] {
            let r = respond(
                &app,
                survey,
                None,
                json!({"division": division, "nonce": nonce, "answers": answers}),
            )
            .await;
            assert_eq!(r.status, 201, "{division}: {}", r.text());
        }
        let from = now() - Duration::days(30);
        let got = surveys::answered_villages(&mut db.conn(), from, now() + Duration::seconds(1))
            .await
            .unwrap();
        assert_eq!(got, vec![(V1.to_owned(), 3), (V2.to_owned(), 1)]);
        let none = surveys::answered_villages(&mut db.conn(), from, now())
            .await
            .unwrap();
        assert!(
            none.is_empty(),
            "the window ends before the answers: {none:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn staff_build_open_enter_and_read_results_on_the_pages() {
    on_each_backend(|db| async move {
        let app = setup(&db).await;
        let mut br = Browser::new(&app);
        br.login("township").await;
        let home = br.get("/").await.text();
        assert!(
            home.contains("href=\"/surveys\""),
            "nav link for survey managers"
        );
        let page = br.get("/surveys/new").await;
        assert_eq!(page.status, 200);
        let html = page.text();
        assert!(html.contains("name=\"q2_title\"") && !html.contains("name=\"q3_title\""));
        assert!(html.contains(&format!("value=\"{TOWNSHIP}\" checked")));

        let mut fields: Vec<(&str, &str)> = vec![
            ("title", "兴隆街道便民服务满意度调查"),
            ("intro", "请如实填写"),
            ("target", TOWNSHIP),
            ("starts", ""),
            ("ends", "2025-07-31"),
            ("count", "2"),
            ("q1_kind", "scale"),
            ("q1_title", "您对便民服务的满意程度"),
            ("q1_required", "1"),
            ("q2_kind", "single"),
            ("q2_title", "您去过便民服务中心吗"),
            ("q2_options", "去过\n没去过"),
            ("q2_required", "1"),
        ];
        // "Add a question" returns the form with a third row, values kept.
        let mut add = fields.clone();
        add.push(("op", "add"));
        let r = br.post("/surveys", &add).await;
        assert_eq!(r.status, 200);
        let html = r.text();
        assert!(html.contains("name=\"q3_title\""), "{html}");
        assert!(html.contains("value=\"您去过便民服务中心吗\""));
        assert!(html.contains("name=\"count\" value=\"3\""));
        // A bad row is reported under its question, nothing saved.
        let mut bad = fields.clone();
        bad.retain(|(k, _)| *k != "q2_options");
        bad.push(("q2_options", "只有一个"));
        bad.push(("op", "save"));
        let r = br.post("/surveys", &bad).await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("选择题应有 2–10 个选项"));
        // Saved as a draft, then opened from the detail page.
        fields.extend([
            ("q3_kind", "text"),
            ("q3_title", "其他意见"),
            ("q3_required", "0"),
            ("op", "save"),
        ]);
        fields.retain(|(k, _)| *k != "count");
        fields.push(("count", "3"));
        let r = br.post("/surveys", &fields).await;
        assert_eq!(r.status, 303, "{}", r.text());
        let location = r.headers["location"].to_str().unwrap().to_owned();
        let id: i64 = location
            .trim_start_matches("/surveys/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let detail = br.get(&location).await.text();
        assert!(
            detail.contains("草稿") && detail.contains("id=\"open-survey\""),
            "{detail}"
        );
        assert!(detail.contains("截至 2025-07-31"));
        // The draft comes back into the builder as saved, and changes stick.
        let edit = br.get(&format!("/surveys/{id}/edit")).await.text();
        assert!(
            edit.contains("value=\"兴隆街道便民服务满意度调查\""),
            "{edit}"
        );
        assert!(edit.contains("name=\"q3_title\"") && edit.contains("value=\"2025-07-31\""));
        let mut renamed = fields.clone();
        renamed.retain(|(k, _)| *k != "title");
        renamed.push(("title", "兴隆街道便民服务满意度调查（第二版）"));
        let r = br.post(&format!("/surveys/{id}/edit"), &renamed).await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert!(
            br.get(&format!("/surveys/{id}"))
                .await
                .text()
                .contains("（第二版）")
        );
        let r = br.post(&format!("/surveys/{id}/open"), &[]).await;
        assert_eq!(r.status, 303);
        let detail = br.get(&format!("/surveys/{id}")).await.text();
        assert!(detail.contains("进行中") && detail.contains("id=\"close-survey\""));
        assert!(!detail.contains("id=\"edit-link\""));

        // Paper entry: choose the community step by step, then save two forms.
        let page = br.get(&format!("/surveys/{id}/paper")).await.text();
        assert!(
            page.contains("请选择村（社区）") && page.contains(&format!("value=\"{V1}\"")),
            "{page}"
        );
        assert!(!page.contains("id=\"answer-form\""));
        for (division, score) in [(V1, "5"), (V1, "3")] {
            let html = br
                .get(&format!("/surveys/{id}/paper?division={division}"))
                .await
                .text();
            assert!(html.contains("id=\"chosen-place\""));
            let n = nonce_of(&html);
            let r = br
                .post(
                    &format!("/surveys/{id}/paper"),
                    &[
                        ("division", division),
                        ("nonce", &n),
                        ("q1", score),
                        ("q2", "0"),
                        ("q3", ""),
                    ],
                )
                .await;
            assert_eq!(r.status, 303, "{}", r.text());
        }
        // A missing required answer comes back with the error by the question.
        let html = br
            .get(&format!("/surveys/{id}/paper?division={V2}"))
            .await
            .text();
        let n = nonce_of(&html);
        let r = br
            .post(
                &format!("/surveys/{id}/paper"),
                &[("division", V2), ("nonce", &n), ("q2", "1")],
            )
            .await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("id=\"q1-error\""));

        // Results with bars and the drill-down to the communities.
        let r = br.get(&format!("/surveys/{id}/results")).await;
        assert_eq!(r.status, 200);
        let html = r.text();
        assert!(html.contains("<svg class=\"chart bars\""));
        assert!(html.contains("id=\"total\">2<"), "{html}");
        assert!(html.contains(&format!("/surveys/{id}/results?division={V1}")));
        assert!(html.contains("id=\"q1-mean\">4.00<"));
        let html = br
            .get(&format!("/surveys/{id}/results?division={V1}"))
            .await
            .text();
        assert!(html.contains("id=\"total\">2<"));
        let html = br
            .get(&format!("/surveys/{id}/results?division={V2}"))
            .await
            .text();
        assert!(html.contains("id=\"total\">0<"));

        // The list shows it with its answers; a resident's browser cannot open staff pages.
        let list = br.get("/surveys").await.text();
        assert!(list.contains("兴隆街道便民服务满意度调查"));
        let mut resident = Browser::new(&app);
        resident.login("resident").await;
        assert_eq!(resident.get("/surveys").await.status, 403);
        assert_eq!(
            resident.get(&format!("/surveys/{id}/paper")).await.status,
            403
        );
        let anonymous = Browser::new(&app).get("/surveys").await;
        assert_eq!(anonymous.status, 303);

        // The portal picks the community step by step too.
        let mut p = Browser::new(&app);
        let html = p.get(&format!("/portal/surveys/{id}")).await.text();
        assert!(html.contains("请选择村（社区）"), "{html}");
        let html = p
            .get(&format!(
                "/portal/surveys/{id}?division={OTHER_TOWNSHIP_VILLAGE}"
            ))
            .await
            .text();
        assert!(
            !html.contains("id=\"answer-form\""),
            "not a target: back to choosing"
        );
        let html = p
            .get(&format!("/portal/surveys/{id}?division={V2}"))
            .await
            .text();
        assert!(html.contains("id=\"answer-form\"") && html.contains("sv-scale"));

        // Closed: the portal says so and offers no form.
        let r = br.post(&format!("/surveys/{id}/close"), &[]).await;
        assert_eq!(r.status, 303);
        let html = p
            .get(&format!("/portal/surveys/{id}?division={V2}"))
            .await
            .text();
        assert!(html.contains("id=\"refusal\"") && !html.contains("id=\"answer-form\""));
    })
    .await;
}
