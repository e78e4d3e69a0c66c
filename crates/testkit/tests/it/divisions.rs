//! The division store functions, on each backend.

use shequ_core::figures::Figures;
use shequ_core::{DivisionCode, Level};
use shequ_db::divisions::{self, GridUpdate, NewDivision};
use shequ_db::{DbError, PageReq};
use shequ_testkit::{now, on_each_backend, small_demo};

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).unwrap()
}

#[tokio::test]
async fn browse_read_and_search() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let mut c = db.conn();
        let roots = divisions::roots(&mut c).await.unwrap();
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0].code, "430500");

        let county = divisions::get(&mut c, &code("430502"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(county.name, "双清区");
        assert_eq!(county.level(), Level::County);
        assert_eq!(county.population, 322_800);
        assert!(
            divisions::get(&mut c, &code("430503"))
                .await
                .unwrap()
                .is_none()
        );

        let page = divisions::children(&mut c, &code("430502"), PageReq::new(Some(1), Some(5)))
            .await
            .unwrap();
        assert_eq!(page.total, 12);
        assert_eq!(page.items.len(), 5);
        assert_eq!(page.items[0].code, "430502001");
        let page3 = divisions::children(&mut c, &code("430502"), PageReq::new(Some(3), Some(5)))
            .await
            .unwrap();
        assert_eq!(page3.items.len(), 2);

        let lineage = divisions::lineage(&mut c, &code("430502001001"))
            .await
            .unwrap();
        let names: Vec<_> = lineage.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(names, vec!["430500", "430502", "430502001", "430502001001"]);

        let hits = divisions::search(&mut c, "兴隆", 10).await.unwrap();
        assert_eq!(hits[0].name, "兴隆街道");
        let by_code = divisions::search(&mut c, "43050200100", 100).await.unwrap();
        assert!(by_code.iter().all(|d| d.code.starts_with("43050200100")));
        assert!(!by_code.is_empty());
        // LIKE metacharacters are matched literally.
        assert!(divisions::search(&mut c, "%", 10).await.unwrap().is_empty());
        assert!(divisions::search(&mut c, "_", 10).await.unwrap().is_empty());
        assert!(
            divisions::search(&mut c, "  ", 10)
                .await
                .unwrap()
                .is_empty()
        );

        let counts = divisions::count_by_level(&mut c, &code("430502"))
            .await
            .unwrap();
        let n = |l| counts.iter().find(|(x, _)| *x == l).map_or(0, |(_, n)| *n);
        assert_eq!(n(Level::County), 1);
        assert_eq!(n(Level::Township), 12);
        assert!(n(Level::Village) > 50);
        assert_eq!(
            divisions::all(&mut c).await.unwrap().len() as i64,
            counts.iter().map(|(_, n)| n).sum::<i64>() + 1
        );
    })
    .await;
}

