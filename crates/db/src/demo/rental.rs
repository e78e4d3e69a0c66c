//! Demo data for `rental` (康复辅具租赁): points at the facilities the
//! facilities demo set up as rehab-aid rental sites plus a few more (about 60
//! city-wide, proportionally fewer on a smaller tree, always some in 兴隆街道
//! 430502001 where the demo logins work), 20–60 aids each, and a year of loans
//! and returns: wheelchairs and nursing beds most common, loans of days to
//! months, some overdue now, some items in repair or scrapped. A few points have
//! not lent for over a year, so the indicator counts fewer lending communities
//! than points.
//!
//! Deterministic from the seed (borrower phones are sealed with fresh nonces).
//! Inserted with multi-row statements; no indicator refresh (the caller
//! recomputes afterwards).

use crate::audit::{self, Event};
use crate::rental::{self, BulkItem, BulkLoan, BulkPoint, F_BORROWER_PHONE};
use crate::scope::Actor;
use crate::{Db, DbError, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, Iden, Order, Query};
use shequ_core::crypto::Protector;
use shequ_core::rental::{self as core, CATALOGUE, Condition, FeeRule, ItemState, local_date};
use shequ_core::rng::SeededRng;
use shequ_core::{Phone, Tag};
use std::collections::BTreeSet;

#[derive(Iden, Clone, Copy)]
enum Facilities {
    Table,
    Id,
    DivisionCode,
    Name,
}

#[derive(Iden, Clone, Copy)]
enum FacilityFunctions {
    Table,
    FacilityId,
    FunctionCode,
}

/// Villages/communities of the whole demo city (as the facilities demo counts them).
const CITY_VILLAGES: f64 = 4_700.0;
/// Points city-wide.
const CITY_POINTS: f64 = 60.0;
/// The township of the demo logins.
const HOME_TOWNSHIP: &str = "430502001";
/// Share of points that have not lent in the last year.
const DORMANT_SHARE: f64 = 0.12;

/// What the demo stored.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub points: usize,
    /// Points at facilities hosting the rehab-rental function.
    pub at_rental_facilities: usize,
    /// Points without a loan in the last 12 months.
    pub dormant: usize,
    pub items: usize,
    pub loans: usize,
    /// Loans not returned now, and those past their due date.
    pub open: usize,
    pub overdue: usize,
    /// Communities whose points lent in the last 12 months.
    pub lending_communities: usize,
}

/// Kinds by how often a point holds them (weights), with their asset-tag prefix
/// and loan length in days (shortest, longest).
const MIX: [(&str, u32, &str, i64, i64); 10] = [
    ("wheelchair", 30, "LY", 7, 90),
    ("nursing_bed", 20, "HLC", 30, 180),
    ("walker", 12, "ZXQ", 7, 60),
    ("crutches", 10, "GZ", 7, 45),
    ("commode_chair", 8, "ZBY", 14, 90),
    ("shower_chair", 6, "XZY", 14, 60),
    ("pressure_mattress", 6, "FRC", 30, 120),
    ("oxygen_concentrator", 4, "ZYJ", 14, 120),
    ("electric_wheelchair", 2, "DDLY", 14, 90),
    ("patient_lift", 2, "YWJ", 30, 120),
];

const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗",
];
const GIVEN: [&str; 20] = [
    "桂英", "秀兰", "建国", "德明", "玉珍", "志强", "淑芬", "国华", "春梅", "卫东", "凤英", "家富",
    "素珍", "长生", "桂兰", "明亮", "翠花", "新民", "金凤", "伟",
];

fn pick_kind(rng: &mut SeededRng) -> &'static (&'static str, u32, &'static str, i64, i64) {
    let total: u32 = MIX.iter().map(|m| m.1).sum();
    let mut r = rng.range(0, i64::from(total) - 1) as u32;
    for m in &MIX {
        if r < m.1 {
            return m;
        }
        r -= m.1;
    }
    &MIX[0]
}

struct Candidate {
    id: i64,
    division: String,
    name: String,
    rental: bool,
}

async fn candidates(db: &Db) -> Result<Vec<Candidate>> {
    let q = Query::select()
        .columns([Facilities::Id, Facilities::DivisionCode, Facilities::Name])
        .from(Facilities::Table)
        .order_by(Facilities::Id, Order::Asc)
        .to_owned();
    let rows: Vec<(i64, String, String)> = db.conn().fetch_all(&q).await?;
    let q = Query::select()
        .column(FacilityFunctions::FacilityId)
        .from(FacilityFunctions::Table)
        .and_where(Expr::col(FacilityFunctions::FunctionCode).eq("rehab_rental"))
        .to_owned();
    let rental: BTreeSet<i64> = db
        .conn()
        .fetch_all::<(i64,)>(&q)
        .await?
        .into_iter()
        .map(|(id,)| id)
        .collect();
    let mut seen = BTreeSet::new();
    Ok(rows
        .into_iter()
        // Village/community facilities only, one per community.
        .filter(|(_, d, _)| d.len() == 12)
        .filter(|(_, d, _)| seen.insert(d.clone()))
        .map(|(id, division, name)| Candidate {
            rental: rental.contains(&id),
            id,
            division,
            name,
        })
        .collect())
}

