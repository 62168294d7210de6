//! php-fpm's slowlog (`slowlog = FILE` with `request_slowlog_timeout`): an
//! entry per request still running after the timeout, written by the
//! master as it traces the worker. A blank line, then
//!
//! ```text
//! [06-Dec-2026 13:58:01]  [pool reports] pid 1238
//! script_filename = /var/www/report.php
//! [0x00007f1b77e13170] sleep() /var/www/report.php:3
//! [0x00007f1b77e13100] build_report() /var/www/report.php:7
//! ```
//!
//! (two spaces after the time; the PHP stack, newest frame first). The
//! entry is one record: its first line opens it and the blank line after
//! its stack, or the next entry, ends it (see [`super::record_closes`]).

use super::head::Head;
use super::time;
use crate::event::Server;

/// The level an entry's head is given: the slowlog has none, and php-fpm's
/// error log never writes this one.
pub const LEVEL: &[u8] = b"slowlog";

/// An entry's first line: `[time]  [pool NAME] pid N`.
#[inline]
pub fn head(line: &[u8]) -> Option<Head<'_>> {
    let b = line.strip_prefix(b"[")?;
    let t = time::php_fpm(b)?;
    let close = memchr::memchr(b']', &b[..b.len().min(32)])?;
    let body = b[close + 1..].strip_prefix(b"  ")?;
    if !body.starts_with(b"[pool ") {
        return None;
    }
    let pool_end = memchr::memchr(b']', body)?;
    if !body[pool_end + 1..].starts_with(b" pid ") {
        return None;
    }
    Some(Head {
        server: Server::PhpFpm,
        micros: crate::event::NO_MICROS,
        time: Some(t),
        level: LEVEL,
        module: b"",
        pid: None,
        tid: None,
        cid: None,
        body,
    })
}

/// Whether `line` is an entry's first line (it opens a record).
#[inline]
pub fn is_head(line: &[u8]) -> bool {
    line.first() == Some(&b'[') && head(line).is_some()
}

/// The script of an entry (`script_filename = PATH`) and its newest
/// frame (`sleep() /var/www/report.php:3`), from the joined record.
pub fn script_and_frame(record: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
    let line_after = |key: &[u8]| -> Option<&[u8]> {
        let i = crate::bytes::find(record, key)? + key.len();
        let rest = &record[i..];
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        Some(rest[..end].trim_ascii_end())
    };
    let script = line_after(b"\nscript_filename = ");
    let frame = line_after(b"\n[0x").and_then(|f| {
        let close = memchr::memchr(b']', f)?;
        Some(f[close + 1..].trim_ascii_start())
    });
    (script, frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry() {
        let h = head(b"[06-Dec-2026 13:58:01]  [pool reports] pid 1238").unwrap();
        assert_eq!(h.time.unwrap().iso(), "2026-12-06T13:58:01");
        assert_eq!((h.server, h.level), (Server::PhpFpm, LEVEL));
        assert_eq!(h.body, b"[pool reports] pid 1238");
        // php-fpm's error log, and the entry's other lines, are not heads.
        assert!(
            head(b"[06-Dec-2026 13:58:01] WARNING: [pool reports] child 1238 exited").is_none()
        );
        assert!(head(b"[0x00007f1b77e13170] sleep() /var/www/report.php:3").is_none());
        assert!(head(b"script_filename = /var/www/report.php").is_none());
        assert!(head(b"[06-Dec-2026 13:58:01]  [pool reports] child 3").is_none());
        let record = b"[06-Dec-2026 13:58:01]  [pool reports] pid 1238\nscript_filename = /var/www/report.php\n[0x00007f1b77e13170] sleep() /var/www/report.php:3\n[0x00007f1b77e13100] build_report() /var/www/report.php:7\n";
        assert_eq!(
            script_and_frame(record),
            (
                Some(&b"/var/www/report.php"[..]),
                Some(&b"sleep() /var/www/report.php:3"[..])
            )
        );
    }
}
