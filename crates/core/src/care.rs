//! 探访关爱: risk tiers, visit intervals and the monthly visit rule for special-difficulty elderly.
//!
//! Who is on the roster: people aged 60 or more with at least one care tag (独居, 空巢,
//! 留守, 失能, 重残, 高龄, 计生特殊家庭, 低保, 特困). Each subject gets a risk tier
//! ([`Tier`]) from their age and tags, and each tier a visit frequency ([`Frequency`]).
//! A visit counts toward the monthly visit rate when its channel is valid for the
//! subject's tier ([`CareSettings::counts`]). All rules here are pure; the store keeps
//! the roster, the plan and the visits.

use crate::person::Tag;
use crate::validation::FieldErrors;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// Youngest age on the roster.
pub const MIN_AGE: u32 = 60;
/// Longest note per content area, guardian or contact note.
pub const MAX_NOTE: usize = 200;
/// Longest reason for a manual addition or an exclusion.
pub const MAX_REASON: usize = 200;

/// The tags that put a person aged 60+ on the roster.
pub const CARE_TAGS: [Tag; 9] = [
    Tag::LivingAlone,
    Tag::EmptyNest,
    Tag::LeftBehindElderly,
    Tag::DisabledElderly,
    Tag::SeverelyDisabled,
    Tag::OldestOld,
    Tag::SpecialFamilyPlanning,
    Tag::Dibao,
    Tag::Tekun,
];

/// Risk tier (风险等级) of a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    High,
    Key,
    General,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::High, Tier::Key, Tier::General];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::High => "high",
            Tier::Key => "key",
            Tier::General => "general",
        }
    }

    /// 高风险 / 重点 / 一般.
    pub fn label(self) -> &'static str {
        match self {
            Tier::High => "高风险",
            Tier::Key => "重点",
            Tier::General => "一般",
        }
    }

    /// Accepts the code or the label.
    pub fn parse(s: &str) -> Option<Tier> {
        let s = s.trim();
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str() == s || t.label() == s)
    }
}

/// How often a tier is visited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Weekly,
    Monthly,
    Quarterly,
}

impl Frequency {
    pub const ALL: [Frequency; 3] = [Frequency::Weekly, Frequency::Monthly, Frequency::Quarterly];

    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Weekly => "weekly",
            Frequency::Monthly => "monthly",
            Frequency::Quarterly => "quarterly",
        }
    }

    /// 每周 / 每月 / 每季度.
    pub fn label(self) -> &'static str {
        match self {
            Frequency::Weekly => "每周",
            Frequency::Monthly => "每月",
            Frequency::Quarterly => "每季度",
        }
    }

    pub fn parse(s: &str) -> Option<Frequency> {
        let s = s.trim();
        Frequency::ALL
            .into_iter()
            .find(|f| f.as_str() == s || f.label() == s)
    }
}

/// How a visit was made (探访方式).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Home,
    Phone,
    Video,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Home, Channel::Phone, Channel::Video];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Home => "home",
            Channel::Phone => "phone",
            Channel::Video => "video",
        }
    }

    /// 上门 / 电话 / 视频.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Home => "上门",
            Channel::Phone => "电话",
            Channel::Video => "视频",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        let s = s.trim();
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == s || c.label() == s)
    }
}

/// What a visitor found in one content area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    Normal,
    Attention,
    Need,
}

impl Finding {
    pub const ALL: [Finding; 3] = [Finding::Normal, Finding::Attention, Finding::Need];

    pub fn as_str(self) -> &'static str {
        match self {
            Finding::Normal => "normal",
            Finding::Attention => "attention",
            Finding::Need => "need",
        }
    }

    /// 正常 / 需关注 / 有需求.
    pub fn label(self) -> &'static str {
        match self {
            Finding::Normal => "正常",
            Finding::Attention => "需关注",
            Finding::Need => "有需求",
        }
    }

    pub fn parse(s: &str) -> Option<Finding> {
        let s = s.trim();
        Finding::ALL
            .into_iter()
            .find(|f| f.as_str() == s || f.label() == s)
    }
}

/// The four content areas every visit covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Living,
    Safety,
    Support,
    Service,
}

impl Area {
    pub const ALL: [Area; 4] = [Area::Living, Area::Safety, Area::Support, Area::Service];

