//! Demo satisfaction surveys: three questionnaires built by the city (or, at
//! small scale, the district) — the year's 社区服务满意度调查 for every village
//! and community (open), a 为老服务满意度调查 for some counties (closed) and a
//! 物业服务满意度调查 for the urban districts (open) — with about 150,000 answered
//! forms from the portal and from paper, drawn to fit each question's kind:
//! scores leaning to 满意, choices with their own popularity, a few comments.
//!
//! About 90% of the villages/communities have answered one in the last twelve
//! months; the rest (rural villages more often) have not, so the coverage
//! indicator shows gaps. Rows go in with multi-row inserts, the same seed
//! giving the same rows.

use super::ratings::{Ty, insert_json, ts};
use crate::audit::{self, Event};
use crate::divisions::Division;
use crate::scope::Actor;
use crate::workorders::{local, utc};
use crate::{Conn, Db, DbError, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sea_query::{Iden, Query};
use shequ_core::DivisionCode;
use shequ_core::rng::SeededRng;
use shequ_core::surveys::{Answer, Question, QuestionKind, Questionnaire, SurveyState};

#[derive(Iden, Clone, Copy)]
enum Surveys {
    Table,
    Title,
    Intro,
    DivisionCode,
    State,
    StartsAt,
    EndsAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
enum SurveyQuestions {
    Table,
    SurveyId,
    Position,
    Kind,
    Title,
    Options,
    MaxChoices,
    Required,
}

#[derive(Iden, Clone, Copy)]
enum SurveyTargets {
    Table,
    SurveyId,
    DivisionCode,
}

/// Villages/communities of the whole city; response totals scale with the tree.
const CITY_VILLAGES: usize = 4_700;
/// Share of villages/communities that answered at least once.
pub const COVERED_SHARE: f64 = 0.9;
/// Responses per transaction.
const TX_RESPONSES: usize = 40_000;

/// What the demo stored.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub surveys: usize,
    pub questions: usize,
    pub responses: usize,
    pub paper: usize,
    pub answers: usize,
    /// Villages/communities with at least one response, of all.
    pub villages_answered: usize,
    pub villages: usize,
}

/// A question with how residents tend to answer it.
struct QDef {
    kind: QuestionKind,
    title: &'static str,
    options: &'static [&'static str],
    /// Single: relative weights; multiple: the chance each option is ticked.
    weights: &'static [f64],
    required: bool,
    max_choices: Option<usize>,
    /// Optional questions: the chance of an answer.
    answered: f64,
}

const fn single(title: &'static str, options: &'static [&'static str], w: &'static [f64]) -> QDef {
    QDef {
        kind: QuestionKind::Single,
        title,
        options,
        weights: w,
        required: true,
        max_choices: None,
        answered: 1.0,
    }
}

const fn multiple(
    title: &'static str,
    options: &'static [&'static str],
    w: &'static [f64],
    max: Option<usize>,
    required: bool,
) -> QDef {
    QDef {
        kind: QuestionKind::Multiple,
        title,
        options,
        weights: w,
        required,
        max_choices: max,
        answered: if required { 1.0 } else { 0.75 },
    }
}

const fn scale(title: &'static str) -> QDef {
    QDef {
        kind: QuestionKind::Scale,
        title,
        options: &[],
        weights: &[],
        required: true,
        max_choices: None,
        answered: 1.0,
    }
}

const fn text(title: &'static str, answered: f64) -> QDef {
    QDef {
        kind: QuestionKind::Text,
        title,
        options: &[],
        weights: &[],
        required: false,
        max_choices: None,
        answered,
    }
}

/// Where a survey goes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Reach {
    /// The whole tree (its root).
    All,
    /// These counties/districts (those present), else the root.
    Counties(&'static [&'static str]),
}

/// A survey of the demo: its questionnaire, when it ran (days before now; `None`
/// for no end), whether it is still open, who it reaches and its share of the
/// responses.
struct SurveyDef {
    title: &'static str,
    intro: &'static str,
    questions: &'static [QDef],
    starts_days_ago: i64,
    ends_days_ago: Option<i64>,
    state: SurveyState,
    reach: Reach,
    /// Responses for the whole city.
    responses: usize,
    /// Only urban communities answer (when the targets have any).
    urban_only: bool,
    /// Share of answers typed in from paper in urban communities and rural villages.
    paper: (f64, f64),
}

