//! Property tests of the parsing layer, through its public API only.
//!
//! - No panic on arbitrary bytes: `parse_head`, the nginx, Apache and
//!   php-fpm body parsers, and `Catalog::classify`.
//! - The line readers agree with `split(b'\n')` (one trailing `\r`
//!   stripped, no empty last element after a final newline, lines over the
//!   limit reported as oversized with their length) for any read sizes,
//!   interrupted reads, and any line limit; after a read error, the lines
//!   before it are exactly the lines the bytes before it complete.
//! - Rendering a record in the server's exact layout and parsing it gives
//!   every field back (nginx, Apache 2.4 and 2.2, php-fpm, and each behind a
//!   syslog prefix). Where a layout is ambiguous by construction (nginx
//!   prints values raw), the generators leave out the values that make it
//!   so; each exclusion is documented at its generator.
//! - `render::escape` lets no control, bidi or invisible format character
//!   through, and leaves clean text alone.

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;
use std::sync::LazyLock;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use upcause::internals::{
    Catalog, ChunkReader, ParseState, Piece, Scratch, apache, escape, nginx, parse_head, php_fpm,
    split_lines,
};

static CATALOG: LazyLock<Catalog> = LazyLock::new(Catalog::new);

/// `cases` per property; `PROPTEST_CASES` overrides it for longer runs.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        max_global_rejects: 1_000_000,
        max_local_rejects: 10_000_000,
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------ no panics

/// Prefixes that get a line past `parse_head`, so that the body parsers
/// and the catalog see arbitrary bodies, not just rejected heads.
const HEADS: &[&str] = &[
    "2026/11/20 10:23:45 [error] 812#812: *7 ",
    "2026/11/20 10:23:45 [crit] 1#1: ",
    "2026/11/20 10:23:45 [error] 1#1: *1 FastCGI sent in stderr: \"",
    "2026/11/20 10:23:45 [error] 1#1: *1 upstream sent invalid header: \"",
    "[Fri Nov 20 10:23:45.123456 2026] [proxy:error] [pid 1:tid 2] ",
    "[Fri Nov 20 10:23:45.123456 2026] [proxy_http:error] [pid 1:tid 2] (111)Connection refused: [client 1.1.1.1:1] AH01114: ",
    "[Fri Nov 20 10:23:45 2026] [error] [client 1.2.3.4] ",
    "[20-Nov-2026 10:23:45] WARNING: [pool www] ",
    "[WARNING] [pool www] ",
    "Nov 20 10:23:45 web1 nginx[812]: 2026/11/20 10:23:45 [error] 1#1: *2 ",
    "<13>1 2026-11-20T10:23:45+0000 web1 apache2[9]: [proxy:error] [pid 9:tid 3] ",
    "AH00558: ",
];

/// Arbitrary bytes, weighted towards the bytes the parsers branch on.
fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            4 => any::<u8>(),
            1 => select(b"\n\r\"\\,:;()[]*# /".to_vec()),
        ],
        0..max,
    )
}

/// Literal pieces of the formats, glued in random order.
fn shards() -> impl Strategy<Value = Vec<u8>> {
    const SHARDS: &[&str] = &[
        ", client: ",
        ", server: ",
        ", request: \"",
        ", upstream: \"",
        ", host: \"",
        ", referrer: \"",
        ", resolver: ",
        "\" while ",
        " while ",
        " (111: Connection refused)",
        " (",
        ": ",
        "\\\"",
        "\"",
        "connect() failed",
        "upstream timed out",
        "connecting to upstream",
        "http://10.0.0.1:80/a",
        "unix:",
        "(111)x: ",
        "(EAI 2)x: ",
        "(OS 10061)x: ",
        "[client 1.1.1.1:1] ",
        "[remote 1.1.1.1:1] ",
        "mod_proxy.c(1): ",
        "AH00957: ",
        "attempt to connect to ",
        " returned by ",
        ", referer: ",
        "[pool ",
        "]",
        "pid 1, f(), line 2: ",
        "\u{202e}",
        "\u{ff}",
    ];
    vec(
        prop_oneof![
            3 => select(SHARDS).prop_map(|s| s.as_bytes().to_vec()),
            1 => bytes(8),
        ],
        0..24,
    )
    .prop_map(|v| v.concat())
}

fn hostile_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        bytes(300),
        (select(HEADS), shards()).prop_map(|(h, b)| [h.as_bytes(), &b].concat()),
        (select(HEADS), bytes(200)).prop_map(|(h, b)| [h.as_bytes(), &b].concat()),
    ]
}

/// True when `part` lies inside `whole` (the parsers only ever slice).
fn inside(whole: &[u8], part: &[u8]) -> bool {
    let (w, p) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    part.is_empty() || (p >= w && p + part.len() <= w + whole.len())
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn parsers_and_classify_never_panic(line in hostile_line(), year in 0i32..10_000) {
        let mut state = ParseState::new(year);
        if let Some(head) = parse_head(&line, &mut state, &mut Scratch::default()) {
            prop_assert!(inside(&line, head.body));
            if let Some(t) = head.time {
                let _ = t.iso();
            }
            if let Some(c) = CATALOG.classify(&head, &mut Vec::new())
                && let Some(r) = c.route
            {
                prop_assert!(inside(&line, r));
            }
            // The next line is parsed with the year the first one left.
            let _ = parse_head(&line, &mut state, &mut Scratch::default());
        }
        let b = nginx::Body::parse(&line);
        prop_assert!(inside(&line, b.message) && inside(&line, b.action));
        let a = apache::Body::parse(&line);
        prop_assert!(inside(&line, a.message));
        let p = php_fpm::Body::parse(&line);
        prop_assert!(inside(&line, p.message));
    }
}

