//! Demo 好差评: one rating for every rated work order (the first rating the
//! order received, as the store keeps it), about 30,000 ratings of common
//! community and 政务服务 matters, and for every 差评 its rectification with the
//! history the rules of `core::ratings` allow: most closed after 核实 → 整改 →
//! 回访, some still open (a few past their deadline), some appealed and a third
//! of those overturned.
//!
//! A few small villages (about 3%) are left without any rating, so the 好差评
//! coverage indicator has a gap to show; their work orders keep their level in
//! the order but have no 好差评 record.
//!
//! Everything is generated in memory and stored with multi-row inserts, some
//! 50,000 ratings per transaction; the same seed gives the same rows (sealed
//! phones apart, whose nonces are random as everywhere else).

use crate::audit::{self, Event};
use crate::divisions::Division;
use crate::ratings::{F_RATER_PHONE, deadline_after};
use crate::scope::Actor;
use crate::workorders::{self as wo, local, utc};
use crate::{Backend, Conn, Db, DbError, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, Timelike, Utc};
use sea_query::{Alias, Expr, ExprTrait, Func, Iden, Order, Query};
use shequ_core::Phone;
use shequ_core::crypto::Protector;
use shequ_core::ratings::{Action, Case, DEFAULT_DAYS, State};
use shequ_core::rng::SeededRng;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

#[derive(Iden, Clone, Copy)]
enum Ratings {
    Table,
    Id,
    WorkOrderId,
    ServiceMatter,
    DivisionCode,
    Unit,
    Level,
    RealName,
    Comment,
    Channel,
    Excluded,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
enum WorkOrders {
    Table,
    Id,
    DivisionCode,
    Unit,
    ReporterName,
    ReporterPhoneEnc,
    Rating,
    UpdatedAt,
    VisitedAt,
    State,
    Reopens,
}

#[derive(Iden, Clone, Copy)]
enum WorkOrderEvents {
    Table,
    Id,
    At,
    Note,
}

/// Service-matter ratings for the whole city (scaled by the number of villages).
pub const SERVICE_RATINGS_CITY: usize = 30_000;
/// Villages/communities of the whole city the figure above is meant for.
const CITY_VILLAGES: usize = 4_700;
/// Share of villages/communities left without any rating.
pub const GAP_SHARE: f64 = 0.03;
/// Share of service ratings given under the rater's name.
const REAL_NAME_SHARE: f64 = 0.6;
/// Share of 差评 appealed by the responsible unit, and of those overturned.
const APPEAL_SHARE: f64 = 0.05;
const OVERTURN_SHARE: f64 = 1.0 / 3.0;

/// What the demo stored.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Ratings of work orders, and rated orders left without one (gap villages).
    pub work_order_ratings: usize,
    pub skipped_orders: usize,
    pub service_ratings: usize,
    pub real_name: usize,
    /// 差评 and their rectifications by state.
    pub rectifications: usize,
    pub open: usize,
    pub overdue: usize,
    pub appealed: usize,
    pub overturned: usize,
    pub events: usize,
    /// Villages/communities left without ratings.
    pub gap_villages: usize,
}

impl Summary {
    pub fn ratings(&self) -> usize {
        self.work_order_ratings + self.service_ratings
    }
}

/// Matters residents rate, with their relative frequency in urban communities
/// and rural villages.
const MATTERS: [(&str, f64, f64); 18] = [
    ("居住证办理", 9.0, 1.0),
    ("社保卡补办", 8.0, 6.0),
    ("老年优待证", 6.0, 6.0),
    ("低保申请咨询", 4.0, 7.0),
    ("计生证明", 5.0, 4.0),
    ("残疾人证办理", 3.0, 4.0),
    ("党员组织关系转接", 3.0, 2.0),
    ("城乡居民医保参保登记", 6.0, 9.0),
    ("城乡居民养老保险缴费", 4.0, 8.0),
    ("高龄津贴申领", 3.0, 5.0),
    ("临时救助申请", 2.0, 3.0),
    ("就业失业登记", 5.0, 2.0),
    ("居住证明开具", 6.0, 3.0),
    ("独生子女父母奖励扶助", 2.0, 3.0),
    ("退役军人优待证办理", 2.0, 2.0),
    ("特困人员救助供养申请", 1.0, 3.0),
    ("新生儿落户咨询", 3.0, 2.0),
    ("农村建房审批咨询", 0.2, 5.0),
];

/// How service ratings arrive.
const SERVICE_CHANNELS: [(&str, f64); 6] = [
    ("qr", 0.34),
    ("terminal", 0.22),
    ("walk_in", 0.12),
    ("portal", 0.12),
    ("app", 0.08),
    ("sms", 0.12),
];

/// Levels of service ratings (1 非常满意 … 5 非常不满意).
const SERVICE_LEVELS: [f64; 5] = [0.64, 0.23, 0.08, 0.035, 0.015];

const GOOD_COMMENTS: [&str; 8] = [
    "办事很快，工作人员很耐心",
    "一次就办好了，不用跑第二趟",
    "窗口服务态度好，讲解清楚",
    "材料提前告知，省了不少事",
    "帮家里老人代办，很贴心",
    "网格员上门指导，办理很方便",
    "比以前方便多了",
    "工作人员主动帮忙填表",
];
const FAIR_COMMENTS: [&str; 4] = [
    "整体还行，就是排队时间有点长",
    "流程可以再简化一些",
    "需要的材料多，希望能一次性告知",
    "中午没人值班，等了一会儿",
];
const BAD_COMMENTS: [&str; 6] = [
    "跑了两趟还没办好",
    "工作人员态度冷淡",
    "等了很久没人处理",
    "材料要求前后说法不一致",
    "值班电话一直打不通",
    "说好三天办结，一周了还没消息",
];

