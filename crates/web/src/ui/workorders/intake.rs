//! Staff entry of orders: phone calls (电话), walk-ins (来访), 代办 on a
//! resident's behalf (the staff member is the actor, the resident the reporter,
//! with the resident's consent), and grid workers' patrol reports (巡查上报).
//! Everything goes through `intake::prepare` and `intake::submit`; photos are
//! checked and stripped of their metadata there.

use super::{
    Choice, Ctx, Group, Layout, PageError, SubLink, category_groups, code_in, layout, reader,
    script, sub_nav, village_choices,
};
use crate::intake::{self, RawIntake};
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::{Map, Value};
use shequ_core::role::Role;
use shequ_db::scope::Scope;
use shequ_db::users::User;
use shequ_db::workorders::{self, attributes};

/// The channels staff take orders in, with their names.
const STAFF_CHANNELS: [(&str, &str); 4] = [
    ("phone", "电话"),
    ("walk_in", "来访"),
    ("proxy", "代办（代居民提交）"),
    ("patrol", "巡查上报"),
];

/// The form's values, echoed back after a refusal.
#[derive(Debug, Clone, Default)]
pub struct IntakeValues {
    pub csrf: String,
    pub channel: String,
    pub category: String,
    pub description: String,
    pub address: String,
    pub division: String,
    pub lon: String,
    pub lat: String,
    pub urgent: bool,
    pub reporter_name: String,
    pub reporter_phone: String,
    pub consent: bool,
    pub nonce: String,
    /// `attr.{category}.{code}` → the values given.
    pub attrs: Vec<(String, String)>,
}

impl IntakeValues {
    fn attr_values(&self, name: &str) -> Vec<&str> {
        self.attrs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
            .collect()
    }
}

/// One extra question of a category, as a form field.
pub struct AttrField {
    pub name: String,
    pub id: String,
    pub label: String,
    pub hint: String,
    pub datatype: String,
    pub required: bool,
    pub choices: Vec<Choice>,
    pub value: String,
}

/// The extra questions of one category.
pub struct AttrGroup {
    pub category: String,
    pub name: String,
    pub fields: Vec<AttrField>,
}

#[derive(Template, WebTemplate)]
#[template(path = "workorders/new.html")]
pub struct IntakePage {
    pub layout: Layout,
    pub sub: Vec<SubLink>,
    pub script: String,
    pub v: IntakeValues,
    pub channels: Vec<Choice>,
    pub categories: Vec<Group>,
    pub attr_groups: Vec<AttrGroup>,
    pub divisions: Vec<String>,
    pub errors: Vec<String>,
    pub max_photos: usize,
}

fn attr_name(category: &str, code: &str) -> String {
    format!("attr.{category}.{code}")
}

async fn intake_page(
    st: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    v: IntakeValues,
    errors: Vec<String>,
) -> Result<IntakePage, PageError> {
    let err = |e: shequ_db::DbError| ctx.err(e);
    let mut c = st.db.conn();
    let cats = workorders::categories(&mut c).await.map_err(err)?;
    let mut attr_groups = Vec::new();
    for cat in cats.iter().filter(|c| c.active) {
        let attrs = attributes::of_category(&mut c, &cat.code)
            .await
            .map_err(err)?;
        if attrs.is_empty() {
            continue;
        }
        let fields = attrs
            .iter()
            .map(|a| {
                let name = attr_name(&cat.code, &a.code);
                let given = v.attr_values(&name);
                AttrField {
                    id: name.replace('.', "-"),
                    label: a.description.clone(),
                    hint: a.datatype_description.clone(),
                    datatype: a.datatype.clone(),
                    required: a.required,
                    choices: a
                        .choice_list()
                        .into_iter()
                        .map(|ch| {
                            let selected = given.contains(&ch.key.as_str());
                            Choice::new(ch.key, ch.name, selected)
                        })
                        .collect(),
                    value: given.first().map(|s| (*s).to_owned()).unwrap_or_default(),
                    name,
                }
            })
            .collect();
        attr_groups.push(AttrGroup {
            category: cat.code.clone(),
            name: super::category_name(&cats, &cat.code),
            fields,
        });
    }
    Ok(IntakePage {
        layout: layout(ctx, "录入诉求"),
        sub: sub_nav(ctx, "/workorders/new"),
        script: script(),
        channels: STAFF_CHANNELS
            .iter()
            .map(|(code, label)| Choice::new(*code, *label, *code == v.channel))
            .collect(),
        categories: category_groups(&cats, &v.category, false),
        attr_groups,
        divisions: village_choices(st, scope)
            .into_iter()
            .map(|(code, name)| format!("{name} {code}"))
            .collect(),
        errors,
        max_photos: intake::MAX_PHOTOS,
        v,
    })
}

