//! One access-log line as read ([`AccessLine`]), and the byte searches
//! and value readers that the walk ([`super::walk`]) and the fast reading
//! ([`super::fast`]) share.

use super::format::{Dialect, Field, Later};
use super::upstream;
use crate::event::LocalTime;
use crate::parse::time;

/// One access-log line, read: raw values borrow from the line (empty when
/// the format does not log them). The upstream times, the connection and
/// the request id are read through their methods: the fast reading leaves
/// them unread at the end of the line ([`Later`]) where a format logs them
/// there, and finds them only for the few lines that ask.
#[derive(Debug, Clone, Default)]
pub struct AccessLine<'a> {
    /// Whose format read it.
    pub dialect: Option<Dialect>,
    /// The logged time (nginx: the end, Apache: the start).
    pub time: Option<LocalTime>,
    /// The response status.
    pub status: u16,
    /// Client address.
    pub client: &'a [u8],
    /// The request line (`GET /x HTTP/1.1`).
    pub request: &'a [u8],
    /// The path, where no request line is logged.
    pub uri: &'a [u8],
    /// The request's duration as logged (empty when it is not), in
    /// `duration_unit`: read by [`AccessLine::duration_ms`], for the few
    /// lines that need it.
    pub duration: &'a [u8],
    /// What a unit of `duration` is.
    pub duration_unit: DurationUnit,
    /// `$upstream_addr` / the balancer member.
    pub upstream_addr: &'a [u8],
    /// `$upstream_status`.
    pub upstream_status: &'a [u8],
    /// `$upstream_response_time`.
    pub(super) upstream_response_time: &'a [u8],
    /// `$upstream_connect_time`.
    pub(super) upstream_connect_time: &'a [u8],
    /// `$upstream_header_time`.
    pub(super) upstream_header_time: &'a [u8],
    /// nginx `$connection` (the error log's `*N`) as logged: read by
    /// [`AccessLine::connection`].
    pub(super) connection_text: &'a [u8],
    /// `$request_id`, Apache's `%L`; `-` is left empty.
    pub(super) request_id: &'a [u8],
    /// ingress-nginx's `$proxy_upstream_name`.
    pub upstream_name: &'a [u8],
    /// The line from the first field left unread on: `later`'s fields,
    /// one per space but the last, which runs to the end of the line.
    pub(super) later_text: &'a [u8],
    /// The fields left unread (none where the line was read whole).
    pub(super) later: Later,
    /// The id of the plan that read this line in full (the one before,
    /// while a line is being read), 0 for none: read again by that plan,
    /// the line's values are written over, not cleared first.
    pub(super) by: u64,
}

/// The unit of a logged duration: which field logged it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DurationUnit {
    /// `$request_time`: seconds with milliseconds.
    #[default]
    Secs,
    /// `%D`, `%{us}T`.
    Micros,
    /// `%{ms}T`.
    Millis,
    /// `%T`, `%{s}T`.
    WholeSecs,
}

impl<'a> AccessLine<'a> {
    /// When the request ended: nginx's time, or Apache's start plus the
    /// duration (the start when none is logged).
    pub fn end(&self) -> Option<LocalTime> {
        let t = self.time?;
        if self.dialect != Some(Dialect::Apache) {
            return Some(t);
        }
        Some(match self.duration_ms() {
            Some(ms) => LocalTime(t.0.saturating_add((ms / 1000) as i64)),
            None => t,
        })
    }

    /// The request's duration in milliseconds.
    pub fn duration_ms(&self) -> Option<u64> {
        let v = self.duration;
        match self.duration_unit {
            DurationUnit::Secs => upstream::millis(v),
            DurationUnit::Micros => integer(v).map(|us| us / 1000),
            DurationUnit::Millis => integer(v),
            DurationUnit::WholeSecs => integer(v).map(|s| s.saturating_mul(1000)),
        }
    }

    /// nginx's connection number.
    pub fn connection(&self) -> Option<u64> {
        integer(self.later_or(Field::Connection, self.connection_text))
    }

