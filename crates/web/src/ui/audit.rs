//! The auditor's pages: search the audit chain, check that it is intact, and
//! export what was found (the export itself is recorded in the chain).

use super::{Ctx, Layout, PageError};
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use chrono_tz::Tz;
use serde::Deserialize;
use shequ_core::role::{Capability, Role};
use shequ_db::PageReq;
use shequ_db::audit::{self, Entry, Event, Filter};
use shequ_reports::xlsx::{self, Cell};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit", get(page))
        .route("/audit/verify", post(verify))
        .route("/audit/export.xlsx", get(export))
}

/// Entries per page.
const PER_PAGE: u64 = 50;

/// Most entries one export writes.
pub const EXPORT_LIMIT: u64 = 5000;

/// A time in Beijing time (Asia/Shanghai), as every page shows it.
pub fn local(t: DateTime<Utc>) -> DateTime<Tz> {
    t.with_timezone(&Shanghai)
}

/// The actions the chain records, with their Chinese names.
pub const ACTIONS: [(&str, &str); 17] = [
    ("login", "登录"),
    ("logout", "退出登录"),
    ("person_create", "登记居民"),
    ("person_update", "修改居民信息"),
    ("person_move_household", "居民迁户"),
    ("reveal", "查看明文"),
    ("export", "导出"),
    ("people_search_protected_tag", "按受保护标签查询"),
    ("household_create", "新建户"),
    ("organization_create", "新建组织"),
    ("user_create", "新建用户"),
    ("user_role_change", "修改角色"),
    ("user_disable", "停用账号"),
    ("user_enable", "启用账号"),
    ("user_unlock", "解除锁定"),
    ("password_change", "修改密码"),
    ("demo_load", "载入演示数据"),
];

/// The Chinese name of an action (the code itself when unknown).
pub fn action_label(action: &str) -> &str {
    ACTIONS
        .iter()
        .find(|(a, _)| *a == action)
        .map_or(action, |(_, l)| l)
}

/// The Chinese name of an entity kind.
fn entity_label(entity: &str) -> &str {
    match entity {
        "user" => "用户",
        "person" => "居民",
        "household" => "户",
        "organization" => "组织",
        "division" => "区划",
        "audit" => "审计日志",
        "demo" => "演示数据",
        other => other,
    }
}

/// The search form's fields, echoed back.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditParams {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub entity_id: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub page: Option<u64>,
}

/// Midnight at the start of `day` in Beijing time.
fn day_start(day: NaiveDate) -> Option<DateTime<Utc>> {
    Shanghai
        .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// A `YYYY-MM-DD` field; `Err` with a message naming the field.
fn parse_day(s: &str, what: &str) -> Result<Option<NaiveDate>, String> {
    match s.trim() {
        "" => Ok(None),
        d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                format!(
                    "{what}“{}”无法识别，请按 2025-06-30 这样的格式填写",
                    d.chars().take(20).collect::<String>()
                )
            }),
    }
}

impl AuditParams {
    /// The store filter; `Err` with a message for a bad date or action.
    fn filter(&self) -> Result<Filter, String> {
        let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let action = opt(&self.action);
        if action
            .as_deref()
            .is_some_and(|a| !ACTIONS.iter().any(|(x, _)| *x == a))
        {
            return Err("未知的操作类型，请从列表中选择".into());
        }
        let from = parse_day(&self.from, "开始日期")?;
        let to = parse_day(&self.to, "结束日期")?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err("开始日期不能晚于结束日期".into());
        }
        let bad = || "日期超出范围".to_owned();
        let from = from.map(|d| day_start(d).ok_or_else(bad)).transpose()?;
        let to = to
            .map(|d| {
                d.checked_add_days(Days::new(1))
                    .and_then(day_start)
                    .ok_or_else(bad)
            })
            .transpose()?;
        Ok(Filter {
            actor: opt(&self.actor),
            action,
            entity_id: opt(&self.entity_id),
            from,
            to,
        })
    }

    fn query_string(&self) -> String {
        let enc = super::urlencode;
        format!(
            "actor={}&action={}&entity_id={}&from={}&to={}",
            enc(&self.actor),
            enc(&self.action),
            enc(&self.entity_id),
            enc(&self.from),
            enc(&self.to)
        )
    }
}

/// One entry as the table shows it.
pub struct Row {
    pub seq: i64,
    pub time: String,
    pub actor: String,
    pub actor_role: String,
    pub action: String,
    pub object: String,
    pub division: String,
    pub ok: bool,
    pub detail: String,
}

