//! 好差评: five-level ratings of work orders and service matters, and the
//! rectification of a 差评 as an explicit state machine.
//!
//! 待核实 (verify) → 整改中 (rectify) → 待回访 (callback) → 已办结 (closed).
//! The call-back is required for a real-name rating and skipped for an anonymous
//! one. The responsible unit may appeal (申诉) once, from verify or rectify; a
//! reviewer then upholds the 差评 (back to rectify, with a new deadline) or
//! overturns it (closed, and the rating leaves the satisfaction statistics).
//! Every allowed step is listed in [`Case::apply`]; anything else is refused.

use crate::workorders::lifecycle::{RATING_LABELS, is_bad_rating};
use serde::{Deserialize, Serialize};

/// Working days given to rectify a 差评 unless the handler sets another limit.
pub const DEFAULT_DAYS: u32 = 5;
/// The longest rectification limit, in working days.
pub const MAX_DAYS: u32 = 15;
/// Longest note, reason or comment kept with a step.
pub const MAX_NOTE: usize = 500;

/// One of the five 好差评 levels: 1 非常满意 … 5 非常不满意.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Level(u8);

impl Level {
    pub const ALL: [Level; 5] = [Level(1), Level(2), Level(3), Level(4), Level(5)];

    /// A level from its number; `None` outside 1–5.
    pub fn new(n: i64) -> Option<Level> {
        u8::try_from(n)
            .ok()
            .filter(|n| (1..=5).contains(n))
            .map(Level)
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// 非常满意, 满意, 基本满意, 不满意 or 非常不满意.
    pub fn label(self) -> &'static str {
        RATING_LABELS
            .get(usize::from(self.0).saturating_sub(1))
            .copied()
            .unwrap_or("")
    }

    /// Whether this is a 差评 (不满意 or 非常不满意).
    pub fn is_bad(self) -> bool {
        is_bad_rating(self.0)
    }

    /// Whether this counts toward the satisfaction rate (the top three levels).
    pub fn is_satisfied(self) -> bool {
        !self.is_bad()
    }
}

impl TryFrom<u8> for Level {
    type Error = RectifyError;

    fn try_from(n: u8) -> Result<Level, RectifyError> {
        Level::new(i64::from(n)).ok_or(RectifyError::BadLevel)
    }
}

impl From<Level> for u8 {
    fn from(l: Level) -> u8 {
        l.0
    }
}

/// Where a 差评's rectification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// 待核实: the responsible unit checks what happened.
    Verify,
    /// 整改中: being put right, against a deadline.
    Rectify,
    /// 待回访: put right; the rater is to be called back (real-name ratings only).
    Callback,
    /// 待复核: the unit has appealed; a reviewer decides.
    Review,
    /// 已办结 (final).
    Closed,
}

impl State {
    pub const ALL: [State; 5] = [
        State::Verify,
        State::Rectify,
        State::Callback,
        State::Review,
        State::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Verify => "verify",
            State::Rectify => "rectify",
            State::Callback => "callback",
            State::Review => "review",
            State::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The state's name in Chinese, as staff see it.
    pub fn label(self) -> &'static str {
        match self {
            State::Verify => "待核实",
            State::Rectify => "整改中",
            State::Callback => "待回访",
            State::Review => "待复核",
            State::Closed => "已办结",
        }
    }

    /// Whether the deadline runs in this state (paused while an appeal is reviewed).
    pub fn deadline_runs(self) -> bool {
        matches!(self, State::Verify | State::Rectify | State::Callback)
    }
}

/// Something done to a rectification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// 核实: the facts are checked; rectification starts, optionally with its own
    /// limit in working days (1–15) counted from now.
    Verify { note: String, days: Option<u32> },
    /// 整改完成: what was put right.
    Rectified { note: String },
    /// 回访: the rater was called back, with what they said.
    Callback { note: String },
    /// 申诉: the unit holds the 差评 to be mistaken or malicious (once per 差评).
    Appeal { reason: String },
    /// 复核维持: the 差评 stands; rectify within a new limit (default 5 working days).
    Uphold { note: String, days: Option<u32> },
    /// 复核撤销: the 差评 is set aside and leaves the satisfaction statistics.
    Overturn { note: String },
}