    pub fn as_str(self) -> &'static str {
        match self {
            Area::Living => "living",
            Area::Safety => "safety",
            Area::Support => "support",
            Area::Service => "service",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Area::Living => "基本生活情况",
            Area::Safety => "安全风险情况",
            Area::Support => "家庭赡（抚）养",
            Area::Service => "关爱服务情况",
        }
    }
}

/// The care-relevant facts about a person: age and which care tags they carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Profile {
    pub age: u32,
    pub living_alone: bool,
    pub empty_nest: bool,
    pub left_behind: bool,
    pub disabled: bool,
    pub severely_disabled: bool,
    pub oldest_old: bool,
    pub special_family_planning: bool,
    pub dibao: bool,
    pub tekun: bool,
}

impl Profile {
    /// Build from an age and any tags (tags that do not concern care are ignored).
    pub fn new(age: u32, tags: &[Tag]) -> Profile {
        let has = |t: Tag| tags.contains(&t);
        Profile {
            age,
            living_alone: has(Tag::LivingAlone),
            empty_nest: has(Tag::EmptyNest),
            left_behind: has(Tag::LeftBehindElderly),
            disabled: has(Tag::DisabledElderly),
            severely_disabled: has(Tag::SeverelyDisabled),
            oldest_old: has(Tag::OldestOld),
            special_family_planning: has(Tag::SpecialFamilyPlanning),
            dibao: has(Tag::Dibao),
            tekun: has(Tag::Tekun),
        }
    }

    fn any_tag(&self) -> bool {
        self.living_alone
            || self.empty_nest
            || self.left_behind
            || self.disabled
            || self.severely_disabled
            || self.oldest_old
            || self.special_family_planning
            || self.dibao
            || self.tekun
    }
}

/// Whether a person belongs on the roster: 60+ with at least one care tag.
pub fn qualifies(p: &Profile) -> bool {
    p.age >= MIN_AGE && p.any_tag()
}

/// Age in whole years on `day`.
pub fn age_on(birth: NaiveDate, day: NaiveDate) -> u32 {
    let mut years = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years.max(0)).unwrap_or(0)
}

/// The configurable care rules, kept as one JSON setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CareSettings {
    /// Age from which a subject counts as 高龄 for the tier rule.
    pub oldest_age: u32,
    pub high: Frequency,
    pub key: Frequency,
    pub general: Frequency,
    /// Tiers for which a phone call counts as a valid visit.
    pub phone_counts_for: Vec<Tier>,
    /// Whether a video call counts as a valid visit.
    pub video_counts: bool,
}

impl Default for CareSettings {
    fn default() -> Self {
        CareSettings {
            oldest_age: 80,
            high: Frequency::Weekly,
            key: Frequency::Monthly,
            general: Frequency::Quarterly,
            phone_counts_for: vec![Tier::General],
            video_counts: true,
        }
    }
}

impl CareSettings {
    /// Check the values a setting may hold.
    pub fn check(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::new();
        if !(MIN_AGE..=120).contains(&self.oldest_age) {
            e.add(
                "oldest_age",
                "bad_age",
                format!("高龄起算年龄应在 {MIN_AGE} 到 120 之间"),
            );
        }
        e.into_result()
    }

    pub fn frequency(&self, tier: Tier) -> Frequency {
        match tier {
            Tier::High => self.high,
            Tier::Key => self.key,
            Tier::General => self.general,
        }
    }

    /// The tier the rule gives:
    /// 高风险 = 高龄 and (独居, 空巢 or 留守), or 失能/重残 and 独居;
    /// 重点 = 失能, 重残, 特困, 计生特殊家庭 or 高龄; 一般 = the rest.
    pub fn tier(&self, p: &Profile) -> Tier {
        let old = p.age >= self.oldest_age || p.oldest_old;
        let alone = p.living_alone || p.empty_nest || p.left_behind;
        let frail = p.disabled || p.severely_disabled;
        if (old && alone) || (frail && p.living_alone) {
            Tier::High
        } else if frail || p.tekun || p.special_family_planning || old {
            Tier::Key
        } else {
            Tier::General
        }
    }

