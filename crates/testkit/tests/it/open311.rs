//! Open311 GeoReport v2 as a client written to the spec sees it: discovery, the
//! service list and definitions, submitting (urlencoded and multipart, with a
//! photo), reading requests back with every filter, tokens, well-formed XML, and
//! bad input answered in the spec's error format with nothing stored.

use axum::body::Body;
use axum::http::Request;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use shequ_core::workorders::{Action, Calendar};
use shequ_core::{DivisionCode, Phone, Role};
use shequ_db::scope::{Actor, Scope};
use shequ_db::workorders::{self, NewOrder, list, photos};
use shequ_db::{Db, PageReq};
use shequ_testkit::{Reply, api_key, app, get, key, now, on_each_backend, send, small_demo};

const BASE: &str = "/open311/v2";
const VILLAGE: &str = "430502001001";

// ---- helpers -------------------------------------------------------------------------

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).unwrap()
}

fn city() -> Scope {
    Scope::new(code("430500"), Role::CityStaff, Actor::system())
}

async fn count(db: &Db) -> i64 {
    list::list(
        &mut db.conn(),
        &city(),
        &list::Filter::default(),
        now(),
        PageReq::new(None, None),
    )
    .await
    .unwrap()
    .total
}

/// A point at a village's centre, as "lat", "long" strings.
fn point(st: &shequ_web::AppState, village: &str) -> (String, String) {
    let tree = st.tree.get();
    let d = tree.get(village).unwrap();
    (
        format!("{:.6}", d.centroid_lat.unwrap()),
        format!("{:.6}", d.centroid_lon.unwrap()),
    )
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn urlencoded(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn post(
    app: &axum::Router,
    uri: &str,
    ctype: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut b = Request::post(uri).header("content-type", ctype);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    send(app, b.body(Body::from(body)).unwrap()).await
}

async fn post_form(app: &axum::Router, uri: &str, fields: &[(&str, &str)]) -> Reply {
    post(
        app,
        uri,
        "application/x-www-form-urlencoded; charset=utf-8",
        urlencoded(fields).into_bytes(),
        &[],
    )
    .await
}

const BOUNDARY: &str = "----shequ-open311-test";

fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    for (k, v) in fields {
        b.extend(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .bytes(),
        );
    }
    for (i, (k, bytes)) in files.iter().enumerate() {
        b.extend(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"; \
                 filename=\"IMG_{i}.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .bytes(),
        );
        b.extend_from_slice(bytes);
        b.extend(b"\r\n");
    }
    b.extend(format!("--{BOUNDARY}--\r\n").bytes());
    b
}

async fn post_multipart(
    app: &axum::Router,
    fields: &[(&str, &str)],
    files: &[(&str, &[u8])],
) -> Reply {
    post(
        app,
        &format!("{BASE}/requests.json"),
        &format!("multipart/form-data; boundary={BOUNDARY}"),
        multipart(fields, files),
        &[],
    )
    .await
}

fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    s.extend_from_slice(payload);
    s
}

/// A tiny baseline JPEG straight from a camera: JFIF, an EXIF block with the GPS
/// position, a comment, tables, one frame and one scan.
fn camera_jpeg() -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
    j.extend(segment(0xE1, b"Exif\0\0MM\0*GPS 27.2415N 111.4675E"));
    j.extend(segment(0xFE, b"camera comment"));
    let mut dqt = vec![0u8];
    dqt.extend([1u8; 64]);
    j.extend(segment(0xDB, &dqt));
    j.extend(segment(0xC0, &[8, 0, 8, 0, 16, 1, 1, 0x11, 0]));
    let mut dht = vec![0x00, 1];
    dht.extend([0u8; 15]);
    dht.push(0);
    j.extend(segment(0xC4, &dht));
    j.extend(segment(0xDA, &[1, 1, 0x00, 0, 0x3F, 0]));
    j.extend_from_slice(&[0x12, 0x34, 0xFF, 0x00, 0x56]);
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The fields of a complete streetlight report.
fn streetlight<'a>(api_key: &'a str, lat: &'a str, long: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("api_key", api_key),
        ("jurisdiction_id", "shaoyang.gov.cn"),
        ("service_code", "facilities.streetlight"),
        ("lat", lat),
        ("long", long),
        ("address_string", "宝庆路1号"),
        ("email", "resident@example.org"),
        ("device_id", "device-1"),
        ("account_id", "acct-7"),
        ("first_name", "芳"),
        ("last_name", "王"),
        ("phone", "13807390000"),
        ("description", "小区门口路灯不亮已经三天\n晚上很黑"),
        ("attribute[lamp_state]", "off"),
        ("attribute[pole_number]", "BQ-017"),
    ]
}

