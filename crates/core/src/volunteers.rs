//! Volunteers (志愿者): volunteer numbers, activities, sign-ups and the hours rules.
//!
//! Rules (《志愿服务记录与证明出具办法》: the organiser records; actual service
//! time only, travel excluded; corrections verified and logged):
//! - the unified volunteer number is `ZY` + 6-digit county code + 7-digit
//!   sequence within the county + 1 check character (ISO 7064 MOD 11-2 over the
//!   13 digits, `0`–`9` or `X`), e.g. `ZY4305020000001` + check;
//! - check-in is open from 30 minutes before the start until the end of an
//!   activity; check-out from the start until 2 hours after the end;
//! - the default service minutes are the overlap of check-in..check-out (or the
//!   activity's end when no check-out was made) with the activity's own window,
//!   and confirmed minutes never exceed the activity's length;
//! - a volunteer holds no two non-cancelled sign-ups whose activities overlap.

use crate::validation::FieldErrors;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Check-in opens this many minutes before an activity starts.
pub const CHECKIN_EARLY_MINUTES: i64 = 30;
/// Check-out stays open this many minutes after an activity ends.
pub const CHECKOUT_LATE_MINUTES: i64 = 120;
/// Longest activity (one occurrence), in minutes.
pub const MAX_ACTIVITY_MINUTES: i64 = 24 * 60;
/// Most occurrences one weekly series creates.
pub const MAX_OCCURRENCES: u32 = 26;
pub const MAX_QUOTA: i64 = 1000;
pub const MAX_TITLE: usize = 100;
pub const MAX_DESCRIPTION: usize = 2000;
pub const MAX_PLACE: usize = 100;
pub const MAX_SKILLS: usize = 10;
pub const MAX_SKILL: usize = 20;
pub const MAX_AVAILABILITY: usize = 100;
pub const MAX_REASON: usize = 200;
pub const MAX_TEAM_NAME: usize = 50;
/// Length of the per-activity check-in code.
pub const CODE_LEN: usize = 6;

/// A refused volunteer action: a stable code and a Chinese message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("该身份证号已登记为志愿者")]
    DuplicateVolunteer,
    #[error("该账号已关联志愿者")]
    AccountLinked,
    #[error("请阅读并同意志愿者登记须知")]
    ConsentRequired,
    #[error("志愿者状态不是“在册”，不能报名")]
    VolunteerInactive,
    #[error("与已报名的其他活动时间重叠")]
    OverlappingSignup,
    #[error("活动名额已满")]
    QuotaFull,
    #[error("已经报名了该活动")]
    AlreadySignedUp,
    #[error("活动已取消或已结束")]
    ActivityNotOpen,
    #[error("活动已开始，不能再报名或取消报名")]
    ActivityStarted,
    #[error("签到码不正确")]
    WrongCheckinCode,
    #[error("不在活动签到、签退时间内（开始前 30 分钟至结束后 2 小时）")]
    OutsideActivityWindow,
    #[error("尚未报名该活动")]
    NotSignedUp,
    #[error("尚未签到")]
    NotCheckedIn,
    #[error("已经签到")]
    AlreadyCheckedIn,
    #[error("服务时长不能超过活动时长")]
    HoursExceedActivity,
    #[error("服务时长已确认，如需更改请提交更正并说明理由")]
    AlreadyConfirmed,
    #[error("服务时长尚未确认，不能更正")]
    NotConfirmed,
    #[error("更正服务时长须说明理由")]
    ReasonRequired,
    #[error("该报名状态下不能进行此操作")]
    BadSignupState,
}

