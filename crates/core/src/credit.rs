//! Unified social credit codes (统一社会信用代码, GB 32100-2015) of organisations:
//! registration authority (1), organisation kind (1), registration region (6, GB/T 2260),
//! organisation code (9, GB 11714) and a check character (1), all drawn from a
//! 31-character alphabet without I, O, S, V and Z.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The code's alphabet; a character's value is its position (0–30).
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights W_i = 3^(i−1) mod 31 for the first 17 characters.
const WEIGHTS: [usize; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Why a string is not a valid unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("统一社会信用代码应为 18 位")]
    BadLength,
    #[error("统一社会信用代码只能包含数字和大写字母（不含 I、O、S、V、Z）")]
    BadCharset,
    #[error("统一社会信用代码校验位不正确，请核对后重新输入")]
    BadCheckDigit,
}

impl CreditCodeError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CreditCodeError::BadLength => "credit_bad_length",
            CreditCodeError::BadCharset => "credit_bad_charset",
            CreditCodeError::BadCheckDigit => "credit_bad_check_digit",
        }
    }
}

/// A valid 18-character unified social credit code, upper case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CreditCode(String);

impl CreditCode {
    /// Trim, upper-case, then check length, alphabet and the check character.
    pub fn parse(input: &str) -> Result<CreditCode, CreditCodeError> {
        let s = input.trim().to_ascii_uppercase();
        if s.chars().count() != 18 {
            return Err(CreditCodeError::BadLength);
        }
        let values: Option<Vec<usize>> = s.bytes().map(char_value).collect();
        let values = values.ok_or(CreditCodeError::BadCharset)?;
        let (first17, check) = values.split_at(17);
        if Some(check_value(first17)) != check.first().copied() {
            return Err(CreditCodeError::BadCheckDigit);
        }
        Ok(CreditCode(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Positions 3–8: the GB/T 2260 code of the registering authority's region.
    pub fn registration_region(&self) -> &str {
        self.0.get(2..8).unwrap_or("")
    }
}

/// The value (0–30) of one character of the alphabet.
fn char_value(b: u8) -> Option<usize> {
    CHARSET.iter().position(|&c| c == b)
}

/// The value of the check character for the first 17 values:
/// 31 − (Σ v_i × W_i mod 31), where 31 becomes 0.
fn check_value(first17: &[usize]) -> usize {
    let sum: usize = first17.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    (31 - sum % 31) % 31
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for CreditCode {
    type Err = CreditCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CreditCode::parse(s)
    }
}

impl Serialize for CreditCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CreditCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CreditCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VALID: &str = "91350100M000100Y43";

    #[test]
    fn reference_vector_passes() {
        let c = CreditCode::parse(VALID).unwrap();
        assert_eq!(c.as_str(), VALID);
        assert_eq!(c.registration_region(), "350100");
        assert_eq!(c.to_string(), VALID);
        let lower = CreditCode::parse(" 91350100m000100y43 ").unwrap();
        assert_eq!(lower, c);
    }

    #[test]
    fn errors() {
        let err = |s: &str| CreditCode::parse(s).unwrap_err();
        assert_eq!(err("91350100M000100Y4"), CreditCodeError::BadLength);
        assert_eq!(err(""), CreditCodeError::BadLength);
        assert_eq!(err("91350100M000100I43"), CreditCodeError::BadCharset);
        assert_eq!(err("91350100M000100Y4３"), CreditCodeError::BadCharset);
        assert_eq!(err("91350100M000100Y44"), CreditCodeError::BadCheckDigit);
        // A pilot-era code known not to validate.
        assert_eq!(err("91350100M0001TGQXM"), CreditCodeError::BadCheckDigit);
        assert_eq!(CreditCodeError::BadCharset.code(), "credit_bad_charset");
    }

    #[test]
    fn serde_round_trip_and_reject() {
        let c: CreditCode = serde_json::from_str("\"91350100M000100Y43\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"91350100M000100Y43\"");
        assert!(serde_json::from_str::<CreditCode>("\"91350100M000100Y44\"").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,24}") {
            let _ = CreditCode::parse(&s);
        }

        #[test]
        fn changing_any_single_character_fails(pos in 0usize..18, c in any::<char>()) {
            let original: Vec<char> = VALID.chars().collect();
            prop_assume!(original.get(pos).is_some_and(|o| c.to_ascii_uppercase() != *o));
            let changed: String = original
                .iter()
                .enumerate()
                .map(|(i, o)| if i == pos { c } else { *o })
                .collect();
            prop_assert!(CreditCode::parse(&changed).is_err());
        }

        #[test]
        fn a_computed_check_always_validates(body in "[0-9A-HJ-NPQRTUWXY]{17}") {
            let values: Vec<usize> = body.bytes().filter_map(char_value).collect();
            let check = CHARSET.get(check_value(&values)).copied().map(char::from).unwrap();
            let code = format!("{body}{check}");
            let parsed = CreditCode::parse(&code).unwrap();
            prop_assert_eq!(parsed.as_str(), code.as_str());
        }
    }
}