// ------------------------------------------------------------ line readers

/// One step of a reader's behaviour.
#[derive(Debug, Clone)]
enum Step {
    /// Hand out at most this many bytes.
    Bytes(usize),
    /// Fail with `Interrupted` (the reader must retry).
    Interrupted,
}

/// A source that follows a plan of steps, cyclically; it hands out the
/// bytes of `data`, then end of input, or `fail_at` bytes and then an
/// error.
struct Planned {
    data: Vec<u8>,
    pos: usize,
    plan: Vec<Step>,
    step: usize,
    fail_at: Option<usize>,
}

impl Planned {
    fn new(data: &[u8], plan: &[Step], fail_at: Option<usize>) -> Self {
        Planned {
            data: data.to_vec(),
            pos: 0,
            plan: plan.to_vec(),
            step: 0,
            fail_at,
        }
    }
}

impl Read for Planned {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let step = self.plan[self.step % self.plan.len()].clone();
        self.step += 1;
        let end = self.fail_at.unwrap_or(self.data.len()).min(self.data.len());
        match step {
            Step::Interrupted => Err(io::Error::from(io::ErrorKind::Interrupted)),
            Step::Bytes(_) if self.pos == end && self.fail_at.is_some() => {
                Err(io::Error::other("disk on fire"))
            }
            Step::Bytes(n) => {
                let n = n.min(end - self.pos).min(buf.len());
                buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
                self.pos += n;
                Ok(n)
            }
        }
    }
}

/// What a reader gives per line: the text or the oversized length.
type Got = Result<Vec<u8>, u64>;

/// The reference: `split(b'\n')`, no empty last element after a final
/// newline, one trailing `\r` stripped, and a line whose raw length
/// (newline excluded, `\r` included) is over `limit` reported by length.
fn oracle(input: &[u8], limit: usize) -> Vec<Got> {
    let mut parts: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    if parts.last().is_some_and(|l| l.is_empty()) {
        parts.pop();
    }
    parts
        .into_iter()
        .map(|l| {
            if l.len() > limit {
                Err(l.len() as u64)
            } else {
                Ok(l.strip_suffix(b"\r").unwrap_or(l).to_vec())
            }
        })
        .collect()
}

/// The lines of `input` that a newline completes (what must come out
/// before a read error after `input`).
fn complete_lines(input: &[u8], limit: usize) -> Vec<Got> {
    match input.iter().rposition(|&b| b == b'\n') {
        Some(i) => oracle(&input[..=i], limit),
        None => Vec::new(),
    }
}

/// A file being written: reads give what has been written so far.
struct Growing(Rc<RefCell<(Vec<u8>, usize)>>);

impl Read for Growing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut g = self.0.borrow_mut();
        let (data, at) = &mut *g;
        let n = (data.len() - *at).min(buf.len());
        buf[..n].copy_from_slice(&data[*at..*at + n]);
        *at += n;
        Ok(n)
    }
}

/// Writes `input` in the steps of `plan`, reading with a live
/// `ChunkReader` after each write, then takes the unfinished line as a
/// followed file left for good does. Also gives the chunk sizes.
fn read_live(input: &[u8], plan: &[Step], target: usize, limit: usize) -> (Vec<Got>, Vec<usize>) {
    let file = Rc::new(RefCell::new((Vec::new(), 0)));
    let mut r = ChunkReader::live(Growing(file.clone()), target, limit);
    let (mut out, mut sizes, mut buf) = (Vec::new(), Vec::new(), Vec::new());
    let mut written = 0;
    let mut steps = plan.iter().cycle();
    while written < input.len() {
        if let Some(Step::Bytes(n)) = steps.next() {
            let n = (*n).min(input.len() - written);
            file.borrow_mut()
                .0
                .extend_from_slice(&input[written..written + n]);
            written += n;
        }
        while let Ok(piece) = r
            .next_piece(std::mem::take(&mut buf))
            .expect("no read error")
        {
            if let Piece::Chunk { buf: c, len } = &piece {
                assert!(c[..*len].ends_with(b"\n"), "live chunks hold whole lines");
            }
            buf = split_piece(piece, limit, &mut out, &mut sizes);
        }
    }
    if let Some(piece) = r.unfinished() {
        split_piece(piece, limit, &mut out, &mut sizes);
    }
    (out, sizes)
}