fn row(st: &AppState, e: &Entry) -> Row {
    let division = match st.tree.get().get(&e.division_code) {
        Some(d) => format!("{} {}", e.division_code, d.name),
        None => e.division_code.clone(),
    };
    Row {
        seq: e.seq,
        time: local(e.at).format("%Y-%m-%d %H:%M:%S").to_string(),
        actor: e.actor.clone(),
        actor_role: Role::parse(&e.actor_role)
            .map_or_else(|| e.actor_role.clone(), |r| r.label().to_owned()),
        action: action_label(&e.action).to_owned(),
        object: format!("{} {}", entity_label(&e.entity), e.entity_id)
            .trim()
            .to_owned(),
        division,
        ok: e.outcome == "ok",
        detail: if e.detail == "{}" {
            String::new()
        } else {
            e.detail.clone()
        },
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "audit/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub q: AuditParams,
    pub actions: Vec<(&'static str, &'static str, bool)>,
    pub rows: Vec<Row>,
    pub total: i64,
    pub page: u64,
    pub pages: u64,
    pub message: String,
    pub query_string: String,
    /// `Some((intact, text))` after a check of the chain.
    pub verified: Option<(bool, String)>,
}

/// Search the chain.
pub async fn page(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AuditParams>,
) -> Result<Response, PageError> {
    render(&st, &ctx, q, None).await
}

/// The audit page for `q`; a bad filter shows its message with status 400.
async fn render(
    st: &AppState,
    ctx: &Ctx,
    q: AuditParams,
    verified: Option<(bool, String)>,
) -> Result<Response, PageError> {
    ctx.scope(Capability::ReadAudit)?;
    let page_no = q.page.unwrap_or(1).max(1);
    let (rows, total, message) = match q.filter() {
        Ok(f) => {
            let found = audit::search(
                &mut st.db.conn(),
                &f,
                PageReq::new(Some(page_no), Some(PER_PAGE)),
            )
            .await
            .map_err(|e| ctx.err(e))?;
            (
                found.items.iter().map(|e| row(st, e)).collect(),
                found.total,
                String::new(),
            )
        }
        Err(m) => (Vec::new(), 0, m),
    };
    let status = if message.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page = ListPage {
        layout: ctx.layout("审计日志", "audit"),
        actions: ACTIONS
            .iter()
            .map(|(a, l)| (*a, *l, q.action == *a))
            .collect(),
        query_string: q.query_string(),
        q,
        rows,
        total,
        page: page_no,
        pages: (total.max(0) as u64).div_ceil(PER_PAGE),
        message,
        verified,
    };
    Ok((status, page).into_response())
}

#[derive(Debug, Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    pub csrf: String,
}

/// Walk the whole chain and show whether it is intact.
pub async fn verify(
    State(st): State<AppState>,
    ctx: Ctx,
    Form(f): Form<VerifyForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    ctx.scope(Capability::ReadAudit)?;
    let result = match audit::verify(&mut st.db.conn())
        .await
        .map_err(|e| ctx.err(e))?
    {
        Ok(n) => (true, format!("审计日志完整：共 {n} 条")),
        Err(b) => (false, format!("第 {} 条起不一致：{}", b.seq, b.reason)),
    };
    render(&st, &ctx, AuditParams::default(), Some(result)).await
}

/// The entries matching the filters as a spreadsheet (newest first); audited.
pub async fn export(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AuditParams>,
) -> Result<Response, PageError> {
    let (user, scope) = ctx.scope(Capability::ReadAudit)?;
    let f = q
        .filter()
        .map_err(|m| ctx.err(AppError::bad_request("bad_filter", m)))?;
    let found = audit::search(
        &mut st.db.conn(),
        &f,
        PageReq {
            page: 1,
            per_page: EXPORT_LIMIT,
        },
    )
    .await
    .map_err(|e| ctx.err(e))?;
    let rows: Vec<Vec<Cell>> = found.items.iter().map(|e| export_row(&st, e)).collect();
    let headers = [
        "序号",
        "时间",
        "操作人",
        "操作人角色",
        "操作",
        "对象",
        "区划",
        "结果",
        "详情",
    ];
    let bytes = xlsx::sheet("审计日志", &headers, &rows)
        .map_err(|e| ctx.err(AppError::Internal(e.into())))?;
    let ev = Event::new("export", "audit", "")
        .division(scope.root.as_str())
        .detail(serde_json::json!({"rows": rows.len(), "filter": q.query_string()}));
    audit::record(&st.db, &user.actor(), ev, st.now())
        .await
        .map_err(|e| ctx.err(e))?;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"audit.xlsx\""),
    );
    Ok(res)
}

fn export_row(st: &AppState, e: &Entry) -> Vec<Cell> {
    let r = row(st, e);
    let outcome = if r.ok { "成功" } else { "失败" };
    vec![
        Cell::Int(r.seq),
        Cell::Text(r.time),
        Cell::Text(r.actor),
        Cell::Text(r.actor_role),
        Cell::Text(r.action),
        Cell::Text(r.object),
        Cell::Text(r.division),
        Cell::Text(outcome.into()),
        Cell::Text(r.detail),
    ]
}
