//! Work orders in the store: intake (idempotent, validated), the lifecycle with its
//! events and deadlines, refusals that change nothing, scope.

use shequ_core::workorders::{Action, Calendar, State};
use shequ_core::{DivisionCode, Phone, Role};
use shequ_db::DbError;
use shequ_db::scope::{Actor, Scope};
use shequ_db::workorders::{self, NewOrder};
use shequ_testkit::{key, now, on_each_backend, small_demo};

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).unwrap()
}

fn order(key: Option<&str>) -> NewOrder {
    NewOrder {
        category: "facilities.streetlight".into(),
        description: "小区门口路灯不亮已经三天".into(),
        location: None,
        address: "宝庆路1号".into(),
        division: code("430502001001001"),
        channel: "portal".into(),
        urgent: false,
        reporter_name: "王女士".into(),
        reporter_phone: Some(Phone::parse("13807390000").unwrap()),
        reporter_user_id: None,
        idempotency_key: key.map(str::to_owned),
        attributes: Default::default(),
    }
}

fn staff(root: &str) -> Scope {
    Scope::new(
        code(root),
        Role::CommunityStaff,
        Actor {
            user_id: Some(1),
            name: "community".into(),
            role: "community_staff".into(),
        },
    )
}

#[tokio::test]
async fn the_whole_lifecycle_with_events_and_deadlines() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let cal = Calendar::china_2025();
        let mut c = db.conn();
        let (id, created) =
            workorders::create(&mut c, &key(), &order(None), &Actor::anonymous(), now())
                .await
                .unwrap();
        assert!(created);
        let s = staff("430502001001");
        let o = workorders::get(&mut c, &s, id).await.unwrap().unwrap();
        assert_eq!(
            (o.state(), o.reporter_phone_masked.as_deref()),
            (Some(State::Accepted), Some("138****0000"))
        );
        assert_eq!(
            workorders::by_tracking_code(&mut c, &o.tracking_code.to_lowercase())
                .await
                .unwrap()
                .unwrap()
                .id,
            id
        );
        let steps = [
            Action::Dispatch {
                unit: "430502001001".into(),
            },
            Action::Sign,
            Action::Start,
            Action::Reply {
                text: "已联系供电所更换灯泡".into(),
            },
            Action::Close {
                summary: "路灯已修复".into(),
            },
            Action::Visit {
                note: "电话回访，居民确认".into(),
                solved: Some(false),
            },
            Action::Rate {
                level: 4,
                solved: None,
            },
        ];
        for a in &steps {
            workorders::transition(&mut c, &s, &cal, id, a, now())
                .await
                .unwrap();
        }
        let o = workorders::get(&mut c, &s, id).await.unwrap().unwrap();
        assert_eq!(o.state(), Some(State::Rated));
        // 2025-06-30 is a Monday: sign within 4 working hours, reply in 2 and resolve in 5 working days.
        assert!(o.sign_by.unwrap() > now() && o.reply_by.unwrap() < o.resolve_by.unwrap());
        assert_eq!(
            (o.resolve_by.unwrap() + chrono::Duration::hours(8)).date_naive(),
            chrono::NaiveDate::from_ymd_opt(2025, 7, 7).unwrap()
        );
        let t = workorders::timeline(&mut c, id).await.unwrap();
        let actions: Vec<&str> = t.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            vec![
                "accept", "dispatch", "sign", "start", "reply", "close", "visit", "rate"
            ]
        );
        // 重办 after a 差评 sends it back to the unit.
        workorders::transition(
            &mut c,
            &s,
            &cal,
            id,
            &Action::Reopen {
                reason: "问题未解决".into(),
            },
            now(),
        )
        .await
        .unwrap();
        assert_eq!(
            workorders::get(&mut c, &s, id)
                .await
                .unwrap()
                .unwrap()
                .state(),
            Some(State::Dispatched)
        );
    })
    .await;
}

#[tokio::test]
async fn refusals_change_nothing() {
    on_each_backend(|db| async move {
        small_demo(&db).await;
        let cal = Calendar::china_2025();
        let mut c = db.conn();
        let (id, _) = workorders::create(
            &mut c,
            &key(),
            &order(Some("k-1")),
            &Actor::anonymous(),
            now(),
        )
        .await
        .unwrap();
        // A replayed submission returns the first order.
        assert_eq!(
            workorders::create(
                &mut c,
                &key(),
                &order(Some("k-1")),
                &Actor::anonymous(),
                now()
            )
            .await
            .unwrap(),
            (id, false)
        );
        let s = staff("430502001001");
        let illegal = workorders::transition(
            &mut c,
            &s,
            &cal,
            id,
            &Action::Close {
                summary: "x".into(),
            },
            now(),
        )
        .await;
        assert!(matches!(illegal, Err(DbError::Invalid(e)) if e.0[0].code == "illegal_transition"));
        let other = staff("430502001002");
        assert!(matches!(
            workorders::transition(
                &mut c,
                &other,
                &cal,
                id,
                &Action::Dispatch { unit: "x".into() },
                now()
            )
            .await,
            Err(DbError::NotFound)
        ));
        assert!(workorders::get(&mut c, &other, id).await.unwrap().is_none());
        assert_eq!(workorders::timeline(&mut c, id).await.unwrap().len(), 1);
        for bad in [
            NewOrder {
                description: " ".into(),
                ..order(None)
            },
            NewOrder {
                description: "<script>alert(1)</script>".into(),
                ..order(None)
            },
            NewOrder {
                description: "长".repeat(2001),
                ..order(None)
            },
            NewOrder {
                category: "nope".into(),
                ..order(None)
            },
            NewOrder {
                channel: "fax".into(),
                ..order(None)
            },
            NewOrder {
                division: code("430502001"),
                ..order(None)
            },
        ] {
            assert!(matches!(
                workorders::create(&mut c, &key(), &bad, &Actor::anonymous(), now()).await,
                Err(DbError::Invalid(_))
            ));
        }
        let merge_self =
            workorders::transition(&mut c, &s, &cal, id, &Action::Merge { into: id }, now()).await;
        assert!(matches!(merge_self, Err(DbError::Invalid(_))));
        assert_eq!(
            workorders::get(&mut c, &s, id)
                .await
                .unwrap()
                .unwrap()
                .state(),
            Some(State::Accepted)
        );
        assert!(workorders::categories(&mut c).await.unwrap().len() >= 20);
    })
    .await;
}