/// The lines of a piece, split the way the pipeline does with the length
/// limit the caller applies; hands back the buffer.
fn split_piece(piece: Piece, limit: usize, out: &mut Vec<Got>, sizes: &mut Vec<usize>) -> Vec<u8> {
    match piece {
        Piece::Chunk { buf: whole, len } => {
            let c = &whole[..len];
            sizes.push(c.len());
            for l in split_lines(c) {
                // split_lines strips the '\r'; the limit is on the raw
                // line.
                let raw = c[(l.as_ptr() as usize - c.as_ptr() as usize)..]
                    .split(|&b| b == b'\n')
                    .next()
                    .unwrap();
                out.push(if raw.len() > limit {
                    Err(raw.len() as u64)
                } else {
                    Ok(l.to_vec())
                });
            }
            whole
        }
        Piece::Oversized(n) => {
            out.push(Err(n));
            Vec::new()
        }
    }
}

/// Reads through `ChunkReader` and splits the chunks the way the pipeline
/// does, with the length limit the caller applies.
fn read_chunks(
    src: Planned,
    target: usize,
    limit: usize,
) -> (Vec<Got>, Vec<usize>, Option<io::Error>) {
    let mut r = ChunkReader::with_sizes(src, target, limit);
    let mut out = Vec::new();
    let mut sizes = Vec::new();
    let mut buf = Vec::new();
    loop {
        match r.next_piece(buf) {
            Ok(Ok(piece)) => buf = split_piece(piece, limit, &mut out, &mut sizes),
            Ok(Err(_)) => return (out, sizes, None),
            Err(e) => return (out, sizes, Some(e)),
        }
    }
}

/// Input bytes with many line ends, carriage returns and long runs.
fn line_input() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            6 => vec(select(b"ab\0\xff".to_vec()), 0..12),
            3 => Just(b"\n".to_vec()),
            2 => Just(b"\r\n".to_vec()),
            1 => Just(b"\r".to_vec()),
            1 => (1usize..400).prop_map(|n| vec![b'x'; n]),
        ],
        0..60,
    )
    .prop_map(|v| v.concat())
}

fn plan() -> impl Strategy<Value = Vec<Step>> {
    (
        vec(
            prop_oneof![
                6 => (1usize..80).prop_map(Step::Bytes),
                1 => (80usize..5000).prop_map(Step::Bytes),
                1 => Just(Step::Interrupted),
            ],
            0..12,
        ),
        1usize..300,
    )
        // At least one step that makes progress.
        .prop_map(|(mut v, n)| {
            v.push(Step::Bytes(n));
            v
        })
}

fn limit() -> impl Strategy<Value = usize> {
    prop_oneof![0usize..8, 8usize..64, 64usize..1000, Just(1 << 20)]
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn live_chunk_reader_equals_split(
        input in line_input(),
        plan in plan(),
        target in 1usize..200,
        limit in limit(),
    ) {
        let (got, sizes) = read_live(&input, &plan, target, limit);
        prop_assert_eq!(got, oracle(&input, limit));
        let bound = target.max(limit.saturating_add(1)) + 64 * 1024;
        prop_assert!(sizes.iter().all(|&s| s > 0 && s <= bound), "{:?}", sizes);
    }

    #[test]
    fn chunk_reader_equals_split(
        input in line_input(),
        plan in plan(),
        target in 1usize..200,
        limit in limit(),
    ) {
        let (got, sizes, err) = read_chunks(Planned::new(&input, &plan, None), target, limit);
        prop_assert!(err.is_none());
        prop_assert_eq!(got, oracle(&input, limit));
        // Memory stays bounded: a chunk is at most the larger of the target
        // and the line limit, plus one read.
        let bound = target.max(limit.saturating_add(1)) + 64 * 1024;
        prop_assert!(sizes.iter().all(|&s| s > 0 && s <= bound), "{:?}", sizes);
    }

    #[test]
    fn chunk_reader_keeps_the_lines_before_an_error(
        input in line_input(),
        plan in plan(),
        target in 1usize..200,
        limit in limit(),
        cut in any::<prop::sample::Index>(),
    ) {
        let at = cut.index(input.len() + 1);
        let (got, _, err) = read_chunks(Planned::new(&input, &plan, Some(at)), target, limit);
        prop_assert_eq!(err.map(|e| e.to_string()), Some("disk on fire".to_string()));
        // The complete lines come out; the unfinished line cut by the
        // error may come out too (as text or as oversized), nothing else.
        let before = complete_lines(&input[..at], limit);
        prop_assert_eq!(&got[..before.len().min(got.len())], &before[..]);
        prop_assert!(got.len() <= before.len() + 1, "{:?} vs {:?}", got, before);
    }
}

// ------------------------------------------------------------ round trips

/// A calendar time that exists (day within its month).
#[derive(Debug, Clone)]
struct Stamp {
    year: i32,
    month: u32,
    day: u32,
    h: u32,
    m: u32,
    s: u32,
}

impl Stamp {
    fn iso(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.h, self.m, self.s
        )
    }
    fn date(&self) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(self.year, self.month, self.day).unwrap()
    }
    fn hms(&self) -> String {
        format!("{:02}:{:02}:{:02}", self.h, self.m, self.s)
    }
    /// `Fri Nov 20` (Apache's ctime start, zero-padded day).
    fn ctime_date(&self) -> String {
        self.date().format("%a %b %d").to_string()
    }
    fn mon(&self) -> String {
        self.date().format("%b").to_string()
    }
}

