//! One order: every field (the reporter's phone masked), photos, answers to the
//! category's questions, the timeline, likely duplicates, the suggested unit, the
//! text messages sent, and a form for exactly the steps this user may take now.
//! Photos are served only to users who can see their order.

use super::{
    Choice, Ctx, Group, Layout, PageError, SubLink, category_name, channel_label, error_messages,
    layout, local_time, reader, script, short, state_label, sub_nav, timing,
};
use crate::orders::{self, UnitNames};
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use serde::Deserialize;
use shequ_core::DivisionCode;
use shequ_core::geo::Point;
use shequ_core::photo::Photo;
use shequ_core::workorders::lifecycle::RATING_LABELS;
use shequ_core::workorders::{Action, State as OrderState};
use shequ_db::PageReq;
use shequ_db::scope::Scope;
use shequ_db::users::User;
use shequ_db::workorders::list::Filter;
use shequ_db::workorders::{self, Category, Order, attributes, dispatch, list, notify, photos};
use std::collections::HashSet;

/// The fields of every step's form (each uses some of them).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub solved: String,
    #[serde(default)]
    pub days: String,
    #[serde(default)]
    pub into: String,
}

/// Which steps the user may take on the order now (legal in its state and allowed to them).
#[derive(Debug, Clone, Default)]
pub struct Allowed {
    pub dispatch: bool,
    pub sign: bool,
    pub ret: bool,
    pub start: bool,
    pub reply: bool,
    pub close: bool,
    pub visit: bool,
    pub request_extension: bool,
    pub approve_extension: bool,
    pub refuse_extension: bool,
    pub urge: bool,
    pub supervise: bool,
    pub transfer: bool,
    pub reopen: bool,
    pub merge: bool,
}

impl Allowed {
    pub fn any(&self) -> bool {
        [
            self.dispatch,
            self.sign,
            self.ret,
            self.start,
            self.reply,
            self.close,
            self.visit,
            self.request_extension,
            self.approve_extension,
            self.refuse_extension,
            self.urge,
            self.supervise,
            self.transfer,
            self.reopen,
            self.merge,
        ]
        .contains(&true)
    }
}

fn allowed(user: &User, o: &Order) -> Allowed {
    let Some(state) = o.state() else {
        return Allowed::default();
    };
    let s = |v: &str| v.to_owned();
    let ok = |a: Action| {
        state.apply(&a, o.extension_pending).is_ok() && orders::authorize(user, o, &a).is_ok()
    };
    Allowed {
        dispatch: ok(Action::Dispatch { unit: s("u") }),
        sign: ok(Action::Sign),
        ret: ok(Action::Return { reason: s("r") }),
        start: ok(Action::Start),
        reply: ok(Action::Reply { text: s("t") }),
        close: ok(Action::Close { summary: s("s") }),
        visit: ok(Action::Visit {
            note: s("n"),
            solved: Some(true),
        }),
        request_extension: ok(Action::RequestExtension {
            days: 1,
            reason: s("r"),
        }),
        approve_extension: ok(Action::ApproveExtension),
        refuse_extension: ok(Action::RefuseExtension { reason: s("r") }),
        // Urging is addressed to the unit holding the order.
        urge: !o.unit.is_empty() && ok(Action::Urge { note: s("n") }),
        supervise: !o.unit.is_empty() && ok(Action::Supervise { note: s("n") }),
        transfer: ok(Action::Transfer {
            unit: s("u"),
            reason: s("r"),
        }),
        reopen: ok(Action::Reopen { reason: s("r") }),
        merge: ok(Action::Merge { into: 0 }),
    }
}

/// The order as shown.
pub struct OrderView {
    pub id: i64,
    pub tracking_code: String,
    pub category: String,
    pub description: String,
    pub address: String,
    pub place: String,
    pub location: String,
    pub unit: String,
    pub channel: &'static str,
    pub urgent: bool,
    pub state: String,
    pub state_label: &'static str,
    pub reporter_name: String,
    pub reporter_phone: String,
    pub created: String,
    pub deadline: String,
    pub badge: &'static str,
    pub badge_label: &'static str,
    pub sign_by: String,
    pub reply_by: String,
    pub resolve_by: String,
    pub closed_at: String,
    pub extension: String,
    pub merged_into: Option<i64>,
    pub solved: &'static str,
    pub rating: &'static str,
    pub returns: i32,
    pub reopens: i32,
}

