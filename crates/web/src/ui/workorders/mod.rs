//! 接诉即办 pages for staff: the workbench with its queues and bulk actions, the
//! map of open orders, one order with a form for every step allowed now, staff
//! entry of phone calls, visits, 代办 and patrol reports, the dispatch rules,
//! departments and working-day calendar, and the user's notices.
//!
//! Reading needs `handle_work_orders` (the user's subtree); who may take which
//! action is decided by `crate::orders::authorize`, what is legal now by the
//! lifecycle. Every form posts with the CSRF field and works without script.

mod bench;
mod detail;
mod intake;
mod rules;

use super::{Ctx, Layout, PageError};
use crate::orders;
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use shequ_core::role::Capability;
use shequ_core::workorders::State as OrderState;
use shequ_core::{DivisionCode, Level};
use shequ_db::PageReq;
use shequ_db::scope::Scope;
use shequ_db::users::User;
use shequ_db::workorders::{Category, Order, list, notify};

/// Largest upload of the staff-entry and 办结 forms (three photos of at most 5 MB each).
pub const UPLOAD_LIMIT: usize = 20 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workorders", get(bench::page))
        .route("/workorders/bulk", post(bench::bulk))
        .route("/workorders/map", get(bench::map))
        .route(
            "/workorders/new",
            get(intake::form)
                .post(intake::submit)
                .layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route(
            "/workorders/rules",
            get(rules::rules_page).post(rules::add_rule),
        )
        .route("/workorders/rules/{id}/delete", post(rules::delete_rule))
        .route(
            "/workorders/departments",
            get(rules::departments_page).post(rules::add_department),
        )
        .route(
            "/workorders/calendar",
            get(rules::calendar_page).post(rules::add_day),
        )
        .route("/workorders/calendar/remove", post(rules::remove_day))
        .route("/workorders/photos/{id}", get(detail::photo))
        .route("/workorders/{id}", get(detail::page))
        .route("/workorders/{id}/actions", post(detail::act))
        .route(
            "/workorders/{id}/close",
            post(detail::close).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/notices", get(notices))
        .route("/notices/read", post(read_notices))
}

/// Rows per page of the workbench and the notices.
const PER_PAGE: u64 = 20;

/// An option of a select (or radio group): value, label, selected.
#[derive(Debug, Clone)]
pub struct Choice {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    fn new(code: impl Into<String>, label: impl Into<String>, selected: bool) -> Choice {
        Choice {
            code: code.into(),
            label: label.into(),
            selected,
        }
    }
}

/// Options under one `<optgroup>`.
#[derive(Debug, Clone)]
pub struct Group {
    pub label: String,
    pub options: Vec<Choice>,
}

/// A link of the sub-navigation above every 接诉即办 page.
pub struct SubLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// 工作台 · 地图 · 录入诉求 · 通知 · 差评整改 · 三率考核, and for dispatchers 派单规则 · 承办部门 · 工作日历.
fn sub_nav(ctx: &Ctx, current: &str) -> Vec<SubLink> {
    let mut links = vec![
        ("/workorders", "工作台"),
        ("/workorders/map", "地图"),
        ("/workorders/new", "录入诉求"),
        ("/notices", "通知"),
        ("/rectifications", "差评整改"),
        ("/workorders/sanlv", "三率考核"),
    ];
    if ctx.can(Capability::DispatchWorkOrders) {
        links.extend([
            ("/workorders/rules", "派单规则"),
            ("/workorders/departments", "承办部门"),
            ("/workorders/calendar", "工作日历"),
        ]);
    }
    links
        .into_iter()
        .map(|(href, label)| SubLink {
            href,
            label,
            current: href == current,
        })
        .collect()
}

/// The page frame of a 接诉即办 page.
fn layout(ctx: &Ctx, title: impl Into<String>) -> Layout {
    ctx.layout(title, "workorders")
}

/// The URL of our own small script for these pages.
fn script() -> String {
    crate::assets::url("workorders.js")
}

/// Whether the user works the dispatch centre's queues (city, county, township staff).
fn is_dispatcher(user: &User) -> bool {
    user.role()
        .is_some_and(|r| r.can(Capability::DispatchWorkOrders))
}

/// The signed-in user and the scope in which they see orders.
fn reader(ctx: &Ctx) -> Result<(User, Scope), PageError> {
    let user = ctx.user()?.clone();
    let scope = orders::read_scope(&user).map_err(|e| ctx.err(e))?;
    Ok((user, scope))
}

/// Shanghai wall-clock time: "2025-07-07 23:59".
fn local_time(t: DateTime<Utc>) -> String {
    (t + Duration::hours(8))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The first `n` characters, with an ellipsis when cut.
fn short(s: &str, n: usize) -> String {
    let mut it = s.chars();
    let head: String = it.by_ref().take(n).collect();
    if it.next().is_some() {
        head + "…"
    } else {
        head
    }
}

/// The Chinese name of an intake channel.
fn channel_label(code: &str) -> &'static str {
    match code {
        "portal" => "网上提交",
        "phone" => "电话",
        "walk_in" => "来访",
        "proxy" => "代办",
        "patrol" => "巡查上报",
        "open311" => "系统对接",
        _ => "其他",
    }
}

/// The Chinese name of an event's action code.
fn action_label(code: &str) -> &'static str {
    match code {
        "accept" => "受理",
        "dispatch" => "派单",
        "sign" => "签收",
        "return" => "退单",
        "start" => "开始办理",
        "reply" => "回复",
        "close" => "办结",
        "visit" => "回访",
        "rate" => "评价",
        "request_extension" => "申请延期",
        "approve_extension" => "同意延期",
        "refuse_extension" => "不同意延期",
        "urge" => "催办",
        "supervise" => "督办",
        "transfer" => "转办",
        "reopen" => "重办",
        "merge" => "合并",
        "overdue" => "超期",
        "due_soon" => "即将超期",
        _ => "处理",
    }
}