impl Action {
    pub const CODES: [&'static str; 6] = [
        "verify",
        "rectified",
        "callback",
        "appeal",
        "uphold",
        "overturn",
    ];

    /// Stable code of the action (stored with each event, used by the API).
    pub fn code(&self) -> &'static str {
        match self {
            Action::Verify { .. } => "verify",
            Action::Rectified { .. } => "rectified",
            Action::Callback { .. } => "callback",
            Action::Appeal { .. } => "appeal",
            Action::Uphold { .. } => "uphold",
            Action::Overturn { .. } => "overturn",
        }
    }

    pub fn label(&self) -> &'static str {
        label_of(self.code())
    }

    /// Build an action from its code, its note and an optional day limit.
    pub fn from_parts(code: &str, note: &str, days: Option<u32>) -> Result<Action, RectifyError> {
        let note = note.trim().to_owned();
        let action = match code {
            "verify" => Action::Verify { note, days },
            "rectified" => Action::Rectified { note },
            "callback" => Action::Callback { note },
            "appeal" => Action::Appeal { reason: note },
            "uphold" => Action::Uphold { note, days },
            "overturn" => Action::Overturn { note },
            _ => return Err(RectifyError::UnknownAction),
        };
        if days.is_some() && !matches!(action, Action::Verify { .. } | Action::Uphold { .. }) {
            return Err(RectifyError::BadDays);
        }
        Ok(action)
    }

    /// The note, reason or finding the action carries.
    pub fn note(&self) -> &str {
        match self {
            Action::Verify { note, .. }
            | Action::Rectified { note }
            | Action::Callback { note }
            | Action::Uphold { note, .. }
            | Action::Overturn { note } => note,
            Action::Appeal { reason } => reason,
        }
    }

    /// Whether only a reviewer (复核人员) may take this action.
    pub fn needs_reviewer(&self) -> bool {
        matches!(self, Action::Uphold { .. } | Action::Overturn { .. })
    }

    /// Check the action's own fields: a note is always required; limits in range.
    fn check(&self) -> Result<(), RectifyError> {
        let note = self.note().trim();
        if note.is_empty() {
            return Err(RectifyError::Missing(match self {
                Action::Appeal { .. } => "reason",
                _ => "note",
            }));
        }
        if note.chars().count() > MAX_NOTE {
            return Err(RectifyError::TooLong);
        }
        if let Action::Verify { days: Some(d), .. } | Action::Uphold { days: Some(d), .. } = self
            && !(1..=MAX_DAYS).contains(d)
        {
            return Err(RectifyError::BadDays);
        }
        Ok(())
    }
}

/// The Chinese name of an action code ("" for an unknown code).
pub fn label_of(code: &str) -> &'static str {
    match code {
        "verify" => "核实",
        "rectified" => "整改完成",
        "callback" => "回访",
        "appeal" => "申诉",
        "uphold" => "复核维持",
        "overturn" => "复核撤销",
        "open" => "收到差评",
        _ => "",
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RectifyError {
    #[error("当前状态“{0}”下不能“{1}”")]
    NotAllowed(&'static str, &'static str),
    #[error("缺少必填内容：{0}")]
    Missing(&'static str),
    #[error("说明不能超过 500 个字")]
    TooLong,
    #[error("整改期限应为 1–15 个工作日")]
    BadDays,
    #[error("每条差评只能申诉一次")]
    AlreadyAppealed,
    #[error("未知的处理动作")]
    UnknownAction,
    #[error("评价应为 1（非常满意）到 5（非常不满意）")]
    BadLevel,
}

impl RectifyError {
    pub fn code(&self) -> &'static str {
        match self {
            RectifyError::NotAllowed(..) => "illegal_transition",
            RectifyError::Missing(_) => "missing_field",
            RectifyError::TooLong => "too_long",
            RectifyError::BadDays => "bad_days",
            RectifyError::AlreadyAppealed => "already_appealed",
            RectifyError::UnknownAction => "unknown_action",
            RectifyError::BadLevel => "bad_level",
        }
    }

    /// Whether the refusal is about the state of the case (rather than the input).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            RectifyError::NotAllowed(..) | RectifyError::AlreadyAppealed
        )
    }
}

