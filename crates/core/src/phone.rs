//! Phone numbers: mainland mobile numbers (`1[3-9]` + 9 digits) and landlines
//! (`0` + 2–3 digit area code + 7–8 digit local number), normalised to `13812345678`
//! and `0739-5123456`.
//!
//! `Debug` output is masked so that logging a value never leaks the number.

use crate::mask::mask_middle;
use std::fmt;

/// Why a string is not a phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("电话号码格式不正确，应为 11 位手机号码或带区号的固定电话（如 0739-5123456）")]
    Invalid,
}

impl PhoneError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            PhoneError::Invalid => "phone_invalid",
        }
    }
}

/// A valid, normalised phone number.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Phone(String);

impl Phone {
    /// Accepts spaces and hyphens anywhere and a leading `+86` or `0086`.
    pub fn parse(input: &str) -> Result<Phone, PhoneError> {
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let (digits, had_country_code) = strip_country_code(&compact);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::Invalid);
        }
        if is_mobile(digits) {
            return Ok(Phone(digits.to_owned()));
        }
        // From abroad a landline is dialled without its trunk prefix 0: +86 739 5123456.
        let landline = if had_country_code && !digits.starts_with('0') {
            format!("0{digits}")
        } else {
            digits.to_owned()
        };
        normalise_landline(&landline)
            .map(Phone)
            .ok_or(PhoneError::Invalid)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_mobile(&self) -> bool {
        is_mobile(&self.0)
    }

    /// Mobile `138****5678`; landline area code + `-****` + last 2 digits, `0739-****56`.
    pub fn masked(&self) -> String {
        if self.is_mobile() {
            return mask_middle(&self.0, 3, 4);
        }
        let area = self.0.split('-').next().unwrap_or("");
        let tail = self.0.get(self.0.len().saturating_sub(2)..).unwrap_or("");
        format!("{area}-****{tail}")
    }
}

fn strip_country_code(s: &str) -> (&str, bool) {
    match s.strip_prefix("+86").or_else(|| s.strip_prefix("0086")) {
        Some(rest) => (rest, true),
        None => (s, false),
    }
}

/// 11 digits starting with 13–19.
fn is_mobile(digits: &str) -> bool {
    let b = digits.as_bytes();
    b.len() == 11
        && b.first() == Some(&b'1')
        && b.get(1).is_some_and(|d| (b'3'..=b'9').contains(d))
        && b.iter().all(u8::is_ascii_digit)
}

/// `0` + area code + local number, split as `AREA-LOCAL`. Area codes 010 and 020–029
/// have two digits after the 0; all others have three.
fn normalise_landline(digits: &str) -> Option<String> {
    if !digits.starts_with('0') {
        return None;
    }
    let area_len = match digits.as_bytes().get(1) {
        Some(b'1' | b'2') => 3,
        Some(b'3'..=b'9') => 4,
        _ => return None,
    };
    let (area, local) = digits.split_at_checked(area_len)?;
    if !(7..=8).contains(&local.len()) {
        return None;
    }
    Some(format!("{area}-{local}"))
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl std::str::FromStr for Phone {
    type Err = PhoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phone::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(s: &str) -> String {
        Phone::parse(s).unwrap().as_str().to_owned()
    }

    #[test]
    fn mobiles_are_normalised() {
        assert_eq!(ok("13812345678"), "13812345678");
        assert_eq!(ok("138 1234 5678"), "13812345678");
        assert_eq!(ok("138-1234-5678"), "13812345678");
        assert_eq!(ok("+86 138 1234 5678"), "13812345678");
        assert_eq!(ok("008613812345678"), "13812345678");
        assert_eq!(ok("19912345678"), "19912345678");
    }

    #[test]
    fn landlines_are_normalised() {
        assert_eq!(ok("0739-5123456"), "0739-5123456");
        assert_eq!(ok("07395123456"), "0739-5123456");
        assert_eq!(ok("0739 512 3456"), "0739-5123456");
        assert_eq!(ok("010-62345678"), "010-62345678");
        assert_eq!(ok("01062345678"), "010-62345678");
        assert_eq!(ok("02088888888"), "020-88888888");
        assert_eq!(ok("+86 739 5123456"), "0739-5123456");
        assert_eq!(ok("0739-51234567"), "0739-51234567");
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "12812345678",
            "1381234567",
            "138123456789",
            "1381234567a",
            "0739-512345",
            "0739-512345678",
            "00739-5123456",
            "0739+5123456",
            "１３８１２３４５６７８",
            "+86",
        ] {
            assert_eq!(Phone::parse(s), Err(PhoneError::Invalid), "{s}");
        }
        assert_eq!(PhoneError::Invalid.code(), "phone_invalid");
    }

    #[test]
    fn masking() {
        let m = Phone::parse("13812345678").unwrap();
        assert_eq!(m.masked(), "138****5678");
        assert_eq!(format!("{m:?}"), "Phone(138****5678)");
        assert_eq!(m.to_string(), "13812345678");
        let l = Phone::parse("0739-5123456").unwrap();
        assert_eq!(l.masked(), "0739-****56");
        assert_eq!(format!("{l:?}"), "Phone(0739-****56)");
        assert!(!l.is_mobile());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,20}") {
            let _ = Phone::parse(&s);
        }

        #[test]
        fn normalised_form_parses_to_itself(s in "(\\+86)?(1[3-9][0-9]{9}|0[1-9][0-9]{1,2}-?[0-9]{7,8})") {
            if let Ok(p) = Phone::parse(&s) {
                prop_assert_eq!(Phone::parse(p.as_str()), Ok(p));
            }
        }
    }
}
