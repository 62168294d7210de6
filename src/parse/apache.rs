//! Apache httpd error log lines, 2.4 default `ErrorLogFormat` and 2.2.
//!
//! ```text
//! [Fri Nov 20 10:23:45.123456 2026] [proxy:error] [pid 1:tid 2] (111)Connection refused: [client 10.0.0.1:5123] AH00957: ...
//! [Fri Nov 20 10:23:45 2026] [error] [client 10.0.0.1] (111)Connection refused: proxy: ...
//! ```
//! 2.4 writes the status before `[client ...]`, 2.2 after it, debug and
//! trace levels add `file.c(123): `; the optional parts are therefore read
//! in any order. Apache escapes control characters itself, so a record is
//! always one line.

use nom::{
    IResult, Parser,
    branch::alt,
    bytes::complete::{tag, take_till, take_while1},
    character::complete::{char, digit1},
    combinator::{map_res, opt, recognize},
    sequence::{delimited, preceded, terminated},
};

use std::sync::LazyLock;

use super::head::Head;
use super::time;
use crate::bytes::leading_number;
use crate::event::{LocalTime, Server};

/// The prefix: `[time] [module:level] [pid N:tid T] `.
#[inline]
pub fn head(line: &[u8]) -> Option<Head<'_>> {
    head_cached(line, &mut time::DateCache::default())
}

/// [`head`] with the date of the previous line remembered.
#[inline]
pub fn head_cached<'a>(line: &'a [u8], dates: &mut time::DateCache) -> Option<Head<'a>> {
    let b = line.strip_prefix(b"[")?;
    let close = memchr::memchr(b']', &b[..b.len().min(48)])?;
    let stamp = &b[..close];
    let t = time::apache_ctime_cached(stamp, dates)
        .or_else(|| time::iso(stamp))
        .or_else(|| time::clf(stamp))?;
    // `Sun Dec 06 13:00:01.123456 2026` and ISO stamps: the fraction
    // follows the 19 bytes of the time.
    let micros = time::fraction_micros(stamp.get(19..).unwrap_or_default());
    after_time(b[close + 1..].strip_prefix(b" ")?, Some(t)).map(|(h, _)| Head { micros, ..h })
}

/// The prefix without a time (Apache logging to syslog): the module:level
/// bracket must be there, with a pid, to tell it from other bracketed text.
pub fn head_without_time(b: &[u8]) -> Option<Head<'_>> {
    let (h, layout) = after_time(b, None)?;
    (layout == Layout::Apache24 && h.pid.is_some()).then_some(h)
}

/// A message Apache writes to its error log before the log is set up,
/// with no prefix at all: `AH00558: apache2: Could not reliably ...`.
pub fn bare(line: &[u8]) -> Option<Head<'_>> {
    ah_tag(line).ok()?;
    Some(Head::bare(Server::Apache, line))
}

/// What Apache writes to stderr (and to a log it still has open) while it
/// starts, with no prefix: a status before the message number
/// (`(98)Address already in use: AH00072: make_sock: could not bind to
/// address 127.0.0.1:80`), or the one message it writes without a number
/// (`no listening sockets available, shutting down`).
pub fn bare_startup(line: &[u8]) -> Option<Head<'_>> {
    match line.first()? {
        b'(' => {
            let (rest, _) = status(line).ok()?;
            ah_tag(rest).ok()?;
        }
        _ => {
            if !line.starts_with(NO_LISTENERS) {
                return None;
            }
        }
    }
    Some(Head::bare(Server::Apache, line))
}

/// The start-up message Apache writes without a message number.
pub const NO_LISTENERS: &[u8] = b"no listening sockets available, shutting down";

/// A configuration syntax error, `AH00526: Syntax error on line 12 of
/// /etc/apache2/sites-enabled/x.conf:`, goes on on the next line with what
/// is wrong (`Invalid command 'ProxyPas', perhaps misspelled ...`): the two
/// are one record.
pub fn opens_record(body: &[u8]) -> bool {
    body.first() == Some(&b'A') && body.starts_with(SYNTAX_ERROR) && body.ends_with(b":")
}

/// The opening of a syntax error (see [`opens_record`]).
pub const SYNTAX_ERROR: &[u8] = b"AH00526: Syntax error on line ";

/// Which of Apache's two default layouts a line has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `[time] [module:level] [pid N:tid T] ...` (2.4's default ErrorLogFormat).
    Apache24,
    /// `[time] [level] ...` (2.2: no module, no pid).
    Apache22,
}

