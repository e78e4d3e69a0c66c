//! What staff may do to a work order, and doing it: the handling unit of a user,
//! who may take which action, and applying actions (one or in bulk) in a
//! transaction with the 好差评 follow-up of a rating.

use crate::auth::scope_for;
use crate::{AppError, AppState};
use shequ_core::DivisionCode;
use shequ_core::role::{Capability, Role};
use shequ_core::workorders::{Action, State};
use shequ_db::scope::Scope;
use shequ_db::users::User;
use shequ_db::workorders::{self, Order, dispatch};

/// The unit whose queues a user works: a department, or the division of a
/// community, township or county worker. City staff and grid workers have none.
pub fn unit_of(user: &User) -> Option<String> {
    match user.role()? {
        Role::DepartmentStaff => user.department_code.clone(),
        Role::CommunityStaff | Role::TownshipStaff | Role::CountyStaff => {
            Some(user.division_code.clone())
        }
        _ => None,
    }
}

/// Actions of the dispatch centre (派单, 转办, 合并, 延期审批, 督办, 重办, 回访).
fn is_dispatch_action(a: &Action) -> bool {
    matches!(
        a,
        Action::Dispatch { .. }
            | Action::Transfer { .. }
            | Action::Merge { .. }
            | Action::ApproveExtension
            | Action::RefuseExtension { .. }
            | Action::Supervise { .. }
            | Action::Reopen { .. }
            | Action::Visit { .. }
            | Action::Urge { .. }
    )
}

/// The scope a user acts in for `action` on `order`, or why not.
pub fn authorize(user: &User, order: &Order, action: &Action) -> Result<Scope, AppError> {
    if is_dispatch_action(action) || matches!(action, Action::Rate { .. }) {
        return scope_for(user, Capability::DispatchWorkOrders);
    }
    let scope = scope_for(user, Capability::HandleWorkOrders)?;
    match unit_of(user) {
        // A unit works only the orders given to it.
        Some(unit) if unit != order.unit && !can_dispatch(user) => Err(AppError::Forbidden),
        _ => Ok(scope),
    }
}

fn can_dispatch(user: &User) -> bool {
    user.role()
        .is_some_and(|r| r.can(Capability::DispatchWorkOrders))
}

/// The scope in which a user sees orders: their subtree, or for department
/// staff the whole city (their orders are filtered by unit).
pub fn read_scope(user: &User) -> Result<Scope, AppError> {
    scope_for(user, Capability::HandleWorkOrders)
}

/// Apply one action by `user` to order `id`, in its own transaction.
pub async fn act(st: &AppState, user: &User, id: i64, action: &Action) -> Result<State, AppError> {
    let cal = workorders::calendar::load(&mut st.db.conn()).await?;
    let order = workorders::get(&mut st.db.conn(), &read_scope(user)?, id)
        .await?
        .ok_or_else(|| AppError::NotFound("工单不存在".into()))?;
    let scope = authorize(user, &order, action)?;
    let mut tx = st.db.begin().await?;
    let to = workorders::transition(&mut tx.conn(), &scope, &cal, id, action, st.now()).await?;
    rated(st, &mut tx.conn(), &order, action, "phone", &scope).await?;
    tx.commit().await?;
    Ok(to)
}

/// After a rating: record it as 好差评, which opens the 差评 rectification.
async fn rated(
    st: &AppState,
    c: &mut shequ_db::Conn<'_>,
    order: &Order,
    action: &Action,
    channel: &str,
    scope: &Scope,
) -> Result<(), AppError> {
    let Action::Rate { level, .. } = action else {
        return Ok(());
    };
    let phone = workorders::reporter_phone(c, &st.key, order.id).await?;
    let real_name = !order.reporter_name.trim().is_empty() && phone.is_some();
    let division = DivisionCode::parse(&order.division_code)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored division: {e}")))?;
    let r = shequ_db::ratings::NewRating {
        subject: shequ_db::ratings::Subject::WorkOrder(order.id),
        division,
        unit: order.unit.clone(),
        level: *level,
        real_name,
        rater_name: if real_name {
            order.reporter_name.clone()
        } else {
            String::new()
        },
        rater_phone: if real_name { phone } else { None },
        comment: String::new(),
        channel: channel.into(),
        idempotency_key: None,
    };
    match shequ_db::ratings::record(c, &st.key, &r, &scope.actor, st.now()).await {
        // A re-rating after 重办 keeps the first 好差评 record.
        Err(e) if shequ_db::ratings::is_already_rated(&e) => Ok(()),
        other => other.map(|_| ()).map_err(AppError::from),
    }
}

/// The resident's own action on their order, found by tracking code (评价 only).
pub async fn act_as_resident(
    st: &AppState,
    tracking_code: &str,
    action: &Action,
) -> Result<(Order, State), AppError> {
    if !matches!(action, Action::Rate { .. }) {
        return Err(AppError::Forbidden);
    }
    let not_found = || AppError::NotFound("没有找到这个查询码对应的诉求".into());
    let order = workorders::by_tracking_code(&mut st.db.conn(), tracking_code)
        .await?
        .ok_or_else(not_found)?;
    let root = DivisionCode::parse(&order.division_code).map_err(|_| not_found())?;
    let actor = shequ_db::scope::Actor {
        user_id: order.reporter_user_id,
        name: "居民".into(),
        role: "resident".into(),
    };
    let scope = Scope::new(root, Role::Resident, actor);
    let cal = workorders::calendar::load(&mut st.db.conn()).await?;
    let mut tx = st.db.begin().await?;
    let to =
        workorders::transition(&mut tx.conn(), &scope, &cal, order.id, action, st.now()).await?;
    rated(st, &mut tx.conn(), &order, action, "portal", &scope).await?;
    tx.commit().await?;
    Ok((order, to))
}

/// Apply the same action to several orders; each succeeds or fails on its own.
pub async fn act_many(
    st: &AppState,
    user: &User,
    ids: &[i64],
    action: &Action,
) -> Vec<(i64, Result<State, AppError>)> {
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        out.push((id, act(st, user, id, action).await));
    }
    out
}

/// Display names of units: divisions from the tree, departments from the store.
pub struct UnitNames {
    departments: Vec<dispatch::Department>,
}

impl UnitNames {
    pub async fn load(st: &AppState) -> Result<UnitNames, AppError> {
        Ok(UnitNames {
            departments: dispatch::departments(&mut st.db.conn()).await?,
        })
    }

    pub fn departments(&self) -> &[dispatch::Department] {
        &self.departments
    }

    /// "市城管局", "兴隆街道 和平社区", or "未派单".
    pub fn name(&self, st: &AppState, unit: &str) -> String {
        if unit.is_empty() {
            return "未派单".into();
        }
        if dispatch::is_department(unit) {
            return self
                .departments
                .iter()
                .find(|d| d.code == unit)
                .map_or_else(|| unit.to_owned(), |d| d.name.clone());
        }
        place_name(st, unit)
    }
}

/// A division's name with its township: "兴隆街道 和平社区".
pub fn place_name(st: &AppState, code: &str) -> String {
    let Ok(c) = DivisionCode::parse(code) else {
        return code.to_owned();
    };
    let tree = st.tree.get();
    let names: Vec<&str> = tree
        .lineage(&c)
        .iter()
        .filter(|d| d.code.len() >= 9)
        .map(|d| d.name.as_str())
        .collect();
    if names.is_empty() {
        tree.get(code)
            .map_or_else(|| code.to_owned(), |d| d.name.clone())
    } else {
        names.join(" ")
    }
}
