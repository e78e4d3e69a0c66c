//! Demo work orders: a year of 12345 hotline and other-channel orders over the
//! loaded tree, each carried through the lifecycle (派单 → 签收 → 回复 → 办结 →
//! 回访 → 评价, with 退单, 延期, 重办, merging and the escalation job's 催办/督办)
//! by the same column rules the store applies, cut off at the demo's "now" so the
//! last fortnight's orders stand open in every state.
//!
//! Everything is generated in memory a month at a time and stored with multi-row
//! inserts in one transaction per month; the same seed gives the same rows.

use super::users::DemoLogin;
use crate::divisions::Division;
use crate::scope::{Actor, Scope};
use crate::workorders::dispatch::{self, Department, NewRule, Rule, UnitKind};
use crate::workorders::{self as wo, Category, local, monthly, utc};
use crate::{Conn, Db, DbError, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use sea_query::{Expr, Iden, InsertStatement, Query};
use shequ_core::crypto::Protector;
use shequ_core::rng::SeededRng;
use shequ_core::workorders::{Action, Calendar, State};
use shequ_core::{DivisionCode, Phone, Role};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

#[derive(Iden, Clone, Copy)]
enum WorkOrders {
    Table,
    Id,
    TrackingCode,
    CategoryCode,
    Description,
    Lon,
    Lat,
    Address,
    DivisionCode,
    Unit,
    Channel,
    Urgent,
    State,
    ReporterName,
    ReporterPhoneEnc,
    ReporterPhoneMasked,
    ExtensionPending,
    ExtensionDays,
    MergedInto,
    SignBy,
    ReplyBy,
    ResolveBy,
    ClosedAt,
    CreatedAt,
    UpdatedAt,
    Attributes,
    DueAt,
    Escalation,
    SignedAt,
    FirstReplyAt,
    VisitedAt,
    Solved,
    Rating,
    Returns,
    Reopens,
}

#[derive(Iden, Clone, Copy)]
enum WorkOrderEvents {
    Table,
    OrderId,
    At,
    Actor,
    Action,
    FromState,
    ToState,
    Note,
}

/// The city department the `department` demo login works for.
pub const CITY_DEPARTMENT: &str = "D-430500-cg";

/// The logins this module adds to the demo.
pub const LOGINS: [DemoLogin; 2] = [
    DemoLogin {
        username: "dispatcher",
        role: Role::CityStaff,
        division: "430500",
        note: "12345 热线派单员（全市）",
    },
    DemoLogin {
        username: "department",
        role: Role::DepartmentStaff,
        division: "430500",
        note: "市城管局工作人员（承办路灯等工单）",
    },
];

/// Orders a year of the demo holds by default: ~1,000,000 for the city, ~20,000 for one district.
pub fn default_count(scale: super::Scale) -> usize {
    match scale {
        super::Scale::City => 1_000_000,
        super::Scale::Small => 20_000,
    }
}

/// What the demo stored.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub orders: usize,
    pub events: usize,
    /// Orders by state.
    pub states: BTreeMap<String, usize>,
    /// Orders whose reporter phone was sealed (phone, walk-in and 代办 orders of the last 30 days).
    pub sealed_phones: usize,
    /// Rows of the monthly 三率 aggregate.
    pub monthly_rows: usize,
    pub departments: usize,
    pub rules: usize,
}

impl Summary {
    /// Orders still open (not closed, visited, rated or merged).
    pub fn open(&self) -> usize {
        self.states
            .iter()
            .filter(|(s, _)| State::parse(s).is_some_and(State::is_open))
            .map(|(_, n)| n)
            .sum()
    }
}

// ---------------------------------------------------------------------------
// Departments and dispatch rules
// ---------------------------------------------------------------------------

/// Counties whose streetlights and roads the city departments look after.
const DISTRICTS: [&str; 3] = ["430502", "430503", "430511"];

/// Departments and dispatch rules of the demo (idempotent); returns their numbers.
pub async fn setup(db: &Db, now: DateTime<Utc>) -> Result<(usize, usize)> {
    let all = crate::divisions::all(&mut db.conn()).await?;
    let Some(city) = all.iter().find(|d| d.level == "city") else {
        return Ok((0, 0));
    };
    let city_code =
        DivisionCode::parse(&city.code).map_err(|e| DbError::Conflict(e.to_string()))?;
    let mut depts = vec![
        dept(&city.code, "zj", "市住建局"),
        dept(&city.code, "cg", "市城管局"),
        dept(&city.code, "sw", "市水务局"),
        dept(&city.code, "scjg", "市市场监管局"),
    ];
    let counties: Vec<&Division> = all
        .iter()
        .filter(|d| d.level == "county" && !DISTRICTS.contains(&d.code.as_str()))
        .collect();
    for c in &counties {
        depts.push(dept(&c.code, "zj", &format!("{}住建局", c.name)));
        depts.push(dept(&c.code, "cg", &format!("{}城管局", c.name)));
    }
    let scope = Scope::new(city_code.clone(), Role::CityStaff, Actor::system());
    let rule = |cat: &str, div: &DivisionCode, kind: UnitKind, d: Option<String>| NewRule {
        category_code: Some(cat.to_owned()),
        division: div.clone(),
        unit_kind: kind,
        department_code: d,
    };
    let code = |suffix: &str| Some(format!("D-{}-{suffix}", city.code));
    let mut rules = vec![
        rule(
            "facilities.water",
            &city_code,
            UnitKind::Department,
            code("sw"),
        ),
        rule(
            "property.elevator",
            &city_code,
            UnitKind::Department,
            code("scjg"),
        ),
        rule(
            "facilities.streetlight",
            &city_code,
            UnitKind::Department,
            code("cg"),
        ),
        rule(
            "facilities.road",
            &city_code,
            UnitKind::Department,
            code("zj"),
        ),
        rule("dispute", &city_code, UnitKind::Township, None),
        rule("social.assistance", &city_code, UnitKind::Township, None),
        rule("safety.fire", &city_code, UnitKind::Township, None),
    ];
    for c in &counties {
        let Ok(cc) = DivisionCode::parse(&c.code) else {
            continue;
        };
        let d = |s: &str| Some(format!("D-{}-{s}", c.code));
        rules.push(rule(
            "facilities.streetlight",
            &cc,
            UnitKind::Department,
            d("cg"),
        ));
        rules.push(rule("facilities.road", &cc, UnitKind::Department, d("zj")));
    }
    let mut tx = db.begin().await?;
    for d in &depts {
        dispatch::put_department(&mut tx.conn(), d).await?;
    }
    for r in &rules {
        dispatch::put_rule(&mut tx.conn(), &scope, r, now).await?;
    }
    tx.commit().await?;
    Ok((depts.len(), rules.len()))
}

fn dept(division: &str, suffix: &str, name: &str) -> Department {
    Department {
        code: format!("D-{division}-{suffix}"),
        name: name.to_owned(),
        division_code: division.to_owned(),
        active: true,
    }
}

/// The `dispatcher` and `department` logins (the latter bound to 市城管局).
pub async fn logins(db: &Db, password_hash: &str, now: DateTime<Utc>) -> Result<Vec<DemoLogin>> {
    use sea_query::ExprTrait;
    setup(db, now).await?;
    let mut made = Vec::new();
    let mut tx = db.begin().await?;
    for l in LOGINS {
        let Ok(division) = DivisionCode::parse(l.division) else {
            continue;
        };
        if crate::divisions::get(&mut tx.conn(), &division)
            .await?
            .is_none()
        {
            continue;
        }
        let u = crate::users::NewUser {
            username: l.username.into(),
            display_name: l.note.into(),
            role: l.role,
            division,
            password_hash: password_hash.into(),
        };
        let id = crate::users::create(&mut tx.conn(), &Actor::system(), &u, now).await?;
        if l.role == Role::DepartmentStaff {
            let q = Query::update()
                .table(crate::users::Users::Table)
                .value(crate::users::Users::DepartmentCode, CITY_DEPARTMENT)
                .and_where(Expr::col(crate::users::Users::Id).eq(id))
                .to_owned();
            tx.conn().execute(&q).await?;
        }
        made.push(l);
    }
    tx.commit().await?;
    Ok(made)
}

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

/// Generate and store `total` orders over the year before `now`, with their
/// histories, then refresh the monthly 三率 aggregate of every month they touch.
pub async fn load(
    db: &Db,
    key: &Protector,
    seed: u64,
    total: usize,
    now: DateTime<Utc>,
) -> Result<Summary> {
    let (departments, rules_n) = setup(db, now).await?;
    let all = crate::divisions::all(&mut db.conn()).await?;
    let city = all
        .iter()
        .find(|d| d.level == "city")
        .and_then(|d| DivisionCode::parse(&d.code).ok())
        .ok_or_else(|| DbError::Conflict("没有区划数据，请先载入演示区划".into()))?;
    let scope = Scope::new(city, Role::CityStaff, Actor::system());
    let rules = dispatch::rules(&mut db.conn(), &scope).await?;
    let cats = wo::categories(&mut db.conn()).await?;
    let cal = wo::calendar::load(&mut db.conn()).await?;
    let depts = dispatch::departments(&mut db.conn()).await?;
    let mut world = World::new(&all, &depts, &cats, rules, cal, seed, now)?;
    let first = first_id(&mut db.conn()).await?;
    let plan = world.plan_days(total);
    let months = plan.months();
    // Generation and statement building run on a blocking thread while the
    // statements of the previous chunk execute.
    let (send, mut recv) = tokio::sync::mpsc::channel::<Piece>(4);
    let producer = {
        let key = key.clone();
        let backend = db.backend();
        tokio::task::spawn_blocking(move || produce(world, backend, &plan, &key, first, now, &send))
    };
    let mut tx: Option<crate::Tx> = None;
    while let Some(piece) = recv.recv().await {
        let t = match &mut tx {
            Some(t) => t,
            None => tx.insert(db.begin().await?),
        };
        match piece {
            Piece::Orders(q, expected) => {
                let mut ids: Vec<i64> = t
                    .conn()
                    .insert_returning::<(i64,)>(&q)
                    .await?
                    .into_iter()
                    .map(|r| r.0)
                    .collect();
                ids.sort_unstable();
                if ids != expected {
                    return Err(DbError::Conflict(
                        "工单编号不连续：演示工单只能载入空的工单表".into(),
                    ));
                }
            }
            Piece::Events(q) => {
                t.conn().execute(&q).await?;
            }
            Piece::EndOfMonth => {
                if let Some(t) = tx.take() {
                    t.commit().await?;
                }
            }
        }
    }
    if let Some(t) = tx.take() {
        t.commit().await?;
    }
    let mut summary = producer
        .await
        .map_err(|e| DbError::Conflict(format!("演示工单生成失败：{e}")))??;
    summary.departments = departments;
    summary.rules = rules_n;
    let mut tx = db.begin().await?;
    for month in months {
        summary.monthly_rows += monthly::refresh(&mut tx.conn(), month, now).await?;
    }
    tx.commit().await?;
    Ok(summary)
}

