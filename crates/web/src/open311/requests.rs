//! Service requests: POST (a work order through the shared intake, channel
//! `open311`), the public listing with the spec's filters plus paging and
//! changeset extensions, one request by id, and tokens (our tracking codes).
//! Nothing read here ever carries the reporter's name, phone or account.

use super::format::{self, Failure, Fmt, Node};
use super::params::{self, BodyError, Params};
use super::{clip, find_service, is_private};
use crate::intake::{self, RawIntake};
use crate::tree::TreeSnapshot;
use crate::{AppError, AppState};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use shequ_core::role::Role;
use shequ_core::workorders::State as OrderState;
use shequ_core::{DivisionCode, FieldErrors, Level};
use shequ_db::scope::{Actor, Scope};
use shequ_db::workorders::list::{self as order_list, Filter};
use shequ_db::workorders::{self, Category, Order, dispatch};
use shequ_db::{Page, PageReq};
use std::collections::HashMap;

/// Longest span `start_date`…`end_date` may cover, and the default window.
pub const MAX_SPAN_DAYS: i64 = 90;
pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 200;
/// Most ids in one `service_request_id` list, and most codes in `service_code`.
pub const MAX_IDS: usize = 200;
pub const MAX_CODES: usize = 50;
/// How deep paging may go (offset + page size) when several service codes are asked.
pub const MAX_DEPTH: u64 = 10_000;
/// Longest idempotency key a client may send.
pub const MAX_IDEMPOTENCY_KEY: usize = 80;

/// Shown instead of the description of a request in a private group.
const PRIVATE_TEXT: &str = "（该类诉求涉及个人情况，内容不公开）";

// ---- POST /requests ------------------------------------------------------------------

/// Submit a request: `api_key` first (403), then the service (404), then every
/// field (400, one entry each); nothing is stored unless all of it passes.
pub(super) async fn create(
    st: &AppState,
    fmt: Fmt,
    headers: &HeaderMap,
    query: Option<&str>,
    req: Request,
) -> Result<Response, Failure> {
    let form = params::read_form(req).await.map_err(|e| match e {
        BodyError::TooLarge => {
            Failure::coded(fmt, 413, "提交的内容过大（照片每张不超过 5 MB，最多 3 张）")
        }
        BodyError::UnsupportedType => Failure::coded(
            fmt,
            415,
            "请以 application/x-www-form-urlencoded 或 multipart/form-data 提交",
        ),
        BodyError::Malformed(m) => Failure::bad(fmt, format!("请求体无法解析：{}", clip(&m, 200))),
    })?;
    // The key counts only from the body: query strings end up in logs.
    let key = authenticate(st, fmt, form.params.get("api_key")).await?;
    let mut p = form.params;
    p.extend(Params::from_query(query));
    let Some(code) = p.get("service_code") else {
        return Err(Failure::bad(fmt, "service_code：请提供服务代码"));
    };
    let (cat, _) = find_service(st, fmt, code).await?;

    let mut errs = FieldErrors::new();
    let lat = coordinate(&p, "lat", "纬度", &mut errs);
    let lon = coordinate(&p, "long", "经度", &mut errs);
    let division = p.get("division_code").map(str::to_owned);
    if lat.is_none() && lon.is_none() && division.is_none() && errs.is_empty() {
        no_location(&p, &mut errs);
    }
    let idempotency = p
        .get("idempotency_key")
        .or_else(|| {
            headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        })
        .map(str::to_owned);
    if let Some(k) = &idempotency
        && (k.chars().count() > MAX_IDEMPOTENCY_KEY || k.chars().any(char::is_control))
    {
        errs.add(
            "idempotency_key",
            "bad_key",
            format!("幂等键应为 1–{MAX_IDEMPOTENCY_KEY} 个字符"),
        );
    }
    if !errs.is_empty() {
        return Err(Failure::fields(fmt, &errs));
    }

    let description = match p.get("description") {
        Some(d) => d.to_owned(),
        None => cat.name.clone(),
    };
    let raw = RawIntake {
        category: cat.code.clone(),
        description,
        lon,
        lat,
        address: p.get("address_string").unwrap_or("").to_owned(),
        division,
        channel: "open311".into(),
        urgent: false,
        reporter_name: reporter_name(p.get("first_name"), p.get("last_name")),
        reporter_phone: p.get("phone").map(str::to_owned),
        reporter_user_id: None,
        // Keys are the client's own: two integrations never share one.
        idempotency_key: idempotency.map(|k| format!("open311:{}:{k}", key.id)),
        attributes: p.attributes(),
        photos: form.files,
    };
    let prepared = intake::prepare(st, raw)
        .await
        .map_err(|e| Failure::from_app(fmt, e))?;
    if !prepared.order.division.is_within(&key.scope) {
        return Err(Failure::forbidden(
            fmt,
            "api_key：该接口密钥无权为这一区域提交诉求",
        ));
    }
    let actor = Actor {
        user_id: None,
        name: format!("open311：{}", key.name),
        role: "integration".into(),
    };
    let receipt = intake::submit(st, actor, prepared)
        .await
        .map_err(|e| Failure::from_app(fmt, e))?;
    let mut fields = vec![
        ("service_request_id", Node::text(receipt.id.to_string())),
        ("token", Node::text(&receipt.tracking_code)),
        (
            "service_notice",
            Node::text(format!(
                "已受理，查询码 {}；{}",
                receipt.tracking_code,
                notice(&cat)
            )),
        ),
    ];
    if let Some(a) = p.get("account_id") {
        fields.push(("account_id", Node::text(clip(a, 100))));
    }
    Ok(format::render(
        fmt,
        StatusCode::OK,
        "service_requests",
        &Node::List("request", vec![Node::Obj(fields)]),
    ))
}

