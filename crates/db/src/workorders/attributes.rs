//! A category's extra questions (Open311 service-definition attributes) and the
//! check of a submission's answers against them.

use crate::{Conn, Result};
use sea_query::{Expr, ExprTrait, Iden, Order as SortOrder, Query};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use shequ_core::FieldErrors;

#[derive(Iden, Clone, Copy)]
enum WoCategoryAttributes {
    Table,
    CategoryCode,
    Code,
    Position,
    Datatype,
    Required,
    Description,
    DatatypeDescription,
    Choices,
}

/// One allowed value of a list attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub key: String,
    pub name: String,
}

/// One extra question.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Attribute {
    pub category_code: String,
    pub code: String,
    pub position: i32,
    /// string, number, datetime, text, singlevaluelist, multivaluelist
    pub datatype: String,
    pub required: bool,
    pub description: String,
    pub datatype_description: String,
    /// JSON list of `Choice`.
    pub choices: String,
}

impl Attribute {
    pub fn choice_list(&self) -> Vec<Choice> {
        serde_json::from_str(&self.choices).unwrap_or_default()
    }

    /// Check one answer (strings as Open311 sends them; lists as arrays).
    fn check(&self, v: &Value) -> Option<&'static str> {
        let keys: Vec<String> = self.choice_list().into_iter().map(|c| c.key).collect();
        let text = |v: &Value| {
            v.as_str().map(str::to_owned).or_else(|| match v {
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        match self.datatype.as_str() {
            "number" => text(v)
                .and_then(|s| s.trim().parse::<f64>().ok())
                .filter(|f| f.is_finite())
                .is_none()
                .then_some("bad_number"),
            "datetime" => text(v)
                .filter(|s| chrono::DateTime::parse_from_rfc3339(s.trim()).is_ok())
                .is_none()
                .then_some("bad_datetime"),
            "singlevaluelist" => text(v)
                .filter(|s| keys.contains(s))
                .is_none()
                .then_some("bad_choice"),
            "multivaluelist" => {
                let items: Vec<String> = match v {
                    Value::Array(a) => a.iter().filter_map(text).collect(),
                    other => text(other).into_iter().collect(),
                };
                (items.is_empty() || items.iter().any(|s| !keys.contains(s)))
                    .then_some("bad_choice")
            }
            _ => text(v)
                .filter(|s| s.chars().count() <= 500 && !(s.contains('<') && s.contains('>')))
                .is_none()
                .then_some("bad_text"),
        }
    }
}

/// The questions of a category, in order.
pub async fn of_category(c: &mut Conn<'_>, category: &str) -> Result<Vec<Attribute>> {
    let q = Query::select()
        .columns([
            WoCategoryAttributes::CategoryCode,
            WoCategoryAttributes::Code,
            WoCategoryAttributes::Position,
            WoCategoryAttributes::Datatype,
            WoCategoryAttributes::Required,
            WoCategoryAttributes::Description,
            WoCategoryAttributes::DatatypeDescription,
            WoCategoryAttributes::Choices,
        ])
        .from(WoCategoryAttributes::Table)
        .and_where(Expr::col(WoCategoryAttributes::CategoryCode).eq(category))
        .order_by(WoCategoryAttributes::Position, SortOrder::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

/// Check answers: required ones present, each valid for its type, no unknown codes.
/// Errors are keyed `attribute[code]`, as Open311 names the fields.
pub fn validate(attrs: &[Attribute], answers: &Map<String, Value>) -> FieldErrors {
    let mut errs = FieldErrors::new();
    for a in attrs {
        let field = format!("attribute[{}]", a.code);
        match answers.get(&a.code) {
            None | Some(Value::Null) if a.required => {
                errs.add(&field, "required", format!("请填写：{}", a.description));
            }
            None | Some(Value::Null) => {}
            Some(v) => {
                if let Some(code) = a.check(v) {
                    errs.add(&field, code, format!("“{}”的取值无效", a.description));
                }
            }
        }
    }
    for k in answers.keys() {
        if !attrs.iter().any(|a| &a.code == k) {
            errs.add(
                &format!("attribute[{k}]"),
                "unknown_attribute",
                "该类别没有这个问题",
            );
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attr(code: &str, datatype: &str, required: bool) -> Attribute {
        Attribute {
            category_code: "c".into(),
            code: code.into(),
            position: 1,
            datatype: datatype.into(),
            required,
            description: code.into(),
            datatype_description: String::new(),
            choices: r#"[{"key":"a","name":"甲"},{"key":"b","name":"乙"}]"#.into(),
        }
    }

    #[test]
    fn answers_are_checked_by_type() {
        let attrs = [
            attr("n", "number", true),
            attr("one", "singlevaluelist", true),
            attr("many", "multivaluelist", false),
            attr("when", "datetime", false),
        ];
        let ok =
            json!({"n": "3.5", "one": "a", "many": ["a", "b"], "when": "2025-03-01T08:00:00Z"});
        assert!(validate(&attrs, ok.as_object().unwrap()).is_empty());
        let bad = json!({"n": "x", "many": ["c"], "when": "yesterday", "zzz": "1"});
        let codes: Vec<(String, &str)> = validate(&attrs, bad.as_object().unwrap())
            .0
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect();
        assert_eq!(
            codes,
            [
                ("attribute[n]".to_string(), "bad_number"),
                ("attribute[one]".to_string(), "required"),
                ("attribute[many]".to_string(), "bad_choice"),
                ("attribute[when]".to_string(), "bad_datetime"),
                ("attribute[zzz]".to_string(), "unknown_attribute"),
            ]
        );
    }
}
