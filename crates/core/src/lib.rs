//! Shequ's domain: types that can only hold valid values, and the rules over them.
//! Nothing here performs I/O; clocks and randomness are passed in.

pub mod care;
pub mod certificates;
pub mod credit;
pub mod crypto;
pub mod division;
pub mod facility;
pub mod figures;
pub mod geo;
pub mod idcard;
pub mod indicators;
pub mod mask;
pub mod password;
pub mod person;
pub mod phone;
pub mod photo;
pub mod ratings;
pub mod rental;
pub mod rng;
pub mod role;
pub mod surveys;
pub mod timebank;
pub mod validation;
pub mod volunteers;
pub mod workorders;

pub use credit::CreditCode;
pub use crypto::Protector;
pub use division::{DivisionCode, Level};
pub use idcard::IdCardNo;
pub use person::{Gender, Relation, Tag};
pub use phone::Phone;
pub use role::{Capability, Role};
pub use validation::{FieldError, FieldErrors};
