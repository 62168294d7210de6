//! The fast reading of a plan: the same answer as [`super::read_into`]'s walk
//! where it gives one, in fewer steps.
//!
//! The walk looks for each literal from where the last field began, and
//! when the first place its first byte appears is no end of the field (a
//! `"` after a backslash, a space inside a multi-value upstream field, a
//! space not followed by the rest of the literal), it looks further. This
//! reading compiles each literal into one of a few kinds known in advance
//! (a space, a quote, `" "`, ...), takes the first place or nothing, and
//! gives up on the line (`None`) where that place would not do: the walk
//! then reads it. A request line is never longer than the walk would read
//! it, a field never shorter: a line that gives up costs both, which only
//! the rare line with an escaped quote or a retried request pays. The
//! fields a format ends with that each end at a space (the upstream
//! variables of many custom formats) are read from one run of 16-byte
//! masks of their spaces rather than a search each, a line with a `,` or a
//! `:` before one of those spaces left to the walk; of those, the ones
//! that only a few lines ask for (the upstream times, the connection, the
//! request id) are left unread once their spaces are found
//! ([`super::format::Later`]).
//! `tests::fast_is_the_walk` holds the two to the same answers.

use super::format::{End, Fast, Later, Step};
use super::line::{AccessLine, find_byte, find_byte_at, set, spaces_and_marks_at, starts_with};
use super::upstream;
use crate::parse::time;

/// Reads `line` as [`super::read_into`] does with the plan `fast` was compiled
/// from, or `None` where this reading cannot tell (the line may still fit:
/// ask the walk).
#[cfg(test)]
pub fn read<'a>(
    plan: &super::Plan,
    fast: &Fast,
    line: &'a [u8],
    dates: &mut time::DateCache,
) -> Option<AccessLine<'a>> {
    let mut out = AccessLine {
        dialect: Some(plan.dialect),
        ..AccessLine::default()
    };
    fill(fast, line, dates, &mut out)?;
    Some(out)
}

/// Reads `line` as [`super::read_into`] does with the plan `fast` was compiled
/// from, into `out` (which holds the plan's dialect and nothing else yet:
/// the caller's value is filled in place, not built here and copied out),
/// or `None` where this reading cannot tell (the line may still fit: ask
/// the walk; `out` may then hold some of the line's values).
#[inline(always)]
pub fn fill<'a>(
    fast: &Fast,
    line: &'a [u8],
    dates: &mut time::DateCache,
    out: &mut AccessLine<'a>,
) -> Option<()> {
    let mut pos = fast.lead.len();
    if !starts_with(line, &fast.lead) {
        return None;
    }
    let mut status = None;
    let mut steps = &fast.steps[..fast.spaces];
    if fast.combined {
        pos = combined(line, dates, out, &mut status)?;
        steps = &steps[7..];
    }
    for step in steps {
        let hay = &line[pos..];
        let (len, skip) = match step.end {
            End::Space => (space(line, pos)?, 1),
            End::Quote => (quote(line, pos)?, 1),
            End::UnreadQuote => match line {
                // A quote at the end with no backslash before it: the
                // walk's search ends there at the latest, and the value
                // it finds is not kept.
                [.., before, b'"'] if *before != b'\\' && pos < line.len() => (hay.len() - 1, 1),
                _ => (quote(line, pos)?, 1),
            },
            End::QuoteSpace => {
                let p = quote(line, pos)?;
                (followed(hay, p, b" ")?, 2)
            }
            End::QuoteSpaceQuote => {
                let p = quote(line, pos)?;
                (followed(hay, p, b" \"")?, 3)
            }
            End::SpaceQuote => {
                let p = space(line, pos)?;
                (followed(hay, p, b"\"")?, 2)
            }
            End::SpaceBracket => {
                let p = space(line, pos)?;
                (followed(hay, p, b"[")?, 2)
            }
            End::SpaceDashSpace => {
                let p = space(line, pos)?;
                (followed(hay, p, b"- ")?, 3)
            }
            End::BracketSpaceQuote => {
                // The time: 26 bytes as nginx and Apache write it.
                let p = find_byte(b']', hay)?;
                (followed(hay, p, b" \"")?, 3)
            }
            End::Other => {
                let l = &step.other;
                let p = find_byte(l[0], hay)?;
                if !starts_with(&hay[p..], l) || matches!(l[0], b' ' | b'"') {
                    // A space or a quote the walk looks at more closely.
                    return None;
                }
                (p, l.len())
            }
            End::Line => (hay.len(), 0),
        };
        let value = &hay[..len];
        pos += len + skip;
        set(out, &mut status, step.field, value, dates);
    }
    if fast.spaces < fast.steps.len() {
        spaced(
            &fast.steps[fast.spaces..],
            (fast.lazy, fast.later),
            line,
            pos,
            dates,
            out,
            &mut status,
        )?;
    }
    out.status = status.filter(|s| (100..600).contains(s))?;
    Some(())
}