    /// Whether a visit by `channel` counts for a subject of `tier`.
    pub fn counts(&self, tier: Tier, channel: Channel) -> bool {
        match channel {
            Channel::Home => true,
            Channel::Video => self.video_counts,
            Channel::Phone => self.phone_counts_for.contains(&tier),
        }
    }
}

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn new(year: i32, month: u32) -> Option<Month> {
        NaiveDate::from_ymd_opt(year, month, 1).map(|_| Month { year, month })
    }

    pub fn of(d: NaiveDate) -> Month {
        Month {
            year: d.year(),
            month: d.month(),
        }
    }

    /// "2025-06".
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        Month::new(y.parse().ok()?, m.parse().ok()?)
    }

    /// "2025-06".
    pub fn key(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    pub fn first(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn prev(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    pub fn last(self) -> NaiveDate {
        self.next().first() - Duration::days(1)
    }

    /// First day of the quarter the month lies in.
    pub fn quarter_start(self) -> NaiveDate {
        let m = (self.month - 1) / 3 * 3 + 1;
        NaiveDate::from_ymd_opt(self.year, m, 1).unwrap_or_default()
    }

    /// Whether the month closes its quarter (March, June, September, December).
    pub fn ends_quarter(self) -> bool {
        self.month.is_multiple_of(3)
    }
}

/// One due visit of a month's plan: a valid visit between `window_start` and `due`
/// (both inclusive, local dates) fulfils it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub window_start: NaiveDate,
    pub due: NaiveDate,
}

/// The due visits of one subject in `month`:
/// weekly → one per week whose Sunday falls in the month (window Monday–Sunday);
/// monthly → one, due on the month's last day;
/// quarterly → one in the quarter's last month, unless already visited this quarter.
/// Windows never begin before the subject joined (`since`); a subject who joined
/// after a due date owes nothing for it.
pub fn due_visits(
    freq: Frequency,
    month: Month,
    since: NaiveDate,
    visited_this_quarter: bool,
) -> Vec<Due> {
    let (first, last) = (month.first(), month.last());
    let mut out = Vec::new();
    match freq {
        Frequency::Weekly => {
            let to_sunday = (7 - first.weekday().num_days_from_monday() - 1) % 7;
            let mut sunday = first + Duration::days(i64::from(to_sunday));
            while sunday <= last {
                out.push(Due {
                    window_start: sunday - Duration::days(6),
                    due: sunday,
                });
                sunday += Duration::days(7);
            }
        }
        Frequency::Monthly => out.push(Due {
            window_start: first,
            due: last,
        }),
        Frequency::Quarterly => {
            if month.ends_quarter() && !visited_this_quarter {
                out.push(Due {
                    window_start: month.quarter_start(),
                    due: last,
                });
            }
        }
    }
    out.into_iter()
        .filter(|d| d.due >= since)
        .map(|d| Due {
            window_start: d.window_start.max(since),
            due: d.due,
        })
        .collect()
}

/// Monday of the week holding `d`.
pub fn week_start(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// The Sunday closing the week holding `d`.
pub fn week_end(d: NaiveDate) -> NaiveDate {
    let s = week_start(d) + Duration::days(6);
    debug_assert_eq!(s.weekday(), Weekday::Sun);
    s
}

/// China Standard Time, the clock of every care date (no daylight saving).
pub const CST_HOURS: i64 = 8;

/// The local (Beijing) date of an instant.
pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    (t + Duration::hours(CST_HOURS)).date_naive()
}

/// 00:00 Beijing time on `d`, as an instant.
pub fn start_of(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - Duration::hours(CST_HOURS)
}

/// One content area as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaEntry {
    pub finding: Finding,
    pub note: String,
}

/// A visit as entered, after parsing the codes.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitInput {
    pub visited_at: DateTime<Utc>,
    pub channel: Channel,
    /// In the order of [`Area::ALL`].
    pub areas: [AreaEntry; 4],
    pub emergency: bool,
}

