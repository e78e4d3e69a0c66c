//! The workbench (queues with counts, filters, paging, bulk actions) and the map
//! of open orders over the Voronoi cells of the current division's children.

use super::{
    Choice, Ctx, Group, Layout, PER_PAGE, PageError, SubLink, category_groups, category_name,
    channel_label, error_messages, is_dispatcher, layout, local_time, reader, script, short,
    state_label, sub_nav, timing, unread_count,
};
use crate::charts::escape;
use crate::orders::{self, UnitNames};
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;
use shequ_core::workorders::{Action, State as OrderState};
use shequ_core::{DivisionCode, Level};
use shequ_db::PageReq;
use shequ_db::scope::Scope;
use shequ_db::users::User;
use shequ_db::workorders::list::{self, Filter, Queue};
use shequ_db::workorders::{self, CHANNELS, Order, dispatch};
use std::fmt::Write;

/// The workbench's filters, echoed back into the form and the links.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BenchParams {
    #[serde(default)]
    pub queue: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub urgent: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub page: String,
}

/// "All orders" instead of a queue.
const ALL: &str = "all";

impl BenchParams {
    fn urgent(&self) -> bool {
        matches!(self.urgent.as_str(), "1" | "on" | "true")
    }

    fn page(&self) -> u64 {
        self.page.trim().parse::<u64>().unwrap_or(1).max(1)
    }

    /// The queue shown: the asked one if the user works it, else their first.
    fn queue(&self, dispatcher: bool) -> Option<Queue> {
        if self.queue == ALL {
            return None;
        }
        match Queue::parse(&self.queue) {
            Some(Queue::ToDispatch) if !dispatcher => Some(Queue::ToSign),
            Some(q) => Some(q),
            None if dispatcher => Some(Queue::ToDispatch),
            None => Some(Queue::ToSign),
        }
    }

    /// The filters other than queue and page, as a query string.
    fn filters_query(&self) -> String {
        let enc = super::super::urlencode;
        format!(
            "category={}&division={}&channel={}&urgent={}&from={}&to={}",
            enc(&self.category),
            enc(&self.division),
            enc(&self.channel),
            if self.urgent() { "1" } else { "" },
            enc(&self.from),
            enc(&self.to)
        )
    }
}

/// A date typed as YYYY-MM-DD, as the start (or end) of that Shanghai day.
fn day_bound(s: &str, end: bool) -> Option<DateTime<Utc>> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    let t = if end {
        d.and_hms_opt(23, 59, 59)?
    } else {
        d.and_hms_opt(0, 0, 0)?
    };
    Some((t - Duration::hours(8)).and_utc())
}

/// The unit whose queues a user sees: none for dispatchers (their whole area).
fn queue_unit(user: &User) -> Option<String> {
    if is_dispatcher(user) {
        None
    } else {
        orders::unit_of(user)
    }
}

fn filter(user: &User, q: &BenchParams, queue: Option<Queue>) -> Filter {
    let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    Filter {
        queue,
        unit: queue_unit(user),
        division: DivisionCode::parse(q.division.trim()).ok(),
        category: opt(&q.category),
        channel: opt(&q.channel).filter(|c| CHANNELS.contains(&c.as_str())),
        created_from: day_bound(&q.from, false),
        created_to: day_bound(&q.to, true),
        urgent: q.urgent().then_some(true),
        oldest_first: queue.is_some(),
        ..Filter::default()
    }
}

/// A queue tab.
pub struct Tab {
    pub code: &'static str,
    pub label: &'static str,
    pub count: Option<i64>,
    pub current: bool,
}

/// One order as a workbench row.
pub struct Row {
    pub id: i64,
    pub tracking_code: String,
    pub category: String,
    pub description: String,
    pub place: String,
    pub unit: String,
    pub state_label: &'static str,
    pub deadline: String,
    pub badge: &'static str,
    pub badge_label: &'static str,
    pub urgent: bool,
    pub channel: &'static str,
    pub created: String,
}

