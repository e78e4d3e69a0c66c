//! 我要反映: choose a category (big buttons), then one page with the place
//! (county → township → community selects, or the phone's location), the
//! category's extra questions, the description, up to three photos, and an
//! optional name and phone. The form posts as multipart with a one-time key, so
//! a double tap or a refresh stores one order. Errors come back next to the
//! fields with everything typed kept (photos must be chosen again).

use super::{Ctx, Layout, PageError, beijing, category_label, layout, portal_js, resident_id};
use crate::intake::{self, MAX_PHOTOS, RawIntake};
use crate::{AppError, AppState};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use shequ_core::{DivisionCode, FieldErrors, Level, photo};
use shequ_db::scope::Actor;
use shequ_db::workorders::{self, Category, MAX_DESCRIPTION, attributes, notify};
use std::collections::BTreeMap;

/// Largest submission: three photos at their limit and the text around them.
pub const BODY_LIMIT: usize = MAX_PHOTOS * photo::MAX_BYTES + 1024 * 1024;
/// Largest url-encoded submission (no photos).
const FORM_LIMIT: usize = 256 * 1024;
/// Most values one question may carry (a multi-choice list).
const MAX_VALUES: usize = 20;

// ---------------------------------------------------------------- views

/// A category button or option.
pub struct CatLink {
    pub code: String,
    pub name: String,
    pub href: String,
    pub selected: bool,
}

/// A parent category with its subcategories.
pub struct CatGroup {
    pub name: String,
    pub items: Vec<CatLink>,
}

/// The chosen category.
pub struct CategoryView {
    pub code: String,
    pub label: String,
}

/// An option of a place select.
pub struct PlaceOpt {
    pub code: String,
    pub name: String,
    pub selected: bool,
}

/// The county → township → community choice.
#[derive(Default)]
pub struct Place {
    pub counties: Vec<PlaceOpt>,
    pub townships: Vec<PlaceOpt>,
    pub communities: Vec<PlaceOpt>,
    pub county: String,
    pub township: String,
    /// The village/community (or grid) chosen; empty when none.
    pub division: String,
    /// "双清区 › 兴隆街道 › 和平社区".
    pub label: String,
}

/// One choice of a list question.
pub struct ChoiceView {
    pub key: String,
    pub name: String,
    pub checked: bool,
}

/// One extra question of the category.
pub struct QuestionView {
    /// `attribute[code]`.
    pub name: String,
    /// An HTML id.
    pub id: String,
    pub label: String,
    pub hint: String,
    /// single, multi, textarea, number, datetime, text
    pub kind: &'static str,
    pub required: bool,
    pub choices: Vec<ChoiceView>,
    pub value: String,
    pub error: String,
}

/// Messages shown next to each part of the form.
#[derive(Default)]
pub struct SectionErrors {
    pub category: String,
    pub place: String,
    pub description: String,
    pub address: String,
    pub photo: String,
    pub reporter: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/new.html")]
pub struct NewPage {
    pub layout: Layout,
    pub js: String,
    /// The chosen category; `None` shows the chooser (or, after a bad post, a select).
    pub category: Option<CategoryView>,
    pub groups: Vec<CatGroup>,
    /// Whether the details form is shown.
    pub show_form: bool,
    pub place: Place,
    /// `county=…&township=…&division=…`, for links that keep the place.
    pub place_query: String,
    pub questions: Vec<QuestionView>,
    pub v: Entered,
    /// The one-time key of this form.
    pub key: String,
    /// Every message, for the summary at the top.
    pub errors: Vec<String>,
    pub err: SectionErrors,
    /// Photos were attached to the refused submission.
    pub had_photos: bool,
    pub max_description: usize,
    pub max_photos: usize,
    /// 1, 2, 3: one file input each.
    pub photo_slots: Vec<usize>,
    pub resident: bool,
}

// ---------------------------------------------------------------- input

/// What the resident entered, echoed back on errors (photos are not).
#[derive(Debug, Clone, Default)]
pub struct Entered {
    pub csrf: String,
    pub key: String,
    pub category: String,
    pub county: String,
    pub township: String,
    pub division: String,
    pub lat: String,
    pub lon: String,
    pub description: String,
    pub address: String,
    pub urgent: bool,
    pub reporter_name: String,
    pub reporter_phone: String,
    pub answers: BTreeMap<String, Vec<String>>,
    pub photos: Vec<Vec<u8>>,
}

impl Entered {
    fn take(&mut self, name: &str, value: String) {
        match name {
            "csrf" => self.csrf = value,
            "idempotency_key" => self.key = value,
            "category" => self.category = value,
            "county" => self.county = value,
            "township" => self.township = value,
            "division" => self.division = value,
            "lat" => self.lat = value,
            "lon" => self.lon = value,
            "description" => self.description = value,
            "address" => self.address = value,
            "urgent" => self.urgent = !value.is_empty(),
            "reporter_name" => self.reporter_name = value,
            "reporter_phone" => self.reporter_phone = value,
            _ => {
                if let Some(code) = name
                    .strip_prefix("attribute[")
                    .and_then(|r| r.strip_suffix(']'))
                    .filter(|c| !c.is_empty() && c.len() <= 64)
                {
                    let vals = self.answers.entry(code.to_owned()).or_default();
                    if vals.len() < MAX_VALUES {
                        vals.push(value);
                    }
                }
            }
        }
    }