/// A live integration key.
struct Key {
    id: i64,
    name: String,
    scope: DivisionCode,
}

async fn authenticate(st: &AppState, fmt: Fmt, key: Option<&str>) -> Result<Key, Failure> {
    let Some(key) = key else {
        return Err(Failure::forbidden(fmt, "api_key：请提供接口密钥"));
    };
    let refused = || Failure::forbidden(fmt, "api_key：接口密钥无效、已过期或已吊销");
    if key.len() > 200 {
        return Err(refused());
    }
    let found = shequ_db::api_keys::find(&mut st.db.conn(), key, st.now())
        .await
        .map_err(|e| Failure::from_app(fmt, e.into()))?
        .ok_or_else(refused)?;
    let scope = DivisionCode::parse(&found.division_code).map_err(|e| {
        Failure::from_app(fmt, AppError::Internal(anyhow::anyhow!("key scope: {e}")))
    })?;
    Ok(Key {
        id: found.id,
        name: found.name,
        scope,
    })
}

fn coordinate(p: &Params, name: &str, label: &str, errs: &mut FieldErrors) -> Option<f64> {
    let v = p.get(name)?;
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() => Some(x),
        _ => {
            // Field names as Open311 sends them; `lon` is shown as `long`.
            let field = if name == "long" { "lon" } else { name };
            errs.add(field, "bad_number", format!("{label}应为十进制度数"));
            None
        }
    }
}

fn no_location(p: &Params, errs: &mut FieldErrors) {
    if p.get("address_string").is_some() {
        errs.add(
            "address",
            "address_only",
            "仅凭地址无法确定所在的村（社区），请同时提供 lat 和 long（或扩展参数 division_code）",
        );
    } else if p.get("address_id").is_some() {
        errs.add(
            "address_id",
            "no_address_registry",
            "本平台没有地址库，请改用 lat 和 long 提供位置",
        );
    } else {
        errs.add(
            "location",
            "location_required",
            "请提供位置：lat 和 long，或 address_string 加 division_code",
        );
    }
}

/// Chinese names are written family name first, without a space.
pub fn reporter_name(first: Option<&str>, last: Option<&str>) -> String {
    match (first, last) {
        (Some(f), Some(l)) if f.is_ascii() && l.is_ascii() => format!("{f} {l}"),
        (Some(f), Some(l)) => format!("{l}{f}"),
        (Some(x), None) | (None, Some(x)) => x.to_owned(),
        (None, None) => String::new(),
    }
}

fn notice(cat: &Category) -> String {
    if cat.resolve_days <= 0 {
        "该类诉求当天办结".to_owned()
    } else {
        format!("该类诉求一般在 {} 个工作日内办结", cat.resolve_days)
    }
}

// ---- GET /requests -------------------------------------------------------------------

/// What a listing asks for.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Filter,
    pub codes: Vec<String>,
    pub page: PageReq,
}

