//! nginx error log lines.
//!
//! ```text
//! 2026/11/20 10:23:45 [error] 812#812: *7 connect() failed (111: Connection refused)
//!   while connecting to upstream, client: 10.0.0.9, server: example.com,
//!   request: "GET /api/users/12 HTTP/1.1", upstream: "http://10.0.1.5:8080/api/users/12",
//!   host: "example.com", referrer: "https://example.com/"
//! ```
//! (one line in the log). nginx prints the context values raw: a request or
//! a referrer may contain `", "`, quotes and anything a client sent, so the
//! context is read as a sequence of known keys where each quoted value ends
//! only at a quote followed by the next key or the end of the line. Lines
//! cut at nginx's 2048-byte limit lose their last fields; what is there is
//! kept.

use super::head::Head;
use super::time;
use crate::bytes::leading_number;
use crate::event::Server;

/// The prefix: time, level, `pid#tid: `, optional `*cid `.
#[inline]
pub fn head(line: &[u8]) -> Option<Head<'_>> {
    let (t, rest) = time_cached(line, &mut time::DateCache::default())?;
    head_after_time(rest, Some(t))
}

/// The time at the start of a line and what follows it.
#[inline(always)]
pub fn time_cached<'a>(
    line: &'a [u8],
    dates: &mut time::DateCache,
) -> Option<(time::LocalTime, &'a [u8])> {
    let t = time::nginx_cached(line, dates)?;
    Some((t, line.get(19..)?.strip_prefix(b" ")?))
}

/// The prefix after the time (syslog forms drop nginx's own time):
/// `[level] pid#tid: [*cid ]`.
#[inline]
pub fn head_without_time(b: &[u8]) -> Option<Head<'_>> {
    head_after_time(b, None)
}

/// `[level] pid#tid: [*cid ]`, given the time before it.
#[inline(always)]
pub fn head_after_time(b: &[u8], time: Option<time::LocalTime>) -> Option<Head<'_>> {
    head_after_time_cached(b, time, None)
}

/// The `pid#tid: ` texts of recent nginx lines and what they say: a busy
/// log repeats those of its few workers on every line, and comparing 16
/// bytes with each costs less than reading two numbers.
#[derive(Debug, Clone, Default)]
pub struct PidCache {
    slots: [PidText; 4],
    /// The slot to fill next.
    next: usize,
}

#[derive(Debug, Clone, Copy)]
struct PidText {
    /// The text's bytes, zero past its length.
    text: u128,
    /// Ones over the text's bytes.
    mask: u128,
    /// Its length.
    len: usize,
    pid: u64,
    tid: u64,
}

impl Default for PidText {
    /// An empty slot: no text's bytes under its mask (none) are its text
    /// (one).
    fn default() -> Self {
        PidText {
            text: 1,
            mask: 0,
            len: 0,
            pid: 0,
            tid: 0,
        }
    }
}

impl PidCache {
    /// `pid#tid:` and the space after it, if `b` starts with a text seen
    /// recently: the two numbers and the length of the text.
    #[inline(always)]
    fn get(&self, b: &[u8]) -> Option<(u64, u64, usize)> {
        let start = u128::from_le_bytes(*b.first_chunk::<16>()?);
        self.slots
            .iter()
            .find(|s| start & s.mask == s.text)
            .map(|s| (s.pid, s.tid, s.len))
    }

    /// Keeps `b[..len]`, read as `pid` and `tid`, if it fits a slot.
    #[inline]
    fn put(&mut self, b: &[u8], len: usize, pid: u64, tid: u64) {
        let Some(start) = b.first_chunk::<16>() else {
            return;
        };
        // Only a text that ends with its space: one that ends at the colon
        // could be followed by a space in another line, which the parse
        // would skip and a hit would not.
        if len == 0 || len > 16 || b[len - 1] != b' ' {
            return;
        }
        let mask = u128::MAX >> (128 - 8 * len);
        self.slots[self.next] = PidText {
            text: u128::from_le_bytes(*start) & mask,
            mask,
            len,
            pid,
            tid,
        };
        self.next = (self.next + 1) % self.slots.len();
    }
}