    fn answer(&self, code: &str) -> &[String] {
        self.answers.get(code).map_or(&[], Vec::as_slice)
    }
}

/// The query of the form page: the category and the place chosen so far.
#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub county: String,
    #[serde(default)]
    pub township: String,
    #[serde(default)]
    pub division: String,
}

/// A fresh one-time key for a form.
fn new_key() -> Result<String, AppError> {
    crate::state::random_secret()
}

/// A key as the page issues it: 32–64 hex digits.
fn good_key(k: &str) -> bool {
    (32..=64).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_hexdigit())
}

// ---------------------------------------------------------------- building the page

fn groups(cats: &[Category], chosen: &str, place_query: &str) -> Vec<CatGroup> {
    let link = |c: &Category| CatLink {
        code: c.code.clone(),
        name: c.name.clone(),
        href: format!("/portal/new?category={}&{place_query}", c.code),
        selected: c.code == chosen,
    };
    cats.iter()
        .filter(|p| p.parent_code.is_none() && p.active)
        .map(|p| {
            let mut items: Vec<CatLink> = cats
                .iter()
                .filter(|c| c.active && c.parent_code.as_deref() == Some(p.code.as_str()))
                .map(link)
                .collect();
            if items.is_empty() {
                items.push(link(p));
            }
            CatGroup {
                name: p.name.clone(),
                items,
            }
        })
        .collect()
}

/// Work out the place selects from what was chosen, top down: a choice that
/// does not belong under the one above it is dropped; a level with a single
/// choice is chosen for the resident.
pub fn place(st: &AppState, county: &str, township: &str, division: &str) -> Place {
    let tree = st.tree.get();
    let under = |code: &str, parent: &str| {
        !code.is_empty()
            && tree
                .get(code)
                .is_some_and(|d| d.parent_code.as_deref() == Some(parent))
    };
    // The lineage of a given village/community or grid, to fill the levels above it.
    let given = DivisionCode::parse(division.trim())
        .ok()
        .filter(|d| matches!(d.level(), Level::Village | Level::Grid))
        .filter(|d| tree.get(d.as_str()).is_some());
    let line: Vec<(Level, String)> = given
        .as_ref()
        .map(|d| {
            tree.lineage(d)
                .iter()
                .map(|x| (x.level(), x.code.clone()))
                .collect()
        })
        .unwrap_or_default();
    let at = |level: Level| {
        line.iter()
            .find(|(l, _)| *l == level)
            .map(|(_, c)| c.clone())
            .unwrap_or_default()
    };
    // The children of a node (the counties for `None`); none below nothing chosen.
    let opts = |parent: Option<&str>| -> Vec<PlaceOpt> {
        let kids = match parent {
            Some("") => return Vec::new(),
            p => tree.children(p).unwrap_or_default(),
        };
        kids.into_iter()
            .map(|d| PlaceOpt {
                code: d.code.clone(),
                name: d.name.clone(),
                selected: false,
            })
            .collect()
    };
    let pick = |asked: &str, derived: String, parent: &str, choices: &[PlaceOpt]| {
        let asked = asked.trim();
        if under(asked, parent) {
            asked.to_owned()
        } else if under(&derived, parent) {
            derived
        } else if let [only] = choices {
            only.code.clone()
        } else {
            String::new()
        }
    };
    let root = tree.root().map(|r| r.code.clone()).unwrap_or_default();
    let mut counties = opts(None);
    let county = pick(county, at(Level::County), &root, &counties);
    counties
        .iter_mut()
        .for_each(|o| o.selected = o.code == county);
    let mut townships = opts(Some(&county));
    let township = pick(township, at(Level::Township), &county, &townships);
    townships
        .iter_mut()
        .for_each(|o| o.selected = o.code == township);
    let mut communities = opts(Some(&township));
    let village = pick(division, at(Level::Village), &township, &communities);
    communities
        .iter_mut()
        .for_each(|o| o.selected = o.code == village);
    // A grid stays chosen when its community is.
    let division = match &given {
        Some(g) if !village.is_empty() && g.as_str().starts_with(&village) => g.as_str().to_owned(),
        _ => village,
    };
    let label = DivisionCode::parse(&division)
        .map(|d| {
            tree.lineage(&d)
                .iter()
                .filter(|x| x.parent_code.is_some())
                .map(|x| x.name.as_str())
                .collect::<Vec<_>>()
                .join(" › ")
        })
        .unwrap_or_default();
    Place {
        counties,
        townships,
        communities,
        county,
        township,
        division,
        label,
    }
}

