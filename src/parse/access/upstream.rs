//! nginx's multi-value upstream variables: one value per attempt, `, `
//! between the servers tried in one group and ` : ` between groups across
//! internal redirects (`502, 200`, `10.0.0.1:80, 10.0.0.2:80 : unix:/x.sock`),
//! `-` where an attempt has no value (it never connected, no header came).

/// The values of one multi-value variable, attempt by attempt.
#[derive(Debug, Clone)]
pub struct Values<'a> {
    rest: &'a [u8],
    done: bool,
}

/// Splits `v` into its per-attempt values (none for an empty or `-` whole).
pub fn values(v: &[u8]) -> Values<'_> {
    Values {
        rest: v,
        done: v.is_empty() || v == b"-",
    }
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.done {
            return None;
        }
        let r = self.rest;
        let mut i = 0;
        while i < r.len() {
            match r[i] {
                b',' => {
                    self.rest = trim_start(&r[i + 1..]);
                    return Some(trim_end(&r[..i]));
                }
                b' ' if r[i + 1..].starts_with(b": ") => {
                    self.rest = trim_start(&r[i + 3..]);
                    return Some(trim_end(&r[..i]));
                }
                _ => i += 1,
            }
        }
        self.done = true;
        Some(trim_end(r))
    }
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| **c == b' ').count();
    &b[n..]
}

fn trim_end(b: &[u8]) -> &[u8] {
    let n = b.iter().rev().take_while(|c| **c == b' ').count();
    &b[..b.len() - n]
}

