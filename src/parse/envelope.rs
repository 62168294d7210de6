//! Envelopes: what containers, process managers, log collectors and syslog
//! put around a server's line. Every prefix and wrapper is taken off here,
//! and only here; what is inside is then read as the server wrote it (or
//! as a fragment of it, [`super::fragment`]).
//!
//! ```text
//! web_1      | 2026/11/20 ...                          docker compose v1 (v2: web-1  | ), colours allowed
//! 12:00:01 nginx.1  | 2026/11/20 ...                   foreman, forego, honcho
//! [pod/ingress-nginx-7f9/controller] 2026/11/20 ...    kubectl logs --prefix
//! 2026-11-20T10:23:45.123456789Z 2026/11/20 ...        docker logs -t, kubectl logs --timestamps
//! 2026-11-20 10:23:45.123456789  [20-Nov-2026 ...      s6-overlay and other stamps
//! 2026-11-20T10:23:45.123456789Z stderr F 2026/...     CRI (Kubernetes nodes); P pieces are joined
//! {"log":"2026/11/20 ...\n","stream":"stderr",...}     Docker's json-file driver (pieces joined)
//! {"message":"...","@timestamp":"..."}                 collectors: message, msg, log, MESSAGE, line
//! <187>1 2026-11-21T09:06:18+00:00 host nginx - - - …  RFC 5424 syslog
//! Nov 20 10:23:45 host nginx[812]: ...                 BSD syslog, journalctl -o short(-iso)
//! ```
//!
//! Envelopes nest (a compose prefix before a `-t` stamp), up to a few
//! levels. The envelope's time is the line's time when the server's own
//! line has none (a fragment, Apache's bare `AH` lines, a syslog form that
//! drops the server's time). A JSON payload is decoded into a [`Scratch`]
//! the caller owns, so the returned head borrows from it.

use super::head::Head;
use super::{apache, fragment, kernel, nginx, php_fpm, time};
use crate::event::LocalTime;

/// How many envelopes may be nested around one line.
const MAX_DEPTH: u8 = 4;

/// Where a line's decoded payload is written (a JSON string unescaped, the
/// pieces of a container's split line joined). Reused from line to line;
/// it holds at most one record.
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    buf: Vec<u8>,
    dates: Dates,
}

/// The dates of the last envelope and line read, so that the lines of a
/// log (which share their date for hours) skip the calendar arithmetic.
#[derive(Debug, Default, Clone)]
struct Dates {
    /// And the `pid#tid: ` texts of the nginx lines inside.
    pids: nginx::PidCache,
    nginx: time::DateCache,
    apache: apache::Memory,
    syslog: time::DateCache,
    /// The last BSD syslog envelope read.
    envelope: SyslogEnvelope,
    iso: IsoDates,
}

/// A BSD syslog line's envelope (`Nov 21 22:21:05 web1 apache2[10464]: `)
/// as written, with its time and the year it was read with: the lines of
/// one process in one second share it, and a line that starts with it has
/// its time and its message where the last one had them.
#[derive(Debug, Clone)]
struct SyslogEnvelope {
    text: [u8; 64],
    /// 0 when none is remembered.
    len: usize,
    year: i32,
    time: LocalTime,
}

impl SyslogEnvelope {
    /// The remembered envelope's length and time when `b`, read for
    /// `year`, starts with it.
    #[inline(always)]
    fn starts(&self, b: &[u8], year: i32) -> Option<(usize, LocalTime)> {
        let n = self.len;
        (n > 0 && self.year == year && b.get(..n) == Some(&self.text[..n]))
            .then_some((n, self.time))
    }
}

impl Default for SyslogEnvelope {
    fn default() -> Self {
        SyslogEnvelope {
            text: [0; 64],
            len: 0,
            year: 0,
            time: LocalTime(0),
        }
    }
}

/// The dates of ISO stamps (a CRI line's, `docker logs -t`'s): the date
/// of the last one, and its first 19 bytes (to the second) with their
/// time, which the lines of one second share.
#[derive(Debug, Default, Clone)]
struct IsoDates {
    dates: time::DateCache,
    second: Option<([u8; 19], LocalTime)>,
}

/// What reading a line's envelopes needs besides the line: the year for
/// syslog stamps without one, and the date caches.
struct Cx<'c> {
    year: i32,
    dates: &'c mut Dates,
}

/// The head inside an envelope, and whether the line is a container
/// runtime's partial piece (CRI `P`, a json-file `log` without its
/// newline) whose record goes on in the next line.
pub fn unwrap<'a>(line: &'a [u8], year: i32, scratch: &'a mut Scratch) -> Option<(Head<'a>, bool)> {
    let mut partial = false;
    let head = unwrap_in(line, year, scratch, Lines::Any, &mut partial)?;
    Some((head, partial))
}

/// Whether a text to unwrap may be a record joined over several physical
/// lines, which only a search for a newline would tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One physical line, as the scanner cuts them.
    One,
    /// A line or a joined record.
    Any,
}

/// [`unwrap`] told whether `line` may hold several physical lines, whether
/// it is a partial piece written into `partial` (set where a head is
/// found): the head is returned where it was built, not moved into a pair.
pub fn unwrap_in<'a>(
    line: &'a [u8],
    year: i32,
    scratch: &'a mut Scratch,
    lines: Lines,
    partial: &mut bool,
) -> Option<Head<'a>> {
    let Scratch { buf, dates } = scratch;
    let cx = &mut Cx { year, dates };
    let first = *line.first()?;
    *partial = false;
    // Only a container's record (a CRI stamp or a JSON object first) is
    // read otherwise when joined over several physical lines: other lines
    // need not be searched for a newline.
    let container = (first.is_ascii_digit() || first == b'{') && lines == Lines::Any;
    if container && memchr::memchr(b'\n', line).is_some() {
        // A record joined over several physical lines.
        return pieces(line, cx, buf);
    }
    // One physical line from here. Docker's own layout first.
    buf.clear();
    if first == b'{'
        && let Some(time) = docker_layout(line, buf)
    {
        *partial = buf.is_empty() || strip_newline(buf);
        let buf: &'a [u8] = buf;
        let mut head = inner(buf, None, cx, 0);
        if let Some(h) = &mut head
            && h.time.is_none()
        {
            h.time = json_time(b"time", Value::String(time));
        }
        return head;
    }
    if first == b'{' {
        return json(line, cx, buf, partial);
    }
    if first.is_ascii_digit()
        && let Some((piece, time)) = cri(line, cx)
    {
        *partial = piece.partial;
        return inner(piece.text, Some(time), cx, 0);
    }
    // A BSD syslog line in the last envelope read (it starts with a
    // month's name, which `text` gives to `bsd_syslog`, and then to
    // `compose` when nothing is read inside): its message at once.
    if let Some((n, t)) = cx.dates.envelope.starts(line, year) {
        let mut head = inner(&line[n..], Some(t), cx, 0);
        if head.is_none() {
            head = compose(line, cx, 0);
        }
        return head;
    }
    text(line, cx, 0)
}

/// One container runtime's piece of a line: its text and whether the line
/// goes on in the next piece.
struct Piece<'a> {
    text: &'a [u8],
    partial: bool,
}