fn place_query(p: &Place) -> String {
    format!(
        "county={}&township={}&division={}",
        p.county, p.township, p.division
    )
}

fn kind_of(datatype: &str) -> &'static str {
    match datatype {
        "singlevaluelist" => "single",
        "multivaluelist" => "multi",
        "text" => "textarea",
        "number" => "number",
        "datetime" => "datetime",
        _ => "text",
    }
}

/// An attribute code as part of an HTML id.
fn id_part(code: &str) -> String {
    code.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn questions(
    attrs: &[attributes::Attribute],
    v: &Entered,
    errs: &BTreeMap<String, String>,
) -> Vec<QuestionView> {
    attrs
        .iter()
        .map(|a| {
            let given = v.answer(&a.code);
            let name = format!("attribute[{}]", a.code);
            QuestionView {
                id: format!("q-{}", id_part(&a.code)),
                label: a.description.clone(),
                hint: a.datatype_description.clone(),
                kind: kind_of(&a.datatype),
                required: a.required,
                choices: a
                    .choice_list()
                    .into_iter()
                    .map(|c| ChoiceView {
                        checked: given.contains(&c.key),
                        key: c.key,
                        name: c.name,
                    })
                    .collect(),
                value: given.first().cloned().unwrap_or_default(),
                error: errs.get(&name).cloned().unwrap_or_default(),
                name,
            }
        })
        .collect()
}

/// Sort field errors into the parts of the form they belong to.
fn sections(e: &FieldErrors) -> (SectionErrors, BTreeMap<String, String>, Vec<String>) {
    let mut s = SectionErrors::default();
    let mut by_question = BTreeMap::new();
    let mut all = Vec::new();
    let put = |slot: &mut String, m: &str| {
        if !slot.contains(m) {
            if !slot.is_empty() {
                slot.push('；');
            }
            slot.push_str(m);
        }
    };
    for f in &e.0 {
        let m = f.message.as_str();
        if !all.iter().any(|x: &String| x == m) {
            all.push(m.to_owned());
        }
        match f.field.as_str() {
            "category" => put(&mut s.category, m),
            "lat" | "lon" | "location" | "division" => put(&mut s.place, m),
            "description" => put(&mut s.description, m),
            "address" => put(&mut s.address, m),
            "photo" => put(&mut s.photo, m),
            "reporter_phone" | "reporter_name" => put(&mut s.reporter, m),
            q if q.starts_with("attribute[") => {
                let slot: &mut String = by_question.entry(q.to_owned()).or_default();
                put(slot, m);
            }
            _ => {}
        }
    }
    (s, by_question, all)
}

struct Rendered {
    errors: FieldErrors,
    had_photos: bool,
}

async fn render(
    st: &AppState,
    ctx: &Ctx,
    v: Entered,
    key: String,
    show_form: bool,
    r: Rendered,
) -> Result<NewPage, PageError> {
    let mut c = st.db.conn();
    let cats = workorders::categories(&mut c)
        .await
        .map_err(|e| ctx.err(e))?;
    let chosen = cats
        .iter()
        .find(|x| x.code == v.category.trim() && x.active);
    let attrs = match chosen {
        Some(cat) => attributes::of_category(&mut c, &cat.code)
            .await
            .map_err(|e| ctx.err(e))?,
        None => Vec::new(),
    };
    let place = place(st, &v.county, &v.township, &v.division);
    let place_query = place_query(&place);
    let (err, by_question, errors) = sections(&r.errors);
    let category = chosen.map(|cat| CategoryView {
        code: cat.code.clone(),
        label: category_label(&cats, &cat.code),
    });
    Ok(NewPage {
        layout: layout(ctx, "我要反映"),
        js: portal_js(),
        show_form: show_form || category.is_some(),
        groups: groups(&cats, v.category.trim(), &place_query),
        category,
        place,
        place_query,
        questions: questions(&attrs, &v, &by_question),
        v,
        key,
        errors,
        err,
        had_photos: r.had_photos,
        max_description: MAX_DESCRIPTION,
        max_photos: MAX_PHOTOS,
        photo_slots: (1..=MAX_PHOTOS).collect(),
        resident: resident_id(ctx).is_some(),
    })
}

// ---------------------------------------------------------------- handlers

/// The chooser, or the form for a chosen category.
pub async fn form(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NewQuery>,
) -> Result<NewPage, PageError> {
    let v = Entered {
        category: q.category,
        county: q.county,
        township: q.township,
        division: q.division,
        ..Entered::default()
    };
    let key = new_key().map_err(|e| ctx.err(e))?;
    let r = Rendered {
        errors: FieldErrors::new(),
        had_photos: false,
    };
    render(&st, &ctx, v, key, false, r).await
}

async fn read_multipart(mut mp: Multipart, v: &mut Entered) -> Result<(), StatusCode> {
    while let Some(field) = mp.next_field().await.map_err(|e| e.status())? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "photo" {
            let named = field.file_name().is_some_and(|n| !n.is_empty());
            let bytes = field.bytes().await.map_err(|e| e.status())?;
            // An empty file input arrives as a part without a name or bytes.
            if named || !bytes.is_empty() {
                v.photos.push(bytes.to_vec());
            }
        } else {
            let text = field.text().await.map_err(|e| e.status())?;
            v.take(&name, text);
        }
    }
    Ok(())
}

