//! Reading and writing indicator values, targets and snapshots.

use super::facts::gather;
use super::rollup::{Values, compute, leaf_values, path};
use crate::audit::{self, Event};
use crate::scope::Scope;
use crate::{Conn, Db, DbError, Result};
use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Iden, OnConflict, Order, Query};
use shequ_core::DivisionCode;
use shequ_core::indicators::Catalogue;
use std::collections::HashMap;

#[derive(Iden, Clone, Copy)]
enum IndicatorValues {
    Table,
    IndicatorId,
    DivisionCode,
    Numerator,
    Denominator,
}

#[derive(Iden, Clone, Copy)]
enum Settings {
    Table,
    Key,
    Value,
}

const VERSION_KEY: &str = "indicators_version";

/// Count one more change to indicator values or targets (caches compare it).
pub async fn bump_version(c: &mut Conn<'_>) -> Result<()> {
    let q = Query::update()
        .table(Settings::Table)
        .value(
            Settings::Value,
            Expr::cust("CAST(CAST(value AS BIGINT) + 1 AS TEXT)"),
        )
        .and_where(Expr::col(Settings::Key).eq(VERSION_KEY))
        .to_owned();
    c.execute(&q).await.map(|_| ())
}

/// The current change count of indicator values and targets.
pub async fn version(c: &mut Conn<'_>) -> Result<i64> {
    let q = Query::select()
        .column(Settings::Value)
        .from(Settings::Table)
        .and_where(Expr::col(Settings::Key).eq(VERSION_KEY))
        .to_owned();
    let row: Option<(String,)> = c.fetch_optional(&q).await?;
    Ok(row.and_then(|r| r.0.parse().ok()).unwrap_or(0))
}