fn state_label(s: &str) -> &'static str {
    OrderState::parse(s).map_or("未知状态", OrderState::label)
}

/// "市政设施 › 路灯损坏".
fn category_name(cats: &[Category], code: &str) -> String {
    let Some(c) = cats.iter().find(|c| c.code == code) else {
        return code.to_owned();
    };
    match c
        .parent_code
        .as_deref()
        .and_then(|p| cats.iter().find(|x| x.code == p))
    {
        Some(p) => format!("{} › {}", p.name, c.name),
        None => c.name.clone(),
    }
}

/// Active categories as option groups: each parent's subcategories under it.
/// With `parents`, each group starts with "全部…" for the parent itself.
fn category_groups(cats: &[Category], selected: &str, parents: bool) -> Vec<Group> {
    cats.iter()
        .filter(|p| p.parent_code.is_none() && p.active)
        .map(|p| {
            let mut options = Vec::new();
            if parents {
                options.push(Choice::new(
                    &p.code,
                    format!("全部{}", p.name),
                    p.code == selected,
                ));
            }
            let kids: Vec<&Category> = cats
                .iter()
                .filter(|c| c.active && c.parent_code.as_deref() == Some(p.code.as_str()))
                .collect();
            if kids.is_empty() && !parents {
                options.push(Choice::new(&p.code, &p.name, p.code == selected));
            }
            options.extend(
                kids.into_iter()
                    .map(|c| Choice::new(&c.code, &c.name, c.code == selected)),
            );
            Group {
                label: p.name.clone(),
                options,
            }
        })
        .collect()
}

/// The timing of an order now: its deadline and whether it is late or nearly so.
struct Timing {
    deadline: String,
    /// "overdue", "due-soon" or "".
    badge: &'static str,
    badge_label: &'static str,
}

fn timing(o: &Order, now: DateTime<Utc>) -> Timing {
    let timed = matches!(
        o.state(),
        Some(OrderState::Dispatched | OrderState::Signed | OrderState::Processing)
    );
    let Some(due) = o.due_at.filter(|_| timed) else {
        return Timing {
            deadline: String::new(),
            badge: "",
            badge_label: "",
        };
    };
    let (badge, badge_label) = if due < now {
        ("overdue", "已超期")
    } else if due < now + Duration::hours(list::DUE_SOON_HOURS) {
        ("due-soon", "即将超期")
    } else {
        ("", "")
    };
    Timing {
        deadline: local_time(due),
        badge,
        badge_label,
    }
}

/// The divisions below `root` down to `deepest` (root included), each labelled
/// with its township: at most `limit` of them.
fn divisions_below(
    st: &AppState,
    root: &str,
    deepest: Level,
    limit: usize,
) -> Vec<(String, String)> {
    let tree = st.tree.get();
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(code) = stack.pop() {
        if out.len() >= limit {
            break;
        }
        let Some(d) = tree.get(&code) else { continue };
        out.push((d.code.clone(), orders::place_name(st, &d.code)));
        if d.level() < deepest {
            let mut kids: Vec<String> = tree
                .children(Some(&code))
                .unwrap_or_default()
                .iter()
                .map(|k| k.code.clone())
                .collect();
            kids.reverse();
            stack.extend(kids);
        }
    }
    out
}

