//! The division tree in the store: nodes, children, ancestors, search, figures, grids.

use crate::{Conn, DbError, Page, PageReq, Result};
use chrono::{DateTime, Utc};
use sea_query::{Alias, Expr, ExprTrait, Iden, Order, Query, SelectStatement};
use serde::Serialize;
use shequ_core::figures::Figures;
use shequ_core::geo::Point;
use shequ_core::{DivisionCode, Level};

#[derive(Iden, Clone, Copy)]
pub enum Divisions {
    Table,
    Id,
    Code,
    Name,
    Level,
    Kind,
    ParentCode,
    Urban,
    UrbanRuralClass,
    Population,
    UrbanPopulation,
    Households,
    CentroidLon,
    CentroidLat,
    Polygon,
    CreatedAt,
    UpdatedAt,
}

/// One node of the tree as stored.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Division {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub level: String,
    pub kind: String,
    pub parent_code: Option<String>,
    pub urban: bool,
    pub urban_rural_class: Option<String>,
    pub population: i64,
    pub urban_population: i64,
    pub households: i64,
    pub centroid_lon: Option<f64>,
    pub centroid_lat: Option<f64>,
    pub polygon: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl Division {
    pub fn level(&self) -> Level {
        Level::parse(&self.level).unwrap_or(Level::Grid)
    }

    pub fn figures(&self) -> Figures {
        Figures {
            population: self.population,
            urban_population: self.urban_population,
            households: self.households,
        }
    }
}

/// A node to create. The parent is implied by the code.
#[derive(Debug, Clone)]
pub struct NewDivision {
    pub code: DivisionCode,
    pub name: String,
    pub urban: bool,
    pub urban_rural_class: Option<String>,
    pub figures: Figures,
    pub centroid: Option<Point>,
    pub polygon: Option<String>,
}

/// The 城乡分类代码 values of the statistical division code.
pub const URBAN_RURAL_CLASSES: [&str; 7] = ["111", "112", "121", "122", "123", "210", "220"];

/// Longest name we store.
pub const MAX_NAME_CHARS: usize = 60;

impl NewDivision {
    /// Field checks that need no store: name, figures for the level, class.
    pub fn validate(&self) -> Result<()> {
        let mut errs = match self.figures.validate(self.code.level()) {
            Ok(()) => shequ_core::FieldErrors::new(),
            Err(e) => e,
        };
        check_name(&self.name, &mut errs);
        if let Some(c) = &self.urban_rural_class
            && !URBAN_RURAL_CLASSES.contains(&c.as_str())
        {
            errs.add(
                "urban_rural_class",
                "bad_class",
                "城乡分类代码应为 111、112、121、122、123、210 或 220",
            );
        }
        errs.into_result().map_err(DbError::Invalid)
    }
}

pub fn check_name(name: &str, errs: &mut shequ_core::FieldErrors) {
    let n = name.trim().chars().count();
    if n == 0 {
        errs.add("name", "required", "名称不能为空");
    } else if n > MAX_NAME_CHARS {
        errs.add(
            "name",
            "too_long",
            format!("名称不能超过 {MAX_NAME_CHARS} 个字"),
        );
    } else if name.chars().any(|c| c.is_control() || "<>\"'&".contains(c)) {
        errs.add("name", "bad_chars", "名称中不能含有控制字符或 < > \" ' &");
    }
}

fn select() -> SelectStatement {
    Query::select()
        .columns([
            Divisions::Id,
            Divisions::Code,
            Divisions::Name,
            Divisions::Level,
            Divisions::Kind,
            Divisions::ParentCode,
            Divisions::Urban,
            Divisions::UrbanRuralClass,
            Divisions::Population,
            Divisions::UrbanPopulation,
            Divisions::Households,
            Divisions::CentroidLon,
            Divisions::CentroidLat,
            Divisions::Polygon,
            Divisions::UpdatedAt,
        ])
        .from(Divisions::Table)
        .to_owned()
}

/// One node by code.
pub async fn get(c: &mut Conn<'_>, code: &DivisionCode) -> Result<Option<Division>> {
    let q = select()
        .and_where(Expr::col(Divisions::Code).eq(code.as_str()))
        .to_owned();
    c.fetch_optional(&q).await
}