#[derive(Iden, Clone, Copy)]
enum IndicatorTargets {
    Table,
    IndicatorId,
    DivisionCode,
    Target,
    SetBy,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
enum IndicatorSnapshots {
    Table,
    Month,
    IndicatorId,
    DivisionCode,
    Numerator,
    Denominator,
}

/// Recompute every value of the tree from the registries and replace the stored ones.
/// Returns the number of (indicator, node) values written.
pub async fn recompute_all(db: &Db, now: DateTime<Utc>) -> Result<usize> {
    let roots = crate::divisions::roots(&mut db.conn()).await?;
    let cat = Catalogue::builtin();
    let mut tx = db.begin().await?;
    tx.conn()
        .execute(
            &Query::delete()
                .from_table(IndicatorValues::Table)
                .to_owned(),
        )
        .await?;
    let mut written = 0;
    for root in roots {
        let Ok(code) = DivisionCode::parse(&root.code) else {
            continue;
        };
        let g = gather(&mut tx.conn(), &code, now).await?;
        let values = compute(cat, &g);
        written += values.len();
        insert_values(&mut tx.conn(), &values).await?;
    }
    bump_version(&mut tx.conn()).await?;
    tx.commit().await?;
    Ok(written)
}

async fn insert_values(c: &mut Conn<'_>, values: &Values) -> Result<()> {
    let rows: Vec<_> = values.iter().collect();
    for chunk in rows.chunks(500) {
        let mut q = Query::insert()
            .into_table(IndicatorValues::Table)
            .columns([
                IndicatorValues::IndicatorId,
                IndicatorValues::DivisionCode,
                IndicatorValues::Numerator,
                IndicatorValues::Denominator,
            ])
            .to_owned();
        for ((id, code), (n, d)) in chunk {
            q.values_panic([
                id.clone().into(),
                code.clone().into(),
                (*n).into(),
                (*d).into(),
            ]);
        }
        c.execute(&q).await?;
    }
    Ok(())
}

/// After a registry change at `code`: recompute the leaves that hold it (its
/// village/community and its township), and add the differences to every ancestor.
/// Run inside the transaction of the change.
pub async fn refresh(c: &mut Conn<'_>, code: &DivisionCode, now: DateTime<Utc>) -> Result<()> {
    let Some(township) = code.as_str().get(0..9).filter(|_| code.as_str().len() >= 9) else {
        return Ok(());
    };
    let village = code
        .as_str()
        .get(0..12)
        .filter(|_| code.as_str().len() >= 12);
    let leaves: Vec<&str> = [Some(township), village].into_iter().flatten().collect();
    lock_rows(c, &leaves).await?;
    let root = DivisionCode::parse(township)
        .map_err(|e| DbError::invalid("code", e.code(), e.to_string()))?;
    let g = gather(c, &root, now).await?;
    let cat = Catalogue::builtin();
    let fresh: Values = leaf_values(cat, &g)
        .into_iter()
        .filter(|((_, code), _)| leaves.contains(&code.as_str()))
        .collect();
    let old = values_for(
        c,
        &leaves.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
    )
    .await?;
    for ((id, leaf), (n, d)) in &fresh {
        let (on, od) = old
            .get(&(id.clone(), leaf.clone()))
            .copied()
            .unwrap_or((0, 0));
        let (dn, dd) = (n - on, d - od);
        if dn == 0 && dd == 0 && old.contains_key(&(id.clone(), leaf.clone())) {
            continue;
        }
        for node in path(leaf) {
            add_delta(c, id, &node, dn, dd).await?;
        }
    }
    bump_version(c).await
}

/// Take the write lock on the leaves' rows first, so two refreshes of one leaf
/// cannot both read the same old value.
async fn lock_rows(c: &mut Conn<'_>, codes: &[&str]) -> Result<()> {
    let q = Query::update()
        .table(IndicatorValues::Table)
        .value(
            IndicatorValues::Numerator,
            Expr::col(IndicatorValues::Numerator),
        )
        .and_where(
            Expr::col(IndicatorValues::DivisionCode).is_in(codes.iter().map(|s| (*s).to_owned())),
        )
        .to_owned();
    c.execute(&q).await.map(|_| ())
}

async fn add_delta(c: &mut Conn<'_>, id: &str, code: &str, dn: i64, dd: i64) -> Result<()> {
    let q = Query::insert()
        .into_table(IndicatorValues::Table)
        .columns([
            IndicatorValues::IndicatorId,
            IndicatorValues::DivisionCode,
            IndicatorValues::Numerator,
            IndicatorValues::Denominator,
        ])
        .values_panic([id.into(), code.into(), dn.into(), dd.into()])
        .on_conflict(
            OnConflict::columns([IndicatorValues::IndicatorId, IndicatorValues::DivisionCode])
                .value(
                    IndicatorValues::Numerator,
                    Expr::cust("indicator_values.numerator + excluded.numerator"),
                )
                .value(
                    IndicatorValues::Denominator,
                    Expr::cust("indicator_values.denominator + excluded.denominator"),
                )
                .to_owned(),
        )
        .to_owned();
    c.execute(&q).await.map(|_| ())
}

/// The stored values of every indicator at the given nodes.
pub async fn values_for(c: &mut Conn<'_>, codes: &[String]) -> Result<Values> {
    if codes.is_empty() {
        return Ok(Values::new());
    }
    let mut out = Values::new();
    for chunk in codes.chunks(500) {
        let q = Query::select()
            .columns([
                IndicatorValues::IndicatorId,
                IndicatorValues::DivisionCode,
                IndicatorValues::Numerator,
                IndicatorValues::Denominator,
            ])
            .from(IndicatorValues::Table)
            .and_where(Expr::col(IndicatorValues::DivisionCode).is_in(chunk.to_vec()))
            .to_owned();
        let rows: Vec<(String, String, i64, i64)> = c.fetch_all(&q).await?;
        out.extend(rows.into_iter().map(|(i, d, n, den)| ((i, d), (n, den))));
    }
    Ok(out)
}

/// Targets set along `code`'s lineage: indicator → (target, code that set it),
/// the nearest setting winning. Indicators without one use the catalogue default.
pub async fn effective_targets(
    c: &mut Conn<'_>,
    code: &DivisionCode,
) -> Result<HashMap<String, (f64, String)>> {
    let lineage = path(code.as_str());
    let q = Query::select()
        .columns([
            IndicatorTargets::IndicatorId,
            IndicatorTargets::DivisionCode,
            IndicatorTargets::Target,
        ])
        .from(IndicatorTargets::Table)
        .and_where(Expr::col(IndicatorTargets::DivisionCode).is_in(lineage.clone()))
        .to_owned();
    let rows: Vec<(String, String, f64)> = c.fetch_all(&q).await?;
    let mut out: HashMap<String, (f64, String)> = HashMap::new();
    for (id, at, target) in rows {
        let depth = at.len();
        let better = out.get(&id).is_none_or(|(_, cur)| depth > cur.len());
        if better {
            out.insert(id, (target, at));
        }
    }
    Ok(out)
}

/// Why a local target was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetError {
    UnknownIndicator,
    OutOfScope,
    /// The new target is less demanding than the one inherited from above.
    Looser {
        inherited: f64,
    },
}

