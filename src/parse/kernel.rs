//! The kernel log: `dmesg` (`[12345.678901] message`, the seconds since
//! boot), `dmesg -T` (`[Sun Dec  6 10:23:45 2026] message`), and through
//! syslog or journald (`/var/log/kern.log`, `journalctl -k` in its short
//! and ISO forms: `Dec  6 10:23:45 host kernel: [12345.678] message`),
//! whose envelope [`super::envelope`] reads and whose time it gives.
//!
//! The seconds since boot are a time only with the boot time: a line that
//! has nothing else is placed at `boot + seconds` when `--boot-time` says
//! when that was, and is left untimed otherwise, never guessed.

use super::head::Head;
use super::time;
use crate::event::{LocalTime, Server};

/// A `dmesg` line: `[uptime] message` (placed with `boot`, the boot time
/// in seconds, when known) or `[ctime] message` (`dmesg -T`).
#[inline]
pub fn head(line: &[u8], boot: Option<i64>) -> Option<Head<'_>> {
    let b = line.strip_prefix(b"[")?;
    let close = memchr::memchr(b']', &b[..b.len().min(32)])?;
    let inside = &b[..close];
    let rest = b[close + 1..].strip_prefix(b" ")?;
    let mut micros = crate::event::NO_MICROS;
    let time = if let Some(secs) = uptime(inside) {
        let t = boot.map(|t| LocalTime(t.saturating_add(secs)));
        if t.is_some() {
            // The stamp's fraction is of the boot's second: placed at a
            // whole boot time, it is the line's.
            let dot = memchr::memchr(b'.', inside).unwrap_or(inside.len());
            micros = time::fraction_micros(&inside[dot..]);
        }
        t
    } else {
        Some(time::apache_ctime(inside)?)
    };
    Some(Head {
        micros,
        ..make(time, rest)
    })
}

/// A kernel message inside a syslog or journald envelope (the tag was
/// `kernel:`): the uptime stamp, when the message has one, is dropped,
/// as the envelope's time is the wall time.
#[inline]
pub fn in_envelope(msg: &[u8]) -> Head<'_> {
    if let Some(b) = msg.strip_prefix(b"[")
        && let Some(close) = crate::bytes::find_byte(b']', &b[..b.len().min(32)])
        && is_uptime(&b[..close])
    {
        let rest = &b[close + 1..];
        return make(None, rest.strip_prefix(b" ").unwrap_or(rest));
    }
    make(None, msg)
}

/// Whether `b` is an uptime stamp, as [`uptime`] reads one (spaces, up to
/// twelve digits, a dot, digits), its digits counted eight at a time: a
/// kernel line inside an envelope only drops it.
#[inline]
fn is_uptime(b: &[u8]) -> bool {
    let b = b.trim_ascii_start();
    let dot = crate::bytes::digit_run(b);
    if dot == 0 || dot > 12 || b.get(dot) != Some(&b'.') {
        return false;
    }
    let frac = &b[dot + 1..];
    !frac.is_empty() && crate::bytes::digit_run(frac) == frac.len()
}

/// The whole seconds of `   12345.678901` (spaces, digits, a dot, digits).
#[inline]
pub fn uptime(b: &[u8]) -> Option<i64> {
    let b = b.trim_ascii_start();
    // The digits run up to the dot (a short run: no search call).
    let dot = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if dot == 0 || dot > 12 || b.get(dot) != Some(&b'.') {
        return None;
    }
    let frac = &b[dot + 1..];
    if frac.is_empty() || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        b[..dot]
            .iter()
            .fold(0i64, |n, &d| n * 10 + i64::from(d - b'0')),
    )
}

