//! php-fpm's own log: `[20-Nov-2026 10:23:45] WARNING: [pool www] message`.
//!
//! With `log_level = debug` the time gets microseconds and the message a
//! `pid N, function(), line N: ` prefix; through syslog the time is gone and
//! the level is bracketed (`[WARNING] [pool www] ...`).

use super::head::Head;
use super::time;
use crate::event::Server;

/// The prefix: `[time] LEVEL: `, or `[LEVEL] ` under syslog.
pub fn head(line: &[u8]) -> Option<Head<'_>> {
    head_cached(line, &mut time::DateCache::default())
}

/// [`head`] with the date of the previous line remembered in `dates`.
#[inline]
pub fn head_cached<'a>(line: &'a [u8], dates: &mut time::DateCache) -> Option<Head<'a>> {
    let b = line.strip_prefix(b"[")?;
    if let Some(t) = time::php_fpm_cached(b, dates) {
        // The bracket closes right after the 20 bytes of the time, or
        // after its microseconds.
        let close = if b.get(20) == Some(&b']') {
            20
        } else {
            memchr::memchr(b']', &b[..b.len().min(32)])?
        };
        let rest = b[close + 1..].strip_prefix(b" ")?;
        let level = level_before_colon(rest)?;
        let body = &rest[level.len() + 1..];
        return Some(make(
            Some(t),
            level,
            body.strip_prefix(b" ").unwrap_or(body),
        ));
    }
    // Syslog form, no time.
    let close = memchr::memchr(b']', &b[..b.len().min(10)])?;
    let level = &b[..close];
    if !is_level(level) {
        return None;
    }
    let body = &b[close + 1..];
    Some(make(None, level, body.strip_prefix(b" ").unwrap_or(body)))
}

/// [`head_cached`] of the usual line alone, `[20-Nov-2026 10:23:45]
/// LEVEL: ...` (a time of 20 bytes, no microseconds), small enough to be
/// built in place by the caller; `None` for anything else, which
/// [`head_cached`] then reads (to the same answer where this gives one, and
/// with the same date remembered).
#[inline(always)]
pub fn head_plain_cached<'a>(line: &'a [u8], dates: &mut time::DateCache) -> Option<Head<'a>> {
    if line.get(21) != Some(&b']') || line.get(22) != Some(&b' ') {
        return None;
    }
    let t = time::php_fpm_cached(&line[1..], dates)?;
    let rest = &line[23..];
    let level = level_before_colon(rest)?;
    let body = &rest[level.len() + 1..];
    Some(make(
        Some(t),
        level,
        body.strip_prefix(b" ").unwrap_or(body),
    ))
}

/// A fragment whose time was cut off: `WARNING: [pool www] ...`.
pub fn head_without_time(b: &[u8]) -> Option<Head<'_>> {
    let colon = memchr::memchr(b':', &b[..b.len().min(8)])?;
    let level = &b[..colon];
    if !is_level(level) {
        return None;
    }
    let body = b[colon + 1..].strip_prefix(b" ")?;
    Some(make(None, level, body))
}

/// The level `b` starts with, when a colon follows it: what
/// [`is_level`] accepts of the text before the first colon.
#[inline]
fn level_before_colon(b: &[u8]) -> Option<&[u8]> {
    // Each a comparison of known length: no call.
    let n = match b.first()? {
        b'N' if b.starts_with(b"NOTICE:") => 6,
        b'W' if b.starts_with(b"WARNING:") => 7,
        b'E' if b.starts_with(b"ERROR:") => 5,
        b'D' if b.starts_with(b"DEBUG:") => 5,
        b'A' if b.starts_with(b"ALERT:") => 5,
        _ => return None,
    };
    Some(&b[..n])
}

fn is_level(l: &[u8]) -> bool {
    matches!(l, b"DEBUG" | b"NOTICE" | b"WARNING" | b"ERROR" | b"ALERT")
}

fn make<'a>(time: Option<time::LocalTime>, level: &'a [u8], body: &'a [u8]) -> Head<'a> {
    Head {
        server: Server::PhpFpm,
        micros: crate::event::NO_MICROS,
        time,
        level,
        module: b"",
        pid: None,
        tid: None,
        cid: None,
        body,
    }
}

/// The message, with the pool it names.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Body<'a> {
    /// `www` in `[pool www]`.
    pub pool: Option<&'a [u8]>,
    /// The text after the pool.
    pub message: &'a [u8],
}