/// The last steps of a plan, fields that each end at a space and one to
/// the end of the line, from `pos` on: as the loop of [`fill`] reads them
/// (each field up to its first space), from masks of 16 bytes at a time
/// instead of a search per field. The last `lazy` of them are left unread
/// ([`Later`]): only the spaces that end them are found. Where a `,` or a
/// `:` comes before a space, from `pos` up to the byte after the last
/// space taken, that space may be inside a multi-value upstream field (`, `,
/// ` : `): `None`, and the walk reads the line.
#[inline(always)]
fn spaced<'a>(
    steps: &[Step],
    (lazy, later): (usize, Later),
    line: &'a [u8],
    pos: usize,
    dates: &mut time::DateCache,
    out: &mut AccessLine<'a>,
    status: &mut Option<u16>,
) -> Option<()> {
    // The fields read, each up to a space; then, of those left unread,
    // the spaces that end all but the last.
    let read = &steps[..steps.len() - lazy.max(1)];
    let need = steps.len() - 1;
    let mut taken = 0;
    let mut start = pos;
    let mut at = pos;
    loop {
        let (mut spaces, marks) = spaces_and_marks_at(line, at)?;
        // A mark followed by a space (the next block's first byte too).
        let after = (spaces >> 1) | (u16::from(line.get(at + 16) == Some(&b' ')) << 15);
        let marks = marks & after;
        while spaces != 0 {
            let p = at + spaces.trailing_zeros() as usize;
            spaces &= spaces - 1;
            if let Some(step) = read.get(taken) {
                set(out, status, step.field, &line[start..p], dates);
                start = p + 1;
            }
            taken += 1;
            if taken == need {
                // The marks up to the byte after this space.
                let upto = match p - at {
                    off @ 0..=13 => (1u16 << (off + 2)) - 1,
                    _ => u16::MAX,
                };
                if marks & upto != 0
                    || (p - at == 15 && matches!(line.get(p + 1..p + 3), Some([b',' | b':', b' '])))
                {
                    return None;
                }
                if lazy == 0 {
                    set(out, status, steps[need].field, &line[start..], dates);
                } else {
                    out.leave(&line[start..], later);
                }
                return Some(());
            }
        }
        if marks != 0 {
            return None;
        }
        at += 16;
    }
}