/// A 差评 under rectification: its state and the facts the rules depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    pub state: State,
    /// A real-name rating: the rater must be called back before closing.
    pub real_name: bool,
    /// The unit has used its one appeal.
    pub appealed: bool,
    /// Overturned on review: left out of the satisfaction statistics.
    pub excluded: bool,
}

/// The result of an allowed action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub next: Case,
    /// A new deadline, in working days from now, when the action sets one.
    pub deadline_days: Option<u32>,
}

impl Case {
    /// A 差评 just received: to be verified.
    pub fn open(real_name: bool) -> Case {
        Case {
            state: State::Verify,
            real_name,
            appealed: false,
            excluded: false,
        }
    }

    /// The case after `action`, or why it is refused.
    pub fn apply(&self, action: &Action) -> Result<Step, RectifyError> {
        use Action as A;
        use State as S;
        action.check()?;
        let mut next = *self;
        let mut deadline_days = None;
        match (self.state, action) {
            (S::Verify, A::Verify { days, .. }) => {
                next.state = S::Rectify;
                deadline_days = *days;
            }
            (S::Rectify, A::Rectified { .. }) => {
                next.state = if self.real_name {
                    S::Callback
                } else {
                    S::Closed
                };
            }
            (S::Callback, A::Callback { .. }) => next.state = S::Closed,
            (S::Verify | S::Rectify, A::Appeal { .. }) if self.appealed => {
                return Err(RectifyError::AlreadyAppealed);
            }
            (S::Verify | S::Rectify, A::Appeal { .. }) => {
                next.state = S::Review;
                next.appealed = true;
            }
            (S::Review, A::Uphold { days, .. }) => {
                next.state = S::Rectify;
                deadline_days = Some(days.unwrap_or(DEFAULT_DAYS));
            }
            (S::Review, A::Overturn { .. }) => {
                next.state = S::Closed;
                next.excluded = true;
            }
            (s, a) => return Err(RectifyError::NotAllowed(s.label(), a.label())),
        }
        Ok(Step {
            next,
            deadline_days,
        })
    }

