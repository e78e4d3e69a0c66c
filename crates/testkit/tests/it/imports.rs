//! Importing division figures: good rows land, bad rows are reported, nothing half-written.

use shequ_reports::xlsx::{self, Cell};
use shequ_testkit::{api_key, app, get, on_each_backend, small_demo, with_body};

const URI: &str = "/api/v1/imports/division-figures";

#[tokio::test]
async fn csv_rows_land_or_are_reported() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let key = api_key(&db, "430502001").await;
        let name = get(&app, "/api/v1/divisions/430502001002").await.json()["name"]
            .as_str()
            .unwrap()
            .to_owned();
        let csv = format!(
            "区划代码,名称,常住人口,城镇人口,户数\n\
             430502001001,,4000,3900,1500\n\
             430502001002,{name},2100,2000,800\n\
             430502001003,错误名称,1,1,1\n\
             430502002001,,10,10,5\n\
             430502001099,,10,10,5\n\
             43050200100X,,1,1,1\n\
             430502001004,,-3,0,0\n"
        );
        let r = with_body(&app, "POST", URI, "text/csv", Some(&key), csv).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(
            (v["rows"].as_i64(), v["imported"].as_i64()),
            (Some(7), Some(2))
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
                (4, "name_mismatch".into()),
                (5, "out_of_scope".into()),
                (6, "unknown_division".into()),
                (7, "code_not_digits".into()),
                (8, "invalid_figures".into()),
            ]
        );
        assert_eq!(
            get(&app, "/api/v1/divisions/430502001001").await.json()["population"],
            4000
        );
        assert_eq!(
            get(&app, "/api/v1/divisions/430502001002").await.json()["households"],
            800
        );
        assert_ne!(
            get(&app, "/api/v1/divisions/430502001004").await.json()["population"],
            -3
        );
    })
    .await;
}

#[tokio::test]
async fn xlsx_upload_and_whole_file_errors() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let (_, app) = app(&db).await;
        let key = api_key(&db, "430500").await;
        let book = xlsx::sheet(
            "区划人口",
            &["区划代码", "常住人口", "户数"],
            &[vec![
                Cell::Text("430502001001".into()),
                Cell::Int(5555),
                Cell::Int(2000),
            ]],
        )
        .unwrap();
        let xlsx_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        let r = with_body(&app, "POST", URI, xlsx_type, Some(&key), book).await;
        assert_eq!(r.json()["imported"], 1, "{}", r.text());
        assert_eq!(
            get(&app, "/api/v1/divisions/430502001001").await.json()["population"],
            5555
        );

        let cases: [(&str, &[u8], u16, &str); 5] = [
            ("text/csv", b"\xff\xfe\x00bad", 400, "import_not_utf8"),
            ("text/csv", b"", 400, "import_empty"),
            (
                "text/csv",
                "区划代码,常住人口\n430502001001,1\n".as_bytes(),
                400,
                "import_missing_column",
            ),
            (xlsx_type, b"PK-not-really", 400, "import_bad_xlsx"),
            ("image/png", b"\x89PNG", 415, "unsupported_media_type"),
        ];
        for (ctype, body, status, code) in cases {
            let r = with_body(&app, "POST", URI, ctype, Some(&key), body.to_vec()).await;
            assert_eq!(
                (r.status.as_u16(), r.error_code()),
                (status, code.to_owned()),
                "{code}"
            );
        }
        let r = with_body(&app, "POST", URI, "text/csv", None, "x").await;
        assert_eq!(r.status, 401);
    })
    .await;
}

#[tokio::test]
async fn imported_households_move_the_indicators() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        shequ_db::demo::facilities::load(&db, 7, shequ_testkit::now())
            .await
            .unwrap();
        shequ_db::indicators::recompute_all(&db, shequ_testkit::now())
            .await
            .unwrap();
        let key_ = "facility_area_per_100_households".to_owned();
        let read = |code: &'static str| {
            let db = db.clone();
            let key_ = key_.clone();
            async move {
                shequ_db::indicators::values_for(&mut db.conn(), &[code.to_owned()])
                    .await
                    .unwrap()
                    .get(&(key_, code.to_owned()))
                    .copied()
                    .unwrap()
            }
        };
        let (_, before) = read("430500").await;
        let (_, app) = app(&db).await;
        let key = api_key(&db, "430500").await;
        let csv = "区划代码,常住人口,户数\n430502001001,5000,2000\n";
        let r = with_body(&app, "POST", URI, "text/csv", Some(&key), csv).await;
        assert_eq!(r.json()["imported"], 1, "{}", r.text());
        let (_, v) = read("430502001001").await;
        assert_eq!(
            v, 2000,
            "the community's denominator is its new household count"
        );
        let (_, after) = read("430500").await;
        assert_ne!(after, before, "the city's total follows");
    })
    .await;
}
