//! Demo residents: households in every village/community, ages, ID numbers,
//! phones and special-population tags at realistic frequencies.

use super::apportion::apportion;
use crate::divisions::Division;
use crate::people::{self, PersonInput};
use crate::{Db, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use shequ_core::crypto::Protector;
use shequ_core::rng::SeededRng;
use shequ_core::{DivisionCode, Gender, IdCardNo, Phone, Relation, Tag};
use std::collections::HashMap;

const SURNAMES: [&str; 40] = [
    "李", "王", "刘", "陈", "张", "杨", "周", "曾", "罗", "谢", "邓", "彭", "唐", "肖", "蒋", "胡",
    "黄", "赵", "吴", "邹", "段", "石", "伍", "贺", "尹", "龙", "易", "向", "雷", "钟", "姚", "颜",
    "戴", "刘", "申", "曹", "邵", "夏", "袁", "廖",
];
const GIVEN: [&str; 48] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "建", "国", "红", "文", "辉", "玲", "志", "春",
    "梅", "兰", "云", "海", "德", "成", "贵", "福", "林", "清", "宇", "欣", "怡", "浩", "婷", "鑫",
];
const ROADS: [&str; 12] = [
    "宝庆路",
    "红旗路",
    "敏州路",
    "建设路",
    "东大路",
    "西湖路",
    "双拥路",
    "雪峰路",
    "资江路",
    "城南路",
    "邵州路",
    "桃花路",
];

/// The census day ages are counted from.
fn census_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default()
}

/// A household planned but not yet stored.
struct PlannedHousehold {
    village: usize,
    grid: DivisionCode,
    address: String,
    size: i64,
}

/// Generate and insert `total` residents over the villages of the loaded tree.
pub async fn load(
    db: &Db,
    key: &Protector,
    seed: u64,
    total: usize,
    now: DateTime<Utc>,
) -> Result<usize> {
    let all = crate::divisions::all(&mut db.conn()).await?;
    let villages: Vec<&Division> = all.iter().filter(|d| d.level == "village").collect();
    let grids: HashMap<&str, Vec<&str>> =
        all.iter()
            .filter(|d| d.level == "grid")
            .fold(HashMap::new(), |mut m, g| {
                if let Some(p) = g.parent_code.as_deref() {
                    m.entry(p).or_default().push(g.code.as_str());
                }
                m
            });
    let weights: Vec<f64> = villages.iter().map(|v| v.population as f64).collect();
    let counts = apportion(total as i64, &weights);
    let mut maker = Generator {
        rng: SeededRng::new(seed).fork("people"),
        seq: HashMap::new(),
    };
    let mut planned = Vec::new();
    let mut made = 0;
    for (vi, (v, n)) in villages.iter().zip(counts).enumerate() {
        let Ok(code) = DivisionCode::parse(&v.code) else {
            continue;
        };
        let vgrids = grids.get(v.code.as_str()).cloned().unwrap_or_default();
        let mut left = n;
        while left > 0 {
            let size = maker.household_size().min(left);
            let grid = maker
                .rng
                .pick(&vgrids)
                .and_then(|g| DivisionCode::parse(g).ok())
                .unwrap_or_else(|| code.clone());
            planned.push(PlannedHousehold {
                village: vi,
                grid,
                address: maker.address(v),
                size,
            });
            left -= size;
        }
        if planned.len() >= 1000 {
            made += store(db, key, &mut maker, &villages, &mut planned, now).await?;
        }
    }
    made += store(db, key, &mut maker, &villages, &mut planned, now).await?;
    Ok(made)
}

/// Store planned households and generate their members, in one transaction.
async fn store(
    db: &Db,
    key: &Protector,
    maker: &mut Generator,
    villages: &[&Division],
    planned: &mut Vec<PlannedHousehold>,
    now: DateTime<Utc>,
) -> Result<usize> {
    if planned.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let rows: Vec<(String, String)> = planned
        .iter()
        .map(|h| {
            (
                villages
                    .get(h.village)
                    .map(|v| v.code.clone())
                    .unwrap_or_default(),
                h.address.clone(),
            )
        })
        .collect();
    let ids = people::insert_households(&mut tx.conn(), &rows, now).await?;
    let mut batch = Vec::new();
    for (h, id) in planned.iter().zip(ids) {
        let Some(v) = villages.get(h.village) else {
            continue;
        };
        for member in 0..h.size {
            if let Some(p) = maker.person(&h.grid, v, id, member, &h.address) {
                batch.push(p);
            }
        }
    }
    people::insert_bulk(&mut tx.conn(), key, &batch, now).await?;
    tx.commit().await?;
    planned.clear();
    Ok(batch.len())
}

struct Generator {
    rng: SeededRng,
    /// Next sequence number per (county, birth date), keeping ID numbers unique.
    seq: HashMap<(String, NaiveDate), u16>,
}

impl Generator {
    fn household_size(&mut self) -> i64 {
        match self.rng.unit() {
            x if x < 0.22 => 1,
            x if x < 0.50 => 2,
            x if x < 0.74 => 3,
            x if x < 0.90 => 4,
            _ => 5,
        }
    }