const VERIFY_NOTES: [&str; 6] = [
    "经核实，居民反映情况属实，已安排专人整改",
    "已与评价人电话沟通，问题原因已查明，限期整改",
    "现场核查属实，已向责任人了解情况并安排整改",
    "核实为办理环节衔接不畅，已明确整改责任人",
    "经调阅办理记录，答复不够清楚，需重新向居民说明",
    "情况基本属实，已列入本周整改清单",
];
const RECTIFY_NOTES: [&str; 6] = [
    "已重新安排人员上门处理，问题已解决",
    "已补办完成，并向居民当面说明办理流程",
    "已对相关工作人员进行批评教育，服务规范已重新学习",
    "已调整值班安排，午间设专人值守",
    "已一次性告知所需材料并协助居民办结",
    "已协调相关部门现场处置，整改到位",
];
const CALLBACK_NOTES: [&str; 5] = [
    "电话回访，居民对整改结果表示满意",
    "回访居民，表示问题已解决，基本满意",
    "上门回访，居民认可整改情况",
    "电话回访，居民表示理解，建议继续改进服务态度",
    "回访时居民表示已办好，对处理速度满意",
];
const APPEAL_REASONS: [&str; 5] = [
    "居民反映的问题不属于本单位职责范围，已告知办理渠道",
    "评价人误点差评，已电话确认其本意为满意",
    "差评内容与实际办理情况不符，有办理记录和通话录音为证",
    "该事项已按规定时限办结，居民因政策不符合条件给出差评",
    "同一事项重复评价，属恶意差评",
];
const UPHOLD_NOTES: [&str; 4] = [
    "经复核，差评理由成立，请按期整改",
    "申诉理由不充分，维持差评，请限期整改",
    "复核认为办理过程存在不足，维持原评价",
    "经调阅材料，服务存在瑕疵，维持差评",
];
const OVERTURN_NOTES: [&str; 4] = [
    "经复核，属误评，予以撤销",
    "经调取录音核实，评价与办理事项无关，撤销该差评",
    "复核确认事项不属于该单位职责，撤销差评",
    "经核查属重复恶意评价，予以撤销",
];

const SURNAMES: [&str; 32] = [
    "李", "王", "刘", "陈", "张", "杨", "周", "曾", "罗", "谢", "邓", "彭", "唐", "肖", "蒋", "胡",
    "黄", "赵", "吴", "邹", "段", "石", "伍", "贺", "尹", "龙", "易", "向", "雷", "钟", "姚", "颜",
];
const GIVEN: [&str; 32] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "建", "国", "红", "文", "辉", "玲", "志", "春",
];
const MOBILE_PREFIXES: [&str; 12] = [
    "135", "136", "138", "139", "150", "151", "158", "177", "180", "186", "187", "199",
];

/// What is rated.
#[derive(Debug, Clone, PartialEq)]
enum Subject {
    WorkOrder(i64),
    Service(&'static str),
}

/// A rating to store.
#[derive(Debug, Clone)]
struct Row {
    subject: Subject,
    division: String,
    unit: String,
    level: u8,
    real_name: bool,
    rater_name: String,
    phone: Option<Phone>,
    comment: &'static str,
    channel: &'static str,
    excluded: bool,
    created_at: DateTime<Utc>,
}

/// One step of a rectification's history.
#[derive(Debug, Clone)]
struct Step {
    at: DateTime<Utc>,
    actor: Arc<str>,
    action: &'static str,
    from: &'static str,
    to: &'static str,
    note: &'static str,
}

/// A rectification as its history left it.
#[derive(Debug, Clone)]
struct Rect {
    case: Case,
    deadline: DateTime<Utc>,
    verify_note: &'static str,
    rectify_note: &'static str,
    callback_note: &'static str,
    appeal_reason: &'static str,
    review_note: &'static str,
    rectified_at: Option<DateTime<Utc>>,
    called_back_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    steps: Vec<Step>,
}

impl Rect {
    fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.case.state.deadline_runs() && self.deadline < now
    }
}

/// Names of the people who act: staff per unit, 回访员, reviewers.
struct Crew {
    seed: u64,
    names: HashMap<String, String>,
    staff: HashMap<String, Vec<Arc<str>>>,
    visitors: Vec<Arc<str>>,
    resident: Arc<str>,
}

impl Crew {
    fn new(seed: u64, names: HashMap<String, String>) -> Crew {
        let mut r = SeededRng::new(seed).fork("ratings/visitors");
        let visitors = (0..10)
            .map(|_| Arc::from(format!("回访员 {}", person(&mut r))))
            .collect();
        Crew {
            seed,
            names,
            staff: HashMap::new(),
            visitors,
            resident: Arc::from("居民"),
        }
    }

    /// One of three staff of a unit (a division or department code), named after it.
    fn staff(&mut self, rng: &mut SeededRng, unit: &str) -> Arc<str> {
        let seed = self.seed;
        let label = self
            .names
            .get(unit)
            .cloned()
            .unwrap_or_else(|| unit.to_owned());
        let list = self.staff.entry(unit.to_owned()).or_insert_with(|| {
            let mut r = SeededRng::new(seed).fork(&format!("ratings/unit/{unit}"));
            (0..3)
                .map(|_| Arc::from(format!("{}（{label}）", person(&mut r))))
                .collect()
        });
        let i = rng.range(0, 2) as usize;
        list.get(i)
            .or(list.first())
            .cloned()
            .unwrap_or_else(|| Arc::from(unit))
    }

    /// A reviewer: staff of the township/street above the division.
    fn reviewer(&mut self, rng: &mut SeededRng, division: &str) -> Arc<str> {
        let township: String = division.chars().take(9).collect();
        self.staff(rng, &township)
    }

    /// Who gave a rating, as its first history event names them.
    fn rater(&self, rng: &mut SeededRng, channel: &str) -> Arc<str> {
        if channel == "phone" {
            pick(rng, &self.visitors)
                .cloned()
                .unwrap_or_else(|| Arc::clone(&self.resident))
        } else {
            Arc::clone(&self.resident)
        }
    }
}

