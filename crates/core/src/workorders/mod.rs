//! 接诉即办 work orders: the lifecycle as an explicit state machine, and deadlines
//! on a working-day calendar.

pub mod calendar;
pub mod lifecycle;
pub mod sanlv;

pub use calendar::Calendar;
pub use lifecycle::{Action, State, TransitionError};