/// Check a visit against the clock and the subject's join date. Errors are filed
/// under the form's field names (`visited_at`, `<area>_note`).
pub fn check_visit(
    v: &VisitInput,
    joined: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), FieldErrors> {
    let mut e = FieldErrors::new();
    if v.visited_at > now + Duration::minutes(5) {
        e.add("visited_at", "visit_in_future", "探访时间不能晚于现在");
    } else if local_date(v.visited_at) < joined {
        e.add(
            "visited_at",
            "visit_before_joined",
            format!("探访时间不能早于该对象纳入名册的日期（{joined}）"),
        );
    }
    for (area, entry) in Area::ALL.iter().zip(&v.areas) {
        let field = format!("{}_note", area.as_str());
        if entry.note.chars().count() > MAX_NOTE {
            e.add(
                &field,
                "too_long",
                format!("{}说明不能超过 {MAX_NOTE} 个字", area.label()),
            );
        } else if entry.note.chars().any(|c| c.is_control() && c != '\n') {
            e.add(
                &field,
                "bad_chars",
                format!("{}说明中含有控制字符", area.label()),
            );
        }
    }
    e.into_result()
}

/// Whether any area reports a need (有需求).
pub fn has_need(v: &VisitInput) -> bool {
    v.areas.iter().any(|a| a.finding == Finding::Need)
}