fn json_of(r: &Reply) -> Value {
    let ct = r.headers["content-type"].to_str().unwrap();
    assert_eq!(ct, "application/json; charset=utf-8", "{}", r.text());
    r.json()
}

/// The spec's error list: status, and every description.
fn errors(r: &Reply) -> (u16, Vec<String>) {
    let v = json_of(r);
    let list = v
        .as_array()
        .unwrap_or_else(|| panic!("not an error list: {v}"));
    assert!(!list.is_empty());
    let descriptions = list
        .iter()
        .map(|e| {
            assert!(e["code"].is_u64(), "{e}");
            e["description"].as_str().unwrap().to_owned()
        })
        .collect();
    (r.status.as_u16(), descriptions)
}

// ---- a minimal XML reader: well-formedness and the element tree ----------------------

#[derive(Debug)]
struct El {
    name: String,
    text: String,
    children: Vec<El>,
}

impl El {
    fn all(&self, name: &str) -> Vec<&El> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    fn get(&self, name: &str) -> &El {
        self.children
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("<{}> has no <{name}>", self.name))
    }

    fn t(&self, name: &str) -> String {
        self.get(name).text.clone()
    }

    fn has(&self, name: &str) -> bool {
        self.children.iter().any(|c| c.name == name)
    }
}

/// Parse an Open311 XML document; panics unless it is well-formed.
fn xml(r: &Reply) -> El {
    let ct = r.headers["content-type"].to_str().unwrap();
    assert_eq!(ct, "text/xml; charset=utf-8", "{}", r.text());
    let s = r.text();
    let rest = s
        .strip_prefix("<?xml version=\"1.0\" encoding=\"utf-8\"?>")
        .unwrap_or_else(|| panic!("no XML declaration: {s}"));
    let chars: Vec<char> = rest.trim().chars().collect();
    let mut pos = 0;
    let root = element(&chars, &mut pos);
    assert_eq!(pos, chars.len(), "content after the root element");
    root
}

fn name_at(c: &[char], pos: &mut usize) -> String {
    let start = *pos;
    while *pos < c.len() && (c[*pos].is_ascii_alphanumeric() || "_-.".contains(c[*pos])) {
        *pos += 1;
    }
    assert!(*pos > start, "expected a name at {start}");
    c[start..*pos].iter().collect()
}

fn element(c: &[char], pos: &mut usize) -> El {
    assert_eq!(c.get(*pos), Some(&'<'), "expected an element at {pos}");
    *pos += 1;
    let name = name_at(c, pos);
    let mut el = El {
        name,
        text: String::new(),
        children: Vec::new(),
    };
    if c[*pos] == '/' {
        assert_eq!(c[*pos + 1], '>');
        *pos += 2;
        return el;
    }
    assert_eq!(c[*pos], '>', "attributes or junk in <{}>", el.name);
    *pos += 1;
    loop {
        match (c.get(*pos), c.get(*pos + 1)) {
            (Some('<'), Some('/')) => {
                *pos += 2;
                let end = name_at(c, pos);
                assert_eq!(end, el.name, "mismatched end tag");
                assert_eq!(c[*pos], '>');
                *pos += 1;
                return el;
            }
            (Some('<'), _) => el.children.push(element(c, pos)),
            (Some(_), _) => {
                while c[*pos] != '<' {
                    if c[*pos] == '&' {
                        let end = (*pos..c.len()).find(|&i| c[i] == ';').unwrap();
                        let entity: String = c[*pos + 1..end].iter().collect();
                        let ch = match entity.as_str() {
                            "amp" => '&',
                            "lt" => '<',
                            "gt" => '>',
                            "quot" => '"',
                            "apos" => '\'',
                            e if e.starts_with('#') => {
                                char::from_u32(e[1..].parse().unwrap()).unwrap()
                            }
                            e => panic!("unknown entity &{e};"),
                        };
                        el.text.push(ch);
                        *pos = end + 1;
                    } else {
                        el.text.push(c[*pos]);
                        *pos += 1;
                    }
                }
            }
            (None, _) => panic!("unclosed <{}>", el.name),
        }
    }
}

fn xml_errors(r: &Reply) -> (u16, Vec<String>) {
    let root = xml(r);
    assert_eq!(root.name, "errors");
    let list = root.all("error");
    assert!(!list.is_empty());
    (
        r.status.as_u16(),
        list.iter().map(|e| e.t("description")).collect(),
    )
}

// ---- discovery and services ----------------------------------------------------------

