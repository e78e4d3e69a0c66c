//! The working-day calendar as configured: the built-in national arrangement plus
//! the holidays and swapped workdays (调休) stored in `calendar_days`.

use crate::{Conn, DbError, Result};
use chrono::NaiveDate;
use sea_query::{Expr, ExprTrait, Iden, OnConflict, Order as SortOrder, Query};
use serde::Serialize;
use shequ_core::workorders::Calendar;

#[derive(Iden, Clone, Copy)]
enum CalendarDays {
    Table,
    Day,
    Kind,
    Name,
}

/// A configured day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Day {
    pub day: String,
    /// `holiday` or `workday`.
    pub kind: String,
    pub name: String,
}

/// Every configured day, in date order.
pub async fn days(c: &mut Conn<'_>) -> Result<Vec<Day>> {
    let q = Query::select()
        .columns([CalendarDays::Day, CalendarDays::Kind, CalendarDays::Name])
        .from(CalendarDays::Table)
        .order_by(CalendarDays::Day, SortOrder::Asc)
        .to_owned();
    c.fetch_all(&q).await
}

/// The calendar deadlines are counted on.
pub async fn load(c: &mut Conn<'_>) -> Result<Calendar> {
    let mut cal = Calendar::china_2025();
    for d in days(c).await? {
        let Ok(day) = NaiveDate::parse_from_str(&d.day, "%Y-%m-%d") else {
            continue;
        };
        if d.kind == "holiday" {
            cal.add_holiday(day);
        } else {
            cal.add_workday(day);
        }
    }
    Ok(cal)
}

/// Add or change a day.
pub async fn put_day(c: &mut Conn<'_>, day: NaiveDate, holiday: bool, name: &str) -> Result<()> {
    if name.chars().count() > 30 {
        return Err(DbError::invalid("name", "too_long", "名称不能超过 30 个字"));
    }
    let q = Query::insert()
        .into_table(CalendarDays::Table)
        .columns([CalendarDays::Day, CalendarDays::Kind, CalendarDays::Name])
        .values_panic([
            day.format("%Y-%m-%d").to_string().into(),
            if holiday { "holiday" } else { "workday" }.into(),
            name.trim().into(),
        ])
        .on_conflict(
            OnConflict::column(CalendarDays::Day)
                .update_columns([CalendarDays::Kind, CalendarDays::Name])
                .to_owned(),
        )
        .to_owned();
    c.execute(&q).await.map(|_| ())
}

/// Remove a configured day.
pub async fn remove_day(c: &mut Conn<'_>, day: NaiveDate) -> Result<bool> {
    let q = Query::delete()
        .from_table(CalendarDays::Table)
        .and_where(Expr::col(CalendarDays::Day).eq(day.format("%Y-%m-%d").to_string()))
        .to_owned();
    Ok(c.execute(&q).await? > 0)
}
