//! The parallel stage: one chunk of whole lines -> compact events.
//!
//! A [`Scanner`] does everything that depends on one line alone: format
//! detection, the catalog's prefilter and classification, upstream
//! extraction and route normalization. It runs on worker threads, one chunk
//! at a time, and writes into a reusable [`Scan`], so steady-state scanning
//! allocates nothing. Upstreams and routes are interned per chunk in a
//! [`KeyTable`], through a memo of the ids found last
//! ([`route::KeyMemo`]); the sequential stage ([`crate::pipeline`]) maps them to
//! global ids in input order, which keeps results identical whatever the
//! number of threads.
//!
//! What crosses a chunk boundary is left to the sequential stage: a FastCGI
//! stderr record still open at the end of the chunk ([`Scan::open_tail`]),
//! and the unparseable lines at the start of a chunk ([`Scan::leading`]),
//! which may continue it.

pub mod route;

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::catalog::{Catalog, FitMemo};
use crate::catalog::{lifecycle, startup};
use crate::event::LocalTime;
use crate::event::{
    ClientRequest, Event, JoinKey, LifecycleEvent, LineStats, Server, StartupEvent,
    UNRECOGNIZED_SAMPLES,
};
use crate::input::lines::{self, MAX_LINE};
use crate::keys::{KeySource, KeyTable, Keys, NO_KEY};
use crate::parse::access::{AccessFormats, AccessLine, Detector, Plan, upstream};
use crate::parse::{self, Head, ParseState, Scratch};

/// Unparseable lines at the start of a chunk (possibly the continuation of
/// a record from the previous chunk); not counted in [`Scan::stats`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Leading {
    /// How many lines.
    pub lines: u32,
    /// Byte offset just past them.
    pub end: usize,
}

/// Access-log requests of one key (a route, an upstream address) and
/// status in a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCount {
    /// The key in the chunk's route or upstream table, or [`NO_KEY`].
    pub key: u32,
    /// The status the clients got.
    pub status: u16,
    /// How many.
    pub count: u32,
}

/// Access-log requests of one route, upstream address (its last attempt's)
/// and status in a chunk: counted only for `follow`'s metric (see
/// [`Scanner::with_client_series`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesCount {
    /// The route in the chunk's route table, or [`NO_KEY`].
    pub route: u32,
    /// The upstream in the chunk's upstream table, or [`NO_KEY`].
    pub upstream: u32,
    /// The status the clients got.
    pub status: u16,
    /// How many.
    pub count: u32,
}

/// Where each (route, upstream, status) of a chunk is in
/// [`Scan::client_series`].
type SeriesSlots = hashbrown::HashMap<(u32, u32, u16), u32, foldhash::fast::FixedState>;

/// Where each (key, status) of a chunk is in its list of [`StatusCount`]s:
/// the usual statuses of the first keys in a flat table by key (no hashing
/// per line), the others in a map. A pair is always found in the same one
/// of the two, so the list holds it once, in the order first seen.
#[derive(Default)]
struct StatusSlots {
    /// Per [`usual`] status, per key below [`FLAT_KEYS`]: its slot plus
    /// one, 0 while not seen in the chunk. A row per status, not per key:
    /// most lines have one status, whose slots for a few thousand keys
    /// then stay in a few cache lines.
    flat: [Vec<u32>; USUAL],
    /// The places in `flat` set in the chunk (status row times
    /// [`FLAT_KEYS`] plus key): cleared one by one at the next, not the
    /// whole table (which only grows).
    used: Vec<u32>,
    /// The other pairs.
    other: hashbrown::HashMap<(u32, u16), u32, foldhash::fast::FixedState>,
}

/// Keys counted in [`StatusSlots::flat`]: 512 KiB at most.
const FLAT_KEYS: u32 = 1 << 14;

/// Statuses a flat table row has a place for.
const USUAL: usize = 8;

/// The place of a status in a row of [`StatusSlots::flat`].
#[inline]
fn usual(status: u16) -> Option<usize> {
    Some(match status {
        200 => 0,
        304 => 1,
        404 => 2,
        499 => 3,
        500 => 4,
        502 => 5,
        503 => 6,
        504 => 7,
        _ => return None,
    })
}

impl StatusSlots {
    fn clear(&mut self) {
        for &at in &self.used {
            self.flat[(at / FLAT_KEYS) as usize][(at % FLAT_KEYS) as usize] = 0;
        }
        self.used.clear();
        self.other.clear();
    }
}

