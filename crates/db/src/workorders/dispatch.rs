//! Who handles an order: departments as handling units, dispatch rules from
//! category × division to a unit (the most specific rule wins), and suggested
//! duplicates at intake (same category, within 250 m, recent).

use super::{Order, WorkOrders, select};
use crate::scope::Scope;
use crate::{Conn, DbError, Result};
use chrono::{DateTime, Duration, Utc};
use sea_query::{Expr, ExprTrait, Iden, OnConflict, Order as SortOrder, Query};
use serde::Serialize;
use shequ_core::DivisionCode;
use shequ_core::geo::Point;
use shequ_core::workorders::State;

#[derive(Iden, Clone, Copy)]
enum Departments {
    Table,
    Code,
    Name,
    DivisionCode,
    Active,
}

#[derive(Iden, Clone, Copy)]
enum WoDispatchRules {
    Table,
    Id,
    CategoryCode,
    DivisionCode,
    UnitKind,
    DepartmentCode,
    UpdatedBy,
    UpdatedAt,
}

/// A government department that handles orders (住建局, 城管局…).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Department {
    pub code: String,
    pub name: String,
    pub division_code: String,
    pub active: bool,
}

/// Department codes start with `D`, so a unit string is either a division code or one.
pub fn is_department(unit: &str) -> bool {
    unit.starts_with('D')
}

/// Every department, by code.
pub async fn departments(c: &mut Conn<'_>) -> Result<Vec<Department>> {
    let q = Query::select()
        .columns([
            Departments::Code,
            Departments::Name,
            Departments::DivisionCode,
            Departments::Active,
        ])
        .from(Departments::Table)
        .order_by(Departments::Code, SortOrder::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

/// Add or rename a department.
pub async fn put_department(c: &mut Conn<'_>, d: &Department) -> Result<()> {
    let ok_code = d.code.len() <= 40
        && is_department(&d.code)
        && d.code
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-');
    if !ok_code {
        return Err(DbError::invalid(
            "code",
            "bad_department_code",
            "部门编码应以 D 开头，由字母、数字和连字符组成",
        ));
    }
    let name = d.name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(DbError::invalid(
            "name",
            "bad_name",
            "部门名称应为 1–50 个字",
        ));
    }
    let q = Query::insert()
        .into_table(Departments::Table)
        .columns([
            Departments::Code,
            Departments::Name,
            Departments::DivisionCode,
            Departments::Active,
        ])
        .values_panic([
            d.code.clone().into(),
            name.into(),
            d.division_code.clone().into(),
            d.active.into(),
        ])
        .on_conflict(
            OnConflict::column(Departments::Code)
                .update_columns([Departments::Name, Departments::Active])
                .to_owned(),
        )
        .to_owned();
    c.execute(&q).await.map(|_| ())
}

/// A unit must be an existing village/community, township/street, county, or active department.
pub async fn check_unit(c: &mut Conn<'_>, unit: &str) -> Result<()> {
    let bad = || DbError::invalid("unit", "unknown_unit", "承办单位不存在");
    if is_department(unit) {
        let found = departments(c)
            .await?
            .into_iter()
            .any(|d| d.code == unit && d.active);
        return if found { Ok(()) } else { Err(bad()) };
    }
    let code = DivisionCode::parse(unit).map_err(|_| bad())?;
    let handles = matches!(
        code.level(),
        shequ_core::Level::County | shequ_core::Level::Township | shequ_core::Level::Village
    );
    match crate::divisions::get(c, &code).await? {
        Some(_) if handles => Ok(()),
        _ => Err(bad()),
    }
}

/// Whether `code` lies in the subtree of `root` (the city's counties do not share
/// its code as a prefix, so compare as division codes).
pub fn within(code: &str, root: &str) -> bool {
    match (DivisionCode::parse(code), DivisionCode::parse(root)) {
        (Ok(c), Ok(r)) => c.is_within(&r),
        _ => false,
    }
}

/// Whether a rule hands orders to the community, the township, or a department.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    Community,
    Township,
    Department,
}

impl UnitKind {
    pub fn parse(s: &str) -> Option<UnitKind> {
        match s {
            "community" => Some(UnitKind::Community),
            "township" => Some(UnitKind::Township),
            "department" => Some(UnitKind::Department),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Community => "community",
            UnitKind::Township => "township",
            UnitKind::Department => "department",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UnitKind::Community => "村（社区）",
            UnitKind::Township => "乡镇（街道）",
            UnitKind::Department => "职能部门",
        }
    }
}