    /// `$upstream_response_time`.
    pub fn upstream_response_time(&self) -> &'a [u8] {
        dash(self.later_or(Field::UpstreamResponseTime, self.upstream_response_time))
    }

    /// `$upstream_connect_time`.
    pub fn upstream_connect_time(&self) -> &'a [u8] {
        dash(self.later_or(Field::UpstreamConnectTime, self.upstream_connect_time))
    }

    /// `$upstream_header_time`.
    pub fn upstream_header_time(&self) -> &'a [u8] {
        dash(self.later_or(Field::UpstreamHeaderTime, self.upstream_header_time))
    }

    /// `$request_id`, Apache's `%L`; `-` is left empty.
    pub fn request_id(&self) -> &'a [u8] {
        dash(self.later_or(Field::RequestId, self.request_id))
    }

    /// Whether the line may give a time to take ([`crate::scan`] hashes
    /// its request line only then): a duration, or an
    /// `$upstream_response_time`, logged or left unread.
    #[inline]
    pub fn may_have_time(&self) -> bool {
        !self.duration.is_empty()
            || !self.upstream_response_time.is_empty()
            || (self.later.len() > 0
                && self
                    .later
                    .last(Later::code(Field::UpstreamResponseTime).unwrap_or(0))
                    .is_some())
    }

    /// The value of field `f` if it was left unread (as the walk reads
    /// it: the last of its places in the format), else `read`.
    fn later_or(&self, f: Field, read: &'a [u8]) -> &'a [u8] {
        let Some(i) = Later::code(f).and_then(|c| self.later.last(c)) else {
            return read;
        };
        let mut rest = self.later_text;
        for _ in 0..i {
            match memchr::memchr(b' ', rest) {
                Some(p) => rest = &rest[p + 1..],
                None => return b"",
            }
        }
        if i + 1 < self.later.len()
            && let Some(p) = memchr::memchr(b' ', rest)
        {
            rest = &rest[..p];
        }
        rest
    }

    /// Leaves `later` of the line unread from `text` on.
    #[inline(always)]
    pub(super) fn leave(&mut self, text: &'a [u8], later: Later) {
        self.later_text = text;
        self.later = later;
    }
}

/// Lines are alike when every value read from them is, whether it was
/// read at once or left for later.
impl PartialEq for AccessLine<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.dialect == o.dialect
            && self.time == o.time
            && self.status == o.status
            && self.client == o.client
            && self.request == o.request
            && self.uri == o.uri
            && self.duration == o.duration
            && self.duration_unit == o.duration_unit
            && self.upstream_addr == o.upstream_addr
            && self.upstream_status == o.upstream_status
            && self.upstream_response_time() == o.upstream_response_time()
            && self.upstream_connect_time() == o.upstream_connect_time()
            && self.upstream_header_time() == o.upstream_header_time()
            && self.later_or(Field::Connection, self.connection_text)
                == o.later_or(Field::Connection, o.connection_text)
            && self.request_id() == o.request_id()
            && self.upstream_name == o.upstream_name
    }
}

impl Eq for AccessLine<'_> {}

impl AccessLine<'_> {
    /// The route source: the request line, else the path.
    pub fn route_source(&self) -> &[u8] {
        if self.request.is_empty() {
            self.uri
        } else {
            self.request
        }
    }
}

/// `memchr`, with the first bytes looked at inline, 16 at a time in an
/// SSE2 register (the line's last 16 bytes for its end): most fields of an
/// access line are a few bytes long, shorter than a call is worth, and a
/// user agent a hundred. Past 256 bytes it hands over to `memchr`.
#[inline(always)]
pub(super) fn find_byte(b: u8, hay: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::bytes::Block;
        let mut at = 0;
        while at < 256 {
            let Some(block) = hay.get(at..).and_then(<[u8]>::first_chunk::<16>) else {
                // Fewer than 16 bytes left: the last 16, those before `at`
                // shifted out.
                let Some(last) = hay.last_chunk::<16>().filter(|_| at < hay.len()) else {
                    return hay.get(at..)?.iter().position(|&c| c == b).map(|i| at + i);
                };
                let hits = Block::load(last).eq(b) >> (at + 16 - hay.len());
                return (hits != 0).then(|| at + hits.trailing_zeros() as usize);
            };
            let hits = Block::load(block).eq(b);
            if hits != 0 {
                return Some(at + hits.trailing_zeros() as usize);
            }
            at += 16;
        }
        memchr::memchr(b, &hay[at..]).map(|i| i + at)
    }
    #[cfg(not(target_arch = "x86_64"))]
    find_byte_within::<16>(b, hay)
}

/// [`find_byte`] in `line` from `at` (the place counted from `at`): where
/// fewer than 16 bytes are left, they are looked at in the line's last 16,
/// not one at a time (the user agent at the end of a `combined` line is
/// often that short).
#[inline(always)]
pub(super) fn find_byte_at(b: u8, line: &[u8], at: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if line.len() < at + 16
        && at < line.len()
        && let Some(last) = line.last_chunk::<16>()
    {
        use crate::bytes::Block;
        let hits = Block::load(last).eq(b) >> (at + 16 - line.len());
        return (hits != 0).then(|| hits.trailing_zeros() as usize);
    }
    find_byte(b, &line[at..])
}