const AGE: &[&str] = &["18–35 岁", "36–59 岁", "60 岁及以上"];
const YEARS: &[&str] = &["不满 1 年", "1–5 年", "5 年以上"];

const ANNUAL: [QDef; 10] = [
    single("您的年龄段", AGE, &[0.27, 0.43, 0.30]),
    single("您在本社区（村）居住了多久", YEARS, &[0.1, 0.25, 0.65]),
    scale("您对社区（村）工作人员服务态度的满意程度"),
    scale("您对社区（村）办事效率的满意程度"),
    scale("您对社区（村）环境卫生的满意程度"),
    scale("您对社区（村）治安状况的满意程度"),
    multiple(
        "您最常使用的社区服务（最多选 3 项）",
        &[
            "政务代办",
            "养老服务",
            "医疗卫生",
            "文体活动",
            "儿童托管",
            "就业帮扶",
            "法律咨询",
            "便民维修",
        ],
        &[0.55, 0.35, 0.45, 0.3, 0.12, 0.1, 0.08, 0.2],
        Some(3),
        true,
    ),
    single(
        "遇到问题时，您通常通过什么渠道反映",
        &[
            "12345 热线",
            "社区（村）办公室",
            "网格员",
            "微信群",
            "网上平台",
        ],
        &[0.3, 0.28, 0.2, 0.15, 0.07],
    ),
    multiple(
        "您希望社区（村）优先改进哪些方面",
        &[
            "停车难",
            "老旧小区改造",
            "养老助餐",
            "儿童活动场地",
            "环境卫生",
            "办事流程",
        ],
        &[0.35, 0.3, 0.3, 0.2, 0.25, 0.15],
        None,
        false,
    ),
    text("您对社区（村）服务还有哪些意见和建议", 0.14),
];

const ELDERLY: [QDef; 7] = [
    single(
        "您（或您照护的老人）的年龄",
        &["60–69 岁", "70–79 岁", "80 岁及以上"],
        &[0.45, 0.35, 0.2],
    ),
    multiple(
        "您享受过哪些为老服务",
        &[
            "助餐",
            "助浴",
            "助洁",
            "助医",
            "日间照料",
            "上门探访",
            "老年大学",
        ],
        &[0.5, 0.08, 0.15, 0.35, 0.2, 0.3, 0.1],
        None,
        true,
    ),
    scale("您对老年食堂（助餐点）的满意程度"),
    scale("您对居家上门服务的满意程度"),
    scale("您对高龄津贴等补贴发放的满意程度"),
    single(
        "您是否知道身边的养老服务站点",
        &["知道并去过", "知道但没去过", "不知道"],
        &[0.5, 0.3, 0.2],
    ),
    text("您对为老服务有什么建议", 0.1),
];

const PROPERTY: [QDef; 7] = [
    single(
        "您居住的小区类型",
        &["商品房小区", "老旧小区", "单位宿舍", "安置小区"],
        &[0.5, 0.3, 0.1, 0.1],
    ),
    scale("您对小区保洁的满意程度"),
    scale("您对安保与门禁管理的满意程度"),
    scale("您对设施设备维修的满意程度"),
    single(
        "您是否了解物业费收支公示情况",
        &["了解", "听说过", "不了解"],
        &[0.35, 0.35, 0.3],
    ),
    multiple(
        "您最希望物业改进的方面（最多选 2 项）",
        &[
            "停车管理",
            "电梯维护",
            "绿化养护",
            "垃圾清运",
            "噪音管理",
            "收费透明",
        ],
        &[0.45, 0.25, 0.2, 0.2, 0.15, 0.3],
        Some(2),
        true,
    ),
    text("您对物业服务还有哪些意见", 0.12),
];

