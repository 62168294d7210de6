//! Line formats, detected per line.
//!
//! [`parse_head`] recognises the fixed prefix of every supported format
//! (nginx, Apache 2.4 and 2.2, php-fpm, each optionally behind a syslog or
//! journald prefix) and returns a borrowed [`Head`]: time, level, process
//! ids and the rest of the line. The server-specific bodies are parsed only
//! when a line might matter ([`nginx::Body`], [`apache::Body`],
//! [`php_fpm::Body`]), so the common case of a noise line costs a prefix
//! check and nothing else.

pub mod apache;
pub mod nginx;
pub mod php_fpm;
pub mod time;

pub use time::LocalTime;

/// The server that wrote a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Server {
    /// nginx.
    Nginx,
    /// Apache httpd.
    Apache,
    /// php-fpm's own log.
    PhpFpm,
}

impl Server {
    /// All servers, in report order.
    pub const ALL: [Server; 3] = [Server::Nginx, Server::Apache, Server::PhpFpm];

    /// Stable lowercase name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Server::Nginx => "nginx",
            Server::Apache => "apache",
            Server::PhpFpm => "php-fpm",
        }
    }

    /// Index into per-server arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The line layout that was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `YYYY/MM/DD HH:MM:SS [level] pid#tid: *cid message`.
    Nginx,
    /// `[time] [module:level] [pid N:tid T] ...` (2.4 default ErrorLogFormat).
    Apache24,
    /// `[time] [level] ...` (2.2, no module, no pid).
    Apache22,
    /// `[DD-Mon-YYYY HH:MM:SS] LEVEL: message`.
    PhpFpm,
}

impl Format {
    /// The server behind the format.
    pub fn server(self) -> Server {
        match self {
            Format::Nginx => Server::Nginx,
            Format::Apache24 | Format::Apache22 => Server::Apache,
            Format::PhpFpm => Server::PhpFpm,
        }
    }
}

/// The fixed prefix of a recognised line, borrowing from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head<'a> {
    /// Which layout matched.
    pub format: Format,
    /// Local time as written; `None` only for prefix-less forms.
    pub time: Option<LocalTime>,
    /// Level as written (`error`, `proxy:error` gives `error`, `WARNING`).
    pub level: &'a [u8],
    /// Apache module (`proxy`, `proxy_fcgi`, possibly empty).
    pub module: &'a [u8],
    /// Process id (nginx, Apache 2.4).
    pub pid: Option<u32>,
    /// Thread id (nginx, Apache 2.4 threaded MPMs).
    pub tid: Option<u64>,
    /// nginx connection number (`*N`).
    pub cid: Option<u64>,
    /// Everything after the prefix.
    pub body: &'a [u8],
}

/// Per-input parsing state: the year to give syslog stamps that have none.
#[derive(Debug, Clone)]
pub struct ParseState {
    year_hint: i32,
    /// The seconds the hint year spans, so that keeping the hint up to date
    /// costs two comparisons per line.
    year_span: (i64, i64),
    /// The last nginx date seen.
    dates: time::DateCache,
    /// The last Apache date seen.
    apache_dates: time::DateCache,
    /// Recent nginx `pid#tid: ` texts.
    pids: nginx::PidCache,
}

impl ParseState {
    /// `default_year` completes syslog stamps until a full date is seen.
    pub fn new(default_year: i32) -> Self {
        ParseState {
            year_hint: default_year,
            year_span: (0, -1),
            dates: time::DateCache::default(),
            apache_dates: time::DateCache::default(),
            pids: nginx::PidCache::default(),
        }
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

/// Recognises a line; `None` when it is in no known format.
#[inline]
pub fn parse_head<'a>(line: &'a [u8], state: &mut ParseState) -> Option<Head<'a>> {
    let first = *line.first()?;
    // The common case first, returned as built: no merging with the other
    // layouts' results, which would copy the head through memory.
    if first.is_ascii_digit()
        && let Some((t, rest)) = nginx::time_cached(line, &mut state.dates)
    {
        if let Some(head) = nginx::head_after_time_cached(rest, Some(t), Some(&mut state.pids)) {
            state.saw(t);
            return Some(head);
        }
    }
    parse_head_other(line, first, state)
}

