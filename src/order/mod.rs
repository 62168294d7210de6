//! The ordered stage: every chunk's scan, in input order.
//!
//! Everything that depends on order runs here, once: records continued
//! across chunk ends ([`Sequencer`]), the scanners' keys mapped to the
//! report's ids in first-seen order, the joins and retries of the
//! [`correlate::Correlator`] (the one place that decides whether a line is
//! a new failed request or part of one), and the [`Filters`]. What it
//! finds goes to a [`Tally`]: the aggregator, one stage up.

pub mod correlate;
mod filters;

pub use filters::Filters;

use crate::catalog::Catalog;
use crate::event::{
    CauseId, ClientRequest, Failure, LifecycleEvent, LineStats, LocalTime, StartupEvent,
};
use crate::input::lines::split_lines;
use crate::keys::{Interner, Key, KeyList, Keys, NO_KEY};
use crate::parse;
use crate::scan::{InputReading, Scan, Scanner};
use correlate::{Correlator, Place};

/// Where the ordered stage counts what it finds. The aggregator is the one
/// tally of every run; a trait, so that this stage does not import the
/// stage above it.
pub trait Tally {
    /// An input starts; returns its index.
    fn begin_input(&mut self, name: String) -> u32;
    /// Input `file` ended, with these line counts, and the error that
    /// ended it early, if one did.
    fn end_input(&mut self, file: u32, lines: LineStats, error: Option<String>);
    /// A line in no known format (a few are kept as samples).
    fn unrecognized_line(&mut self, file: u32, line: u64, text: &[u8]);
    /// The interners of upstream and route keys: a failure's keys take
    /// their report ids from them when it is counted.
    fn interners(&mut self) -> (&mut Interner, &mut Interner);
    /// Counts a failure whose keys have these ids (or [`NO_KEY`]); `text`
    /// is its first line.
    fn add(&mut self, f: &Failure, upstream: u32, route: u32, text: &[u8]);
    /// The id of a route (its normalized text and key hash) in the
    /// access-log counts, which [`Tally::clients`] and
    /// [`Tally::client_timing`] take: asked once per route of a scanner,
    /// so the same route must always get the same id.
    fn client_route(&mut self, route: &[u8], hash: u64) -> u32;
    /// Counts `count` access-log requests answered with `status` on a
    /// route (its id from [`Tally::client_route`]; `None`: no route).
    fn clients(&mut self, route: Option<u32>, status: u16, count: u64);
    /// An access-log request that needs a cause (a 5xx, or failed attempts
    /// that a retry absorbed), already counted by [`Tally::clients`];
    /// `route` is its route's key hash (0 for none).
    fn client_request(&mut self, r: &ClientRequest, route: u64);
    /// How long an access-log request on a route (its id from
    /// [`Tally::client_route`]) took, in milliseconds (all 5xx, a sample
    /// of the others).
    fn client_timing(&mut self, route: u32, ms: u64, failed: bool);

    /// Counts `count` access lines that ended at `time` (seconds) with
    /// `status` (a 5xx or 499, else 0).
    fn client_second(&mut self, time: i64, status: u16, count: u64);

    /// Counts `count` access lines whose last attempt went to `upstream`
    /// and that got `status`.
    fn client_upstream(&mut self, upstream: &[u8], status: u16, count: u64);
    /// Counts `count` access lines on a route (normalized) whose last
    /// attempt went to `upstream` and that got `status`, for the scanners
    /// asked to count them together
    /// ([`Scanner::with_client_series`](crate::scan::Scanner::with_client_series)).
    fn client_series(
        &mut self,
        _route: Option<&[u8]>,
        _upstream: Option<&[u8]>,
        _status: u16,
        _count: u64,
    ) {
    }
    /// A start-up or configuration error at `place`, with its message, the
    /// configuration's `file:line` and its text.
    fn startup(&mut self, s: &Startup<'_>);
    /// A lifecycle line (a reload, workers started or gone), placed.
    fn lifecycle(&mut self, l: &Lifecycle<'_>);
}

/// A lifecycle line, placed in the input (see [`Tally::lifecycle`]).
#[derive(Debug, Clone, Copy)]
pub struct Lifecycle<'a> {
    /// What the scanner found.
    pub event: &'a LifecycleEvent,
    /// Input index.
    pub file: u32,
    /// Line number of its first line.
    pub line: u64,
    /// The record's text.
    pub text: &'a [u8],
}

/// A start-up or configuration error, placed in the input (see
/// [`Tally::startup`]).
#[derive(Debug, Clone, Copy)]
pub struct Startup<'a> {
    /// What the scanner found.
    pub event: &'a StartupEvent,
    /// Input index.
    pub file: u32,
    /// Line number of its first line.
    pub line: u64,
    /// Physical lines.
    pub lines: u32,
    /// What failed.
    pub message: &'a [u8],
    /// The configuration's `file:line`.
    pub config: Option<&'a [u8]>,
    /// The record's text.
    pub text: &'a [u8],
}