const SURVEYS: [SurveyDef; 3] = [
    SurveyDef {
        title: "社区服务满意度调查",
        intro: "为了解居民对社区（村）服务的评价，改进服务工作，特开展本次调查。调查匿名进行，约需 3 分钟，感谢您的支持！",
        questions: &ANNUAL,
        starts_days_ago: 100,
        ends_days_ago: Some(-31),
        state: SurveyState::Open,
        reach: Reach::All,
        responses: 90_000,
        urban_only: false,
        paper: (0.2, 0.55),
    },
    SurveyDef {
        title: "为老服务满意度调查",
        intro: "请老年居民或其家属填写，了解助餐、上门服务和补贴发放情况。",
        questions: &ELDERLY,
        starts_days_ago: 300,
        ends_days_ago: Some(210),
        state: SurveyState::Closed,
        reach: Reach::Counties(&["430502", "430503", "430511", "430521", "430524", "430581"]),
        responses: 35_000,
        urban_only: false,
        paper: (0.45, 0.75),
    },
    SurveyDef {
        title: "物业服务满意度调查",
        intro: "面向城区住宅小区居民，了解物业服务质量，结果将通报各物业服务企业。",
        questions: &PROPERTY,
        starts_days_ago: 60,
        ends_days_ago: None,
        state: SurveyState::Open,
        reach: Reach::Counties(&["430502", "430503", "430511"]),
        responses: 25_000,
        urban_only: true,
        paper: (0.15, 0.3),
    },
];

/// Scores 1 (很不满意) … 5 (很满意).
const SCORES: [f64; 5] = [0.02, 0.05, 0.15, 0.38, 0.40];

const GOOD_TEXT: [&str; 8] = [
    "社区工作人员很热情，办事方便",
    "网格员经常上门，有事能及时找到人",
    "环境比以前干净多了",
    "希望继续保持",
    "老年食堂饭菜可口，价格实惠",
    "活动丰富，老人孩子都有地方去",
    "办事不用跑腿，点个赞",
    "物业响应快，报修当天就来了",
];
const FAIR_TEXT: [&str; 8] = [
    "希望增加周末值班时间",
    "停车位太少，晚上回来没地方停",
    "希望多组织一些文体活动",
    "小区路灯有几盏不亮，希望尽快修",
    "办事材料能不能在网上提前公布",
    "希望增加健身器材",
    "楼道堆放杂物，希望加强管理",
    "垃圾分类宣传可以再多一些",
];
const BAD_TEXT: [&str; 6] = [
    "反映的问题一直没有回音",
    "工作人员经常不在办公室",
    "物业收费高，服务跟不上",
    "夜间噪音扰民，多次反映未解决",
    "电梯经常坏，维修太慢",
    "小区卫生差，垃圾清运不及时",
];

/// A response to store: survey index, village, channel, time and answers.
#[derive(Debug, Clone, PartialEq)]
struct Resp {
    survey: usize,
    division: String,
    paper: bool,
    nonce: String,
    created_at: DateTime<Utc>,
    answers: Vec<(usize, Answer)>,
}

/// The questionnaire of a survey definition, as the store keeps it.
fn questionnaire(d: &SurveyDef, year: i32) -> Questionnaire {
    let title = if d.reach == Reach::All {
        format!("{year}年度{}", d.title)
    } else {
        d.title.to_owned()
    };
    Questionnaire {
        title,
        intro: d.intro.to_owned(),
        questions: d
            .questions
            .iter()
            .map(|q| Question {
                kind: q.kind,
                title: q.title.to_owned(),
                options: q.options.iter().map(|o| (*o).to_owned()).collect(),
                required: q.required,
                max_choices: q.max_choices,
            })
            .collect(),
    }
}