/// [`head_after_time`] that looks up and keeps `pid#tid: ` texts in
/// `pids`, if given.
#[inline(always)]
pub fn head_after_time_cached<'a>(
    b: &'a [u8],
    time: Option<time::LocalTime>,
    pids: Option<&mut PidCache>,
) -> Option<Head<'a>> {
    // nginx's own levels first, as literals (a few compares each): the
    // length of `[level] `.
    let n = match b.get(1) {
        Some(b'e') if b.starts_with(b"[error] ") => 8,
        Some(b'w') if b.starts_with(b"[warn] ") => 7,
        Some(b'i') if b.starts_with(b"[info] ") => 7,
        Some(b'c') if b.starts_with(b"[crit] ") => 7,
        Some(b'n') if b.starts_with(b"[notice] ") => 9,
        _ => 0,
    };
    let (level, b) = if n > 0 {
        (&b[1..n - 2], &b[n..])
    } else {
        any_level(b)?
    };
    let (pid, tid, mut b) = match pids.as_deref().and_then(|p| p.get(b)) {
        Some((pid, tid, len)) => (pid, tid, &b[len..]),
        None => {
            let (pid, n) = leading_number(b)?;
            let rest = b[n..].strip_prefix(b"#")?;
            let (tid, n) = leading_number(rest)?;
            let rest = rest[n..].strip_prefix(b":")?;
            let rest = rest.strip_prefix(b" ").unwrap_or(rest);
            if let Some(p) = pids {
                p.put(b, b.len() - rest.len(), pid, tid);
            }
            (pid, tid, rest)
        }
    };
    let mut cid = None;
    if let Some(rest) = b.strip_prefix(b"*")
        && let Some((c, n)) = leading_number(rest)
    {
        cid = Some(c);
        b = rest[n..].strip_prefix(b" ").unwrap_or(&rest[n..]);
    }
    Some(Head {
        server: Server::Nginx,
        micros: crate::event::NO_MICROS,
        time,
        level,
        module: b"",
        pid: u32::try_from(pid).ok(),
        tid: Some(tid),
        cid,
        body: b,
    })
}

/// A fragment that starts at `pid#tid: ` (time and level cut off).
pub fn head_without_level(b: &[u8]) -> Option<Head<'_>> {
    let (pid, n) = leading_number(b)?;
    let rest = b[n..].strip_prefix(b"#")?;
    let (tid, n) = leading_number(rest)?;
    let rest = rest[n..].strip_prefix(b": ")?;
    let mut head = head_from_connection(rest).unwrap_or(Head::bare(Server::Nginx, rest));
    head.pid = u32::try_from(pid).ok();
    head.tid = Some(tid);
    Some(head)
}

/// What nginx writes to stderr when it starts or tests its configuration
/// (`nginx -t`), before or instead of its log: `nginx: [emerg] unknown
/// directive "proxy_pas" in /etc/nginx/conf.d/x.conf:8` and the verdict
/// after it, `nginx: configuration file /etc/nginx/nginx.conf test failed`.
pub fn stderr_head(b: &[u8]) -> Option<Head<'_>> {
    let rest = b.strip_prefix(b"nginx: ")?;
    if let Some((level, body)) = any_level(rest) {
        return Some(Head {
            level,
            ..Head::bare(Server::Nginx, body)
        });
    }
    (rest.starts_with(b"configuration file ") || rest.starts_with(b"the configuration file "))
        .then(|| Head::bare(Server::Nginx, rest))
}

/// A fragment that starts at the connection number, `*7 upstream timed
/// out ...`: nothing of the prefix is left but the `*N `, so a message
/// must follow it.
pub fn head_from_connection(b: &[u8]) -> Option<Head<'_>> {
    let rest = b.strip_prefix(b"*")?;
    let (cid, n) = leading_number(rest)?;
    let body = rest[n..].strip_prefix(b" ")?;
    if !body.first()?.is_ascii_alphabetic() {
        return None;
    }
    Some(Head {
        cid: Some(cid),
        ..Head::bare(Server::Nginx, body)
    })
}

/// `[level] ` for any level: at most 7 lowercase letters.
fn any_level(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let b = b.strip_prefix(b"[")?;
    let close = b.iter().take(8).position(|&c| !c.is_ascii_lowercase())?;
    if close == 0 || b[close] != b']' {
        return None;
    }
    Some((&b[..close], b[close + 1..].strip_prefix(b" ")?))
}

/// The context fields nginx appends after the message.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Context<'a> {
    /// `client: ` address.
    pub client: Option<&'a [u8]>,
    /// `server: ` name (may be empty) or listen address.
    pub server: Option<&'a [u8]>,
    /// `request: "..."`, the request line.
    pub request: Option<&'a [u8]>,
    /// `upstream: "..."`, scheme + peer + URI.
    pub upstream: Option<&'a [u8]>,
    /// `host: "..."`.
    pub host: Option<&'a [u8]>,
    /// `referrer: "..."`.
    pub referrer: Option<&'a [u8]>,
    /// `resolver: ` address (resolver errors).
    pub resolver: Option<&'a [u8]>,
}

/// The message part of an nginx line, split into its pieces.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Body<'a> {
    /// The message without errno, action and context.
    pub message: &'a [u8],
    /// The errno number from ` (N: text)`.
    pub errno: Option<i64>,
    /// The ` while ...` action, without `while `.
    pub action: &'a [u8],
    /// The trailing key/value context.
    pub ctx: Context<'a>,
}

impl<'a> Body<'a> {
    /// Splits the body (the line after `*cid `).
    pub fn parse(body: &'a [u8]) -> Body<'a> {
        let lazy = LazyBody::parse(body);
        Body {
            message: lazy.message,
            errno: lazy.errno,
            action: lazy.action,
            ctx: lazy.context(),
        }
    }
}

/// A body split up to its context, which is parsed only on demand: most
/// lines are decided by their message and action alone.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LazyBody<'a> {
    /// The message without errno, action and context.
    pub message: &'a [u8],
    /// The errno number from ` (N: text)`.
    pub errno: Option<i64>,
    /// The ` while ...` action, without `while `.
    pub action: &'a [u8],
    /// The context, from its leading `, ` (empty when there is none).
    pub ctx_raw: &'a [u8],
}