fn after_time(b: &[u8], time: Option<LocalTime>) -> Option<(Head<'_>, Layout)> {
    let b = b.strip_prefix(b"[")?;
    let close = memchr::memchr(b']', &b[..b.len().min(40)])?;
    let inner = &b[..close];
    // `proxy_fcgi:error`: the module is before the last colon.
    let (layout, module, level) = match inner.iter().rposition(|&c| c == b':') {
        Some(c) => (Layout::Apache24, &inner[..c], &inner[c + 1..]),
        None => (Layout::Apache22, &b""[..], inner),
    };
    if level.is_empty()
        || !level
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return None;
    }
    let mut rest = &b[close + 1..];
    rest = rest.strip_prefix(b" ").unwrap_or(rest);
    let (mut pid, mut tid) = (None, None);
    if let Some(p) = rest.strip_prefix(b"[pid ") {
        let (n, len) = leading_number(p)?;
        pid = u32::try_from(n).ok();
        let mut p = &p[len..];
        if let Some(t) = p.strip_prefix(b":tid ") {
            let (n, len) = leading_number(t)?;
            tid = Some(n);
            p = &t[len..];
        }
        p = p.strip_prefix(b"]")?;
        rest = p.strip_prefix(b" ").unwrap_or(p);
    }
    // `[R:%L]` and `[C:%{C}L]` of an ErrorLogFormat that logs the request's
    // (and the connection's) log id, in the manual's example layout.
    let mut log_id = None;
    while let Some((kind, id, after)) = log_id_bracket(rest) {
        if kind != b'C' {
            log_id = Some(log_id_hash(id));
        }
        rest = after;
    }
    let head = Head {
        server: Server::Apache,
        micros: crate::event::NO_MICROS,
        time,
        level,
        module,
        pid,
        tid,
        cid: log_id,
        body: rest,
    };
    Some((head, layout))
}

/// The hash a request log id is compared by (error and access logs
/// alike); never 0.
pub fn log_id_hash(id: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().hash_one(id) | 1
}

/// `[R:id] ` (or `L:`, `C:`) at the start of `b`: the letter, the id and
/// what follows. A log id is base64 of a few bytes (`gq6wgodYfQA`).
fn log_id_bracket(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let kind = *b.strip_prefix(b"[")?.first()?;
    if !matches!(kind, b'R' | b'L' | b'C') || b.get(2) != Some(&b':') {
        return None;
    }
    let inner = &b[3..];
    let end = inner.iter().take(40).position(|&c| c == b']')?;
    let id = &inner[..end];
    if id.is_empty()
        || !id
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'@' | b'-' | b'_' | b'+' | b'/'))
    {
        return None;
    }
    let after = &inner[end + 1..];
    Some((kind, id, after.strip_prefix(b" ").unwrap_or(after)))
}

/// An APR status as Apache prints it before the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `(111)Connection refused: `, `(70007)The timeout specified has expired: `,
    /// `(OS 10061)...: ` (errno or APR code).
    Code(i64),
    /// `(EAI 2)Name or service not known: ` (resolver error).
    Eai(i64),
}

/// The peer bracket: `[client ip:port]` for a request, `[remote ip:port]`
/// for a backend connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer<'a> {
    /// `remote` (a backend connection) rather than `client`.
    pub remote: bool,
    /// The address as printed.
    pub addr: &'a [u8],
}

/// The part after the prefix, split into its pieces.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Body<'a> {
    /// The APR status, if printed.
    pub status: Option<Status>,
    /// The client or remote peer, if printed.
    pub peer: Option<Peer<'a>>,
    /// The `AHnnnnn` message number.
    pub ah: Option<u32>,
    /// The message after the AH tag, without `, referer: ...`.
    pub message: &'a [u8],
    /// The Referer header, if appended.
    pub referer: Option<&'a [u8]>,
}

impl<'a> Body<'a> {
    /// Splits the body (the line after the `[pid ...]` bracket).
    pub fn parse(body: &'a [u8]) -> Body<'a> {
        let mut out = Body::default();
        let mut rest = body;
        // Optional parts in either order, at most once each; the first
        // byte says which one can be next.
        for _ in 0..3 {
            match rest.first() {
                Some(b'(') if out.status.is_none() => match status(rest) {
                    Ok((r, s)) => {
                        out.status = Some(s);
                        rest = r;
                    }
                    Err(_) => break,
                },
                Some(b'[') if out.peer.is_none() => match peer(rest) {
                    Ok((r, p)) => {
                        out.peer = Some(p);
                        rest = r;
                    }
                    Err(_) => break,
                },
                Some(c) if c.is_ascii_alphanumeric() && !rest.starts_with(b"AH") => {
                    match source_location(rest) {
                        Ok((r, _)) => rest = r,
                        Err(_) => break,
                    }
                }
                _ => break,
            }
        }
        if let Ok((r, ah)) = ah_tag(rest) {
            out.ah = Some(ah);
            rest = r;
        }
        // Most lines have no referer: one vectorized forward search says so
        // before a search for the last one.
        if let Some(first) = REFERER.find(rest)
            && let Some(i) = crate::bytes::rfind(&rest[first..], b", referer: ").map(|i| first + i)
        {
            out.referer = Some(&rest[i + 11..]);
            rest = &rest[..i];
        }
        out.message = rest;
        out
    }
}

/// The referer Apache appends to request-scoped lines.
static REFERER: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(b", referer: "));