/// Generate and store the surveys and their responses; indicators are not
/// refreshed here.
pub async fn load(db: &Db, seed: u64, now: DateTime<Utc>) -> Result<Summary> {
    let all = crate::divisions::all(&mut db.conn()).await?;
    let Some(root) = all.iter().find(|d| d.parent_code.is_none()) else {
        return Err(DbError::Conflict("没有区划数据，请先载入演示区划".into()));
    };
    let villages: Vec<&Division> = all.iter().filter(|d| d.level == "village").collect();
    let year = local(now).year();
    let targets: Vec<Vec<String>> = SURVEYS
        .iter()
        .map(|d| targets_of(d.reach, &root.code, &all))
        .collect();
    let mut rng = SeededRng::new(seed).fork("surveys");
    let responses = plan(&mut rng, &villages, &targets, now);
    let mut summary = Summary {
        surveys: SURVEYS.len(),
        villages: villages.len(),
        responses: responses.len(),
        paper: responses.iter().filter(|r| r.paper).count(),
        answers: responses.iter().map(|r| r.answers.len()).sum(),
        ..Summary::default()
    };
    let mut answered: Vec<&str> = responses.iter().map(|r| r.division.as_str()).collect();
    answered.sort_unstable();
    answered.dedup();
    summary.villages_answered = answered.len();

    let mut tx = db.begin().await?;
    let mut ids = Vec::with_capacity(SURVEYS.len());
    for (d, t) in SURVEYS.iter().zip(&targets) {
        let q = questionnaire(d, year)
            .validate()
            .map_err(|e| DbError::Conflict(format!("演示问卷有误：{e:?}")))?;
        summary.questions += q.questions.len();
        ids.push(insert_survey(&mut tx.conn(), d, &q, &root.code, t, now).await?);
    }
    tx.commit().await?;
    insert_responses(db, &responses, &ids).await?;
    let detail = serde_json::json!({
        "surveys": summary.surveys,
        "responses": summary.responses,
        "villages_answered": summary.villages_answered,
        "seed": seed,
    });
    let mut tx = db.begin().await?;
    let ev = Event::new("demo_surveys_load", "survey", "").detail(detail);
    audit::append(&mut tx.conn(), &Actor::system(), ev, now).await?;
    tx.commit().await?;
    Ok(summary)
}

/// The target codes of a survey: the counties present, else the root.
fn targets_of(reach: Reach, root: &str, all: &[Division]) -> Vec<String> {
    match reach {
        Reach::All => vec![root.to_owned()],
        Reach::Counties(list) => {
            let found: Vec<String> = list
                .iter()
                .filter(|c| all.iter().any(|d| d.code == **c))
                .map(|c| (*c).to_owned())
                .collect();
            if found.is_empty() {
                vec![root.to_owned()]
            } else {
                found
            }
        }
    }
}

/// The responses of every survey: the covered villages (about
/// [`COVERED_SHARE`], rural ones more often left out) each answer the survey
/// for everyone at least once; the rest spread by households.
fn plan(
    rng: &mut SeededRng,
    villages: &[&Division],
    targets: &[Vec<String>],
    now: DateTime<Utc>,
) -> Vec<Resp> {
    let mut keyed: Vec<(f64, &Division)> = villages
        .iter()
        .map(|v| (rng.unit() * if v.urban { 2.5 } else { 1.0 }, *v))
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.code.cmp(&b.1.code)));
    let left_out = villages.len() - (villages.len() as f64 * COVERED_SHARE).round() as usize;
    let mut covered: Vec<&Division> = keyed.into_iter().skip(left_out).map(|(_, v)| v).collect();
    covered.sort_by(|a, b| a.code.cmp(&b.code));
    let scale = villages.len() as f64 / CITY_VILLAGES as f64;
    let mut out = Vec::new();
    for (s, (d, t)) in SURVEYS.iter().zip(targets).enumerate() {
        let t: Vec<DivisionCode> = t.iter().filter_map(|c| c.parse().ok()).collect();
        let under: Vec<&Division> = covered
            .iter()
            .filter(|v| {
                v.code
                    .parse::<DivisionCode>()
                    .is_ok_and(|c| t.iter().any(|t| c.is_within(t)))
            })
            .copied()
            .collect();
        let urban: Vec<&Division> = under.iter().filter(|v| v.urban).copied().collect();
        let places = if d.urban_only && !urban.is_empty() {
            urban
        } else {
            under
        };
        if places.is_empty() {
            continue;
        }
        let total = (d.responses as f64 * scale).round() as i64;
        // The survey for everyone reaches every covered village at least once.
        let floor = i64::from(d.reach == Reach::All);
        let rest = Ord::max(total - floor * places.len() as i64, 0);
        let weights: Vec<f64> = places
            .iter()
            .map(|v| Ord::max(v.households, 1) as f64)
            .collect();
        let counts = super::apportion(rest, &weights);
        let (start, end) = window(d, now);
        let end = end.map_or(now, |e| Ord::min(e, now));
        let mut r = rng.fork(&format!("surveys/{s}"));
        for (v, n) in places.iter().zip(counts) {
            let tilt = (r.unit() - 0.5) * 0.6;
            let paper_p = if v.urban { d.paper.0 } else { d.paper.1 };
            for _ in 0..n + floor {
                let paper = r.chance(paper_p);
                out.push(Resp {
                    survey: s,
                    division: v.code.clone(),
                    paper,
                    nonce: nonce(&mut r),
                    created_at: answer_time(&mut r, start, end, paper),
                    answers: answers(&mut r, d.questions, tilt),
                });
            }
        }
    }
    out.sort_by_key(|x| x.created_at);
    out
}