fn view(st: &AppState, names: &UnitNames, cats: &[Category], o: &Order) -> OrderView {
    let t = timing(o, st.now());
    let opt_time = |v: Option<chrono::DateTime<chrono::Utc>>| v.map(local_time).unwrap_or_default();
    let extension = match (o.extension_pending, o.extension_days) {
        (true, d) => format!("已申请延期 {d} 个工作日，待审批"),
        (false, d) if d > 0 => format!("已延期 {d} 个工作日"),
        _ => String::new(),
    };
    OrderView {
        id: o.id,
        tracking_code: o.tracking_code.clone(),
        category: category_name(cats, &o.category_code),
        description: o.description.clone(),
        address: o.address.clone(),
        place: orders::place_name(st, &o.division_code),
        location: match (o.lon, o.lat) {
            (Some(lon), Some(lat)) => format!("经度 {lon:.6}，纬度 {lat:.6}"),
            _ => String::new(),
        },
        unit: names.name(st, &o.unit),
        channel: channel_label(&o.channel),
        urgent: o.urgent,
        state: o.state.clone(),
        state_label: state_label(&o.state),
        reporter_name: o.reporter_name.clone(),
        reporter_phone: o.reporter_phone_masked.clone().unwrap_or_default(),
        created: local_time(o.created_at),
        deadline: t.deadline,
        badge: t.badge,
        badge_label: t.badge_label,
        sign_by: opt_time(o.sign_by),
        reply_by: opt_time(o.reply_by),
        resolve_by: opt_time(o.resolve_by),
        closed_at: opt_time(o.closed_at),
        extension,
        merged_into: o.merged_into,
        solved: match o.solved {
            Some(true) => "已解决",
            Some(false) => "未解决",
            None => "",
        },
        rating: o
            .rating
            .and_then(|r| usize::try_from(r - 1).ok())
            .and_then(|i| RATING_LABELS.get(i).copied())
            .unwrap_or(""),
        returns: o.returns,
        reopens: o.reopens,
    }
}

/// One step of the timeline.
pub struct EventLine {
    pub at: String,
    pub actor: String,
    pub action: &'static str,
    pub change: String,
    pub note: String,
}

fn event_line(st: &AppState, names: &UnitNames, e: &workorders::Event) -> EventLine {
    let note = match e.action.as_str() {
        "dispatch" => names.name(st, &e.note),
        "transfer" => match e.note.split_once('：') {
            Some((unit, why)) => format!("转至{}：{why}", names.name(st, unit)),
            None => e.note.clone(),
        },
        "accept" => format!("渠道：{}", channel_label(&e.note)),
        "rate" => e
            .note
            .parse::<usize>()
            .ok()
            .and_then(|l| RATING_LABELS.get(l.wrapping_sub(1)))
            .map_or_else(|| e.note.clone(), |l| (*l).to_owned()),
        _ => e.note.clone(),
    };
    let change = if e.from_state == e.to_state {
        String::new()
    } else {
        format!(
            "{} → {}",
            state_label(&e.from_state),
            state_label(&e.to_state)
        )
    };
    EventLine {
        at: local_time(e.at),
        actor: e.actor.clone(),
        action: super::action_label(&e.action),
        change,
        note,
    }
}

pub struct PhotoLine {
    pub id: i64,
    pub kind: &'static str,
    pub width: i32,
    pub height: i32,
}

pub struct AttrLine {
    pub label: String,
    pub value: String,
}

pub struct DupLine {
    pub id: i64,
    pub tracking_code: String,
    pub category: String,
    pub description: String,
    pub state_label: &'static str,
    pub distance: String,
    pub created: String,
}

pub struct SmsLine {
    pub at: String,
    pub phone: String,
    pub message: String,
    pub status: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "workorders/detail.html")]
pub struct DetailPage {
    pub layout: Layout,
    pub sub: Vec<SubLink>,
    pub script: String,
    pub o: OrderView,
    pub photos: Vec<PhotoLine>,
    pub attributes: Vec<AttrLine>,
    pub events: Vec<EventLine>,
    pub duplicates: Vec<DupLine>,
    pub dup_note: &'static str,
    pub suggested: String,
    pub sms: Vec<SmsLine>,
    pub a: Allowed,
    pub units: Vec<Group>,
    pub transfer_units: Vec<Group>,
    pub errors: Vec<String>,
    pub f: ActionForm,
    pub created: bool,
    pub done: &'static str,
    pub result_photos_left: i64,
}