/// Generate and store the ratings, rectifications and histories; indicators are
/// not refreshed here.
pub async fn load(db: &Db, key: &Protector, seed: u64, now: DateTime<Utc>) -> Result<Summary> {
    let all = crate::divisions::all(&mut db.conn()).await?;
    let mut rng = SeededRng::new(seed).fork("ratings");
    let villages: Vec<&Division> = all.iter().filter(|d| d.level == "village").collect();
    let gaps = gap_villages(&mut rng, &villages);
    let mut gap_list: Vec<String> = gaps.iter().cloned().collect();
    gap_list.sort_unstable();
    let mut summary = Summary {
        gap_villages: gaps.len(),
        ..Summary::default()
    };
    // Orders rated again after 重办, or by a named reporter with a phone, are
    // read here; the plain rest is copied in the store.
    let mut extra = other_work_order_ratings(db, key, &gaps).await?;
    let others = extra.len();
    extra.extend(service_ratings(&mut rng, &villages, &gaps, now));
    summary.service_ratings = extra.len() - others;
    summary.real_name = extra.iter().filter(|r| r.real_name).count();
    let first = next_id(&mut db.conn()).await?;
    let mut tx = db.begin().await?;
    let stored = store_ratings(&mut tx.conn(), key, &gap_list, &extra).await?;
    tx.commit().await?;
    summary.work_order_ratings = stored.saturating_sub(summary.service_ratings);
    summary.skipped_orders = rated_in(&mut db.conn(), &gap_list).await?;
    // Every 差评 is rectified, in the order the ratings were given.
    let bad = bad_ratings(&mut db.conn(), first).await?;
    let mut names: HashMap<String, String> = all
        .iter()
        .map(|d| (d.code.clone(), d.name.clone()))
        .collect();
    let depts = wo::dispatch::departments(&mut db.conn()).await?;
    names.extend(depts.into_iter().map(|d| (d.code, d.name)));
    let mut crew = Crew::new(seed, names);
    let mut rect_rng = SeededRng::new(seed).fork("ratings/rectifications");
    let mut rects = Vec::with_capacity(bad.len());
    for (id, r) in &bad {
        let x = simulate(&mut rect_rng, &mut crew, r, now);
        summary.open += usize::from(x.case.state != State::Closed);
        summary.overdue += usize::from(x.overdue(now));
        summary.appealed += usize::from(x.case.appealed);
        summary.overturned += usize::from(x.case.excluded);
        summary.events += x.steps.len();
        rects.push((*id, r, x));
    }
    summary.rectifications = rects.len();
    let mut tx = db.begin().await?;
    let mut c = tx.conn();
    insert_rectifications(&mut c, &rects).await?;
    insert_events(&mut c, &rects).await?;
    let overturned: Vec<i64> = rects
        .iter()
        .filter(|(_, _, x)| x.case.excluded)
        .map(|(id, _, _)| *id)
        .collect();
    for chunk in overturned.chunks(1_000) {
        let q = Query::update()
            .table(Ratings::Table)
            .value(Ratings::Excluded, true)
            .and_where(Expr::col(Ratings::Id).is_in(chunk.to_vec()))
            .to_owned();
        c.execute(&q).await?;
    }
    let detail = serde_json::json!({
        "work_order_ratings": summary.work_order_ratings,
        "service_ratings": summary.service_ratings,
        "rectifications": summary.rectifications,
        "gap_villages": summary.gap_villages,
        "seed": seed,
    });
    let ev = Event::new("demo_ratings_load", "rating", "").detail(detail);
    audit::append(&mut c, &Actor::system(), ev, now).await?;
    tx.commit().await?;
    Ok(summary)
}

/// About [`GAP_SHARE`] of the villages, chosen among the smaller third.
fn gap_villages(rng: &mut SeededRng, villages: &[&Division]) -> HashSet<String> {
    let k = (villages.len() as f64 * GAP_SHARE).round() as usize;
    let mut by_size: Vec<&Division> = villages.to_vec();
    by_size.sort_by(|a, b| a.population.cmp(&b.population).then(a.code.cmp(&b.code)));
    by_size.truncate((villages.len() / 3).max(k));
    let mut out = HashSet::new();
    // Partial Fisher–Yates over the candidates.
    let n = by_size.len();
    for i in 0..k.min(n) {
        let j = rng.range(i as i64, n as i64 - 1) as usize;
        by_size.swap(i, j);
        if let Some(v) = by_size.get(i) {
            out.insert(v.code.clone());
        }
    }
    out
}

/// The id the next rating will get on SQLite (on PostgreSQL at least this).
async fn next_id(c: &mut Conn<'_>) -> Result<i64> {
    let q = Query::select()
        .expr(Expr::col(Ratings::Id).max())
        .from(Ratings::Table)
        .to_owned();
    Ok(c.fetch_i64(&q).await? + 1)
}

/// Rated work orders in the gap villages (and their grids), through the
/// division index.
async fn rated_in(c: &mut Conn<'_>, gaps: &[String]) -> Result<usize> {
    let mut n = 0;
    for chunk in gaps.chunks(100) {
        let mut any = sea_query::Condition::any();
        for g in chunk {
            any = any.add(
                Expr::col(WorkOrders::DivisionCode)
                    .gte(g.as_str())
                    .and(Expr::col(WorkOrders::DivisionCode).lt(format!("{g}:"))),
            );
        }
        let q = Query::select()
            .expr(Expr::col(WorkOrders::Id).count())
            .from(WorkOrders::Table)
            .cond_where(any)
            .and_where(Expr::col(WorkOrders::Rating).is_not_null())
            .to_owned();
        n += usize::try_from(c.fetch_i64(&q).await?).unwrap_or(0);
    }
    Ok(n)
}

/// Store every rating in the order given, in one `INSERT … SELECT`: orders
/// rated once and not reopened whose reporter left no name and phone are
/// copied from `work_orders` in the store (anonymous; level and time are the
/// order's own, its last step being the rating; 'phone' when it followed the
/// 回访 call), `extra` arrives as JSON. Returns how many were stored.
async fn store_ratings(
    c: &mut Conn<'_>,
    key: &Protector,
    gaps: &[String],
    extra: &[Row],
) -> Result<usize> {
    let pg = c.backend() == Backend::Postgres;
    let mut plain = Query::select();
    plain
        .expr_as(Expr::val("work_order"), Alias::new("subject_kind"))
        .expr_as(Expr::col(WorkOrders::Id), Alias::new("work_order_id"))
        .expr_as(Expr::val(""), Alias::new("service_matter"))
        .expr_as(
            Expr::col(WorkOrders::DivisionCode),
            Alias::new("division_code"),
        )
        .expr_as(
            Expr::cust("CASE WHEN TRIM(unit) = '' THEN substr(division_code, 1, 12) ELSE unit END"),
            Alias::new("unit"),
        )
        .expr_as(Expr::col(WorkOrders::Rating), Alias::new("level"))
        .expr_as(Expr::val(false), Alias::new("real_name"))
        .expr_as(Expr::val(""), Alias::new("rater_name"))
        .expr_as(Expr::cust("NULL"), Alias::new("rater_phone_enc"))
        .expr_as(Expr::cust("NULL"), Alias::new("rater_phone_masked"))
        .expr_as(Expr::val(""), Alias::new("comment"))
        .expr_as(
            Expr::cust("CASE WHEN visited_at IS NULL THEN 'portal' ELSE 'phone' END"),
            Alias::new("channel"),
        )
        .expr_as(Expr::val(false), Alias::new("excluded"))
        .expr_as(Expr::col(WorkOrders::UpdatedAt), Alias::new("created_at"))
        .from(WorkOrders::Table)
        .and_where(Expr::col(WorkOrders::Rating).is_not_null())
        .and_where(Expr::col(WorkOrders::State).eq("rated"))
        .and_where(Expr::col(WorkOrders::Reopens).eq(0))
        .and_where(Expr::cust(NAMED_WITH_PHONE).not());
    if !gaps.is_empty() {
        plain.and_where(Expr::cust("substr(division_code, 1, 12)").is_not_in(gaps.to_vec()));
    }
    if !extra.is_empty() {
        plain.union(
            sea_query::UnionType::All,
            json_select(pg, &RATING_COLS, rating_json(key, extra)?),
        );
    }
    let u = Alias::new("u");
    let mut all = Query::select();
    for (col, _) in RATING_COLS {
        all.column((u.clone(), Alias::new(col)));
    }
    all.from_subquery(plain, u.clone());
    for col in [
        "created_at",
        "work_order_id",
        "division_code",
        "service_matter",
        "level",
    ] {
        all.order_by((u.clone(), Alias::new(col)), Order::Asc);
    }
    let mut q = Query::insert()
        .into_table(Ratings::Table)
        .columns(RATING_COLS.iter().map(|(n, _)| Alias::new(*n)))
        .to_owned();
    q.select_from(all)
        .map_err(|e| DbError::Conflict(format!("演示评价语句有误：{e}")))?;
    Ok(usize::try_from(c.execute(&q).await?).unwrap_or(0))
}