/// A dispatch rule: orders of `category` (and its subcategories; all when `None`)
/// located under `division_code` go to the unit of `unit_kind`.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Rule {
    pub id: i64,
    pub category_code: Option<String>,
    pub division_code: String,
    pub unit_kind: String,
    pub department_code: Option<String>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

impl Rule {
    /// How specific the rule is: deeper divisions first, then leaf categories, then parents.
    fn rank(&self) -> (usize, usize) {
        let cat = self
            .category_code
            .as_deref()
            .map_or(0, |c| if c.contains('.') { 2 } else { 1 });
        (self.division_code.len(), cat)
    }

    fn matches(&self, category: &str, division: &str) -> bool {
        let cat_ok = self.category_code.as_deref().is_none_or(|c| {
            category == c || category.strip_prefix(c).is_some_and(|r| r.starts_with('.'))
        });
        cat_ok && within(division, &self.division_code)
    }

    /// The unit this rule gives for an order located at `division`.
    fn unit_for(&self, division: &str) -> String {
        match UnitKind::parse(&self.unit_kind) {
            Some(UnitKind::Department) => self.department_code.clone().unwrap_or_default(),
            Some(UnitKind::Township) => division.chars().take(9).collect(),
            _ => division.chars().take(12).collect(),
        }
    }
}

/// The rules that apply inside the caller's subtree and above it (a township sees the city's rules).
pub async fn rules(c: &mut Conn<'_>, scope: &Scope) -> Result<Vec<Rule>> {
    let q = Query::select()
        .columns([
            WoDispatchRules::Id,
            WoDispatchRules::CategoryCode,
            WoDispatchRules::DivisionCode,
            WoDispatchRules::UnitKind,
            WoDispatchRules::DepartmentCode,
            WoDispatchRules::UpdatedBy,
            WoDispatchRules::UpdatedAt,
        ])
        .from(WoDispatchRules::Table)
        .order_by(WoDispatchRules::DivisionCode, SortOrder::Asc)
        .order_by(WoDispatchRules::CategoryCode, SortOrder::Asc)
        .to_owned();
    let root = scope.root.as_str();
    Ok(c.fetch_all::<Rule>(&q)
        .await?
        .into_iter()
        .filter(|r| within(&r.division_code, root) || within(root, &r.division_code))
        .collect())
}

/// The unit an order should go to: the most specific matching rule, else its community.
pub fn resolve(rules: &[Rule], category: &str, division: &str) -> String {
    rules
        .iter()
        .filter(|r| r.matches(category, division))
        .max_by_key(|r| r.rank())
        .map_or_else(
            || division.chars().take(12).collect(),
            |r| r.unit_for(division),
        )
}

/// The suggested unit for a new order (all rules, no scope: intake is anyone's).
pub async fn suggest(c: &mut Conn<'_>, category: &str, division: &str) -> Result<String> {
    let all = rules(
        c,
        &Scope::new(
            DivisionCode::parse(division.get(..6).unwrap_or(division))
                .map_err(|_| DbError::invalid("division", "bad_division", "区划代码有误"))?,
            shequ_core::Role::CityStaff,
            crate::scope::Actor::system(),
        ),
    )
    .await?;
    Ok(resolve(&all, category, division))
}

/// A rule to save: replaces any rule with the same division and category.
#[derive(Debug, Clone)]
pub struct NewRule {
    pub category_code: Option<String>,
    pub division: DivisionCode,
    pub unit_kind: UnitKind,
    pub department_code: Option<String>,
}

/// Save a rule in the caller's subtree.
pub async fn put_rule(
    c: &mut Conn<'_>,
    scope: &Scope,
    r: &NewRule,
    now: DateTime<Utc>,
) -> Result<i64> {
    if !scope.contains(&r.division) {
        return Err(DbError::NotFound);
    }
    if let Some(cat) = &r.category_code
        && !super::categories(c).await?.iter().any(|x| &x.code == cat)
    {
        return Err(DbError::invalid(
            "category",
            "unknown_category",
            "未知的诉求类别",
        ));
    }
    let dept = match (r.unit_kind, &r.department_code) {
        (UnitKind::Department, Some(d)) => {
            check_unit(c, d).await?;
            Some(d.clone())
        }
        (UnitKind::Department, None) => {
            return Err(DbError::invalid("department", "required", "请选择承办部门"));
        }
        _ => None,
    };
    delete_matching(c, &r.division, r.category_code.as_deref()).await?;
    let q = Query::insert()
        .into_table(WoDispatchRules::Table)
        .columns([
            WoDispatchRules::CategoryCode,
            WoDispatchRules::DivisionCode,
            WoDispatchRules::UnitKind,
            WoDispatchRules::DepartmentCode,
            WoDispatchRules::UpdatedBy,
            WoDispatchRules::UpdatedAt,
        ])
        .values_panic([
            r.category_code.clone().into(),
            r.division.as_str().into(),
            r.unit_kind.as_str().into(),
            dept.into(),
            scope.actor.name.clone().into(),
            now.into(),
        ])
        .to_owned();
    c.insert_id(&q).await
}

