//! 志愿服务记录证明: certificate numbers and contents.
//!
//! A certificate states, for one volunteer and one period, the confirmed service
//! hours of activities organised within the issuer's area (谁组织谁记录，谁记录谁证明).
//! Its contents follow 民发〔2015〕149号: the volunteer (name, ID type and number,
//! volunteer number), the service (hours and content), the issuer (name, person in
//! charge, handler, contact), and the number, issue date and remarks.
//!
//! Numbers look like `ZM2025-000123-K7QXR`: `ZM`, the issue year, a six-digit
//! sequence within the year, then four random characters and one check character
//! from the alphabet [`ALPHABET`]. The random part keeps valid numbers from being
//! enumerated by counting; the check character catches typing mistakes before any
//! lookup.

use crate::surveys::looks_like_html;
use crate::validation::FieldErrors;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The 32 characters of the random part and the check character: digits and
/// capitals without I, L, O and U (Crockford's base 32), so nothing is misread.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Random characters in a number.
pub const RANDOM_LEN: usize = 4;
/// Longest period one certificate covers, in days (ten years).
pub const MAX_PERIOD_DAYS: i64 = 3660;
/// Longest issuer name, in characters.
pub const MAX_ISSUER: usize = 100;
/// Longest person name or contact, in characters.
pub const MAX_PERSON: usize = 50;
/// Longest remark, in characters.
pub const MAX_REMARKS: usize = 200;
/// Revocation reasons, in characters.
pub const MIN_REASON: usize = 2;
pub const MAX_REASON: usize = 200;
/// The ID type printed on certificates.
pub const ID_TYPE: &str = "居民身份证";

/// A well-formed certificate number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CertificateNo(String);

/// Why a text is not a certificate number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("证明编号格式应为 ZM年份-六位序号-五位校验码，例如 ZM2025-000123-K7QXR")]
    Malformed,
    #[error("证明编号校验不通过，请核对是否输错")]
    BadCheck,
}

impl NumberError {
    pub fn code(&self) -> &'static str {
        match self {
            NumberError::Malformed => "bad_certificate_number",
            NumberError::BadCheck => "bad_certificate_check",
        }
    }
}

fn index_of(c: u8) -> Option<usize> {
    ALPHABET.iter().position(|a| *a == c)
}

/// The check character over `body` (everything before it, dashes ignored): a
/// weighted sum of character values mod 32 with the odd weights 1, 3, 5, … from
/// the left. Odd weights are invertible mod 32, so any single changed character
/// changes the check character.
fn check_char(body: &str) -> u8 {
    let sum: usize = body
        .bytes()
        .filter(|b| *b != b'-')
        .enumerate()
        .map(|(i, b)| {
            let v = if b.is_ascii_digit() {
                usize::from(b - b'0')
            } else {
                index_of(b).unwrap_or(usize::from(b))
            };
            (2 * i + 1) * v
        })
        .sum();
    ALPHABET.get(sum % 32).copied().unwrap_or(b'0')
}

impl CertificateNo {
    /// The number for `year`, `seq` (1–999 999) and 20 random bits.
    pub fn new(year: i32, seq: u32, random: u32) -> Option<CertificateNo> {
        if !(2000..=9999).contains(&year) || !(1..=999_999).contains(&seq) {
            return None;
        }
        let mut body = format!("ZM{year}-{seq:06}-");
        for i in (0..RANDOM_LEN).rev() {
            let v = (random >> (5 * i)) & 31;
            body.push(char::from(*ALPHABET.get(v as usize)?));
        }
        let c = check_char(&body);
        body.push(char::from(c));
        Some(CertificateNo(body))
    }