/// A statement ready to run, or the end of a month's transaction.
enum Piece {
    /// Orders, with the ids they must receive.
    Orders(InsertStatement, Vec<i64>),
    Events(InsertStatement),
    EndOfMonth,
}

/// Generate month after month and hand over the insert statements.
fn produce(
    mut world: World,
    backend: crate::Backend,
    plan: &DayPlan,
    key: &Protector,
    first_id: i64,
    now: DateTime<Utc>,
    send: &tokio::sync::mpsc::Sender<Piece>,
) -> Result<Summary> {
    let stopped = || DbError::Conflict("演示工单写入已中止".into());
    let mut summary = Summary::default();
    let mut next_id = first_id;
    for month in plan.months() {
        let mut batch = world.generate(plan, month, next_id);
        summary.sealed_phones += seal_phones(key, &mut batch.orders, now)?;
        next_id += batch.orders.len() as i64;
        summary.orders += batch.orders.len();
        summary.events += batch.events.len();
        for o in &batch.orders {
            *summary
                .states
                .entry(o.state.as_str().to_owned())
                .or_default() += 1;
        }
        for chunk in batch.orders.chunks(ORDER_CHUNK) {
            let mut rows = bulk::Rows::new();
            for o in chunk {
                order_row(&mut rows, o);
            }
            let q = bulk::insert(backend, WorkOrders::Table, &ORDER_COLUMNS, rows.finish())?
                .returning_col(WorkOrders::Id)
                .to_owned();
            let expected = chunk.iter().map(|o| o.id).collect();
            send.blocking_send(Piece::Orders(q, expected))
                .map_err(|_| stopped())?;
        }
        for chunk in batch.events.chunks(EVENT_CHUNK) {
            let mut rows = bulk::Rows::new();
            for e in chunk {
                event_row(&mut rows, e);
            }
            let q = bulk::insert(
                backend,
                WorkOrderEvents::Table,
                &EVENT_COLUMNS,
                rows.finish(),
            )?;
            send.blocking_send(Piece::Events(q))
                .map_err(|_| stopped())?;
        }
        send.blocking_send(Piece::EndOfMonth)
            .map_err(|_| stopped())?;
    }
    Ok(summary)
}

/// The id the next inserted order will get (ids are checked after each insert).
async fn first_id(c: &mut Conn<'_>) -> Result<i64> {
    use sea_query::ExprTrait;
    let q = Query::select()
        .expr(Expr::col(WorkOrders::Id).max())
        .from(WorkOrders::Table)
        .to_owned();
    Ok(c.fetch_i64(&q).await? + 1)
}

/// Seal the phones planned for recent orders; returns how many.
fn seal_phones(key: &Protector, orders: &mut [Sim], now: DateTime<Utc>) -> Result<usize> {
    let since = now - Duration::days(30);
    let mut n = 0;
    for o in orders.iter_mut().filter(|o| o.created >= since) {
        let Some(p) = o.phone.take() else { continue };
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| DbError::Conflict(format!("随机数不可用：{e}")))?;
        o.phone_enc = Some(key.seal(wo::F_REPORTER_PHONE, p.as_str().as_bytes(), nonce));
        o.phone_masked = Some(p.masked());
        n += 1;
    }
    Ok(n)
}

/// Rows per insert statement (each statement binds one JSON document).
const ORDER_CHUNK: usize = 2_000;
const EVENT_CHUNK: usize = 10_000;

/// The columns of an order row, in the order [`order_row`] writes them.
const ORDER_COLUMNS: [(WorkOrders, bulk::Ty); 33] = {
    use bulk::Ty::{Bool, Hex, Int, Int32, Real, Text, Time};
    [
        (WorkOrders::TrackingCode, Text),
        (WorkOrders::CategoryCode, Text),
        (WorkOrders::Description, Text),
        (WorkOrders::Lon, Real),
        (WorkOrders::Lat, Real),
        (WorkOrders::Address, Text),
        (WorkOrders::DivisionCode, Text),
        (WorkOrders::Unit, Text),
        (WorkOrders::Channel, Text),
        (WorkOrders::Urgent, Bool),
        (WorkOrders::State, Text),
        (WorkOrders::ReporterName, Text),
        (WorkOrders::ReporterPhoneEnc, Hex),
        (WorkOrders::ReporterPhoneMasked, Text),
        (WorkOrders::ExtensionPending, Bool),
        (WorkOrders::ExtensionDays, Int32),
        (WorkOrders::MergedInto, Int),
        (WorkOrders::SignBy, Time),
        (WorkOrders::ReplyBy, Time),
        (WorkOrders::ResolveBy, Time),
        (WorkOrders::ClosedAt, Time),
        (WorkOrders::CreatedAt, Time),
        (WorkOrders::UpdatedAt, Time),
        (WorkOrders::Attributes, Text),
        (WorkOrders::DueAt, Time),
        (WorkOrders::Escalation, Int32),
        (WorkOrders::SignedAt, Time),
        (WorkOrders::FirstReplyAt, Time),
        (WorkOrders::VisitedAt, Time),
        (WorkOrders::Solved, Bool),
        (WorkOrders::Rating, Int32),
        (WorkOrders::Returns, Int32),
        (WorkOrders::Reopens, Int32),
    ]
};

const EVENT_COLUMNS: [(WorkOrderEvents, bulk::Ty); 7] = {
    use bulk::Ty::{Int, Text, Time};
    [
        (WorkOrderEvents::OrderId, Int),
        (WorkOrderEvents::At, Time),
        (WorkOrderEvents::Actor, Text),
        (WorkOrderEvents::Action, Text),
        (WorkOrderEvents::FromState, Text),
        (WorkOrderEvents::ToState, Text),
        (WorkOrderEvents::Note, Text),
    ]
};

fn order_row(rows: &mut bulk::Rows, o: &Sim) {
    rows.row();
    rows.text(Some(&o.tracking));
    rows.text(Some(o.category));
    rows.text(Some(&o.description));
    rows.real(o.lon);
    rows.real(o.lat);
    rows.text(Some(&o.address));
    rows.text(Some(&o.division));
    rows.text(Some(&o.unit));
    rows.text(Some(o.channel));
    rows.bool(Some(o.urgent));
    rows.text(Some(o.state.as_str()));
    rows.text(Some(&o.reporter_name));
    rows.hex(o.phone_enc.as_deref());
    rows.text(o.phone_masked.as_deref());
    rows.bool(Some(o.extension_pending));
    rows.int(Some(i64::from(o.extension_days)));
    rows.int(o.merged_into);
    for t in [o.sign_by, o.reply_by, o.resolve_by, o.closed_at] {
        rows.time(t);
    }
    rows.time(Some(o.created));
    rows.time(Some(o.updated_at));
    rows.text(Some(&o.attributes));
    rows.time(o.due_at);
    rows.int(Some(i64::from(o.escalation)));
    for t in [o.signed_at, o.first_reply_at, o.visited_at] {
        rows.time(t);
    }
    rows.bool(o.solved);
    rows.int(o.rating.map(i64::from));
    rows.int(Some(i64::from(o.returns)));
    rows.int(Some(i64::from(o.reopens)));
    rows.end_row();
}

fn event_row(rows: &mut bulk::Rows, e: &Ev) {
    rows.row();
    rows.int(Some(e.order));
    rows.time(Some(e.at));
    rows.text(Some(&e.actor));
    rows.text(Some(e.action));
    rows.text(Some(e.from.as_str()));
    rows.text(Some(e.to.as_str()));
    rows.text(Some(&e.note));
    rows.end_row();
}

/// Bulk inserts that bind one JSON array of rows and let the database unpack it
/// (`json_each` on SQLite, `json_array_elements` on PostgreSQL): one bound value
/// per statement instead of tens of thousands. Values are written as the drivers
/// would bind them (times in RFC 3339 as sqlx stores them on SQLite, blobs in hex).
mod bulk {
    use crate::{Backend, DbError, Result};
    use chrono::{DateTime, SecondsFormat, Utc};
    use sea_query::{Alias, Expr, ExprTrait, Func, Iden, InsertStatement, Order, Query};
    use std::fmt::Write;

    /// How a column is written and read back.
    #[derive(Debug, Clone, Copy)]
    pub enum Ty {
        Int,
        Int32,
        Real,
        Bool,
        Text,
        Time,
        Hex,
    }

    /// A JSON array of rows; each row starts with its position, which orders the insert.
    pub struct Rows {
        buf: String,
        n: usize,
    }

    impl Rows {
        pub fn new() -> Rows {
            Rows {
                buf: String::from("["),
                n: 0,
            }
        }

        pub fn row(&mut self) {
            if self.n > 0 {
                self.buf.push(',');
            }
            let _ = write!(self.buf, "[{}", self.n);
            self.n += 1;
        }

        pub fn end_row(&mut self) {
            self.buf.push(']');
        }

        fn null(&mut self) {
            self.buf.push_str(",null");
        }

        pub fn int(&mut self, v: Option<i64>) {
            match v {
                Some(v) => {
                    let _ = write!(self.buf, ",{v}");
                }
                None => self.null(),
            }
        }

        pub fn real(&mut self, v: Option<f64>) {
            match v.filter(|x| x.is_finite()) {
                Some(v) => {
                    let _ = write!(self.buf, ",{v}");
                }
                None => self.null(),
            }
        }

        pub fn bool(&mut self, v: Option<bool>) {
            match v {
                Some(true) => self.buf.push_str(",true"),
                Some(false) => self.buf.push_str(",false"),
                None => self.null(),
            }
        }

