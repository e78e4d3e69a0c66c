//! Turning submitted person fields (from JSON, forms or spreadsheet rows) into a
//! checked [`PersonInput`], with every bad field reported.

use chrono::NaiveDate;
use serde::Deserialize;
use shequ_core::{DivisionCode, FieldErrors, IdCardNo, Phone, Relation, Tag};
use shequ_db::people::PersonInput;
use utoipa::ToSchema;

/// A resident's fields as a client sends them.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPerson {
    /// Village/community (12 digits) or grid (15 digits) code.
    pub division: String,
    pub name: String,
    /// 18-digit ID number (GB 11643); a 15-digit one is converted.
    pub id_number: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub household_id: Option<i64>,
    /// `head`, `spouse`, `child`, `parent`, `grandchild`, `sibling`, `other` (or the Chinese label).
    #[serde(default)]
    pub relation: Option<String>,
    /// Tag codes or Chinese labels, e.g. `living_alone`, `低保`.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl RawPerson {
    /// Check every field; `today` bounds birth dates.
    pub fn parse(&self, today: NaiveDate) -> Result<PersonInput, FieldErrors> {
        let mut errs = FieldErrors::new();
        let division = DivisionCode::parse(&self.division)
            .map_err(|e| errs.add("division", e.code(), format!("区划代码有误：{e}")))
            .ok();
        let id_number = IdCardNo::parse(&self.id_number, today)
            .map_err(|e| errs.add("id_number", e.code(), e.to_string()))
            .ok();
        let phone = match self
            .phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            Some(p) => Phone::parse(p)
                .map_err(|e| errs.add("phone", e.code(), e.to_string()))
                .ok(),
            None => None,
        };
        let relation = match self
            .relation
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            Some(r) => Relation::parse(r).unwrap_or_else(|| {
                errs.add(
                    "relation",
                    "bad_relation",
                    "与户主关系应为：户主、配偶、子女、父母、孙子女、兄弟姐妹或其他",
                );
                Relation::Other
            }),
            None => Relation::Other,
        };
        let mut tags = Vec::new();
        for t in self.tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            match Tag::parse(t) {
                Some(tag) => tags.push(tag),
                None => errs.add(
                    "tags",
                    "unknown_tag",
                    format!("未知的人群标签：{}", t.chars().take(20).collect::<String>()),
                ),
            }
        }
        tags.sort();
        tags.dedup();
        let (Some(division), Some(id_number)) = (division, id_number) else {
            return Err(errs);
        };
        let input = PersonInput {
            division,
            household_id: self.household_id,
            relation,
            name: self.name.clone(),
            id_number,
            phone,
            address: self.address.clone().unwrap_or_default(),
            tags,
        };
        if let Err(e) = shequ_db::people::check_input(&input) {
            errs.0.extend(e.0);
        }
        errs.into_result().map(|()| input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()
    }

    #[test]
    fn every_bad_field_is_reported() {
        let raw = RawPerson {
            division: "43050200100".into(),
            name: "".into(),
            id_number: "430502199001011235".into(),
            phone: Some("12345".into()),
            tags: vec!["不存在".into()],
            relation: Some("邻居".into()),
            ..RawPerson::default()
        };
        let errs = raw.parse(today()).unwrap_err();
        let fields: Vec<_> = errs.0.iter().map(|e| e.field.as_str()).collect();
        for f in ["division", "id_number", "phone", "relation", "tags"] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
    }

    #[test]
    fn good_input_parses() {
        let id = IdCardNo::from_parts("430502", NaiveDate::from_ymd_opt(1950, 3, 1).unwrap(), 11)
            .unwrap();
        let raw = RawPerson {
            division: "430502001001".into(),
            name: "李明".into(),
            id_number: id.as_str().to_lowercase(),
            phone: Some("138 0739 5678".into()),
            tags: vec!["独居老人".into(), "dibao".into()],
            ..RawPerson::default()
        };
        let p = raw.parse(today()).unwrap();
        assert_eq!(p.tags, vec![Tag::LivingAlone, Tag::Dibao]);
        assert_eq!(p.phone.unwrap().as_str(), "13807395678");
    }
}
