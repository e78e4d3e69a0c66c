//! The residents' portal as a phone browser uses it: anonymous reports with photos
//! (metadata stripped), one order per form however often it is sent, refusals that
//! re-render with the typed values and store nothing, the tracking page in plain
//! words without staff names or internal notes, rating once after the order is
//! done, and a signed-in resident's own orders and notices.

use axum::body::Body;
use axum::http::Request;
use shequ_core::workorders::{Action, Calendar, State};
use shequ_core::{DivisionCode, Role};
use shequ_db::scope::{Actor, Scope};
use shequ_db::workorders::{self, list, notify, photos};
use shequ_db::{Db, PageReq};
use shequ_testkit::{Browser, Reply, app, demo_users, get, now, on_each_backend, send, small_demo};

const VILLAGE: &str = "430502001001";
const STREETLIGHT: &str = "facilities.streetlight";
const FORM: &str = "/portal/new?category=facilities.streetlight&division=430502001001";

fn city() -> Scope {
    Scope::new(
        DivisionCode::parse("430500").unwrap(),
        Role::CityStaff,
        Actor::system(),
    )
}

/// A handler whose name must never reach the resident's pages.
fn staff() -> Scope {
    Scope::new(
        DivisionCode::parse("430502").unwrap(),
        Role::CountyStaff,
        Actor {
            user_id: Some(1),
            name: "李办事员".into(),
            role: "county_staff".into(),
        },
    )
}

async fn count_orders(db: &Db) -> i64 {
    list::list(
        &mut db.conn(),
        &city(),
        &list::Filter::default(),
        now(),
        PageReq::new(Some(1), Some(5)),
    )
    .await
    .unwrap()
    .total
}

/// A tiny JPEG straight from a "camera": JFIF, an EXIF segment with a GPS
/// position, a comment, one 16×8 frame and a short scan.
fn camera_jpeg() -> Vec<u8> {
    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let len = u16::try_from(payload.len() + 2).unwrap();
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&len.to_be_bytes());
        s.extend_from_slice(payload);
        s
    }
    let mut j = vec![0xFF, 0xD8];
    j.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
    j.extend(segment(0xE1, b"Exif\0\0MM\0*GPS 27.2400N 111.4700E"));
    j.extend(segment(0xFE, b"GPS comment from camera"));
    let mut dqt = vec![0u8];
    dqt.extend([1u8; 64]);
    j.extend(segment(0xDB, &dqt));
    let mut sof = vec![8];
    sof.extend_from_slice(&8u16.to_be_bytes());
    sof.extend_from_slice(&16u16.to_be_bytes());
    sof.extend_from_slice(&[1, 1, 0x11, 0]);
    j.extend(segment(0xC0, &sof));
    let mut dht = vec![0x00, 1];
    dht.extend([0u8; 15]);
    dht.push(0);
    j.extend(segment(0xC4, &dht));
    j.extend(segment(0xDA, &[1, 1, 0x00, 0, 0x3F, 0]));
    j.extend_from_slice(&[0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD0, 0x78]);
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The value of a hidden field in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name}"))
        + marker.len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// Open the form (which gives the browser its CSRF cookie) and return its one-time key.
async fn open_form(b: &mut Browser) -> String {
    let r = b.get(FORM).await;
    assert_eq!(r.status, 200, "{}", r.text());
    hidden(&r.text(), "idempotency_key")
}