fn row(st: &AppState, names: &UnitNames, cats: &[workorders::Category], o: &Order) -> Row {
    let t = timing(o, st.now());
    Row {
        id: o.id,
        tracking_code: o.tracking_code.clone(),
        category: category_name(cats, &o.category_code),
        description: short(&o.description, 40),
        place: orders::place_name(st, &o.division_code),
        unit: names.name(st, &o.unit),
        state_label: state_label(&o.state),
        deadline: t.deadline,
        badge: t.badge,
        badge_label: t.badge_label,
        urgent: o.urgent,
        channel: channel_label(&o.channel),
        created: local_time(o.created_at),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "workorders/bench.html")]
pub struct BenchPage {
    pub layout: Layout,
    pub sub: Vec<SubLink>,
    pub script: String,
    pub tabs: Vec<Tab>,
    pub queue: String,
    pub queue_label: &'static str,
    pub rows: Vec<Row>,
    pub total: i64,
    pub page: u64,
    pub pages: u64,
    pub q: BenchParams,
    pub urgent: bool,
    pub categories: Vec<Group>,
    pub divisions: Vec<Choice>,
    pub channels: Vec<Choice>,
    pub filters_query: String,
    pub here: String,
    pub bulk_dispatch: bool,
    pub bulk_urge: bool,
    pub bulk_sign: bool,
    pub any_bulk: bool,
    pub units: Vec<Group>,
    pub unread: i64,
}

/// The workbench.
pub async fn page(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<BenchParams>,
) -> Result<BenchPage, PageError> {
    let (user, scope) = reader(&ctx)?;
    let dispatcher = is_dispatcher(&user);
    let queue = q.queue(dispatcher);
    let now = st.now();
    let page_no = q.page();
    let err = |e: shequ_db::DbError| ctx.err(e);
    let mut c = st.db.conn();
    let counts = list::queue_counts(&mut c, &scope, queue_unit(&user).as_deref(), now)
        .await
        .map_err(err)?;
    let found = list::list(
        &mut c,
        &scope,
        &filter(&user, &q, queue),
        now,
        PageReq::new(Some(page_no), Some(PER_PAGE)),
    )
    .await
    .map_err(err)?;
    let cats = workorders::categories(&mut c).await.map_err(err)?;
    let names = UnitNames::load(&st).await.map_err(|e| ctx.err(e))?;
    let mut tabs: Vec<Tab> = counts
        .iter()
        .filter(|(qq, _)| dispatcher || *qq != Queue::ToDispatch)
        .map(|(qq, n)| Tab {
            code: qq.as_str(),
            label: qq.label(),
            count: Some(*n),
            current: Some(*qq) == queue,
        })
        .collect();
    tabs.push(Tab {
        code: ALL,
        label: "全部工单",
        count: None,
        current: queue.is_none(),
    });
    let has_unit = orders::unit_of(&user).is_some();
    let timed = matches!(
        queue,
        Some(Queue::ToSign | Queue::InProgress | Queue::DueSoon | Queue::Overdue)
    );
    let bulk_dispatch = dispatcher && queue == Some(Queue::ToDispatch);
    let bulk_urge = dispatcher && timed;
    let bulk_sign = has_unit && queue == Some(Queue::ToSign);
    let units = if bulk_dispatch {
        bulk_units(&st, &scope, &names)
    } else {
        Vec::new()
    };
    let unread = unread_count(&st, &user).await.map_err(|e| ctx.err(e))?;
    Ok(BenchPage {
        layout: layout(&ctx, "接诉即办工作台"),
        sub: sub_nav(&ctx, "/workorders"),
        script: script(),
        tabs,
        queue: queue.map_or(ALL, Queue::as_str).to_owned(),
        queue_label: queue.map_or("全部工单", Queue::label),
        rows: found
            .items
            .iter()
            .map(|o| row(&st, &names, &cats, o))
            .collect(),
        total: found.total,
        page: page_no,
        pages: (found.total.max(0) as u64).div_ceil(PER_PAGE),
        urgent: q.urgent(),
        categories: category_groups(&cats, &q.category, true),
        divisions: super::divisions_below(&st, scope.root.as_str(), filter_depth(&scope), 400)
            .into_iter()
            .map(|(code, name)| {
                let selected = code == q.division.trim();
                Choice::new(code, name, selected)
            })
            .collect(),
        channels: CHANNELS
            .iter()
            .map(|c| Choice::new(*c, channel_label(c), *c == q.channel))
            .collect(),
        filters_query: q.filters_query(),
        here: ctx.here.clone(),
        bulk_dispatch,
        bulk_urge,
        bulk_sign,
        any_bulk: bulk_dispatch || bulk_urge || bulk_sign,
        units,
        unread,
        q,
    })
}