/// Longest multi-line record joined across a chunk end (nginx itself stops
/// at 2048 bytes); further continuation lines are counted, not joined.
pub const MAX_RECORD: usize = 64 * 1024;

/// A record from the end of one chunk, continued in the next.
struct Carry {
    /// Its text as written, over its physical lines.
    buf: Vec<u8>,
    line: u64,
    lines: u32,
    /// For an nginx line a hard wrap may have cut, its pieces joined (the
    /// cuts closed up), as it is read: lines go on it only while they
    /// continue it ([`parse::wrap_goes_on`]), not until a record closes.
    joined: Option<Vec<u8>>,
}

/// The sequential stage: sees every chunk's scan in input order.
pub struct Sequencer<'a> {
    filters: &'a Filters,
    correlator: Correlator,
    file: u32,
    line_base: u64,
    stats: LineStats,
    carry: Option<Carry>,
    carry_scanner: Scanner<'a>,
    carry_scan: Scan,
    /// For reading a wrapped line's head again ([`Carry::joined`]).
    wrap_state: parse::ParseState,
    wrap_scratch: parse::Scratch,
    /// Per scanner that keeps its keys: those keys and their global ids.
    scanners: Vec<ScannerKeys>,
    /// Global ids of the keys of a scan that carries all of its keys.
    fresh_remap: Remap,
    /// Global ids of the keys of failures that outlived their chunk (all
    /// owned keys, so nothing to remember).
    no_remap: Remap,
    /// Whether a group that ran out of servers had failures before.
    down: DownGroups,
}

impl<'a> Sequencer<'a> {
    /// A sequencer; `default_year` completes syslog stamps without a year.
    pub fn new(catalog: &'a Catalog, filters: &'a Filters, default_year: i32) -> Self {
        Sequencer {
            filters,
            correlator: Correlator::new(),
            file: 0,
            line_base: 0,
            stats: LineStats::default(),
            carry: None,
            carry_scanner: Scanner::new(catalog, default_year),
            carry_scan: Scan::default(),
            wrap_state: parse::ParseState::new(default_year),
            wrap_scratch: parse::Scratch::default(),
            scanners: Vec::new(),
            fresh_remap: Remap::default(),
            no_remap: Remap::default(),
            down: DownGroups::new(),
        }
    }

    /// Places the kernel log's uptime stamps after `boot`.
    pub fn with_boot_time(mut self, boot: Option<crate::event::LocalTime>) -> Self {
        self.carry_scanner = self.carry_scanner.with_boot_time(boot);
        self
    }

    /// Reads the records carried across chunk ends as those of an input
    /// read so (see [`Scanner::set_input`]).
    pub fn set_input(&mut self, reading: &InputReading) {
        self.carry_scanner.set_input(reading);
    }

    /// Counts access lines by route, upstream and status together, as
    /// the scanner of its chunks does (see
    /// [`Scanner::with_client_series`]).
    pub fn with_client_series(mut self, on: bool) -> Self {
        self.carry_scanner = self.carry_scanner.with_client_series(on);
        self
    }

    /// Starts an input named `name`.
    pub fn begin_input(&mut self, name: String, agg: &mut impl Tally) {
        self.file = agg.begin_input(name);
        self.line_base = 0;
        self.stats = LineStats::default();
        self.carry = None;
        self.down.reset();
        // The correlator was flushed by `end_input`: joins never span
        // inputs, and its retry table is kept for the next one.
    }