/// A random 32-character hexadecimal nonce.
fn nonce(rng: &mut SeededRng) -> String {
    format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64())
}

/// A time in `[start, end)`: more answers early in the survey; paper forms in
/// office hours, the portal from morning to late evening.
fn answer_time(
    rng: &mut SeededRng,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    paper: bool,
) -> DateTime<Utc> {
    let first: NaiveDate = local(start).date() + Duration::days(1);
    let last: NaiveDate = local(end).date() - Duration::days(1);
    let span = Ord::max((last - first).num_days(), 0);
    let day = first + Duration::days((rng.unit().powf(1.5) * (span + 1) as f64) as i64);
    let mins = if paper {
        rng.range(8 * 60 + 30, 17 * 60 + 30)
    } else {
        rng.range(7 * 60, 22 * 60 + 30)
    } as u32;
    let t = day
        .and_hms_opt(mins / 60, mins % 60, rng.range(0, 59) as u32)
        .map_or(start, utc);
    if t >= start && t < end {
        t
    } else {
        start + Duration::minutes(rng.range(1, 600)).min((end - start) / 2)
    }
}

/// Answers fitting each question's kind; scores leaning to satisfied, moved by
/// the village's `tilt` (negative: happier), a comment now and then that
/// matches the scores given.
fn answers(rng: &mut SeededRng, qs: &[QDef], tilt: f64) -> Vec<(usize, Answer)> {
    let mut out = Vec::with_capacity(qs.len());
    let (mut sum, mut n) = (0u32, 0u32);
    for (i, q) in qs.iter().enumerate() {
        let pos = i + 1;
        if !q.required && !rng.chance(q.answered) {
            continue;
        }
        let a = match q.kind {
            QuestionKind::Single => Answer::Single(weighted(rng, q.weights)),
            QuestionKind::Multiple => {
                let mut picked: Vec<usize> = q
                    .weights
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| rng.chance(**w))
                    .map(|(k, _)| k)
                    .collect();
                if picked.is_empty() {
                    picked.push(weighted(rng, q.weights));
                }
                if let Some(max) = q.max_choices {
                    while picked.len() > max {
                        let k = rng.range(0, picked.len() as i64 - 1) as usize;
                        picked.remove(k);
                    }
                }
                Answer::Multiple(picked)
            }
            QuestionKind::Scale => {
                let mut s = weighted(rng, &SCORES) as i64 + 1;
                if rng.chance(tilt.abs()) {
                    s += if tilt > 0.0 { -1 } else { 1 };
                }
                let s = s.clamp(1, 5) as u8;
                sum += u32::from(s);
                n += 1;
                Answer::Scale(s)
            }
            QuestionKind::Text => {
                let mean = if n == 0 {
                    4.0
                } else {
                    f64::from(sum) / f64::from(n)
                };
                let list: &[&str] = if mean >= 4.0 {
                    &GOOD_TEXT
                } else if mean >= 3.0 {
                    &FAIR_TEXT
                } else {
                    &BAD_TEXT
                };
                Answer::Text(rng.pick(list).copied().unwrap_or("无").to_owned())
            }
        };
        out.push((pos, a));
    }
    out
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

/// When a survey takes answers: from the local midnight `starts_days_ago` days
/// back to the local midnight `ends_days_ago` days back (in the future when
/// negative), or with no end.
fn window(d: &SurveyDef, now: DateTime<Utc>) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
    let day = |n: i64| -> DateTime<Utc> {
        let date = local(now - Duration::days(n)).date();
        date.and_hms_opt(0, 0, 0).map_or(now, utc)
    };
    (day(d.starts_days_ago), d.ends_days_ago.map(day))
}