/// Read the posted form (multipart from the page; url-encoded works too, without photos).
async fn read_form(st: &AppState, req: Request, v: &mut Entered) -> Result<(), StatusCode> {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<usize>().ok())
        .unwrap_or(0);
    if ctype.starts_with("multipart/form-data") {
        let mp = Multipart::from_request(req, st)
            .await
            .map_err(|_| StatusCode::BAD_REQUEST)?;
        // The fields before the limit are kept, so the page can show them again.
        read_multipart(mp, v).await.map_err(|status| {
            if declared > BODY_LIMIT {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                status
            }
        })
    } else if ctype.starts_with("application/x-www-form-urlencoded") {
        let body = axum::body::to_bytes(req.into_body(), FORM_LIMIT)
            .await
            .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE)?;
        for (k, val) in form_urlencoded::parse(&body) {
            v.take(&k, val.into_owned());
        }
        Ok(())
    } else {
        Err(StatusCode::UNSUPPORTED_MEDIA_TYPE)
    }
}

/// "2025-06-30T10:00" from a phone's date-time picker, as the RFC 3339 time it means in Beijing.
fn rfc3339(s: &str) -> String {
    let s = s.trim();
    if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
        return s.to_owned();
    }
    for f in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return format!("{}+08:00", t.format("%Y-%m-%dT%H:%M:%S"));
        }
    }
    s.to_owned()
}

/// The answers as the intake takes them: lists as arrays, the rest as text.
fn answers_json(
    attrs: &[attributes::Attribute],
    answers: &BTreeMap<String, Vec<String>>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (code, vals) in answers {
        let vals: Vec<String> = vals
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let Some(first) = vals.first().cloned() else {
            continue;
        };
        let datatype = attrs
            .iter()
            .find(|a| &a.code == code)
            .map(|a| a.datatype.as_str());
        let value = match datatype {
            Some("multivaluelist") => Value::Array(vals.into_iter().map(Value::String).collect()),
            Some("datetime") => Value::String(rfc3339(&first)),
            _ => Value::String(first),
        };
        out.insert(code.clone(), value);
    }
    out
}