/// The first seven steps of a plan that starts as `combined` does (see
/// [`Fast::combined`](super::format::Fast)), each as the loop of [`fill`]
/// takes it, in a row: the field, then where the user agent starts.
#[inline(always)]
fn combined<'a>(
    line: &'a [u8],
    dates: &mut time::DateCache,
    out: &mut AccessLine<'a>,
    status: &mut Option<u16>,
) -> Option<usize> {
    // `$remote_addr - `
    let p = space(line, 0)?;
    followed(line, p, b"- ")?;
    out.client = &line[..p];
    let mut pos = p + 3;
    // `$remote_user [`: most often the empty user's `- [`, three bytes
    // compared at once (the first space is then the one after the dash).
    if line.get(pos..).and_then(<[u8]>::first_chunk::<3>) == Some(b"- [") {
        pos += 3;
    } else {
        let hay = &line[pos..];
        let p = space(line, pos)?;
        followed(hay, p, b"[")?;
        pos += p + 2;
    }
    // `$time_local] "`
    let hay = &line[pos..];
    let p = find_byte(b']', hay)?;
    followed(hay, p, b" \"")?;
    out.time = time::clf_cached(&hay[..p], dates);
    pos += p + 3;
    // `$request" `
    let hay = &line[pos..];
    let p = quote(line, pos)?;
    followed(hay, p, b" ")?;
    out.request = &hay[..p];
    pos += p + 2;
    // `$status `: most often three digits and a space not followed by
    // `: `, looked at as six bytes (the first space is then the fourth).
    match line.get(pos..).and_then(<[u8]>::first_chunk::<6>) {
        Some(&[a, b, c, b' ', x, y])
            if a.is_ascii_digit()
                && b.is_ascii_digit()
                && c.is_ascii_digit()
                && (x, y) != (b':', b' ') =>
        {
            *status =
                Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'));
            pos += 4;
        }
        _ => {
            let hay = &line[pos..];
            let p = space(line, pos)?;
            *status = upstream::status(&hay[..p]);
            pos += p + 1;
        }
    }
    // `$body_bytes_sent "`
    let hay = &line[pos..];
    let p = space(line, pos)?;
    followed(hay, p, b"\"")?;
    pos += p + 2;
    // `$http_referer" "`
    let hay = &line[pos..];
    let p = quote(line, pos)?;
    followed(hay, p, b" \"")?;
    Some(pos + p + 3)
}

/// The first space of the line from `pos` (counted from `pos`), where it ends a field: not after a `,` and
/// not around ` : ` (inside a multi-value upstream field, which the walk
/// reads).
#[inline(always)]
fn space(line: &[u8], pos: usize) -> Option<usize> {
    let hay = &line[pos..];
    let p = find_byte(b' ', hay)?;
    if p > 0 && (hay[p - 1] == b',' || followed(hay, p, b": ").is_some()) {
        return None;
    }
    Some(p)
}

/// The first quote of the line from `pos` (counted from `pos`), where no
/// backslash escapes it.
#[inline(always)]
fn quote(line: &[u8], pos: usize) -> Option<usize> {
    let hay = &line[pos..];
    let p = find_byte_at(b'"', line, pos)?;
    if p > 0 && hay[p - 1] == b'\\' {
        return None;
    }
    Some(p)
}