    /// Read a number as typed: surrounding blanks are dropped and letters
    /// upper-cased; the shape and the check character must fit.
    pub fn parse(input: &str) -> Result<CertificateNo, NumberError> {
        let s = input.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        let shape = b.len() == 19
            && b.starts_with(b"ZM")
            && b.get(2..6)
                .is_some_and(|y| y.iter().all(u8::is_ascii_digit))
            && b.get(6) == Some(&b'-')
            && b.get(7..13)
                .is_some_and(|y| y.iter().all(u8::is_ascii_digit))
            && b.get(13) == Some(&b'-')
            && b.get(14..19)
                .is_some_and(|y| y.iter().all(|c| index_of(*c).is_some()));
        if !shape {
            return Err(NumberError::Malformed);
        }
        let (body, check) = s.split_at(18);
        if check.as_bytes().first() != Some(&check_char(body)) {
            return Err(NumberError::BadCheck);
        }
        Ok(CertificateNo(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The issue year in the number.
    pub fn year(&self) -> i32 {
        self.0.get(2..6).and_then(|y| y.parse().ok()).unwrap_or(0)
    }
}

impl TryFrom<String> for CertificateNo {
    type Error = NumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CertificateNo::parse(&s)
    }
}

impl From<CertificateNo> for String {
    fn from(n: CertificateNo) -> String {
        n.0
    }
}

impl std::fmt::Display for CertificateNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Hours to one decimal, rounded down so a certificate never states more than was
/// served: 754 minutes → "12.5".
pub fn hours_decimal(minutes: i64) -> String {
    let tenths = minutes.max(0) / 6;
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// Hours and minutes: 754 → "12 小时 34 分钟", 60 → "1 小时", 5 → "5 分钟".
pub fn hours_minutes(minutes: i64) -> String {
    let m = minutes.max(0);
    match (m / 60, m % 60) {
        (0, r) => format!("{r} 分钟"),
        (h, 0) => format!("{h} 小时"),
        (h, r) => format!("{h} 小时 {r} 分钟"),
    }
}

/// Both forms: "12.5 小时（12 小时 34 分钟）".
pub fn hours_text(minutes: i64) -> String {
    format!(
        "{} 小时（{}）",
        hours_decimal(minutes),
        hours_minutes(minutes)
    )
}

/// Where a certificate stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertState {
    /// 有效.
    Valid,
    /// 已撤销 (with a reason; final).
    Revoked,
}

impl CertState {
    pub fn as_str(self) -> &'static str {
        match self {
            CertState::Valid => "valid",
            CertState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<CertState> {
        match s {
            "valid" => Some(CertState::Valid),
            "revoked" => Some(CertState::Revoked),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CertState::Valid => "有效",
            CertState::Revoked => "已撤销",
        }
    }
}

/// What the public verification says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 有效: issued, not revoked, and the record behind it unchanged.
    Valid,
    /// 已更正: the hours behind it were corrected after issue; the statement no
    /// longer matches the record and a new certificate should be issued.
    Corrected,
    /// 已撤销.
    Revoked,
}

impl Verdict {
    pub fn of(state: CertState, record_changed: bool) -> Verdict {
        match (state, record_changed) {
            (CertState::Revoked, _) => Verdict::Revoked,
            (CertState::Valid, true) => Verdict::Corrected,
            (CertState::Valid, false) => Verdict::Valid,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Corrected => "corrected",
            Verdict::Revoked => "revoked",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Valid => "有效",
            Verdict::Corrected => "记录已更正，请重新开具",
            Verdict::Revoked => "已撤销",
        }
    }
}

/// The issuer's particulars as printed (民发〔2015〕149号 item 3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issuer {
    /// 出具单位.
    pub name: String,
    /// 负责人.
    pub head: String,
    /// 经办人.
    pub handler: String,
    /// 联系方式.
    pub contact: String,
}

/// What staff enter when issuing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueInput {
    pub volunteer_id: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub issuer: Issuer,
    pub remarks: String,
}

