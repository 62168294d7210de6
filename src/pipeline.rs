//! The stages wired together:
//!
//! ```text
//! reader thread:  inputs -> ChunkReader -> chunks of whole lines
//! N workers:      chunk -> Scanner -> Scan (events with chunk-local keys)
//! ordered stage:  scans in input order -> Sequencer (records across chunk
//!                 ends, global keys, correlation, filters) -> Aggregator
//! ```
//!
//! Everything that depends on one line runs in parallel; everything that
//! depends on order (multi-line joins, retries, first-seen interning) runs
//! once, in input order, in the [`Sequencer`]. The ordered stage has no
//! thread of its own: a thread that hands in an item while it is free
//! runs it, the first worker by preference (see [`Stage`]). Chunks are cut
//! the same way whatever the thread count, so the report is byte-identical
//! for any `--threads`. Buffers circulate through a fixed pool, which
//! bounds memory.

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use memchr::memmem;

use crate::aggregate::{Aggregator, FileStats, Interner, LineStats};
use crate::catalog::{Catalog, CauseId};
use crate::correlate::{Correlator, Event, Failure, Key};
use crate::error::Error;
use crate::lines::{CHUNK_SIZE, ChunkReader, MAX_LINE, Piece, split_lines};
use crate::mapped::Mapped;
use crate::parse::{LocalTime, Server};
use crate::scan::{KeyList, KeyMirror, Keys, NO_KEY, Scan, Scanner, closes_record};
use crate::source::{self, InputSpec};

/// Longest multi-line record joined across a chunk end (nginx itself stops
/// at 2048 bytes); further continuation lines are counted, not joined.
pub const MAX_RECORD: usize = 64 * 1024;

/// Which failures to count.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Failures at or after this time.
    pub since: Option<LocalTime>,
    /// Failures before this time.
    pub until: Option<LocalTime>,
    /// Only these causes (all when empty).
    pub causes: Vec<CauseId>,
    /// Only upstreams containing this text.
    pub upstream: Option<String>,
}

impl Filters {
    /// True when the failure (whose upstream is `upstream`) passes every
    /// filter. Failures without a time pass the time filters (they cannot
    /// be placed).
    #[inline]
    pub fn keep(&self, f: &Failure, upstream: Option<&[u8]>) -> bool {
        if !self.causes.is_empty() && !self.causes.contains(&f.cause) {
            return false;
        }
        if let Some(t) = f.time
            && (self.since.is_some_and(|s| t < s) || self.until.is_some_and(|u| t >= u))
        {
            return false;
        }
        if let Some(want) = &self.upstream {
            match upstream {
                Some(u) if memmem::find(u, want.as_bytes()).is_some() => {}
                _ => return false,
            }
        }
        true
    }
}