/// Choose the facilities that get a point: every rehab-rental facility, then
/// facilities in the home township, then others at random, up to the quota.
fn choose(rng: &mut SeededRng, all: Vec<Candidate>, villages: usize) -> Vec<Candidate> {
    let scale = (villages as f64 / CITY_VILLAGES).min(1.0);
    let quota = ((CITY_POINTS * scale).round() as usize).max(5);
    let (mut chosen, rest): (Vec<Candidate>, Vec<Candidate>) =
        all.into_iter().partition(|c| c.rental);
    let (home, mut others): (Vec<Candidate>, Vec<Candidate>) = rest
        .into_iter()
        .partition(|c| c.division.starts_with(HOME_TOWNSHIP));
    for c in home.into_iter().take(3) {
        if chosen.len() < quota.max(3) {
            chosen.push(c);
        }
    }
    while chosen.len() < quota && !others.is_empty() {
        let i = rng.range(0, others.len() as i64 - 1) as usize;
        chosen.push(others.swap_remove(i));
    }
    chosen
}

fn phone(rng: &mut SeededRng) -> Option<Phone> {
    let prefix = *rng.pick(&["139", "138", "137", "159", "187", "151", "133", "180"])?;
    Phone::parse(&format!("{prefix}{:08}", rng.range(0, 99_999_999))).ok()
}