fn has_controls(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn check_text(
    errs: &mut FieldErrors,
    field: &str,
    what: &str,
    s: &str,
    max: usize,
    required: bool,
) {
    let n = s.chars().count();
    if n == 0 && required {
        errs.add(field, "required", format!("请填写{what}"));
    } else if n > max {
        errs.add(field, "too_long", format!("{what}不能超过 {max} 个字"));
    } else if has_controls(s) {
        errs.add(field, "bad_chars", format!("{what}中不能含有控制字符"));
    } else if looks_like_html(s) {
        errs.add(field, "markup", format!("{what}中不能含有 HTML 标记"));
    }
}

impl IssueInput {
    /// Check the period (not after `today`, at most ten years) and the issuer's
    /// particulars; on success the trimmed copy.
    pub fn validate(&self, today: NaiveDate) -> Result<IssueInput, FieldErrors> {
        let mut errs = FieldErrors::new();
        if self.to < self.from {
            errs.add("to", "bad_period", "结束日期不能早于开始日期");
        } else if (self.to - self.from).num_days() > MAX_PERIOD_DAYS {
            errs.add("to", "bad_period", "一份证明最多涵盖十年");
        }
        if self.to > today {
            errs.add("to", "future_period", "结束日期不能晚于今天");
        }
        let issuer = Issuer {
            name: self.issuer.name.trim().to_owned(),
            head: self.issuer.head.trim().to_owned(),
            handler: self.issuer.handler.trim().to_owned(),
            contact: self.issuer.contact.trim().to_owned(),
        };
        check_text(
            &mut errs,
            "issuer_name",
            "出具单位",
            &issuer.name,
            MAX_ISSUER,
            true,
        );
        check_text(
            &mut errs,
            "issuer_head",
            "负责人",
            &issuer.head,
            MAX_PERSON,
            true,
        );
        check_text(
            &mut errs,
            "issuer_handler",
            "经办人",
            &issuer.handler,
            MAX_PERSON,
            true,
        );
        check_text(
            &mut errs,
            "issuer_contact",
            "联系方式",
            &issuer.contact,
            MAX_PERSON,
            true,
        );
        let remarks = self.remarks.trim().to_owned();
        check_text(&mut errs, "remarks", "备注", &remarks, MAX_REMARKS, false);
        errs.into_result()?;
        Ok(IssueInput {
            volunteer_id: self.volunteer_id,
            from: self.from,
            to: self.to,
            issuer,
            remarks,
        })
    }
}

/// Check a revocation reason; the trimmed copy.
pub fn check_reason(reason: &str) -> Result<String, FieldErrors> {
    let r = reason.trim();
    let mut errs = FieldErrors::new();
    if r.chars().count() < MIN_REASON {
        errs.add("reason", "required", "请填写撤销原因（至少 2 个字）");
    } else {
        check_text(&mut errs, "reason", "撤销原因", r, MAX_REASON, true);
    }
    errs.into_result()?;
    Ok(r.to_owned())
}

/// One service record a certificate counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub title: String,
    pub category: String,
    pub minutes: i64,
}

/// 服务内容 in one line: the number of activities and the most frequent kinds,
/// e.g. "参加志愿服务活动 5 次，主要为：为老服务（3 次）、环境保护（2 次）".
pub fn content_summary(items: &[Item]) -> String {
    let mut by_cat: Vec<(String, usize)> = Vec::new();
    for it in items {
        let cat = if it.category.trim().is_empty() {
            "志愿服务".to_owned()
        } else {
            it.category.trim().to_owned()
        };
        match by_cat.iter_mut().find(|(c, _)| *c == cat) {
            Some((_, n)) => *n += 1,
            None => by_cat.push((cat, 1)),
        }
    }
    by_cat.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let kinds: Vec<String> = by_cat
        .iter()
        .take(5)
        .map(|(c, n)| format!("{c}（{n} 次）"))
        .collect();
    let more = if by_cat.len() > 5 { "等" } else { "" };
    format!(
        "参加志愿服务活动 {} 次，主要为：{}{more}",
        items.len(),
        kinds.join("、")
    )
}