/// Set a target for `code` (a node in scope), no looser than the one it inherits.
pub async fn set_target(
    c: &mut Conn<'_>,
    scope: &Scope,
    indicator: &str,
    code: &DivisionCode,
    target: f64,
    now: DateTime<Utc>,
) -> Result<std::result::Result<(), TargetError>> {
    let cat = Catalogue::builtin();
    let Some(ind) = cat.get(indicator) else {
        return Ok(Err(TargetError::UnknownIndicator));
    };
    if !scope.contains(code) {
        return Ok(Err(TargetError::OutOfScope));
    }
    let inherited = match code.parent() {
        Some(p) => effective_targets(c, &p)
            .await?
            .get(indicator)
            .map_or(ind.target, |(t, _)| *t),
        None => ind.target,
    };
    if !target.is_finite() || !ind.comparison.at_least_as_strict(target, inherited) {
        return Ok(Err(TargetError::Looser { inherited }));
    }
    let q = Query::insert()
        .into_table(IndicatorTargets::Table)
        .columns([
            IndicatorTargets::IndicatorId,
            IndicatorTargets::DivisionCode,
            IndicatorTargets::Target,
            IndicatorTargets::SetBy,
            IndicatorTargets::UpdatedAt,
        ])
        .values_panic([
            indicator.into(),
            code.as_str().into(),
            target.into(),
            scope.actor.name.clone().into(),
            now.into(),
        ])
        .on_conflict(
            OnConflict::columns([
                IndicatorTargets::IndicatorId,
                IndicatorTargets::DivisionCode,
            ])
            .update_columns([
                IndicatorTargets::Target,
                IndicatorTargets::SetBy,
                IndicatorTargets::UpdatedAt,
            ])
            .to_owned(),
        )
        .to_owned();
    c.execute(&q).await?;
    let detail =
        serde_json::json!({"indicator": indicator, "target": target, "inherited": inherited});
    audit::append(
        c,
        &scope.actor,
        Event::new("indicator_target", "indicator", indicator)
            .division(code.as_str())
            .detail(detail),
        now,
    )
    .await?;
    bump_version(c).await?;
    Ok(Ok(()))
}

/// Keep this month's values: replace the snapshot of `month` ("YYYY-MM") with the current values.
pub async fn snapshot(db: &Db, month: &str) -> Result<u64> {
    let mut tx = db.begin().await?;
    let mut c = tx.conn();
    c.execute(
        &Query::delete()
            .from_table(IndicatorSnapshots::Table)
            .and_where(Expr::col(IndicatorSnapshots::Month).eq(month))
            .to_owned(),
    )
    .await?;
    let select = Query::select()
        .expr(Expr::val(month.to_owned()))
        .columns([
            IndicatorValues::IndicatorId,
            IndicatorValues::DivisionCode,
            IndicatorValues::Numerator,
            IndicatorValues::Denominator,
        ])
        .from(IndicatorValues::Table)
        .to_owned();
    let q = Query::insert()
        .into_table(IndicatorSnapshots::Table)
        .columns([
            IndicatorSnapshots::Month,
            IndicatorSnapshots::IndicatorId,
            IndicatorSnapshots::DivisionCode,
            IndicatorSnapshots::Numerator,
            IndicatorSnapshots::Denominator,
        ])
        .select_from(select)
        .map_err(|e| DbError::Conflict(e.to_string()))?
        .to_owned();
    let n = c.execute(&q).await?;
    tx.commit().await?;
    Ok(n)
}

/// Store the values the registries give as of `as_of` under `month` (for months
/// before snapshots were kept: facilities built and workers hired later are left out).
pub async fn backfill(db: &Db, month: &str, as_of: DateTime<Utc>) -> Result<usize> {
    let roots = crate::divisions::roots(&mut db.conn()).await?;
    let cat = Catalogue::builtin();
    let mut tx = db.begin().await?;
    let mut c = tx.conn();
    c.execute(
        &Query::delete()
            .from_table(IndicatorSnapshots::Table)
            .and_where(Expr::col(IndicatorSnapshots::Month).eq(month))
            .to_owned(),
    )
    .await?;
    let mut written = 0;
    for root in roots {
        let Ok(code) = DivisionCode::parse(&root.code) else {
            continue;
        };
        let values = compute(cat, &gather(&mut c, &code, as_of).await?);
        let rows: Vec<_> = values.iter().collect();
        for chunk in rows.chunks(400) {
            let mut q = Query::insert()
                .into_table(IndicatorSnapshots::Table)
                .columns([
                    IndicatorSnapshots::Month,
                    IndicatorSnapshots::IndicatorId,
                    IndicatorSnapshots::DivisionCode,
                    IndicatorSnapshots::Numerator,
                    IndicatorSnapshots::Denominator,
                ])
                .to_owned();
            for ((id, code), (n, d)) in chunk {
                q.values_panic([
                    month.into(),
                    id.clone().into(),
                    code.clone().into(),
                    (*n).into(),
                    (*d).into(),
                ]);
            }
            c.execute(&q).await?;
        }
        written += values.len();
    }
    tx.commit().await?;
    Ok(written)
}

/// The monthly snapshots of one indicator at one node, oldest first.
pub async fn trend(
    c: &mut Conn<'_>,
    indicator: &str,
    code: &str,
) -> Result<Vec<(String, i64, i64)>> {
    let q = Query::select()
        .columns([
            IndicatorSnapshots::Month,
            IndicatorSnapshots::Numerator,
            IndicatorSnapshots::Denominator,
        ])
        .from(IndicatorSnapshots::Table)
        .and_where(Expr::col(IndicatorSnapshots::IndicatorId).eq(indicator))
        .and_where(Expr::col(IndicatorSnapshots::DivisionCode).eq(code))
        .order_by(IndicatorSnapshots::Month, Order::Asc)
        .to_owned();
    c.fetch_all(&q).await
}
