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
use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown::HashTable;

use crate::aggregate::{LineStats, UNRECOGNIZED_SAMPLES, key_hash, route};
use crate::catalog::{Catalog, CauseId, FitMemo, Role};
use crate::lines::{MAX_LINE, trim_cr};
use crate::parse::{self, Format, Head, LocalTime, ParseState, Server};

/// Key id for "no key".
pub const NO_KEY: u32 = u32::MAX;

/// Keys by id, in one arena, with their [`key_hash`]: what a scanner
/// hands on with each chunk, and the copy the ordered stage keeps of a
/// scanner's table.
#[derive(Default)]
pub struct KeyList {
    arena: Vec<u8>,
    spans: Vec<(u32, u32)>,
    hashes: Vec<u64>,
}

impl KeyList {
    /// Forgets every key, keeping the memory.
    pub fn clear(&mut self) {
        self.arena.clear();
        self.spans.clear();
        self.hashes.clear();
    }

    /// Appends a key (not checked for duplicates) and returns its id.
    fn push(&mut self, key: &[u8], hash: u64) -> u32 {
        let id = self.spans.len() as u32;
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(key);
        self.spans.push((start, self.arena.len() as u32));
        self.hashes.push(hash);
        id
    }

    /// Appends the keys of `other` from id `from` on.
    pub fn extend_from(&mut self, other: &KeyList, from: u32) {
        for id in from..other.len() as u32 {
            self.push(other.get(id), other.hash(id));
        }
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

    /// Bytes of key text held.
    fn text_len(&self) -> usize {
        self.arena.len()
    }
}

/// Distinct byte strings with small ids. The hash is fixed (not seeded per
/// table), so a key hashes the same in every table and hashes can be
/// compared across them.
#[derive(Default)]
pub struct KeyTable {
    keys: KeyList,
    table: HashTable<u32>,
}

impl KeyTable {
    /// Forgets every key, keeping the memory.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.table.clear();
    }

    /// The id of `key`, added if new.
    #[inline]
    pub fn intern(&mut self, key: &[u8]) -> u32 {
        let hash = key_hash(key);
        let keys = &self.keys;
        if let Some(&id) = self.table.find(hash, |&id| keys.get(id) == key) {
            return id;
        }
        let id = self.keys.push(key, hash);
        let keys = &self.keys;
        self.table.insert_unique(hash, id, |&i| keys.hash(i));
        id
    }

