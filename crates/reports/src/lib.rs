//! Tables in and out: reading csv/xlsx uploads into rows with per-row errors,
//! and writing xlsx workbooks with Chinese headers.

pub mod division_figures;
pub mod indicators;
pub mod pdf;
pub mod table;
pub mod xlsx;

pub use table::{Format, RowError, Table, TableError};