/// A record from the end of one chunk, continued in the next.
struct Carry {
    buf: Vec<u8>,
    line: u64,
    lines: u32,
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
    /// Per scanner that keeps its keys: those keys and their global ids.
    scanners: Vec<ScannerKeys>,
    /// Global ids of the keys of a scan that carries all of its keys.
    fresh_remap: Remap,
    /// Global ids of the keys of failures that outlived their chunk (all
    /// owned keys, so nothing to remember).
    no_remap: Remap,
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
            scanners: Vec::new(),
            fresh_remap: Remap::default(),
            no_remap: Remap::default(),
        }
    }

    /// Starts an input named `name`.
    pub fn begin_input(&mut self, name: String, agg: &mut Aggregator) {
        self.file = agg.files.len() as u32;
        agg.files.push(FileStats {
            path: name,
            lines: LineStats::default(),
            error: None,
        });
        self.line_base = 0;
        self.stats = LineStats::default();
        self.carry = None;
        // The correlator was flushed by `end_input`: joins never span
        // inputs, and its retry table is kept for the next one.
    }

    /// Takes the next chunk of the current input and its scan.
    pub fn chunk(&mut self, bytes: &[u8], scan: &Scan, agg: &mut Aggregator) {
        // Unparseable lines at the start continue a record left open at the
        // end of the previous chunk, or are unrecognized.
        for (i, line) in split_lines(&bytes[..scan.leading.end]).enumerate() {
            let line_no = self.line_base + 1 + i as u64;
            self.stats.total += 1;
            if let Some(c) = &mut self.carry {
                self.stats.continuation += 1;
                c.lines += 1;
                let closes = closes_record(line);
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
    pub fn end_input(&mut self, error: Option<String>, agg: &mut Aggregator) {
        if self.carry.is_some() {
            self.finish_carry(agg);
        }
        let (filters, stats, remap) = (self.filters, &mut self.stats, &mut self.no_remap);
        self.correlator
            .flush(&mut |f, text| count(filters, f, text, None, remap, stats, agg));
        let entry = &mut agg.files[self.file as usize];
        entry.lines = std::mem::take(&mut self.stats);
        entry.error = error;
    }

    /// Classifies the record carried over from the previous chunk.
    fn finish_carry(&mut self, agg: &mut Aggregator) {
        let Some(c) = self.carry.take() else { return };
        let mut scan = std::mem::take(&mut self.carry_scan);
        self.carry_scanner.scan(&c.buf, true, &mut scan);
        self.events(&scan, &c.buf, c.line - 1, Some(c.lines), agg);
        self.carry_scan = scan;
    }

    /// Maps a scan's keys to global ids and feeds its events to the
    /// correlator, in order.
    fn events(
        &mut self,
        scan: &Scan,
        bytes: &[u8],
        line_base: u64,
        lines: Option<u32>,
        agg: &mut Aggregator,
    ) {
        let src = scan.key_source;
        let found = self
            .scanners
            .iter()
            .position(|k| k.mirror.scanner == src.scanner);
        // The scanner's copy, if it keeps one.
        let mut mirrored = None;
        let (keys, remap) = if src.fresh() && !src.kept {
            // All of its keys, and none to keep: no copy needed.
            if let Some(i) = found {
                self.scanners.swap_remove(i);
            }
            self.fresh_remap.update(&scan.new_keys, true);
            (&scan.new_keys, &mut self.fresh_remap)
        } else {
            let i = found.unwrap_or_else(|| {
                let mut k = ScannerKeys::default();
                k.mirror.scanner = src.scanner;
                self.scanners.push(k);
                self.scanners.len() - 1
            });
            mirrored = Some(i);
            let ScannerKeys { mirror, remap } = &mut self.scanners[i];
            mirror.update(scan);
            remap.update(&mirror.keys, src.fresh());
            (&mirror.keys, remap)
        };
        let (filters, stats) = (self.filters, &mut self.stats);
        let local = |id: u32| {
            if id == NO_KEY {
                Key::None
            } else {
                Key::Local(id)
            }
        };
        for ev in &scan.events {
            let text = &bytes[ev.start as usize..ev.end as usize];
            let upstream_hash = if ev.upstream == NO_KEY {
                0
            } else {
                keys.upstreams.hash(ev.upstream)
            };
            // nginx lines are failures of their own (or retries of one):
            // built here at once, with what the correlator says of the
            // request.
            if ev.server == Server::Nginx {
                let Some(cause) = ev.cause else { continue };
                let new_request = ev.request.is_none_or(|req| {
                    self.correlator
                        .nginx_new_request(req, self.file, ev.time, cause, upstream_hash)
                });
                let f = Failure {
                    cause,
                    server: ev.server,
                    status: ev.status,
                    time: ev.time,
                    upstream: local(ev.upstream),
                    route: local(ev.route),
                    new_request,
                    lines: lines.unwrap_or(ev.lines),
                    file: self.file,
                    line: line_base + u64::from(ev.line) + 1,
                };
                count(filters, &f, text, Some(keys), remap, stats, agg);
                continue;
            }
            let event = Event {
                cause: ev.cause,
                role: ev.role,
                strong: ev.strong,
                status: ev.status,
                server: ev.server,
                time: ev.time,
                pid: ev.pid,
                tid: ev.tid,
                request: ev.request,
                upstream: local(ev.upstream),
                upstream_hash,
                route: local(ev.route),
                file: self.file,
                line: line_base + u64::from(ev.line) + 1,
                lines: lines.unwrap_or(ev.lines),
            };
            self.correlator.push(&event, text, keys, &mut |f, t| {
                count(filters, f, t, Some(keys), remap, stats, agg)
            });
        }
        if !src.kept
            && let Some(i) = mirrored
        {
            // The scanner starts afresh: so does its copy, memory and all.
            self.scanners.swap_remove(i);
        }
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
    pub fn flush_stale(&mut self, now: LocalTime, agg: &mut Aggregator) {
        let (filters, stats, remap) = (self.filters, &mut self.stats, &mut self.no_remap);
        self.correlator.flush_stale(now, &mut |f, text| {
            count(filters, f, text, None, remap, stats, agg)
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

/// Global ids of a scanner's keys, filled on first use (so in input order,
/// whatever the thread count).
#[derive(Default)]
struct Remap {
    upstreams: Vec<u32>,
    routes: Vec<u32>,
}

impl Remap {
    /// Follows the mirror `keys`, which started afresh if `reset`.
    fn update(&mut self, keys: &Keys, reset: bool) {
        if reset {
            self.upstreams.clear();
            self.routes.clear();
        }
        self.upstreams.resize(keys.upstreams.len(), NO_KEY);
        self.routes.resize(keys.routes.len(), NO_KEY);
    }
}

/// The global id of a key, interned now: only failures that are counted
/// take a slot under the key caps.
#[inline]
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

/// Applies the filters to a failure and counts it.
#[inline]
fn count(
    filters: &Filters,
    f: &Failure,
    text: &[u8],
    keys: Option<&Keys>,
    remap: &mut Remap,
    stats: &mut LineStats,
    agg: &mut Aggregator,
) {
    let upstream_bytes = keys.map_or_else(
        || match &f.upstream {
            Key::Owned(b) => Some(&b[..]),
            _ => None,
        },
        |s| f.upstream.bytes(&s.upstreams),
    );
    if !filters.keep(f, upstream_bytes) {
        return;
    }
    let upstream = global(
        &f.upstream,
        keys.map(|k| &k.upstreams),
        &mut remap.upstreams,
        &mut agg.upstreams,
    );
    let route = global(
        &f.route,
        keys.map(|k| &k.routes),
        &mut remap.routes,
        &mut agg.routes,
    );
    stats.matched += u64::from(f.lines);
    agg.add(f, upstream, route, text);
}

/// The bytes of a chunk of whole lines.
enum ChunkBytes {
    /// A pool buffer the reader filled, and the length of its lines.
    Read(Vec<u8>, usize),
    /// `start..end` of a mapped file, with a pool buffer as a token, which
    /// bounds the chunks in flight as the read buffers do.
    Mapped(Arc<Mapped>, usize, usize, Vec<u8>),
}

impl ChunkBytes {
    fn bytes(&self) -> &[u8] {
        match self {
            ChunkBytes::Read(buf, len) => &buf[..*len],
            ChunkBytes::Mapped(m, start, end, _) => &m.bytes()[*start..*end],
        }
    }

    /// Maps a mapped chunk's pages ahead of the scan.
    fn populate(&self) {
        if let ChunkBytes::Mapped(m, start, end, _) = self {
            m.populate(*start, *end);
        }
    }

    /// Gives the pool its buffer back (and lets go of mapped pages).
    fn release(self, pool: &Sender<Vec<u8>>) {
        let buf = match self {
            ChunkBytes::Read(buf, _) => buf,
            ChunkBytes::Mapped(m, _, end, token) => {
                // Chunks end here in file order.
                m.done_through(end);
                token
            }
        };
        let _ = pool.send(buf);
    }
}

/// What the reader produces, in input order (`seq`).
enum Item {
    Begin(String),
    Chunk(ChunkBytes, Box<Scan>),
    Oversized,
    End(Option<io::Error>),
    OpenFailed(String, io::Error),
}

/// How a run of the pipeline is set up.
pub struct RunOptions<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// Which failures count.
    pub filters: &'a Filters,
    /// Year for syslog stamps without one.
    pub default_year: i32,
    /// Scanning threads (at least one).
    pub threads: usize,
    /// A progress bar to keep up to date.
    pub progress: Option<&'a crate::progress::Progress>,
}

/// Items waiting for the ordered stage at which a worker other than the
/// first runs it itself ([`Stage::offer_from`]). At most the number of
/// buffers in circulation (`threads + 3`), so that the run cannot stall
/// with every buffer waiting there.
const LEAVE_BELOW: usize = 3;

/// Bytes all chunk buffers may take together.
const BUFFER_BUDGET: usize = 16 << 20;

/// Bytes the workers' key tables may keep between chunks, per dimension
/// (upstreams, routes), all workers together: enough for the few thousand
/// routes of a typical site at the default thread count. Tables of logs
/// with ever new keys go over it and start afresh with every chunk, as
/// they would without it.
const KEY_BUDGET: usize = 512 << 10;

/// The chunk size for `buffers` buffers in circulation: [`CHUNK_SIZE`]
/// (large chunks mean fewer hand-offs between threads) unless that would
/// take the buffers past [`BUFFER_BUDGET`], down to 256 KiB, so that memory
/// stays bounded at high `--threads`.
fn chunk_size(buffers: usize) -> usize {
    (BUFFER_BUDGET / buffers.max(1)).clamp(256 << 10, CHUNK_SIZE)
}

/// Runs every input through the stages into `agg`; `warn` hears about each
/// input that could not be read (completely).
pub fn run(
    inputs: &[InputSpec],
    opts: &RunOptions<'_>,
    agg: &mut Aggregator,
    warn: &mut dyn FnMut(&Error),
) {
    run_on(inputs, opts, agg, warn, available_cores());
}

/// The cores this process may run on (1 if that cannot be told).
fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// [`run`] laid out for a machine with `cores` cores.
fn run_on(
    inputs: &[InputSpec],
    opts: &RunOptions<'_>,
    agg: &mut Aggregator,
    warn: &mut dyn FnMut(&Error),
    cores: usize,
) {
    let threads = opts.threads.max(1);
    // Scanning a mapped file saves the copy into read buffers, but the
    // copy runs on the reader thread: with a core to spare for it, reading
    // is the faster of the two.
    let map_files = threads >= cores;
    // Buffers in circulation: one per worker, one being read, one waiting
    // for a worker and one with the ordered stage; more only cost memory.
    let max_buffers = threads + 3;
    let chunk_size = chunk_size(max_buffers);
    let key_budget = (KEY_BUDGET / threads).max(16 << 10);
    let (job_tx, job_rx) = channel::<(u64, ChunkBytes)>();
    let job_rx = Mutex::new(job_rx);
    let (buf_tx, buf_rx) = channel::<Vec<u8>>();
    let (scan_tx, scan_rx) = channel::<Box<Scan>>();
    let scan_rx = Mutex::new(scan_rx);
    let stage = Stage {
        inbox: Mutex::new(Vec::new()),
        ordered: Mutex::new(Ordered {
            seq: Sequencer::new(opts.catalog, opts.filters, opts.default_year),
            agg,
            waiting: BTreeMap::new(),
            next: 0,
            current: String::new(),
            buffers: Some(buf_tx),
            scans: scan_tx,
            warnings: Vec::new(),
        }),
        running: AtomicUsize::new(threads + 1),
        held: AtomicUsize::new(0),
        owner: std::thread::current(),
        owner_runs: threads < cores,
        died: AtomicBool::new(false),
    };

    std::thread::scope(|s| {
        let progress = opts.progress;
        let stage = &stage;
        s.spawn(move || {
            let _exit = Exit(stage);
            read_inputs(
                inputs,
                (max_buffers, chunk_size, map_files),
                progress,
                job_tx,
                stage,
                buf_rx,
            )
        });
        for worker in 0..threads {
            let (jobs, scans) = (&job_rx, &scan_rx);
            s.spawn(move || {
                let _exit = Exit(stage);
                let mut scanner =
                    Scanner::keeping_keys(opts.catalog, opts.default_year, key_budget);
                loop {
                    let job = jobs.lock().map(|rx| rx.recv());
                    let Ok(Ok((seq, chunk))) = job else { break };
                    let mut scan = scans
                        .lock()
                        .ok()
                        .and_then(|rx| rx.try_recv().ok())
                        .unwrap_or_default();
                    chunk.populate();
                    scanner.scan(chunk.bytes(), false, &mut scan);
                    stage.offer_from(seq, Item::Chunk(chunk, scan), worker == 0);
                }
            });
        }
        // Warnings as they come (and the stage, if it is this thread's
        // job), until every thread is done or one died.
        loop {
            if stage.owner_runs {
                stage.run_if_free();
            }
            for e in stage.take_warnings() {
                warn(&e);
            }
            if stage.running.load(Ordering::Acquire) == 0 {
                break;
            }
            if stage.died.load(Ordering::Relaxed) {
                // The reader may wait for a buffer that will not come back;
                // the scope re-raises the panic.
                stage.lock().buffers = None;
                break;
            }
            std::thread::park_timeout(Duration::from_millis(200));
        }
    });
    // Items handed in after the owner last looked.
    stage.run_if_free();
    for e in stage.take_warnings() {
        warn(&e);
    }
}

/// The ordered stage, shared by the threads: a thread that hands in an
/// item while the stage is free runs it, with every item that is then
/// next in input order; no thread of its own competes with the workers for
/// the cores. Among the workers, the first does so whenever it can and the
/// others only when items pile up ([`Stage::offer_from`]), so that the
/// stage's state stays in one core's cache. With fewer workers than cores,
/// the owner thread runs it on the core to spare.
struct Stage<'a, 's> {
    /// Items handed in while another thread ran the stage.
    inbox: Mutex<Vec<(u64, Item)>>,
    ordered: Mutex<Ordered<'a, 's>>,
    /// Threads (reader and workers) still running.
    running: AtomicUsize,
    /// Items the stage holds until their turn, as of its last run: with
    /// the inbox, what waits to be run.
    held: AtomicUsize,
    /// The thread that reports warnings and waits for the end.
    owner: std::thread::Thread,
    /// The owner runs the stage: there is a core to spare for it.
    owner_runs: bool,
    /// Set when a thread dies, so that a bug there ends the run instead of
    /// leaving the others waiting for a chunk that will never come.
    died: AtomicBool,
}

impl<'a, 's> Stage<'a, 's> {
    /// Hands in item `n`, and runs the stage if no other thread is (or
    /// wakes the owner, when the stage is its job).
    fn offer(&self, n: u64, item: Item) {
        self.offer_from(n, item, true);
    }

    /// [`Stage::offer`] from a worker. Only the first worker runs the stage
    /// whenever it can: the others leave their items to it unless
    /// [`LEAVE_BELOW`] or more are already waiting. The stage's state (the
    /// counts, the retry table) then stays in one core's cache instead of
    /// moving between cores with every chunk, and the workers even out by
    /// taking chunks as they come free. The bound keeps the run going when
    /// the first worker is busy or idle: before every buffer could wait in
    /// the stage with no thread left to run it, one hands in the item that
    /// reaches the bound, and runs it.
    fn offer_from(&self, n: u64, item: Item, first_worker: bool) {
        let inbox = {
            let mut inbox = self.inbox();
            inbox.push((n, item));
            inbox.len()
        };
        if !first_worker
            && !self.owner_runs
            && inbox + self.held.load(Ordering::Acquire) < LEAVE_BELOW
        {
            return;
        }
        if self.owner_runs {
            self.owner.unpark();
        } else {
            self.run_if_free();
        }
    }

    /// Runs the items handed in, unless another thread is running the
    /// stage: that thread looks at the inbox before it lets go, and again
    /// after.
    fn run_if_free(&self) {
        loop {
            let Ok(mut ordered) = self.ordered.try_lock() else {
                return;
            };
            loop {
                let batch = std::mem::take(&mut *self.inbox());
                if batch.is_empty() {
                    break;
                }
                for (n, it) in batch {
                    ordered.take(n, it);
                }
            }
            self.held.store(ordered.waiting.len(), Ordering::Release);
            let warned = !ordered.warnings.is_empty();
            drop(ordered);
            if warned {
                self.owner.unpark();
            }
            // An item handed in between the last look and letting go would
            // wait for the next one: look once more.
            if self.inbox().is_empty() {
                return;
            }
        }
    }

    fn inbox(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Item)>> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ordered<'a, 's>> {
        self.ordered.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take_warnings(&self) -> Vec<Error> {
        std::mem::take(&mut self.lock().warnings)
    }
}

/// Counts a thread out when it ends, and marks the stage when it ends
/// in a panic.
struct Exit<'r, 'a, 's>(&'r Stage<'a, 's>);

impl Drop for Exit<'_, '_, '_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.died.store(true, Ordering::Relaxed);
        }
        self.0.running.fetch_sub(1, Ordering::AcqRel);
        self.0.owner.unpark();
    }
}

/// The state of the ordered stage.
struct Ordered<'a, 's> {
    seq: Sequencer<'a>,
    agg: &'s mut Aggregator,
    /// Items that came before their turn.
    waiting: BTreeMap<u64, Item>,
    /// The number of the next item in input order.
    next: u64,
    /// The input being sequenced.
    current: String,
    /// Where chunk buffers go back to the reader; dropped to let a reader
    /// waiting for one go when a thread died.
    buffers: Option<Sender<Vec<u8>>>,
    /// Where scans go back to the workers.
    scans: Sender<Box<Scan>>,
    /// Inputs that could not be read, for the owner to report.
    warnings: Vec<Error>,
}

impl Ordered<'_, '_> {
    /// Takes item `n`, and runs every item that is now next.
    fn take(&mut self, n: u64, item: Item) {
        if n != self.next {
            self.waiting.insert(n, item);
            return;
        }
        self.run(item);
        while let Some(item) = self.waiting.remove(&self.next) {
            self.run(item);
        }
    }

    fn run(&mut self, item: Item) {
        self.next += 1;
        let agg = &mut *self.agg;
        match item {
            Item::Begin(name) => {
                self.current = name.clone();
                self.seq.begin_input(name, agg);
            }
            Item::Chunk(chunk, scan) => {
                self.seq.chunk(chunk.bytes(), &scan, agg);
                match &self.buffers {
                    Some(pool) => chunk.release(pool),
                    None => drop(chunk),
                }
                let _ = self.scans.send(scan);
            }
            Item::Oversized => self.seq.oversized(),
            Item::End(error) => {
                let text = error.as_ref().map(crate::error::describe_io);
                if let Some(e) = error {
                    self.warnings.push(Error::input(self.current.clone(), e));
                }
                self.seq.end_input(text, agg);
            }
            Item::OpenFailed(name, e) => {
                agg.files.push(FileStats {
                    path: name.clone(),
                    lines: LineStats::default(),
                    error: Some(crate::error::describe_io(&e)),
                });
                self.warnings.push(Error::input(name, e));
            }
        }
    }
}

/// Buffers for the reader: taken from those given back, or new up to a
/// limit, which bounds memory and the chunks in flight.
struct Pool {
    free: Receiver<Vec<u8>>,
    allocated: usize,
    max: usize,
}

impl Pool {
    /// A buffer; `None` when the consumer is gone.
    fn take(&mut self) -> Option<Vec<u8>> {
        match self.free.try_recv() {
            Ok(b) => Some(b),
            Err(_) if self.allocated < self.max => {
                self.allocated += 1;
                Some(Vec::new())
            }
            Err(_) => self.free.recv().ok(),
        }
    }

    /// A buffer that will not come back.
    fn forget(&mut self) {
        self.allocated -= 1;
    }
}

/// How reading a mapped file ended.
enum MappedEnd {
    /// All of it was handed out.
    Done,
    /// A process waits to write to the file; the rest is to be read from
    /// this offset on.
    WriterWaiting(u64),
    /// The consumer is gone.
    Gone,
}

/// The reader thread: opens each input in turn and cuts it into chunks.
fn read_inputs(
    inputs: &[InputSpec],
    (max_buffers, chunk_size, map_files): (usize, usize, bool),
    progress: Option<&crate::progress::Progress>,
    jobs: Sender<(u64, ChunkBytes)>,
    stage: &Stage<'_, '_>,
    free: Receiver<Vec<u8>>,
) {
    let mut seq = 0u64;
    let mut pool = Pool {
        free,
        allocated: 0,
        max: max_buffers,
    };
    let send = |item: Item, seq: &mut u64| {
        stage.offer(*seq, item);
        *seq += 1;
    };
    for spec in inputs {
        let name = spec.display_name();
        let stored = Arc::new(std::sync::atomic::AtomicU64::new(0));
        if let Some(p) = progress {
            p.start_input(&name);
        }
        let mapped = match spec {
            InputSpec::Path(path) if map_files => Mapped::open(path).map(|m| (path, Arc::new(m))),
            InputSpec::Path(_) => None,
            InputSpec::Stdin => None,
        };
        let opened = match mapped {
            Some((path, m)) => {
                send(Item::Begin(name), &mut seq);
                let ctx = (&jobs, stage, progress);
                match read_mapped(m, chunk_size, &mut pool, &mut seq, ctx) {
                    MappedEnd::Done => {
                        send(Item::End(None), &mut seq);
                        continue;
                    }
                    MappedEnd::Gone => return,
                    MappedEnd::WriterWaiting(at) => {
                        stored.store(at, Ordering::Relaxed);
                        let counted = progress.map(|_| stored.clone());
                        match source::open_at(path, at, counted) {
                            Ok(r) => r,
                            Err(e) => {
                                send(Item::End(Some(e)), &mut seq);
                                continue;
                            }
                        }
                    }
                }
            }
            None => match source::open_counted(spec, progress.map(|_| stored.clone())) {
                Ok(r) => {
                    send(Item::Begin(name), &mut seq);
                    r
                }
                Err(e) => {
                    send(Item::OpenFailed(name, e), &mut seq);
                    continue;
                }
            },
        };
        let mut chunks = ChunkReader::with_sizes(opened, chunk_size, MAX_LINE);
        let error = loop {
            let Some(buf) = pool.take() else { return };
            let piece = chunks.next_piece(buf);
            if let Some(p) = progress {
                p.input_position(stored.load(Ordering::Relaxed));
            }
            match piece {
                Ok(Ok(Piece::Chunk { buf, len })) => {
                    if jobs.send((seq, ChunkBytes::Read(buf, len))).is_err() {
                        return;
                    }
                    seq += 1;
                }
                Ok(Ok(Piece::Oversized(_))) => {
                    pool.forget(); // the buffer was only scratch; let it go
                    send(Item::Oversized, &mut seq);
                }
                Ok(Err(unused)) => {
                    drop(unused);
                    pool.forget();
                    break None;
                }
                Err(e) => {
                    pool.forget();
                    break Some(e);
                }
            }
        };
        send(Item::End(error), &mut seq);
    }
}

/// Where the reader sends chunks, other items and progress.
type Outlets<'a, 'b, 's> = (
    &'a Sender<(u64, ChunkBytes)>,
    &'a Stage<'b, 's>,
    Option<&'a crate::progress::Progress>,
);

/// Hands out a mapped file as chunks of whole lines, as
/// [`ChunkReader`] cuts a read one (lines over [`MAX_LINE`] are skipped
/// and counted), until the end or until a writer waits for the lease.
fn read_mapped(
    m: Arc<Mapped>,
    chunk_size: usize,
    pool: &mut Pool,
    seq: &mut u64,
    (jobs, stage, progress): Outlets<'_, '_, '_>,
) -> MappedEnd {
    let len = m.bytes().len();
    let mut pos = 0;
    while pos < len {
        if m.lease_breaking() {
            return hand_back(m, pos, stage);
        }
        let bytes = m.bytes();
        let target = (pos + chunk_size).min(len);
        let last_newline = if target == len {
            Some(len - pos - 1)
        } else {
            memchr::memrchr(b'\n', &bytes[pos..target])
        };
        let end = match last_newline {
            // (At the end of the file: the end, newline or not.)
            Some(i) => pos + i + 1,
            // One line longer than a chunk: it ends the chunk, or is
            // skipped if it is over the limit.
            None => match line_end(&m, target, pos + MAX_LINE + 1) {
                Some(e) => e,
                None => {
                    let e = line_end(&m, pos + MAX_LINE + 1, usize::MAX).unwrap_or(len);
                    m.done_with(pos, e);
                    stage.offer(*seq, Item::Oversized);
                    *seq += 1;
                    pos = e;
                    continue;
                }
            },
        };
        let Some(token) = pool.take() else {
            return MappedEnd::Gone;
        };
        if jobs
            .send((*seq, ChunkBytes::Mapped(m.clone(), pos, end, token)))
            .is_err()
        {
            return MappedEnd::Gone;
        }
        *seq += 1;
        pos = end;
        if let Some(p) = progress {
            p.input_position(pos as u64);
        }
    }
    MappedEnd::Done
}

/// Just past the first newline at or after `from` in the mapping, if one
/// is before `limit` (or the end of the file, which ends the last line);
/// `None` past the limit. Pages searched through are let go as it goes.
fn line_end(m: &Mapped, from: usize, limit: usize) -> Option<usize> {
    let bytes = m.bytes();
    let mut at = from.min(bytes.len());
    while at < bytes.len() {
        if at >= limit {
            return None;
        }
        let step = (bytes.len() - at).min(1 << 20).min(limit - at);
        if let Some(i) = memchr::memchr(b'\n', &bytes[at..at + step]) {
            return Some(at + i + 1);
        }
        m.done_with(at, at + step);
        at += step;
    }
    (bytes.len() <= limit).then_some(bytes.len())
}

/// Waits until the mapped chunks handed out are done with (bounded in
/// time, as the kernel ends the lease itself after a while), then lets
/// the mapping and its lease go. Runs the stage meanwhile: chunks a worker
/// left there for the first one ([`Stage::offer_from`]) would otherwise
/// wait for a worker that has no chunk left to hand in.
fn hand_back(m: Arc<Mapped>, pos: usize, stage: &Stage<'_, '_>) -> MappedEnd {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while Arc::strong_count(&m) > 1 && std::time::Instant::now() < deadline {
        stage.run_if_free();
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(m);
    MappedEnd::WriterWaiting(pos as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (cause, count, attempts, upstreams, routes) of one cause.
    type Row = (String, u64, u64, Vec<String>, Vec<String>);

    fn aggregate(log: &[u8], filters: &Filters, threads: usize) -> Aggregator {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("error.log");
        std::fs::write(&p, log).unwrap();
        aggregate_file(&p, filters, threads)
    }

    fn aggregate_file(p: &std::path::Path, filters: &Filters, threads: usize) -> Aggregator {
        aggregate_on(p, filters, threads, available_cores())
    }

    /// [`aggregate_file`] laid out for a machine with `cores` cores.
    fn aggregate_on(
        p: &std::path::Path,
        filters: &Filters,
        threads: usize,
        cores: usize,
    ) -> Aggregator {
        let p = p.to_path_buf();
        let catalog = Catalog::new();
        let mut agg = Aggregator::new(60);
        let opts = RunOptions {
            catalog: &catalog,
            filters,
            default_year: 2026,
            threads,
            progress: None,
        };
        run_on(&[InputSpec::Path(p)], &opts, &mut agg, &mut |_| {}, cores);
        agg
    }

    /// A log over [`crate::mapped::MIN_MAPPED`]: failures with routes and
    /// upstreams, multi-line records, and lines over the length limit.
    fn big_log(p: &std::path::Path, mib: usize) {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(p).unwrap());
        let mut written = 0;
        let mut i = 0usize;
        while written < mib << 20 {
            let line = failure_line(i, REFUSED, i, &format!("/r{}/{i}", i % 300), i % 9);
            f.write_all(line.as_bytes()).unwrap();
            written += line.len();
            if i % 5 == 0 {
                f.write_all(STDERR_RECORD.as_bytes()).unwrap();
                written += STDERR_RECORD.len();
            }
            if i % 20_000 == 7 {
                // Over the line limit, and longer than a chunk.
                let long = vec![b'x'; MAX_LINE + CHUNK_SIZE];
                f.write_all(&long).unwrap();
                f.write_all(b"\n").unwrap();
                written += long.len() + 1;
            }
            i += 1;
        }
    }

    /// A file nobody writes is scanned in place; the report is the one of
    /// reading it (forced here by holding it open for writing). Both runs
    /// use as many threads as cores: files are mapped only then.
    #[test]
    fn a_mapped_file_gives_the_report_of_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.log");
        big_log(&p, 24);
        assert!(crate::mapped::Mapped::open(&p).is_some(), "mapped");
        let mapped = crate::report::Report::build(&aggregate_file(
            &p,
            &Filters::default(),
            available_cores(),
        ));
        let writer = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        assert!(crate::mapped::Mapped::open(&p).is_none(), "read");
        let read = crate::report::Report::build(&aggregate_file(
            &p,
            &Filters::default(),
            available_cores(),
        ));
        drop(writer);
        assert!(read.lines.oversized >= 2);
        assert!(read.total_failures > 50_000);
        assert_eq!(mapped, read);
    }

    /// A process that opens the file for writing mid-run waits only until
    /// the mapped chunks out are done; the rest is read, and the report is
    /// the same.
    #[test]
    fn a_writer_mid_run_switches_to_reading() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.log");
        big_log(&p, 160);
        let reference = {
            let _writer = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
            crate::report::Report::build(&aggregate_file(
                &p,
                &Filters::default(),
                available_cores(),
            ))
        };
        assert!(crate::mapped::Mapped::open(&p).is_some(), "mapped");
        let p2 = p.clone();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let start = std::time::Instant::now();
            let f = std::fs::OpenOptions::new().append(true).open(&p2).unwrap();
            (f, start, std::time::Instant::now())
        });
        let agg = aggregate_file(&p, &Filters::default(), available_cores());
        let run_end = std::time::Instant::now();
        let report = crate::report::Report::build(&agg);
        let (_f, asked, got_in) = writer.join().unwrap();
        assert_eq!(report, reference);
        assert!(
            got_in < run_end,
            "the writer got in while the file was being read"
        );
        // It waited for the chunks out, not for the whole file.
        let (waited, rest) = (got_in - asked, run_end - got_in);
        assert!(
            waited < rest,
            "waited {waited:?}, then the run took {rest:?}"
        );
    }

    /// Runs `log` through the pipeline: a row per cause with failures, and
    /// the line stats.
    fn run_log(log: &str) -> (Vec<Row>, LineStats) {
        let agg = aggregate(log.as_bytes(), &Filters::default(), 2);
        let report = crate::report::Report::build(&agg);
        let causes = report
            .causes
            .iter()
            .map(|c| {
                (
                    c.cause.clone(),
                    c.count,
                    c.attempts,
                    c.upstreams
                        .iter()
                        .map(|u| format!("{}={}", u.upstream, u.count))
                        .collect(),
                    c.routes
                        .iter()
                        .map(|r| format!("{}={}", r.route, r.count))
                        .collect(),
                )
            })
            .collect();
        (causes, agg.files[0].lines.clone())
    }

    // Hand-written edge cases in the exact shapes Apache 2.4 writes.
    #[test]
    fn apache_connect_failure_is_one_request() {
        let log = "\
[Sat Nov 21 10:00:00.000001 2026] [proxy:error] [pid 10:tid 20] (111)Connection refused: AH00957: http: attempt to connect to 127.0.0.1:18081 (127.0.0.1:18081) failed
[Sat Nov 21 10:00:00.000002 2026] [proxy:error] [pid 10:tid 20] AH00959: ap_proxy_connect_backend disabling worker for (127.0.0.1:18081) for 60s
[Sat Nov 21 10:00:00.000003 2026] [proxy_http:error] [pid 10:tid 20] [client 127.0.0.1:5000] AH01114: HTTP: failed to make connection to backend: 127.0.0.1
[Sat Nov 21 10:00:00.000004 2026] [proxy:error] [pid 10:tid 21] (111)Connection refused: AH00957: http: attempt to connect to 127.0.0.1:18081 (127.0.0.1:18081) failed
[Sat Nov 21 10:00:00.000005 2026] [proxy_http:error] [pid 10:tid 21] [client 127.0.0.1:5001] AH01114: HTTP: failed to make connection to backend: 127.0.0.1
";
        let (causes, stats) = run_log(log);
        assert_eq!(
            causes,
            vec![(
                "upstream_refused".into(),
                2,
                2,
                vec!["http://127.0.0.1:18081=2".into()],
                vec![]
            )]
        );
        assert_eq!(stats.matched, 5);
    }

    #[test]
    fn apache_timeout_takes_cause_and_route_from_two_lines() {
        let log = "\
[Sat Nov 21 10:00:01.000001 2026] [proxy_http:error] [pid 10:tid 20] (70007)The timeout specified has expired: [client 127.0.0.1:5000] AH01102: error reading status line from remote server 127.0.0.1:18082
[Sat Nov 21 10:00:01.000002 2026] [proxy:error] [pid 10:tid 20] [client 127.0.0.1:5000] AH00898: Error reading from remote server returned by /api/users/42
";
        let (causes, _) = run_log(log);
        assert_eq!(
            causes,
            vec![(
                "upstream_timeout".into(),
                1,
                1,
                vec!["http://127.0.0.1:18082=1".into()],
                vec!["/api/users/:id=1".into()]
            )]
        );
    }

    #[test]
    fn apache_standalone_lines_on_one_thread_stay_separate() {
        let log = "\
[Sat Nov 21 10:00:00.1 2026] [proxy:error] [pid 10:tid 20] AH00940: HTTP: disabled connection for (127.0.0.1:18081)
[Sat Nov 21 10:00:00.2 2026] [proxy:error] [pid 10:tid 20] AH00940: HTTP: disabled connection for (127.0.0.1:18081)
[Sat Nov 21 10:00:09.2 2026] [proxy:error] [pid 10:tid 20] [client 127.0.0.1:5000] AH00898: DNS lookup failure for: nosuch.invalid returned by /x
";
        let (causes, _) = run_log(log);
        let got: Vec<(String, u64)> = causes.iter().map(|c| (c.0.clone(), c.1)).collect();
        assert_eq!(
            got,
            [
                ("no_live_upstreams".to_string(), 2),
                ("dns_resolution".to_string(), 1)
            ]
        );
    }

    #[test]
    fn nginx_retries_are_attempts_of_one_request() {
        let log = r#"2026/11/20 10:00:00 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: "GET /a HTTP/1.1", upstream: "http://10.0.0.1:80/a", host: "h"
2026/11/20 10:00:00 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: "GET /a HTTP/1.1", upstream: "http://10.0.0.2:80/a", host: "h"
2026/11/20 10:00:00 [error] 7#7: *1 no live upstreams while connecting to upstream, client: 1.1.1.1, server: s, request: "GET /a HTTP/1.1", upstream: "http://backend/a", host: "h"
2026/11/20 10:00:05 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: "GET /a HTTP/1.1", upstream: "http://10.0.0.1:80/a", host: "h"
2026/11/20 10:00:05 [error] 7#7: *2 connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: "GET /a HTTP/1.1", upstream: "http://10.0.0.2:80/a", host: "h"
"#;
        let (causes, _) = run_log(log);
        let got: Vec<(String, u64, u64)> = causes.iter().map(|c| (c.0.clone(), c.1, c.2)).collect();
        // Request 1 (two servers), request 2 on the same keepalive
        // connection, request 3 on another connection.
        assert_eq!(
            got,
            [
                ("upstream_refused".to_string(), 3, 4),
                ("no_live_upstreams".to_string(), 1, 1)
            ]
        );
    }

    const STDERR_RECORD: &str = "2026/11/20 10:00:00 [error] 7#7: *1 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Uncaught Exception: boom in /var/www/f.php:3
