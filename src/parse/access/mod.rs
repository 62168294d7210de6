//! Access logs: what clients got, one line per request.
//!
//! A format is compiled once into a [`Plan`] (literals and the fields
//! between them); a line is read by walking the plan, finding each literal
//! with `memchr` from where the last one ended, so a line costs a few byte
//! searches and no allocation. Fields the report does not use are skipped
//! unread. [`fast`] reads most lines in fewer steps, each literal by a kind
//! known in advance, and leaves the rest (an escaped quote, a multi-value
//! upstream field) to the walk, whose answers it gives; tests hold the two
//! together. Without `--access-format`, the common formats are tried per line
//! ([`builtins`]), the one that read the previous line first; the error-log
//! formats are always tried before, so an error log never pays for this.
//!
//! Times: nginx writes the line when the request ends (`$time_local` is the
//! end), Apache's `%t` is when it started; [`AccessLine::end`] gives the
//! end either way when the duration is logged.

pub mod fast;
pub mod format;
pub mod line;
pub mod upstream;

use std::sync::{Arc, OnceLock};

pub use format::{Dialect, Item, Plan};
pub use line::AccessLine;
use line::{find_byte, set, starts_with};

use super::time;
use crate::event::LocalTime;

/// Reads `line` with `plan` ([`read_into`], returned).
#[cfg(test)]
pub fn read<'a>(
    plan: &Plan,
    line: &'a [u8],
    dates: &mut time::DateCache,
) -> Option<AccessLine<'a>> {
    let mut out = AccessLine::default();
    read_into(plan, line, dates, &mut out).then_some(out)
}

/// Reads `line` with `plan` into `out` (whatever it held before), so
/// that the line's values are written once where the caller keeps them,
/// not built and copied out; false when the line does not fit it or its
/// status is not a status (`out` then holds anything). `dates` keeps the
/// day of the last time read. A line that the same plan read in full
/// before is not cleared first: every reading by a plan writes the same
/// values (its fields'), and the others are still empty.
#[inline(never)]
pub fn read_into<'a>(
    plan: &Plan,
    line: &'a [u8],
    dates: &mut time::DateCache,
    out: &mut AccessLine<'a>,
) -> bool {
    if out.by != plan.id.0 {
        *out = AccessLine {
            dialect: Some(plan.dialect),
            by: plan.id.0,
            ..AccessLine::default()
        };
    }
    if fast::fill(&plan.fast, line, dates, out).is_some() {
        return true;
    }
    match walk(plan, line, dates) {
        Some(a) => {
            *out = AccessLine { by: plan.id.0, ..a };
            true
        }
        None => {
            // Partly written: cleared before it is read again.
            out.by = 0;
            false
        }
    }
}

/// [`read_into`] by walking the plan item by item: the plain reading, which
/// [`fast::fill`] answers like where it answers at all.
#[inline(never)]
pub fn walk<'a>(
    plan: &Plan,
    line: &'a [u8],
    dates: &mut time::DateCache,
) -> Option<AccessLine<'a>> {
    let mut out = AccessLine {
        dialect: Some(plan.dialect),
        ..AccessLine::default()
    };
    let mut pos = 0;
    let items = &plan.items;
    let mut i = 0;
    let mut status = None;
    while i < items.len() {
        match &items[i] {
            Item::Literal(l) => {
                if !starts_with(&line[pos..], l) {
                    return None;
                }
                pos += l.len();
                i += 1;
            }
            Item::Field(f) => {
                let value = match items.get(i + 1) {
                    Some(Item::Literal(l)) => {
                        let end = pos + find_end(&line[pos..], l)?;
                        let v = &line[pos..end];
                        pos = end + l.len();
                        i += 2;
                        v
                    }
                    _ => {
                        let v = &line[pos..];
                        pos = line.len();
                        i += 1;
                        v
                    }
                };
                set(&mut out, &mut status, *f, value, dates);
            }
        }
    }
    out.status = status.filter(|s| (100..600).contains(s))?;
    Some(out)
}