/// Orders whose reporter left a name and a sealed phone.
const NAMED_WITH_PHONE: &str = "(reporter_phone_enc IS NOT NULL AND TRIM(reporter_name) <> '')";

/// The columns of a stored rating, in the order [`rating_json`] writes them.
const RATING_COLS: [(&str, Ty); 14] = [
    ("subject_kind", Ty::Text),
    ("work_order_id", Ty::BigInt),
    ("service_matter", Ty::Text),
    ("division_code", Ty::Text),
    ("unit", Ty::Text),
    ("level", Ty::Int),
    ("real_name", Ty::Bool),
    ("rater_name", Ty::Text),
    ("rater_phone_enc", Ty::Hex),
    ("rater_phone_masked", Ty::Text),
    ("comment", Ty::Text),
    ("channel", Ty::Text),
    ("excluded", Ty::Bool),
    ("created_at", Ty::Time),
];

/// Ratings as a JSON array of rows in [`RATING_COLS`] order, real-name phones
/// sealed (as hexadecimal text).
fn rating_json(key: &Protector, rows: &[Row]) -> Result<String> {
    type J<'a> = (
        &'static str,
        Option<i64>,
        &'a str,
        &'a str,
        &'a str,
        i32,
        bool,
        &'a str,
        Option<String>,
        Option<String>,
        &'a str,
        &'a str,
        bool,
        String,
    );
    let mut json: Vec<J<'_>> = Vec::with_capacity(rows.len());
    for r in rows {
        let (kind, order, matter) = match &r.subject {
            Subject::WorkOrder(id) => ("work_order", Some(*id), ""),
            Subject::Service(m) => ("service", None, *m),
        };
        let (enc, masked) = match &r.phone {
            Some(p) => {
                let mut nonce = [0u8; 12];
                getrandom::fill(&mut nonce)
                    .map_err(|e| DbError::Conflict(format!("随机数不可用：{e}")))?;
                let sealed = key.seal(F_RATER_PHONE, p.as_str().as_bytes(), nonce);
                (Some(hex::encode(sealed)), Some(p.masked()))
            }
            None => (None, None),
        };
        json.push((
            kind,
            order,
            matter,
            &r.division,
            &r.unit,
            i32::from(r.level),
            r.real_name,
            &r.rater_name,
            enc,
            masked,
            r.comment,
            r.channel,
            r.excluded,
            ts(r.created_at),
        ));
    }
    serde_json::to_string(&json).map_err(|e| DbError::Conflict(format!("演示数据无法编码：{e}")))
}

/// The 差评 stored from `first` on, by id.
async fn bad_ratings(c: &mut Conn<'_>, first: i64) -> Result<Vec<(i64, Row)>> {
    let q = Query::select()
        .columns([
            Ratings::Id,
            Ratings::WorkOrderId,
            Ratings::ServiceMatter,
            Ratings::DivisionCode,
            Ratings::Unit,
            Ratings::Level,
            Ratings::RealName,
            Ratings::Channel,
            Ratings::Comment,
            Ratings::CreatedAt,
        ])
        .from(Ratings::Table)
        .and_where(Expr::col(Ratings::Id).gte(first))
        .and_where(Expr::col(Ratings::Level).gte(4))
        .order_by(Ratings::Id, Order::Asc)
        .to_owned();
    type BadRow = (
        i64,
        Option<i64>,
        String,
        String,
        String,
        i32,
        bool,
        String,
        String,
        DateTime<Utc>,
    );
    let rows: Vec<BadRow> = c.fetch_all(&q).await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, order, matter, division, unit, level, real_name, channel, comment, at)| {
                let subject = match order {
                    Some(o) => Subject::WorkOrder(o),
                    None => Subject::Service(
                        MATTERS
                            .iter()
                            .map(|m| m.0)
                            .find(|m| *m == matter)
                            .unwrap_or("居住证办理"),
                    ),
                };
                let row = Row {
                    subject,
                    division,
                    unit,
                    level: u8::try_from(level).unwrap_or(5),
                    real_name,
                    rater_name: String::new(),
                    phone: None,
                    comment: known(&comment),
                    channel: known_channel(&channel),
                    excluded: false,
                    created_at: at,
                };
                (id, row)
            },
        )
        .collect())
}

/// The comment as one of the demo's own (they are the only ones stored).
fn known(comment: &str) -> &'static str {
    GOOD_COMMENTS
        .iter()
        .chain(&FAIR_COMMENTS)
        .chain(&BAD_COMMENTS)
        .find(|c| **c == comment)
        .copied()
        .unwrap_or("")
}

/// The channel as one of the store's own.
fn known_channel(channel: &str) -> &'static str {
    crate::ratings::CHANNELS
        .iter()
        .find(|c| **c == channel)
        .copied()
        .unwrap_or("portal")
}

/// A rated order as stored, with the ids of its first 评价 event and of the
/// 回访 event before it (for reopened orders).
type OrderRow = (
    i64,
    String,
    String,
    String,
    Option<Vec<u8>>,
    Option<i32>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<i64>,
    Option<i64>,
);

/// The first 评价 event of the order, and the last 回访 before it, for orders
/// reopened after a rating (one index walk per order on either backend).
const FIRST_RATE: &str = "CASE WHEN state <> 'rated' OR reopens > 0 THEN \
    (SELECT MIN(e.id) FROM work_order_events e \
     WHERE e.order_id = work_orders.id AND e.action = 'rate') END";
const VISIT_BEFORE: &str = "CASE WHEN state <> 'rated' OR reopens > 0 THEN \
    (SELECT MAX(v.id) FROM work_order_events v \
     WHERE v.order_id = work_orders.id AND v.action = 'visit' AND v.id < \
     (SELECT MIN(e.id) FROM work_order_events e \
      WHERE e.order_id = work_orders.id AND e.action = 'rate')) END";