/// The spaces, and the `,` and `:`, among the 16 bytes of `line` from
/// `at`, as bits (bit `i` for byte `at + i`; near the end, of the bytes
/// left; `None` from the end on, and for a line under 16 bytes): the
/// separators of the space-separated fields at the end of a line, and the
/// bytes that make a space after them part of a multi-value upstream
/// field.
#[inline(always)]
pub(super) fn spaces_and_marks_at(line: &[u8], at: usize) -> Option<(u16, u16)> {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::bytes::Block;
        match line.get(at..).and_then(<[u8]>::first_chunk::<16>) {
            Some(block) => {
                let b = Block::load(block);
                Some((b.eq(b' '), b.eq2(b',', b':')))
            }
            None => {
                // The line's last 16 bytes, those before `at` shifted out.
                let last = line.last_chunk::<16>().filter(|_| at < line.len())?;
                let b = Block::load(last);
                let shift = at + 16 - line.len();
                Some((b.eq(b' ') >> shift, b.eq2(b',', b':') >> shift))
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        if at >= line.len() || line.len() < 16 {
            return None;
        }
        let bytes = &line[at..line.len().min(at + 16)];
        Some(
            bytes
                .iter()
                .enumerate()
                .fold((0u16, 0u16), |(s, m), (i, &c)| {
                    (
                        s | (u16::from(c == b' ') << i),
                        m | (u16::from(c == b',' || c == b':') << i),
                    )
                }),
        )
    }
}

/// `memchr` with the first `N` bytes looked at inline, eight at a time in
/// a word (`N` a multiple of eight): [`find_byte`] where SSE2 is not there.
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline(always)]
pub(super) fn find_byte_within<const N: usize>(b: u8, hay: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let pattern = ONES * u64::from(b);
    let mut at = 0;
    while at < N {
        let Some(word) = hay.get(at..at + 8) else {
            break;
        };
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let x = u64::from_le_bytes(bytes) ^ pattern;
        // The lowest byte of `x` that is zero sets the lowest bit here
        // (bits above it may be set by the borrow, never bits below).
        let zero = x.wrapping_sub(ONES) & !x & HIGHS;
        if zero != 0 {
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    if at < N {
        return hay[at..].iter().position(|&c| c == b).map(|i| at + i);
    }
    memchr::memchr(b, &hay[at..]).map(|i| i + at)
}

/// `hay.starts_with(lit)` for the short literals of a format, compared
/// inline instead of through `memcmp`.
#[inline(always)]
pub(super) fn starts_with(hay: &[u8], lit: &[u8]) -> bool {
    hay.len() >= lit.len() && hay.iter().zip(lit).all(|(a, b)| a == b)
}

/// Sets the value `v` of field `f` in `out`, or `status` (read as a
/// status): one dispatch on the field for each.
#[inline(always)]
pub(super) fn set<'a>(
    out: &mut AccessLine<'a>,
    status: &mut Option<u16>,
    f: Field,
    v: &'a [u8],
    dates: &mut time::DateCache,
) {
    match f {
        Field::Status => *status = upstream::status(v),
        Field::Client => out.client = v,
        Field::TimeLocal => out.time = time::clf_cached(v, dates),
        Field::TimeIso => out.time = time::iso(v),
        Field::Msec => {
            out.time = upstream::millis(v).map(|ms| LocalTime((ms / 1000) as i64));
        }
        Field::Request => out.request = v,
        Field::Uri => out.uri = v,
        Field::RequestSecs => (out.duration, out.duration_unit) = (v, DurationUnit::Secs),
        Field::RequestMicros => (out.duration, out.duration_unit) = (v, DurationUnit::Micros),
        Field::RequestMillis => (out.duration, out.duration_unit) = (v, DurationUnit::Millis),
        Field::RequestWholeSecs => {
            (out.duration, out.duration_unit) = (v, DurationUnit::WholeSecs);
        }
        Field::UpstreamAddr => out.upstream_addr = dash(v),
        Field::UpstreamStatus => out.upstream_status = dash(v),
        Field::UpstreamResponseTime => out.upstream_response_time = dash(v),
        Field::UpstreamConnectTime => out.upstream_connect_time = dash(v),
        Field::UpstreamHeaderTime => out.upstream_header_time = dash(v),
        Field::Connection => out.connection_text = v,
        Field::RequestId => out.request_id = dash(v),
        Field::UpstreamName => out.upstream_name = dash(v),
        Field::Other => {}
    }
}

fn dash(v: &[u8]) -> &[u8] {
    if v == b"-" { b"" } else { v }
}

fn integer(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0u64, |n, c| n * 10 + u64::from(c - b'0')))
}