impl Refusal {
    pub const ALL: [Refusal; 19] = [
        Refusal::DuplicateVolunteer,
        Refusal::AccountLinked,
        Refusal::ConsentRequired,
        Refusal::VolunteerInactive,
        Refusal::OverlappingSignup,
        Refusal::QuotaFull,
        Refusal::AlreadySignedUp,
        Refusal::ActivityNotOpen,
        Refusal::ActivityStarted,
        Refusal::WrongCheckinCode,
        Refusal::OutsideActivityWindow,
        Refusal::NotSignedUp,
        Refusal::NotCheckedIn,
        Refusal::AlreadyCheckedIn,
        Refusal::HoursExceedActivity,
        Refusal::AlreadyConfirmed,
        Refusal::NotConfirmed,
        Refusal::ReasonRequired,
        Refusal::BadSignupState,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Refusal::DuplicateVolunteer => "duplicate_volunteer",
            Refusal::AccountLinked => "account_linked",
            Refusal::ConsentRequired => "consent_required",
            Refusal::VolunteerInactive => "volunteer_inactive",
            Refusal::OverlappingSignup => "overlapping_signup",
            Refusal::QuotaFull => "quota_full",
            Refusal::AlreadySignedUp => "already_signed_up",
            Refusal::ActivityNotOpen => "activity_not_open",
            Refusal::ActivityStarted => "activity_started",
            Refusal::WrongCheckinCode => "wrong_checkin_code",
            Refusal::OutsideActivityWindow => "outside_activity_window",
            Refusal::NotSignedUp => "not_signed_up",
            Refusal::NotCheckedIn => "not_checked_in",
            Refusal::AlreadyCheckedIn => "already_checked_in",
            Refusal::HoursExceedActivity => "hours_exceed_activity",
            Refusal::AlreadyConfirmed => "already_confirmed",
            Refusal::NotConfirmed => "not_confirmed",
            Refusal::ReasonRequired => "reason_required",
            Refusal::BadSignupState => "bad_signup_state",
        }
    }

    /// The refusal a stable code names.
    pub fn from_code(code: &str) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|r| r.code() == code)
    }
}

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($var:ident => ($s:literal, $label:literal)),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($var),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$var => $label),+ }
            }

            /// Parses the ASCII code exactly as `as_str` returns it.
            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

text_enum!(
    /// A volunteer's standing in the register.
    VolunteerStatus {
        Active => ("active", "在册"),
        Suspended => ("suspended", "暂停"),
        Left => ("left", "已退出"),
    }
);

text_enum!(
    /// What a team does; `EmergencyRescue` is the 应急救援队.
    TeamKind {
        General => ("general", "综合志愿服务队"),
        EmergencyRescue => ("emergency_rescue", "应急救援队"),
        ElderCare => ("elder_care", "助老服务队"),
        PartyMember => ("party_member", "党员志愿服务队"),
        Culture => ("culture", "文化体育服务队"),
        Environment => ("environment", "环境保护服务队"),
        Medical => ("medical", "医疗卫生服务队"),
    }
);

text_enum!(
    /// Who organises an activity: a division (居委会、村委会、街道) or an organisation.
    OrganizerKind {
        Division => ("division", "区划"),
        Organization => ("organization", "组织"),
    }
);

text_enum!(
    /// The service an activity gives.
    Category {
        ElderCare => ("elder_care", "助老服务"),
        ChildCare => ("child_care", "关爱儿童"),
        Disability => ("disability", "助残服务"),
        Environment => ("environment", "环境保护"),
        Culture => ("culture", "文化体育"),
        Safety => ("safety", "平安建设"),
        Health => ("health", "医疗卫生"),
        Emergency => ("emergency", "应急救援"),
        Civility => ("civility", "文明实践"),
        Other => ("other", "其他"),
    }
);

text_enum!(
    /// An activity's life: published → cancelled or finished.
    ActivityState {
        Published => ("published", "报名中"),
        Cancelled => ("cancelled", "已取消"),
        Finished => ("finished", "已结束"),
    }
);

text_enum!(
    /// A sign-up's life: signed_up → checked_in → completed; signed_up → no_show;
    /// signed_up → cancelled (before the start).
    SignupState {
        SignedUp => ("signed_up", "已报名"),
        CheckedIn => ("checked_in", "已签到"),
        Completed => ("completed", "已完成"),
        NoShow => ("no_show", "未到场"),
        Cancelled => ("cancelled", "已取消"),
    }
);

impl SignupState {
    /// Whether the sign-up holds the volunteer's time (counts for quota and overlap).
    pub fn holds_time(self) -> bool {
        !matches!(self, SignupState::Cancelled)
    }
}

// ---------------------------------------------------------------- numbers

fn mod11_2(digits: &str) -> Option<char> {
    let mut sum: u32 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        sum = (sum * 2 + u32::from(b - b'0')) % 11;
    }
    let check = (12 - (sum * 2) % 11) % 11;
    Some(if check == 10 {
        'X'
    } else {
        char::from(b'0' + u8::try_from(check).ok()?)
    })
}

