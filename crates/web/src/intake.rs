//! Intake of work orders from every channel (portal, staff entry, patrol, Open311):
//! one validation that stores nothing on failure, and a group-commit writer that
//! stores concurrent submissions in shared transactions and acknowledges each only
//! after its transaction has committed.

use crate::{AppError, AppState};
use serde_json::{Map, Value};
use shequ_core::geo::Point;
use shequ_core::photo::{self, Photo};
use shequ_core::{DivisionCode, FieldErrors, Level, Phone};
use shequ_db::scope::Actor;
use shequ_db::workorders::{self, NewOrder, attributes, dispatch, photos};
use shequ_db::{Db, DbError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Farthest a reported point may lie from the nearest village/community centre.
pub const MAX_DISTANCE_M: f64 = 20_000.0;
/// Most photos a resident attaches.
pub const MAX_PHOTOS: usize = 3;

/// A submission as it arrives, before any check.
#[derive(Debug, Clone, Default)]
pub struct RawIntake {
    pub category: String,
    pub description: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: String,
    pub division: Option<String>,
    pub channel: String,
    pub urgent: bool,
    pub reporter_name: String,
    pub reporter_phone: Option<String>,
    pub reporter_user_id: Option<i64>,
    pub idempotency_key: Option<String>,
    pub attributes: Map<String, Value>,
    pub photos: Vec<Vec<u8>>,
}

/// A checked submission, ready to store.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub order: NewOrder,
    pub photos: Vec<Photo>,
}

/// What the submitter gets back.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub id: i64,
    pub tracking_code: String,
    /// False when the idempotency key had been seen: the first order is returned.
    pub created: bool,
    pub division: String,
}

/// Check everything; any failure comes back as field errors and nothing is stored.
pub async fn prepare(st: &AppState, raw: RawIntake) -> Result<Prepared, AppError> {
    let mut errs = FieldErrors::new();
    let cats = catalogue(st).await?;
    let known = cats
        .categories
        .iter()
        .any(|x| x.code == raw.category && x.active);
    if !known {
        errs.add("category", "unknown_category", "请选择有效的诉求类别");
    }
    let attrs = match cats.attributes.get(&raw.category) {
        Some(a) if known => a.as_slice(),
        _ => &[],
    };
    errs.0
        .extend(attributes::validate(attrs, &raw.attributes).0);
    let point = locate_point(&raw, &mut errs);
    let division = resolve_division(st, &raw, point, &mut errs);
    let phone = match raw.reporter_phone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) => Phone::parse(p)
            .map_err(|e| errs.add("reporter_phone", e.code(), e.to_string()))
            .ok(),
    };
    let photos = clean_photos(&raw.photos, &mut errs);
    let (Some(division), true) = (division, errs.is_empty()) else {
        return Err(AppError::Validation(errs));
    };
    let order = NewOrder {
        category: raw.category,
        description: raw.description,
        location: point,
        address: raw.address,
        division,
        channel: raw.channel,
        urgent: raw.urgent,
        reporter_name: raw.reporter_name,
        reporter_phone: phone,
        reporter_user_id: raw.reporter_user_id,
        idempotency_key: raw.idempotency_key.filter(|k| !k.trim().is_empty()),
        attributes: raw.attributes,
    };
    workorders::check(&order).map_err(AppError::Validation)?;
    Ok(Prepared { order, photos })
}

/// Active categories and their questions, from the per-process cache when fresh.
async fn catalogue(st: &AppState) -> Result<Arc<crate::cache::CategoryCatalogue>, AppError> {
    if let Some(c) = st.caches.categories() {
        return Ok(c);
    }
    let mut c = st.db.conn();
    let categories = workorders::categories(&mut c).await?;
    let mut attrs = std::collections::HashMap::new();
    for cat in categories.iter().filter(|x| x.active) {
        attrs.insert(
            cat.code.clone(),
            attributes::of_category(&mut c, &cat.code).await?,
        );
    }
    let cat = Arc::new(crate::cache::CategoryCatalogue {
        categories,
        attributes: attrs,
    });
    st.caches.put_categories(Arc::clone(&cat));
    Ok(cat)
}

fn locate_point(raw: &RawIntake, errs: &mut FieldErrors) -> Option<Point> {
    match (raw.lon, raw.lat) {
        (Some(lon), Some(lat)) => Point::new(lon, lat).map_err(|e| errs.0.extend(e.0)).ok(),
        (None, None) => None,
        _ => {
            errs.add("lat", "incomplete_point", "经度和纬度需同时提供");
            None
        }
    }
}