/// "兴隆街道 和平社区 第一网格 430502001001001".
fn division_label(st: &AppState, code: &str) -> String {
    format!("{} {code}", crate::orders::place_name(st, code))
}

#[derive(Debug, Default, Deserialize)]
pub struct NewParams {
    #[serde(default)]
    pub channel: String,
}

fn is_grid_worker(user: &User) -> bool {
    user.role() == Some(Role::GridWorker)
}

/// A fresh one-time key for the form: a repeated submission stores one order.
fn nonce() -> String {
    crate::state::random_secret()
        .map(|s| s.chars().take(32).collect())
        .unwrap_or_default()
}

/// The entry form (grid workers start on a patrol report in their grid).
pub async fn form(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(p): Query<NewParams>,
) -> Result<IntakePage, PageError> {
    let (user, scope) = reader(&ctx)?;
    let grid = is_grid_worker(&user);
    let channel = if STAFF_CHANNELS.iter().any(|(c, _)| *c == p.channel) {
        p.channel
    } else if grid {
        "patrol".into()
    } else {
        "phone".into()
    };
    let v = IntakeValues {
        division: if grid || user.division_code.len() >= 12 {
            division_label(&st, &user.division_code)
        } else {
            String::new()
        },
        channel,
        nonce: nonce(),
        ..IntakeValues::default()
    };
    intake_page(&st, &ctx, &scope, v, Vec::new()).await
}

fn upload_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        AppError::bad_request("bad_upload", "上传的内容无法读取，请重新提交")
    }
}

/// Read the multipart form: its fields and the chosen photos.
async fn read_form(
    ctx: &Ctx,
    mp: &mut Multipart,
) -> Result<(IntakeValues, Vec<Vec<u8>>), PageError> {
    let mut v = IntakeValues::default();
    let mut photos = Vec::new();
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| ctx.err(upload_error(e)))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "photos" {
            let b = field.bytes().await.map_err(|e| ctx.err(upload_error(e)))?;
            if !b.is_empty() {
                photos.push(b.to_vec());
            }
            continue;
        }
        let text = field.text().await.map_err(|e| ctx.err(upload_error(e)))?;
        match name.as_str() {
            "csrf" => v.csrf = text,
            "channel" => v.channel = text,
            "category" => v.category = text,
            "description" => v.description = text,
            "address" => v.address = text,
            "division" => v.division = text,
            "lon" => v.lon = text,
            "lat" => v.lat = text,
            "urgent" => v.urgent = !text.is_empty(),
            "reporter_name" => v.reporter_name = text,
            "reporter_phone" => v.reporter_phone = text,
            "consent" => v.consent = !text.is_empty(),
            "nonce" => v.nonce = text,
            n if n.starts_with("attr.") => v.attrs.push((name, text)),
            _ => {}
        }
    }
    Ok((v, photos))
}

/// The answers to the chosen category's questions, as intake expects them.
async fn answers(st: &AppState, v: &IntakeValues) -> Result<Map<String, Value>, AppError> {
    let mut out = Map::new();
    if v.category.is_empty() {
        return Ok(out);
    }
    let attrs = attributes::of_category(&mut st.db.conn(), &v.category).await?;
    for a in attrs {
        let given = v.attr_values(&attr_name(&v.category, &a.code));
        let Some(first) = given.first().map(|s| s.trim().to_owned()) else {
            continue;
        };
        let value = match a.datatype.as_str() {
            "multivaluelist" => Value::Array(
                given
                    .iter()
                    .map(|s| Value::String(s.trim().to_owned()))
                    .collect(),
            ),
            // A datetime-local field gives Shanghai wall-clock time.
            "datetime" => Value::String(
                NaiveDateTime::parse_from_str(&first, "%Y-%m-%dT%H:%M")
                    .map(|t| format!("{}+08:00", t.format("%Y-%m-%dT%H:%M:%S")))
                    .unwrap_or(first),
            ),
            _ => Value::String(first),
        };
        out.insert(a.code, value);
    }
    Ok(out)
}

