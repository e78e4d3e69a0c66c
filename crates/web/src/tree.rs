//! The division tree held in memory. The tree is small (tens of thousands of nodes)
//! and read on nearly every request, so reads never touch the store. Writes made
//! through this process reload it at once; [`TreeCache::watch`] reloads it when
//! another process (a second server on PostgreSQL, an import from the CLI) changes it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shequ_core::{DivisionCode, Level};
use shequ_db::divisions::{self, Division};
use shequ_db::{Db, DbError};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use utoipa::ToSchema;

/// A node as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DivisionView {
    /// Official code: 6 digits (county, city), 9 (township), 12 (village), 15 (grid).
    pub code: String,
    pub name: String,
    /// `city`, `county`, `township`, `village` or `grid`.
    pub level: String,
    /// Finer kind: `street`, `town`, `township`, `community`, `village`, …
    pub kind: String,
    pub urban: bool,
    /// 城乡分类代码 (111…220), when known.
    pub urban_rural_class: Option<String>,
    pub population: i64,
    pub urban_population: i64,
    pub households: i64,
    /// Code of the parent node; absent for the city.
    pub parent: Option<String>,
    /// Number of child nodes.
    pub children: i64,
    pub centroid: Option<Centroid>,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Centroid {
    pub lon: f64,
    pub lat: f64,
}

/// One consistent copy of the tree.
#[derive(Debug, Default)]
pub struct TreeSnapshot {
    nodes: Vec<Division>,
    index: HashMap<String, usize>,
    children: Vec<Vec<usize>>,
    roots: Vec<usize>,
    fingerprint: (i64, Option<DateTime<Utc>>),
}

impl TreeSnapshot {
    pub fn build(mut nodes: Vec<Division>, fingerprint: (i64, Option<DateTime<Utc>>)) -> Self {
        nodes.sort_by(|a, b| a.code.cmp(&b.code));
        let index: HashMap<String, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, d)| (d.code.clone(), i))
            .collect();
        let mut children = vec![Vec::new(); nodes.len()];
        let mut roots = Vec::new();
        for (i, d) in nodes.iter().enumerate() {
            match d.parent_code.as_ref().and_then(|p| index.get(p)) {
                Some(&p) => {
                    if let Some(c) = children.get_mut(p) {
                        c.push(i);
                    }
                }
                None => roots.push(i),
            }
        }
        TreeSnapshot {
            nodes,
            index,
            children,
            roots,
            fingerprint,
        }
    }

    pub fn get(&self, code: &str) -> Option<&Division> {
        self.index.get(code).and_then(|&i| self.nodes.get(i))
    }

    /// The children of `code`, or the roots' children when `code` is `None`
    /// (the city's counties).
    pub fn children(&self, code: Option<&str>) -> Option<Vec<&Division>> {
        let idx = match code {
            Some(c) => *self.index.get(c)?,
            None => *self.roots.first()?,
        };
        let kids = self.children.get(idx)?;
        Some(kids.iter().filter_map(|&i| self.nodes.get(i)).collect())
    }

    pub fn root(&self) -> Option<&Division> {
        self.roots.first().and_then(|&i| self.nodes.get(i))
    }

    pub fn child_count(&self, code: &str) -> i64 {
        self.index
            .get(code)
            .and_then(|&i| self.children.get(i))
            .map_or(0, |c| c.len() as i64)
    }

    /// Root first, the node itself last.
    pub fn lineage(&self, code: &DivisionCode) -> Vec<&Division> {
        let mut out = Vec::new();
        let mut cur = Some(code.clone());
        while let Some(c) = cur {
            if let Some(d) = self.get(c.as_str()) {
                out.push(d);
            }
            cur = c.parent();
        }
        out.reverse();
        out
    }

    /// Number of nodes of each level strictly below `code`.
    pub fn counts_below(&self, code: &str) -> HashMap<Level, i64> {
        let mut out = HashMap::new();
        let mut stack: Vec<usize> = self.index.get(code).map(|&i| vec![i]).unwrap_or_default();
        while let Some(i) = stack.pop() {
            for &k in self.children.get(i).map(Vec::as_slice).unwrap_or(&[]) {
                if let Some(d) = self.nodes.get(k) {
                    *out.entry(d.level()).or_insert(0) += 1;
                }
                stack.push(k);
            }
        }
        out
    }

    /// The village/community whose centroid is nearest to `p` (within `max_m`
    /// metres), then the nearest of its grids when they have centroids.
    pub fn locate(&self, p: shequ_core::geo::Point, max_m: f64) -> Option<&Division> {
        let villages = self.nodes.iter().filter(|d| d.code.len() == 12);
        let (village, dist) = nearest(villages, p)?;
        if dist > max_m {
            return None;
        }
        let grids = self.children(Some(&village.code)).unwrap_or_default();
        Some(nearest(grids.into_iter(), p).map_or(village, |(g, _)| g))
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn view(&self, d: &Division) -> DivisionView {
        DivisionView {
            code: d.code.clone(),
            name: d.name.clone(),
            level: d.level.clone(),
            kind: d.kind.clone(),
            urban: d.urban,
            urban_rural_class: d.urban_rural_class.clone(),
            population: d.population,
            urban_population: d.urban_population,
            households: d.households,
            parent: d.parent_code.clone(),
            children: self.child_count(&d.code),
            centroid: d
                .centroid_lon
                .zip(d.centroid_lat)
                .map(|(lon, lat)| Centroid { lon, lat }),
        }
    }
}

/// A shared, swappable snapshot.
#[derive(Debug, Clone, Default)]
pub struct TreeCache(Arc<RwLock<Arc<TreeSnapshot>>>);

impl TreeCache {
    pub async fn load(db: &Db) -> Result<TreeCache, DbError> {
        let cache = TreeCache::default();
        cache.reload(db).await?;
        Ok(cache)
    }

    /// The current snapshot; cheap (one `Arc` clone).
    pub fn get(&self) -> Arc<TreeSnapshot> {
        match self.0.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Read the whole tree from the store and swap it in.
    pub async fn reload(&self, db: &Db) -> Result<(), DbError> {
        let mut c = db.conn();
        let fingerprint = divisions::version(&mut c).await?;
        let nodes = divisions::all(&mut c).await?;
        let snap = Arc::new(TreeSnapshot::build(nodes, fingerprint));
        match self.0.write() {
            Ok(mut g) => *g = snap,
            Err(poisoned) => *poisoned.into_inner() = snap,
        }
        Ok(())
    }

    /// Reload whenever the store's fingerprint differs from the snapshot's.
    pub async fn refresh_if_changed(&self, db: &Db) -> Result<bool, DbError> {
        let now = divisions::version(&mut db.conn()).await?;
        if now != self.get().fingerprint {
            self.reload(db).await?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Poll the store every `every` and reload on change, for as long as the server runs.
    pub fn watch(&self, db: Db, every: Duration) -> tokio::task::JoinHandle<()> {
        let cache = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(e) = cache.refresh_if_changed(&db).await {
                    tracing::warn!(error = %e, "division tree refresh failed");
                }
            }
        })
    }
}

/// The node of `it` whose centroid is nearest to `p`, with the distance in metres.
fn nearest<'a>(
    it: impl Iterator<Item = &'a Division>,
    p: shequ_core::geo::Point,
) -> Option<(&'a Division, f64)> {
    it.filter_map(|d| {
        let c = shequ_core::geo::Point {
            lon: d.centroid_lon?,
            lat: d.centroid_lat?,
        };
        Some((d, p.distance_m(&c)))
    })
    .min_by(|a, b| a.1.total_cmp(&b.1))
}