impl<'a> Body<'a> {
    /// Splits the pool off the message.
    pub fn parse(body: &'a [u8]) -> Body<'a> {
        // Debug lines: "pid 12, fpm_children_make(), line 409: [pool www] ...".
        let mut b = body;
        if b.starts_with(b"pid ")
            && let Some(i) = crate::bytes::find(&b[..b.len().min(96)], b": ")
        {
            b = &b[i + 2..];
        }
        if let Some(rest) = b.strip_prefix(b"[pool ")
            && let Some(close) = crate::bytes::find_byte(b']', rest)
        {
            let msg = &rest[close + 1..];
            return Body {
                pool: Some(&rest[..close]),
                message: msg.strip_prefix(b" ").unwrap_or(msg),
            };
        }
        Body {
            pool: None,
            message: b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let h = head(b"[20-Nov-2026 10:23:45] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it").unwrap();
        assert_eq!(h.level, b"WARNING");
        let b = Body::parse(h.body);
        assert_eq!(b.pool, Some(&b"www"[..]));
        assert!(b.message.starts_with(b"server reached"));
        let h = head(b"[20-Nov-2026 10:23:45.123456] DEBUG: pid 12, fpm_children_make(), line 409: [pool api] child 5 started").unwrap();
        assert_eq!(Body::parse(h.body).pool, Some(&b"api"[..]));
        let h = head(b"[WARNING] [pool www] child 7 exited on signal 11 (SIGSEGV) after 1.000000 seconds from start").unwrap();
        assert_eq!(h.time, None);
        assert!(head(b"[20-Nov-2026 10:23:45] Warning: x").is_none());
        assert!(head(b"[20-Nov-2026 10:23:45] WARNING x: y").is_none());
        assert!(head(b"[error] 1#1: x").is_none());
    }

    /// The usual line read in place gives what [`head_cached`] gives, or
    /// nothing, and leaves the same date remembered.
    #[test]
    fn plain_head_matches_head_cached() {
        let lines = [
            "[20-Nov-2026 10:23:45] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it",
            "[20-Nov-2026 10:23:45] NOTICE: [pool www] child 7 started",
            "[20-Nov-2026 10:23:46] ERROR: unable to bind listening socket",
            "[20-Nov-2026 10:23:46] ALERT: oops",
            "[20-Nov-2026 10:23:46] DEBUG:x",
            "[20-Nov-2026 10:23:46] DEBUG:",
            "[21-Nov-2026 00:00:00] NOTICE: ready to handle connections",
            "[20-Nov-2026 10:23:45.123456] DEBUG: pid 12, fpm_children_make(), line 409: [pool api] child 5 started",
            "[20-Nov-2026 10:23:45] Warning: x",
            "[20-Nov-2026 10:23:45] WARNING x: y",
            "[20-Nov-2026 10:23:45]WARNING: x",
            "[20-Nov-2026 10:23:4] WARNING: x",
            "[20-Nov-2026 25:23:45] WARNING: x",
            "[20-Xyz-2026 10:23:45] WARNING: x",
            "[20-Nov-2026 10:23:45] ",
            "[20-Nov-2026 10:23:45]",
            "[WARNING] [pool www] child 7 exited on signal 11 (SIGSEGV) after 1.000000 seconds from start",
            "[error] 1#1: x",
            "[Fri Nov 21 22:21:05.520509 2025] [proxy:error] [pid 1] AH00957: x",
            "[",
            "",
        ];
        let mut fast_dates = time::DateCache::default();
        let mut plain_dates = time::DateCache::default();
        for l in lines {
            let fast = head_plain_cached(l.as_bytes(), &mut fast_dates);
            let plain = head_cached(l.as_bytes(), &mut plain_dates);
            if fast.is_some() {
                assert_eq!(fast, plain, "{l}");
            }
            // What the caller asks next, the plain reading, finds the same.
            assert_eq!(
                head_cached(l.as_bytes(), &mut fast_dates),
                head_cached(l.as_bytes(), &mut time::DateCache::default()),
                "{l}"
            );
        }
        assert!(head_plain_cached(lines[0].as_bytes(), &mut fast_dates).is_some());
        assert!(head_plain_cached(lines[7].as_bytes(), &mut fast_dates).is_none());
    }

    /// A pool's name longer than a search block is read whole.
    #[test]
    fn a_long_pool_name_is_read_whole() {
        let b = Body::parse(b"[pool a-very-long-pool-name-of-forty-bytes-x] child 1 started");
        assert_eq!(b.pool, Some(&b"a-very-long-pool-name-of-forty-bytes-x"[..]));
        assert_eq!(b.message, b"child 1 started");
    }

    /// The level read in place is the one the plain search for the first
    /// colon and the level check give.
    #[test]
    fn level_before_colon_matches_the_plain_check() {
        fn plain(rest: &[u8]) -> Option<&[u8]> {
            let colon = memchr::memchr(b':', &rest[..rest.len().min(10)])?;
            is_level(&rest[..colon]).then(|| &rest[..colon])
        }
        for l in [
            "NOTICE: x",
            "WARNING: x",
            "ERROR: x",
            "DEBUG: x",
            "ALERT: x",
            "NOTICE:",
            "NOTICE",
            "NOTICEx: x",
            "NOTIC: x",
            "WARNING : x",
            "Warning: x",
            "ALERTS: x",
            "E: x",
            "",
            ": x",
            "WARNINGWARNING: x",
            "D:E:B",
            "DEBUG:: x",
            "N",
            "ERROR:",
        ] {
            assert_eq!(level_before_colon(l.as_bytes()), plain(l.as_bytes()), "{l}");
        }
    }
}