/// How deep the division filter lists: down to townships for the city and
/// counties, one level below the root otherwise (a short list on a phone).
fn filter_depth(scope: &Scope) -> Level {
    match scope.root.level() {
        Level::City | Level::County => Level::Township,
        Level::Township => Level::Village,
        _ => Level::Grid,
    }
}

/// Units offered for 批量派单: departments, townships in scope, and communities
/// when the area is a township or smaller.
fn bulk_units(st: &AppState, scope: &Scope, names: &UnitNames) -> Vec<Group> {
    let mut groups = vec![Group {
        label: "职能部门".into(),
        options: names
            .departments()
            .iter()
            .filter(|d| d.active)
            .map(|d| Choice::new(&d.code, &d.name, false))
            .collect(),
    }];
    let below = super::divisions_below(st, scope.root.as_str(), Level::Village, 2000);
    let townships: Vec<Choice> = below
        .iter()
        .filter(|(c, _)| c.len() == 9 || (c.len() == 6 && scope.root.level() == Level::County))
        .map(|(c, n)| Choice::new(c, n, false))
        .collect();
    groups.push(Group {
        label: "县市区、乡镇（街道）".into(),
        options: townships,
    });
    if scope.root.level() >= Level::Township {
        groups.push(Group {
            label: "村（社区）".into(),
            options: below
                .iter()
                .filter(|(c, _)| c.len() == 12)
                .map(|(c, n)| Choice::new(c, n, false))
                .collect(),
        });
    }
    groups.retain(|g| !g.options.is_empty());
    groups
}

/// One order's outcome in a bulk action.
pub struct BulkLine {
    pub id: i64,
    pub tracking_code: String,
    pub ok: bool,
    pub message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "workorders/bulk.html")]
pub struct BulkPage {
    pub layout: Layout,
    pub sub: Vec<SubLink>,
    pub op_label: &'static str,
    pub lines: Vec<BulkLine>,
    pub ok_count: usize,
    pub failed_count: usize,
    pub back: String,
    pub message: String,
}

/// Most orders one bulk action takes.
const MAX_BULK: usize = 100;