        pub fn time(&mut self, v: Option<DateTime<Utc>>) {
            match v {
                Some(t) => {
                    self.buf.push_str(",\"");
                    self.buf
                        .push_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, false));
                    self.buf.push('"');
                }
                None => self.null(),
            }
        }

        pub fn hex(&mut self, v: Option<&[u8]>) {
            match v {
                Some(b) => {
                    self.buf.push_str(",\"");
                    for x in b {
                        let _ = write!(self.buf, "{x:02x}");
                    }
                    self.buf.push('"');
                }
                None => self.null(),
            }
        }

        pub fn text(&mut self, v: Option<&str>) {
            let Some(s) = v else {
                return self.null();
            };
            self.buf.push_str(",\"");
            for c in s.chars() {
                match c {
                    '"' => self.buf.push_str("\\\""),
                    '\\' => self.buf.push_str("\\\\"),
                    '\n' => self.buf.push_str("\\n"),
                    '\r' => self.buf.push_str("\\r"),
                    '\t' => self.buf.push_str("\\t"),
                    c if u32::from(c) < 0x20 => {
                        let _ = write!(self.buf, "\\u{:04x}", u32::from(c));
                    }
                    c => self.buf.push(c),
                }
            }
            self.buf.push('"');
        }

        pub fn finish(mut self) -> String {
            self.buf.push(']');
            self.buf
        }
    }

    /// `INSERT INTO table (columns) SELECT … FROM <rows> ORDER BY position`.
    pub fn insert<T: Iden + Copy + 'static>(
        backend: Backend,
        table: T,
        columns: &[(T, Ty)],
        rows: String,
    ) -> Result<InsertStatement> {
        let pg = backend == Backend::Postgres;
        let mut select = Query::select();
        for (i, (_, ty)) in columns.iter().enumerate() {
            let v = format!("value->>{}", i + 1);
            let e = match (pg, ty) {
                (false, Ty::Hex) => format!("unhex({v})"),
                (false, _) => v,
                (true, Ty::Int) => format!("CAST({v} AS BIGINT)"),
                (true, Ty::Int32) => format!("CAST({v} AS INTEGER)"),
                (true, Ty::Real) => format!("CAST({v} AS DOUBLE PRECISION)"),
                (true, Ty::Bool) => format!("CAST({v} AS BOOLEAN)"),
                (true, Ty::Time) => format!("CAST({v} AS TIMESTAMPTZ)"),
                (true, Ty::Hex) => format!("decode({v}, 'hex')"),
                (true, Ty::Text) => v,
            };
            select.expr(Expr::cust(e));
        }
        let source = if pg {
            Func::cust(Alias::new("json_array_elements")).arg(Expr::val(rows).cast_as("json"))
        } else {
            Func::cust(Alias::new("json_each")).arg(Expr::val(rows))
        };
        select
            .from_function(source, Alias::new("rows"))
            .order_by_expr(Expr::cust("CAST(value->>0 AS INTEGER)"), Order::Asc);
        let mut q = Query::insert();
        q.into_table(table)
            .columns(columns.iter().map(|c| c.0))
            .select_from(select)
            .map_err(|e| DbError::Conflict(e.to_string()))?;
        Ok(q)
    }
}

// ---------------------------------------------------------------------------
// What is generated
// ---------------------------------------------------------------------------

/// One order being generated: what was taken in, and the columns its history left.
#[derive(Debug, Clone)]
struct Sim {
    id: i64,
    tracking: String,
    cat: usize,
    category: &'static str,
    description: String,
    lon: Option<f64>,
    lat: Option<f64>,
    address: String,
    division: String,
    place: usize,
    channel: &'static str,
    urgent: bool,
    reporter_name: String,
    phone: Option<Phone>,
    phone_enc: Option<Vec<u8>>,
    phone_masked: Option<String>,
    attributes: String,
    created: DateTime<Utc>,
    merge_into: Option<i64>,
    state: State,
    unit: String,
    extension_pending: bool,
    extension_days: i32,
    merged_into: Option<i64>,
    sign_by: Option<DateTime<Utc>>,
    reply_by: Option<DateTime<Utc>>,
    resolve_by: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
    escalation: i32,
    signed_at: Option<DateTime<Utc>>,
    first_reply_at: Option<DateTime<Utc>>,
    visited_at: Option<DateTime<Utc>>,
    solved: Option<bool>,
    rating: Option<i32>,
    returns: i32,
    reopens: i32,
    updated_at: DateTime<Utc>,
    /// When the last event happened (the escalation job looks from here on).
    last: DateTime<Utc>,
}

/// One history event.
#[derive(Debug, Clone)]
struct Ev {
    order: i64,
    at: DateTime<Utc>,
    actor: Arc<str>,
    action: &'static str,
    from: State,
    to: State,
    note: Cow<'static, str>,
}

/// One month's orders and events.
struct Batch {
    orders: Vec<Sim>,
    events: Vec<Ev>,
}

/// A village/community orders come from.
struct Place {
    code: String,
    name: String,
    township_name: String,
    urban: bool,
    lon: f64,
    lat: f64,
    grids: Vec<(String, f64, f64)>,
    /// Relative number of orders: residents, urban ones calling twice as often.
    weight: f64,
}

/// Orders per day, by local date.
struct DayPlan {
    days: Vec<(NaiveDate, i64)>,
}

impl DayPlan {
    /// First days of the months the plan covers.
    fn months(&self) -> Vec<NaiveDate> {
        let mut out: Vec<NaiveDate> = Vec::new();
        for (d, _) in &self.days {
            let m = d.with_day(1).unwrap_or(*d);
            if out.last() != Some(&m) {
                out.push(m);
            }
        }
        out
    }
}

/// A leaf category the demo generates, its mix and its words.
struct CatSpec {
    code: &'static str,
    /// Relative frequency in urban communities and in rural villages.
    urban: f64,
    rural: f64,
    /// Month of the seasonal peak and its amplitude.
    peak: u32,
    swing: f64,
    /// How often it is urgent.
    urgent: f64,
    texts: &'static [&'static str],
    replies: &'static [&'static str],
    closes: &'static [&'static str],
}

const CATS: [CatSpec; 14] = [
    CatSpec {
        code: "environment.garbage",
        urban: 11.0,
        rural: 14.0,
        peak: 2,
        swing: 0.12,
        urgent: 0.01,
        texts: &[
            "小区垃圾桶满溢，已经两天没有清运，气味很大",
            "路边堆放大量建筑垃圾，影响通行",
            "垃圾中转站周边污水横流，蚊蝇很多",
            "楼道里堆放生活垃圾和杂物，无人清理",
            "村口垃圾池满了没人拉走",
            "河边有人倾倒垃圾",
        ],
        replies: &[
            "已通知环卫作业单位安排清运",
            "已联系保洁公司当天清理",
            "已安排人员现场清理并加密清运频次",
        ],
        closes: &[
            "垃圾已全部清运，现场恢复整洁",
            "已清理完毕，并增设垃圾桶两个",
            "已清运，并约谈责任保洁单位",
        ],
    },
    CatSpec {
        code: "environment.sanitation",
        urban: 5.0,
        rural: 6.0,
        peak: 7,
        swing: 0.2,
        urgent: 0.01,
        texts: &[
            "公共厕所无人打扫，卫生状况很差",
            "菜市场周边污水积存，蚊蝇滋生",
            "绿化带里有死老鼠，没有人处理",
            "下水道井口周边有很大的异味",
            "小区内流浪狗粪便很多，希望治理",
        ],
        replies: &["已安排人员现场消杀清理", "已通知市场管理方整改"],
        closes: &["已完成清理消杀，并落实日常保洁", "已整改到位，将定期巡查"],
    },
    CatSpec {
        code: "facilities.streetlight",
        urban: 7.0,
        rural: 5.0,
        peak: 12,
        swing: 0.2,
        urgent: 0.01,
        texts: &[
            "路灯不亮，晚上出行很不方便",
            "路灯白天一直亮着，浪费电",
            "路灯忽明忽暗，好几天了",
            "路灯杆被车撞歪，有倒下的危险",
            "一整段路的路灯都不亮",
        ],
        replies: &["已派路灯维护班组现场检修", "已登记，维修人员今晚到场处理"],
        closes: &[
            "已更换灯具，路灯恢复正常",
            "已修复线路故障，路灯正常亮灯",
            "已扶正加固灯杆并恢复照明",
        ],
    },
    CatSpec {
        code: "facilities.road",
        urban: 6.0,
        rural: 8.0,
        peak: 6,
        swing: 0.1,
        urgent: 0.02,
        texts: &[
            "路面有个大坑，下雨天积水，电动车容易摔倒",
            "人行道地砖松动翘起，老人容易绊倒",
            "井盖缺失，存在安全隐患",
            "道路开挖后一直没有恢复",
            "通村公路塌方一段，车辆无法通行",
        ],
        replies: &["已安排养护单位现场查看并设置警示", "已纳入近期维修计划"],
        closes: &[
            "路面已修补完毕",
            "已补装井盖并设置防坠网",
            "已恢复路面，道路正常通行",
        ],
    },
    CatSpec {
        code: "facilities.water",
        urban: 8.0,
        rural: 9.0,
        peak: 7,
        swing: 0.3,
        urgent: 0.05,
        texts: &[
            "家里突然停水，没有看到停水通知",
            "水压太低，高层用不上水",
            "自来水发黄，有异味",
            "小区下水道堵塞，污水冒到路面",
            "供水管破裂，路面一直在冒水",
            "村里自来水时有时无",
        ],
        replies: &["已派抢修人员到场处置", "经查为管网检修停水，预计今晚恢复"],
        closes: &[
            "管道已抢修完毕，恢复供水",
            "已疏通管道，现场已清理",
            "已冲洗管网，水质检测合格",
        ],
    },
    CatSpec {
        code: "property.service",
        urban: 14.0,
        rural: 0.5,
        peak: 1,
        swing: 0.05,
        urgent: 0.01,
        texts: &[
            "物业不作为，小区卫生长期没人管",
            "物业费收费标准不公开，要求说明",
            "小区门禁坏了很久没有维修",
            "地下车库积水，物业不处理",
            "楼顶漏水，物业互相推诿",
            "小区停车管理混乱，消防通道被占",
        ],
        replies: &["已约谈物业公司，要求限期整改", "已联系物业负责人到场协调"],
        closes: &[
            "物业公司已整改到位",
            "已维修完毕，居民确认",
            "已组织业主、物业协商并达成一致",
        ],
    },
    CatSpec {
        code: "property.elevator",
        urban: 3.5,
        rural: 0.0,
        peak: 8,
        swing: 0.1,
        urgent: 0.25,
        texts: &[
            "电梯经常停运，老人上下楼很困难",
            "电梯运行时有异响，担心安全",
            "电梯按键失灵",
            "电梯困人，请尽快处理",
            "电梯年检过期，没有张贴合格证",
        ],
        replies: &["已通知维保单位到场检修", "已责令使用单位停梯检查"],
        closes: &[
            "维保单位已完成维修，电梯恢复运行",
            "被困人员已安全救出，电梯已检修",
            "已完成检验并张贴合格标志",
        ],
    },
    CatSpec {
        code: "social.assistance",
        urban: 3.5,
        rural: 5.0,
        peak: 1,
        swing: 0.15,
        urgent: 0.01,
        texts: &[
            "咨询低保申请条件和办理流程",
            "家庭遭遇变故，申请临时救助",
            "这个月低保金没有到账",
            "咨询大病医疗救助怎么报销",
        ],
        replies: &["已电话告知申请条件和所需材料", "已核实情况，正在按程序办理"],
        closes: &[
            "已受理救助申请并发放临时救助金",
            "资金已补发到账",
            "已一次性告知办理流程",
        ],
    },
    CatSpec {
        code: "social.elderly",
        urban: 4.0,
        rural: 4.0,
        peak: 1,
        swing: 0.1,
        urgent: 0.02,
        texts: &[
            "咨询高龄津贴怎么申领",
            "独居老人需要上门助餐服务",
            "社区老年食堂开放时间咨询",
            "希望小区增设老年人活动场所",
            "老人行动不便，申请居家养老上门服务",
        ],
        replies: &["已安排社区工作人员上门了解情况", "已告知申领流程"],
        closes: &[
            "已为老人办理助餐服务",
            "已纳入居家养老服务对象",
            "已答复，老人家属表示理解",
        ],
    },
    CatSpec {
        code: "social.disability",
        urban: 1.0,
        rural: 1.2,
        peak: 1,
        swing: 0.0,
        urgent: 0.01,
        texts: &[
            "咨询残疾人两项补贴申请",
            "残疾证办理进度查询",
            "希望小区增设无障碍坡道",
        ],
        replies: &["已告知办理进度", "已登记并转残联核实"],
        closes: &["补贴已审核通过", "已答复办理进度", "坡道已纳入改造计划"],
    },
    CatSpec {
        code: "safety.fire",
        urban: 2.0,
        rural: 1.5,
        peak: 1,
        swing: 0.3,
        urgent: 0.2,
        texts: &[
            "楼道里给电动车充电，有火灾隐患",
            "消防通道被车辆长期占用",
            "小区消防栓没有水",
            "门店私拉电线，很危险",
        ],
        replies: &["已会同消防救援站现场检查", "已责令当事人立即整改"],
        closes: &["隐患已消除，并开展消防宣传", "占道车辆已清理，设置禁停标识"],
    },
    CatSpec {
        code: "safety.order",
        urban: 3.0,
        rural: 2.0,
        peak: 7,
        swing: 0.2,
        urgent: 0.03,
        texts: &[
            "晚上广场舞音响声音太大，影响休息",
            "夜间施工噪音扰民",
            "门店占道经营，影响通行",
            "小区里有人在公共区域养鸡鸭",
        ],
        replies: &["已联系派出所和执法队现场处置", "已劝导当事人，并持续关注"],
        closes: &[
            "已协调控制音量和时间",
            "施工单位已调整作业时间",
            "已清理占道经营",
        ],
    },
    CatSpec {
        code: "dispute.neighbour",
        urban: 7.0,
        rural: 9.0,
        peak: 3,
        swing: 0.1,
        urgent: 0.01,
        texts: &[
            "邻居装修噪音扰民，协商不成",
            "楼上漏水到我家，邻居不愿意维修",
            "邻居在公共区域堆放杂物",
            "宅基地边界有纠纷，需要调解",
            "邻居养狗扰民，多次沟通无果",
        ],
        replies: &["已安排人民调解员联系双方", "已约双方到调解室协商"],
        closes: &[
            "经调解双方达成协议",
            "已调解，当事人同意整改",
            "已告知通过诉讼途径解决，并提供法律援助指引",
        ],
    },
    CatSpec {
        code: "other.advice",
        urban: 8.0,
        rural: 6.0,
        peak: 1,
        swing: 0.0,
        urgent: 0.0,
        texts: &[
            "建议增加公交线路的班次",
            "建议在学校门口设置减速带",
            "建议小区周边增设停车位",
            "对社区工作人员的热心服务提出表扬",
            "建议政务服务中心延长办公时间",
        ],
        replies: &["感谢您的建议，已转相关部门研究", "已记录您的意见"],
        closes: &["建议已采纳，将纳入年度计划", "已答复并感谢市民的建议"],
    },
];