/// `p` when the byte at `p` is followed by `rest`, compared as an array
/// (no `memcmp` call for a byte or two).
#[inline(always)]
fn followed<const N: usize>(hay: &[u8], p: usize, rest: &[u8; N]) -> Option<usize> {
    (hay[p + 1..].first_chunk::<N>() == Some(rest)).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::super::{Plan, builtins, walk};
    use super::*;
    use proptest::prelude::*;

    /// The formats the tests read with: the built-in ones, the fixtures'
    /// own, the benchmark's, and an ingress-like and a JSON one.
    fn plans() -> Vec<Plan> {
        let mut plans = builtins().to_vec();
        for spec in [
            include_str!("../../../fixtures/access/nginx-log_format.txt"),
            include_str!("../../../fixtures/access/apache-LogFormat.txt"),
            crate::parse::access::BENCH_FORMAT,
            r#"log_format j escape=json '{"time":"$time_iso8601","status":"$status","request":"$request","up":"$upstream_addr"}';"#,
            r#"$remote_addr [$time_local] $status :: $request_time|$upstream_status"#,
            r#"log_format spaced '$status $upstream_addr $upstream_status $request_time $request_id';"#,
        ] {
            plans.push(Plan::compile(spec).unwrap());
        }
        plans
    }

    /// Asserts that the fast reading of `line` with every plan is the
    /// walk's where it answers; returns how many plans it answered for.
    fn same(plans: &[Plan], line: &[u8]) -> usize {
        let mut answered = 0;
        for p in plans {
            let walked = walk(p, line, &mut Default::default());
            if let Some(f) = read(p, &p.fast, line, &mut Default::default()) {
                answered += 1;
                assert_eq!(
                    Some(f),
                    walked,
                    "{} on {:?}",
                    p.name,
                    String::from_utf8_lossy(line)
                );
            }
            // And the reading every caller uses is always the walk's.
            assert_eq!(super::super::read(p, line, &mut Default::default()), walked);
        }
        answered
    }

    #[test]
    fn combined_layouts_are_read_in_a_row() {
        let plans = plans();
        let named = |name: &str| plans.iter().find(|p| p.name == name).unwrap();
        for name in ["combined", "ingress-nginx", "bench"] {
            assert!(named(name).fast.combined, "{name}");
        }
        for name in ["common", "j"] {
            assert!(!named(name).fast.combined, "{name}");
        }
    }

    #[test]
    fn trailing_space_fields_are_read_from_masks() {
        let plans = plans();
        let named = |name: &str| plans.iter().find(|p| p.name == name).unwrap();
        // After the user agent, after ingress-nginx's bracketed names,
        // and from the first field.
        assert_eq!(named("bench").fast.spaces, 8);
        assert_eq!(named("ingress-nginx").fast.spaces, 12);
        assert_eq!(named("spaced").fast.spaces, 0);
        for name in ["combined", "common", "j"] {
            let f = &named(name).fast;
            assert_eq!(f.spaces, f.steps.len(), "{name}");
            assert_eq!(f.lazy, 0, "{name}");
        }
        // Left unread: the upstream times, the connection, its requests
        // and the id; ingress-nginx's id after its upstream status; the
        // id after a duration.
        assert_eq!(named("bench").fast.lazy, 6);
        assert_eq!(named("ingress-nginx").fast.lazy, 1);
        assert_eq!(named("spaced").fast.lazy, 1);
    }

    #[test]
    fn fields_left_unread_are_read_on_demand() {
        let plans = plans();
        let bench = plans.iter().find(|p| p.name == "bench").unwrap();
        let line = br#"10.0.0.1 - - [06/Dec/2026:10:00:01 +0000] "GET / HTTP/1.1" 502 5 "-" "ua" 0.101 10.0.0.2:80 502 0.100 0.001 - 7 3 ab cd"#;
        let a = read(bench, &bench.fast, line, &mut Default::default()).unwrap();
        assert_eq!(a.later.len(), 6);
        assert_eq!(a.upstream_addr, b"10.0.0.2:80");
        assert_eq!(a.upstream_status, b"502");
        assert_eq!(a.upstream_response_time(), b"0.100");
        assert_eq!(a.upstream_connect_time(), b"0.001");
        assert_eq!(a.upstream_header_time(), b"");
        assert_eq!(a.connection(), Some(7));
        assert_eq!(a.request_id(), b"ab cd");
        assert!(a.may_have_time());
        // Too few fields, or a multi-value one among those left: the
        // walk's to read.
        for l in [
            &br#"10.0.0.1 - - [06/Dec/2026:10:00:01 +0000] "GET / HTTP/1.1" 502 5 "-" "ua" 0.101 10.0.0.2:80 502 0.100 0.001 - 7"#[..],
            br#"10.0.0.1 - - [06/Dec/2026:10:00:01 +0000] "GET / HTTP/1.1" 502 5 "-" "ua" 0.101 10.0.0.2:80 502 0.100, 0.2 0.001 - 7 3 ab"#,
            br#"10.0.0.1 - - [06/Dec/2026:10:00:01 +0000] "GET / HTTP/1.1" 502 5 "-" "ua" 0.101 10.0.0.2:80 502 0.100 0.001 : - - 7 3 ab"#,
        ] {
            assert_eq!(read(bench, &bench.fast, l, &mut Default::default()), None);
        }
    }

    #[test]
    fn fast_is_the_walk_on_the_fixtures() {
        let plans = plans();
        let mut answered = 0;
        for text in crate::parse::access::FIXTURE_TEXTS {
            for line in text.lines() {
                answered += same(&plans, line.as_bytes());
            }
        }
        // The fast reading is no stub: it reads the access lines itself.
        assert!(answered >= 4 * 47, "{answered}");
    }

    /// Lines like the benchmark's, with the values that make a field end
    /// somewhere else than at the first separator.
    fn generated(seed: u64, n: usize) -> Vec<Vec<u8>> {
        let mut s = seed;
        let mut next = move |k: usize| {
            crate::testing::xorshift(&mut s);
            (s % k as u64) as usize
        };
        let users = ["-", "bob", "a b", "x, y", "-,", "a : b"];
        let requests = [
            "GET /api/v1/users/7?x=1 HTTP/1.1",
            r#"GET /a\"b HTTP/1.1"#,
            r#"GET /a\\"b HTTP/1.1"#,
            "GET /x\" y HTTP/1.1",
            "-",
            "",
        ];
        let statuses = ["502", "200", "499", "abc", "999", "", "50 2"];
        let quoted = [
            "-",
            "Mozilla/5.0 (X11)",
            r#"a \"q\" b"#,
            "a\" \"b",
            "",
            "x\\",
        ];
        let addrs = [
            "10.0.0.1:8080",
            "10.0.0.1:8080, 10.0.0.2:8080",
            "10.0.0.1:80, 10.0.0.2:80 : unix:/run/a.sock",
            "-",
            "backend",
            "a ,b",
            "x :y",
        ];
        let ups = ["502", "502, 200", "504 : 502", "-", "-, -", "200"];
        let times = ["0.013", "0.000, 0.012", "-, 0.001 : -", "-", "60.001"];
        (0..n)
            .map(|_| {
                let mut l = format!(
                    r#"10.0.{}.{} - {} [06/Dec/2026:10:00:{:02} +0000] "{}" {} {} "{}" "{}""#,
                    next(256),
                    next(256),
                    users[next(users.len())],
                    next(60),
                    requests[next(requests.len())],
                    statuses[next(statuses.len())],
                    next(30_000),
                    quoted[next(quoted.len())],
                    quoted[next(quoted.len())],
                );
                if next(4) > 0 {
                    l.push_str(&format!(
                        " {} {} {} {} {} {} {} 1 {:x}",
                        times[next(times.len())],
                        addrs[next(addrs.len())],
                        ups[next(ups.len())],
                        times[next(times.len())],
                        times[next(times.len())],
                        times[next(times.len())],
                        next(1_000_000),
                        next(1 << 30),
                    ));
                }
                if next(4) == 0 {
                    // The upstream variables alone, as a format that
                    // starts with them logs them.
                    l = format!(
                        "{} {} {} {} {}",
                        statuses[next(statuses.len())],
                        addrs[next(addrs.len())],
                        ups[next(ups.len())],
                        times[next(times.len())],
                        users[next(users.len())],
                    );
                }
                if next(8) == 0 {
                    l.truncate(next(l.len() + 1));
                }
                l.into_bytes()
            })
            .collect()
    }

    #[test]
    fn fast_is_the_walk_on_generated_lines() {
        let plans = plans();
        let mut answered = 0;
        for line in generated(7, 20_000) {
            answered += same(&plans, &line);
        }
        // Most of these lines hold a value the fast reading leaves to the
        // walk; a sixth or so it reads itself.
        assert!(answered > 2_000, "{answered}");
    }

    #[test]
    fn multi_value_fields_at_every_place_of_a_block() {
        // The spaces inside `, ` and ` : ` at each of the 16 places of a
        // block and across its edges, moved along by the client's length.
        let plans = plans();
        let mut answered = 0;
        for pad in 0..40 {
            for (addr, up) in [
                ("10.0.0.1:80", "502"),
                ("10.0.0.1:80, 10.0.0.2:80", "502, 200"),
                ("10.0.0.1:80 : unix:/a", "504 : 502"),
                ("a,", ": b"),
                ("x :y", "-, -"),
            ] {
                let client = "1".repeat(pad + 1);
                for line in [
                    format!(
                        r#"{client} - - [06/Dec/2026:10:00:01 +0000] "GET / HTTP/1.1" 502 5 "-" "ua" 0.1 {addr} {up} 0.1 - - 7 1 ab"#
                    ),
                    format!("{} {addr} {up} 0.1 {client}", &up[..3]),
                    format!("502 {client} {addr} {up} 0.1"),
                ] {
                    answered += same(&plans, line.as_bytes());
                }
            }
        }
        assert!(answered >= 40 * 3, "{answered}");
    }

    #[test]
    fn combined_shortcuts_are_the_walk() {
        // The user and status read as a few bytes at once, and the lines
        // where those bytes are not what the shortcut takes.
        let plans = plans();
        let mut answered = 0;
        for (user, status) in [
            ("-", "502"),
            ("- [", "200"),
            ("-,", "5x2"),
            ("bob", "502 :"),
            ("-", "502 : 7"),
            ("-", "50"),
            ("-", " 502"),
            ("a : b", "2000"),
            ("", "499"),
        ] {
            let line = format!(
                r#"10.0.0.1 - {user} [06/Dec/2026:10:00:01 +0000] "GET / HTTP/1.1" {status} 5 "-" "ua" 0.1 10.0.0.2:80 502 0.1 - - 7 1 ab"#
            );
            answered += same(&plans, line.as_bytes());
        }
        assert!(answered >= 3 * 4, "{answered}");
    }

    #[test]
    fn an_unread_last_field_needs_only_its_quote() {
        let plans = plans();
        let named = |name: &str| plans.iter().find(|p| p.name == name).unwrap();
        let ends = |name: &str| named(name).fast.steps.last().unwrap().end;
        assert_eq!(ends("combined"), End::UnreadQuote);
        assert_eq!(ends("ingress-nginx"), End::Line);
        // The request read last is read, not skipped.
        let p = Plan::compile(r#"$status "$request""#).unwrap();
        assert_eq!(p.fast.steps.last().unwrap().end, End::Quote);
        // Quotes escaped, repeated, missing, at the end or not.
        let mut answered = 0;
        for ua in [
            "curl/8",
            r#"a \"q\" b"#,
            r#"a\"#,
            r#"a\\"#,
            r#"a" "b"#,
            "",
            r#"x"y"#,
        ] {
            for end in [r#"""#, "", r#"\""#, r#"" "#, r#""""#, r#"\\""#] {
                let line = format!(
                    r#"10.0.0.1 - - [06/Dec/2026:10:00:01 +0000] "GET / HTTP/1.1" 502 5 "-" "{ua}{end}"#
                );
                answered += same(&plans, line.as_bytes());
            }
        }
        assert!(answered >= 20, "{answered}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any bytes among those that end fields, in any field.
        #[test]
        fn fast_is_the_walk_on_any_bytes(
            fields in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![
                        Just(b' '), Just(b'"'), Just(b'\\'), Just(b','), Just(b':'),
                        Just(b'-'), Just(b'['), Just(b']'), Just(b'5'), Just(b'0'),
                        Just(b'2'), Just(b'.'), Just(b'a'), Just(b'|'), Just(b'{'),
                    ],
                    0..8,
                ),
                12,
            ),
            cut in 0usize..400,
        ) {
            let plans = plans();
            let f = |i: usize| String::from_utf8(fields[i].clone()).unwrap();
            let mut line = format!(
                r#"{} - {} [{}] "{}" {} {} "{}" "{}" {} {} {} {}"#,
                f(0), f(1), f(2), f(3), f(4), f(5), f(6), f(7), f(8), f(9), f(10), f(11),
            )
            .into_bytes();
            same(&plans, &line);
            line.truncate(cut.min(line.len()));
            same(&plans, &line);
        }
    }
}
