//! Line formats, detected per line.
//!
//! [`parse_head`] recognises the fixed prefix of every supported format
//! (nginx, Apache 2.4 and 2.2, php-fpm, each optionally behind a syslog or
//! journald prefix) and returns a borrowed [`Head`]: time, level, process
//! ids and the rest of the line. The server-specific bodies are parsed only
//! when a line might matter ([`nginx::Body`], [`apache::Body`],
//! [`php_fpm::Body`]), so the common case of a noise line costs a prefix
//! check and nothing else.

pub mod access;
pub mod apache;
pub mod envelope;
pub mod fragment;
mod head;
pub mod kernel;
pub mod nginx;
pub mod php_fpm;
pub mod php_fpm_slowlog;
pub mod time;

pub use envelope::Scratch;
pub use head::Head;

use crate::event::{LocalTime, Server};

/// Per-input parsing state: the year to give syslog stamps that have none.
#[derive(Debug, Clone)]
pub struct ParseState {
    year_hint: i32,
    /// The seconds the hint year spans, so that keeping the hint up to date
    /// costs two comparisons per line.
    year_span: (i64, i64),
    /// The last nginx date seen.
    dates: time::DateCache,
    /// The last Apache date seen, and the brackets of recent lines.
    apache_dates: apache::Memory,
    /// The last php-fpm date seen.
    php_fpm_dates: time::DateCache,
    /// Recent nginx `pid#tid: ` texts.
    pids: nginx::PidCache,
    /// The last line read was a container runtime's partial piece.
    partial: bool,
    /// When the machine booted (seconds), to place the kernel's uptime
    /// stamps.
    boot: Option<i64>,
}

impl ParseState {
    /// `default_year` completes syslog stamps until a full date is seen.
    pub fn new(default_year: i32) -> Self {
        ParseState {
            year_hint: default_year,
            year_span: (0, -1),
            dates: time::DateCache::default(),
            apache_dates: apache::Memory::default(),
            php_fpm_dates: time::DateCache::default(),
            pids: nginx::PidCache::default(),
            partial: false,
            boot: None,
        }
    }

    /// Places the kernel log's uptime stamps after `boot`.
    pub fn with_boot_time(mut self, boot: Option<LocalTime>) -> Self {
        self.boot = boot.map(|t| t.0);
        self
    }

    #[inline]
    fn saw(&mut self, t: LocalTime) {
        if t.0 < self.year_span.0 || t.0 > self.year_span.1 {
            let year = t.year();
            self.year_hint = year;
            let start = |y| LocalTime::from_fields(y, 1, 1, 0, 0, 0).map_or(t.0, |t| t.0);
            self.year_span = (start(year), start(year + 1) - 1);
        }
    }
}

/// A record whose text goes on over the next physical lines: nginx's
/// FastCGI stderr records (PHP stack traces), Apache's configuration
/// syntax errors (what is wrong on the line after), and a container runtime's
/// partial piece of a long line (see [`envelope`]); the lines that follow,
/// up to one that [`record_closes`], are joined to it. Asks about the line
/// `parse_head` read last.
#[inline]
pub fn record_opens(head: &Head<'_>, state: &mut ParseState) -> bool {
    if state.partial {
        state.partial = false;
        return true;
    }
    match head.server {
        Server::Nginx => nginx::opens_record(head.body),
        Server::Apache => apache::opens_record(head.body),
        // A slowlog entry goes on with its script and stack.
        Server::PhpFpm => head.level == php_fpm_slowlog::LEVEL,
        Server::Kernel => false,
    }
}

/// Appends the pieces of a hard-wrapped line, as written (one per physical
/// line), to `out` as one line: the cuts closed up.
pub fn join_wrapped(raw: &[u8], out: &mut Vec<u8>) {
    for piece in raw.split(|&c| c == b'\n') {
        out.extend_from_slice(piece.strip_suffix(b"\r").unwrap_or(piece));
    }
}

/// Whether `line`, in no known format, goes on the nginx line `before`
/// (which may be joined from pieces already): a hard wrap cut it where no
/// line of nginx's ends, or `line` starts with the next of its context's
/// keys.
pub fn wrap_goes_on(
    before: &[u8],
    line: &[u8],
    state: &mut ParseState,
    scratch: &mut Scratch,
) -> bool {
    parse_head(before, state, scratch).is_some_and(|h| {
        h.server == Server::Nginx && (nginx::unfinished(&h) || nginx::continues_context(line))
    })
}

/// Forgets that the line read last was a partial piece (after a joined
/// record is read again as a whole).
pub fn record_opens_no_more(state: &mut ParseState) {
    state.partial = false;
}

