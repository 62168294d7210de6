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

use super::head::Head;
use super::time;
use crate::bytes::leading_number;
use crate::event::{LocalTime, Server};

/// The prefix: `[time] [module:level] [pid N:tid T] `.
#[inline]
pub fn head(line: &[u8]) -> Option<Head<'_>> {
    head_cached(line, &mut Memory::default())
}

/// What the Apache reader remembers of the lines before a line: the date
/// cache, and the brackets of recent 2.4 lines (boxed on first use: a
/// memory made for one line costs no more than a date cache).
#[derive(Debug, Clone, Default)]
pub struct Memory {
    dates: time::DateCache,
    brackets: Option<Box<Brackets>>,
}

/// [`head`] with what the lines before said remembered (see [`Memory`]).
#[inline]
pub fn head_cached<'a>(line: &'a [u8], memory: &mut Memory) -> Option<Head<'a>> {
    if let Some(h) = head_24(line, memory) {
        return Some(h);
    }
    head_any(line, &mut memory.dates)
}

/// [`head_cached`] for 2.4's default stamp, `[Fri Nov 21 22:21:05.520509
/// 2025] `, read at fixed offsets, its second remembered; `None` where the
/// line has another stamp (or one that does not read), which
/// [`head_any`] then reads. Same result as [`head_any`] where it gives one.
#[inline]
fn head_24<'a>(line: &'a [u8], memory: &mut Memory) -> Option<Head<'a>> {
    let dates = &mut memory.dates;
    let (prefix, rest) = line.split_first_chunk::<34>()?;
    // A busy server writes many lines a second: a line whose stamp is the
    // last one read but for the microseconds has its time, and its shape,
    // at once.
    let words = time::apache_line_words(prefix);
    let (t, micros) = match time::apache_line_time(&words, dates) {
        Some(t) => (t, micros_24(prefix)?),
        None => {
            let (t, micros) = stamp_24(prefix, dates)?;
            time::remember_apache_line(words, t, dates);
            (t, micros)
        }
    };
    let brackets = memory.brackets.get_or_insert_with(Box::default);
    if let Some(h) = after_time_24(rest, t, micros, brackets) {
        return Some(h);
    }
    after_time(rest, Some(t)).map(|(h, _)| Head { micros, ..h })
}

/// The time and microseconds of 2.4's default stamp, the first 34 bytes of
/// a line, read at fixed offsets.
#[inline]
fn stamp_24(prefix: &[u8; 34], dates: &mut time::DateCache) -> Option<(LocalTime, u32)> {
    let stamp: &[u8; 31] = prefix[1..32].try_into().ok()?;
    if prefix[0] != b'['
        || prefix[32] != b']'
        || prefix[33] != b' '
        || stamp[3] != b' '
        || stamp[7] != b' '
        || stamp[10] != b' '
        || stamp[13] != b':'
        || stamp[16] != b':'
        || stamp[19] != b'.'
        || stamp[26] != b' '
        // The only bytes no parse below checks: a `]` there would end the
        // stamp early.
        || stamp[..3].contains(&b']')
    {
        return None;
    }
    let micros = micros_24(prefix)?;
    let t = time::apache_ctime_micros_cached(stamp, dates)?;
    Some((t, micros))
}

/// The six digits of the microseconds of 2.4's default stamp (bytes 21 to
/// 26 of the line; byte 27 is known to be a space).
#[inline(always)]
fn micros_24(prefix: &[u8; 34]) -> Option<u32> {
    match leading_number(&prefix[21..]) {
        Some((n, 6)) => Some(n as u32),
        _ => None,
    }
}