async fn delete_matching(c: &mut Conn<'_>, d: &DivisionCode, cat: Option<&str>) -> Result<u64> {
    let mut q = Query::delete()
        .from_table(WoDispatchRules::Table)
        .and_where(Expr::col(WoDispatchRules::DivisionCode).eq(d.as_str()))
        .to_owned();
    match cat {
        Some(cat) => q.and_where(Expr::col(WoDispatchRules::CategoryCode).eq(cat)),
        None => q.and_where(Expr::col(WoDispatchRules::CategoryCode).is_null()),
    };
    c.execute(&q).await
}

/// Remove a rule in the caller's subtree.
pub async fn delete_rule(c: &mut Conn<'_>, scope: &Scope, id: i64) -> Result<()> {
    let rule = rules(c, scope)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .filter(|r| within(&r.division_code, scope.root.as_str()))
        .ok_or(DbError::NotFound)?;
    let q = Query::delete()
        .from_table(WoDispatchRules::Table)
        .and_where(Expr::col(WoDispatchRules::Id).eq(rule.id))
        .to_owned();
    c.execute(&q).await.map(|_| ())
}

/// Metres in one degree of latitude.
const METRES_PER_DEGREE: f64 = 111_320.0;

/// Open or recent orders of the same category within `radius_m` of `p` created
/// in the last `days` days: candidates to merge at intake.
pub async fn duplicates(
    c: &mut Conn<'_>,
    category: &str,
    p: Point,
    radius_m: f64,
    days: i64,
    now: DateTime<Utc>,
) -> Result<Vec<(Order, f64)>> {
    let dlat = radius_m / METRES_PER_DEGREE;
    let dlon = dlat / p.lat.to_radians().cos().abs().max(0.01);
    let q = select()
        .and_where(Expr::col(WorkOrders::CategoryCode).eq(category))
        .and_where(Expr::col(WorkOrders::CreatedAt).gte(now - Duration::days(days)))
        .and_where(Expr::col(WorkOrders::Lat).between(p.lat - dlat, p.lat + dlat))
        .and_where(Expr::col(WorkOrders::Lon).between(p.lon - dlon, p.lon + dlon))
        .and_where(Expr::col(WorkOrders::State).ne(State::Merged.as_str()))
        .order_by(WorkOrders::Id, SortOrder::Desc)
        .limit(50)
        .to_owned();
    let mut found: Vec<(Order, f64)> = c
        .fetch_all::<Order>(&q)
        .await?
        .into_iter()
        .filter_map(|o| {
            let d = p.distance_m(&Point {
                lon: o.lon?,
                lat: o.lat?,
            });
            (d <= radius_m).then_some((o, d))
        })
        .collect();
    found.sort_by(|a, b| a.1.total_cmp(&b.1));
    found.truncate(5);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(cat: Option<&str>, div: &str, kind: &str, dept: Option<&str>) -> Rule {
        Rule {
            id: 0,
            category_code: cat.map(str::to_owned),
            division_code: div.into(),
            unit_kind: kind.into(),
            department_code: dept.map(str::to_owned),
            updated_by: String::new(),
            updated_at: DateTime::<Utc>::MIN_UTC,
        }
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let rules = [
            rule(None, "430500", "community", None),
            rule(Some("facilities"), "430500", "department", Some("D-cg")),
            rule(
                Some("facilities.water"),
                "430500",
                "department",
                Some("D-sw"),
            ),
            rule(Some("facilities"), "430502001", "township", None),
        ];
        let v = "430502001001";
        assert_eq!(resolve(&rules, "facilities.water", v), "430502001");
        assert_eq!(resolve(&rules, "facilities.water", "430503001001"), "D-sw");
        assert_eq!(resolve(&rules, "facilities.road", "430503001001"), "D-cg");
        assert_eq!(
            resolve(&rules, "social.elderly", "430503001001001"),
            "430503001001"
        );
        assert_eq!(resolve(&[], "x", "430503001001001"), "430503001001");
        // "facilitiesx" is not under "facilities".
        assert!(!rules[1].matches("facilitiesx.a", v));
    }
}
