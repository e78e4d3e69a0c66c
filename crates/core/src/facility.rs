//! Facility functions (一房多用), division designations, workforce kinds and
//! certificates, and opening-hours arithmetic.

use serde::{Deserialize, Serialize};

/// A function a facility hosts. Known functions have a stable code; others are
/// kept as `custom:<名称>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FunctionCode(String);

/// Code, Chinese name, and whether the function is elderly care (records land area).
pub const FUNCTIONS: [(&str, &str, bool); 17] = [
    ("comprehensive_service", "综合服务设施", false),
    ("volunteer_station", "志愿服务站", false),
    ("social_work_room", "社会工作室", false),
    ("day_care", "日间照料中心", true),
    ("street_elderly_institution", "街道综合性养老机构", true),
    ("childcare", "托育服务", false),
    ("health_station", "卫生服务站（村卫生室）", false),
    ("culture_center", "综合性文化服务中心", false),
    ("minor_protection", "未成年人保护工作站", false),
    ("social_work_station", "社工站", false),
    ("employment_station", "就业创业服务站", false),
    ("police_room", "警务室", false),
    ("fire_station", "微型消防站", false),
    ("emergency_shelter", "应急避难场所", false),
    ("rehab_rental", "康复辅具租赁点", false),
    ("senior_university", "老年大学", false),
    ("fitness", "体育健身场地", false),
];

impl FunctionCode {
    /// A known code or Chinese name, or a user's own function name (≤ 20 characters).
    pub fn parse(s: &str) -> Option<FunctionCode> {
        let s = s.trim();
        if let Some((code, _, _)) = FUNCTIONS.iter().find(|(c, n, _)| *c == s || *n == s) {
            return Some(FunctionCode((*code).to_owned()));
        }
        let name = s.strip_prefix("custom:").unwrap_or(s).trim();
        let n = name.chars().count();
        let clean = !name
            .chars()
            .any(|c| c.is_control() || "<>\"&,;:".contains(c));
        (n > 0 && n <= 20 && clean).then(|| FunctionCode(format!("custom:{name}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn label(&self) -> String {
        match FUNCTIONS.iter().find(|(c, _, _)| *c == self.0) {
            Some((_, n, _)) => (*n).to_owned(),
            None => self.0.strip_prefix("custom:").unwrap_or(&self.0).to_owned(),
        }
    }

    pub fn is_elderly_care(&self) -> bool {
        FUNCTIONS.iter().any(|(c, _, e)| *c == self.0 && *e)
    }
}

/// Designations of a division that targets count.
pub const DESIGNATIONS: [(&str, &str); 2] = [
    ("education_pilot", "社区教育实验区"),
    ("rehab_rental_pilot", "康复辅具租赁试点"),
];

pub fn parse_designation(s: &str) -> Option<&'static str> {
    DESIGNATIONS
        .iter()
        .find(|(c, n)| *c == s.trim() || *n == s.trim())
        .map(|(c, _)| *c)
}

/// Kinds of community worker; all count as community workers (社区工作者).
pub const WORKER_KINDS: [(&str, &str); 4] = [
    ("committee", "两委成员"),
    ("full_time", "专职社区工作者"),
    ("grid", "专职网格员"),
    ("social_worker", "社工"),
];

/// Social-work certificate levels.
pub const CERTIFICATES: [(&str, &str); 4] = [
    ("none", "无"),
    ("assistant", "助理社会工作师"),
    ("social_worker", "社会工作师"),
    ("senior", "高级社会工作师"),
];

/// The code of a kind or certificate given by code or Chinese name.
pub fn lookup(table: &[(&'static str, &'static str)], s: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(c, n)| *c == s.trim() || *n == s.trim())
        .map(|(c, _)| *c)
}

pub fn label_of(table: &[(&'static str, &'static str)], code: &str) -> &'static str {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("", |(_, n)| *n)
}

/// One opening interval on a weekday (1 = Monday … 7 = Sunday), minutes from midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    pub weekday: u8,
    pub opens: u16,
    pub closes: u16,
}

impl Interval {
    pub fn minutes(&self) -> u32 {
        u32::from(self.closes.saturating_sub(self.opens))
    }
}

/// Parse "08:30-17:30" (or "8:30–17:30") into minutes from midnight.
pub fn parse_span(s: &str) -> Option<(u16, u16)> {
    let s = s.trim().replace(['–', '—', '~', '至'], "-");
    let (a, b) = s.split_once('-')?;
    let m = |t: &str| -> Option<u16> {
        let (h, mi) = t
            .trim()
            .split_once(':')
            .or_else(|| t.trim().split_once('：'))?;
        let (h, mi): (u16, u16) = (h.parse().ok()?, mi.parse().ok()?);
        (h <= 24 && mi < 60 && h * 60 + mi <= 1440).then_some(h * 60 + mi)
    };
    let (o, c) = (m(a)?, m(b)?);
    (o < c).then_some((o, c))
}

/// "08:30".
pub fn format_minutes(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// Mean open hours per day over the week (overlapping intervals counted once).
pub fn mean_daily_hours(intervals: &[Interval]) -> f64 {
    let mut total = 0u32;
    for day in 1..=7u8 {
        let mut spans: Vec<(u16, u16)> = intervals
            .iter()
            .filter(|i| i.weekday == day)
            .map(|i| (i.opens, i.closes))
            .collect();
        spans.sort_unstable();
        let mut end = 0u16;
        for (o, c) in spans {
            let start = o.max(end);
            if c > start {
                total += u32::from(c - start);
                end = c;
            }
        }
    }
    f64::from(total) / 60.0 / 7.0
}

/// Whether a schedule keeps the plan's "open at least 8 hours a day".
pub fn opens_eight_hours(intervals: &[Interval]) -> bool {
    mean_daily_hours(intervals) >= 8.0 - 1e-9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_parse_by_code_name_or_custom() {
        assert_eq!(
            FunctionCode::parse("社会工作室").unwrap().as_str(),
            "social_work_room"
        );
        assert_eq!(
            FunctionCode::parse("day_care").unwrap().label(),
            "日间照料中心"
        );
        assert!(FunctionCode::parse("day_care").unwrap().is_elderly_care());
        assert_eq!(
            FunctionCode::parse("书法教室").unwrap().as_str(),
            "custom:书法教室"
        );
        assert!(FunctionCode::parse("").is_none());
        assert!(FunctionCode::parse("<script>").is_none());
    }

    #[test]
    fn hours() {
        assert_eq!(parse_span("08:30-17:30"), Some((510, 1050)));
        assert_eq!(parse_span("8:00–12:00"), Some((480, 720)));
        assert_eq!(parse_span("18:00-08:00"), None);
        assert_eq!(parse_span("25:00-26:00"), None);
        let week: Vec<Interval> = (1..=7)
            .map(|d| Interval {
                weekday: d,
                opens: 480,
                closes: 1020,
            })
            .collect();
        assert!((mean_daily_hours(&week) - 9.0).abs() < 1e-9);
        assert!(opens_eight_hours(&week));
        let weekdays: Vec<Interval> = (1..=5)
            .map(|d| Interval {
                weekday: d,
                opens: 480,
                closes: 1080,
            })
            .collect();
        assert!(!opens_eight_hours(&weekdays));
        let overlapping = [
            Interval {
                weekday: 1,
                opens: 480,
                closes: 720,
            },
            Interval {
                weekday: 1,
                opens: 600,
                closes: 780,
            },
        ];
        assert!((mean_daily_hours(&overlapping) - 5.0 / 7.0).abs() < 1e-9);
    }
}