/// Post the form as the page does: multipart, with the CSRF field and photos.
async fn post_multipart(b: &Browser, fields: &[(&str, &str)], photos: &[(&str, Vec<u8>)]) -> Reply {
    let boundary = "----shequ-portal-test-7MA4YWxkTrZu0gW";
    let csrf = b.cookies.get("shequ_csrf").cloned().unwrap_or_default();
    let mut body = Vec::new();
    let mut part = |head: String, data: &[u8]| {
        body.extend_from_slice(format!("--{boundary}\r\n{head}\r\n\r\n").as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    };
    for (k, v) in [("csrf", csrf.as_str())].iter().chain(fields) {
        part(
            format!("Content-Disposition: form-data; name=\"{k}\""),
            v.as_bytes(),
        );
    }
    for (file_name, bytes) in photos {
        part(
            format!(
                "Content-Disposition: form-data; name=\"photo\"; filename=\"{file_name}\"\r\nContent-Type: image/jpeg"
            ),
            bytes,
        );
    }
    // An empty file input, as browsers send it.
    part(
        "Content-Disposition: form-data; name=\"photo\"; filename=\"\"\r\nContent-Type: application/octet-stream".into(),
        b"",
    );
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let cookie = b
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let req = Request::post("/portal/new")
        .header("cookie", cookie)
        .header("content-length", body.len())
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    send(&b.app, req).await
}

/// The fields of a good report for the streetlight category.
fn good<'a>(key: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("idempotency_key", key),
        ("category", STREETLIGHT),
        ("division", VILLAGE),
        ("lat", ""),
        ("lon", ""),
        ("attribute[lamp_state]", "off"),
        ("attribute[pole_number]", "LD-0012"),
        ("description", "小区门口的路灯坏了三天，晚上很黑"),
        ("address", "宝庆路1号东门"),
        ("reporter_name", "王女士"),
        ("reporter_phone", "13807390000"),
    ];
    for (k, v) in extra {
        f.retain(|(name, _)| name != k);
        f.push((k, v));
    }
    f
}

/// The tracking code a successful post redirects to.
fn receipt_code(r: &Reply) -> String {
    assert_eq!(r.status, 303, "{}", r.text());
    let loc = r.headers["location"].to_str().unwrap();
    loc.strip_prefix("/portal/submitted/")
        .unwrap_or_else(|| panic!("unexpected redirect {loc}"))
        .to_owned()
}

/// Submit a good report anonymously; returns the tracking code.
async fn report(b: &mut Browser) -> String {
    let key = open_form(b).await;
    receipt_code(&post_multipart(b, &good(&key, &[]), &[]).await)
}

/// Pages carry random tokens; snapshots show fixed ones.
fn redact(html: &str, code: Option<&str>) -> String {
    let mut out = html.to_owned();
    for name in ["csrf", "idempotency_key"] {
        let marker = format!("name=\"{name}\" value=\"");
        let mut done = String::new();
        let mut rest = out.as_str();
        while let Some(i) = rest.find(&marker) {
            let (head, tail) = rest.split_at(i + marker.len());
            done.push_str(head);
            done.push_str(&format!("[{name}]"));
            rest = tail.find('"').map_or("", |j| &tail[j..]);
        }
        done.push_str(rest);
        out = done;
    }
    match code {
        Some(c) => out.replace(c, "[code]"),
        None => out,
    }
}