/// Whether `line` is a container runtime's piece: `Some(true)` for one
/// whose line goes on in the next, `Some(false)` for a last (or only) one.
pub fn piece_goes_on(line: &[u8]) -> Option<bool> {
    if let Some(p) = cri_piece(line) {
        return Some(p.partial);
    }
    if line.first() == Some(&b'{') {
        thread_local! {
            /// The decoded piece, kept between lines.
            static PIECE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        return PIECE.with_borrow_mut(|s| {
            s.clear();
            docker_log(line, s).map(|_| !s.ends_with(b"\n"))
        });
    }
    None
}

/// A record over several physical lines: the pieces' texts are joined
/// (directly after a partial piece, with a newline after a whole one) and
/// the result read as one line.
fn pieces<'a>(record: &'a [u8], cx: &mut Cx<'_>, buf: &'a mut Vec<u8>) -> Option<Head<'a>> {
    let mut lines = record.split(|&c| c == b'\n');
    let first = lines.next()?;
    buf.clear();
    let (mut partial, time) = if let Some((p, t)) = cri(first, cx) {
        buf.extend_from_slice(p.text);
        (p.partial, Some(t))
    } else if first.first() == Some(&b'{') {
        match docker_log(first, buf) {
            Some(t) => (strip_newline(buf), t),
            // A collector's object: its payload is the first line's.
            None => return json(first, cx, buf, &mut false),
        }
    } else {
        // Not a container's record: the envelope is on the first line only.
        return text(record, cx, 0);
    };
    for line in lines {
        if !partial {
            buf.push(b'\n');
        }
        if let Some(p) = cri_piece(line) {
            buf.extend_from_slice(p.text);
            partial = p.partial;
        } else if line.first() == Some(&b'{') && docker_log(line, buf).is_some() {
            partial = strip_newline(buf);
        } else {
            buf.extend_from_slice(line);
            partial = false;
        }
    }
    let buf: &'a [u8] = buf;
    inner(buf, time, cx, 0)
}

/// Drops a trailing newline from a decoded piece; true when there was none
/// (the piece's line goes on).
fn strip_newline(buf: &mut Vec<u8>) -> bool {
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        false
    } else {
        true
    }
}

/// A server's line, or another envelope inside this one.
///
/// Here and in the readings it calls, a head is returned where it was
/// built (a found one returned at once, no `or_else` over it): a head is
/// about a hundred bytes, and every move of it between the nested
/// envelopes' readings was a copy.
fn inner<'a>(b: &'a [u8], time: Option<LocalTime>, cx: &mut Cx<'_>, depth: u8) -> Option<Head<'a>> {
    let b = trim_start(skip_ansi(trim_start(skip_ansi(b))));
    // The layouts a server writes, whole or cut, then another envelope;
    // the head built in the one place it is returned from.
    let first = *b.first()?;
    let mut head = match first {
        b'0'..=b'9' => match nginx::time_cached(b, &mut cx.dates.nginx) {
            Some((t, rest)) => {
                nginx::head_after_time_cached(rest, Some(t), Some(&mut cx.dates.pids))
            }
            None => None,
        },
        b'[' => apache::head_cached(b, &mut cx.dates.apache),
        b'A' => apache::bare(b),
        _ => None,
    };
    if head.is_none() {
        head = other_line(b, first, cx, depth);
    }
    if let Some(h) = &mut head
        && h.time.is_none()
    {
        h.time = time;
    }
    head
}

/// [`inner`] past the usual layouts: php-fpm's, a fragment, another
/// envelope.
#[inline(never)]
fn other_line<'a>(b: &'a [u8], first: u8, cx: &mut Cx<'_>, depth: u8) -> Option<Head<'a>> {
    if first == b'['
        && let Some(head) = php_fpm::head(b)
    {
        return Some(head);
    }
    if let Some(head) = fragment::head(b) {
        return Some(head);
    }
    if depth < MAX_DEPTH {
        return text(b, cx, depth + 1);
    }
    None
}

/// One text envelope (a prefix) and what is inside it.
fn text<'a>(line: &'a [u8], cx: &mut Cx<'_>, depth: u8) -> Option<Head<'a>> {
    let b = skip_ansi(line);
    match *b.first()? {
        b'<' => syslog_pri(b, cx, depth),
        b'0'..=b'9' => {
            let head = stamped(b, cx, depth);
            if head.is_some() {
                return head;
            }
            clock_prefix(b, cx, depth)
        }
        b'[' => kubectl_prefix(b, cx, depth),
        b'{' => None,
        _ => {
            let head = bsd_syslog(b, cx, depth);
            if head.is_some() {
                return head;
            }
            compose(b, cx, depth)
        }
    }
}

/// `<PRI>` then RFC 5424 (`1 TIME HOST APP PROCID MSGID SD MSG`) or the
/// BSD form.
fn syslog_pri<'a>(b: &'a [u8], cx: &mut Cx<'_>, depth: u8) -> Option<Head<'a>> {
    let close = memchr::memchr(b'>', &b[..b.len().min(5)])?;
    if close < 2 || !b[1..close].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let rest = &b[close + 1..];
    if let Some(r) = rest.strip_prefix(b"1 ")
        && let Some(h) = rfc5424(r, cx, depth)
    {
        return Some(h);
    }
    // Templates that write the version and then a BSD-style tag.
    let rest = rest.strip_prefix(b"1 ").unwrap_or(rest);
    if rest.first().is_some_and(u8::is_ascii_digit) {
        let (t, n) = stamp_cached(rest, &mut cx.dates.iso)?;
        host_tag(&rest[n..], t, cx, depth)
    } else {
        bsd_syslog(rest, cx, depth)
    }
}

/// RFC 5424 after the version: `TIME HOST APP PROCID MSGID SD [MSG]`, each
/// header field `-` when absent; SD is `-` or bracketed elements.
fn rfc5424<'a>(b: &'a [u8], cx: &mut Cx<'_>, depth: u8) -> Option<Head<'a>> {
    let (time, mut rest) = if let Some(r) = b.strip_prefix(b"- ") {
        (None, r)
    } else {
        let (t, n) = stamp_cached(b, &mut cx.dates.iso)?;
        (Some(t), b[n..].strip_prefix(b" ")?)
    };
    // HOSTNAME, APP-NAME, PROCID, MSGID.
    for field in 0..4 {
        let sp = memchr::memchr(b' ', rest)?;
        // An app name that ends with `:` is a BSD-style tag after the
        // version (some templates write that), not RFC 5424's fields.
        if sp == 0 || (field == 1 && rest[sp - 1] == b':') {
            return None;
        }
        rest = &rest[sp + 1..];
    }
    if let Some(r) = rest.strip_prefix(b"-") {
        rest = r;
    } else {
        while rest.first() == Some(&b'[') {
            let mut i = 1;
            loop {
                match rest.get(i)? {
                    b'\\' => i += 2,
                    b']' => break,
                    _ => i += 1,
                }
            }
            rest = &rest[i + 1..];
        }
    }
    let msg = rest.strip_prefix(b" ")?;
    let msg = msg.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(msg);
    inner(msg, time, cx, depth)
}

/// `Nov 20 10:23:45 host tag: msg` (journalctl's default `short` too).
///
/// A line that starts with the last envelope read here (its bytes, for the
/// same year) has that envelope's time and its message after it, without
/// a look at the stamp, host or tag; a test holds this to the reading of
/// each line on its own.
fn bsd_syslog<'a>(b: &'a [u8], cx: &mut Cx<'_>, depth: u8) -> Option<Head<'a>> {
    if let Some((n, t)) = cx.dates.envelope.starts(b, cx.year) {
        return inner(&b[n..], Some(t), cx, depth);
    }
    bsd_syslog_read(b, cx, depth)
}

/// [`bsd_syslog`] with the envelope read, and remembered.
fn bsd_syslog_read<'a>(b: &'a [u8], cx: &mut Cx<'_>, depth: u8) -> Option<Head<'a>> {
    let t = time::syslog_cached(b, cx.year, &mut cx.dates.syslog)?;
    let mut n = 15;
    // journalctl -o short-precise: `Nov 20 10:23:45.123456`.
    if b.get(n) == Some(&b'.') {
        n += 1 + b[n + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
    }
    let (msg, kernel) = tag(&b[n..])?;
    let at = n + msg;
    if !kernel && at <= 64 {
        let last = &mut cx.dates.envelope;
        last.text[..at].copy_from_slice(&b[..at]);
        last.len = at;
        last.year = cx.year;
        last.time = t;
    }
    tagged(&b[at..], kernel, t, cx, depth)
}

/// ` host tag: msg` after a syslog time; the tag ends with `:` and has no
/// space.
fn host_tag<'a>(after: &'a [u8], t: LocalTime, cx: &mut Cx<'_>, depth: u8) -> Option<Head<'a>> {
    let (msg, kernel) = tag(after)?;
    tagged(&after[msg..], kernel, t, cx, depth)
}

/// The message of a syslog line stamped `t`: the kernel's (`kernel`, its
/// tag) read as a kernel line, any other as what is inside.
#[inline(always)]
fn tagged<'a>(
    msg: &'a [u8],
    kernel: bool,
    t: LocalTime,
    cx: &mut Cx<'_>,
    depth: u8,
) -> Option<Head<'a>> {
    if kernel {
        let mut head = kernel::in_envelope(msg);
        head.time = Some(t);
        return Some(head);
    }
    inner(msg, Some(t), cx, depth)
}