/// Whether `line` is the last physical line of the record that `opener`
/// (its first line) opened.
pub fn record_closes(opener: &[u8], line: &[u8]) -> bool {
    if envelope::piece_goes_on(first_line(opener)) == Some(true) {
        return envelope::piece_goes_on(line) != Some(true);
    }
    // What is wrong with the configuration is the one line after it.
    if opener.starts_with(apache::SYNTAX_ERROR) {
        return true;
    }
    // A slowlog entry ends at the blank line after its stack.
    if php_fpm_slowlog::is_head(first_line(opener)) {
        return line.iter().all(u8::is_ascii_whitespace);
    }
    nginx::closes_record(line)
}

fn first_line(b: &[u8]) -> &[u8] {
    match memchr::memchr(b'\n', b) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// Recognises a line; `None` when it is in no known format. A line inside
/// an envelope whose text had to be decoded (JSON) is decoded into
/// `scratch`, so the head may borrow from it.
#[inline(always)]
pub fn parse_head<'a>(
    line: &'a [u8],
    state: &mut ParseState,
    scratch: &'a mut Scratch,
) -> Option<Head<'a>> {
    parse_head_in(line, state, scratch, envelope::Lines::Any)
}

/// [`parse_head`] of one physical line (no newline inside), which the
/// container envelopes then need not search for one.
#[inline]
pub fn parse_line_head<'a>(
    line: &'a [u8],
    state: &mut ParseState,
    scratch: &'a mut Scratch,
) -> Option<Head<'a>> {
    parse_head_in(line, state, scratch, envelope::Lines::One)
}

#[inline(always)]
fn parse_head_in<'a>(
    line: &'a [u8],
    state: &mut ParseState,
    scratch: &'a mut Scratch,
    lines: envelope::Lines,
) -> Option<Head<'a>> {
    let first = *line.first()?;
    // The common case first, returned as built: no merging with the other
    // layouts' results, which would copy the head through memory.
    if first.is_ascii_digit()
        && let Some((t, rest)) = nginx::time_cached(line, &mut state.dates)
        && let Some(head) = nginx::head_after_time_cached(rest, Some(t), Some(&mut state.pids))
    {
        state.saw(t);
        return Some(head);
    }
    // php-fpm's usual line likewise: `[20-Nov-2026 10:23:45] LEVEL: `.
    if first == b'['
        && let Some(head) = php_fpm::head_plain_cached(line, &mut state.php_fpm_dates)
    {
        if let Some(t) = head.time {
            state.saw(t);
        }
        return Some(head);
    }
    parse_head_other(line, first, state, scratch, lines)
}

/// [`parse_head`] for every layout but a plain nginx line: the other plain
/// layouts, then the envelopes, then the fragments.
#[inline(never)]
fn parse_head_other<'a>(
    line: &'a [u8],
    first: u8,
    state: &mut ParseState,
    scratch: &'a mut Scratch,
    lines: envelope::Lines,
) -> Option<Head<'a>> {
    // php-fpm's `[20-Nov-2026 ...`: no Apache stamp (ctime, ISO or CLF)
    // has a dash third and a letter fourth, so Apache is not asked; the
    // head is returned as built.
    let php_fpm_stamp = first == b'['
        && line.get(3) == Some(&b'-')
        && line.get(4).is_some_and(u8::is_ascii_alphabetic);
    if php_fpm_stamp && let Some(head) = php_fpm::head_cached(line, &mut state.php_fpm_dates) {
        if let Some(t) = head.time {
            state.saw(t);
        }
        return Some(head);
    }
    let plain = match first {
        b'[' if php_fpm_stamp => {
            php_fpm_slowlog::head(line).or_else(|| kernel::head(line, state.boot))
        }
        b'[' => match apache::head_cached(line, &mut state.apache_dates) {
            // Returned as built, as php-fpm's is above.
            Some(head) => {
                if let Some(t) = head.time {
                    state.saw(t);
                }
                return Some(head);
            }
            None => php_fpm::head_cached(line, &mut state.php_fpm_dates)
                .or_else(|| php_fpm_slowlog::head(line))
                .or_else(|| kernel::head(line, state.boot)),
        },
        b'A' => apache::bare(line),
        _ => None,
    };
    let head = match plain {
        Some(h) => h,
        None => {
            // Returned as built, as Apache's is above.
            let mut partial = false;
            let head = envelope::unwrap_in(line, state.year_hint, scratch, lines, &mut partial);
            if let Some(h) = &head {
                state.partial = partial;
                if let Some(t) = h.time {
                    state.saw(t);
                }
                return head;
            }
            fragment::head(line)?
        }
    };
    if let Some(t) = head.time {
        state.saw(t);
    }
    Some(head)
}