#[tokio::test]
async fn anonymous_report_with_a_photo_keeps_no_metadata() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let mut b = Browser::new(&app);
        let page = b.get(FORM).await;
        let html = page.text();
        assert!(html.contains("路灯状况") && html.contains("name=\"attribute[lamp_state]\""));
        assert!(html.contains("enctype=\"multipart/form-data\""));
        assert!(html.contains("accept=\"image/*\" capture"));
        assert!(html.contains("加密保存"));
        let key = hidden(&html, "idempotency_key");
        let jpeg = camera_jpeg();
        assert!(contains(&jpeg, b"Exif") && contains(&jpeg, b"GPS"));
        let r = post_multipart(&b, &good(&key, &[]), &[("IMG_0001.jpg", jpeg)]).await;
        let code = receipt_code(&r);

        let receipt = b.get(&format!("/portal/submitted/{code}")).await;
        assert_eq!(receipt.status, 200);
        let text = receipt.text();
        assert!(text.contains(&format!("id=\"tracking-code\">{code}<")));
        assert!(text.contains(&format!("href=\"/portal/track/{code}\"")));

        let mut c = db.conn();
        let o = workorders::by_tracking_code(&mut c, &code)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                o.channel.as_str(),
                o.division_code.as_str(),
                o.reporter_user_id,
                o.reporter_phone_masked.as_deref(),
                o.state(),
            ),
            (
                "portal",
                VILLAGE,
                None,
                Some("138****0000"),
                Some(State::Accepted)
            )
        );
        let attrs: serde_json::Value = serde_json::from_str(&o.attributes).unwrap();
        assert_eq!(
            attrs,
            serde_json::json!({"lamp_state": "off", "pole_number": "LD-0012"})
        );
        let pics = photos::of_order(&mut c, o.id).await.unwrap();
        assert_eq!(pics.len(), 1, "the empty file input adds nothing");
        assert_eq!(
            (pics[0].kind.as_str(), pics[0].width, pics[0].height),
            ("report", 16, 8)
        );
        let (_, ctype, bytes) = photos::bytes(&mut c, pics[0].id).await.unwrap().unwrap();
        assert_eq!(ctype, "image/jpeg");
        assert!(bytes.starts_with(&[0xFF, 0xD8]));
        assert!(!contains(&bytes, b"Exif") && !contains(&bytes, b"GPS"));

        // The photo is served through its own order's code only.
        let served = get(&app, &format!("/portal/track/{code}/photos/{}", pics[0].id)).await;
        assert_eq!(served.status, 200);
        assert_eq!(
            served.headers["content-type"].to_str().unwrap(),
            "image/jpeg"
        );
        assert_eq!(served.body.as_ref(), bytes.as_slice());
        let other = report(&mut b).await;
        let wrong = get(
            &app,
            &format!("/portal/track/{other}/photos/{}", pics[0].id),
        )
        .await;
        assert_eq!(wrong.status, 404);
        let bogus = get(&app, &format!("/portal/track/{code}/photos/abc")).await;
        assert_eq!(bogus.status, 404);
    })
    .await;
}

#[tokio::test]
async fn the_same_form_sent_twice_stores_one_order() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let mut b = Browser::new(&app);
        let key = open_form(&mut b).await;
        let fields = good(&key, &[]);
        let first = receipt_code(&post_multipart(&b, &fields, &[("a.jpg", camera_jpeg())]).await);
        let again = receipt_code(&post_multipart(&b, &fields, &[("a.jpg", camera_jpeg())]).await);
        assert_eq!(first, again);
        // A refresh of the url-encoded kind too.
        let form: Vec<(&str, &str)> = fields.clone();
        let third = receipt_code(&b.post("/portal/new", &form).await);
        assert_eq!(first, third);
        assert_eq!(count_orders(&db).await, 1);
        let o = workorders::by_tracking_code(&mut db.conn(), &first)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            photos::of_order(&mut db.conn(), o.id).await.unwrap().len(),
            1
        );
        // A new form render gives a new key, and a new order.
        let key2 = open_form(&mut b).await;
        assert_ne!(key, key2);
        let other = receipt_code(&post_multipart(&b, &good(&key2, &[]), &[]).await);
        assert_ne!(first, other);
        assert_eq!(count_orders(&db).await, 2);
    })
    .await;
}

/// Form fields, the error the page must show, and the text that must be kept.
type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);