/// Channel shares: 12345 phone, portal, walk-in, 代办, 网格员 patrol, Open311.
const CHANNELS: [(&str, f64); 6] = [
    ("phone", 0.55),
    ("portal", 0.20),
    ("walk_in", 0.08),
    ("proxy", 0.05),
    ("patrol", 0.10),
    ("open311", 0.02),
];

/// Relative intake by local hour.
const HOURS: [f64; 24] = [
    0.3, 0.2, 0.15, 0.15, 0.2, 0.4, 0.9, 1.8, 3.6, 6.0, 6.4, 5.6, 3.6, 3.4, 5.4, 6.0, 5.6, 4.6,
    3.6, 3.6, 3.4, 2.8, 1.8, 0.8,
];
/// Walk-in, 代办 and patrol orders come in office hours.
const OFFICE_HOURS: [f64; 24] = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 4.0, 6.0, 6.0, 4.0, 1.0, 1.0, 4.5, 6.0, 5.5, 3.5, 0.5,
    0.0, 0.0, 0.0, 0.0, 0.0,
];

/// 非常满意 … 非常不满意 when the problem was solved (or not asked), and when not.
const LEVELS_SOLVED: [f64; 5] = [0.50, 0.295, 0.135, 0.055, 0.015];
const LEVELS_UNSOLVED: [f64; 5] = [0.05, 0.10, 0.25, 0.35, 0.25];

/// Shares behind the histories.
const MERGE_SHARE: f64 = 0.013;
const MISDISPATCH_SHARE: f64 = 0.04;
const EXTENSION_SHARE: f64 = 0.03;
const LATE_SHARE: f64 = 0.05;
const REOPEN_IF_BAD: f64 = 0.27;
const START_SHARE: f64 = 0.4;
/// The escalation job's period (the server runs it every minute).
const JOB_SECONDS: i64 = 60;

const SURNAMES: [&str; 32] = [
    "李", "王", "刘", "陈", "张", "杨", "周", "曾", "罗", "谢", "邓", "彭", "唐", "肖", "蒋", "胡",
    "黄", "赵", "吴", "邹", "段", "石", "伍", "贺", "尹", "龙", "易", "向", "雷", "钟", "姚", "颜",
];
const GIVEN: [&str; 32] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "建", "国", "红", "文", "辉", "玲", "志", "春",
];
const ROADS: [&str; 12] = [
    "宝庆路",
    "红旗路",
    "敏州路",
    "建设路",
    "东大路",
    "西湖路",
    "双拥路",
    "雪峰路",
    "资江路",
    "城南路",
    "邵州路",
    "桃花路",
];
const GROUPS: [&str; 12] = [
    "一组",
    "二组",
    "三组",
    "四组",
    "五组",
    "六组",
    "七组",
    "八组",
    "九组",
    "十组",
    "十一组",
    "十二组",
];
const TAILS: [&str; 5] = [
    "",
    "，希望尽快处理",
    "，已经反映过一次",
    "，请相关部门重视",
    "，谢谢",
];

/// A handling unit's name, staff and how often it runs late.
struct UnitInfo {
    staff: Vec<Arc<str>>,
    /// Multiplies the late share: 0.2 (punctual) … 4 (often late).
    lateness: f64,
}

/// Everything the generator draws on.
struct World {
    rng: SeededRng,
    seed: u64,
    now: DateTime<Utc>,
    places: Vec<Place>,
    place_cum: Vec<f64>,
    /// Limits of each [`CATS`] entry, from the store.
    limits: Vec<Category>,
    rules: Vec<Rule>,
    cal: Calendar,
    names: HashMap<String, String>,
    units: HashMap<String, UnitInfo>,
    operators: Vec<Arc<str>>,
    dispatchers: Vec<Arc<str>>,
    visitors: Vec<Arc<str>>,
    system: Arc<str>,
    resident: Arc<str>,
    portal: Arc<str>,
    open311: Arc<str>,
    /// The last order per place and category, for duplicates: (id, created, lon, lat).
    recent: HashMap<(usize, usize), Recent>,
    /// Orders seen, and those with a recent order like them (to hold merges near their share).
    seen: u64,
    matchable: u64,
    resolved: HashMap<(usize, String), String>,
}