/// Check a free-text reason or note: trimmed, not longer than `max`, no control chars.
pub fn check_text(
    field: &str,
    text: &str,
    max: usize,
    required: bool,
    label: &str,
) -> Result<String, FieldErrors> {
    let t = text.trim();
    let mut e = FieldErrors::new();
    if required && t.is_empty() {
        e.add(field, "required", format!("请填写{label}"));
    } else if t.chars().count() > max {
        e.add(field, "too_long", format!("{label}不能超过 {max} 个字"));
    } else if t.chars().any(|c| c.is_control() && c != '\n') {
        e.add(field, "bad_chars", format!("{label}中含有控制字符"));
    }
    e.into_result().map(|_| t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn tier_rule_examples() {
        let s = CareSettings::default();
        let t = |age, tags: &[Tag]| s.tier(&Profile::new(age, tags));
        assert_eq!(t(85, &[Tag::LivingAlone]), Tier::High);
        assert_eq!(t(70, &[Tag::OldestOld, Tag::EmptyNest]), Tier::High);
        assert_eq!(t(65, &[Tag::DisabledElderly, Tag::LivingAlone]), Tier::High);
        assert_eq!(t(65, &[Tag::DisabledElderly]), Tier::Key);
        assert_eq!(t(65, &[Tag::Tekun]), Tier::Key);
        assert_eq!(t(82, &[Tag::Dibao]), Tier::Key);
        assert_eq!(t(65, &[Tag::EmptyNest]), Tier::General);
        assert_eq!(t(65, &[Tag::Dibao]), Tier::General);
        assert!(!qualifies(&Profile::new(59, &[Tag::LivingAlone])));
        assert!(!qualifies(&Profile::new(75, &[])));
        assert!(!qualifies(&Profile::new(75, &[Tag::Disability])));
        assert!(qualifies(&Profile::new(60, &[Tag::Dibao])));
    }

    #[test]
    fn valid_channels_follow_the_setting() {
        let s = CareSettings::default();
        assert!(s.counts(Tier::High, Channel::Home));
        assert!(s.counts(Tier::High, Channel::Video));
        assert!(!s.counts(Tier::High, Channel::Phone));
        assert!(!s.counts(Tier::Key, Channel::Phone));
        assert!(s.counts(Tier::General, Channel::Phone));
    }

    #[test]
    fn quarterly_due_only_in_the_quarter_month() {
        let since = d(2020, 1, 1);
        let m = |y, mo| Month::new(y, mo).unwrap();
        assert!(due_visits(Frequency::Quarterly, m(2025, 5), since, false).is_empty());
        let due = due_visits(Frequency::Quarterly, m(2025, 6), since, false);
        assert_eq!(
            due,
            vec![Due {
                window_start: d(2025, 4, 1),
                due: d(2025, 6, 30)
            }]
        );
        assert!(due_visits(Frequency::Quarterly, m(2025, 6), since, true).is_empty());
    }

    #[test]
    fn months_parse_and_step() {
        let m = Month::parse("2025-12").unwrap();
        assert_eq!(m.next().key(), "2026-01");
        assert_eq!(m.prev().key(), "2025-11");
        assert_eq!(m.last(), d(2025, 12, 31));
        assert!(Month::parse("2025-13").is_none());
        assert!(Month::parse("25-1").is_none());
        assert_eq!(age_on(d(1945, 7, 1), d(2025, 6, 30)), 79);
        assert_eq!(age_on(d(1945, 6, 30), d(2025, 6, 30)), 80);
    }

    #[test]
    fn future_and_early_visits_are_refused() {
        let now = Utc::now();
        let v = |at| VisitInput {
            visited_at: at,
            channel: Channel::Home,
            areas: std::array::from_fn(|_| AreaEntry {
                finding: Finding::Normal,
                note: String::new(),
            }),
            emergency: false,
        };
        let joined = local_date(now) - Duration::days(10);
        assert!(check_visit(&v(now - Duration::hours(1)), joined, now).is_ok());
        let e = check_visit(&v(now + Duration::days(1)), joined, now).unwrap_err();
        assert_eq!(e.0[0].code, "visit_in_future");
        let e = check_visit(&v(now - Duration::days(30)), joined, now).unwrap_err();
        assert_eq!(e.0[0].code, "visit_before_joined");
    }

    fn any_tags() -> impl Strategy<Value = Vec<Tag>> {
        proptest::collection::vec(proptest::sample::select(Tag::ALL.to_vec()), 0..6)
    }

    proptest! {
        #[test]
        fn weekly_subjects_owe_four_or_five_visits(y in 2000i32..2100, mo in 1u32..=12) {
            let m = Month::new(y, mo).unwrap();
            let due = due_visits(Frequency::Weekly, m, d(1990, 1, 1), false);
            prop_assert!((4..=5).contains(&due.len()));
            for w in &due {
                prop_assert_eq!(w.due.weekday(), Weekday::Sun);
                prop_assert!(w.due >= m.first() && w.due <= m.last());
                prop_assert_eq!(w.due - w.window_start, Duration::days(6));
            }
        }

        #[test]
        fn monthly_subjects_owe_exactly_one(y in 2000i32..2100, mo in 1u32..=12, q: bool) {
            let m = Month::new(y, mo).unwrap();
            let due = due_visits(Frequency::Monthly, m, d(1990, 1, 1), q);
            prop_assert_eq!(due.len(), 1);
            prop_assert_eq!(due[0].due, m.last());
            prop_assert_eq!(due[0].window_start, m.first());
        }

        #[test]
        fn quarterly_subjects_owe_at_most_one(y in 2000i32..2100, mo in 1u32..=12, q: bool) {
            let m = Month::new(y, mo).unwrap();
            let due = due_visits(Frequency::Quarterly, m, d(1990, 1, 1), q);
            prop_assert_eq!(due.len(), usize::from(m.ends_quarter() && !q));
        }

        #[test]
        fn nothing_is_due_before_joining(y in 2000i32..2100, mo in 1u32..=12, day in 1u32..=28, f in 0usize..3) {
            let m = Month::new(y, mo).unwrap();
            let since = d(y, mo, day);
            for w in due_visits(Frequency::ALL[f], m, since, false) {
                prop_assert!(w.window_start >= since);
                prop_assert!(w.due >= w.window_start);
            }
        }

        #[test]
        fn tier_rule_is_monotone_in_risk(age in 0u32..110, tags in any_tags()) {
            let s = CareSettings::default();
            let p = Profile::new(age, &tags);
            let t = s.tier(&p);
            // Adding living alone never lowers the tier.
            let mut more = tags.clone();
            more.push(Tag::LivingAlone);
            prop_assert!(s.tier(&Profile::new(age, &more)) <= t);
            // Frail or old people are never general.
            if p.disabled || p.severely_disabled || p.tekun || p.special_family_planning || age >= 80 {
                prop_assert!(t != Tier::General);
            }
            // High needs old age with someone absent, or frailty while living alone.
            if t == Tier::High {
                let old = age >= 80 || p.oldest_old;
                prop_assert!((old && (p.living_alone || p.empty_nest || p.left_behind))
                    || ((p.disabled || p.severely_disabled) && p.living_alone));
            }
            prop_assert_eq!(qualifies(&p), age >= 60 && tags.iter().any(|t| CARE_TAGS.contains(t)));
        }
    }
}
