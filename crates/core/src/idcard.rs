//! Citizen ID numbers (公民身份号码, GB 11643-1999): 6-digit address code, 8-digit
//! birth date, 3-digit sequence (odd = male, even = female) and an ISO 7064 MOD 11-2
//! check character (`0`–`9` or `X`).
//!
//! An [`IdCardNo`] can only hold a number that passed every check. Its `Debug` output is
//! masked so that logging a value never leaks the number; `Display` prints it in full.

use crate::mask::mask_middle;
use crate::person::Gender;
use chrono::NaiveDate;
use std::fmt;

/// Weights W_i = 2^(18−i) mod 11 for the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each value of the weighted sum mod 11.
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// Why a string is not a valid ID number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdCardError {
    #[error("身份证号码应为 18 位（或旧式 15 位）")]
    BadLength,
    #[error("身份证号码只能由数字组成，末位可以是 X")]
    NotDigits,
    #[error("身份证号码校验位不正确，请核对后重新输入")]
    BadCheckDigit,
    #[error("身份证号码中的出生日期无效")]
    BadBirthDate,
    #[error("身份证号码中的出生日期晚于今天")]
    FutureBirthDate,
}

impl IdCardError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            IdCardError::BadLength => "id_bad_length",
            IdCardError::NotDigits => "id_not_digits",
            IdCardError::BadCheckDigit => "id_bad_check_digit",
            IdCardError::BadBirthDate => "id_bad_birth_date",
            IdCardError::FutureBirthDate => "id_future_birth_date",
        }
    }
}

/// A valid 18-character citizen ID number.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdCardNo {
    number: String,
    birth: NaiveDate,
}

impl IdCardNo {
    /// Parse an 18-character number (a lowercase `x` is accepted) or an old 15-digit one,
    /// which is converted to 18. `today` bounds the birth date from above.
    pub fn parse(input: &str, today: NaiveDate) -> Result<IdCardNo, IdCardError> {
        let s = input.trim();
        let number = match s.chars().count() {
            18 => normalise_18(s)?,
            15 => upgrade_15(s)?,
            _ => return Err(IdCardError::BadLength),
        };
        let expected = number.get(0..17).and_then(check_char);
        if expected.is_none() || expected.as_ref() != number.as_bytes().get(17) {
            return Err(IdCardError::BadCheckDigit);
        }
        let birth = birth_date_of(&number)?;
        if birth > today {
            return Err(IdCardError::FutureBirthDate);
        }
        Ok(IdCardNo { number, birth })
    }

    /// Build a valid number from a 6-digit address code, a birth date and a sequence
    /// number 1–999 (odd = male, even = female). Used to generate demo data.
    pub fn from_parts(region6: &str, birth: NaiveDate, seq: u16) -> Option<IdCardNo> {
        let region_ok = region6.len() == 6 && region6.bytes().all(|b| b.is_ascii_digit());
        if !region_ok || !(1..=999).contains(&seq) || birth < earliest_birth() {
            return None;
        }
        let first17 = format!("{region6}{}{seq:03}", birth.format("%Y%m%d"));
        let check = char::from(check_char(&first17)?);
        Some(IdCardNo {
            number: format!("{first17}{check}"),
            birth,
        })
    }

    /// The full 18-character number.
    pub fn as_str(&self) -> &str {
        &self.number
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth
    }

    /// Gender from the parity of the sequence code (digit 17).
    pub fn gender(&self) -> Gender {
        // ASCII '0' is even, so a digit's byte has the parity of its value.
        let digit = self.number.as_bytes().get(16).copied().unwrap_or(b'0');
        if digit % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    /// The 6-digit address code where the number was issued (may be a retired code).
    pub fn region(&self) -> &str {
        self.number.get(0..6).unwrap_or("")
    }

    /// First 6 + `********` + last 4, e.g. `430502********123X`.
    pub fn masked(&self) -> String {
        mask_middle(&self.number, 6, 4)
    }
}

impl fmt::Display for IdCardNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.number)
    }
}

impl fmt::Debug for IdCardNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdCardNo({})", self.masked())
    }
}

/// The ISO 7064 MOD 11-2 check character of 17 ASCII digits; `None` for anything else.
fn check_char(first17: &str) -> Option<u8> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in first17.chars().zip(WEIGHTS) {
        sum += c.to_digit(10)? * w;
    }
    CHECK_CHARS.get((sum % 11) as usize).copied()
}

/// 17 digits and a digit or `X` (lowercase accepted), upper-cased.
fn normalise_18(s: &str) -> Result<String, IdCardError> {
    let digits_ok = s.bytes().take(17).all(|b| b.is_ascii_digit());
    let last_ok = s
        .as_bytes()
        .get(17)
        .is_some_and(|b| b.is_ascii_digit() || *b == b'X' || *b == b'x');
    if s.len() != 18 || !digits_ok || !last_ok {
        return Err(IdCardError::NotDigits);
    }
    Ok(s.to_ascii_uppercase())
}

/// An old 15-digit number (2-digit birth year, no check) converted to 18 characters.
fn upgrade_15(s: &str) -> Result<String, IdCardError> {
    if s.len() != 15 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdCardError::NotDigits);
    }
    let (region, rest) = s.split_at(6);
    let first17 = format!("{region}19{rest}");
    let check = check_char(&first17).ok_or(IdCardError::NotDigits)?;
    Ok(format!("{first17}{}", char::from(check)))
}

