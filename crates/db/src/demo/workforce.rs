//! Demo community workers: a few per rural village (mostly 两委成员), and about
//! 19 per 10,000 urban residents in urban communities, with some counties
//! deliberately short of the plan's 18; hire dates over fifteen years, mentors
//! for most new hires, certificates and training records at realistic rates.
//!
//! The ratio the demo shapes is "workers of urban villages/communities per
//! 10,000 of their urban population", county by county.

use super::apportion::apportion;
use super::names::chinese_number;
use crate::divisions::Division;
use crate::workforce::{self, BulkWorker, one_year_before};
use crate::{Db, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use shequ_core::rng::SeededRng;
use std::collections::{BTreeMap, HashMap};

const SURNAMES: [&str; 48] = [
    "李", "王", "刘", "陈", "张", "杨", "周", "曾", "罗", "谢", "邓", "彭", "唐", "肖", "蒋", "胡",
    "黄", "赵", "吴", "邹", "段", "石", "伍", "贺", "尹", "龙", "易", "向", "雷", "钟", "姚", "颜",
    "戴", "申", "曹", "邵", "夏", "袁", "廖", "罗", "孙", "朱", "何", "郭", "马", "谭", "田", "许",
];
const GIVEN: [&str; 56] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "建", "国", "红", "文", "辉", "玲", "志", "春",
    "梅", "兰", "云", "海", "德", "成", "贵", "福", "林", "清", "宇", "欣", "怡", "浩", "婷", "鑫",
    "晓", "慧", "佳", "琴", "斌", "凤", "亮", "萍",
];
const TOPICS: [&str; 10] = [
    "社区治理实务",
    "网格化服务管理",
    "养老服务政策",
    "应急处置",
    "社会救助政策",
    "矛盾纠纷调解",
    "社会工作方法",
    "未成年人保护",
    "消防安全知识",
    "政务服务平台操作",
];
const POSTS: [&str; 3] = ["一岗", "二岗", "三岗"];

/// Plan rates in workers per resident: the target and where counties land.
const CITY_RATE: f64 = 0.00186;
const SHORT_RATE: (f64, f64) = (0.00155, 0.00175);
const FULL_RATE: (f64, f64) = (0.00182, 0.00210);
/// Share of counties left short of 18 per 10,000.
const SHORT_SHARE: f64 = 0.2;
/// Share of workers hired within the last year, and of those given a mentor.
const NEW_HIRE_SHARE: f64 = 0.08;
const MENTORED_SHARE: f64 = 0.85;

/// A worker planned but not stored; the mentor is chosen once ids are known.
struct Planned {
    worker: BulkWorker,
    wants_mentor: bool,
}

/// Generate workers and trainings for every village/community of the loaded
/// tree; returns the number of workers. Indicators are not refreshed here.
pub async fn load(db: &Db, seed: u64, today: NaiveDate, now: DateTime<Utc>) -> Result<usize> {
    let all = crate::divisions::all(&mut db.conn()).await?;
    let mut counties: BTreeMap<&str, Vec<&Division>> = BTreeMap::new();
    for v in all.iter().filter(|d| d.level == "village") {
        counties
            .entry(v.code.get(0..6).unwrap_or_default())
            .or_default()
            .push(v);
    }
    let mut g = Generator {
        rng: SeededRng::new(seed).fork("workforce"),
        today,
    };
    let urban: Vec<i64> = counties.values().map(|vs| urban_population(vs)).collect();
    let rates = g.county_rates(&urban);
    let mut made = 0;
    for (villages, rate) in counties.values().zip(rates) {
        let plan = g.plan_county(villages, rate);
        made += store(db, &mut g, plan, now).await?;
    }
    Ok(made)
}

/// Urban population of the urban villages/communities of a county.
fn urban_population(villages: &[&Division]) -> i64 {
    villages
        .iter()
        .filter(|v| v.urban)
        .map(|v| v.urban_population)
        .sum()
}

/// Store one county's workers, mentors and trainings in one transaction.
async fn store(
    db: &Db,
    g: &mut Generator,
    plan: Vec<Planned>,
    now: DateTime<Utc>,
) -> Result<usize> {
    let cutoff = one_year_before(g.today);
    let (new, old): (Vec<Planned>, Vec<Planned>) =
        plan.into_iter().partition(|p| p.worker.hire_date > cutoff);
    let mut tx = db.begin().await?;
    let old: Vec<BulkWorker> = old.into_iter().map(|p| p.worker).collect();
    let old_ids = workforce::bulk_insert(&mut tx.conn(), &old, now).await?;
    let pool = MentorPool::new(&old, &old_ids);
    let new: Vec<BulkWorker> = new.into_iter().map(|p| g.with_mentor(p, &pool)).collect();
    let new_ids = workforce::bulk_insert(&mut tx.conn(), &new, now).await?;
    let mut trainings = Vec::new();
    for (w, id) in old.iter().zip(&old_ids).chain(new.iter().zip(&new_ids)) {
        g.trainings(*id, w.hire_date, &mut trainings);
    }
    workforce::bulk_insert_trainings(&mut tx.conn(), &trainings).await?;
    tx.commit().await?;
    Ok(old.len() + new.len())
}

