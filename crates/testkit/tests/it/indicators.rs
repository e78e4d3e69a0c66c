//! The monitor's numbers: stored values equal a from-scratch recomputation after
//! any sequence of registry changes, parents are the sums of their children, and
//! a change touches exactly the values on its path to the root.

use chrono::NaiveDate;
use proptest::prelude::*;
use shequ_core::facility::{FunctionCode, Interval};
use shequ_core::indicators::Catalogue;
use shequ_core::rng::SeededRng;
use shequ_core::{DivisionCode, Role};
use shequ_db::Db;
use shequ_db::divisions::{NewDivision, insert};
use shequ_db::facilities::{self, FacilityInput, FunctionInput, Purpose, SpaceInput, Status};
use shequ_db::indicators::{self, Values, facts::gather};
use shequ_db::scope::{Actor, Scope};
use shequ_db::workforce::{self, WorkerInput};
use shequ_testkit::{TestDb, now, on_each_backend};
use std::collections::BTreeMap;

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).unwrap()
}

fn city() -> Scope {
    Scope::new(code("430500"), Role::CityStaff, Actor::system())
}

async fn random_tree(db: &Db, rng: &mut SeededRng) -> Vec<DivisionCode> {
    let mut villages = Vec::new();
    let mut nodes = vec![code("430500")];
    for county in ["430502", "430524"].iter().take(rng.range(1, 2) as usize) {
        nodes.push(code(county));
        for t in [1, 101, 201].iter().take(rng.range(1, 3) as usize) {
            let tc = code(&format!("{county}{t:03}"));
            nodes.push(tc.clone());
            for v in 1..=rng.range(1, 3) {
                let vc = code(&format!(
                    "{tc}{:03}",
                    if rng.chance(0.5) { v } else { 200 + v }
                ));
                nodes.push(vc.clone());
                villages.push(vc);
            }
        }
    }
    for n in &nodes {
        let urban = n.kind() == shequ_core::division::Kind::Community;
        let pop = if n.as_str().len() == 12 {
            rng.range(500, 5000)
        } else {
            0
        };
        let f = shequ_core::figures::Figures {
            population: pop,
            urban_population: if urban { pop } else { pop / 10 },
            households: pop / 3,
        };
        let d = NewDivision {
            code: n.clone(),
            name: format!("节点{n}"),
            urban,
            urban_rural_class: None,
            figures: f,
            centroid: None,
            polygon: None,
        };
        insert(&mut db.conn(), &d, now()).await.unwrap();
    }
    villages
}

fn random_facility(rng: &mut SeededRng, division: &DivisionCode) -> FacilityInput {
    let floor = rng.range(20_000, 200_000);
    let activity = floor * rng.range(30, 80) / 100;
    let mut functions = vec![];
    for f in [
        "comprehensive_service",
        "volunteer_station",
        "day_care",
        "social_work_room",
        "minor_protection",
    ] {
        if rng.chance(0.6) {
            let code = FunctionCode::parse(f).unwrap();
            let land = if code.is_elderly_care() {
                rng.range(0, 50_000)
            } else {
                0
            };
            functions.push(FunctionInput {
                code,
                land_area_x100: land,
            });
        }
    }
    let hours: Vec<Interval> = (1..=rng.range(4, 7) as u8)
        .map(|d| Interval {
            weekday: d,
            opens: 480,
            closes: if rng.chance(0.7) { 1080 } else { 720 },
        })
        .collect();
    FacilityInput {
        division: division.clone(),
        name: "服务中心".into(),
        address: String::new(),
        location: None,
        floor_area_x100: floor,
        status: if rng.chance(0.85) {
            Status::InUse
        } else {
            Status::Closed
        },
        year_built: Some(2015),
        online_24h: false,
        spaces: vec![
            SpaceInput {
                name: "活动室".into(),
                purpose: Purpose::Activity,
                area_x100: activity,
            },
            SpaceInput {
                name: "办公室".into(),
                purpose: Purpose::Office,
                area_x100: (floor - activity) / 2,
            },
        ],
        functions,
        hours,
        exceptions: vec![],
    }
}

/// All stored values.
async fn stored(db: &Db) -> Values {
    let all: Vec<String> = shequ_db::divisions::all(&mut db.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.code)
        .collect();
    indicators::values_for(&mut db.conn(), &all).await.unwrap()
}

/// Values computed from scratch, without touching the store.
async fn fresh(db: &Db) -> Values {
    indicators::compute(
        Catalogue::builtin(),
        &gather(&mut db.conn(), &code("430500"), now())
            .await
            .unwrap(),
    )
}