/// Apply one action to the ticked orders; each succeeds or fails on its own and
/// the outcome of every order is reported.
pub async fn bulk(
    State(st): State<AppState>,
    ctx: Ctx,
    body: Bytes,
) -> Result<Response, PageError> {
    let mut csrf = String::new();
    let (mut op, mut unit, mut note, mut back) =
        (String::new(), String::new(), String::new(), String::new());
    let mut ids: Vec<i64> = Vec::new();
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            "op" => op = v.into_owned(),
            "unit" => unit = v.trim().to_owned(),
            "note" => note = v.trim().to_owned(),
            "back" => back = v.into_owned(),
            "ids" => ids.extend(v.trim().parse::<i64>().ok()),
            _ => {}
        }
    }
    ctx.check_csrf(&csrf)?;
    let (user, scope) = reader(&ctx)?;
    ids.dedup();
    if !back.starts_with("/workorders") {
        back = "/workorders".into();
    }
    let op_label = match op.as_str() {
        "dispatch" => "批量派单",
        "urge" => "批量催办",
        "sign" => "批量签收",
        _ => return Err(ctx.err(AppError::bad_request("bad_op", "未知的批量操作"))),
    };
    let mut page = BulkPage {
        layout: layout(&ctx, op_label),
        sub: sub_nav(&ctx, "/workorders"),
        op_label,
        lines: Vec::new(),
        ok_count: 0,
        failed_count: 0,
        back,
        message: String::new(),
    };
    if ids.is_empty() || ids.len() > MAX_BULK {
        page.message = if ids.is_empty() {
            "请先勾选要处理的工单。".into()
        } else {
            format!("一次最多处理 {MAX_BULK} 张工单。")
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let results = match op.as_str() {
        "dispatch" if unit.is_empty() => dispatch_suggested(&st, &user, &scope, &ids)
            .await
            .map_err(|e| ctx.err(e))?,
        "dispatch" => orders::act_many(&st, &user, &ids, &Action::Dispatch { unit }).await,
        "urge" => {
            let note = if note.is_empty() {
                "请尽快办理".to_owned()
            } else {
                note
            };
            orders::act_many(&st, &user, &ids, &Action::Urge { note }).await
        }
        _ => orders::act_many(&st, &user, &ids, &Action::Sign).await,
    };
    let mut c = st.db.conn();
    for (id, r) in results {
        let tracking_code = workorders::get(&mut c, &scope, id)
            .await
            .ok()
            .flatten()
            .map_or_else(|| format!("编号 {id}"), |o| o.tracking_code);
        let (ok, message) = match r {
            Ok(to) => (true, format!("成功，现为“{}”", to.label())),
            Err(e) => (false, error_messages(&e).join("；")),
        };
        page.lines.push(BulkLine {
            id,
            tracking_code,
            ok,
            message,
        });
    }
    page.ok_count = page.lines.iter().filter(|l| l.ok).count();
    page.failed_count = page.lines.len() - page.ok_count;
    Ok(page.into_response())
}

/// 派单 of each order to the unit the rules suggest for it.
async fn dispatch_suggested(
    st: &AppState,
    user: &User,
    scope: &Scope,
    ids: &[i64],
) -> Result<Vec<(i64, Result<OrderState, AppError>)>, AppError> {
    let rules = dispatch::rules(&mut st.db.conn(), scope).await?;
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let found = workorders::get(&mut st.db.conn(), scope, id).await?;
        let r = match found {
            None => Err(AppError::NotFound("工单不存在".into())),
            Some(o) => {
                let unit = dispatch::resolve(&rules, &o.category_code, &o.division_code);
                orders::act(st, user, id, &Action::Dispatch { unit }).await
            }
        };
        out.push((id, r));
    }
    Ok(out)
}

/// Most orders drawn on the map.
pub const MAP_CAP: u64 = 2000;

#[derive(Debug, Default, Deserialize)]
pub struct MapParams {
    #[serde(default)]
    pub division: String,
}

/// One child division under the map: open orders there, links to drill down.
pub struct ChildLine {
    pub code: String,
    pub name: String,
    pub count: i64,
    pub has_children: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "workorders/map.html")]
pub struct MapPage {
    pub layout: Layout,
    pub sub: Vec<SubLink>,
    pub title: String,
    pub svg: String,
    pub total: i64,
    pub shown: usize,
    pub capped: bool,
    pub up: Option<Choice>,
    pub division: String,
    pub children: Vec<ChildLine>,
}

/// How an order shows on the map.
fn point_class(o: &Order, now: DateTime<Utc>) -> (&'static str, &'static str) {
    match timing(o, now).badge {
        "overdue" => ("overdue", "已超期"),
        "due-soon" => ("due-soon", "即将超期"),
        _ if o.state() == Some(OrderState::Accepted) => ("waiting", "待派单"),
        _ => ("open", "办理中"),
    }
}

fn open_states() -> Vec<OrderState> {
    OrderState::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .collect()
}

