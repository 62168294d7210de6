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
//! once, in input order, in the [`Sequencer`]. This module only wires the
//! threads: reading is [`crate::input::reader`]'s, scanning
//! [`crate::scan`]'s, ordering [`crate::order`]'s. The ordered stage has no
//! thread of its own: a thread that hands in an item while it is free
//! runs it, the first worker by preference (see `Stage`). Chunks are cut
//! the same way whatever the thread count, so the report is byte-identical
//! for any `--threads`. Buffers circulate through a fixed pool, which
//! bounds memory.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::aggregate::{Aggregator, FileStats};
use crate::catalog::Catalog;
use crate::error::{Error, describe_io};
use crate::input::lines::CHUNK_SIZE;
use crate::input::progress::Progress;
use crate::input::reader::{self, ChunkBytes, Outlet, ReadOptions};
use crate::input::source::InputSpec;
use crate::order::{Filters, Sequencer};
use crate::parse::access::AccessFormats;
use crate::scan::{InputReading, Scan, Scanner};

/// What the ordered stage takes, in input order (`seq`).
enum Item {
    /// A chunk and its scan.
    Chunk(ChunkBytes, Box<Scan>),
    /// Anything else the reader said.
    Read(reader::Item),
}

/// How a run of the pipeline is set up.
pub struct RunOptions<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// Which failures count.
    pub filters: &'a Filters,
    /// Year for syslog stamps without one.
    pub default_year: i32,
    /// When the machine booted, for the kernel's uptime stamps.
    pub boot_time: Option<crate::event::LocalTime>,
    /// Scanning threads (at least one).
    pub threads: usize,
    /// Input bytes each scanning thread past the first needs to be
    /// started (0: as many as `threads` says, one per chunk at most).
    pub bytes_per_worker: usize,
    /// A progress bar to keep up to date.
    pub progress: Option<&'a Progress>,
    /// How access-log lines are read.
    pub access: AccessFormats,
    /// How each input is read, by its index in the inputs (its times
    /// shifted, its access format); an input past the end is read plainly.
    pub reading: &'a [InputReading],
}

/// An input read as written.
static PLAIN: InputReading = InputReading {
    shift: 0,
    access: None,
};

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

/// Bytes of plain input each scanning thread past the first must have
/// for the default thread count to start it. A thread costs its start,
/// its own tables learning the same keys again, and on few cores a share
/// of a core the ordered stage and the reader also want: on 2 cores one
/// worker is faster up to about 8 MiB (`benches/suite.sh`' paste row
/// among them), two are from 16 MiB on.
pub const BYTES_PER_WORKER: usize = 8 << 20;

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

