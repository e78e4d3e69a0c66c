//! Division codes: GB/T 2260 (6 digits), the 12-digit statistical division code
//! (县 6 + 乡 3 + 村 3), and Shequ's grid suffix (村/社区 12 + 网格 3 = 15 digits).
//!
//! A [`DivisionCode`] can only hold a code whose shape is valid for its level; the
//! parent of every code is derived from its prefix, so prefix consistency holds by
//! construction.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Province-level prefixes of GB/T 2260.
const PROVINCES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

/// The five levels of the tree, from the city down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    City,
    County,
    Township,
    Village,
    Grid,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::City,
        Level::County,
        Level::Township,
        Level::Village,
        Level::Grid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::City => "city",
            Level::County => "county",
            Level::Township => "township",
            Level::Village => "village",
            Level::Grid => "grid",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// The level's name in Chinese, as shown on screen.
    pub fn label(self) -> &'static str {
        match self {
            Level::City => "市",
            Level::County => "县市区",
            Level::Township => "乡镇（街道）",
            Level::Village => "村（社区）",
            Level::Grid => "网格",
        }
    }

    /// Number of digits a code of this level has.
    pub fn code_len(self) -> usize {
        match self {
            Level::City | Level::County => 6,
            Level::Township => 9,
            Level::Village => 12,
            Level::Grid => 15,
        }
    }

    pub fn child(self) -> Option<Level> {
        match self {
            Level::City => Some(Level::County),
            Level::County => Some(Level::Township),
            Level::Township => Some(Level::Village),
            Level::Village => Some(Level::Grid),
            Level::Grid => None,
        }
    }
}

/// Why a string is not a division code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("区划代码只能由数字组成")]
    NotDigits,
    #[error("区划代码应为 6、9、12 或 15 位")]
    BadLength,
    #[error("区划代码的省级前缀不存在")]
    UnknownProvince,
    #[error("区划代码的某一段不能全为 0")]
    ZeroSegment,
}

impl CodeError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CodeError::NotDigits => "code_not_digits",
            CodeError::BadLength => "code_bad_length",
            CodeError::UnknownProvince => "code_unknown_province",
            CodeError::ZeroSegment => "code_zero_segment",
        }
    }
}

/// A valid division code of any level.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DivisionCode(String);

impl DivisionCode {
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let s = input.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError::NotDigits);
        }
        if ![6, 9, 12, 15].contains(&s.len()) {
            return Err(CodeError::BadLength);
        }
        if !PROVINCES.contains(&s.get(0..2).unwrap_or("")) {
            return Err(CodeError::UnknownProvince);
        }
        // The prefecture segment (digits 3–4), the county segment of any code below a county,
        // and every segment after 6 digits must be non-zero.
        let zero =
            |r: std::ops::Range<usize>| s.get(r).is_some_and(|x| x.bytes().all(|b| b == b'0'));
        if zero(2..4)
            || (s.len() >= 9 && (zero(4..6) || zero(6..9)))
            || (s.len() >= 12 && zero(9..12))
            || (s.len() == 15 && zero(12..15))
        {
            return Err(CodeError::ZeroSegment);
        }
        Ok(DivisionCode(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> Level {
        match self.0.len() {
            6 if self.0.ends_with("00") => Level::City,
            6 => Level::County,
            9 => Level::Township,
            12 => Level::Village,
            _ => Level::Grid,
        }
    }

    /// The code of the parent node; `None` for a city (the root of Shequ's tree).
    pub fn parent(&self) -> Option<DivisionCode> {
        let p = match self.level() {
            Level::City => return None,
            Level::County => format!("{}00", self.0.get(0..4)?),
            Level::Township => self.0.get(0..6)?.to_owned(),
            Level::Village => self.0.get(0..9)?.to_owned(),
            Level::Grid => self.0.get(0..12)?.to_owned(),
        };
        Some(DivisionCode(p))
    }

    /// Whether `self` lies in the subtree rooted at `root` (a node is inside its own subtree).
    pub fn is_within(&self, root: &DivisionCode) -> bool {
        match root.level() {
            Level::City => self.0.starts_with(root.0.get(0..4).unwrap_or("-")),
            _ => self.0.starts_with(&root.0),
        }
    }

    /// The kind a code's own segment implies: 街道/镇/乡 for townships (GB/T 10114),
    /// 社区/村 for villages (居委会 001–199, 4xx; 村委会 200–399, 5xx).
    pub fn kind(&self) -> Kind {
        let seg = |r: std::ops::Range<usize>| {
            self.0
                .get(r)
                .and_then(|x| x.parse::<u16>().ok())
                .unwrap_or(0)
        };
        match self.level() {
            Level::City => Kind::City,
            Level::County => Kind::County,
            Level::Township => match seg(6..9) {
                1..=99 => Kind::Street,
                100..=199 => Kind::Town,
                200..=399 => Kind::Township,
                _ => Kind::OtherTownship,
            },
            Level::Village => match seg(9..12) {
                200..=399 | 500..=599 => Kind::Village,
                _ => Kind::Community,
            },
            Level::Grid => Kind::Grid,
        }
    }

    /// A grid code under this village/community, numbered 1–999.
    pub fn grid(&self, number: u16) -> Option<DivisionCode> {
        if self.level() != Level::Village || !(1..=999).contains(&number) {
            return None;
        }
        Some(DivisionCode(format!("{}{:03}", self.0, number)))
    }
}

/// The kind of a node, finer than its level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    City,
    County,
    Street,
    Town,
    Township,
    OtherTownship,
    Community,
    Village,
    Grid,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::City => "市",
            Kind::County => "县市区",
            Kind::Street => "街道",
            Kind::Town => "镇",
            Kind::Township => "乡",
            Kind::OtherTownship => "场（区）",
            Kind::Community => "社区",
            Kind::Village => "村",
            Kind::Grid => "网格",
        }
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for DivisionCode {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DivisionCode::parse(s)
    }
}