impl<'a> LazyBody<'a> {
    /// Splits the body (the line after `*cid `) without parsing the context.
    #[inline]
    pub fn parse(body: &'a [u8]) -> LazyBody<'a> {
        let (pre, ctx_raw) = match context_start(body) {
            Some(i) => (&body[..i], &body[i..]),
            None => (body, &b""[..]),
        };
        Self::parse_pre(pre, ctx_raw)
    }

    /// [`LazyBody::parse`] of a body already split at [`context_start`]:
    /// `pre` before it, `ctx_raw` from it on.
    #[inline]
    pub fn parse_pre(pre: &'a [u8], ctx_raw: &'a [u8]) -> LazyBody<'a> {
        let (pre, action) = match crate::bytes::rfind(pre, b" while ") {
            Some(i) => (&pre[..i], &pre[i + 7..]),
            None => (pre, &b""[..]),
        };
        let (message, errno) = split_errno(pre);
        LazyBody {
            message,
            errno,
            action,
            ctx_raw,
        }
    }

    /// The context fields.
    pub fn context(&self) -> Context<'a> {
        if self.ctx_raw.is_empty() {
            Context::default()
        } else {
            parse_context(self.ctx_raw)
        }
    }

    /// The context fields up to `upstream` (`client`, `server`, `request`,
    /// `upstream`, `resolver`): all that classification needs, without
    /// walking `host` and `referrer`.
    pub fn upstream_context(&self) -> Context<'a> {
        if self.ctx_raw.is_empty() {
            Context::default()
        } else {
            usual_upstream_context(self.ctx_raw)
                .unwrap_or_else(|| parse_context_until(self.ctx_raw, true))
        }
    }
}

/// Where the context fields start: the first `, client: ` after any
/// quoted payload the message carries (FastCGI stderr, invalid headers), or
/// `, resolver: ` for resolver errors.
pub fn context_start(body: &[u8]) -> Option<usize> {
    let quoted = match body.first() {
        Some(b'F') => body.starts_with(b"FastCGI sent in stderr: \""),
        Some(b'u') => body.starts_with(b"upstream sent invalid header: \""),
        _ => false,
    };
    let from = if quoted { payload_end(body) } else { 0 };
    let rest = &body[from..];
    // Commas are rare in messages: a vectorized byte search for them and a
    // prefix test beat a substring search on these short lines. One pass
    // finds `client`, or failing that the first `resolver` or `server`.
    let (mut resolver, mut server) = (None, None);
    let mut next = 0;
    while let Some(found) = crate::bytes::find_byte(b',', &rest[next..]) {
        let i = next + found;
        next = i + 1;
        let t = &rest[i..];
        if t.starts_with(b", client: ") {
            return Some(i + from);
        }
        // A paste that widened the space after the comma (`,\tclient: `,
        // `,   client: `): the same key, rarely met.
        if matches!(t.get(1), Some(b'\t')) || matches!(t.get(2), Some(b' ' | b'\t')) {
            match key_len(t) {
                Some((Key::Client, _)) => return Some(i + from),
                Some((Key::Resolver, _)) if resolver.is_none() => resolver = Some(i + from),
                Some((Key::Server, _)) if server.is_none() => server = Some(i + from),
                _ => {}
            }
        }
        if resolver.is_none() && t.starts_with(b", resolver: ") {
            resolver = Some(i + from);
        }
        if server.is_none() && t.starts_with(b", server: ") {
            server = Some(i + from);
        }
    }
    resolver.or(server)
}

/// Where a quoted payload ends: at the last `" while ` that a `, client: `
/// follows closely (the payload itself may contain both); 0 if none does.
fn payload_end(body: &[u8]) -> usize {
    let mut end = body.len();
    while let Some(i) = crate::bytes::rfind(&body[..end], b"\" while ") {
        let tail = &body[i + 8..];
        if crate::bytes::find(&tail[..tail.len().min(96)], b", client: ").is_some() {
            return i;
        }
        end = i;
    }
    0
}

/// Splits ` (111: Connection refused)` off the end of `pre`.
fn split_errno(pre: &[u8]) -> (&[u8], Option<i64>) {
    if pre.last() != Some(&b')') {
        return (pre, None);
    }
    let Some(open) = memchr::memrchr(b'(', pre)
        .filter(|&i| i > 0 && pre[i - 1] == b' ')
        .map(|i| i - 1)
    else {
        return (pre, None);
    };
    let inner = &pre[open + 2..pre.len() - 1];
    let (neg, digits) = match inner.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, inner),
    };
    match leading_number(digits) {
        Some((n, len)) if digits[len..].starts_with(b": ") => {
            let n = n as i64;
            (&pre[..open], Some(if neg { -n } else { n }))
        }
        _ => (pre, None),
    }
}

/// `, key: value` pairs. `b` starts at the `, ` of the first key.
fn parse_context(b: &[u8]) -> Context<'_> {
    parse_context_until(b, false)
}