/// [`after_time`] for 2.4's default layout, `[module:level] [pid N:tid T] `
/// and the log ids of a format that adds them, read forward once and the
/// head built in place: where the brackets up to the thread id are those of
/// a recent line (`memo`, see [`Brackets`]) only the thread id is read;
/// else the end of the first bracket by a 16-byte compare, the level back
/// from there to its colon, the pid bracket at fixed places, and the
/// brackets remembered. `None` for any other shape, which [`after_time`]
/// then reads; where it gives a head, [`after_time`] gives the same.
#[inline(always)]
fn after_time_24<'a>(
    b: &'a [u8],
    time: LocalTime,
    micros: u32,
    memo: &mut Brackets,
) -> Option<Head<'a>> {
    // The brackets up to the thread id as a recent line had them: only
    // the thread id is left to read.
    let whole = b.first_chunk::<BRACKET_BYTES>().map(bracket_words);
    if let Some(words) = &whole
        && let Some(s) = memo.get(words)
    {
        let (colon, close) = (usize::from(s.colon), usize::from(s.close));
        let (module, level) = (&b[1..colon], &b[colon + 1..close]);
        return thread_24(b, usize::from(s.len), module, level, s.pid, time, micros);
    }
    let inner = b.strip_prefix(b"[")?;
    // `after_time` looks for the close in the first 40 bytes.
    let close = crate::bytes::find_byte_in_text(b']', inner).filter(|&c| c < 40)?;
    // The level is the run of lowercase letters and digits before the
    // close; the byte before it must be a colon, which is then the last
    // one in the bracket.
    let level_len = inner[..close]
        .iter()
        .rev()
        .position(|&c| !LEVEL_BYTE[usize::from(c)])?;
    let c = close - level_len;
    if level_len == 0 || inner[c - 1] != b':' {
        return None;
    }
    let (module, level) = (&inner[..c - 1], &inner[c..close]);
    let p = inner[close + 1..].strip_prefix(b" [pid ")?;
    let (n, len) = leading_number(p)?;
    let pid = u32::try_from(n).ok();
    let p = &p[len..];
    if let Some(t) = p.strip_prefix(b":tid ") {
        let at = b.len() - t.len();
        if let Some(words) = whole {
            memo.put(words, at, c, close + 1, pid);
        }
        return thread_24(b, at, module, level, pid, time, micros);
    }
    let body = p.strip_prefix(b"] ")?;
    Some(head_24_of(body, module, level, pid, None, time, micros))
}

/// [`after_time_24`] from the thread id on, at `at` in `b`.
#[inline(always)]
fn thread_24<'a>(
    b: &'a [u8],
    at: usize,
    module: &'a [u8],
    level: &'a [u8],
    pid: Option<u32>,
    time: LocalTime,
    micros: u32,
) -> Option<Head<'a>> {
    let t = &b[at..];
    let (n, len) = leading_number(t)?;
    let body = t[len..].strip_prefix(b"] ")?;
    Some(head_24_of(body, module, level, pid, Some(n), time, micros))
}

/// The head of a 2.4 line, its log ids read from the start of `body`.
#[inline(always)]
fn head_24_of<'a>(
    mut body: &'a [u8],
    module: &'a [u8],
    level: &'a [u8],
    pid: Option<u32>,
    tid: Option<u64>,
    time: LocalTime,
    micros: u32,
) -> Head<'a> {
    // The log id brackets of a format that logs them (`[R:...`), as
    // `after_bracket` reads them.
    let mut log_id = None;
    if let [b'[', b'R' | b'L' | b'C', b':', ..] = body {
        while let Some((kind, id, after)) = log_id_bracket(body) {
            if kind != b'C' {
                log_id = Some(log_id_hash(id));
            }
            body = after;
        }
    }
    Head {
        server: Server::Apache,
        micros,
        time: Some(time),
        level,
        module,
        pid,
        tid,
        cid: log_id,
        body,
    }
}

/// Bytes of a line after its stamp that [`Brackets`] looks at: the
/// brackets up to the thread id, when they end within them.
const BRACKET_BYTES: usize = 48;

/// Slots of [`Brackets`]: enough that the few modules of a server seldom
/// share one.
const BRACKET_SLOTS: usize = 64;

/// What [`after_time_24`] remembers of recent 2.4 lines: the bytes after
/// the stamp up to the thread id (`[proxy:error] [pid 10464:tid `), which
/// a server repeats line after line for each module and process, and what
/// they read as; a few of them, by their first bytes (the module). A line
/// that starts with the same bytes reads the same up to there.
#[derive(Debug, Clone)]
struct Brackets {
    slots: [Bracket; BRACKET_SLOTS],
}

impl Default for Brackets {
    fn default() -> Self {
        Brackets {
            slots: [Bracket::default(); BRACKET_SLOTS],
        }
    }
}