    /// Takes the next chunk of the current input and its scan.
    pub fn chunk(&mut self, bytes: &[u8], scan: &Scan, agg: &mut impl Tally) {
        // Unparseable lines at the start continue a record left open at the
        // end of the previous chunk, or are unrecognized.
        for (i, line) in split_lines(&bytes[..scan.leading.end]).enumerate() {
            let line_no = self.line_base + 1 + i as u64;
            self.stats.total += 1;
            if self.carry.as_ref().is_some_and(|c| c.joined.is_some()) {
                if self.wrap_goes_on(line) {
                    continue;
                }
                self.finish_carry(agg);
            }
            if let Some(c) = &mut self.carry {
                self.stats.continuation += 1;
                c.lines += 1;
                let closes = parse::record_closes(&c.buf, line);
                if c.buf.len() + line.len() < MAX_RECORD || closes {
                    c.buf.push(b'\n');
                    c.buf.extend_from_slice(line);
                }
                if closes {
                    self.finish_carry(agg);
                }
            } else if line.iter().all(u8::is_ascii_whitespace) {
                self.stats.blank += 1;
            } else {
                self.stats.unrecognized += 1;
                agg.unrecognized_line(self.file, line_no, line);
            }
        }
        if self.carry.is_some() && scan.lines > scan.leading.lines {
            self.finish_carry(agg);
        }
        self.stats.add(&scan.stats);
        for &(idx, s, e) in &scan.unrecognized {
            agg.unrecognized_line(
                self.file,
                self.line_base + u64::from(idx) + 1,
                &bytes[s as usize..e as usize],
            );
        }
        self.events(scan, bytes, self.line_base, None, agg);
        if let Some(t) = scan.open_tail {
            let mut buf = bytes[t.start..].to_vec();
            while matches!(buf.last(), Some(b'\n' | b'\r')) {
                buf.pop();
            }
            buf.truncate(MAX_RECORD);
            self.carry = Some(Carry {
                buf,
                line: self.line_base + u64::from(t.line) + 1,
                lines: t.lines,
                joined: None,
            });
        } else if let Some(t) = scan.wrap_tail {
            let buf = bytes[t.start..t.end].to_vec();
            let mut joined = Vec::with_capacity(buf.len());
            parse::join_wrapped(&buf, &mut joined);
            self.carry = Some(Carry {
                buf,
                line: self.line_base + u64::from(t.line) + 1,
                lines: t.lines,
                joined: Some(joined),
            });
        }
        self.line_base += u64::from(scan.lines);
    }

    /// A line over the length limit that never made it into a chunk.
    pub fn oversized(&mut self) {
        self.stats.total += 1;
        self.stats.oversized += 1;
        self.line_base += 1;
    }

    /// Ends the current input; `error` is why it ended early, if it did.
    pub fn end_input(&mut self, error: Option<String>, agg: &mut impl Tally) {
        if self.carry.is_some() {
            self.finish_carry(agg);
        }
        let (filters, stats, remap) = (self.filters, &mut self.stats, &mut self.no_remap);
        let down = &mut self.down;
        self.correlator
            .flush(&mut |f, text| count(filters, down, f, text, None, remap, stats, agg));
        agg.end_input(self.file, std::mem::take(&mut self.stats), error);
    }

    /// Whether `line`, first in its chunk and in no format, is another
    /// piece of the wrapped nginx line carried over; it is joined if so.
    /// Lines between pieces that hold only line ends (`\r`) do not part
    /// them, as within a chunk.
    fn wrap_goes_on(&mut self, line: &[u8]) -> bool {
        let Some(c) = &mut self.carry else {
            return false;
        };
        let Some(joined) = &mut c.joined else {
            return false;
        };
        if line.iter().all(|&b| b == b'\r') {
            self.stats.blank += 1;
            return true;
        }
        if c.buf.len() + line.len() >= MAX_RECORD
            || !parse::wrap_goes_on(joined, line, &mut self.wrap_state, &mut self.wrap_scratch)
        {
            return false;
        }
        self.stats.continuation += 1;
        c.lines += 1;
        c.buf.push(b'\n');
        c.buf.extend_from_slice(line);
        parse::join_wrapped(line, joined);
        true
    }

    /// Classifies the record carried over from the previous chunk.
    fn finish_carry(&mut self, agg: &mut impl Tally) {
        let Some(c) = self.carry.take() else { return };
        let mut scan = std::mem::take(&mut self.carry_scan);
        match &c.joined {
            None => self.carry_scanner.scan(&c.buf, true, &mut scan),
            Some(joined) => {
                // Read as one line; its text is the pieces as written, as
                // a wrapped line's within a chunk is.
                self.carry_scanner.scan(joined, true, &mut scan);
                let end = c.buf.len() as u32;
                scan.events
                    .iter_mut()
                    .for_each(|e| (e.start, e.end) = (0, end));
                scan.startup
                    .iter_mut()
                    .for_each(|e| (e.start, e.end) = (0, end));
                scan.lifecycle
                    .iter_mut()
                    .for_each(|e| (e.start, e.end) = (0, end));
            }
        }
        self.events(&scan, &c.buf, c.line - 1, Some(c.lines), agg);
        self.carry_scan = scan;
    }