/// Stored workers who may mentor, by village and by township: `(id, hire date)`.
struct MentorPool {
    by_village: HashMap<String, Vec<(i64, NaiveDate)>>,
    by_township: HashMap<String, Vec<(i64, NaiveDate)>>,
}

impl MentorPool {
    fn new(workers: &[BulkWorker], ids: &[i64]) -> MentorPool {
        let mut pool = MentorPool {
            by_village: HashMap::new(),
            by_township: HashMap::new(),
        };
        for (w, id) in workers.iter().zip(ids) {
            let entry = (*id, w.hire_date);
            pool.by_village
                .entry(w.division_code.clone())
                .or_default()
                .push(entry);
            let township = w.division_code.get(0..9).unwrap_or_default().to_owned();
            pool.by_township.entry(township).or_default().push(entry);
        }
        pool
    }

    /// Those hired at least a year before `hire`: the village's, else the township's.
    fn candidates(&self, division: &str, hire: NaiveDate) -> Vec<i64> {
        let latest = one_year_before(hire);
        let pick = |list: Option<&Vec<(i64, NaiveDate)>>| -> Vec<i64> {
            list.map(|l| {
                l.iter()
                    .filter(|(_, h)| *h <= latest)
                    .map(|(id, _)| *id)
                    .collect()
            })
            .unwrap_or_default()
        };
        let own = pick(self.by_village.get(division));
        if !own.is_empty() {
            return own;
        }
        pick(self.by_township.get(division.get(0..9).unwrap_or_default()))
    }
}

struct Generator {
    rng: SeededRng,
    today: NaiveDate,
}