fn stamp() -> impl Strategy<Value = Stamp> {
    (
        1970i32..=9999,
        1u32..=12,
        1u32..=31,
        0u32..24,
        0u32..60,
        0u32..60,
    )
        .prop_map(|(year, month, day, h, m, s)| {
            let mut day = day;
            while chrono::NaiveDate::from_ymd_opt(year, month, day).is_none() {
                day -= 1;
            }
            Stamp {
                year,
                month,
                day,
                h,
                m,
                s,
            }
        })
}

/// Text pieces for values: words, separators, quotes, escaped quotes,
/// backslashes, the field names nginx uses, non-ASCII and non-UTF-8
/// bytes, control bytes. Never `\n` (a record is one line).
fn piece() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        6 => "[a-zA-Z0-9]{1,8}".prop_map(String::into_bytes),
        3 => Just(b" ".to_vec()),
        3 => select(vec![
            ",", ", ", "\"", "\\\"", "\\", "\\\\", ":", ": ", "(", ")", " (", "/", "?", "=", "&",
            "#", "*", "'", "[", "]", "%22", "é", "日本", "\u{202e}", "\u{1b}[31m", "\0", "\t",
            "\r", "\u{9b}",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        2 => select(vec![
            ", client: ", ", server: ", ", upstream: ", ", host: ", ", request: ",
            ", referrer: ", ", subrequest: ", " while ", "\" while ", ", x: ", ", Upper: ",
            "HTTP/1.1", "\", b", "\\\", upstream: \\\"",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => (128u8..=255).prop_map(|b| vec![b]),
    ]
    .boxed()
}

fn text(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(piece(), 0..max).prop_map(|v| v.concat())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// `b` starts with `, key:` where key is what nginx's context parser takes
/// for a key: a non-empty run of lowercase letters, spaces, `_` and `/`,
/// with the colon in the 40 bytes after `, `.
fn starts_with_key(b: &[u8]) -> bool {
    let Some(rest) = b.strip_prefix(b", ") else {
        return false;
    };
    let window = &rest[..rest.len().min(40)];
    match window.iter().position(|&c| c == b':') {
        Some(i) if i > 0 => rest[..i]
            .iter()
            .all(|&c| c.is_ascii_lowercase() || c == b' ' || c == b'_' || c == b'/'),
        _ => false,
    }
}

/// A value nginx writes between quotes that can be read back.
///
/// Excluded, because nginx does not escape the values it logs, so a log
/// line cannot tell where such a value ends (the text would equally be
/// the end of the value followed by the next field):
/// - a `"` not escaped by a backslash and followed by `, key:`;
/// - a value ending in an odd number of backslashes (they escape the
///   closing quote).
fn quotable(v: &[u8]) -> bool {
    let trailing = v.iter().rev().take_while(|&&c| c == b'\\').count();
    if trailing % 2 == 1 {
        return false;
    }
    v.iter().enumerate().all(|(i, &c)| {
        let escaped = v[..i].iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 1;
        c != b'"' || escaped || !starts_with_key(&v[i + 1..])
    })
}

fn quoted_value() -> impl Strategy<Value = Vec<u8>> {
    text(12).prop_filter("ambiguous quoted value", |v| quotable(v))
}

/// A request line: method, a target that may hold commas, quotes, escaped
/// quotes, field names and spaces, and the protocol (or cut short, as
/// nginx's 2048-byte limit leaves it).
fn request() -> impl Strategy<Value = Vec<u8>> {
    (
        select(vec!["GET", "POST", "PUT", "OPTIONS"]),
        text(10),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(m, target, proto)| {
            let mut r = format!("{m} /").into_bytes();
            r.extend(target);
            if proto {
                r.extend(b" HTTP/1.1");
            }
            r
        })
        .prop_filter("ambiguous quoted value", |v| quotable(v))
}

#[derive(Debug, Clone)]
struct NginxCtx {
    client: Vec<u8>,
    server: Vec<u8>,
    request: Option<Vec<u8>>,
    upstream: Option<Vec<u8>>,
    host: Option<Vec<u8>>,
    referrer: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
struct NginxRecord {
    time: Stamp,
    level: &'static str,
    pid: u32,
    tid: u64,
    cid: Option<u64>,
    message: Vec<u8>,
    errno: Option<(u32, String)>,
    action: Option<Vec<u8>>,
    ctx: Option<NginxCtx>,
}

impl NginxRecord {
    /// The line as `ngx_log_error_core` and `ngx_http_log_error` write it.
    fn render(&self) -> Vec<u8> {
        let t = &self.time;
        let mut out = format!(
            "{:04}/{:02}/{:02} {} [{}] {}#{}: ",
            t.year,
            t.month,
            t.day,
            t.hms(),
            self.level,
            self.pid,
            self.tid
        )
        .into_bytes();
        if let Some(c) = self.cid {
            out.extend(format!("*{c} ").bytes());
        }
        out.extend(&self.message);
        if let Some((n, text)) = &self.errno {
            out.extend(format!(" ({n}: {text})").bytes());
        }
        if let Some(a) = &self.action {
            out.extend(b" while ");
            out.extend(a);
        }
        out.extend(self.render_ctx());
        out
    }

    /// The context fields: `, client: ..., server: ...[, request: "..."]...`.
    fn render_ctx(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(c) = &self.ctx {
            out.extend(b", client: ");
            out.extend(&c.client);
            out.extend(b", server: ");
            out.extend(&c.server);
            for (key, v) in [
                ("request", &c.request),
                ("upstream", &c.upstream),
                ("host", &c.host),
                ("referrer", &c.referrer),
            ] {
                if let Some(v) = v {
                    out.extend(format!(", {key}: \"").bytes());
                    out.extend(v);
                    out.push(b'"');
                }
            }
        }
        out
    }
}

/// A client address as nginx prints it (IPv4, IPv6, unix).
fn address() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (any::<[u8; 4]>()).prop_map(|a| format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])),
        "[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}",
        Just("unix:".to_string()),
    ]
    .prop_map(String::into_bytes)
}