type Res<'a, T> = IResult<&'a [u8], T>;

/// `(111)Connection refused: ` / `(EAI 2)...: ` / `(OS 10061)...: `.
fn status(i: &[u8]) -> Res<'_, Status> {
    let number = || {
        map_res(digit1, |d: &[u8]| {
            std::str::from_utf8(d).unwrap_or("x").parse::<i64>()
        })
    };
    let code = alt((
        preceded(tag(&b"EAI "[..]), recognize((opt(char('-')), digit1))).map_res(|d: &[u8]| {
            std::str::from_utf8(d)
                .unwrap_or("x")
                .parse::<i64>()
                .map(Status::Eai)
        }),
        preceded(tag(&b"OS "[..]), number()).map(Status::Code),
        recognize((opt(char('-')), digit1)).map_res(|d: &[u8]| {
            std::str::from_utf8(d)
                .unwrap_or("x")
                .parse::<i64>()
                .map(Status::Code)
        }),
    ));
    let (i, s) = delimited(char('('), code, char(')')).parse(i)?;
    // The OS text up to ": " (bounded, it is a short strerror).
    let end = crate::bytes::find(&i[..i.len().min(160)], b": ")
        .ok_or_else(|| nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Tag)))?;
    Ok((&i[end + 2..], s))
}

/// `[client 1.2.3.4:5678] ` or `[remote 1.2.3.4:80] `.
fn peer(i: &[u8]) -> Res<'_, Peer<'_>> {
    let (i, kind) =
        preceded(char('['), alt((tag(&b"client "[..]), tag(&b"remote "[..])))).parse(i)?;
    let (i, addr) = terminated(take_till(|c| c == b']' || c == b' '), char(']')).parse(i)?;
    let (i, _) = opt(char(' ')).parse(i)?;
    Ok((
        i,
        Peer {
            remote: kind == b"remote ",
            addr,
        },
    ))
}

/// `mod_proxy.c(1234): ` (debug and trace levels).
fn source_location(i: &[u8]) -> Res<'_, ()> {
    let (i, _) = (
        take_while1(|c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-'),
        delimited(char('('), digit1, char(')')),
        tag(&b": "[..]),
    )
        .parse(i)?;
    Ok((i, ()))
}

