//! The lifecycle 受理 → 派单 → 签收 → 办理 → 回复 → 办结 → 回访 → 评价, with 退单,
//! 延期, 催办/督办, 转办, 重办 and merging. Every allowed step is listed in
//! [`State::apply`]; anything else is refused.

use serde::{Deserialize, Serialize};

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// 受理: taken in, waiting for the dispatcher.
    Accepted,
    /// 派单: sent to a responsible unit, waiting for it to sign.
    Dispatched,
    /// 签收: the unit has accepted it.
    Signed,
    /// 办理: being handled.
    Processing,
    /// 回复: the unit has answered the resident.
    Replied,
    /// 办结: closed by the unit.
    Closed,
    /// 回访: the resident has been called back.
    Visited,
    /// 评价: rated by the resident (final).
    Rated,
    /// 合并: merged into another order (final).
    Merged,
}

impl State {
    pub const ALL: [State; 9] = [
        State::Accepted,
        State::Dispatched,
        State::Signed,
        State::Processing,
        State::Replied,
        State::Closed,
        State::Visited,
        State::Rated,
        State::Merged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Accepted => "accepted",
            State::Dispatched => "dispatched",
            State::Signed => "signed",
            State::Processing => "processing",
            State::Replied => "replied",
            State::Closed => "closed",
            State::Visited => "visited",
            State::Rated => "rated",
            State::Merged => "merged",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The state's name in Chinese, as staff see it.
    pub fn label(self) -> &'static str {
        match self {
            State::Accepted => "已受理",
            State::Dispatched => "待签收",
            State::Signed => "已签收",
            State::Processing => "办理中",
            State::Replied => "已回复",
            State::Closed => "已办结",
            State::Visited => "已回访",
            State::Rated => "已评价",
            State::Merged => "已合并",
        }
    }

    /// Plain words for the resident's timeline.
    pub fn for_resident(self) -> &'static str {
        match self {
            State::Accepted => "您的诉求已收到，正在分派",
            State::Dispatched => "已交给负责单位",
            State::Signed => "负责单位已接手",
            State::Processing => "正在办理",
            State::Replied => "负责单位已答复您",
            State::Closed => "已办结",
            State::Visited => "已回访",
            State::Rated => "您已评价，感谢",
            State::Merged => "与其他相同诉求合并办理",
        }
    }

    /// Whether the order is still open (counts toward queues and deadlines).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            State::Closed | State::Visited | State::Rated | State::Merged
        )
    }
}

/// Something that happens to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// 派单 to a unit (a division code or department id).
    Dispatch {
        unit: String,
    },
    /// 签收.
    Sign,
    /// 退单: not this unit's duty; back to the dispatcher, with a reason.
    Return {
        reason: String,
    },
    /// Start work.
    Start,
    /// 回复 the resident.
    Reply {
        text: String,
    },
    /// 办结.
    Close {
        summary: String,
    },
    /// 回访.
    Visit {
        note: String,
        /// The resident's answer to "是否解决", when given.
        solved: Option<bool>,
    },
    /// 评价, 1 (非常满意) … 5 (非常不满意).
    Rate {
        level: u8,
        solved: Option<bool>,
    },
    /// 申请延期, by working days.
    RequestExtension {
        days: u16,
        reason: String,
    },
    ApproveExtension,
    RefuseExtension {
        reason: String,
    },
    /// 催办 / 督办: recorded, no change of state.
    Urge {
        note: String,
    },
    Supervise {
        note: String,
    },
    /// 转办 to another unit.
    Transfer {
        unit: String,
        reason: String,
    },
    /// 重办: reopen on dissatisfaction or "not solved".
    Reopen {
        reason: String,
    },
    /// Merge into another order.
    Merge {
        into: i64,
    },
}

