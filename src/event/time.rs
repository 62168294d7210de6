//! Log time: local wall-clock time, no zone.
//!
//! nginx, Apache and php-fpm all log local time without a zone, so the tool
//! keeps it that way: a [`LocalTime`] is seconds since 1970-01-01T00:00:00
//! *of the log's own clock*, and reports print it back as written.

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};

/// A wall-clock time as written in a log, in seconds (no zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime(pub i64);

impl LocalTime {
    /// From calendar fields; `None` when a field is out of range.
    pub fn from_fields(year: i32, month: u32, day: u32, h: u32, m: u32, s: u32) -> Option<Self> {
        if !(1..=12).contains(&month)
            || !(1..=days_in_month(year, month)).contains(&day)
            || h > 23
            || m > 59
            || s > 60
        {
            return None;
        }
        let days = days_from_civil(year as i64, month, day);
        Some(LocalTime(
            days * 86_400 + h as i64 * 3600 + m as i64 * 60 + s.min(59) as i64,
        ))
    }

    /// From a chrono naive time (user input).
    pub fn from_naive(t: NaiveDateTime) -> Self {
        LocalTime(t.and_utc().timestamp())
    }

    /// The same instant as a chrono value, for formatting.
    pub fn to_naive(self) -> NaiveDateTime {
        DateTime::from_timestamp(self.0, 0)
            .map(|d| d.naive_utc())
            .unwrap_or_default()
    }

    /// ISO 8601 without zone, e.g. `2026-11-20T10:23:45`. Reports print
    /// thousands of these (timelines), so the fields are written directly
    /// rather than through a parsed format string.
    pub fn iso(self) -> String {
        let t = self.to_naive();
        let year = t.year();
        if !(0..=9999).contains(&year) {
            return t.format("%Y-%m-%dT%H:%M:%S").to_string();
        }
        let mut b = *b"0000-00-00T00:00:00";
        let mut put = |at: usize, width: usize, mut v: u32| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, year as u32);
        put(5, 2, t.month());
        put(8, 2, t.day());
        put(11, 2, t.hour());
        put(14, 2, t.minute());
        put(17, 2, t.second());
        b.iter().map(|&c| char::from(c)).collect()
    }

    /// The year, used to complete syslog stamps that have none.
    pub fn year(self) -> i32 {
        self.to_naive().year()
    }

    /// `HH:MM` for compact text output.
    pub fn hh_mm(self) -> String {
        let t = self.to_naive();
        format!("{:02}:{:02}", t.hour(), t.minute())
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