#[tokio::test]
async fn bad_input_is_shown_next_to_the_fields_and_stores_nothing() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let mut b = Browser::new(&app);
        let key = open_form(&mut b).await;
        let long = "路".repeat(2001);
        let cases: Vec<Case> = vec![
            (
                good(&key, &[("division", "")]),
                "id=\"place-error\">请在地图上选点或选择所在的村（社区）",
                "小区门口的路灯坏了三天",
            ),
            (
                good(
                    &key,
                    &[("description", "<b>路灯</b>坏了<script>x</script>")],
                ),
                "id=\"description-error\">诉求描述中不能含有 HTML 标记",
                "&#60;b&#62;路灯&#60;/b&#62;坏了",
            ),
            (
                good(&key, &[("description", long.as_str())]),
                "id=\"description-error\">诉求描述不能超过 2000 个字",
                "宝庆路1号东门",
            ),
            (
                good(&key, &[("category", "no.such")]),
                "请选择有效的诉求类别",
                "id=\"pt-category\"",
            ),
            (
                good(&key, &[("attribute[lamp_state]", "")]),
                "id=\"q-lamp_state-error\">请填写：路灯状况",
                "value=\"LD-0012\"",
            ),
            (
                good(&key, &[("reporter_phone", "12345")]),
                "id=\"reporter-error\">",
                "value=\"王女士\"",
            ),
            (
                good(&key, &[("lat", "abc"), ("division", "")]),
                "位置信息有误",
                "小区门口的路灯坏了三天",
            ),
            (
                good("", &[]),
                "页面已过期，请检查内容后重新提交",
                "小区门口的路灯坏了三天",
            ),
        ];
        for (fields, error, kept) in &cases {
            let r = post_multipart(&b, fields, &[]).await;
            assert_eq!(r.status, 422, "{error}: {}", r.text());
            let html = r.text();
            assert!(html.contains(error), "missing {error}");
            assert!(html.contains(kept), "not kept: {kept}");
            assert!(html.contains("id=\"form-errors\""));
            assert!(!html.contains("<b>路灯"), "markup echoed unescaped");
            // The form keeps its one-time key (a fresh one when it was missing).
            assert!(good_key(&hidden(&html, "idempotency_key")));
        }
        // A file that only claims to be a picture.
        let fake = b"GIF89a\x01\x00\x01\x00 not really".to_vec();
        let r = post_multipart(&b, &good(&key, &[]), &[("photo.jpg", fake)]).await;
        assert_eq!(r.status, 422);
        let html = r.text();
        assert!(html.contains("id=\"photo-error\">只接受 JPEG 或 PNG 照片"));
        assert!(html.contains("刚才选的照片没有保存下来"));
        assert!(html.contains("小区门口的路灯坏了三天"));
        // Four photos are one too many.
        let four: Vec<(&str, Vec<u8>)> = (0..4).map(|_| ("p.jpg", camera_jpeg())).collect();
        let r = post_multipart(&b, &good(&key, &[]), &four).await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("最多上传 3 张照片"));
        // Without the CSRF field nothing is looked at.
        let mut no_csrf = good(&key, &[]);
        no_csrf.push(("csrf", "0000"));
        let r = b.post("/portal/new", &no_csrf).await;
        assert_eq!(r.status, 400);
        assert_eq!(count_orders(&db).await, 0);
        // The same key, once the input is right, stores the order.
        let code = receipt_code(&post_multipart(&b, &good(&key, &[]), &[]).await);
        assert!(!code.is_empty());
        assert_eq!(count_orders(&db).await, 1);
    })
    .await;
}

fn good_key(k: &str) -> bool {
    (32..=64).contains(&k.len()) && k.bytes().all(|c| c.is_ascii_hexdigit())
}

/// Carry an order to 已办结 as the handling unit would, with internal notes on the way.
async fn close_order(db: &Db, code: &str) -> i64 {
    let mut c = db.conn();
    let o = workorders::by_tracking_code(&mut c, code)
        .await
        .unwrap()
        .unwrap();
    let cal = Calendar::china_2025();
    let steps = [
        Action::Dispatch {
            unit: VILLAGE.into(),
        },
        Action::Return {
            reason: "非本单位职责XYZ".into(),
        },
        Action::Dispatch {
            unit: VILLAGE.into(),
        },
        Action::Sign,
        Action::Urge {
            note: "内部催办ABC".into(),
        },
        Action::Start,
        Action::Reply {
            text: "已安排电工今晚维修，明早恢复照明。".into(),
        },
        Action::Close {
            summary: "内部办结说明QQQ".into(),
        },
    ];
    for a in &steps {
        workorders::transition(&mut c, &staff(), &cal, o.id, a, now())
            .await
            .unwrap();
    }
    o.id
}

