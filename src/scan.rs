//! The parallel stage: one chunk of whole lines -> compact events.
//!
//! A [`Scanner`] does everything that depends on one line alone: format
//! detection, the catalog's prefilter and classification, upstream
//! extraction and route normalization. It runs on worker threads, one chunk
//! at a time, and writes into a reusable [`Scan`], so steady-state scanning
//! allocates nothing. Upstreams and routes are interned per chunk in a
//! [`KeyTable`]; the sequential stage ([`crate::pipeline`]) maps them to
//! global ids in input order, which keeps results identical whatever the
//! number of threads.
//!
//! What crosses a chunk boundary is left to the sequential stage: a FastCGI
//! stderr record still open at the end of the chunk ([`Scan::open_tail`]),
//! and the unparseable lines at the start of a chunk ([`Scan::leading`]),
//! which may continue it.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::aggregate::{LineStats, UNRECOGNIZED_SAMPLES, key_hash, route};
use crate::catalog::{Catalog, CauseId, Role};
use crate::lines::{MAX_LINE, trim_cr};
use crate::parse::{self, Format, Head, LocalTime, ParseState, Server};

/// Key id for "no key".
pub const NO_KEY: u32 = u32::MAX;

/// Distinct byte strings of one chunk in an arena, with small ids. The
/// hash is fixed (not seeded per table), so a key hashes the same in every
/// chunk and hashes can be compared across chunks.
#[derive(Default)]
pub struct KeyTable {
    arena: Vec<u8>,
    spans: Vec<(u32, u32)>,
    hashes: Vec<u64>,
    table: HashTable<u32>,
}

impl KeyTable {
    /// Forgets every key, keeping the memory.
    pub fn clear(&mut self) {
        self.arena.clear();
        self.spans.clear();
        self.hashes.clear();
        self.table.clear();
    }

    /// The id of `key`, added if new.
    pub fn intern(&mut self, key: &[u8]) -> u32 {
        let hash = key_hash(key);
        let (arena, spans) = (&self.arena, &self.spans);
        let eq = |&id: &u32| {
            let (s, e) = spans[id as usize];
            &arena[s as usize..e as usize] == key
        };
        if let Some(&id) = self.table.find(hash, eq) {
            return id;
        }
        let id = self.spans.len() as u32;
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(key);
        self.spans.push((start, self.arena.len() as u32));
        self.hashes.push(hash);
        let hashes = &self.hashes;
        self.table.insert_unique(hash, id, |&i| hashes[i as usize]);
        id
    }

    /// The [`key_hash`] of a key.
    pub fn hash(&self, id: u32) -> u64 {
        self.hashes[id as usize]
    }

    /// The key of an id.
    pub fn get(&self, id: u32) -> &[u8] {
        let (s, e) = self.spans[id as usize];
        &self.arena[s as usize..e as usize]
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

/// A classified record, compact and owned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanEvent {
    /// The cause; `None` for attach-only lines.
    pub cause: Option<CauseId>,
    /// Multi-line role.
    pub role: Role,
    /// Strong or weak evidence.
    pub strong: bool,
    /// Status override from the signature.
    pub status: Option<u16>,
    /// The writing server.
    pub server: Server,
    /// Its time.
    pub time: Option<LocalTime>,
    /// Process id.
    pub pid: Option<u32>,
    /// Thread id.
    pub tid: Option<u64>,
    /// nginx: a key of (pid, connection, request line), to recognise
    /// retries: the connection number in the low 32 bits (so that requests
    /// logged near each other have keys near each other), a hash of all
    /// three in the high 32.
    pub request: Option<u64>,
    /// Upstream key in the chunk's table, or [`NO_KEY`].
    pub upstream: u32,
    /// Route key in the chunk's table, or [`NO_KEY`].
    pub route: u32,
    /// Line index of its first line within the chunk (0-based).
    pub line: u32,
    /// Byte range of the record's text within the chunk.
    pub start: u32,
    /// End of that range.
    pub end: u32,
    /// Physical lines of the record.
    pub lines: u32,
}

/// Unparseable lines at the start of a chunk (possibly the continuation of
/// a record from the previous chunk); not counted in [`Scan::stats`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Leading {
    /// How many lines.
    pub lines: u32,
    /// Byte offset just past them.
    pub end: usize,
}

/// A multi-line record still open at the end of the chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenTail {
    /// Byte offset where it starts.
    pub start: usize,
    /// Line index of its first line.
    pub line: u32,
    /// Physical lines it has so far.
    pub lines: u32,
}

/// Everything one chunk yields; reused from chunk to chunk.
#[derive(Default)]
pub struct Scan {
    /// Classified records in order.
    pub events: Vec<ScanEvent>,
    /// Upstreams named by the events.
    pub upstreams: KeyTable,
    /// Normalized routes named by the events.
    pub routes: KeyTable,
    /// Line counts (without the leading run).
    pub stats: LineStats,
    /// The first unrecognized lines: (line index, start, end).
    pub unrecognized: Vec<(u32, u32, u32)>,
    /// Unparseable lines at the start.
    pub leading: Leading,
    /// A record left open at the end.
    pub open_tail: Option<OpenTail>,
    /// Physical lines in the chunk.
    pub lines: u32,
}

impl Scan {
    fn clear(&mut self) {
        self.events.clear();
        self.upstreams.clear();
        self.routes.clear();
        self.stats = LineStats::default();
        self.unrecognized.clear();
        self.leading = Leading::default();
        self.open_tail = None;
        self.lines = 0;
    }
}