/// One remembered start of a line (see [`Brackets`]).
#[derive(Debug, Clone, Copy, Default)]
struct Bracket {
    /// The first [`BRACKET_BYTES`] bytes, as words.
    words: [u64; BRACKET_BYTES / 8],
    /// The bytes of the words that are the brackets' (all bits set).
    mask: [u64; BRACKET_BYTES / 8],
    /// Where the thread id starts; 0 for an empty slot.
    len: u8,
    /// Where the colon before the level is.
    colon: u8,
    /// Where the bracket of module and level closes.
    close: u8,
    pid: Option<u32>,
}

/// The first [`BRACKET_BYTES`] bytes of `b` as words.
#[inline(always)]
fn bracket_words(b: &[u8; BRACKET_BYTES]) -> [u64; BRACKET_BYTES / 8] {
    let mut out = [0; BRACKET_BYTES / 8];
    for (w, b) in out.iter_mut().zip(b.as_chunks::<8>().0) {
        *w = u64::from_le_bytes(*b);
    }
    out
}

impl Brackets {
    /// The slot of a line starting with `words`: by its first 16 bytes,
    /// the module's and the level's.
    #[inline(always)]
    fn slot(words: &[u64; BRACKET_BYTES / 8]) -> usize {
        let h = words[0].wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ words[1].wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        (h >> 58) as usize % BRACKET_SLOTS
    }

    /// The remembered start `words` begin with, if any.
    #[inline(always)]
    fn get(&self, words: &[u64; BRACKET_BYTES / 8]) -> Option<&Bracket> {
        let s = &self.slots[Self::slot(words)];
        let differ = words
            .iter()
            .zip(&s.words)
            .zip(&s.mask)
            .fold(0, |d, ((w, k), m)| d | ((w ^ k) & m));
        (s.len != 0 && differ == 0).then_some(s)
    }

    /// Remembers that a line starting with `words` has its thread id at
    /// `len`, the colon before its level at `colon`, its close at `close`
    /// and process id `pid`.
    #[inline(always)]
    fn put(
        &mut self,
        words: [u64; BRACKET_BYTES / 8],
        len: usize,
        colon: usize,
        close: usize,
        pid: Option<u32>,
    ) {
        let (Ok(len8), Ok(colon), Ok(close)) =
            (u8::try_from(len), u8::try_from(colon), u8::try_from(close))
        else {
            return;
        };
        if len > BRACKET_BYTES {
            return;
        }
        let mask = std::array::from_fn(|i| {
            let n = len.saturating_sub(8 * i).min(8);
            if n == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * n)) - 1
            }
        });
        let slot = Self::slot(&words);
        self.slots[slot] = Bracket {
            words: std::array::from_fn(|i| words[i] & mask[i]),
            mask,
            len: len8,
            colon,
            close,
            pid,
        };
    }
}

/// The bytes of a level: lowercase letters and digits.
static LEVEL_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = (c as u8).is_ascii_lowercase() || (c as u8).is_ascii_digit();
        c += 1;
    }
    t
};

/// [`head_cached`] for every stamp Apache can be set to write.
#[inline(never)]
fn head_any<'a>(line: &'a [u8], dates: &mut time::DateCache) -> Option<Head<'a>> {
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
    ah_tag(line)?;
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
            let (rest, _) = status(line)?;
            ah_tag(rest)?;
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

#[inline]
fn after_time(b: &[u8], time: Option<LocalTime>) -> Option<(Head<'_>, Layout)> {
    let b = b.strip_prefix(b"[")?;
    let (close, colon) = bracket_end(b)?;
    after_bracket(b, close, colon, time)
}