/// The root(s): nodes without a parent.
pub async fn roots(c: &mut Conn<'_>) -> Result<Vec<Division>> {
    let q = select()
        .and_where(Expr::col(Divisions::ParentCode).is_null())
        .order_by(Divisions::Code, Order::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

/// A page of the children of `parent`, in code order.
pub async fn children(
    c: &mut Conn<'_>,
    parent: &DivisionCode,
    page: PageReq,
) -> Result<Page<Division>> {
    let filter = Expr::col(Divisions::ParentCode).eq(parent.as_str());
    let total = c
        .fetch_i64(
            &Query::select()
                .expr(Expr::col(Divisions::Id).count())
                .from(Divisions::Table)
                .and_where(filter.clone())
                .to_owned(),
        )
        .await?;
    let q = select()
        .and_where(filter)
        .order_by(Divisions::Code, Order::Asc)
        .limit(page.per_page)
        .offset(page.offset())
        .to_owned();
    Ok(Page {
        items: c.fetch_all(&q).await?,
        total,
    })
}

/// The node's ancestors from the root down, the node itself last.
pub async fn lineage(c: &mut Conn<'_>, code: &DivisionCode) -> Result<Vec<Division>> {
    let mut codes = vec![code.as_str().to_owned()];
    let mut cur = code.parent();
    while let Some(p) = cur {
        codes.push(p.as_str().to_owned());
        cur = p.parent();
    }
    let q = select()
        .and_where(Expr::col(Divisions::Code).is_in(codes))
        .order_by(Divisions::Code, Order::Asc)
        .to_owned();
    let mut rows: Vec<Division> = c.fetch_all(&q).await?;
    rows.sort_by_key(|d| d.level());
    Ok(rows)
}

/// Nodes whose name contains `q` or whose code starts with it, in code order
/// (a parent sorts before its children).
pub async fn search(c: &mut Conn<'_>, q: &str, limit: u64) -> Result<Vec<Division>> {
    let q = q.trim();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let escaped: String = q
        .chars()
        .flat_map(|ch| match ch {
            '%' | '_' | '\\' => vec!['\\', ch],
            _ => vec![ch],
        })
        .collect();
    let cond = if q.bytes().all(|b| b.is_ascii_digit()) {
        Expr::col(Divisions::Code)
            .like(sea_query::LikeExpr::new(format!("{escaped}%")).escape('\\'))
    } else {
        Expr::col(Divisions::Name)
            .like(sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\'))
    };
    let q = select()
        .and_where(cond)
        .order_by(Divisions::Code, Order::Asc)
        .limit(limit)
        .to_owned();
    c.fetch_all(&q).await
}

/// Every node (for the in-memory tree and exports).
pub async fn all(c: &mut Conn<'_>) -> Result<Vec<Division>> {
    c.fetch_all(&select().order_by(Divisions::Code, Order::Asc).to_owned())
        .await
}

/// How many nodes of each level lie in the subtree of `root` (the root included).
pub async fn count_by_level(c: &mut Conn<'_>, root: &DivisionCode) -> Result<Vec<(Level, i64)>> {
    let prefix = subtree_prefix(root);
    let q = Query::select()
        .column(Divisions::Level)
        .expr_as(Expr::col(Divisions::Id).count(), Alias::new("n"))
        .from(Divisions::Table)
        .and_where(Expr::col(Divisions::Code).like(format!("{prefix}%")))
        .group_by_col(Divisions::Level)
        .to_owned();
    let rows: Vec<(String, i64)> = c.fetch_all(&q).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(l, n)| Level::parse(&l).map(|l| (l, n)))
        .collect())
}

/// The code prefix shared by every node of the subtree rooted at `root`.
pub fn subtree_prefix(root: &DivisionCode) -> &str {
    match root.level() {
        Level::City => root.as_str().get(0..4).unwrap_or(""),
        _ => root.as_str(),
    }
}

/// Insert one node after checking its fields and that its parent exists.
pub async fn insert(c: &mut Conn<'_>, d: &NewDivision, now: DateTime<Utc>) -> Result<i64> {
    d.validate()?;
    if let Some(p) = d.code.parent()
        && get(c, &p).await?.is_none()
    {
        return Err(DbError::invalid(
            "parent",
            "unknown_parent",
            format!("上级区划 {p} 不存在"),
        ));
    }
    c.insert_id(&insert_stmt(std::slice::from_ref(d), now))
        .await
}

/// Insert many nodes in one statement; the caller guarantees parents come first.
pub async fn insert_many(c: &mut Conn<'_>, rows: &[NewDivision], now: DateTime<Utc>) -> Result<()> {
    for chunk in rows.chunks(400) {
        c.execute(&insert_stmt(chunk, now)).await?;
    }
    Ok(())
}

fn insert_stmt(rows: &[NewDivision], now: DateTime<Utc>) -> sea_query::InsertStatement {
    let mut q = Query::insert()
        .into_table(Divisions::Table)
        .columns([
            Divisions::Code,
            Divisions::Name,
            Divisions::Level,
            Divisions::Kind,
            Divisions::ParentCode,
            Divisions::Urban,
            Divisions::UrbanRuralClass,
            Divisions::Population,
            Divisions::UrbanPopulation,
            Divisions::Households,
            Divisions::CentroidLon,
            Divisions::CentroidLat,
            Divisions::Polygon,
            Divisions::CreatedAt,
            Divisions::UpdatedAt,
        ])
        .to_owned();
    for d in rows {
        let kind = serde_plain_kind(&d.code);
        q.values_panic([
            d.code.as_str().into(),
            d.name.trim().into(),
            d.code.level().as_str().into(),
            kind.into(),
            d.code.parent().map(|p| p.as_str().to_owned()).into(),
            d.urban.into(),
            d.urban_rural_class.clone().into(),
            d.figures.population.into(),
            d.figures.urban_population.into(),
            d.figures.households.into(),
            d.centroid.map(|p| p.lon).into(),
            d.centroid.map(|p| p.lat).into(),
            d.polygon.clone().into(),
            now.into(),
            now.into(),
        ]);
    }
    q
}

fn serde_plain_kind(code: &DivisionCode) -> &'static str {
    use shequ_core::division::Kind;
    match code.kind() {
        Kind::City => "city",
        Kind::County => "county",
        Kind::Street => "street",
        Kind::Town => "town",
        Kind::Township => "township",
        Kind::OtherTownship => "other_township",
        Kind::Community => "community",
        Kind::Village => "village",
        Kind::Grid => "grid",
    }
}