/// Ratings of the other rated orders outside the gap villages: those reopened
/// after their rating (the first 评价 counts, as the store keeps it: its level
/// and time from the history, 'phone' when it followed the 回访 call) and those
/// whose reporter left a name and a phone (real-name, the phone sealed again
/// for the rating), as the store records a rating.
async fn other_work_order_ratings(
    db: &Db,
    key: &Protector,
    gaps: &HashSet<String>,
) -> Result<Vec<Row>> {
    let mut c = db.conn();
    let q = Query::select()
        .columns([
            WorkOrders::Id,
            WorkOrders::DivisionCode,
            WorkOrders::Unit,
            WorkOrders::ReporterName,
            WorkOrders::ReporterPhoneEnc,
            WorkOrders::Rating,
            WorkOrders::UpdatedAt,
            WorkOrders::VisitedAt,
        ])
        .expr(Expr::cust(FIRST_RATE))
        .expr(Expr::cust(VISIT_BEFORE))
        .from(WorkOrders::Table)
        .and_where(Expr::col(WorkOrders::Rating).is_not_null())
        .cond_where(
            sea_query::Condition::any()
                .add(Expr::col(WorkOrders::State).ne("rated"))
                .add(Expr::col(WorkOrders::Reopens).gt(0))
                .add(Expr::cust(NAMED_WITH_PHONE)),
        )
        .order_by(WorkOrders::Id, Order::Asc)
        .to_owned();
    let orders: Vec<OrderRow> = c.fetch_all(&q).await?;
    let wanted: Vec<i64> = orders.iter().flat_map(|o| [o.8, o.9]).flatten().collect();
    let mut events: HashMap<i64, (DateTime<Utc>, String)> = HashMap::new();
    for chunk in wanted.chunks(1_000) {
        let q = Query::select()
            .columns([
                WorkOrderEvents::Id,
                WorkOrderEvents::At,
                WorkOrderEvents::Note,
            ])
            .from(WorkOrderEvents::Table)
            .and_where(Expr::col(WorkOrderEvents::Id).is_in(chunk.to_vec()))
            .to_owned();
        let rows: Vec<(i64, DateTime<Utc>, String)> = c.fetch_all(&q).await?;
        events.extend(rows.into_iter().map(|(id, at, note)| (id, (at, note))));
    }
    let mut out = Vec::new();
    for (id, division, unit, name, phone_enc, rating, updated_at, visited_at, first, visit) in
        orders
    {
        if gaps.contains(division.get(0..12).unwrap_or(&division)) {
            continue;
        }
        let column = rating
            .and_then(|r| u8::try_from(r).ok())
            .filter(|r| (1..=5).contains(r));
        let (at, level, channel) = match first.and_then(|f| events.get(&f)) {
            Some((at, note)) => {
                let level = note
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|l| (1..=5).contains(l));
                let by_phone = visit
                    .and_then(|v| events.get(&v))
                    .is_some_and(|(v, _)| *at - *v <= Duration::minutes(10));
                (
                    *at,
                    level.or(column),
                    if by_phone { "phone" } else { "portal" },
                )
            }
            // Rated once: the rating was the order's last step.
            None => (
                updated_at,
                column,
                if visited_at.is_some() {
                    "phone"
                } else {
                    "portal"
                },
            ),
        };
        let Some(level) = level else { continue };
        let name = name
            .trim()
            .chars()
            .take(crate::ratings::MAX_NAME)
            .collect::<String>();
        let phone = match phone_enc {
            Some(blob) if !name.is_empty() => key
                .open_string(wo::F_REPORTER_PHONE, &blob)
                .ok()
                .and_then(|p| Phone::parse(&p).ok()),
            _ => None,
        };
        let real_name = phone.is_some();
        let unit = if unit.trim().is_empty() {
            division.get(0..12).unwrap_or(&division).to_owned()
        } else {
            unit
        };
        out.push(Row {
            subject: Subject::WorkOrder(id),
            division,
            unit,
            level,
            real_name,
            rater_name: if real_name { name } else { String::new() },
            phone,
            comment: "",
            channel,
            excluded: false,
            created_at: at,
        });
    }
    Ok(out)
}

/// Ratings of service matters over the last year: every village outside the
/// gaps gets some, the rest by population.
fn service_ratings(
    rng: &mut SeededRng,
    villages: &[&Division],
    gaps: &HashSet<String>,
    now: DateTime<Utc>,
) -> Vec<Row> {
    let rated: Vec<&&Division> = villages
        .iter()
        .filter(|v| !gaps.contains(&v.code))
        .collect();
    if rated.is_empty() {
        return Vec::new();
    }
    let total = (SERVICE_RATINGS_CITY * villages.len()).div_ceil(CITY_VILLAGES);
    let rest = total.saturating_sub(rated.len()) as i64;
    let weights: Vec<f64> = rated
        .iter()
        .map(|v| Ord::max(v.population, 1) as f64 * if v.urban { 1.5 } else { 1.0 })
        .collect();
    let extra = super::apportion(rest, &weights);
    let urban_w: Vec<f64> = MATTERS.iter().map(|m| m.1).collect();
    let rural_w: Vec<f64> = MATTERS.iter().map(|m| m.2).collect();
    let channel_w: Vec<f64> = SERVICE_CHANNELS.iter().map(|c| c.1).collect();
    let today = local(now).date();
    let mut out = Vec::with_capacity(total);
    for (v, extra) in rated.iter().zip(extra) {
        // Some places serve better than others.
        let tilt = (rng.unit() - 0.5) * 0.5;
        for _ in 0..=extra {
            let m = weighted(rng, if v.urban { &urban_w } else { &rural_w });
            let matter = MATTERS.get(m).map_or("居住证办理", |x| x.0);
            let level = tilted_level(rng, &SERVICE_LEVELS, tilt);
            let real_name = rng.chance(REAL_NAME_SHARE);
            let (rater_name, phone) = if real_name {
                (person(rng), mobile(rng))
            } else {
                (String::new(), None)
            };
            let comment = if rng.chance(if level >= 4 { 0.8 } else { 0.3 }) {
                let list: &[&'static str] = match level {
                    1 | 2 => &GOOD_COMMENTS,
                    3 => &FAIR_COMMENTS,
                    _ => &BAD_COMMENTS,
                };
                pick(rng, list).copied().unwrap_or("")
            } else {
                ""
            };
            let channel = SERVICE_CHANNELS
                .get(weighted(rng, &channel_w))
                .map_or("qr", |c| c.0);
            out.push(Row {
                subject: Subject::Service(matter),
                division: v.code.clone(),
                unit: v.code.clone(),
                level,
                real_name: phone.is_some(),
                rater_name: if phone.is_some() {
                    rater_name
                } else {
                    String::new()
                },
                phone,
                comment,
                channel,
                excluded: false,
                created_at: office_time(rng, today, now),
            });
        }
    }
    out
}