/// [`parse_head`] for every layout but a plain nginx line.
#[inline(never)]
fn parse_head_other<'a>(line: &'a [u8], first: u8, state: &mut ParseState) -> Option<Head<'a>> {
    let head = if first.is_ascii_digit() {
        syslog_wrapped(line, state)
    } else if first == b'[' {
        apache::head_cached(line, &mut state.apache_dates).or_else(|| php_fpm::head(line))
    } else if first == b'A' {
        apache::bare(line)
    } else {
        syslog_wrapped(line, state)
    }?;
    if let Some(t) = head.time {
        state.saw(t);
    }
    Some(head)
}

/// A line behind a syslog or journald prefix: `[<PRI>]TIME HOST TAG: ` where
/// TIME is `Nov 20 10:23:45[.ffffff]` or ISO 8601. The inner line keeps its
/// own timestamp when it has one, otherwise takes the syslog one.
fn syslog_wrapped<'a>(line: &'a [u8], state: &ParseState) -> Option<Head<'a>> {
    let mut rest = line;
    if rest.first() == Some(&b'<') {
        let close = memchr::memchr(b'>', &rest[..rest.len().min(6)])?;
        rest = &rest[close + 1..];
        // RFC 5424 has a version number after the PRI.
        if rest.starts_with(b"1 ") {
            rest = &rest[2..];
        }
    }
    let (time, after) = if rest.first().is_some_and(u8::is_ascii_digit) {
        let t = time::iso(rest)?;
        (t, skip_token(rest))
    } else {
        let t = time::syslog(rest, state.year_hint)?;
        (t, skip_token(&rest[15..]))
    };
    // Host, then the tag, which ends with ':'.
    let after_host = skip_token(after.strip_prefix(b" ")?);
    let tag_and_msg = after_host.strip_prefix(b" ")?;
    let colon = memchr::memchr(b':', &tag_and_msg[..tag_and_msg.len().min(64)])?;
    if tag_and_msg[..colon].contains(&b' ') {
        return None;
    }
    let inner = tag_and_msg[colon + 1..].strip_prefix(b" ")?;
    let mut head = match inner.first()? {
        b'0'..=b'9' => nginx::head(inner),
        b'[' => apache::head(inner)
            .or_else(|| php_fpm::head(inner))
            .or_else(|| nginx::head_without_time(inner))
            .or_else(|| apache::head_without_time(inner)),
        _ => None,
    }?;
    if head.time.is_none() {
        head.time = Some(time);
    }
    Some(head)
}

/// The first `byte` in `hay`, for searches that usually end within a few
/// dozen bytes (the end of a context value): 16 bytes at a time inline,
/// where a call to `memchr` costs about 60 instructions of dispatch and
/// set-up before its first compare. Past 128 bytes it hands over to
/// `memchr`.
#[inline(always)]
pub(crate) fn find_byte(byte: u8, hay: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        let mut at = 0;
        while at < 128 {
            let Some(block) = hay.get(at..at + 16) else {
                break;
            };
            // SAFETY: SSE2 is part of x86_64; the load reads the 16 bytes
            // of `block`.
            let hits = unsafe {
                let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(byte as i8)))
            };
            if hits != 0 {
                return Some(at + hits.trailing_zeros() as usize);
            }
            at += 16;
        }
        memchr::memchr(byte, &hay[at..]).map(|i| at + i)
    }
    #[cfg(not(target_arch = "x86_64"))]
    memchr::memchr(byte, hay)
}

/// Skips to the first space (or the end).
#[inline]
fn skip_token(b: &[u8]) -> &[u8] {
    match memchr::memchr(b' ', b) {
        Some(i) => &b[i..],
        None => &b[b.len()..],
    }
}

/// The last occurrence of `needle` in `hay`. memchr's reverse substring
/// search is not vectorized; a reverse byte search is, so this searches for
/// the needle's rarest byte in log text ([`rare_byte`]) and checks the
/// needle around each hit.
#[inline(always)]
pub(crate) fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let k = rare_byte(needle)?;
    memchr::memrchr_iter(needle[k], hay)
        .filter(|&i| i >= k)
        .map(|i| i - k)
        .find(|&i| hay[i..].starts_with(needle))
}

/// The first occurrence of `needle` in `hay`. For the short haystacks of
/// log lines a vectorized search for the needle's rarest byte and a check
/// around each hit beat building a substring searcher per call, as
/// `memmem::find` does.
#[inline(always)]
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let Some(k) = rare_byte(needle) else {
        return memchr::memmem::find(hay, needle);
    };
    memchr::memchr_iter(needle[k], hay.get(k..)?).find(|&i| hay[i..].starts_with(needle))
}