/// Villages/communities and grids in scope for the division inputs (villages only
/// when the area is large).
fn village_choices(st: &AppState, scope: &Scope) -> Vec<(String, String)> {
    const MAX: usize = 1500;
    let root = scope.root.as_str();
    let all = divisions_below(st, root, Level::Grid, MAX + 1);
    let pick = if all.len() > MAX {
        divisions_below(st, root, Level::Village, MAX)
    } else {
        all
    };
    pick.into_iter().filter(|(c, _)| c.len() >= 12).collect()
}

/// The messages to show for a refused step or submission.
fn error_messages(e: &AppError) -> Vec<String> {
    match e {
        AppError::Validation(f) => {
            f.0.iter()
                .map(|x| match x.code {
                    "missing_field" => "请把内容填写完整".to_owned(),
                    _ => x.message.clone(),
                })
                .collect()
        }
        AppError::Forbidden => vec!["您无权对这张工单执行此操作".into()],
        AppError::NotFound(_) => vec!["工单不存在，或不在您的管辖范围内".into()],
        AppError::Conflict(_) => vec!["工单已被他人处理或数据有冲突，请刷新后重试".into()],
        other => vec![other.to_string()],
    }
}

/// The notice recipients a user reads: themselves and their unit.
fn recipients(user: &User) -> Vec<String> {
    let mut r = vec![notify::user_recipient(user.id)];
    r.extend(orders::unit_of(user));
    r
}

/// How many unread notices a user has (one COUNT).
async fn unread_count(st: &AppState, user: &User) -> Result<i64, AppError> {
    Ok(notify::notices(
        &mut st.db.conn(),
        &recipients(user),
        true,
        PageReq::new(Some(1), Some(1)),
    )
    .await?
    .total)
}

/// A division code given in a form: a bare code, or "和平社区 430502001001" as the
/// datalist offers it (the last run of digits).
fn code_in(input: &str) -> Option<DivisionCode> {
    let digits: String = input
        .trim()
        .chars()
        .rev()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect::<Vec<char>>()
        .into_iter()
        .rev()
        .collect();
    DivisionCode::parse(&digits).ok()
}

/// One notice as listed.
pub struct NoticeLine {
    pub id: i64,
    pub at: String,
    pub kind: &'static str,
    pub message: String,
    pub order_id: Option<i64>,
    pub unread: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "workorders/notices.html")]
pub struct NoticesPage {
    pub layout: Layout,
    pub sub: Vec<SubLink>,
    pub items: Vec<NoticeLine>,
    pub total: i64,
    pub unread: i64,
    pub page: u64,
    pub pages: u64,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageParam {
    pub page: Option<u64>,
}

fn notice_kind(kind: &str) -> &'static str {
    match kind {
        "dispatch" => "派单",
        "urge" => "催办督办",
        "due_soon" => "即将超期",
        "overdue" => "已超期",
        "status" => "进展",
        _ => "通知",
    }
}

/// The user's notices (their own and their unit's), newest first.
pub async fn notices(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(p): Query<PageParam>,
) -> Result<NoticesPage, PageError> {
    let (user, _) = reader(&ctx)?;
    let page = p.page.unwrap_or(1).max(1);
    let found = notify::notices(
        &mut st.db.conn(),
        &recipients(&user),
        false,
        PageReq::new(Some(page), Some(PER_PAGE)),
    )
    .await
    .map_err(|e| ctx.err(e))?;
    let unread = unread_count(&st, &user).await.map_err(|e| ctx.err(e))?;
    Ok(NoticesPage {
        layout: layout(&ctx, "通知"),
        sub: sub_nav(&ctx, "/notices"),
        items: found
            .items
            .iter()
            .map(|n| NoticeLine {
                id: n.id,
                at: local_time(n.created_at),
                kind: notice_kind(&n.kind),
                message: n.message.clone(),
                order_id: n.order_id,
                unread: n.read_at.is_none(),
            })
            .collect(),
        total: found.total,
        unread,
        page,
        pages: (found.total.max(0) as u64).div_ceil(PER_PAGE),
    })
}

/// A form that carries only the CSRF field.
#[derive(Debug, Default, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// Mark all the user's notices read.
pub async fn read_notices(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (user, _) = reader(&ctx)?;
    notify::mark_read(&mut st.db.conn(), &recipients(&user), &[], st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    Ok(Redirect::to("/notices").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_codes_are_read_from_datalist_labels() {
        assert_eq!(
            code_in("兴隆街道 和平社区 430502001001").map(|c| c.as_str().to_owned()),
            Some("430502001001".into())
        );
        assert_eq!(
            code_in(" 430502001001001 ").map(|c| c.as_str().to_owned()),
            Some("430502001001001".into())
        );
        assert!(code_in("和平社区").is_none());
        assert_eq!(short("一二三四五", 3), "一二三…");
        assert_eq!(short("一二三", 3), "一二三");
    }
}