impl World {
    fn new(
        all: &[Division],
        depts: &[Department],
        cats: &[Category],
        rules: Vec<Rule>,
        cal: Calendar,
        seed: u64,
        now: DateTime<Utc>,
    ) -> Result<World> {
        let mut names: HashMap<String, String> = all
            .iter()
            .map(|d| (d.code.clone(), d.name.clone()))
            .collect();
        names.extend(depts.iter().map(|d| (d.code.clone(), d.name.clone())));
        let mut grids: HashMap<&str, Vec<(String, f64, f64)>> = HashMap::new();
        for g in all.iter().filter(|d| d.level == "grid") {
            if let (Some(p), Some(lon), Some(lat)) =
                (g.parent_code.as_deref(), g.centroid_lon, g.centroid_lat)
            {
                grids.entry(p).or_default().push((g.code.clone(), lon, lat));
            }
        }
        let places: Vec<Place> = all
            .iter()
            .filter(|d| d.level == "village")
            .filter_map(|v| {
                let township = v.parent_code.clone()?;
                Some(Place {
                    township_name: names.get(&township).cloned().unwrap_or_default(),
                    code: v.code.clone(),
                    name: v.name.clone(),
                    urban: v.urban,
                    lon: v.centroid_lon?,
                    lat: v.centroid_lat?,
                    grids: grids.remove(v.code.as_str()).unwrap_or_default(),
                    weight: v.population.max(1) as f64 * if v.urban { 1.6 } else { 0.8 },
                })
            })
            .collect();
        let weights: Vec<f64> = places.iter().map(|p| p.weight).collect();
        if places.is_empty() {
            return Err(DbError::Conflict("没有村（社区），无法生成演示工单".into()));
        }
        let limits = CATS
            .iter()
            .map(|s| {
                cats.iter()
                    .find(|c| c.code == s.code)
                    .cloned()
                    .ok_or_else(|| DbError::Conflict(format!("缺少诉求类别 {}", s.code)))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut rng = SeededRng::new(seed).fork("workorders");
        let mut people = |n: usize, label: &str| -> Vec<Arc<str>> {
            (0..n)
                .map(|_| Arc::from(format!("{label}{}", person(&mut rng))))
                .collect()
        };
        let operators = people(24, "12345 话务员 ");
        let dispatchers = people(8, "12345 派单员 ");
        let visitors = people(10, "回访员 ");
        Ok(World {
            place_cum: cumulative(&weights),
            rng,
            seed,
            now,
            places,
            limits,
            rules,
            cal,
            names,
            units: HashMap::new(),
            operators,
            dispatchers,
            visitors,
            system: Arc::from(Actor::system().name),
            resident: Arc::from("居民"),
            portal: Arc::from("居民（网上提交）"),
            open311: Arc::from("开放接口（城市服务平台）"),
            recent: HashMap::new(),
            seen: 0,
            matchable: 0,
            resolved: HashMap::new(),
        })
    }

    /// Orders per local day over the 365 days up to today: more on weekdays, fewer
    /// around the Spring Festival, more in summer, some day-to-day noise.
    fn plan_days(&mut self, total: usize) -> DayPlan {
        let today = local(self.now).date();
        let days: Vec<NaiveDate> = (0..365).rev().map(|k| today - Duration::days(k)).collect();
        let frac_today = f64::from(local(self.now).num_seconds_from_midnight()) / 86_400.0;
        let weights: Vec<f64> = days
            .iter()
            .map(|d| {
                let week = match d.weekday().num_days_from_monday() {
                    0 => 1.18,
                    1..=3 => 1.06,
                    4 => 1.0,
                    5 => 0.78,
                    _ => 0.72,
                };
                let holiday = if self.cal.is_working_day(*d) || d.weekday().number_from_monday() > 5
                {
                    1.0
                } else {
                    0.8
                };
                let season = 1.0
                    + 0.08 * ((f64::from(d.month0()) - 6.0) / 12.0 * std::f64::consts::TAU).cos();
                let noise = 0.9 + 0.2 * self.rng.unit();
                let part = if *d == today {
                    frac_today.max(0.01)
                } else {
                    1.0
                };
                week * holiday * season * noise * part
            })
            .collect();
        let counts = super::apportion(total as i64, &weights);
        DayPlan {
            days: days.into_iter().zip(counts).collect(),
        }
    }

    /// Generate a month of the plan: orders sorted by intake time, ids from `first_id`.
    fn generate(&mut self, plan: &DayPlan, month: NaiveDate, first_id: i64) -> Batch {
        let mut orders = Vec::new();
        for (day, n) in plan
            .days
            .iter()
            .filter(|(d, _)| d.with_day(1) == Some(month))
        {
            let mut today: Vec<Sim> = (0..*n).map(|_| self.order(*day)).collect();
            today.sort_by_key(|o| o.created);
            orders.append(&mut today);
        }
        let mut events = Vec::with_capacity(orders.len() * 10);
        for (i, o) in orders.iter_mut().enumerate() {
            o.id = first_id + i as i64;
            let m = local(o.created);
            let month = (m.year().rem_euclid(100) * 12) as u32 + m.month0();
            o.tracking = tracking_code(self.seed, o.id as u64, month);
            self.duplicate_of(o);
            self.simulate(o, &mut events);
        }
        Batch { orders, events }
    }

    fn pick_place(&mut self) -> usize {
        let x = self.rng.unit() * self.place_cum.last().copied().unwrap_or(0.0);
        self.place_cum
            .partition_point(|c| *c <= x)
            .min(self.places.len().saturating_sub(1))
    }

    fn pick_category(&mut self, urban: bool, month0: u32) -> usize {
        let w: Vec<f64> = CATS
            .iter()
            .map(|c| {
                let base = if urban { c.urban } else { c.rural };
                let phase = (f64::from(month0) - f64::from(c.peak.saturating_sub(1))) / 12.0
                    * std::f64::consts::TAU;
                base * (1.0 + c.swing * phase.cos())
            })
            .collect();
        weighted(&mut self.rng, &w)
    }

    /// An order taken in on `day`, before any handling.
    fn order(&mut self, day: NaiveDate) -> Sim {
        let ch = weighted(
            &mut self.rng,
            &CHANNELS.iter().map(|c| c.1).collect::<Vec<_>>(),
        );
        let channel = CHANNELS.get(ch).map_or("phone", |c| c.0);
        let created = self.intake_time(day, channel);
        let p = self.pick_place();
        let (urban, place_lon, place_lat) = self
            .places
            .get(p)
            .map_or((false, 0.0, 0.0), |pl| (pl.urban, pl.lon, pl.lat));
        let cat = self.pick_category(urban, local(created).month0());
        let spec = CATS.get(cat).unwrap_or(&CATS[0]);
        let grid = {
            let want = channel == "patrol" || self.rng.chance(0.5);
            let grids = self
                .places
                .get(p)
                .map(|pl| pl.grids.as_slice())
                .unwrap_or(&[]);
            if want {
                self.rng.pick(grids).cloned()
            } else {
                None
            }
        };
        let (division, base_lon, base_lat) = match &grid {
            Some((g, lon, lat)) => (g.clone(), *lon, *lat),
            None => (
                self.places
                    .get(p)
                    .map(|pl| pl.code.clone())
                    .unwrap_or_default(),
                place_lon,
                place_lat,
            ),
        };
        let located = match channel {
            "patrol" | "open311" => 1.0,
            "portal" => 0.95,
            "phone" => 0.7,
            _ => 0.6,
        };
        let (lon, lat) = if self.rng.chance(located) {
            let dlat = (self.rng.unit() - 0.5) * 0.006;
            let dlon = (self.rng.unit() - 0.5) * 0.006;
            (Some(round6(base_lon + dlon)), Some(round6(base_lat + dlat)))
        } else {
            (None, None)
        };
        let urgent = self.rng.chance(spec.urgent);
        let text = self.rng.pick(spec.texts).copied().unwrap_or("");
        let tail = if urgent {
            "，情况紧急"
        } else {
            self.rng.pick(&TAILS).copied().unwrap_or("")
        };
        let attributes = self.attributes(spec.code, urgent);
        let reporter_name = self.reporter_name(channel, &division);
        let phone = match channel {
            "phone" | "walk_in" | "proxy" if self.rng.chance(0.85) => self.phone(),
            _ => None,
        };
        let address = self.address(p);
        Sim {
            id: 0,
            tracking: String::new(),
            cat,
            category: spec.code,
            description: format!("{text}{tail}。"),
            lon,
            lat,
            address,
            division,
            place: p,
            channel,
            urgent,
            reporter_name,
            phone,
            phone_enc: None,
            phone_masked: None,
            attributes,
            created,
            merge_into: None,
            state: State::Accepted,
            unit: String::new(),
            extension_pending: false,
            extension_days: 0,
            merged_into: None,
            sign_by: None,
            reply_by: None,
            resolve_by: None,
            closed_at: None,
            due_at: None,
            escalation: 0,
            signed_at: None,
            first_reply_at: None,
            visited_at: None,
            solved: None,
            rating: None,
            returns: 0,
            reopens: 0,
            updated_at: created,
            last: created,
        }
    }

    /// A few orders repeat one taken in nearby in the last three days: they are merged into it.
    fn duplicate_of(&mut self, o: &mut Sim) {
        let key = (o.place, o.cat);
        self.seen += 1;
        let recent = self
            .recent
            .get(&key)
            .copied()
            .filter(|r| o.created - r.1 < Duration::days(3));
        if recent.is_some() {
            self.matchable += 1;
        }
        let p = MERGE_SHARE * self.seen as f64 / self.matchable.max(1) as f64;
        if let Some((id, _, lon, lat)) = recent
            && self.rng.chance(p)
        {
            o.merge_into = Some(id);
            if lon.is_some() {
                o.lon = lon.map(|x| round6(x + (self.rng.unit() - 0.5) * 0.0004));
                o.lat = lat.map(|x| round6(x + (self.rng.unit() - 0.5) * 0.0004));
            }
            return;
        }
        self.recent.insert(key, (o.id, o.created, o.lon, o.lat));
    }

    /// Intake time on a local day: by the hour profile of the channel, never after now.
    fn intake_time(&mut self, day: NaiveDate, channel: &str) -> DateTime<Utc> {
        let profile = match channel {
            "walk_in" | "proxy" | "patrol" => &OFFICE_HOURS,
            _ => &HOURS,
        };
        let now_local = local(self.now);
        let last_hour = if day == now_local.date() {
            now_local.hour() as usize
        } else {
            23
        };
        let w: Vec<f64> = profile
            .iter()
            .enumerate()
            .map(|(h, w)| if h <= last_hour { *w } else { 0.0 })
            .collect();
        let w = if w.iter().sum::<f64>() > 0.0 {
            w
        } else {
            HOURS
                .iter()
                .enumerate()
                .map(|(h, w)| if h <= last_hour { *w } else { 0.0 })
                .collect()
        };
        let h = weighted(&mut self.rng, &w) as u32;
        let secs = self.rng.range(0, 3599) as u32;
        let t = day
            .and_hms_opt(h, secs / 60, secs % 60)
            .map(utc)
            .unwrap_or(self.now);
        if t >= self.now {
            self.now - Duration::seconds(self.rng.range(1, 600))
        } else {
            t
        }
    }

    fn attributes(&mut self, cat: &str, urgent: bool) -> String {
        match cat {
            "facilities.streetlight" => {
                let state = self
                    .rng
                    .pick(&["off", "off", "off", "flicker", "daytime", "damaged"])
                    .copied()
                    .unwrap_or("off");
                if self.rng.chance(0.4) {
                    format!(
                        r#"{{"lamp_state":"{state}","pole_number":"SY-{:05}"}}"#,
                        self.rng.range(1, 40_000)
                    )
                } else {
                    format!(r#"{{"lamp_state":"{state}"}}"#)
                }
            }
            "property.elevator" => {
                format!(r#"{{"trapped":"{}"}}"#, if urgent { "yes" } else { "no" })
            }
            "environment.garbage" if self.rng.chance(0.6) => {
                let v = self
                    .rng
                    .pick(&["small", "bin", "pile"])
                    .copied()
                    .unwrap_or("bin");
                format!(r#"{{"volume":"{v}"}}"#)
            }
            _ => "{}".to_owned(),
        }
    }

    fn reporter_name(&mut self, channel: &str, division: &str) -> String {
        match channel {
            "patrol" => {
                let unit: String = division.chars().take(12).collect();
                let staff = self.staff(&unit);
                staff.split('（').next().unwrap_or("").to_owned()
            }
            "open311" if self.rng.chance(0.5) => String::new(),
            "proxy" => person(&mut self.rng),
            _ if self.rng.chance(0.7) => {
                let s = self.rng.pick(&SURNAMES).copied().unwrap_or("李");
                let t = if self.rng.chance(0.5) {
                    "女士"
                } else {
                    "先生"
                };
                format!("{s}{t}")
            }
            _ if self.rng.chance(0.1) => String::new(),
            _ => person(&mut self.rng),
        }
    }

    fn phone(&mut self) -> Option<Phone> {
        let prefix = self
            .rng
            .pick(&[
                "135", "136", "138", "139", "150", "151", "158", "177", "180", "186", "187", "189",
                "199",
            ])
            .copied()
            .unwrap_or("138");
        Phone::parse(&format!("{prefix}{:08}", self.rng.range(0, 99_999_999))).ok()
    }

    fn address(&mut self, p: usize) -> String {
        let Some(pl) = self.places.get(p) else {
            return String::new();
        };
        if pl.urban {
            let road = self.rng.pick(&ROADS).copied().unwrap_or("建设路");
            format!(
                "{}{}{road}{}号",
                pl.township_name,
                pl.name,
                self.rng.range(1, 420)
            )
        } else {
            let g = self.rng.pick(&GROUPS).copied().unwrap_or("一组");
            format!("{}{}{g}", pl.township_name, pl.name)
        }
    }

    /// Staff of a unit, made up once per unit from its own stream.
    fn unit(&mut self, unit: &str) -> &UnitInfo {
        let seed = self.seed;
        let label = self
            .names
            .get(unit)
            .cloned()
            .unwrap_or_else(|| unit.to_owned());
        self.units.entry(unit.to_owned()).or_insert_with(|| {
            let mut r = SeededRng::new(seed).fork(&format!("workorders/unit/{unit}"));
            let staff = (0..3)
                .map(|_| Arc::from(format!("{}（{label}）", person(&mut r))))
                .collect();
            // Most units are near the average; a few are often late, a few never.
            let x = r.unit();
            let lateness = if x < 0.15 {
                0.2 + r.unit() * 0.3
            } else if x < 0.88 {
                0.6 + r.unit() * 0.8
            } else {
                2.0 + r.unit() * 2.0
            };
            UnitInfo { staff, lateness }
        })
    }

    fn staff(&mut self, unit: &str) -> Arc<str> {
        let i = self.rng.range(0, 2) as usize;
        let info = self.unit(unit);
        info.staff
            .get(i)
            .or(info.staff.first())
            .cloned()
            .unwrap_or_else(|| Arc::from(unit))
    }

    /// Who took the order in.
    fn intake_actor(&mut self, o: &Sim) -> Arc<str> {
        match o.channel {
            "phone" => pick_arc(&mut self.rng, &self.operators),
            "portal" => Arc::clone(&self.portal),
            "open311" => Arc::clone(&self.open311),
            "patrol" => Arc::from(format!("网格员 {}", o.reporter_name)),
            _ => {
                let village: String = o.division.chars().take(12).collect();
                self.staff(&village)
            }
        }
    }

    fn dispatcher(&mut self) -> Arc<str> {
        pick_arc(&mut self.rng, &self.dispatchers)
    }

    fn visitor(&mut self) -> Arc<str> {
        pick_arc(&mut self.rng, &self.visitors)
    }

    fn minutes(&mut self, lo: i64, hi: i64) -> Duration {
        Duration::minutes(self.rng.range(lo, hi))
    }

    /// Between `from` and `to` (a share of the way), or a little after `from`
    /// when the window has already closed.
    fn within(
        &mut self,
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
        lo: f64,
        hi: f64,
    ) -> DateTime<Utc> {
        match to {
            Some(to) if to > from => {
                let share = lo + (hi - lo) * self.rng.unit();
                let secs = ((to - from).num_seconds() as f64 * share) as i64;
                from + Duration::seconds(secs.max(60))
            }
            _ => from + self.minutes(10, 90),
        }
    }

    /// Moves a time outside 08:00–21:00 (local) to the next morning.
    fn office(&mut self, t: DateTime<Utc>) -> DateTime<Utc> {
        let l = local(t);
        let h = l.hour();
        if (8..21).contains(&h) {
            return t;
        }
        let day = if h >= 21 {
            l.date() + Duration::days(1)
        } else {
            l.date()
        };
        let mins = self.rng.range(0, 90) as u32;
        day.and_hms_opt(8 + mins / 60, mins % 60, self.rng.range(0, 59) as u32)
            .map(utc)
            .unwrap_or(t)
    }

    fn late(&mut self, unit: &str) -> bool {
        let p = (LATE_SHARE * self.unit(unit).lateness).min(0.6);
        self.rng.chance(p)
    }

    fn rating(&mut self, solved: Option<bool>, late: bool) -> i32 {
        let dist = if solved == Some(false) {
            &LEVELS_UNSOLVED
        } else {
            &LEVELS_SOLVED
        };
        let mut level = weighted(&mut self.rng, dist) as i32 + 1;
        if late && level < 5 && self.rng.chance(0.3) {
            level += 1;
        }
        level
    }

    /// The order's whole history as far as it has happened by now, with the
    /// escalation job's marks up to now.
    fn simulate(&mut self, o: &mut Sim, ev: &mut Vec<Ev>) {
        self.history(o, ev);
        self.job(o, ev, self.now);
    }

    fn history(&mut self, o: &mut Sim, ev: &mut Vec<Ev>) {
        let accept_actor = self.intake_actor(o);
        ev.push(Ev {
            order: o.id,
            at: o.created,
            actor: accept_actor,
            action: "accept",
            from: State::Accepted,
            to: State::Accepted,
            note: Cow::Borrowed(o.channel),
        });
        let mut t = o.created;
        if let Some(into) = o.merge_into {
            t += self.minutes(8, 90);
            let d = self.dispatcher();
            self.act(o, ev, t, d, Action::Merge { into });
            return;
        }
        let unit = self.resolve(o.cat, &o.division);
        t = if o.urgent {
            t + self.minutes(2, 15)
        } else {
            let t = t + self.minutes(10, 80);
            self.office(t)
        };
        if self.rng.chance(MISDISPATCH_SHARE) {
            let wrong = self.wrong_unit(&unit, &o.division);
            let d = self.dispatcher();
            if !self.act(
                o,
                ev,
                t,
                d,
                Action::Dispatch {
                    unit: wrong.clone(),
                },
            ) {
                return;
            }
            if self.rng.chance(0.3) {
                t = self.within(t, o.sign_by, 0.1, 0.8);
                let s = self.staff(&wrong);
                if !self.act(o, ev, t, s, Action::Sign) {
                    return;
                }
            }
            t += self.minutes(20, 240);
            let s = self.staff(&wrong);
            let reason = return_reason(&wrong, &unit);
            if !self.act(o, ev, t, s, Action::Return { reason }) {
                return;
            }
            let wait = self.minutes(15, 120);
            t = self.office(t + wait);
        }
        let d = self.dispatcher();
        if !self.act(o, ev, t, d, Action::Dispatch { unit: unit.clone() }) {
            return;
        }
        for round in 0..2 {
            let Some(end) = self.handle(o, ev, &unit, t, round) else {
                return;
            };
            t = end;
            let bad = o.solved == Some(false) || o.rating.is_some_and(|r| r >= 4);
            if round == 0 && bad && self.rng.chance(REOPEN_IF_BAD) {
                t += self.minutes(60, 36 * 60);
                let d = self.dispatcher();
                let reason = if o.solved == Some(false) {
                    "回访中居民反映问题未解决，重新交办"
                } else {
                    "居民对办理结果不满意，重新交办"
                };
                if !self.act(
                    o,
                    ev,
                    t,
                    d,
                    Action::Reopen {
                        reason: reason.into(),
                    },
                ) {
                    return;
                }
                continue;
            }
            break;
        }
    }

    /// From dispatch to the rating; returns the time of the last step, or `None`
    /// when now came first.
    fn handle(
        &mut self,
        o: &mut Sim,
        ev: &mut Vec<Ev>,
        unit: &str,
        dispatched: DateTime<Utc>,
        round: u32,
    ) -> Option<DateTime<Utc>> {
        let spec = CATS.get(o.cat).unwrap_or(&CATS[0]);
        let mut late_any = false;
        // Sign.
        let mut t = if self.late(unit) {
            late_any = true;
            o.sign_by.unwrap_or(dispatched) + self.minutes(30, 30 * 60)
        } else {
            self.within(dispatched, o.sign_by, 0.03, 0.8)
        };
        let s = self.staff(unit);
        self.step(o, ev, t, s, Action::Sign)?;
        if self.rng.chance(START_SHARE) {
            t += self.minutes(5, 180);
            let s = self.staff(unit);
            self.step(o, ev, t, s, Action::Start)?;
        }
        if self.rng.chance(EXTENSION_SHARE) {
            t = self.within(t, o.reply_by, 0.2, 0.9);
            let s = self.staff(unit);
            let days = self.rng.range(2, 5) as u16;
            let reason = self
                .rng
                .pick(&[
                    "需协调多个部门共同处理，申请延期",
                    "涉及管网改造，施工周期较长",
                    "需等待材料到货后维修",
                    "当事人外出，需另约时间调解",
                ])
                .copied()
                .unwrap_or("情况复杂，申请延期");
            self.step(
                o,
                ev,
                t,
                s,
                Action::RequestExtension {
                    days,
                    reason: reason.into(),
                },
            )?;
            t += self.minutes(30, 300);
            let d = self.dispatcher();
            let answer = if self.rng.chance(0.85) {
                Action::ApproveExtension
            } else {
                Action::RefuseExtension {
                    reason: "时限内能够办结，不同意延期".into(),
                }
            };
            self.step(o, ev, t, d, answer)?;
        }
        // A late order is still being handled when its deadline passes (and the
        // resident may call to hurry it); the others reply and close in time.
        let close_late = self.late(unit) || (round == 0 && self.rng.chance(0.01));
        if close_late {
            late_any = true;
            let due = o.resolve_by.unwrap_or(t).max(t);
            let reply_at = due + self.minutes(2 * 60, 5 * 24 * 60);
            let hurry = due + self.minutes(60, 20 * 60);
            if self.rng.chance(0.5) && hurry < reply_at {
                let d = self.dispatcher();
                let note = "居民来电催促办理进度".to_owned();
                self.step(o, ev, hurry, d, Action::Urge { note })?;
            }
            t = reply_at;
        } else if self.late(unit) {
            late_any = true;
            t = o.reply_by.unwrap_or(t).max(t) + self.minutes(60, 48 * 60);
        } else {
            t = self.within(t, o.reply_by, 0.05, 0.9);
        }
        let s = self.staff(unit);
        let text = self.rng.pick(spec.replies).copied().unwrap_or("已收到");
        self.step(o, ev, t, s, Action::Reply { text: text.into() })?;
        t = if close_late {
            t + self.minutes(10, 24 * 60)
        } else {
            self.within(t, o.resolve_by, 0.05, 0.85)
        };
        let s = self.staff(unit);
        let summary = self.rng.pick(spec.closes).copied().unwrap_or("已办结");
        self.step(
            o,
            ev,
            t,
            s,
            Action::Close {
                summary: summary.into(),
            },
        )?;
        // Visit and rating.
        let t0 = t + self.minutes(3 * 60, 3 * 24 * 60);
        t = self.office(t0);
        let solved = if round == 0 {
            self.rng.chance(0.93)
        } else {
            self.rng.chance(0.88)
        };
        if o.channel == "portal" && self.rng.chance(0.35) {
            let level = self.rating(Some(solved), late_any);
            let r = Arc::clone(&self.resident);
            self.step(
                o,
                ev,
                t,
                r,
                Action::Rate {
                    level: level as u8,
                    solved: Some(solved),
                },
            )?;
            return Some(t);
        }
        let answered = self.rng.chance(0.94);
        let (note, ans) = match (answered, solved) {
            (false, _) => ("电话回访未接通", None),
            (true, true) => ("电话回访，居民表示问题已解决", Some(true)),
            (true, false) => ("电话回访，居民表示问题尚未解决", Some(false)),
        };
        let v = self.visitor();
        self.step(
            o,
            ev,
            t,
            v,
            Action::Visit {
                note: note.into(),
                solved: ans,
            },
        )?;
        if ans.is_some() && self.rng.chance(0.95) {
            t += self.minutes(1, 5);
            let level = self.rating(ans, late_any);
            let r = Arc::clone(&self.resident);
            self.step(
                o,
                ev,
                t,
                r,
                Action::Rate {
                    level: level as u8,
                    solved: None,
                },
            )?;
        }
        Some(t)
    }

    fn step(
        &mut self,
        o: &mut Sim,
        ev: &mut Vec<Ev>,
        at: DateTime<Utc>,
        actor: Arc<str>,
        action: Action,
    ) -> Option<()> {
        self.act(o, ev, at, actor, action).then_some(())
    }

    /// The unit the rules give, remembered per category and division.
    fn resolve(&mut self, cat: usize, division: &str) -> String {
        let key = (cat, division.to_owned());
        if let Some(u) = self.resolved.get(&key) {
            return u.clone();
        }
        let code = CATS.get(cat).map_or("", |c| c.code);
        let u = dispatch::resolve(&self.rules, code, division);
        self.resolved.insert(key, u.clone());
        u
    }

    /// Where a mis-dispatched order first went.
    fn wrong_unit(&mut self, right: &str, division: &str) -> String {
        let village: String = division.chars().take(12).collect();
        let township: String = division.chars().take(9).collect();
        if right == village {
            if self.rng.chance(0.6) || !self.names.contains_key(CITY_DEPARTMENT) {
                township
            } else {
                CITY_DEPARTMENT.to_owned()
            }
        } else {
            village
        }
    }

    /// Apply an action at `at` (after running the escalation job up to it); false
    /// when `at` lies after now, and the history stops there.
    fn act(
        &mut self,
        o: &mut Sim,
        ev: &mut Vec<Ev>,
        at: DateTime<Utc>,
        actor: Arc<str>,
        action: Action,
    ) -> bool {
        let at = at.max(o.last);
        if at > self.now {
            return false;
        }
        self.job(o, ev, at);
        let Ok(to) = o.state.apply(&action, o.extension_pending) else {
            return false;
        };
        let from = o.state;
        let note = self.columns(o, &action, at);
        o.state = to;
        o.updated_at = at;
        o.last = at;
        ev.push(Ev {
            order: o.id,
            at,
            actor,
            action: action.code(),
            from,
            to,
            note,
        });
        true
    }

    /// The escalation job's marks between the last event and `until`: 催办 when the
    /// deadline is within a day, 督办 once it has passed (every minute).
    fn job(&mut self, o: &mut Sim, ev: &mut Vec<Ev>, until: DateTime<Utc>) {
        let timed = matches!(
            o.state,
            State::Dispatched | State::Signed | State::Processing
        );
        let Some(due) = o.due_at.filter(|_| timed) else {
            return;
        };
        let soon = tick_after(o.last.max(due - Duration::hours(24)));
        let over = tick_after(o.last.max(due));
        let due_local = || local(due).format("%m-%d %H:%M");
        if o.escalation < 1 && soon < until && soon < over {
            ev.push(Ev {
                order: o.id,
                at: soon,
                actor: Arc::clone(&self.system),
                action: "urge",
                from: o.state,
                to: o.state,
                note: Cow::Owned(format!(
                    "催办：工单 {} 将于 {} 到期",
                    o.tracking,
                    due_local()
                )),
            });
            o.escalation = 1;
            o.last = soon;
        }
        if o.escalation < 2 && over < until {
            ev.push(Ev {
                order: o.id,
                at: over,
                actor: Arc::clone(&self.system),
                action: "supervise",
                from: o.state,
                to: o.state,
                note: Cow::Owned(format!(
                    "督办：工单 {} 已超过办理时限（{}）",
                    o.tracking,
                    due_local()
                )),
            });
            o.escalation = 2;
            o.last = over;
        }
    }

    /// The column changes of an action, as the store makes them; returns the event note.
    fn columns(&self, o: &mut Sim, action: &Action, at: DateTime<Utc>) -> Cow<'static, str> {
        let cat = self.limits.get(o.cat);
        let limit = |n: i32| u32::try_from(n).unwrap_or(0);
        let (sign_hours, reply_days, resolve_days) =
            cat.map_or((4, 3, 5), |c| (c.sign_hours, c.reply_days, c.resolve_days));
        let t = local(at);
        let cal = &self.cal;
        let urgent = o.urgent;
        let days = |n: i32| utc(cal.deadline_days(t, if urgent { 0 } else { limit(n) }));
        let sign_by = || {
            utc(cal.deadline_hours(
                t,
                if urgent {
                    1
                } else {
                    Ord::max(limit(sign_hours), 1)
                },
            ))
        };
        let set_due = |o: &mut Sim, due: Option<DateTime<Utc>>| {
            o.due_at = due;
            o.escalation = 0;
        };
        match action {
            Action::Dispatch { unit } | Action::Transfer { unit, .. } => {
                let by = sign_by();
                o.unit = unit.clone();
                o.sign_by = Some(by);
                set_due(o, Some(by));
                Cow::Owned(unit.clone())
            }
            Action::Sign => {
                let resolve_by = days(resolve_days + o.extension_days);
                o.reply_by = Some(days(reply_days));
                o.resolve_by = Some(resolve_by);
                o.signed_at = Some(at);
                set_due(o, Some(resolve_by));
                Cow::Borrowed("")
            }
            Action::Return { reason } => {
                o.unit = String::new();
                o.returns += 1;
                set_due(o, None);
                Cow::Owned(reason.clone())
            }
            Action::Reopen { reason } => {
                let by = sign_by();
                o.closed_at = None;
                o.sign_by = Some(by);
                o.reopens += 1;
                set_due(o, Some(by));
                Cow::Owned(reason.clone())
            }
            Action::RequestExtension { days: d, reason } => {
                o.extension_pending = true;
                o.extension_days = i32::from(*d);
                Cow::Owned(reason.clone())
            }
            Action::ApproveExtension => {
                let base = o.resolve_by.map_or(t, local);
                let resolve_by = utc(cal.deadline_days(base, limit(o.extension_days)));
                o.extension_pending = false;
                o.resolve_by = Some(resolve_by);
                if o.signed_at.is_some() && o.due_at.is_some() {
                    set_due(o, Some(resolve_by));
                }
                Cow::Borrowed("")
            }
            Action::RefuseExtension { reason } => {
                o.extension_pending = false;
                o.extension_days = 0;
                Cow::Owned(reason.clone())
            }
            Action::Close { summary } => {
                o.closed_at = Some(at);
                set_due(o, None);
                Cow::Owned(summary.clone())
            }
            Action::Merge { into } => {
                o.merged_into = Some(*into);
                set_due(o, None);
                Cow::Owned(format!("并入 {into}"))
            }
            Action::Reply { text } => {
                if o.first_reply_at.is_none() {
                    o.first_reply_at = Some(at);
                }
                Cow::Owned(text.clone())
            }
            Action::Visit { note, solved } => {
                o.visited_at = Some(at);
                if let Some(v) = solved {
                    o.solved = Some(*v);
                }
                Cow::Owned(note.clone())
            }
            Action::Rate { level, solved } => {
                o.rating = Some(i32::from(*level));
                if let Some(v) = solved {
                    o.solved = Some(*v);
                }
                Cow::Owned(level.to_string())
            }
            Action::Urge { note } | Action::Supervise { note } => Cow::Owned(note.clone()),
            Action::Start => Cow::Borrowed(""),
        }
    }
}

fn return_reason(from: &str, to: &str) -> String {
    if dispatch::is_department(from) {
        "经核实不属于本部门职责范围，建议由属地办理".into()
    } else if dispatch::is_department(to) {
        "该诉求属于行业主管部门职责，社区（街道）无执法权限，申请改派".into()
    } else if from.len() == 9 {
        "经核实属社区自治事务，请派社区办理".into()
    } else {
        "涉及多方协调，需由街道（乡镇）统筹处理，申请改派".into()
    }
}

/// The first job run strictly after `t` (runs every [`JOB_SECONDS`]).
fn tick_after(t: DateTime<Utc>) -> DateTime<Utc> {
    let s = t.timestamp();
    let next = (s.div_euclid(JOB_SECONDS) + 1) * JOB_SECONDS;
    DateTime::<Utc>::from_timestamp(next, 0).unwrap_or(t)
}

fn pick_arc(rng: &mut SeededRng, list: &[Arc<str>]) -> Arc<str> {
    rng.pick(list)
        .cloned()
        .unwrap_or_else(|| Arc::from("system"))
}

fn cumulative(w: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    w.iter()
        .map(|x| {
            acc += x.max(0.0);
            acc
        })
        .collect()
}

/// An index drawn with the given relative weights.
fn weighted(rng: &mut SeededRng, w: &[f64]) -> usize {
    let total: f64 = w.iter().map(|x| x.max(0.0)).sum();
    let mut x = rng.unit() * total;
    for (i, v) in w.iter().enumerate() {
        let v = v.max(0.0);
        if x < v {
            return i;
        }
        x -= v;
    }
    w.len().saturating_sub(1)
}

fn person(rng: &mut SeededRng) -> String {
    let s = rng.pick(&SURNAMES).copied().unwrap_or("李");
    let a = rng.pick(&GIVEN).copied().unwrap_or("明");
    if rng.chance(0.6) {
        let b = rng.pick(&GIVEN).copied().unwrap_or("华");
        format!("{s}{a}{b}")
    } else {
        format!("{s}{a}")
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// A tracking code from the order's number and intake month: two letters of the
/// month, then a fixed permutation of 40-bit numbers, in the store's 32 letters.
/// Codes never collide and look random, and one month's codes sit together in
/// the unique index, which keeps loading a year of them fast.
fn tracking_code(seed: u64, n: u64, month: u32) -> String {
    const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    const MASK: u64 = (1 << 40) - 1;
    let salt = SeededRng::new(seed).fork("workorders/codes").next_u64();
    let mut x = n & MASK;
    x = x.wrapping_mul(0x0005_DEEC_E66D) & MASK;
    x ^= salt & MASK;
    x = x.wrapping_mul(0x2545_F491_4F6C_DD1D) & MASK;
    x ^= x >> 19;
    let prefix = (u64::from(month) ^ (salt >> 40)) & 0x3FF;
    let v = (prefix << 40) | x;
    (0..10)
        .map(|i| {
            let d = ((v >> (45 - 5 * i)) & 31) as usize;
            char::from(ALPHABET.get(d).copied().unwrap_or(b'X'))
        })
        .collect()
}

/// The latest order of a category in a village: id, time and point.
type Recent = (i64, DateTime<Utc>, Option<f64>, Option<f64>);

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::collections::HashSet;

    fn division(code: &str, level: &str, parent: Option<&str>, urban: bool) -> Division {
        Division {
            id: 0,
            code: code.into(),
            name: format!("测试{code}"),
            level: level.into(),
            kind: String::new(),
            parent_code: parent.map(str::to_owned),
            urban,
            urban_rural_class: None,
            population: 3000,
            urban_population: if urban { 3000 } else { 0 },
            households: 1000,
            centroid_lon: Some(111.47),
            centroid_lat: Some(27.24),
            polygon: None,
            updated_at: Utc::now(),
        }
    }

    fn category(code: &str, sign: i32, reply: i32, resolve: i32) -> Category {
        Category {
            code: code.into(),
            parent_code: None,
            name: code.into(),
            sign_hours: sign,
            reply_days: reply,
            resolve_days: resolve,
            active: true,
        }
    }

    fn world(seed: u64, now: DateTime<Utc>) -> World {
        let mut all = vec![
            division("430500", "city", None, true),
            division("430502", "county", Some("430500"), true),
            division("430502001", "township", Some("430502"), true),
        ];
        for v in 1..=6 {
            let code = format!("430502001{v:03}");
            all.push(division(&code, "village", Some("430502001"), v <= 3));
            for g in 1..=3 {
                all.push(division(
                    &format!("{code}{g:03}"),
                    "grid",
                    Some(&code),
                    v <= 3,
                ));
            }
        }
        let cats: Vec<Category> = CATS
            .iter()
            .map(|c| match c.code {
                "environment.garbage" | "property.elevator" => category(c.code, 2, 1, 2),
                "dispute.neighbour" => category(c.code, 4, 3, 13),
                _ => category(c.code, 4, 3, 5),
            })
            .collect();
        let rules = vec![Rule {
            id: 1,
            category_code: Some("dispute".into()),
            division_code: "430500".into(),
            unit_kind: "township".into(),
            department_code: None,
            updated_by: String::new(),
            updated_at: now,
        }];
        World::new(&all, &[], &cats, rules, Calendar::china_2025(), seed, now).unwrap()
    }

    fn run(seed: u64, total: usize) -> Vec<Batch> {
        let now = Utc.with_ymd_and_hms(2025, 11, 20, 3, 0, 0).unwrap();
        let mut w = world(seed, now);
        let plan = w.plan_days(total);
        let mut id = 1;
        plan.months()
            .into_iter()
            .map(|m| {
                let b = w.generate(&plan, m, id);
                id += b.orders.len() as i64;
                b
            })
            .collect()
    }

    #[test]
    fn histories_are_legal_and_match_the_columns() {
        let now = Utc.with_ymd_and_hms(2025, 11, 20, 3, 0, 0).unwrap();
        let batches = run(3, 6000);
        let orders: Vec<&Sim> = batches.iter().flat_map(|b| &b.orders).collect();
        assert_eq!(orders.len(), 6000);
        let codes: HashSet<&str> = orders.iter().map(|o| o.tracking.as_str()).collect();
        assert_eq!(codes.len(), orders.len(), "tracking codes are unique");
        let mut by_order: HashMap<i64, Vec<&Ev>> = HashMap::new();
        for e in batches.iter().flat_map(|b| &b.events) {
            by_order.entry(e.order).or_default().push(e);
        }
        for o in &orders {
            assert!(o.created <= now && o.created > now - Duration::days(366));
            let evs = by_order.get(&o.id).unwrap();
            assert_eq!(evs.first().unwrap().action, "accept");
            let mut state = State::Accepted;
            let mut prev = o.created;
            for e in evs {
                assert!(e.at >= prev && e.at <= now, "{} {:?}", o.id, e.action);
                prev = e.at;
                assert_eq!(e.from, state, "order {} {}", o.id, e.action);
                state = e.to;
            }
            assert_eq!(state, o.state);
            match o.state {
                State::Rated => assert!(o.rating.is_some() && o.closed_at.is_some()),
                State::Closed | State::Visited => assert!(o.closed_at.is_some()),
                State::Merged => assert!(o.merged_into.is_some_and(|m| m < o.id)),
                State::Dispatched | State::Signed | State::Processing => {
                    assert!(o.due_at.is_some() && !o.unit.is_empty());
                }
                _ => {}
            }
            if o.state.is_open() && o.state != State::Replied {
                assert!(o.closed_at.is_none());
            }
            let timed = matches!(
                o.state,
                State::Dispatched | State::Signed | State::Processing
            );
            if timed && o.due_at.is_some_and(|d| d < now - Duration::minutes(5)) {
                assert_eq!(o.escalation, 2, "order {}", o.id);
            }
            // Replying keeps the mark, as the store does.
            if o.escalation == 2 {
                assert!(o.due_at.is_some_and(|d| d < now), "order {}", o.id);
            }
        }
        // Old orders are finished; the last days' are still open.
        let old = orders
            .iter()
            .filter(|o| o.created < now - Duration::days(30));
        let (done, n) = old.fold((0, 0), |(d, n), o| {
            (d + usize::from(!o.state.is_open()), n + 1)
        });
        assert!(done as f64 / n as f64 > 0.99, "{done}/{n}");
        let recent: Vec<_> = orders
            .iter()
            .filter(|o| o.created > now - Duration::days(2))
            .collect();
        assert!(recent.iter().filter(|o| o.state.is_open()).count() * 2 > recent.len());
        for f in [
            "phone",
            "patrol",
            "urgent",
            "returns",
            "reopens",
            "merged",
            "ext",
            "late_sign",
            "late_close",
            "open",
        ] {
            let n = orders
                .iter()
                .filter(|o| match f {
                    "urgent" => o.urgent,
                    "returns" => o.returns > 0,
                    "reopens" => o.reopens > 0,
                    "merged" => o.state == State::Merged,
                    "ext" => o.extension_days > 0,
                    "late_sign" => o.signed_at.zip(o.sign_by).is_some_and(|(a, b)| a > b),
                    "late_close" => o.closed_at.zip(o.resolve_by).is_some_and(|(a, b)| a > b),
                    "open" => o.state.is_open(),
                    c => o.channel == c,
                })
                .count();
            eprintln!("DBG {f} {:.4}", n as f64 / orders.len() as f64);
        }
        let mut st: BTreeMap<&str, usize> = BTreeMap::new();
        for o in &orders {
            *st.entry(o.state.as_str()).or_default() += 1;
        }
        let evn: usize = batches.iter().map(|b| b.events.len()).sum();
        let mut acts: BTreeMap<&str, usize> = BTreeMap::new();
        for e in batches.iter().flat_map(|b| &b.events) {
            *acts.entry(e.action).or_default() += 1;
        }
        let mut lv = [0usize; 5];
        for r in orders.iter().filter_map(|o| o.rating) {
            lv[(r - 1) as usize] += 1;
        }
        eprintln!("DBG states {st:?} events {evn} {acts:?} levels {lv:?}");
        // Mixes near their targets.
        let share = |f: &dyn Fn(&Sim) -> bool| {
            orders.iter().filter(|o| f(o)).count() as f64 / orders.len() as f64
        };
        assert!((share(&|o| o.channel == "phone") - 0.55).abs() < 0.03);
        assert!((share(&|o| o.channel == "patrol") - 0.10).abs() < 0.02);
        assert!((share(&|o| o.urgent) - 0.03).abs() < 0.02);
        assert!((share(&|o| o.returns > 0) - 0.04).abs() < 0.02);
        assert!(share(&|o| o.reopens > 0) > 0.01 && share(&|o| o.reopens > 0) < 0.06);
        assert!(share(&|o| o.state == State::Merged) > 0.003);
        let rated: Vec<i32> = orders.iter().filter_map(|o| o.rating).collect();
        let top = rated.iter().filter(|r| **r == 1).count() as f64 / rated.len() as f64;
        assert!((0.38..0.5).contains(&top), "{top}");
        // Disputes go to the township, the rest to the community.
        for o in orders
            .iter()
            .filter(|o| !o.state.is_open() && !o.unit.is_empty())
        {
            let want = if o.category == "dispute.neighbour" {
                9
            } else {
                12
            };
            assert_eq!(o.unit.len(), want, "{o:?} {:?}", by_order.get(&o.id));
        }
    }

    #[test]
    fn same_seed_same_orders() {
        let key = |b: &[Batch]| {
            b.iter()
                .flat_map(|b| &b.orders)
                .map(|o| {
                    (
                        o.tracking.clone(),
                        o.created,
                        o.state,
                        o.unit.clone(),
                        o.description.clone(),
                        o.rating,
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&run(5, 800)), key(&run(5, 800)));
        assert_ne!(key(&run(5, 800)), key(&run(6, 800)));
    }

    #[test]
    fn tracking_codes_are_a_permutation() {
        let codes: HashSet<String> = (1..50_000)
            .map(|n| tracking_code(9, n, (n % 12) as u32))
            .collect();
        assert_eq!(codes.len(), 49_999);
        assert!(codes.iter().all(|c| c.len() == 10));
        // A month's codes share their first two letters.
        assert_eq!(tracking_code(9, 1, 5)[..2], tracking_code(9, 77, 5)[..2]);
        assert_ne!(tracking_code(9, 1, 5)[..2], tracking_code(9, 1, 6)[..2]);
    }

    #[test]
    fn bulk_rows_are_json_the_database_can_unpack() {
        let mut rows = bulk::Rows::new();
        rows.row();
        rows.int(Some(-7));
        rows.real(Some(111.470123));
        rows.bool(Some(true));
        rows.text(Some("引号\"、反斜杠\\、换行\n和\u{1}"));
        rows.hex(Some(&[0, 171, 255]));
        rows.time(Some(Utc.with_ymd_and_hms(2025, 6, 30, 2, 0, 0).unwrap()));
        rows.end_row();
        rows.row();
        for _ in 0..6 {
            rows.int(None);
        }
        rows.end_row();
        let v: serde_json::Value = serde_json::from_str(&rows.finish()).unwrap();
        assert_eq!(
            v,
            serde_json::json!([
                [
                    0,
                    -7,
                    111.470123,
                    true,
                    "引号\"、反斜杠\\、换行\n和\u{1}",
                    "00abff",
                    "2025-06-30T02:00:00+00:00"
                ],
                [1, null, null, null, null, null, null]
            ])
        );
    }
}
