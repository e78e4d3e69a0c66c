//! Property: for random trees, users and residents, no scoped store function
//! returns or changes a record outside the caller's subtree — and none misses
//! one inside it.

use chrono::NaiveDate;
use proptest::prelude::*;
use shequ_core::rng::SeededRng;
use shequ_core::{DivisionCode, IdCardNo, Relation, Role};
use shequ_db::divisions::{NewDivision, insert};
use shequ_db::people::{self, Filter, PersonInput, Protected};
use shequ_db::scope::{Actor, Scope};
use shequ_db::{Db, DbError, PageReq};
use shequ_testkit::{TestDb, key, now};

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).unwrap()
}

/// A random tree under 430500: returns every node's code.
async fn random_tree(db: &Db, rng: &mut SeededRng) -> Vec<DivisionCode> {
    let mut nodes = vec![code("430500")];
    for county in ["430502", "430503", "430511"]
        .iter()
        .take(rng.range(1, 3) as usize)
    {
        nodes.push(code(county));
        for t in 1..=rng.range(1, 2) {
            let tc = code(&format!("{county}{t:03}"));
            nodes.push(tc.clone());
            for v in 1..=rng.range(1, 2) {
                let vc = code(&format!(
                    "{tc}{:03}",
                    if rng.chance(0.5) { v } else { 200 + v }
                ));
                nodes.push(vc.clone());
                for g in 1..=rng.range(0, 2) {
                    nodes.push(vc.grid(g as u16).unwrap());
                }
            }
        }
    }
    for n in &nodes {
        let d = NewDivision {
            code: n.clone(),
            name: format!("节点{n}"),
            urban: false,
            urban_rural_class: None,
            figures: Default::default(),
            centroid: None,
            polygon: None,
        };
        insert(&mut db.conn(), &d, now()).await.unwrap();
    }
    nodes
}

fn system() -> Scope {
    Scope::new(code("430500"), Role::CityStaff, Actor::system())
}

async fn random_people(
    db: &Db,
    rng: &mut SeededRng,
    nodes: &[DivisionCode],
) -> Vec<(i64, DivisionCode)> {
    let homes: Vec<&DivisionCode> = nodes.iter().filter(|c| c.as_str().len() >= 12).collect();
    let mut out = Vec::new();
    for i in 0..rng.range(3, 14) {
        let home = (*rng.pick(&homes).unwrap()).clone();
        let birth = NaiveDate::from_ymd_opt(1940 + i as i32, 1, 1 + i as u32).unwrap();
        let p = PersonInput {
            division: home.clone(),
            household_id: None,
            relation: Relation::Head,
            name: format!("居民{i}"),
            id_number: IdCardNo::from_parts("430502", birth, 1 + i as u16).unwrap(),
            phone: None,
            address: String::new(),
            tags: if rng.chance(0.5) {
                vec![shequ_core::Tag::Dibao]
            } else {
                vec![shequ_core::Tag::EmptyNest]
            },
        };
        let id = people::create(&mut db.conn(), &system(), &key(), &p, now())
            .await
            .unwrap();
        out.push((id, home));
    }
    out
}

async fn check_user(
    db: &Db,
    user: &Scope,
    nodes: &[DivisionCode],
    records: &[(i64, DivisionCode)],
) {
    let k = key();
    let inside: Vec<i64> = records
        .iter()
        .filter(|(_, d)| d.is_within(&user.root))
        .map(|(id, _)| *id)
        .collect();
    // Lists: sound and complete, with and without filters.
    let all = people::list(&mut db.conn(), user, &k, &Filter::default(), PageReq::all())
        .await
        .unwrap();
    let mut got: Vec<i64> = all.items.iter().map(|p| p.id).collect();
    got.sort_unstable();
    assert_eq!(got, inside, "list under {}", user.root);
    assert_eq!(all.total as usize, inside.len());
    for node in nodes {
        let f = Filter {
            division: Some(node.clone()),
            tag: Some(shequ_core::Tag::Dibao),
            ..Default::default()
        };
        for p in people::list(&mut db.conn(), user, &k, &f, PageReq::all())
            .await
            .unwrap()
            .items
        {
            let d = code(&p.division_code);
            assert!(
                d.is_within(&user.root) && d.is_within(node),
                "{} leaked to {}",
                p.division_code,
                user.root
            );
        }
    }
    for (id, home) in records {
        let visible = home.is_within(&user.root);
        assert_eq!(
            people::get(&mut db.conn(), user, *id)
                .await
                .unwrap()
                .is_some(),
            visible
        );
        if visible {
            continue;
        }
        let revealed =
            people::reveal(&mut db.conn(), user, &k, *id, Protected::IdNumber, now()).await;
        assert!(matches!(revealed, Err(DbError::NotFound)));
        let moved =
            people::move_household(&mut db.conn(), user, *id, None, Relation::Other, now()).await;
        assert!(matches!(moved, Err(DbError::NotFound)));
        let before = people::get(&mut db.conn(), &system(), *id)
            .await
            .unwrap()
            .unwrap();
        let edit = PersonInput {
            division: user.root.clone(),
            household_id: None,
            relation: Relation::Other,
            name: "改名".into(),
            id_number: IdCardNo::from_parts(
                "430502",
                NaiveDate::from_ymd_opt(1999, 9, 9).unwrap(),
                5,
            )
            .unwrap(),
            phone: None,
            address: String::new(),
            tags: vec![],
        };
        assert!(
            people::update(&mut db.conn(), user, &k, *id, &edit, now())
                .await
                .is_err()
        );
        assert_eq!(
            people::get(&mut db.conn(), &system(), *id)
                .await
                .unwrap()
                .unwrap(),
            before
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10))]
    #[test]
    fn scoped_functions_never_cross_the_subtree(seed in any::<u64>()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let t = TestDb::sqlite().await;
            let mut rng = SeededRng::new(seed);
            let nodes = random_tree(&t.db, &mut rng).await;
            let records = random_people(&t.db, &mut rng, &nodes).await;
            for _ in 0..4 {
                let root = (*rng.pick(&nodes).unwrap()).clone();
                let user = Scope::new(root, Role::CommunityStaff, Actor { user_id: Some(1), name: "u".into(), role: "community_staff".into() });
                check_user(&t.db, &user, &nodes, &records).await;
            }
            t.cleanup().await;
        });
    }
}