/// Counts one request of `key` and `status` in `list`, found through
/// `slots`.
#[inline(always)]
fn count_status(slots: &mut StatusSlots, list: &mut Vec<StatusCount>, key: u32, status: u16) {
    if key < FLAT_KEYS
        && let Some(u) = usual(status)
    {
        let row = &mut slots.flat[u];
        if row.len() <= key as usize {
            row.resize(key as usize + 1, 0);
        }
        let slot = &mut row[key as usize];
        if *slot == 0 {
            list.push(StatusCount {
                key,
                status,
                count: 0,
            });
            *slot = list.len() as u32;
            slots.used.push(u as u32 * FLAT_KEYS + key);
        }
        list[*slot as usize - 1].count += 1;
        return;
    }
    count_other(slots, list, key, status);
}

/// [`count_status`] for a pair outside the flat table, out of the way of
/// the usual ones.
#[inline(never)]
fn count_other(slots: &mut StatusSlots, list: &mut Vec<StatusCount>, key: u32, status: u16) {
    let slot = *slots.other.entry((key, status)).or_insert_with(|| {
        list.push(StatusCount {
            key,
            status,
            count: 0,
        });
        list.len() as u32 - 1
    });
    list[slot as usize].count += 1;
}

/// Access-log requests that ended in one second with one status in a
/// chunk: the status is kept for a 5xx or a 499, else it is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSecond {
    /// Seconds since 1970-01-01T00:00:00 of the log's own clock.
    pub time: i64,
    /// The status the clients got (5xx, 499), or 0 for any other.
    pub status: u16,
    /// How many.
    pub count: u32,
}

/// How long one access-log request took (`$upstream_response_time` where
/// logged, else `$request_time` or `%D`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Route key in the chunk's table.
    pub route: u32,
    /// Milliseconds.
    pub ms: u64,
    /// The client got a 5xx.
    pub failed: bool,
}

/// One in this many successful requests is timed (all failed ones are).
pub const TIMING_SAMPLE: u64 = 8;

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
    pub events: Vec<Event>,
    /// Access-log lines that need a cause (a 5xx, or failed attempts a
    /// retry absorbed), in order.
    pub requests: Vec<ClientRequest>,
    /// Every access-log line of the chunk, counted by route and status.
    pub client_counts: Vec<StatusCount>,
    /// Every timed access-log line of the chunk, counted by second and
    /// status (5xx and 499 apart, the others together).
    pub client_seconds: Vec<ClientSecond>,
    /// Every access-log line with an `$upstream_addr`, counted by its
    /// last attempt's address and status.
    pub client_upstreams: Vec<StatusCount>,
    /// Every access-log line counted by route, upstream and status
    /// together, when the scanner was asked to
    /// ([`Scanner::with_client_series`]).
    pub client_series: Vec<SeriesCount>,
    /// Durations of the 5xx access lines, and of one in eight of the
    /// others (chosen by their request line), with their routes.
    pub timings: Vec<Timing>,
    /// Start-up and configuration errors, in order (no failed requests).
    pub startup: Vec<StartupEvent>,
    /// Their texts, which [`StartupEvent`] points into: such lines are
    /// rare, and their texts may be decoded from an envelope, so they are
    /// copied here.
    pub startup_text: Vec<u8>,
    /// Lifecycle lines (a reload, workers started or gone), in order: no
    /// failed requests.
    pub lifecycle: Vec<LifecycleEvent>,
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
    /// Otherwise, the nginx line that ends the chunk (joined from the
    /// hard-wrapped pieces before it, if any), not classified here: the
    /// first lines of the next chunk may be more of it, and the ordered
    /// stage, which sees them, classifies it.
    pub wrap_tail: Option<Wrapped>,
    /// Physical lines in the chunk.
    pub lines: u32,
}

impl Scan {
    fn clear(&mut self) {
        self.events.clear();
        self.requests.clear();
        self.client_counts.clear();
        self.client_seconds.clear();
        self.client_upstreams.clear();
        self.client_series.clear();
        self.timings.clear();
        self.startup.clear();
        self.startup_text.clear();
        self.lifecycle.clear();
        self.new_keys.clear();
        self.key_source = KeySource::default();
        self.stats = LineStats::default();
        self.unrecognized.clear();
        self.leading = Leading::default();
        self.open_tail = None;
        self.wrap_tail = None;
        self.lines = 0;
    }
}