impl Serialize for DivisionCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DivisionCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DivisionCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).unwrap()
    }

    #[test]
    fn levels_and_parents() {
        assert_eq!(code("430500").level(), Level::City);
        assert_eq!(code("430500").parent(), None);
        assert_eq!(code("430581").level(), Level::County);
        assert_eq!(code("430581").parent(), Some(code("430500")));
        assert_eq!(code("430502001").parent(), Some(code("430502")));
        assert_eq!(code("430502001003").parent(), Some(code("430502001")));
        assert_eq!(code("430502001003002").level(), Level::Grid);
        assert_eq!(code("430502001003002").parent(), Some(code("430502001003")));
    }

    #[test]
    fn kinds_follow_gbt10114() {
        assert_eq!(code("430502001").kind(), Kind::Street);
        assert_eq!(code("430502100").kind(), Kind::Town);
        assert_eq!(code("430502202").kind(), Kind::Township);
        assert_eq!(code("430523401").kind(), Kind::OtherTownship);
        assert_eq!(code("430522108001").kind(), Kind::Community);
        assert_eq!(code("430522108201").kind(), Kind::Village);
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(DivisionCode::parse("43050A"), Err(CodeError::NotDigits));
        assert_eq!(DivisionCode::parse(""), Err(CodeError::NotDigits));
        assert_eq!(DivisionCode::parse("4305021"), Err(CodeError::BadLength));
        assert_eq!(
            DivisionCode::parse("990500"),
            Err(CodeError::UnknownProvince)
        );
        assert_eq!(
            DivisionCode::parse("430502000"),
            Err(CodeError::ZeroSegment)
        );
        assert_eq!(DivisionCode::parse("430000"), Err(CodeError::ZeroSegment));
        assert_eq!(
            DivisionCode::parse("430500001"),
            Err(CodeError::ZeroSegment)
        );
        assert_eq!(
            DivisionCode::parse("430502001000"),
            Err(CodeError::ZeroSegment)
        );
        assert_eq!(
            DivisionCode::parse("430502001001000"),
            Err(CodeError::ZeroSegment)
        );
        assert_eq!(
            DivisionCode::parse("４３０５００"),
            Err(CodeError::NotDigits)
        );
    }

    #[test]
    fn subtree_membership() {
        let city = code("430500");
        assert!(code("430581104203").is_within(&city));
        assert!(!code("430600").is_within(&city));
        assert!(code("430502001001").is_within(&code("430502")));
        assert!(!code("430503001001").is_within(&code("430502")));
    }

    #[test]
    fn serde_round_trip_and_reject() {
        let c: DivisionCode = serde_json::from_str("\"430502001\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"430502001\"");
        assert!(serde_json::from_str::<DivisionCode>("\"12\"").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,20}") {
            let _ = DivisionCode::parse(&s);
        }

        #[test]
        fn every_valid_code_has_a_consistent_parent(s in "43[0-9]{2}[0-9]{2}([0-9]{3}([0-9]{3}([0-9]{3})?)?)?") {
            if let Ok(c) = DivisionCode::parse(&s) {
                prop_assert_eq!(c.as_str().len(), c.level().code_len());
                if let Some(p) = c.parent() {
                    prop_assert!(c.is_within(&p));
                    prop_assert_eq!(p.level().child(), Some(c.level()));
                    prop_assert!(DivisionCode::parse(p.as_str()).is_ok());
                }
            }
        }
    }
}