#[tokio::test]
async fn insert_checks_parent_and_fields() {
    on_each_backend(|db| async move {
        let mut c = db.conn();
        let city = NewDivision {
            code: code("430500"),
            name: "邵阳市".into(),
            urban: true,
            urban_rural_class: None,
            figures: Figures { population: 100, urban_population: 50, households: 40 },
            centroid: None,
            polygon: None,
        };
        divisions::insert(&mut c, &city, now()).await.unwrap();
        // Unknown parent.
        let orphan = NewDivision { code: code("430502001"), name: "兴隆街道".into(), ..city.clone() };
        assert!(matches!(divisions::insert(&mut c, &orphan, now()).await, Err(DbError::Invalid(e)) if e.0[0].code == "unknown_parent"));
        // Duplicate code.
        assert!(matches!(divisions::insert(&mut c, &city, now()).await, Err(DbError::Conflict(_))));
        // Bad figures and names are refused before the store sees them.
        let county = NewDivision { code: code("430502"), name: "<b>".into(), figures: Figures { population: -5, urban_population: 0, households: 0 }, ..city.clone() };
        let Err(DbError::Invalid(e)) = divisions::insert(&mut c, &county, now()).await else { panic!() };
        let fields: Vec<_> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert!(fields.contains(&"population") && fields.contains(&"name"));
        assert_eq!(divisions::all(&mut c).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn grid_lifecycle() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let mut c = db.conn();
        let village = code("430502001001");
        let before = divisions::children(&mut c, &village, PageReq::all())
            .await
            .unwrap()
            .total;
        let g = GridUpdate {
            name: "第九十网格".into(),
            figures: Figures {
                population: 300,
                urban_population: 300,
                households: 100,
            },
            centroid: None,
            polygon: None,
        };
        divisions::create_grid(&mut c, &village, 90, &g, now())
            .await
            .unwrap();
        let grid = code("430502001001090");
        let stored = divisions::get(&mut c, &grid).await.unwrap().unwrap();
        assert_eq!(
            (stored.name.as_str(), stored.population, stored.level()),
            ("第九十网格", 300, Level::Grid)
        );
        assert_eq!(stored.parent_code.as_deref(), Some("430502001001"));
        assert!(matches!(
            divisions::create_grid(&mut c, &village, 90, &g, now()).await,
            Err(DbError::Conflict(_))
        ));
        assert!(matches!(
            divisions::create_grid(&mut c, &code("430502001"), 1, &g, now()).await,
            Err(DbError::Invalid(_))
        ));
        assert!(matches!(
            divisions::create_grid(&mut c, &village, 0, &g, now()).await,
            Err(DbError::Invalid(_))
        ));

        let g2 = GridUpdate {
            name: "滨河网格".into(),
            ..g.clone()
        };
        divisions::update_grid(&mut c, &grid, &g2, now())
            .await
            .unwrap();
        assert_eq!(
            divisions::get(&mut c, &grid).await.unwrap().unwrap().name,
            "滨河网格"
        );
        let bad = GridUpdate {
            figures: Figures {
                population: 10,
                urban_population: 0,
                households: 20,
            },
            ..g.clone()
        };
        assert!(matches!(
            divisions::update_grid(&mut c, &grid, &bad, now()).await,
            Err(DbError::Invalid(_))
        ));
        assert!(matches!(
            divisions::update_grid(&mut c, &village, &g2, now()).await,
            Err(DbError::Invalid(_))
        ));
        assert!(matches!(
            divisions::update_grid(&mut c, &code("430502001001091"), &g2, now()).await,
            Err(DbError::NotFound)
        ));

        divisions::delete_grid(&mut c, &grid).await.unwrap();
        assert!(matches!(
            divisions::delete_grid(&mut c, &grid).await,
            Err(DbError::NotFound)
        ));
        assert_eq!(
            divisions::children(&mut c, &village, PageReq::all())
                .await
                .unwrap()
                .total,
            before
        );
    })
    .await;
}

#[tokio::test]
async fn figures_update_and_version() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let mut c = db.conn();
        let v0 = divisions::version(&mut c).await.unwrap();
        let later = now() + chrono::Duration::hours(1);
        let f = Figures {
            population: 5000,
            urban_population: 4000,
            households: 1800,
        };
        divisions::update_figures(&mut c, &code("430502001001"), f, later)
            .await
            .unwrap();
        assert_eq!(
            divisions::get(&mut c, &code("430502001001"))
                .await
                .unwrap()
                .unwrap()
                .figures(),
            f
        );
        assert_ne!(divisions::version(&mut c).await.unwrap(), v0);
        let absurd = Figures {
            population: 900_000,
            urban_population: 0,
            households: 1,
        };
        assert!(matches!(
            divisions::update_figures(&mut c, &code("430502001001"), absurd, later).await,
            Err(DbError::Invalid(_))
        ));
        assert!(matches!(
            divisions::update_figures(&mut c, &code("430502001099"), f, later).await,
            Err(DbError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn api_keys_authenticate_until_revoked() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let mut c = db.conn();
        let id = shequ_db::api_keys::create(&mut c, "接口", "secret-1", &code("430502001"), now())
            .await
            .unwrap();
        let k = shequ_db::api_keys::find(&mut c, "secret-1", now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((k.id, k.division_code.as_str()), (id, "430502001"));
        assert!(
            shequ_db::api_keys::find(&mut c, "secret-2", now())
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            shequ_db::api_keys::create(&mut c, "x", "k", &code("430503"), now())
                .await
                .is_err()
        );
        let next_year = now() + chrono::Duration::days(366);
        assert!(
            shequ_db::api_keys::find(&mut c, "secret-1", next_year)
                .await
                .unwrap()
                .is_none(),
            "keys expire"
        );
        shequ_db::api_keys::revoke(&mut c, id, now()).await.unwrap();
        assert!(
            shequ_db::api_keys::find(&mut c, "secret-1", now())
                .await
                .unwrap()
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn sqlite_online_backup_is_a_working_copy() {
    let t = shequ_testkit::TestDb::sqlite().await;
    small_demo(&t.db).await;
    let copy = std::env::temp_dir().join(format!("shequ-backup-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&copy);
    t.db.backup_sqlite(copy.to_str().unwrap()).await.unwrap();
    let db2 = shequ_db::Db::connect(&format!("sqlite://{}", copy.display()))
        .await
        .unwrap();
    let a = divisions::all(&mut t.db.conn()).await.unwrap();
    let b = divisions::all(&mut db2.conn()).await.unwrap();
    assert_eq!(a, b);
    db2.close().await;
    let _ = std::fs::remove_file(&copy);
    t.cleanup().await;
}
