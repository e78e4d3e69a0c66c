//! Shequ's domain: types that can only hold valid values, and the rules over them.
//! Nothing here performs I/O; clocks and randomness are passed in.

pub mod division;
pub mod figures;
pub mod geo;
pub mod rng;
pub mod validation;

pub use division::{DivisionCode, Level};
pub use validation::{FieldError, FieldErrors};