#[tokio::test]
async fn the_tracking_page_speaks_plainly_and_keeps_internals_private() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let mut b = Browser::new(&app);
        let code = report(&mut b).await;
        let id = close_order(&db, &code).await;
        let jpeg = shequ_core::photo::clean(&camera_jpeg()).unwrap();
        let result_photo = photos::add(&mut db.conn(), id, "result", &jpeg, now())
            .await
            .unwrap();

        // The lookup form goes to the page, whatever the case and spacing.
        let r = get(
            &app,
            &format!("/portal/track?code=+{}+", code.to_lowercase()),
        )
        .await;
        assert_eq!(r.status, 303);
        assert_eq!(
            r.headers["location"].to_str().unwrap(),
            format!("/portal/track/{code}")
        );

        let page = b.get(&format!("/portal/track/{code}")).await;
        assert_eq!(page.status, 200);
        let html = page.text();
        for plain in [
            "您的诉求已收到，正在分派",
            "已交给负责单位",
            "正在重新分派",
            "负责单位已接手",
            "正在办理",
            "负责单位已答复您",
            "已安排电工今晚维修，明早恢复照明。",
            "已办结",
            "2025-06-30 10:00",
            "路灯损坏",
            "小区门口的路灯坏了三天",
        ] {
            assert!(html.contains(plain), "missing {plain}");
        }
        for private in [
            "李办事员",
            "county_staff",
            "13807390000",
            "138****0000",
            "王女士",
            "非本单位职责XYZ",
            "内部催办ABC",
            "内部办结说明QQQ",
        ] {
            assert!(!html.contains(private), "leaked {private}");
        }
        assert!(html.contains(&format!("/portal/track/{code}/photos/{result_photo}")));
        assert!(html.contains("id=\"rate-form\""));
        for label in ["非常满意", "满意", "基本满意", "不满意", "非常不满意"] {
            assert!(html.contains(&format!(">{label}</button>")));
        }
        insta::assert_snapshot!("portal_tracking", redact(&html, Some(&code)));

        // Unknown and malformed codes get the friendly page.
        for missing in ["/portal/track/ZZZZZZZZZZ", "/portal/track/%3Cb%3E"] {
            let r = b.get(missing).await;
            assert_eq!(r.status, 404, "{missing}");
            let t = r.text();
            assert!(t.contains("没有找到这个查询码") && t.contains("id=\"track-form\""));
            assert!(!t.contains("<b>"));
        }
        let r = b.get("/portal/submitted/ZZZZZZZZZZ").await;
        assert_eq!(r.status, 404);
    })
    .await;
}

#[tokio::test]
async fn a_done_order_is_rated_once() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let mut b = Browser::new(&app);
        let code = report(&mut b).await;
        let url = format!("/portal/track/{code}");
        // Not done yet: the form is absent and a rating is refused.
        let page = b.get(&url).await.text();
        assert!(!page.contains("id=\"rate-form\""));
        let r = b.post(&url, &[("level", "1"), ("solved", "yes")]).await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("评价没有保存"));

        close_order(&db, &code).await;
        let r = b.post(&url, &[("level", "9")]).await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("请点选一个评价等级"));
        let r = b.post(&url, &[("level", "2"), ("solved", "yes")]).await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(
            r.headers["location"].to_str().unwrap(),
            format!("{url}?rated=1")
        );
        let o = workorders::by_tracking_code(&mut db.conn(), &code)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (o.state(), o.rating, o.solved),
            (Some(State::Rated), Some(2), Some(true))
        );
        let page = b.get(&format!("{url}?rated=1")).await.text();
        assert!(page.contains("感谢您的评价"));
        assert!(page.contains("您的评价：满意；问题已解决"));
        assert!(page.contains("您已评价，感谢"));
        assert!(!page.contains("id=\"rate-form\""));

        // Twice: the lifecycle's refusal, and nothing changes.
        let r = b.post(&url, &[("level", "5"), ("solved", "no")]).await;
        assert_eq!(r.status, 422);
        assert!(
            r.text().contains("当前状态“已评价”下不能“评价”"),
            "{}",
            r.text()
        );
        let again = workorders::by_tracking_code(&mut db.conn(), &code)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((again.rating, again.solved), (Some(2), Some(true)));
        assert_eq!(
            workorders::timeline(&mut db.conn(), o.id)
                .await
                .unwrap()
                .iter()
                .filter(|e| e.action == "rate")
                .count(),
            1
        );
        // Without the CSRF field nothing is rated.
        let r = b.post(&url, &[("level", "1"), ("csrf", "00")]).await;
        assert_eq!(r.status, 400);
    })
    .await;
}