/// `AH01102: `.
fn ah_tag(i: &[u8]) -> Res<'_, u32> {
    let (i, d) = delimited(
        tag(&b"AH"[..]),
        take_while1(|c: u8| c.is_ascii_digit()),
        tag(&b": "[..]),
    )
    .parse(i)?;
    let n = leading_number(d).map(|(n, _)| n).unwrap_or(0);
    Ok((i, u32::try_from(n).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_log_id_of_an_error_log_format_with_l() {
        let l = b"[Sun Dec 06 13:58:58.700480 2026] [proxy:error] [pid 3257:tid 140174796650176] [R:47WwgkemfQA] [client 127.0.0.1:41896] AH00898: Error reading from remote server returned by /timeout/report/1";
        let h = head(l).unwrap();
        assert_eq!(h.cid, Some(log_id_hash(b"47WwgkemfQA")));
        assert_eq!(h.tid, Some(140_174_796_650_176));
        assert!(h.body.starts_with(b"[client 127.0.0.1:41896] AH00898"));
        // The manual's layout, the connection's id skipped.
        let l = b"[Sun Dec 06 13:58:58.700480 2026] [proxy:error] [pid 1:tid 2] [R:abc@1] [C:xyz] (70007)The timeout specified has expired: AH01102: x";
        let h = head(l).unwrap();
        assert_eq!(h.cid, Some(log_id_hash(b"abc@1")));
        assert!(h.body.starts_with(b"(70007)"));
        // Server-scoped lines have none; a bracket that is no id stays.
        let l = b"[Sun Dec 06 13:58:57.697526 2026] [proxy:error] [pid 3257:tid 1] (111)Connection refused: AH00957: x";
        assert_eq!(head(l).unwrap().cid, None);
        let l = b"[Sun Dec 06 13:58:57.697526 2026] [proxy:error] [pid 3257:tid 1] [R:has space] x";
        let h = head(l).unwrap();
        assert_eq!((h.cid, h.body), (None, &b"[R:has space] x"[..]));
    }

    #[test]
    fn apache_24_full() {
        let line = b"[Fri Nov 20 10:23:45.123456 2026] [proxy:error] [pid 1:tid 2] (111)Connection refused: [client 10.0.0.1:5123] AH00957: HTTP: attempt to connect to 127.0.0.1:9 (localhost:9) failed, referer: http://x/y, z";
        let h = head(line).unwrap();
        assert_eq!(h.server, Server::Apache);
        assert_eq!((h.module, h.level), (&b"proxy"[..], &b"error"[..]));
        assert_eq!((h.pid, h.tid), (Some(1), Some(2)));
        assert_eq!(h.time.unwrap().iso(), "2026-11-20T10:23:45");
        let b = Body::parse(h.body);
        assert_eq!(b.status, Some(Status::Code(111)));
        assert_eq!(
            b.peer,
            Some(Peer {
                remote: false,
                addr: b"10.0.0.1:5123"
            })
        );
        assert_eq!(b.ah, Some(957));
        assert_eq!(
            b.message,
            b"HTTP: attempt to connect to 127.0.0.1:9 (localhost:9) failed"
        );
        assert_eq!(b.referer, Some(&b"http://x/y, z"[..]));
    }

    #[test]
    fn apache_22_client_before_status() {
        let h = head(b"[Wed Jun 06 12:01:23 2018] [error] [client 139.22.4.209] (111)Connection refused: proxy: HTTP: attempt to connect to 127.0.0.1:8093 (localhost) failed").unwrap();
        assert_eq!(h.server, Server::Apache);
        assert_eq!(h.module, b"");
        assert_eq!(h.pid, None);
        let b = Body::parse(h.body);
        assert_eq!(b.status, Some(Status::Code(111)));
        assert_eq!(b.peer.unwrap().addr, b"139.22.4.209");
        assert!(b.message.starts_with(b"proxy: HTTP: attempt"));
    }

    #[test]
    fn variants() {
        // Empty module, no tid.
        let h = head(b"[Mon Aug 31 09:30:48.958285 2015] [:error] [pid 28787] [client ::1:58619] AH01071: Got error 'Primary script unknown\\n'").unwrap();
        assert_eq!(h.module, b"");
        assert_eq!(h.tid, None);
        let b = Body::parse(h.body);
        assert_eq!(b.peer.unwrap().addr, b"::1:58619");
        assert_eq!(b.ah, Some(1071));
        // trace level with source location, EAI status, remote peer.
        let h = head(b"[Sat Nov 21 09:00:00.1 2026] [rewrite:trace3] [pid 9:tid 8] mod_rewrite.c(470): [client 1.1.1.1:1] x").unwrap();
        assert_eq!(h.level, b"trace3");
        assert_eq!(Body::parse(h.body).message, b"x");
        let h = head(b"[Sat Nov 21 09:00:00.1 2026] [proxy:error] [pid 9:tid 8] (EAI 2)Name or service not known: [client 1.1.1.1:1] AH00898: DNS lookup failure for: nosuch.invalid returned by /x").unwrap();
        assert_eq!(Body::parse(h.body).status, Some(Status::Eai(2)));
        let h = head(b"[Sat Nov 21 09:00:00.1 2026] [ssl:error] [pid 9:tid 8] [remote 127.0.0.1:8443] AH02039: Certificate Verification: Error (18): self-signed certificate").unwrap();
        assert!(Body::parse(h.body).peer.unwrap().remote);
        // ISO time with zone, and the CLF time some custom formats use.
        assert!(head(b"[2025-07-22 15:45:51.323610 +0200] [core:error] [pid 1] x").is_some());
        assert!(head(b"[01/Mar/2021:12:00:19 +0000] [proxy:error] [pid 23964] (113)No route to host: AH00957: x").is_some());
        assert!(bare(b"AH00558: apache2: Could not reliably determine the server's fully qualified domain name").is_some());
        assert!(bare(b"AH: x").is_none());
        // Not Apache.
        assert!(head(b"[20-Nov-2026 10:23:45] WARNING: x").is_none());
        assert!(head(b"[Fri Nov 20 10:23:45 2026] [ERROR] x").is_none());
    }
}