/// Query of the detail page: set after intake (`created`) or a step (`done`).
#[derive(Debug, Default, Deserialize)]
pub struct DetailParams {
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub done: String,
}

fn not_found(ctx: &Ctx) -> PageError {
    ctx.err(AppError::NotFound(
        "没有找到该工单，或不在您的管辖范围内。".into(),
    ))
}

/// The attribute answers with their questions' wording and the choices' names.
async fn attribute_lines(st: &AppState, o: &Order) -> Result<Vec<AttrLine>, AppError> {
    let answers: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&o.attributes).unwrap_or_default();
    if answers.is_empty() {
        return Ok(Vec::new());
    }
    let attrs = attributes::of_category(&mut st.db.conn(), &o.category_code).await?;
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(answers
        .iter()
        .map(|(k, v)| {
            let a = attrs.iter().find(|a| &a.code == k);
            let choices = a
                .map(attributes::Attribute::choice_list)
                .unwrap_or_default();
            let name = |s: String| {
                choices
                    .iter()
                    .find(|c| c.key == s)
                    .map_or(s, |c| c.name.clone())
            };
            let value = match v {
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| name(text(i)))
                    .collect::<Vec<_>>()
                    .join("、"),
                other => name(text(other)),
            };
            AttrLine {
                label: a.map_or_else(|| k.clone(), |a| a.description.clone()),
                value,
            }
        })
        .collect())
}

/// Orders of the same category near this one (250 m, 30 days), or in the same
/// village/community when the order has no location.
async fn duplicates(
    st: &AppState,
    scope: &Scope,
    cats: &[Category],
    o: &Order,
) -> Result<(Vec<DupLine>, &'static str), AppError> {
    let now = st.now();
    let mut c = st.db.conn();
    let line = |d: &Order, distance: String| DupLine {
        id: d.id,
        tracking_code: d.tracking_code.clone(),
        category: category_name(cats, &d.category_code),
        description: short(&d.description, 40),
        state_label: state_label(&d.state),
        distance,
        created: local_time(d.created_at),
    };
    if let (Some(lon), Some(lat)) = (o.lon, o.lat) {
        let found =
            dispatch::duplicates(&mut c, &o.category_code, Point { lon, lat }, 250.0, 30, now)
                .await?;
        let lines = found
            .iter()
            .filter(|(d, _)| d.id != o.id && scope.contains_str(&d.division_code))
            .map(|(d, m)| line(d, format!("相距约 {m:.0} 米")))
            .collect();
        return Ok((lines, "同一类别、250 米以内、近 30 天的诉求"));
    }
    let Ok(division) = DivisionCode::parse(&o.division_code) else {
        return Ok((Vec::new(), ""));
    };
    let f = Filter {
        division: Some(division),
        category: Some(o.category_code.clone()),
        states: OrderState::ALL
            .into_iter()
            .filter(|s| *s != OrderState::Merged)
            .collect(),
        created_from: Some(now - Duration::days(30)),
        ..Filter::default()
    };
    let found = list::list(&mut c, scope, &f, now, PageReq::new(Some(1), Some(6))).await?;
    let lines = found
        .items
        .iter()
        .filter(|d| d.id != o.id)
        .take(5)
        .map(|d| line(d, "同一地点".into()))
        .collect();
    Ok((
        lines,
        "本工单没有定位：同一村（社区）、同一类别、近 30 天的诉求",
    ))
}