/// What the first bytes of a file say it is: an error log when at least
/// half of its first lines (up to 20, whole ones) are in a known format, an
/// access log when most are in the common or combined log format
/// (`1.2.3.4 - - [20/Nov/2026:10:23:45 +0000] "GET / HTTP/1.1" 200 ...`).
pub fn looks(head: &[u8]) -> crate::input::source::Looks {
    use crate::input::source::Looks;
    let whole = match memchr::memrchr(b'\n', head) {
        Some(i) => &head[..i],
        None => head,
    };
    let mut state = ParseState::new(1970);
    let (mut lines, mut known, mut access) = (0, 0, 0);
    for line in whole
        .split(|&c| c == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .take(20)
    {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        lines += 1;
        let mut scratch = Scratch::default();
        if parse_head(line, &mut state, &mut scratch).is_some() {
            known += 1;
        } else if access_line(line) {
            access += 1;
        }
    }
    if lines > 0 && known * 2 >= lines {
        Looks::ErrorLog
    } else if lines > 0 && access * 2 > lines {
        Looks::AccessLog
    } else {
        Looks::Unknown
    }
}

/// A line of the common or combined log format: `[time]`, then a quoted
/// request and a three-digit status.
fn access_line(line: &[u8]) -> bool {
    let Some(open) = memchr::memchr(b'[', line) else {
        return false;
    };
    let Some(close) = crate::bytes::find(&line[open..], b"] \"").map(|i| open + i + 3) else {
        return false;
    };
    let Some(end) = crate::bytes::find(&line[close..], b"\" ").map(|i| close + i + 2) else {
        return false;
    };
    let status = &line[end..line.len().min(end + 4)];
    status.len() >= 3
        && status[..3].iter().all(u8::is_ascii_digit)
        && status.get(3).is_none_or(|&c| c == b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inline byte search finds what `memchr` finds, at every place
    /// of haystacks around the 16-byte blocks and the 128-byte hand-over,
    /// with the byte once, twice or not at all.
    fn head(line: &str) -> Option<Head<'_>> {
        let scratch = Box::leak(Box::default());
        parse_head(line.as_bytes(), &mut ParseState::new(2026), scratch)
    }

    #[test]
    fn syslog_prefixed_nginx_keeps_inner_time() {
        let h = head(
            "Nov 20 10:23:45 web1 nginx[812]: 2025/01/02 03:04:05 [error] 812#812: *7 no live upstreams while connecting to upstream",
        )
        .unwrap();
        assert_eq!(h.server, Server::Nginx);
        assert_eq!(h.time.unwrap().iso(), "2025-01-02T03:04:05");
        assert_eq!(h.cid, Some(7));
        assert!(h.body.starts_with(b"no live upstreams"));
    }

    #[test]
    fn journald_iso_and_pri_prefixes() {
        let h = head("2026-11-20T10:23:45+0100 web1 apache2[9]: [Fri Nov 20 10:23:45.1 2026] [proxy:error] [pid 9:tid 3] AH00940: x").unwrap();
        assert_eq!(h.server, Server::Apache);
        assert_eq!(h.pid, Some(9));
        let h = head("<11>Nov  3 01:02:03 host nginx: [error] 5#5: *1 upstream timed out (110: Connection timed out)").unwrap();
        assert_eq!(h.server, Server::Nginx);
        assert_eq!(h.time.unwrap().iso(), "2026-11-03T01:02:03");
        let h = head("Nov 20 10:23:45 web1 php-fpm[77]: [20-Nov-2026 10:23:45] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it").unwrap();
        assert_eq!(h.server, Server::PhpFpm);
    }

    #[test]
    fn syslog_year_follows_the_file() {
        let mut st = ParseState::new(2030);
        parse_head(
            b"2021/05/06 07:08:09 [error] 1#1: x",
            &mut st,
            &mut Scratch::default(),
        )
        .unwrap();
        let mut scratch = Scratch::default();
        let h = parse_head(
            b"May  6 07:08:10 h nginx: [error] 1#1: *2 x",
            &mut st,
            &mut scratch,
        )
        .unwrap();
        assert_eq!(h.time.unwrap().iso(), "2021-05-06T07:08:10");
    }

    #[test]
    fn unknown_lines() {
        for l in [
            "",
            "hello world",
            "PHP Stack trace:",
            "#0 {main}",
            "[notadate] [error] x",
            "2026/11/20 10:23:45 no level",
        ] {
            assert!(head(l).is_none(), "{l}");
        }
    }

    #[test]
    fn what_a_file_looks_like() {
        use crate::input::source::Looks;
        let nginx = b"2026/11/21 09:37:49 [error] 1#1: *652 connect() failed (111: Connection refused) while connecting to upstream\n2026/11/21 09:37:49 [info] 1#1: *650 client 127.0.0.1 closed keepalive connection\n";
        assert_eq!(looks(nginx), Looks::ErrorLog);
        let access = b"127.0.0.1 - - [21/Nov/2026:09:37:49 +0000] \"GET /api/users/1 HTTP/1.1\" 502 157 \"-\" \"curl/7.88.1\"\n10.0.0.2 - bob [21/Nov/2026:09:37:50 +0000] \"POST /login HTTP/1.1\" 200 12\n";
        assert_eq!(looks(access), Looks::AccessLog);
        assert_eq!(looks(b"hello\nworld\n"), Looks::Unknown);
        assert_eq!(looks(b""), Looks::Unknown);
    }
}