/// Read the listing parameters. `service_request_id` overrides all the others;
/// without any date the window is the last 90 days of `requested_datetime`
/// (unless `updated_after`/`updated_before` select by change instead).
pub fn list_query(p: &Params, now: DateTime<Utc>) -> Result<ListQuery, String> {
    if let Some(ids) = p.get("service_request_id") {
        let ids = params::list(ids);
        if ids.len() > MAX_IDS {
            return Err(format!("service_request_id：一次最多查询 {MAX_IDS} 个"));
        }
        let ids = ids
            .iter()
            .map(|s| s.parse::<i64>().ok().filter(|n| *n > 0))
            .collect::<Option<Vec<_>>>()
            .ok_or("service_request_id：应为以逗号分隔的编号")?;
        return Ok(ListQuery {
            filter: Filter {
                ids,
                ..Filter::default()
            },
            codes: Vec::new(),
            page: PageReq {
                page: 1,
                per_page: MAX_IDS as u64,
            },
        });
    }
    let date = |name: &str| -> Result<Option<DateTime<Utc>>, String> {
        p.get(name)
            .map(|s| {
                params::datetime(s).ok_or_else(|| {
                    format!("{name}：日期时间格式应为 W3C 格式，如 2025-03-01T08:00:00Z")
                })
            })
            .transpose()
    };
    let (start, end) = (date("start_date")?, date("end_date")?);
    let (updated_after, updated_before) = (date("updated_after")?, date("updated_before")?);
    let span = Duration::days(MAX_SPAN_DAYS);
    let (created_from, created_to) = match (start, end) {
        (Some(s), Some(e)) if e < s => return Err("end_date：不能早于 start_date".into()),
        (Some(s), Some(e)) if e - s > span => {
            return Err(format!(
                "end_date：start_date 与 end_date 相隔不能超过 {MAX_SPAN_DAYS} 天"
            ));
        }
        (Some(s), Some(e)) => (Some(s), Some(e)),
        (Some(s), None) => (Some(s), Some(s + span)),
        (None, Some(e)) => (Some(e - span), Some(e)),
        (None, None) if updated_after.is_some() || updated_before.is_some() => (None, None),
        (None, None) => (Some(now - span), None),
    };
    if let (Some(a), Some(b)) = (updated_after, updated_before)
        && b < a
    {
        return Err("updated_before：不能早于 updated_after".into());
    }
    let mut states = Vec::new();
    if let Some(s) = p.get("status") {
        let (mut open, mut closed) = (false, false);
        for x in params::list(s) {
            match x.to_ascii_lowercase().as_str() {
                "open" => open = true,
                "closed" => closed = true,
                _ => return Err("status：只能是 open 或 closed（可用逗号分隔）".into()),
            }
        }
        if open != closed {
            states = OrderState::ALL
                .into_iter()
                .filter(|st| st.is_open() == open)
                .collect();
        }
    }
    let codes = match p.get("service_code") {
        Some(s) => service_codes(s)?,
        None => Vec::new(),
    };
    let number = |name: &str, default: u64| -> Result<u64, String> {
        p.get(name).map_or(Ok(default), |s| {
            s.parse::<u64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| format!("{name}：应为正整数"))
        })
    };
    let page = PageReq {
        page: number("page", 1)?,
        per_page: number("page_size", DEFAULT_PAGE_SIZE)?.min(MAX_PAGE_SIZE),
    };
    Ok(ListQuery {
        filter: Filter {
            states,
            created_from,
            created_to,
            updated_after,
            updated_before,
            ..Filter::default()
        },
        codes,
        page,
    })
}