/// [`parse_context`], stopping after `upstream` when `upstream_only`:
/// `host` and `referrer` come after it and can be long (tracking
/// referrers), and classification needs neither.
fn parse_context_until(b: &[u8], upstream_only: bool) -> Context<'_> {
    let mut ctx = Context::default();
    let mut next = key_at(b);
    while let Some((key, after)) = next {
        if upstream_only && matches!(key, Key::Host | Key::Referrer) {
            break;
        }
        // Each value ends where the next key starts, which finding the end
        // has already read.
        let (value, following) = if after.first() == Some(&b'"') {
            quoted_value(&after[1..])
        } else {
            plain_value(after)
        };
        match key {
            Key::Client => ctx.client = Some(value),
            Key::Server => ctx.server = Some(value),
            Key::Request => ctx.request = Some(value),
            Key::Upstream => ctx.upstream = Some(value),
            Key::Host => ctx.host = Some(value),
            Key::Referrer => ctx.referrer = Some(value),
            Key::Resolver => ctx.resolver = Some(value),
            Key::Subrequest | Key::Other => {}
        }
        if upstream_only && key == Key::Upstream {
            break;
        }
        next = following;
    }
    ctx
}

/// [`parse_context_until`] up to `upstream` for the context of an upstream
/// failure as nginx writes it, `, client: C, server: S, request: "R",
/// upstream: "U"` and then `, host: ` or the end: four byte searches and
/// fixed comparisons instead of a key lookup at every step. `None` when the
/// context departs from that in any way (another key, a quoted client or
/// server, a value with a comma or a quote where the next key should start,
/// an escaped quote): the general walk then decides. Where it answers, the
/// general walk gives the same answer.
#[inline]
fn usual_upstream_context(b: &[u8]) -> Option<Context<'_>> {
    // A plain value is one that does not start with a quote.
    let plain = |v: &[u8]| v.first() != Some(&b'"');
    let rest = b.strip_prefix(b", client: ").filter(|r| plain(r))?;
    let end = crate::bytes::find_byte(b',', rest)?;
    let client = &rest[..end];
    let rest = rest[end..]
        .strip_prefix(b", server: ")
        .filter(|r| plain(r))?;
    let end = crate::bytes::find_byte(b',', rest)?;
    let server = &rest[..end];
    let rest = rest[end..].strip_prefix(b", request: \"")?;
    let end = crate::bytes::find_byte(b'"', rest)?;
    let request = &rest[..end];
    let rest = rest[end..].strip_prefix(b"\", upstream: \"")?;
    let end = crate::bytes::find_byte(b'"', rest)?;
    let upstream = &rest[..end];
    let after = &rest[end + 1..];
    let ends = after.is_empty() || after.starts_with(b", host: ");
    if !ends || request.last() == Some(&b'\\') || upstream.last() == Some(&b'\\') {
        return None;
    }
    Some(Context {
        client: Some(client),
        server: Some(server),
        request: Some(request),
        upstream: Some(upstream),
        ..Context::default()
    })
}

/// A context key: those nginx (and common modules) append, in the order
/// nginx writes them, then any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Client,
    Server,
    Request,
    Subrequest,
    Upstream,
    Host,
    Referrer,
    Resolver,
    Other,
}

/// If `b` starts with `, key: `, the key and what follows it. Known keys
/// are accepted anywhere; unknown ones only if they look like nginx keys
/// (lowercase words), so that extra module fields are skipped cleanly.
#[inline(always)]
fn key_at(b: &[u8]) -> Option<(Key, &[u8])> {
    key_len(b).map(|(key, at)| (key, &b[at..]))
}

/// [`key_at`] as the key and where its value starts in `b`: a pair that
/// comes back in registers. The slices of `key_at`'s answer would come back
/// through memory and be read again at once, too wide for the store just
/// made to be forwarded: a stall per key.
#[inline(never)]
fn key_len(whole: &[u8]) -> Option<(Key, usize)> {
    let b = match whole.strip_prefix(b", ") {
        Some(b) if !matches!(b.first(), Some(b' ' | b'\t')) => b,
        // Blanks widened by a paste (`,\t`, `,   `): counted into the key's
        // place, so that the value is found where it is.
        _ => return widened_key_len(whole),
    };
    // The known key this could be, told by its first letter; literal
    // comparisons compile to a few loads instead of a call per key.
    let (key, len) = match b.first()? {
        b'c' if b.starts_with(b"client:") => (Key::Client, 6),
        b's' if b.starts_with(b"server:") => (Key::Server, 6),
        b's' if b.starts_with(b"subrequest:") => (Key::Subrequest, 10),
        b'r' if b.starts_with(b"request:") => (Key::Request, 7),
        b'r' if b.starts_with(b"referrer:") => (Key::Referrer, 8),
        b'r' if b.starts_with(b"resolver:") => (Key::Resolver, 8),
        b'u' if b.starts_with(b"upstream:") => (Key::Upstream, 8),
        b'h' if b.starts_with(b"host:") => (Key::Host, 4),
        // Not a known key: a lowercase word (module keys such as
        // `bytes from/to client`) up to its colon, or nothing.
        _ => {
            let colon = b.iter().take(40).position(|&c| c == b':').filter(|&i| {
                i > 0
                    && b[..i]
                        .iter()
                        .all(|&c| c.is_ascii_lowercase() || c == b' ' || c == b'_' || c == b'/')
            })?;
            (Key::Other, colon)
        }
    };
    let mut after = 2 + len + 1;
    after += usize::from(whole.get(after) == Some(&b' '));
    // More blanks than nginx's one space: a paste widened them.
    if matches!(whole.get(after), Some(b' ' | b'\t')) {
        after += whole[after..]
            .iter()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .count();
    }
    Some((key, after))
}