Stack trace:
#0 {main}
  thrown in /var/www/f.php on line 3\" while reading response header from upstream, client: 1.1.1.1, server: s, request: \"GET /f.php HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/php8.2-fpm.sock:\", host: \"h\"
";

    #[test]
    fn fastcgi_stderr_over_several_lines_is_one_record() {
        let (causes, stats) = run_log(&format!("{STDERR_RECORD}garbage after\n"));
        assert_eq!(
            causes,
            vec![(
                "php_fatal".into(),
                1,
                1,
                vec!["unix:/run/php/php8.2-fpm.sock=1".into()],
                vec!["/f.php=1".into()]
            )]
        );
        assert_eq!(
            (
                stats.total,
                stats.continuation,
                stats.matched,
                stats.unrecognized
            ),
            (5, 3, 4, 1)
        );
    }

    /// The same log cut into chunks at every possible place gives the same
    /// result as one chunk: records across chunk ends are joined.
    #[test]
    fn chunk_boundaries_do_not_change_the_result() {
        let log = format!(
            "junk first\n{STDERR_RECORD}{}\n{STDERR_RECORD}\n",
            "2026/11/20 10:00:01 [error] 7#7: *2 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.1.1.1, server: s, request: \"GET /t HTTP/1.1\", upstream: \"http://10.0.0.3:80/t\", host: \"h\""
        );
        let catalog = Catalog::new();
        let filters = Filters::default();
        let whole = {
            let mut agg = Aggregator::new(60);
            let mut seq = Sequencer::new(&catalog, &filters, 2026);
            let mut scanner = Scanner::new(&catalog, 2026);
            let mut scan = Scan::default();
            seq.begin_input("t".into(), &mut agg);
            scanner.scan(log.as_bytes(), false, &mut scan);
            seq.chunk(log.as_bytes(), &scan, &mut agg);
            seq.end_input(None, &mut agg);
            crate::report::Report::build(&agg)
        };
        assert_eq!(whole.total_failures, 3);
        let bytes = log.as_bytes();
        let cuts: Vec<usize> = (1..bytes.len())
            .filter(|&i| bytes[i - 1] == b'\n')
            .collect();
        for &a in &cuts {
            for &b in cuts.iter().filter(|&&b| b > a) {
                let mut agg = Aggregator::new(60);
                let mut seq = Sequencer::new(&catalog, &filters, 2026);
                let mut scanner = Scanner::new(&catalog, 2026);
                let mut scan = Scan::default();
                seq.begin_input("t".into(), &mut agg);
                for part in [&bytes[..a], &bytes[a..b], &bytes[b..]] {
                    scanner.scan(part, false, &mut scan);
                    seq.chunk(part, &scan, &mut agg);
                }
                seq.end_input(None, &mut agg);
                let r = crate::report::Report::build(&agg);
                assert_eq!(r, whole, "cut at {a} and {b}");
            }
        }
    }

    /// A record continued across a chunk end is joined up to MAX_RECORD;
    /// its further continuation lines are counted, its closing line kept.
    #[test]
    fn a_record_across_chunks_is_joined_up_to_the_cap() {
        let catalog = Catalog::new();
        let filters = Filters::default();
        let first = "2026/11/20 10:00:00 [error] 7#7: *1 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  boom\n";
        let middle: String = (0..3000)
            .map(|i| format!("#{i} /var/www/app/vendor/lib/deep/stack/frame.php(12): call()\n"))
            .collect();
        let last = "  thrown\" while reading response header from upstream, client: 1.1.1.1, server: s, request: \"GET /f.php HTTP/1.1\", upstream: \"fastcgi://127.0.0.1:9000\", host: \"h\"\n";
        assert!(middle.len() > 2 * MAX_RECORD);
        let mut agg = Aggregator::new(60);
        let mut seq = Sequencer::new(&catalog, &filters, 2026);
        let mut scanner = Scanner::new(&catalog, 2026);
        let mut scan = Scan::default();
        seq.begin_input("t".into(), &mut agg);
        for part in [first, middle.as_str(), last] {
            scanner.scan(part.as_bytes(), false, &mut scan);
            seq.chunk(part.as_bytes(), &scan, &mut agg);
        }
        seq.end_input(None, &mut agg);
        let r = crate::report::Report::build(&agg);
        assert_eq!(r.causes.len(), 1);
        assert_eq!(r.causes[0].cause, "php_fatal");
        assert_eq!(
            r.causes[0].upstreams[0].upstream,
            "fastcgi://127.0.0.1:9000"
        );
        assert_eq!(r.lines.total, 3002);
        assert_eq!(r.lines.continuation, 3001);
        assert_eq!(r.lines.matched, 3002);
    }

    /// An nginx failure line numbered `i` (its time follows `i`): `what`
    /// is the message with its action, on connection `cid`, for request
    /// `route` to upstream 10.0.0.`host`.
    fn failure_line(i: usize, what: &str, cid: usize, route: &str, host: usize) -> String {
        format!(
            "2026/11/20 10:{:02}:{:02} [error] 7#7: *{cid} {what}, client: 1.1.1.1, server: s, request: \"GET {route} HTTP/1.1\", upstream: \"http://10.0.0.{host}:80/r\", host: \"h\"\n",
            (i / 60) % 60,
            i % 60,
        )
    }

    const REFUSED: &str = "connect() failed (111: Connection refused) while connecting to upstream";

    /// Scanners that keep their keys from chunk to chunk, starting afresh
    /// at any budget, and take turns as workers do, give the report of
    /// scanners that start afresh with every chunk.
    #[test]
    fn kept_keys_give_the_same_report_whatever_the_budget() {
        let mut log = String::new();
        for i in 0..3_000 {
            log.push_str(&failure_line(
                i,
                "upstream timed out (110: Connection timed out) while reading response header from upstream",
                i / 2,
                &format!("/r{}/{i}", i % 50),
                i % 13,
            ));
            if i % 7 == 0 {
                log.push_str(STDERR_RECORD);
            }
        }
        let chunks: Vec<&[u8]> = {
            let mut out = Vec::new();
            let mut rest = log.as_bytes();
            while !rest.is_empty() {
                let cut = rest.len().min(4000);
                let cut = memchr::memrchr(b'\n', &rest[..cut]).map_or(rest.len(), |i| i + 1);
                out.push(&rest[..cut]);
                rest = &rest[cut..];
            }
            out
        };
        assert!(chunks.len() > 50);
        let catalog = Catalog::new();
        let filters = Filters::default();
        let report = |scanners: &mut [Scanner<'_>]| {
            let mut agg = Aggregator::new(60);
            let mut seq = Sequencer::new(&catalog, &filters, 2026);
            let mut scan = Scan::default();
            let mut fresh = 0;
            seq.begin_input("t".into(), &mut agg);
            for (i, part) in chunks.iter().enumerate() {
                let n = scanners.len();
                scanners[i % n].scan(part, false, &mut scan);
                fresh += usize::from(scan.key_source.fresh());
                seq.chunk(part, &scan, &mut agg);
            }
            seq.end_input(None, &mut agg);
            (crate::report::Report::build(&agg), fresh)
        };
        let (fresh, fresh_scans) = report(&mut [Scanner::new(&catalog, 2026)]);
        assert_eq!(fresh_scans, chunks.len());
        assert_eq!(fresh.total_failures, 3_000 + 3_000 / 7 + 1);
        for budget in [1, 2_000, 1 << 20] {
            for workers in [1, 3] {
                let mut scanners: Vec<Scanner<'_>> = (0..workers)
                    .map(|_| Scanner::keeping_keys(&catalog, 2026, budget))
                    .collect();
                let (kept, fresh_scans) = report(&mut scanners);
                assert_eq!(kept, fresh, "budget {budget}, {workers} scanners");
                match budget {
                    1 => assert_eq!(fresh_scans, chunks.len()),
                    2_000 => assert!(fresh_scans > workers && fresh_scans < chunks.len()),
                    _ => assert_eq!(fresh_scans, workers),
                }
            }
        }
    }

    #[test]
    fn any_thread_count_gives_the_same_report() {
        let mut log = String::new();
        for i in 0..20_000 {
            log.push_str(&failure_line(i, REFUSED, i, &format!("/r/{i}"), i % 7));
            if i % 3 == 0 {
                log.push_str(STDERR_RECORD);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("error.log");
        std::fs::write(&p, log).unwrap();
        let one = crate::report::Report::build(&aggregate_on(&p, &Filters::default(), 1, 2));
        assert!(one.total_failures > 20_000);
        // With a core to spare the owner thread runs the ordered stage;
        // otherwise the workers take turns at it.
        for (threads, cores) in [(1, 1), (2, 1), (2, 64), (3, 2), (8, 2), (8, 64)] {
            let many = aggregate_on(&p, &Filters::default(), threads, cores);
            let many = crate::report::Report::build(&many);
            assert_eq!(one, many, "{threads} threads on {cores} cores");
        }
    }

    #[test]
    fn filters_apply_to_failures() {
        let log = r#"2026/11/20 10:00:00 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: "GET /a HTTP/1.1", upstream: "http://10.0.0.1:80/a", host: "h"
2026/11/20 11:00:00 [error] 7#7: *2 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.1.1.1, server: s, request: "GET /a HTTP/1.1", upstream: "http://10.0.0.2:80/a", host: "h"
"#;
        let filters = Filters {
            since: crate::parse::time::parse_user("2026-11-20 10:30"),
            ..Default::default()
        };
        assert_eq!(aggregate(log.as_bytes(), &filters, 1).total_failures(), 1);
        let filters = Filters {
            upstream: Some("10.0.0.1".into()),
            ..Default::default()
        };
        let r = crate::report::Report::build(&aggregate(log.as_bytes(), &filters, 1));
        assert_eq!(r.causes.len(), 1);
        assert_eq!(r.causes[0].cause, "upstream_refused");
        assert_eq!(r.lines.matched, 1);
    }

    #[test]
    fn chunk_buffers_stay_within_their_budget() {
        assert_eq!(chunk_size(5), CHUNK_SIZE);
        for threads in [1, 2, 4, 8, 16, 64, 512] {
            let buffers = threads + 3;
            let size = chunk_size(buffers);
            assert!(
                (256 << 10..=CHUNK_SIZE).contains(&size),
                "{threads}: {size}"
            );
            assert!(
                buffers * size <= BUFFER_BUDGET || size == 256 << 10,
                "{threads}"
            );
        }
    }
}