#[tokio::test]
async fn discovery_services_and_definitions() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let req = Request::get(format!("{BASE}/discovery.xml"))
            .header("host", "shequ.example.org")
            .header("x-forwarded-proto", "https")
            .body(Body::empty())
            .unwrap();
        let r = send(&app, req).await;
        assert_eq!(r.status, 200);
        insta::assert_snapshot!("discovery_xml", r.text());
        let d = xml(&r);
        let ep = d.get("endpoints").get("endpoint");
        assert_eq!(ep.t("url"), "https://shequ.example.org/open311/v2");
        assert_eq!(
            ep.t("specification"),
            "http://wiki.open311.org/GeoReport_v2"
        );
        let formats: Vec<&str> = ep
            .get("formats")
            .all("format")
            .iter()
            .map(|f| f.text.as_str())
            .collect();
        assert_eq!(formats, ["text/xml", "application/json"]);

        let req = Request::get(format!("{BASE}/discovery.json"))
            .header("host", "127.0.0.1:8080")
            .body(Body::empty())
            .unwrap();
        let v = json_of(&send(&app, req).await);
        for k in ["changeset", "contact", "key_service"] {
            assert!(!v[k].as_str().unwrap().is_empty(), "{k}");
        }
        assert_eq!(v["endpoints"][0]["url"], "http://127.0.0.1:8080/open311/v2");
        assert_eq!(v["endpoints"][0]["type"], "production");
        assert_eq!(v["endpoints"][0]["formats"][1], "application/json");

        // Services: leaves only, grouped by their parents.
        let v = json_of(&get(&app, &format!("{BASE}/services.json")).await);
        let services = v.as_array().unwrap();
        assert_eq!(services.len(), 14);
        let light = services
            .iter()
            .find(|s| s["service_code"] == "facilities.streetlight")
            .unwrap();
        assert_eq!(light["service_name"], "路灯损坏");
        assert_eq!(light["group"], "市政设施");
        assert_eq!(light["metadata"], true);
        assert_eq!(light["type"], "realtime");
        assert!(light["keywords"].as_str().unwrap().contains("路灯损坏"));
        assert!(
            light["description"]
                .as_str()
                .unwrap()
                .contains("5 个工作日")
        );
        assert!(services.iter().all(|s| s["service_code"] != "facilities"));
        let road = services
            .iter()
            .find(|s| s["service_code"] == "facilities.road")
            .unwrap();
        assert_eq!(road["metadata"], false);
        let aid = services
            .iter()
            .find(|s| s["service_code"] == "social.assistance")
            .unwrap();
        assert!(aid["keywords"].as_str().unwrap().ends_with(",private"));
        let x = xml(&get(&app, &format!("{BASE}/services.xml")).await);
        assert_eq!(x.name, "services");
        let items = x.all("service");
        assert_eq!(items.len(), services.len());
        let xl = items
            .iter()
            .find(|s| s.t("service_code") == "facilities.streetlight")
            .unwrap();
        assert_eq!(
            (xl.t("metadata"), xl.t("group")),
            ("true".into(), "市政设施".into())
        );

        // A definition with its questions, in both formats and through the aliases.
        let v = json_of(
            &get(
                &app,
                &format!("{BASE}/services/facilities.streetlight.json"),
            )
            .await,
        );
        assert_eq!(v["service_code"], "facilities.streetlight");
        let attrs = v["attributes"].as_array().unwrap();
        assert_eq!(attrs.len(), 2);
        let state = &attrs[1];
        assert_eq!(state["code"], "lamp_state");
        assert_eq!(state["variable"], true);
        assert_eq!(state["required"], true);
        assert_eq!(state["datatype"], "singlevaluelist");
        assert_eq!(state["order"], 2);
        assert_eq!(state["values"][0]["key"], "off");
        assert_eq!(state["values"][0]["name"], "不亮");
        assert_eq!(state["values"].as_array().unwrap().len(), 4);
        assert_eq!(attrs[0]["datatype"], "string");
        assert_eq!(attrs[0]["required"], false);
        let r = get(&app, &format!("{BASE}/services/facilities.streetlight.xml")).await;
        insta::assert_snapshot!("definition_xml", r.text());
        let d = xml(&r);
        assert_eq!(d.name, "service_definition");
        let a = d.get("attributes").all("attribute");
        assert_eq!(a[1].t("code"), "lamp_state");
        assert_eq!(a[1].get("values").all("value")[3].t("name"), "灯杆损坏");
        for alias in [
            format!("{BASE}/service_definition.json?service_code=facilities.streetlight"),
            format!("{BASE}/service/facilities.streetlight.json"),
        ] {
            assert_eq!(json_of(&get(&app, &alias).await), v, "{alias}");
        }
        let road = json_of(&get(&app, &format!("{BASE}/services/facilities.road.json")).await);
        assert_eq!(road["attributes"], serde_json::json!([]));

        // Unknown services, groups, formats and paths: 404 in the spec's format.
        for path in [
            "/services/no.such.json",
            "/services/facilities.json",
            "/services/.json",
        ] {
            let (status, d) = errors(&get(&app, &format!("{BASE}{path}")).await);
            assert_eq!(status, 404, "{path}");
            assert!(
                d[0].starts_with("service_code") || d[0].contains("接口"),
                "{d:?}"
            );
        }
        let (status, d) = xml_errors(&get(&app, &format!("{BASE}/services/no.such.xml")).await);
        assert_eq!((status, d[0].starts_with("service_code：")), (404, true));
        for path in [
            "/services.html",
            "/services",
            "/services.xml/extra",
            "/nothing.xml",
            "/tokens/a/b.xml",
        ] {
            let r = get(&app, &format!("{BASE}{path}")).await;
            assert_eq!(xml_errors(&r).0, 404, "{path}");
        }
        for path in [
            "/open311/v2/nothing.json",
            "/open311/v3/services.json",
            "/open311/v2/requests/x/y.json",
        ] {
            assert_eq!(errors(&get(&app, path).await).0, 404, "{path}");
        }
        let (status, _) = errors(&get(&app, &format!("{BASE}/service_definition.json")).await);
        assert_eq!(status, 400);
        // Writing to a read-only resource.
        let r = post_form(&app, &format!("{BASE}/services.json"), &[]).await;
        assert_eq!(errors(&r).0, 400);
    })
    .await;
}

