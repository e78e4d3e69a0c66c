//! The demo loads the same data for the same seed, and only into an empty store.

use shequ_db::DbError;
use shequ_db::demo::{self, Scale};
use shequ_db::divisions;
use shequ_testkit::{now, on_each_backend, open};

#[tokio::test]
async fn city_demo_adds_up_and_refuses_a_second_load() {
    on_each_backend(|db| async move {
        let s = demo::load(&db, Scale::City, 2025, now()).await.unwrap();
        assert_eq!((s.population, s.households), (6_563_520, 2_288_847));
        let mut c = db.conn();
        let counties =
            divisions::children(&mut c, &"430500".parse().unwrap(), shequ_db::PageReq::all())
                .await
                .unwrap();
        assert_eq!(counties.total, 12);
        assert_eq!(
            counties.items.iter().map(|d| d.population).sum::<i64>(),
            6_563_520
        );
        let all = divisions::all(&mut c).await.unwrap();
        assert_eq!(all.iter().filter(|d| d.level == "township").count(), 206);
        assert!(matches!(
            demo::load(&db, Scale::City, 2025, now()).await,
            Err(DbError::Conflict(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn same_seed_same_rows_across_backends() {
    let mut dumps = Vec::new();
    for b in shequ_testkit::backends() {
        let t = open(b).await;
        demo::load(&t.db, Scale::Small, 11, now()).await.unwrap();
        let rows: Vec<_> = divisions::all(&mut t.db.conn())
            .await
            .unwrap()
            .into_iter()
            .map(|d| {
                (
                    d.code,
                    d.name,
                    d.population,
                    d.urban_population,
                    d.households,
                    d.urban,
                )
            })
            .collect();
        dumps.push(rows);
        t.cleanup().await;
    }
    assert!(dumps.windows(2).all(|w| w[0] == w[1]));
    assert!(dumps[0].len() > 100);
}