/// [`key_len`] of a key whose comma a paste followed with tabs or a run
/// of spaces, and whose colon it may have followed with more than one:
/// `,\tclient:  1.2.3.4`. Off the fast path: nginx writes one space.
#[inline(never)]
fn widened_key_len(whole: &[u8]) -> Option<(Key, usize)> {
    let rest = whole.strip_prefix(b",")?;
    let blanks = rest
        .iter()
        .take_while(|&&c| c == b' ' || c == b'\t')
        .count();
    if blanks == 0 {
        return None;
    }
    // The key as if written `, key: `, then the blanks after its colon.
    let mut probe = [0u8; 48];
    let key = &rest[blanks..];
    let n = key.len().min(probe.len() - 2);
    probe[..2].copy_from_slice(b", ");
    probe[2..2 + n].copy_from_slice(&key[..n]);
    let (k, at) = key_len(&probe[..2 + n])?;
    // `at` is past the colon and its blanks, as far as the probe holds them.
    let mut at = 1 + blanks + (at - 2);
    while matches!(whole.get(at), Some(b' ' | b'\t')) {
        at += 1;
    }
    Some((k, at))
}

/// A quoted value: ends at an unescaped `"` followed by the end or another
/// key. An unterminated value (a cut line) runs to the end. Returned with
/// the key after it, if any.
fn quoted_value(b: &[u8]) -> (&[u8], Option<(Key, &[u8])>) {
    // Candidates are `", ` (another key may follow) and a final `"`.
    for i in memchr::memchr_iter(b'"', b) {
        if b[i + 1..].starts_with(b",")
            && !escaped(b, i)
            && let Some(next) = key_at(&b[i + 1..])
        {
            return (&b[..i], Some(next));
        }
    }
    match b.last() {
        Some(b'"') if !escaped(b, b.len() - 1) => (&b[..b.len() - 1], None),
        _ => (b, None),
    }
}

/// True when the quote at `i` is preceded by an odd number of backslashes.
#[inline]
fn escaped(b: &[u8], i: usize) -> bool {
    b[..i].iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 1
}

/// An unquoted value (client, server): ends where the next key starts.
/// Returned with that key, if any.
fn plain_value(b: &[u8]) -> (&[u8], Option<(Key, &[u8])>) {
    for i in memchr::memchr_iter(b',', b) {
        if let Some(next) = key_at(&b[i..]) {
            return (&b[..i], Some(next));
        }
    }
    (b, None)
}

/// A line cut where no line of nginx's ends. A paste hard-wrapped at a
/// narrow terminal's or ticket's width leaves such lines; the physical line
/// after one, if it is no line of its own, is the rest of it. Looked at
/// only when such a line follows. Cut where:
/// - the context is open: a quoted value not closed (`request: "GET /a HT`),
///   or a context that does not end with a quoted value yet (a request's
///   always does: `host: "..."`, `upstream: "..."`), such as `server:
///   shop.example.t` or a key cut short (`, upstre`);
/// - a request's line (it has a connection number `*N`, at a failure's
///   level) has no context yet: nginx gives every such line one.
pub fn unfinished(head: &Head<'_>) -> bool {
    let body = head.body;
    match context_start(body) {
        Some(i) => {
            let ctx = &body[i..];
            let quotes = memchr::memchr_iter(b'"', ctx)
                .filter(|&i| !escaped(ctx, i))
                .count();
            quotes % 2 == 1 || ctx.last() != Some(&b'"')
        }
        None => {
            head.cid.is_some()
                && matches!(
                    head.level,
                    b"" | b"error" | b"crit" | b"alert" | b"warn" | b"emerg"
                )
        }
    }
}

/// A physical line that starts with one of nginx's context keys (`, host:
/// "..."`): no line of its own, the rest of a line cut just before it.
pub fn continues_context(line: &[u8]) -> bool {
    matches!(key_at(line), Some((k, _)) if k != Key::Other)
}

/// An nginx FastCGI stderr record whose payload goes on over the next
/// physical lines: it has not reached its closing `" while ...` yet.
pub fn opens_record(body: &[u8]) -> bool {
    body.first() == Some(&b'F')
        && body.starts_with(b"FastCGI sent in stderr: \"")
        && !closes_record(body)
}