/// A status value (`502`), or `None` for `-` and anything not three digits.
#[inline]
pub fn status(v: &[u8]) -> Option<u16> {
    match v {
        [a, b, c] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

/// Seconds with up to three decimals (`0.004`, `60.001`, `2`) as
/// milliseconds; `None` for `-` and anything else.
pub fn millis(v: &[u8]) -> Option<u64> {
    // Times are a few bytes long, shorter than a `memchr` call is worth.
    let (int, frac) = match v.iter().position(|&c| c == b'.') {
        Some(p) => (&v[..p], &v[p + 1..]),
        None => (v, &b""[..]),
    };
    if int.is_empty() || int.len() > 12 || frac.len() > 9 {
        return None;
    }
    let mut ms = 0u64;
    for &c in int {
        if !c.is_ascii_digit() {
            return None;
        }
        ms = ms * 10 + u64::from(c - b'0');
    }
    ms *= 1000;
    let mut scale = 100;
    for &c in frac {
        if !c.is_ascii_digit() {
            return None;
        }
        ms += u64::from(c - b'0') * scale;
        scale /= 10;
    }
    Some(ms)
}

/// How many attempts failed, from `$upstream_status`: a 5xx status, or
/// no status at all where statuses are logged (what every access line
/// needs; the values below only the lines timed or kept).
#[inline]
pub fn failed(statuses: &[u8]) -> u32 {
    // Not logged (a `combined` line): no values, none failed.
    if statuses.is_empty() {
        return 0;
    }
    if single(statuses) {
        return u32::from(status(statuses).is_none_or(|s| s >= 500));
    }
    failed_of_many(statuses)
}

/// [`failed`] of a field that is not one plain value.
#[inline(never)]
fn failed_of_many(statuses: &[u8]) -> u32 {
    values(statuses)
        .filter(|v| status(v).is_none_or(|s| s >= 500))
        .count() as u32
}

/// Whether the last attempt got a response header from the upstream
/// (`$upstream_header_time` has a value): a 5xx status with it is the
/// application's own answer, not the proxy's. `None` when the format does
/// not log it.
#[inline]
pub fn last_had_header(header: &[u8]) -> Option<bool> {
    if header.is_empty() {
        return None;
    }
    last(header).map(|v| millis(v).is_some())
}

/// The last attempt's `$upstream_response_time`, in milliseconds.
#[inline]
pub fn last_response_ms(response: &[u8]) -> Option<u64> {
    last(response).and_then(millis)
}

/// Whether `v` is one value, neither empty nor `-`, with no separator
/// and no space to trim: what [`values`] yields whole.
#[inline(always)]
fn single(v: &[u8]) -> bool {
    !v.is_empty() && v != b"-" && !has_comma_or_space(v)
}

/// Whether `v` holds a `,` or a space, looked at eight bytes at a time in
/// a word (the values are a few bytes long, shorter than a `memchr2` call
/// is worth).
#[inline]
fn has_comma_or_space(v: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // A byte of `x` is zero where the byte was the one looked for; the
    // test for any zero byte is exact (only bits above a zero byte can be
    // set by the borrow).
    let any = |w: u64| {
        let (c, s) = (w ^ (ONES * u64::from(b',')), w ^ (ONES * u64::from(b' ')));
        ((c.wrapping_sub(ONES) & !c) | (s.wrapping_sub(ONES) & !s)) & HIGHS != 0
    };
    // Eight bytes or more: the words, then the last eight (overlapping
    // bytes already looked at); fewer: the first four and the last four.
    // No copy of a remainder of unknown length (a `memcpy` call).
    if let Some(last) = v.last_chunk::<8>() {
        let mut words = v.chunks_exact(8);
        for w in &mut words {
            if w.first_chunk::<8>()
                .is_some_and(|w| any(u64::from_le_bytes(*w)))
            {
                return true;
            }
        }
        return !words.remainder().is_empty() && any(u64::from_le_bytes(*last));
    }
    if let (Some(a), Some(b)) = (v.first_chunk::<4>(), v.last_chunk::<4>()) {
        return any(u64::from(u32::from_le_bytes(*a)) | u64::from(u32::from_le_bytes(*b)) << 32);
    }
    v.iter().any(|&c| c == b',' || c == b' ')
}

/// The last of [`values`]`(v)`: the last attempt's value.
#[inline(always)]
pub fn last(v: &[u8]) -> Option<&[u8]> {
    // Not logged (a `combined` line): no values.
    if v.is_empty() {
        return None;
    }
    if single(v) {
        return Some(v);
    }
    last_of_many(v)
}

/// [`last`] of a field that is not one plain value, out of the way of
/// the usual one.
#[inline(never)]
fn last_of_many(v: &[u8]) -> Option<&[u8]> {
    values(v).last()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the attempts of one request came to, read at once: the plain
    /// reading that the values read one by one are held to.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct Attempts {
        /// Attempts logged (values of `$upstream_status`, else of
        /// `$upstream_addr`).
        pub count: u32,
        /// Of them, those that failed: a 5xx status, or no status at all where
        /// statuses are logged.
        pub failed: u32,
        /// The last attempt's status.
        pub last_status: Option<u16>,
        /// The last attempt got a response header from the upstream
        /// (`$upstream_header_time` has a value): a 5xx status with it is the
        /// application's own answer, not the proxy's.
        pub last_had_header: Option<bool>,
        /// The last attempt's `$upstream_response_time`, in milliseconds.
        pub last_response_ms: Option<u64>,
    }

    impl Attempts {
        /// Reads the attempts from the variables' raw values (empty when the
        /// format does not log one), every value through [`values`].
        pub fn read(statuses: &[u8], addrs: &[u8], response: &[u8], header: &[u8]) -> Attempts {
            let mut a = Attempts::default();
            if !statuses.is_empty() && statuses != b"-" {
                for v in values(statuses) {
                    let s = status(v);
                    a.count += 1;
                    if s.is_none_or(|s| s >= 500) {
                        a.failed += 1;
                    }
                    a.last_status = s;
                }
            } else {
                a.count = values(addrs).count() as u32;
            }
            if !header.is_empty() {
                a.last_had_header = values(header).last().map(|v| millis(v).is_some());
            }
            a.last_response_ms = values(response).last().and_then(millis);
            a
        }
    }

    fn all(v: &str) -> Vec<&str> {
        values(v.as_bytes())
            .map(|x| std::str::from_utf8(x).unwrap())
            .collect()
    }

    #[test]
    fn splits_groups_and_redirects() {
        assert_eq!(all("502, 200"), ["502", "200"]);
        assert_eq!(
            all("127.0.0.1:8001, 127.0.0.1:8002 : unix:/run/a.sock"),
            ["127.0.0.1:8001", "127.0.0.1:8002", "unix:/run/a.sock"]
        );
        assert_eq!(all("-, 0.004 : -"), ["-", "0.004", "-"]);
        assert_eq!(all("-"), Vec::<&str>::new());
        assert_eq!(all(""), Vec::<&str>::new());
        assert_eq!(all("backend"), ["backend"]);
    }

    #[test]
    fn comma_or_space_in_words_is_the_bytewise_answer() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..40 {
            for _ in 0..200 {
                let v: Vec<u8> = (0..len)
                    .map(|_| {
                        crate::testing::xorshift(&mut seed);
                        [b'5', b',', b' ', b':', b'-', 0, 0x80, 0xff, b'.'][(seed % 9) as usize]
                    })
                    .collect();
                assert_eq!(
                    has_comma_or_space(&v),
                    v.iter().any(|&c| c == b',' || c == b' '),
                    "{v:?}"
                );
            }
        }
    }

    #[test]
    fn times_in_millis() {
        assert_eq!(millis(b"0.004"), Some(4));
        assert_eq!(millis(b"60.001"), Some(60_001));
        assert_eq!(millis(b"2"), Some(2000));
        assert_eq!(millis(b"-"), None);
        assert_eq!(millis(b"1.x"), None);
        assert_eq!(millis(b""), None);
    }

    #[test]
    fn attempts_of_a_retried_request() {
        let a = Attempts::read(
            b"502, 200",
            b"10.0.0.1:80, 10.0.0.2:80",
            b"0.000, 0.010",
            b"-, 0.009",
        );
        assert_eq!((a.count, a.failed, a.last_status), (2, 1, Some(200)));
        assert_eq!(a.last_had_header, Some(true));
        assert_eq!(a.last_response_ms, Some(10));
        let b = Attempts::read(b"502", b"10.0.0.1:80", b"0.001", b"0.001");
        assert_eq!((b.count, b.failed, b.last_had_header), (1, 1, Some(true)));
        let c = Attempts::read(b"", b"10.0.0.1:80, 10.0.0.2:80 : 10.0.0.3:80", b"", b"");
        assert_eq!((c.count, c.failed, c.last_had_header), (3, 0, None));
        let d = Attempts::read(b"504 : 502", b"", b"60.002 : 0.000", b"- : -");
        assert_eq!((d.count, d.failed, d.last_status), (2, 2, Some(502)));
        assert_eq!(d.last_had_header, Some(false));
    }

    /// The values read one by one are those of [`Attempts::read`].
    #[test]
    fn values_alone_are_those_of_the_attempts() {
        let fields = [
            "",
            "-",
            "502",
            "200",
            "502, 200",
            "504 : 502",
            "-, -",
            "abc",
            "0.004",
            "-, 0.009",
            "0.000, 0.010 : -",
            "60.002 : 0.000",
            " ",
            "5 02",
            "502,",
        ];
        for s in fields {
            for r in fields {
                for h in fields {
                    let a =
                        Attempts::read(s.as_bytes(), b"10.0.0.1:80", r.as_bytes(), h.as_bytes());
                    assert_eq!(failed(s.as_bytes()), a.failed, "{s:?}");
                    assert_eq!(last_had_header(h.as_bytes()), a.last_had_header, "{h:?}");
                    assert_eq!(last_response_ms(r.as_bytes()), a.last_response_ms, "{r:?}");
                }
            }
        }
    }
}
