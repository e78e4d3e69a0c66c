//! 居民服务: the residents' portal. No sign-in is needed to report a matter
//! (我要反映), follow it by its tracking code (查询进度) and rate it once it is
//! done; signed-in residents also see their own orders and notices (我的诉求).
//!
//! Every page works without JavaScript on a 360 px phone; `static/portal.js`
//! only adds conveniences (filling the place selects in place, "use my
//! location", keeping a draft while the page reloads, a character count).

mod submit;
mod track;

use super::{Ctx, Layout, PageError};
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use shequ_core::DivisionCode;
use shequ_core::role::Role;
use shequ_db::PageReq;
use shequ_db::scope::Scope;
use shequ_db::users::User;
use shequ_db::workorders::{self, Category, list, notify};
use std::collections::{BTreeSet, HashMap};

pub use submit::BODY_LIMIT;
pub use track::normalize_code;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portal", get(home))
        .route(
            "/portal/new",
            get(submit::form)
                .post(submit::submit)
                .layer(DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .route("/portal/submitted/{code}", get(submit::receipt))
        .route("/portal/track", get(track::lookup))
        .route("/portal/track/{code}", get(track::page).post(track::rate))
        .route("/portal/track/{code}/photos/{id}", get(track::photo))
        .route("/portal/mine", get(mine))
        .route("/portal/mine/read", post(mark_read))
}

/// Beijing time (no daylight saving): "2025-06-30 10:00".
pub(crate) fn beijing(t: DateTime<Utc>) -> String {
    (t + Duration::hours(8))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The portal's own script.
fn portal_js() -> String {
    crate::assets::url("portal.js")
}

/// The portal's frame: every page is highlighted as "portal".
fn layout(ctx: &Ctx, title: &str) -> Layout {
    ctx.layout(title, "portal")
}

/// Whether the signed-in user is a resident (their reports carry their id).
fn resident_id(ctx: &Ctx) -> Option<i64> {
    ctx.user
        .as_ref()
        .filter(|u| u.role() == Some(Role::Resident))
        .map(|u| u.id)
}

/// "市政设施 · 路灯损坏" for a category code.
fn category_label(cats: &[Category], code: &str) -> String {
    let Some(c) = cats.iter().find(|c| c.code == code) else {
        return code.to_owned();
    };
    match c
        .parent_code
        .as_deref()
        .and_then(|p| cats.iter().find(|x| x.code == p))
    {
        Some(p) => format!("{} · {}", p.name, c.name),
        None => c.name.clone(),
    }
}

// ---------------------------------------------------------------- home

#[derive(Template, WebTemplate)]
#[template(path = "portal/home.html")]
pub struct HomePage {
    pub layout: Layout,
    /// The city's code, for its 好差评 scorecard.
    pub city_code: String,
    pub resident: bool,
    pub signed_in: bool,
}

pub async fn home(State(st): State<AppState>, ctx: Ctx) -> HomePage {
    let city_code = st
        .tree
        .get()
        .root()
        .map(|r| r.code.clone())
        .unwrap_or_default();
    HomePage {
        layout: layout(&ctx, "居民服务"),
        city_code,
        resident: resident_id(&ctx).is_some(),
        signed_in: ctx.user.is_some(),
    }
}

// ---------------------------------------------------------------- mine

/// One of the resident's orders as listed.
pub struct MineOrder {
    pub code: String,
    pub category: String,
    pub created: String,
    pub status: &'static str,
    pub open: bool,
}

/// One notice as listed.
pub struct MineNotice {
    pub message: String,
    pub at: String,
    pub unread: bool,
    /// The tracking code of the order it is about, when known.
    pub code: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/mine.html")]
pub struct MinePage {
    pub layout: Layout,
    /// Signed in, but not with a resident account.
    pub not_resident: bool,
    pub orders: Vec<MineOrder>,
    pub notices: Vec<MineNotice>,
    pub unread: usize,
}

/// Orders listed on "我的诉求" at most, and notices shown.
const MINE_ORDERS: u64 = 100;
const MINE_NOTICES: usize = 30;

pub async fn mine(State(st): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let user = ctx.user()?.clone();
    if user.role() != Some(Role::Resident) {
        let page = MinePage {
            layout: layout(&ctx, "我的诉求"),
            not_resident: true,
            orders: Vec::new(),
            notices: Vec::new(),
            unread: 0,
        };
        return Ok((StatusCode::FORBIDDEN, page).into_response());
    }
    let (orders, notices) = load_mine(&st, &user).await.map_err(|e| ctx.err(e))?;
    let unread = notices.iter().filter(|n| n.unread).count();
    let page = MinePage {
        layout: layout(&ctx, "我的诉求"),
        not_resident: false,
        orders,
        notices: notices.into_iter().take(MINE_NOTICES).collect(),
        unread,
    };
    Ok(page.into_response())
}

/// The resident's orders and notices. Every order a signed-in resident reports
/// through the portal leaves a notice for them, and every later notice names its
/// order, so the notices lead to all of their orders.
async fn load_mine(
    st: &AppState,
    user: &User,
) -> Result<(Vec<MineOrder>, Vec<MineNotice>), AppError> {
    let recipients = [notify::user_recipient(user.id)];
    let mut c = st.db.conn();
    let found = notify::notices(
        &mut c,
        &recipients,
        false,
        PageReq::new(Some(1), Some(PageReq::MAX_PER_PAGE)),
    )
    .await?;
    let ids: BTreeSet<i64> = found.items.iter().filter_map(|n| n.order_id).collect();
    let root = st
        .tree
        .get()
        .root()
        .and_then(|r| DivisionCode::parse(&r.code).ok());
    let orders = match root {
        Some(root) if !ids.is_empty() => {
            let scope = Scope::new(root, Role::Resident, user.actor());
            let f = list::Filter {
                ids: ids.into_iter().collect(),
                ..list::Filter::default()
            };
            list::list(
                &mut c,
                &scope,
                &f,
                st.now(),
                PageReq::new(Some(1), Some(MINE_ORDERS)),
            )
            .await?
            .items
        }
        _ => Vec::new(),
    };
    let cats = workorders::categories(&mut c).await?;
    let own: Vec<_> = orders
        .into_iter()
        .filter(|o| o.reporter_user_id == Some(user.id))
        .collect();
    let codes: HashMap<i64, String> = own
        .iter()
        .map(|o| (o.id, o.tracking_code.clone()))
        .collect();
    let orders = own
        .iter()
        .map(|o| {
            let state = o.state();
            MineOrder {
                code: o.tracking_code.clone(),
                category: category_label(&cats, &o.category_code),
                created: beijing(o.created_at),
                status: state.map_or("", |s| s.for_resident()),
                open: state.is_some_and(|s| s.is_open()),
            }
        })
        .collect();
    let notices = found
        .items
        .iter()
        .map(|n| MineNotice {
            message: n.message.clone(),
            at: beijing(n.created_at),
            unread: n.read_at.is_none(),
            code: n
                .order_id
                .and_then(|id| codes.get(&id).cloned())
                .unwrap_or_default(),
        })
        .collect();
    Ok((orders, notices))
}

#[derive(Debug, Default, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// Mark all of the resident's notices read.
pub async fn mark_read(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let user = ctx.user()?;
    let recipients = [notify::user_recipient(user.id)];
    let run = async {
        let mut tx = st.db.begin().await?;
        notify::mark_read(&mut tx.conn(), &recipients, &[], st.now()).await?;
        tx.commit().await?;
        Ok::<_, shequ_db::DbError>(())
    };
    run.await.map_err(|e| ctx.err(e))?;
    Ok(Redirect::to("/portal/mine").into_response())
}