// ---- submitting ----------------------------------------------------------------------

#[tokio::test]
async fn submit_urlencoded_then_read_back_without_personal_data() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (st, app) = app(&db).await;
        let k = api_key(&db, "430502").await;
        let (lat, long) = point(&st, VILLAGE);
        let r = post_form(
            &app,
            &format!("{BASE}/requests.json"),
            &streetlight(&k, &lat, &long),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = json_of(&r);
        let list = v.as_array().unwrap();
        assert_eq!(list.len(), 1);
        let id = list[0]["service_request_id"].as_str().unwrap().to_owned();
        let token = list[0]["token"].as_str().unwrap().to_owned();
        assert!(list[0]["service_notice"].as_str().unwrap().contains(&token));
        assert_eq!(list[0]["account_id"], "acct-7");

        // Stored as an Open311 order, the reporter kept privately.
        let o = workorders::get(&mut db.conn(), &city(), id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(o.channel, "open311");
        assert_eq!(o.reporter_name, "王芳");
        assert_eq!(o.reporter_phone_masked.as_deref(), Some("138****0000"));
        assert_eq!(o.tracking_code, token);
        assert!(o.division_code.starts_with(VILLAGE));
        let answers: Value = serde_json::from_str(&o.attributes).unwrap();
        assert_eq!(
            answers,
            serde_json::json!({"lamp_state": "off", "pole_number": "BQ-017"})
        );

        // Read back: one request as a list of one, in both formats.
        let r = get(&app, &format!("{BASE}/requests/{id}.json")).await;
        let v = json_of(&r);
        let body = r.text();
        for pii in [
            "王芳",
            "13807390000",
            "138****0000",
            "resident@example.org",
            "acct-7",
            "device-1",
            &token,
        ] {
            assert!(!body.contains(pii), "{pii} leaked: {body}");
        }
        let req = &v.as_array().unwrap()[0];
        assert_eq!(v.as_array().unwrap().len(), 1);
        assert_eq!(req["service_request_id"], id.as_str());
        assert_eq!(req["status"], "open");
        assert_eq!(req["status_notes"], "已受理");
        assert_eq!(req["service_code"], "facilities.streetlight");
        assert_eq!(req["service_name"], "路灯损坏");
        assert_eq!(req["description"], "小区门口路灯不亮已经三天\n晚上很黑");
        assert_eq!(req["address"], "宝庆路1号");
        assert_eq!(req["requested_datetime"], "2025-06-30T02:00:00Z");
        assert_eq!(req["updated_datetime"], "2025-06-30T02:00:00Z");
        assert!(req["agency_responsible"].is_null());
        assert!(req["lat"].is_f64() && req["long"].is_f64());
        assert!((req["lat"].as_f64().unwrap() - lat.parse::<f64>().unwrap()).abs() < 1e-9);
        let raw = r.text();
        assert!(raw.contains("\"lat\":") && !raw.contains("\"lat\":\""));
        let x = xml(&get(&app, &format!("{BASE}/requests/{id}.xml")).await);
        assert_eq!(x.name, "service_requests");
        let one = x.get("request");
        assert_eq!(one.t("service_request_id"), id);
        assert_eq!(one.t("description"), "小区门口路灯不亮已经三天\n晚上很黑");
        assert!(one.t("lat").contains('.') && one.t("long").contains('.'));
        assert!(!one.has("zipcode") && !one.has("agency_responsible"));

        // The token leads to the request.
        let v = json_of(&get(&app, &format!("{BASE}/tokens/{token}.json")).await);
        assert_eq!(v[0]["service_request_id"], id.as_str());
        assert_eq!(v[0]["token"], token.as_str());
        let x = xml(&get(&app, &format!("{BASE}/tokens/{}.xml", token.to_lowercase())).await);
        assert_eq!(x.get("request").t("service_request_id"), id);
        for bad in ["ZZZZZZZZZZ", "a-b", "%3Cx%3E"] {
            assert_eq!(
                errors(&get(&app, &format!("{BASE}/tokens/{bad}.json")).await).0,
                404
            );
        }
        for bad in ["999999", "abc", "0", "-1"] {
            assert_eq!(
                errors(&get(&app, &format!("{BASE}/requests/{bad}.json")).await).0,
                404
            );
        }

        // XML in, XML out; a description left out becomes the service's name;
        // an address with a division (extension) stands in for a point.
        let r = post_form(
            &app,
            &format!("{BASE}/requests.xml"),
            &[
                ("api_key", &k),
                ("service_code", "facilities.road"),
                ("address_string", "宝庆路与东大路交叉口"),
                ("division_code", VILLAGE),
            ],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let x = xml(&r);
        let id2 = x.get("request").t("service_request_id");
        assert!(!x.get("request").has("account_id"));
        let v = json_of(&get(&app, &format!("{BASE}/requests/{id2}.json")).await);
        assert_eq!(v[0]["description"], "道路破损");
        assert_eq!(v[0]["address"], "宝庆路与东大路交叉口");
        assert!(v[0]["lat"].is_null());
        assert_eq!(count(&db).await, 2);
    })
    .await;
}