/// The server name (plain value): a host name, `_`, a listen address or
/// empty. Plain values run to the next field, so they cannot hold
/// `, key:` or start with a quote; server names never do.
fn server_name() -> impl Strategy<Value = Vec<u8>> {
    "([a-z0-9._-]{0,20}(:[0-9]{1,5})?)|_".prop_map(String::into_bytes)
}

/// The message: anything but what nginx's layout makes ambiguous:
/// - ` while ` starts the action, `, client: ` the context (and without a
///   context `, server: ` and `, resolver: ` do): not in messages;
/// - a message ending in `)` could end in an errno `(N: text)`;
/// - a leading `*N ` is the connection number, a leading space is eaten
///   by the prefix, and the FastCGI / invalid header forms quote their
///   payload (they have their own round trip below).
fn message() -> impl Strategy<Value = Vec<u8>> {
    text(10).prop_filter("ambiguous message", |m| {
        !m.is_empty()
            && !m.starts_with(b" ")
            && !m.starts_with(b"*")
            && !m.ends_with(b")")
            && !splits_the_body(m)
    })
}

/// True when `b` holds a separator the body parser splits at: ` while `
/// or the key that starts the context.
fn splits_the_body(b: &[u8]) -> bool {
    [
        &b" while "[..],
        b", client: ",
        b", server: ",
        b", resolver: ",
    ]
    .iter()
    .any(|n| contains(b, n))
}

/// The ` while ...` action: no ` while ` inside (it is found from the
/// right) and no context key; never empty (an empty action reads as none).
fn action() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        select(vec![
            "connecting to upstream",
            "reading response header from upstream",
            "sending request to upstream",
            "SSL handshaking to upstream",
            "reading upstream",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        text(6),
    ]
    .prop_filter("ambiguous action", |a| !a.is_empty() && !splits_the_body(a))
}

fn nginx_record() -> impl Strategy<Value = NginxRecord> {
    let ctx = (
        address(),
        server_name(),
        prop::option::of(request()),
        prop::option::of(
            (
                select(vec![
                    "http://10.0.1.5:8080",
                    "fastcgi://unix:/run/php.sock:",
                    "https://[::1]:443",
                ]),
                request(),
            )
                .prop_map(|(s, r)| {
                    [
                        s.as_bytes(),
                        &r[r.iter().position(|&c| c == b'/').unwrap()..],
                    ]
                    .concat()
                })
                .prop_filter("ambiguous quoted value", |v| quotable(v)),
        ),
        prop::option::of(quoted_value()),
        prop::option::of(quoted_value()),
    )
        .prop_map(
            |(client, server, request, upstream, host, referrer)| NginxCtx {
                client,
                server,
                request,
                upstream,
                host,
                referrer,
            },
        );
    (
        stamp(),
        select(vec![
            "debug", "info", "notice", "warn", "error", "crit", "alert", "emerg",
        ]),
        any::<u32>(),
        any::<u64>(),
        prop::option::of(any::<u64>()),
        message(),
        // strerror texts: letters, spaces and commas (Windows), no " (".
        prop::option::of((any::<u32>(), "[A-Za-z][A-Za-z ,.'-]{0,60}")),
        prop::option::of(action()),
        prop::option::of(ctx),
    )
        .prop_map(
            |(time, level, pid, tid, cid, message, errno, action, ctx)| NginxRecord {
                time,
                level,
                pid,
                tid,
                cid,
                message,
                errno,
                action,
                ctx,
            },
        )
        .prop_filter("errno text holding ' while ' without an action", |r| {
            r.action.is_some() || r.errno.as_ref().is_none_or(|(_, t)| !t.contains(" while "))
        })
}