/// Generate and insert points, items and loans over the loaded facilities.
pub async fn load(db: &Db, key: &Protector, seed: u64, now: DateTime<Utc>) -> Result<Summary> {
    let mut rng = SeededRng::new(seed).fork("rental");
    let today = local_date(now);
    let villages = crate::divisions::count_by_level(&mut db.conn(), &city_root(db).await?)
        .await?
        .into_iter()
        .filter(|(l, _)| *l == shequ_core::Level::Village)
        .map(|(_, n)| n as usize)
        .sum::<usize>();
    let chosen = choose(&mut rng, candidates(db).await?, villages);
    let mut summary = Summary {
        points: chosen.len(),
        at_rental_facilities: chosen.iter().filter(|c| c.rental).count(),
        ..Summary::default()
    };
    let points: Vec<BulkPoint> = chosen
        .iter()
        .map(|c| BulkPoint {
            facility_id: c.id,
            division_code: c.division.clone(),
            name: format!("{}康复辅具租赁点", c.name.trim_end_matches("综合服务中心")),
            contact_name: format!(
                "{}{}",
                SURNAMES[rng.range(0, 19) as usize],
                GIVEN[rng.range(0, 19) as usize]
            ),
            contact_phone: format!("0739-5{:06}", rng.range(0, 999_999)),
            opening_note: if rng.chance(0.7) {
                "工作日 8:30–12:00，14:30–17:30".into()
            } else {
                "每周一、三、五 9:00–17:00".into()
            },
        })
        .collect();
    let mut tx = db.begin().await?;
    let point_ids = rental::bulk_points(&mut tx.conn(), &points, now).await?;
    tx.commit().await?;

    // Dormant points: never the home township's, so the demo logins see activity.
    let dormant: Vec<bool> = chosen
        .iter()
        .map(|c| !c.division.starts_with(HOME_TOWNSHIP) && rng.chance(DORMANT_SHARE))
        .collect();
    let mut dormant = dormant;
    if !dormant.iter().any(|d| *d)
        && let Some(i) = chosen
            .iter()
            .position(|c| !c.division.starts_with(HOME_TOWNSHIP))
        && let Some(d) = dormant.get_mut(i)
    {
        *d = true;
    }
    summary.dormant = dormant.iter().filter(|d| **d).count();

    let mut items = Vec::new();
    let mut item_mix = Vec::new();
    for ((pid, c), _) in point_ids.iter().zip(&chosen).zip(&dormant) {
        let n = rng.range(20, 60);
        for i in 0..n {
            let m = pick_kind(&mut rng);
            let k = core::aid_kind(m.0).unwrap_or(&CATALOGUE[0]);
            items.push(BulkItem {
                point_id: *pid,
                division_code: c.division.clone(),
                kind: k.code,
                asset_tag: format!("{}-{:03}", m.2, i + 1),
                condition: Condition::Good,
                state: ItemState::InStock,
                daily_fee_fen: k.daily_fee_fen,
                deposit_fen: k.deposit_fen,
            });
            item_mix.push(m);
        }
    }

    // Each item's year: idle spells and loans, simulated up to today.
    let mut loans = Vec::new();
    let start_of_year = today - Duration::days(365);
    for (idx, item) in items.iter_mut().enumerate() {
        let Some(m) = item_mix.get(idx).copied() else {
            continue;
        };
        let point_dormant = point_ids
            .iter()
            .position(|p| *p == item.point_id)
            .and_then(|i| dormant.get(i).copied())
            .unwrap_or(false);
        // Dormant points lent between 14 and 24 months ago only.
        let (mut t, until) = if point_dormant {
            (
                today - Duration::days(rng.range(600, 730)),
                today - Duration::days(400),
            )
        } else {
            (start_of_year - Duration::days(rng.range(0, 60)), today)
        };
        loop {
            t += Duration::days(rng.range(2, 45));
            if t > until {
                break;
            }
            let length = rng.range(m.3, m.4);
            let due = t + Duration::days(length);
            // Most come back around the due date; one in ten is weeks late.
            let late = if rng.chance(0.1) {
                rng.range(15, 60)
            } else {
                rng.range(-length / 3, 12)
            };
            let back = due + Duration::days(late);
            let back = std::cmp::max(back, t);
            let name = format!(
                "{}{}",
                SURNAMES[rng.range(0, 19) as usize],
                GIVEN[rng.range(0, 19) as usize]
            );
            let ph = phone(&mut rng);
            let (enc, index, masked) = match &ph {
                Some(p) => {
                    let mut nonce = [0u8; 12];
                    getrandom::fill(&mut nonce)
                        .map_err(|e| DbError::Conflict(format!("随机数不可用：{e}")))?;
                    (
                        Some(key.seal(F_BORROWER_PHONE, p.as_str().as_bytes(), nonce)),
                        Some(rental::phone_index(key, p)),
                        Some(p.masked()),
                    )
                }
                None => (None, None, None),
            };
            let returned = if back <= today {
                let condition = if rng.chance(0.02) {
                    Condition::Scrapped
                } else if rng.chance(0.07) {
                    Condition::NeedsRepair
                } else {
                    Condition::Good
                };
                let fee = core::fee_fen(FeeRule::Standard, item.daily_fee_fen, t, back);
                let kept = if condition != Condition::Good && rng.chance(0.4) {
                    item.deposit_fen / 5
                } else {
                    0
                };
                let s = core::settle(item.deposit_fen, fee, kept, "部件损坏")
                    .map_err(|e| DbError::Conflict(e.to_string()))?;
                Some((back, condition, s))
            } else {
                None
            };
            loans.push(BulkLoan {
                item_id: 0,
                point_id: item.point_id,
                division_code: item.division_code.clone(),
                person_id: None,
                borrower_name: name,
                phone_enc: enc,
                phone_index: index,
                phone_masked: masked,
                start_date: t,
                due_date: due,
                fee_rule: FeeRule::Standard,
                daily_fee_fen: item.daily_fee_fen,
                deposit_fen: item.deposit_fen,
                returned,
                created_at: start_at(t),
            });
            // Remember which item (by index) the loan belongs to.
            if let Some(l) = loans.last_mut() {
                l.item_id = idx as i64;
            }
            match returned {
                None => {
                    item.state = ItemState::OnLoan;
                    break;
                }
                Some((_, Condition::Scrapped, _)) => {
                    item.state = ItemState::Scrapped;
                    item.condition = Condition::Scrapped;
                    break;
                }
                Some((d, Condition::NeedsRepair, _)) => {
                    let fixed = d + Duration::days(rng.range(5, 30));
                    if fixed > today {
                        item.state = ItemState::Repair;
                        item.condition = Condition::NeedsRepair;
                        break;
                    }
                    t = fixed;
                }
                Some((d, Condition::Good, _)) => t = d,
            }
        }
    }

    let mut tx = db.begin().await?;
    let item_ids = rental::bulk_items(&mut tx.conn(), &items, now).await?;
    for l in &mut loans {
        l.item_id = item_ids
            .get(usize::try_from(l.item_id).unwrap_or(usize::MAX))
            .copied()
            .unwrap_or(0);
    }
    loans.retain(|l| l.item_id > 0);
    rental::bulk_loans(&mut tx.conn(), &loans).await?;
    summary.items = items.len();
    summary.loans = loans.len();
    summary.open = loans.iter().filter(|l| l.returned.is_none()).count();
    summary.overdue = loans
        .iter()
        .filter(|l| core::is_overdue(l.due_date, l.returned.map(|r| r.0), today))
        .count();
    let (from, to) = rental::window(now);
    summary.lending_communities = rental::lending_villages(&mut tx.conn(), from, to)
        .await?
        .len();
    waive_for_registered(&mut tx.conn(), key, &mut rng).await?;
    let detail = serde_json::json!({
        "points": summary.points, "items": summary.items, "loans": summary.loans,
        "dormant": summary.dormant, "seed": seed,
    });
    let ev = Event::new("demo_rental_load", "rental_point", "").detail(detail);
    audit::append(&mut tx.conn(), &Actor::system(), ev, now).await?;
    tx.commit().await?;
    Ok(summary)
}

