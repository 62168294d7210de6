//! Timestamps as the logs write them: local time, no zone.
//!
//! nginx, Apache and php-fpm all log local wall-clock time without a zone,
//! so the tool keeps it that way: a [`LocalTime`] is seconds since
//! 1970-01-01T00:00:00 *of the log's own clock*, and reports print it back as
//! written. Parsing is fixed-width digit arithmetic; chrono is only used to
//! render and to read user-supplied times.

use chrono::{NaiveDate, NaiveDateTime};

pub use crate::event::LocalTime;

/// Digits at `b[..n]` as a number; `None` if any is not a digit.
#[inline]
fn digits(b: &[u8], n: usize) -> Option<u32> {
    if b.len() < n {
        return None;
    }
    let mut v = 0u32;
    for &c in &b[..n] {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

/// A day of month that may be space-padded (`" 5"`) or zero-padded (`"05"`).
#[inline]
fn padded_day(b: &[u8]) -> Option<u32> {
    match b {
        [b' ', d, ..] if d.is_ascii_digit() => Some((d - b'0') as u32),
        _ => digits(b, 2),
    }
}

/// `HH:MM:SS` at the start of `b`.
#[inline]
fn hms(b: &[u8]) -> Option<(u32, u32, u32)> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    Some((digits(b, 2)?, digits(&b[3..], 2)?, digits(&b[6..], 2)?))
}

/// Month number of a three-letter English month name.
#[inline]
pub fn month(b: &[u8]) -> Option<u32> {
    let m = match b.get(..3)? {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    Some(m)
}

/// The day of the last date parsed, so that a log's lines (which share
/// their date for hours) skip the calendar arithmetic.
#[derive(Debug, Clone, Default)]
pub struct DateCache {
    date: [u8; 10],
    days: i64,
    /// nginx: the last whole stamp and its time (busy logs write dozens of
    /// lines per second).
    stamp: Remembered<19>,
    /// Common Log Format: the last whole stamp (`06/Dec/2026:10:00:01
    /// +0000`) and its time.
    clf_stamp: Remembered<26>,
    /// Apache: the month, day and time of the last stamp with its year
    /// (`Nov 21 22:21:052025`), and its time.
    apache_second: Remembered<19>,
    /// php-fpm: the last whole stamp (`06-Dec-2026 10:00:01`) and its
    /// time.
    fpm_stamp: Remembered<20>,
    /// Syslog: the last whole stamp (`Dec  6 10:00:01`) and the year it
    /// was given (little-endian), and its time.
    syslog_stamp: Remembered<19>,
    /// Apache 2.4's default line: the first 34 bytes of the last line whose
    /// stamp read, but for the microseconds ([`apache_line_words`]), and
    /// its time.
    apache_line: Option<([u64; 4], LocalTime)>,
}

/// A whole stamp (or the bytes its time depends on) and its time.
type Remembered<const N: usize> = Option<([u8; N], LocalTime)>;

/// The time of `stamp` (the bytes a time depends on) from the cache's
/// `slot` when the line before had the same; else `parse`d, and
/// remembered in `slot` when it reads. The one place that reads and writes
/// the whole-stamp caches of [`DateCache`].
#[inline(always)]
fn remembered<const N: usize>(
    cache: &mut DateCache,
    slot: fn(&mut DateCache) -> &mut Remembered<N>,
    stamp: &[u8; N],
    parse: impl FnOnce(&mut DateCache) -> Option<LocalTime>,
) -> Option<LocalTime> {
    if let Some((last, t)) = slot(cache)
        && last == stamp
    {
        return Some(*t);
    }
    let t = parse(cache)?;
    *slot(cache) = Some((*stamp, t));
    Some(t)
}

impl DateCache {
    /// `HH:MM:SS` on the cached day.
    #[inline]
    fn on_cached_day(&self, b: &[u8]) -> Option<LocalTime> {
        let (h, m, s) = hms(b)?;
        if h > 23 || m > 59 || s > 60 {
            return None;
        }
        Some(LocalTime(
            self.days * 86_400 + h as i64 * 3600 + m as i64 * 60 + s.min(59) as i64,
        ))
    }
}

/// nginx time through a [`DateCache`]; same result as [`nginx`].
#[inline]
pub fn nginx_cached(b: &[u8], cache: &mut DateCache) -> Option<LocalTime> {
    let stamp = b.first_chunk::<19>()?;
    remembered(cache, |c| &mut c.stamp, stamp, |c| nginx_date_cached(b, c))
}

/// [`nginx_cached`] below the whole-stamp cache.
fn nginx_date_cached(b: &[u8], cache: &mut DateCache) -> Option<LocalTime> {
    if b.len() >= 19 && b[..10] == cache.date && b[10] == b' ' {
        return cache.on_cached_day(&b[11..]);
    }
    let t = nginx(b)?;
    cache.date.copy_from_slice(&b[..10]);
    cache.days = t.0.div_euclid(86_400);
    Some(t)
}

/// Apache `ctime` time through a [`DateCache`] keyed by month, day and
/// year; same result as [`apache_ctime`].
#[inline]
pub fn apache_ctime_cached(b: &[u8], cache: &mut DateCache) -> Option<LocalTime> {
    if b.len() >= 24 && b[3] == b' ' && b[10] == b' ' {
        let year_at = b.len() - 4;
        let mut key = [0u8; 10];
        key[..6].copy_from_slice(&b[4..10]);
        key[6..].copy_from_slice(&b[year_at..]);
        if key == cache.date && b[year_at - 1] == b' ' {
            return cache.on_cached_day(&b[11..]);
        }
        let t = apache_ctime(b)?;
        cache.date = key;
        cache.days = t.0.div_euclid(86_400);
        return Some(t);
    }
    apache_ctime(b)
}

/// [`apache_ctime_cached`] of Apache 2.4's stamp with microseconds
/// (`Fri Nov 21 22:21:05.520509 2025`, 31 bytes), whose second is
/// remembered as well: a busy server writes many lines a second, which
/// differ only in the microseconds (and the day name, which no path reads).
/// Same result as [`apache_ctime_cached`] and [`apache_ctime`].
#[inline]
pub fn apache_ctime_micros_cached(b: &[u8; 31], cache: &mut DateCache) -> Option<LocalTime> {
    if !(b[3] == b' ' && b[7] == b' ' && b[10] == b' ' && b[26] == b' ') {
        return apache_ctime_cached(b, cache);
    }
    let mut key = [0u8; 19];
    key[..15].copy_from_slice(&b[4..19]);
    key[15..].copy_from_slice(&b[27..31]);
    remembered(
        cache,
        |c| &mut c.apache_second,
        &key,
        |c| apache_ctime_cached(b, c),
    )
}

/// The first 34 bytes of an Apache 2.4 line, `[Fri Nov 21 22:21:05.520509
/// 2025] `, but for the microseconds (bytes 21 to 26), as four words: the
/// key under which [`apache_line_time`] remembers a line's time.
#[inline(always)]
pub fn apache_line_words(p: &[u8; 34]) -> [u64; 4] {
    let word = |at: usize| u64::from_le_bytes(*p[at..].first_chunk::<8>().unwrap_or(&[0; 8]));
    // Bytes 0..16, 13..21 and 27..34 (the low byte of the last word, the
    // last digit of the microseconds, masked off).
    [word(0), word(8), word(13), word(26) & !0xFF]
}

/// The time of a line whose [`apache_line_words`] are `words`, when they
/// are those of the last line remembered ([`remember_apache_line`]).
#[inline(always)]
pub fn apache_line_time(words: &[u64; 4], cache: &DateCache) -> Option<LocalTime> {
    match cache.apache_line {
        Some((w, t)) if w == *words => Some(t),
        _ => None,
    }
}

/// Remembers the time a line with these [`apache_line_words`] has.
#[inline(always)]
pub fn remember_apache_line(words: [u64; 4], t: LocalTime, cache: &mut DateCache) {
    cache.apache_line = Some((words, t));
}

/// Common Log Format time through a [`DateCache`] keyed by day, month
/// and year (access logs write thousands of lines a second on one date);
/// same result as [`clf`].
#[inline]
pub fn clf_cached(b: &[u8], cache: &mut DateCache) -> Option<LocalTime> {
    // The stamp of the line before, compared as an array: no `memcmp`
    // call, no digits read.
    if let Some(stamp) = b.first_chunk::<26>()
        && b.len() == 26
    {
        return remembered(
            cache,
            |c| &mut c.clf_stamp,
            stamp,
            |c| day_first_cached(b, b'/', b':', clf, c),
        );
    }
    day_first_cached(b, b'/', b':', clf, cache)
}

/// php-fpm time through a [`DateCache`] keyed by day, month and year
/// (a busy pool logs many lines a second on one date); same result as
/// [`php_fpm`].
#[inline]
pub fn php_fpm_cached(b: &[u8], cache: &mut DateCache) -> Option<LocalTime> {
    // The time is that of the first 20 bytes alone.
    let Some(stamp) = b.first_chunk::<20>() else {
        return day_first_cached(b, b'-', b' ', php_fpm, cache);
    };
    remembered(
        cache,
        |c| &mut c.fpm_stamp,
        stamp,
        |c| day_first_cached(b, b'-', b' ', php_fpm, c),
    )
}

/// A `DD<sep>Mon<sep>YYYY<before_clock>HH:MM:SS` time through the cache,
/// `plain` on a new date or anything else.
#[inline]
fn day_first_cached(
    b: &[u8],
    sep: u8,
    before_clock: u8,
    plain: fn(&[u8]) -> Option<LocalTime>,
    cache: &mut DateCache,
) -> Option<LocalTime> {
    if b.len() >= 20 && b[2] == sep && b[6] == sep && b[11] == before_clock {
        let mut key = [sep; 10];
        key[..2].copy_from_slice(&b[..2]);
        key[2..5].copy_from_slice(&b[3..6]);
        key[5..9].copy_from_slice(&b[7..11]);
        if key == cache.date {
            return cache.on_cached_day(&b[12..]);
        }
        let t = plain(b)?;
        cache.date = key;
        cache.days = t.0.div_euclid(86_400);
        return Some(t);
    }
    plain(b)
}

/// ISO-like time through a [`DateCache`] keyed by its date (container
/// runtimes and collectors stamp every line); same result as [`iso`].
#[inline]
pub fn iso_cached(b: &[u8], cache: &mut DateCache) -> Option<LocalTime> {
    if b.len() >= 19 && b[4] == b'-' && b[7] == b'-' && (b[10] == b' ' || b[10] == b'T') {
        if b[..10] == cache.date {
            return cache.on_cached_day(&b[11..]);
        }
        let t = iso(b)?;
        cache.date.copy_from_slice(&b[..10]);
        cache.days = t.0.div_euclid(86_400);
        return Some(t);
    }
    iso(b)
}

/// Classic syslog time through a [`DateCache`] keyed by month, day and
/// the year given; same result as [`syslog`].
#[inline]
pub fn syslog_cached(b: &[u8], year: i32, cache: &mut DateCache) -> Option<LocalTime> {
    // The time is that of the first 15 bytes and the year alone.
    let Some(stamp) = b.first_chunk::<15>() else {
        return syslog(b, year);
    };
    let mut key = [0u8; 19];
    key[..15].copy_from_slice(stamp);
    key[15..].copy_from_slice(&year.to_le_bytes());
    remembered(
        cache,
        |c| &mut c.syslog_stamp,
        &key,
        |c| syslog_date_cached(b, year, c),
    )
}

/// [`syslog_cached`] below the whole-stamp cache.
fn syslog_date_cached(b: &[u8], year: i32, cache: &mut DateCache) -> Option<LocalTime> {
    if b.len() >= 15 && b[3] == b' ' && b[6] == b' ' {
        let mut key = [0u8; 10];
        key[..6].copy_from_slice(&b[..6]);
        key[6..].copy_from_slice(&year.to_le_bytes());
        if key == cache.date {
            return cache.on_cached_day(&b[7..]);
        }
        let t = syslog(b, year)?;
        cache.date = key;
        cache.days = t.0.div_euclid(86_400);
        return Some(t);
    }
    syslog(b, year)
}

/// The microseconds of a fraction that follows a time (`.123456`, `.5`:
/// up to six digits count), or [`NO_MICROS`](crate::event::NO_MICROS)
/// when `b` does not start with one.
#[inline]
pub fn fraction_micros(b: &[u8]) -> u32 {
    let Some(digits) = b.strip_prefix(b".") else {
        return crate::event::NO_MICROS;
    };
    let n = digits
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_digit())
        .count();
    if n == 0 {
        return crate::event::NO_MICROS;
    }
    let v = digits[..n]
        .iter()
        .fold(0u32, |v, &d| v * 10 + u32::from(d - b'0'));
    v * 10u32.pow(6 - n as u32)
}

/// nginx: `2026/11/20 10:23:45` (19 bytes).
pub fn nginx(b: &[u8]) -> Option<LocalTime> {
    if b.len() < 19 || b[4] != b'/' || b[7] != b'/' || b[10] != b' ' {
        return None;
    }
    let (h, m, s) = hms(&b[11..])?;
    LocalTime::from_fields(
        digits(b, 4)? as i32,
        digits(&b[5..], 2)?,
        digits(&b[8..], 2)?,
        h,
        m,
        s,
    )
}

/// ISO-like `2026-11-20 10:23:45` or `2026-11-20T10:23:45` (19 bytes; any
/// fraction or zone after it is the caller's business).
pub fn iso(b: &[u8]) -> Option<LocalTime> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b' ' || b[10] == b'T') {
        return None;
    }
    let (h, m, s) = hms(&b[11..])?;
    LocalTime::from_fields(
        digits(b, 4)? as i32,
        digits(&b[5..], 2)?,
        digits(&b[8..], 2)?,
        h,
        m,
        s,
    )
}

