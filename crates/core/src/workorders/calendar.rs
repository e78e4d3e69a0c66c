//! Working days: weekends off, public holidays off, swapped workdays (调休) on.
//! Deadlines are counted in working days, or in hours that run only on working days.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    holidays: BTreeSet<NaiveDate>,
    workdays: BTreeSet<NaiveDate>,
}

fn day(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn span(y: i32, m: u32, from: u32, to: u32) -> impl Iterator<Item = NaiveDate> {
    (from..=to).filter_map(move |d| day(y, m, d))
}

impl Calendar {
    pub fn new(
        holidays: impl IntoIterator<Item = NaiveDate>,
        workdays: impl IntoIterator<Item = NaiveDate>,
    ) -> Calendar {
        Calendar {
            holidays: holidays.into_iter().collect(),
            workdays: workdays.into_iter().collect(),
        }
    }

    /// The State Council's 2025 holiday arrangement (国办发明电〔2024〕12号).
    pub fn china_2025() -> Calendar {
        let holidays = [
            span(2025, 1, 1, 1),
            span(2025, 1, 28, 31),
            span(2025, 2, 1, 4),
            span(2025, 4, 4, 6),
            span(2025, 5, 1, 5),
            span(2025, 5, 31, 31),
            span(2025, 6, 1, 2),
            span(2025, 10, 1, 8),
        ]
        .into_iter()
        .flatten();
        let workdays = [
            day(2025, 1, 26),
            day(2025, 2, 8),
            day(2025, 4, 27),
            day(2025, 9, 28),
            day(2025, 10, 11),
        ]
        .into_iter()
        .flatten();
        Calendar::new(holidays, workdays)
    }

    pub fn add_holiday(&mut self, d: NaiveDate) {
        self.workdays.remove(&d);
        self.holidays.insert(d);
    }

    pub fn add_workday(&mut self, d: NaiveDate) {
        self.holidays.remove(&d);
        self.workdays.insert(d);
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        !self.holidays.contains(&d) && !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The first working day on or after `d`.
    pub fn next_working_day(&self, d: NaiveDate) -> NaiveDate {
        let mut cur = d;
        for _ in 0..400 {
            if self.is_working_day(cur) {
                return cur;
            }
            cur += Duration::days(1);
        }
        cur
    }

    /// The end (23:59:59) of the `n`th working day after `from`'s day; n = 0 is
    /// the end of `from`'s own day (or of the next working day when it is a day off).
    pub fn deadline_days(&self, from: NaiveDateTime, n: u32) -> NaiveDateTime {
        let mut d = self.next_working_day(from.date());
        for _ in 0..n {
            d = self.next_working_day(d + Duration::days(1));
        }
        d.and_hms_opt(23, 59, 59).unwrap_or(from)
    }

    /// `hours` later, counting only time on working days.
    pub fn deadline_hours(&self, from: NaiveDateTime, hours: u32) -> NaiveDateTime {
        let mut left = Duration::hours(i64::from(hours));
        let mut cur = from;
        for _ in 0..800 {
            if !self.is_working_day(cur.date()) {
                cur = self
                    .next_working_day(cur.date())
                    .and_hms_opt(0, 0, 0)
                    .unwrap_or(cur);
                continue;
            }
            let midnight = (cur.date() + Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .unwrap_or(cur);
            let today = midnight - cur;
            if left <= today {
                return cur + left;
            }
            left -= today;
            cur = midnight;
        }
        cur
    }

    /// Working days strictly after `a`'s day up to and including `b`'s day.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        let mut n = 0;
        let mut d = a + Duration::days(1);
        while d <= b {
            if self.is_working_day(d) {
                n += 1;
            }
            d += Duration::days(1);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    #[test]
    fn weekends_holidays_and_swapped_days() {
        let c = Calendar::china_2025();
        assert!(!c.is_working_day(NaiveDate::from_ymd_opt(2025, 10, 3).unwrap()));
        assert!(
            c.is_working_day(NaiveDate::from_ymd_opt(2025, 9, 28).unwrap()),
            "Sunday made a workday"
        );
        assert!(
            !c.is_working_day(NaiveDate::from_ymd_opt(2025, 6, 7).unwrap()),
            "plain Saturday"
        );
    }

    #[test]
    fn five_working_days_skip_the_national_holiday() {
        let c = Calendar::china_2025();
        // Tuesday 30 Sep + 5 working days: 9 (Thu), 10 (Fri), 11 (Sat, swapped), 13, 14 October.
        assert_eq!(
            c.deadline_days(at(2025, 9, 30, 10), 5),
            at(2025, 10, 14, 23) + Duration::minutes(59) + Duration::seconds(59)
        );
        assert_eq!(
            c.working_days_between(
                NaiveDate::from_ymd_opt(2025, 9, 30).unwrap(),
                NaiveDate::from_ymd_opt(2025, 10, 14).unwrap()
            ),
            5
        );
    }

    #[test]
    fn hours_run_only_on_working_days() {
        let c = Calendar::china_2025();
        // Friday 22:00 + 4 hours: 2 on Friday, then Monday 02:00.
        assert_eq!(c.deadline_hours(at(2025, 6, 6, 22), 4), at(2025, 6, 9, 2));
        assert_eq!(c.deadline_hours(at(2025, 6, 9, 9), 2), at(2025, 6, 9, 11));
        // Same-day matters: n = 0 is the end of today.
        assert_eq!(
            c.deadline_days(at(2025, 6, 9, 9), 0).date(),
            NaiveDate::from_ymd_opt(2025, 6, 9).unwrap()
        );
    }
}