    /// The keys, by id.
    pub fn keys(&self) -> &KeyList {
        &self.keys
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The upstream and route keys that events refer to by id.
#[derive(Default)]
pub struct Keys {
    /// Upstreams.
    pub upstreams: KeyList,
    /// Normalized routes.
    pub routes: KeyList,
}

impl Keys {
    fn clear(&mut self) {
        self.upstreams.clear();
        self.routes.clear();
    }
}

/// Which key ids a [`Scan`]'s events use, and which keys are new in it.
///
/// A scanner may keep its key tables from chunk to chunk, so that a key
/// seen in every chunk is interned in the ordered stage once per scanner
/// instead of once per chunk. Each scan carries only the keys its scanner
/// added while scanning it; the ordered stage keeps the rest from earlier
/// scans of the same scanner ([`KeyMirror`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KeySource {
    /// The scanner (unique in the process).
    pub scanner: u64,
    /// The id of the first new upstream key (the scanner's table size
    /// before the chunk).
    pub first_upstream: u32,
    /// The id of the first new route key.
    pub first_route: u32,
    /// The scanner keeps its tables for its next scan; when false, the
    /// next scan starts afresh and the keys can be forgotten after this one.
    pub kept: bool,
}

impl KeySource {
    /// The scanner's tables were empty before this chunk: the scan's new
    /// keys are all its keys.
    pub fn fresh(&self) -> bool {
        self.first_upstream == 0 && self.first_route == 0
    }
}

/// The ordered stage's copy of one scanner's key tables, extended with
/// every scan of that scanner in order.
#[derive(Default)]
pub struct KeyMirror {
    /// The scanner copied.
    pub scanner: u64,
    /// Its keys.
    pub keys: Keys,
}

impl KeyMirror {
    /// Takes in the new keys of the scanner's next scan.
    pub fn update(&mut self, scan: &Scan) {
        let src = scan.key_source;
        if src.fresh() {
            self.keys.clear();
        }
        // Scans of one scanner arrive in the order it made them, none left
        // out: the pipeline guarantees it, and ids would be wrong otherwise.
        assert!(
            self.keys.upstreams.len() == src.first_upstream as usize
                && self.keys.routes.len() == src.first_route as usize,
            "scans of a scanner out of order"
        );
        self.keys.upstreams.extend_from(&scan.new_keys.upstreams, 0);
        self.keys.routes.extend_from(&scan.new_keys.routes, 0);
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
    /// The keys first used in this chunk (see [`KeySource`]).
    pub new_keys: Keys,
    /// Where the events' key ids point.
    pub key_source: KeySource,
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
        self.new_keys.clear();
        self.key_source = KeySource::default();
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
    /// Unique id, for [`KeySource::scanner`].
    id: u64,
    /// Upstreams seen, kept across chunks up to `key_budget`.
    upstreams: KeyTable,
    /// Normalized routes seen, likewise.
    routes: KeyTable,
    /// Bytes the key tables may keep between chunks; 0 to start afresh
    /// with every chunk.
    key_budget: usize,
    route_buf: Vec<u8>,
    /// Where the catalog builds upstream names the line does not hold.
    upstream_buf: Vec<u8>,
    /// The catalog's answers for the starts of recent nginx lines.
    memo: FitMemo,
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
    /// Every scan carries all of its keys: the scans may go to different
    /// ordered stages.
    pub fn new(catalog: &'c Catalog, default_year: i32) -> Self {
        Self::keeping_keys(catalog, default_year, 0)
    }

    /// A scanner whose scans all go, in order, to one ordered stage: its
    /// key tables are kept from chunk to chunk while each takes at most
    /// about `key_budget` bytes, so that each scan carries only the keys
    /// new in it.
    pub fn keeping_keys(catalog: &'c Catalog, default_year: i32, key_budget: usize) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Scanner {
            catalog,
            default_year,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            upstreams: KeyTable::default(),
            routes: KeyTable::default(),
            key_budget,
            route_buf: Vec::new(),
            upstream_buf: Vec::new(),
            memo: FitMemo::default(),
        }
    }

    /// Hands the keys new in this chunk to `out`, and keeps the key tables
    /// for the next chunk if they are within budget.
    fn hand_on_keys(&mut self, out: &mut Scan) {
        // Per key: its span, hash and table slot, about 32 bytes.
        let size = |t: &KeyTable| t.keys().text_len() + 32 * t.len();
        let src = &mut out.key_source;
        src.kept =
            size(&self.upstreams) <= self.key_budget && size(&self.routes) <= self.key_budget;
        let new = &mut out.new_keys;
        new.upstreams
            .extend_from(self.upstreams.keys(), src.first_upstream);
        new.routes.extend_from(self.routes.keys(), src.first_route);
        if !src.kept {
            self.upstreams.clear();
            self.routes.clear();
        }
    }

    /// Scans `chunk` into `out`. With `close_at_end`, a record still open
    /// at the end is classified instead of left in [`Scan::open_tail`].
    pub fn scan(&mut self, chunk: &[u8], close_at_end: bool, out: &mut Scan) {
        out.clear();
        out.key_source = KeySource {
            scanner: self.id,
            first_upstream: self.upstreams.len() as u32,
            first_route: self.routes.len() as u32,
            kept: false,
        };
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
        self.hand_on_keys(out);
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
        let classified =
            self.catalog
                .classify_with(head, &mut self.upstream_buf, Some(&mut self.memo));
        let Some(c) = classified else {
            return;
        };
        let upstream = c.upstream.map_or(NO_KEY, |u| self.upstreams.intern(u));
        let route = match c.route {
            Some(raw) if route::normalize(raw, &mut self.route_buf) => {
                self.routes.intern(&self.route_buf)
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
        && !closes_record(body)
}

/// The last physical line of a multi-line record: the payload's closing
/// quote and the context follow.
pub fn closes_record(line: &[u8]) -> bool {
    parse::find(line, b"\" while ").is_some() || parse::find(line, b", client: ").is_some()
}