/// The cores this process may run on (1 if that cannot be told), asked
/// of the system once per process (it reads the cgroup's CPU quota files).
pub fn available_cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The scanning threads worth starting for `inputs` read in chunks of
/// `chunk_size` bytes with `threads` asked for: no more than the chunks
/// the inputs make, nor than one and one more per `bytes_per_worker`
/// bytes past the first (when that is not 0), where every input is a
/// plain regular file whose size tells that (a worker without a chunk
/// would only be started, given its tables and stopped). What the run
/// counts does not depend on how many threads scan.
fn workers_for(
    inputs: &[InputSpec],
    threads: usize,
    chunk_size: usize,
    bytes_per_worker: usize,
) -> usize {
    let (mut chunks, mut bytes) = (0usize, 0usize);
    let worth = |chunks: usize, bytes: usize| {
        let by_size = match bytes_per_worker {
            0 => usize::MAX,
            per => 1 + bytes.saturating_sub(1) / per,
        };
        chunks.max(1).min(by_size)
    };
    for input in inputs {
        if worth(chunks, bytes) >= threads {
            break;
        }
        let Some(len) = crate::input::source::plain_size(input) else {
            return threads;
        };
        // One more byte, should the file grow before it is read.
        let len = usize::try_from(len.saturating_add(1)).unwrap_or(usize::MAX);
        chunks = chunks.saturating_add(len.div_ceil(chunk_size.max(1)));
        bytes = bytes.saturating_add(len);
    }
    threads.min(worth(chunks, bytes))
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
    // Buffers in circulation: one per worker, one being read, one waiting
    // for a worker and one with the ordered stage; more only cost memory.
    let max_buffers = threads + 3;
    let chunk_size = chunk_size(max_buffers);
    let key_budget = (KEY_BUDGET / threads).max(16 << 10);
    let threads = workers_for(inputs, threads, chunk_size, opts.bytes_per_worker);
    let (job_tx, job_rx) = channel::<(u64, ChunkBytes)>();
    let job_rx = Mutex::new(job_rx);
    let (buf_tx, buf_rx) = channel::<Vec<u8>>();
    let (scan_tx, scan_rx) = channel::<Box<Scan>>();
    let scan_rx = Mutex::new(scan_rx);
    let stage = Stage {
        inbox: Mutex::new(Vec::new()),
        ordered: Mutex::new(Ordered {
            seq: Sequencer::new(opts.catalog, opts.filters, opts.default_year)
                .with_boot_time(opts.boot_time),
            agg,
            waiting: BTreeMap::new(),
            next: 0,
            current: String::new(),
            buffers: Some(buf_tx),
            scans: scan_tx,
            warnings: Vec::new(),
            reading: opts.reading,
            rescan: Rescan {
                catalog: opts.catalog,
                default_year: opts.default_year,
                boot_time: opts.boot_time,
                access: opts.access.clone(),
                scanner: None,
            },
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
            let read = ReadOptions {
                max_buffers,
                chunk_size,
            };
            let out = ToStage {
                jobs: job_tx,
                stage,
            };
            reader::read_inputs(inputs, read, progress, &out, buf_rx)
        });
        for worker in 0..threads {
            let (jobs, scans) = (&job_rx, &scan_rx);
            s.spawn(move || {
                let _exit = Exit(stage);
                let mut scanner =
                    Scanner::keeping_keys(opts.catalog, opts.default_year, key_budget)
                        .with_boot_time(opts.boot_time)
                        .with_access(opts.access.clone());
                loop {
                    let job = jobs.lock().map(|rx| rx.recv());
                    let Ok(Ok((seq, chunk))) = job else { break };
                    let mut scan = scans
                        .lock()
                        .ok()
                        .and_then(|rx| rx.try_recv().ok())
                        .unwrap_or_default();
                    scanner.set_input(opts.reading.get(chunk.input()).unwrap_or(&PLAIN));
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

    fn inbox(&self) -> MutexGuard<'_, Vec<(u64, Item)>> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock(&self) -> MutexGuard<'_, Ordered<'a, 's>> {
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
    /// How each input is read (by index; none: all alike).
    reading: &'a [InputReading],
    /// Scans again the chunks that a file cut short under them left.
    rescan: Rescan<'a>,
}

/// The ordered stage's own scanner, made the first time a file is cut
/// short under a chunk read in place.
struct Rescan<'a> {
    catalog: &'a Catalog,
    default_year: i32,
    boot_time: Option<crate::event::LocalTime>,
    access: AccessFormats,
    /// Boxed: a scanner is large, and the stage is moved around whole.
    scanner: Option<Box<(Scanner<'a>, Scan)>>,
}

impl<'a> Rescan<'a> {
    /// The scan of `lines`, read as `reading` says.
    fn scan(&mut self, lines: &[u8], reading: &InputReading) -> &Scan {
        let (scanner, scan) = &mut **self.scanner.get_or_insert_with(|| {
            let scanner = Scanner::new(self.catalog, self.default_year)
                .with_boot_time(self.boot_time)
                .with_access(self.access.clone());
            Box::new((scanner, Scan::default()))
        });
        scanner.set_input(reading);
        scanner.scan(lines, false, scan);
        scan
    }
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
            Item::Chunk(chunk, scan) => {
                match chunk.lines_left() {
                    None => self.seq.chunk(chunk.bytes(), &scan, agg),
                    // The file was cut short under the chunk, read in
                    // place, before its turn came: past the cut its bytes
                    // read as zeros, whatever the worker saw. Only its lines
                    // before the cut count, as reading the file would have
                    // found them; the worker's scan gives only its keys.
                    Some(lines) => {
                        self.seq.keys_only(&scan);
                        let reading = self.reading.get(chunk.input()).unwrap_or(&PLAIN);
                        let again = self.rescan.scan(lines, reading);
                        self.seq.chunk(lines, again, agg);
                    }
                }
                match &self.buffers {
                    Some(pool) => chunk.release(pool),
                    None => drop(chunk),
                }
                let _ = self.scans.send(scan);
            }
            Item::Read(reader::Item::Begin(name, index)) => {
                self.current = name.clone();
                self.seq
                    .set_input(self.reading.get(index).unwrap_or(&PLAIN));
                self.seq.begin_input(name, agg);
            }
            Item::Read(reader::Item::Oversized) => self.seq.oversized(),
            Item::Read(reader::Item::End(error)) => {
                let text = error.as_ref().map(describe_io);
                if let Some(e) = error {
                    self.warnings.push(Error::input(self.current.clone(), e));
                }
                self.seq.end_input(text, agg);
            }
            Item::Read(reader::Item::OpenFailed(name, e)) => {
                agg.files.push(FileStats {
                    path: name.clone(),
                    lines: Default::default(),
                    error: Some(describe_io(&e)),
                });
                self.warnings.push(Error::input(name, e));
            }
        }
    }
}

/// The reader's outlet: chunks to the workers, the rest to the ordered
/// stage.
struct ToStage<'r, 'a, 's> {
    jobs: Sender<(u64, ChunkBytes)>,
    stage: &'r Stage<'a, 's>,
}

impl Outlet for ToStage<'_, '_, '_> {
    fn chunk(&self, seq: u64, chunk: ChunkBytes) -> bool {
        self.jobs.send((seq, chunk)).is_ok()
    }

    fn item(&self, seq: u64, item: reader::Item) {
        self.stage.offer(seq, Item::Read(item));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::LineStats;
    use crate::order::MAX_RECORD;

    /// Workers are started for the chunks plain files make, and as asked
    /// for when the inputs do not tell their size (stdin, compressed).
    #[test]
    fn workers_for_the_chunks_the_inputs_make() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small.log");
        std::fs::write(&small, b"one line\n").unwrap();
        let big = dir.path().join("big.log");
        std::fs::write(&big, vec![b'x'; 3000]).unwrap();
        let gz = dir.path().join("small.log.gz");
        std::fs::write(&gz, b"\x1f\x8b\x08\x00rest").unwrap();
        let empty = dir.path().join("empty.log");
        std::fs::write(&empty, b"").unwrap();
        let path = |p: &std::path::Path| InputSpec::Path(p.to_path_buf());
        assert_eq!(workers_for(&[path(&small)], 4, 1024, 0), 1);
        assert_eq!(workers_for(&[path(&empty)], 4, 1024, 0), 1);
        assert_eq!(workers_for(&[path(&small), path(&empty)], 4, 1024, 0), 2);
        assert_eq!(workers_for(&[path(&big)], 4, 1024, 0), 3);
        assert_eq!(workers_for(&[path(&big)], 2, 1024, 0), 2);
        assert_eq!(workers_for(&[path(&gz)], 4, 1024, 0), 4);
        assert_eq!(
            workers_for(&[path(&small), InputSpec::Stdin], 4, 1024, 0),
            4
        );
        assert_eq!(
            workers_for(&[path(&dir.path().join("none"))], 3, 1024, 0),
            3
        );
        // Fewer for small inputs when the count is not given: one, and
        // one more per `per` bytes past the first (the byte the file may
        // grow by counted), never more than the chunks.
        assert_eq!(workers_for(&[path(&big)], 4, 1024, 3001), 1);
        assert_eq!(workers_for(&[path(&big)], 4, 1024, 3000), 2);
        assert_eq!(workers_for(&[path(&big)], 4, 1024, 1000), 3);
        assert_eq!(workers_for(&[path(&big)], 4, 1024, 1), 3);
        assert_eq!(workers_for(&[path(&big), path(&big)], 8, 1024, 2000), 4);
        assert_eq!(workers_for(&[path(&gz)], 4, 1024, 3000), 4);
    }

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
            boot_time: None,
            threads,
            bytes_per_worker: 0,
            progress: None,
            access: AccessFormats::default(),
            reading: &[],
        };
        run_on(&[InputSpec::Path(p)], &opts, &mut agg, &mut |_| {}, cores);
        agg
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
                // No failure before them: the workers are taken to be
                // marked down.
                ("upstreams_down".to_string(), 2),
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

    /// nginx lines hard-wrapped at 80 columns (a pasted terminal, real
    /// lines nginx wrote) read the same wherever chunks end, even inside
    /// a line: the line that ends a chunk is read whole with the pieces
    /// that begin the next, as within one chunk.
    #[test]
    fn hard_wrapped_lines_read_the_same_wherever_chunks_end() {
        let log: String = include_str!("../fixtures/fragments/wrapped-80.log")
            .lines()
            .take(40)
            .flat_map(|l| [l, "\n"])
            .collect();
        let catalog = Catalog::new();
        let filters = Filters::default();
        let read = |parts: &[&[u8]]| {
            let mut agg = Aggregator::new(60);
            let mut seq = Sequencer::new(&catalog, &filters, 2026);
            let mut scanner = Scanner::new(&catalog, 2026);
            let mut scan = Scan::default();
            seq.begin_input("t".into(), &mut agg);
            for part in parts {
                scanner.scan(part, false, &mut scan);
                seq.chunk(part, &scan, &mut agg);
            }
            seq.end_input(None, &mut agg);
            crate::report::Report::build(&agg)
        };
        let bytes = log.as_bytes();
        let whole = read(&[bytes]);
        assert_eq!(whole.lines.total, 40);
        assert_eq!(whole.lines.unrecognized, 0);
        assert!(whole.total_failures >= 8, "{}", whole.total_failures);
        let routes: Vec<&str> = whole.causes[0]
            .routes
            .iter()
            .map(|r| r.route.as_str())
            .collect();
        assert!(routes.contains(&"/api/users/:id"), "{routes:?}");
        let cuts: Vec<usize> = (1..bytes.len())
            .filter(|&i| bytes[i - 1] == b'\n')
            .collect();
        for (n, &a) in cuts.iter().enumerate() {
            assert_eq!(read(&[&bytes[..a], &bytes[a..]]), whole, "cut at {a}");
            // A line wrapped over three chunks.
            for &b in cuts.iter().skip(n + 1).take(3) {
                let r = read(&[&bytes[..a], &bytes[a..b], &bytes[b..]]);
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
                let cut = crate::input::lines::whole_lines_end(&rest[..cut]).unwrap_or(rest.len());
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