/// The units offered for 派单/转办: the suggested one, the order's own community,
/// township and county, the other communities of its township, the townships of
/// its county (all within the user's area), and the departments.
fn unit_groups(
    st: &AppState,
    scope: &Scope,
    names: &UnitNames,
    o: &Order,
    suggested: &str,
    select_suggested: bool,
) -> Vec<Group> {
    let tree = st.tree.get();
    let mut seen: HashSet<String> = HashSet::new();
    let mut groups = Vec::new();
    let mut add = |label: &str, items: Vec<(String, String)>, groups: &mut Vec<Group>| {
        let options: Vec<Choice> = items
            .into_iter()
            .filter(|(c, _)| !c.is_empty() && seen.insert(c.clone()))
            .map(|(c, n)| Choice::new(c, n, false))
            .collect();
        if !options.is_empty() {
            groups.push(Group {
                label: label.into(),
                options,
            });
        }
    };
    if !suggested.is_empty() {
        add(
            "建议",
            vec![(
                suggested.to_owned(),
                format!("{}（建议）", names.name(st, suggested)),
            )],
            &mut groups,
        );
        if select_suggested && let Some(c) = groups.first_mut().and_then(|g| g.options.first_mut())
        {
            c.selected = true;
        }
    }
    let code = o.division_code.as_str();
    let in_scope = |c: &str| scope.contains_str(c) && tree.get(c).is_some();
    let near: Vec<(String, String)> = [12, 9, 6]
        .iter()
        .filter_map(|n| code.get(..*n))
        .filter(|c| in_scope(c))
        .map(|c| (c.to_owned(), orders::place_name(st, c)))
        .collect();
    add("所在地", near, &mut groups);
    let kids_of = |parent: Option<&str>, len: usize| -> Vec<(String, String)> {
        parent
            .and_then(|p| tree.children(Some(p)))
            .unwrap_or_default()
            .iter()
            .filter(|d| d.code.len() == len && scope.contains_str(&d.code))
            .map(|d| (d.code.clone(), d.name.clone()))
            .collect()
    };
    add(
        "本乡镇（街道）的村（社区）",
        kids_of(code.get(..9), 12),
        &mut groups,
    );
    add(
        "本县市区的乡镇（街道）",
        kids_of(code.get(..6), 9),
        &mut groups,
    );
    let depts = names
        .departments()
        .iter()
        .filter(|d| d.active)
        .map(|d| (d.code.clone(), d.name.clone()))
        .collect();
    add("职能部门", depts, &mut groups);
    groups
}

async fn detail_page(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    f: ActionForm,
    errors: Vec<String>,
    p: &DetailParams,
) -> Result<DetailPage, PageError> {
    let (user, scope) = reader(ctx)?;
    let err = |e: shequ_db::DbError| ctx.err(e);
    let mut c = st.db.conn();
    let o = workorders::get(&mut c, &scope, id)
        .await
        .map_err(err)?
        .ok_or_else(|| not_found(ctx))?;
    let cats = workorders::categories(&mut c).await.map_err(err)?;
    let events = workorders::timeline(&mut c, id).await.map_err(err)?;
    let pics = photos::of_order(&mut c, id).await.map_err(err)?;
    let sms = notify::sms_for_order(&mut c, id).await.map_err(err)?;
    let suggested = dispatch::suggest(&mut c, &o.category_code, &o.division_code)
        .await
        .map_err(err)?;
    let names = UnitNames::load(st).await.map_err(|e| ctx.err(e))?;
    let (dups, dup_note) = duplicates(st, &scope, &cats, &o)
        .await
        .map_err(|e| ctx.err(e))?;
    let attrs = attribute_lines(st, &o).await.map_err(|e| ctx.err(e))?;
    let a = allowed(&user, &o);
    let results = pics.iter().filter(|p| p.kind == "result").count() as i64;
    let done = match p.done.as_str() {
        "" => "",
        code => super::action_label(code),
    };
    Ok(DetailPage {
        layout: layout(ctx, format!("工单 {}", o.tracking_code)),
        sub: sub_nav(ctx, ""),
        script: script(),
        photos: pics
            .iter()
            .map(|p| PhotoLine {
                id: p.id,
                kind: if p.kind == "result" {
                    "办理结果"
                } else {
                    "诉求照片"
                },
                width: p.width,
                height: p.height,
            })
            .collect(),
        attributes: attrs,
        events: events.iter().map(|e| event_line(st, &names, e)).collect(),
        duplicates: dups,
        dup_note,
        suggested: names.name(st, &suggested),
        sms: sms
            .iter()
            .map(|m| SmsLine {
                at: local_time(m.created_at),
                phone: m.phone_masked.clone(),
                message: m.message.clone(),
                status: match m.status.as_str() {
                    "sent" => "已发送",
                    "failed" => "发送失败",
                    _ => "待发送",
                },
            })
            .collect(),
        units: if a.dispatch {
            unit_groups(st, &scope, &names, &o, &suggested, true)
        } else {
            Vec::new()
        },
        transfer_units: if a.transfer {
            unit_groups(st, &scope, &names, &o, &suggested, false)
        } else {
            Vec::new()
        },
        a,
        errors,
        f,
        created: !p.created.is_empty(),
        done,
        result_photos_left: (photos::MAX_PER_ORDER - results).max(0),
        o: view(st, &names, &cats, &o),
    })
}