fn birth_date_of(number: &str) -> Result<NaiveDate, IdCardError> {
    let field = |r: std::ops::Range<usize>| number.get(r).and_then(|x| x.parse::<u32>().ok());
    let (year, month, day) = (field(6..10), field(10..12), field(12..14));
    let date = match (year, month, day) {
        (Some(y), Some(m), Some(d)) => i32::try_from(y)
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, m, d)),
        _ => None,
    };
    date.filter(|d| *d >= earliest_birth())
        .ok_or(IdCardError::BadBirthDate)
}

/// Birth dates before 1800 are rejected (numbers of people born in the 1880s exist).
fn earliest_birth() -> NaiveDate {
    NaiveDate::from_ymd_opt(1800, 1, 1).unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn today() -> NaiveDate {
        date(2025, 6, 1)
    }

    #[test]
    fn reference_vectors_pass() {
        for s in [
            "11010519491231002X",
            "440524188001010014",
            "370101190102039973",
            "34052419800101001X",
        ] {
            let id = IdCardNo::parse(s, today()).unwrap();
            assert_eq!(id.as_str(), s);
        }
    }

    #[test]
    fn fields_are_derived() {
        let id = IdCardNo::parse(" 11010519491231002x ", today()).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), date(1949, 12, 31));
        assert_eq!(id.gender(), Gender::Female);
        assert_eq!(id.region(), "110105");
        assert_eq!(id.masked(), "110105********002X");
        let old = IdCardNo::parse("440524188001010014", today()).unwrap();
        assert_eq!(old.birth_date(), date(1880, 1, 1));
        assert_eq!(old.gender(), Gender::Male);
    }

    #[test]
    fn debug_is_masked_display_is_full() {
        let id = IdCardNo::parse("34052419800101001X", today()).unwrap();
        assert_eq!(format!("{id:?}"), "IdCardNo(340524********001X)");
        assert_eq!(id.to_string(), "34052419800101001X");
    }

    #[test]
    fn fifteen_digits_are_upgraded() {
        let id = IdCardNo::parse("340524800101001", today()).unwrap();
        assert_eq!(id.as_str(), "34052419800101001X");
        assert_eq!(id.birth_date(), date(1980, 1, 1));
    }

    #[test]
    fn errors() {
        let err = |s: &str| IdCardNo::parse(s, today()).unwrap_err();
        assert_eq!(err("1101051949123100"), IdCardError::BadLength);
        assert_eq!(err(""), IdCardError::BadLength);
        assert_eq!(err("11010519491231002Y"), IdCardError::NotDigits);
        assert_eq!(err("1101051949123X0021"), IdCardError::NotDigits);
        assert_eq!(
            err("１１０１０５１９４９１２３１００２X"),
            IdCardError::NotDigits
        );
        assert_eq!(err("110105194912310021"), IdCardError::BadCheckDigit);
        assert_eq!(
            err(&with_check("43050220000230001")),
            IdCardError::BadBirthDate
        );
        assert_eq!(
            err(&with_check("43050220001301001")),
            IdCardError::BadBirthDate
        );
        assert_eq!(
            err(&with_check("43050217991231001")),
            IdCardError::BadBirthDate
        );
        assert_eq!(
            err(&with_check("43050220250602001")),
            IdCardError::FutureBirthDate
        );
        assert!(IdCardNo::parse(&with_check("43050220250601001"), today()).is_ok());
        assert_eq!(IdCardError::BadCheckDigit.code(), "id_bad_check_digit");
    }

    fn with_check(first17: &str) -> String {
        format!("{first17}{}", char::from(check_char(first17).unwrap()))
    }

    #[test]
    fn from_parts_rejects_bad_input() {
        let d = date(1990, 5, 17);
        assert!(IdCardNo::from_parts("43050", d, 1).is_none());
        assert!(IdCardNo::from_parts("43050a", d, 1).is_none());
        assert!(IdCardNo::from_parts("430502", d, 0).is_none());
        assert!(IdCardNo::from_parts("430502", d, 1000).is_none());
        assert!(IdCardNo::from_parts("430502", date(1799, 12, 31), 1).is_none());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,24}") {
            let _ = IdCardNo::parse(&s, today());
        }

        #[test]
        fn parse_never_panics_on_near_misses(s in "[0-9xX]{14,19}") {
            let _ = IdCardNo::parse(&s, today());
        }

        #[test]
        fn from_parts_parses_back(region in "[0-9]{6}", days in 0i64..110_000, seq in 1u16..=999) {
            let birth = earliest_birth() + chrono::TimeDelta::days(days);
            let id = IdCardNo::from_parts(&region, birth, seq).unwrap();
            let parsed = IdCardNo::parse(id.as_str(), NaiveDate::MAX).unwrap();
            prop_assert_eq!(parsed.birth_date(), birth);
            let gender = if seq % 2 == 1 { Gender::Male } else { Gender::Female };
            prop_assert_eq!(parsed.gender(), gender);
            prop_assert_eq!(parsed, id);
        }
    }
}