fn check_nginx(r: &NginxRecord, line: &[u8]) -> Result<(), TestCaseError> {
    let mut scratch = Scratch::default();
    let head = parse_head(line, &mut ParseState::new(2000), &mut scratch).ok_or_else(|| {
        TestCaseError::fail(format!("not recognised: {}", String::from_utf8_lossy(line)))
    })?;
    prop_assert_eq!(head.server.name(), "nginx");
    prop_assert_eq!(head.time.map(|t| t.iso()), Some(r.time.iso()));
    prop_assert_eq!(head.level, r.level.as_bytes());
    prop_assert_eq!(head.pid, Some(r.pid));
    prop_assert_eq!(head.tid, Some(r.tid));
    prop_assert_eq!(head.cid, r.cid);
    let b = nginx::Body::parse(head.body);
    let show = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    prop_assert_eq!(show(b.message), show(&r.message));
    prop_assert_eq!(b.errno, r.errno.as_ref().map(|(n, _)| *n as i64));
    prop_assert_eq!(show(b.action), show(r.action.as_deref().unwrap_or(b"")));
    let c = &b.ctx;
    match &r.ctx {
        None => prop_assert_eq!(c, &nginx::Context::default()),
        Some(want) => {
            let opt = |v: Option<&[u8]>| v.map(show);
            prop_assert_eq!(opt(c.client), Some(show(&want.client)));
            prop_assert_eq!(opt(c.server), Some(show(&want.server)));
            prop_assert_eq!(opt(c.request), want.request.as_deref().map(show));
            prop_assert_eq!(opt(c.upstream), want.upstream.as_deref().map(show));
            prop_assert_eq!(opt(c.host), want.host.as_deref().map(show));
            prop_assert_eq!(opt(c.referrer), want.referrer.as_deref().map(show));
            prop_assert_eq!(c.resolver, None);
        }
    }
    Ok(())
}

/// A syslog or journald prefix in front of a line.
fn syslog_prefix() -> impl Strategy<Value = String> {
    select(vec![
        "Nov 20 10:23:45 web1 nginx[812]: ",
        "Feb  3 01:02:03 h tag: ",
        "<13>Nov 20 10:23:45 web1 nginx: ",
        "2026-11-20T10:23:45+0000 web1 apache2[9]: ",
        "<165>1 2026-11-20T10:23:45.003Z host app[1]: ",
        "<187>1 2026-11-21T09:06:18+00:00 host nginx - - - ",
        "web_1      | ",
        "\x1b[36mweb-1  | \x1b[0m",
        "12:00:01 nginx.1  | ",
        "2026-11-20T10:23:45.123456789Z ",
        "2026-11-20T10:23:45.123456789Z stderr F ",
        "[pod/ingress-nginx-controller-7f9c/controller] ",
    ])
    .prop_map(str::to_string)
}

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn nginx_record_round_trips(r in nginx_record()) {
        check_nginx(&r, &r.render())?;
    }

    #[test]
    fn nginx_record_round_trips_behind_syslog(r in nginx_record(), prefix in syslog_prefix()) {
        let line = [prefix.as_bytes(), &r.render()].concat();
        check_nginx(&r, &line)?;
    }

    /// FastCGI stderr payloads are quoted and may hold anything the
    /// application printed, context look-alikes included. The payload ends
    /// at the last `" while ` that has `, client: ` close after it, so
    /// excluded as ambiguous: `" while ` inside the payload, or anywhere in
    /// the context (which a client can put there: a Host or Referer value
    /// starting with ` while `, right after the opening quote).
    #[test]
    fn nginx_fastcgi_payload_round_trips(
        payload in text(12),
        action in select(vec![
            "reading response header from upstream",
            "reading upstream",
            "sending request to upstream",
        ]),
        r in nginx_record(),
    ) {
        prop_assume!(!contains(&payload, b"\" while "));
        prop_assume!(r.ctx.is_some() && !contains(&r.render_ctx(), b"\" while "));
        let r = NginxRecord {
            message: [&b"FastCGI sent in stderr: \""[..], &payload, b"\""].concat(),
            errno: None,
            action: Some(action.as_bytes().to_vec()),
            ..r
        };
        check_nginx(&r, &r.render())?;
    }
}

#[derive(Debug, Clone)]
enum ApacheStatus {
    Code(i64),
    Os(i64),
    Eai(i64),
}

#[derive(Debug, Clone)]
struct ApacheRecord {
    time: Stamp,
    micros: Option<u32>,
    module: String,
    level: &'static str,
    pid: u32,
    tid: Option<u64>,
    status: Option<(ApacheStatus, String)>,
    client: Option<String>,
    ah: Option<u32>,
    message: String,
    referer: Option<String>,
}

impl ApacheRecord {
    /// The line of Apache 2.4's default `ErrorLogFormat`:
    /// `[%{u}t] [%-m:%l] [pid %P:tid %T] %7F: %E: [client\ %a] %M% ,\ referer\ %{Referer}i`
    /// (no `%F` below debug level).
    fn render(&self) -> String {
        let t = &self.time;
        let mut s = format!("[{} {}", t.ctime_date(), t.hms());
        if let Some(us) = self.micros {
            s += &format!(".{us:06}");
        }
        s += &format!(
            " {}] [{}:{}] [pid {}",
            t.year, self.module, self.level, self.pid
        );
        if let Some(tid) = self.tid {
            s += &format!(":tid {tid}");
        }
        s += "] ";
        if let Some((st, text)) = &self.status {
            s += &match st {
                ApacheStatus::Code(n) => format!("({n})"),
                ApacheStatus::Os(n) => format!("(OS {n})"),
                ApacheStatus::Eai(n) => format!("(EAI {n})"),
            };
            s += &format!("{text}: ");
        }
        if let Some(c) = &self.client {
            s += &format!("[client {c}] ");
        }
        if let Some(ah) = self.ah {
            s += &format!("AH{ah:05}: ");
        }
        s += &self.message;
        if let Some(r) = &self.referer {
            s += &format!(", referer: {r}");
        }
        s
    }
}