/// A weekday time in office hours within the last year, before now.
fn office_time(rng: &mut SeededRng, today: NaiveDate, now: DateTime<Utc>) -> DateTime<Utc> {
    let mut day = today - Duration::days(rng.range(0, 364));
    match day.weekday().num_days_from_monday() {
        5 if rng.chance(0.75) => day -= Duration::days(1),
        6 if rng.chance(0.75) => day += Duration::days(1),
        _ => {}
    }
    let mins = rng.range(8 * 60 + 30, 17 * 60 + 30) as u32;
    let t = day
        .and_hms_opt(mins / 60, mins % 60, rng.range(0, 59) as u32)
        .map_or(now, utc);
    if t < now {
        t
    } else {
        t - Duration::days(rng.range(1, 6))
    }
}

/// A level from `dist`, moved one step better (tilt < 0) or worse (tilt > 0)
/// with probability |tilt|.
fn tilted_level(rng: &mut SeededRng, dist: &[f64; 5], tilt: f64) -> u8 {
    let mut l = weighted(rng, dist) as i64 + 1;
    if rng.chance(tilt.abs()) {
        l += if tilt > 0.0 { 1 } else { -1 };
    }
    l.clamp(1, 5) as u8
}

/// The next planned action of a rectification.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Plan {
    Verify,
    Appeal,
    Review,
    Rectified,
    Callback,
}

/// The history of one 差评's rectification up to now: the steps the rules allow,
/// each a little after the one before, stopping at now (and, for some, at a
/// step that never came).
fn simulate(rng: &mut SeededRng, crew: &mut Crew, r: &Row, now: DateTime<Utc>) -> Rect {
    let age = now - r.created_at;
    let stall_p = if age < Duration::days(10) {
        0.95
    } else if age < Duration::days(25) {
        0.55
    } else if age < Duration::days(60) {
        0.1
    } else {
        0.012
    };
    let stall = rng.chance(stall_p);
    let appeal = rng.chance(APPEAL_SHARE);
    let appeal_first = rng.chance(0.6);
    let overturn = rng.chance(OVERTURN_SHARE);
    let mut plan = Vec::with_capacity(5);
    if !(appeal && appeal_first) {
        plan.push(Plan::Verify);
    }
    if appeal {
        plan.push(Plan::Appeal);
        plan.push(Plan::Review);
    }
    if !(appeal && overturn) {
        plan.push(Plan::Rectified);
        if r.real_name {
            plan.push(Plan::Callback);
        }
    }
    let stop = stall.then(|| rng.range(0, plan.len() as i64 - 1) as usize);
    let opened_by = crew.rater(rng, r.channel);
    let note: &'static str = r.comment;
    let mut x = Rect {
        case: Case::open(r.real_name),
        deadline: deadline_after(r.created_at, DEFAULT_DAYS),
        verify_note: "",
        rectify_note: "",
        callback_note: "",
        appeal_reason: "",
        review_note: "",
        rectified_at: None,
        called_back_at: None,
        updated_at: r.created_at,
        closed_at: None,
        steps: vec![Step {
            at: r.created_at,
            actor: opened_by,
            action: "open",
            from: "",
            to: State::Verify.as_str(),
            note,
        }],
    };
    let mut t = r.created_at;
    for (i, p) in plan.iter().enumerate() {
        if stop == Some(i) {
            break;
        }
        let (wait, action, actor) = match p {
            Plan::Verify => {
                let days = rng.chance(0.3).then(|| rng.range(3, 10) as u32);
                let note = pick(rng, &VERIFY_NOTES).copied().unwrap_or("已核实");
                (
                    minutes(rng, 40, 2 * 24 * 60),
                    (
                        Action::Verify {
                            note: note.into(),
                            days,
                        },
                        note,
                    ),
                    crew.staff(rng, &r.unit),
                )
            }
            Plan::Appeal => {
                let note = pick(rng, &APPEAL_REASONS).copied().unwrap_or("申诉");
                (
                    minutes(rng, 60, 3 * 24 * 60),
                    (
                        Action::Appeal {
                            reason: note.into(),
                        },
                        note,
                    ),
                    crew.staff(rng, &r.unit),
                )
            }
            Plan::Review if overturn => {
                let note = pick(rng, &OVERTURN_NOTES).copied().unwrap_or("撤销");
                (
                    minutes(rng, 24 * 60, 4 * 24 * 60),
                    (Action::Overturn { note: note.into() }, note),
                    crew.reviewer(rng, &r.division),
                )
            }
            Plan::Review => {
                let note = pick(rng, &UPHOLD_NOTES).copied().unwrap_or("维持");
                (
                    minutes(rng, 24 * 60, 4 * 24 * 60),
                    (
                        Action::Uphold {
                            note: note.into(),
                            days: None,
                        },
                        note,
                    ),
                    crew.reviewer(rng, &r.division),
                )
            }
            Plan::Rectified => {
                let note = pick(rng, &RECTIFY_NOTES).copied().unwrap_or("已整改");
                let wait = if rng.chance(0.1) {
                    minutes(rng, 6 * 24 * 60, 15 * 24 * 60)
                } else {
                    minutes(rng, 12 * 60, 5 * 24 * 60)
                };
                (
                    wait,
                    (Action::Rectified { note: note.into() }, note),
                    crew.staff(rng, &r.unit),
                )
            }
            Plan::Callback => {
                let note = pick(rng, &CALLBACK_NOTES).copied().unwrap_or("已回访");
                (
                    minutes(rng, 60, 2 * 24 * 60),
                    (Action::Callback { note: note.into() }, note),
                    crew.staff(rng, &r.unit),
                )
            }
        };
        let at = office(rng, t + wait);
        if at >= now {
            break;
        }
        let (action, note) = action;
        let Ok(step) = x.case.apply(&action) else {
            break;
        };
        let from = x.case.state;
        let to = step.next.state;
        match action {
            Action::Verify { .. } => x.verify_note = note,
            Action::Rectified { .. } => {
                x.rectify_note = note;
                x.rectified_at = Some(at);
            }
            Action::Callback { .. } => {
                x.callback_note = note;
                x.called_back_at = Some(at);
            }
            Action::Appeal { .. } => x.appeal_reason = note,
            Action::Uphold { .. } | Action::Overturn { .. } => x.review_note = note,
        }
        if let Some(days) = step.deadline_days {
            x.deadline = deadline_after(at, days);
        }
        if to == State::Closed {
            x.closed_at = Some(at);
        }
        x.updated_at = at;
        x.case = step.next;
        x.steps.push(Step {
            at,
            actor,
            action: action.code(),
            from: from.as_str(),
            to: to.as_str(),
            note,
        });
        t = at;
    }
    x
}

