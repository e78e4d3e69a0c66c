//! People-related enumerations: gender, special-population tags (特殊人群标签) and the
//! relation of a household member to the household head (与户主关系).
//!
//! Every enum has a stable ASCII code (`as_str`, also its serde form), a Chinese
//! `label()`, and a `parse` that accepts either the code or the label.

use serde::{Deserialize, Serialize};

/// Gender as recorded on the ID card (顺序码 odd = male, even = female).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    pub const ALL: [Gender; 2] = [Gender::Male, Gender::Female];

    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }

    /// 男 / 女.
    pub fn label(self) -> &'static str {
        match self {
            Gender::Male => "男",
            Gender::Female => "女",
        }
    }

    /// Accepts the code (`male`) or the label (`男`), surrounding spaces ignored.
    pub fn parse(code_or_label: &str) -> Option<Gender> {
        let s = code_or_label.trim();
        Gender::ALL
            .into_iter()
            .find(|g| g.as_str() == s || g.label() == s)
    }
}

/// Special-population tags used for care targeting (探访关爱, 社会救助, 未成年人保护).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tag {
    LivingAlone,
    EmptyNest,
    LeftBehindElderly,
    DisabledElderly,
    SeverelyDisabled,
    OldestOld,
    SpecialFamilyPlanning,
    Disability,
    Dibao,
    Tekun,
    LeftBehindChild,
    ChildInDifficulty,
}

impl Tag {
    pub const ALL: [Tag; 12] = [
        Tag::LivingAlone,
        Tag::EmptyNest,
        Tag::LeftBehindElderly,
        Tag::DisabledElderly,
        Tag::SeverelyDisabled,
        Tag::OldestOld,
        Tag::SpecialFamilyPlanning,
        Tag::Disability,
        Tag::Dibao,
        Tag::Tekun,
        Tag::LeftBehindChild,
        Tag::ChildInDifficulty,
    ];

    /// Stable ASCII code, stored in the database and used in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Tag::LivingAlone => "living_alone",
            Tag::EmptyNest => "empty_nest",
            Tag::LeftBehindElderly => "left_behind_elderly",
            Tag::DisabledElderly => "disabled_elderly",
            Tag::SeverelyDisabled => "severely_disabled",
            Tag::OldestOld => "oldest_old",
            Tag::SpecialFamilyPlanning => "special_family_planning",
            Tag::Disability => "disability",
            Tag::Dibao => "dibao",
            Tag::Tekun => "tekun",
            Tag::LeftBehindChild => "left_behind_child",
            Tag::ChildInDifficulty => "child_in_difficulty",
        }
    }

    /// The tag's name in Chinese, as shown on screen.
    pub fn label(self) -> &'static str {
        match self {
            Tag::LivingAlone => "独居老人",
            Tag::EmptyNest => "空巢老人",
            Tag::LeftBehindElderly => "留守老人",
            Tag::DisabledElderly => "失能老人",
            Tag::SeverelyDisabled => "重度残疾",
            Tag::OldestOld => "高龄老人",
            Tag::SpecialFamilyPlanning => "计生特殊家庭",
            Tag::Disability => "残疾人",
            Tag::Dibao => "低保",
            Tag::Tekun => "特困供养",
            Tag::LeftBehindChild => "留守儿童",
            Tag::ChildInDifficulty => "困境儿童",
        }
    }

    /// Accepts the code (`dibao`) or the label (`低保`), surrounding spaces ignored.
    pub fn parse(code_or_label: &str) -> Option<Tag> {
        let s = code_or_label.trim();
        Tag::ALL
            .into_iter()
            .find(|t| t.as_str() == s || t.label() == s)
    }

    /// Whether the tag reveals health, disability or welfare status: sensitive personal
    /// information under PIPL art. 28, which needs stricter access and separate consent.
    pub fn sensitive(self) -> bool {
        matches!(
            self,
            Tag::DisabledElderly
                | Tag::SeverelyDisabled
                | Tag::SpecialFamilyPlanning
                | Tag::Disability
                | Tag::Dibao
                | Tag::Tekun
                | Tag::ChildInDifficulty
        )
    }
}

/// A household member's relation to the household head (与户主关系).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    Head,
    Spouse,
    Child,
    Parent,
    Grandchild,
    Sibling,
    Other,
}

impl Relation {
    pub const ALL: [Relation; 7] = [
        Relation::Head,
        Relation::Spouse,
        Relation::Child,
        Relation::Parent,
        Relation::Grandchild,
        Relation::Sibling,
        Relation::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Head => "head",
            Relation::Spouse => "spouse",
            Relation::Child => "child",
            Relation::Parent => "parent",
            Relation::Grandchild => "grandchild",
            Relation::Sibling => "sibling",
            Relation::Other => "other",
        }
    }

    /// The relation's name in Chinese, as shown on screen.
    pub fn label(self) -> &'static str {
        match self {
            Relation::Head => "户主",
            Relation::Spouse => "配偶",
            Relation::Child => "子女",
            Relation::Parent => "父母",
            Relation::Grandchild => "孙子女",
            Relation::Sibling => "兄弟姐妹",
            Relation::Other => "其他",
        }
    }

    /// Accepts the code (`spouse`) or the label (`配偶`), surrounding spaces ignored.
    pub fn parse(code_or_label: &str) -> Option<Relation> {
        let s = code_or_label.trim();
        Relation::ALL
            .into_iter()
            .find(|r| r.as_str() == s || r.label() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gender_codes_and_labels() {
        assert_eq!(Gender::parse("male"), Some(Gender::Male));
        assert_eq!(Gender::parse(" 女 "), Some(Gender::Female));
        assert_eq!(Gender::parse("M"), None);
        assert_eq!(Gender::Female.label(), "女");
    }

    #[test]
    fn every_tag_round_trips_by_code_and_label() {
        for t in Tag::ALL {
            assert_eq!(Tag::parse(t.as_str()), Some(t));
            assert_eq!(Tag::parse(t.label()), Some(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
        assert_eq!(Tag::parse("unknown"), None);
    }

    #[test]
    fn sensitive_tags_are_health_disability_and_welfare() {
        let sensitive: Vec<&str> = Tag::ALL
            .into_iter()
            .filter(|t| t.sensitive())
            .map(Tag::as_str)
            .collect();
        assert_eq!(
            sensitive,
            [
                "disabled_elderly",
                "severely_disabled",
                "special_family_planning",
                "disability",
                "dibao",
                "tekun",
                "child_in_difficulty"
            ]
        );
    }

    #[test]
    fn every_relation_round_trips() {
        for r in Relation::ALL {
            assert_eq!(Relation::parse(r.as_str()), Some(r));
            assert_eq!(Relation::parse(r.label()), Some(r));
        }
        assert_eq!(Relation::parse("孙子女"), Some(Relation::Grandchild));
    }
}