/// The head after the time, given where the module and level bracket
/// closes (`close`, in `b`, which starts inside the bracket) and where its
/// last colon is.
#[inline(always)]
fn after_bracket(
    b: &[u8],
    close: usize,
    colon: Option<usize>,
    time: Option<LocalTime>,
) -> Option<(Head<'_>, Layout)> {
    let inner = &b[..close];
    // `proxy_fcgi:error`: the module is before the last colon.
    let (layout, module, level) = match colon {
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

/// The bytes of `w` equal to `c`, as their high bits (exact: no carries
/// between bytes).
#[inline]
fn equal(w: u64, c: u8) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let x = w ^ (u64::from(c) * 0x0101_0101_0101_0101);
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// The end of the `module:level]` bracket in the first 40 bytes of `b`
/// and the last colon before it: eight bytes a step.
#[inline]
fn bracket_end(b: &[u8]) -> Option<(usize, Option<usize>)> {
    let window = &b[..b.len().min(40)];
    let mut colon = None;
    let mut at = 0;
    while let Some(word) = window.get(at..).and_then(|w| w.first_chunk::<8>()) {
        let w = u64::from_le_bytes(*word);
        let close = equal(w, b']');
        // Colons up to the close only.
        let below = if close == 0 {
            u64::MAX
        } else {
            (close & close.wrapping_neg()).wrapping_sub(1)
        };
        let colons = equal(w, b':') & below;
        if colons != 0 {
            colon = Some(at + (63 - colons.leading_zeros() as usize) / 8);
        }
        if close != 0 {
            return Some((at + close.trailing_zeros() as usize / 8, colon));
        }
        at += 8;
    }
    for (i, &c) in window.iter().enumerate().skip(at) {
        if c == b']' {
            return Some((i, colon));
        }
        if c == b':' {
            colon = Some(i);
        }
    }
    None
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
    #[inline]
    pub fn parse(body: &'a [u8]) -> Body<'a> {
        Body::parse_parts(body).with_referer()
    }

    /// [`Body::parse`] up to the message: the message is the whole rest
    /// of the line (a referer still on it); [`Body::with_referer`] takes it
    /// off. Lets a classifier that needs no message skip the search for it.
    #[inline(always)]
    pub fn parse_parts(body: &'a [u8]) -> Body<'a> {
        let mut out = Body::default();
        let mut rest = body;
        // Optional parts in either order, at most once each; the first
        // byte says which one can be next.
        for _ in 0..3 {
            match rest.first() {
                Some(b'(') if out.status.is_none() => match status(rest) {
                    Some((r, s)) => {
                        out.status = Some(s);
                        rest = r;
                    }
                    None => break,
                },
                Some(b'[') if out.peer.is_none() => match peer(rest) {
                    Some((r, p)) => {
                        out.peer = Some(p);
                        rest = r;
                    }
                    None => break,
                },
                Some(c) if c.is_ascii_alphanumeric() && !rest.starts_with(b"AH") => {
                    match source_location(rest) {
                        Some(r) => rest = r,
                        None => break,
                    }
                }
                _ => break,
            }
        }
        if let Some((r, ah)) = ah_tag(rest) {
            out.ah = Some(ah);
            rest = r;
        }
        out.message = rest;
        out
    }

    /// Takes the `, referer: ...` Apache appends off the message of
    /// [`Body::parse_parts`].
    #[inline(always)]
    pub fn with_referer(mut self) -> Body<'a> {
        let rest = self.message;
        // Most lines have no referer: one forward search by its comma (few
        // in a message) says so before a search for the last one.
        if let Some(first) = crate::bytes::find_by(rest, b", referer: ", 0)
            && let Some(i) = crate::bytes::rfind(&rest[first..], b", referer: ").map(|i| first + i)
        {
            self.referer = Some(&rest[i + 11..]);
            self.message = &rest[..i];
        }
        self
    }
}

/// The digits at the start of `b` (at least one) as an `i64`, negative
/// after a `-` when `signed`; `None` past `i64`'s range, as `str::parse`.
#[inline]
fn number(b: &[u8], signed: bool) -> Option<(i64, usize)> {
    let neg = signed && b.first() == Some(&b'-');
    let start = usize::from(neg);
    let digits = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut v: i64 = 0;
    for &d in &b[start..start + digits] {
        let d = i64::from(d - b'0');
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(d)?
        } else {
            v.checked_add(d)?
        };
    }
    Some((v, start + digits))
}

/// `(111)Connection refused: ` / `(EAI 2)...: ` / `(OS 10061)...: `.
#[inline(always)]
fn status(i: &[u8]) -> Option<(&[u8], Status)> {
    let i = i.strip_prefix(b"(")?;
    // An errno or APR code, the usual: up to seven digits at once.
    let (s, len) = if let Some((n, len)) = leading_number(i).filter(|&(_, len)| len < 8) {
        (Status::Code(n as i64), len)
    } else if let Some(d) = i.strip_prefix(b"EAI ")
        && let Some((n, len)) = number(d, true)
    {
        (Status::Eai(n), 4 + len)
    } else if let Some(d) = i.strip_prefix(b"OS ")
        && let Some((n, len)) = number(d, false)
    {
        (Status::Code(n), 3 + len)
    } else {
        let (n, len) = number(i, true)?;
        (Status::Code(n), len)
    };
    let i = i[len..].strip_prefix(b")")?;
    // The OS text up to ": " (bounded, it is a short strerror).
    // By its colon: an OS text has one or none.
    let end = crate::bytes::find_by(&i[..i.len().min(160)], b": ", 0)?;
    Some((&i[end + 2..], s))
}

/// `[client 1.2.3.4:5678] ` or `[remote 1.2.3.4:80] `.
#[inline(always)]
fn peer(i: &[u8]) -> Option<(&[u8], Peer<'_>)> {
    let i = i.strip_prefix(b"[")?;
    let remote = if i.starts_with(b"client ") {
        false
    } else if i.starts_with(b"remote ") {
        true
    } else {
        return None;
    };
    let i = &i[7..];
    let end = crate::bytes::find_byte2(b']', b' ', i)?;
    if i[end] != b']' {
        return None;
    }
    let (addr, after) = (&i[..end], &i[end + 1..]);
    Some((
        after.strip_prefix(b" ").unwrap_or(after),
        Peer { remote, addr },
    ))
}

/// `mod_proxy.c(1234): ` (debug and trace levels).
#[inline]
fn source_location(i: &[u8]) -> Option<&[u8]> {
    let name = i
        .iter()
        .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-')
        .count();
    if name == 0 {
        return None;
    }
    let i = i[name..].strip_prefix(b"(")?;
    let digits = i.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    i[digits..].strip_prefix(b")")?.strip_prefix(b": ")
}

/// `AH01102: `.
#[inline(always)]
fn ah_tag(i: &[u8]) -> Option<(&[u8], u32)> {
    // `AH` and five digits and `: `, the usual, from one 8-byte word.
    if let Some((word, rest)) = i.split_first_chunk::<8>()
        && let Some(rest) = rest.strip_prefix(b" ")
    {
        let w = u64::from_le_bytes(*word);
        // `AH` below, `:` on top, five bytes between them that are digits.
        let x = (w >> 16) & 0xFF_FFFF_FFFF;
        let d = x ^ 0x30_3030_3030;
        let non_digit = (d | d.wrapping_add(0x06_0606_0606)) & 0xF0_F0F0_F0F0;
        if w & 0xFFFF == u64::from(u16::from_le_bytes(*b"AH"))
            && w >> 56 == u64::from(b':')
            && non_digit == 0
        {
            let b = d.to_le_bytes();
            let n = ((u32::from(b[0]) * 10 + u32::from(b[1])) * 10 + u32::from(b[2])) * 100
                + u32::from(b[3]) * 10
                + u32::from(b[4]);
            return Some((rest, n));
        }
    }
    let d = i.strip_prefix(b"AH")?;
    // The usual five digits at once.
    if let Some((n, len)) = leading_number(d)
        && let Some(rest) = d[len..].strip_prefix(b": ")
    {
        return Some((rest, u32::try_from(n).unwrap_or(0)));
    }
    let len = d.iter().take_while(|c| c.is_ascii_digit()).count();
    if len == 0 {
        return None;
    }
    let rest = d[len..].strip_prefix(b": ")?;
    let n = leading_number(&d[..len]).map(|(n, _)| n).unwrap_or(0);
    Some((rest, u32::try_from(n).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The readers as they were before the fast paths, to hold them to.
    mod plain {
        use super::super::*;
        use nom::{
            IResult, Parser,
            branch::alt,
            bytes::complete::{tag, take_till, take_while1},
            character::complete::{char, digit1},
            combinator::{map_res, opt, recognize},
            sequence::{delimited, preceded, terminated},
        };

        type Res<'a, T> = IResult<&'a [u8], T>;

        /// The bracket's end by `memchr`, its last colon by a search back.
        pub fn after_time(b: &[u8], time: Option<LocalTime>) -> Option<(Head<'_>, Layout)> {
            let b = b.strip_prefix(b"[")?;
            let close = memchr::memchr(b']', &b[..b.len().min(40)])?;
            let colon = b[..close].iter().rposition(|&c| c == b':');
            super::super::after_bracket(b, close, colon, time)
        }

        pub fn status(i: &[u8]) -> Res<'_, Status> {
            let number = || {
                map_res(digit1, |d: &[u8]| {
                    std::str::from_utf8(d).unwrap_or("x").parse::<i64>()
                })
            };
            let code = alt((
                preceded(tag(&b"EAI "[..]), recognize((opt(char('-')), digit1))).map_res(
                    |d: &[u8]| {
                        std::str::from_utf8(d)
                            .unwrap_or("x")
                            .parse::<i64>()
                            .map(Status::Eai)
                    },
                ),
                preceded(tag(&b"OS "[..]), number()).map(Status::Code),
                recognize((opt(char('-')), digit1)).map_res(|d: &[u8]| {
                    std::str::from_utf8(d)
                        .unwrap_or("x")
                        .parse::<i64>()
                        .map(Status::Code)
                }),
            ));
            let (i, s) = delimited(char('('), code, char(')')).parse(i)?;
            let end = crate::bytes::find(&i[..i.len().min(160)], b": ").ok_or_else(|| {
                nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Tag))
            })?;
            Ok((&i[end + 2..], s))
        }

        pub fn peer(i: &[u8]) -> Res<'_, Peer<'_>> {
            let (i, kind) =
                preceded(char('['), alt((tag(&b"client "[..]), tag(&b"remote "[..])))).parse(i)?;
            let (i, addr) =
                terminated(take_till(|c| c == b']' || c == b' '), char(']')).parse(i)?;
            let (i, _) = opt(char(' ')).parse(i)?;
            Ok((
                i,
                Peer {
                    remote: kind == b"remote ",
                    addr,
                },
            ))
        }

        pub fn source_location(i: &[u8]) -> Res<'_, ()> {
            let (i, _) = (
                take_while1(|c: u8| {
                    c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-'
                }),
                delimited(char('('), digit1, char(')')),
                tag(&b": "[..]),
            )
                .parse(i)?;
            Ok((i, ()))
        }

        pub fn ah_tag(i: &[u8]) -> Res<'_, u32> {
            let (i, d) = delimited(
                tag(&b"AH"[..]),
                take_while1(|c: u8| c.is_ascii_digit()),
                tag(&b": "[..]),
            )
            .parse(i)?;
            let n = leading_number(d).map(|(n, _)| n).unwrap_or(0);
            Ok((i, u32::try_from(n).unwrap_or(0)))
        }
    }

    /// Every Apache line of the fixtures, then each of them cut short and
    /// with one byte changed at each of its first places.
    fn corpus() -> Vec<Vec<u8>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut lines: Vec<Vec<u8>> = Vec::new();
        for dir in ["apache", "faults", "logid", "startup"] {
            let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            for f in files {
                let text = std::fs::read(&f).unwrap();
                lines.extend(
                    text.split(|&c| c == b'\n')
                        .filter(|l| {
                            l.starts_with(b"[") || l.starts_with(b"AH") || l.starts_with(b"(")
                        })
                        .map(<[u8]>::to_vec),
                );
            }
        }
        lines.sort();
        lines.dedup();
        assert!(lines.len() > 100, "{}", lines.len());
        let mut out = lines.clone();
        for l in lines.iter().step_by(3) {
            for at in 0..l.len().min(150) {
                out.push(l[..at].to_vec());
                for b in [
                    b']', b' ', b':', b'0', b'9', b'x', b'[', b'-', b'(', b')', b'A',
                ] {
                    let mut m = l.clone();
                    m[at] = b;
                    out.push(m);
                }
            }
        }
        out
    }

    #[test]
    fn fast_readers_read_as_the_plain_ones() {
        let (mut fixed, mut bodies, mut fixed_after, mut with_id) = (0, 0, 0, 0);
        let (mut remembered, mut remembered_bad, mut remembered_brackets) = (0, 0, 0);
        let mut brackets = Brackets::default();
        let mut memory = Memory::default();
        let mut any_dates = time::DateCache::default();
        for line in corpus() {
            // Lines whose time comes from the line before's stamp (the
            // corpus has each line changed byte by byte, the microseconds
            // among them, one after the other).
            if let Some(p) = line.first_chunk::<34>()
                && time::apache_line_time(&time::apache_line_words(p), &memory.dates).is_some()
            {
                remembered += 1;
                remembered_bad += usize::from(micros_24(p).is_none());
            }
            let fast = head_24(&line, &mut memory);
            let any = head_any(&line, &mut any_dates);
            if fast.is_some() {
                fixed += 1;
                assert_eq!(fast, any, "{}", String::from_utf8_lossy(&line));
            }
            assert_eq!(
                head_cached(&line, &mut Memory::default()),
                any,
                "{}",
                String::from_utf8_lossy(&line)
            );
            // After the stamp, and each optional part of a body.
            for at in 0..line.len().min(80) {
                let b = &line[at..];
                assert_eq!(
                    after_time(b, None),
                    plain::after_time(b, None),
                    "{}",
                    String::from_utf8_lossy(b)
                );
                assert_eq!(status(b), plain::status(b).ok());
                assert_eq!(peer(b), plain::peer(b).ok());
                assert_eq!(
                    source_location(b),
                    plain::source_location(b).ok().map(|(r, ())| r)
                );
                assert_eq!(ah_tag(b), plain::ah_tag(b).ok());
                let t = LocalTime(1_000);
                if let Some(words) = b.first_chunk::<BRACKET_BYTES>().map(bracket_words)
                    && brackets.get(&words).is_some()
                {
                    remembered_brackets += 1;
                }
                if let Some(h) = after_time_24(b, t, 7, &mut brackets) {
                    fixed_after += 1;
                    with_id += usize::from(h.cid.is_some());
                    assert_eq!(
                        Some(h),
                        after_time(b, Some(t)).map(|(h, _)| Head { micros: 7, ..h }),
                        "{}",
                        String::from_utf8_lossy(b)
                    );
                }
            }
            // The searches of a status's text and of a referer.
            for at in (0..line.len()).step_by(16) {
                let b = &line[at..];
                for needle in [&b": "[..], b", referer: "] {
                    assert_eq!(
                        crate::bytes::find_by(b, needle, 0),
                        b.windows(needle.len()).position(|w| w == needle)
                    );
                }
            }
            if let Some(h) = any {
                bodies += 1;
                let b = Body::parse(h.body);
                let parts = Body::parse_parts(h.body);
                assert_eq!(parts.clone().with_referer(), b);
                assert_eq!(
                    (parts.status, parts.peer, parts.ah),
                    (b.status, b.peer, b.ah)
                );
            }
        }
        assert!(
            fixed > 1000 && bodies > 1000 && fixed_after > 1000 && with_id > 100,
            "{fixed} {bodies} {fixed_after} {with_id}"
        );
        assert!(
            remembered > 1000 && remembered_bad > 50 && remembered_brackets > 1000,
            "{remembered} {remembered_bad} {remembered_brackets}"
        );
    }

    #[test]
    fn bracket_ends() {
        let plain = |b: &[u8]| {
            let close = memchr::memchr(b']', &b[..b.len().min(40)])?;
            Some((close, b[..close].iter().rposition(|&c| c == b':')))
        };
        let text = b"proxy_http:error:x]:]::a:b:c:d:e:f:g:h:i:j:k:l:m:n:o]";
        for start in 0..text.len() {
            for end in start..=text.len() {
                let b = &text[start..end];
                assert_eq!(bracket_end(b), plain(b), "{}", String::from_utf8_lossy(b));
            }
        }
        let mut long = [b'a'; 48];
        for close in 0..48 {
            for colon in 0..48 {
                long.fill(b'a');
                long[colon] = b':';
                long[close] = b']';
                assert_eq!(bracket_end(&long), plain(&long), "{close} {colon}");
            }
        }
    }

    #[test]
    fn numbers_in_statuses() {
        assert_eq!(number(b"-9223372036854775808)", true), Some((i64::MIN, 20)));
        assert_eq!(number(b"9223372036854775808)", true), None);
        assert_eq!(number(b"-5", false), None);
        assert_eq!(
            status(b"(EAI -2)Temporary failure: x"),
            Some((&b"x"[..], Status::Eai(-2)))
        );
        assert_eq!(
            status(b"(OS 10061)No connection could be made: x").map(|s| s.1),
            Some(Status::Code(10061))
        );
        assert_eq!(status(b"(OS -1)x: y"), None);
        assert_eq!(status(b"(99999999999999999999)x: y"), None);
    }

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