    fn address(&mut self, v: &Division) -> String {
        if v.kind == "community" {
            let road = self.rng.pick(&ROADS).copied().unwrap_or("宝庆路");
            format!(
                "{road}{}号{}栋{}单元",
                self.rng.range(1, 300),
                self.rng.range(1, 30),
                self.rng.range(1, 4)
            )
        } else {
            format!(
                "{}{}组{}号",
                v.name,
                self.rng.range(1, 12),
                self.rng.range(1, 80)
            )
        }
    }

    /// Age in years: 17% under 15, 62% 15–59, 17.3% 60–79, 3.5% 80+ (≈ 20.8% aged 60+).
    fn age(&mut self, member: i64) -> i64 {
        let x = self.rng.unit();
        let adult_head = member == 0;
        match x {
            x if x < 0.17 && !adult_head => self.rng.range(0, 14),
            x if x < 0.79 => self.rng.range(18, 59),
            x if x < 0.965 => self.rng.range(60, 79),
            _ => self.rng.range(80, 99),
        }
    }

    fn id_number(&mut self, region: &str, birth: NaiveDate, gender: Gender) -> Option<IdCardNo> {
        let next = self.seq.entry((region.to_owned(), birth)).or_insert(1);
        // Odd sequence numbers are men, even ones women.
        let want_odd = gender == Gender::Male;
        if (*next % 2 == 1) != want_odd {
            *next += 1;
        }
        let seq = *next;
        *next += 1;
        IdCardNo::from_parts(region, birth, seq)
    }

    fn name(&mut self, surname: &str) -> String {
        let a = self.rng.pick(&GIVEN).copied().unwrap_or("明");
        if self.rng.chance(0.3) {
            format!("{surname}{a}")
        } else {
            format!(
                "{surname}{a}{}",
                self.rng.pick(&GIVEN).copied().unwrap_or("华")
            )
        }
    }

    fn phone(&mut self) -> Option<Phone> {
        let prefix = self
            .rng
            .pick(&[
                "135", "136", "138", "139", "150", "151", "152", "158", "177", "180", "186", "187",
                "189", "199",
            ])
            .copied()
            .unwrap_or("138");
        Phone::parse(&format!("{prefix}{:08}", self.rng.range(0, 99_999_999))).ok()
    }

    fn person(
        &mut self,
        grid: &DivisionCode,
        v: &Division,
        household: i64,
        member: i64,
        address: &str,
    ) -> Option<PersonInput> {
        let age = self.age(member);
        let gender = if self.rng.chance(0.51) {
            Gender::Male
        } else {
            Gender::Female
        };
        let day = census_day() - Duration::days(age * 365 + self.rng.range(0, 364));
        let birth = NaiveDate::from_ymd_opt(day.year(), day.month(), day.day()).unwrap_or(day);
        let region = grid.as_str().get(0..6).unwrap_or("430500");
        let id = self.id_number(region, birth, gender)?;
        let surname = self.rng.pick(&SURNAMES).copied().unwrap_or("李");
        let rural = !v.urban;
        Some(PersonInput {
            division: grid.clone(),
            household_id: Some(household),
            relation: match member {
                0 => Relation::Head,
                1 if age >= 18 => Relation::Spouse,
                _ if age < 18 => Relation::Child,
                _ => Relation::Parent,
            },
            name: self.name(surname),
            id_number: id,
            phone: if age >= 16 && self.rng.chance(0.85) {
                self.phone()
            } else {
                None
            },
            address: address.to_owned(),
            tags: self.tags(age, rural),
        })
    }

    /// Tags at roughly the rates seen in county civil-affairs rosters.
    fn tags(&mut self, age: i64, rural: bool) -> Vec<Tag> {
        let mut odds: Vec<(f64, Tag)> = Vec::new();
        if age >= 60 {
            odds.extend([
                (0.08, Tag::LivingAlone),
                (0.25, Tag::EmptyNest),
                (if rural { 0.12 } else { 0.02 }, Tag::LeftBehindElderly),
                (0.04, Tag::DisabledElderly),
                (0.005, Tag::SpecialFamilyPlanning),
                (0.006, Tag::Tekun),
            ]);
        }
        if age >= 80 {
            odds.push((1.0, Tag::OldestOld));
        }
        if age < 16 {
            odds.extend([
                (if rural { 0.10 } else { 0.01 }, Tag::LeftBehindChild),
                (0.01, Tag::ChildInDifficulty),
            ]);
        }
        odds.push((if rural { 0.04 } else { 0.015 }, Tag::Dibao));
        let mut t: Vec<Tag> = odds
            .into_iter()
            .filter(|(p, _)| self.rng.chance(*p))
            .map(|(_, tag)| tag)
            .collect();
        if self.rng.chance(0.065) {
            t.push(Tag::Disability);
            if self.rng.chance(0.25) {
                t.push(Tag::SeverelyDisabled);
            }
        }
        t.sort();
        t.dedup();
        t
    }
}