#[tokio::test]
async fn submit_multipart_with_photos_stripped_of_metadata() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (st, app) = app(&db).await;
        let k = api_key(&db, "430502").await;
        let (lat, long) = point(&st, VILLAGE);
        let jpeg = camera_jpeg();
        let mut fields = streetlight(&k, &lat, &long);
        // An empty repeat of an answer counts as no answer.
        fields.push(("attribute[pole_number]", ""));
        let r = post_multipart(&app, &fields, &[("media", &jpeg), ("photo2", &jpeg)]).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let id: i64 = json_of(&r)[0]["service_request_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let mut c = db.conn();
        let stored = photos::of_order(&mut c, id).await.unwrap();
        assert_eq!(stored.len(), 2);
        assert_eq!(
            (
                stored[0].content_type.as_str(),
                stored[0].width,
                stored[0].height
            ),
            ("image/jpeg", 16, 8)
        );
        let (_, _, bytes) = photos::bytes(&mut c, stored[0].id).await.unwrap().unwrap();
        assert!(bytes.starts_with(&[0xFF, 0xD8]) && bytes.ends_with(&[0xFF, 0xD9]));
        for secret in [&b"Exif"[..], b"GPS", b"camera comment"] {
            assert!(!contains(&bytes, secret));
        }
        assert!(contains(&jpeg, b"Exif"));

        let o = workorders::get(&mut c, &city(), id).await.unwrap().unwrap();
        let answers: Value = serde_json::from_str(&o.attributes).unwrap();
        assert_eq!(
            answers,
            serde_json::json!({"lamp_state": "off", "pole_number": "BQ-017"})
        );

        // `media[]` parts, and an empty file input a browser sends.
        let fields = streetlight(&k, &lat, &long);
        let r = post_multipart(&app, &fields, &[("media[]", &jpeg), ("photo1", b"")]).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let id: i64 = json_of(&r)[0]["service_request_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(photos::of_order(&mut c, id).await.unwrap().len(), 1);

        // A fake image, an oversized one, too many: refused, nothing stored.
        let before = count(&db).await;
        let fields = streetlight(&k, &lat, &long);
        let fake = "这是一个改名为 .jpg 的文本文件".as_bytes();
        let (status, d) = errors(&post_multipart(&app, &fields, &[("media", fake)]).await);
        assert_eq!(
            (status, d[0].as_str()),
            (400, "media：只接受 JPEG 或 PNG 照片")
        );
        let mut big = camera_jpeg();
        big.resize(5 * 1024 * 1024 + 1, 0);
        let (status, d) = errors(&post_multipart(&app, &fields, &[("media", &big)]).await);
        assert_eq!((status, d[0].as_str()), (400, "media：照片不能超过 5 MB"));
        let four: Vec<(&str, &[u8])> = vec![("media[]", &jpeg); 4];
        let (status, d) = errors(&post_multipart(&app, &fields, &four).await);
        assert_eq!(status, 400);
        assert!(d[0].starts_with("media："), "{d:?}");
        // A body over the limit.
        let huge = vec![0u8; 17 * 1024 * 1024];
        let r = post_multipart(&app, &fields, &[("media", &huge)]).await;
        let v = json_of(&r);
        assert_eq!((r.status.as_u16(), v[0]["code"].as_u64()), (400, Some(413)));
        assert_eq!(count(&db).await, before);
    })
    .await;
}