/// `file.c(123): ` at the start of `m`.
fn starts_with_source_location(m: &str) -> bool {
    let name_end = m
        .find(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c)))
        .unwrap_or(m.len());
    let rest = &m[name_end..];
    name_end > 0
        && rest.starts_with('(')
        && rest[1..]
            .find(|c: char| !c.is_ascii_digit())
            .is_some_and(|i| i > 0 && rest[1 + i..].starts_with("): "))
}

/// Apache escapes what it logs (`ap_escape_logitem`), so messages and
/// referers are printable ASCII. Excluded as ambiguous by the layout:
/// without an AH number, a message that starts like one of the optional
/// parts before it (`(N)`, `[client `, `file.c(N): `, `AHnnnnn: `); a
/// `, referer: ` inside the referer, or in the message when there is no
/// referer (the referer is the last one).
fn apache_record() -> impl Strategy<Value = ApacheRecord> {
    let printable = "[ -~]{0,60}";
    (
        (
            stamp(),
            prop::option::of(0u32..1_000_000),
            "[a-z_]{0,16}",
            select(vec![
                "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug", "trace1",
                "trace8",
            ]),
            any::<u32>(),
            prop::option::of(any::<u64>()),
        ),
        (
            prop::option::of((
                prop_oneof![
                    (0i64..200_000).prop_map(ApacheStatus::Code),
                    (0i64..20_000).prop_map(ApacheStatus::Os),
                    (-20i64..20).prop_map(ApacheStatus::Eai),
                ],
                // APR / strerror texts: no ": " (it ends the text).
                "[A-Za-z][A-Za-z ,.'()-]{0,60}",
            )),
            prop::option::of(prop_oneof![
                "([0-9]{1,3}\\.){3}[0-9]{1,3}:[0-9]{1,5}",
                "[0-9a-f:]{2,39}",
            ]),
            prop::option::of(0u32..100_000),
            prop_oneof![
                printable,
                "(HTTP|FCGI): attempt to connect to [0-9.:]{1,21} \\([a-z.:0-9]{1,20}\\) failed",
                "Error reading from remote server returned by /[ -~]{0,30}",
            ],
            prop::option::of(printable),
        ),
    )
        .prop_map(
            |((time, micros, module, level, pid, tid), (status, client, ah, message, referer))| {
                ApacheRecord {
                    time,
                    micros,
                    module,
                    level,
                    pid,
                    tid,
                    status,
                    client,
                    ah,
                    message,
                    referer,
                }
            },
        )
        .prop_filter("ambiguous Apache record", |r| {
            let s = r.status.as_ref().is_none_or(|(_, t)| !t.contains(": "));
            let lead = r.ah.is_some()
                || !(r.message.starts_with('(')
                    || r.message.starts_with('[')
                    || r.message.starts_with("AH")
                    || starts_with_source_location(&r.message));
            let referer = match &r.referer {
                Some(x) => !x.contains(", referer: "),
                None => !r.message.contains(", referer: "),
            };
            s && lead && referer
        })
}