/// The last physical line of a multi-line record: the payload's closing
/// quote and the context follow.
pub fn closes_record(line: &[u8]) -> bool {
    crate::bytes::find(line, b"\" while ").is_some()
        || crate::bytes::find(line, b", client: ").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(line: &str) -> Body<'_> {
        let h = head(line.as_bytes()).expect("head");
        Body::parse(h.body)
    }

    #[test]
    fn full_line() {
        let line = r#"2026/11/20 10:23:45 [error] 812#812: *7 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.9, server: example.com, request: "GET /api/users/12?x=1 HTTP/1.1", upstream: "http://10.0.1.5:8080/api/users/12?x=1", host: "example.com", referrer: "https://example.com/a, b""#;
        let h = head(line.as_bytes()).unwrap();
        assert_eq!((h.pid, h.tid, h.cid), (Some(812), Some(812), Some(7)));
        assert_eq!(h.level, b"error");
        let b = Body::parse(h.body);
        assert_eq!(b.message, b"connect() failed");
        assert_eq!(b.errno, Some(111));
        assert_eq!(b.action, b"connecting to upstream");
        assert_eq!(b.ctx.client, Some(&b"10.0.0.9"[..]));
        assert_eq!(b.ctx.server, Some(&b"example.com"[..]));
        assert_eq!(b.ctx.request, Some(&b"GET /api/users/12?x=1 HTTP/1.1"[..]));
        assert_eq!(
            b.ctx.upstream,
            Some(&b"http://10.0.1.5:8080/api/users/12?x=1"[..])
        );
        assert_eq!(b.ctx.host, Some(&b"example.com"[..]));
        assert_eq!(b.ctx.referrer, Some(&b"https://example.com/a, b"[..]));
    }

    #[test]
    fn quotes_and_commas_inside_values() {
        let b = body(
            r#"2026/11/20 10:23:45 [error] 1#0: *2 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.2.3.4, server: , request: "GET /a?q=\"x\", upstream: \"y\" HTTP/1.1", upstream: "http://127.0.0.1:9000/a", host: """#,
        );
        assert_eq!(b.ctx.server, Some(&b""[..]));
        assert_eq!(
            b.ctx.request,
            Some(&br#"GET /a?q=\"x\", upstream: \"y\" HTTP/1.1"#[..])
        );
        assert_eq!(b.ctx.upstream, Some(&b"http://127.0.0.1:9000/a"[..]));
        assert_eq!(b.ctx.host, Some(&b""[..]));
    }

    #[test]
    fn no_cid_no_client_and_extra_keys() {
        let h = head(b"2026/11/20 10:23:45 [alert] 12#12: 1024 worker_connections are not enough")
            .unwrap();
        assert_eq!(h.cid, None);
        let b = Body::parse(h.body);
        assert_eq!(b.message, b"1024 worker_connections are not enough");
        let b = body(
            r#"2026/11/20 10:23:45 [error] 1#1: *3 upstream prematurely closed connection while reading response header from upstream, client: ::1, server: x, request: "GET / HTTP/1.1", subrequest: "/auth", upstream: "http://[::1]:81/auth", host: "x""#,
        );
        assert_eq!(b.ctx.upstream, Some(&b"http://[::1]:81/auth"[..]));
        assert_eq!(b.ctx.client, Some(&b"::1"[..]));
    }

    #[test]
    fn upstream_context_stops_before_host_and_referrer() {
        let line = r#"2026/11/20 10:23:45 [error] 1#1: *2 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.2.3.4, server: s, request: "GET /a HTTP/1.1", upstream: "http://127.0.0.1:9000/a", host: "h", referrer: "https://x/?q=a\", upstream: \"evil""#;
        let h = head(line.as_bytes()).unwrap();
        let lazy = LazyBody::parse(h.body);
        let full = lazy.context();
        let short = lazy.upstream_context();
        assert_eq!(short.upstream, full.upstream);
        assert_eq!(short.request, full.request);
        assert_eq!(short.upstream, Some(&b"http://127.0.0.1:9000/a"[..]));
        assert_eq!((short.host, short.referrer), (None, None));
        assert_eq!(full.host, Some(&b"h"[..]));
    }

    #[test]
    fn truncated_line_keeps_what_is_there() {
        let b = body(
            r#"2026/11/20 10:23:45 [error] 1#1: *3 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.1.1.1, server: x, request: "GET /very/long/ur"#,
        );
        assert_eq!(b.errno, Some(110));
        assert_eq!(b.ctx.request, Some(&b"GET /very/long/ur"[..]));
        assert_eq!(b.ctx.upstream, None);
    }

    #[test]
    fn fastcgi_payload_may_contain_context_lookalikes() {
        let b = body(
            r#"2026/11/20 10:23:45 [error] 1#1: *3 FastCGI sent in stderr: "PHP message: bad, client: evil while x" while reading response header from upstream, client: 9.9.9.9, server: s, request: "GET /i.php HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "h""#,
        );
        assert_eq!(b.action, b"reading response header from upstream");
        assert_eq!(b.ctx.client, Some(&b"9.9.9.9"[..]));
        assert_eq!(
            b.ctx.upstream,
            Some(&b"fastcgi://unix:/run/php/php8.2-fpm.sock:"[..])
        );
    }

    #[test]
    fn ssl_reason_is_not_an_errno_and_resolver_context() {
        let b = body(
            "2026/11/20 10:23:45 [crit] 1#1: *3 SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream, client: 1.1.1.1, server: s",
        );
        assert_eq!(b.errno, None);
        assert_eq!(b.action, b"SSL handshaking to upstream");
        let b = body(
            "2026/11/20 10:23:45 [error] 1#1: recv() failed (111: Connection refused) while resolving, resolver: 127.0.0.1:53",
        );
        assert_eq!(b.errno, Some(111));
        assert_eq!(b.action, b"resolving");
        assert_eq!(b.ctx.resolver, Some(&b"127.0.0.1:53"[..]));
    }

    #[test]
    fn levels_known_and_other() {
        for (rest, level) in [
            ("[error] 1#2: *3 x", Some("error")),
            ("[warn] 1#2: x", Some("warn")),
            ("[info] 1#2: x", Some("info")),
            ("[crit] 1#2: x", Some("crit")),
            ("[notice] 1#2: x", Some("notice")),
            ("[alert] 1#2: x", Some("alert")),
            ("[emerg] 1#2: x", Some("emerg")),
            ("[debug] 1#2: x", Some("debug")),
            ("[errors] 1#2: x", Some("errors")),
            ("[error]1#2: x", None),
            ("[error] ", None),
            ("[error]", None),
            ("[erro] 1#2: x", Some("erro")),
            ("[Error] 1#2: x", None),
            ("[abcdefgh] 1#2: x", None),
            ("[] 1#2: x", None),
            ("error] 1#2: x", None),
        ] {
            let h = head_after_time(rest.as_bytes(), None);
            assert_eq!(
                h.as_ref().map(|h| std::str::from_utf8(h.level).unwrap()),
                level,
                "{rest}"
            );
            if let Some(h) = h {
                assert_eq!((h.pid, h.tid), (Some(1), Some(2)), "{rest}");
                assert_eq!(h.body, b"x", "{rest}");
            }
        }
    }

    #[test]
    fn windows_errno_and_bad_prefixes() {
        let b = body(
            "2019/01/10 10:02:44 [error] 6352#8908: *6776 upstream timed out (10060: A connection attempt failed because the connected party did not properly respond after a period of time, or established connection failed because connected host has failed to respond) while reading response header from upstream, client: 1.2.3.4",
        );
        assert_eq!(b.errno, Some(10060));
        for bad in [
            "2026/11/20 10:23:45 [ERROR] 1#1: x",
            "2026/11/20 10:23:45 [error] x#1: y",
            "2026/11/20 10:23:45 [error] 1#1 y",
        ] {
            assert!(head(bad.as_bytes()).is_none(), "{bad}");
        }
    }

    /// The usual-layout shortcut answers only where the general walk gives
    /// the same context: on every nginx fixture line, and on each of them
    /// with a quote, a backslash, a comma or `", ` put at every place of
    /// its context, or cut there. It answers for the plain failure lines.
    #[test]
    fn usual_context_agrees_with_the_general_walk() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/nginx");
        let mut contexts: Vec<Vec<u8>> = vec![
            br#", client: 1.2.3.4, server: , request: "GET /a?q=\"x\", upstream: \"y\" HTTP/1.1", upstream: "http://127.0.0.1:9000/a", host: """#.to_vec(),
            br#", client: ::1, server: x, request: "GET / HTTP/1.1", subrequest: "/auth", upstream: "http://[::1]:81/auth", host: "x""#.to_vec(),
            br#", client: 1.2.3.4, server: s, request: "GET /a\\", upstream: "http://127.0.0.1:9000/a""#.to_vec(),
            br#", client: 1.2.3.4, server: s, request: "GET /a HTTP/1.1", upstream: "http://u/a\"", host: "h""#.to_vec(),
        ];
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read(entry.unwrap().path()).unwrap();
            for line in text.split(|&c| c == b'\n') {
                if let Some(h) = head(line)
                    && let Some(at) = context_start(h.body)
                {
                    contexts.push(h.body[at..].to_vec());
                }
            }
        }
        let mut variants = Vec::new();
        for c in &contexts {
            for at in 0..=c.len() {
                variants.push(c[..at].to_vec());
                for insert in [&b"\""[..], b"\\", b",", b"\", ", b", "] {
                    variants.push([&c[..at], insert, &c[at..]].concat());
                }
            }
        }
        let mut answered = 0;
        for c in contexts.iter().chain(&variants) {
            if let Some(usual) = usual_upstream_context(c) {
                assert_eq!(
                    usual,
                    parse_context_until(c, true),
                    "{}",
                    String::from_utf8_lossy(c)
                );
                answered += 1;
            }
        }
        let typical = br#", client: 203.0.113.9, server: shop.example.com, request: "GET /api/v2/users/12?page=1 HTTP/1.1", upstream: "http://10.0.1.11:8080/api/v2/users/12?page=1", host: "shop.example.com", referrer: "https://www.example.com/""#;
        assert!(usual_upstream_context(typical).is_some());
        assert!(answered > 1000, "{answered}");
    }

    /// Heads read through a shared `pid#tid` cache are the heads read
    /// without one, line after line, whatever the cache holds: workers
    /// interleaved, numbers that are prefixes of each other, texts with and
    /// without their space, past 16 bytes, and cut short.
    #[test]
    fn pid_cache_gives_the_parse() {
        let pids = [
            "1#1: ",
            "1#1:",
            "12#12: ",
            "1#12: ",
            "12#1: ",
            "123456#123456: ",
            "1234567#1234567: ",
            "99999999#99999999: ",
            "7#7:x",
            "7#7 ",
            "7#a: ",
            "#7: ",
            "42#42:  ",
            "1#1:\t",
            "1234567#123456: ",
            "1234567#123456:\t",
        ];
        let rests = [
            "*5 upstream timed out",
            "upstream timed out (110: x)",
            "*12345678901 upstream timed out",
            "*x upstream timed out",
            "",
        ];
        let mut cache = PidCache::default();
        let mut n = 0;
        for round in 0..5 {
            for i in 0..pids.len() {
                let p = pids[(i * 5 + round) % pids.len()];
                for r in rests {
                    for line in [
                        format!("[error] {p}{r}"),
                        format!("[info] {}", &p[..p.len() / 2]),
                    ] {
                        let b = line.as_bytes();
                        assert_eq!(
                            head_after_time_cached(b, None, Some(&mut cache)),
                            head_after_time_cached(b, None, None),
                            "{line:?}"
                        );
                        n += 1;
                    }
                }
            }
        }
        assert!(n > 300);
        let line = b"[error] 4242#4242: *7 upstream timed out";
        assert_eq!(cache.get(&line[8..]), None);
        let head = head_after_time_cached(line, None, Some(&mut cache)).unwrap();
        assert_eq!(
            (head.pid, head.tid, head.cid),
            (Some(4242), Some(4242), Some(7))
        );
        assert_eq!(cache.get(&line[8..]), Some((4242, 4242, 11)));
    }

    #[test]
    fn widened_blanks_in_the_context() {
        for line in [
            "2026/11/21 09:37:49 [error] 1#1: *652 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1,   server: shop,  request: \"GET /a/1 HTTP/1.1\", upstream:  \"http://127.0.0.1:18111/a/1\", host: \"shop\"",
            "2026/11/21 09:37:49 [error] 1#1: *652 connect() failed (111: Connection refused) while connecting to upstream,\tclient: 127.0.0.1,\tserver: shop,\trequest: \"GET /a/1 HTTP/1.1\",\tupstream: \"http://127.0.0.1:18111/a/1\",\thost: \"shop\"",
            "2026/11/21 09:37:49 [error] 1#1: *652 connect() failed (111: Connection refused) while connecting to upstream,  client:\t127.0.0.1, server:   shop, request: \"GET /a/1 HTTP/1.1\", upstream:\t\t\"http://127.0.0.1:18111/a/1\", host: \"shop\"",
        ] {
            let b = body(line);
            assert_eq!(b.errno, Some(111), "{line}");
            assert_eq!(b.ctx.client, Some(&b"127.0.0.1"[..]), "{line}");
            assert_eq!(b.ctx.server, Some(&b"shop"[..]), "{line}");
            assert_eq!(b.ctx.request, Some(&b"GET /a/1 HTTP/1.1"[..]), "{line}");
            assert_eq!(
                b.ctx.upstream,
                Some(&b"http://127.0.0.1:18111/a/1"[..]),
                "{line}"
            );
            assert_eq!(b.ctx.host, Some(&b"shop"[..]), "{line}");
        }
    }

    #[test]
    fn lines_cut_by_a_hard_wrap() {
        let cut = |line: &str| unfinished(&head(line.as_bytes()).unwrap());
        // An open quote, a plain value or key cut short, no context yet.
        assert!(cut(
            "2026/11/21 09:37:49 [error] 1#1: *652 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: x, request: \"GET /a HT"
        ));
        assert!(cut(
            "2026/11/21 09:37:49 [error] 1#1: *652 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: shop.exa"
        ));
        assert!(cut(
            "2026/11/21 09:37:49 [error] 1#1: *652 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: x, request: \"GET / HTTP/1.1\", upstre"
        ));
        assert!(cut(
            "2026/11/21 09:37:49 [error] 1#1: *652 connect() failed (111: Connec"
        ));
        // Whole lines.
        assert!(!cut(
            "2026/11/21 09:37:49 [error] 1#1: *652 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: x, request: \"GET / HTTP/1.1\", upstream: \"http://a/\", host: \"x\""
        ));
        assert!(!cut(
            "2026/11/21 09:37:49 [info] 1#1: *650 client 127.0.0.1 closed keepalive connection"
        ));
        assert!(!cut(
            "2026/11/21 09:37:49 [notice] 1#1: signal process started"
        ));
        assert!(continues_context(b", host: \"shop.example.test\""));
        assert!(!continues_context(b"nnection refused"));
    }
}