    /// The actions allowed now (for offering forms), by code.
    pub fn allowed(&self) -> Vec<&'static str> {
        Action::CODES
            .into_iter()
            .filter(|code| {
                Action::from_parts(code, "x", None).is_ok_and(|a| self.apply(&a).is_ok())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn act(code: &str) -> Action {
        Action::from_parts(code, "说明", None).unwrap()
    }

    fn go(mut c: Case, codes: &[&str]) -> Result<Case, RectifyError> {
        for code in codes {
            c = c.apply(&act(code))?.next;
        }
        Ok(c)
    }

    #[test]
    fn levels_and_labels() {
        assert_eq!(Level::new(1).unwrap().label(), "非常满意");
        assert_eq!(Level::new(5).unwrap().label(), "非常不满意");
        assert!(Level::new(4).unwrap().is_bad() && !Level::new(3).unwrap().is_bad());
        assert_eq!(Level::new(0), None);
        assert_eq!(Level::new(6), None);
        assert_eq!(Level::try_from(9u8), Err(RectifyError::BadLevel));
        assert_eq!(
            serde_json::from_str::<Level>("3").unwrap(),
            Level::new(3).unwrap()
        );
        assert!(serde_json::from_str::<Level>("7").is_err());
    }

    #[test]
    fn real_name_goes_through_the_call_back() {
        let c = go(Case::open(true), &["verify", "rectified"]).unwrap();
        assert_eq!(c.state, State::Callback);
        assert_eq!(c.allowed(), vec!["callback"]);
        let c = go(c, &["callback"]).unwrap();
        assert_eq!((c.state, c.excluded), (State::Closed, false));
        assert!(c.allowed().is_empty());
    }

    #[test]
    fn anonymous_skips_the_call_back() {
        let c = go(Case::open(false), &["verify", "rectified"]).unwrap();
        assert_eq!(c.state, State::Closed);
        assert_eq!(
            Case {
                state: State::Callback,
                ..Case::open(false)
            }
            .apply(&act("rectified"))
            .unwrap_err()
            .code(),
            "illegal_transition"
        );
    }

    #[test]
    fn appeal_once_then_review() {
        let c = go(Case::open(true), &["appeal"]).unwrap();
        assert_eq!(c.state, State::Review);
        assert_eq!(c.allowed(), vec!["uphold", "overturn"]);
        let upheld = c.apply(&act("uphold")).unwrap();
        assert_eq!(upheld.next.state, State::Rectify);
        assert_eq!(upheld.deadline_days, Some(DEFAULT_DAYS));
        assert_eq!(
            upheld.next.apply(&act("appeal")),
            Err(RectifyError::AlreadyAppealed)
        );
        let over = go(Case::open(true), &["verify", "appeal", "overturn"]).unwrap();
        assert_eq!((over.state, over.excluded), (State::Closed, true));
    }

    #[test]
    fn fields_are_checked() {
        let c = Case::open(true);
        assert_eq!(
            c.apply(&Action::Appeal { reason: " ".into() }),
            Err(RectifyError::Missing("reason"))
        );
        assert_eq!(
            c.apply(&Action::Verify {
                note: "属实".into(),
                days: Some(16)
            })
            .unwrap_err()
            .code(),
            "bad_days"
        );
        assert_eq!(
            c.apply(&Action::Verify {
                note: "属实".into(),
                days: Some(10)
            })
            .unwrap()
            .deadline_days,
            Some(10)
        );
        assert_eq!(
            Action::from_parts("callback", "x", Some(3)),
            Err(RectifyError::BadDays)
        );
        assert_eq!(
            Action::from_parts("close", "x", None),
            Err(RectifyError::UnknownAction)
        );
        assert_eq!(
            c.apply(&act("callback")).unwrap_err().code(),
            "illegal_transition"
        );
        assert_eq!(
            c.apply(&Action::Callback {
                note: "长".repeat(501)
            }),
            Err(RectifyError::TooLong)
        );
    }

    fn any_action() -> impl Strategy<Value = Action> {
        (
            proptest::sample::select(Action::CODES.to_vec()),
            prop_oneof![Just(None), (0u32..20).prop_map(Some)],
            prop_oneof![Just(""), Just("说明")],
        )
            .prop_map(|(code, days, note)| {
                Action::from_parts(code, note, days)
                    .unwrap_or(Action::Rectified { note: note.into() })
            })
    }

    proptest! {
        /// Whatever is tried: nothing leaves 已办结; a real-name 差评 closes only
        /// after a call-back or an overturn; an anonymous one never waits for a
        /// call-back; only an overturn excludes, and only once appealed.
        #[test]
        fn random_walks_respect_the_rules(
            real_name in any::<bool>(),
            actions in proptest::collection::vec(any_action(), 0..40),
        ) {
            let mut c = Case::open(real_name);
            let mut called_back = false;
            let mut appeals = 0;
            for a in &actions {
                match c.apply(a) {
                    Ok(step) => {
                        prop_assert!(c.state != State::Closed, "left a closed case");
                        let n = step.next;
                        called_back |= matches!(a, Action::Callback { .. });
                        if matches!(a, Action::Appeal { .. }) { appeals += 1; }
                        prop_assert!(appeals <= 1, "appealed twice");
                        if n.state == State::Closed && real_name && !n.excluded {
                            prop_assert!(called_back, "real-name 差评 closed without a call-back");
                        }
                        if !real_name { prop_assert!(n.state != State::Callback); }
                        if n.excluded {
                            prop_assert!(n.state == State::Closed && n.appealed);
                        }
                        prop_assert_eq!(n.real_name, real_name);
                        if let Some(d) = step.deadline_days {
                            prop_assert!((1..=MAX_DAYS).contains(&d));
                            prop_assert_eq!(n.state, State::Rectify);
                        }
                        c = n;
                    }
                    Err(e) => {
                        if a.note().trim().is_empty() {
                            prop_assert_eq!(e.code(), "missing_field");
                        } else if c.state == State::Closed {
                            prop_assert!(matches!(e.code(), "illegal_transition" | "bad_days"));
                        }
                    }
                }
            }
        }
    }
}