impl Action {
    /// Stable code of the action (stored with each event).
    pub fn code(&self) -> &'static str {
        match self {
            Action::Dispatch { .. } => "dispatch",
            Action::Sign => "sign",
            Action::Return { .. } => "return",
            Action::Start => "start",
            Action::Reply { .. } => "reply",
            Action::Close { .. } => "close",
            Action::Visit { .. } => "visit",
            Action::Rate { .. } => "rate",
            Action::RequestExtension { .. } => "request_extension",
            Action::ApproveExtension => "approve_extension",
            Action::RefuseExtension { .. } => "refuse_extension",
            Action::Urge { .. } => "urge",
            Action::Supervise { .. } => "supervise",
            Action::Transfer { .. } => "transfer",
            Action::Reopen { .. } => "reopen",
            Action::Merge { .. } => "merge",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Action::Dispatch { .. } => "派单",
            Action::Sign => "签收",
            Action::Return { .. } => "退单",
            Action::Start => "开始办理",
            Action::Reply { .. } => "回复",
            Action::Close { .. } => "办结",
            Action::Visit { .. } => "回访",
            Action::Rate { .. } => "评价",
            Action::RequestExtension { .. } => "申请延期",
            Action::ApproveExtension => "同意延期",
            Action::RefuseExtension { .. } => "不同意延期",
            Action::Urge { .. } => "催办",
            Action::Supervise { .. } => "督办",
            Action::Transfer { .. } => "转办",
            Action::Reopen { .. } => "重办",
            Action::Merge { .. } => "合并",
        }
    }

    /// Check the action's own fields (reasons present, levels in range).
    fn check(&self) -> Result<(), TransitionError> {
        let blank = |s: &str| s.trim().is_empty();
        match self {
            Action::Dispatch { unit } | Action::Transfer { unit, .. } if blank(unit) => {
                Err(TransitionError::Missing("unit"))
            }
            Action::Return { reason }
            | Action::Reopen { reason }
            | Action::RefuseExtension { reason }
                if blank(reason) =>
            {
                Err(TransitionError::Missing("reason"))
            }
            Action::Transfer { reason, .. } if blank(reason) => {
                Err(TransitionError::Missing("reason"))
            }
            Action::Reply { text } if blank(text) => Err(TransitionError::Missing("text")),
            Action::RequestExtension { days, reason }
                if *days == 0 || *days > 10 || blank(reason) =>
            {
                Err(TransitionError::BadExtension)
            }
            Action::Rate { level, .. } if !(1..=5).contains(level) => {
                Err(TransitionError::BadRating)
            }
            _ => Ok(()),
        }
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("当前状态“{0}”下不能“{1}”")]
    NotAllowed(&'static str, &'static str),
    #[error("缺少必填内容：{0}")]
    Missing(&'static str),
    #[error("延期应为 1–10 个工作日，并说明理由")]
    BadExtension,
    #[error("评价应为 1（非常满意）到 5（非常不满意）")]
    BadRating,
    #[error("已有待审批的延期申请")]
    ExtensionPending,
    #[error("没有待审批的延期申请")]
    NoExtensionPending,
}

impl TransitionError {
    pub fn code(&self) -> &'static str {
        match self {
            TransitionError::NotAllowed(..) => "illegal_transition",
            TransitionError::Missing(_) => "missing_field",
            TransitionError::BadExtension => "bad_extension",
            TransitionError::BadRating => "bad_rating",
            TransitionError::ExtensionPending => "extension_pending",
            TransitionError::NoExtensionPending => "no_extension_pending",
        }
    }
}

impl State {
    /// The state after `action`, given whether an extension request is pending.
    pub fn apply(self, action: &Action, extension_pending: bool) -> Result<State, TransitionError> {
        use Action as A;
        use State as S;
        action.check()?;
        let next = match (self, action) {
            (S::Accepted, A::Dispatch { .. }) => S::Dispatched,
            (S::Dispatched, A::Sign) => S::Signed,
            (S::Dispatched | S::Signed, A::Return { .. }) => S::Accepted,
            (S::Signed, A::Start) => S::Processing,
            (S::Signed | S::Processing, A::Reply { .. }) => S::Replied,
            (S::Replied, A::Close { .. }) => S::Closed,
            (S::Closed, A::Visit { .. }) => S::Visited,
            (S::Closed | S::Visited, A::Rate { .. }) => S::Rated,
            (S::Signed | S::Processing, A::RequestExtension { .. }) if extension_pending => {
                return Err(TransitionError::ExtensionPending);
            }
            (S::Signed | S::Processing, A::RequestExtension { .. }) => self,
            (s, A::ApproveExtension | A::RefuseExtension { .. })
                if s.is_open() && !extension_pending =>
            {
                return Err(TransitionError::NoExtensionPending);
            }
            (s, A::ApproveExtension | A::RefuseExtension { .. }) if s.is_open() => self,
            (s, A::Urge { .. } | A::Supervise { .. }) if s.is_open() => self,
            (S::Dispatched | S::Signed | S::Processing, A::Transfer { .. }) => S::Dispatched,
            (S::Replied | S::Closed | S::Visited | S::Rated, A::Reopen { .. }) => S::Dispatched,
            (S::Accepted | S::Dispatched, A::Merge { .. }) => S::Merged,
            (s, a) => return Err(TransitionError::NotAllowed(s.label(), a.label())),
        };
        Ok(next)
    }
}

/// The five 好差评 levels.
pub const RATING_LABELS: [&str; 5] = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"];