fn check_apache(r: &ApacheRecord, line: &[u8]) -> Result<(), TestCaseError> {
    let mut scratch = Scratch::default();
    let head = parse_head(line, &mut ParseState::new(2000), &mut scratch).ok_or_else(|| {
        TestCaseError::fail(format!("not recognised: {}", String::from_utf8_lossy(line)))
    })?;
    prop_assert_eq!(head.server.name(), "apache");
    prop_assert_eq!(head.time.map(|t| t.iso()), Some(r.time.iso()));
    prop_assert_eq!(head.module, r.module.as_bytes());
    prop_assert_eq!(head.level, r.level.as_bytes());
    prop_assert_eq!(head.pid, Some(r.pid));
    prop_assert_eq!(head.tid, r.tid);
    let b = apache::Body::parse(head.body);
    let want_status = r.status.as_ref().map(|(s, _)| match s {
        ApacheStatus::Code(n) | ApacheStatus::Os(n) => apache::Status::Code(*n),
        ApacheStatus::Eai(n) => apache::Status::Eai(*n),
    });
    prop_assert_eq!(b.status, want_status);
    prop_assert_eq!(
        b.peer
            .map(|p| (p.remote, String::from_utf8_lossy(p.addr).into_owned())),
        r.client.clone().map(|c| (false, c))
    );
    prop_assert_eq!(b.ah, r.ah);
    prop_assert_eq!(String::from_utf8_lossy(b.message), r.message.as_str());
    prop_assert_eq!(
        b.referer.map(|x| String::from_utf8_lossy(x).into_owned()),
        r.referer.clone()
    );
    Ok(())
}

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn apache24_record_round_trips(r in apache_record()) {
        check_apache(&r, r.render().as_bytes())?;
    }

    #[test]
    fn apache24_record_round_trips_behind_syslog(r in apache_record(), prefix in syslog_prefix()) {
        let line = format!("{prefix}{}", r.render());
        check_apache(&r, line.as_bytes())?;
    }

    /// Apache 2.2: `[Fri Nov 20 10:23:45 2026] [error] [client 1.2.3.4] (111)...: message`.
    #[test]
    fn apache22_record_round_trips(
        t in stamp(),
        level in select(vec!["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"]),
        client in prop::option::of("([0-9]{1,3}\\.){3}[0-9]{1,3}"),
        status in prop::option::of(0i64..200_000),
        message in "[A-Za-z][ -~]{0,60}",
    ) {
        // As for 2.4: no referer look-alike, no AH number or source
        // location look-alike at the start.
        prop_assume!(
            !message.contains(", referer: ")
                && !message.starts_with("AH")
                && !starts_with_source_location(&message)
        );
        let mut line = format!("[{} {} {}] [{level}] ", t.ctime_date(), t.hms(), t.year);
        if let Some(c) = &client {
            line += &format!("[client {c}] ");
        }
        if let Some(n) = status {
            line += &format!("({n})Some error: ");
        }
        line += &message;
        let mut scratch = Scratch::default();
        let head = parse_head(line.as_bytes(), &mut ParseState::new(2000), &mut scratch).expect("recognised");
        prop_assert_eq!(head.server.name(), "apache");
        prop_assert!(head.module.is_empty());
        prop_assert_eq!(head.time.map(|x| x.iso()), Some(t.iso()));
        prop_assert_eq!(head.level, level.as_bytes());
        prop_assert_eq!((head.pid, head.tid), (None, None));
        let b = apache::Body::parse(head.body);
        prop_assert_eq!(b.peer.map(|p| p.addr.to_vec()), client.map(String::into_bytes));
        prop_assert_eq!(b.status, status.map(apache::Status::Code));
        prop_assert_eq!(b.message, message.as_bytes());
    }

    /// php-fpm: `[20-Nov-2026 10:23:45] WARNING: [pool www] message`, with
    /// or without microseconds, pool and debug prefix.
    #[test]
    fn php_fpm_record_round_trips(
        t in stamp(),
        micros in prop::option::of(0u32..1_000_000),
        level in select(vec!["DEBUG", "NOTICE", "WARNING", "ERROR", "ALERT"]),
        debug_prefix in prop::bool::ANY,
        pool in prop::option::of("[a-zA-Z0-9_.-]{1,20}"),
        message in "[A-Za-z][ -~]{0,60}",
    ) {
        // `pid N, ...: ` starts the debug prefix.
        prop_assume!(!message.starts_with("pid "));
        let mut line = format!(
            "[{:02}-{}-{:04} {}", t.day, t.mon(), t.year, t.hms()
        );
        if let Some(us) = micros {
            line += &format!(".{us:06}");
        }
        line += &format!("] {level}: ");
        if debug_prefix {
            line += "pid 12, fpm_children_make(), line 409: ";
        }
        if let Some(p) = &pool {
            line += &format!("[pool {p}] ");
        }
        line += &message;
        let mut scratch = Scratch::default();
        let head = parse_head(line.as_bytes(), &mut ParseState::new(2000), &mut scratch).expect("recognised");
        prop_assert_eq!(head.server.name(), "php-fpm");
        prop_assert_eq!(head.time.map(|x| x.iso()), Some(t.iso()));
        prop_assert_eq!(head.level, level.as_bytes());
        let b = php_fpm::Body::parse(head.body);
        prop_assert_eq!(b.pool, pool.as_deref().map(str::as_bytes));
        prop_assert_eq!(b.message, message.as_bytes());
    }
}

// ------------------------------------------------------------ escape

/// What must never reach a terminal raw, listed independently of the
/// implementation: C0, DEL, C1, the bidi embeddings, overrides and
/// isolates, the zero-width and invisible format characters, line and
/// paragraph separators, and the invisible tag characters.
fn dangerous(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{ad}' | '\u{61c}' | '\u{180e}'
        | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}'
        | '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{e0000}'..='\u{e007f}')
}

fn any_text() -> impl Strategy<Value = String> {
    vec(
        prop_oneof![
            3 => any::<char>(),
            2 => (0u32..0xa0).prop_map(|c| char::from_u32(c).unwrap()),
            1 => select(vec![
                '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{200f}', '\u{2028}',
                '\u{2029}', '\u{2060}', '\u{e0041}', '\u{feff}', '\u{ad}', 'é', '日', '\\',
            ]),
        ],
        0..40,
    )
    .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn escape_lets_nothing_dangerous_through(s in any_text()) {
        let e = escape(&s);
        prop_assert!(!e.chars().any(dangerous), "{:?} -> {:?}", s, e);
        if !s.chars().any(dangerous) {
            prop_assert_eq!(e.as_ref(), s.as_str());
        }
        // Safe characters are kept, in order.
        let kept: String = s.chars().filter(|&c| !dangerous(c)).collect();
        let mut it = e.chars();
        prop_assert!(kept.chars().all(|k| it.any(|c| c == k)));
    }
}