/// The village/community or grid: given, or found from the point.
fn resolve_division(
    st: &AppState,
    raw: &RawIntake,
    point: Option<Point>,
    errs: &mut FieldErrors,
) -> Option<DivisionCode> {
    let tree = st.tree.get();
    if let Some(code) = raw.division.as_deref().filter(|c| !c.trim().is_empty()) {
        let found = DivisionCode::parse(code.trim())
            .ok()
            .filter(|d| matches!(d.level(), Level::Village | Level::Grid))
            .filter(|d| tree.get(d.as_str()).is_some());
        if found.is_none() {
            errs.add("division", "unknown_division", "请选择所在的村（社区）");
        }
        return found;
    }
    match point {
        Some(p) => {
            let found = tree
                .locate(p, MAX_DISTANCE_M)
                .and_then(|d| DivisionCode::parse(&d.code).ok());
            if found.is_none() {
                errs.add("lat", "out_of_area", "该位置不在本市服务范围内");
            }
            found
        }
        None if errs.0.iter().any(|e| e.field == "lat" || e.field == "lon") => None,
        None => {
            errs.add(
                "location",
                "location_required",
                "请在地图上选点或选择所在的村（社区）",
            );
            None
        }
    }
}

fn clean_photos(raw: &[Vec<u8>], errs: &mut FieldErrors) -> Vec<Photo> {
    if raw.len() > MAX_PHOTOS {
        errs.add(
            "photo",
            "too_many_photos",
            format!("最多上传 {MAX_PHOTOS} 张照片"),
        );
        return Vec::new();
    }
    raw.iter()
        .filter_map(|b| {
            photo::clean(b)
                .map_err(|e| errs.add("photo", e.code(), e.to_string()))
                .ok()
        })
        .collect()
}

/// Store a checked submission; returns once it is committed.
pub async fn submit(st: &AppState, actor: Actor, p: Prepared) -> Result<Receipt, AppError> {
    let (tx, rx) = oneshot::channel();
    st.intake
        .send(Job {
            prepared: p,
            actor,
            reply: tx,
        })
        .await;
    match rx.await {
        Ok(r) => r.map_err(AppError::from),
        Err(_) => Err(AppError::Internal(anyhow::anyhow!("intake writer stopped"))),
    }
}

struct Job {
    prepared: Prepared,
    actor: Actor,
    reply: oneshot::Sender<Result<Receipt, DbError>>,
}

/// Most submissions one transaction carries.
const BATCH: usize = 256;

/// The group-commit writer: one task, fed by a channel.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    /// Start the writer task on the current runtime.
    pub fn start(db: Db, key: Arc<shequ_core::crypto::Protector>, clock: crate::Clock) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>(4096);
        tokio::spawn(run(db, key, clock, rx));
        Writer { tx }
    }

    async fn send(&self, job: Job) {
        if let Err(mpsc::error::SendError(job)) = self.tx.send(job).await {
            let _ = job
                .reply
                .send(Err(DbError::Conflict("受理服务未运行".into())));
        }
    }
}

async fn run(
    db: Db,
    key: Arc<shequ_core::crypto::Protector>,
    clock: crate::Clock,
    mut rx: mpsc::Receiver<Job>,
) {
    let mut jobs = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut jobs, BATCH).await > 0 {
        let now = clock();
        match store_batch(&db, &key, &jobs, now).await {
            Ok(receipts) => {
                for (job, r) in jobs.drain(..).zip(receipts) {
                    let _ = job.reply.send(Ok(r));
                }
            }
            // One bad submission must not fail its neighbours: store each on its own.
            Err(_) => {
                for job in jobs.drain(..) {
                    let r = store_batch(&db, &key, std::slice::from_ref(&job), now)
                        .await
                        .map(|mut v| v.remove(0));
                    let _ = job.reply.send(r);
                }
            }
        }
    }
}

async fn store_batch(
    db: &Db,
    key: &shequ_core::crypto::Protector,
    jobs: &[Job],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Receipt>, DbError> {
    let mut tx = db.begin().await?;
    let mut out = Vec::with_capacity(jobs.len());
    for j in jobs {
        let o = &j.prepared.order;
        let mut c = tx.conn();
        let (id, created, tracking_code) = workorders::store(&mut c, key, o, &j.actor, now).await?;
        if created {
            for p in &j.prepared.photos {
                photos::add(&mut c, id, "report", p, now).await?;
            }
        }
        out.push(Receipt {
            id,
            tracking_code,
            created,
            division: o.division.as_str().to_owned(),
        });
    }
    tx.commit().await?;
    Ok(out)
}

/// The unit the rules suggest for an order.
pub async fn suggested_unit(
    st: &AppState,
    category: &str,
    division: &str,
) -> Result<String, AppError> {
    Ok(dispatch::suggest(&mut st.db.conn(), category, division).await?)
}