/// How one input is read, where that differs from input to input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputReading {
    /// Seconds added to every time read from it (`--tz-offset`).
    pub shift: i64,
    /// The access format the servers' configuration gives for it.
    pub access: Option<std::sync::Arc<Plan>>,
}

/// Scans chunks; one per worker thread.
pub struct Scanner<'c> {
    catalog: &'c Catalog,
    default_year: i32,
    /// When the machine booted, for the kernel's uptime stamps.
    boot_time: Option<crate::event::LocalTime>,
    /// Unique id, for [`KeySource::scanner`].
    id: u64,
    /// Upstreams seen, kept across chunks up to `key_budget`.
    upstreams: KeyTable,
    /// Normalized routes seen, likewise.
    routes: KeyTable,
    /// Bytes the key tables may keep between chunks; 0 to start afresh
    /// with every chunk.
    key_budget: usize,
    /// Route ids, through a memo in front of `routes`.
    route_keys: route::RouteKeys,
    /// Upstream ids, through a memo in front of `upstreams`.
    upstream_ids: route::KeyMemo,
    /// Where the catalog builds upstream names the line does not hold.
    upstream_buf: Vec<u8>,
    /// The catalog's answers for the starts of recent nginx lines.
    memo: FitMemo,
    /// Where a line's envelope is decoded (a JSON payload).
    line_scratch: Scratch,
    /// A JSON envelope's message, decoded to be read as an access line.
    json_text: Vec<u8>,
    /// Likewise for a joined record, read while its next line's head is
    /// still in hand.
    record_scratch: Scratch,
    /// The access-log format in use for the current input, if one is.
    access: AccessFormats,
    /// The access-log format given for every input (`--access-format`).
    access_flag: Option<std::sync::Arc<Plan>>,
    /// Seconds added to the times of the current input.
    shift: i64,
    /// Which built-in access format read the last access line.
    detector: Detector,
    /// Where each (route, status) of the chunk is in
    /// [`Scan::client_counts`].
    count_slots: StatusSlots,
    /// Where each (upstream, status) of the chunk is in
    /// [`Scan::client_upstreams`].
    upstream_slots: StatusSlots,
    /// Whether access lines are also counted by route, upstream and
    /// status together.
    series: bool,
    /// Where each of those is in [`Scan::client_series`].
    series_slots: SeriesSlots,
    /// A hard-wrapped record's lines joined (see [`Scanner::rewrap`]).
    wrap_buf: Vec<u8>,
    /// The hard-wrapped record joined last in the chunk being scanned.
    wrapped: Option<Wrapped>,
    /// Whether the nginx line that ends a chunk is left to the ordered
    /// stage ([`Scan::wrap_tail`]); see [`Scanner::holding_last_lines`].
    hold_tail: bool,
}