/// Where `lit` starts in `hay`, the end of the field before it. A quote
/// that a backslash escapes (Apache's `\"`, JSON's) is inside the field;
/// a space after `,` or around ` : ` is inside a multi-value upstream field.
#[inline]
fn find_end(hay: &[u8], lit: &[u8]) -> Option<usize> {
    let first = lit[0];
    let mut from = 0;
    loop {
        let p = from + find_byte(first, &hay[from..])?;
        from = p + 1;
        if lit.len() > 1 && !starts_with(&hay[p..], lit) {
            continue;
        }
        match first {
            b'"' => {
                let slashes = hay[..p].iter().rev().take_while(|c| **c == b'\\').count();
                if slashes % 2 == 1 {
                    continue;
                }
            }
            b' ' => {
                let inside = (p > 0 && hay[p - 1] == b',')
                    || starts_with(&hay[p..], b" : ")
                    || (p >= 2 && hay[p - 2] == b' ' && hay[p - 1] == b':');
                if inside && p > 0 {
                    continue;
                }
            }
            _ => {}
        }
        return Some(p);
    }
}

/// The formats recognised without `--access-format`, most specific first:
/// ingress-nginx's `log-format-upstream`, nginx's `combined` (which also
/// reads `main`, `combined` plus `$http_x_forwarded_for`, and Apache's
/// `combined`, written alike), Apache's `common`.
pub fn builtins() -> &'static [Plan] {
    static PLANS: OnceLock<Vec<Plan>> = OnceLock::new();
    PLANS.get_or_init(|| {
        let nginx = |name: &str, s: &str| format::nginx(name, s, false).unwrap_or_else(|e| panic!("{e}"));
        let apache = |name: &str, s: &str| format::apache(name, s).unwrap_or_else(|e| panic!("{e}"));
        vec![
            nginx(
                "ingress-nginx",
                r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id"#,
            ),
            nginx(
                "combined",
                r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#,
            ),
            apache("common", r#"%h %l %u %t "%r" %>s %b"#),
        ]
    })
}

/// Which plans read a scanner's access lines (the one given, or the
/// built-in ones, tried per line), and which of the lines count.
#[derive(Debug, Clone, Default)]
pub struct AccessFormats {
    /// `--access-format`, compiled.
    pub given: Option<Arc<Plan>>,
    /// Only requests that ended at or after this time (`--since`).
    pub since: Option<LocalTime>,
    /// Only requests that ended before this time (`--until`).
    pub until: Option<LocalTime>,
}

impl AccessFormats {
    /// Whether a request that ended at `time` counts (one whose time is
    /// not known does).
    #[inline]
    pub fn keep_time(&self, time: Option<LocalTime>) -> bool {
        !time.is_some_and(|t| {
            self.since.is_some_and(|s| t < s) || self.until.is_some_and(|u| t >= u)
        })
    }
}

/// Per-scanner state: the built-in plan that read the last line, and the
/// day of the last time read.
#[derive(Debug, Clone, Default)]
pub struct Detector {
    last: usize,
    dates: time::DateCache,
}

impl Detector {
    /// Reads an access line with the given plan, or detects the format
    /// among the built-in ones.
    #[inline]
    pub fn read<'a>(&mut self, formats: &AccessFormats, line: &'a [u8]) -> Option<AccessLine<'a>> {
        let mut out = AccessLine::default();
        self.read_into(formats, line, &mut out).then_some(out)
    }

    /// [`Detector::read`] into `out` ([`read_into`]); false when no
    /// format reads the line.
    #[inline]
    pub fn read_into<'a>(
        &mut self,
        formats: &AccessFormats,
        line: &'a [u8],
        out: &mut AccessLine<'a>,
    ) -> bool {
        if let Some(p) = &formats.given {
            return read_into(p, line, &mut self.dates, out);
        }
        let plans = builtins();
        if let Some(p) = plans.get(self.last)
            && read_into(p, line, &mut self.dates, out)
        {
            return true;
        }
        for (i, p) in plans.iter().enumerate() {
            if i == self.last {
                continue;
            }
            if read_into(p, line, &mut self.dates, out) {
                self.last = i;
                return true;
            }
        }
        false
    }
}