/// Changed fields (an empty value removes the field), expected status, leading text.
type Case = (Vec<(&'static str, &'static str)>, u16, &'static str);

#[tokio::test]
async fn bad_submissions_are_refused_in_the_spec_format_and_store_nothing() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (st, app) = app(&db).await;
        let k = api_key(&db, "430502").await;
        let (lat, long) = point(&st, VILLAGE);
        let uri = format!("{BASE}/requests.json");
        let with = |changes: &[(&'static str, &'static str)]| {
            let mut f: Vec<(String, String)> = streetlight(&k, &lat, &long)
                .into_iter()
                .filter(|(name, _)| !changes.iter().any(|(c, _)| c == name))
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect();
            for (name, v) in changes {
                if !v.is_empty() {
                    f.push(((*name).to_owned(), (*v).to_owned()));
                }
            }
            f
        };
        // A revoked key, an expired one, and one for another township.
        let mut c = db.conn();
        let rid = shequ_db::api_keys::create(&mut c, "吊销", "revoked-key", &code("430502"), now())
            .await
            .unwrap();
        shequ_db::api_keys::revoke(&mut c, rid, now())
            .await
            .unwrap();
        shequ_db::api_keys::create(
            &mut c,
            "过期",
            "expired-key",
            &code("430502"),
            now() - Duration::days(400),
        )
        .await
        .unwrap();
        shequ_db::api_keys::create(&mut c, "邻街道", "township-key", &code("430502002"), now())
            .await
            .unwrap();

        let cases: Vec<Case> = vec![
            (vec![("api_key", "")], 403, "api_key："),
            (vec![("api_key", "not-a-key")], 403, "api_key："),
            (vec![("api_key", "revoked-key")], 403, "api_key："),
            (vec![("api_key", "expired-key")], 403, "api_key："),
            (vec![("api_key", "township-key")], 403, "api_key："),
            (vec![("service_code", "no.such")], 404, "service_code："),
            (vec![("service_code", "facilities")], 404, "service_code："),
            (vec![("service_code", "")], 400, "service_code："),
            (
                vec![("attribute[lamp_state]", "")],
                400,
                "attribute[lamp_state]：请填写：路灯状况",
            ),
            (
                vec![("attribute[lamp_state]", "purple")],
                400,
                "attribute[lamp_state]：",
            ),
            (vec![("attribute[nope]", "1")], 400, "attribute[nope]："),
            (vec![("lat", "abc")], 400, "lat：纬度应为十进制度数"),
            (vec![("long", "NaN")], 400, "long："),
            (vec![("lat", "95")], 400, "lat：纬度应在 -90 到 90 之间"),
            (vec![("lat", "")], 400, "lat："),
            (
                vec![("lat", "0.0"), ("long", "0.0")],
                400,
                "lat：该位置不在本市服务范围内",
            ),
            (vec![("lat", ""), ("long", "")], 400, "address_string："),
            (
                vec![
                    ("lat", ""),
                    ("long", ""),
                    ("address_string", ""),
                    ("address_id", "A-1"),
                ],
                400,
                "address_id：",
            ),
            (
                vec![("lat", ""), ("long", ""), ("address_string", "")],
                400,
                "lat：请提供位置",
            ),
            (
                vec![("division_code", "430502999999")],
                400,
                "division_code：",
            ),
            (
                vec![("description", "<script>alert(1)</script>路灯")],
                400,
                "description：诉求描述中不能含有 HTML 标记",
            ),
            (vec![("phone", "12345")], 400, "phone："),
        ];
        for (changes, status, lead) in &cases {
            let fields = with(changes);
            let refs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            let r = post_form(&app, &uri, &refs).await;
            let (got, d) = errors(&r);
            assert_eq!(got, *status, "{changes:?}: {d:?}");
            assert!(d.iter().any(|x| x.starts_with(lead)), "{changes:?}: {d:?}");
        }
        // The key belongs in the body, never in the URL.
        let fields = with(&[("api_key", "")]);
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let r = post_form(&app, &format!("{uri}?api_key={k}"), &refs).await;
        assert_eq!(errors(&r).0, 403);
        // Several bad fields: one entry each.
        let fields = with(&[("attribute[lamp_state]", ""), ("lat", "95"), ("phone", "1")]);
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let (status, d) = errors(&post_form(&app, &uri, &refs).await);
        assert_eq!(status, 400);
        assert_eq!(d.len(), 3, "{d:?}");
        // The same in XML.
        let fields = with(&[("api_key", "")]);
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let r = post_form(&app, &format!("{BASE}/requests.xml"), &refs).await;
        let (status, d) = xml_errors(&r);
        assert_eq!((status, d[0].as_str()), (403, "api_key：请提供接口密钥"));
        insta::assert_snapshot!("error_xml", r.text());
        // A JSON body is not a form.
        let r = post(&app, &uri, "application/json", b"{}".to_vec(), &[]).await;
        let v = json_of(&r);
        assert_eq!((r.status.as_u16(), v[0]["code"].as_u64()), (400, Some(415)));
        assert_eq!(count(&db).await, 0);
    })
    .await;
}

