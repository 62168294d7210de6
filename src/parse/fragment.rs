//! Pasted fragments: a server's line whose start was cut off when it was
//! copied out of a terminal or a ticket. What is left is still the
//! server's own layout from some point on, so it is read from there, with
//! no time (nothing is guessed):
//!
//! ```text
//! [error] 1046#1046: *7 connect() failed (111: Connection refused) ...   nginx, no time
//! 1046#1046: *7 connect() failed ...                                     nginx, no level either
//! *7 upstream timed out (110: Connection timed out) ...                  nginx, from the connection
//! 10:23:45 [error] 1046#1046: *7 ...                                     nginx, the date cut
//! WARNING: [pool www] server reached pm.max_children setting (5) ...     php-fpm
//! [proxy_fcgi:error] [pid 9:tid 10] [client 1.2.3.4:5] AH01071: ...      Apache 2.4
//! ```
//!
//! What a server writes to the terminal while it starts is read here too,
//! since it has no prefix of its own either: `nginx: [emerg] ...` and
//! `nginx: configuration file ... test failed` (`nginx -t`), Apache's
//! `(98)Address already in use: AH00072: ...` and `no listening sockets
//! available, shutting down`.

use super::head::Head;
use super::{apache, nginx, php_fpm, time};

/// A fragment's head; `None` when `b` is not the tail of a known layout.
pub fn head(b: &[u8]) -> Option<Head<'_>> {
    match *b.first()? {
        b'[' => nginx::head_without_time(b).or_else(|| apache::head_without_time(b)),
        b'*' => nginx::head_from_connection(b),
        b'0'..=b'9' => nginx::head_without_level(b).or_else(|| clock(b)),
        b'A'..=b'Z' => php_fpm::head_without_time(b),
        b'n' => nginx::stderr_head(b).or_else(|| apache::bare_startup(b)),
        b'(' => apache::bare_startup(b),
        _ => None,
    }
}

/// `HH:MM:SS[.fff] ` and an nginx line's level: the date was cut, so the
/// time of day alone says nothing that can be placed.
fn clock(b: &[u8]) -> Option<Head<'_>> {
    if b.len() < 9 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    time::clock(b)?;
    let mut rest = &b[8..];
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        rest = &rest[1 + n..];
    }
    nginx::head_without_time(rest.strip_prefix(b" ")?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Server;

    #[test]
    fn cut_forms() {
        let h = head(b"[error] 1046#1046: *7 connect() failed (111: Connection refused) while connecting to upstream").unwrap();
        assert_eq!(
            (h.server, h.time, h.pid, h.cid),
            (Server::Nginx, None, Some(1046), Some(7))
        );
        assert_eq!(h.level, b"error");
        let h = head(b"1046#1046: *7 upstream timed out (110: Connection timed out)").unwrap();
        assert_eq!((h.pid, h.tid, h.cid), (Some(1046), Some(1046), Some(7)));
        assert_eq!(h.level, b"");
        let h = head(b"*7 upstream timed out (110: Connection timed out) while reading").unwrap();
        assert_eq!((h.server, h.pid, h.cid), (Server::Nginx, None, Some(7)));
        assert!(h.body.starts_with(b"upstream timed out"));
        let h = head(b"10:23:45 [error] 5#5: *1 no live upstreams while connecting to upstream")
            .unwrap();
        assert_eq!((h.time, h.cid), (None, Some(1)));
        let h = head(
            b"WARNING: [pool www] server reached pm.max_children setting (5), consider raising it",
        )
        .unwrap();
        assert_eq!((h.server, h.level), (Server::PhpFpm, &b"WARNING"[..]));
        assert!(h.body.starts_with(b"[pool www]"));
        let h =
            head(b"[proxy_fcgi:error] [pid 9:tid 10] [client 1.2.3.4:5] AH01071: Got error 'x'")
                .unwrap();
        assert_eq!(
            (h.server, h.pid, h.tid),
            (Server::Apache, Some(9), Some(10))
        );
    }

    #[test]
    fn not_fragments() {
        for l in [
            "*",
            "*7",
            "*x upstream",
            "[notadate] [error] x",
            "12#: x",
            "WARNINGS: x",
            "Warning: x",
            "99:99:99 [error] 1#1: x",
            "10:23:45 hello",
        ] {
            assert!(head(l.as_bytes()).is_none(), "{l}");
        }
    }
}