fn nonzero(v: &Values) -> BTreeMap<(String, String), (i64, i64)> {
    v.iter()
        .filter(|(_, x)| **x != (0, 0))
        .map(|(k, x)| (k.clone(), *x))
        .collect()
}

async fn change(db: &Db, rng: &mut SeededRng, villages: &[DivisionCode], ids: &mut Vec<i64>) {
    let mut tx = db.begin().await.unwrap();
    let target = (*rng.pick(villages).unwrap()).clone();
    let place = if rng.chance(0.3) {
        code(&target.as_str()[..9])
    } else {
        target
    };
    if ids.is_empty() || rng.chance(0.5) {
        let f = random_facility(rng, &place);
        ids.push(
            facilities::create(&mut tx.conn(), &city(), &f, now())
                .await
                .unwrap(),
        );
    } else if rng.chance(0.5) {
        let id = *rng.pick(ids).unwrap();
        let f = random_facility(rng, &place);
        facilities::update(&mut tx.conn(), &city(), id, &f, now())
            .await
            .unwrap();
    } else {
        let w = WorkerInput {
            division: place,
            name: "李明".into(),
            kind: "full_time".into(),
            grade: String::new(),
            certificate: "none".into(),
            hire_date: NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
            mentor_id: None,
        };
        workforce::create(&mut tx.conn(), &city(), &w, now())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    #[test]
    fn incremental_values_equal_recomputation(seed in any::<u64>()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let t = TestDb::sqlite().await;
            let mut rng = SeededRng::new(seed);
            let villages = random_tree(&t.db, &mut rng).await;
            indicators::recompute_all(&t.db, now()).await.unwrap();
            let mut ids = Vec::new();
            for _ in 0..rng.range(3, 10) {
                change(&t.db, &mut rng, &villages, &mut ids).await;
                assert_eq!(nonzero(&stored(&t.db).await), nonzero(&fresh(&t.db).await), "seed {seed}");
            }
            assert_parents_are_sums(&stored(&t.db).await);
            t.cleanup().await;
        });
    }
}

/// Every parent's numerator and denominator equal the sums over its children.
fn assert_parents_are_sums(values: &Values) {
    let cat = Catalogue::builtin();
    let mut sums: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for ((id, c), (n, d)) in values {
        let Some(ind) = cat.get(id) else { continue };
        let dc = code(c);
        if dc.level() > ind.level {
            continue;
        }
        if let Some(p) = dc.parent() {
            let e = sums.entry((id.clone(), p.to_string())).or_default();
            e.0 += n;
            e.1 += d;
        }
    }
    for (k, s) in sums {
        assert_eq!(values.get(&k).copied().unwrap_or((0, 0)), s, "{k:?}");
    }
}