/// 08:00 Beijing time on `d` (00:00 UTC).
fn start_at(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_default()
}

async fn city_root(db: &Db) -> Result<shequ_core::DivisionCode> {
    let roots = crate::divisions::roots(&mut db.conn()).await?;
    roots
        .first()
        .and_then(|r| shequ_core::DivisionCode::parse(&r.code).ok())
        .ok_or_else(|| DbError::Conflict("没有区划数据，请先载入区划".into()))
}

/// When demo residents are loaded, a few open loans in each point's community
/// go to a registered resident tagged 低保 or 特困 (rent waived), so "who has
/// what" per resident has something to show. Without residents, nothing happens.
async fn waive_for_registered(
    c: &mut crate::Conn<'_>,
    key: &Protector,
    rng: &mut SeededRng,
) -> Result<()> {
    #[derive(Iden, Clone, Copy)]
    enum PersonTags {
        Table,
        PersonId,
        TagIndex,
        DivisionCode,
    }
    #[derive(Iden, Clone, Copy)]
    enum RentalLoans {
        Table,
        Id,
        DivisionCode,
        ReturnedOn,
        PersonId,
        BorrowerName,
        BorrowerPhoneEnc,
        BorrowerPhoneIndex,
        BorrowerPhoneMasked,
        FeeRule,
    }
    #[derive(Iden, Clone, Copy)]
    enum People {
        Table,
        Id,
        Name,
        PhoneMasked,
    }
    let tags = [
        crate::people::tag_index(key, Tag::Dibao),
        crate::people::tag_index(key, Tag::Tekun),
    ];
    let q = Query::select()
        .columns([PersonTags::PersonId])
        .column(PersonTags::DivisionCode)
        .from(PersonTags::Table)
        .and_where(Expr::col(PersonTags::TagIndex).is_in(tags))
        .order_by(PersonTags::PersonId, Order::Asc)
        .limit(5_000)
        .to_owned();
    let people: Vec<(i64, String)> = c.fetch_all(&q).await?;
    if people.is_empty() {
        return Ok(());
    }
    let q = Query::select()
        .columns([RentalLoans::Id, RentalLoans::DivisionCode])
        .from(RentalLoans::Table)
        .and_where(Expr::col(RentalLoans::ReturnedOn).is_null())
        .order_by(RentalLoans::Id, Order::Asc)
        .to_owned();
    let open: Vec<(i64, String)> = c.fetch_all(&q).await?;
    let mut used = BTreeSet::new();
    for (loan, division) in open {
        if !rng.chance(0.3) {
            continue;
        }
        let Some((pid, _)) = people
            .iter()
            .find(|(p, d)| d.starts_with(&division) && !used.contains(p))
        else {
            continue;
        };
        used.insert(*pid);
        let q = Query::select()
            .columns([People::Name, People::PhoneMasked])
            .from(People::Table)
            .and_where(Expr::col(People::Id).eq(*pid))
            .to_owned();
        let Some((name, masked)) = c.fetch_optional::<(String, Option<String>)>(&q).await? else {
            continue;
        };
        let upd = Query::update()
            .table(RentalLoans::Table)
            .values([
                (RentalLoans::PersonId, (*pid).into()),
                (RentalLoans::BorrowerName, name.into()),
                (
                    RentalLoans::BorrowerPhoneEnc,
                    Option::<Vec<u8>>::None.into(),
                ),
                (
                    RentalLoans::BorrowerPhoneIndex,
                    Option::<String>::None.into(),
                ),
                (RentalLoans::BorrowerPhoneMasked, masked.into()),
                (RentalLoans::FeeRule, FeeRule::Waived.as_str().into()),
            ])
            .and_where(Expr::col(RentalLoans::Id).eq(loan))
            .to_owned();
        c.execute(&upd).await?;
    }
    Ok(())
}