/// Whether a rating is a 差评 (the bottom two levels).
pub fn is_bad_rating(level: u8) -> bool {
    level >= 4
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn go(mut s: State, steps: &[Action]) -> Result<State, TransitionError> {
        for a in steps {
            s = s.apply(a, false)?;
        }
        Ok(s)
    }

    #[test]
    fn the_whole_happy_path() {
        let steps = [
            Action::Dispatch {
                unit: "430502001001".into(),
            },
            Action::Sign,
            Action::Start,
            Action::Reply {
                text: "已修复路灯".into(),
            },
            Action::Close {
                summary: "办结".into(),
            },
            Action::Visit {
                note: "居民满意".into(),
                solved: Some(true),
            },
            Action::Rate {
                level: 1,
                solved: None,
            },
        ];
        assert_eq!(go(State::Accepted, &steps), Ok(State::Rated));
    }

    #[test]
    fn illegal_steps_are_refused() {
        assert_eq!(
            State::Dispatched
                .apply(
                    &Action::Close {
                        summary: "x".into()
                    },
                    false
                )
                .unwrap_err()
                .code(),
            "illegal_transition"
        );
        assert!(
            State::Rated
                .apply(
                    &Action::Rate {
                        level: 2,
                        solved: None
                    },
                    false
                )
                .is_err(),
            "rating twice"
        );
        assert!(State::Accepted.apply(&Action::Sign, false).is_err());
        assert_eq!(
            State::Signed.apply(&Action::Return { reason: " ".into() }, false),
            Err(TransitionError::Missing("reason"))
        );
        assert_eq!(
            State::Closed.apply(
                &Action::Rate {
                    level: 6,
                    solved: None
                },
                false
            ),
            Err(TransitionError::BadRating)
        );
        assert_eq!(
            State::Processing.apply(
                &Action::RequestExtension {
                    days: 11,
                    reason: "复杂".into()
                },
                false
            ),
            Err(TransitionError::BadExtension)
        );
        assert_eq!(
            State::Processing.apply(
                &Action::RequestExtension {
                    days: 3,
                    reason: "复杂".into()
                },
                true
            ),
            Err(TransitionError::ExtensionPending)
        );
        assert_eq!(
            State::Processing.apply(&Action::ApproveExtension, false),
            Err(TransitionError::NoExtensionPending)
        );
    }

    #[test]
    fn returns_transfers_reopens_and_merges() {
        assert_eq!(
            State::Signed.apply(
                &Action::Return {
                    reason: "不属本单位职责".into()
                },
                false
            ),
            Ok(State::Accepted)
        );
        assert_eq!(
            State::Processing.apply(
                &Action::Transfer {
                    unit: "dept:water".into(),
                    reason: "供水问题".into()
                },
                false
            ),
            Ok(State::Dispatched)
        );
        assert_eq!(
            State::Rated.apply(
                &Action::Reopen {
                    reason: "问题未解决".into()
                },
                false
            ),
            Ok(State::Dispatched)
        );
        assert_eq!(
            State::Accepted.apply(&Action::Merge { into: 7 }, false),
            Ok(State::Merged)
        );
        assert!(
            State::Merged
                .apply(&Action::Urge { note: "x".into() }, false)
                .is_err()
        );
        assert_eq!(
            State::Processing.apply(
                &Action::Urge {
                    note: "请尽快".into()
                },
                false
            ),
            Ok(State::Processing)
        );
    }

    fn any_action() -> impl Strategy<Value = Action> {
        prop_oneof![
            Just(Action::Dispatch { unit: "u".into() }),
            Just(Action::Sign),
            Just(Action::Return { reason: "r".into() }),
            Just(Action::Start),
            Just(Action::Reply { text: "t".into() }),
            Just(Action::Close {
                summary: "s".into()
            }),
            Just(Action::Visit {
                note: "n".into(),
                solved: Some(true)
            }),
            (1u8..=5).prop_map(|level| Action::Rate {
                level,
                solved: None
            }),
            Just(Action::Urge { note: "n".into() }),
            Just(Action::Transfer {
                unit: "u".into(),
                reason: "r".into()
            }),
            Just(Action::Reopen { reason: "r".into() }),
            Just(Action::Merge { into: 1 }),
        ]
    }

    proptest! {
        /// Whatever is tried, a merged or rated order only leaves its state by a reopen,
        /// and no action ever leads back to 受理 except a 退单.
        #[test]
        fn random_walks_respect_the_rules(actions in proptest::collection::vec(any_action(), 0..40)) {
            let mut s = State::Accepted;
            for a in &actions {
                if let Ok(next) = s.apply(a, false) {
                    if s == State::Merged { prop_assert!(false, "left a merged order"); }
                    let reopen = matches!(a, Action::Reopen { .. });
                    let returned = matches!(a, Action::Return { .. });
                    if s == State::Rated { prop_assert!(reopen, "a rated order changed without a reopen"); }
                    if next == State::Accepted && s != State::Accepted { prop_assert!(returned, "back to 受理 without a 退单"); }
                    s = next;
                }
            }
        }
    }
}