/// The map of open orders in the current division.
pub async fn map(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(p): Query<MapParams>,
) -> Result<MapPage, PageError> {
    let (_, scope) = reader(&ctx)?;
    let now = st.now();
    let here = DivisionCode::parse(p.division.trim())
        .ok()
        .filter(|d| scope.contains(d))
        .unwrap_or_else(|| scope.root.clone());
    let f = Filter {
        division: Some(here.clone()),
        states: open_states(),
        located: true,
        ..Filter::default()
    };
    let err = |e: shequ_db::DbError| ctx.err(e);
    let mut c = st.db.conn();
    let all = PageReq {
        page: 1,
        per_page: MAP_CAP,
    };
    let found = list::list(&mut c, &scope, &f, now, all)
        .await
        .map_err(err)?;
    let tree = st.tree.get();
    let kids = tree.children(Some(here.as_str())).unwrap_or_default();
    let mut children = Vec::with_capacity(kids.len());
    for k in &kids {
        let Ok(code) = DivisionCode::parse(&k.code) else {
            continue;
        };
        let cf = Filter {
            division: Some(code),
            states: open_states(),
            ..Filter::default()
        };
        let n = list::list(&mut c, &scope, &cf, now, PageReq::new(Some(1), Some(1)))
            .await
            .map_err(err)?
            .total;
        children.push(ChildLine {
            code: k.code.clone(),
            name: k.name.clone(),
            count: n,
            has_children: k.level() < Level::Grid,
        });
    }
    let name = tree
        .get(here.as_str())
        .map_or_else(|| here.as_str().to_owned(), |d| d.name.clone());
    let title = format!("{name}未办结工单分布");
    let cells: Vec<Cell> = kids
        .iter()
        .filter_map(|k| {
            Some(Cell {
                label: k.name.clone(),
                href: format!("/workorders/map?division={}", k.code),
                at: (k.centroid_lon?, k.centroid_lat?),
            })
        })
        .collect();
    let dots: Vec<Dot> = found
        .items
        .iter()
        .filter_map(|o| {
            let (class, what) = point_class(o, now);
            Some(Dot {
                at: (o.lon?, o.lat?),
                class,
                href: format!("/workorders/{}", o.id),
                title: format!("{} {}", o.tracking_code, what),
            })
        })
        .collect();
    let up = here
        .parent()
        .filter(|p| scope.contains(p))
        .and_then(|p| tree.get(p.as_str()))
        .map(|d| Choice::new(&d.code, &d.name, false));
    Ok(MapPage {
        layout: layout(&ctx, "工单地图"),
        sub: sub_nav(&ctx, "/workorders/map"),
        svg: draw_map(&cells, &dots, &title),
        title,
        total: found.total,
        shown: dots.len(),
        capped: found.total > MAP_CAP as i64,
        up,
        division: here.as_str().to_owned(),
        children,
    })
}

/// A child division on the map: a Voronoi cell around its centroid.
struct Cell {
    label: String,
    href: String,
    at: (f64, f64),
}

/// An order on the map.
struct Dot {
    at: (f64, f64),
    class: &'static str,
    href: String,
    title: String,
}

/// The cells of the children, coloured neutrally, with the orders on top as dots.
fn draw_map(cells: &[Cell], dots: &[Dot], title: &str) -> String {
    let (w, h, pad) = (360.0, 360.0, 18.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart map wo-map" viewBox="0 0 {w} {h}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    if cells.is_empty() && dots.is_empty() {
        s.push_str(r#"<text x="180" y="180" text-anchor="middle">暂无位置数据</text></svg>"#);
        return s;
    }
    let all: Vec<(f64, f64)> = cells
        .iter()
        .map(|c| c.at)
        .chain(dots.iter().map(|d| d.at))
        .collect();
    let xy = project(&all, w, h, pad);
    let (cell_xy, dot_xy) = xy.split_at(cells.len());
    let bbox = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)];
    for (k, (cell, p)) in cells.iter().zip(cell_xy).enumerate() {
        let mut poly = bbox.to_vec();
        for (j, q) in cell_xy.iter().enumerate() {
            if j != k && (q.0 - p.0).abs() + (q.1 - p.1).abs() > 1e-9 {
                poly = clip(&poly, *p, *q);
            }
        }
        let points = poly
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = write!(
            s,
            r#"<a href="{}"><polygon class="cell area" points="{points}"><title>{}</title></polygon><text class="cell-label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text></a>"#,
            escape(&cell.href),
            escape(&cell.label),
            p.0,
            p.1 + 4.0,
            escape(&short(&cell.label, 4))
        );
    }
    for (d, p) in dots.iter().zip(dot_xy) {
        let _ = write!(
            s,
            r#"<a href="{}"><circle class="wo-dot {}" cx="{:.1}" cy="{:.1}" r="6"><title>{}</title></circle></a>"#,
            escape(&d.href),
            d.class,
            p.0,
            p.1,
            escape(&d.title)
        );
    }
    s.push_str("</svg>");
    s
}

