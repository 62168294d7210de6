//! Time windows: durations as users write them, bucketing, coarsening.
//!
//! Windows are aligned to multiples of their length since 1970 on the log's
//! own clock, so `10:23:45` falls in the `10:23` window of a 1-minute
//! timeline. When a timeline would hold more windows than
//! [`MAX_WINDOWS`], the window length grows to the next coarser step, which
//! keeps memory bounded for logs spanning months.

use nom::{
    IResult, Parser,
    branch::alt,
    character::complete::{char, digit1},
    combinator::{all_consuming, map_res, opt},
    multi::many1,
};

/// Most windows a timeline keeps before it is coarsened.
pub const MAX_WINDOWS: usize = 10_000;

/// Steps tried when coarsening, in seconds.
const STEPS: &[i64] = &[
    1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
    604_800,
];

/// Parses `30s`, `1m`, `5m`, `1h30m`, `2d` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Option<i64> {
    fn part(i: &str) -> IResult<&str, i64> {
        let (i, n) = map_res(digit1, str::parse::<i64>).parse(i)?;
        let (i, unit) =
            opt(alt((char('s'), char('m'), char('h'), char('d'), char('w')))).parse(i)?;
        let mult = match unit {
            None | Some('s') => 1,
            Some('m') => 60,
            Some('h') => 3600,
            Some('d') => 86_400,
            _ => 604_800,
        };
        Ok((i, n.saturating_mul(mult)))
    }
    let (_, parts) = all_consuming(many1(part)).parse(s.trim()).ok()?;
    let total = parts.into_iter().fold(0i64, i64::saturating_add);
    (total > 0).then_some(total)
}

/// Renders a duration compactly (`90` -> `1m30s`).
pub fn format_duration(secs: i64) -> String {
    let mut out = String::new();
    let mut rest = secs;
    for (unit, len) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if rest >= len {
            out.push_str(&format!("{}{unit}", rest / len));
            rest %= len;
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

/// Start of the window holding `t`.
#[inline]
pub fn bucket(t: i64, window: i64) -> i64 {
    t.div_euclid(window) * window
}

/// The next window length after `window`: the smallest step that is a
/// multiple of it, at least twice and at most twelve times as long (so old
/// buckets merge exactly); twice the length when no step fits.
pub fn coarser(window: i64) -> i64 {
    STEPS
        .iter()
        .copied()
        .find(|&s| s >= window * 2 && s <= window.saturating_mul(12) && s % window == 0)
        .unwrap_or(window.saturating_mul(2))
}

/// The shortest window that holds a whole number of windows of `a` and of
/// `b` (their least common multiple): the coarser one when one is a
/// multiple of the other, whichever comes first.
pub fn common(a: i64, b: i64) -> i64 {
    let (a, b) = (a.max(1), b.max(1));
    let gcd = {
        let (mut x, mut y) = (a, b);
        while y != 0 {
            (x, y) = (y, x % y);
        }
        x
    };
    (a / gcd).saturating_mul(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1m"), Some(60));
        assert_eq!(parse_duration("90"), Some(90));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("2d"), Some(172_800));
        assert_eq!(parse_duration("0m"), None);
        assert_eq!(parse_duration("1x"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(format_duration(5400), "1h30m");
        assert_eq!(format_duration(60), "1m");
    }

    #[test]
    fn buckets_align() {
        assert_eq!(bucket(125, 60), 120);
        assert_eq!(bucket(-1, 60), -60);
        assert_eq!(coarser(60), 120);
        assert_eq!(coarser(120), 600);
        assert_eq!(coarser(300), 600);
        assert_eq!(coarser(7 * 60), 7 * 60 * 2);
    }

    #[test]
    fn common_window_is_the_coarser_whatever_the_order() {
        assert_eq!(common(60, 300), 300);
        assert_eq!(common(300, 60), 300);
        assert_eq!(common(60, 60), 60);
        assert_eq!(common(300, 420), 2100);
        assert_eq!(common(420, 300), 2100);
    }
}