/// The order's page.
pub async fn page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(p): Query<DetailParams>,
) -> Result<DetailPage, PageError> {
    detail_page(&st, &ctx, id, ActionForm::default(), Vec::new(), &p).await
}

fn need(v: &str, msg: &str) -> Result<String, Vec<String>> {
    let v = v.trim();
    if v.is_empty() {
        Err(vec![msg.to_owned()])
    } else {
        Ok(v.to_owned())
    }
}

/// The step a form asks for, with its fields checked (plain messages when missing).
async fn parse_action(st: &AppState, scope: &Scope, f: &ActionForm) -> Result<Action, Vec<String>> {
    let or = |v: &str, default: &str| {
        let v = v.trim();
        if v.is_empty() { default } else { v }.to_owned()
    };
    Ok(match f.action.as_str() {
        "dispatch" => Action::Dispatch {
            unit: need(&f.unit, "请选择承办单位")?,
        },
        "sign" => Action::Sign,
        "start" => Action::Start,
        "approve_extension" => Action::ApproveExtension,
        "return" => Action::Return {
            reason: need(&f.reason, "请填写退单理由")?,
        },
        "reply" => Action::Reply {
            text: need(&f.text, "请填写回复内容")?,
        },
        "close" => Action::Close {
            summary: need(&f.summary, "请填写办结情况")?,
        },
        "visit" => Action::Visit {
            note: f.note.trim().to_owned(),
            solved: match f.solved.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => return Err(vec!["请选择问题是否已解决".into()]),
            },
        },
        "request_extension" => {
            let days = f
                .days
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|d| (1..=10).contains(d))
                .ok_or_else(|| vec!["延期天数应为 1 到 10 个工作日".to_owned()])?;
            Action::RequestExtension {
                days,
                reason: need(&f.reason, "请填写延期理由")?,
            }
        }
        "refuse_extension" => Action::RefuseExtension {
            reason: need(&f.reason, "请填写不同意延期的理由")?,
        },
        "urge" => Action::Urge {
            note: or(&f.note, "请尽快办理"),
        },
        "supervise" => Action::Supervise {
            note: or(&f.note, "请按时办结"),
        },
        "transfer" => Action::Transfer {
            unit: need(&f.unit, "请选择转办单位")?,
            reason: need(&f.reason, "请填写转办理由")?,
        },
        "reopen" => Action::Reopen {
            reason: need(&f.reason, "请填写重办理由")?,
        },
        "merge" => Action::Merge {
            into: merge_target(st, scope, &f.into).await?,
        },
        _ => return Err(vec!["未知的操作".into()]),
    })
}

/// The order to merge into: an id, or a tracking code in the user's area.
async fn merge_target(st: &AppState, scope: &Scope, into: &str) -> Result<i64, Vec<String>> {
    let into = need(into, "请填写要并入的工单查询码")?;
    if let Ok(id) = into.parse::<i64>() {
        return Ok(id);
    }
    let missing = || vec!["没有找到要并入的工单，请核对查询码".to_owned()];
    match workorders::by_tracking_code(&mut st.db.conn(), &into).await {
        Ok(Some(o)) if scope.contains_str(&o.division_code) => Ok(o.id),
        _ => Err(missing()),
    }
}

fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::Forbidden => StatusCode::FORBIDDEN,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// Re-render the order with the refused step's messages and the typed values.
async fn refused(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    f: ActionForm,
    errors: Vec<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let page = detail_page(st, ctx, id, f, errors, &DetailParams::default()).await?;
    Ok((status, page).into_response())
}