#[tokio::test]
async fn a_replayed_idempotency_key_stores_one_order() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (st, app) = app(&db).await;
        let k = api_key(&db, "430502").await;
        let other = api_key(&db, "430502").await;
        let (lat, long) = point(&st, VILLAGE);
        let uri = format!("{BASE}/requests.json");
        let body = urlencoded(&streetlight(&k, &lat, &long)).into_bytes();
        let ctype = "application/x-www-form-urlencoded";
        let first = post(
            &app,
            &uri,
            ctype,
            body.clone(),
            &[("idempotency-key", "req-1")],
        )
        .await;
        let again = post(
            &app,
            &uri,
            ctype,
            body.clone(),
            &[("Idempotency-Key", "req-1")],
        )
        .await;
        assert_eq!((first.status.as_u16(), again.status.as_u16()), (200, 200));
        assert_eq!(json_of(&first), json_of(&again));
        assert_eq!(count(&db).await, 1);
        // The field form of the key, and keys of another integration kept apart.
        let mut fields = streetlight(&k, &lat, &long);
        fields.push(("idempotency_key", "req-1"));
        let r = post_form(&app, &uri, &fields).await;
        assert_eq!(json_of(&r), json_of(&first));
        let theirs = post(
            &app,
            &uri,
            ctype,
            urlencoded(&streetlight(&other, &lat, &long)).into_bytes(),
            &[("idempotency-key", "req-1")],
        )
        .await;
        assert_ne!(
            json_of(&theirs)[0]["service_request_id"],
            json_of(&first)[0]["service_request_id"]
        );
        assert_eq!(count(&db).await, 2);
        let long_key = "k".repeat(81);
        let r = post(&app, &uri, ctype, body, &[("idempotency-key", &long_key)]).await;
        let (status, d) = errors(&r);
        assert_eq!((status, d[0].starts_with("idempotency_key：")), (400, true));
        assert_eq!(count(&db).await, 2);
    })
    .await;
}

// ---- reading requests ----------------------------------------------------------------

fn new_order(category: &str, description: &str, village: &str) -> NewOrder {
    NewOrder {
        category: category.into(),
        description: description.into(),
        location: None,
        address: String::new(),
        division: code(&format!("{village}001")),
        channel: "portal".into(),
        urgent: false,
        reporter_name: "李明".into(),
        reporter_phone: Some(Phone::parse("13907391234").unwrap()),
        reporter_user_id: None,
        idempotency_key: None,
        attributes: serde_json::Map::new(),
    }
}

async fn seed(db: &Db, category: &str, description: &str, at: DateTime<Utc>) -> i64 {
    workorders::create(
        &mut db.conn(),
        &key(),
        &new_order(category, description, VILLAGE),
        &Actor::anonymous(),
        at,
    )
    .await
    .unwrap()
    .0
}