    /// Takes in the keys of a scan whose lines are not counted (a chunk
    /// scanned again after its file was cut short under it): its
    /// scanner's later scans build on them.
    pub fn keys_only(&mut self, scan: &Scan) {
        let mirrored = self.mirror(scan);
        self.forget_unkept(scan, mirrored);
    }

    /// Drops the copy of a scanner's keys that its scanner did not keep
    /// after `scan`: it starts afresh, and so does its copy, memory and
    /// all.
    fn forget_unkept(&mut self, scan: &Scan, mirrored: Option<usize>) {
        if !scan.key_source.kept
            && let Some(i) = mirrored
        {
            self.scanners.swap_remove(i);
        }
    }

    /// Brings the copy of a scan's scanner's keys up to the scan, and
    /// says where it is in [`Sequencer::scanners`]; `None` for a scanner
    /// that keeps no keys from scan to scan (the scan holds them all).
    fn mirror(&mut self, scan: &Scan) -> Option<usize> {
        let src = scan.key_source;
        let found = self
            .scanners
            .iter()
            .position(|k| k.mirror.scanner == src.scanner);
        if src.fresh() && !src.kept {
            if let Some(i) = found {
                self.scanners.swap_remove(i);
            }
            return None;
        }
        let i = found.unwrap_or_else(|| {
            let mut k = ScannerKeys::default();
            k.mirror.scanner = src.scanner;
            self.scanners.push(k);
            self.scanners.len() - 1
        });
        let ScannerKeys { mirror, remap } = &mut self.scanners[i];
        mirror.update(scan);
        remap.update(&mirror.keys, src.fresh());
        Some(i)
    }

    /// Maps a scan's keys to global ids and feeds its events to the
    /// correlator, in order.
    fn events(
        &mut self,
        scan: &Scan,
        bytes: &[u8],
        line_base: u64,
        lines: Option<u32>,
        agg: &mut impl Tally,
    ) {
        // The scanner's copy, if it keeps one.
        let mirrored = self.mirror(scan);
        let (keys, remap) = match mirrored {
            // All of its keys, and none to keep: no copy needed.
            None => {
                self.fresh_remap.update(&scan.new_keys, true);
                (&scan.new_keys, &mut self.fresh_remap)
            }
            Some(i) => {
                let ScannerKeys { mirror, remap } = &mut self.scanners[i];
                (&mirror.keys, remap)
            }
        };
        let route_of =
            |id: u32| (id != NO_KEY).then(|| (keys.routes.get(id), keys.routes.hash(id)));
        for c in &scan.client_counts {
            let route = client_route(c.key, &keys.routes, &mut remap.clients, agg);
            agg.clients(route, c.status, u64::from(c.count));
        }
        for r in &scan.requests {
            agg.client_request(r, route_of(r.route).map_or(0, |(_, h)| h));
        }
        for c in &scan.client_seconds {
            agg.client_second(c.time, c.status, u64::from(c.count));
        }
        for c in &scan.client_upstreams {
            agg.client_upstream(keys.upstreams.get(c.key), c.status, u64::from(c.count));
        }
        for c in &scan.client_series {
            agg.client_series(
                route_of(c.route).map(|r| r.0),
                (c.upstream != NO_KEY).then(|| keys.upstreams.get(c.upstream)),
                c.status,
                u64::from(c.count),
            );
        }
        for t in &scan.timings {
            if let Some(route) = client_route(t.route, &keys.routes, &mut remap.clients, agg) {
                agg.client_timing(route, t.ms, t.failed);
            }
        }
        let (filters, stats, down) = (self.filters, &mut self.stats, &mut self.down);
        // Lifecycle lines go in line order between the events: the
        // requests open before one are ended by it.
        let mut life = scan.lifecycle.iter().peekable();
        let mut next_life = life.peek().map_or(u32::MAX, |l| l.line);
        let life_at = LifeAt {
            file: self.file,
            bytes,
            line_base,
        };
        for ev in &scan.events {
            if ev.line > next_life {
                next_life = lifecycle_until(
                    &mut self.correlator,
                    &mut life,
                    ev.line,
                    &life_at,
                    filters,
                    agg,
                );
            }
            let at = Place {
                file: self.file,
                line: line_base + u64::from(ev.line) + 1,
                lines: lines.unwrap_or(ev.lines),
            };
            self.correlator.push(ev, at, bytes, keys, &mut |f, t| {
                count(filters, down, f, t, Some(keys), remap, stats, agg)
            });
        }
        self.correlator.chunk_end(bytes, keys);
        if next_life != u32::MAX {
            lifecycle_until(
                &mut self.correlator,
                &mut life,
                u32::MAX,
                &life_at,
                filters,
                agg,
            );
        }
        for ev in &scan.startup {
            if let Some(t) = ev.time
                && (filters.since.is_some_and(|s| t < s) || filters.until.is_some_and(|u| t >= u))
            {
                continue;
            }
            let arena = |(a, b): (u32, u32)| &scan.startup_text[a as usize..b as usize];
            agg.startup(&Startup {
                event: ev,
                file: self.file,
                line: line_base + u64::from(ev.line) + 1,
                lines: lines.unwrap_or(ev.lines),
                message: arena(ev.message),
                config: ev.config.map(arena),
                text: &bytes[ev.start as usize..ev.end as usize],
            });
        }
        self.forget_unkept(scan, mirrored);
    }
}