fn minutes(rng: &mut SeededRng, lo: i64, hi: i64) -> Duration {
    Duration::minutes(rng.range(lo, hi))
}

/// Moves a time outside 08:00–20:00 (local) to the next morning.
fn office(rng: &mut SeededRng, t: DateTime<Utc>) -> DateTime<Utc> {
    let l = local(t);
    let h = l.hour();
    if (8..20).contains(&h) {
        return t;
    }
    let day = if h >= 20 {
        l.date() + Duration::days(1)
    } else {
        l.date()
    };
    let mins = rng.range(0, 90) as u32;
    day.and_hms_opt(8 + mins / 60, mins % 60, rng.range(0, 59) as u32)
        .map_or(t, utc)
}

/// How a column travels in JSON: numbers, text, times as the driver writes
/// them (RFC 3339), booleans, and bytes as hexadecimal text.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ty {
    BigInt,
    Int,
    Text,
    Time,
    Bool,
    Hex,
}

/// Rows per JSON statement.
const JSON_ROWS: usize = 20_000;

/// A time as the driver stores it on SQLite (and PostgreSQL reads it).
pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// `SELECT` the values of the rows in `json` (an array of arrays, values in
/// `cols` order), typed for the columns.
fn json_select(pg: bool, cols: &[(&'static str, Ty)], json: String) -> sea_query::SelectStatement {
    let mut sel = Query::select();
    for (i, (_, ty)) in cols.iter().enumerate() {
        let e = match (pg, ty) {
            (true, Ty::BigInt) => format!("(j.value ->> {i})::bigint"),
            (true, Ty::Int) => format!("(j.value ->> {i})::integer"),
            (true, Ty::Text) => format!("(j.value ->> {i})"),
            (true, Ty::Time) => format!("(j.value ->> {i})::timestamptz"),
            (true, Ty::Bool) => format!("(j.value ->> {i})::boolean"),
            (true, Ty::Hex) => format!("decode(j.value ->> {i}, 'hex')"),
            (false, Ty::Hex) => format!("unhex(json_extract(j.value, '$[{i}]'))"),
            (false, _) => format!("json_extract(j.value, '$[{i}]')"),
        };
        sel.expr(Expr::cust(e));
    }
    if pg {
        sel.from_function(
            Func::cust("json_array_elements").arg(Expr::val(json).cast_as("json")),
            Alias::new("j"),
        );
    } else {
        sel.from_function(Func::cust("json_each").arg(json), Alias::new("j"));
    }
    sel
}

/// Insert rows handed over as one JSON array per statement (each row an array
/// of its values in `cols` order): one bound parameter instead of one per
/// value, which is what makes a million demo rows quick on both backends.
/// With `returning`, the ids of the new rows in the order given.
pub(super) async fn insert_json<T: serde::Serialize>(
    c: &mut Conn<'_>,
    table: &'static str,
    cols: &[(&'static str, Ty)],
    rows: &[T],
    returning: Option<&'static str>,
) -> Result<Vec<i64>> {
    let pg = c.backend() == Backend::Postgres;
    let mut out = Vec::new();
    for chunk in rows.chunks(JSON_ROWS) {
        let json = serde_json::to_string(chunk)
            .map_err(|e| DbError::Conflict(format!("演示数据无法编码：{e}")))?;
        let sel = json_select(pg, cols, json);
        let mut q = Query::insert()
            .into_table(Alias::new(table))
            .columns(cols.iter().map(|(n, _)| Alias::new(*n)))
            .to_owned();
        q.select_from(sel)
            .map_err(|e| DbError::Conflict(format!("演示数据语句有误：{e}")))?;
        match returning {
            Some(col) => {
                q.returning_col(Alias::new(col));
                let mut ids: Vec<i64> = c
                    .insert_returning::<(i64,)>(&q)
                    .await?
                    .into_iter()
                    .map(|r| r.0)
                    .collect();
                ids.sort_unstable();
                let contiguous = ids.len() == chunk.len()
                    && ids
                        .first()
                        .zip(ids.last())
                        .is_some_and(|(a, b)| b - a + 1 == ids.len() as i64);
                if !contiguous {
                    return Err(DbError::Conflict(format!(
                        "{table} 编号不连续：演示数据只能载入空表"
                    )));
                }
                out.extend(ids);
            }
            None => {
                c.execute(&q).await?;
            }
        }
    }
    Ok(out)
}

async fn insert_rectifications(c: &mut Conn<'_>, rows: &[(i64, &Row, Rect)]) -> Result<()> {
    type J<'a> = (
        i64,
        &'static str,
        &'a str,
        &'a str,
        String,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
    );
    let json: Vec<J<'_>> = rows
        .iter()
        .map(|(id, r, x)| {
            (
                *id,
                x.case.state.as_str(),
                r.unit.as_str(),
                r.division.as_str(),
                ts(x.deadline),
                x.verify_note,
                x.rectify_note,
                x.callback_note,
                x.appeal_reason,
                x.review_note,
                x.rectified_at.map(ts),
                x.called_back_at.map(ts),
                ts(x.updated_at),
                x.closed_at.map(ts),
            )
        })
        .collect();
    let cols = [
        ("rating_id", Ty::BigInt),
        ("state", Ty::Text),
        ("unit", Ty::Text),
        ("division_code", Ty::Text),
        ("deadline", Ty::Time),
        ("verify_note", Ty::Text),
        ("rectify_note", Ty::Text),
        ("callback_note", Ty::Text),
        ("appeal_reason", Ty::Text),
        ("review_note", Ty::Text),
        ("rectified_at", Ty::Time),
        ("called_back_at", Ty::Time),
        ("updated_at", Ty::Time),
        ("closed_at", Ty::Time),
    ];
    insert_json(c, "rating_rectifications", &cols, &json, None)
        .await
        .map(|_| ())
}

async fn insert_events(c: &mut Conn<'_>, rows: &[(i64, &Row, Rect)]) -> Result<()> {
    type J<'a> = (
        i64,
        String,
        &'a str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    );
    let json: Vec<J<'_>> = rows
        .iter()
        .flat_map(|(id, _, x)| {
            x.steps
                .iter()
                .map(move |s| (*id, ts(s.at), &*s.actor, s.action, s.from, s.to, s.note))
        })
        .collect();
    let cols = [
        ("rating_id", Ty::BigInt),
        ("at", Ty::Time),
        ("actor", Ty::Text),
        ("action", Ty::Text),
        ("from_state", Ty::Text),
        ("to_state", Ty::Text),
        ("note", Ty::Text),
    ];
    insert_json(c, "rating_events", &cols, &json, None)
        .await
        .map(|_| ())
}

fn pick<'a, T>(rng: &mut SeededRng, items: &'a [T]) -> Option<&'a T> {
    rng.pick(items)
}

fn weighted(rng: &mut SeededRng, w: &[f64]) -> usize {
    let total: f64 = w.iter().sum();
    let mut x = rng.unit() * total;
    for (i, v) in w.iter().enumerate() {
        if x < *v {
            return i;
        }
        x -= v;
    }
    w.len().saturating_sub(1)
}

fn person(rng: &mut SeededRng) -> String {
    let s = pick(rng, &SURNAMES).copied().unwrap_or("李");
    let a = pick(rng, &GIVEN).copied().unwrap_or("明");
    if rng.chance(0.6) {
        let b = pick(rng, &GIVEN).copied().unwrap_or("华");
        format!("{s}{a}{b}")
    } else {
        format!("{s}{a}")
    }
}

fn mobile(rng: &mut SeededRng) -> Option<Phone> {
    let prefix = pick(rng, &MOBILE_PREFIXES).copied().unwrap_or("138");
    Phone::parse(&format!("{prefix}{:08}", rng.range(0, 99_999_999))).ok()
}

/// Whether a code names a village/community or a grid (ratings are placed there).
#[cfg(test)]
fn is_village_or_grid(code: &str) -> bool {
    use shequ_core::Level;
    shequ_core::DivisionCode::parse(code)
        .is_ok_and(|c| matches!(c.level(), Level::Village | Level::Grid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn village(code: &str, population: i64, urban: bool) -> Division {
        Division {
            id: 0,
            code: code.into(),
            name: format!("村{code}"),
            level: "village".into(),
            kind: if urban { "community" } else { "village" }.into(),
            parent_code: Some(code[..9].to_owned()),
            urban,
            urban_rural_class: None,
            population,
            urban_population: 0,
            households: population / 3,
            centroid_lon: None,
            centroid_lat: None,
            polygon: None,
            updated_at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 11, 20, 3, 0, 0).unwrap()
    }

    fn villages() -> Vec<Division> {
        (0..200)
            .map(|i| {
                village(
                    &format!("430502{:03}{:03}", 1 + i / 20, 1 + i % 20),
                    800 + i * 37,
                    i % 3 != 0,
                )
            })
            .collect()
    }

    fn service(seed: u64) -> (HashSet<String>, Vec<Row>) {
        let vs = villages();
        let refs: Vec<&Division> = vs.iter().collect();
        let mut rng = SeededRng::new(seed).fork("ratings");
        let gaps = gap_villages(&mut rng, &refs);
        let rows = service_ratings(&mut rng, &refs, &gaps, now());
        (gaps, rows)
    }

    #[test]
    fn service_ratings_cover_all_but_the_gaps_and_follow_the_rules() {
        let (gaps, rows) = service(5);
        assert_eq!(gaps.len(), 6);
        let rated: HashSet<&str> = rows.iter().map(|r| r.division.as_str()).collect();
        assert_eq!(rated.len(), 200 - gaps.len());
        assert!(gaps.iter().all(|g| !rated.contains(g.as_str())));
        let year_ago = now() - Duration::days(366);
        for r in &rows {
            assert!(r.created_at < now() && r.created_at > year_ago);
            assert!(is_village_or_grid(&r.division));
            assert!((1..=5).contains(&r.level));
            // Real-name ratings carry a name and a phone; anonymous ones neither.
            assert_eq!(r.real_name, r.phone.is_some());
            assert_eq!(r.real_name, !r.rater_name.is_empty());
            assert!(crate::ratings::CHANNELS.contains(&r.channel));
            assert!(
                matches!(r.subject, Subject::Service(m) if !m.is_empty() && m.chars().count() <= 60)
            );
        }
        let real = rows.iter().filter(|r| r.real_name).count() as f64 / rows.len() as f64;
        assert!((0.5..0.7).contains(&real), "real-name share {real}");
        let bad = rows.iter().filter(|r| r.level >= 4).count() as f64 / rows.len() as f64;
        assert!((0.02..0.12).contains(&bad), "差评 share {bad}");
    }

    #[test]
    fn same_seed_same_ratings() {
        let key = |rows: &[Row]| -> Vec<(String, u8, String, DateTime<Utc>)> {
            rows.iter()
                .map(|r| {
                    (
                        r.division.clone(),
                        r.level,
                        r.rater_name.clone(),
                        r.created_at,
                    )
                })
                .collect()
        };
        assert_eq!(key(&service(9).1), key(&service(9).1));
        assert_ne!(key(&service(9).1), key(&service(10).1));
    }

    #[test]
    fn rectification_histories_are_legal() {
        let mut rng = SeededRng::new(3);
        let mut crew = Crew::new(3, HashMap::new());
        let (mut open, mut appealed, mut overturned, mut called_back) = (0, 0, 0, 0);
        let n = 4_000;
        for i in 0..n {
            let real_name = i % 2 == 0;
            let r = Row {
                subject: Subject::Service("居住证办理"),
                division: "430502001001".into(),
                unit: "430502001001".into(),
                level: 4 + (i % 2) as u8,
                real_name,
                rater_name: if real_name {
                    "李明".into()
                } else {
                    String::new()
                },
                phone: None,
                comment: "",
                channel: "qr",
                excluded: false,
                created_at: now() - Duration::hours(i64::from(i) * 2 + 1),
            };
            let x = simulate(&mut rng, &mut crew, &r, now());
            // Replay the history through the rules: every step allowed, in time order.
            let mut case = Case::open(real_name);
            let mut last = r.created_at;
            assert_eq!(x.steps.first().map(|s| s.action), Some("open"));
            for s in x.steps.iter().skip(1) {
                assert!(s.at > last && s.at < now());
                last = s.at;
                assert_eq!(s.from, case.state.as_str());
                let a = Action::from_parts(s.action, s.note, None).unwrap();
                case = case.apply(&a).unwrap().next;
                assert_eq!(s.to, case.state.as_str());
            }
            assert_eq!(case, x.case);
            assert_eq!(x.closed_at.is_some(), x.case.state == State::Closed);
            if x.case.state == State::Closed && !x.case.excluded {
                assert!(x.rectified_at.is_some());
                assert_eq!(x.called_back_at.is_some(), real_name);
            }
            open += usize::from(x.case.state != State::Closed);
            appealed += usize::from(x.case.appealed);
            overturned += usize::from(x.case.excluded);
            called_back += usize::from(x.called_back_at.is_some());
        }
        let share = |k: usize| k as f64 / f64::from(n);
        assert!((0.04..0.2).contains(&share(open)), "open {open}");
        assert!(
            (0.02..0.09).contains(&share(appealed)),
            "appealed {appealed}"
        );
        assert!(overturned > 0 && overturned < appealed);
        assert!(called_back > n as usize / 3);
    }
}
