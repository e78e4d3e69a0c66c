//! The staff pages of 接诉即办 as a browser uses them: the workbench and its
//! queues, dispatching and handling an order step by step, refusals that change
//! nothing, bulk actions, staff entry with photos, scope, the map, the settings
//! pages and notices.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use shequ_core::workorders::{Action, Calendar, State};
use shequ_core::{DivisionCode, Phone, Role};
use shequ_db::Db;
use shequ_db::scope::{Actor, Scope};
use shequ_db::workorders::{self, NewOrder, photos};
use shequ_testkit::{
    Browser, Reply, app, demo_users, key, now, on_each_backend, password_hash, send, small_demo,
};

const COMMUNITY: &str = "430502001001";
const NEIGHBOUR: &str = "430502001002";

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).unwrap()
}

fn county_scope() -> Scope {
    Scope::new(
        code("430502"),
        Role::CountyStaff,
        Actor {
            user_id: None,
            name: "county".into(),
            role: "county_staff".into(),
        },
    )
}

/// An order taken in directly in the store.
async fn order(db: &Db, division: &str, category: &str, at: Option<(f64, f64)>) -> (i64, String) {
    let o = NewOrder {
        category: category.into(),
        description: "小区东门垃圾桶满了没人清运".into(),
        location: at.map(|(lon, lat)| shequ_core::geo::Point { lon, lat }),
        address: "宝庆路1号".into(),
        division: code(division),
        channel: "phone".into(),
        urgent: false,
        reporter_name: "王女士".into(),
        reporter_phone: Some(Phone::parse("13807390000").unwrap()),
        reporter_user_id: None,
        idempotency_key: None,
        attributes: serde_json::Map::new(),
    };
    let mut c = db.conn();
    let (id, _) = workorders::create(&mut c, &key(), &o, &Actor::system(), now())
        .await
        .unwrap();
    let got = workorders::get(&mut c, &county_scope(), id)
        .await
        .unwrap()
        .unwrap();
    (id, got.tracking_code)
}

async fn dispatch(db: &Db, id: i64, unit: &str) {
    workorders::transition(
        &mut db.conn(),
        &county_scope(),
        &Calendar::china_2025(),
        id,
        &Action::Dispatch { unit: unit.into() },
        now(),
    )
    .await
    .unwrap();
}

async fn state_of(db: &Db, id: i64) -> State {
    workorders::get(&mut db.conn(), &county_scope(), id)
        .await
        .unwrap()
        .unwrap()
        .state()
        .unwrap()
}

async fn events(db: &Db, id: i64) -> Vec<String> {
    workorders::timeline(&mut db.conn(), id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

/// A community worker of the neighbouring community.
async fn neighbour_user(db: &Db) {
    let u = shequ_db::users::NewUser {
        username: "community2".into(),
        display_name: "隔壁社区工作者".into(),
        role: Role::CommunityStaff,
        division: code(NEIGHBOUR),
        password_hash: password_hash(),
    };
    shequ_db::users::create(&mut db.conn(), &Actor::system(), &u, now())
        .await
        .unwrap();
}

async fn login(app: &axum::Router, user: &str) -> Browser {
    let mut b = Browser::new(app);
    b.login(user).await;
    b
}

fn location(r: &Reply) -> String {
    r.headers["location"].to_str().unwrap().to_owned()
}

/// Pages carry a random CSRF token and random tracking codes; snapshots show fixed ones.
fn redact(html: &str, codes: &[&str]) -> String {
    let marker = "name=\"csrf\" value=\"";
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find(marker) {
        let (head, tail) = rest.split_at(i + marker.len());
        out.push_str(head);
        out.push_str("[csrf]");
        rest = tail.find('"').map_or("", |j| &tail[j..]);
    }
    out.push_str(rest);
    for (i, c) in codes.iter().enumerate() {
        out = out.replace(c, &format!("[code{}]", i + 1));
    }
    out
}

fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len() + 2).unwrap();
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&len.to_be_bytes());
    s.extend_from_slice(payload);
    s
}