/// Take one step; on success back to the order (PRG), else the page with the reason.
pub async fn act(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<ActionForm>,
) -> Result<Response, PageError> {
    ctx.check_csrf(&f.csrf)?;
    let (user, scope) = reader(&ctx)?;
    let action = match parse_action(&st, &scope, &f).await {
        Ok(a) => a,
        Err(errors) => {
            return refused(&st, &ctx, id, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    match orders::act(&st, &user, id, &action).await {
        Ok(_) => Ok(done(id, &action)),
        Err(e) => outcome(&st, &ctx, id, f, e).await,
    }
}

fn done(id: i64, action: &Action) -> Response {
    Redirect::to(&format!("/workorders/{id}?done={}", action.code())).into_response()
}

async fn outcome(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    f: ActionForm,
    e: AppError,
) -> Result<Response, PageError> {
    match e {
        AppError::NotFound(_) => Err(not_found(ctx)),
        AppError::Internal(_) | AppError::Unauthorized => Err(ctx.err(e)),
        e => {
            let status = status_of(&e);
            refused(st, ctx, id, f, error_messages(&e), status).await
        }
    }
}

fn upload_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        AppError::bad_request("bad_upload", "上传的内容无法读取，请重新提交")
    }
}

/// 办结 with an optional photo of the result (checked and stripped of metadata),
/// both in one transaction.
pub async fn close(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    mut mp: Multipart,
) -> Result<Response, PageError> {
    let mut f = ActionForm {
        action: "close".into(),
        ..ActionForm::default()
    };
    let mut upload: Option<Vec<u8>> = None;
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| ctx.err(upload_error(e)))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "photo" {
            let b = field.bytes().await.map_err(|e| ctx.err(upload_error(e)))?;
            if !b.is_empty() {
                upload = Some(b.to_vec());
            }
            continue;
        }
        let v = field.text().await.map_err(|e| ctx.err(upload_error(e)))?;
        match name.as_str() {
            "csrf" => f.csrf = v,
            "summary" => f.summary = v,
            _ => {}
        }
    }
    ctx.check_csrf(&f.csrf)?;
    let (user, _) = reader(&ctx)?;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let summary = match need(&f.summary, "请填写办结情况") {
        Ok(s) => s,
        Err(errors) => return refused(&st, &ctx, id, f, errors, unprocessable).await,
    };
    let photo = match upload.as_deref().map(shequ_core::photo::clean) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            return refused(&st, &ctx, id, f, vec![e.to_string()], unprocessable).await;
        }
    };
    let action = Action::Close { summary };
    match close_with_photo(&st, &user, id, &action, photo.as_ref()).await {
        Ok(()) => Ok(done(id, &action)),
        Err(e) => outcome(&st, &ctx, id, f, e).await,
    }
}

async fn close_with_photo(
    st: &AppState,
    user: &User,
    id: i64,
    action: &Action,
    photo: Option<&Photo>,
) -> Result<(), AppError> {
    let cal = workorders::calendar::load(&mut st.db.conn()).await?;
    let order = workorders::get(&mut st.db.conn(), &orders::read_scope(user)?, id)
        .await?
        .ok_or_else(|| AppError::NotFound("工单不存在".into()))?;
    let scope = orders::authorize(user, &order, action)?;
    let now = st.now();
    let mut tx = st.db.begin().await?;
    workorders::transition(&mut tx.conn(), &scope, &cal, id, action, now).await?;
    if let Some(p) = photo {
        photos::add(&mut tx.conn(), id, "result", p, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A photo of an order the user can see (404 otherwise), never cached by shared caches.
pub async fn photo(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(photo_id): Path<i64>,
) -> Result<Response, PageError> {
    let (_, scope) = reader(&ctx)?;
    let missing = || {
        ctx.err(AppError::NotFound(
            "照片不存在，或不在您的管辖范围内。".into(),
        ))
    };
    let mut c = st.db.conn();
    let Some((order_id, content_type, bytes)) = photos::bytes(&mut c, photo_id)
        .await
        .map_err(|e| ctx.err(e))?
    else {
        return Err(missing());
    };
    if workorders::get(&mut c, &scope, order_id)
        .await
        .map_err(|e| ctx.err(e))?
        .is_none()
    {
        return Err(missing());
    }
    let content_type = if content_type == "image/png" {
        "image/png"
    } else {
        "image/jpeg"
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        bytes,
    )
        .into_response())
}