/// Where the message starts in ` host tag: msg`, and whether the tag is
/// the kernel's.
#[inline(always)]
fn tag(after: &[u8]) -> Option<(usize, bool)> {
    let rest = after.strip_prefix(b" ")?;
    // Host and tag are short: inline searches, not calls.
    let sp = crate::bytes::find_byte(b' ', rest)?;
    if sp == 0 {
        return None;
    }
    let tag_and_msg = &rest[sp + 1..];
    // The tag's colon is the first colon, with no space before it: the
    // first colon or space, in one search.
    let colon = crate::bytes::find_byte2(b':', b' ', &tag_and_msg[..tag_and_msg.len().min(64)])?;
    if colon == 0 || tag_and_msg[colon] != b':' || tag_and_msg.get(colon + 1) != Some(&b' ') {
        return None;
    }
    Some((1 + sp + 1 + colon + 2, &tag_and_msg[..colon] == b"kernel"))
}

/// The boot time a kernel line in a syslog or journald envelope gives:
/// its wall time (`Dec  2 16:05:30 web1 kernel: ...`) less its uptime
/// stamp (`[14730.412355]`), to the second; `None` for any other line.
pub fn kernel_boot(line: &[u8], year: i32) -> Option<LocalTime> {
    let at = crate::bytes::find(line, b"kernel: [")?;
    let b = &line[at + 9..];
    let close = memchr::memchr(b']', &b[..b.len().min(32)])?;
    let secs = kernel::uptime(&b[..close])?;
    let mut scratch = Scratch::default();
    let (head, _) = unwrap(line, year, &mut scratch)?;
    if head.server != crate::event::Server::Kernel {
        return None;
    }
    Some(LocalTime(head.time?.0.checked_sub(secs)?))
}

/// The first boot time that kernel lines in envelopes give in `bytes`
/// (the start of an input), see [`kernel_boot`].
/// One search over the bytes for `kernel: [`, not one per line: an input
/// without kernel lines costs a memmem pass.
pub fn kernel_boot_in(bytes: &[u8], year: i32) -> Option<LocalTime> {
    memchr::memmem::find_iter(bytes, b"kernel: [").find_map(|at| {
        let start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
        let line = &bytes[start..end];
        kernel_boot(line.strip_suffix(b"\r").unwrap_or(line), year)
    })
}

/// A leading date and time (`docker logs -t`, `kubectl logs --timestamps`,
/// s6-overlay, journalctl's ISO forms): the line follows directly, or a
/// syslog host and tag do.
fn stamped<'a>(b: &'a [u8], cx: &mut Cx<'_>, depth: u8) -> Option<Head<'a>> {
    let (t, n) = stamp_cached(b, &mut cx.dates.iso)?;
    let rest = &b[n..];
    if !rest.starts_with(b" ") {
        return None;
    }
    inner(rest, Some(t), cx, depth).or_else(|| host_tag(rest, t, cx, depth))
}

/// The CRI log line of Kubernetes nodes: `TIME STREAM P|F TEXT`, with its
/// time.
fn cri<'a>(b: &'a [u8], cx: &mut Cx<'_>) -> Option<(Piece<'a>, LocalTime)> {
    let (t, n) = stamp_cached(b, &mut cx.dates.iso)?;
    Some((cri_after_stamp(&b[n..])?, t))
}

/// The piece of a CRI log line, its time not read.
fn cri_piece(b: &[u8]) -> Option<Piece<'_>> {
    if !b.first()?.is_ascii_digit() {
        return None;
    }
    let (_, n) = stamp(b)?;
    cri_after_stamp(&b[n..])
}

/// ` STREAM P|F TEXT` after a CRI line's time.
fn cri_after_stamp(rest: &[u8]) -> Option<Piece<'_>> {
    let rest = rest
        .strip_prefix(b" stderr ")
        .or_else(|| rest.strip_prefix(b" stdout "))?;
    let partial = match rest.first()? {
        b'P' => true,
        b'F' => false,
        _ => return None,
    };
    let text = match rest.get(1) {
        None => &rest[1..],
        Some(b' ') => &rest[2..],
        // Tags after the first, `F:x`, are not written by any runtime yet.
        Some(_) => return None,
    };
    Some(Piece { text, partial })
}

/// `HH:MM:SS name  | ` (foreman, forego, honcho): a time of day with no
/// date, so the line's own time is all there is.
fn clock_prefix<'a>(b: &'a [u8], cx: &mut Cx<'_>, depth: u8) -> Option<Head<'a>> {
    time::clock(b)?;
    let rest = b.get(8..)?.strip_prefix(b" ")?;
    let rest = skip_ansi(rest);
    let name = name_len(rest);
    if name == 0 {
        return None;
    }
    let rest = skip_ansi(trim_start(&rest[name..]));
    let rest = rest.strip_prefix(b"|")?;
    inner(rest, None, cx, depth)
}

/// `web_1      | ` (compose v1), `web-1  | ` (v2), colours around it.
fn compose<'a>(b: &'a [u8], cx: &mut Cx<'_>, depth: u8) -> Option<Head<'a>> {
    let name = name_len(b);
    if name == 0 {
        return None;
    }
    let rest = skip_ansi(trim_start(&b[name..]));
    let rest = rest.strip_prefix(b"|")?;
    inner(rest, None, cx, depth)
}

/// `[pod/NAME/CONTAINER] ` of `kubectl logs --prefix`.
fn kubectl_prefix<'a>(b: &'a [u8], cx: &mut Cx<'_>, depth: u8) -> Option<Head<'a>> {
    let rest = b.strip_prefix(b"[pod/")?;
    let close = memchr::memchr(b']', &rest[..rest.len().min(320)])?;
    if rest[..close].contains(&b' ') {
        return None;
    }
    inner(rest[close + 1..].strip_prefix(b" ")?, None, cx, depth)
}