/// Where a chunk's lifecycle lines are, for [`lifecycle_until`].
#[derive(Clone, Copy)]
struct LifeAt<'b> {
    file: u32,
    bytes: &'b [u8],
    line_base: u64,
}

/// Takes the lifecycle lines before chunk line `until`: each ends the open
/// requests of the input's old workers, and goes to the tally unless the
/// time filters leave it out. Returns the line of the next one left
/// (`u32::MAX`: none).
#[cold]
#[inline(never)]
fn lifecycle_until(
    correlator: &mut Correlator,
    life: &mut std::iter::Peekable<std::slice::Iter<'_, LifecycleEvent>>,
    until: u32,
    at: &LifeAt<'_>,
    filters: &Filters,
    agg: &mut impl Tally,
) -> u32 {
    let LifeAt {
        file,
        bytes,
        line_base,
    } = *at;
    {
        while let Some(l) = life.next_if(|l| l.line < until) {
            // A member taken out of its group ends no worker.
            if l.kind != crate::event::Lifecycle::Disabled {
                correlator.end_workers(file);
            }
            if let Some(t) = l.time
                && (filters.since.is_some_and(|s| t < s) || filters.until.is_some_and(|u| t >= u))
            {
                continue;
            }
            agg.lifecycle(&Lifecycle {
                event: l,
                file,
                line: line_base + u64::from(l.line) + 1,
                text: &bytes[l.start as usize..l.end as usize],
            });
        }
        life.peek().map_or(u32::MAX, |l| l.line)
    }
}

/// For `upcause follow`, which keeps an input open for days and reports
/// on it while it is still being read.
impl Sequencer<'_> {
    /// Line counts of the current input so far (moved into the
    /// aggregator's file entry by [`Sequencer::end_input`]).
    pub fn line_stats(&self) -> &LineStats {
        &self.stats
    }

    /// Counts the failures still being joined that no later line can join
    /// any more (their last line is too old at `now`, on the log's clock):
    /// an input that never ends has no [`Sequencer::end_input`] to do it.
    pub fn flush_stale(&mut self, now: LocalTime, agg: &mut impl Tally) {
        let (filters, stats, remap) = (self.filters, &mut self.stats, &mut self.no_remap);
        let down = &mut self.down;
        self.correlator.flush_stale(now, &mut |f, text| {
            count(filters, down, f, text, None, remap, stats, agg)
        });
    }
}

/// One scanner's keys, as far as its scans have come, and their global
/// ids.
#[derive(Default)]
struct ScannerKeys {
    mirror: KeyMirror,
    remap: Remap,
}

/// The ordered stage's copy of one scanner's key tables, extended with
/// every scan of that scanner in order.
#[derive(Default)]
struct KeyMirror {
    /// The scanner copied.
    scanner: u64,
    /// Its keys.
    keys: Keys,
}