/// The sum of the items' minutes.
pub fn total_minutes(items: &[Item]) -> i64 {
    items.iter().map(|i| i.minutes.max(0)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn numbers_format_parse_and_check() {
        let n = CertificateNo::new(2025, 123, 0b10100_00111_10111_11101).unwrap();
        assert!(n.as_str().starts_with("ZM2025-000123-"), "{n}");
        assert_eq!(n.as_str().len(), 19);
        assert_eq!(n.year(), 2025);
        assert_eq!(CertificateNo::parse(n.as_str()), Ok(n.clone()));
        assert_eq!(
            CertificateNo::parse(&format!(" {} ", n.as_str().to_lowercase())),
            Ok(n.clone())
        );
        // One character changed is caught by the check character.
        let mut wrong = n.as_str().as_bytes().to_vec();
        wrong[10] = if wrong[10] == b'9' { b'8' } else { b'9' };
        assert_eq!(
            CertificateNo::parse(std::str::from_utf8(&wrong).unwrap()),
            Err(NumberError::BadCheck)
        );
        for bad in [
            "",
            "ZM2025-000123",
            "ZX2025-000123-K7QXR",
            "ZM2025-00012A-K7QXR",
            "ZM2025-000123-K7QIR",
        ] {
            assert_eq!(
                CertificateNo::parse(bad),
                Err(NumberError::Malformed),
                "{bad}"
            );
        }
        assert!(CertificateNo::new(2025, 0, 1).is_none());
        assert!(CertificateNo::new(2025, 1_000_000, 1).is_none());
        assert!(CertificateNo::new(1999, 1, 1).is_none());
    }

    #[test]
    fn hours_are_rounded_down_and_written_both_ways() {
        assert_eq!(hours_decimal(754), "12.5");
        assert_eq!(hours_decimal(59), "0.9");
        assert_eq!(hours_decimal(5), "0.0");
        assert_eq!(hours_minutes(754), "12 小时 34 分钟");
        assert_eq!(hours_minutes(60), "1 小时");
        assert_eq!(hours_minutes(5), "5 分钟");
        assert_eq!(hours_text(90), "1.5 小时（1 小时 30 分钟）");
    }

    #[test]
    fn issue_input_is_checked() {
        let ok = IssueInput {
            volunteer_id: 1,
            from: day("2025-01-01"),
            to: day("2025-06-30"),
            issuer: Issuer {
                name: " 兴隆街道办事处 ".into(),
                head: "王主任".into(),
                handler: "李经办".into(),
                contact: "0739-5000000".into(),
            },
            remarks: String::new(),
        };
        let v = ok.validate(day("2025-06-30")).unwrap();
        assert_eq!(v.issuer.name, "兴隆街道办事处");
        let mut bad = ok.clone();
        bad.to = day("2024-12-31");
        bad.issuer.head = String::new();
        bad.remarks = "<b>x</b>".into();
        let e = bad.validate(day("2025-06-30")).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["to", "issuer_head", "remarks"]);
        let mut future = ok.clone();
        future.to = day("2025-07-01");
        assert_eq!(
            future.validate(day("2025-06-30")).unwrap_err().0[0].code,
            "future_period"
        );
        assert!(check_reason("x").is_err());
        assert_eq!(check_reason(" 信息有误 ").unwrap(), "信息有误");
    }

    #[test]
    fn verdicts_and_content() {
        assert_eq!(Verdict::of(CertState::Valid, false), Verdict::Valid);
        assert_eq!(Verdict::of(CertState::Valid, true), Verdict::Corrected);
        assert_eq!(Verdict::of(CertState::Revoked, false), Verdict::Revoked);
        let items = vec![
            Item {
                title: "a".into(),
                category: "为老服务".into(),
                minutes: 60,
            },
            Item {
                title: "b".into(),
                category: "环境保护".into(),
                minutes: 30,
            },
            Item {
                title: "c".into(),
                category: "为老服务".into(),
                minutes: 45,
            },
        ];
        assert_eq!(total_minutes(&items), 135);
        assert_eq!(
            content_summary(&items),
            "参加志愿服务活动 3 次，主要为：为老服务（2 次）、环境保护（1 次）"
        );
    }

    proptest! {
        #[test]
        fn every_generated_number_parses_back(year in 2000i32..=9999, seq in 1u32..=999_999, r in 0u32..(1 << 20)) {
            let n = CertificateNo::new(year, seq, r).unwrap();
            prop_assert_eq!(CertificateNo::parse(n.as_str()), Ok(n.clone()));
            prop_assert_eq!(n.year(), year);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,30}") {
            let _ = CertificateNo::parse(&s);
        }

        #[test]
        fn a_single_changed_character_is_caught(seq in 1u32..=999_999, r in 0u32..(1 << 20), pos in 2usize..19, with in 0usize..32) {
            let n = CertificateNo::new(2025, seq, r).unwrap();
            let mut b = n.as_str().as_bytes().to_vec();
            if b[pos] == b'-' { return Ok(()); }
            let c = ALPHABET[with];
            if (pos < 14 && !c.is_ascii_digit()) || c == b[pos] { return Ok(()); }
            b[pos] = c;
            let s = String::from_utf8(b).unwrap();
            prop_assert!(CertificateNo::parse(&s).is_err(), "{}", s);
        }
    }
}
