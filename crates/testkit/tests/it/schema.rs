//! Both migration directories produce the same tables, columns and indexes.

use shequ_testkit::{PG_ENV, TestDb};

#[tokio::test]
async fn sqlite_and_postgres_schemas_match() {
    let Ok(url) = std::env::var(PG_ENV) else {
        eprintln!("schema parity needs {PG_ENV}; comparing SQLite with itself only");
        let s = TestDb::sqlite().await;
        let shape = shequ_db::schema::shape(&s.db).await.unwrap();
        assert!(shape.columns.contains("divisions.code"));
        assert!(shape.indexes.contains("divisions.divisions_parent_code"));
        s.cleanup().await;
        return;
    };
    let lite = TestDb::sqlite().await;
    let pg = TestDb::postgres(&url).await;
    let a = shequ_db::schema::shape(&lite.db).await.unwrap();
    let b = shequ_db::schema::shape(&pg.db).await.unwrap();
    assert!(a.columns.len() > 10);
    assert_eq!(a.columns, b.columns, "columns differ");
    assert_eq!(a.indexes, b.indexes, "indexes differ");
    lite.cleanup().await;
    pg.cleanup().await;
}