#[tokio::test]
async fn one_facility_changes_exactly_its_path() {
    on_each_backend(|db| async move {
        let mut rng = SeededRng::new(99);
        let villages = random_tree(&db, &mut rng).await;
        indicators::recompute_all(&db, now()).await.unwrap();
        let before = stored(&db).await;
        let v = villages[0].clone();
        let mut f = random_facility(&mut rng, &v);
        f.status = Status::InUse;
        f.functions = vec![FunctionInput {
            code: FunctionCode::parse("comprehensive_service").unwrap(),
            land_area_x100: 0,
        }];
        let mut tx = db.begin().await.unwrap();
        facilities::create(&mut tx.conn(), &city(), &f, now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let after = stored(&db).await;
        let path: Vec<String> = [v.as_str(), &v.as_str()[..9], &v.as_str()[..6], "430500"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let mut changed = 0;
        for (k, a) in &after {
            if before.get(k).copied().unwrap_or((0, 0)) != *a {
                assert!(path.contains(&k.1), "{k:?} changed off the path");
                changed += 1;
            }
        }
        assert!(
            changed >= 4,
            "the facility should change its village and every ancestor ({changed})"
        );
        assert_eq!(nonzero(&after), nonzero(&fresh(&db).await));
    })
    .await;
}

#[tokio::test]
async fn api_reports_contract_shape_and_scope() {
    on_each_backend(|db| async move {
        shequ_testkit::small_demo_with_people(&db, 10).await;
        shequ_db::demo::facilities::load(&db, 7, now())
            .await
            .unwrap();
        shequ_db::demo::workforce::load(
            &db,
            7,
            NaiveDate::from_ymd_opt(2025, 6, 30).unwrap(),
            now(),
        )
        .await
        .unwrap();
        indicators::recompute_all(&db, now()).await.unwrap();
        let (_, app) = shequ_testkit::app(&db).await;
        let t = shequ_testkit::token(&app, "county").await;
        let get = |uri: String| {
            let app = app.clone();
            let t = t.clone();
            async move {
                shequ_testkit::send(
                    &app,
                    axum::http::Request::get(uri)
                        .header("authorization", format!("Bearer {t}"))
                        .body(axum::body::Body::empty())
                        .unwrap(),
                )
                .await
            }
        };
        let v = get("/api/v1/indicators?division=430502".into())
            .await
            .json();
        let items = v["items"].as_array().unwrap();
        assert!(items.len() >= 15);
        for key in [
            "id",
            "name",
            "unit",
            "value",
            "target",
            "comparison",
            "met",
            "numerator",
            "denominator",
        ] {
            assert!(items[0].get(key).is_some(), "missing {key}");
        }
        let cov = items
            .iter()
            .find(|i| i["id"] == "urban_service_facility_coverage")
            .unwrap();
        let (n, d) = (
            cov["numerator"].as_f64().unwrap(),
            cov["denominator"].as_f64().unwrap(),
        );
        assert!((cov["value"].as_f64().unwrap() - n / d * 100.0).abs() < 1e-9);
        assert_eq!(
            get("/api/v1/indicators?division=430503".into())
                .await
                .status,
            404
        );
        assert_eq!(
            get("/api/v1/indicators?division=43050".into()).await.status,
            400
        );
        let gaps =
            get("/api/v1/indicators/facility_area_per_100_households/gaps?division=430502".into())
                .await
                .json();
        for g in gaps["items"].as_array().unwrap() {
            assert!(g["shortfall"].as_str().unwrap().starts_with("差 "), "{g}");
        }
        assert_eq!(
            get("/api/v1/indicators/nope/gaps?division=430502".into())
                .await
                .status,
            404
        );
        // A county may set a stricter target, never a looser one.
        let r = shequ_testkit::json(
            &app,
            "PUT",
            "/api/v1/indicators/five_g_villages/target",
            Some(&t),
            serde_json::json!({"division": "430502", "target": 90.0}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let five = r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == "five_g_villages")
            .unwrap()
            .clone();
        assert_eq!(five["target"], 90.0);
        let r = shequ_testkit::json(
            &app,
            "PUT",
            "/api/v1/indicators/five_g_villages/target",
            Some(&t),
            serde_json::json!({"division": "430502001", "target": 85.0}),
        )
        .await;
        assert_eq!(r.status, 422);
        let resident = shequ_testkit::token(&app, "resident").await;
        let r = shequ_testkit::send(
            &app,
            axum::http::Request::get("/api/v1/indicators")
                .header("authorization", format!("Bearer {resident}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 403);
    })
    .await;
}

#[tokio::test]
async fn dashboard_gaps_and_report_pages() {
    on_each_backend(|db| async move {
        shequ_testkit::small_demo_with_people(&db, 10).await;
        shequ_db::demo::facilities::load(&db, 7, now())
            .await
            .unwrap();
        indicators::recompute_all(&db, now()).await.unwrap();
        indicators::snapshot(&db, "2025-05").await.unwrap();
        indicators::snapshot(&db, "2025-06").await.unwrap();
        let (_, app) = shequ_testkit::app(&db).await;
        let mut b = shequ_testkit::Browser::new(&app);
        b.login("city").await;
        let page = b.get("/indicators").await;
        assert_eq!(page.status, 200);
        let html = page.text();
        assert!(
            html.contains("id=\"cards\"")
                && html.contains("<svg class=\"chart bars\"")
                && html.contains("<svg class=\"chart map\"")
        );
        assert!(
            html.contains("class=\"line\""),
            "trend line from two snapshots"
        );
        let drill = b
            .get("/indicators?division=430502&focus=urban_service_facility_coverage")
            .await;
        assert!(drill.text().contains("双清区"));
        let gaps = b
            .get("/indicators/facility_area_per_100_households/gaps?division=430502")
            .await;
        assert_eq!(gaps.status, 200);
        let x = b
            .get("/indicators/facility_area_per_100_households/gaps.xlsx?division=430502")
            .await;
        let t = shequ_reports::Table::read(&x.body, shequ_reports::Format::Xlsx).unwrap();
        assert_eq!(t.headers[5], "差距");
        let report = b.get("/indicators/report.xlsx?division=430502").await;
        assert_eq!(report.status, 200);
        assert!(report.body.len() > 1000);
        let mut r = shequ_testkit::Browser::new(&app);
        r.login("resident").await;
        assert_eq!(r.get("/indicators").await.status, 403);
    })
    .await;
}