/// Scans chunks; one per worker thread.
pub struct Scanner<'c> {
    catalog: &'c Catalog,
    default_year: i32,
    route_buf: Vec<u8>,
    /// Where the catalog builds upstream names the line does not hold.
    upstream_buf: Vec<u8>,
}

/// A record being joined inside the chunk.
struct Open {
    start: usize,
    end: usize,
    line: u32,
    lines: u32,
}

impl<'c> Scanner<'c> {
    /// A scanner; `default_year` completes syslog stamps without a year.
    pub fn new(catalog: &'c Catalog, default_year: i32) -> Self {
        Scanner {
            catalog,
            default_year,
            route_buf: Vec::new(),
            upstream_buf: Vec::new(),
        }
    }

    /// Scans `chunk` into `out`. With `close_at_end`, a record still open
    /// at the end is classified instead of left in [`Scan::open_tail`].
    pub fn scan(&mut self, chunk: &[u8], close_at_end: bool, out: &mut Scan) {
        out.clear();
        let mut state = ParseState::new(self.default_year);
        let mut leading = true;
        let mut open: Option<Open> = None;
        let mut pos = 0usize;
        let mut idx = 0u32;
        while pos < chunk.len() {
            let nl = memchr::memchr(b'\n', &chunk[pos..]).map(|i| pos + i);
            let (raw_end, next) = match nl {
                Some(i) => (i, i + 1),
                None => (chunk.len(), chunk.len()),
            };
            let line_start = pos;
            let line = trim_cr(&chunk[pos..raw_end]);
            let line_end = line_start + line.len();
            let this = idx;
            pos = next;
            idx += 1;
            if line.len() > MAX_LINE {
                out.stats.oversized += 1;
                leading = false;
                continue;
            }
            let head = parse::parse_head(line, &mut state);
            if let Some(o) = &mut open {
                if head.is_none() {
                    out.stats.continuation += 1;
                    o.lines += 1;
                    o.end = line_end;
                    if closes_record(line) {
                        let o = open.take().unwrap_or_else(|| unreachable!());
                        self.record(chunk, &o, &mut state, out);
                    }
                    continue;
                }
                let o = open.take().unwrap_or_else(|| unreachable!());
                self.record(chunk, &o, &mut state, out);
            }
            let Some(head) = head else {
                if leading {
                    out.leading.lines += 1;
                    out.leading.end = next;
                } else if line.iter().all(u8::is_ascii_whitespace) {
                    out.stats.blank += 1;
                } else {
                    out.stats.unrecognized += 1;
                    if out.unrecognized.len() < UNRECOGNIZED_SAMPLES {
                        out.unrecognized
                            .push((this, line_start as u32, line_end as u32));
                    }
                }
                continue;
            };
            leading = false;
            out.stats.by_server[head.format.server().index()] += 1;
            if head.format == Format::Nginx && opens_record(head.body) {
                open = Some(Open {
                    start: line_start,
                    end: line_end,
                    line: this,
                    lines: 1,
                });
                continue;
            }
            self.classify(&head, this, line_start, line_end, 1, out);
        }
        if let Some(o) = open {
            if close_at_end {
                self.record(chunk, &o, &mut state, out);
            } else {
                out.open_tail = Some(OpenTail {
                    start: o.start,
                    line: o.line,
                    lines: o.lines,
                });
            }
        }
        out.stats.total = u64::from(idx - out.leading.lines);
        out.lines = idx;
    }

    /// Classifies a joined multi-line record.
    fn record(&mut self, chunk: &[u8], o: &Open, state: &mut ParseState, out: &mut Scan) {
        if let Some(head) = parse::parse_head(&chunk[o.start..o.end], state) {
            self.classify(&head, o.line, o.start, o.end, o.lines, out);
        }
    }

    /// Hot: runs for every recognised record.
    #[inline]
    fn classify(
        &mut self,
        head: &Head<'_>,
        line: u32,
        start: usize,
        end: usize,
        lines: u32,
        out: &mut Scan,
    ) {
        let Some(c) = self.catalog.classify(head, &mut self.upstream_buf) else {
            return;
        };
        let upstream = c.upstream.map_or(NO_KEY, |u| out.upstreams.intern(u));
        let route = match c.route {
            Some(raw) if route::normalize(raw, &mut self.route_buf) => {
                out.routes.intern(&self.route_buf)
            }
            _ => NO_KEY,
        };
        let request = match (head.cid, c.request) {
            (Some(cid), Some(req)) => {
                let hash = foldhash::fast::FixedState::default().hash_one((head.pid, cid, req));
                Some(hash & !0xFFFF_FFFF | cid & 0xFFFF_FFFF)
            }
            _ => None,
        };
        out.events.push(ScanEvent {
            cause: c.cause,
            role: c.role,
            strong: c.strong,
            status: c.status,
            server: head.format.server(),
            time: head.time,
            pid: head.pid,
            tid: head.tid,
            request,
            upstream,
            route,
            line,
            start: start as u32,
            end: end as u32,
            lines,
        });
    }
}

/// An nginx FastCGI stderr record whose payload goes on over the next
/// physical lines: it has not reached its closing `" while ...` yet.
pub fn opens_record(body: &[u8]) -> bool {
    body.first() == Some(&b'F')
        && body.starts_with(b"FastCGI sent in stderr: \"")
        && parse::find(body, b"\" while ").is_none()
        && parse::find(body, b", client: ").is_none()
}

/// The last physical line of a multi-line record: the payload's closing
/// quote and the context follow.
pub fn closes_record(line: &[u8]) -> bool {
    parse::find(line, b"\" while ").is_some() || parse::find(line, b", client: ").is_some()
}