impl Generator {
    /// A workers-per-resident rate for each county: about a fifth short of 18 per
    /// 10,000, the rest above it, the city as a whole near 18.6.
    fn county_rates(&mut self, urban: &[i64]) -> Vec<f64> {
        let n = urban.len();
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.rng.range(0, i as i64) as usize;
            order.swap(i, j);
        }
        let short_n = (n as f64 * SHORT_SHARE).round() as usize;
        let mut rates = vec![0.0; n];
        let (mut short_workers, mut short_pop) = (0.0, 0i64);
        for &i in order.iter().take(short_n) {
            let r = SHORT_RATE.0 + (SHORT_RATE.1 - SHORT_RATE.0) * self.rng.unit();
            let u = urban.get(i).copied().unwrap_or(0);
            short_workers += r * u as f64;
            short_pop += u;
            if let Some(slot) = rates.get_mut(i) {
                *slot = r;
            }
        }
        let total: i64 = urban.iter().sum();
        let rest = (total - short_pop).max(1) as f64;
        let full =
            ((CITY_RATE * total as f64 - short_workers) / rest).clamp(FULL_RATE.0, FULL_RATE.1);
        for &i in order.iter().skip(short_n) {
            let r = (full + (self.rng.unit() - 0.5) * 0.00004).clamp(FULL_RATE.0, FULL_RATE.1);
            if let Some(slot) = rates.get_mut(i) {
                *slot = r;
            }
        }
        rates
    }

    /// Workers of one county: `rate` × urban population spread over its urban
    /// communities by urban population, 3–6 in each rural village.
    fn plan_county(&mut self, villages: &[&Division], rate: f64) -> Vec<Planned> {
        let weights: Vec<f64> = villages
            .iter()
            .map(|v| {
                if v.urban {
                    v.urban_population as f64
                } else {
                    0.0
                }
            })
            .collect();
        let total = (rate * urban_population(villages) as f64).round() as i64;
        let urban_counts = apportion(total, &weights);
        let mut out = Vec::new();
        for (v, n_urban) in villages.iter().zip(urban_counts) {
            let n = if v.urban {
                n_urban
            } else {
                self.rng.range(3, 6)
            };
            for i in 0..n {
                out.push(self.worker(v, i));
            }
        }
        out
    }

    fn worker(&mut self, v: &Division, i: i64) -> Planned {
        let kind = self.kind(v.urban, i);
        let hire_date = self.hire_date();
        let new_hire = hire_date > one_year_before(self.today);
        Planned {
            worker: BulkWorker {
                division_code: v.code.clone(),
                name: self.name(),
                kind,
                grade: self.grade(kind, i, hire_date),
                certificate: self.certificate(kind),
                hire_date,
                mentor_id: None,
            },
            wants_mentor: new_hire && self.rng.chance(MENTORED_SHARE),
        }
    }

    /// The first of a village is its 两委 head; then a mix by urban or rural.
    fn kind(&mut self, urban: bool, i: i64) -> &'static str {
        if i == 0 {
            return "committee";
        }
        let x = self.rng.unit();
        let (committee, full_time, grid) = if urban {
            (0.20, 0.62, 0.92)
        } else {
            (0.80, 0.86, 0.98)
        };
        match x {
            x if x < committee => "committee",
            x if x < full_time => "full_time",
            x if x < grid => "grid",
            _ => "social_worker",
        }
    }

    /// About 8% within the last year, the rest over the 14 years before.
    fn hire_date(&mut self) -> NaiveDate {
        let days = if self.rng.chance(NEW_HIRE_SHARE) {
            self.rng.range(1, 360)
        } else {
            self.rng.range(367, 15 * 365)
        };
        self.today - Duration::days(days)
    }

    /// "三岗七级": the post by role, the level rising with years of service.
    fn grade(&mut self, kind: &str, i: i64, hire: NaiveDate) -> String {
        let post = match (kind, i) {
            ("committee", 0) => 0,
            ("committee", _) if self.rng.chance(0.35) => 1,
            _ => 2,
        };
        let years = (self.today - hire).num_days() / 365;
        let level = (1 + years + self.rng.range(0, 2)).clamp(1, 18) as u32;
        format!(
            "{}{}级",
            POSTS.get(post).copied().unwrap_or("三岗"),
            chinese_number(level)
        )
    }

    /// 35% none, 40% assistant, 22% social worker, 3% senior; 社工 always hold one.
    fn certificate(&mut self, kind: &str) -> &'static str {
        match self.rng.unit() {
            x if x < 0.35 && kind != "social_worker" => "none",
            x if x < 0.75 => "assistant",
            x if x < 0.97 => "social_worker",
            _ => "senior",
        }
    }

    fn name(&mut self) -> String {
        let surname = self.rng.pick(&SURNAMES).copied().unwrap_or("李");
        let first = self.rng.pick(&GIVEN).copied().unwrap_or("明");
        if self.rng.chance(0.6) {
            let second = self.rng.pick(&GIVEN).copied().unwrap_or("华");
            format!("{surname}{first}{second}")
        } else {
            format!("{surname}{first}")
        }
    }

    /// The new hire, with a mentor from the same community or township when planned.
    fn with_mentor(&mut self, p: Planned, pool: &MentorPool) -> BulkWorker {
        let mut w = p.worker;
        if p.wants_mentor {
            let candidates = pool.candidates(&w.division_code, w.hire_date);
            w.mentor_id = self.rng.pick(&candidates).copied();
        }
        w
    }

    /// One to four trainings in the past year (not before the hire date), 2–16 hours.
    fn trainings(
        &mut self,
        worker: i64,
        hire: NaiveDate,
        out: &mut Vec<(i64, NaiveDate, String, i32)>,
    ) {
        let start = hire.max(one_year_before(self.today));
        let end = self.today - Duration::days(1);
        if start > end {
            return;
        }
        let span = (end - start).num_days();
        for _ in 0..self.rng.range(1, 4) {
            let day = start + Duration::days(self.rng.range(0, span));
            let topic = self.rng.pick(&TOPICS).copied().unwrap_or("社区治理实务");
            let hours_x10 = (self.rng.range(4, 32) * 5) as i32;
            out.push((worker, day, topic.to_owned(), hours_x10));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_a_fifth_of_counties_fall_short() {
        let mut g = Generator {
            rng: SeededRng::new(5).fork("workforce"),
            today: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap(),
        };
        let urban = [
            900_000, 500_000, 400_000, 300_000, 250_000, 200_000, 200_000, 180_000, 150_000,
            120_000, 120_000, 100_000,
        ];
        let rates = g.county_rates(&urban);
        let short = rates.iter().filter(|r| **r < 0.0018).count();
        assert_eq!(short, 2, "{rates:?}");
        let workers: f64 = rates.iter().zip(urban).map(|(r, u)| r * u as f64).sum();
        let per_10k = workers / urban.iter().sum::<i64>() as f64 * 10_000.0;
        assert!((18.0..19.0).contains(&per_10k), "{per_10k}");
    }
}
