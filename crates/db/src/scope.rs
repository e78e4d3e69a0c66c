//! Who is asking, and which part of the division tree they may see.
//!
//! Every list/read/write function for scoped data takes a [`Scope`]; the scope
//! becomes a range condition on the record's `division_code` inside the query, so a
//! record outside the caller's subtree is never read, returned or changed.

use sea_query::{Condition, Expr, ExprTrait, IntoColumnRef};
use shequ_core::role::Role;
use shequ_core::{DivisionCode, Level};

/// The person or integration behind a request, as the audit log names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub name: String,
    pub role: String,
}

impl Actor {
    /// Work done by the system itself (demo loading, migrations).
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            name: "system".into(),
            role: String::new(),
        }
    }

    pub fn anonymous() -> Actor {
        Actor {
            user_id: None,
            name: "anonymous".into(),
            role: String::new(),
        }
    }
}

/// A caller bound to the subtree rooted at `root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub root: DivisionCode,
    pub role: Role,
    pub actor: Actor,
}

impl Scope {
    pub fn new(root: DivisionCode, role: Role, actor: Actor) -> Scope {
        Scope { root, role, actor }
    }

    /// Whether `code` lies in this scope's subtree.
    pub fn contains(&self, code: &DivisionCode) -> bool {
        code.is_within(&self.root)
    }

    /// Whether a stored code lies in the subtree (false for malformed codes).
    pub fn contains_str(&self, code: &str) -> bool {
        DivisionCode::parse(code).is_ok_and(|c| self.contains(&c))
    }

    /// `[low, high)` bounds on codes of the subtree, in byte order.
    pub fn bounds(&self) -> (String, String) {
        let prefix = match self.root.level() {
            Level::City => self.root.as_str().get(0..4).unwrap_or_default(),
            _ => self.root.as_str(),
        };
        (prefix.to_owned(), next_prefix(prefix))
    }

    /// The condition `column` lies in the subtree. Columns compared this way are
    /// byte-ordered (`COLLATE "C"` on PostgreSQL, SQLite's default).
    pub fn condition<C: IntoColumnRef + Clone>(&self, column: C) -> Condition {
        let (lo, hi) = self.bounds();
        Condition::all()
            .add(Expr::col(column.clone()).gte(lo))
            .add(Expr::col(column).lt(hi))
    }
}

/// The smallest string greater than every string starting with `prefix` (digits only).
fn next_prefix(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        *last += 1;
    }
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(code: &str) -> Scope {
        Scope::new(
            DivisionCode::parse(code).unwrap(),
            Role::CityStaff,
            Actor::system(),
        )
    }

    #[test]
    fn bounds_cover_exactly_the_subtree() {
        assert_eq!(scope("430500").bounds(), ("4305".into(), "4306".into()));
        assert_eq!(scope("430509").bounds(), ("430509".into(), "43050:".into()));
        let (lo, hi) = scope("430502001").bounds();
        for (code, inside) in [
            ("430502001001", true),
            ("430502001999001", true),
            ("430502002001", false),
            ("430502000999", false),
        ] {
            assert_eq!(lo.as_str() <= code && code < hi.as_str(), inside, "{code}");
        }
    }
}