fn ids_of(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn listing_filters_limits_and_privacy() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (st, app) = app(&db).await;
        let tree = st.tree.get();
        let community = format!(
            "{}{}",
            tree.get("430502001").unwrap().name,
            tree.get(VILLAGE).unwrap().name
        );
        let day = Duration::days(1);
        let old = seed(&db, "facilities.road", "老旧道路坑洼", now() - day * 100).await;
        let a = seed(
            &db,
            "facilities.streetlight",
            "路灯不亮，联系电话13800001111",
            now() - day * 20,
        )
        .await;
        let b = seed(&db, "environment.garbage", "垃圾没人清运", now() - day * 10).await;
        let private = seed(
            &db,
            "social.assistance",
            "申请低保，家中困难",
            now() - day * 5,
        )
        .await;
        let closed = seed(&db, "facilities.streetlight", "路灯闪烁", now() - day * 2).await;
        let cal = Calendar::china_2025();
        let mut c = db.conn();
        for step in [
            Action::Dispatch {
                unit: VILLAGE.into(),
            },
            Action::Sign,
            Action::Start,
            Action::Reply {
                text: "已联系供电所，电话07395551234".into(),
            },
            Action::Close {
                summary: "路灯已修复".into(),
            },
        ] {
            workorders::transition(&mut c, &city(), &cal, closed, &step, now() - day)
                .await
                .unwrap();
        }
        let list = |q: &str| {
            let app = app.clone();
            let q = q.to_owned();
            async move { get(&app, &format!("{BASE}/requests.json{q}")).await }
        };

        // Default: the last 90 days, newest first.
        let r = list("").await;
        assert_eq!(ids_of(&json_of(&r)), vec![closed, private, b, a]);
        assert_eq!(r.headers["x-total-count"], "4");
        let body = r.text();
        for pii in [
            "李明",
            "13907391234",
            "139****1234",
            "07395551234",
            "申请低保",
        ] {
            assert!(!body.contains(pii), "{pii} leaked: {body}");
        }
        let v = json_of(&r);
        let by_id = |id: i64| {
            v.as_array()
                .unwrap()
                .iter()
                .find(|x| x["service_request_id"] == id.to_string().as_str())
                .unwrap()
                .clone()
        };
        let done = by_id(closed);
        assert_eq!(done["status"], "closed");
        assert_eq!(done["status_notes"], "已办结：路灯已修复");
        assert_eq!(done["agency_responsible"], community.as_str());
        // No street address was given: the place stands in for it.
        assert!(done["address"].as_str().unwrap().starts_with(&community));
        assert!(done["expected_datetime"].as_str().unwrap().ends_with('Z'));
        assert_eq!(done["updated_datetime"], "2025-06-29T02:00:00Z");
        let first = by_id(a);
        assert_eq!(first["description"], "路灯不亮，联系电话138****1111");
        assert_eq!(first["status"], "open");
        let hidden = by_id(private);
        assert_eq!(
            hidden["description"],
            "（该类诉求涉及个人情况，内容不公开）"
        );
        assert!(hidden["lat"].is_null());

        // Dates, statuses, services, ids, changes, pages.
        let by_ids = format!("?service_request_id={old},{b}&status=closed");
        let cases: Vec<(&str, Vec<i64>)> = vec![
            (
                "?start_date=2025-06-01T00:00:00Z&end_date=2025-06-22T00:00:00Z",
                vec![b, a],
            ),
            (
                "?start_date=2025-06-15T08:00:00%2B08:00",
                vec![closed, private, b],
            ),
            ("?end_date=2025-06-25T00:00:00Z", vec![b, a]),
            (
                "?start_date=2025-03-01T00:00:00Z&end_date=2025-05-30T00:00:00Z",
                vec![old],
            ),
            ("?status=open", vec![private, b, a]),
            ("?status=closed", vec![closed]),
            ("?status=open,closed", vec![closed, private, b, a]),
            ("?service_code=facilities.streetlight", vec![closed, a]),
            (
                "?service_code=facilities.streetlight,environment.garbage",
                vec![closed, b, a],
            ),
            ("?service_code=environment", vec![b]),
            ("?service_code=facilities.streetlight&status=open", vec![a]),
            (&by_ids, vec![b, old]),
            ("?updated_after=2025-06-28T00:00:00Z", vec![closed]),
            ("?updated_before=2025-06-01T00:00:00Z", vec![old]),
            ("?page_size=2", vec![closed, private]),
            ("?page_size=2&page=2", vec![b, a]),
            ("?page_size=2&page=3", vec![]),
            (
                "?service_code=facilities.streetlight,environment.garbage&page_size=2&page=2",
                vec![a],
            ),
            (
                "?jurisdiction_id=shaoyang.gov.cn&status=",
                vec![closed, private, b, a],
            ),
        ];
        for (q, want) in cases {
            let r = list(q).await;
            assert_eq!(r.status, 200, "{q}: {}", r.text());
            assert_eq!(ids_of(&json_of(&r)), want, "{q}");
        }
        let r = list("?service_code=facilities.streetlight,environment.garbage&page_size=2").await;
        assert_eq!(r.headers["x-total-count"], "3");

        // The same listing in XML.
        let x = xml(&get(&app, &format!("{BASE}/requests.xml?status=closed")).await);
        let items = x.all("request");
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].t("status"), "closed");
        assert_eq!(items[0].t("status_notes"), "已办结：路灯已修复");
        assert!(items[0].t("requested_datetime").ends_with('Z'));

        // Bad parameters: 400 in the spec's format, both formats.
        for q in [
            "?start_date=yesterday",
            "?start_date=2025-01-01T00:00:00Z&end_date=2025-06-01T00:00:00Z",
            "?status=pending",
            "?page=0",
            "?page_size=abc",
            "?service_request_id=1,x",
            "?service_code=%3Cb%3E",
        ] {
            let (status, d) = errors(&list(q).await);
            assert_eq!(status, 400, "{q}");
            assert!(d[0].contains('：'), "{d:?}");
            let r = get(&app, &format!("{BASE}/requests.xml{q}")).await;
            assert_eq!(xml_errors(&r).0, 400, "{q}");
        }
    })
    .await;
}