/// Replace a node's figures after checking them for its level.
pub async fn update_figures(
    c: &mut Conn<'_>,
    code: &DivisionCode,
    f: Figures,
    now: DateTime<Utc>,
) -> Result<()> {
    f.validate(code.level())?;
    let q = Query::update()
        .table(Divisions::Table)
        .values([
            (Divisions::Population, f.population.into()),
            (Divisions::UrbanPopulation, f.urban_population.into()),
            (Divisions::Households, f.households.into()),
            (Divisions::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Divisions::Code).eq(code.as_str()))
        .to_owned();
    match c.execute(&q).await? {
        0 => Err(DbError::NotFound),
        _ => Ok(()),
    }
}

/// Changes to a grid: name, figures, location.
#[derive(Debug, Clone)]
pub struct GridUpdate {
    pub name: String,
    pub figures: Figures,
    pub centroid: Option<Point>,
    pub polygon: Option<String>,
}

/// Create a grid under a village/community.
pub async fn create_grid(
    c: &mut Conn<'_>,
    village: &DivisionCode,
    number: u16,
    g: &GridUpdate,
    now: DateTime<Utc>,
) -> Result<i64> {
    if village.level() != Level::Village {
        return Err(DbError::invalid(
            "parent",
            "not_a_village",
            "网格只能建在村（社区）之下",
        ));
    }
    let code = village
        .grid(number)
        .ok_or_else(|| DbError::invalid("number", "bad_grid_number", "网格编号应为 1 到 999"))?;
    let parent = get(c, village).await?.ok_or(DbError::NotFound)?;
    let new = NewDivision {
        code,
        name: g.name.clone(),
        urban: parent.urban,
        urban_rural_class: parent.urban_rural_class,
        figures: g.figures,
        centroid: g.centroid,
        polygon: g.polygon.clone(),
    };
    insert(c, &new, now).await
}

/// Change a grid's name, figures and location.
pub async fn update_grid(
    c: &mut Conn<'_>,
    code: &DivisionCode,
    g: &GridUpdate,
    now: DateTime<Utc>,
) -> Result<()> {
    if code.level() != Level::Grid {
        return Err(DbError::invalid("code", "not_a_grid", "只能修改网格"));
    }
    let mut errs = match g.figures.validate(Level::Grid) {
        Ok(()) => shequ_core::FieldErrors::new(),
        Err(e) => e,
    };
    check_name(&g.name, &mut errs);
    errs.into_result()?;
    let q = Query::update()
        .table(Divisions::Table)
        .values([
            (Divisions::Name, g.name.trim().into()),
            (Divisions::Population, g.figures.population.into()),
            (
                Divisions::UrbanPopulation,
                g.figures.urban_population.into(),
            ),
            (Divisions::Households, g.figures.households.into()),
            (Divisions::CentroidLon, g.centroid.map(|p| p.lon).into()),
            (Divisions::CentroidLat, g.centroid.map(|p| p.lat).into()),
            (Divisions::Polygon, g.polygon.clone().into()),
            (Divisions::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Divisions::Code).eq(code.as_str()))
        .to_owned();
    match c.execute(&q).await? {
        0 => Err(DbError::NotFound),
        _ => Ok(()),
    }
}

/// Remove a grid.
pub async fn delete_grid(c: &mut Conn<'_>, code: &DivisionCode) -> Result<()> {
    if code.level() != Level::Grid {
        return Err(DbError::invalid("code", "not_a_grid", "只能删除网格"));
    }
    let q = Query::delete()
        .from_table(Divisions::Table)
        .and_where(Expr::col(Divisions::Code).eq(code.as_str()))
        .to_owned();
    match c.execute(&q).await? {
        0 => Err(DbError::NotFound),
        _ => Ok(()),
    }
}

/// A cheap fingerprint of the whole tree: node count and latest change. Lets a
/// cached copy of the tree notice changes made by another server process.
pub async fn version(c: &mut Conn<'_>) -> Result<(i64, Option<DateTime<Utc>>)> {
    let q = Query::select()
        .expr(Expr::col(Divisions::Id).count())
        .expr(Expr::col(Divisions::UpdatedAt).max())
        .from(Divisions::Table)
        .to_owned();
    let row: (i64, Option<DateTime<Utc>>) = c.fetch_one(&q).await?;
    Ok(row)
}

/// One row of a figures upload, already parsed.
#[derive(Debug, Clone)]
pub struct FiguresUpdate {
    pub line: usize,
    pub code: DivisionCode,
    /// When given, it must match the stored name (guards against shifted rows).
    pub name: Option<String>,
    pub figures: Figures,
}

/// A row the store refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowRefusal {
    pub line: usize,
    pub code: &'static str,
    pub reason: String,
}

/// Check every row against the store and the caller's subtree, then apply the good
/// rows in one transaction: they all land or (on a store failure) none do.
pub async fn import_figures(
    db: &crate::Db,
    scope: &DivisionCode,
    rows: &[FiguresUpdate],
    now: DateTime<Utc>,
) -> Result<(usize, Vec<RowRefusal>)> {
    let mut refused = Vec::new();
    let mut good = Vec::new();
    let mut c = db.conn();
    for r in rows {
        let refuse = |code, reason: String| RowRefusal {
            line: r.line,
            code,
            reason,
        };
        if !r.code.is_within(scope) {
            refused.push(refuse(
                "out_of_scope",
                format!("区划 {} 不在本账号管辖范围内", r.code),
            ));
            continue;
        }
        let Some(d) = get(&mut c, &r.code).await? else {
            refused.push(refuse(
                "unknown_division",
                format!("区划 {} 不存在", r.code),
            ));
            continue;
        };
        if let Some(n) = &r.name
            && n.trim() != d.name
        {
            refused.push(refuse(
                "name_mismatch",
                format!("名称“{n}”与区划 {} 的名称“{}”不符", r.code, d.name),
            ));
            continue;
        }
        good.push(r);
    }
    let mut tx = db.begin().await?;
    for r in &good {
        update_figures(&mut tx.conn(), &r.code, r.figures, now).await?;
        // Households and population feed the plan indicators of the node's leaves.
        crate::indicators::refresh(&mut tx.conn(), &r.code, now).await?;
    }
    tx.commit().await?;
    Ok((good.len(), refused))
}