/// An nginx line hard-wrapped over several physical lines (see
/// [`Scanner::rewrap`]), joined so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wrapped {
    /// Byte offset where it starts.
    pub start: usize,
    /// Byte offset where its last piece ends (before the line end).
    pub end: usize,
    /// Line index of its first piece.
    pub line: u32,
    /// Physical lines it has so far.
    pub lines: u32,
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

    /// Places the kernel log's uptime stamps after `boot`.
    pub fn with_boot_time(mut self, boot: Option<crate::event::LocalTime>) -> Self {
        self.boot_time = boot;
        self
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
            boot_time: None,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            upstreams: KeyTable::default(),
            routes: KeyTable::default(),
            key_budget,
            route_keys: route::RouteKeys::default(),
            upstream_ids: route::KeyMemo::new(1024),
            upstream_buf: Vec::new(),
            memo: FitMemo::default(),
            line_scratch: Scratch::default(),
            json_text: Vec::new(),
            record_scratch: Scratch::default(),
            access: AccessFormats::default(),
            access_flag: None,
            shift: 0,
            detector: Detector::default(),
            count_slots: Default::default(),
            upstream_slots: Default::default(),
            series: false,
            hold_tail: true,
            series_slots: Default::default(),
            wrap_buf: Vec::new(),
            wrapped: None,
        }
    }

    /// Also counts access lines by route, upstream and status together
    /// ([`Scan::client_series`]): what `follow`'s
    /// `upcause_client_responses_total` needs, and nothing else does.
    pub fn with_client_series(mut self, on: bool) -> Self {
        self.series = on;
        self
    }

    /// Whether the nginx line that ends a chunk waits for the next chunk
    /// (on by default): its first lines may be more pieces of that line,
    /// cut by a hard wrap, and are then read with it, as within a chunk.
    /// `follow` counts each line as it comes instead: a live log is not
    /// wrapped, and a line must not wait for the next write.
    pub fn holding_last_lines(mut self, on: bool) -> Self {
        self.hold_tail = on;
        self
    }

    /// Reads access-log lines with `formats` (`--access-format`) instead
    /// of detecting the built-in formats.
    pub fn with_access(mut self, formats: AccessFormats) -> Self {
        self.access_flag = formats.given.clone();
        self.access = formats;
        self
    }

    /// Reads the next chunks as those of an input read so: its times
    /// shifted, its access lines in the format the configuration gives
    /// for it (`--access-format`, when given, is for every input).
    pub fn set_input(&mut self, r: &InputReading) {
        self.shift = r.shift;
        if self.access_flag.is_none() && self.access.given != r.access {
            self.access.given = r.access.clone();
        }
    }

    /// A time of the current input on the common clock.
    #[inline]
    fn at(&self, t: Option<LocalTime>) -> Option<LocalTime> {
        t.map(|t| LocalTime(t.0 + self.shift))
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
        let mut state = ParseState::new(self.default_year).with_boot_time(self.boot_time);
        let mut leading = true;
        let mut open: Option<Open> = None;
        self.wrapped = None;
        let mut scratch = std::mem::take(&mut self.line_scratch);
        let mut idx = 0u32;
        let mut access_run = false;
        // The access line read last, written in place by each reading.
        let mut access = AccessLine::default();
        // The nginx line the last physical line ended, if it did.
        let mut tail: Option<Wrapped> = None;
        self.count_slots.clear();
        self.upstream_slots.clear();
        self.series_slots.clear();
        for span in lines::spans(chunk) {
            let (line_start, line_end, next) = (span.start, span.end, span.next);
            let line = &chunk[line_start..line_end];
            let this = idx;
            idx += 1;
            tail = None;
            if line.len() > MAX_LINE {
                out.stats.oversized += 1;
                leading = false;
                continue;
            }
            // In a run of access lines, the next line is tried as one
            // first: an access log does not pay for the error-log layouts.
            let mut tried = false;
            if access_run && open.is_none() {
                if self.detector.read_into(&self.access, line, &mut access) {
                    leading = false;
                    out.stats.access += 1;
                    self.client_request(&access, this, out);
                    continue;
                }
                access_run = false;
                tried = true;
            }
            let head = parse::parse_line_head(line, &mut state, &mut scratch);
            // Otherwise access lines are tried only where no error-log
            // layout fits and no multi-line record is open, so error logs
            // (and their PHP stack traces) never pay for them.
            if head.is_none()
                && open.is_none()
                && !tried
                && self.detector.read_into(&self.access, line, &mut access)
            {
                access_run = true;
                leading = false;
                out.stats.access += 1;
                self.client_request(&access, this, out);
                continue;
            }
            // An access line in a JSON envelope: a container's json-file
            // log (stdout beside the error log on stderr), a collector's.
            if head.is_none() && open.is_none() && line.first() == Some(&b'{') {
                let mut text = std::mem::take(&mut self.json_text);
                let read = match parse::envelope::json_text(line, &mut text)
                    .and_then(|t| self.detector.read(&self.access, t))
                {
                    Some(a) => {
                        self.client_request(&a, this, out);
                        true
                    }
                    None => false,
                };
                self.json_text = text;
                if read {
                    leading = false;
                    out.stats.access += 1;
                    continue;
                }
            }
            if let Some(o) = &mut open {
                if head.is_none() {
                    out.stats.continuation += 1;
                    o.lines += 1;
                    o.end = line_end;
                    if parse::record_closes(&chunk[o.start..], line) {
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
                } else if let Some(w) = self.rewrap(
                    chunk,
                    (line_start, line_end, this),
                    self.wrapped,
                    &mut state,
                    out,
                ) {
                    out.stats.continuation += 1;
                    self.wrapped = Some(w);
                    tail = Some(w);
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
            out.stats.by_server[head.server] += 1;
            if parse::record_opens(&head, &mut state) {
                open = Some(Open {
                    start: line_start,
                    end: line_end,
                    line: this,
                    lines: 1,
                });
                continue;
            }
            let server = head.server;
            self.classify(&head, this, line_start, line_end, 1, out);
            if server == Server::Nginx {
                tail = Some(Wrapped {
                    start: line_start,
                    end: line_end,
                    line: this,
                    lines: 1,
                });
            }
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
        } else if let Some(w) = tail
            && !close_at_end
            && self.hold_tail
        {
            // The next chunk may begin with more pieces of this line (a
            // hard wrap): the ordered stage classifies it, whole, as a
            // single chunk would have.
            take_back(out, w.line);
            out.wrap_tail = Some(w);
        }
        self.line_scratch = scratch;
        out.stats.total = u64::from(idx - out.leading.lines);
        out.lines = idx;
        self.hand_on_keys(out);
    }

    /// Counts an access-log line, and keeps it if it needs a cause.
    fn client_request(&mut self, a: &AccessLine<'_>, line: u32, out: &mut Scan) {
        let time = self.at(a.end());
        if !self.access.keep_time(time) {
            return;
        }
        let route = self
            .route_keys
            .id(a.route_source(), &mut self.routes)
            .unwrap_or(NO_KEY);
        count_status(
            &mut self.count_slots,
            &mut out.client_counts,
            route,
            a.status,
        );
        if let Some(t) = time {
            let status = if a.status >= 500 || a.status == 499 {
                a.status
            } else {
                0
            };
            // Lines come in time order: the same second is usually the
            // last one counted, or one of the few before it.
            match out
                .client_seconds
                .iter_mut()
                .rev()
                .take(8)
                .find(|c| c.time == t.0 && c.status == status)
            {
                Some(c) => c.count += 1,
                None => out.client_seconds.push(ClientSecond {
                    time: t.0,
                    status,
                    count: 1,
                }),
            }
        }
        let mut upstream = NO_KEY;
        if let Some(addr) = upstream::last(a.upstream_addr)
            && !addr.is_empty()
            && addr != b"-"
        {
            upstream = self.upstream_ids.id(addr, &mut self.upstreams);
            count_status(
                &mut self.upstream_slots,
                &mut out.client_upstreams,
                upstream,
                a.status,
            );
        }
        if self.series {
            let list = &mut out.client_series;
            let slot = *self
                .series_slots
                .entry((route, upstream, a.status))
                .or_insert_with(|| {
                    list.push(SeriesCount {
                        route,
                        upstream,
                        status: a.status,
                        count: 0,
                    });
                    list.len() as u32 - 1
                });
            list[slot as usize].count += 1;
        }
        // What every line needs of the upstream variables is how many
        // attempts failed; the last attempt's times only for the lines
        // timed or kept.
        let failed_attempts = upstream::failed(a.upstream_status);
        // The request line's hash picks the successful requests timed and
        // ties a kept one to the error log: it is taken only for those
        // uses (a line that logs no time is never timed).
        let mut request = None;
        if route != NO_KEY
            && a.may_have_time()
            // The hash's low bit is always set: the sample takes high bits.
            && (a.status >= 500
                || (*request.insert(request_hash(a.request)) >> 32).is_multiple_of(TIMING_SAMPLE))
            && let Some(ms) =
                upstream::last_response_ms(a.upstream_response_time()).or_else(|| a.duration_ms())
        {
            out.timings.push(Timing {
                route,
                ms,
                failed: a.status >= 500,
            });
        }
        if a.status < 500 && failed_attempts == 0 {
            return;
        }
        let duration_ms = a.duration_ms();
        let log_id = a.request_id();
        out.requests.push(ClientRequest {
            time,
            status: a.status,
            duration_ms,
            failed_attempts,
            answered_by_upstream: upstream::last_had_header(a.upstream_header_time()),
            time_is_start: a.dialect == Some(parse::access::Dialect::Apache)
                && duration_ms.is_none(),
            connection: a.connection(),
            request: request.unwrap_or_else(|| request_hash(a.request)),
            log_id: if log_id.is_empty() {
                0
            } else {
                parse::apache::log_id_hash(log_id)
            },
            route,
            line,
        });
    }

    /// A line in no format that continues the nginx line before it, cut
    /// by a hard wrap where no line of nginx's ends (see
    /// [`parse::nginx::unfinished`]): the two are one record, read again
    /// as one line (the cut closed up), and what the line before alone
    /// gave is taken back. `last` is the record joined so far, if it ended
    /// just before. Runs only for lines in no format, never for a line
    /// that has one.
    #[inline(never)]
    fn rewrap(
        &mut self,
        chunk: &[u8],
        (line_start, line_end, this): (usize, usize, u32),
        last: Option<Wrapped>,
        state: &mut ParseState,
        out: &mut Scan,
    ) -> Option<Wrapped> {
        if this == 0 {
            return None;
        }
        // The record before: joined before, or the physical line before.
        let rec = match last {
            Some(w)
                if chunk[w.end..line_start]
                    .iter()
                    .all(|&c| c == b'\r' || c == b'\n')
                    && chunk[w.end..line_start].contains(&b'\n') =>
            {
                w
            }
            _ => {
                let mut end = line_start.checked_sub(1)?;
                if end > 0 && chunk[end - 1] == b'\r' {
                    end -= 1;
                }
                let start = memchr::memrchr(b'\n', &chunk[..end]).map_or(0, |i| i + 1);
                Wrapped {
                    start,
                    end,
                    line: this - 1,
                    lines: 1,
                }
            }
        };
        let mut buf = std::mem::take(&mut self.wrap_buf);
        buf.clear();
        parse::join_wrapped(&chunk[rec.start..rec.end], &mut buf);
        let mut scratch = std::mem::take(&mut self.record_scratch);
        let before = parse::wrap_goes_on(&buf, &chunk[line_start..line_end], state, &mut scratch);
        let joined = before.then(|| {
            buf.extend_from_slice(&chunk[line_start..line_end]);
            Wrapped {
                end: line_end,
                lines: rec.lines + 1,
                ..rec
            }
        });
        if let Some(w) = joined
            && let Some(head) = parse::parse_head(&buf, state, &mut scratch)
        {
            // What the record gave before this line is taken back.
            take_back(out, w.line);
            self.classify(&head, w.line, w.start, w.end, w.lines, out);
        }
        parse::record_opens_no_more(state);
        self.record_scratch = scratch;
        self.wrap_buf = buf;
        joined
    }

    /// Keeps a start-up error found on a record (rare: out of line).
    #[cold]
    #[inline(never)]
    fn startup(
        head: &Head<'_>,
        time: Option<LocalTime>,
        s: &startup::Startup<'_>,
        (line, start, end, lines): (u32, usize, usize, u32),
        out: &mut Scan,
    ) {
        let text = &mut out.startup_text;
        let mut put = |parts: &[&[u8]]| {
            let from = text.len() as u32;
            parts.iter().for_each(|p| text.extend_from_slice(p));
            (from, text.len() as u32)
        };
        let message = put(&[s.message]);
        let config = s.config.map(|(file, line)| put(&[file, b":", line]));
        out.startup.push(StartupEvent {
            kind: s.kind,
            server: head.server,
            time,
            line,
            start: start as u32,
            end: end as u32,
            lines,
            message,
            config,
        });
    }

    /// Classifies a joined multi-line record.
    fn record(&mut self, chunk: &[u8], o: &Open, state: &mut ParseState, out: &mut Scan) {
        let mut scratch = std::mem::take(&mut self.record_scratch);
        if let Some(head) = parse::parse_head(&chunk[o.start..o.end], state, &mut scratch) {
            self.classify(&head, o.line, o.start, o.end, o.lines, out);
        }
        // The record's own pieces are behind it.
        parse::record_opens_no_more(state);
        self.record_scratch = scratch;
    }

    /// Keeps Apache's AH00959 `disabling worker` (an attached line) as a
    /// member taken out of its group (rare: out of line).
    #[cold]
    #[inline(never)]
    fn disabled(
        head: &Head<'_>,
        (line, start, end, lines): (u32, usize, usize, u32),
        out: &mut Scan,
    ) {
        if let Some(kind) = lifecycle::disabled_apache(head) {
            out.lifecycle.push(LifecycleEvent {
                kind,
                server: head.server,
                time: head.time,
                line,
                start: start as u32,
                end: end as u32,
                lines,
            });
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
        let time = self.at(head.time);
        let classified =
            self.catalog
                .classify_with(head, &mut self.upstream_buf, Some(&mut self.memo));
        let Some(c) = classified else {
            // No failure: perhaps the server could not start (the catalog
            // gives no failure at nginx's `emerg`).
            if let Some(s) = startup::classify(head) {
                Self::startup(head, time, &s, (line, start, end, lines), out);
            } else if let Some(kind) = lifecycle::classify(head) {
                out.lifecycle.push(LifecycleEvent {
                    kind,
                    server: head.server,
                    time,
                    line,
                    start: start as u32,
                    end: end as u32,
                    lines,
                });
            }
            return;
        };
        if c.cause.is_none() {
            // An attached line may take a member out of its group.
            Self::disabled(head, (line, start, end, lines), out);
        }
        // php-fpm's upstreams are its few pools, line after line.
        let upstream = match c.upstream {
            Some(u) if head.server == Server::PhpFpm => self.upstreams.intern_recent(u),
            Some(u) => self.upstream_ids.id(u, &mut self.upstreams),
            None => NO_KEY,
        };
        let route = c
            .route
            .and_then(|raw| self.route_keys.id(raw, &mut self.routes))
            .unwrap_or(NO_KEY);
        // The request line is hashed once: for the retries' key and for
        // the access log's join.
        let line_hash = c.request.map_or(0, request_hash);
        // nginx's `*N`, or Apache's request log id (see `Head::cid`).
        let (connection, log_id) = match head.server {
            Server::Apache => (None, head.cid.unwrap_or(0)),
            _ => (head.cid, 0),
        };
        let request = match (connection, c.request) {
            (Some(cid), Some(_)) => {
                let hash =
                    foldhash::fast::FixedState::default().hash_one((head.pid, cid, line_hash));
                Some(hash & !0xFFFF_FFFF | cid & 0xFFFF_FFFF)
            }
            _ => None,
        };
        out.events.push(Event {
            micros: head.micros,
            cause: c.cause,
            role: c.role,
            strong: c.strong,
            status: c.status,
            server: head.server,
            time,
            pid: head.pid,
            tid: head.tid,
            request,
            upstream,
            route,
            line,
            start: start as u32,
            end: end as u32,
            lines,
            join: JoinKey {
                connection,
                request: line_hash,
                log_id,
            },
        });
    }
}

/// Takes back what the record at line `line`, the last classified, gave.
fn take_back(out: &mut Scan, line: u32) {
    while out.events.last().is_some_and(|e| e.line == line) {
        out.events.pop();
    }
    while out.startup.last().is_some_and(|e| e.line == line) {
        out.startup.pop();
    }
    while out.lifecycle.last().is_some_and(|e| e.line == line) {
        out.lifecycle.pop();
    }
}

/// The hash that ties a request line (or request id) in the error log to
/// the same one in the access log; 0 for none.
#[inline]
fn request_hash(b: &[u8]) -> u64 {
    if b.is_empty() {
        0
    } else {
        foldhash::fast::FixedState::default().hash_one(b) | 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an access line gives, read whole by the plain walk and taken
    /// as a plain rule (every line's request hashed, every field read):
    /// the timings (milliseconds, failed) and the kept requests (line,
    /// hash, log id, connection, header, failed attempts, duration).
    #[allow(clippy::type_complexity)]
    fn plain(
        plan: &Plan,
        text: &str,
    ) -> (
        Vec<(u64, bool)>,
        Vec<(u32, u64, u64, Option<u64>, Option<bool>, u32, Option<u64>)>,
    ) {
        let (mut timings, mut requests) = (Vec::new(), Vec::new());
        for (i, line) in text.lines().enumerate() {
            let Some(a) = parse::access::walk(plan, line.as_bytes(), &mut Default::default())
            else {
                continue;
            };
            let request = request_hash(a.request);
            if (a.status >= 500 || (request >> 32).is_multiple_of(TIMING_SAMPLE))
                && let Some(ms) = upstream::last_response_ms(a.upstream_response_time())
                    .or_else(|| a.duration_ms())
            {
                timings.push((ms, a.status >= 500));
            }
            let failed = upstream::failed(a.upstream_status);
            if a.status >= 500 || failed > 0 {
                let log_id = if a.request_id().is_empty() {
                    0
                } else {
                    parse::apache::log_id_hash(a.request_id())
                };
                requests.push((
                    i as u32,
                    request,
                    log_id,
                    a.connection(),
                    upstream::last_had_header(a.upstream_header_time()),
                    failed,
                    a.duration_ms(),
                ));
            }
        }
        (timings, requests)
    }

    /// The scanner's access lines (read by the fast reading, the fields
    /// at their ends left unread, the request hashed only where used)
    /// against [`plain`]: the same timings and the same kept requests.
    #[test]
    fn client_requests_are_the_plain_reading() {
        let catalog = Catalog::new();
        let bench = crate::parse::access::BENCH_FORMAT;
        let combined = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;
        let mut seed = 0x51f1_5eed_0bad_cafeu64;
        let mut next = move |k: usize| {
            crate::testing::xorshift(&mut seed);
            (seed % k as u64) as usize
        };
        let statuses = ["200", "200", "304", "404", "499", "500", "502", "504"];
        let addrs = ["10.0.0.1:8080", "10.0.0.1:80, 10.0.0.2:80", "-"];
        let ups = ["200", "502, 200", "504", "-", "200 : 502"];
        let times = ["0.013", "-", "0.000, 0.012", "60.001", "1.5 : -"];
        let ids = ["-", "0f3c9a", "a b"];
        let mut text = String::new();
        for i in 0..3000 {
            text.push_str(&format!(
                r#"10.0.{}.{} - - [06/Dec/2026:10:{:02}:{:02} +0000] "GET /api/v{}/items/{} HTTP/1.1" {} 157 "-" "curl/8" {} {} {} {} {} {} {} 1 {}"#,
                next(256),
                next(256),
                i / 60 % 60,
                i % 60,
                next(3),
                next(100_000),
                statuses[next(statuses.len())],
                times[next(times.len())],
                addrs[next(addrs.len())],
                ups[next(ups.len())],
                times[next(times.len())],
                times[next(times.len())],
                times[next(times.len())],
                next(1000),
                ids[next(ids.len())],
            ));
            text.push('\n');
        }
        for spec in [bench, combined] {
            let plan = Plan::compile(spec).unwrap();
            let (timings, requests) = plain(&plan, &text);
            let mut scanner = Scanner::new(&catalog, 2026).with_access(AccessFormats {
                given: Some(std::sync::Arc::new(plan)),
                ..Default::default()
            });
            let mut out = Scan::default();
            scanner.scan(text.as_bytes(), true, &mut out);
            assert_eq!(out.stats.access, 3000, "{spec}");
            let got: Vec<(u64, bool)> = out.timings.iter().map(|t| (t.ms, t.failed)).collect();
            assert_eq!(got, timings, "{spec}");
            let got: Vec<_> = out
                .requests
                .iter()
                .map(|r| {
                    (
                        r.line,
                        r.request,
                        r.log_id,
                        r.connection,
                        r.answered_by_upstream,
                        r.failed_attempts,
                        r.duration_ms,
                    )
                })
                .collect();
            assert_eq!(got, requests, "{spec}");
            // Neither is empty: the rule has something to hold.
            assert!(requests.len() > 500, "{spec}");
            if spec == bench {
                assert!(timings.len() > 500);
            } else {
                assert!(timings.is_empty());
            }
        }
    }

    /// [`count_status`] against a plain count in a map, over chunks that
    /// reuse the slots (cleared between them): the same counts, each pair
    /// once, in the order first seen.
    #[test]
    fn count_status_is_a_plain_count() {
        let mut slots = StatusSlots::default();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |k: u64| {
            crate::testing::xorshift(&mut seed);
            seed % k
        };
        let statuses = [200, 304, 404, 499, 500, 502, 503, 504, 201, 418, 599];
        for chunk in 0..30 {
            slots.clear();
            let mut list = Vec::new();
            let mut plain: Vec<((u32, u16), u32)> = Vec::new();
            // Keys in the flat table and past it, few or many per chunk.
            let keys = if chunk % 3 == 0 { 4 } else { 3000 };
            for _ in 0..2000 {
                let key = match next(10) {
                    0 => FLAT_KEYS + next(5) as u32,
                    _ => next(keys) as u32,
                };
                let status = statuses[next(statuses.len() as u64) as usize];
                count_status(&mut slots, &mut list, key, status);
                match plain.iter_mut().find(|(k, _)| *k == (key, status)) {
                    Some((_, n)) => *n += 1,
                    None => plain.push(((key, status), 1)),
                }
            }
            let got: Vec<((u32, u16), u32)> =
                list.iter().map(|c| ((c.key, c.status), c.count)).collect();
            assert_eq!(got, plain, "chunk {chunk}");
        }
    }
}