#[tokio::test]
async fn a_signed_in_resident_sees_their_orders_and_notices() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        demo_users(&db).await;
        let (_, app) = app(&db).await;
        // Not signed in: to the login page.
        let r = get(&app, "/portal/mine").await;
        assert_eq!(r.status, 303);
        assert!(
            r.headers["location"]
                .to_str()
                .unwrap()
                .starts_with("/login?next=/portal/mine")
        );
        let mut b = Browser::new(&app);
        b.login("resident").await;
        let form = b.get(FORM).await.text();
        assert!(form.contains("这件诉求会出现在“我的诉求”里"));
        let code = report(&mut b).await;
        let o = workorders::by_tracking_code(&mut db.conn(), &code)
            .await
            .unwrap()
            .unwrap();
        let resident = shequ_db::users::find_by_username(&mut db.conn(), "resident")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(o.reporter_user_id, Some(resident.id));
        // An anonymous report from another browser is not theirs.
        let mut other = Browser::new(&app);
        let theirs = report(&mut other).await;

        let page = b.get("/portal/mine").await;
        assert_eq!(page.status, 200);
        let html = page.text();
        assert!(html.contains(&format!("href=\"/portal/track/{code}\"")));
        assert!(html.contains(&format!("【社区服务】您的诉求 {code} 已收到")));
        assert!(!html.contains(&theirs));
        assert!(html.contains("（1 条未读）"));

        // Progress reaches them as a notice.
        let cal = Calendar::china_2025();
        for a in [
            Action::Dispatch {
                unit: VILLAGE.into(),
            },
            Action::Sign,
        ] {
            workorders::transition(&mut db.conn(), &staff(), &cal, o.id, &a, now())
                .await
                .unwrap();
        }
        let html = b.get("/portal/mine").await.text();
        assert!(html.contains("已由承办单位签收"));
        assert!(html.contains("负责单位已接手"));
        assert!(html.contains("（2 条未读）"));
        let r = b.post("/portal/mine/read", &[]).await;
        assert_eq!(r.status, 303);
        let unread = notify::notices(
            &mut db.conn(),
            &[notify::user_recipient(resident.id)],
            true,
            PageReq::new(None, None),
        )
        .await
        .unwrap();
        assert_eq!(unread.total, 0);

        // Staff are pointed elsewhere.
        let mut staff_browser = Browser::new(&app);
        staff_browser.login("community").await;
        let r = staff_browser.get("/portal/mine").await;
        assert_eq!(r.status, 403);
        assert!(r.text().contains("这个页面供居民账号"));
    })
    .await;
}

#[tokio::test]
async fn the_portal_pages_render() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let mut b = Browser::new(&app);
        let home = b.get("/portal").await;
        assert_eq!(home.status, 200);
        let html = home.text();
        for link in [
            "href=\"/portal/new\"",
            "href=\"/portal/track\"",
            "href=\"/portal/surveys\"",
            "href=\"/scorecards/430500\"",
        ] {
            assert!(html.contains(link), "missing {link}");
        }
        assert!(!html.contains("href=\"/portal/mine\""));
        // The login page leads residents here.
        assert!(b.get("/login").await.text().contains("href=\"/portal\""));

        // Step one: categories as big buttons, grouped by their parents.
        let chooser = b.get("/portal/new").await.text();
        assert!(chooser.contains("<h3>市政设施</h3>"));
        assert!(chooser.contains(
            "href=\"/portal/new?category=facilities.streetlight&#38;county=430502&#38;township=&#38;division=\""
        ));
        assert!(!chooser.contains("id=\"pt-report\""));

        // The place selects fill one level at a time without script.
        let p = b
            .get("/portal/new?category=facilities.streetlight&county=430502")
            .await
            .text();
        assert!(p.contains("<option value=\"430502001\">"));
        assert!(p.contains("id=\"pt-community\" name=\"division\" disabled"));
        let p = b
            .get("/portal/new?category=facilities.streetlight&county=430502&township=430502001")
            .await
            .text();
        assert!(p.contains("<option value=\"430502001001\">"));
        // A township from elsewhere is dropped rather than trusted.
        let p = b
            .get("/portal/new?category=facilities.streetlight&county=430502&township=430599001&division=430599001001")
            .await
            .text();
        assert!(p.contains("name=\"division\" value=\"\" id=\"pt-division-value\""));

        let form = b.get(FORM).await;
        assert_eq!(form.status, 200);
        let html = form.text();
        assert!(html.contains("name=\"division\" value=\"430502001001\" id=\"pt-division-value\""));
        assert!(html.contains("<script src=\"/static/0.1.0/portal.js\" defer></script>"));
        assert!(!html.contains("<script>"));
        insta::assert_snapshot!("portal_submit", redact(&html, None));

        let js = get(&app, "/static/0.1.0/portal.js").await;
        assert_eq!(js.status, 200);
        assert!(js.text().contains("geolocation"));
        // The script fills the selects from the public division list.
        let kids = get(&app, "/api/v1/divisions?per_page=500&parent=430502001").await;
        assert_eq!(kids.status, 200);
        assert!(
            kids.json()["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["code"] == VILLAGE)
        );
    })
    .await;
}