/// The index of the byte of `needle` least frequent in log text (by a rough
/// rank: spaces, commas and common lowercase letters first); `None` for an
/// empty needle.
#[inline(always)]
fn rare_byte(needle: &[u8]) -> Option<usize> {
    let first = needle.first()?;
    let (mut best, mut best_rank) = (0, RARITY[usize::from(*first)]);
    for (i, &c) in needle.iter().enumerate().skip(1) {
        let rank = RARITY[usize::from(c)];
        if rank > best_rank {
            (best, best_rank) = (i, rank);
        }
    }
    Some(best)
}

/// How rare each byte is in log text: 0 for the most common.
static RARITY: [u8; 256] = {
    const COMMON: &[u8] = b" etaoinsrhl,dcu:m/.f0p1g2";
    let mut t = [COMMON.len() as u8; 256];
    let mut i = 0;
    while i < COMMON.len() {
        t[COMMON[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// A run of ASCII digits at the start of `b`, with its length.
#[inline(always)]
pub(crate) fn leading_number(b: &[u8]) -> Option<(u64, usize)> {
    // Ids in log prefixes are short: eight bytes at once give the length
    // of the run without a branch per digit.
    if let Some(word) = b.first_chunk::<8>() {
        let x = u64::from_le_bytes(*word) ^ 0x3030_3030_3030_3030;
        // A byte is a digit when it is now 0..=9: high nibble clear and no
        // carry into bit 4 when 6 is added. Carries out of a non-digit byte
        // only disturb the bytes after it, which do not count.
        let non_digit = (x | x.wrapping_add(0x0606_0606_0606_0606)) & 0xF0F0_F0F0_F0F0_F0F0;
        let n = (non_digit.trailing_zeros() / 8) as usize;
        if n == 0 {
            return None;
        }
        if n < 8 {
            // The digits' values, moved up to the top bytes (zeros below
            // act as leading zeros), combined pairwise in three multiplies.
            let d = x << (64 - 8 * n as u32);
            let d = d.wrapping_mul(10).wrapping_add(d >> 8);
            let hi = (d & 0x0000_00FF_0000_00FF).wrapping_mul(100 + (1_000_000 << 32));
            let lo = ((d >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32));
            let d = hi.wrapping_add(lo) >> 32;
            return Some((d, n));
        }
    }
    leading_number_slow(b)
}

/// [`leading_number`] one byte at a time, up to 20 digits.
fn leading_number_slow(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    let mut n = 0;
    // 19 digits always fit in a u64; only a 20th needs checking.
    while n < b.len() && n < 20 {
        let d = b[n].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        v = if n < 19 {
            v * 10 + u64::from(d)
        } else {
            v.checked_mul(10)?.checked_add(u64::from(d))?
        };
        n += 1;
    }
    (n > 0).then_some((v, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inline byte search finds what `memchr` finds, at every place
    /// of haystacks around the 16-byte blocks and the 128-byte hand-over,
    /// with the byte once, twice or not at all.
    #[test]
    fn find_byte_agrees_with_memchr() {
        for len in 0..=200 {
            let mut hay = vec![b'a'; len];
            assert_eq!(find_byte(b',', &hay), None);
            for at in 0..len {
                hay[at] = b',';
                assert_eq!(
                    find_byte(b',', &hay),
                    memchr::memchr(b',', &hay),
                    "{len} {at}"
                );
                if let Some(later) = hay.get_mut(at + 17) {
                    *later = b',';
                    assert_eq!(find_byte(b',', &hay), Some(at), "{len} {at}");
                    hay[at + 17] = b'a';
                }
                hay[at] = b'a';
            }
        }
    }

    fn head(line: &str) -> Option<Head<'_>> {
        parse_head(line.as_bytes(), &mut ParseState::new(2026))
    }

    #[test]
    fn syslog_prefixed_nginx_keeps_inner_time() {
        let h = head(
            "Nov 20 10:23:45 web1 nginx[812]: 2025/01/02 03:04:05 [error] 812#812: *7 no live upstreams while connecting to upstream",
        )
        .unwrap();
        assert_eq!(h.format, Format::Nginx);
        assert_eq!(h.time.unwrap().iso(), "2025-01-02T03:04:05");
        assert_eq!(h.cid, Some(7));
        assert!(h.body.starts_with(b"no live upstreams"));
    }

    #[test]
    fn journald_iso_and_pri_prefixes() {
        let h = head("2026-11-20T10:23:45+0100 web1 apache2[9]: [Fri Nov 20 10:23:45.1 2026] [proxy:error] [pid 9:tid 3] AH00940: x").unwrap();
        assert_eq!(h.format, Format::Apache24);
        assert_eq!(h.pid, Some(9));
        let h = head("<11>Nov  3 01:02:03 host nginx: [error] 5#5: *1 upstream timed out (110: Connection timed out)").unwrap();
        assert_eq!(h.format, Format::Nginx);
        assert_eq!(h.time.unwrap().iso(), "2026-11-03T01:02:03");
        let h = head("Nov 20 10:23:45 web1 php-fpm[77]: [20-Nov-2026 10:23:45] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it").unwrap();
        assert_eq!(h.format, Format::PhpFpm);
    }

    #[test]
    fn syslog_year_follows_the_file() {
        let mut st = ParseState::new(2030);
        parse_head(b"2021/05/06 07:08:09 [error] 1#1: x", &mut st).unwrap();
        let h = parse_head(b"May  6 07:08:10 h nginx: [error] 1#1: *2 x", &mut st).unwrap();
        assert_eq!(h.time.unwrap().iso(), "2021-05-06T07:08:10");
    }

    #[test]
    fn reverse_find() {
        assert_eq!(rfind(b"a while b while c", b" while "), Some(9));
        assert_eq!(rfind(b"while", b" while "), None);
        assert_eq!(rfind(b"x", b""), None);
    }

    #[test]
    fn searches_agree_with_memmem() {
        let hays = [
            "a while b while c",
            "GET /x returned by /a returned by /b",
            "x, referer: y, referer: z",
            "\" while \" while x, client: y",
            "",
            "yyy",
            ", , ,",
            "xx, client: y",
            ", , client: ",
            "a://b://",
            "::://",
            "while",
            " whil",
            "a, b",
            "x",
        ];
        let needles = [
            " while ",
            " returned by ",
            ", referer: ",
            "\" while ",
            ", ",
            ", client: ",
            "://",
            "y",
            "",
        ];
        for h in hays {
            for n in needles {
                let (h, n) = (h.as_bytes(), n.as_bytes());
                assert_eq!(find(h, n), memchr::memmem::find(h, n), "{h:?} {n:?}");
                if !n.is_empty() {
                    assert_eq!(rfind(h, n), memchr::memmem::rfind(h, n), "{h:?} {n:?}");
                }
            }
        }
        assert_eq!(rare_byte(b" returned by "), Some(10));
        assert_eq!(rare_byte(b"\" while "), Some(0));
    }

    #[test]
    fn numbers_agree_with_the_bytewise_parse() {
        let samples: &[&[u8]] = &[
            b"",
            b"1",
            b"12#",
            b"1234567",
            b"12345678",
            b"123456789 ",
            b"0000000000",
            b"9/",
            b"9:",
            b"x1",
            b"\xff1234567",
            b"1234\xfa678",
            b"12345\x3a",
            b"123 *45",
            b"1234567\xff\xff",
            b"98765432109876543210",
            b"184467440737095516159",
        ];
        for b in samples {
            assert_eq!(leading_number(b), leading_number_slow(b), "{:?}", b);
        }
        for c in 0..=255u8 {
            for at in 0..9 {
                let mut b = *b"987654321";
                b[at] = c;
                assert_eq!(leading_number(&b), leading_number_slow(&b), "{c} at {at}");
                let mut b = *b"123456789";
                b[at] = c;
                assert_eq!(leading_number(&b), leading_number_slow(&b), "{c} at {at}");
            }
        }
    }

    #[test]
    fn numbers_of_every_length_agree() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 10) as usize;
            let digits: String = x.to_string().chars().take(len).collect();
            let b = format!("{digits}#{}", x % 97);
            assert_eq!(
                leading_number(b.as_bytes()),
                leading_number_slow(b.as_bytes()),
                "{b}"
            );
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(leading_number(b"812#7"), Some((812, 3)));
        assert_eq!(leading_number(b"x"), None);
        assert_eq!(
            leading_number(b"18446744073709551615"),
            Some((u64::MAX, 20))
        );
        assert_eq!(leading_number(b"18446744073709551616"), None);
        assert_eq!(leading_number(b"99999999999999999999"), None);
        assert_eq!(
            leading_number(b"1234567890123456789012"),
            Some((12345678901234567890, 20))
        );
    }

    #[test]
    fn unknown_lines() {
        for l in [
            "",
            "hello world",
            "PHP Stack trace:",
            "#0 {main}",
            "Nov 20 10:23:45 host kernel: [12.3] oops",
            "[notadate] [error] x",
            "2026/11/20 10:23:45 no level",
        ] {
            assert!(head(l).is_none(), "{l}");
        }
    }
}