/// Store one survey with its questions and targets; returns its id.
async fn insert_survey(
    c: &mut Conn<'_>,
    d: &SurveyDef,
    q: &Questionnaire,
    owner: &str,
    targets: &[String],
    now: DateTime<Utc>,
) -> Result<i64> {
    let (starts, ends) = window(d, now);
    let created = starts - Duration::days(7) + Duration::hours(10);
    let updated = match (d.state, ends) {
        (SurveyState::Closed, Some(e)) => e,
        _ => starts,
    };
    let ins = Query::insert()
        .into_table(Surveys::Table)
        .columns([
            Surveys::Title,
            Surveys::Intro,
            Surveys::DivisionCode,
            Surveys::State,
            Surveys::StartsAt,
            Surveys::EndsAt,
            Surveys::CreatedBy,
            Surveys::CreatedAt,
            Surveys::UpdatedAt,
        ])
        .values_panic([
            q.title.clone().into(),
            q.intro.clone().into(),
            owner.into(),
            d.state.as_str().into(),
            Some(starts).into(),
            ends.into(),
            None::<i64>.into(),
            created.into(),
            updated.into(),
        ])
        .to_owned();
    let id = c.insert_id(&ins).await?;
    let mut ins = Query::insert()
        .into_table(SurveyQuestions::Table)
        .columns([
            SurveyQuestions::SurveyId,
            SurveyQuestions::Position,
            SurveyQuestions::Kind,
            SurveyQuestions::Title,
            SurveyQuestions::Options,
            SurveyQuestions::MaxChoices,
            SurveyQuestions::Required,
        ])
        .to_owned();
    for (i, question) in q.questions.iter().enumerate() {
        let options = serde_json::to_string(&question.options)
            .map_err(|e| DbError::Conflict(format!("选项无法保存：{e}")))?;
        ins.values_panic([
            id.into(),
            i32::try_from(i + 1).unwrap_or(i32::MAX).into(),
            question.kind.as_str().into(),
            question.title.clone().into(),
            options.into(),
            question
                .max_choices
                .and_then(|m| i32::try_from(m).ok())
                .into(),
            question.required.into(),
        ]);
    }
    c.execute(&ins).await?;
    let mut ins = Query::insert()
        .into_table(SurveyTargets::Table)
        .columns([SurveyTargets::SurveyId, SurveyTargets::DivisionCode])
        .to_owned();
    for t in targets {
        ins.values_panic([id.into(), t.as_str().into()]);
    }
    c.execute(&ins).await?;
    Ok(id)
}