/// Apache `ctime` style inside the brackets: `Fri Nov 20 10:23:45.123456 2026`
/// (2.4) or `Fri Nov 20 10:23:45 2026` (2.2). `b` is the whole bracket
/// content.
pub fn apache_ctime(b: &[u8]) -> Option<LocalTime> {
    // "Fri Nov 20 10:23:45" is 19 bytes, then optional ".uuuuuu", then " 2026".
    if b.len() < 24 || b[3] != b' ' || b[7] != b' ' || b[10] != b' ' {
        return None;
    }
    let mon = month(&b[4..])?;
    let day = padded_day(&b[8..])?;
    let (h, m, s) = hms(&b[11..])?;
    let year_at = b.len().checked_sub(4)?;
    if b[year_at - 1] != b' ' {
        return None;
    }
    LocalTime::from_fields(digits(&b[year_at..], 4)? as i32, mon, day, h, m, s)
}

/// Common Log Format style `01/Mar/2021:12:00:19 +0000`, seen from custom
/// `ErrorLogFormat` settings.
pub fn clf(b: &[u8]) -> Option<LocalTime> {
    if b.len() < 20 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' {
        return None;
    }
    let (h, m, s) = hms(&b[12..])?;
    LocalTime::from_fields(
        digits(&b[7..], 4)? as i32,
        month(&b[3..])?,
        digits(b, 2)?,
        h,
        m,
        s,
    )
}