/// Scale lon/lat into the box, keeping proportions (longitude shrunk by cos(lat)).
fn project(pts: &[(f64, f64)], w: f64, h: f64, pad: f64) -> Vec<(f64, f64)> {
    if pts.is_empty() {
        return Vec::new();
    }
    let lat0 = pts.iter().map(|p| p.1).sum::<f64>() / pts.len() as f64;
    let k = lat0.to_radians().cos();
    let xs: Vec<f64> = pts.iter().map(|p| p.0 * k).collect();
    let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let lo = |v: &[f64]| v.iter().copied().fold(f64::MAX, f64::min);
    let hi = |v: &[f64]| v.iter().copied().fold(f64::MIN, f64::max);
    let (x0, x1, y0, y1) = (lo(&xs), hi(&xs), lo(&ys), hi(&ys));
    let span = (x1 - x0).max(y1 - y0).max(1e-6);
    let scale = (w.min(h) - 2.0 * pad) / span;
    let (ox, oy) = ((w - (x1 - x0) * scale) / 2.0, (h - (y1 - y0) * scale) / 2.0);
    xs.iter()
        .zip(&ys)
        .map(|(x, y)| (ox + (x - x0) * scale, h - (oy + (y - y0) * scale)))
        .collect()
}

/// Keep the part of `poly` nearer to `p` than to `q` (one Sutherland–Hodgman step).
fn clip(poly: &[(f64, f64)], p: (f64, f64), q: (f64, f64)) -> Vec<(f64, f64)> {
    let (mx, my) = ((p.0 + q.0) / 2.0, (p.1 + q.1) / 2.0);
    let (nx, ny) = (q.0 - p.0, q.1 - p.1);
    let side = |a: (f64, f64)| (a.0 - mx) * nx + (a.1 - my) * ny;
    let mut out = Vec::with_capacity(poly.len() + 1);
    for (i, &a) in poly.iter().enumerate() {
        let Some(&b) = poly.get((i + 1) % poly.len()) else {
            continue;
        };
        let (sa, sb) = (side(a), side(b));
        if sa <= 0.0 {
            out.push(a);
        }
        if (sa <= 0.0) != (sb <= 0.0) {
            let t = sa / (sa - sb);
            out.push((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_draws_cells_and_escaped_dots() {
        let cells = [
            Cell {
                label: "甲社区".into(),
                href: "/workorders/map?division=1".into(),
                at: (111.0, 27.0),
            },
            Cell {
                label: "乙社区".into(),
                href: "/workorders/map?division=2".into(),
                at: (111.1, 27.1),
            },
        ];
        let dots = [Dot {
            at: (111.05, 27.02),
            class: "overdue",
            href: "/workorders/7".into(),
            title: "<b> 已超期".into(),
        }];
        let svg = draw_map(&cells, &dots, "图");
        assert_eq!(svg.matches("<polygon").count(), 2);
        assert_eq!(svg.matches("<circle class=\"wo-dot overdue\"").count(), 1);
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert!(draw_map(&[], &[], "空").contains("暂无位置数据"));
    }

    #[test]
    fn date_filters_are_shanghai_days() {
        let from = day_bound("2025-06-30", false).unwrap();
        assert_eq!(from.to_rfc3339(), "2025-06-29T16:00:00+00:00");
        let to = day_bound("2025-06-30", true).unwrap();
        assert_eq!(to.to_rfc3339(), "2025-06-30T15:59:59+00:00");
        assert!(day_bound("30/06/2025", false).is_none());
    }
}