fn coordinate(s: &str, field: &str, errs: &mut FieldErrors) -> Option<f64> {
    match s.trim() {
        "" => None,
        t => match t.parse::<f64>() {
            Ok(x) if x.is_finite() => Some(x),
            _ => {
                errs.add(
                    field,
                    "bad_point",
                    "位置信息有误，请重新获取位置或选择村（社区）",
                );
                None
            }
        },
    }
}

/// Check and store a report; on success go to its receipt.
pub async fn submit(
    State(st): State<AppState>,
    ctx: Ctx,
    req: Request,
) -> Result<Response, PageError> {
    let mut v = Entered::default();
    let read = read_form(&st, req, &mut v).await;
    // Too large: the fields may not have been read, and only the form comes back.
    if read != Err(StatusCode::PAYLOAD_TOO_LARGE) {
        ctx.check_csrf(&v.csrf)?;
    }
    let had_photos = !v.photos.is_empty();
    let mut errs = FieldErrors::new();
    let status = match read {
        Err(StatusCode::UNSUPPORTED_MEDIA_TYPE) => {
            return Err(ctx.err(AppError::UnsupportedMediaType(
                "请通过页面上的表单提交".into(),
            )));
        }
        Err(StatusCode::PAYLOAD_TOO_LARGE) => {
            let total = BODY_LIMIT / (1024 * 1024);
            errs.add(
                "photo",
                "too_large",
                format!("上传的照片太大了（合计不能超过 {total} MB），请少选几张或重新拍摄"),
            );
            StatusCode::PAYLOAD_TOO_LARGE
        }
        Err(_) => {
            errs.add("form", "bad_form", "提交的内容不完整，请重新提交");
            StatusCode::BAD_REQUEST
        }
        Ok(()) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let key = if good_key(v.key.trim()) {
        v.key.trim().to_owned()
    } else {
        errs.add(
            "idempotency_key",
            "stale_form",
            "页面已过期，请检查内容后重新提交",
        );
        new_key().map_err(|e| ctx.err(e))?
    };
    if !errs.is_empty() {
        return rerender(&st, &ctx, v, key, errs, had_photos, status).await;
    }
    let lat = coordinate(&v.lat, "lat", &mut errs);
    let lon = coordinate(&v.lon, "lon", &mut errs);
    let attrs = attributes::of_category(&mut st.db.conn(), v.category.trim())
        .await
        .map_err(|e| ctx.err(e))?;
    let reporter_user_id = resident_id(&ctx);
    let raw = RawIntake {
        category: v.category.trim().to_owned(),
        description: v.description.clone(),
        lon,
        lat,
        address: v.address.clone(),
        division: Some(v.division.trim().to_owned()).filter(|d| !d.is_empty()),
        channel: "portal".into(),
        urgent: v.urgent,
        reporter_name: v.reporter_name.clone(),
        reporter_phone: Some(v.reporter_phone.trim().to_owned()).filter(|p| !p.is_empty()),
        reporter_user_id,
        idempotency_key: Some(format!("portal:{key}")),
        attributes: answers_json(&attrs, &v.answers),
        photos: std::mem::take(&mut v.photos),
    };
    let prepared = match intake::prepare(&st, raw).await {
        Ok(p) if errs.is_empty() => p,
        Ok(_) => return rerender(&st, &ctx, v, key, errs, had_photos, status).await,
        Err(AppError::Validation(more)) => {
            errs.0.extend(more.0);
            return rerender(&st, &ctx, v, key, errs, had_photos, status).await;
        }
        Err(e) => return Err(ctx.err(e)),
    };
    let actor = ctx
        .user
        .as_ref()
        .map_or_else(Actor::anonymous, |u| u.actor());
    let receipt = match intake::submit(&st, actor, prepared).await {
        Ok(r) => r,
        Err(AppError::Validation(more)) => {
            return rerender(&st, &ctx, v, key, more, had_photos, status).await;
        }
        Err(e) => return Err(ctx.err(e)),
    };
    if receipt.created
        && let Some(uid) = reporter_user_id
        && let Err(e) = leave_notice(&st, uid, receipt.id, &receipt.tracking_code).await
    {
        tracing::warn!(error = %e, order = receipt.id, "could not leave the resident's notice");
    }
    Ok(Redirect::to(&format!("/portal/submitted/{}", receipt.tracking_code)).into_response())
}

async fn rerender(
    st: &AppState,
    ctx: &Ctx,
    v: Entered,
    key: String,
    errors: FieldErrors,
    had_photos: bool,
    status: StatusCode,
) -> Result<Response, PageError> {
    let r = Rendered { errors, had_photos };
    let page = render(st, ctx, v, key, true, r).await?;
    Ok((status, page).into_response())
}

/// The signed-in resident's "received" notice, which also lists the order under 我的诉求.
async fn leave_notice(st: &AppState, user: i64, order: i64, code: &str) -> Result<(), AppError> {
    let msg = format!("【社区服务】您的诉求 {code} 已收到，我们会尽快办理。");
    let mut tx = st.db.begin().await?;
    notify::notice(
        &mut tx.conn(),
        &notify::user_recipient(user),
        Some(order),
        "status",
        &msg,
        st.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- receipt

#[derive(Template, WebTemplate)]
#[template(path = "portal/submitted.html")]
pub struct ReceiptPage {
    pub layout: Layout,
    pub js: String,
    pub code: String,
    pub category: String,
    pub created: String,
    pub urgent: bool,
    pub with_phone: bool,
    pub resident: bool,
}

/// The receipt after a report: the tracking code, big.
pub async fn receipt(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let Some(code) = super::normalize_code(&code) else {
        return Ok(super::track::not_found_page(&ctx, &code));
    };
    let mut c = st.db.conn();
    let Some(o) = workorders::by_tracking_code(&mut c, &code)
        .await
        .map_err(|e| ctx.err(e))?
    else {
        return Ok(super::track::not_found_page(&ctx, &code));
    };
    let cats = workorders::categories(&mut c)
        .await
        .map_err(|e| ctx.err(e))?;
    Ok(ReceiptPage {
        layout: layout(&ctx, "提交成功"),
        js: portal_js(),
        category: category_label(&cats, &o.category_code),
        created: beijing(o.created_at),
        urgent: o.urgent,
        with_phone: o.reporter_phone_masked.is_some(),
        resident: resident_id(&ctx).is_some(),
        code: o.tracking_code,
    }
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_taken_by_name() {
        let mut v = Entered::default();
        v.take("attribute[lamp_state]", "off".into());
        v.take("attribute[kinds]", "a".into());
        v.take("attribute[kinds]", "b".into());
        v.take("attribute[]", "x".into());
        v.take("urgent", "1".into());
        v.take("unknown", "x".into());
        assert_eq!(v.answer("lamp_state"), ["off"]);
        assert_eq!(v.answer("kinds"), ["a", "b"]);
        assert!(v.urgent && v.answers.len() == 2);
    }

    #[test]
    fn keys_and_times() {
        assert!(good_key(&"a".repeat(64)));
        assert!(!good_key("short") && !good_key(&"z".repeat(40)));
        assert_eq!(rfc3339("2025-06-30T10:00"), "2025-06-30T10:00:00+08:00");
        assert_eq!(rfc3339("2025-06-30T10:00:00Z"), "2025-06-30T10:00:00Z");
        assert_eq!(rfc3339("昨天"), "昨天");
    }

    #[test]
    fn lists_become_arrays() {
        let attr = |code: &str, datatype: &str| attributes::Attribute {
            category_code: "c".into(),
            code: code.into(),
            position: 1,
            datatype: datatype.into(),
            required: false,
            description: code.into(),
            datatype_description: String::new(),
            choices: "[]".into(),
        };
        let attrs = [
            attr("many", "multivaluelist"),
            attr("one", "singlevaluelist"),
        ];
        let mut a = BTreeMap::new();
        a.insert("many".to_owned(), vec!["x".to_owned(), "y".to_owned()]);
        a.insert("one".to_owned(), vec![" z ".to_owned()]);
        a.insert("blank".to_owned(), vec![" ".to_owned()]);
        let j = answers_json(&attrs, &a);
        assert_eq!(
            Value::Object(j),
            serde_json::json!({"many": ["x", "y"], "one": "z"})
        );
    }
}