/// The length of a service or process name: letters, digits, `_-.`, at
/// most 64 bytes.
fn name_len(b: &[u8]) -> usize {
    let n = b
        .iter()
        .take(65)
        .take_while(|&&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        .count();
    if n > 64 { 0 } else { n }
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.f…][Z|±HH:MM|±HHMM]`: the time as written and
/// the stamp's length.
pub fn stamp(b: &[u8]) -> Option<(LocalTime, usize)> {
    let t = time::iso(b)?;
    Some((t, stamp_len(b)?))
}

/// [`stamp`] with the previous stamp remembered in `dates`: its second
/// (a stamp's time is that of its first 19 bytes), then its date.
fn stamp_cached(b: &[u8], dates: &mut IsoDates) -> Option<(LocalTime, usize)> {
    if !b.first()?.is_ascii_digit() {
        return None;
    }
    let t = match (b.first_chunk::<19>(), &dates.second) {
        (Some(second), Some((last, t))) if second == last => *t,
        (second, _) => {
            let t = time::iso_cached(b, &mut dates.dates)?;
            if let Some(second) = second {
                dates.second = Some((*second, t));
            }
            t
        }
    };
    Some((t, stamp_len(b)?))
}

/// The length of an ISO stamp whose first 19 bytes were read: its
/// fraction and zone too.
///
/// A container runtime's stamp (nine digits and `Z`, `.760336522Z`) is
/// told by one eight-byte digit test and three byte compares; any other
/// goes to [`stamp_len_any`], which a test holds this to.
#[inline(always)]
fn stamp_len(b: &[u8]) -> Option<usize> {
    if let Some(f) = b.get(19..30).and_then(<[u8]>::first_chunk::<11>)
        && f[0] == b'.'
        && f[10] == b'Z'
        && f[9].is_ascii_digit()
        && f[1..9].first_chunk::<8>().is_some_and(|d| {
            crate::bytes::within(u64::from_le_bytes(*d), b'0', b'9') == 0x8080_8080_8080_8080
        })
    {
        return Some(30);
    }
    stamp_len_any(b)
}

/// [`stamp_len`] for any fraction and zone.
fn stamp_len_any(b: &[u8]) -> Option<usize> {
    let mut n = 19;
    if matches!(b.get(n), Some(b'.' | b',')) {
        let digits = crate::bytes::digit_run(&b[n + 1..]);
        if digits == 0 {
            return None;
        }
        n += 1 + digits;
    }
    match b.get(n) {
        Some(b'Z') => n += 1,
        Some(b'+' | b'-') => {
            let z = &b[n + 1..];
            let d = |i: usize| z.get(i).is_some_and(u8::is_ascii_digit);
            if d(0) && d(1) && z.get(2) == Some(&b':') && d(3) && d(4) {
                n += 6;
            } else if d(0) && d(1) && d(2) && d(3) {
                n += 5;
            } else {
                return None;
            }
        }
        _ => {}
    }
    Some(n)
}

/// Skips ANSI colour and other CSI sequences (`ESC [ ... letter`).
fn skip_ansi(mut b: &[u8]) -> &[u8] {
    while b.first() == Some(&0x1b) {
        match b.get(1) {
            Some(b'[') => {
                let end = b[2..]
                    .iter()
                    .take(32)
                    .position(|c| (0x40..=0x7e).contains(c));
                match end {
                    Some(i) => b = &b[2 + i + 1..],
                    None => return b,
                }
            }
            _ => return b,
        }
    }
    b
}

/// Skips spaces and tabs (a paste widens them).
fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    &b[n..]
}

/// Docker's json-file line as the driver writes it, alone on its line,
/// `{"log":"...","stream":"stderr","time":"..."}`, read without walking
/// its fields one by one (a container's log is all such lines): its `log`
/// decoded onto `buf`, and the raw time. `None` for any other layout
/// (`buf` then as it was), which [`json`] and [`docker_log`] read; they
/// read such a line the same, which a test holds them to.
fn docker_layout<'a>(line: &'a [u8], buf: &mut Vec<u8>) -> Option<&'a [u8]> {
    let start = buf.len();
    let time = docker_layout_onto(line, buf);
    if time.is_none() {
        buf.truncate(start);
    }
    time
}

fn docker_layout_onto<'a>(line: &'a [u8], buf: &mut Vec<u8>) -> Option<&'a [u8]> {
    const LOG: &[u8] = br#"{"log":""#;
    const STREAM: &[u8] = br#","stream":""#;
    const TIME: &[u8] = br#"","time":""#;
    if !line.starts_with(LOG) {
        return None;
    }
    let after = decode_string(line, LOG.len() - 1, buf).ok()?;
    let rest = line[after..].strip_prefix(STREAM)?;
    // The stream and the time are short and hold no escape: the first
    // quote or backslash (inline searches, not calls) must be their
    // closing quote.
    let stream = crate::bytes::find_byte2(b'"', b'\\', rest)?;
    let rest = rest[stream..].strip_prefix(TIME)?;
    let end = crate::bytes::find_byte2(b'"', b'\\', rest)?;
    if rest[end] != b'"' {
        return None;
    }
    // The closing brace ends the line (a joined record goes on).
    let close = &rest[end + 1..];
    let alone = close == b"}" || close == b"}\r";
    if !alone {
        return None;
    }
    Some(&rest[..end])
}

/// A JSON object line of any layout (a collector's, journald's, Docker's
/// with its fields in another order): the first of its message fields that
/// holds a server's line, with the object's time for a line that has none,
/// and whether it is a json-file piece.
///
/// A message field's string is decoded while it is walked, in one pass that
/// also finds its end, rather than skipped and then decoded again: on
/// Docker's json-file lines the `log` string is most of the line.
fn json<'a>(
    line: &'a [u8],
    cx: &mut Cx<'_>,
    buf: &'a mut Vec<u8>,
    partial: &mut bool,
) -> Option<Head<'a>> {
    const MESSAGE: [&[u8]; 5] = [b"log", b"message", b"MESSAGE", b"msg", b"line"];
    // Each message field's first occurrence, decoded into `buf`: where its
    // text is and whether it lacked its newline (`None` inside when it was
    // not text).
    let mut texts: [Option<Option<(usize, usize, bool)>>; 5] = [None; 5];
    // The object's time fields, in order, read only for a line without a
    // time of its own (the first four: no shipper writes more).
    let mut times: [Option<(&[u8], Value<'_>)>; 4] = [None; 4];
    let mut stream = false;
    let mut fields = Fields::new(line)?;
    buf.clear();
    while let Some(key) = fields.key() {
        let slot = MESSAGE
            .iter()
            .position(|k| *k == key)
            .filter(|&i| texts[i].is_none());
        if let Some(i) = slot
            && fields.at_string()
        {
            let start = buf.len();
            if !fields.decoded(buf) {
                buf.truncate(start);
                texts[i] = Some(None);
            } else {
                let no_newline = buf.len() == start || strip_newline(buf);
                texts[i] = Some(Some((start, buf.len(), no_newline)));
            }
            if !fields.end_value() {
                break;
            }
            continue;
        }
        let Some(value) = fields.value() else { break };
        if let Some(i) = slot {
            let start = buf.len();
            texts[i] = Some(if value.decode(buf) {
                let no_newline = buf.len() == start || strip_newline(buf);
                Some((start, buf.len(), no_newline))
            } else {
                buf.truncate(start);
                None
            });
        } else if key == b"stream" {
            stream = true;
        } else if is_time_key(key)
            && let Some(slot) = times.iter_mut().find(|t| t.is_none())
        {
            *slot = Some((key, value));
        }
        if !fields.end_value() {
            break;
        }
    }
    if !fields.complete {
        return None;
    }
    let buf: &'a [u8] = buf;
    for (i, text) in texts.iter().enumerate() {
        let Some(Some((start, end, no_newline))) = *text else {
            continue;
        };
        if let Some(mut head) = inner(&buf[start..end], None, cx, 0) {
            if head.time.is_none() {
                head.time = times.iter().flatten().find_map(|&(k, v)| json_time(k, v));
            }
            // Docker's json-file driver: a `log` without its newline is a
            // piece.
            *partial = i == 0 && stream && no_newline;
            return Some(head);
        }
    }
    None
}

/// The text of a JSON object line (its first message field: Docker
/// json-file's `log`, a collector's `message`, journald's `MESSAGE`, ...;
/// decoded into `buf`, without its newline), for the lines no error-log
/// layout reads: an access log that a container writes to stdout beside
/// its error log, or that a collector ships.
pub fn json_text<'b>(line: &[u8], buf: &'b mut Vec<u8>) -> Option<&'b [u8]> {
    const MESSAGE: [&[u8]; 5] = [b"log", b"message", b"MESSAGE", b"msg", b"line"];
    let mut found: [Option<Value<'_>>; 5] = [None; 5];
    let mut fields = Fields::new(line)?;
    for (key, value) in fields.by_ref() {
        if let Some(i) = MESSAGE.iter().position(|k| *k == key) {
            found[i].get_or_insert(value);
        }
    }
    if !fields.complete {
        return None;
    }
    buf.clear();
    let v = found
        .into_iter()
        .flatten()
        .find(|v| matches!(v, Value::String(_)))?;
    if !v.decode(buf) {
        return None;
    }
    strip_newline(buf);
    Some(buf)
}

/// A json-file line's `log` text appended to `buf` (with its newline, if
/// it has one); the line's time.
fn docker_log(line: &[u8], buf: &mut Vec<u8>) -> Option<Option<LocalTime>> {
    if let Some(time) = docker_layout(line, buf) {
        return Some(json_time(b"time", Value::String(time)));
    }
    docker_log_walk(line, buf)
}

/// [`docker_log`] for the fields in any order.
fn docker_log_walk(line: &[u8], buf: &mut Vec<u8>) -> Option<Option<LocalTime>> {
    let mut log = None;
    let mut time = None;
    let mut stream = false;
    let mut fields = Fields::new(line)?;
    for (key, value) in fields.by_ref() {
        match key {
            b"log" => log = Some(value),
            b"stream" => stream = true,
            b"time" => time = json_time(key, value),
            _ => {}
        }
    }
    if !fields.complete || !stream {
        return None;
    }
    log?.decode(buf).then_some(time)
}

/// Whether a collector's object may give its time under `key`.
fn is_time_key(key: &[u8]) -> bool {
    matches!(
        key,
        b"time"
            | b"timestamp"
            | b"@timestamp"
            | b"date"
            | b"ts"
            | b"_SOURCE_REALTIME_TIMESTAMP"
            | b"__REALTIME_TIMESTAMP"
    )
}

/// A time field of a collector's object: ISO 8601 strings under the usual
/// names, journald's microseconds since the epoch.
fn json_time(key: &[u8], value: Value<'_>) -> Option<LocalTime> {
    let Value::String(raw) = value else {
        return None;
    };
    match key {
        b"time" | b"timestamp" | b"@timestamp" | b"date" | b"ts" => stamp(raw).map(|(t, _)| t),
        b"_SOURCE_REALTIME_TIMESTAMP" | b"__REALTIME_TIMESTAMP" => {
            let (us, n) = crate::bytes::leading_number(raw)?;
            (n == raw.len()).then(|| LocalTime(i64::try_from(us / 1_000_000).unwrap_or(0)))
        }
        _ => None,
    }
}

/// A top-level value of a JSON object, raw.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    /// The text between the quotes, escapes not yet decoded.
    String(&'a [u8]),
    /// An array (journald writes a MESSAGE that is not UTF-8 as its bytes).
    Array(&'a [u8]),
    /// A number, literal or object.
    Other,
}

impl Value<'_> {
    /// Appends the decoded text to `out`; false when it is not text.
    fn decode(&self, out: &mut Vec<u8>) -> bool {
        match self {
            Value::String(raw) => unescape(raw, out),
            Value::Array(raw) => bytes_array(raw, out),
            Value::Other => false,
        }
    }
}

/// The top-level fields of a JSON object, in order; `complete` tells
/// whether the object was read to its closing brace.
struct Fields<'a> {
    b: &'a [u8],
    i: usize,
    complete: bool,
    done: bool,
}

impl<'a> Fields<'a> {
    fn new(b: &'a [u8]) -> Option<Self> {
        let mut f = Fields {
            b,
            i: 0,
            complete: false,
            done: false,
        };
        f.ws();
        if f.b.get(f.i) != Some(&b'{') {
            return None;
        }
        f.i += 1;
        f.ws();
        if f.b.get(f.i) == Some(&b'}') {
            f.done = true;
            f.complete = true;
        }
        Some(f)
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    /// The raw text of a string starting at the opening quote at `i`, and
    /// the index after its closing quote.
    fn string(&self, i: usize) -> Option<(&'a [u8], usize)> {
        let start = i + 1;
        let mut j = start;
        loop {
            let k = j + crate::bytes::find_byte2(b'"', b'\\', self.b.get(j..)?)?;
            if self.b[k] == b'\\' {
                j = k + 2;
            } else {
                return Some((&self.b[start..k], k + 1));
            }
        }
    }

    /// Skips a nested object or array starting at `i`.
    fn nested(&self, i: usize) -> Option<usize> {
        let mut depth = 0usize;
        let mut j = i;
        loop {
            match *self.b.get(j)? {
                b'"' => {
                    j = self.string(j)?.1;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(j + 1);
                    }
                }
                _ => {}
            }
            j += 1;
        }
    }

    /// The next field's key, the reader left on its value; `None` at the
    /// end of the object or at text that is not JSON.
    fn key(&mut self) -> Option<&'a [u8]> {
        if self.done {
            return None;
        }
        let key = self.key_and_colon();
        if key.is_none() {
            self.done = true;
        }
        key
    }

    fn key_and_colon(&mut self) -> Option<&'a [u8]> {
        self.ws();
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        let (key, after) = self.string(self.i)?;
        self.i = after;
        self.ws();
        if self.b.get(self.i) != Some(&b':') {
            return None;
        }
        self.i += 1;
        self.ws();
        Some(key)
    }

    /// Whether the value at the reader is a string.
    fn at_string(&self) -> bool {
        self.b.get(self.i) == Some(&b'"')
    }

    /// The string value at the reader decoded onto `out`, the reader left
    /// after it; false when it is not text (a bad escape: the reader is
    /// still left after it) or not closed (the object ends there).
    fn decoded(&mut self, out: &mut Vec<u8>) -> bool {
        match decode_string(self.b, self.i, out) {
            Ok(after) => {
                self.i = after;
                true
            }
            Err(()) => {
                match self.string(self.i) {
                    Some((_, after)) => self.i = after,
                    None => self.done = true,
                }
                false
            }
        }
    }

    /// The value at the reader, raw, the reader left after it.
    fn value(&mut self) -> Option<Value<'a>> {
        let value = self.raw_value();
        if value.is_none() {
            self.done = true;
        }
        value
    }

    fn raw_value(&mut self) -> Option<Value<'a>> {
        Some(match *self.b.get(self.i)? {
            b'"' => {
                let (raw, after) = self.string(self.i)?;
                self.i = after;
                Value::String(raw)
            }
            c @ (b'{' | b'[') => {
                let end = self.nested(self.i)?;
                let raw = &self.b[self.i + 1..end - 1];
                self.i = end;
                if c == b'[' {
                    Value::Array(raw)
                } else {
                    Value::Other
                }
            }
            _ => {
                let n = self.b[self.i..]
                    .iter()
                    .take_while(|c| !matches!(c, b',' | b'}' | b' ' | b'\t' | b'\r' | b'\n'))
                    .count();
                if n == 0 {
                    return None;
                }
                self.i += n;
                Value::Other
            }
        })
    }

    /// What follows a value: `,` and another field, or the closing brace
    /// (the object is then complete); false for anything else, or at the
    /// end (no field follows).
    fn end_value(&mut self) -> bool {
        if self.done {
            return false;
        }
        self.ws();
        match self.b.get(self.i) {
            Some(b',') => {
                self.i += 1;
                true
            }
            Some(b'}') => {
                self.done = true;
                self.complete = true;
                false
            }
            _ => {
                self.done = true;
                false
            }
        }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a [u8], Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let key = self.key()?;
        let value = self.value()?;
        self.end_value();
        Some((key, value))
    }
}

/// Decodes the JSON string whose opening quote is at `open` onto `out` in
/// the same pass that finds its end: the index after its closing quote;
/// `Err` on a bad escape or a string not closed (`out` then holds part of
/// it). Equal to [`Fields::string`] then [`unescape`], which a test holds
/// it to; the runs between escapes are searched 16 bytes at a time.
fn decode_string(b: &[u8], open: usize, out: &mut Vec<u8>) -> Result<usize, ()> {
    let mut i = open + 1;
    loop {
        let k = i + crate::bytes::find_byte2(b'"', b'\\', b.get(i..).ok_or(())?).ok_or(())?;
        out.extend_from_slice(&b[i..k]);
        if b[k] == b'"' {
            return Ok(k + 1);
        }
        // A quote inside the text, the escape nginx's lines are full of.
        if b.get(k + 1) == Some(&b'"') {
            out.push(b'"');
            i = k + 2;
            continue;
        }
        i = escape(b, k, out).ok_or(())?;
    }
}

/// Decodes a JSON string's raw text into `out`; false on a bad escape.
/// A `\u` escape that is not a valid character (a lone surrogate) gives
/// U+FFFD.
pub fn unescape(raw: &[u8], out: &mut Vec<u8>) -> bool {
    let mut i = 0;
    while i < raw.len() {
        let Some(k) = memchr::memchr(b'\\', &raw[i..]) else {
            out.extend_from_slice(&raw[i..]);
            return true;
        };
        out.extend_from_slice(&raw[i..i + k]);
        match escape(raw, i + k, out) {
            Some(after) => i = after,
            None => return false,
        }
    }
    true
}

/// Decodes the escape whose backslash is at `at` onto `out`: the index
/// after it, `None` for a bad one.
fn escape(raw: &[u8], at: usize, out: &mut Vec<u8>) -> Option<usize> {
    let mut i = at + 2;
    let c = match *raw.get(at + 1)? {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 8,
        b'f' => 12,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'u' => {
            let mut cp = hex4(raw.get(i..))?;
            i += 4;
            if (0xD800..0xDC00).contains(&cp)
                && raw.get(i..i + 2) == Some(b"\\u")
                && let Some(lo) = hex4(raw.get(i + 2..))
                && (0xDC00..0xE000).contains(&lo)
            {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
            let mut tmp = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
            return Some(i);
        }
        _ => return None,
    };
    out.push(c);
    Some(i)
}

fn hex4(b: Option<&[u8]>) -> Option<u32> {
    let b = b?.get(..4)?;
    let s = std::str::from_utf8(b).ok()?;
    if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// journald's MESSAGE as an array of byte values.
fn bytes_array(raw: &[u8], out: &mut Vec<u8>) -> bool {
    for item in raw.split(|&c| c == b',') {
        let item = trim_start(item);
        let item = &item[..item.iter().take_while(|c| c.is_ascii_digit()).count()];
        match std::str::from_utf8(item)
            .ok()
            .and_then(|s| s.parse::<u8>().ok())
        {
            Some(v) => out.push(v),
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Server;

    #[test]
    fn boot_time_of_a_kernel_line() {
        let boot = kernel_boot(
            b"Dec  2 16:05:30 web1 kernel: [14730.412355] Out of memory: Killed process 1 (x)",
            2026,
        );
        assert_eq!(
            boot.map(|t| t.iso()).as_deref(),
            Some("2026-12-02T12:00:00")
        );
        assert_eq!(
            kernel_boot(b"Dec  2 16:05:30 web1 kernel: Out of memory", 2026),
            None
        );
        assert_eq!(kernel_boot(b"[14730.412355] Out of memory", 2026), None);
    }

    const NGX: &str = r#"2026/11/21 09:36:49 [error] 10421#10421: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: upstream-refused.example.test, request: "GET /api/users/123 HTTP/1.1", upstream: "http://127.0.0.1:18190/api/users/123", host: "shop.example.test""#;
    const AP: &str = "[Sat Nov 21 09:37:09.819457 2026] [proxy:error] [pid 10464:tid 10489] (111)Connection refused: AH00957: http: attempt to connect to 127.0.0.1:18190 (127.0.0.1:18190) failed";

    fn open(line: &str) -> Option<(Server, Option<String>, Vec<u8>, bool)> {
        let mut scratch = Scratch::default();
        let (h, partial) = unwrap(line.as_bytes(), 2026, &mut scratch)?;
        Some((
            h.server,
            h.time.map(LocalTime::iso),
            h.body.to_vec(),
            partial,
        ))
    }

    fn nginx_inside(line: &str) {
        let (server, time, body, partial) = open(line).unwrap_or_else(|| panic!("{line}"));
        assert_eq!(server, Server::Nginx, "{line}");
        assert_eq!(time.as_deref(), Some("2026-11-21T09:36:49"), "{line}");
        assert!(body.starts_with(b"connect() failed (111"), "{line}");
        assert!(body.ends_with(b"host: \"shop.example.test\""), "{line}");
        assert!(!partial);
    }

    #[test]
    fn text_prefixes() {
        for prefix in [
            "web_1      | ",
            "web-1  | ",
            "\x1b[36mweb-1  | \x1b[0m",
            "\x1b[36mweb-1  |\x1b[0m ",
            "12:00:01 nginx.1  | ",
            "\x1b[33m12:00:01 nginx.1 | \x1b[0m",
            "[pod/ingress-nginx-controller-7f9c/controller] ",
            "2026-11-21T09:36:49.123456789Z ",
            "2026-11-21T09:36:49.123456789+01:00 ",
            "2026-11-21 09:36:49.123456789  ",
            "web-1  | 2026-11-21T09:36:49.1Z ",
            "2026-11-21T09:36:49.123456789Z stderr F ",
            "<187>1 2026-11-21T09:06:18+00:00 host nginx - - - ",
            "<187>1 2026-11-21T09:06:18.5Z host nginx 812 - [meta x=\"a\\]b\"] \u{feff}",
            "Nov 21 09:36:49 web1 nginx[812]: ",
            "<11>Nov 21 09:36:49 web1 nginx: ",
            "2026-11-21T09:36:49+0100 web1 nginx[812]: ",
        ] {
            nginx_inside(&format!("{prefix}{NGX}"));
        }
    }

    #[test]
    fn envelope_time_when_the_line_has_none() {
        let (s, t, _, _) = open("2026-11-20T10:23:45.5Z stderr F [proxy_fcgi:error] [pid 9:tid 10] [client 1.2.3.4:5] AH01071: Got error 'x'").unwrap();
        assert_eq!(
            (s, t.as_deref()),
            (Server::Apache, Some("2026-11-20T10:23:45"))
        );
        let (_, t, _, _) =
            open("web-1  | [error] 5#5: *1 no live upstreams while connecting to upstream")
                .unwrap();
        assert_eq!(t, None);
        let (_, t, _, _) = open("<187>1 2026-11-21T09:06:18+00:00 host apache - - - AH00558: apache2: Could not reliably determine").unwrap();
        assert_eq!(t.as_deref(), Some("2026-11-21T09:06:18"));
    }

    #[test]
    fn json_objects() {
        let esc = NGX.replace('"', "\\\"");
        for line in [
            format!(r#"{{"log":"{esc}\n","stream":"stderr","time":"2026-11-21T09:36:49.862Z"}}"#),
            format!(
                r#"{{"@timestamp":"2026-11-21T09:36:50.000Z","log":{{"offset":1,"file":{{"path":"/x"}}}},"message":"{esc}"}}"#
            ),
            format!(
                r#"{{"timestamp":"2026-11-21T09:36:50Z","msg":"{esc}","level":3,"ok":true,"n":null,"a":[1,{{"b":"]"}}]}}"#
            ),
            format!(r#"{{ "__REALTIME_TIMESTAMP" : "1795253809000000", "MESSAGE" : "{esc}" }}"#),
            format!(r#"{{"line":"{esc}","labels":{{"app":"nginx"}}}}"#),
        ] {
            nginx_inside(&line);
        }
        // A time from the object for a line without one; \u escapes.
        let (s, t, body, _) = open(r#"{"MESSAGE":"AH00558: apache2: Could not reliably determine the server\u0027s \u00e9 \ud83d\ude00 name","__REALTIME_TIMESTAMP":"1795253809000000"}"#).unwrap();
        assert_eq!(s, Server::Apache);
        assert_eq!(t.as_deref(), Some("2026-11-21T09:36:49"));
        assert!(
            String::from_utf8(body)
                .unwrap()
                .contains("server's é 😀 name")
        );
        // journald's MESSAGE as bytes.
        let bytes: Vec<String> = AP.bytes().map(|b| b.to_string()).collect();
        let (s, ..) = open(&format!(r#"{{"MESSAGE":[{}]}}"#, bytes.join(","))).unwrap();
        assert_eq!(s, Server::Apache);
    }

    /// The one-pass decode of a string equals finding its end, then
    /// decoding its raw text, on strings built to put quotes, escapes and
    /// multi-byte characters on every side of the 16-byte blocks.
    #[test]
    fn one_pass_decode_equals_find_then_unescape() {
        const PIECES: [&[u8]; 15] = [
            b"a",
            b" while connecting to upstream, client: 127.0.0.1, ",
            b"xyz ",
            b"\\\"",
            b"\\\\",
            b"\\n",
            b"\\u00e9",
            b"\\ud83d\\ude00",
            b"\\ud800",
            b"\\x",
            b"\\u12",
            b"\"",
            b"\xc3\xa9",
            b"0123456789abcdef",
            b"\\",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let (mut decoded, mut refused) = (0, 0);
        for _ in 0..20_000 {
            let mut line = b"\"".to_vec();
            crate::testing::xorshift(&mut seed);
            let mut r = seed;
            for _ in 0..(r % 12) {
                r = r.rotate_left(5) ^ 0x9e37_79b9;
                line.extend_from_slice(PIECES[(r % PIECES.len() as u64) as usize]);
            }
            // What follows the string on its line (a Docker line's other
            // fields), and text decoded before it in the buffer (a joined
            // record's pieces).
            line.extend_from_slice(
                &b",\"stream\":\"stderr\",\"time\":\"2026\"}"[..(r % 34) as usize],
            );
            let before = &b"an earlier piece's text\n"[..(r % 25) as usize];
            let fields = Fields {
                b: &line,
                i: 0,
                complete: false,
                done: false,
            };
            let plain = fields.string(0).and_then(|(raw, after)| {
                let mut out = Vec::new();
                unescape(raw, &mut out).then_some((out, after))
            });
            let mut out = before.to_vec();
            let fast = decode_string(&line, 0, &mut out).ok().map(|after| {
                assert_eq!(&out[..before.len()], before);
                (out.split_off(before.len()), after)
            });
            assert_eq!(fast, plain, "{}", String::from_utf8_lossy(&line));
            match fast {
                Some(_) => decoded += 1,
                None => refused += 1,
            }
        }
        assert!(decoded > 2_000 && refused > 2_000, "{decoded} {refused}");
    }

    /// Stamps read through the remembered second and date give the time
    /// and length the plain reading gives, in sequences that repeat a
    /// second, change it, and break the stamp after and within it.
    #[test]
    fn remembered_stamps_read_as_the_plain_reading() {
        const PIECES: [&[u8]; 14] = [
            b"2025-11-21T22:21:05",
            b"2025-11-21T22:21:06",
            b"2025-11-22 00:00:00",
            b"2025-11-21T22:21",
            b"2025-11-21T22:21:0x",
            b".760336522Z",
            b".76033652xZ",
            b".7603365229Z",
            b".7603x6522Z",
            b",760336522Z",
            b",5+01:00",
            b"+0100 stderr F x",
            b"Z",
            b".",
        ];
        let mut dates = IsoDates::default();
        let mut seed = 0x1234_5678_9abc_def1u64;
        let (mut read, mut not) = (0, 0);
        for _ in 0..20_000 {
            crate::testing::xorshift(&mut seed);
            let mut r = seed;
            let mut b = Vec::new();
            for _ in 0..1 + r % 3 {
                b.extend_from_slice(PIECES[(r / 4 % PIECES.len() as u64) as usize]);
                r /= 16;
            }
            let fast = stamp_cached(&b, &mut dates);
            assert_eq!(fast, stamp(&b), "{}", String::from_utf8_lossy(&b));
            if b.len() >= 19 {
                assert_eq!(
                    stamp_len(&b),
                    stamp_len_any(&b),
                    "{}",
                    String::from_utf8_lossy(&b)
                );
            }
            match fast {
                Some(_) => read += 1,
                None => not += 1,
            }
        }
        assert!(read > 3_000 && not > 2_000, "{read} {not}");
    }

    /// Lines read through the remembered envelope give the heads each line
    /// gives read on its own, in sequences that repeat an envelope, change
    /// its second, host, tag or year, and cut it.
    #[test]
    fn remembered_syslog_envelopes_read_as_each_line_alone() {
        const STAMPS: [&[u8]; 4] = [
            b"Nov 21 22:21:05",
            b"Nov 21 22:21:06",
            b"Nov 21 22:21:05.123456",
            b"Nov 2x 22:21:05",
        ];
        const AFTER: [&[u8]; 7] = [
            b" web1 apache2[10464]: ",
            b" web1 nginx[10420]: ",
            b" web2 nginx[10420]: ",
            b" web1 kernel: ",
            b" web1 nginx[10420]:",
            b" web1 a-very-long-tag-name-that-takes-the-envelope-past-sixty-four-bytes[1]: ",
            b" web1 ",
        ];
        const MSGS: [&[u8]; 5] = [
            b"[Fri Nov 21 22:21:05.520509 2025] [proxy:error] [pid 1:tid 2] AH00898: x",
            b"2025/11/21 22:21:05 [error] 1#1: *2 connect() failed (111: x)",
            b"[14730.412355] oom-kill",
            b"x",
            b"",
        ];
        let mut seed = 0x0123_4567_89ab_cdefu64;
        let mut dates = Dates::default();
        let mut scratch = Scratch::default();
        let (mut read, mut not) = (0, 0);
        let mut envelope = (0, 0);
        for _ in 0..20_000 {
            crate::testing::xorshift(&mut seed);
            let r = seed;
            // Half the lines in the last line's envelope.
            if r.is_multiple_of(2) {
                envelope = ((r / 2 % 4) as usize, (r / 8 % 7) as usize);
            }
            let mut line = STAMPS[envelope.0].to_vec();
            line.extend_from_slice(AFTER[envelope.1]);
            line.extend_from_slice(MSGS[(r / 64 % 5) as usize]);
            let year = if (r / 512).is_multiple_of(16) {
                2024
            } else {
                2025
            };
            let fast = bsd_syslog(
                &line,
                &mut Cx {
                    year,
                    dates: &mut dates,
                },
                0,
            );
            let plain = bsd_syslog_read(
                &line,
                &mut Cx {
                    year,
                    dates: &mut Dates::default(),
                },
                0,
            );
            assert_eq!(fast, plain, "{}", String::from_utf8_lossy(&line));
            let mut partial = true;
            let unwrapped = unwrap_in(&line, year, &mut scratch, Lines::One, &mut partial);
            let alone = text(
                &line,
                &mut Cx {
                    year,
                    dates: &mut Dates::default(),
                },
                0,
            );
            assert_eq!(unwrapped, alone, "{}", String::from_utf8_lossy(&line));
            assert!(unwrapped.is_none() || !partial);
            match fast {
                Some(_) => read += 1,
                None => not += 1,
            }
        }
        assert!(read > 3_000 && not > 2_000, "{read} {not}");
    }

    /// [`host_tag`] as it was before its tag was found by one search for
    /// a colon or a space.
    fn host_tag_plain<'a>(
        after: &'a [u8],
        t: LocalTime,
        cx: &mut Cx<'_>,
        depth: u8,
    ) -> Option<Head<'a>> {
        let after = after.strip_prefix(b" ")?;
        let sp = memchr::memchr(b' ', after)?;
        if sp == 0 {
            return None;
        }
        let tag_and_msg = &after[sp + 1..];
        let colon = memchr::memchr(b':', &tag_and_msg[..tag_and_msg.len().min(64)])?;
        if colon == 0 || tag_and_msg[..colon].contains(&b' ') {
            return None;
        }
        let msg = tag_and_msg[colon + 1..].strip_prefix(b" ")?;
        if &tag_and_msg[..colon] == b"kernel" {
            let mut head = kernel::in_envelope(msg);
            head.time = Some(t);
            return Some(head);
        }
        inner(msg, Some(t), cx, depth)
    }

    /// The syslog host and tag are read as the plain reading does, on
    /// texts built to put colons, spaces, long tags and odd messages in
    /// every place.
    #[test]
    fn host_tag_reads_as_the_plain_version() {
        // Host, tag, separator and message, each chosen from good and bad
        // ones, then more pieces.
        const PARTS: [&[&[u8]]; 4] = [
            &[b" web1 ", b" web1", b"  ", b" ", b"web1 ", b" a:b "],
            &[
                b"apache2[10464]",
                b"nginx",
                b"kernel",
                b"a:b",
                b"a b",
                b"",
                b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnop",
                b"0123456789abcdef",
            ],
            &[b": ", b":", b" ", b":x ", b": : "],
            &[
                b"[Fri Nov 21 22:21:05.520509 2025] [proxy:error] [pid 1:tid 2] AH00898: x",
                b"2025/11/21 22:21:05 [error] 1#1: *2 connect() failed (111: x)",
                b"[14730.412355] oom-kill",
                b"AH01102: error reading status line",
                b"x",
                b"",
            ],
        ];
        let t = LocalTime(1_763_763_665);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let (mut read, mut not) = (0, 0);
        for _ in 0..20_000 {
            crate::testing::xorshift(&mut seed);
            let mut r = seed;
            let mut text = Vec::new();
            for part in PARTS {
                text.extend_from_slice(part[(r % part.len() as u64) as usize]);
                r /= 8;
            }
            for _ in 0..(r % 3) {
                r /= 4;
                let part = PARTS[(r % 4) as usize];
                text.extend_from_slice(part[(r / 4 % part.len() as u64) as usize]);
            }
            let (mut a, mut b) = (Dates::default(), Dates::default());
            let fast = host_tag(
                &text,
                t,
                &mut Cx {
                    year: 2025,
                    dates: &mut a,
                },
                0,
            );
            let plain = host_tag_plain(
                &text,
                t,
                &mut Cx {
                    year: 2025,
                    dates: &mut b,
                },
                0,
            );
            assert_eq!(fast, plain, "{}", String::from_utf8_lossy(&text));
            match fast {
                Some(_) => read += 1,
                None => not += 1,
            }
        }
        assert!(read > 500 && not > 10_000, "{read} {not}");
    }

    /// Docker's own layout, read whole, gives what the walk over any
    /// object's fields gives, on lines built to put escapes, bad escapes,
    /// missing newlines and odd tails in every place; the lines it does not
    /// take are left to that walk.
    #[test]
    fn docker_layout_reads_as_the_field_walk() {
        const LOGS: [&str; 7] = [
            r#"2026/11/21 09:36:49 [error] 10421#10421: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, request: \"GET /a HTTP/1.1\", upstream: \"http://127.0.0.1:1/a\"\n"#,
            r#"2026/11/21 09:36:49 [error] 10421#10421: *1 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, request: \"GET /\u00e9t\u00e9 HTTP/1.1\""#,
            r#"[Sat Nov 21 09:37:09.819457 2026] [proxy:error] [pid 10464:tid 10489] (111)Connection refused: AH00957: http: attempt to connect to 127.0.0.1:18190 (127.0.0.1:18190) failed\r\n"#,
            r#"no time here: connect() failed (111: Connection refused) while connecting to upstream\n"#,
            r#"2026/11/21 09:36:49 [error] 1#1: *1 bad \x escape\n"#,
            r#"\n"#,
            "",
        ];
        const STREAMS: [&str; 4] = ["stderr", "stdout", r#"std\"err"#, r#"a\"#];
        const TIMES: [&str; 3] = [
            "2026-11-21T09:36:50.123456789Z",
            "not a time",
            r#"2026\"-11"#,
        ];
        const TAILS: [&str; 6] = ["}", "}\r", "} ", "},", "}\n{\"log\":\"x\"}", ""];
        let (mut taken, mut left) = (0, 0);
        for log in LOGS {
            for stream in STREAMS {
                for time in TIMES {
                    for tail in TAILS {
                        let line =
                            format!(r#"{{"log":"{log}","stream":"{stream}","time":"{time}"{tail}"#);
                        let line = line.as_bytes();
                        let mut dates = Dates::default();
                        let cx = &mut Cx {
                            year: 2026,
                            dates: &mut dates,
                        };
                        let mut buf = Vec::new();
                        let Some(t) = docker_layout(line, &mut buf) else {
                            assert!(buf.is_empty());
                            left += 1;
                            continue;
                        };
                        taken += 1;
                        let mut walked_log = Vec::new();
                        assert_eq!(
                            docker_log_walk(line, &mut walked_log),
                            Some(json_time(b"time", Value::String(t)))
                        );
                        assert_eq!(walked_log, buf);
                        let no_newline = buf.is_empty() || strip_newline(&mut buf);
                        let fast = inner(&buf, None, cx, 0).map(|mut h| {
                            if h.time.is_none() {
                                h.time = json_time(b"time", Value::String(t));
                            }
                            (h.server, h.time, h.body.to_vec(), no_newline)
                        });
                        let mut other = Vec::new();
                        let mut partial = false;
                        let walked = json(line, cx, &mut other, &mut partial)
                            .map(|h| (h.server, h.time, h.body.to_vec(), partial));
                        assert_eq!(fast, walked, "{}", String::from_utf8_lossy(line));
                    }
                }
            }
        }
        assert!(taken > 30 && left > 100, "{taken} {left}");
    }

    #[test]
    fn bad_json_never_panics() {
        for l in [
            "{",
            "{}",
            r#"{"log":"#,
            r#"{"log":"\"#,
            r#"{"log":"\u12"}"#,
            r#"{"log":"\x"}"#,
            r#"{"log":"2026/11/21 09:36:49 [error] 1#1: x"#,
            r#"{"log":"2026/11/21 09:36:49 [error] 1#1: x" "b":1}"#,
            r#"{"MESSAGE":[1,2,300]}"#,
            r#"{"a":[[[[[[["#,
            r#"{"a":}"#,
            r#"{"log":"\ud800"}"#,
        ] {
            let _ = open(l);
        }
        let (_, _, body, _) =
            open(r#"{"log":"2026/11/21 09:36:49 [error] 1#1: *2 a \ud800 b"}"#).unwrap();
        assert_eq!(body, "a \u{FFFD} b".as_bytes());
        assert!(open(r#"{"log":"hello"}"#).is_none());
    }

    #[test]
    fn partial_pieces_are_joined() {
        let (cut_a, cut_b) = NGX.split_at(120);
        let cri = format!(
            "2026-11-21T09:36:49.1Z stderr P {cut_a}\n2026-11-21T09:36:49.1Z stderr F {cut_b}"
        );
        let (.., partial) = open(cri.lines().next().unwrap()).unwrap();
        assert!(partial);
        nginx_inside(&cri);
        assert_eq!(
            piece_goes_on(cri.lines().nth(1).unwrap().as_bytes()),
            Some(false)
        );
        let (ja, jb) = (cut_a.replace('"', "\\\""), cut_b.replace('"', "\\\""));
        let docker = format!(
            "{{\"log\":\"{ja}\",\"stream\":\"stderr\",\"time\":\"2026-11-21T09:36:49Z\"}}\n{{\"log\":\"{jb}\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-21T09:36:49Z\"}}"
        );
        let (.., partial) = open(docker.lines().next().unwrap()).unwrap();
        assert!(partial);
        nginx_inside(&docker);
        assert_eq!(piece_goes_on(b"hello"), None);
    }

    #[test]
    fn not_envelopes() {
        for l in [
            "hello | world",
            "a | b",
            "2026-11-21T09:36:49Z hello",
            "<1x>1 2026-11-21T09:06:18+00:00 host nginx - - - x",
            "<187>1 2026-11-21T09:06:18+00:00 host",
            "2026-11-21T09:36:49.Z stderr F x",
            "\x1b[",
            "\x1b[36",
            "[pod/x y] 2026/11/21 09:36:49 [error] 1#1: x",
        ] {
            assert!(open(l).is_none(), "{l:?}");
        }
        // Nested past the limit.
        let deep = format!("{}{NGX}", "a | ".repeat(8));
        assert!(open(&deep).is_none());
    }
}