fn coordinate(s: &str, errors: &mut Vec<String>) -> Option<f64> {
    match s.trim() {
        "" => None,
        t => {
            let v = t.parse::<f64>().ok().filter(|f| f.is_finite());
            if v.is_none() {
                errors.push("经纬度应为数字，如 111.467 和 27.239".into());
            }
            v
        }
    }
}

/// The checks intake itself does not make: channel, division from the list, and
/// for 代办 the resident's name, phone and consent.
fn check(v: &IntakeValues, errors: &mut Vec<String>) -> Option<String> {
    if !STAFF_CHANNELS.iter().any(|(c, _)| *c == v.channel) {
        errors.push("请选择受理方式".into());
    }
    if v.channel == "proxy" {
        if v.reporter_name.trim().is_empty() || v.reporter_phone.trim().is_empty() {
            errors.push("代办须填写居民姓名和联系电话".into());
        }
        if !v.consent {
            errors.push("代办须经居民同意，请勾选“居民已同意代为提交”".into());
        }
    }
    match v.division.trim() {
        "" => None,
        d => {
            let code = code_in(d).map(|c| c.as_str().to_owned());
            if code.is_none() {
                errors.push("请从列表中选择所在的村（社区）或网格".into());
            }
            code
        }
    }
}

/// The form again with the reasons (chosen photos are not kept by browsers).
async fn refuse(
    st: &AppState,
    ctx: &Ctx,
    scope: &Scope,
    v: IntakeValues,
    mut errors: Vec<String>,
    had_photos: bool,
) -> Result<Response, PageError> {
    if had_photos {
        errors.push("请重新选择照片后再提交".into());
    }
    let page = intake_page(st, ctx, scope, v, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// Take the order in; on success, its page with the tracking code and likely duplicates.
pub async fn submit(
    State(st): State<AppState>,
    ctx: Ctx,
    mut mp: Multipart,
) -> Result<Response, PageError> {
    let (mut v, photos) = read_form(&ctx, &mut mp).await?;
    ctx.check_csrf(&v.csrf)?;
    let (user, scope) = reader(&ctx)?;
    if v.nonce.is_empty()
        || v.nonce.len() > 64
        || !v.nonce.chars().all(|c| c.is_ascii_alphanumeric())
    {
        v.nonce = nonce();
    }
    let mut errors = Vec::new();
    let division = check(&v, &mut errors);
    let lon = coordinate(&v.lon, &mut errors);
    let lat = coordinate(&v.lat, &mut errors);
    let attrs = answers(&st, &v).await.map_err(|e| ctx.err(e))?;
    let had_photos = !photos.is_empty();
    if !errors.is_empty() {
        return refuse(&st, &ctx, &scope, v, errors, had_photos).await;
    }
    let reporter_name = match v.reporter_name.trim() {
        "" if v.channel == "patrol" => user.display_name.clone(),
        n => n.to_owned(),
    };
    let raw = RawIntake {
        category: v.category.clone(),
        description: v.description.clone(),
        lon,
        lat,
        address: v.address.clone(),
        division,
        channel: v.channel.clone(),
        urgent: v.urgent,
        reporter_name,
        reporter_phone: Some(v.reporter_phone.clone()).filter(|p| !p.trim().is_empty()),
        reporter_user_id: None,
        idempotency_key: Some(format!("ui:{}:{}", user.id, v.nonce)),
        attributes: attrs,
        photos,
    };
    let prepared = match intake::prepare(&st, raw).await {
        Ok(p) => p,
        Err(AppError::Validation(fe)) => {
            let errors = fe.0.into_iter().map(|e| e.message).collect();
            return refuse(&st, &ctx, &scope, v, errors, had_photos).await;
        }
        Err(e) => return Err(ctx.err(e)),
    };
    if !scope.contains(&prepared.order.division) {
        return refuse(
            &st,
            &ctx,
            &scope,
            v,
            vec!["所选地点不在您的管辖范围内".into()],
            had_photos,
        )
        .await;
    }
    let receipt = intake::submit(&st, user.actor(), prepared)
        .await
        .map_err(|e| ctx.err(e))?;
    Ok(Redirect::to(&format!("/workorders/{}?created=1", receipt.id)).into_response())
}