impl KeyMirror {
    /// Takes in the new keys of the scanner's next scan.
    fn update(&mut self, scan: &Scan) {
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

/// Global ids of a scanner's keys, filled on first use (so in input order,
/// whatever the thread count).
#[derive(Default)]
struct Remap {
    upstreams: Vec<u32>,
    routes: Vec<u32>,
    /// The routes' ids in the access-log counts ([`Tally::client_route`]).
    clients: Vec<u32>,
}

impl Remap {
    /// Follows the mirror `keys`, which started afresh if `reset`.
    fn update(&mut self, keys: &Keys, reset: bool) {
        if reset {
            self.upstreams.clear();
            self.routes.clear();
            self.clients.clear();
        }
        self.upstreams.resize(keys.upstreams.len(), NO_KEY);
        self.routes.resize(keys.routes.len(), NO_KEY);
        self.clients.resize(keys.routes.len(), NO_KEY);
    }
}

/// The tally's id of the route of local id `id` for the access-log
/// counts (`None` for [`NO_KEY`]): asked of the tally once per route of a
/// scanner, then one load, where asking for each (route, status) pair
/// and timing of each chunk would hash and compare the route's text
/// again. Ids are handed out in input order either way.
#[inline(always)]
fn client_route(id: u32, routes: &KeyList, ids: &mut [u32], agg: &mut impl Tally) -> Option<u32> {
    if id == NO_KEY {
        return None;
    }
    let slot = &mut ids[id as usize];
    if *slot == NO_KEY {
        *slot = agg.client_route(routes.get(id), routes.hash(id));
    }
    Some(*slot)
}

/// The global id of a key, interned now: only failures that are counted
/// take a slot under the key caps. Inline in the counting of each
/// failure: a key seen before is one load.
#[inline(always)]
fn global(key: &Key, table: Option<&KeyList>, remap: &mut [u32], interner: &mut Interner) -> u32 {
    match (key, table) {
        (Key::None, _) => NO_KEY,
        (Key::Owned(b), _) => interner.intern(b),
        (Key::Local(id), Some(t)) => {
            let slot = &mut remap[*id as usize];
            if *slot == NO_KEY {
                *slot = interner.intern_hashed(t.get(*id), t.hash(*id));
            }
            *slot
        }
        (Key::Local(_), None) => NO_KEY,
    }
}

/// Seconds after a failure of a server within which a group running out of
/// servers is taken to follow from it (nginx's `fail_timeout` is 10 s by
/// default; this leaves room for longer ones).
const DOWN_AFTER_SECS: i64 = 600;

/// Tells a group that ran out of servers because they failed (an echo of
/// those failures, `no_live_upstreams`) from one whose servers are all
/// marked down, or failed health checks, with no failure logged before it
/// in the input (`upstreams_down`): an inference from what the log does not
/// hold, which the cause's meaning says.
struct DownGroups {
    no_live: CauseId,
    down: CauseId,
    /// Causes that say nothing of the group's servers, one bit per id
    /// (ids are below 64: `Restatus` holds them so too).
    neutral: u64,
    /// Whether a failure of a server was counted in this input, and the
    /// time of the last one that had a time.
    seen: bool,
    last: Option<LocalTime>,
}

impl DownGroups {
    fn new() -> DownGroups {
        let id = |s| CauseId::from_id(s).unwrap_or_else(|| panic!("unknown cause id {s}"));
        DownGroups {
            no_live: id("no_live_upstreams"),
            down: id("upstreams_down"),
            neutral: [
                "proxy_worker_crash",
                "fastcgi_script",
                "php_fatal",
                "upstreams_down",
            ]
            .into_iter()
            .fold(0, |bits, c| bits | 1u64 << id(c).0),
            seen: false,
            last: None,
        }
    }

    /// Forgets the input before.
    fn reset(&mut self) {
        self.seen = false;
        self.last = None;
    }

    /// The cause `f` is counted under: `upstreams_down` for a group with
    /// no server left and no failure before it.
    #[inline]
    fn cause_of(&mut self, f: &Failure) -> CauseId {
        if f.cause == self.no_live {
            return self.group_cause(f);
        }
        if self.neutral >> f.cause.0 & 1 == 0 {
            self.seen = true;
            if f.time.is_some() {
                self.last = f.time;
            }
        }
        f.cause
    }

    /// [`DownGroups::cause_of`] a group that ran out of servers.
    #[inline(never)]
    fn group_cause(&self, f: &Failure) -> CauseId {
        let recent = match (self.last, f.time) {
            (Some(last), Some(t)) => t.0.saturating_sub(last.0) <= DOWN_AFTER_SECS,
            _ => self.seen,
        };
        if recent { self.no_live } else { self.down }
    }
}

/// Applies the filters to a failure and counts it.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn count(
    filters: &Filters,
    down: &mut DownGroups,
    f: &Failure,
    text: &[u8],
    keys: Option<&Keys>,
    remap: &mut Remap,
    stats: &mut LineStats,
    agg: &mut impl Tally,
) {
    let cause = down.cause_of(f);
    if cause != f.cause {
        return count_moved(cause, filters, f, text, keys, remap, stats, agg);
    }
    count_as(filters, f, text, keys, remap, stats, agg)
}

/// [`count`] of a failure counted under another cause than its line's
/// (rare: out of line, so that the usual case is one piece of code).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn count_moved(
    cause: CauseId,
    filters: &Filters,
    f: &Failure,
    text: &[u8],
    keys: Option<&Keys>,
    remap: &mut Remap,
    stats: &mut LineStats,
    agg: &mut impl Tally,
) {
    let moved = Failure { cause, ..f.clone() };
    count_as(filters, &moved, text, keys, remap, stats, agg);
}