#[tokio::test]
async fn my_location_finds_the_community() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (st, app) = app(&db).await;
        let tree = st.tree.get();
        let village = tree.get(VILLAGE).expect("demo village").clone();
        let (Some(lon), Some(lat)) = (village.centroid_lon, village.centroid_lat) else {
            panic!("the demo village has a centre");
        };
        let mut b = Browser::new(&app);
        let key = open_form(&mut b).await;
        let (lat, lon) = (lat.to_string(), lon.to_string());
        let fields = good(
            &key,
            &[
                ("division", ""),
                ("lat", lat.as_str()),
                ("lon", lon.as_str()),
            ],
        );
        let code = receipt_code(&post_multipart(&b, &fields, &[]).await);
        let o = workorders::by_tracking_code(&mut db.conn(), &code)
            .await
            .unwrap()
            .unwrap();
        assert!(o.division_code.starts_with(VILLAGE), "{}", o.division_code);
        assert!(o.lat.is_some() && o.lon.is_some());
        // Far outside the city: refused, nothing stored.
        let key = open_form(&mut b).await;
        let far = good(&key, &[("division", ""), ("lat", "39.9"), ("lon", "116.4")]);
        let r = post_multipart(&b, &far, &[]).await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("该位置不在本市服务范围内"));
        assert_eq!(count_orders(&db).await, 1);
    })
    .await;
}

#[tokio::test]
async fn phone_sized_photos_are_taken_and_oversized_posts_are_explained() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let mut b = Browser::new(&app);
        // A 3 MB photo is above the site-wide body limit but within the portal's;
        // the padding after the end of the image is cut when it is cleaned.
        let mut big = camera_jpeg();
        big.resize(big.len() + 3 * 1024 * 1024, 0);
        let key = open_form(&mut b).await;
        let code = receipt_code(&post_multipart(&b, &good(&key, &[]), &[("big.jpg", big)]).await);
        let o = workorders::by_tracking_code(&mut db.conn(), &code)
            .await
            .unwrap()
            .unwrap();
        let pics = photos::of_order(&mut db.conn(), o.id).await.unwrap();
        let (_, _, bytes) = photos::bytes(&mut db.conn(), pics[0].id)
            .await
            .unwrap()
            .unwrap();
        assert!(bytes.len() < 1024);
        // Beyond what three photos may weigh: the form again, saying so; nothing stored.
        let key = open_form(&mut b).await;
        let huge = vec![0u8; shequ_web::ui::portal::BODY_LIMIT + 1024];
        let r = post_multipart(&b, &good(&key, &[]), &[("huge.jpg", huge)]).await;
        assert_eq!(r.status, 413);
        let html = r.text();
        assert!(html.contains("上传的照片太大了"), "{html}");
        assert!(html.contains("id=\"pt-report\""));
        assert_eq!(count_orders(&db).await, 1);
    })
    .await;
}