fn make(time: Option<LocalTime>, body: &[u8]) -> Head<'_> {
    Head {
        server: Server::Kernel,
        micros: crate::event::NO_MICROS,
        time,
        level: b"",
        module: b"",
        pid: None,
        tid: None,
        cid: None,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stamp test of lines inside an envelope says what [`uptime`]
    /// says, on stamps of every length with a byte changed at each place.
    #[test]
    fn uptime_test_agrees_with_the_reading() {
        let mut checked = 0;
        for int in 0..16 {
            for frac in 0..12 {
                for pad in ["", " ", "   "] {
                    let stamp = format!("{pad}{}.{}", "7".repeat(int), "3".repeat(frac));
                    let mut cases = vec![stamp.clone().into_bytes()];
                    for at in 0..stamp.len() {
                        for c in [b'.', b' ', b'a', b'0', b'/', b':', 0x80] {
                            let mut b = stamp.clone().into_bytes();
                            b[at] = c;
                            cases.push(b);
                        }
                    }
                    for b in cases {
                        assert_eq!(is_uptime(&b), uptime(&b).is_some(), "{b:?}");
                        checked += usize::from(is_uptime(&b));
                    }
                }
            }
        }
        assert!(checked > 500, "{checked}");
    }

    #[test]
    fn forms() {
        let boot = LocalTime::from_fields(2026, 12, 2, 12, 0, 0).unwrap().0;
        let h = head(
            b"[14734.123456] Out of memory: Killed process 1 (php-fpm8.2)",
            Some(boot),
        )
        .unwrap();
        assert_eq!(h.time.unwrap().iso(), "2026-12-02T16:05:34");
        assert!(h.body.starts_with(b"Out of memory"));
        let h = head(b"[    5.000001] x", None).unwrap();
        assert_eq!((h.time, h.body), (None, &b"x"[..]));
        let h = head(
            b"[Wed Dec  2 16:05:34 2026] VFS: file-max limit 65536 reached",
            None,
        )
        .unwrap();
        assert_eq!(h.time.unwrap().iso(), "2026-12-02T16:05:34");
        assert!(head(b"[notatime] x", None).is_none());
        assert!(head(b"[12.] x", None).is_none());
        assert_eq!(in_envelope(b"[ 12.5] abc").body, b"abc");
        assert_eq!(in_envelope(b"abc").body, b"abc");
    }

    /// Each layout through the detector: what the kernel wrote is the
    /// body, the time is the wall time where the line has one.
    #[test]
    fn layouts() {
        use crate::parse::{ParseState, Scratch, parse_head};
        let msg = "Out of memory: Killed process 20031 (php-fpm8.2) total-vm:1048576kB, anon-rss:524288kB, file-rss:4096kB, shmem-rss:8192kB, UID:33 pgtables:1224kB oom_score_adj:0";
        let boot = LocalTime::from_fields(2026, 12, 2, 12, 0, 0);
        for (line, time) in [
            (format!("[14730.412355] {msg}"), Some("2026-12-02T16:05:30")),
            (
                format!("[Wed Dec  2 16:05:30 2026] {msg}"),
                Some("2026-12-02T16:05:30"),
            ),
            (
                format!("Dec  2 16:05:30 web1 kernel: [14730.412355] {msg}"),
                Some("2026-12-02T16:05:30"),
            ),
            (
                format!("Dec  2 16:05:30 web1 kernel: {msg}"),
                Some("2026-12-02T16:05:30"),
            ),
            (
                format!("2026-12-02T16:05:30+0000 web1 kernel: {msg}"),
                Some("2026-12-02T16:05:30"),
            ),
            (
                format!("2026-12-02T16:05:30.412355+00:00 web1 kernel: [14730.412355] {msg}"),
                Some("2026-12-02T16:05:30"),
            ),
        ] {
            let mut scratch = Scratch::default();
            let mut st = ParseState::new(2026).with_boot_time(boot);
            let h = parse_head(line.as_bytes(), &mut st, &mut scratch).expect(&line);
            assert_eq!(h.server, Server::Kernel, "{line}");
            assert_eq!(h.body, msg.as_bytes(), "{line}");
            assert_eq!(h.time.map(|t| t.iso()).as_deref(), time, "{line}");
        }
        // Without the boot time, the uptime alone places nothing.
        let mut scratch = Scratch::default();
        let line = format!("[14730.412355] {msg}");
        let h = parse_head(line.as_bytes(), &mut ParseState::new(2026), &mut scratch).unwrap();
        assert_eq!((h.server, h.time), (Server::Kernel, None));
    }

    /// The uptime read digit by digit is the one the plain reading (the
    /// first dot, digits on both sides) gives.
    #[test]
    fn uptime_matches_the_plain_reading() {
        let plain = |b: &[u8]| {
            let b = b.trim_ascii_start();
            let dot = memchr::memchr(b'.', b)?;
            let (whole, frac) = (&b[..dot], &b[dot + 1..]);
            if whole.is_empty()
                || whole.len() > 12
                || frac.is_empty()
                || !whole.iter().chain(frac).all(u8::is_ascii_digit)
            {
                return None;
            }
            Some(
                whole
                    .iter()
                    .fold(0i64, |n, &d| n * 10 + i64::from(d - b'0')),
            )
        };
        for b in [
            "12345.678901",
            "    5.000001",
            "0.0",
            "12.",
            ".5",
            "1.2.3",
            "999999999999.1",
            "1000000000000.1",
            " \t 7.25",
            "7 .25",
            "7. 25",
            "x1.5",
            "1.5x",
            "",
            " ",
            "12",
            "00012.000",
            "Wed Dec  2 16:05:30 2026",
            "123456789012.999999",
        ] {
            assert_eq!(uptime(b.as_bytes()), plain(b.as_bytes()), "{b}");
        }
    }
}