/// The benchmark generator's format (`genlog --print-access-format`): the
/// upstream variables, the connection and the request id at the end of
/// the line, for the tests of the readers and of what they feed.
#[cfg(test)]
pub(crate) const BENCH_FORMAT: &str = r#"log_format bench '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_addr $upstream_status $upstream_response_time $upstream_connect_time $upstream_header_time $connection $connection_requests $request_id';"#;

/// The real access logs of `fixtures/access/` (and two error logs, lines
/// that no plan may read), for the readers' tests.
#[cfg(test)]
const FIXTURE_TEXTS: [&str; 6] = [
    include_str!("../../../fixtures/access/nginx-combined.log"),
    include_str!("../../../fixtures/access/nginx-upstreams.log"),
    include_str!("../../../fixtures/access/apache-combined.log"),
    include_str!("../../../fixtures/access/apache-custom.log"),
    include_str!("../../../fixtures/access/nginx-error.log"),
    include_str!("../../../fixtures/access/apache-error.log"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::access::line::{find_byte_at, find_byte_within, spaces_and_marks_at};

    fn detect(line: &str) -> Option<AccessLine<'_>> {
        Detector::default().read(&AccessFormats::default(), line.as_bytes())
    }

    #[test]
    fn combined_and_main() {
        let a = detect(r#"127.0.0.1 - - [06/Dec/2026:10:00:01 +0000] "GET /api/users/7?x=1 HTTP/1.1" 502 157 "-" "curl/7.88.1""#).unwrap();
        assert_eq!(a.status, 502);
        assert_eq!(a.client, b"127.0.0.1");
        assert_eq!(a.request, b"GET /api/users/7?x=1 HTTP/1.1");
        assert_eq!(a.time.unwrap().iso(), "2026-12-06T10:00:01");
        let m = detect(r#"10.0.0.9 - bob [06/Dec/2026:10:00:01 +0100] "POST /x HTTP/2.0" 200 0 "https://a/\x22q" "Mozilla/5.0 (X11)" "1.2.3.4, 5.6.7.8""#).unwrap();
        assert_eq!(m.status, 200);
    }

    #[test]
    fn apache_common_and_escaped_quotes() {
        let a =
            detect(r#"::1 - - [06/Dec/2026:10:00:01 +0000] "GET /a\"b HTTP/1.1" 503 299"#).unwrap();
        assert_eq!(a.status, 503);
        assert_eq!(a.request, br#"GET /a\"b HTTP/1.1"#);
    }

    #[test]
    fn ingress_nginx() {
        let l = r#"192.168.1.5 - - [06/Dec/2026:10:00:01 +0000] "GET /checkout HTTP/1.1" 200 612 "-" "k6/0.4" 231 0.013 [shop-web-80] [] 10.1.0.7:8080, 10.1.0.8:8080 0, 612 0.001, 0.012 502, 200 6f1c3d2e9a"#;
        let a = detect(l).unwrap();
        assert_eq!(a.upstream_name, b"shop-web-80");
        assert_eq!(a.upstream_addr, b"10.1.0.7:8080, 10.1.0.8:8080");
        assert_eq!(a.upstream_status, b"502, 200");
        assert_eq!(a.upstream_response_time(), b"0.001, 0.012");
        assert_eq!(a.request_id(), b"6f1c3d2e9a");
        assert_eq!(a.duration_ms(), Some(13));
    }

    #[test]
    fn custom_nginx_and_apache_formats() {
        let p = Plan::compile("log_format up '$remote_addr [$time_local] \"$request\" $status $request_time $upstream_addr $upstream_status $upstream_response_time $upstream_connect_time $upstream_header_time $connection $connection_requests $request_id';").unwrap();
        let l = br#"127.0.0.1 [06/Dec/2026:10:00:02 +0000] "GET /r HTTP/1.1" 504 1.002 127.0.0.1:1, 127.0.0.1:2 : 127.0.0.1:3 502, 504 : 502 0.000, 1.001 : - -, - : - 0.000, - : - 41 1 0f3c"#;
        let a = read(&p, l, &mut Default::default()).unwrap();
        assert_eq!(a.status, 504);
        assert_eq!(a.upstream_addr, b"127.0.0.1:1, 127.0.0.1:2 : 127.0.0.1:3");
        assert_eq!(a.upstream_status, b"502, 504 : 502");
        assert_eq!(a.upstream_connect_time(), b"-, - : -");
        assert_eq!(a.upstream_header_time(), b"0.000, - : -");
        assert_eq!(a.upstream_response_time(), b"0.000, 1.001 : -");
        assert_eq!(a.connection(), Some(41));
        assert_eq!(a.request_id(), b"0f3c");
        let ap = Plan::compile(r#"%h %t "%r" %>s %D %L %{BALANCER_WORKER_NAME}e"#).unwrap();
        let a = read(&ap, br#"127.0.0.1 [06/Dec/2026:10:00:02 +0000] "GET /r HTTP/1.1" 502 2500000 aBcD http://127.0.0.1:9"#, &mut Default::default()).unwrap();
        assert_eq!(a.duration_ms(), Some(2500));
        assert_eq!(a.end().unwrap().iso(), "2026-12-06T10:00:04");
        assert_eq!(a.request_id(), b"aBcD");
        assert_eq!(a.upstream_addr, b"http://127.0.0.1:9");
    }

    /// A line read into again and again (plans tried by turns, lines
    /// that fit, partly fit or do not) against a fresh line for each.
    #[test]
    fn reading_into_the_last_line_is_reading_afresh() {
        let mut lines: Vec<&str> = Vec::new();
        // The access logs and nginx's error log (not Apache's).
        for text in &FIXTURE_TEXTS[..5] {
            lines.extend(text.lines());
        }
        let extra = [
            r#"10.0.0.1 - - [06/Dec/2026:10:00:01 +0000] "GET /a HTTP/1.1" 502 5 "-" "ua" 0.101 10.0.0.2:80 502 0.100 0.001 - 7 3 ab"#,
            r#"10.0.0.1 - - [06/Dec/2026:10:00:01 +0000] "GET /b HTTP/1.1" 504 5 "-" "ua" 1.1 10.0.0.2:80, 10.0.0.3:80 502, 504 0.1, 1.0 - - 7 3 -"#,
            r#"10.0.0.1 - - [06/Dec/2026:10:00:01 +0000] "GET /c HTTP/1.1" 200 5 "-" "ua" 0.101 10.0.0.2:80 200 0.100 0.001 0.1 7 3"#,
            r#"10.0.0.1 - - [06/Dec/2026:10:00:01 +0000] "GET /d HTTP/1.1" 200 5 "-" "ua""#,
        ];
        let mut seed = 0x0dd5_eed5_1234_5678u64;
        let mut order = Vec::new();
        for _ in 0..4000 {
            crate::testing::xorshift(&mut seed);
            let n = lines.len() + extra.len();
            let i = (seed % n as u64) as usize;
            order.push(if i < lines.len() {
                lines[i]
            } else {
                extra[i - lines.len()]
            });
        }
        let given = Some(Arc::new(Plan::compile(BENCH_FORMAT).unwrap()));
        let mut read = 0;
        for formats in [
            AccessFormats::default(),
            AccessFormats {
                given,
                ..Default::default()
            },
        ] {
            let (mut again, mut afresh) = (Detector::default(), Detector::default());
            let mut out = AccessLine::default();
            for line in &order {
                let fresh = afresh.read(&formats, line.as_bytes());
                let ok = again.read_into(&formats, line.as_bytes(), &mut out);
                assert_eq!(ok, fresh.is_some(), "{line}");
                if let Some(f) = fresh {
                    assert_eq!(out, f, "{line}");
                    read += 1;
                }
            }
        }
        assert!(read > 3000, "{read}");
    }

    #[test]
    fn json_lines() {
        let p = Plan::compile(r#"log_format j escape=json '{"time":"$time_iso8601","status":"$status","request":"$request","ua":"$http_user_agent"}';"#).unwrap();
        let a = read(&p, br#"{"time":"2026-12-06T10:00:02+00:00","status":"502","request":"GET /q HTTP/1.1","ua":"a \"quoted\" agent"}"#, &mut Default::default()).unwrap();
        assert_eq!(a.status, 502);
        assert_eq!(a.time.unwrap().iso(), "2026-12-06T10:00:02");
    }

    #[test]
    fn find_byte_is_memchr() {
        // Every length up to past the inline blocks, around the hand-over
        // to `memchr`, the byte at every place, absent, and repeated.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for len in (0..70).chain(250..262) {
            for round in 0..40 {
                let hay: Vec<u8> = (0..len)
                    .map(|_| {
                        crate::testing::xorshift(&mut seed);
                        [b'a', b' ', b'"', b'\\', 0x80, 0xff, 0, b',', b':'][(seed % 9) as usize]
                    })
                    .collect();
                for b in [b' ', b'"', 0x80, 0xff, 0, b'z'] {
                    assert_eq!(
                        find_byte(b, &hay),
                        memchr::memchr(b, &hay),
                        "{len} {round} {b} {hay:?}"
                    );
                    assert_eq!(
                        find_byte_within::<32>(b, &hay),
                        memchr::memchr(b, &hay),
                        "{len} {round} {b} {hay:?}"
                    );
                    // From every place, near the end from the last block.
                    for at in 0..=len {
                        assert_eq!(
                            find_byte_at(b, &hay, at),
                            memchr::memchr(b, &hay[at..]),
                            "{len} {round} {b} {at} {hay:?}"
                        );
                    }
                    // And the spaces and marks, as bits.
                    for at in 0..len {
                        let Some((bits, _)) = spaces_and_marks_at(&hay, at) else {
                            assert!(len < 16, "{len} {at}");
                            continue;
                        };
                        let want = hay[at..]
                            .iter()
                            .take(16)
                            .enumerate()
                            .fold(0u16, |m, (i, &c)| m | (u16::from(c == b' ') << i));
                        assert_eq!(bits, want, "{len} {round} {at} {hay:?}");
                        let marks = hay[at..]
                            .iter()
                            .take(16)
                            .enumerate()
                            .fold(0u16, |m, (i, &c)| {
                                m | (u16::from(c == b',' || c == b':') << i)
                            });
                        assert_eq!(
                            spaces_and_marks_at(&hay, at),
                            Some((want, marks)),
                            "{len} {round} {at} {hay:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn not_access_lines() {
        for l in [
            "",
            "hello",
            "2026/12/06 10:00:01 [error] 1#1: *1 x",
            r#"127.0.0.1 - - [06/Dec/2026:10:00:01 +0000] "GET / HTTP/1.1" abc 1"#,
            r#"127.0.0.1 - - [06/Dec/2026:10:00:01 +0000] "GET / HTTP/1.1" 999 1"#,
            r#"127.0.0.1 - - [06/Dec/2026:10:00:01 +0000] "GET / HTTP/1.1"#,
        ] {
            assert!(detect(l).is_none(), "{l}");
        }
    }
}