/// Store responses and their answers, `TX_RESPONSES` at a time per transaction.
async fn insert_responses(db: &Db, rows: &[Resp], survey_ids: &[i64]) -> Result<()> {
    type R<'a> = (i64, &'a str, &'static str, Option<i64>, &'a str, String);
    let cols = [
        ("survey_id", Ty::BigInt),
        ("division_code", Ty::Text),
        ("channel", Ty::Text),
        ("entered_by", Ty::BigInt),
        ("nonce", Ty::Text),
        ("created_at", Ty::Time),
    ];
    let answer_cols = [
        ("response_id", Ty::BigInt),
        ("position", Ty::Int),
        ("value", Ty::Text),
    ];
    for chunk in rows.chunks(TX_RESPONSES) {
        let json: Vec<R<'_>> = chunk
            .iter()
            .map(|r| {
                (
                    survey_ids.get(r.survey).copied().unwrap_or(0),
                    r.division.as_str(),
                    if r.paper { "paper" } else { "portal" },
                    None,
                    r.nonce.as_str(),
                    ts(r.created_at),
                )
            })
            .collect();
        let mut tx = db.begin().await?;
        let mut c = tx.conn();
        let ids = insert_json(&mut c, "survey_responses", &cols, &json, Some("id")).await?;
        let answers: Vec<(i64, i32, String)> = ids
            .iter()
            .zip(chunk)
            .flat_map(|(id, r)| {
                r.answers.iter().map(move |(pos, a)| {
                    (*id, i32::try_from(*pos).unwrap_or(i32::MAX), a.to_stored())
                })
            })
            .collect();
        insert_json(&mut c, "survey_answers", &answer_cols, &answers, None).await?;
        tx.commit().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use shequ_core::surveys::check_answers;
    use std::collections::BTreeMap;

    fn village(code: &str, households: i64, urban: bool) -> Division {
        Division {
            id: 0,
            code: code.into(),
            name: format!("村{code}"),
            level: "village".into(),
            kind: if urban { "community" } else { "village" }.into(),
            parent_code: Some(code[..9].to_owned()),
            urban,
            urban_rural_class: None,
            population: households * 3,
            urban_population: 0,
            households,
            centroid_lon: None,
            centroid_lat: None,
            polygon: None,
            updated_at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 11, 20, 3, 0, 0).unwrap()
    }

    fn run(seed: u64) -> (Vec<Division>, Vec<Resp>) {
        // 300 villages in two districts, one of them urban.
        let mut vs: Vec<Division> = (0..300)
            .map(|i| {
                let county = if i < 150 { "430502" } else { "430523" };
                village(
                    &format!("{county}{:03}{:03}", 1 + (i % 150) / 25, 1 + i % 25),
                    200 + i * 13,
                    i < 150 && i % 5 != 0,
                )
            })
            .collect();
        let refs: Vec<&Division> = vs.iter().collect();
        let mut all = vs.clone();
        let mut county = village("430502000000", 0, true);
        county.code = "430502".into();
        county.level = "county".into();
        all.push(county);
        let targets: Vec<Vec<String>> = SURVEYS
            .iter()
            .map(|d| targets_of(d.reach, "430500", &all))
            .collect();
        assert_eq!(targets[1], vec!["430502".to_owned()]);
        let mut rng = SeededRng::new(seed).fork("surveys");
        let r = plan(&mut rng, &refs, &targets, now());
        vs.truncate(300);
        (vs, r)
    }

    #[test]
    fn answers_fit_the_questionnaires_and_windows() {
        let (vs, rs) = run(4);
        assert!(!rs.is_empty());
        let qs: Vec<Questionnaire> = SURVEYS
            .iter()
            .map(|d| questionnaire(d, 2025).validate().unwrap())
            .collect();
        // Every kind of question is asked.
        for k in QuestionKind::ALL {
            assert!(qs[0].questions.iter().any(|q| q.kind == k));
        }
        assert!((8..=10).contains(&qs[0].questions.len()));
        let mut nonces = std::collections::HashSet::new();
        for r in &rs {
            let map: BTreeMap<usize, Answer> = r.answers.iter().cloned().collect();
            let checked = check_answers(&qs[r.survey], &map).unwrap();
            assert_eq!(checked, r.answers, "answers are stored as checked");
            let (starts, ends) = window(&SURVEYS[r.survey], now());
            assert!(r.created_at < now() && r.created_at >= starts);
            assert!(ends.is_none_or(|e| r.created_at < e));
            assert!(nonces.insert(r.nonce.clone()));
            assert_eq!(r.nonce.len(), 32);
        }
        // The elderly survey only in its district; property surveys only in
        // urban communities of theirs.
        assert!(
            rs.iter()
                .filter(|r| r.survey == 1)
                .all(|r| r.division.starts_with("430502"))
        );
        assert!(
            rs.iter()
                .filter(|r| r.survey == 2)
                .all(|r| vs.iter().any(|v| v.code == r.division && v.urban))
        );
        assert!(rs.iter().any(|r| r.survey == 2) && rs.iter().any(|r| r.paper));
        // Scores lean to satisfied.
        let scores: Vec<u8> = rs
            .iter()
            .flat_map(|r| r.answers.iter())
            .filter_map(|(_, a)| match a {
                Answer::Scale(s) => Some(*s),
                _ => None,
            })
            .collect();
        let mean = scores.iter().map(|s| f64::from(*s)).sum::<f64>() / scores.len() as f64;
        assert!((3.8..4.4).contains(&mean), "mean score {mean}");
    }

    #[test]
    fn about_nine_in_ten_villages_answer() {
        let (vs, rs) = run(4);
        let mut answered: Vec<&str> = rs.iter().map(|r| r.division.as_str()).collect();
        answered.sort_unstable();
        answered.dedup();
        assert_eq!(answered.len(), 270);
        // The survey for everyone reached every covered village.
        let annual: std::collections::HashSet<&str> = rs
            .iter()
            .filter(|r| r.survey == 0)
            .map(|r| r.division.as_str())
            .collect();
        assert_eq!(annual.len(), 270);
        assert_eq!(vs.len(), 300);
    }

    #[test]
    fn same_seed_same_responses() {
        assert_eq!(run(4).1, run(4).1);
        assert_ne!(run(4).1, run(5).1);
    }
}