/// The volunteer number for sequence `seq` (1 … 9,999,999) in county `county` (6 digits).
pub fn volunteer_no(county: &str, seq: u32) -> Option<String> {
    if county.len() != 6 || !county.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if seq == 0 || seq > 9_999_999 {
        return None;
    }
    let body = format!("{county}{seq:07}");
    let check = mod11_2(&body)?;
    Some(format!("ZY{body}{check}"))
}

/// Whether `s` is a well-formed volunteer number with a correct check character.
pub fn valid_volunteer_no(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("ZY") else {
        return false;
    };
    if rest.len() != 14 {
        return false;
    }
    let (body, check) = rest.split_at(13);
    mod11_2(body).is_some_and(|c| check.chars().eq(std::iter::once(c)))
}

/// A 6-digit check-in code from a random value.
pub fn checkin_code(random: u64) -> String {
    format!("{:06}", random % 1_000_000)
}

/// Whether a typed code matches (spaces ignored).
pub fn code_matches(expected: &str, typed: &str) -> bool {
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    typed.len() == CODE_LEN && typed == expected
}

// ---------------------------------------------------------------- time rules

/// A half-open period `[starts_at, ends_at)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl Period {
    pub fn minutes(&self) -> i64 {
        (self.ends_at - self.starts_at).num_minutes().max(0)
    }

    /// Whether two periods share any time (touching ends do not).
    pub fn overlaps(&self, other: &Period) -> bool {
        self.starts_at < other.ends_at && other.starts_at < self.ends_at
    }

    /// When check-in is open: 30 minutes before the start until the end.
    pub fn checkin_window(&self) -> Period {
        Period {
            starts_at: self.starts_at - Duration::minutes(CHECKIN_EARLY_MINUTES),
            ends_at: self.ends_at,
        }
    }

    /// When check-out is open: from the start until 2 hours after the end.
    pub fn checkout_window(&self) -> Period {
        Period {
            starts_at: self.starts_at,
            ends_at: self.ends_at + Duration::minutes(CHECKOUT_LATE_MINUTES),
        }
    }

    /// Whether `t` lies in `[starts_at, ends_at]` (both ends included).
    pub fn holds(&self, t: DateTime<Utc>) -> bool {
        self.starts_at <= t && t <= self.ends_at
    }
}

/// Whether a check-in at `now` is allowed.
pub fn may_check_in(activity: &Period, now: DateTime<Utc>) -> Result<(), Refusal> {
    if activity.checkin_window().holds(now) {
        Ok(())
    } else {
        Err(Refusal::OutsideActivityWindow)
    }
}

/// Whether a check-out at `now` is allowed.
pub fn may_check_out(activity: &Period, now: DateTime<Utc>) -> Result<(), Refusal> {
    if activity.checkout_window().holds(now) {
        Ok(())
    } else {
        Err(Refusal::OutsideActivityWindow)
    }
}

/// The default service minutes: the overlap of check-in..check-out (the
/// activity's end when no check-out was made) with the activity; 0 without check-in.
pub fn default_minutes(
    activity: &Period,
    checkin: Option<DateTime<Utc>>,
    checkout: Option<DateTime<Utc>>,
) -> i64 {
    let Some(cin) = checkin else {
        return 0;
    };
    let cout = checkout.unwrap_or(activity.ends_at);
    let from = cin.max(activity.starts_at);
    let to = cout.min(activity.ends_at);
    if to <= from {
        0
    } else {
        (to - from).num_minutes()
    }
}

/// Whether `minutes` may be confirmed for a sign-up of `activity`.
pub fn check_minutes(activity: &Period, minutes: i64) -> Result<(), Refusal> {
    if minutes < 0 || minutes > activity.minutes() {
        Err(Refusal::HoursExceedActivity)
    } else {
        Ok(())
    }
}

/// The first of `others` that overlaps `wanted`, by index.
pub fn first_overlap(wanted: &Period, others: &[Period]) -> Option<usize> {
    others.iter().position(|o| o.overlaps(wanted))
}

/// `count` weekly occurrences from `first` (1 … 26).
pub fn weekly(first: &Period, count: u32) -> Vec<Period> {
    (0..count.clamp(1, MAX_OCCURRENCES))
        .map(|i| Period {
            starts_at: first.starts_at + Duration::weeks(i64::from(i)),
            ends_at: first.ends_at + Duration::weeks(i64::from(i)),
        })
        .collect()
}

