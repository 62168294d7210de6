//! The reader thread: opens each input in turn and cuts it into chunks of
//! whole lines, read into pool buffers or handed out from a mapped file.
//!
//! Everything it produces goes to an [`Outlet`], numbered in input order:
//! chunks for the scanning workers, everything else ([`Item`]) for the
//! ordered stage. The pool of buffers bounds the chunks in flight, and so
//! memory.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender};
use std::time::Duration;

use super::lines::{self, ChunkReader, MAX_LINE, Piece};
use super::mapped::Mapped;
use super::progress::Progress;
use super::source::{self, InputSpec};

/// The bytes of a chunk of whole lines.
pub enum ChunkBytes {
    /// A pool buffer the reader filled, and the length of its lines.
    Read(Vec<u8>, usize),
    /// `start..end` of a mapped file, with a pool buffer as a token, which
    /// bounds the chunks in flight as the read buffers do.
    Mapped(Arc<Mapped>, usize, usize, Vec<u8>),
}

impl ChunkBytes {
    /// The chunk's lines.
    pub fn bytes(&self) -> &[u8] {
        match self {
            ChunkBytes::Read(buf, len) => &buf[..*len],
            ChunkBytes::Mapped(m, start, end, _) => &m.bytes()[*start..*end],
        }
    }

    /// Maps a mapped chunk's pages ahead of the scan.
    pub fn populate(&self) {
        if let ChunkBytes::Mapped(m, start, end, _) = self {
            m.populate(*start, *end);
        }
    }

    /// Gives the pool its buffer back (and lets go of mapped pages).
    pub fn release(self, pool: &Sender<Vec<u8>>) {
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

/// What the reader hands on besides chunks, in input order.
pub enum Item {
    /// An input starts (named as the user named it).
    Begin(String),
    /// A line over the length limit, skipped.
    Oversized,
    /// The current input ends; with the error that ended it early.
    End(Option<io::Error>),
    /// An input that could not be opened.
    OpenFailed(String, io::Error),
}

/// Where the reader's output goes. Every call carries the next number in
/// input order.
pub trait Outlet {
    /// A chunk, for a worker; false once nobody takes chunks any more.
    fn chunk(&self, seq: u64, chunk: ChunkBytes) -> bool;
    /// Anything else, for the ordered stage.
    fn item(&self, seq: u64, item: Item);
    /// The reader waits for mapped chunks to come back (see
    /// `hand_back`): what should run meanwhile.
    fn waiting(&self);
}

/// How the reader cuts and buffers.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Buffers in circulation, at most.
    pub max_buffers: usize,
    /// Bytes per chunk, about.
    pub chunk_size: usize,
    /// Scan files in place (mapped) instead of reading them.
    pub map_files: bool,
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
/// The buffers come back through `free`.
pub fn read_inputs(
    inputs: &[InputSpec],
    opts: ReadOptions,
    progress: Option<&Progress>,
    out: &impl Outlet,
    free: Receiver<Vec<u8>>,
) {
    let ReadOptions {
        max_buffers,
        chunk_size,
        map_files,
    } = opts;
    let mut seq = 0u64;
    let mut pool = Pool {
        free,
        allocated: 0,
        max: max_buffers,
    };
    let send = |item: Item, seq: &mut u64| {
        out.item(*seq, item);
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
                let head = &m.bytes()[..m.bytes().len().min(source::HEAD)];
                if let Some(why) = source::not_text(head) {
                    drop(m);
                    send(Item::OpenFailed(name, io::Error::other(why)), &mut seq);
                    continue;
                }
                let start = if head.starts_with(source::BOM) {
                    source::BOM.len()
                } else {
                    0
                };
                send(Item::Begin(name), &mut seq);
                match read_mapped(m, start, chunk_size, &mut pool, &mut seq, (out, progress)) {
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
                    if !out.chunk(seq, ChunkBytes::Read(buf, len)) {
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

/// Hands out a mapped file as chunks of whole lines, as
/// [`ChunkReader`] cuts a read one (lines over [`MAX_LINE`] are skipped
/// and counted), from `start` (past a byte-order mark) until the end or
/// until a writer waits for the lease.
fn read_mapped(
    m: Arc<Mapped>,
    start: usize,
    chunk_size: usize,
    pool: &mut Pool,
    seq: &mut u64,
    (out, progress): (&impl Outlet, Option<&Progress>),
) -> MappedEnd {
    let len = m.bytes().len();
    let mut pos = start;
    while pos < len {
        if m.lease_breaking() {
            return hand_back(m, pos, out);
        }
        let bytes = m.bytes();
        let target = (pos + chunk_size).min(len);
        let whole = if target == len {
            Some(len - pos)
        } else {
            lines::whole_lines_end(&bytes[pos..target])
        };
        let end = match whole {
            // (At the end of the file: the end, newline or not.)
            Some(e) => pos + e,
            // One line longer than a chunk: it ends the chunk, or is
            // skipped if it is over the limit.
            None => match line_end(&m, target, pos + MAX_LINE + 1) {
                Some(e) => e,
                None => {
                    let e = line_end(&m, pos + MAX_LINE + 1, usize::MAX).unwrap_or(len);
                    m.done_with(pos, e);
                    out.item(*seq, Item::Oversized);
                    *seq += 1;
                    pos = e;
                    continue;
                }
            },
        };
        let Some(token) = pool.take() else {
            return MappedEnd::Gone;
        };
        if !out.chunk(*seq, ChunkBytes::Mapped(m.clone(), pos, end, token)) {
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
        if let Some(e) = lines::line_end(&bytes[at..at + step]) {
            return Some(at + e);
        }
        m.done_with(at, at + step);
        at += step;
    }
    (bytes.len() <= limit).then_some(bytes.len())
}

/// Waits until the mapped chunks handed out are done with (bounded in
/// time, as the kernel ends the lease itself after a while), then lets
/// the mapping and its lease go. The outlet runs meanwhile what must not
/// wait for the reader ([`Outlet::waiting`]).
fn hand_back(m: Arc<Mapped>, pos: usize, out: &impl Outlet) -> MappedEnd {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while Arc::strong_count(&m) > 1 && std::time::Instant::now() < deadline {
        out.waiting();
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(m);
    MappedEnd::WriterWaiting(pos as u64)
}
