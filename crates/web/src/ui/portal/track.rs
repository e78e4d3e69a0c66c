//! 查询进度: an order found by its tracking code, in plain words.
//!
//! What a code shows: the category, the community, when it was reported, the
//! resident's own description, the current handling unit (a department or
//! division name, never a person), the promised finish time, a timeline of the
//! public steps in Beijing time with the unit's reply text, and the photos. What
//! it never shows: the reporter's name or phone, staff names, and internal notes
//! (退单, 转办 and 重办 reasons, 延期 requests, 催办/督办, 回访 notes, 办结
//! summaries). When the order is done the resident rates it here, once.

use super::{Ctx, Layout, PageError, beijing, category_label, layout, portal_js};
use crate::orders::{self, UnitNames, place_name};
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use shequ_core::workorders::lifecycle::RATING_LABELS;
use shequ_core::workorders::{Action, State as OrderState};
use shequ_db::workorders::{self, Event, Order, photos};

/// A tracking code as typed: spaces and dashes dropped, upper case, 4–20
/// letters and digits. `None` when it cannot be a code.
pub fn normalize_code(s: &str) -> Option<String> {
    let c: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    ((4..=20).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(c)
}

// ---------------------------------------------------------------- lookup and not found

#[derive(Template, WebTemplate)]
#[template(path = "portal/track.html")]
pub struct LookupPage {
    pub layout: Layout,
    /// The code that was not found, when a search failed.
    pub missing: String,
}

/// The query of `/portal/track`.
#[derive(Debug, Default, Deserialize)]
pub struct CodeQuery {
    #[serde(default)]
    pub code: Option<String>,
}

/// The form; with `?code=` it goes to the order's page.
pub async fn lookup(ctx: Ctx, Query(q): Query<CodeQuery>) -> Response {
    match q.code.as_deref().map(str::trim) {
        None | Some("") => LookupPage {
            layout: layout(&ctx, "查询进度"),
            missing: String::new(),
        }
        .into_response(),
        Some(c) => match normalize_code(c) {
            Some(code) => Redirect::to(&format!("/portal/track/{code}")).into_response(),
            None => not_found_page(&ctx, c),
        },
    }
}

/// The friendly 404: the code was not found, try again.
pub fn not_found_page(ctx: &Ctx, code: &str) -> Response {
    let page = LookupPage {
        layout: layout(ctx, "没有找到这个查询码"),
        missing: code.chars().take(30).collect(),
    };
    (StatusCode::NOT_FOUND, page).into_response()
}

// ---------------------------------------------------------------- the order

/// One public step of the timeline.
pub struct Step {
    pub at: String,
    pub label: String,
    /// The unit's reply, or the resident's own rating.
    pub detail: String,
}

/// What the resident sees of an event; `None` for internal ones.
fn public_step(e: &Event) -> Option<Step> {
    let to = OrderState::parse(&e.to_state)?;
    let (label, detail) = match e.action.as_str() {
        "accept" | "dispatch" | "sign" | "start" | "close" | "visit" | "merge" => {
            (to.for_resident().to_owned(), String::new())
        }
        "reply" => (to.for_resident().to_owned(), e.note.clone()),
        "rate" => {
            let level = e.note.trim().parse::<usize>().ok();
            let said = level
                .and_then(|l| l.checked_sub(1))
                .and_then(|i| RATING_LABELS.get(i))
                .map(|l| format!("您的评价：{l}"))
                .unwrap_or_default();
            (to.for_resident().to_owned(), said)
        }
        "return" => ("正在重新分派".to_owned(), String::new()),
        "transfer" => ("已转交其他负责单位办理".to_owned(), String::new()),
        "reopen" => ("重新交办，继续处理".to_owned(), String::new()),
        "approve_extension" => ("办理时间已延长".to_owned(), String::new()),
        _ => return None,
    };
    Some(Step {
        at: beijing(e.at),
        label,
        detail,
    })
}

/// One of the five rating buttons.
pub struct LevelButton {
    pub value: u8,
    pub label: &'static str,
}

/// A photo on the page.
pub struct PhotoLink {
    pub href: String,
    pub width: i32,
    pub height: i32,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/order.html")]
pub struct OrderPage {
    pub layout: Layout,
    pub js: String,
    pub code: String,
    pub status: &'static str,
    pub category: String,
    pub place: String,
    pub created: String,
    pub urgent: bool,
    /// The handling unit's name; empty before dispatch.
    pub unit: String,
    /// "应于 … 前办结", while it is open.
    pub due: String,
    pub description: String,
    pub steps: Vec<Step>,
    pub result_photos: Vec<PhotoLink>,
    pub report_photos: Vec<PhotoLink>,
    /// Closed or called back, not yet rated: the rating form is shown.
    pub can_rate: bool,
    pub levels: Vec<LevelButton>,
    /// "满意；问题已解决" once rated.
    pub rated: String,
    /// Just rated (after the redirect).
    pub thanks: bool,
    /// Why a rating was not taken.
    pub errors: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Flash {
    #[serde(default)]
    pub rated: String,
}

async fn order_page(
    st: &AppState,
    ctx: &Ctx,
    o: Order,
    thanks: bool,
    errors: Vec<String>,
) -> Result<OrderPage, AppError> {
    let mut c = st.db.conn();
    let cats = workorders::categories(&mut c).await?;
    let events = workorders::timeline(&mut c, o.id).await?;
    let pics = photos::of_order(&mut c, o.id).await?;
    let units = UnitNames::load(st).await?;
    let state = o.state();
    let link = |kind: &str| -> Vec<PhotoLink> {
        pics.iter()
            .filter(|p| p.kind == kind)
            .map(|p| PhotoLink {
                href: format!("/portal/track/{}/photos/{}", o.tracking_code, p.id),
                width: p.width,
                height: p.height,
            })
            .collect()
    };
    let open = state.is_some_and(OrderState::is_open);
    let rated = match (o.rating, o.solved) {
        (Some(l), solved) => {
            let label = usize::try_from(l - 1)
                .ok()
                .and_then(|i| RATING_LABELS.get(i))
                .copied()
                .unwrap_or("");
            match solved {
                Some(true) => format!("{label}；问题已解决"),
                Some(false) => format!("{label}；问题未解决"),
                None => label.to_owned(),
            }
        }
        (None, _) => String::new(),
    };
    Ok(OrderPage {
        layout: layout(ctx, "诉求办理进度"),
        js: portal_js(),
        status: state.map_or("", OrderState::for_resident),
        category: category_label(&cats, &o.category_code),
        place: place_name(st, &o.division_code),
        created: beijing(o.created_at),
        urgent: o.urgent,
        unit: if o.unit.is_empty() || state == Some(OrderState::Merged) {
            String::new()
        } else {
            units.name(st, &o.unit)
        },
        due: match (open, o.resolve_by) {
            (true, Some(t)) => beijing(t),
            _ => String::new(),
        },
        description: o.description.clone(),
        steps: events.iter().filter_map(public_step).collect(),
        result_photos: link("result"),
        report_photos: link("report"),
        can_rate: matches!(state, Some(OrderState::Closed | OrderState::Visited)),
        levels: (1u8..)
            .zip(RATING_LABELS)
            .map(|(value, label)| LevelButton { value, label })
            .collect(),
        rated,
        thanks,
        errors,
        code: o.tracking_code,
    })
}

/// The order's page.
pub async fn page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(f): Query<Flash>,
) -> Result<Response, PageError> {
    let Some(norm) = normalize_code(&code) else {
        return Ok(not_found_page(&ctx, &code));
    };
    let found = workorders::by_tracking_code(&mut st.db.conn(), &norm)
        .await
        .map_err(|e| ctx.err(e))?;
    let Some(o) = found else {
        return Ok(not_found_page(&ctx, &norm));
    };
    let page = order_page(&st, &ctx, o, f.rated == "1", Vec::new())
        .await
        .map_err(|e| ctx.err(e))?;
    Ok(page.into_response())
}

/// The rating form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct RateForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub level: String,
    /// "yes", "no" or empty.
    #[serde(default)]
    pub solved: String,
}

/// The resident's rating (once, after the order is done).
pub async fn rate(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Form(f): Form<RateForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let Some(code) = normalize_code(&code) else {
        return Ok(not_found_page(&ctx, &code));
    };
    let level = f
        .level
        .trim()
        .parse::<u8>()
        .ok()
        .filter(|l| (1..=5).contains(l));
    let solved = match f.solved.trim() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let refused = match level {
        None => vec!["请点选一个评价等级".to_owned()],
        Some(level) => {
            match orders::act_as_resident(&st, &code, &Action::Rate { level, solved }).await {
                Ok(_) => {
                    return Ok(
                        Redirect::to(&format!("/portal/track/{code}?rated=1")).into_response()
                    );
                }
                Err(AppError::NotFound(_)) => return Ok(not_found_page(&ctx, &code)),
                Err(AppError::Validation(fe)) => {
                    fe.0.into_iter()
                        .map(|e| format!("评价没有保存：{}", e.message))
                        .collect()
                }
                Err(AppError::Conflict(_)) => {
                    vec!["评价没有保存：这件诉求刚刚有了新进展，请刷新页面后再评价".to_owned()]
                }
                Err(e) => return Err(ctx.err(e)),
            }
        }
    };
    let found = workorders::by_tracking_code(&mut st.db.conn(), &code)
        .await
        .map_err(|e| ctx.err(e))?;
    let Some(o) = found else {
        return Ok(not_found_page(&ctx, &code));
    };
    let page = order_page(&st, &ctx, o, false, refused)
        .await
        .map_err(|e| ctx.err(e))?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// A photo of an order, served only through the order's own tracking code.
pub async fn photo(
    State(st): State<AppState>,
    Path((code, id)): Path<(String, String)>,
) -> Response {
    let missing = || (StatusCode::NOT_FOUND, "没有找到这张照片").into_response();
    let (Some(code), Ok(id)) = (normalize_code(&code), id.parse::<i64>()) else {
        return missing();
    };
    let mut c = st.db.conn();
    let order = match workorders::by_tracking_code(&mut c, &code).await {
        Ok(Some(o)) => o,
        Ok(None) => return missing(),
        Err(e) => return AppError::from(e).into_response(),
    };
    let (ctype, bytes) = match photos::bytes(&mut c, id).await {
        Ok(Some((oid, ctype, bytes))) if oid == order.id => (ctype, bytes),
        Ok(_) => return missing(),
        Err(e) => return AppError::from(e).into_response(),
    };
    let ctype = match ctype.as_str() {
        "image/png" => "image/png",
        _ => "image/jpeg",
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn codes_are_normalised() {
        assert_eq!(
            normalize_code(" abcd-efgh 23 ").as_deref(),
            Some("ABCDEFGH23")
        );
        assert_eq!(normalize_code("ab<"), None);
        assert_eq!(normalize_code("abc"), None);
        assert_eq!(normalize_code(&"A".repeat(21)), None);
    }

    fn ev(action: &str, to: &str, note: &str) -> Event {
        Event {
            at: chrono::Utc.with_ymd_and_hms(2025, 6, 30, 2, 0, 0).unwrap(),
            actor: "张三".into(),
            action: action.into(),
            from_state: "signed".into(),
            to_state: to.into(),
            note: note.into(),
        }
    }

    #[test]
    fn only_public_steps_are_shown() {
        let reply = public_step(&ev("reply", "replied", "已修好")).unwrap();
        assert_eq!(
            (
                reply.at.as_str(),
                reply.label.as_str(),
                reply.detail.as_str()
            ),
            ("2025-06-30 10:00", "负责单位已答复您", "已修好")
        );
        let back = public_step(&ev("return", "accepted", "不归我们管")).unwrap();
        assert_eq!(
            (back.label.as_str(), back.detail.as_str()),
            ("正在重新分派", "")
        );
        assert_eq!(
            public_step(&ev("rate", "rated", "2")).unwrap().detail,
            "您的评价：满意"
        );
        for internal in ["urge", "supervise", "request_extension", "refuse_extension"] {
            assert!(public_step(&ev(internal, "processing", "内部")).is_none());
        }
        assert!(
            public_step(&ev("close", "closed", "内部办结说明"))
                .unwrap()
                .detail
                .is_empty()
        );
    }
}