/// Minutes as hours for display: "2.5".
pub fn hours_text(minutes: i64) -> String {
    let tenths = (minutes * 10 + 30) / 60;
    if tenths % 10 == 0 {
        format!("{}", tenths / 10)
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

// ---------------------------------------------------------------- inputs

fn bad_text(s: &str, multiline: bool) -> bool {
    s.chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
        || s.contains('<')
}

/// Skills as entered ("急救，理发、 陪诊"): split on commas, 、 and spaces,
/// trimmed, distinct, in order; at most 10 of at most 20 characters.
pub fn parse_skills(s: &str) -> Result<Vec<String>, FieldErrors> {
    let mut out: Vec<String> = Vec::new();
    let mut errs = FieldErrors::new();
    for part in s.split([',', '，', '、', ';', '；', ' ', '\u{3000}', '\n']) {
        let p = part.trim();
        if p.is_empty() || out.iter().any(|o| o == p) {
            continue;
        }
        if p.chars().count() > MAX_SKILL || bad_text(p, false) {
            errs.add(
                "skills",
                "bad_skill",
                format!(
                    "技能“{}”有误：每项不超过 {MAX_SKILL} 个字，不含特殊符号",
                    p.chars().take(20).collect::<String>()
                ),
            );
            break;
        }
        out.push(p.to_owned());
    }
    if out.len() > MAX_SKILLS {
        errs.add("skills", "too_many", format!("技能最多 {MAX_SKILLS} 项"));
    }
    errs.into_result()?;
    Ok(out)
}

/// Check a free-text field: required or not, its longest length, one line or many.
pub fn check_text(
    errs: &mut FieldErrors,
    field: &str,
    label: &str,
    value: &str,
    required: bool,
    max: usize,
    multiline: bool,
) {
    let v = value.trim();
    if required && v.is_empty() {
        errs.add(field, "required", format!("{label}不能为空"));
    } else if v.chars().count() > max {
        errs.add(field, "too_long", format!("{label}不能超过 {max} 个字"));
    } else if bad_text(v, multiline) {
        errs.add(
            field,
            "bad_chars",
            format!("{label}中不能含有“<”或控制字符"),
        );
    }
}

/// An activity as entered (before the store places it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityDraft {
    pub title: String,
    pub description: String,
    pub place: String,
    pub period: Period,
    pub quota: i64,
    pub skills: String,
    pub category: Category,
    pub elder_care: bool,
    /// 1 for a single activity, up to 26 for a weekly series.
    pub occurrences: u32,
}

/// Check a draft: text lengths, period (end after start, ≤ 24 h), quota 1–1000,
/// occurrences 1–26. Returns the normalised skills.
pub fn check_activity(d: &ActivityDraft) -> Result<Vec<String>, FieldErrors> {
    let mut errs = FieldErrors::new();
    check_text(
        &mut errs,
        "title",
        "活动名称",
        &d.title,
        true,
        MAX_TITLE,
        false,
    );
    check_text(
        &mut errs,
        "description",
        "活动内容",
        &d.description,
        false,
        MAX_DESCRIPTION,
        true,
    );
    check_text(
        &mut errs,
        "place",
        "活动地点",
        &d.place,
        true,
        MAX_PLACE,
        false,
    );
    if d.period.ends_at <= d.period.starts_at {
        errs.add("ends_at", "ends_before_start", "结束时间应晚于开始时间");
    } else if d.period.minutes() > MAX_ACTIVITY_MINUTES {
        errs.add("ends_at", "too_long", "单次活动不能超过 24 小时");
    }
    if d.quota < 1 || d.quota > MAX_QUOTA {
        errs.add(
            "quota",
            "bad_quota",
            format!("招募人数应为 1 至 {MAX_QUOTA}"),
        );
    }
    if d.occurrences < 1 || d.occurrences > MAX_OCCURRENCES {
        errs.add(
            "occurrences",
            "bad_occurrences",
            format!("每周重复次数应为 1 至 {MAX_OCCURRENCES}"),
        );
    }
    let skills = match parse_skills(&d.skills) {
        Ok(s) => s,
        Err(e) => {
            errs.0.extend(e.0);
            Vec::new()
        }
    };
    errs.into_result()?;
    Ok(skills)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap() + Duration::minutes(min)
    }

    fn p(a: i64, b: i64) -> Period {
        Period {
            starts_at: t(a),
            ends_at: t(b),
        }
    }

    #[test]
    fn volunteer_numbers_carry_a_check_character() {
        let n = volunteer_no("430502", 1).unwrap();
        assert_eq!(n.len(), 16);
        assert!(n.starts_with("ZY4305020000001"));
        assert!(valid_volunteer_no(&n));
        let mut bad = n.clone();
        bad.replace_range(10..11, if &n[10..11] == "9" { "8" } else { "9" });
        assert!(!valid_volunteer_no(&bad));
        assert!(volunteer_no("4305", 1).is_none());
        assert!(volunteer_no("430502", 0).is_none());
        assert!(volunteer_no("430502", 10_000_000).is_none());
        assert!(!valid_volunteer_no("ZY43050200000011"));
    }

    #[test]
    fn windows_and_minutes() {
        let a = p(60, 180);
        assert!(may_check_in(&a, t(30)).is_ok());
        assert_eq!(may_check_in(&a, t(29)), Err(Refusal::OutsideActivityWindow));
        assert_eq!(
            may_check_in(&a, t(181)),
            Err(Refusal::OutsideActivityWindow)
        );
        assert!(may_check_out(&a, t(300)).is_ok());
        assert_eq!(
            may_check_out(&a, t(301)),
            Err(Refusal::OutsideActivityWindow)
        );
        assert_eq!(default_minutes(&a, Some(t(40)), Some(t(200))), 120);
        assert_eq!(default_minutes(&a, Some(t(90)), Some(t(150))), 60);
        assert_eq!(default_minutes(&a, Some(t(90)), None), 90);
        assert_eq!(default_minutes(&a, None, None), 0);
        assert_eq!(check_minutes(&a, 121), Err(Refusal::HoursExceedActivity));
        assert!(check_minutes(&a, 120).is_ok());
        assert_eq!(hours_text(90), "1.5");
        assert_eq!(hours_text(120), "2");
    }

    #[test]
    fn skills_are_split_and_checked() {
        assert_eq!(
            parse_skills("急救，理发、 陪诊,急救").unwrap(),
            vec!["急救", "理发", "陪诊"]
        );
        assert!(parse_skills("<b>").is_err());
        assert!(parse_skills(&"a,".repeat(11)).is_ok());
        let many: Vec<String> = (0..11).map(|i| format!("s{i}")).collect();
        assert!(parse_skills(&many.join(",")).is_err());
    }

    #[test]
    fn codes_round_trip() {
        for r in Refusal::ALL {
            assert_eq!(Refusal::from_code(r.code()), Some(r));
        }
        assert_eq!(checkin_code(42), "000042");
        assert!(code_matches("000042", " 000 042"));
        assert!(!code_matches("000042", "00042"));
    }

    proptest! {
        #[test]
        fn minutes_never_exceed_the_activity(
            a in 0i64..2000, len in 1i64..1440,
            cin in proptest::option::of(-200i64..4000),
            cout in proptest::option::of(-200i64..4000),
        ) {
            let act = p(a, a + len);
            let m = default_minutes(&act, cin.map(t), cout.map(t));
            prop_assert!(m >= 0);
            prop_assert!(m <= act.minutes());
            prop_assert!(check_minutes(&act, m).is_ok());
            if cin.is_none() { prop_assert_eq!(m, 0); }
        }

        #[test]
        fn check_in_window_is_exact(a in 0i64..2000, len in 1i64..1440, at in -100i64..4000) {
            let act = p(a, a + len);
            let inside = at >= a - CHECKIN_EARLY_MINUTES && at <= a + len;
            prop_assert_eq!(may_check_in(&act, t(at)).is_ok(), inside);
            let out_inside = at >= a && at <= a + len + CHECKOUT_LATE_MINUTES;
            prop_assert_eq!(may_check_out(&act, t(at)).is_ok(), out_inside);
        }

        #[test]
        fn overlap_is_symmetric_and_matches_minutes(
            a in 0i64..500, la in 1i64..300, b in 0i64..500, lb in 1i64..300,
        ) {
            let x = p(a, a + la);
            let y = p(b, b + lb);
            prop_assert_eq!(x.overlaps(&y), y.overlaps(&x));
            let shared = (a + la).min(b + lb) - a.max(b);
            prop_assert_eq!(x.overlaps(&y), shared > 0);
            prop_assert_eq!(first_overlap(&x, &[y]).is_some(), shared > 0);
        }

        #[test]
        fn numbers_validate(county in 110000u32..659999, seq in 1u32..9_999_999) {
            let n = volunteer_no(&county.to_string(), seq).unwrap();
            prop_assert!(valid_volunteer_no(&n));
        }
    }
}