/// php-fpm: `20-Nov-2026 10:23:45` (20 bytes; a `.uuuuuu` may follow).
pub fn php_fpm(b: &[u8]) -> Option<LocalTime> {
    if b.len() < 20 || b[2] != b'-' || b[6] != b'-' || b[11] != b' ' {
        return None;
    }
    let (h, m, s) = hms(&b[12..])?;
    LocalTime::from_fields(
        digits(&b[7..], 4)? as i32,
        month(&b[3..])?,
        digits(b, 2)?,
        h,
        m,
        s,
    )
}

/// A time of day `10:23:45` (8 bytes) with no date: checked, not placed.
pub fn clock(b: &[u8]) -> Option<(u32, u32, u32)> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = hms(b)?;
    (h < 24 && m < 60 && s < 61).then_some((h, m, s))
}

/// Classic syslog `Nov 20 10:23:45` (15 bytes), which has no year.
pub fn syslog(b: &[u8], year: i32) -> Option<LocalTime> {
    if b.len() < 15 || b[3] != b' ' || b[6] != b' ' {
        return None;
    }
    let (h, m, s) = hms(&b[7..])?;
    LocalTime::from_fields(year, month(b)?, padded_day(&b[4..])?, h, m, s)
}

/// A user-supplied date or date-time, as chrono understands it.
pub fn parse_user(s: &str) -> Option<LocalTime> {
    const FORMATS: &[&str] = &[
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
    ];
    let s = s.trim();
    for f in FORMATS {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(LocalTime::from_naive(t));
        }
    }
    for f in ["%Y-%m-%d", "%Y/%m/%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Some(LocalTime::from_naive(d.and_hms_opt(0, 0, 0)?));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions() {
        use crate::event::NO_MICROS;
        assert_eq!(fraction_micros(b".123456 2026"), 123_456);
        assert_eq!(fraction_micros(b".5"), 500_000);
        assert_eq!(fraction_micros(b".1234567"), 123_456);
        assert_eq!(fraction_micros(b" 2026"), NO_MICROS);
        assert_eq!(fraction_micros(b"."), NO_MICROS);
        assert_eq!(fraction_micros(b""), NO_MICROS);
        let h = crate::parse::apache::head(
            b"[Sun Dec 06 13:00:01.000042 2026] [proxy:error] [pid 1:tid 2] AH00957: x",
        )
        .unwrap();
        assert_eq!(
            (h.time.unwrap().iso().as_str(), h.micros),
            ("2026-12-06T13:00:01", 42)
        );
        let h =
            crate::parse::apache::head(b"[Sun Dec 06 13:00:01 2026] [error] [client 1.2.3.4] x")
                .unwrap();
        assert_eq!(h.micros, NO_MICROS);
        let boot = LocalTime::from_fields(2026, 12, 2, 12, 0, 0).map(|t| t.0);
        let h = crate::parse::kernel::head(b"[14730.412355] Out of memory", boot).unwrap();
        assert_eq!(h.micros, 412_355);
        assert_eq!(
            crate::parse::kernel::head(b"[14730.412355] x", None)
                .unwrap()
                .micros,
            NO_MICROS
        );
    }

    #[test]
    fn iso_agrees_with_chrono_format() {
        let slow = |t: LocalTime| t.to_naive().format("%Y-%m-%dT%H:%M:%S").to_string();
        // Every kind of field boundary: epoch, leap days, centuries, the
        // ends of the four-digit range, and a spread of ordinary times.
        let mut times = vec![0, -1, 86_399, 951_782_400, 4_107_542_399];
        for y in [1, 999, 1900, 2000, 2024, 2100, 9999] {
            let t = LocalTime::from_fields(y, 2, 28, 23, 59, 59).unwrap();
            times.extend([t.0, t.0 + 1, t.0 + 86_400]);
        }
        times.extend((0..5_000).map(|i| 1_700_000_000 + i * 7_919_333));
        for t in times {
            assert_eq!(LocalTime(t).iso(), slow(LocalTime(t)), "{t}");
        }
    }

    #[test]
    fn all_formats_agree_with_chrono() {
        let want = LocalTime::from_naive(
            NaiveDate::from_ymd_opt(2026, 11, 20)
                .unwrap()
                .and_hms_opt(10, 23, 45)
                .unwrap(),
        );
        assert_eq!(nginx(b"2026/11/20 10:23:45"), Some(want));
        assert_eq!(iso(b"2026-11-20T10:23:45"), Some(want));
        assert_eq!(apache_ctime(b"Fri Nov 20 10:23:45.123456 2026"), Some(want));
        assert_eq!(apache_ctime(b"Fri Nov 20 10:23:45 2026"), Some(want));
        assert_eq!(php_fpm(b"20-Nov-2026 10:23:45"), Some(want));
        assert_eq!(syslog(b"Nov 20 10:23:45", 2026), Some(want));
        assert_eq!(clf(b"20/Nov/2026:10:23:45 +0000"), Some(want));
        assert_eq!(want.iso(), "2026-11-20T10:23:45");
    }

    #[test]
    fn the_date_cache_gives_the_same_times() {
        let mut cache = DateCache::default();
        for line in [
            &b"2026/11/20 10:23:45"[..],
            b"2026/11/20 23:59:59",
            b"2026/11/21 00:00:00",
            b"2026/11/21 24:00:00",
            b"2026/11/21 00:61:00",
            b"2026/02/30 00:00:00",
            b"2026/11/21 00:00:01",
        ] {
            assert_eq!(nginx_cached(line, &mut cache), nginx(line), "{line:?}");
        }
        let mut cache = DateCache::default();
        for stamp in [
            &b"Fri Nov 20 10:23:45.123456 2026"[..],
            b"Fri Nov 20 23:59:59.000001 2026",
            b"Fri Nov 20 23:59:59 2026",
            b"Sat Nov 21 00:00:00.5 2026",
            b"Sat Nov 21 25:00:00.5 2026",
            b"Sat Nov 21 00:00:00.5 2027",
            b"Sat Feb 30 00:00:00.5 2027",
        ] {
            assert_eq!(
                apache_ctime_cached(stamp, &mut cache),
                apache_ctime(stamp),
                "{stamp:?}"
            );
        }
    }

    #[test]
    fn padded_days_and_leap_years() {
        let t = syslog(b"Feb  5 00:00:00", 2024).unwrap();
        assert_eq!(t.iso(), "2024-02-05T00:00:00");
        assert!(nginx(b"2024/02/29 00:00:00").is_some());
        assert!(nginx(b"2023/02/29 00:00:00").is_none());
        assert!(nginx(b"2023/13/01 00:00:00").is_none());
        assert!(nginx(b"2023/12/01 24:00:00").is_none());
        assert!(nginx(b"2023/12/01 2x:00:00").is_none());
        assert_eq!(nginx(b"1969/12/31 23:59:59"), Some(LocalTime(-1)));
    }

    #[test]
    fn user_times() {
        assert_eq!(
            parse_user("2026-11-20 10:23").unwrap().iso(),
            "2026-11-20T10:23:00"
        );
        assert_eq!(
            parse_user("2026-11-20").unwrap().iso(),
            "2026-11-20T00:00:00"
        );
        assert!(parse_user("yesterday").is_none());
    }

    #[test]
    fn iso_and_syslog_cached_match_the_plain_forms() {
        let mut cache = DateCache::default();
        for b in [
            "2026-12-06T10:00:01Z",
            "2026-12-06 23:59:59",
            "2026-12-06T23:59:60.5",
            "2026-12-07T00:00:00",
            "2026-12-07T25:00:00",
            "2026-12-07T10:60:00",
            "2026-02-30T10:00:00",
            "2026-12-07X10:00:00",
            "2026-12-0",
        ] {
            assert_eq!(
                iso_cached(b.as_bytes(), &mut cache),
                iso(b.as_bytes()),
                "{b}"
            );
        }
        let mut cache = DateCache::default();
        for (b, year) in [
            ("Dec  6 10:00:01 web1", 2026),
            ("Dec  6 23:59:59 web1", 2026),
            ("Dec  6 23:59:60 web1", 2026),
            ("Dec  6 10:00:01 web1", 2027),
            ("Dec  7 00:00:00", 2027),
            ("Dec  7 24:00:00", 2027),
            ("Feb 29 10:00:00", 2027),
            ("Feb 29 10:00:00", 2028),
            ("Feb 29 10:00:00", 2027),
            ("Dec 17 10:00:00", 2026),
            ("Dec 17 10:00:00", 2026),
            ("Dec 17 10:00:00 x", 2026),
            ("Dec 17 10:00:0x", 2026),
            ("Dec x7 10:00:00", 2026),
            ("Dec 7 10:00:00", 2026),
        ] {
            assert_eq!(
                syslog_cached(b.as_bytes(), year, &mut cache),
                syslog(b.as_bytes(), year),
                "{b} {year}"
            );
        }
    }

    #[test]
    fn php_fpm_cached_matches_php_fpm() {
        let mut cache = DateCache::default();
        for b in [
            "06-Dec-2026 10:00:01",
            "06-Dec-2026 23:59:59",
            "06-Dec-2026 23:59:60",
            "07-Dec-2026 00:00:00",
            "07-Dec-2026 25:00:00",
            "07-Dec-2026 10:61:00",
            "07-Dec-2026 10:00:00.123456",
            "07-Jan-2027 10:00:00",
            "31-Feb-2027 10:00:00",
            "29-Feb-2028 10:00:00",
            "7-Jan-2027 10:00:00",
            "07-Jan-2027T10:00:00",
            "07/Jan/2027:10:00:00",
            "07-Jan-2027 10:00:00",
            "07-Jan-2027 10:00:00.5",
            "07-Jan-2027 10:00:01",
            "07-Jan-2027 10:00:0x",
            "07-Jan-2027 10:00:01",
        ] {
            assert_eq!(
                php_fpm_cached(b.as_bytes(), &mut cache),
                php_fpm(b.as_bytes()),
                "{b}"
            );
        }
    }

    #[test]
    fn clf_cached_matches_clf() {
        let mut cache = DateCache::default();
        for b in [
            "06/Dec/2026:10:00:01 +0000",
            "06/Dec/2026:23:59:59 +0000",
            "07/Dec/2026:00:00:00 +0000",
            "07/Dec/2026:25:00:00 +0000",
            "07/Dec/2026:10:00:00 +0000",
            "07/Jan/2027:10:00:00 +0000",
            "31/Feb/2027:10:00:00 +0000",
            "7/Jan/2027:10:00:00 +0000",
        ] {
            assert_eq!(
                clf_cached(b.as_bytes(), &mut cache),
                clf(b.as_bytes()),
                "{b}"
            );
        }
    }
}