/// No filter was asked for (the usual run): [`Filters::keep`] keeps every
/// failure, and is not asked, a few compares in place of a call per
/// failure.
#[inline(always)]
fn unfiltered(filters: &Filters) -> bool {
    let Filters {
        since,
        until,
        causes,
        upstream,
    } = filters;
    since.is_none() && until.is_none() && causes.is_empty() && upstream.is_none()
}

/// [`count`] of a failure under the cause it is counted under.
#[inline(always)]
fn count_as(
    filters: &Filters,
    f: &Failure,
    text: &[u8],
    keys: Option<&Keys>,
    remap: &mut Remap,
    stats: &mut LineStats,
    agg: &mut impl Tally,
) {
    // The upstream's text only for a filter on it.
    let upstream_bytes = if filters.upstream.is_some() {
        keys.map_or_else(
            || match &f.upstream {
                Key::Owned(b) => Some(&b[..]),
                _ => None,
            },
            |s| f.upstream.bytes(&s.upstreams),
        )
    } else {
        None
    };
    if !unfiltered(filters) && !filters.keep(f, upstream_bytes) {
        stats.excluded += u64::from(f.new_request);
        return;
    }
    let (upstreams, routes) = agg.interners();
    let upstream = global(
        &f.upstream,
        keys.map(|k| &k.upstreams),
        &mut remap.upstreams,
        upstreams,
    );
    let route = global(&f.route, keys.map(|k| &k.routes), &mut remap.routes, routes);
    stats.matched += u64::from(f.lines);
    agg.add(f, upstream, route, text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::LocalTime;

    /// What the access-log counts of a run get, by route text: a tally
    /// for [`client_route`]'s oracle.
    struct ClientTally {
        upstreams: Interner,
        failure_routes: Interner,
        routes: Interner,
        counts: std::collections::BTreeMap<(Option<Vec<u8>>, u16), u64>,
        failed_timings: Vec<(Vec<u8>, u64)>,
    }

    impl Tally for ClientTally {
        fn begin_input(&mut self, _: String) -> u32 {
            0
        }
        fn end_input(&mut self, _: u32, _: LineStats, _: Option<String>) {}
        fn unrecognized_line(&mut self, _: u32, line: u64, text: &[u8]) {
            panic!(
                "line {line} unrecognized: {}",
                String::from_utf8_lossy(text)
            );
        }
        fn interners(&mut self) -> (&mut Interner, &mut Interner) {
            (&mut self.upstreams, &mut self.failure_routes)
        }
        fn add(&mut self, _: &Failure, _: u32, _: u32, _: &[u8]) {}
        fn client_route(&mut self, route: &[u8], hash: u64) -> u32 {
            assert_eq!(hash, crate::keys::key_hash(route));
            self.routes.intern_hashed(route, hash)
        }
        fn clients(&mut self, route: Option<u32>, status: u16, count: u64) {
            let route = route.map(|id| self.routes.key(id).to_vec());
            *self.counts.entry((route, status)).or_default() += count;
        }
        fn client_request(&mut self, _: &ClientRequest, _: u64) {}
        fn client_timing(&mut self, route: u32, ms: u64, failed: bool) {
            if failed {
                self.failed_timings
                    .push((self.routes.key(route).to_vec(), ms));
            }
        }
        fn client_second(&mut self, _: i64, _: u16, _: u64) {}
        fn client_upstream(&mut self, _: &[u8], _: u16, _: u64) {}
        fn startup(&mut self, _: &Startup<'_>) {}
        fn lifecycle(&mut self, _: &Lifecycle<'_>) {}
    }

    /// The access-log counts through the per-scanner route ids
    /// ([`client_route`]) against each line's route normalized and
    /// counted by its text, in the order first seen up to the tally's
    /// cap: two scanners keeping their keys take turns at the chunks (as
    /// the pipeline's workers do), or one starting afresh with each.
    #[test]
    fn client_routes_count_as_their_texts_do() {
        let catalog = Catalog::new();
        let filters = Filters::default();
        let plan = crate::parse::access::Plan::compile(
            r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent $request_time"#,
        )
        .unwrap();
        let reading = InputReading {
            shift: 0,
            access: Some(std::sync::Arc::new(plan)),
        };
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            crate::testing::xorshift(&mut seed);
            seed % n
        };
        let mut lines = Vec::new();
        let mut want: std::collections::BTreeMap<(Option<Vec<u8>>, u16), u64> = Default::default();
        let mut want_failed = Vec::new();
        let mut first_seen = Interner::new(40);
        let mut route = Vec::new();
        for i in 0..6_000u64 {
            let path = match next(10) {
                0 => format!("/rare/{}/x{}", next(1000), next(1000)),
                1 => "?only-a-query".to_string(),
                _ => format!("/api/v{}/items/{}", next(60), next(100_000)),
            };
            let status = [200, 200, 200, 304, 404, 499, 500, 502, 504][next(9) as usize];
            let ms = next(3000);
            lines.push(format!(
                "10.0.0.{} - - [07/Dec/2026:03:{:02}:{:02} +0000] \"GET {path} HTTP/1.1\" {status} {} {}.{:03}\n",
                next(200),
                i / 600 % 60,
                i / 10 % 60,
                next(5000),
                ms / 1000,
                ms % 1000,
            ));
            let key = crate::scan::route::normalize(path.as_bytes(), &mut route).then(|| {
                let id = first_seen.intern(&route);
                first_seen.key(id).to_vec()
            });
            if status >= 500
                && let Some(k) = &key
            {
                want_failed.push((k.clone(), ms));
            }
            *want.entry((key, status)).or_default() += 1;
        }
        want_failed.sort();
        for kept in [true, false] {
            let mut seq = Sequencer::new(&catalog, &filters, 2026);
            seq.set_input(&reading);
            let mut scanners: Vec<Scanner> = (0..2)
                .map(|_| {
                    let mut s = if kept {
                        Scanner::keeping_keys(&catalog, 2026, 1 << 20)
                    } else {
                        Scanner::new(&catalog, 2026)
                    };
                    s.set_input(&reading);
                    s
                })
                .collect();
            let mut tally = ClientTally {
                upstreams: Interner::new(100),
                failure_routes: Interner::new(100),
                routes: Interner::new(40),
                counts: Default::default(),
                failed_timings: Vec::new(),
            };
            seq.begin_input("access.log".into(), &mut tally);
            let mut scan = Scan::default();
            let mut at = 0;
            let mut turn = 0;
            while at < lines.len() {
                let n = (1 + next(300) as usize).min(lines.len() - at);
                let chunk = lines[at..at + n].concat();
                at += n;
                scanners[turn % 2].scan(chunk.as_bytes(), at == lines.len(), &mut scan);
                seq.chunk(chunk.as_bytes(), &scan, &mut tally);
                turn += 1 + next(2) as usize;
            }
            seq.end_input(None, &mut tally);
            assert_eq!(tally.counts, want, "kept {kept}");
            tally.failed_timings.sort();
            assert_eq!(tally.failed_timings, want_failed, "kept {kept}");
            assert_eq!(tally.routes.len(), 40);
        }
    }

    /// Where no filter is asked for, the filters keep every failure, as
    /// [`Filters::keep`] would answer: what lets [`count_as`] not ask.
    #[test]
    fn unfiltered_filters_keep_every_failure() {
        let none = Filters::default();
        assert!(unfiltered(&none));
        let mut f = Failure::plain(CauseId(0), crate::event::Server::PhpFpm);
        for time in [
            None,
            Some(LocalTime(0)),
            Some(LocalTime(i64::MIN)),
            Some(LocalTime(i64::MAX)),
        ] {
            for cause in [0, 1, 7, u16::MAX] {
                for upstream in [None, Some(&b"php-fpm:www"[..]), Some(&b""[..])] {
                    f.time = time;
                    f.cause = CauseId(cause);
                    assert!(none.keep(&f, upstream));
                }
            }
        }
        // Each filter on its own is one.
        let one = [
            Filters {
                since: Some(LocalTime(5)),
                ..Filters::default()
            },
            Filters {
                until: Some(LocalTime(5)),
                ..Filters::default()
            },
            Filters {
                causes: vec![CauseId(1)],
                ..Filters::default()
            },
            Filters {
                upstream: Some("www".into()),
                ..Filters::default()
            },
        ];
        for filters in &one {
            assert!(!unfiltered(filters));
        }
    }
}