/// A small, well-formed JPEG straight from a "camera": EXIF with a GPS position,
/// a comment, and `padding` extra metadata segments of 60 kB each.
fn camera_jpeg(padding: usize) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
    j.extend(segment(0xE1, b"Exif\0\0MM\0*GPS 27.2389N 111.4677E"));
    for _ in 0..padding {
        j.extend(segment(0xE2, &[b'x'; 60_000]));
    }
    j.extend(segment(0xFE, b"GPS comment from camera"));
    let mut dqt = vec![0u8];
    dqt.extend([1u8; 64]);
    j.extend(segment(0xDB, &dqt));
    j.extend(segment(0xC0, &[8, 0, 8, 0, 16, 1, 1, 0x11, 0]));
    let mut dht = vec![0x00, 1];
    dht.extend([0u8; 15]);
    dht.push(0);
    j.extend(segment(0xC4, &dht));
    j.extend(segment(0xDA, &[1, 1, 0x00, 0, 0x3F, 0]));
    j.extend_from_slice(&[0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD0, 0x78]);
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Post a multipart form as the browser would (CSRF from its cookie).
async fn post_multipart(
    b: &mut Browser,
    uri: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &[u8])],
) -> Reply {
    if !b.cookies.contains_key("shequ_csrf") {
        b.get("/").await;
    }
    let csrf = b.cookies["shequ_csrf"].clone();
    let boundary = "----shequ-test-boundary-7d1f";
    let mut body: Vec<u8> = Vec::new();
    let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    for (k, v) in all {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (k, bytes) in files {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"IMG_0001.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    let cookie = b
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let req = Request::post(uri)
        .header("cookie", cookie)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    send(&b.app, req).await
}

#[tokio::test]
async fn a_dispatcher_dispatches_and_the_community_handles_the_order() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        demo_users(&db).await;
        let (_, app) = app(&db).await;
        let (id, tc) = order(&db, "430502001001001", "environment.garbage", None).await;

        // The county dispatcher sees it waiting in 待派单.
        let mut county = login(&app, "county").await;
        let bench = county.get("/workorders").await;
        assert_eq!(bench.status, StatusCode::OK);
        let html = bench.text();
        assert!(html.contains("id=\"tab-to_dispatch\" aria-current=\"page\">待派单 <span class=\"wo-count\">1</span>"), "{html}");
        assert!(html.contains(&tc) && html.contains("批量派单"));
        let detail = county.get(&format!("/workorders/{id}")).await.text();
        assert!(detail.contains("id=\"form-dispatch\"") && !detail.contains("id=\"form-sign\""));
        assert!(detail.contains("138****0000") && !detail.contains("13807390000"));
        let r = county
            .post(
                &format!("/workorders/{id}/actions"),
                &[("action", "dispatch"), ("unit", COMMUNITY)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(location(&r), format!("/workorders/{id}?done=dispatch"));
        assert!(county.get(&location(&r)).await.text().contains("已派单。"));
        assert_eq!(state_of(&db, id).await, State::Dispatched);

        // The community sees it in 待签收 (and has no 待派单 queue), and a notice.
        let mut community = login(&app, "community").await;
        let bench = community.get("/workorders").await.text();
        assert!(!bench.contains("tab-to_dispatch"));
        assert!(bench.contains("id=\"tab-to_sign\" aria-current=\"page\">待签收 <span class=\"wo-count\">1</span>"), "{bench}");
        assert!(bench.contains(&tc) && bench.contains("批量签收"));
        let notices = community.get("/notices").await.text();
        assert!(notices.contains(&format!("新派工单 {tc}")), "{notices}");
        assert!(community.get("/workorders").await.text().contains("1 条未读通知"));

        for (action, field, value) in [
            ("sign", "", ""),
            ("start", "", ""),
            ("reply", "text", "已联系环卫站，今天下午清运"),
        ] {
            let mut fields = vec![("action", action)];
            if !field.is_empty() {
                fields.push((field, value));
            }
            let r = community
                .post(&format!("/workorders/{id}/actions"), &fields)
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{action}: {}", r.text());
        }
        assert_eq!(state_of(&db, id).await, State::Replied);
        let r = post_multipart(
            &mut community,
            &format!("/workorders/{id}/close"),
            &[("summary", "垃圾已清运，桶已清洗")],
            &[("photo", &camera_jpeg(0))],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(state_of(&db, id).await, State::Closed);
        assert_eq!(
            events(&db, id).await,
            vec!["accept", "dispatch", "sign", "start", "reply", "close"]
        );
        let pics = photos::of_order(&mut db.conn(), id).await.unwrap();
        assert_eq!(pics.len(), 1);
        assert_eq!(pics[0].kind, "result");
        let page = community.get(&format!("/workorders/{id}")).await.text();
        assert!(page.contains("id=\"state\">已办结"));
        assert!(page.contains("垃圾已清运，桶已清洗") && page.contains("办理结果"));
        // The reporter was told by text message at signing, reply and close.
        assert!(page.contains("已由承办单位签收") && page.contains("138****0000"));
        // Reading the notices clears the count.
        let r = community.post("/notices/read", &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(community.get("/notices").await.text().contains("未读 0 条"));
    })
    .await;
}

#[tokio::test]
async fn another_community_gets_404_for_the_order_and_its_photo() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        demo_users(&db).await;
        neighbour_user(&db).await;
        let (_, app) = app(&db).await;
        let (id, _) = order(&db, COMMUNITY, "environment.garbage", None).await;
        let photo = shequ_core::photo::clean(&camera_jpeg(0)).unwrap();
        let pid = photos::add(&mut db.conn(), id, "report", &photo, now())
            .await
            .unwrap();

        let mut other = login(&app, "community2").await;
        let r = other.get(&format!("/workorders/{id}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(!r.text().contains("小区东门垃圾桶"));
        let r = other.get(&format!("/workorders/photos/{pid}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(!contains(&r.body, &photo.bytes));
        let r = other
            .post(&format!("/workorders/{id}/actions"), &[("action", "sign")])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);

        let mut own = login(&app, "community").await;
        let r = own.get(&format!("/workorders/photos/{pid}")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.headers["content-type"], "image/jpeg");
        assert!(
            r.headers["cache-control"]
                .to_str()
                .unwrap()
                .starts_with("private")
        );
        assert_eq!(r.body.as_ref(), photo.bytes.as_slice());
        // Signed out: to the login page.
        let r = Browser::new(&app)
            .get(&format!("/workorders/photos/{pid}"))
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn an_illegal_step_is_refused_with_the_reason_and_changes_nothing() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        demo_users(&db).await;
        let (_, app) = app(&db).await;
        let (id, _) = order(&db, COMMUNITY, "environment.garbage", None).await;
        dispatch(&db, id, COMMUNITY).await;
        let before = events(&db, id).await;
        let mut community = login(&app, "community").await;
        let page = community.get(&format!("/workorders/{id}")).await.text();
        assert!(page.contains("id=\"form-sign\"") && !page.contains("id=\"form-close\""));

        let r = community
            .post(
                &format!("/workorders/{id}/actions"),
                &[("action", "close"), ("summary", "已处理")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text();
        assert!(html.contains("当前状态“待签收”下不能“办结”"), "{html}");
        assert!(html.contains("id=\"form-errors\""));
        // 退单 needs a reason; the typed text is kept.
        let r = community
            .post(
                &format!("/workorders/{id}/actions"),
                &[("action", "return"), ("reason", "  ")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("请填写退单理由"));
        // A unit may not dispatch.
        let r = community
            .post(
                &format!("/workorders/{id}/actions"),
                &[
                    ("action", "transfer"),
                    ("unit", NEIGHBOUR),
                    ("reason", "不归我们管"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.text().contains("您无权对这张工单执行此操作"));
        // A form without the CSRF field is refused.
        let r = community
            .post(
                &format!("/workorders/{id}/actions"),
                &[("action", "sign"), ("csrf", "forged")],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(state_of(&db, id).await, State::Dispatched);
        assert_eq!(events(&db, id).await, before);
    })
    .await;
}

#[tokio::test]
async fn bulk_actions_report_each_order() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        demo_users(&db).await;
        let (_, app) = app(&db).await;
        let mut ids = Vec::new();
        for _ in 0..3 {
            let (id, _) = order(&db, COMMUNITY, "environment.garbage", None).await;
            dispatch(&db, id, COMMUNITY).await;
            ids.push(id);
        }
        let (waiting, waiting_code) = order(&db, COMMUNITY, "environment.garbage", None).await;
        let mut community = login(&app, "community").await;
        let id_text: Vec<String> = ids.iter().chain([&waiting]).map(i64::to_string).collect();
        let mut fields: Vec<(&str, &str)> =
            vec![("op", "sign"), ("back", "/workorders?queue=to_sign")];
        fields.extend(id_text.iter().map(|s| ("ids", s.as_str())));
        let r = community.post("/workorders/bulk", &fields).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let html = r.text();
        assert!(
            html.contains("成功 3 张") && html.contains("未成功 1 张"),
            "{html}"
        );
        // Not given to this community: refused as not its own.
        assert!(html.contains(&waiting_code) && html.contains("您无权对这张工单执行此操作"));
        assert!(html.contains("href=\"/workorders?queue=to_sign\""));
        for id in &ids {
            assert_eq!(state_of(&db, *id).await, State::Signed);
        }
        assert_eq!(state_of(&db, waiting).await, State::Accepted);
        // Nothing ticked.
        let r = community.post("/workorders/bulk", &[("op", "sign")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("请先勾选要处理的工单"));
        // A unit cannot bulk-dispatch.
        let w = waiting.to_string();
        let r = community
            .post("/workorders/bulk", &[("op", "dispatch"), ("ids", &w)])
            .await;
        assert!(r.text().contains("您无权对这张工单执行此操作"));
        assert_eq!(state_of(&db, waiting).await, State::Accepted);

        // The county adds a department and a rule, then dispatches in bulk to the
        // suggested units: the rule's department for 市政设施, the community otherwise.
        let mut county = login(&app, "county").await;
        let r = county
            .post(
                "/workorders/departments",
                &[
                    ("code", "D-430502-cg"),
                    ("name", "双清区城管局"),
                    ("division", "430502"),
                    ("active", "1"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let r = county
            .post(
                "/workorders/rules",
                &[
                    ("division", "430502"),
                    ("category", "facilities"),
                    ("unit_kind", "department"),
                    ("department", "D-430502-cg"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let rules = county.get("/workorders/rules").await.text();
        assert!(
            rules.contains("双清区城管局") && rules.contains("市政设施"),
            "{rules}"
        );
        let (road, _) = order(&db, COMMUNITY, "facilities.road", None).await;
        let (w, r2) = (waiting.to_string(), road.to_string());
        let r = county
            .post(
                "/workorders/bulk",
                &[("op", "dispatch"), ("unit", ""), ("ids", &w), ("ids", &r2)],
            )
            .await;
        assert!(r.text().contains("成功 2 张"), "{}", r.text());
        let unit = |id| {
            let db = db.clone();
            async move {
                workorders::get(&mut db.conn(), &county_scope(), id)
                    .await
                    .unwrap()
                    .unwrap()
                    .unit
            }
        };
        assert_eq!(unit(waiting).await, COMMUNITY);
        assert_eq!(unit(road).await, "D-430502-cg");
        // 批量催办 from the 待签收 queue.
        let r = county
            .post(
                "/workorders/bulk",
                &[("op", "urge"), ("note", "今天内签收"), ("ids", &r2)],
            )
            .await;
        assert!(r.text().contains("成功 1 张"));
        assert_eq!(events(&db, road).await.last().unwrap(), "urge");
        // Rules can be removed again.
        let rule_id = shequ_db::workorders::dispatch::rules(&mut db.conn(), &county_scope())
            .await
            .unwrap()[0]
            .id;
        let r = county
            .post(&format!("/workorders/rules/{rule_id}/delete"), &[])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(
            county
                .get("/workorders/rules")
                .await
                .text()
                .contains("还没有派单规则")
        );
    })
    .await;
}

#[tokio::test]
async fn staff_entry_takes_an_order_with_a_photo_without_its_metadata() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        demo_users(&db).await;
        let (_, app) = app(&db).await;
        let mut community = login(&app, "community").await;
        let form = community.get("/workorders/new").await;
        assert_eq!(form.status, StatusCode::OK);
        let html = form.text();
        assert!(html.contains("enctype=\"multipart/form-data\"") && html.contains("name=\"csrf\""));
        assert!(html.contains("<optgroup label=\"市政设施\">") && html.contains("路灯状况"));

        // Over 2 MB of camera metadata: more than ordinary forms may send.
        let jpeg = camera_jpeg(40);
        assert!(jpeg.len() > 2 * 1024 * 1024);
        let fields = [
            ("channel", "phone"),
            ("category", "facilities.streetlight"),
            ("description", "和平路口两盏路灯晚上不亮"),
            ("division", "兴隆街道 某社区 430502001001"),
            ("address", "和平路与宝庆路交叉口"),
            ("attr.facilities.streetlight.lamp_state", "off"),
            ("attr.environment.garbage.volume", "pile"),
            ("reporter_name", "李先生"),
            ("reporter_phone", "13907391234"),
            ("nonce", "abc123"),
        ];
        let r = post_multipart(
            &mut community,
            "/workorders/new",
            &fields,
            &[("photos", &jpeg)],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let to = location(&r);
        assert!(to.ends_with("?created=1"), "{to}");
        let id: i64 = to
            .trim_start_matches("/workorders/")
            .trim_end_matches("?created=1")
            .parse()
            .unwrap();
        let o = workorders::get(&mut db.conn(), &county_scope(), id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                o.channel.as_str(),
                o.division_code.as_str(),
                o.reporter_phone_masked.as_deref()
            ),
            ("phone", COMMUNITY, Some("139****1234"))
        );
        let page = community.get(&to).await.text();
        assert!(page.contains("id=\"created\"") && page.contains(&o.tracking_code));
        assert!(page.contains("路灯状况") && page.contains("不亮"));
        assert!(!page.contains("13907391234"));
        let timeline = workorders::timeline(&mut db.conn(), id).await.unwrap();
        assert_eq!(timeline[0].actor, "community");
        let pics = photos::of_order(&mut db.conn(), id).await.unwrap();
        assert_eq!(pics.len(), 1);
        let r = community
            .get(&format!("/workorders/photos/{}", pics[0].id))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.starts_with(&[0xFF, 0xD8]));
        assert!(!contains(&r.body, b"Exif") && !contains(&r.body, b"GPS"));
        assert!(r.body.len() < 2000);
        // The same form sent again (a double tap) stores nothing new.
        let again = post_multipart(&mut community, "/workorders/new", &fields, &[]).await;
        assert_eq!(location(&again), to);

        // 代办 needs the resident's consent; nothing is stored without it.
        let count = || {
            let db = db.clone();
            async move {
                shequ_db::workorders::list::list(
                    &mut db.conn(),
                    &county_scope(),
                    &Default::default(),
                    now(),
                    shequ_db::PageReq::new(Some(1), Some(1)),
                )
                .await
                .unwrap()
                .total
            }
        };
        let proxy = [
            ("channel", "proxy"),
            ("category", "social.elderly"),
            ("description", "独居老人想申请助餐服务"),
            ("division", COMMUNITY),
            ("reporter_name", "张大爷"),
            ("reporter_phone", "13807391111"),
        ];
        let r = post_multipart(&mut community, "/workorders/new", &proxy, &[]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("代办须经居民同意"));
        assert!(
            r.text().contains("独居老人想申请助餐服务"),
            "typed text is kept"
        );
        assert_eq!(count().await, 1);
        let mut with_consent = proxy.to_vec();
        with_consent.push(("consent", "1"));
        let r = post_multipart(&mut community, "/workorders/new", &with_consent, &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(count().await, 2);
        // A place outside the user's area, a missing required answer, a non-photo.
        let outside = [
            ("channel", "walk_in"),
            ("category", "environment.sanitation"),
            ("description", "楼道堆放杂物"),
            ("division", NEIGHBOUR),
        ];
        let r = post_multipart(&mut community, "/workorders/new", &outside, &[]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("不在您的管辖范围内"));
        let no_answer = [
            ("channel", "walk_in"),
            ("category", "facilities.streetlight"),
            ("description", "路灯闪烁"),
            ("division", COMMUNITY),
        ];
        let r = post_multipart(
            &mut community,
            "/workorders/new",
            &no_answer,
            &[("photos", b"not a picture")],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text();
        assert!(html.contains("只接受 JPEG 或 PNG 照片"), "{html}");
        assert!(html.contains("请重新选择照片"));
        assert_eq!(count().await, 2);

        // A grid worker starts on a patrol report in their own grid.
        let mut grid = login(&app, "grid").await;
        let html = grid.get("/workorders/new").await.text();
        assert!(html.contains("value=\"patrol\" required checked"));
        assert!(html.contains("430502001001001\" autocomplete"), "{html}");
    })
    .await;
}

#[tokio::test]
async fn duplicates_are_offered_and_merged() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        demo_users(&db).await;
        let (_, app) = app(&db).await;
        let at = Some((111.4677, 27.2389));
        let (first, first_code) = order(&db, COMMUNITY, "environment.garbage", at).await;
        let (second, _) = order(
            &db,
            COMMUNITY,
            "environment.garbage",
            Some((111.4680, 27.2390)),
        )
        .await;
        let (_, far_code) =
            order(&db, COMMUNITY, "environment.garbage", Some((111.50, 27.26))).await;
        let mut county = login(&app, "county").await;
        let page = county.get(&format!("/workorders/{second}")).await.text();
        assert!(
            page.contains(&first_code) && !page.contains(&far_code),
            "{page}"
        );
        assert!(page.contains("并入这张"));
        let r = county
            .post(
                &format!("/workorders/{second}/actions"),
                &[("action", "merge"), ("into", &first_code.to_lowercase())],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(state_of(&db, second).await, State::Merged);
        assert_eq!(state_of(&db, first).await, State::Accepted);
        let page = county.get(&format!("/workorders/{second}")).await.text();
        assert!(page.contains(&format!("href=\"/workorders/{first}\"")));
        assert!(
            !page.contains("id=\"actions\""),
            "nothing more to do on a merged order"
        );
    })
    .await;
}

#[tokio::test]
async fn the_map_and_the_calendar() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        demo_users(&db).await;
        let (_, app) = app(&db).await;
        let (id, _) = order(
            &db,
            COMMUNITY,
            "environment.garbage",
            Some((111.4677, 27.2389)),
        )
        .await;
        let (closed, _) = order(
            &db,
            COMMUNITY,
            "environment.garbage",
            Some((111.4678, 27.2389)),
        )
        .await;
        let scope = county_scope();
        let cal = Calendar::china_2025();
        for a in [
            Action::Dispatch {
                unit: COMMUNITY.into(),
            },
            Action::Sign,
            Action::Reply {
                text: "已处理".into(),
            },
            Action::Close {
                summary: "好了".into(),
            },
        ] {
            workorders::transition(&mut db.conn(), &scope, &cal, closed, &a, now())
                .await
                .unwrap();
        }
        let mut county = login(&app, "county").await;
        let r = county.get("/workorders/map").await;
        assert_eq!(r.status, StatusCode::OK);
        let html = r.text();
        assert!(html.contains("<svg class=\"chart map wo-map\""));
        assert!(html.contains(&format!(
            "<a href=\"/workorders/{id}\"><circle class=\"wo-dot waiting\""
        )));
        assert!(
            !html.contains(&format!("href=\"/workorders/{closed}\"")),
            "closed orders are not drawn"
        );
        assert!(html.contains("<polygon class=\"cell area\""));
        assert!(html.contains("未办结且已定位的工单 1 张"));
        // Drilling down to the township, and a division outside the area falls back.
        let r = county
            .get("/workorders/map?division=430502001")
            .await
            .text();
        assert!(r.contains("/workorders/map?division=430502\""));
        let r = county.get("/workorders/map?division=430503").await.text();
        assert!(r.contains("未办结且已定位的工单 1 张"));

        // The calendar is the city's: the county reads it, city staff change it.
        let r = county
            .post(
                "/workorders/calendar",
                &[("day", "2025-07-01"), ("kind", "holiday")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let mut city = login(&app, "city").await;
        let r = city
            .post(
                "/workorders/calendar",
                &[
                    ("day", "2025-07-01"),
                    ("kind", "holiday"),
                    ("name", "建党节调休"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let cal = shequ_db::workorders::calendar::load(&mut db.conn())
            .await
            .unwrap();
        assert!(!cal.is_working_day(chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap()));
        assert!(
            county
                .get("/workorders/calendar")
                .await
                .text()
                .contains("建党节调休")
        );
        let r = city
            .post(
                "/workorders/calendar",
                &[("day", "7月1日"), ("kind", "holiday")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = city
            .post("/workorders/calendar/remove", &[("day", "2025-07-01")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(
            city.get("/workorders/calendar")
                .await
                .text()
                .contains("没有补充设置的日期")
        );
        // Units do not see the settings.
        let mut community = login(&app, "community").await;
        assert_eq!(
            community.get("/workorders/rules").await.status,
            StatusCode::FORBIDDEN
        );
    })
    .await;
}

#[tokio::test]
async fn workbench_and_order_pages_render_the_same_on_both_backends() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        demo_users(&db).await;
        let (_, app) = app(&db).await;
        let (a, code_a) = order(
            &db,
            "430502001001001",
            "environment.garbage",
            Some((111.4677, 27.2389)),
        )
        .await;
        let (b, code_b) = order(&db, COMMUNITY, "facilities.road", None).await;
        dispatch(&db, b, COMMUNITY).await;
        let codes = [code_a.as_str(), code_b.as_str()];
        let mut county = login(&app, "county").await;
        let bench = county.get("/workorders").await;
        assert_eq!(bench.status, StatusCode::OK);
        insta::assert_snapshot!("workorders_bench", redact(&bench.text(), &codes));
        let detail = county.get(&format!("/workorders/{a}")).await;
        assert_eq!(detail.status, StatusCode::OK);
        insta::assert_snapshot!("workorders_detail", redact(&detail.text(), &codes));
        let mut community = login(&app, "community").await;
        let signing = community.get(&format!("/workorders/{b}")).await;
        insta::assert_snapshot!("workorders_detail_unit", redact(&signing.text(), &codes));
    })
    .await;
}