/// A comma list of service codes; a group's code stands for all its services.
/// Codes already covered by their group are dropped.
fn service_codes(s: &str) -> Result<Vec<String>, String> {
    let items = params::list(s);
    if items.len() > MAX_CODES {
        return Err(format!("service_code：一次最多查询 {MAX_CODES} 个服务"));
    }
    let ok = |c: &&str| {
        c.len() <= 64
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    if !items.iter().all(ok) {
        return Err("service_code：服务代码有误".into());
    }
    let mut out: Vec<String> = Vec::new();
    for c in &items {
        let covered = items
            .iter()
            .any(|g| g != c && c.starts_with(&format!("{g}.")));
        if !covered && !out.iter().any(|x| x == c) {
            out.push((*c).to_owned());
        }
    }
    Ok(out)
}

/// Everything in the city: the public view.
fn public_scope(tree: &TreeSnapshot) -> Option<Scope> {
    let root = DivisionCode::parse(&tree.root()?.code).ok()?;
    Some(Scope::new(root, Role::Resident, Actor::anonymous()))
}

/// One page over several service codes: each code's first `offset + size` rows,
/// merged newest first.
async fn fetch(st: &AppState, scope: &Scope, q: &ListQuery) -> Result<Page<Order>, AppError> {
    let now = st.now();
    let mut c = st.db.conn();
    if q.codes.len() <= 1 {
        let f = Filter {
            category: q.codes.first().cloned(),
            ..q.filter.clone()
        };
        return Ok(order_list::list(&mut c, scope, &f, now, q.page).await?);
    }
    let depth = q.page.offset().saturating_add(q.page.per_page);
    if depth > MAX_DEPTH {
        return Err(AppError::bad_request(
            "too_deep",
            format!("page：查询多个服务时最多翻到第 {MAX_DEPTH} 条，请缩小时间范围"),
        ));
    }
    let mut items = Vec::new();
    let mut total = 0;
    for code in &q.codes {
        let f = Filter {
            category: Some(code.clone()),
            ..q.filter.clone()
        };
        let page = order_list::list(
            &mut c,
            scope,
            &f,
            now,
            PageReq {
                page: 1,
                per_page: depth,
            },
        )
        .await?;
        total += page.total;
        items.extend(page.items);
    }
    items.sort_by_key(|o| std::cmp::Reverse(o.id));
    let items = items
        .into_iter()
        .skip(usize::try_from(q.page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(q.page.per_page).unwrap_or(usize::MAX))
        .collect();
    Ok(Page { items, total })
}

pub(super) async fn list(st: &AppState, fmt: Fmt, p: &Params) -> Result<Response, Failure> {
    let q = list_query(p, st.now()).map_err(|m| Failure::bad(fmt, m))?;
    let tree = st.tree.get();
    let Some(scope) = public_scope(&tree) else {
        return Ok(requests_response(fmt, Vec::new(), 0));
    };
    let page = fetch(st, &scope, &q)
        .await
        .map_err(|e| Failure::from_app(fmt, e))?;
    let view = View::load(st, &tree)
        .await
        .map_err(|e| Failure::from_app(fmt, e))?;
    let mut nodes = Vec::with_capacity(page.items.len());
    for o in &page.items {
        nodes.push(
            view.node(st, o)
                .await
                .map_err(|e| Failure::from_app(fmt, e))?,
        );
    }
    Ok(requests_response(fmt, nodes, page.total))
}

fn requests_response(fmt: Fmt, nodes: Vec<Node>, total: i64) -> Response {
    let mut res = format::render(
        fmt,
        StatusCode::OK,
        "service_requests",
        &Node::List("request", nodes),
    );
    if let Ok(v) = HeaderValue::from_str(&total.to_string()) {
        res.headers_mut().insert("x-total-count", v);
    }
    res
}

/// `GET /requests/{id}.{fmt}`: a list of one.
pub(super) async fn one(
    State(st): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
) -> Response {
    let res = async {
        let (stem, fmt) = super::file(path, &uri)?;
        let missing = || Failure::not_found(fmt, "service_request_id：没有这个诉求");
        let id = stem
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(missing)?;
        let tree = st.tree.get();
        let scope = public_scope(&tree).ok_or_else(missing)?;
        let order = workorders::get(&mut st.db.conn(), &scope, id)
            .await
            .map_err(|e| Failure::from_app(fmt, e.into()))?
            .ok_or_else(missing)?;
        let view = View::load(&st, &tree)
            .await
            .map_err(|e| Failure::from_app(fmt, e))?;
        let node = view
            .node(&st, &order)
            .await
            .map_err(|e| Failure::from_app(fmt, e))?;
        Ok::<_, Failure>(format::render(
            fmt,
            StatusCode::OK,
            "service_requests",
            &Node::List("request", vec![node]),
        ))
    }
    .await;
    res.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /tokens/{token}.{fmt}`: the request a token (a tracking code) stands for.
pub(super) async fn token(
    State(st): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
) -> Response {
    let res = async {
        let (stem, fmt) = super::file(path, &uri)?;
        let missing = || Failure::not_found(fmt, "token：没有这个令牌");
        let plausible =
            (4..=32).contains(&stem.len()) && stem.bytes().all(|b| b.is_ascii_alphanumeric());
        if !plausible {
            return Err(missing());
        }
        let order = workorders::by_tracking_code(&mut st.db.conn(), &stem)
            .await
            .map_err(|e| Failure::from_app(fmt, e.into()))?
            .ok_or_else(missing)?;
        let node = Node::Obj(vec![
            ("service_request_id", Node::text(order.id.to_string())),
            ("token", Node::text(order.tracking_code)),
        ]);
        Ok::<_, Failure>(format::render(
            fmt,
            StatusCode::OK,
            "service_requests",
            &Node::List("request", vec![node]),
        ))
    }
    .await;
    res.unwrap_or_else(IntoResponse::into_response)
}

// ---- one request as the public sees it ----------------------------------------------

/// What turning orders into public requests needs: names of services and units.
struct View<'a> {
    tree: &'a TreeSnapshot,
    categories: HashMap<String, Category>,
    departments: HashMap<String, String>,
}

impl<'a> View<'a> {
    async fn load(st: &AppState, tree: &'a TreeSnapshot) -> Result<View<'a>, AppError> {
        let mut c = st.db.conn();
        let categories = workorders::categories(&mut c)
            .await?
            .into_iter()
            .map(|x| (x.code.clone(), x))
            .collect();
        let departments = dispatch::departments(&mut c)
            .await?
            .into_iter()
            .map(|d| (d.code, d.name))
            .collect();
        Ok(View {
            tree,
            categories,
            departments,
        })
    }

    /// "兴隆街道和平社区": the township and below, or the node's own name.
    fn place(&self, code: &str) -> Option<String> {
        let code = DivisionCode::parse(code).ok()?;
        let lineage = self.tree.lineage(&code);
        let local: Vec<&str> = lineage
            .iter()
            .filter(|d| matches!(d.level(), Level::Township | Level::Village | Level::Grid))
            .map(|d| d.name.as_str())
            .collect();
        if local.is_empty() {
            lineage.last().map(|d| d.name.clone())
        } else {
            Some(local.concat())
        }
    }

    fn agency(&self, unit: &str) -> Option<String> {
        if unit.is_empty() {
            None
        } else if dispatch::is_department(unit) {
            self.departments.get(unit).cloned()
        } else {
            self.place(unit)
        }
    }

    /// The plain state, with the unit's reply or closing summary once there is one.
    async fn status_notes(
        &self,
        st: &AppState,
        o: &Order,
        private: bool,
    ) -> Result<String, AppError> {
        let Some(state) = o.state() else {
            return Ok(String::new());
        };
        let label = state.label();
        let answered = matches!(
            state,
            OrderState::Replied | OrderState::Closed | OrderState::Visited | OrderState::Rated
        );
        if private || !answered {
            return Ok(label.to_owned());
        }
        let events = workorders::timeline(&mut st.db.conn(), o.id).await?;
        let note = events
            .iter()
            .rev()
            .find(|e| matches!(e.action.as_str(), "reply" | "close") && !e.note.trim().is_empty())
            .map(|e| mask_numbers(e.note.trim()));
        Ok(match note {
            Some(n) => format!("{label}：{n}"),
            None => label.to_owned(),
        })
    }

    async fn node(&self, st: &AppState, o: &Order) -> Result<Node, AppError> {
        let private = is_private(&o.category_code);
        let cat = self.categories.get(&o.category_code);
        let open = o.state().is_some_and(OrderState::is_open);
        let place = self.place(&o.division_code).unwrap_or_default();
        let (description, address, lat, lon) = if private {
            (PRIVATE_TEXT.to_owned(), place, None, None)
        } else {
            let address = if o.address.trim().is_empty() {
                place
            } else {
                o.address.clone()
            };
            (mask_numbers(&o.description), address, o.lat, o.lon)
        };
        Ok(Node::Obj(vec![
            ("service_request_id", Node::text(o.id.to_string())),
            ("status", Node::text(if open { "open" } else { "closed" })),
            (
                "status_notes",
                Node::text(self.status_notes(st, o, private).await?),
            ),
            (
                "service_name",
                Node::text(cat.map(|c| c.name.clone()).unwrap_or_default()),
            ),
            ("service_code", Node::text(&o.category_code)),
            ("description", Node::text(description)),
            ("agency_responsible", Node::opt_text(self.agency(&o.unit))),
            ("service_notice", Node::opt_text(cat.map(notice))),
            ("requested_datetime", Node::time(Some(o.created_at))),
            ("updated_datetime", Node::time(Some(o.updated_at))),
            ("expected_datetime", Node::time(o.due_at.or(o.resolve_by))),
            ("address", Node::text(address)),
            ("address_id", Node::Null),
            ("zipcode", Node::Null),
            ("lat", Node::float(lat)),
            ("long", Node::float(lon)),
            ("media_url", Node::Null),
        ]))
    }
}

/// Long digit runs (phone and ID numbers a resident typed into free text) masked:
/// `13807390000` → `138****0000`.
pub fn mask_numbers(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let run = chars
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if run == 0 {
            if let Some(c) = chars.get(i) {
                out.push(*c);
            }
            i += 1;
            continue;
        }
        let digits = chars.get(i..i + run).unwrap_or_default();
        if run >= 7 {
            let (head, tail) = if run >= 11 { (3, 4) } else { (2, 2) };
            for (k, c) in digits.iter().enumerate() {
                out.push(if k < head || k >= run - tail { *c } else { '*' });
            }
        } else {
            out.extend(digits);
        }
        i += run;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 30, 2, 0, 0).unwrap()
    }

    fn q(s: &str) -> Result<ListQuery, String> {
        list_query(&Params::from_query(Some(s)), now())
    }

    #[test]
    fn default_window_is_the_last_90_days() {
        let l = q("").unwrap();
        assert_eq!(l.filter.created_from, Some(now() - Duration::days(90)));
        assert_eq!(l.filter.created_to, None);
        assert_eq!((l.page.page, l.page.per_page), (1, 50));
        let l = q("updated_after=2025-01-01T00:00:00Z").unwrap();
        assert_eq!((l.filter.created_from, l.filter.created_to), (None, None));
        let l = q("start_date=2025-01-01T00:00:00Z").unwrap();
        assert_eq!(
            l.filter.created_to,
            Some(Utc.with_ymd_and_hms(2025, 4, 1, 0, 0, 0).unwrap())
        );
    }

    #[test]
    fn bad_parameters_are_refused() {
        for bad in [
            "start_date=yesterday",
            "start_date=2025-01-01T00:00:00Z&end_date=2025-06-01T00:00:00Z",
            "start_date=2025-06-01T00:00:00Z&end_date=2025-05-01T00:00:00Z",
            "status=pending",
            "page=0",
            "page_size=x",
            "service_code=%3Cscript%3E",
            "service_request_id=1,abc",
            "updated_after=2025-06-02T00:00:00Z&updated_before=2025-06-01T00:00:00Z",
        ] {
            assert!(q(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_override_everything_and_statuses_map_to_states() {
        let l = q("service_request_id=3,5&status=nonsense&start_date=bad").unwrap();
        assert_eq!(l.filter.ids, vec![3, 5]);
        assert_eq!(l.filter.created_from, None);
        let l = q("status=closed").unwrap();
        assert!(l.filter.states.iter().all(|s| !s.is_open()));
        assert!(l.filter.states.contains(&OrderState::Merged));
        assert!(q("status=open,closed").unwrap().filter.states.is_empty());
        assert_eq!(q("page_size=1000").unwrap().page.per_page, 200);
        assert_eq!(
            q("service_code=facilities,facilities.road,other.advice,other.advice")
                .unwrap()
                .codes,
            vec!["facilities".to_owned(), "other.advice".to_owned()]
        );
    }

    #[test]
    fn names_and_masks() {
        assert_eq!(reporter_name(Some("芳"), Some("王")), "王芳");
        assert_eq!(reporter_name(Some("Ann"), Some("Lee")), "Ann Lee");
        assert_eq!(reporter_name(None, Some("王")), "王");
        assert_eq!(
            mask_numbers("电话13807390000，门牌12号，身份证430502199001011234"),
            "电话138****0000，门牌12号，身份证430***********1234"
        );
        assert_eq!(mask_numbers("座机7391234"), "座机73***34");
    }
}
